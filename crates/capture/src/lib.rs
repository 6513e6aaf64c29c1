//! exhibit-capture: acquiring documents and turning them into signed captures.
//!
//! A capture has two phases. [`Capturer::prepare`] acquires the bytes (HTTP/HTTPS, a file or
//! stdin), streams them into the object store while hashing, extracts the text and stores it —
//! all outside any lock. [`Capturer::commit`] then hands the prepared captures to one store
//! batch, which numbers, versions, signs and records them in one transaction. A network failure
//! or a non-2xx answer is not an error here: it is evidence, committed as a failed-capture record.
//!
//! This crate's one job is acquisition into the archive: documents ([`Capturer`], [`batch`];
//! [`Capturer::plan_reextraction`] runs extraction again over bytes already acquired), and
//! RFC 3161 tokens for the archive's checkpoints ([`tsa`]: HTTP to the TSAs, the answers kept
//! in the archive). It decides none of the rules it applies: extraction is
//! `exhibit-text`'s, the chain and catalog rules are `exhibit-store`'s, and what a TSA's answer
//! must satisfy is `exhibit-timestamp`'s ([`exhibit_timestamp::verify_answer`]).

mod acquire;
mod asking;
pub mod batch;
mod browser;
mod connector;
mod error;
mod import;
pub mod notify;
mod reextract;
mod source;
pub mod tsa;
pub mod witness;

use exhibit_core::manifest::{ExtractionRules, Extractor, TextInfo, cap_string};
use exhibit_core::url::normalize_document_url;
use exhibit_sign::SigningKey;
use exhibit_store::config::CaptureSettings;
use exhibit_store::{Archive, CommittedCapture, PendingCapture};
use exhibit_text as text;

pub use acquire::Acquired;
pub use browser::{BrowserSettings, find_browser};
pub use error::CaptureError;
pub use import::ImportSummary;
pub use source::Source;

/// What the user says about the document a source holds.
#[derive(Debug, Clone, Default)]
pub struct DocumentMeta {
    /// The document URL (its identity); required for stdin, defaults to the source URL or the
    /// file's `file://` URL.
    pub url: Option<String>,
    /// The publishing entity.
    pub entity: Option<String>,
    /// The document title.
    pub title: Option<String>,
    /// Extraction rules to set on the document (and apply to this capture); `None` keeps the
    /// document's current rules.
    pub rules: Option<ExtractionRules>,
}

/// Captures sources into one archive.
pub struct Capturer<'a> {
    archive: &'a mut Archive,
    key: SigningKey,
    settings: CaptureSettings,
    http: connector::HttpClient,
    browser: Option<BrowserSettings>,
}

impl<'a> Capturer<'a> {
    /// A capturer for `archive`, signing with its key (loaded and permission-checked now).
    pub fn new(archive: &'a mut Archive) -> Result<Self, CaptureError> {
        let key = archive.signing_key()?;
        let settings = archive.config().capture.clone();
        let tls = std::sync::Arc::new(connector::TlsSetup::new(&[] as &[&std::path::Path])?);
        let http = acquire::client(&settings, tls);
        Ok(Capturer {
            archive,
            key,
            settings,
            http,
            browser: None,
        })
    }

    /// Captures URLs in headless Chromium with these settings (`capture --browser`); `None`
    /// fetches them with one HTTP request each.
    pub fn set_browser(&mut self, browser: Option<BrowserSettings>) {
        self.browser = browser;
    }

    /// Overrides the timeout (seconds) for connecting and for each read.
    pub fn set_timeout(&mut self, secs: u64) {
        self.settings.timeout_secs = secs;
        self.http = acquire::client(&self.settings, self.http.tls.clone());
    }

    /// Trusts the certificates in these PEM files as roots too (`--ca-cert`: private CAs,
    /// tests), beside the bundled Mozilla roots. Each capture records them (FORMAT §3.10).
    pub fn add_trust_roots(
        &mut self,
        pem_files: &[std::path::PathBuf],
    ) -> Result<(), CaptureError> {
        let tls = std::sync::Arc::new(connector::TlsSetup::new(pem_files)?);
        self.http = acquire::client(&self.settings, tls);
        Ok(())
    }

