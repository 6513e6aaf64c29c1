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
    read_keys(root, origin).map(|k| k.history)
}

/// The archive's keys as one read of their files finds them.
pub struct LoadedKeys {
    /// The followed history ([`load`]).
    pub history: KeyHistory,
    /// The statement files it was followed from.
    pub statements: Vec<StatementFiles>,
    /// `keys/signing.pub.pem` is a retired key: a rotation stopped after its statement.
    pub stale_public_key: bool,
}

/// [`load`], with the statement files it followed and what `keys/signing.pub.pem` holds (one
/// read, so that they agree).
pub fn read_keys(root: &Path, origin: &str) -> Result<LoadedKeys, StoreError> {
    let public = crate::archive::load_public_key(&root.join(PUBLIC_KEY))?;
    let files = read_statements(root)?;
    let history = if files.is_empty() {
        KeyHistory::single(public.clone())
    } else {
        follow(origin, &files).map_err(|message| StoreError::Corrupt {
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
    Ok(LoadedKeys {
        stale_public_key: history.current().key != public,
        history,
        statements: files,
    })
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

/// A rotation (to this new key, from where it came) or a revocation.
enum Change<'a> {
    Rotate(&'a SigningKey, &'a NewKey),
    Revoke {
        fingerprint: &'a str,
        since: DateTime<Utc>,
    },
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

    /// The archive's key history with the statement files it was followed from (bundles carry
    /// both) and whether `keys/signing.pub.pem` is stale ([`read_keys`]).
    pub fn read_keys(&self) -> Result<LoadedKeys, StoreError> {
        read_keys(&self.root, &self.config.origin)
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
        let new_key = match &new {
            NewKey::Generate => SigningKey::generate()?,
            NewKey::File(path) => SigningKey::load(path)?,
        };
        self.change_key(Change::Rotate(&new_key, &new), now, root_key)
    }

    /// Revokes retired key `fingerprint` from `since` on, in a statement signed by the current
    /// key (or the root). The current key itself is revoked by rotating first (the caller does
    /// that).
    pub fn revoke_key(
        &mut self,
        fingerprint: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        root_key: Option<&SigningKey>,
    ) -> Result<KeyChange, StoreError> {
        self.change_key(Change::Revoke { fingerprint, since }, now, root_key)
    }

    /// Records one statement: under the catalog's write lock, re-reads the history (the held
    /// key must still be current; `root_key` must be its root), binds the statement to the
    /// whole log, signs it (by the held key or the root, and for a rotation by the new key),
    /// and writes it — for a rotation after the new private key, and followed by the files
    /// that name the current key.
    fn change_key(
        &mut self,
        change: Change<'_>,
        now: DateTime<Utc>,
        root_key: Option<&SigningKey>,
    ) -> Result<KeyChange, StoreError> {
        // The current private key: required without a root key; with one, used when at hand
        // (to sign the checkpoint the statement is bound to).
        let held = match (self.signing_key(), root_key) {
            (Ok(k), _) => Some(k),
            (Err(_), Some(_)) => None,
            (Err(e), None) => return Err(e),
        };
        let (origin, root) = (self.config.origin.clone(), self.root.clone());
        let key_path = self.config.key_path(&root);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let history = load(&root, &origin)?;
        let current = history.current().key.clone();
        if held.as_ref().is_some_and(|k| k.public_key() != current) {
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
        // What the statement is about, checked against the history read under the lock.
        let (action, subject, compromised_since) = match &change {
            Change::Rotate(new_key, new) => {
                if history
                    .era_of(&new_key.public_key().fingerprint().to_string())
                    .is_some()
                {
                    return Err(StoreError::Config {
                        path: match new {
                            NewKey::File(p) => p.clone(),
                            NewKey::Generate => root.join(KEYS_DIR),
                        },
                        message: "this key was the archive's before; a rotation needs a new key"
                            .into(),
                    });
                }
                (KeyAction::Rotate, current.clone(), None)
            }
            Change::Revoke { fingerprint, since } => match history.era_of(fingerprint) {
                Some(e) if e.key == current => {
                    return Err(StoreError::BadQuery(format!(
                        "{fingerprint} is the current key: rotate first (`exhibit key revoke` \
                         without --key does both)"
                    )));
                }
                Some(e) => (KeyAction::Revoke, e.key.clone(), Some(*since)),
                None => {
                    return Err(StoreError::NotFound(format!(
                        "{}: not a key of this archive's history",
                        exhibit_core::inert(fingerprint)
                    )));
                }
            },
        };
        let (log_size, log_root) = bound_tree(&tx, &root, &origin, held.as_ref())?;
        let signer = root_key
            .or(held.as_ref())
            .ok_or_else(|| StoreError::Config {
                path: key_path.clone(),
                message: format!(
                    "the current private key is needed to {} (or --root-key)",
                    action.as_str()
                ),
            })?;
        let new_key = match &change {
            Change::Rotate(k, _) => Some(*k),
            Change::Revoke { .. } => None,
        };
        let sequence = history.statements().len() as u64 + 1;
        let statement = KeyStatement {
            statement_type: KeyStatementType::V1,
            origin,
            sequence,
            previous_sha256: previous_sha256(&root, sequence)?,
            action,
            key: key_ref(&subject),
            new_key: new_key.map(|k| key_ref(&k.public_key())),
            log_size,
            log_root,
            compromised_since: compromised_since.map(format_rfc3339_seconds),
            created_at: format_rfc3339_seconds(now),
            signer: signer.public_key().fingerprint().to_string(),
        };
        let bytes = canonical(&statement)?;
        // A rotation's new private key exists before the statement that makes it current.
        let key_file = match &change {
            Change::Rotate(k, NewKey::Generate) => {
                let number = history.eras().len() + 1;
                let rel = PathBuf::from(rotated_key_path(number, k.public_key().as_bytes()));
                k.write_new(&root.join(&rel))?;
                Some(rel)
            }
            Change::Rotate(_, NewKey::File(path)) => {
                Some(std::path::absolute(path).map_err(|e| StoreError::io(path, e))?)
            }
            Change::Revoke { .. } => None,
        };
        write_statement(
            &root,
            sequence,
            &bytes,
            &signer.sign(&bytes).to_bytes(),
            new_key.map(|k| k.sign(&bytes).to_bytes()).as_ref(),
        )?;
        // The statement is the commit point; what follows makes the files agree with it.
        if let Some(k) = new_key {
            finish_files(&root, &k.public_key())?;
        }
        tx.commit()?;
        if let Some(file) = &key_file {
            self.update_config(|c| {
                c.key = file.clone();
                Ok(())
            })?;
        }
        Ok(KeyChange {
            sequence,
            statement: format!("{KEY_HISTORY_DIR}/{}", statement_file(sequence)),
            action: action.as_str(),
            key: statement.key.fingerprint,
            new_key: statement.new_key.map(|k| k.fingerprint),
            new_key_file: key_file,
            log_size,
            compromised_since: statement.compromised_since,
        })
    }

    /// Completes a rotation that stopped after its statement was written: the configured
    /// private key must be the history's current key; `keys/signing.pub.pem` is made to match.
    pub fn finish_rotation(&mut self, key_file: Option<PathBuf>) -> Result<String, StoreError> {
        let files = read_statements(&self.root)?;
        if files.is_empty() {
            return Ok(self.keys()?.current().fingerprint.clone());
        }
        let history =
            follow(&self.config.origin, &files).map_err(|message| StoreError::Corrupt {
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
