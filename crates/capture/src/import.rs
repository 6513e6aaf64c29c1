//! `exhibit import FILE.warc[.gz]`: captures from the records of a WARC file written by anyone
//! (wget, Browsertrix, ArchiveWeb.page, the Wayback Machine, exhibit), read as hostile input
//! (FORMAT §3.12).
//!
//! Two passes over the file. The first reads every record — its header, its block digest, the
//! CRLFs that end it — and hashes the file; any problem there is a one-line error with its byte
//! offset, and nothing is imported. The second makes a capture (method `warc-import`) of each
//! `response` record of an HTTP 200 and each `resource` record at an `http(s)` URL: the payload
//! is streamed with its chunked transfer-coding and content codings undone (the payload digest
//! checked on the way, over the bytes as transmitted or de-chunked) into the object store, its
//! text extracted as for any capture; a record whose payload digest does not match, or whose
//! codings cannot be undone, is recorded as a refused (failed) capture instead. Captures are
//! committed in groups, each group holding its documents' locks. Memory is bounded: nothing is
//! kept per record but what a group holds.
//!
//! The manifest claims only that the bytes were that record's payload in that file (its
//! SHA-256, the record id, its offset), with the WARC's own date kept apart from exhibit's.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use chrono::Utc;
use exhibit_core::Sha256Digest;
use exhibit_core::manifest::{ContentInfo, MAX_RECORDED_STRING, Method, cap_string, shorten};
use exhibit_core::url::normalize_document_url;
use exhibit_core::warc_source::WarcSource;
use exhibit_store::{CommittedCapture, PendingCapture};
use exhibit_warc::read::{
    Dechunk, Head, Limits, PayloadCheck, PayloadDigest, PayloadForm, ReadError, Tap, TapRead,
    WarcReader, parse_http_head,
};
use sha2::{Digest as _, Sha256};

use crate::acquire::{
    Acquired, StreamError, decoder, media_type_of, recorded_headers, store_stream,
};
use crate::{CaptureError, Capturer, DocumentMeta, PrepareEnv};

/// The most captures committed in one transaction (and document locks held at once).
const GROUP: usize = 256;
/// The most distinct reasons a summary counts skipped records under (the rest are "other").
const MAX_REASONS: usize = 32;

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// SHA-256 of the WARC file.
    pub file_sha256: Option<Sha256Digest>,
    /// Its size.
    pub file_size: u64,
    /// Records read.
    pub records: u64,
    /// Captures committed (refused ones included).
    pub committed: u64,
    /// Of those, refusals: records whose payload did not match its digest or could not be
    /// decoded.
    pub refused: u64,
    /// Records not imported, by reason ("request records", "HTTP 404 responses").
    pub skipped: BTreeMap<String, u64>,
}

/// A WARC file as its captures cite it.
struct FileFacts {
    name: String,
    sha256: Sha256Digest,
    size: u64,
}

/// What became of one record.
enum Outcome {
    /// Not a record exhibit imports, for this reason.
    Skipped(String),
    /// A capture (or a refusal) to commit.
    Pending(Box<PendingCapture>),
}

