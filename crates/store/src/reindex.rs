//! `reindex`: rebuilding the catalog from the signed manifests, the objects and the log alone.
//!
//! The catalog is an index, not the truth (docs/FORMAT.md §7). [`reindex`] builds a new one
//! in a temporary file beside `catalog.sqlite`, from `log/leaves` (which manifests were
//! committed, in which order), the manifests under `manifests/` (what each record says), the
//! signed checkpoints in `log/checkpoints/` and `log/checkpoint`, and the RFC 3161 token files
//! beside them — verifying everything as it goes — and only then replaces the catalog
//! atomically. The old catalog, if there is one, is kept as `catalog.sqlite.bak-<time>`.
//! Throughout, it holds the archive's catalog lock ([`layout::CATALOG_LOCK`]) exclusively, so no
//! other process has the catalog open. The rules are in docs/FORMAT.md §7.1.
//!
//! Memory stays bounded: manifests are streamed twice (once to place each on its leaf, once in
//! log order to index it), one at a time; the leaf → file map and the per-document state live
//! in SQLite, not in memory; objects are checked for presence, never read.

use std::path::{Path, PathBuf};

use exhibit_core::checkpoint::{Checkpoint, split_note};
use exhibit_core::merkle::{self, Hash};
use exhibit_core::{IdPrefix, RecordId, RecordKind};
use exhibit_sign::history::KeyHistory;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::config::Config;
use crate::layout::{self, CATALOG_FILE};
use crate::log::{CHECKPOINT_DIR, LATEST_CHECKPOINT, LEAVES_FILE, SqlNodes, merkle_err};
use crate::objects::{ObjectStore, objects_dir};
use crate::timestamps::MAX_TOKEN_BYTES;
use crate::{StoreError, catalog, fsutil, locks};

mod extend;
mod records;

pub(crate) use extend::extend;

/// The `how` of a `document_rules` row that reindex restores from a signed record.
pub const RULES_FROM_REINDEX: &str = "reindex";

/// What [`reindex`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReindexReport {
    /// Documents indexed.
    pub documents: u64,
    /// Versions indexed.
    pub versions: u64,
    /// Captures indexed (successful and failed).
    pub captures: u64,
    /// Of those, failed captures.
    pub failures: u64,
    /// Provisions indexed.
    pub provisions: u64,
    /// Re-extraction records indexed.
    pub reextractions: u64,
    /// Signed checkpoints indexed.
    pub checkpoints: u64,
    /// RFC 3161 tokens indexed.
    pub timestamps: u64,
    /// Leaves of the rebuilt log (= records indexed).
    pub log_size: u64,
    /// Size of the latest signed checkpoint (0: none).
    pub checkpoint_size: u64,
    /// Leaves indexed beyond the latest signed checkpoint (committed, or from a batch that
    /// crashed after writing them: the files cannot tell, §7.1).
    pub beyond_checkpoint: u64,
    /// Leaves at the end of `log/leaves` that were not indexed: from the first leaf beyond the
    /// latest signed checkpoint whose record is incomplete (no manifest, signature missing or
    /// short, an object missing: a batch that never committed) on.
    pub dropped_leaves: u64,
    /// Manifests that are not in the log (orphans of batches that never committed), relative
    /// to the archive root, with why they were skipped.
    pub orphans: Vec<String>,
    /// Token files that were not indexed, with why.
    pub skipped_tokens: Vec<String>,
    /// Documents whose extraction rules in force were restored from their latest signed record.
    pub rules_restored: u64,
    /// Where the previous catalog was kept, relative to the archive root.
    pub backup: Option<String>,
    /// When `log/checkpoint` held an older checkpoint of the archive (one of the files in
    /// `log/checkpoints/`, as after restoring a backup of it): its size. It was replaced by the
    /// latest signed checkpoint.
    pub latest_checkpoint_replaced: Option<u64>,
}

