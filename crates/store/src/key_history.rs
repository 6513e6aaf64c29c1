//! The archive's key history (`keys/history/`, docs/FORMAT.md §2.1): reading it, and the two
//! operations that add to it, rotating the signing key and revoking a retired one.
//!
//! The statements are the truth; `keys/signing.pub.pem` and `key` in `exhibit.toml` follow
//! them. Each operation runs inside the catalog's write transaction, so no batch signs with a
//! key while it is being retired ([`crate::Batch`] checks its key against the history under
//! the same lock).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use exhibit_core::Sha256Digest;
use exhibit_core::key_statement::{
    KeyAction, KeyStatement, KeyStatementType, MAX_KEY_STATEMENT_BYTES, MAX_KEY_STATEMENTS,
    new_key_signature_file, signature_file, statement_file,
};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_sign::history::{KeyHistory, StoredStatement, key_ref};
use exhibit_sign::{PublicKey, SigningKey};
use rusqlite::TransactionBehavior;

use crate::layout::{KEY_HISTORY_DIR, KEYS_DIR, PUBLIC_KEY};
use crate::{Archive, StoreError, fsutil, log};

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

/// Follows stored statements (with `first` the key of an archive that never rotated).
pub fn follow(
    origin: &str,
    first: Option<&PublicKey>,
    files: &[StatementFiles],
) -> Result<KeyHistory, String> {
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
    KeyHistory::follow(origin, first, &stored).map_err(|e| e.to_string())
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

/// The archive's followed key history, read from the files under `root`: with no statements,
/// `keys/signing.pub.pem` alone; otherwise the statements, whose current key must be
/// `keys/signing.pub.pem` (a rotation that stopped before replacing that file is reported with
/// what to do).
pub fn load(root: &Path, origin: &str) -> Result<KeyHistory, StoreError> {
    let public = crate::archive::load_public_key(&root.join(PUBLIC_KEY))?;
    let files = read_statements(root)?;
    let history = if files.is_empty() {
        KeyHistory::single(public.clone())
    } else {
        follow(origin, None, &files).map_err(|message| StoreError::Corrupt {
            what: root.join(KEY_HISTORY_DIR).display().to_string(),
            message,
        })?
    };
    if history.current().key != public {
        return Err(StoreError::Corrupt {
            what: root.join(PUBLIC_KEY).display().to_string(),
            message: format!(
                "is {}, but the key history's current key is {}: a rotation did not finish; \
                 `exhibit key rotate --finish` completes it",
                public.fingerprint(),
                history.current().fingerprint
            ),
        });
    }
    Ok(history)
}

/// What a rotation or revocation recorded.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyChange {
    /// The statement's sequence number.
    pub sequence: u64,
    /// Its file, relative to the archive root.
    pub statement: String,
    /// `rotate` or `revoke`.
    pub action: &'static str,
    /// The retired or revoked key.
    pub key: String,
    /// The new key (rotations).
    pub new_key: Option<String>,
    /// The new private key's file (rotations).
    pub new_key_file: Option<PathBuf>,
    /// The log size the statement is bound to.
    pub log_size: u64,
    /// When the key stopped being trusted (revocations).
    pub compromised_since: Option<String>,
}

/// Where a rotation's new private key comes from.
pub enum NewKey {
    /// Generate one at `keys/signing-<n>.pem` in the archive.
    Generate,
    /// A key made elsewhere (`--new-key FILE`): used where it is, as `init --key` does.
    File(PathBuf),
}

impl Archive {
    /// The archive's key history ([`load`]).
    pub fn keys(&self) -> Result<KeyHistory, StoreError> {
        load(&self.root, &self.config.origin)
    }

    /// The key statements as stored, for bundles and fsck.
    pub fn key_statements(&self) -> Result<Vec<StatementFiles>, StoreError> {
        read_statements(&self.root)
    }