impl Capturer<'_> {
    /// Imports the captures of the WARC file at `path` (see the module doc), calling
    /// `on_committed` for each capture once its group is durable. `meta.entity` applies to
    /// every document; the other fields are ignored (each record names its own URL).
    pub fn import_warc(
        &mut self,
        path: &Path,
        meta: &DocumentMeta,
        on_committed: &mut dyn FnMut(&CommittedCapture) -> Result<(), CaptureError>,
    ) -> Result<ImportSummary, CaptureError> {
        let shown = path.display().to_string();
        let limits = Limits::default();
        let (sha256, size, records) = first_pass(path, &limits)?;
        let file = FileFacts {
            name: path
                .file_name()
                .map(|n| cap_string(&n.to_string_lossy(), MAX_RECORDED_STRING))
                .unwrap_or_default(),
            sha256,
            size,
        };
        let meta = DocumentMeta {
            url: None,
            entity: meta.entity.clone(),
            title: None,
            rules: None,
        };
        let mut summary = ImportSummary {
            file_sha256: Some(sha256),
            file_size: size,
            records,
            ..ImportSummary::default()
        };
        let mut hashed = HashingRead::new(open(path)?);
        let mut reader = WarcReader::new(&mut hashed, limits.clone());
        let mut group: Vec<PendingCapture> = Vec::new();
        let mut urls: HashSet<String> = HashSet::new();
        let changed = |e: ReadError| {
            CaptureError::BadSource(format!(
                "{shown}: {e} on the second reading (the file changed while it was imported)"
            ))
        };
        while let Some(mut record) = reader.next_record().map_err(changed)? {
            let outcome =
                self.import_record(&file, &meta, &limits, &record.head, &mut record.block);
            let fault = record.block.fault();
            if let Some(e) = fault {
                return Err(changed(e));
            }
            record.finish().map_err(changed)?;
            match outcome? {
                Outcome::Skipped(reason) => {
                    let key = if summary.skipped.len() < MAX_REASONS
                        || summary.skipped.contains_key(&reason)
                    {
                        reason
                    } else {
                        "other records".to_owned()
                    };
                    *summary.skipped.entry(key).or_default() += 1;
                }
                Outcome::Pending(p) => {
                    if urls.contains(&p.document_url) || group.len() >= GROUP {
                        self.commit_group(&mut group, &mut summary, on_committed)?;
                        urls.clear();
                    }
                    urls.insert(p.document_url.clone());
                    group.push(*p);
                }
            }
        }
        drop(reader);
        if hashed.finish() != (sha256, size) {
            return Err(CaptureError::BadSource(format!(
                "{shown}: the file changed while it was imported ({} capture(s) already \
                 committed cite it as first read)",
                summary.committed
            )));
        }
        self.commit_group(&mut group, &mut summary, on_committed)?;
        Ok(summary)
    }

    /// Commits `group` in one batch holding its documents' locks (taken in URL order, so two
    /// importers never wait on each other in a cycle), then reports each capture.
    fn commit_group(
        &mut self,
        group: &mut Vec<PendingCapture>,
        summary: &mut ImportSummary,
        on_committed: &mut dyn FnMut(&CommittedCapture) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        if group.is_empty() {
            return Ok(());
        }
        let locks = self.archive.document_locks();
        let urls: BTreeSet<String> = group.iter().map(|p| p.document_url.clone()).collect();
        let mut held = Vec::with_capacity(urls.len());
        for u in &urls {
            held.push(locks.lock(u)?);
        }
        let done = self.commit(std::mem::take(group))?;
        drop(held);
        for c in &done {
            summary.committed += 1;
            if !c.ok {
                summary.refused += 1;
            }
            on_committed(c)?;
        }
        Ok(())
    }

    /// What one record becomes (its block read from `block`, from its first byte).
    fn import_record(
        &self,
        file: &FileFacts,
        meta: &DocumentMeta,
        limits: &Limits,
        head: &Head,
        block: &mut dyn BufRead,
    ) -> Result<Outcome, CaptureError> {
        let kind = head.kind().unwrap_or("").to_ascii_lowercase();
        if kind != "response" && kind != "resource" {
            let kind = if kind.is_empty() {
                "untyped".to_owned()
            } else {
                shorten(&kind.escape_debug().to_string(), 32)
            };
            return Ok(Outcome::Skipped(format!("{kind} records")));
        }
        let Some(target) = head.get("WARC-Target-URI") else {
            return Ok(Outcome::Skipped("records without WARC-Target-URI".into()));
        };
        // WARC 1.0 writers (and some 1.1 readers) put the URI in angle brackets.
        let target = target.trim_start_matches('<').trim_end_matches('>');
        let url = match url::Url::parse(target) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
            _ => {
                return Ok(Outcome::Skipped(
                    "records of URIs that are not http(s)".into(),
                ));
            }
        };
        let Ok(document_url) = normalize_document_url(target).map(String::from) else {
            return Ok(Outcome::Skipped(
                "records of URLs no document can have".into(),
            ));
        };
        let is_http = head
            .get("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/http"));
        if kind == "response" && !is_http {
            return Ok(Outcome::Skipped(
                "response records that are not HTTP".into(),
            ));
        }
        let mut source = WarcSource {
            file_name: file.name.clone(),
            file_sha256: file.sha256,
            file_size: file.size,
            record_id: cap_string(head.id().unwrap_or(""), MAX_RECORDED_STRING),
            offset: head.offset,
            record_type: kind.clone(),
            target_uri: cap_string(target, MAX_RECORDED_STRING),
            warc_date: cap_string(head.get("WARC-Date").unwrap_or(""), MAX_RECORDED_STRING),
            status: None,
            headers: BTreeMap::new(),
            decoded: Vec::new(),
            block_digest: head
                .get("WARC-Block-Digest")
                .map(|d| cap_string(d, MAX_RECORDED_STRING)),
            payload_digest: head
                .get("WARC-Payload-Digest")
                .map(|d| cap_string(d, MAX_RECORDED_STRING)),
            payload_digest_over: None,
        };
        let (content_type, chunked, encoding) = if kind == "response" {
            let http = match parse_http_head(&mut &mut *block, limits) {
                Ok(h) => h,
                Err(e) => {
                    return self.refused(meta, document_url, source, format!("HTTP head: {e}"));
                }
            };
            if http.status != 200 {
                return Ok(Outcome::Skipped(format!("HTTP {} responses", http.status)));
            }
            source.status = Some(200);
            source.headers = recorded_headers(|name| {
                http.headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
                    .collect()
            });
            let encodings: Vec<&str> = http.values("Content-Encoding").collect();
            (
                http.get("Content-Type").map(str::to_owned),
                http.is_chunked(),
                (!encodings.is_empty()).then(|| encodings.join(", ")),
            )
        } else {
            (head.get("Content-Type").map(str::to_owned), false, None)
        };
        let digest = match PayloadDigest::for_record(head, chunked) {
            Ok(Ok(d)) => Some(d),
            Ok(Err(_)) => None,
            Err(e) => return self.refused(meta, document_url, source, e),
        };
        if chunked {
            source.decoded.push("chunked".into());
        }
        let codings: Vec<String> = encoding
            .iter()
            .flat_map(|e| e.split(','))
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty() && c != "identity")
            .collect();
        // Undone last-applied first, as recorded.
        source.decoded.extend(codings.iter().rev().map(|c| {
            if c == "x-gzip" {
                "gzip".to_owned()
            } else {
                c.clone()
            }
        }));

        let digest = RefCell::new(digest);
        let objects = self.archive.shared_objects();
        let previous = self.archive.previous_content(&document_url)?;
        let name = url.to_string();
        let mut raw = Tap {
            inner: block,
            feed: &|b: &[u8]| {
                if let Some(d) = digest.borrow_mut().as_mut() {
                    d.transmitted(b);
                }
            },
        };
        let mut dechunked_ok = false;
        let stored = {
            let store = |body: Box<dyn Read + '_>| {
                let body = decoder(body, encoding.as_deref())
                    .map_err(|e| StreamError::Read(io::Error::other(e)))?;
                store_stream(body, &objects, previous.as_ref(), &self.settings, &name)
            };
            if chunked {
                let mut dechunk = Dechunk::new(&mut raw);
                let result = store(Box::new(TapRead {
                    inner: &mut dechunk,
                    feed: &|b: &[u8]| {
                        if let Some(d) = digest.borrow_mut().as_mut() {
                            d.dechunked(b);
                        }
                    },
                }));
                dechunked_ok = dechunk.is_done();
                result
            } else {
                store(Box::new(&mut raw))
            }
        };
        // The rest of the payload (a trailer, bytes past a compressed stream) is hashed too.
        let drained = io::copy(&mut raw, &mut io::sink());
        let check = match digest.into_inner() {
            Some(d) => d.finish(dechunked_ok).map(Some),
            None => Ok(None),
        };
        let stored = match (stored, drained) {
            (Ok(s), Ok(_)) => s,
            (Err(StreamError::Other(CaptureError::TooLarge { limit, .. })), _) => {
                let why = format!("payload larger than the {limit}-byte capture limit");
                return self.refused(meta, document_url, source, why);
            }
            (Err(StreamError::Other(e)), _) => return Err(e),
            (Err(StreamError::Read(e)), _) | (Ok(_), Err(e)) => {
                let why = format!(
                    "the payload could not be decoded ({}): {e}",
                    source.decoded.join(", ")
                );
                return self.refused(meta, document_url, source, why);
            }
        };
        match check {
            Err(e) => return self.refused(meta, document_url, source, e),
            Ok(Some(PayloadCheck::Matched { over, .. })) => {
                source.payload_digest_over = Some(
                    match over {
                        PayloadForm::AsTransmitted => "as-transmitted",
                        PayloadForm::Dechunked => "dechunked",
                    }
                    .to_owned(),
                );
            }
            Ok(_) => {}
        }
        let (media_type, charset) =
            media_type_of(content_type.as_deref(), &stored.retained, Some(&url));
        let acquired = Acquired {
            captured_at: Utc::now(),
            method: Method::WarcImport,
            http: None,
            file: None,
            content: Some(ContentInfo {
                sha256: stored.object.sha256,
                blake3: stored.object.blake3,
                size: stored.object.size,
                media_type,
            }),
            charset,
            retained: stored.retained,
            retained_all: stored.retained_all,
            error: None,
            warc: Some(source),
        };
        self.pending(meta, document_url, acquired)
            .map(|p| Outcome::Pending(Box::new(p)))
    }

    /// A refused record: a failed capture saying why, with nothing stored as its content.
    fn refused(
        &self,
        meta: &DocumentMeta,
        document_url: String,
        source: WarcSource,
        why: String,
    ) -> Result<Outcome, CaptureError> {
        let acquired = Acquired {
            captured_at: Utc::now(),
            method: Method::WarcImport,
            http: None,
            file: None,
            content: None,
            charset: None,
            retained: Vec::new(),
            retained_all: false,
            error: Some(cap_string(&format!("refused: {why}"), MAX_RECORDED_STRING)),
            warc: Some(source),
        };
        self.pending(meta, document_url, acquired)
            .map(|p| Outcome::Pending(Box::new(p)))
    }

    /// The pending capture of an imported record: its text extracted as for any capture.
    fn pending(
        &self,
        meta: &DocumentMeta,
        document_url: String,
        acquired: Acquired,
    ) -> Result<PendingCapture, CaptureError> {
        let rules = self
            .archive
            .rules_for_url(&document_url)?
            .unwrap_or_default();
        let objects = self.archive.shared_objects();
        let browser = crate::browser::SharedBrowser::new(Default::default());
        let env = PrepareEnv {
            objects: &objects,
            http: &self.http,
            settings: &self.settings,
            browser: &browser,
            browser_for_all: false,
            texts: None,
        };
        env.prepare_acquired(meta, document_url, &rules, acquired)
    }
}