    /// Overrides the size cap in bytes.
    pub fn set_max_bytes(&mut self, max: u64) {
        self.settings.max_bytes = max.min(exhibit_store::config::MAX_EXACT_SIZE);
    }

    /// Acquires a source and stores its bytes and text; nothing is recorded yet.
    ///
    /// Errors are the user's (a missing file, a malformed URL, stdin without `--url`) or the
    /// archive's; a failing server yields a prepared failure record instead.
    pub fn prepare(
        &self,
        source: &Source,
        meta: &DocumentMeta,
    ) -> Result<PendingCapture, CaptureError> {
        let document_url = document_url(source, meta)?;
        let rules = match &meta.rules {
            Some(r) => r.clone(),
            None => self
                .archive
                .rules_for_url(&document_url)?
                .unwrap_or_default(),
        };
        let previous = self.archive.previous_content(&document_url)?;
        let objects = self.archive.shared_objects();
        // Started only if this capture needs it, and closed when it is done.
        let browser = browser::SharedBrowser::new(self.browser.clone().unwrap_or_default());
        let env = PrepareEnv {
            objects: &objects,
            http: &self.http,
            settings: &self.settings,
            browser: &browser,
            browser_for_all: self.browser.is_some(),
            texts: None,
        };
        env.prepare(source, meta, document_url, &rules, previous.as_ref())
    }

    /// Records prepared captures in one batch: one transaction, one round of fsyncs.
    pub fn commit(
        &mut self,
        pending: Vec<PendingCapture>,
    ) -> Result<Vec<CommittedCapture>, CaptureError> {
        let mut batch = self.archive.begin(&self.key)?;
        for p in pending {
            batch.add(p)?;
        }
        Ok(batch.commit()?)
    }

    /// Signs a checkpoint covering everything committed so far (one per capture command).
    pub fn sign_checkpoint(&mut self) -> Result<exhibit_store::SignedCheckpoint, CaptureError> {
        Ok(self.archive.sign_checkpoint(&self.key)?)
    }

    /// Prepares and commits one source, holding the document's capture lock from acquisition
    /// to commit so that concurrent captures of one document are recorded in acquisition order.
    pub fn capture(
        &mut self,
        source: &Source,
        meta: &DocumentMeta,
    ) -> Result<CommittedCapture, CaptureError> {
        let _lock = self.archive.lock_document(&document_url(source, meta)?)?;
        let pending = self.prepare(source, meta)?;
        let mut done = self.commit(vec![pending])?;
        done.pop()
            .ok_or_else(|| CaptureError::Internal("batch committed nothing".into()))
    }
}

/// What preparing a capture needs, none of it tied to the catalog connection, so that it can
/// run on any thread.
pub(crate) struct PrepareEnv<'e> {
    pub(crate) objects: &'e std::sync::Arc<exhibit_store::ObjectStore>,
    pub(crate) http: &'e connector::HttpClient,
    pub(crate) settings: &'e CaptureSettings,
    /// The command's browser, started by the first capture that needs it.
    pub(crate) browser: &'e browser::SharedBrowser,
    /// Whether every URL is captured in the browser (`--browser`), not only the documents
    /// exhibit.toml lists.
    pub(crate) browser_for_all: bool,
    /// Texts this process extracted and stored, shared by a batch's workers.
    pub(crate) texts: Option<&'e TextCache>,
}

/// What decides an extracted text: the bytes, how they are typed and decoded, and the rules
/// (the extractor is this build's).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TextKey {
    content: exhibit_core::Sha256Digest,
    media_type: String,
    charset: Option<String>,
    rules: ExtractionRules,
}

/// A text extracted and stored earlier in this process.
#[derive(Debug, Clone)]
pub(crate) struct KnownText {
    info: TextInfo,
    title: Option<String>,
}

/// The texts a batch extracted and stored, by what decides them, so that a capture of bytes
/// already captured in the same run (an unchanged document, a duplicate file) neither extracts
/// nor hashes its text again. Bounded: it forgets everything when full.
#[derive(Debug, Default)]
pub(crate) struct TextCache {
    known: std::sync::Mutex<std::collections::HashMap<TextKey, KnownText>>,
}

