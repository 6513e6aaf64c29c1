//! `fsck --repair`: removing what an interrupted write left behind, and only that.
//!
//! What a crash leaves (docs/FORMAT.md §8) is found by a quick [`Archive::fsck`] and removed
//! while two locks are held, so that nothing a live writer is working on looks like an orphan:
//!
//! 1. The catalog's **write lock** (a SQLite `BEGIN IMMEDIATE` transaction, as every writer
//!    takes before it numbers, signs and records anything). Manifests, signatures, leaves,
//!    checkpoint files and token files are only ever written inside that transaction, so while
//!    repair holds it, every such file the catalog does not name belongs to a writer that died.
//! 2. The **writers lock** ([`WRITERS_LOCK`]), taken exclusively *without waiting* once the
//!    write lock is held. Objects are written (or deduplicated against) before their capture's
//!    transaction, by processes that hold this lock shared for as long as they live; only when
//!    no such process exists are orphan objects and temporary files in `objects/` removed.
//!    Otherwise they are kept and reported as skipped (run `fsck --repair` again later).
//!
//! Orphan manifests are removed only after their number's counter has been advanced past
//! them in the same transaction, so their ids stay used: an id is never given to two
//! different signed manifests. Tokens over a committed checkpoint are kept (the next
//! `exhibit log timestamp` adopts them). An archive with problems is not repaired at all.

use std::path::Path;
use std::time::{Duration, SystemTime};

use exhibit_core::RecordId;
use rusqlite::{Connection, TransactionBehavior, params};
use serde::Serialize;

use crate::archive::CATALOG_FILE;
use crate::fsck::{FsckOptions, FsckReport};
use crate::log::{CHECKPOINT_DIR, LEAVES_FILE};
use crate::objects::WRITERS_LOCK;
use crate::{Archive, StoreError, fsutil};

/// Temporary files outside `objects/`, `manifests/` and `log/` (the configuration, keys) are
/// written under other locks; they are removed only once this old.
pub const MIN_TEMP_AGE: Duration = Duration::from_secs(15 * 60);

/// One file that repair removed (or, for `log/leaves`, truncated) or kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// The note kind (`orphan_object`, `temp_file`, …; see [`crate::Note`]).
    pub kind: &'static str,
    /// The file, relative to the archive root.
    pub path: String,
    /// For kept files, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What [`Archive::repair`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RepairReport {
    /// The quick check made under the locks, before anything was removed.
    pub before: FsckReport,
    /// Whether another process was writing objects (so `objects/` was left alone).
    pub writers_active: bool,
    /// What was removed.
    pub removed: Vec<Repaired>,
    /// Leftovers kept, with the reason.
    pub kept: Vec<Repaired>,
}

impl RepairReport {
    /// Whether the archive was repaired (it had no problems).
    pub fn repaired(&self) -> bool {
        self.before.is_clean()
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

impl Archive {
    /// Removes what interrupted writes left behind (see the module documentation): orphan
    /// manifests and signatures (their numbers stay used), leaves past the log's end, orphan
    /// checkpoints and tokens, temporary files and — when no other process is writing — orphan
    /// objects. Nothing is removed when the check finds a problem.
    pub fn repair(&self) -> Result<RepairReport, StoreError> {
        // 1. The write lock, on a connection of its own (the check reads on the archive's).
        let catalog = self.root.join(CATALOG_FILE);
        let mut conn = Connection::open(&catalog)?;
        conn.busy_timeout(Duration::from_secs(600))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // 2. The writers lock, without waiting (a writer waiting for the write lock holds it).
        let lock_path = self.root.join(WRITERS_LOCK);
        fsutil::ensure_dir(fsutil::parent_dir(&lock_path))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io(&lock_path, e))?;
        let writers_active = match lock.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&lock_path, e)),
        };
        let before = self.fsck(&FsckOptions {
            all_paths: true,
            ..FsckOptions::default()
        })?;
        let mut report = RepairReport {
            writers_active,
            ..RepairReport::default()
        };
        if !before.is_clean() {
            report.before = before;
            return Ok(report);
        }
        let mut dirs = std::collections::BTreeSet::new();
        let mut retired = std::collections::BTreeSet::new();
        let mut orphan_manifests = Vec::new();
        let keep = |report: &mut RepairReport, kind, path: &str, reason: &str| {
            report.kept.push(Repaired {
                kind,
                path: path.to_owned(),
                reason: Some(reason.to_owned()),
            });
        };
        for note in &before.notes {
            for rel in &note.paths {
                let path = self.root.join(rel);
                let reason = match note.kind {
                    "orphan_object" if writers_active => Some("another process is writing objects"),
                    "orphan_object" => None,
                    "temp_file" if rel.starts_with("objects/") => {
                        writers_active.then_some("another process is writing objects")
                    }
                    "temp_file" if rel.starts_with("manifests/") || rel.starts_with("log/") => None,
                    "temp_file" => (!older_than(&path, MIN_TEMP_AGE))
                        .then_some("younger than 15 minutes (may be in use)"),
                    "orphan_manifest" => {
                        // Deleted only once the counter that keeps its number used is
                        // committed (and the number recorded in RETIRED_IDS), below.
                        retired.insert(advance_counter(&tx, rel)?);
                        orphan_manifests.push(rel.clone());
                        continue;
                    }
                    "orphan_checkpoint" => None,
                    "orphan_token" => {
                        if token_checkpoint_committed(&tx, rel)? {
                            Some("its checkpoint is committed: `exhibit log timestamp` adopts it")
                        } else {
                            None
                        }
                    }
                    "uncommitted_leaves" => {
                        truncate_leaves(&self.root, &tx)?;
                        report.removed.push(Repaired {
                            kind: note.kind,
                            path: rel.clone(),
                            reason: None,
                        });
                        continue;
                    }
                    _ => continue,
                };
                if let Some(reason) = reason {
                    keep(&mut report, note.kind, rel, reason);
                    continue;
                }
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StoreError::io(&path, e)),
                };
                if meta.is_dir() {
                    keep(&mut report, note.kind, rel, "a directory");
                    continue;
                }
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StoreError::io(&path, e)),
                }
                dirs.insert(fsutil::parent_dir(&path).to_path_buf());
                report.removed.push(Repaired {
                    kind: note.kind,
                    path: rel.clone(),
                    reason: None,
                });
            }
        }
        for dir in std::mem::take(&mut dirs) {
            fsutil::sync_dir(&dir)?;
        }
        // The retired numbers outlive the catalog (reindex reads them), and the counters are
        // committed, before any orphan manifest is deleted: a crash in between leaves the
        // orphans for the next run, never a number that could be given out again.
        if !retired.is_empty() {
            record_retired(&self.root, &retired)?;
        }
        tx.commit()?;
        drop(lock);
        for rel in orphan_manifests {
            let path = self.root.join(&rel);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&path, e)),
            }
            dirs.insert(fsutil::parent_dir(&path).to_path_buf());
            report.removed.push(Repaired {
                kind: "orphan_manifest",
                path: rel,
                reason: None,
            });
        }
        for dir in dirs {
            fsutil::sync_dir(&dir)?;
        }
        report.before = before;
        Ok(report)
    }
}

