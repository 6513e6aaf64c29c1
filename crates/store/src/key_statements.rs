//! The key history's files (`keys/history/`, docs/FORMAT.md §2.1): reading the statements
//! with their signatures, and writing new ones crash-safely. No archive, no catalog: what
//! `init` (the root statement) and the key operations in `key_history` share.

use std::path::Path;

use chrono::Utc;
use exhibit_core::Sha256Digest;
use exhibit_core::key_statement::{
    KeyAction, KeyStatement, KeyStatementType, MAX_KEY_STATEMENT_BYTES, MAX_KEY_STATEMENTS,
    new_key_signature_file, signature_file, statement_file,
};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_sign::SigningKey;
use exhibit_sign::history::{KeyHistory, StoredStatement, key_ref};

use crate::layout::KEY_HISTORY_DIR;
use crate::{StoreError, fsutil};

/// One statement's files as read from `keys/history/`.
#[derive(Clone, Debug)]
pub struct StatementFiles {
    /// Its sequence number.
    pub sequence: u64,
    /// `<n>.json`.
    pub bytes: Vec<u8>,
    /// `<n>.json.sig`.
    pub signature: Vec<u8>,
    /// `<n>.json.new.sig`, when present.
    pub new_key_signature: Option<Vec<u8>>,
}

impl StatementFiles {
    /// The relative path of the statement (`keys/history/000001.json`).
    pub fn path(&self) -> String {
        format!("{KEY_HISTORY_DIR}/{}", statement_file(self.sequence))
    }
}

/// Follows stored statements ([`KeyHistory::follow`]; at least one).
pub fn follow(origin: &str, files: &[StatementFiles]) -> Result<KeyHistory, String> {
    let names: Vec<String> = files.iter().map(StatementFiles::path).collect();
    let stored: Vec<StoredStatement<'_>> = files
        .iter()
        .zip(&names)
        .map(|(f, name)| StoredStatement {
            name,
            bytes: &f.bytes,
            signature: &f.signature,
            new_key_signature: f.new_key_signature.as_deref(),
        })
        .collect();
    KeyHistory::follow(origin, &stored).map_err(|e| e.to_string())
}

/// Whether `name` is a file of `keys/history/` as exhibit writes them: `<n>.json`, `<n>.json.sig`
/// or `<n>.json.new.sig`, `n` spelled as [`statement_file`] spells it.
pub(crate) fn is_history_file(name: &str) -> bool {
    let Some(n) = name.split('.').next().and_then(|d| d.parse::<u64>().ok()) else {
        return false;
    };
    [
        statement_file(n),
        signature_file(n),
        new_key_signature_file(n),
    ]
    .iter()
    .any(|f| f == name)
}

/// Reads the statements in `root/keys/history/`, in sequence order: `000001.json` to
/// `<n>.json` with no gap, each with its `.sig` (and `.new.sig` when there is one). Files are
/// read without following links and within [`MAX_KEY_STATEMENT_BYTES`].
pub fn read_statements(root: &Path) -> Result<Vec<StatementFiles>, StoreError> {
    let dir = root.join(KEY_HISTORY_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&dir, e)),
    };
    let mut numbers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        match stem.parse::<u64>() {
            Ok(n) if statement_file(n) == format!("{stem}.json") => numbers.push(n),
            _ => {
                return Err(StoreError::Corrupt {
                    what: entry.path().display().to_string(),
                    message: "is not a key statement name (000001.json, …)".into(),
                });
            }
        }
        if numbers.len() > MAX_KEY_STATEMENTS {
            return Err(StoreError::Corrupt {
                what: dir.display().to_string(),
                message: format!("holds more than {MAX_KEY_STATEMENTS} key statements"),
            });
        }
    }
    numbers.sort_unstable();
    let mut out = Vec::with_capacity(numbers.len());
    for (i, n) in numbers.into_iter().enumerate() {
        if n != i as u64 + 1 {
            return Err(StoreError::Corrupt {
                what: dir.join(statement_file(i as u64 + 1)).display().to_string(),
                message: "is missing: the key history has a gap".into(),
            });
        }
        let read = |name: String, limit: u64| fsutil::read_in_archive(&dir.join(name), limit);
        let new_sig_path = dir.join(new_key_signature_file(n));
        out.push(StatementFiles {
            sequence: n,
            bytes: read(statement_file(n), MAX_KEY_STATEMENT_BYTES as u64)?,
            signature: read(signature_file(n), 64)?,
            new_key_signature: match std::fs::symlink_metadata(&new_sig_path) {
                Ok(_) => Some(read(new_key_signature_file(n), 64)?),
                Err(_) => None,
            },
        });
    }
    Ok(out)
}

