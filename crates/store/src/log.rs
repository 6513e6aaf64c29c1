//! The append-only Merkle log over every signed manifest.
//!
//! Leaves are RFC 6962 leaf hashes of manifest bytes, in commit order. The hashes of complete
//! subtrees live in the catalog's `log_nodes` table, written in the same transaction as the
//! capture they belong to (so there is no manifest without its leaf and no leaf without its
//! manifest); proofs read O(log n) of them. The leaf order is also kept outside SQLite, in
//! `log/leaves` (32 bytes per leaf, at offset 32 × index), fsynced before each commit, so the
//! tree can be rebuilt from the manifests. Signed checkpoints (C2SP tlog-checkpoint as C2SP
//! signed notes, key name = origin) are kept in `checkpoints` and as files in
//! `log/checkpoints/`.

use std::path::{Path, PathBuf};

use exhibit_core::checkpoint::Checkpoint;
use exhibit_core::merkle::{self, Hash, NodeSource};
use exhibit_sign::history::KeyHistory;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{StoreError, fsutil, layout};

/// The log's files, relative to the archive root (named in [`crate::layout`]).
pub use crate::layout::{CHECKPOINT_DIR, LATEST_CHECKPOINT, LEAVES_FILE};

/// Complete-subtree hashes read from the catalog.
pub(crate) struct SqlNodes<'a>(pub &'a Connection);

impl NodeSource for SqlNodes<'_> {
    type Error = rusqlite::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2")?;
        let bytes: Vec<u8> = stmt.query_row(params![level, index as i64], |r| r.get(0))?;
        bytes.try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Blob,
                "log node is not 32 bytes".into(),
            )
        })
    }
}

pub(crate) fn merkle_err<E: std::fmt::Display>(e: merkle::ProofError<E>) -> StoreError {
    StoreError::Corrupt {
        what: "log".into(),
        message: e.to_string(),
    }
}

/// The number of leaves in the log (committed).
pub(crate) fn size(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row("SELECT last FROM counters WHERE kind = 'L'", [], |r| {
        r.get(0)
    })?;
    Ok(n as u64)
}

/// Appends the leaf at `index` (the caller allocated it: the log's size before the leaf)
/// inside the caller's transaction: returns the index.
pub(crate) fn append(
    conn: &Connection,
    leaves: &std::fs::File,
    leaves_path: &Path,
    index: u64,
    manifest_bytes: &[u8],
) -> Result<u64, StoreError> {
    use std::os::unix::fs::FileExt;
    let leaf = merkle::leaf_hash(manifest_bytes);
    let nodes = merkle::append(index, leaf, &SqlNodes(conn)).map_err(merkle_err)?;
    let mut stmt =
        conn.prepare_cached("INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
    for (level, idx, hash) in nodes {
        stmt.execute(params![level, idx as i64, &hash[..]])?;
    }
    leaves
        .write_all_at(&leaf, index * 32)
        .map_err(|e| StoreError::io(leaves_path, e))?;
    Ok(index)
}

/// A signed checkpoint the archive issued.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note, exactly as issued.
    pub note: String,
}

/// The latest signed checkpoint, if any.
pub(crate) fn latest(conn: &Connection) -> Result<Option<SignedCheckpoint>, StoreError> {
    let row = conn
        .query_row(
            "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    row.map(|(size, root, note)| {
        let root: Hash = root.try_into().map_err(|_| StoreError::Corrupt {
            what: "catalog checkpoints".into(),
            message: "root is not 32 bytes".into(),
        })?;
        Ok(SignedCheckpoint { size, root, note })
    })
    .transpose()
}

/// Signs a checkpoint of the current tree inside the caller's write transaction, unless the
/// latest one already covers it. Refuses to sign a tree that does not extend the latest signed
/// checkpoint (the store would be corrupt): two inconsistent checkpoints are never signed.
pub(crate) fn sign_checkpoint(
    conn: &Connection,
    root_dir: &Path,
    origin: &str,
    key: &exhibit_sign::SigningKey,
) -> Result<SignedCheckpoint, StoreError> {
    let n = size(conn)?;
    let previous = latest(conn)?;
    if let Some(p) = &previous
        && p.size == n
    {
        return Ok(p.clone());
    }
    let nodes = SqlNodes(conn);
    let root = merkle::root(n, &nodes).map_err(merkle_err)?;
    // The newest checkpoint file too, not only the catalog's copy: a damaged or restored
    // catalog must not lead to signing a history that contradicts what was already signed.
    if let Some((size, file_root)) = latest_checkpoint_file(root_dir)? {
        let ours = if size <= n {
            Some(merkle::root(size, &nodes).map_err(merkle_err)?)
        } else {
            None
        };
        if ours != Some(file_root) {
            return Err(StoreError::Corrupt {
                what: root_dir.join(LATEST_CHECKPOINT).display().to_string(),
                message: format!(
                    "the log of {n} leaves does not extend this signed checkpoint of size {size}; refusing to sign"
                ),
            });
        }
    }
    if let Some(p) = &previous
        && p.size > 0
    {
        let proof = merkle::consistency_proof(p.size, n, &nodes).map_err(merkle_err)?;
        merkle::verify_consistency(p.size, n, &p.root, &root, &proof).map_err(|e| {
            StoreError::Corrupt {
                what: "log".into(),
                message: format!(
                    "the tree of size {n} does not extend the signed checkpoint of size {}: {e}; refusing to sign",
                    p.size
                ),
            }
        })?;
    }
    let text = Checkpoint {
        origin: origin.to_owned(),
        size: n,
        root,
        extensions: Vec::new(),
    }
    .to_text();
    let note =
        exhibit_sign::note::sign_note(&text, origin, key).map_err(|e| StoreError::Rejected {
            what: "checkpoint".into(),
            message: e.to_string(),
        })?;
    let dir = root_dir.join(CHECKPOINT_DIR);
    let mut dirty = fsutil::create_dirs(&dir)?;
    let file = checkpoint_path(root_dir, n);
    if std::fs::symlink_metadata(&file).is_ok() {
        // Left by a signing that crashed before its commit: the same tree signs to the same
        // bytes (Ed25519 is deterministic). Anything else there would be a second, different
        // checkpoint of this size.
        if fsutil::read_in_archive(&file, 1 << 20)? != note.as_bytes() {
            return Err(StoreError::Corrupt {
                what: file.display().to_string(),
                message: format!(
                    "already holds a different checkpoint of size {n}; refusing to sign another"
                ),
            });
        }
    } else {
        fsutil::write_atomic_new(&file, note.as_bytes())?;
    }
    fsutil::write_atomic(&root_dir.join(LATEST_CHECKPOINT), note.as_bytes())?;
    dirty.push(dir);
    dirty.push(root_dir.join(layout::LOG_DIR));
    for d in dirty {
        fsutil::sync_dir(&d)?;
    }
    conn.execute(
        "INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)",
        params![n as i64, &root[..], note],
    )?;
    Ok(SignedCheckpoint {
        size: n,
        root,
        note,
    })
}

