//! `fsck --repair`: removing what an interrupted write left behind, and only that.
//!
//! What a crash leaves (docs/FORMAT.md §8) is found by a quick [`Archive::fsck`] and removed
//! while two locks are held, so that nothing a live writer is working on looks like an orphan:
//!
//! 1. The catalog's **write lock** (a SQLite `BEGIN IMMEDIATE` transaction, as every writer
//!    takes before it numbers, signs and records anything). Manifests, signatures, leaves,
//!    checkpoint files and token files are only ever written inside that transaction, so while
//!    repair holds it, every such file the catalog does not name belongs to a writer that died.
//! 2. The **writers lock** ([`crate::locks::WRITERS_LOCK`]), taken exclusively *without
//!    waiting* once the write lock is held. Objects are written (or deduplicated against) before
//!    their capture's transaction, by processes that hold this lock shared for as long as they
//!    live; only when no such process exists are orphan objects and temporary files in
//!    `objects/` removed.
//!    Otherwise they are kept and reported as skipped (run `fsck --repair` again later).
//!
//! Orphan manifests are removed only after their number's counter has been advanced past
//! them in the same transaction, so their ids stay used: an id is never given to two
//! different signed manifests. And only when they look like a crash of this archive's writer
//! (`judge_orphan`, in `orphans.rs` with the rest of the crash-leftover policy that fsck
//! shares): a number near the counter, and a signature that is missing or short, a
//! manifest that is empty or truncated, or a signature that verifies with the archive key. A
//! complete manifest whose signature does not verify was not left by a crash; fsck reports it
//! as a problem and repair never removes it. A checkpoint file the catalog does not list is
//! never removed: one signed by the archive key and consistent with the log is committed
//! evidence (a crash between writing it and committing its row, or a catalog that lost the
//! row), so repair *records* it (`record_checkpoint`), and then every token over a recorded
//! checkpoint that verifies (`record_token`); any other is kept (fsck reports the checkpoint as
//! a problem). Nothing under a symbolic link (below the archive root) is removed. An archive
//! with problems is not repaired at all — among them a catalog older than the signed log (a
//! restored backup: a checkpoint file signed by the archive key covers leaves the catalog
//! lacks), whose "orphans" are committed evidence; and `log/leaves` is never cut below a
//! signed checkpoint, nor opened through a link.

use std::path::Path;

use exhibit_core::RecordId;
use exhibit_sign::history::KeyHistory;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::fsck::{FsckOptions, FsckReport};
use crate::layout::{CATALOG_FILE, LEAVES_FILE};
use crate::orphans::{
    Orphan, judge_orphan, keep_temp_file, orphan_number_plausible, read_at_most, record_retired,
};
use crate::{Archive, StoreError, fsutil, layout, locks};

/// The crash-leftover policy's limits and the retired ids file, where they were first defined
/// (now in `orphans.rs`, shared with fsck).
pub use crate::orphans::{
    MAX_ORPHAN_AHEAD, MAX_RETIRED_BYTES, MAX_RETIRED_NUMBER, MIN_TEMP_AGE, RETIRED_IDS,
    read_retired,
};

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
    /// Committed evidence the catalog lacked, recorded in it: signed checkpoints consistent
    /// with the log, and the time-stamp tokens that stamp them.
    pub recorded: Vec<Repaired>,
    /// Leftovers kept, with the reason.
    pub kept: Vec<Repaired>,
}

impl RepairReport {
    /// Whether the archive was repaired (it had no problems).
    pub fn repaired(&self) -> bool {
        self.before.is_clean()
    }
}

