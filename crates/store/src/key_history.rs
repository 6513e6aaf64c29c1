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
use exhibit_core::key_statement::{KeyAction, KeyStatement, KeyStatementType, statement_file};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_sign::history::{KeyHistory, key_ref};
use exhibit_sign::{PublicKey, SigningKey};
use rusqlite::TransactionBehavior;

use crate::key_statements::{
    StatementFiles, canonical, follow, previous_sha256, read_statements, write_statement,
};
use crate::layout::{KEY_HISTORY_DIR, KEYS_DIR, PUBLIC_KEY, rotated_key_path};
use crate::{Archive, StoreError, fsutil, log};

/// The archive's followed key history, read from the files under `root`: with no statements,
/// `keys/signing.pub.pem` alone; otherwise the statements, whose current key
/// `keys/signing.pub.pem` must be (or a key they retired, when a rotation stopped before
/// replacing that file: [`Archive::signing_key`] and fsck then say what to do).
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
    // A retired key there is a rotation that stopped after its statement (the commit point):
    // the signed history is the truth, reading goes on, and signing refuses until
    // `key rotate --finish` (fsck reports it). Any other key is not this archive's.
    if history.current().key != public
        && history.era_of(&public.fingerprint().to_string()).is_none()
    {
        return Err(StoreError::Corrupt {
            what: root.join(PUBLIC_KEY).display().to_string(),
            message: format!(
                "is {}, a key the key history does not know (its current key is {})",
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
    /// Generate one in the archive ([`rotated_key_path`]).
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
                let number = history.eras().len() + 1;
                let rel = PathBuf::from(rotated_key_path(number, new_key.public_key().as_bytes()));
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
        if files.is_empty() {
            return Ok(self.keys()?.current().fingerprint.clone());
        }
        let history =
            follow(&self.config.origin, None, &files).map_err(|message| StoreError::Corrupt {
                what: self.root.join(KEY_HISTORY_DIR).display().to_string(),
                message,
            })?;
        let current = history.current().clone();
        // Without --new-key: the file a generated key of this number was written to, if the
        // configured key is not the current one.
        let configured =
            crate::archive::load_private_key(&self.config.key_path(&self.root), self.key_links());
        let key_file = match key_file {
            Some(path) => Some(path),
            None if configured.is_ok_and(|k| k.public_key() == current.key) => None,
            None => Some(self.root.join(rotated_key_path(
                history.eras().len(),
                current.key.as_bytes(),
            ))),
        };
        if let Some(path) = key_file {
            let key = SigningKey::load(&path)?;
            if key.public_key() != current.key {
                return Err(StoreError::Config {
                    path,
                    message: format!("is not the current key {}", current.fingerprint),
                });
            }
            let rel = match path.strip_prefix(&self.root) {
                Ok(p) => p.to_path_buf(),
                Err(_) => std::path::absolute(&path).map_err(|e| StoreError::io(&path, e))?,
            };
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

/// Makes `keys/signing.pub.pem` the public key `current`.
fn finish_files(root: &Path, current: &PublicKey) -> Result<(), StoreError> {
    fsutil::write_atomic_durable(&root.join(PUBLIC_KEY), current.to_spki_pem().as_bytes())
}