    /// Rotates the signing key: signs a checkpoint of the whole log with the current key, then
    /// records a `rotate` statement bound to it, signed by the current and the new key, and
    /// makes the new key the archive's (`keys/signing.pub.pem`, `key` in `exhibit.toml`).
    ///
    /// With `root_key` (an archive made with `init --root-key`), the root signs in place of the
    /// current key, which need not be at hand: a lost key is replaced this way.
    pub fn rotate_key(
        &mut self,
        new: NewKey,
        now: DateTime<Utc>,
        root_key: Option<&SigningKey>,
    ) -> Result<KeyChange, StoreError> {
        let old = self.key_for_change(root_key)?;
        let new_key = match &new {
            NewKey::Generate => SigningKey::generate()?,
            NewKey::File(path) => SigningKey::load(path)?,
        };
        let (origin, root) = (self.config.origin.clone(), self.root.clone());
        let key_path = self.config.key_path(&root);
        let current = self.keys()?.current().key.clone();
        let (tx, history) = self.begin_key_change(&current, root_key)?;
        if history
            .era_of(&new_key.public_key().fingerprint().to_string())
            .is_some()
        {
            return Err(StoreError::Config {
                path: match &new {
                    NewKey::File(p) => p.clone(),
                    NewKey::Generate => root.join(KEYS_DIR),
                },
                message: "this key was the archive's before; a rotation needs a new key".into(),
            });
        }
        let (log_size, log_root) = bound_tree(&tx, &root, &origin, old.as_ref())?;
        let signer = root_key
            .or(old.as_ref())
            .ok_or_else(|| StoreError::Config {
                path: key_path.clone(),
                message: "the current private key is needed to rotate (or --root-key)".into(),
            })?;
        let sequence = history.statements().len() as u64 + 1;
        let statement = KeyStatement {
            statement_type: KeyStatementType::V1,
            origin: origin.clone(),
            sequence,
            previous_sha256: previous_sha256(&root, sequence)?,
            action: KeyAction::Rotate,
            key: key_ref(&current),
            new_key: Some(key_ref(&new_key.public_key())),
            log_size,
            log_root,
            compromised_since: None,
            created_at: format_rfc3339_seconds(now),
            signer: signer.public_key().fingerprint().to_string(),
        };
        let bytes = canonical(&statement)?;
        let key_file = match &new {
            NewKey::Generate => {
                let rel = PathBuf::from(format!("{KEYS_DIR}/signing-{}.pem", sequence + 1));
                new_key.write_new(&root.join(&rel))?;
                rel
            }
            NewKey::File(path) => std::path::absolute(path).map_err(|e| StoreError::io(path, e))?,
        };
        write_statement(
            &root,
            sequence,
            &bytes,
            &signer.sign(&bytes).to_bytes(),
            Some(&new_key.sign(&bytes).to_bytes()),
        )?;
        // The statement is the commit point; what follows makes the files agree with it.
        finish_files(&root, &new_key.public_key())?;
        tx.commit()?;
        self.update_config(|c| {
            c.key = key_file.clone();
            Ok(())
        })?;
        Ok(KeyChange {
            sequence,
            statement: format!("{KEY_HISTORY_DIR}/{}", statement_file(sequence)),
            action: "rotate",
            key: statement.key.fingerprint.clone(),
            new_key: Some(new_key.public_key().fingerprint().to_string()),
            new_key_file: Some(key_file),
            log_size,
            compromised_since: None,
        })
    }

    /// Takes the catalog's write lock (no batch signs while the key changes) and re-reads the
    /// key history under it: `key` must still be the current key.
    /// `root_key`, when given, must be the root key of the history.
    fn begin_key_change(
        &mut self,
        key: &PublicKey,
        root_key: Option<&SigningKey>,
    ) -> Result<(rusqlite::Transaction<'_>, KeyHistory), StoreError> {
        let key_path = self.config.key_path(&self.root);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let history = load(&self.root, &self.config.origin)?;
        if history.current().key != *key {
            return Err(StoreError::Config {
                path: key_path,
                message: "the key was rotated by another process meanwhile; nothing was changed"
                    .into(),
            });
        }
        if let Some(r) = root_key {
            let fp = r.public_key().fingerprint().to_string();
            if history.root_fingerprint() != Some(fp.as_str()) {
                return Err(StoreError::BadQuery(match history.root_fingerprint() {
                    Some(ours) => format!("--root-key is {fp}, not this archive's root key {ours}"),
                    None => "this archive has no root key (it was not made with `init --root-key`)"
                        .into(),
                }));
            }
        }
        Ok((tx, history))
    }

    /// The current private key for a rotation or revocation: required without a root key;
    /// with one, used when at hand (to sign the checkpoint the statement is bound to).
    fn key_for_change(
        &self,
        root_key: Option<&SigningKey>,
    ) -> Result<Option<SigningKey>, StoreError> {
        match (self.signing_key(), root_key) {
            (Ok(k), _) => Ok(Some(k)),
            (Err(_), Some(_)) => Ok(None),
            (Err(e), None) => Err(e),
        }
    }

    /// Completes a rotation that stopped after its statement was written: the configured
    /// private key must be the history's current key; `keys/signing.pub.pem` is made to match.
    pub fn finish_rotation(&mut self, key_file: Option<PathBuf>) -> Result<String, StoreError> {
        let files = read_statements(&self.root)?;
        let history =
            follow(&self.config.origin, None, &files).map_err(|message| StoreError::Corrupt {
                what: self.root.join(KEY_HISTORY_DIR).display().to_string(),
                message,
            })?;
        let current = history.current().clone();
        if let Some(path) = key_file {
            let key = SigningKey::load(&path)?;
            if key.public_key() != current.key {
                return Err(StoreError::Config {
                    path,
                    message: format!("is not the current key {}", current.fingerprint),
                });
            }
            let rel = path
                .strip_prefix(&self.root)
                .map(Path::to_path_buf)
                .unwrap_or(std::path::absolute(&path).map_err(|e| StoreError::io(&path, e))?);
            self.update_config(|c| {
                c.key = rel.clone();
                Ok(())
            })?;
        }
        finish_files(&self.root, &current.key)?;
        Ok(current.fingerprint)
    }