impl TextCache {
    /// The most texts remembered at once (each entry is a few hundred bytes).
    const CAPACITY: usize = 8192;

    fn get(&self, key: &TextKey) -> Option<KnownText> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(key).cloned()
    }

    fn insert(&self, key: TextKey, text: KnownText) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= Self::CAPACITY {
            known.clear();
        }
        known.insert(key, text);
    }
}

impl PrepareEnv<'_> {
    /// Acquires `source`, stores its bytes and extracted text under `rules`.
    pub(crate) fn prepare(
        &self,
        source: &Source,
        meta: &DocumentMeta,
        document_url: String,
        rules: &ExtractionRules,
        previous: Option<&exhibit_core::Sha256Digest>,
    ) -> Result<PendingCapture, CaptureError> {
        // `--browser`, or the document's default in exhibit.toml (`[capture] browser`).
        let in_browser = self.browser_for_all
            || self.settings.browser.iter().any(|u| {
                normalize_document_url(u).is_ok_and(|u| u.as_str() == document_url.as_str())
            });
        let (acquired, browser) = match source {
            Source::Http(url) if in_browser => {
                let got =
                    browser::capture(url, self.http, self.settings, self.browser, self.objects)?;
                (got.acquired, Some((got.record, got.dom)))
            }
            _ => (
                acquire::acquire(source, self.http, self.settings, self.objects, previous)?,
                None,
            ),
        };
        if let Some((record, dom)) = browser {
            return self.prepare_browser(meta, document_url, rules, acquired, record, dom);
        }
        self.prepare_acquired(meta, document_url, rules, acquired)
    }

    /// Extracts and stores the text of bytes already acquired and stored, and makes the
    /// pending record (any method but the browser's).
    pub(crate) fn prepare_acquired(
        &self,
        meta: &DocumentMeta,
        document_url: String,
        rules: &ExtractionRules,
        acquired: Acquired,
    ) -> Result<PendingCapture, CaptureError> {
        let mut text = None;
        let mut text_omitted = None;
        let mut title_hint = None;
        if let Some(content) = &acquired.content
            && acquired.error.is_none()
        {
            let key = TextKey {
                content: content.sha256,
                media_type: content.media_type.clone(),
                charset: acquired.charset.clone(),
                rules: rules.clone(),
            };
            let cached = if acquired.retained_all {
                self.texts.and_then(|t| t.get(&key))
            } else {
                None
            };
            if let Some(known) = cached {
                // The same bytes were extracted under the same rules by this process: the same
                // text, already stored (extraction is deterministic; re-extraction checks it).
                title_hint = known.title.clone();
                text = Some(known.info);
            } else if acquired.retained_all {
                if let Some(extracted) = text::extract_with(
                    &acquired.retained,
                    &content.media_type,
                    acquired.charset.as_deref(),
                    rules,
                ) {
                    // A text identical to the captured bytes (plain text, Markdown) is the
                    // same object: no second hash and compression.
                    // A text that is the captured bytes plus a little (usually the final
                    // newline that normalisation adds) reuses their compressed frame.
                    let bytes = extracted.text.as_bytes();
                    let (sha256, blake3, size) = if bytes == acquired.retained {
                        (content.sha256, content.blake3, content.size)
                    } else {
                        let stored = match bytes.strip_prefix(&acquired.retained[..]) {
                            Some(suffix) if suffix.len() <= 4096 => self.objects.put_extended(
                                &content.sha256,
                                &acquired.retained,
                                suffix,
                            )?,
                            _ => self.objects.put(bytes)?,
                        };
                        (stored.sha256, stored.blake3, stored.size)
                    };
                    text = Some(text_info((sha256, blake3, size), extracted.charset, rules));
                    title_hint = extracted
                        .title
                        .map(|t| cap_string(&t, exhibit_core::manifest::MAX_RECORDED_STRING));
                    if let (Some(texts), Some(info)) = (self.texts, &text) {
                        texts.insert(
                            key,
                            KnownText {
                                info: info.clone(),
                                title: title_hint.clone(),
                            },
                        );
                    }
                }
            } else if has_text(&content.media_type) {
                text_omitted = Some(if content.size > self.settings.max_text_bytes {
                    format!(
                        "{} bytes exceed the {}-byte text extraction limit; versioned by content hash",
                        content.size, self.settings.max_text_bytes
                    )
                } else {
                    "binary bytes (NUL) under a text media type; versioned by content hash"
                        .to_owned()
                });
            }
        }
        Ok(PendingCapture {
            document_url,
            entity: meta.entity.clone(),
            title: meta.title.clone(),
            title_hint,
            captured_at: acquired.captured_at,
            method: acquired.method,
            http: acquired.http,
            file: acquired.file,
            content: acquired.content,
            text,
            text_omitted,
            error: acquired.error,
            rules_change: meta.rules.clone(),
            browser: None,
            warc: acquired.warc,
        })
    }
}