/// Writes the first statement of an archive made with a root key (`exhibit init --root-key`):
/// the root brings in the first signing key, signed by both.
pub(crate) fn write_root_statement(
    root_dir: &Path,
    origin: &str,
    root: &SigningKey,
    first: &SigningKey,
) -> Result<(), StoreError> {
    if root.public_key() == first.public_key() {
        return Err(StoreError::BadQuery(
            "--root-key is the signing key itself; a root key is a separate key kept offline"
                .into(),
        ));
    }
    let statement = KeyStatement {
        statement_type: KeyStatementType::V1,
        origin: origin.to_owned(),
        sequence: 1,
        previous_sha256: None,
        action: KeyAction::Root,
        key: key_ref(&root.public_key()),
        new_key: Some(key_ref(&first.public_key())),
        log_size: 0,
        log_root: Sha256Digest::of(b""),
        compromised_since: None,
        created_at: format_rfc3339_seconds(Utc::now()),
        signer: root.public_key().fingerprint().to_string(),
    };
    let bytes = canonical(&statement)?;
    write_statement(
        root_dir,
        1,
        &bytes,
        &root.sign(&bytes).to_bytes(),
        Some(&first.sign(&bytes).to_bytes()),
    )
}

/// A statement's canonical bytes.
pub(crate) fn canonical(statement: &KeyStatement) -> Result<Vec<u8>, StoreError> {
    statement
        .to_canonical_bytes()
        .map_err(|e| StoreError::Rejected {
            what: "key statement".into(),
            message: e.to_string(),
        })
}

/// SHA-256 of statement `sequence - 1`'s file (none for the first).
pub(crate) fn previous_sha256(
    root: &Path,
    sequence: u64,
) -> Result<Option<Sha256Digest>, StoreError> {
    if sequence == 1 {
        return Ok(None);
    }
    let path = root
        .join(KEY_HISTORY_DIR)
        .join(statement_file(sequence - 1));
    let bytes = fsutil::read_in_archive(&path, MAX_KEY_STATEMENT_BYTES as u64)?;
    Ok(Some(Sha256Digest::of(&bytes)))
}

/// Writes a statement's signatures, then the statement (never replacing a statement), each
/// fsynced, then the directory: a crash leaves either no statement or a complete one (a
/// signature file without its statement is ignored by readers and reported by fsck).
pub(crate) fn write_statement(
    root: &Path,
    sequence: u64,
    bytes: &[u8],
    signature: &[u8; 64],
    new_key_signature: Option<&[u8; 64]>,
) -> Result<(), StoreError> {
    let dir = root.join(KEY_HISTORY_DIR);
    let created = fsutil::create_dirs(&dir)?;
    if std::fs::symlink_metadata(dir.join(statement_file(sequence))).is_ok() {
        return Err(StoreError::Corrupt {
            what: dir.join(statement_file(sequence)).display().to_string(),
            message: "already exists; a key statement is never replaced".into(),
        });
    }
    // Signatures without their statement are a crashed write's (the statement is the commit
    // point, and the caller holds the catalog's write lock): never evidence, replaced here.
    for stale in [signature_file(sequence), new_key_signature_file(sequence)] {
        match std::fs::remove_file(dir.join(&stale)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::io(dir.join(stale), e));
            }
            _ => {}
        }
    }
    fsutil::write_atomic_new(&dir.join(signature_file(sequence)), signature)?;
    if let Some(sig) = new_key_signature {
        fsutil::write_atomic_new(&dir.join(new_key_signature_file(sequence)), sig)?;
    }
    fsutil::write_atomic_new(&dir.join(statement_file(sequence)), bytes)?;
    fsutil::sync_dir(&dir)?;
    for d in created {
        fsutil::sync_dir(&d)?;
    }
    Ok(())
}
