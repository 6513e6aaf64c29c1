//! The archive: opening and creating it, committing captures, and looking records up.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use exhibit_core::manifest::{
    CaptureManifest, Change, ContentInfo, DocumentRef, FileSource, HttpExchange, ManifestType,
    Method, RecordLink, TextInfo, VersionLink,
};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_core::{HashPrefix, IdPrefix, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::SigningKey;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

use crate::config::{CONFIG_FILE, CaptureSettings, Config, check_origin};
use crate::log::{self, SignedCheckpoint, SqlNodes, merkle_err};
use crate::objects::ObjectStore;
use crate::{StoreError, catalog, fsutil};

/// The catalog file name.
pub const CATALOG_FILE: &str = "catalog.sqlite";
/// Where the generated signing key goes, relative to the root.
pub const DEFAULT_KEY: &str = "keys/signing.pem";
/// Where the public key is kept, relative to the root.
pub const PUBLIC_KEY: &str = "keys/signing.pub.pem";

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
}

/// Takes per-document capture locks: a capture holds its document's lock from acquisition to
/// commit, so that captures of one document, in any process or thread, are recorded in the
/// order they were acquired.
///
/// On Linux every document locks one byte of a single file, `locks/documents.lock`, at an
/// offset taken from the SHA-256 of its URL (an open-file-description lock, `F_OFD_SETLKW`:
/// it conflicts between threads and processes alike, waits, and is released when the lock is
/// dropped or the process dies) — so capturing a new document creates no file. Elsewhere each
/// document has its own `locks/<hash of the URL>.lock`, locked with `flock`.
#[derive(Clone, Debug)]
pub struct DocumentLocks {
    dir: PathBuf,
}

impl DocumentLocks {
    /// Waits for and takes the lock of the document `url`.
    pub fn lock(&self, url: &str) -> Result<DocumentLock, StoreError> {
        let digest = Sha256Digest::of(url.as_bytes());
        #[cfg(target_os = "linux")]
        {
            let path = self.dir.join("documents.lock");
            let file = match open_lock_file(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fsutil::ensure_dir(&self.dir)?;
                    open_lock_file(&path).map_err(|e| StoreError::io(&path, e))?
                }
                Err(e) => return Err(StoreError::io(&path, e)),
            };
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest.as_bytes()[..8]);
            // 62 bits: a positive file offset, and collisions between documents are negligible.
            let offset = (u64::from_be_bytes(first) >> 2) as libc::off_t;
            let lock = libc::flock {
                l_type: libc::F_WRLCK as libc::c_short,
                l_whence: libc::SEEK_SET as libc::c_short,
                l_start: offset,
                l_len: 1,
                l_pid: 0,
            };
            loop {
                match nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_OFD_SETLKW(&lock)) {
                    Ok(_) => return Ok(DocumentLock { _file: file }),
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(StoreError::io(&path, e.into())),
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            fsutil::ensure_dir(&self.dir)?;
            let path = self.dir.join(format!("{}.lock", digest.short(32)));
            let file = open_lock_file(&path).map_err(|e| StoreError::io(&path, e))?;
            file.lock().map_err(|e| StoreError::io(&path, e))?;
            Ok(DocumentLock { _file: file })
        }
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    fsutil::open_lock_file(path)
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
        crate::rules::rules_for_url_in(&self.conn, url)
    }

    /// The content SHA-256 of the document `url`'s latest capture with content, if any (a
    /// reference hint for the new capture's object, docs/FORMAT.md §6).
    pub fn previous_content(&self, url: &str) -> Result<Option<Sha256Digest>, StoreError> {
        crate::history::previous_content_in(&self.conn, url)
    }
}

/// An open archive.
pub struct Archive {
    pub(crate) root: PathBuf,
    pub(crate) config: Config,
    prefix: IdPrefix,
    pub(crate) conn: Connection,
    objects: std::sync::Arc<ObjectStore>,
    /// The shared lock on [`CATALOG_LOCK`], held as long as the archive is open (declared
    /// last: released only after the catalog connection is closed).
    _catalog_lock: Option<std::fs::File>,
}

/// A lock file, relative to the archive root: every process that opens the archive's catalog
/// holds a *shared* `flock` on it for as long as it has it open (the lock dies with the
/// process); `exhibit reindex` takes it *exclusively*, without waiting, before it reads
/// anything and holds it until the new catalog is in place (docs/FORMAT.md §7.1, §8).
pub const CATALOG_LOCK: &str = "locks/catalog.lock";

/// Takes the shared catalog lock of the archive at `root`, waiting while `reindex` holds it
/// exclusively. On a read-only archive, where the lock file cannot be created, there is no
/// lock to take (nothing can then replace the catalog either): `None`.
pub(crate) fn lock_catalog_shared(root: &Path) -> Result<Option<std::fs::File>, StoreError> {
    let path = root.join(CATALOG_LOCK);
    let read_only = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
        )
    };
    let file = match fsutil::ensure_dir(fsutil::parent_dir(&path)) {
        Err(StoreError::Io { source, .. }) if read_only(&source) => None,
        Err(e) => return Err(e),
        Ok(_) => match open_lock_file(&path) {
            Ok(f) => Some(f),
            // An existing lock file can still be locked through a read-only descriptor.
            Err(e) if read_only(&e) => fsutil::open_for_reading(&path, fsutil::Links::Refuse).ok(),
            Err(e) => return Err(StoreError::io(&path, e)),
        },
    };
    let Some(file) = file else { return Ok(None) };
    file.lock_shared().map_err(|e| StoreError::io(&path, e))?;
    Ok(Some(file))
}

/// What a capture brings to the archive before ids, versions and signatures are assigned.
#[derive(Debug, Clone)]
pub struct PendingCapture {
    /// The normalised document URL (the document's identity).
    pub document_url: String,
    /// The entity, if the user gave one (it replaces the stored one).
    pub entity: Option<String>,
    /// The title, if the user gave one (it replaces the stored one).
    pub title: Option<String>,
    /// A title found in the document, used when the document has none yet.
    pub title_hint: Option<String>,
    /// When the bytes were acquired.
    pub captured_at: DateTime<Utc>,
    /// How.
    pub method: Method,
    /// For HTTP, the exchange.
    pub http: Option<HttpExchange>,
    /// For files, the path.
    pub file: Option<FileSource>,
    /// The stored bytes (for a failure, the error body if any).
    pub content: Option<ContentInfo>,
    /// The stored extracted text.
    pub text: Option<TextInfo>,
    /// Why a text media type has no text.
    pub text_omitted: Option<String>,
    /// `Some` makes this a failed-capture record.
    pub error: Option<String>,
    /// Extraction rules given with this capture (`capture --select/--remove`): they become the
    /// document's rules, recorded in its rules history when they differ from the current ones.
    pub rules_change: Option<exhibit_core::manifest::ExtractionRules>,
}

