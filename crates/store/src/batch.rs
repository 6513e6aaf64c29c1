//! The batch writer: a group of captures (and provisions, re-extractions) numbered, signed,
//! logged and recorded in one catalog transaction, made durable together by [`Batch::commit`]
//! (docs/FORMAT.md §8).
//!
//! What a capture's links are is decided by the chain rules (`exhibit_core::chain`, §9) and
//! each catalog row is written by `catalog::rows`; this module allocates numbers, writes the
//! signed files and the log leaves, and owns the transaction. Not here: looking records up
//! (`queries.rs`), provisions and re-extractions themselves (`provisions.rs`, `rules.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use exhibit_core::chain::version_key;
use exhibit_core::manifest::{
    CaptureManifest, Change, ContentInfo, DocumentRef, FileSource, HttpExchange, ManifestType,
    Method, TextInfo,
};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_core::{IdPrefix, ManifestError, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::SigningKey;
use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::layout::{manifest_path, signature_path};
use crate::log;
use crate::objects::ObjectStore;
use crate::{Archive, StoreError, catalog, fsutil};

/// A record's canonical manifest bytes (`to_canonical_bytes` of any manifest type), or the
/// record `id` rejected with why they could not be made: what every record written to a batch
/// goes through before [`Batch::write_signed`].
pub(crate) fn canonical_bytes(
    id: &RecordId,
    bytes: Result<Vec<u8>, ManifestError>,
) -> Result<Vec<u8>, StoreError> {
    bytes.map_err(|e| StoreError::Rejected {
        what: id.to_string(),
        message: e.to_string(),
    })
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
    /// For browser captures: what the browser did and made (its objects already stored).
    pub browser: Option<exhibit_core::browser::BrowserRecord>,
    /// For captures imported from a WARC file: the file and the record.
    pub warc: Option<exhibit_core::warc_source::WarcSource>,
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

impl Archive {
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
        // Under the catalog's write lock, so no rotation runs while this batch signs: the key
        // must be the current one of the key history.
        let keys = crate::key_history::load(&self.root, &self.config.origin)?;
        if keys.current().key != key.public_key() {
            return Err(StoreError::Config {
                path: self.config.key_path(&self.root),
                message: format!(
                    "the archive's signing key is now {} (the key was rotated); run the command again",
                    keys.current().fingerprint
                ),
            });
        }
        // A bucket archive is written only under the bucket's write lease, whose session pushes
        // each batch ([`Batch::commit`]).
        let bucket = match &self.config.store {
            Some(store) => Some(crate::remote::writing_for(&self.root).ok_or_else(|| {
                StoreError::Config {
                    path: self.root.join(crate::layout::CONFIG_FILE),
                    message: format!(
                        "the archive is stored in {}; it is written only by a command that holds its write lease",
                        store.url
                    ),
                }
            })?),
            None => None,
        };
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
            if let Some((file, size)) =
                log::signed_beyond(&self.root, &self.config.origin, &keys, committed)?
            {
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
            bucket,
            log_start: committed,
        })
    }
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
    /// For an archive in a bucket: the write session that pushes this batch once committed.
    bucket: Option<std::sync::Arc<crate::remote::Writing>>,
    /// The log's size when the batch began.
    log_start: u64,
}