impl Archive {
    /// Removes what interrupted writes left behind (see the module documentation): orphan
    /// manifests and signatures (their numbers stay used), leaves past the log's end, temporary
    /// files and — when no other process is writing — orphan objects; records the signed
    /// checkpoints and tokens the catalog lacks. Nothing is changed when the check finds a
    /// problem.
    pub fn repair(&self) -> Result<RepairReport, StoreError> {
        // 1. The write lock, on a connection of its own (the check reads on the archive's).
        let catalog = self.root.join(CATALOG_FILE);
        let mut conn = crate::catalog::open(&catalog)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // 2. The writers lock, without waiting (a writer waiting for the write lock holds it).
        let lock = locks::try_lock_writers_exclusive(&self.root)?;
        let writers_active = lock.is_none();
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
        // Orphan manifests, by id (a manifest and its signature are judged together).
        let mut orphans: std::collections::BTreeMap<RecordId, Vec<String>> = Default::default();
        // Signed checkpoints and tokens the catalog does not list: recorded, below.
        let mut checkpoints = Vec::new();
        let mut tokens = Vec::new();
        // Orphan delta objects go before orphan full objects, which may be their references
        // (FORMAT §6): a repair stopped in between leaves no delta without its reference.
        let mut notes = before.notes.clone();
        for note in notes.iter_mut().filter(|n| n.kind == "orphan_object") {
            note.paths
                .sort_by_cached_key(|rel| !starts_as_delta(&self.root.join(rel)));
        }
        for note in &notes {
            for rel in &note.paths {
                let path = self.root.join(rel);
                if matches!(
                    note.kind,
                    "orphan_object"
                        | "temp_file"
                        | "orphan_manifest"
                        | "orphan_checkpoint"
                        | "orphan_token"
                        | "uncommitted_leaves"
                ) && let Some(dir) = symlinked_dir(&self.root, rel)
                {
                    let why = format!("under a symbolic link ({dir}): not removed");
                    keep(&mut report, note.kind, rel, &why);
                    continue;
                }
                let reason = match note.kind {
                    "orphan_object" if writers_active => Some("another process is writing objects"),
                    "orphan_object" => None,
                    "temp_file" => keep_temp_file(&path, rel, writers_active),
                    "orphan_manifest" => {
                        // Judged with its signature, below.
                        match layout::parse_manifest_path(rel) {
                            Some(file) => orphans
                                .entry(file.id().clone())
                                .or_default()
                                .push(rel.clone()),
                            None => keep(&mut report, note.kind, rel, "not a manifest name"),
                        }
                        continue;
                    }
                    // Never removed: a checkpoint file is written whole inside the writer's
                    // transaction, so one the catalog lacks is committed evidence (signed over
                    // committed leaves) or not a crash's at all (then fsck reports a problem
                    // and nothing is repaired). The same goes for a token, written only over a
                    // committed checkpoint.
                    "orphan_checkpoint" => {
                        checkpoints.push(rel.clone());
                        continue;
                    }
                    "orphan_token" => {
                        tokens.push(rel.clone());
                        continue;
                    }
                    "uncommitted_leaves" => {
                        let public = crate::key_history::load(&self.root, &self.config.origin)?;
                        truncate_leaves(&self.root, &tx, &self.config.origin, &public)?;
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
                remove(&path, note.kind, rel, &mut dirs, &mut report)?;
            }
        }
        if !checkpoints.is_empty() || !tokens.is_empty() {
            let public = crate::key_history::load(&self.root, &self.config.origin)?;
            // Checkpoints first (by size, as their names sort): a token's row refers to its
            // checkpoint's.
            checkpoints.sort();
            for (kind, rels) in [("orphan_checkpoint", checkpoints), ("orphan_token", tokens)] {
                for rel in rels {
                    let done = if kind == "orphan_checkpoint" {
                        record_checkpoint(&tx, &self.root, &self.config.origin, &public, &rel)?
                    } else {
                        record_token(&tx, &self.root, &rel)?
                    };
                    match done {
                        Ok(()) => report.recorded.push(Repaired {
                            kind,
                            path: rel,
                            reason: None,
                        }),
                        Err(why) => keep(&mut report, kind, &rel, &why),
                    }
                }
            }
        }
        if !orphans.is_empty() {
            let public = crate::key_history::load(&self.root, &self.config.origin)?;
            // Judged against the counters as the crashed writers left them (not as raised for
            // the orphans before, which could ratchet them up a million at a time).
            let mut plausible = Vec::with_capacity(orphans.len());
            for id in orphans.keys() {
                plausible.push(orphan_number_plausible(&tx, id)?);
            }
            for ((id, rels), plausible) in orphans.into_iter().zip(plausible) {
                let reason = match plausible {
                    Err(why) => Some(why),
                    Ok(()) => match judge_orphan(&self.root, &id, &public) {
                        Orphan::Crash(_) | Orphan::Signed => None,
                        Orphan::Foreign(why) => Some(format!("{why}: not left by a crash")),
                    },
                };
                if let Some(why) = reason {
                    for rel in &rels {
                        keep(&mut report, "orphan_manifest", rel, &why);
                    }
                    continue;
                }
                // Deleted only once the counter that keeps its number used is committed (and
                // the number recorded in RETIRED_IDS), below: the signature first, so that a
                // crash in between leaves a manifest without one (a crash leftover still).
                advance_counter(&tx, &id)?;
                retired.insert(id);
                let mut rels = rels;
                rels.sort_by_key(|r| !r.ends_with(".sig"));
                orphan_manifests.extend(rels);
            }
        }
        for dir in std::mem::take(&mut dirs) {
            fsutil::sync_dir(&dir)?;
        }
        // The retired numbers outlive the catalog (reindex reads them), and the counters are
        // committed, before any orphan manifest is deleted: a crash in between leaves the
        // orphans for the next run, never a number that could be given out again.
        if !retired.is_empty() {
            record_retired(&self.root, self.prefix(), &retired)?;
        }
        tx.commit()?;
        drop(lock);
        for rel in &orphan_manifests {
            let path = self.root.join(rel);
            remove(&path, "orphan_manifest", rel, &mut dirs, &mut report)?;
        }
        for dir in dirs {
            fsutil::sync_dir(&dir)?;
        }
        report.before = before;
        Ok(report)
    }
}

/// Whether the object file at `path` starts with a delta object's reference header.
fn starts_as_delta(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; 4];
    fsutil::open_for_reading(path, fsutil::Links::Refuse)
        .and_then(|mut f| f.read_exact(&mut start))
        .is_ok_and(|()| start == crate::delta::REFERENCE_MAGIC.to_le_bytes())
}

/// Removes the file `path` (`rel` in the report), notes its directory for the fsync, and
/// reports it as removed; a file already gone is skipped.
fn remove(
    path: &Path,
    kind: &'static str,
    rel: &str,
    dirs: &mut std::collections::BTreeSet<std::path::PathBuf>,
    report: &mut RepairReport,
) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(path, e)),
    }
    dirs.insert(fsutil::parent_dir(path).to_path_buf());
    report.removed.push(Repaired {
        kind,
        path: rel.to_owned(),
        reason: None,
    });
    Ok(())
}