/// A capture that is part of a committed (or committing) batch.
#[derive(Debug, Clone, Serialize)]
pub struct CommittedCapture {
    /// The capture id.
    pub capture_id: RecordId,
    /// The document id.
    pub document_id: RecordId,
    /// The version (null for failures).
    pub version_id: Option<RecordId>,
    /// Whether the capture opened a new version.
    pub changed: bool,
    /// Whether bytes were captured successfully.
    pub ok: bool,
    /// SHA-256 of the captured bytes.
    pub sha256: Option<Sha256Digest>,
    /// SHA-256 of the extracted text.
    pub text_sha256: Option<Sha256Digest>,
    /// Capture time, RFC 3339.
    pub captured_at: String,
    /// The document URL.
    pub url: String,
    /// The final HTTP status, for HTTP captures.
    pub status: Option<u16>,
    /// The error, for failed captures.
    pub error: Option<String>,
    /// The version this one replaced, when `changed`.
    pub previous_version_id: Option<RecordId>,
    /// SHA-256 of the signed manifest.
    pub manifest_sha256: Sha256Digest,
    /// The manifest file.
    pub manifest_path: PathBuf,
    /// The manifest's leaf index in the archive's log.
    pub log_index: u64,
}

/// A capture as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureRow {
    /// The capture id.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// The document URL.
    pub url: String,
    /// Its version (null for failures).
    pub version_id: Option<RecordId>,
    /// Whether the capture succeeded.
    pub ok: bool,
    /// Capture time, RFC 3339.
    pub captured_at: String,
    /// `http`, `file` or `stdin`.
    pub method: String,
    /// Final HTTP status.
    pub status: Option<u16>,
    /// Error of a failed capture.
    pub error: Option<String>,
    /// SHA-256 of the bytes.
    pub sha256: Option<Sha256Digest>,
    /// BLAKE3 of the bytes.
    pub blake3: Option<exhibit_core::Blake3Digest>,
    /// Size of the bytes.
    pub size: Option<u64>,
    /// Media type.
    pub media_type: Option<String>,
    /// SHA-256 of the text.
    pub text_sha256: Option<Sha256Digest>,
    /// BLAKE3 of the text.
    pub text_blake3: Option<exhibit_core::Blake3Digest>,
    /// Size of the text.
    pub text_size: Option<u64>,
    /// SHA-256 of the manifest bytes.
    pub manifest_sha256: Sha256Digest,
    /// Manifest path relative to the archive root.
    pub manifest_path: String,
    /// The manifest's leaf index in the archive's log.
    pub log_index: u64,
}

/// A document as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    /// The document id.
    pub id: RecordId,
    /// Its URL.
    pub url: String,
    /// Its entity.
    pub entity: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// When it was first captured.
    pub created_at: String,
    /// The current version.
    pub current_version: Option<RecordId>,
    /// The latest capture.
    pub last_capture: Option<RecordId>,
}

/// A version as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    /// The version id.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// SHA-256 of its text (null for media without text).
    pub text_sha256: Option<Sha256Digest>,
    /// The hash versions are told apart by: the text's, or the content's when there is no text.
    pub key_sha256: Sha256Digest,
    /// The capture that opened it.
    pub opened_by: RecordId,
    /// First capture time.
    pub first_seen: String,
    /// Latest capture time.
    pub last_seen: String,
    /// Number of captures that saw it.
    pub captures: u64,
}

/// One record a query matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The record.
    pub id: RecordId,
    /// What matched: `id`, `content sha256`, `text sha256` or `manifest sha256`.
    pub field: &'static str,
    /// The full hash that matched (empty for ids).
    pub hash: String,
}