/// A manifest to sign and write: its path, its signature's path and its canonical bytes.
struct ManifestJob {
    path: PathBuf,
    sig: PathBuf,
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
                    written.push(job.path);
                    if let Err(e) = fsutil::write_new_unsynced(&job.sig, signature.as_bytes()) {
                        return (written, Some(e));
                    }
                    written.push(job.sig);
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
            catalog::rows::store_counter(&self.tx, *kind, *last)?;
        }
        Ok(())
    }

    /// Signs a record's canonical manifest bytes ([`canonical_bytes`]), writes them and the signature crash-safely
    /// (fsynced now; their directory at commit) and appends the leaf to the log. Returns the
    /// manifest's SHA-256, its path relative to the root and its leaf index. The id must be
    /// free ([`Batch::fresh_id`]).
    pub(crate) fn write_signed(
        &mut self,
        id: &RecordId,
        bytes: &[u8],
    ) -> Result<(Sha256Digest, String, u64), StoreError> {
        let rel = manifest_path(id);
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
        let rel = manifest_path(id);
        let path = self.root.join(&rel);
        let sig = self.root.join(signature_path(id));
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
            let taken = |p: &Path| p.file_name().is_none_or(|name| names.contains(name));
            if taken(&path) || taken(&sig) {
                return Ok(None);
            }
            if self.manifests.is_none() {
                self.manifests = Some(ManifestWriter::start(self.key.clone())?);
            }
            let job = ManifestJob {
                path,
                sig,
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
            let path = self.root.join(manifest_path(&id));
            if !path.exists() && !self.root.join(signature_path(&id)).exists() {
                return Ok((n, id));
            }
        }
    }

    /// The document with this URL as the catalog has it, created (first captured `at`) when
    /// it is new.
    fn document(&self, url: &str, at: &str) -> Result<DocumentEntry, StoreError> {
        let existing = self
            .tx
            .prepare_cached(
                "SELECT num, entity, title, current_version, last_capture FROM documents \
                 WHERE url = ?1",
            )?
            .query_row([url], |r| {
                Ok(DocumentEntry {
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
        catalog::rows::insert_document(&self.tx, num, url, at)?;
        Ok(DocumentEntry {
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
        let doc = self.document(&p.document_url, &captured_at)?;
        if let Some(rules) = &p.rules_change {
            crate::catalog::document_state::record_rules_change(
                &self.tx,
                doc.num,
                rules,
                &captured_at,
                "capture --select/--remove",
            )?;
        }
        let entity = p.entity.clone().or(doc.entity);
        let title = p.title.clone().or(doc.title).or(p.title_hint.clone());

        // The chain rules (docs/FORMAT.md §9): a failure only extends the capture chain, so
        // its document's current version is not read.
        let ok = p.error.is_none();
        let chain = catalog::rows::document_chain(
            &self.tx,
            self.prefix,
            doc.last_capture,
            doc.current_version.filter(|_| ok),
        )?;
        let key = if ok {
            Some(
                version_key(p.text.as_ref(), p.content.as_ref()).ok_or_else(|| {
                    StoreError::Corrupt {
                        what: p.document_url.clone(),
                        message: "a successful capture must have content".into(),
                    }
                })?,
            )
        } else {
            None
        };
        let links = chain.links_for(key, || {
            Ok::<_, StoreError>(self.id(RecordKind::Version, self.next_number('V')?))
        })?;

        let capture_num = self.next_number(RecordKind::Capture.letter())?;
        let mut manifest = CaptureManifest {
            manifest_type: ManifestType::of_capture(ok, p.http.as_ref()),
            origin: self.origin.to_owned(),
            id: self.id(RecordKind::Capture, capture_num),
            document: DocumentRef {
                id: self.id(RecordKind::Document, doc.num),
                url: p.document_url.clone(),
                entity,
                title,
            },
            captured_at: captured_at.clone(),
            method: p.method,
            http: p.http.clone(),
            file: p.file.clone(),
            content: p.content.clone(),
            text: p.text.clone(),
            text_omitted: p.text_omitted.clone(),
            version: links.version,
            previous_capture: links.previous_capture,
            error: p.error.clone(),
            signer: self.signer.clone(),
            browser: p.browser.clone(),
            warc: p.warc.clone(),
        };
        let (capture_id, manifest_sha256, rel, log_index) = loop {
            let id = manifest.id.clone();
            let bytes = canonical_bytes(&id, manifest.to_canonical_bytes())?;
            if let Some((sha256, rel, log_index)) = self.write_signed_new(&id, &bytes)? {
                break (id, sha256, rel, log_index);
            }
            // An orphan of a batch that never committed (a crash) holds this number: it is left
            // as it is, and the number is never given out again.
            let n = self.next_number(RecordKind::Capture.letter())?;
            manifest.id = self.id(RecordKind::Capture, n);
        };
        let path = self.root.join(&rel);

        if let Some(key) = &key {
            catalog::rows::record_version(&self.tx, &manifest, key, &manifest_sha256)?;
        }
        catalog::rows::insert_capture(&self.tx, &manifest, &manifest_sha256, &rel, log_index)?;
        catalog::rows::update_document(&self.tx, &manifest)?;
        let status = p.http.as_ref().and_then(|h| h.status);
        let version = manifest.version;
        let committed = CommittedCapture {
            capture_id,
            document_id: self.id(RecordKind::Document, doc.num),
            changed: version.as_ref().is_some_and(|v| v.change == Change::New),
            previous_version_id: version
                .as_ref()
                .and_then(|v| v.previous.as_ref().map(|l| l.id.clone())),
            version_id: version.map(|v| v.id),
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
                    let _ = std::fs::remove_file(self.root.join(signature_path(&c.capture_id)));
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
        // A bucket archive's records, read inside the transaction, are pushed once it has
        // committed: only when they are in the bucket's log are they reported.
        let pushed = match &self.bucket {
            Some(_) => {
                let end = log::size(&self.tx)?;
                crate::remote::sync_records_in(&self.tx, self.prefix, self.log_start, end)?
            }
            None => Vec::new(),
        };
        self.tx.commit()?;
        if let Some(w) = &self.bucket {
            w.push_records(&pushed)?;
        }
        Ok(self.done)
    }
}

/// The names of the entries of `dir`.
fn names_in(dir: &Path) -> Result<std::collections::HashSet<std::ffi::OsString>, StoreError> {
    std::fs::read_dir(dir)
        .and_then(|entries| entries.map(|entry| entry.map(|e| e.file_name())).collect())
        .map_err(|e| StoreError::io(dir, e))
}

/// A document's catalog row, as a capture of it needs it.
struct DocumentEntry {
    num: u64,
    entity: Option<String>,
    title: Option<String>,
    current_version: Option<u64>,
    last_capture: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InitOptions;

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
                connections: None,
                trust_roots: None,
            }),
            file: None,
            content: None,
            text: None,
            text_omitted: None,
            error: Some("connection refused".into()),
            rules_change: None,
            browser: None,
            warc: None,
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