/// The first pass: every record read and checked, nothing kept; the file's SHA-256, size and
/// number of records.
fn first_pass(path: &Path, limits: &Limits) -> Result<(Sha256Digest, u64, u64), CaptureError> {
    let mut hashed = HashingRead::new(open(path)?);
    let records = exhibit_warc::read::read_records(
        &mut hashed,
        limits.clone(),
        |_, _| Ok::<(), ReadError>(()),
        |_| Ok(()),
    )
    .map_err(|e| CaptureError::BadSource(format!("{}: {e}; nothing imported", path.display())))?;
    let (sha256, size) = hashed.finish();
    Ok((sha256, size, records))
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>, CaptureError> {
    let err = |reason: String| CaptureError::File {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    if !file.metadata().map_err(|e| err(e.to_string()))?.is_file() {
        return Err(err("not a regular file".into()));
    }
    Ok(BufReader::with_capacity(1 << 16, file))
}

/// A file read through a SHA-256, to its end.
struct HashingRead<R> {
    inner: R,
    sha256: Sha256,
    size: u64,
}

impl<R: Read> HashingRead<R> {
    fn new(inner: R) -> Self {
        HashingRead {
            inner,
            sha256: Sha256::new(),
            size: 0,
        }
    }

    /// Reads what is left, then the digest and size of everything read.
    fn finish(mut self) -> (Sha256Digest, u64) {
        let _ = io::copy(&mut self, &mut io::sink());
        let digest: [u8; 32] = self.sha256.finalize().into();
        (Sha256Digest(digest), self.size)
    }
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.sha256.update(&out[..n]);
        self.size += n as u64;
        Ok(n)
    }
}