/// The record of manifest numbers `fsck --repair` retired, relative to the archive root: one
/// record id per line, sorted. The numbers of removed orphan manifests stay used through the
/// catalog's counters; this file keeps them used when the catalog is rebuilt
/// ([`crate::reindex`]).
pub const RETIRED_IDS: &str = "manifests/retired.txt";

/// The largest [`RETIRED_IDS`] file read (about 400,000 ids).
pub const MAX_RETIRED_BYTES: u64 = 8 << 20;

/// The ids listed in [`RETIRED_IDS`] (none when the file does not exist). A line that is not a
/// record id is an error naming the file and line.
pub fn read_retired(root: &Path) -> Result<std::collections::BTreeSet<RecordId>, StoreError> {
    let path = root.join(RETIRED_IDS);
    let bytes = match fsutil::read_limited(&path, MAX_RETIRED_BYTES) {
        Ok(b) => b,
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Default::default());
        }
        Err(e) => return Err(e),
    };
    let corrupt = |message: String| StoreError::Corrupt {
        what: RETIRED_IDS.to_owned(),
        message,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| corrupt("not UTF-8".into()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            line.parse::<RecordId>()
                .map_err(|e| corrupt(format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Adds `ids` to [`RETIRED_IDS`] durably (a new file replaces the old atomically).
fn record_retired(
    root: &Path,
    ids: &std::collections::BTreeSet<RecordId>,
) -> Result<(), StoreError> {
    let mut all = read_retired(root)?;
    all.extend(ids.iter().cloned());
    let mut text = String::new();
    for id in &all {
        text.push_str(&id.to_string());
        text.push('\n');
    }
    fsutil::write_atomic_durable(&root.join(RETIRED_IDS), text.as_bytes())
}

/// Makes the counter of an orphan manifest's kind at least its number, so that the number is
/// never given out again once the file is gone.
fn advance_counter(tx: &Connection, rel: &str) -> Result<RecordId, StoreError> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let stem = name
        .strip_suffix(".json.sig")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(name);
    let id: RecordId = stem.parse().map_err(|e| StoreError::Corrupt {
        what: rel.to_owned(),
        message: format!("not a manifest name: {e}"),
    })?;
    tx.execute(
        "UPDATE counters SET last = max(last, ?2) WHERE kind = ?1",
        params![id.kind().letter().to_string(), id.number() as i64],
    )?;
    Ok(id)
}

/// Whether the checkpoint a token file (`log/checkpoints/<size>.checkpoint.<tsa>.tsr`) stamps
/// is in the catalog.
fn token_checkpoint_committed(tx: &Connection, rel: &str) -> Result<bool, StoreError> {
    let size = rel
        .strip_prefix(CHECKPOINT_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.get(..12))
        .and_then(|d| d.parse::<i64>().ok());
    let Some(size) = size else { return Ok(false) };
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM checkpoints WHERE size = ?1",
        [size],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Cuts `log/leaves` to the committed log size and makes that durable.
fn truncate_leaves(root: &Path, tx: &Connection) -> Result<(), StoreError> {
    let size = crate::log::size(tx)?;
    let path = root.join(LEAVES_FILE);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
    let want = size.saturating_mul(32);
    if len > want {
        file.set_len(want)
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io(&path, e))?;
    }
    Ok(())
}