    /// Revokes retired key `fingerprint` from `since` on, in a statement signed by the current
    /// key. The current key itself is revoked by rotating first (the caller does that).
    pub fn revoke_key(
        &mut self,
        fingerprint: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        root_key: Option<&SigningKey>,
    ) -> Result<KeyChange, StoreError> {
        let held = self.key_for_change(root_key)?;
        let (origin, root) = (self.config.origin.clone(), self.root.clone());
        let key_path = self.config.key_path(&root);
        let current = self.keys()?.current().key.clone();
        let (tx, history) = self.begin_key_change(&current, root_key)?;
        let revoked = match history.era_of(fingerprint) {
            Some(e) if e.key == current => {
                return Err(StoreError::BadQuery(format!(
                    "{fingerprint} is the current key: rotate first (`exhibit key revoke` \
                     without --key does both)"
                )));
            }
            Some(e) => e.key.clone(),
            None => {
                return Err(StoreError::NotFound(format!(
                    "{}: not a key of this archive's history",
                    exhibit_core::inert(fingerprint)
                )));
            }
        };
        let (log_size, log_root) = bound_tree(&tx, &root, &origin, held.as_ref())?;
        let signer = root_key
            .or(held.as_ref())
            .ok_or_else(|| StoreError::Config {
                path: key_path.clone(),
                message: "the current private key is needed to revoke (or --root-key)".into(),
            })?;
        let sequence = history.statements().len() as u64 + 1;
        let statement = KeyStatement {
            statement_type: KeyStatementType::V1,
            origin,
            sequence,
            previous_sha256: previous_sha256(&root, sequence)?,
            action: KeyAction::Revoke,
            key: key_ref(&revoked),
            new_key: None,
            log_size,
            log_root,
            compromised_since: Some(format_rfc3339_seconds(since)),
            created_at: format_rfc3339_seconds(now),
            signer: signer.public_key().fingerprint().to_string(),
        };
        let bytes = canonical(&statement)?;
        write_statement(
            &root,
            sequence,
            &bytes,
            &signer.sign(&bytes).to_bytes(),
            None,
        )?;
        tx.commit()?;
        Ok(KeyChange {
            sequence,
            statement: format!("{KEY_HISTORY_DIR}/{}", statement_file(sequence)),
            action: "revoke",
            key: fingerprint.to_owned(),
            new_key: None,
            new_key_file: None,
            log_size,
            compromised_since: statement.compromised_since,
        })
    }
}

/// The tree a statement is bound to: the whole log now. With the current key at hand, a
/// checkpoint of it is signed first (so the retiring key signs exactly the tree it hands over);
/// without (a root replacing a lost key), its size and root are read from the catalog's log.
fn bound_tree(
    tx: &rusqlite::Transaction<'_>,
    root: &Path,
    origin: &str,
    key: Option<&SigningKey>,
) -> Result<(u64, Sha256Digest), StoreError> {
    match key {
        Some(k) => {
            let cp = log::sign_checkpoint(tx, root, origin, k)?;
            Ok((cp.size, Sha256Digest(cp.root)))
        }
        None => {
            let size = log::size(tx)?;
            let hash =
                exhibit_core::merkle::root(size, &log::SqlNodes(tx)).map_err(log::merkle_err)?;
            Ok((size, Sha256Digest(hash)))
        }
    }
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
fn canonical(statement: &KeyStatement) -> Result<Vec<u8>, StoreError> {
    statement
        .to_canonical_bytes()
        .map_err(|e| StoreError::Rejected {
            what: "key statement".into(),
            message: e.to_string(),
        })
}

/// SHA-256 of statement `sequence - 1`'s file (none for the first).
fn previous_sha256(root: &Path, sequence: u64) -> Result<Option<Sha256Digest>, StoreError> {
    if sequence == 1 {
        return Ok(None);
    }
    let path = root
        .join(KEY_HISTORY_DIR)
        .join(statement_file(sequence - 1));
    let bytes = fsutil::read_in_archive(&path, MAX_KEY_STATEMENT_BYTES as u64)?;
    Ok(Some(Sha256Digest::of(&bytes)))
}

/// Writes a statement's signatures, then the statement (never replacing a file), each
/// fsynced, then the directory: a crash leaves either no statement or a complete one (a
/// signature file without its statement is ignored by readers and reported by fsck).
fn write_statement(
    root: &Path,
    sequence: u64,
    bytes: &[u8],
    signature: &[u8; 64],
    new_key_signature: Option<&[u8; 64]>,
) -> Result<(), StoreError> {
    let dir = root.join(KEY_HISTORY_DIR);
    let created = fsutil::create_dirs(&dir)?;
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

/// Makes `keys/signing.pub.pem` the public key `current`.
fn finish_files(root: &Path, current: &PublicKey) -> Result<(), StoreError> {
    fsutil::write_atomic_durable(&root.join(PUBLIC_KEY), current.to_spki_pem().as_bytes())
}
