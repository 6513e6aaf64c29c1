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
use rusqlite::{Connection, OptionalExtension, params};

use crate::{StoreError, fsutil};

/// The leaves file, relative to the archive root.
pub const LEAVES_FILE: &str = "log/leaves";
/// The directory of signed checkpoint files.
pub const CHECKPOINT_DIR: &str = "log/checkpoints";
/// The latest signed checkpoint, as a file.
pub const LATEST_CHECKPOINT: &str = "log/checkpoint";

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
    if !file.exists() {
        fsutil::write_atomic_new(&file, note.as_bytes())?;
    }
    fsutil::write_atomic(&root_dir.join(LATEST_CHECKPOINT), note.as_bytes())?;
    dirty.push(dir);
    dirty.push(root_dir.join("log"));
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
    if !path.exists() {
        return Ok(None);
    }
    let bytes = fsutil::read_limited(&path, 1 << 20)?;
    let bad = |message: String| StoreError::Corrupt {
        what: path.display().to_string(),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
    let (body, _) = exhibit_core::checkpoint::split_note(&text).map_err(|e| bad(e.to_string()))?;
    let cp = Checkpoint::parse(body).map_err(|e| bad(e.to_string()))?;
    Ok(Some((cp.size, cp.root)))
}

/// `log/checkpoints/<size, 12 digits>.checkpoint`.
pub fn checkpoint_path(root_dir: &Path, size: u64) -> PathBuf {
    root_dir
        .join(CHECKPOINT_DIR)
        .join(format!("{size:012}.checkpoint"))
}