/// Makes the counter of an orphan manifest's kind at least its number, so that the number is
/// never given out again once the file is gone.
fn advance_counter(tx: &Connection, id: &RecordId) -> Result<(), StoreError> {
    let number = i64::try_from(id.number()).map_err(|_| StoreError::Corrupt {
        what: layout::manifest_path(id),
        message: "its number is too large for the catalog".into(),
    })?;
    tx.execute(
        "UPDATE counters SET last = max(last, ?2) WHERE kind = ?1",
        params![id.kind().letter().to_string(), number],
    )?;
    Ok(())
}

/// The first directory between the archive root and `rel` (relative to the root) that is a
/// symbolic link (or cannot be examined), if any: nothing under one is removed, as it may be
/// another archive's or anyone's.
fn symlinked_dir(root: &Path, rel: &str) -> Option<String> {
    let mut dir = String::new();
    let mut parts = rel.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            break; // the file itself (a symbolic link file is removed, not its target)
        }
        if !dir.is_empty() {
            dir.push('/');
        }
        dir.push_str(part);
        match std::fs::symlink_metadata(root.join(&dir)) {
            Ok(m) if !m.file_type().is_symlink() => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            _ => return Some(dir),
        }
    }
    None
}

/// Records in the catalog the checkpoint file `rel` (`log/checkpoints/<size>.checkpoint`) that
/// it does not list, when it is committed evidence: a note signed by the archive key
/// (`public`) under `origin`, of the size its name says, over at most the catalog's log, whose
/// root is the log's at that size. What a crash between writing the file and committing its
/// row leaves, and what a catalog that lost the row lacks. Otherwise `Ok(Err(why))`: kept
/// (fsck reports such a file as a problem, so repair does not get here with one).
fn record_checkpoint(
    tx: &Connection,
    root: &Path,
    origin: &str,
    public: &KeyHistory,
    rel: &str,
) -> Result<Result<(), String>, StoreError> {
    let Some(named) = layout::parse_checkpoint_path(rel) else {
        return Ok(Err("not a checkpoint file name".into()));
    };
    let (size, signed_root, note) =
        match crate::log::read_signed_note(&root.join(rel), origin, public) {
            Ok(n) => n,
            Err(why) => {
                return Ok(Err(format!(
                    "not a signed checkpoint of this archive: {why}"
                )));
            }
        };
    if size != named {
        return Ok(Err(format!(
            "holds the checkpoint of size {size}, not {named}: not left by a crash"
        )));
    }
    let log_size = crate::log::size(tx)?;
    if size > log_size {
        return Ok(Err(crate::log::catalog_behind_message(
            Path::new(rel),
            size,
            log_size,
        )));
    }
    let ours = exhibit_core::merkle::root(size, &crate::log::SqlNodes(tx))
        .map_err(crate::log::merkle_err)?;
    if ours != signed_root {
        return Ok(Err(format!(
            "its root is not the log's at size {size}: not left by a crash"
        )));
    }
    tx.execute(
        "INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)",
        params![size as i64, &signed_root[..], note],
    )?;
    Ok(Ok(()))
}