/// Rebuilds `root/catalog.sqlite` from the manifests, objects and log, verifying every
/// manifest's signature, canonical form, links and objects, and the log against its signed
/// checkpoints. On any verification failure nothing is replaced and the error names the file.
/// Refuses to run while another process has the archive open (holds [`layout::CATALOG_LOCK`]).
pub fn reindex(root: &Path) -> Result<ReindexReport, StoreError> {
    if !root.join(crate::config::CONFIG_FILE).is_file() {
        return Err(StoreError::NotAnArchive {
            path: root.to_path_buf(),
            reason: format!("{} not found", crate::config::CONFIG_FILE),
        });
    }
    let catalog_path = root.join(CATALOG_FILE);
    // Not followed if a link (`lstat`): the catalog must be a file of the archive.
    if let Ok(m) = std::fs::symlink_metadata(&catalog_path)
        && !m.file_type().is_file()
    {
        return Err(corrupt(
            catalog_path.display(),
            "is not a file; move it out of the way and run reindex again",
        ));
    }
    // The archive's catalog lock, exclusively, before anything is read and until the new
    // catalog is in place: no other exhibit process has the catalog open meanwhile, nor can
    // open the old one and commit into it before it is replaced (§7.1).
    let lock = locks::try_lock_catalog_exclusive(root)?.ok_or_else(|| busy(&catalog_path))?;
    // Its -journal, -wal and -shm too, before SQLite (or `refuse_if_shared`) opens any of them.
    catalog::check_files(&catalog_path)?;
    let config = Config::load(root)?;
    let prefix = IdPrefix::new(&config.prefix).map_err(|e| StoreError::Config {
        path: root.join(crate::config::CONFIG_FILE),
        message: e.to_string(),
    })?;
    let keys = crate::key_history::load(root, &config.origin)?;
    // The old catalog's write lock, held while the new one is built, so no capture commits
    // into a catalog that is about to be replaced.
    let old = OldCatalog::lock(&catalog_path)?;

    let tmp = tempfile::Builder::new()
        .prefix(layout::REINDEX_TEMP_PREFIX)
        .suffix(layout::REINDEX_TEMP_SUFFIX)
        .tempfile_in(root)
        .map_err(|e| StoreError::io(root, e))?
        .into_temp_path();
    let latest_note: Option<String>;
    let mut report = {
        std::fs::set_permissions(&tmp, fsutil::public_file_permissions())
            .map_err(|e| StoreError::io(&*tmp, e))?;
        let mut conn = catalog::connect(&tmp, rusqlite::OpenFlags::default())?;
        // Built in one transaction, unjournalled: a failure discards the whole file.
        conn.pragma_update(None, "journal_mode", "OFF")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        catalog::create(&mut conn, &config.origin, prefix.as_str())?;
        let tx = conn.transaction()?;
        let (report, note) = Builder {
            root,
            conn: &tx,
            origin: &config.origin,
            prefix: &prefix,
            keys,
            objects: ObjectStore::new(objects_dir(root)),
            report: ReindexReport::default(),
            last_num: [0; 3],
        }
        .build()?;
        latest_note = note;
        catalog::optimize_search(&tx)?;
        tx.commit()?;
        // Closed (its temporary tables go with it) and opened again to switch to WAL, the
        // catalog's journal mode.
        conn.close().map_err(|(_, e)| StoreError::from(e))?;
        let conn = catalog::connect(&tmp, rusqlite::OpenFlags::default())?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        conn.close().map_err(|(_, e)| StoreError::from(e))?;
        report
    };
    let file = std::fs::File::open(&tmp).map_err(|e| StoreError::io(&*tmp, e))?;
    file.sync_all().map_err(|e| StoreError::io(&*tmp, e))?;
    drop(file);
    report.backup = old.replace(root, &catalog_path, &tmp)?;
    // Renamed into place: nothing left to delete.
    let _ = tmp.keep();
    fsutil::sync_dir(root)?;
    if report.latest_checkpoint_replaced.is_some()
        && let Some(note) = latest_note
    {
        fsutil::write_atomic_durable(&root.join(LATEST_CHECKPOINT), note.as_bytes())?;
    }
    drop(lock);
    Ok(report)
}