impl PrepareEnv<'_> {
    /// A browser capture: the text is extracted from the rendered DOM (UTF-8 HTML) under the
    /// document's rules; the content is the main document's bytes as the server sent them.
    fn prepare_browser(
        &self,
        meta: &DocumentMeta,
        document_url: String,
        rules: &ExtractionRules,
        acquired: Acquired,
        record: exhibit_core::browser::BrowserRecord,
        dom: Vec<u8>,
    ) -> Result<PendingCapture, CaptureError> {
        let mut text = None;
        let mut title_hint = None;
        if acquired.error.is_none()
            && let Some(extracted) = text::extract_with(&dom, "text/html", Some("UTF-8"), rules)
        {
            let stored = self.objects.put(extracted.text.as_bytes())?;
            text = Some(text_info(
                (stored.sha256, stored.blake3, stored.size),
                extracted.charset,
                rules,
            ));
            title_hint = extracted
                .title
                .map(|t| cap_string(&t, exhibit_core::manifest::MAX_RECORDED_STRING));
        }
        Ok(PendingCapture {
            document_url,
            entity: meta.entity.clone(),
            title: meta.title.clone(),
            title_hint,
            captured_at: acquired.captured_at,
            method: acquired.method,
            http: acquired.http,
            file: acquired.file,
            content: acquired.content,
            text,
            text_omitted: None,
            error: acquired.error,
            rules_change: meta.rules.clone(),
            browser: Some(record),
            warc: None,
        })
    }
}

/// The manifest's `text` for a stored extracted text: its digests and size, the charset the
/// bytes were decoded from, and this build's extractor with the rules it applied.
fn text_info(
    (sha256, blake3, size): (exhibit_core::Sha256Digest, exhibit_core::Blake3Digest, u64),
    charset: &str,
    rules: &ExtractionRules,
) -> TextInfo {
    TextInfo {
        sha256,
        blake3,
        size,
        charset: charset.to_owned(),
        extractor: Extractor {
            name: text::EXTRACTOR_NAME.to_owned(),
            version: text::EXTRACTOR_VERSION.to_owned(),
            rules: (!rules.is_empty()).then(|| rules.clone()),
        },
    }
}

/// The normalised URL that identifies the document a source holds.
pub fn document_url(source: &Source, meta: &DocumentMeta) -> Result<String, CaptureError> {
    let url = match (&meta.url, source) {
        (Some(u), _) => normalize_document_url(u)?,
        (None, Source::Http(u)) => normalize_document_url(u.as_str())?,
        (None, Source::File(p)) => normalize_document_url(&source::file_url(p)?)?,
        (None, Source::Stdin) => return Err(CaptureError::StdinNeedsUrl),
    };
    if url.as_str().len() > exhibit_core::manifest::MAX_RECORDED_STRING {
        return Err(CaptureError::BadSource(format!(
            "document URL longer than {} bytes",
            exhibit_core::manifest::MAX_RECORDED_STRING
        )));
    }
    Ok(url.to_string())
}

/// Whether a media type is one text is extracted from.
pub fn has_text(media_type: &str) -> bool {
    media_type.starts_with("text/") || media_type == "application/xhtml+xml"
}
