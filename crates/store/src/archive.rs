//! The archive: creating and opening it, its keys, its log, and the per-document capture
//! locks.
//!
//! Committing captures is [`Batch`](crate::Batch) (`batch.rs`); looking records up is `queries.rs`; the
//! catalog's schema and rows are `catalog`.

use std::path::{Path, PathBuf};

use exhibit_core::{IdPrefix, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::SigningKey;
use rusqlite::{Connection, TransactionBehavior};

use crate::config::{CONFIG_FILE, CaptureSettings, Config, check_origin};
use crate::layout::{
    CATALOG_FILE, CATALOG_LOCK, DEFAULT_KEY, INIT_STAGING_PREFIX, INIT_TSA_CA, KEYS_DIR, LOG_DIR,
    MANIFESTS_DIR, OBJECTS_DIR, PUBLIC_KEY, TSA_DIR,
};
use crate::locks::{DocumentLock, DocumentLocks, lock_catalog_shared};
use crate::log::{self, SignedCheckpoint, SqlNodes, merkle_err};
use crate::objects::ObjectStore;
use crate::{StoreError, catalog, fsutil};

/// Options for [`Archive::init`].
#[derive(Default, Debug, Clone)]
pub struct InitOptions {
    /// The origin name; default `exhibit/<8 hex digits of the key's SHA-256>`.
    pub origin: Option<String>,
    /// The id prefix; default `EX`.
    pub prefix: Option<String>,
    /// An existing PKCS#8 key to sign with instead of generating one.
    pub key: Option<PathBuf>,
    /// URLs of RFC 3161 Time-Stamp Authorities to ask for a token over every checkpoint.
    pub tsa: Vec<String>,
    /// A PEM bundle of CA certificates that every TSA's answers must chain to (checked by the
    /// caller to hold certificates); copied into the archive as `tsa/ca.pem`.
    pub tsa_ca: Option<Vec<u8>>,
    /// An offline root key (PKCS#8) that certifies the first signing key in the key history's
    /// first statement, and may later sign rotations and revocations; only used here, never
    /// stored in the archive.
    pub root_key: Option<PathBuf>,
    /// The bucket the archive lives in (`[store]`), when it is not local only.
    pub store: Option<crate::config::StoreSettings>,
}

/// A read-only catalog connection (see [`Archive::catalog_reader`]).
pub struct CatalogReader {
    pub(crate) conn: Connection,
    /// The archive's shared catalog lock (the same lock, through a duplicated descriptor):
    /// held while this connection is open, even if the reader outlives its archive.
    _catalog_lock: Option<std::fs::File>,
}

impl CatalogReader {
    /// The current extraction rules of the document `url`, if it is tracked and has any.
    pub fn rules_for_url(
        &self,
        url: &str,
    ) -> Result<Option<exhibit_core::manifest::ExtractionRules>, StoreError> {
        catalog::document_state::rules_for_url_in(&self.conn, url)
    }

    /// The content SHA-256 of the document `url`'s latest capture with content, if any (a
    /// reference hint for the new capture's object, docs/FORMAT.md §6).
    pub fn previous_content(&self, url: &str) -> Result<Option<Sha256Digest>, StoreError> {
        catalog::document_state::previous_content_in(&self.conn, url)
    }
}

/// An open archive.
pub struct Archive {
    pub(crate) root: PathBuf,
    pub(crate) config: Config,
    pub(crate) prefix: IdPrefix,
    pub(crate) conn: Connection,
    pub(crate) objects: std::sync::Arc<ObjectStore>,
    /// The shared lock on [`CATALOG_LOCK`], held as long as the archive is open (declared
    /// last: released only after the catalog connection is closed).
    _catalog_lock: Option<std::fs::File>,
}

impl Archive {
    /// Creates a new archive at `root` (which must not exist or be empty), atomically: the
    /// archive is assembled in a temporary sibling directory and renamed into place.
    pub fn init(root: &Path, options: InitOptions) -> Result<Archive, StoreError> {
        if root.exists() {
            let mut entries = std::fs::read_dir(root).map_err(|e| StoreError::io(root, e))?;
            if entries.next().is_some() {
                return Err(StoreError::AlreadyExists {
                    path: root.to_path_buf(),
                });
            }
        }
        let prefix = IdPrefix::new(options.prefix.as_deref().unwrap_or("EX")).map_err(|e| {
            StoreError::Config {
                path: root.join(CONFIG_FILE),
                message: e.to_string(),
            }
        })?;
        if let Some(store) = &options.store {
            store.check().map_err(|message| StoreError::Config {
                path: root.join(CONFIG_FILE),
                message,
            })?;
        }
        if let Some(origin) = &options.origin {
            check_origin(origin).map_err(|message| StoreError::Config {
                path: root.join(CONFIG_FILE),
                message,
            })?;
        }
        // Use the given key (checked now, so a bad key leaves nothing behind) or make one.
        let given_key = match &options.key {
            Some(path) => {
                let key = SigningKey::load(path)?;
                let abs = std::path::absolute(path).map_err(|e| StoreError::io(path, e))?;
                Some((key, abs))
            }
            None => None,
        };
        let parent = fsutil::parent_dir(root).to_path_buf();
        fsutil::ensure_dir(&parent)?;
        let staging = tempfile::Builder::new()
            .prefix(INIT_STAGING_PREFIX)
            .tempdir_in(&parent)
            .map_err(|e| StoreError::io(&parent, e))?;
        let stage = staging.path();
        for dir in [KEYS_DIR, OBJECTS_DIR, MANIFESTS_DIR, LOG_DIR] {
            fsutil::ensure_dir(&stage.join(dir))?;
        }
        let (key, key_path) = match given_key {
            Some((key, abs)) => (key, abs),
            None => {
                let key = SigningKey::generate()?;
                key.write_new(&stage.join(DEFAULT_KEY))?;
                (key, PathBuf::from(DEFAULT_KEY))
            }
        };
        let public = key.public_key();
        fsutil::write_atomic(&stage.join(PUBLIC_KEY), public.to_spki_pem().as_bytes())?;
        let origin = options.origin.unwrap_or_else(|| {
            let h = Sha256Digest::of(public.as_bytes());
            format!("exhibit/{}", h.short(8))
        });
        let mut config = Config {
            format: 1,
            origin: origin.clone(),
            prefix: prefix.as_str().to_owned(),
            key: key_path,
            capture: CaptureSettings::default(),
            tsa: Vec::new(),
            witness: Vec::new(),
            notify: Vec::new(),
            store: options.store.clone(),
        };
        let ca = match &options.tsa_ca {
            Some(pem) => {
                let rel = PathBuf::from(INIT_TSA_CA);
                fsutil::ensure_dir(&stage.join(TSA_DIR))?;
                fsutil::write_atomic(&stage.join(&rel), pem)?;
                fsutil::sync_dir(&stage.join(TSA_DIR))?;
                Some(rel)
            }
            None => None,
        };
        for url in &options.tsa {
            config
                .add_tsa(url, None, ca.clone())
                .map_err(|message| StoreError::Config {
                    path: root.join(CONFIG_FILE),
                    message,
                })?;
        }
        if let Some(root_key) = &options.root_key {
            let root = SigningKey::load(root_key)?;
            crate::key_statements::write_root_statement(stage, &origin, &root, &key)?;
        }
        {
            let mut conn = catalog::open(&stage.join(CATALOG_FILE))?;
            catalog::create(&mut conn, &origin, prefix.as_str())?;
            conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        }
        fsutil::write_atomic(&stage.join(CONFIG_FILE), config.to_toml()?.as_bytes())?;
        for dir in [KEYS_DIR, OBJECTS_DIR, MANIFESTS_DIR, LOG_DIR, "."] {
            fsutil::sync_dir(&stage.join(dir))?;
        }
        // On failure the staging directory (and the new key in it) is removed on drop.
        std::fs::rename(staging.path(), root).map_err(|e| StoreError::io(root, e))?;
        let _ = staging.keep();
        fsutil::sync_dir(&parent)?;
        Archive::open(root)
    }

    /// Opens the archive at `root` (kept as an absolute path: [`Archive::root`]).
    pub fn open(root: &Path) -> Result<Archive, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::NotAnArchive {
                path: root.to_path_buf(),
                reason: "directory does not exist".into(),
            });
        }
        if !root.join(CONFIG_FILE).is_file() {
            return Err(StoreError::NotAnArchive {
                path: root.to_path_buf(),
                reason: format!("{CONFIG_FILE} not found"),
            });
        }
        let config = Config::load(root)?;
        let prefix = IdPrefix::new(&config.prefix).map_err(|e| StoreError::Config {
            path: root.join(CONFIG_FILE),
            message: e.to_string(),
        })?;
        // Taken before the catalog is opened: a reindex replacing it finishes first.
        let catalog_lock = lock_catalog_shared(root)?;
        let catalog_path = root.join(CATALOG_FILE);
        match std::fs::symlink_metadata(&catalog_path) {
            Ok(m) if m.file_type().is_file() => {}
            // A link or a FIFO is not opened: SQLite would follow the one and block on the other.
            Ok(m) => {
                return Err(StoreError::Corrupt {
                    what: catalog_path.display().to_string(),
                    message: format!(
                        "is {}, not a regular file; not opened",
                        fsutil::file_kind(m.file_type())
                    ),
                });
            }
            Err(_) => {
                return Err(StoreError::Corrupt {
                    what: catalog_path.display().to_string(),
                    message: "catalog missing".into(),
                });
            }
        }
        let mut conn = catalog::open(&catalog_path)?;
        catalog::check(&mut conn, &catalog_path)?;
        for (key, configured) in [("origin", &config.origin), ("prefix", &config.prefix)] {
            let recorded = catalog::meta(&conn, key)?;
            if recorded.as_deref() != Some(configured.as_str()) {
                return Err(StoreError::Config {
                    path: root.join(CONFIG_FILE),
                    message: format!(
                        "{key} is {configured:?} but the archive was created with {:?}; the {key} of an existing archive cannot change",
                        recorded.unwrap_or_default()
                    ),
                });
            }
        }
        // Kept absolute: every temporary file created under a relative root would look the
        // working directory up again (once per object, manifest and signature).
        let root = std::path::absolute(root).map_err(|e| StoreError::io(root, e))?;
        Ok(Archive {
            objects: std::sync::Arc::new(ObjectStore::for_archive(&root)),
            root,
            config,
            prefix,
            conn,
            _catalog_lock: catalog_lock,
        })
    }

    /// The archive directory, absolute.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The id prefix.
    pub fn prefix(&self) -> &IdPrefix {
        &self.prefix
    }

    /// The object store.
    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    /// The object store, shared (for writing objects from other threads while this archive
    /// records captures).
    pub fn shared_objects(&self) -> std::sync::Arc<ObjectStore> {
        std::sync::Arc::clone(&self.objects)
    }

    /// Loads the private signing key for writing, refusing one readable by group or others,
    /// and checks that it is the archive's key: its public key must be `keys/signing.pub.pem`
    /// and must verify the log's latest signed checkpoint. A key that is not would sign
    /// records that never verify; the error (a [`StoreError::Config`], exit 2) names the key
    /// file, and nothing has been written.
    pub fn signing_key(&self) -> Result<SigningKey, StoreError> {
        let path = self.config.key_path(&self.root);
        let key = load_private_key(&path, self.key_links())?;
        let loaded = self.read_keys()?;
        let keys = &loaded.history;
        let current = keys.current();
        let config = |message: String| StoreError::Config {
            path: path.clone(),
            message,
        };
        if loaded.stale_public_key {
            return Err(config(match &self.config.store {
                // Another host rotated the key of an archive in a bucket.
                Some(store) => format!(
                    "the archive in {} rotated its key to {}: copy the new private key to this                      host and run `exhibit key rotate --finish --new-key FILE`",
                    store.url, current.fingerprint
                ),
                None => format!(
                    "{PUBLIC_KEY} is a retired key: a rotation to {} stopped after its statement; \
                     `exhibit key rotate --finish` completes it",
                    current.fingerprint
                ),
            }));
        }
        if key.public_key() != current.key {
            let fp = key.public_key().fingerprint().to_string();
            return Err(config(match keys.era_of(&fp) {
                Some(_) => format!(
                    "this private key ({fp}) was retired by a key rotation; the archive's key is \
                     now {}: point `key` in {CONFIG_FILE} at its file (`exhibit key rotate \
                     --finish --new-key FILE` does it)",
                    current.fingerprint
                ),
                None => format!(
                    "this private key ({fp}) does not match {PUBLIC_KEY} ({}): records it signed \
                     would never verify; put the archive's key back at {}",
                    current.fingerprint,
                    path.display()
                ),
            }));
        }
        if let Some(cp) = log::latest(&self.conn)?
            && let Err(e) = keys.verify_checkpoint(&cp.note, &self.config.origin)
        {
            return Err(config(format!(
                "the log's latest checkpoint (size {}) is not the archive's: {e}; records \
                 this key signed would not extend the log",
                cp.size
            )));
        }
        Ok(key)
    }

    /// Whether the private key file may be reached through a link: not inside the archive
    /// (where exhibit makes no links), yes for a key kept elsewhere (`init --key`).
    pub(crate) fn key_links(&self) -> fsutil::Links {
        if self.config.key.is_absolute() && !self.config.key.starts_with(&self.root) {
            fsutil::Links::Follow
        } else {
            fsutil::Links::Refuse
        }
    }

    /// The public key file.
    pub fn public_key_path(&self) -> PathBuf {
        self.root.join(PUBLIC_KEY)
    }

    /// Builds an id of this archive.
    pub fn id(&self, kind: RecordKind, number: u64) -> RecordId {
        RecordId::new(&self.prefix, kind, number)
    }

    /// Takes the per-document capture lock for `url`, waiting while another process holds it.
    /// Captures of one document that hold it from acquisition to commit are recorded in the
    /// order they were acquired, so a slow fetch can never make an older text current.
    pub fn lock_document(&self, url: &str) -> Result<DocumentLock, StoreError> {
        self.document_locks().lock(url)
    }

    /// A handle for taking document locks from other threads.
    pub fn document_locks(&self) -> DocumentLocks {
        DocumentLocks::for_archive(&self.root)
    }

    /// A second, read-only connection to the catalog, for look-ups from another thread while
    /// this archive writes.
    pub fn catalog_reader(&self) -> Result<CatalogReader, StoreError> {
        let path = self.root.join(CATALOG_FILE);
        let conn = catalog::connect(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(600))?;
        let lock = match &self._catalog_lock {
            Some(f) => Some(
                f.try_clone()
                    .map_err(|e| StoreError::io(self.root.join(CATALOG_LOCK), e))?,
            ),
            None => None,
        };
        Ok(CatalogReader {
            conn,
            _catalog_lock: lock,
        })
    }

    /// The number of leaves in the log.
    pub fn log_size(&self) -> Result<u64, StoreError> {
        log::size(&self.conn)
    }

    /// The latest signed checkpoint, if one was ever signed.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        log::latest(&self.conn)
    }

    /// Signs a checkpoint of the current tree (one write transaction), unless the latest
    /// signed checkpoint already has the current size; returns the checkpoint that covers the
    /// whole log. Never signs a tree that does not extend the previous checkpoint.
    pub fn sign_checkpoint(&mut self, key: &SigningKey) -> Result<SignedCheckpoint, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cp = log::sign_checkpoint(&tx, &self.root, &self.config.origin, key)?;
        tx.commit()?;
        Ok(cp)
    }

    /// The RFC 6962 inclusion proof of leaf `index` in the tree that `checkpoint` signs.
    pub fn inclusion_proof(
        &self,
        index: u64,
        checkpoint: &SignedCheckpoint,
    ) -> Result<Vec<exhibit_core::merkle::Hash>, StoreError> {
        if index >= checkpoint.size {
            return Err(StoreError::NotFound(format!(
                "log leaf {index} is not covered by the checkpoint of size {}",
                checkpoint.size
            )));
        }
        exhibit_core::merkle::inclusion_proof(index, checkpoint.size, &SqlNodes(&self.conn))
            .map_err(merkle_err)
    }

    /// The root of the log when it had `size` leaves (`size` at most the current size).
    pub fn log_root(&self, size: u64) -> Result<exhibit_core::merkle::Hash, StoreError> {
        exhibit_core::merkle::root(size, &SqlNodes(&self.conn)).map_err(merkle_err)
    }

    /// The RFC 6962 consistency proof from the tree of `old_size` leaves to that of `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<exhibit_core::merkle::Hash>, StoreError> {
        exhibit_core::merkle::consistency_proof(old_size, new_size, &SqlNodes(&self.conn))
            .map_err(merkle_err)
    }
}