/// The catalog being replaced: its write lock, taken when it is a readable SQLite file.
struct OldCatalog {
    conn: Option<Connection>,
    exists: bool,
}

impl OldCatalog {
    fn lock(path: &Path) -> Result<OldCatalog, StoreError> {
        if !path.exists() {
            return Ok(OldCatalog {
                conn: None,
                exists: false,
            });
        }
        refuse_if_shared(path)?;
        let conn = match catalog::connect(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) {
            Ok(c) => c,
            // A damaged catalog (not SQLite, …) is what reindex is for: no lock to take.
            Err(_) => {
                return Ok(OldCatalog {
                    conn: None,
                    exists: true,
                });
            }
        };
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => Ok(OldCatalog {
                conn: Some(conn),
                exists: true,
            }),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Err(busy(path))
            }
            Err(_) => Ok(OldCatalog {
                conn: None,
                exists: true,
            }),
        }
    }

    /// Puts the new catalog `tmp` in place of `path`, keeping the old one (folded: its WAL
    /// checkpointed into it) as `catalog.sqlite.bak-<UTC time>`. Returns the backup's name.
    fn replace(self, root: &Path, path: &Path, tmp: &Path) -> Result<Option<String>, StoreError> {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        if let Some(conn) = self.conn {
            conn.execute_batch("ROLLBACK")?;
            // Fold the WAL into the file, so the backup is complete on its own; closing the
            // last connection removes the -wal and -shm files.
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .optional()?;
            conn.close().map_err(|(_, e)| StoreError::from(e))?;
            refuse_if_shared(path)?;
        }
        // The side files that may be kept beside a backup: all but the shared-memory index.
        let kept = |suffix: &str| suffix != layout::SHM_SUFFIX;
        // A name not taken yet, with its -wal and -journal: `…bak-<time>`, then
        // `…bak-<time>-2`, `-3`, … (several reindexes within one second).
        let mut n = 1u32;
        let backup_name = loop {
            let name = layout::catalog_backup_name(&stamp, n);
            n += 1;
            let backup = root.join(&name);
            let taken = |suffix: &str| {
                std::fs::symlink_metadata(layout::sqlite_side_file(&backup, suffix)).is_ok()
            };
            if taken("")
                || layout::CATALOG_SIDE_FILES
                    .iter()
                    .any(|s| kept(s) && taken(s))
            {
                continue;
            }
            if self.exists {
                match std::fs::hard_link(path, &backup) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => {
                        continue;
                    }
                    Err(e) => return Err(StoreError::io(&backup, e)),
                }
            }
            break name;
        };
        // Journal files left beside the old catalog must not be applied to the new one; a WAL
        // that still holds frames (from a catalog deleted without them, or one too damaged to
        // open) is kept beside the backup.
        for suffix in layout::CATALOG_SIDE_FILES {
            let p = layout::sqlite_side_file(path, suffix);
            match std::fs::metadata(&p) {
                Ok(m) if m.len() > 0 && kept(suffix) => {
                    let to = layout::sqlite_side_file(&root.join(&backup_name), suffix);
                    std::fs::rename(&p, &to).map_err(|e| StoreError::io(&p, e))?;
                }
                Ok(_) => std::fs::remove_file(&p).map_err(|e| StoreError::io(&p, e))?,
                Err(_) => {}
            }
        }
        std::fs::rename(tmp, path).map_err(|e| StoreError::io(path, e))?;
        Ok(self.exists.then_some(backup_name))
    }
}

fn busy(path: &Path) -> StoreError {
    StoreError::Rejected {
        what: path.display().to_string(),
        message: "another exhibit process has the archive open; stop it and run reindex again"
            .into(),
    }
}

/// Fails when another process has the catalog open ([`locks::catalog_open_elsewhere`]).
fn refuse_if_shared(path: &Path) -> Result<(), StoreError> {
    match locks::catalog_open_elsewhere(path)? {
        true => Err(busy(path)),
        false => Ok(()),
    }
}