/// Size and root of the checkpoint in `log/checkpoint`, if the file exists.
fn latest_checkpoint_file(root_dir: &Path) -> Result<Option<(u64, Hash)>, StoreError> {
    let path = root_dir.join(LATEST_CHECKPOINT);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let bytes = fsutil::read_in_archive(&path, 1 << 20)?;
    let bad = |message: String| StoreError::Corrupt {
        what: path.display().to_string(),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
    let (body, _) = exhibit_core::checkpoint::split_note(&text).map_err(|e| bad(e.to_string()))?;
    let cp = Checkpoint::parse(body).map_err(|e| bad(e.to_string()))?;
    Ok(Some((cp.size, cp.root)))
}

/// `log/checkpoints/<size, 12 digits>.checkpoint` under the archive root `root_dir`
/// ([`layout::checkpoint_path`]).
pub fn checkpoint_path(root_dir: &Path, size: u64) -> PathBuf {
    root_dir.join(layout::checkpoint_path(size))
}

/// Reads the signed checkpoint note in `path` and checks it as the archive's: a note signed
/// under `origin` by the key of `keys` that signs checkpoints of its size, whose body is a
/// checkpoint of `origin`. Returns its size and root, or why it is not the archive's.
pub(crate) fn read_signed_checkpoint(
    path: &Path,
    origin: &str,
    keys: &KeyHistory,
) -> Result<(u64, Hash), String> {
    read_signed_note(path, origin, keys).map(|(size, root, _)| (size, root))
}

/// [`read_signed_checkpoint`], also returning the note as read.
pub(crate) fn read_signed_note(
    path: &Path,
    origin: &str,
    keys: &KeyHistory,
) -> Result<(u64, Hash, String), String> {
    let bytes = fsutil::read_in_archive(path, 1 << 20).map_err(|e| match e {
        StoreError::Io { source, .. } => source.to_string(),
        e => e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let (cp, _) = keys.verify_checkpoint(&text, origin)?;
    Ok((cp.size, cp.root, text))
}

/// The largest checkpoint file (`log/checkpoints/<size>.checkpoint` or `log/checkpoint`)
/// signed by the archive's keys that covers more than `size` leaves, if any: its path and size. Such a
/// checkpoint was signed over committed leaves (a checkpoint is only ever signed over the
/// committed log), so a catalog whose log has `size` leaves is older than the log.
pub(crate) fn signed_beyond(
    root: &Path,
    origin: &str,
    keys: &KeyHistory,
    size: u64,
) -> Result<Option<(PathBuf, u64)>, StoreError> {
    let dir = root.join(CHECKPOINT_DIR);
    let mut candidates: Vec<(u64, PathBuf)> = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
                let name = entry.file_name();
                if let Some(layout::CheckpointDirFile::Checkpoint(n)) =
                    name.to_str().and_then(layout::parse_checkpoint_dir_name)
                    && n > size
                {
                    candidates.push((n, entry.path()));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(&dir, e)),
    }
    candidates.sort();
    candidates.push((u64::MAX, root.join(LATEST_CHECKPOINT)));
    let mut found: Option<(PathBuf, u64)> = None;
    for (_, path) in candidates.into_iter().rev() {
        if let Ok((n, _)) = read_signed_checkpoint(&path, origin, keys)
            && n > size
            && found.as_ref().is_none_or(|(_, f)| n > *f)
        {
            found = Some((path, n));
        }
    }
    Ok(found)
}

/// The error of a catalog older than the log: `file` signs `signed` leaves, the catalog's
/// log has `size`.
pub(crate) fn catalog_behind(file: &Path, signed: u64, size: u64) -> StoreError {
    StoreError::Corrupt {
        what: layout::CATALOG_FILE.into(),
        message: catalog_behind_message(file, signed, size),
    }
}

/// The message of [`catalog_behind`] (also fsck's problem).
pub(crate) fn catalog_behind_message(file: &Path, signed: u64, size: u64) -> String {
    format!(
        "catalog older than the log: {} signs {signed} leaves but the catalog's log has {size} \
         (a restored backup?): run `exhibit reindex`",
        file.display()
    )
}