/// Reads a private key file as [`SigningKey::load`] does — a regular file of at most
/// [`exhibit_sign::MAX_KEY_FILE_SIZE`] bytes, mode without group or other bits — but through
/// [`fsutil::open_for_reading`]: a FIFO there is an error, never a hang, and with
/// [`fsutil::Links::Refuse`] a link is not followed.
pub(crate) fn load_private_key(
    path: &Path,
    links: fsutil::Links,
) -> Result<SigningKey, StoreError> {
    use exhibit_sign::KeyError;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let read_err = |error| {
        StoreError::Key(KeyError::Read {
            path: path.to_path_buf(),
            error,
        })
    };
    let file = fsutil::open_for_reading(path, links).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        }
        .into());
    }
    let limit = exhibit_sign::MAX_KEY_FILE_SIZE + 1;
    // The whole bound reserved up front: the buffer never reallocates, leaving no copies.
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(limit as usize));
    file.take(limit).read_to_end(&mut buf).map_err(read_err)?;
    if buf.len() as u64 > exhibit_sign::MAX_KEY_FILE_SIZE {
        return Err(KeyError::NotAKeyFile {
            path: path.to_path_buf(),
            reason: "larger than any key file, so not a key file".into(),
        }
        .into());
    }
    let text = std::str::from_utf8(&buf).map_err(|_| KeyError::InvalidPrivateKey {
        path: Some(path.to_path_buf()),
        detail: "the file is not text".into(),
    })?;
    SigningKey::from_pkcs8_pem(text).map_err(|e| match e {
        KeyError::InvalidPrivateKey { path: None, detail } => KeyError::InvalidPrivateKey {
            path: Some(path.to_path_buf()),
            detail,
        }
        .into(),
        e => e.into(),
    })
}

/// Reads an archive's public key file (`keys/signing.pub.pem`) through
/// [`fsutil::read_in_archive`] (no link followed, no FIFO opened).
pub(crate) fn load_public_key(path: &Path) -> Result<exhibit_sign::PublicKey, StoreError> {
    use exhibit_sign::KeyError;
    let bytes = fsutil::read_in_archive(path, exhibit_sign::MAX_KEY_FILE_SIZE)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::InvalidPublicKey {
        path: Some(path.to_path_buf()),
        detail: "the file is not text".into(),
    })?;
    exhibit_sign::PublicKey::from_spki_pem(text).map_err(|e| match e {
        KeyError::InvalidPublicKey { path: None, detail } => KeyError::InvalidPublicKey {
            path: Some(path.to_path_buf()),
            detail,
        }
        .into(),
        e => e.into(),
    })
}