fn corrupt(what: impl std::fmt::Display, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        message: message.into(),
    }
}

/// A signed checkpoint read from `log/checkpoints/`.
struct FileCheckpoint {
    size: u64,
    root: Hash,
    note: String,
}

struct Builder<'a> {
    root: &'a Path,
    conn: &'a Connection,
    origin: &'a str,
    prefix: &'a IdPrefix,
    keys: KeyHistory,
    objects: ObjectStore,
    report: ReindexReport,
    /// The highest number indexed so far of C, P, R: numbers are allocated in commit order,
    /// so they must increase along the log.
    last_num: [u64; 3],
}

/// The kinds of records that have manifests, in the order of `Builder::last_num`.
const KINDS: [RecordKind; 3] = [
    RecordKind::Capture,
    RecordKind::Provision,
    RecordKind::Reextraction,
];

impl Builder<'_> {
    /// Builds the catalog; returns the report and the latest signed checkpoint note.
    fn build(mut self) -> Result<(ReindexReport, Option<String>), StoreError> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE leaf (hash BLOB PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TEMP TABLE placed (idx INTEGER PRIMARY KEY, path TEXT NOT NULL);
             CREATE TEMP TABLE rules_seen (document INTEGER PRIMARY KEY, rules TEXT NOT NULL,
                                           at TEXT NOT NULL);",
        )?;
        let leaves = self.load_leaves()?;
        let checkpoints = self.load_checkpoints()?;
        let signed = checkpoints.last().map_or(0, |c| c.size);
        if signed > leaves {
            return Err(corrupt(
                self.root.join(LEAVES_FILE).display(),
                format!(
                    "holds {leaves} leaves but a checkpoint of size {signed} was signed: the file was truncated"
                ),
            ));
        }
        self.place_manifests()?;
        let size = self.index_log(leaves, signed, &checkpoints)?;
        for cp in &checkpoints {
            self.conn.execute(
                "INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)",
                params![cp.size as i64, &cp.root[..], cp.note],
            )?;
        }
        self.report.checkpoints = checkpoints.len() as u64;
        self.report.checkpoint_size = signed;
        self.report.log_size = size;
        self.report.beyond_checkpoint = size - signed;
        self.report.dropped_leaves = leaves - size;
        self.index_timestamps(&checkpoints)?;
        self.restore_rules()?;
        self.store_counters(size)?;
        let count = |table: &str| -> Result<u64, StoreError> {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(n as u64)
        };
        self.report.documents = count("documents")?;
        self.report.versions = count("versions")?;
        self.report.captures = count("captures")?;
        self.report.failures = count("captures WHERE ok = 0")?;
        self.report.provisions = count("provisions")?;
        self.report.reextractions = count("reextractions")?;
        Ok((self.report, checkpoints.last().map(|c| c.note.clone())))
    }

    /// Reads `log/leaves` into the `leaf` table; returns the number of whole leaves.
    fn load_leaves(&mut self) -> Result<u64, StoreError> {
        use std::io::Read;
        let path = self.root.join(LEAVES_FILE);
        let file = match fsutil::open_for_reading(&path, fsutil::Links::Refuse) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let mut reader = std::io::BufReader::new(file);
        let mut insert = self
            .conn
            .prepare("INSERT INTO leaf (hash, idx) VALUES (?1, ?2)")?;
        let mut buf = [0u8; 32];
        let mut n = 0u64;
        loop {
            match reader.read_exact(&mut buf) {
                Ok(()) => {}
                // A torn last leaf (a batch that never committed) is not a leaf.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(StoreError::io(&path, e)),
            }
            insert.execute(params![&buf[..], n as i64]).map_err(|_| {
                corrupt(
                    path.display(),
                    format!("leaf {n} repeats an earlier leaf hash"),
                )
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// Every signed checkpoint in `log/checkpoints/`, verified, by size; `log/checkpoint`
    /// must be the latest of them.
    fn load_checkpoints(&mut self) -> Result<Vec<FileCheckpoint>, StoreError> {
        let dir = self.root.join(CHECKPOINT_DIR);
        let mut out = Vec::new();
        if dir.is_dir() {
            for entry in std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))? {
                let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                // A name that looks like a checkpoint's is read: one that is not exactly the
                // name of the size it holds is an error, not skipped.
                let Some(digits) = name.strip_suffix(".checkpoint") else {
                    continue;
                };
                if digits.parse::<u64>().is_err() {
                    continue;
                }
                let cp = self.read_checkpoint(&entry.path())?;
                let named = match layout::parse_checkpoint_dir_name(name) {
                    Some(layout::CheckpointDirFile::Checkpoint(size)) => Some(size),
                    _ => None,
                };
                if named != Some(cp.size) {
                    return Err(corrupt(
                        entry.path().display(),
                        format!("holds a checkpoint of size {}", cp.size),
                    ));
                }
                out.push(cp);
            }
        }
        out.sort_by_key(|c| c.size);
        let latest = self.root.join(LATEST_CHECKPOINT);
        if std::fs::symlink_metadata(&latest).is_ok() {
            let cp = self.read_checkpoint(&latest)?;
            let older = out.iter().any(|c| c.size == cp.size && c.note == cp.note);
            if out.last().map(|c| (c.size, &c.note)) != Some((cp.size, &cp.note)) && older {
                // An older checkpoint of this log, the latest once (a restored backup of
                // `log/checkpoint` with the catalog): replaced by the latest after the rebuild.
                self.report.latest_checkpoint_replaced = Some(cp.size);
            } else if out.last().map(|c| (c.size, &c.note)) != Some((cp.size, &cp.note)) {
                return Err(corrupt(
                    latest.display(),
                    format!(
                        "is not the latest checkpoint file in {CHECKPOINT_DIR}/ (size {})",
                        cp.size
                    ),
                ));
            }
        } else if let Some(last) = out.last() {
            return Err(corrupt(
                latest.display(),
                format!("missing, but a checkpoint of size {} was signed", last.size),
            ));
        }
        Ok(out)
    }

    fn read_checkpoint(&self, path: &Path) -> Result<FileCheckpoint, StoreError> {
        let bad = |m: String| corrupt(path.display(), m);
        let bytes = fsutil::read_in_archive(path, 1 << 20)?;
        let note = String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        self.keys
            .verify_checkpoint(&note, self.origin)
            .map_err(bad)?;
        let (body, _) = split_note(&note).map_err(|e| bad(e.to_string()))?;
        let cp = Checkpoint::parse(body).map_err(|e| bad(e.to_string()))?;
        if cp.origin != self.origin {
            return Err(bad(format!(
                "origin {:?} is not the archive's {:?}",
                cp.origin, self.origin
            )));
        }
        Ok(FileCheckpoint {
            size: cp.size,
            root: cp.root,
            note,
        })
    }

    /// Pass 1: finds each manifest's leaf (by its leaf hash). A manifest with no leaf is an
    /// orphan when it has no signature or a valid one; one whose signature does not verify
    /// has been altered, and reindex fails.
    fn place_manifests(&mut self) -> Result<(), StoreError> {
        let mut find = self.conn.prepare("SELECT idx FROM leaf WHERE hash = ?1")?;
        let mut place = self
            .conn
            .prepare("INSERT INTO placed (idx, path) VALUES (?1, ?2)")?;
        for kind in KINDS {
            let kind_dir = self.root.join(layout::manifest_kind_dir(kind));
            for shard in sorted_entries(&kind_dir)? {
                if !shard.is_dir() {
                    continue;
                }
                for path in sorted_entries(&shard)? {
                    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                        continue;
                    };
                    if layout::is_temp_name(name) || !name.ends_with(".json") {
                        continue;
                    }
                    let rel = self.rel(&path);
                    let id = self.id_of(&path, kind)?;
                    let belongs = layout::manifest_path(&id);
                    if belongs != rel {
                        return Err(corrupt(&rel, format!("{id} belongs at {belongs}")));
                    }
                    let bytes =
                        fsutil::read_in_archive(&path, crate::record_files::manifest_limit(kind))?;
                    let leaf = merkle::leaf_hash(&bytes);
                    let idx: Option<i64> = find.query_row([&leaf[..]], |r| r.get(0)).optional()?;
                    match idx {
                        Some(idx) => {
                            place.execute(params![idx, rel]).map_err(|_| {
                                corrupt(&rel, format!("log leaf {idx} already has a manifest"))
                            })?;
                        }
                        None => {
                            // What a batch killed before its files were complete leaves is an
                            // orphan too; only a complete signature over complete-looking
                            // bytes that does not verify means an altered manifest.
                            let why = match self.read_sig(&id)? {
                                None => "not in the log; no signature",
                                Some(sig) if sig.len() != SIGNATURE_LEN => {
                                    "not in the log; signature incomplete"
                                }
                                Some(_) if bytes.is_empty() => "not in the log; empty",
                                Some(sig) => match self.keys.verify_any(&bytes, &sig).ok_or(()) {
                                    Ok(_) => "not in the log",
                                    Err(_) if truncated(&bytes) => "not in the log; truncated",
                                    Err(_) => {
                                        return Err(corrupt(
                                            &rel,
                                            "signature does not verify with the archive key \
                                             (the manifest was altered) and the log has no leaf \
                                             for it",
                                        ));
                                    }
                                },
                            };
                            self.report.orphans.push(format!("{rel}: {why}"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Pass 2: indexes the manifests in log order, verifying each, and rebuilds the tree.
    /// Returns the number of leaves indexed.
    fn index_log(
        &mut self,
        leaves: u64,
        signed: u64,
        checkpoints: &[FileCheckpoint],
    ) -> Result<u64, StoreError> {
        let leaves_path = self.root.join(LEAVES_FILE);
        let mut next_checkpoint = checkpoints.iter().peekable();
        while next_checkpoint.peek().is_some_and(|c| c.size == 0) {
            next_checkpoint.next();
        }
        let mut idx = 0u64;
        while idx < leaves {
            let (leaf, path): (Vec<u8>, Option<String>) = self.conn.query_row(
                "SELECT l.hash, p.path FROM leaf l LEFT JOIN placed p ON p.idx = l.idx \
                 WHERE l.idx = ?1",
                [idx as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some(rel) = path else {
                if idx < signed {
                    return Err(corrupt(
                        leaves_path.display(),
                        format!(
                            "leaf {idx} ({}) is covered by the signed checkpoint of size {signed} \
                             but no manifest has it (a manifest was removed or altered)",
                            hex(&leaf)
                        ),
                    ));
                }
                // The tail of a batch that never committed: later placed manifests are
                // orphans too.
                self.orphans_after(idx, "after a log leaf without a manifest")?;
                break;
            };
            let leaf: Hash = leaf
                .try_into()
                .map_err(|_| corrupt(leaves_path.display(), "leaf is not 32 bytes"))?;
            if idx >= signed
                && let Some(why) = self.incomplete(&rel)?
            {
                // A batch killed before its files were all in place (§8: its objects are
                // renamed to their addresses last): this leaf and all later ones are dropped.
                self.report.orphans.push(format!(
                    "{rel}: log leaf {idx}, beyond the signed checkpoint, ends the log: {why}"
                ));
                self.orphans_after(idx, "after a log leaf that ends the log")?;
                break;
            }
            self.index_manifest(&rel, idx, &leaf)?;
            self.append_leaf(idx, leaf)?;
            idx += 1;
            while let Some(cp) = next_checkpoint.next_if(|c| c.size == idx) {
                self.check_root(cp)?;
            }
        }
        if let Some(cp) = next_checkpoint.next() {
            return Err(corrupt(
                crate::log::checkpoint_path(self.root, cp.size).display(),
                format!(
                    "signs a tree of {} leaves but only {idx} leaves have manifests",
                    cp.size
                ),
            ));
        }
        Ok(idx)
    }

    /// Adds the leaf at `idx` to the catalog's tree.
    fn append_leaf(&self, idx: u64, leaf: Hash) -> Result<(), StoreError> {
        let nodes = merkle::append(idx, leaf, &SqlNodes(self.conn)).map_err(merkle_err)?;
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
        for (level, i, hash) in nodes {
            insert.execute(params![level, i as i64, &hash[..]])?;
        }
        Ok(())
    }

    /// Checks that the signed checkpoint `cp` has the root of the catalog's tree of its size.
    fn check_root(&self, cp: &FileCheckpoint) -> Result<(), StoreError> {
        let root = merkle::root(cp.size, &SqlNodes(self.conn)).map_err(merkle_err)?;
        if root != cp.root {
            return Err(corrupt(
                crate::log::checkpoint_path(self.root, cp.size).display(),
                format!(
                    "the signed root of the tree of {} leaves differs from the one the \
                     manifests in {LEAVES_FILE} give",
                    cp.size
                ),
            ));
        }
        Ok(())
    }

    /// Sets the counters from the rows (numbers of retired orphan manifests stay used) and the
    /// log's size.
    fn store_counters(&self, size: u64) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "UPDATE counters SET last = coalesce((SELECT max(num) FROM documents), 0) WHERE kind = 'D';
             UPDATE counters SET last = coalesce((SELECT max(num) FROM versions), 0) WHERE kind = 'V';
             UPDATE counters SET last = coalesce((SELECT max(num) FROM captures), 0) WHERE kind = 'C';
             UPDATE counters SET last = coalesce((SELECT max(num) FROM provisions), 0) WHERE kind = 'P';
             UPDATE counters SET last = coalesce((SELECT max(num) FROM reextractions), 0) WHERE kind = 'R';",
        )?;
        self.conn.execute(
            "UPDATE counters SET last = ?1 WHERE kind = 'L'",
            [size as i64],
        )?;
        for id in crate::orphans::read_retired(self.root, self.prefix)? {
            self.conn.execute(
                "UPDATE counters SET last = max(last, ?2) WHERE kind = ?1",
                rusqlite::params![id.kind().letter().to_string(), id.number() as i64],
            )?;
        }
        Ok(())
    }

    /// Reports the manifests placed at leaves after `idx` as orphans.
    fn orphans_after(&mut self, idx: u64, why: &str) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM placed WHERE idx > ?1 ORDER BY idx")?;
        let rest: Vec<String> = stmt
            .query_map([idx as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        self.report
            .orphans
            .extend(rest.into_iter().map(|p| format!("{p}: {why}")));
        Ok(())
    }

    /// For a manifest placed beyond the latest signed checkpoint: why its record is incomplete
    /// (its signature file missing or short, an object it names missing), or `None` when it
    /// is complete — or fails a check that [`Builder::index_manifest`] reports as an error
    /// (a complete signature that does not verify, a manifest that does not parse).
    fn incomplete(&self, rel: &str) -> Result<Option<String>, StoreError> {
        let path = self.root.join(rel);
        let kind = KINDS[kind_index(rel)?];
        let id = self.id_of(&path, kind)?;
        let sig = match self.read_sig(&id)? {
            None => return Ok(Some("its signature file (.json.sig) is missing".into())),
            Some(s) if s.len() != SIGNATURE_LEN => {
                return Ok(Some(format!(
                    "its signature file (.json.sig) is incomplete ({} bytes)",
                    s.len()
                )));
            }
            Some(s) => s,
        };
        let bytes = fsutil::read_in_archive(&path, crate::record_files::manifest_limit(kind))?;
        if self.keys.verify_any(&bytes, &sig).is_none() {
            return Ok(None);
        }
        let Ok(objects) = crate::record_files::named_objects(kind, &bytes) else {
            return Ok(None);
        };
        for (sha, what) in objects {
            if !self.objects.contains(&sha) {
                return Ok(Some(format!(
                    "{what} object {} is missing",
                    self.rel(&self.objects.path_of(&sha))
                )));
            }
        }
        Ok(None)
    }

    fn id_of(&self, path: &Path, kind: RecordKind) -> Result<RecordId, StoreError> {
        let rel = self.rel(path);
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .unwrap_or_default();
        let id: RecordId = stem
            .parse()
            .map_err(|e| corrupt(&rel, format!("not a manifest name: {e}")))?;
        if id.kind() != kind || id.prefix() != self.prefix.as_str() {
            return Err(corrupt(
                &rel,
                format!(
                    "not a {} id of this archive ({}-)",
                    kind.name(),
                    self.prefix
                ),
            ));
        }
        Ok(id)
    }

    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// The signature file of `id`'s manifest (at most 64 bytes), if there is one.
    fn read_sig(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        let sig = self.root.join(layout::signature_path(id));
        if !sig.exists() {
            return Ok(None);
        }
        fsutil::read_in_archive(&sig, 64).map(Some)
    }

    /// Indexes the token files `log/checkpoints/<size>.checkpoint.<tsa>.tsr` whose imprint is
    /// the hash of an indexed checkpoint; others are reported and skipped.
    fn index_timestamps(&mut self, checkpoints: &[FileCheckpoint]) -> Result<(), StoreError> {
        let dir = self.root.join(CHECKPOINT_DIR);
        for path in sorted_entries(&dir)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // Checkpoints are not tokens; a `.tsr` file with another name is reported.
            if !name.ends_with(".tsr") {
                continue;
            }
            let rel = self.rel(&path);
            let Some(layout::CheckpointDirFile::Token(layout::TokenFile { size, tsa })) =
                layout::parse_checkpoint_dir_name(name)
            else {
                self.report
                    .skipped_tokens
                    .push(format!("{rel}: not a token file name"));
                continue;
            };
            let Some(cp) = checkpoints.iter().find(|c| c.size == size) else {
                self.report
                    .skipped_tokens
                    .push(format!("{rel}: no signed checkpoint of size {size}"));
                continue;
            };
            let bytes = fsutil::read_in_archive(&path, MAX_TOKEN_BYTES)?;
            let token = exhibit_timestamp::Token::parse_response(&bytes)
                .and_then(|t| t.check_message(cp.note.as_bytes()).map(|()| t))
                .and_then(|t| t.verify_signature().map(|()| t));
            match token {
                Ok(t) => {
                    self.conn.execute(
                        "INSERT OR IGNORE INTO timestamps (size, tsa, gen_time, file) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![size as i64, tsa, t.info().gen_time, rel],
                    )?;
                    self.report.timestamps += 1;
                }
                Err(e) => self.report.skipped_tokens.push(format!("{rel}: {e}")),
            }
        }
        Ok(())
    }

    /// The `document_rules` history is kept only in the catalog; what the signed records say
    /// is the rules in force at each document's latest capture with a text or re-extraction.
    /// Those become one row per document (when not empty), `how` = [`RULES_FROM_REINDEX`].
    fn restore_rules(&mut self) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "INSERT INTO document_rules (document, rules, set_at, how) \
             SELECT document, rules, at, ?1 FROM rules_seen \
             WHERE rules <> '{\"select\":[],\"remove\":[]}' ORDER BY document",
            [RULES_FROM_REINDEX],
        )?;
        self.report.rules_restored = n as u64;
        Ok(())
    }
}

/// The length of a complete signature file (a raw Ed25519 signature, §4.1).
const SIGNATURE_LEN: usize = 64;

/// Whether `bytes` end inside a JSON value: a manifest file cut short.
fn truncated(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_err_and(|e| e.is_eof())
}

/// The position in [`KINDS`] of the manifest at `rel`.
fn kind_index(rel: &str) -> Result<usize, StoreError> {
    KINDS
        .iter()
        .position(|&kind| {
            rel.strip_prefix(&layout::manifest_kind_dir(kind))
                .is_some_and(|r| r.starts_with('/'))
        })
        .ok_or_else(|| corrupt(rel, "not a manifest path"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The entries of a directory, sorted by name (none when it does not exist).
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        out.push(entry.map_err(|e| StoreError::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}