/// Records in the catalog the token file `rel`
/// (`log/checkpoints/<size>.checkpoint.<tsa>.tsr`) that it does not list, when it is a granted
/// RFC 3161 response over the note of the catalog's checkpoint of that size whose signature
/// verifies (as `reindex` indexes tokens; `fsck --full` checks them again). Otherwise
/// `Ok(Err(why))`: kept — a token over a committed checkpoint that does not verify is replaced
/// by the next `exhibit log timestamp`, and one whose checkpoint is not in the archive was not
/// left by a crash (tokens are only written over committed checkpoints).
fn record_token(tx: &Connection, root: &Path, rel: &str) -> Result<Result<(), String>, StoreError> {
    let Some(layout::TokenFile { size, tsa }) = layout::parse_token_path(rel) else {
        return Ok(Err("not a token file name".into()));
    };
    let note: Option<String> = tx
        .query_row(
            "SELECT note FROM checkpoints WHERE size = ?1",
            [size as i64],
            |r| r.get(0),
        )
        .optional()?;
    let Some(note) = note else {
        return Ok(Err(format!(
            "no signed checkpoint of size {size} is in the archive: not left by a crash"
        )));
    };
    let bytes = match read_at_most(&root.join(rel), crate::timestamps::MAX_TOKEN_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(Err("gone".into())),
        Err(why) => return Ok(Err(why)),
    };
    let token = exhibit_timestamp::Token::parse_response(&bytes)
        .and_then(|t| t.check_message(note.as_bytes()).map(|()| t))
        .and_then(|t| t.verify_signature().map(|()| t));
    match token {
        Ok(t) => {
            tx.execute(
                "INSERT INTO timestamps (size, tsa, gen_time, file) VALUES (?1, ?2, ?3, ?4)",
                params![size as i64, tsa, t.info().gen_time, rel],
            )?;
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(format!(
            "not a valid token over checkpoint {size} ({e}): `exhibit log timestamp` replaces it"
        ))),
    }
}

/// Cuts `log/leaves` to the committed log size and makes that durable — never below a
/// checkpoint signed by the archive key (`public`): those leaves were committed, and the
/// catalog is older than the log. The file is opened without following a link.
fn truncate_leaves(
    root: &Path,
    tx: &Connection,
    origin: &str,
    public: &KeyHistory,
) -> Result<(), StoreError> {
    let size = crate::log::size(tx)?;
    if let Some((file, signed)) = crate::log::signed_beyond(root, origin, public, size)? {
        return Err(crate::log::catalog_behind(&file, signed, size));
    }
    let path = root.join(LEAVES_FILE);
    let file = fsutil::open_for_writing(&path, false).map_err(|e| StoreError::io(&path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
    let want = size.saturating_mul(32);
    if len > want {
        file.set_len(want)
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io(&path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn repair_symlinked_dir_names_a_linked_directory_but_not_the_root_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("objects/ab")).unwrap();
        let root = dir.path().join("root");
        symlink(&real, &root).unwrap(); // the archive root may be a link
        assert_eq!(symlinked_dir(&root, "objects/ab/x.zst"), None);
        assert_eq!(symlinked_dir(&root, ".tmp-config"), None);
        symlink("x.zst", real.join("objects/ab/link.zst")).unwrap();
        assert_eq!(symlinked_dir(&root, "objects/ab/link.zst"), None);
        std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
        symlink("../../elsewhere", real.join("objects/cd")).unwrap();
        assert_eq!(
            symlinked_dir(&root, "objects/cd/x.zst").as_deref(),
            Some("objects/cd")
        );
        symlink("../elsewhere", real.join("log")).unwrap();
        assert_eq!(
            symlinked_dir(&root, "log/checkpoints/000000000001.checkpoint").as_deref(),
            Some("log")
        );
    }
}