pub(crate) fn parse_digest(s: Option<String>) -> rusqlite::Result<Option<Sha256Digest>> {
    s.map(|s| {
        s.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// The columns a hash prefix is looked up in: table, record kind, column, what matched.
pub(crate) const HASH_COLUMNS: &[(&str, RecordKind, &str, &str)] = &[
    ("captures", RecordKind::Capture, "sha256", "content sha256"),
    (
        "captures",
        RecordKind::Capture,
        "text_sha256",
        "text sha256",
    ),
    (
        "captures",
        RecordKind::Capture,
        "manifest_sha256",
        "manifest sha256",
    ),
    (
        "provisions",
        RecordKind::Provision,
        "quote_sha256",
        "quote sha256",
    ),
    (
        "provisions",
        RecordKind::Provision,
        "manifest_sha256",
        "manifest sha256",
    ),
];

// The look-up queries, named so that a test checks their plans (`history::tests`): each must
// be an index search that stops at its LIMIT, never a table scan or a sort of every match.

/// The first 100 rows whose `column` lies in `[?1, ?2)`, in the index's own order.
pub(crate) fn hash_range_sql(table: &str, column: &str) -> String {
    format!(
        "SELECT num, {column} FROM {table} WHERE {column} >= ?1 AND {column} < ?2 \
         ORDER BY {column}, num LIMIT 100"
    )
}

/// The first row of the next hash after `?1` below `?2`.
pub(crate) fn next_hash_sql(table: &str, column: &str) -> String {
    format!(
        "SELECT num, {column} FROM {table} WHERE {column} > ?1 AND {column} < ?2 \
         ORDER BY {column}, num LIMIT 1"
    )
}

/// Captures newest first below `?1` (`?2` unused), at most `?3`.
pub(crate) const CAPTURES_NEWEST: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.num < ?1 ORDER BY c.num DESC LIMIT ?3";
/// A document's (`?2`) captures newest first below `?1`, at most `?3`.
pub(crate) const CAPTURES_OF_DOCUMENT_NEWEST: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.document = ?2 AND c.num < ?1 \
    ORDER BY c.num DESC LIMIT ?3";
/// All of a document's captures, oldest first.
pub(crate) const CAPTURES_OF_DOCUMENT: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.document = ?1 ORDER BY c.num";
/// All of a version's captures, oldest first.
pub(crate) const CAPTURES_OF_VERSION: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.version = ?1 ORDER BY c.num";
/// All of a document's versions, oldest first.
pub(crate) const VERSIONS_OF_DOCUMENT: &str =
    "SELECT * FROM versions WHERE document = ?1 ORDER BY num";
/// Documents numbered above `?1`, at most `?2`.
pub(crate) const DOCUMENTS_PAGE: &str =
    "SELECT num FROM documents WHERE num > ?1 ORDER BY num LIMIT ?2";

pub(crate) fn manifest_rel_path(id: &RecordId) -> String {
    format!(
        "manifests/{}/{:03}/{id}.json",
        id.kind().letter(),
        id.number() / 1000
    )
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
            .prefix(".exhibit-init-")
            .tempdir_in(&parent)
            .map_err(|e| StoreError::io(&parent, e))?;
        let stage = staging.path();
        for dir in ["keys", "objects", "manifests", "log"] {
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
        };
        let ca = match &options.tsa_ca {
            Some(pem) => {
                let rel = PathBuf::from(crate::timestamps::TSA_DIR).join("ca.pem");
                fsutil::ensure_dir(&stage.join(crate::timestamps::TSA_DIR))?;
                fsutil::write_atomic(&stage.join(&rel), pem)?;
                fsutil::sync_dir(&stage.join(crate::timestamps::TSA_DIR))?;
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
        {
            let mut conn = catalog::open(&stage.join(CATALOG_FILE))?;
            catalog::create(&mut conn, &origin, prefix.as_str())?;
            conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        }
        fsutil::write_atomic(&stage.join(CONFIG_FILE), config.to_toml()?.as_bytes())?;
        for dir in ["keys", "objects", "manifests", "log", "."] {
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
        let public = load_public_key(&self.public_key_path())?;
        let shown = path.display();
        let config = |message: String| StoreError::Config {
            path: path.clone(),
            message,
        };
        if key.public_key() != public {
            return Err(config(format!(
                "this private key ({}) does not match {PUBLIC_KEY} ({}): records it signed \
                 would never verify; put the archive's key back at {shown}",
                key.public_key().fingerprint(),
                public.fingerprint()
            )));
        }
        if let Some(cp) = log::latest(&self.conn)? {
            let signed = exhibit_sign::note::SignedNote::parse(&cp.note)
                .and_then(|n| n.verify(&self.config.origin, &public));
            if let Err(e) = signed {
                return Err(config(format!(
                    "this key ({}) did not sign the log's latest checkpoint (size {}): {e}; \
                     records it signed would not extend the log",
                    public.fingerprint(),
                    cp.size
                )));
            }
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
        DocumentLocks {
            dir: self.root.join("locks"),
        }
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

    /// Starts a batch: one catalog write transaction (waiting for other writers) in which
    /// captures are numbered, signed and recorded, made durable together by [`Batch::commit`].
    pub fn begin<'a>(&'a mut self, key: &'a SigningKey) -> Result<Batch<'a>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let leaves_path = self.root.join(log::LEAVES_FILE);
        let mut dirty: BTreeSet<PathBuf> = fsutil::create_dirs(fsutil::parent_dir(&leaves_path))?
            .into_iter()
            .collect();
        let existed = std::fs::symlink_metadata(&leaves_path).is_ok();
        // Never through a link, never a FIFO: the leaves are written and cut in place.
        let leaves = fsutil::open_for_writing(&leaves_path, true)
            .map_err(|e| StoreError::io(&leaves_path, e))?;
        if !existed {
            dirty.insert(fsutil::parent_dir(&leaves_path).to_path_buf());
        }
        let committed = log::size(&tx)?;
        let have = leaves
            .metadata()
            .map_err(|e| StoreError::io(&leaves_path, e))?
            .len();
        if have < committed * 32 {
            return Err(StoreError::Corrupt {
                what: leaves_path.display().to_string(),
                message: format!(
                    "holds {} leaves but the log has {committed}: the file was truncated",
                    have / 32
                ),
            });
        }
        if have > committed * 32 {
            // Leaves past the catalog's log that a signed checkpoint covers were committed: the
            // catalog is older than the log (a restored backup), and cutting them would
            // destroy evidence. Only leaves no checkpoint signs are a crashed batch's.
            if let Some((file, size)) = log::signed_beyond(
                &self.root,
                &self.config.origin,
                &key.public_key(),
                committed,
            )? {
                return Err(log::catalog_behind(&file, size, committed));
            }
            // Leaves of a batch that never committed: cut them, so that the file alone always
            // says where the log ends.
            leaves
                .set_len(committed * 32)
                .and_then(|()| leaves.sync_data())
                .map_err(|e| StoreError::io(&leaves_path, e))?;
        }
        Ok(Batch {
            leaves,
            leaves_path,
            tx,
            root: &self.root,
            objects: &self.objects,
            origin: &self.config.origin,
            prefix: &self.prefix,
            signer: key.public_key().fingerprint().to_string(),
            key,
            dirty,
            done: Vec::new(),
            manifests: None,
            counters: Default::default(),
            listed: Default::default(),
        })
    }

    fn check_own_id(&self, id: &RecordId) -> Result<(), StoreError> {
        if id.prefix() != self.prefix.as_str() {
            return Err(StoreError::NotFound(format!(
                "{id}: this archive's ids start with {}-",
                self.prefix
            )));
        }
        Ok(())
    }

    /// Finds the records a query names: a record id, or a hash prefix (8–64 hex digits) of a
    /// capture's content, text or manifest. Every match is returned (ambiguity is the caller's
    /// to judge).
    pub fn resolve(&self, query: &str) -> Result<Vec<Match>, StoreError> {
        if RecordId::looks_like_id(query.trim()) {
            let id: RecordId = query
                .parse()
                .map_err(|e: exhibit_core::id::IdError| StoreError::BadQuery(e.to_string()))?;
            self.check_own_id(&id)?;
            let table = match id.kind() {
                RecordKind::Document => "documents",
                RecordKind::Capture => "captures",
                RecordKind::Version => "versions",
                RecordKind::Provision => "provisions",
                RecordKind::Reextraction => "reextractions",
            };
            let found: Option<i64> = self
                .conn
                .query_row(
                    &format!("SELECT num FROM {table} WHERE num = ?1"),
                    [id.number() as i64],
                    |r| r.get(0),
                )
                .optional()?;
            return match found {
                Some(_) => Ok(vec![Match {
                    id,
                    field: "id",
                    hash: String::new(),
                }]),
                None => Err(StoreError::NotFound(format!(
                    "{id}: no such {} in this archive",
                    id.kind().name()
                ))),
            };
        }
        let prefix = HashPrefix::parse(query).map_err(|e| {
            StoreError::BadQuery(format!(
                "{:?} is neither a record id (EX-C-000042) nor a hash prefix: {e}",
                query.trim()
            ))
        })?;
        let (low, high) = prefix.range();
        let high = high.unwrap_or_else(|| "g".into());
        let mut out = Vec::new();
        for &(table, kind, column, field) in HASH_COLUMNS {
            // In index order, (hash, num): the scan stops after the rows it returns instead of
            // sorting every capture of a hash seen a million times. 100 rows, then the first row
            // of the next different hash in the range, if any: a second hash is never hidden
            // behind the limit, so ambiguity is always seen (at most 101 rows per column).
            let mut stmt = self.conn.prepare_cached(&hash_range_sql(table, column))?;
            let mut rows: Vec<(i64, String)> = stmt
                .query_map(params![low, high], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            if rows.len() == 100
                && let Some((_, last)) = rows.last()
            {
                let mut next = self.conn.prepare_cached(&next_hash_sql(table, column))?;
                let row = next
                    .query_row(params![last, high], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                rows.extend(row);
            }
            for (num, hash) in rows {
                out.push(Match {
                    id: self.id(kind, num as u64),
                    field,
                    hash,
                });
            }
        }
        if out.is_empty() {
            return Err(StoreError::NotFound(format!(
                "no record's content, text, quote or manifest hash starts with {prefix}"
            )));
        }
        Ok(out)
    }

    /// Like [`Archive::resolve`] but requires exactly one record.
    pub fn resolve_one(&self, query: &str) -> Result<Match, StoreError> {
        let mut matches = self.resolve(query)?;
        let ids: BTreeSet<&RecordId> = matches.iter().map(|m| &m.id).collect();
        if ids.len() > 1 {
            return Err(StoreError::Ambiguous {
                query: query.trim().to_owned(),
                candidates: matches
                    .iter()
                    .map(|m| format!("{} ({} {})", m.id, m.field, m.hash))
                    .collect(),
            });
        }
        Ok(matches.swap_remove(0))
    }

    /// Resolves a query to the records that carry one hash: an id gives that record; a hash
    /// prefix must match a single full hash value (a plain-text capture's content and text hash
    /// are the same value), and every capture carrying it is returned, oldest first. Identical bytes captured many
    /// times are one hash, not an ambiguity; a prefix of two different hashes is.
    pub fn resolve_hash_group(&self, query: &str) -> Result<Vec<Match>, StoreError> {
        let matches = self.resolve(query)?;
        let values: BTreeSet<&str> = matches.iter().map(|m| m.hash.as_str()).collect();
        if values.len() > 1 {
            return Err(StoreError::Ambiguous {
                query: query.trim().to_owned(),
                candidates: matches
                    .iter()
                    .map(|m| format!("{} ({} {})", m.id, m.field, m.hash))
                    .collect(),
            });
        }
        Ok(matches)
    }

    /// The captures a query selects, in id order: a capture id gives that capture; a version
    /// id, the captures that saw the version; a document id or URL, all the document's captures;
    /// a hash prefix, every capture carrying that hash.
    pub fn select_captures(&self, query: &str) -> Result<Vec<CaptureRow>, StoreError> {
        let q = query.trim();
        let (column, value) = if q.contains("://") {
            ("document", self.document(q)?.id.number())
        } else {
            let group = self.resolve_hash_group(q)?;
            let first = &group[0];
            match first.id.kind() {
                RecordKind::Capture if first.field != "id" || group.len() > 1 => {
                    return group.iter().map(|m| self.capture(m.id.number())).collect();
                }
                RecordKind::Capture => return Ok(vec![self.capture(first.id.number())?]),
                RecordKind::Version => ("version", first.id.number()),
                RecordKind::Document => ("document", first.id.number()),
                RecordKind::Provision => {
                    let p = self.provision(first.id.number())?;
                    return Ok(vec![self.capture(p.capture_id.number())?]);
                }
                RecordKind::Reextraction => {
                    let r = self.reextraction(first.id.number())?;
                    ("document", r.document_id.number())
                }
            }
        };
        let mut stmt = self.conn.prepare_cached(match column {
            "version" => CAPTURES_OF_VERSION,
            _ => CAPTURES_OF_DOCUMENT,
        })?;
        let rows = stmt.query_map([value as i64], |r| self.capture_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolves a query to one stored object: the content (or, with `text`, the extracted text)
    /// of the named capture, version or document's current version, or the single object whose
    /// hash starts with the given prefix (identical bytes captured many times are one object).
    pub fn resolve_object(&self, query: &str, text: bool) -> Result<Sha256Digest, StoreError> {
        let matches = self.resolve(query)?;
        let first = &matches[0];
        if first.field == "id" {
            let capture = match first.id.kind() {
                RecordKind::Capture => self.capture(first.id.number())?,
                RecordKind::Version => {
                    let v = self.version(first.id.number())?;
                    self.capture(v.opened_by.number())?
                }
                RecordKind::Document => {
                    let d = self.document(&first.id.to_string())?;
                    let v = d.current_version.ok_or_else(|| {
                        StoreError::NotFound(format!("{}: no successful capture yet", d.id))
                    })?;
                    let v = self.version(v.number())?;
                    self.capture(v.opened_by.number())?
                }
                RecordKind::Provision => {
                    let p = self.provision(first.id.number())?;
                    self.capture(p.capture_id.number())?
                }
                RecordKind::Reextraction => {
                    return Err(StoreError::BadQuery(format!(
                        "{}: a re-extraction record has no content of its own; name a capture or version",
                        first.id
                    )));
                }
            };
            let want = if text {
                capture.text_sha256
            } else {
                capture.sha256
            };
            return want.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: has no {}",
                    capture.id,
                    if text { "extracted text" } else { "content" }
                ))
            });
        }
        let wanted_field = if text {
            "text sha256"
        } else {
            "content sha256"
        };
        let hashes: BTreeSet<&str> = matches
            .iter()
            .filter(|m| m.field == wanted_field)
            .map(|m| m.hash.as_str())
            .collect();
        match hashes.len() {
            0 => Err(StoreError::NotFound(format!(
                "no {wanted_field} starts with {}",
                query.trim()
            ))),
            1 => hashes
                .into_iter()
                .next()
                .unwrap_or_default()
                .parse()
                .map_err(|e| StoreError::Corrupt {
                    what: "catalog".into(),
                    message: format!("bad hash: {e}"),
                }),
            _ => Err(StoreError::Ambiguous {
                query: query.trim().to_owned(),
                candidates: hashes.into_iter().map(str::to_owned).collect(),
            }),
        }
    }

    fn capture_from_row(&self, r: &Row<'_>) -> rusqlite::Result<CaptureRow> {
        Ok(CaptureRow {
            id: self.id(RecordKind::Capture, r.get::<_, i64>("num")? as u64),
            document_id: self.id(RecordKind::Document, r.get::<_, i64>("document")? as u64),
            url: r.get("url")?,
            version_id: r
                .get::<_, Option<i64>>("version")?
                .map(|n| self.id(RecordKind::Version, n as u64)),
            ok: r.get("ok")?,
            captured_at: r.get("captured_at")?,
            method: r.get("method")?,
            status: r.get("status")?,
            error: r.get("error")?,
            sha256: parse_digest(r.get("sha256")?)?,
            blake3: r
                .get::<_, Option<String>>("blake3")?
                .and_then(|s| s.parse().ok()),
            size: r.get::<_, Option<i64>>("size")?.map(|n| n as u64),
            media_type: r.get("media_type")?,
            text_sha256: parse_digest(r.get("text_sha256")?)?,
            text_blake3: r
                .get::<_, Option<String>>("text_blake3")?
                .and_then(|s| s.parse().ok()),
            text_size: r.get::<_, Option<i64>>("text_size")?.map(|n| n as u64),
            manifest_sha256: parse_digest(r.get("manifest_sha256")?)?
                .unwrap_or(Sha256Digest([0; 32])),
            manifest_path: r.get("manifest_path")?,
            log_index: r.get::<_, i64>("log_index")? as u64,
        })
    }

    /// A capture by number.
    pub fn capture(&self, number: u64) -> Result<CaptureRow, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.*, d.url FROM captures c JOIN documents d ON d.num = c.document \
             WHERE c.num = ?1",
        )?;
        stmt.query_row([number as i64], |r| self.capture_from_row(r))
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: no such capture",
                    self.id(RecordKind::Capture, number)
                ))
            })
    }

    /// Captures, newest first: at most `limit`, numbered below `before` when given (paging).
    pub fn captures(
        &self,
        limit: u64,
        before: Option<u64>,
        document: Option<u64>,
    ) -> Result<Vec<CaptureRow>, StoreError> {
        // Two statements, not one with `?2 IS NULL OR c.document = ?2`: SQLite plans a
        // statement once, and that form walks all captures newest first looking for the
        // document's, a full scan for a document captured rarely or long ago. This one walks
        // the (document, num) index backwards.
        let mut stmt = self.conn.prepare_cached(match document {
            None => CAPTURES_NEWEST,
            Some(_) => CAPTURES_OF_DOCUMENT_NEWEST,
        })?;
        let rows = stmt.query_map(
            params![
                before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64),
                document.map(|d| d.min(i64::MAX as u64) as i64),
                limit.min(i64::MAX as u64) as i64
            ],
            |r| self.capture_from_row(r),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A document by id, by URL, or by the id of one of its captures or versions.
    pub fn document(&self, query: &str) -> Result<DocumentRow, StoreError> {
        let q = query.trim();
        let num: Option<i64> = if q.contains("://") {
            let url = exhibit_core::url::normalize_document_url(q)
                .map_err(|e| StoreError::BadQuery(e.to_string()))?;
            self.conn
                .query_row(
                    "SELECT num FROM documents WHERE url = ?1",
                    [url.as_str()],
                    |r| r.get(0),
                )
                .optional()?
        } else {
            let m = self.resolve_one(q)?;
            match m.id.kind() {
                RecordKind::Document => Some(m.id.number() as i64),
                RecordKind::Capture => {
                    Some(self.capture(m.id.number())?.document_id.number() as i64)
                }
                RecordKind::Version => {
                    Some(self.version(m.id.number())?.document_id.number() as i64)
                }
                RecordKind::Provision => {
                    Some(self.provision(m.id.number())?.document_id.number() as i64)
                }
                RecordKind::Reextraction => {
                    Some(self.reextraction(m.id.number())?.document_id.number() as i64)
                }
            }
        };
        let num = num.ok_or_else(|| StoreError::NotFound(format!("no document {q}")))?;
        self.conn
            .query_row(
                "SELECT num, url, entity, title, created_at, current_version, last_capture \
                 FROM documents WHERE num = ?1",
                [num],
                |r| {
                    Ok(DocumentRow {
                        id: self.id(RecordKind::Document, r.get::<_, i64>(0)? as u64),
                        url: r.get(1)?,
                        entity: r.get(2)?,
                        title: r.get(3)?,
                        created_at: r.get(4)?,
                        current_version: r
                            .get::<_, Option<i64>>(5)?
                            .map(|n| self.id(RecordKind::Version, n as u64)),
                        last_capture: r
                            .get::<_, Option<i64>>(6)?
                            .map(|n| self.id(RecordKind::Capture, n as u64)),
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no document {q}")))
    }

    fn version_from_row(&self, r: &Row<'_>) -> rusqlite::Result<VersionRow> {
        Ok(VersionRow {
            id: self.id(RecordKind::Version, r.get::<_, i64>("num")? as u64),
            document_id: self.id(RecordKind::Document, r.get::<_, i64>("document")? as u64),
            text_sha256: parse_digest(r.get("text_sha256")?)?,
            key_sha256: parse_digest(r.get("key_sha256")?)?.unwrap_or(Sha256Digest([0; 32])),
            opened_by: self.id(RecordKind::Capture, r.get::<_, i64>("opened_by")? as u64),
            first_seen: r.get("first_seen")?,
            last_seen: r.get("last_seen")?,
            captures: r.get::<_, i64>("captures")? as u64,
        })
    }

    /// A version by number.
    pub fn version(&self, number: u64) -> Result<VersionRow, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM versions WHERE num = ?1")?;
        stmt.query_row([number as i64], |r| self.version_from_row(r))
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: no such version",
                    self.id(RecordKind::Version, number)
                ))
            })
    }

    /// A document's versions, oldest first.
    pub fn versions(&self, document: &RecordId) -> Result<Vec<VersionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(VERSIONS_OF_DOCUMENT)?;
        let rows = stmt.query_map([document.number() as i64], |r| self.version_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Documents, in id order: at most `limit`, numbered above `after` (paging).
    pub fn documents(&self, limit: u64, after: u64) -> Result<Vec<DocumentRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(DOCUMENTS_PAGE)?;
        let nums: Vec<i64> = stmt
            .query_map(
                params![after as i64, limit.min(i64::MAX as u64) as i64],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        nums.into_iter()
            .map(|n| self.document(&self.id(RecordKind::Document, n as u64).to_string()))
            .collect()
    }

    /// The manifest bytes and raw signature of a capture, read from disk (bounded) and checked
    /// against the manifest SHA-256 the catalog recorded.
    pub fn read_manifest(&self, row: &CaptureRow) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        self.read_signed(&row.id, &row.manifest_sha256)
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

/// Holds a document's capture lock until dropped.
#[derive(Debug)]
pub struct DocumentLock {
    _file: std::fs::File,
}

/// A group of captures committed together: one catalog transaction, one round of fsyncs.
pub struct Batch<'a> {
    pub(crate) tx: rusqlite::Transaction<'a>,
    pub(crate) root: &'a Path,
    objects: &'a ObjectStore,
    pub(crate) origin: &'a str,
    pub(crate) prefix: &'a IdPrefix,
    pub(crate) key: &'a SigningKey,
    pub(crate) signer: String,
    pub(crate) dirty: BTreeSet<PathBuf>,
    done: Vec<CommittedCapture>,
    pub(crate) leaves: std::fs::File,
    pub(crate) leaves_path: PathBuf,
    /// In grouped mode, the thread that signs and writes this batch's manifests.
    manifests: Option<ManifestWriter>,
    /// The last number allocated per record kind in this batch; written back to `counters`
    /// at commit (the batch holds the catalog's write lock, so no one else allocates).
    counters: std::cell::RefCell<std::collections::BTreeMap<char, u64>>,
    /// In grouped mode, the names in each manifest directory this batch writes to, listed once
    /// when it first does: a name there that the batch did not write is a leftover of a batch
    /// that never committed. (No other process writes manifests while this batch holds the
    /// catalog's write lock, so the listing stays true; it replaces two `lstat`s per capture
    /// on the writer, which waited on the directory lock held by the manifest thread.)
    listed: std::collections::HashMap<PathBuf, std::collections::HashSet<std::ffi::OsString>>,
}

/// A manifest to sign and write: its path and canonical bytes.
struct ManifestJob {
    path: PathBuf,
    bytes: Vec<u8>,
}

/// What the manifest thread did: the files it wrote, and the error that stopped it, if any.
type ManifestOutcome = (Vec<PathBuf>, Option<StoreError>);

/// Signs and writes a grouped batch's manifests and signatures on a thread of its own, so that
/// the single writer — which must allocate ids, link records and fill the catalog in order —
/// does not also spend a third of its time on Ed25519 and file creation (docs/PERFORMANCE.md).
/// The batch checks each name is free before handing a manifest over, and waits for the
/// thread before it makes anything durable ([`Batch::commit`]): a capture is still reported only
/// once its files are durable.
struct ManifestWriter {
    jobs: Option<std::sync::mpsc::Sender<ManifestJob>>,
    thread: Option<std::thread::JoinHandle<ManifestOutcome>>,
}

impl ManifestWriter {
    fn start(key: SigningKey) -> Result<Self, StoreError> {
        let (jobs, rx) = std::sync::mpsc::channel::<ManifestJob>();
        let thread = std::thread::Builder::new()
            .name("exhibit-manifests".into())
            .spawn(move || {
                let mut written = Vec::new();
                for job in rx {
                    let signature = key.sign(&job.bytes);
                    if let Err(e) = fsutil::write_new_unsynced(&job.path, &job.bytes) {
                        return (written, Some(e));
                    }
                    written.push(job.path.clone());
                    let sig = job.path.with_extension("json.sig");
                    if let Err(e) = fsutil::write_new_unsynced(&sig, signature.as_bytes()) {
                        return (written, Some(e));
                    }
                    written.push(sig);
                }
                (written, None)
            })
            .map_err(|e| StoreError::io("<manifest thread>", e))?;
        Ok(ManifestWriter {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Hands a manifest over; `false` when the thread has stopped (its error comes from
    /// [`ManifestWriter::finish`]).
    fn send(&self, job: ManifestJob) -> bool {
        self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }

    /// Waits until every manifest handed over is written.
    fn finish(mut self) -> ManifestOutcome {
        drop(self.jobs.take());
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            Some(Err(_)) => (
                Vec::new(),
                Some(StoreError::io(
                    "<manifest thread>",
                    std::io::Error::other("the manifest thread panicked"),
                )),
            ),
            None => (Vec::new(), None),
        }
    }
}

struct DocState {
    num: u64,
    entity: Option<String>,
    title: Option<String>,
    current_version: Option<u64>,
    last_capture: Option<u64>,
}

impl Batch<'_> {
    pub(crate) fn id(&self, kind: RecordKind, n: u64) -> RecordId {
        RecordId::new(self.prefix, kind, n)
    }

    /// Allocates the next number of a record kind (`D`, `V`, `C`, `P`, `R`, or `L` for log
    /// leaves): read from the catalog once per batch, counted in memory, written back by
    /// [`Batch::commit`]. A counter at `i64::MAX` is a one-line error, never an overflow.
    fn next_number(&self, kind: char) -> Result<u64, StoreError> {
        let mut counters = self.counters.borrow_mut();
        let last = match counters.get(&kind) {
            Some(&n) => n,
            None => catalog::counter(&self.tx, kind)?,
        };
        let next = last
            .checked_add(1)
            .filter(|&n| i64::try_from(n).is_ok())
            .ok_or_else(|| catalog::counter_exhausted(kind))?;
        counters.insert(kind, next);
        Ok(next)
    }

    /// Writes the numbers this batch allocated back to the catalog's counters.
    fn store_counters(&self) -> Result<(), StoreError> {
        for (kind, last) in self.counters.borrow().iter() {
            exec_cached(
                &self.tx,
                "UPDATE counters SET last = ?2 WHERE kind = ?1",
                params![kind.to_string(), *last as i64],
            )?;
        }
        Ok(())
    }

    /// Signs a record's canonical manifest bytes, writes them and the signature crash-safely
    /// (fsynced now; their directory at commit) and appends the leaf to the log. Returns the
    /// manifest's SHA-256, its path relative to the root and its leaf index. The id must be
    /// free ([`Batch::fresh_id`]).
    pub(crate) fn write_signed(
        &mut self,
        id: &RecordId,
        bytes: &[u8],
    ) -> Result<(Sha256Digest, String, u64), StoreError> {
        let rel = manifest_rel_path(id);
        self.write_signed_new(id, bytes)?.ok_or_else(|| {
            StoreError::io(
                self.root.join(&rel),
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            )
        })
    }

    /// Like [`Batch::write_signed`], but `None` (and nothing written or logged) when a file of
    /// an earlier batch that never committed (a crash) already holds the manifest or signature
    /// name: the existing file is left as it is, and the caller takes the next number. Trying
    /// is what checks: no look-up of the names first.
    pub(crate) fn write_signed_new(
        &mut self,
        id: &RecordId,
        bytes: &[u8],
    ) -> Result<Option<(Sha256Digest, String, u64)>, StoreError> {
        let rel = manifest_rel_path(id);
        let path = self.root.join(&rel);
        let dir = fsutil::parent_dir(&path).to_path_buf();
        // A directory this batch already wrote to exists.
        if !self.dirty.contains(&dir) {
            self.dirty.extend(fsutil::create_dirs(&dir)?);
        }
        if self.objects.is_grouped() {
            // The manifest thread writes the files (never replacing one); a leftover of a batch
            // that never committed is found here, before the number is used.
            let names = match self.listed.entry(dir.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(names_in(&dir)?),
            };
            let sig = path.with_extension("json.sig");
            let taken = |p: &Path| p.file_name().is_none_or(|name| names.contains(name));
            if taken(&path) || taken(&sig) {
                return Ok(None);
            }
            if self.manifests.is_none() {
                self.manifests = Some(ManifestWriter::start(self.key.clone())?);
            }
            let job = ManifestJob {
                path,
                bytes: bytes.to_vec(),
            };
            if !self.manifests.as_ref().is_some_and(|m| m.send(job)) {
                let failed = self.manifests.take().and_then(|m| m.finish().1);
                return Err(failed.unwrap_or_else(|| {
                    StoreError::io("<manifest thread>", std::io::Error::other("stopped"))
                }));
            }
            self.dirty.insert(dir);
            let log_index = self.next_number('L')? - 1;
            log::append(&self.tx, &self.leaves, &self.leaves_path, log_index, bytes)?;
            return Ok(Some((Sha256Digest::of(bytes), rel, log_index)));
        }
        let signature = self.key.sign(bytes);
        let write = fsutil::write_atomic_new;
        // The name is taken (not, say, a temporary file that could not be made).
        let taken = |e: &StoreError, name: &Path| {
            matches!(e, StoreError::Io { path, source }
                if path == name && source.kind() == std::io::ErrorKind::AlreadyExists)
        };
        match write(&path, bytes) {
            Err(e) if taken(&e, &path) => return Ok(None),
            other => other?,
        }
        let sig = path.with_extension("json.sig");
        match write(&sig, signature.as_bytes()) {
            Err(e) if taken(&e, &sig) => {
                // Only the signature is an orphan: the manifest just written is this batch's.
                let _ = std::fs::remove_file(&path);
                return Ok(None);
            }
            other => other?,
        }
        self.dirty.insert(dir);
        let log_index = self.next_number('L')? - 1;
        log::append(&self.tx, &self.leaves, &self.leaves_path, log_index, bytes)?;
        Ok(Some((Sha256Digest::of(bytes), rel, log_index)))
    }

    /// The next number of `kind` whose manifest path is free. A manifest file already at the
    /// next number is an orphan of a batch that never committed (a crash); it is left as it is
    /// and its number is never given out again.
    pub(crate) fn fresh_id(&self, kind: RecordKind) -> Result<(u64, RecordId), StoreError> {
        loop {
            let n = self.next_number(kind.letter())?;
            let id = self.id(kind, n);
            let path = self.root.join(manifest_rel_path(&id));
            if !path.exists() && !path.with_extension("json.sig").exists() {
                return Ok((n, id));
            }
        }
    }

    fn document_state(&self, p: &PendingCapture, at: &str) -> Result<DocState, StoreError> {
        let existing = self
            .tx
            .prepare_cached(
                "SELECT num, entity, title, current_version, last_capture FROM documents \
                 WHERE url = ?1",
            )?
            .query_row([&p.document_url], |r| {
                Ok(DocState {
                    num: r.get::<_, i64>(0)? as u64,
                    entity: r.get(1)?,
                    title: r.get(2)?,
                    current_version: r.get::<_, Option<i64>>(3)?.map(|n| n as u64),
                    last_capture: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                })
            })
            .optional()?;
        if let Some(doc) = existing {
            return Ok(doc);
        }
        let num = self.next_number('D')?;
        exec_cached(
            &self.tx,
            "INSERT INTO documents (num, url, created_at) VALUES (?1, ?2, ?3)",
            params![num as i64, p.document_url, at],
        )?;
        Ok(DocState {
            num,
            entity: None,
            title: None,
            current_version: None,
            last_capture: None,
        })
    }

    /// Numbers, signs and records one capture. Its manifest and signature are written (and
    /// fsynced) now; it becomes visible, and durable, when the batch commits.
    pub fn add(&mut self, p: PendingCapture) -> Result<CommittedCapture, StoreError> {
        let captured_at = format_rfc3339_seconds(p.captured_at);
        let doc = self.document_state(&p, &captured_at)?;
        if let Some(rules) = &p.rules_change {
            crate::rules::record_change(
                &self.tx,
                doc.num,
                rules,
                &captured_at,
                "capture --select/--remove",
            )?;
        }
        let entity = p.entity.clone().or(doc.entity);
        let title = p.title.clone().or(doc.title).or(p.title_hint.clone());

        let previous_capture = match doc.last_capture {
            Some(n) => {
                let sha: String = query_row_cached(
                    &self.tx,
                    "SELECT manifest_sha256 FROM captures WHERE num = ?1",
                    [n as i64],
                    |r| r.get(0),
                )?;
                Some(RecordLink {
                    id: self.id(RecordKind::Capture, n),
                    manifest_sha256: parse_catalog_digest(&sha)?,
                })
            }
            None => None,
        };

        let ok = p.error.is_none();
        let version = if ok {
            let key = match (&p.text, &p.content) {
                (Some(t), _) => t.sha256,
                (None, Some(c)) => c.sha256,
                (None, None) => {
                    return Err(StoreError::Corrupt {
                        what: p.document_url.clone(),
                        message: "a successful capture must have content".into(),
                    });
                }
            };
            let current = match doc.current_version {
                Some(v) => Some(query_row_cached(
                    &self.tx,
                    "SELECT key_sha256, opened_by, opened_manifest_sha256 FROM versions \
                     WHERE num = ?1",
                    [v as i64],
                    |r| {
                        Ok((
                            v,
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)? as u64,
                            r.get::<_, String>(2)?,
                        ))
                    },
                )?),
                None => None,
            };
            Some(match current {
                Some((v, cur_key, opened_by, opened_sha)) if cur_key == key.to_hex() => (
                    key,
                    VersionLink {
                        id: self.id(RecordKind::Version, v),
                        change: Change::Unchanged,
                        previous: None,
                        opened_by: Some(RecordLink {
                            id: self.id(RecordKind::Capture, opened_by),
                            manifest_sha256: parse_catalog_digest(&opened_sha)?,
                        }),
                    },
                ),
                current => {
                    let previous = match current {
                        Some((v, _, _, opened_sha)) => Some(RecordLink {
                            id: self.id(RecordKind::Version, v),
                            manifest_sha256: parse_catalog_digest(&opened_sha)?,
                        }),
                        None => None,
                    };
                    let n = self.next_number('V')?;
                    (
                        key,
                        VersionLink {
                            id: self.id(RecordKind::Version, n),
                            change: Change::New,
                            previous,
                            opened_by: None,
                        },
                    )
                }
            })
        } else {
            None
        };

        let capture_num = self.next_number(RecordKind::Capture.letter())?;
        let mut manifest = CaptureManifest {
            manifest_type: if ok {
                ManifestType::Capture
            } else {
                ManifestType::CaptureFailure
            },
            origin: self.origin.to_owned(),
            id: self.id(RecordKind::Capture, capture_num),
            document: DocumentRef {
                id: self.id(RecordKind::Document, doc.num),
                url: p.document_url.clone(),
                entity: entity.clone(),
                title: title.clone(),
            },
            captured_at: captured_at.clone(),
            method: p.method,
            http: p.http.clone(),
            file: p.file.clone(),
            content: p.content.clone(),
            text: p.text.clone(),
            text_omitted: p.text_omitted.clone(),
            version: version.as_ref().map(|(_, v)| v.clone()),
            previous_capture,
            error: p.error.clone(),
            signer: self.signer.clone(),
        };
        let (capture_num, capture_id, manifest_sha256, rel, log_index) = loop {
            let id = manifest.id.clone();
            let bytes = manifest
                .to_canonical_bytes()
                .map_err(|e| StoreError::Rejected {
                    what: id.to_string(),
                    message: e.to_string(),
                })?;
            if let Some((sha256, rel, log_index)) = self.write_signed_new(&id, &bytes)? {
                break (id.number(), id, sha256, rel, log_index);
            }
            // An orphan of a batch that never committed (a crash) holds this number: it is left
            // as it is, and the number is never given out again.
            let n = self.next_number(RecordKind::Capture.letter())?;
            manifest.id = self.id(RecordKind::Capture, n);
        };
        let path = self.root.join(&rel);

        if let Some((key, v)) = &version {
            match v.change {
                Change::New => {
                    exec_cached(
                        &self.tx,
                        "INSERT INTO versions (num, document, key_sha256, text_sha256, opened_by, \
                         opened_manifest_sha256, first_seen, last_seen, captures) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)",
                        params![
                            v.id.number() as i64,
                            doc.num as i64,
                            key.to_hex(),
                            p.text.as_ref().map(|t| t.sha256.to_hex()),
                            capture_num as i64,
                            manifest_sha256.to_hex(),
                            captured_at,
                        ],
                    )?;
                }
                Change::Unchanged => {
                    exec_cached(
                        &self.tx,
                        "UPDATE versions SET captures = captures + 1, \
                         last_seen = max(last_seen, ?2) WHERE num = ?1",
                        params![v.id.number() as i64, captured_at],
                    )?;
                }
            }
        }
        let status = p.http.as_ref().and_then(|h| h.status);
        let hex = |d: Option<&Sha256Digest>| d.map(Sha256Digest::to_hex);
        exec_cached(
            &self.tx,
            "INSERT INTO captures (num, document, version, ok, captured_at, method, status, \
             error, sha256, blake3, size, media_type, text_sha256, text_blake3, text_size, \
             manifest_sha256, manifest_path, log_index) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                capture_num as i64,
                doc.num as i64,
                version.as_ref().map(|(_, v)| v.id.number() as i64),
                ok,
                captured_at,
                p.method.as_str(),
                status,
                p.error,
                hex(p.content.as_ref().map(|c| &c.sha256)),
                p.content.as_ref().map(|c| c.blake3.to_hex()),
                p.content.as_ref().map(|c| c.size as i64),
                p.content.as_ref().map(|c| c.media_type.clone()),
                hex(p.text.as_ref().map(|t| &t.sha256)),
                p.text.as_ref().map(|t| t.blake3.to_hex()),
                p.text.as_ref().map(|t| t.size as i64),
                manifest_sha256.to_hex(),
                rel,
                log_index as i64,
            ],
        )?;
        exec_cached(
            &self.tx,
            "UPDATE documents SET last_capture = ?2, entity = ?3, title = ?4, \
             current_version = coalesce(?5, current_version) WHERE num = ?1",
            params![
                doc.num as i64,
                capture_num as i64,
                entity,
                title,
                version.as_ref().map(|(_, v)| v.id.number() as i64),
            ],
        )?;
        let committed = CommittedCapture {
            capture_id,
            document_id: self.id(RecordKind::Document, doc.num),
            changed: version
                .as_ref()
                .is_some_and(|(_, v)| v.change == Change::New),
            previous_version_id: version
                .as_ref()
                .and_then(|(_, v)| v.previous.as_ref().map(|l| l.id.clone())),
            version_id: version.map(|(_, v)| v.id),
            ok,
            sha256: p.content.as_ref().map(|c| c.sha256),
            text_sha256: p.text.as_ref().map(|t| t.sha256),
            captured_at,
            url: p.document_url,
            status,
            error: p.error,
            manifest_sha256,
            manifest_path: path,
            log_index,
        };
        self.done.push(committed.clone());
        Ok(committed)
    }

    /// Gives the batch up: removes the manifests and signatures its captures wrote (best effort:
    /// a file left behind is an orphan that nothing names, as after a crash) while its
    /// transaction still holds the catalog's write lock, then rolls the transaction back.
    pub fn abandon(mut self) {
        match self.manifests.take() {
            // Grouped: exactly the files the manifest thread wrote, once it has stopped.
            Some(m) => {
                for path in m.finish().0 {
                    let _ = std::fs::remove_file(path);
                }
            }
            None => {
                for c in &self.done {
                    let _ = std::fs::remove_file(&c.manifest_path);
                    let _ = std::fs::remove_file(c.manifest_path.with_extension("json.sig"));
                }
            }
        }
        drop(self.tx);
    }

    /// Makes every file of the batch durable (one fsync per touched directory), then commits
    /// the catalog transaction. Only after this returns are the captures reported.
    pub fn commit(mut self) -> Result<Vec<CommittedCapture>, StoreError> {
        if let Some(m) = self.manifests.take()
            && let (written, Some(e)) = m.finish()
        {
            // As `abandon` does: nothing this batch wrote is left behind.
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        self.store_counters()?;
        if self.objects.is_grouped() {
            // Grouped durability: one syncfs makes the staged objects' bytes durable, they are
            // renamed into place, and a second syncfs makes the renames, the manifests and the
            // leaves durable — two flushes for the whole batch instead of one per file.
            self.objects.publish_staged()?;
            fsutil::sync_filesystem(self.root)?;
            // Those directories are durable now too.
            drop(self.objects.take_dirty_dirs());
        } else {
            self.leaves
                .sync_data()
                .map_err(|e| StoreError::io(&self.leaves_path, e))?;
            self.objects.sync_dirty_dirs()?;
            for dir in &self.dirty {
                fsutil::sync_dir(dir)?;
            }
        }
        self.tx.commit()?;
        Ok(self.done)
    }
}

/// The names of the entries of `dir`.
fn names_in(dir: &Path) -> Result<std::collections::HashSet<std::ffi::OsString>, StoreError> {
    std::fs::read_dir(dir)
        .and_then(|entries| entries.map(|entry| entry.map(|e| e.file_name())).collect())
        .map_err(|e| StoreError::io(dir, e))
}

/// `execute` with a statement from the connection's cache (batches run the same statements
/// thousands of times; parsing them each time showed in profiles).
pub(crate) fn exec_cached(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` with a statement from the connection's cache.
pub(crate) fn query_row_cached<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

pub(crate) fn parse_catalog_digest(s: &str) -> Result<Sha256Digest, StoreError> {
    parse_digest(Some(s.to_owned()))
        .map_err(StoreError::from)?
        .ok_or_else(|| StoreError::Corrupt {
            what: "catalog".into(),
            message: "missing hash".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed HTTP capture of `url` (no object needed).
    fn failure(url: &str) -> PendingCapture {
        PendingCapture {
            document_url: url.to_owned(),
            entity: None,
            title: None,
            title_hint: None,
            captured_at: Utc::now(),
            method: Method::Http,
            http: Some(HttpExchange {
                request_url: url.to_owned(),
                final_url: url.to_owned(),
                redirects: Vec::new(),
                status: None,
                headers: Default::default(),
            }),
            file: None,
            content: None,
            text: None,
            text_omitted: None,
            error: Some("connection refused".into()),
            rules_change: None,
        }
    }

    /// Files a crashed batch left at the next numbers keep their names, their numbers are
    /// skipped, and an abandoned batch takes its own manifests away with its transaction.
    #[test]
    fn orphans_are_skipped_untouched_and_an_abandoned_batch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut archive = Archive::init(&dir.path().join("a"), InitOptions::default()).unwrap();
        let key = archive.signing_key().unwrap();
        let shard = archive.root().join("manifests/C/000");
        std::fs::create_dir_all(&shard).unwrap();
        std::fs::write(shard.join("EX-C-000001.json"), b"orphan").unwrap();
        std::fs::write(shard.join("EX-C-000002.json.sig"), b"orphan sig").unwrap();

        let mut batch = archive.begin(&key).unwrap();
        let c = batch.add(failure("https://a.example/")).unwrap();
        batch.commit().unwrap();
        assert_eq!(c.capture_id.to_string(), "EX-C-000003");
        assert_eq!(c.manifest_path, shard.join("EX-C-000003.json"));
        assert_eq!(
            std::fs::read(shard.join("EX-C-000001.json")).unwrap(),
            b"orphan"
        );
        assert!(!shard.join("EX-C-000001.json.sig").exists());
        assert!(!shard.join("EX-C-000002.json").exists());
        assert_eq!(
            std::fs::read(shard.join("EX-C-000002.json.sig")).unwrap(),
            b"orphan sig"
        );

        let mut batch = archive.begin(&key).unwrap();
        let gone = batch.add(failure("https://b.example/")).unwrap();
        assert!(gone.manifest_path.exists());
        batch.abandon();
        assert!(!gone.manifest_path.exists());
        assert!(!gone.manifest_path.with_extension("json.sig").exists());
        let mut batch = archive.begin(&key).unwrap();
        let again = batch.add(failure("https://b.example/")).unwrap();
        batch.commit().unwrap();
        assert_eq!(again.capture_id, gone.capture_id);
        assert_eq!(archive.log_size().unwrap(), 2);
    }
}
