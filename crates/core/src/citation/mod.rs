//! Citation records: the human-readable form a filing quotes, a lenient parser for what people
//! paste back out of PDFs, and the field-by-field comparison of a citation with a record.
//!
//! ```text
//! Citation Record
//! Entity: AI21 Labs
//! Document: AI21 Labs Privacy Policy
//! Record ID: EX-C-000042
//! Captured: 2026-04-30 06:15:21 UTC
//! SHA-256: 4abc7ff0d7779bee…
//! URL: https://www.ai21.com/privacy-policy
//! Accessed: April 30, 2026
//! Document ID: EX-D-000001
//! Version ID: EX-V-000002
//! Signed-By: SHA256:…
//! Log Position: leaf 41 in exhibit/1a2b3c4d
//! ```
//!
//! This module holds the types a citation is made of and the three entry points; each entry
//! point has a file of its own:
//!
//! - [`render`](fn@render) (`render.rs`): a record's facts → the citation text;
//! - [`parse`](fn@parse) (`parse.rs`): pasted text → [`Citation`]s, with the line scanner
//!   that finds labels in `labels.rs` and the value parsers (ids, hashes, URLs, dates) in
//!   `values.rs`;
//! - [`compare`](fn@compare) (`compare.rs`): a [`Citation`] against a record's
//!   [`RecordFacts`], field by field.
//!
//! Everything here is pure. Choosing which record a citation means, and the verdict, are
//! `exhibit_verify::citation`'s job.

mod compare;
mod labels;
mod parse;
mod render;
mod values;

pub use compare::compare;
pub use parse::parse;
pub use render::render;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::digest::{HashPrefix, Sha256Digest};
use crate::id::{RecordId, RecordKind};
use crate::manifest::CaptureManifest;
use crate::provision::{AnyManifest, ProvisionManifest};

/// The largest citation text [`parse`](fn@parse) accepts.
pub const MAX_CITATION_BYTES: usize = 256 * 1024;

/// How the SHA-256 is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashForm {
    /// All 64 hex digits.
    Full,
    /// The first 16 hex digits and `…`, as filings often print it.
    Short,
}

/// What a record says about itself: everything a citation can state, taken from a verified
/// manifest (and, for the log position, its verified inclusion proof). Rendering prints it;
/// [`compare`](fn@compare) checks a parsed citation against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordFacts {
    /// The record cited: a capture, a version or a provision.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// Its version (a failed capture has none).
    pub version_id: Option<RecordId>,
    /// The capture: the record itself, or for a version or provision the capture that opened
    /// the version.
    pub capture_id: RecordId,
    /// The provision id, for a provision.
    pub provision_id: Option<RecordId>,
    /// Entity, as the capture recorded it.
    pub entity: Option<String>,
    /// Document title, as the capture recorded it.
    pub title: Option<String>,
    /// The document URL (its identity).
    pub url: String,
    /// Other URLs the capture recorded (HTTP request and final URL), which a citation may
    /// print instead.
    pub other_urls: Vec<String>,
    /// Capture time (of the capture above), as the signer claims it.
    pub captured_at: DateTime<Utc>,
    /// The date printed as `Accessed`: the capture's date, or the provision's creation date.
    pub accessed: NaiveDate,
    /// SHA-256 of the captured bytes.
    pub sha256: Option<Sha256Digest>,
    /// SHA-256 of the extracted text.
    pub text_sha256: Option<Sha256Digest>,
    /// SHA-256 of the record's own manifest bytes.
    pub manifest_sha256: Sha256Digest,
    /// For a failed capture, the error.
    pub error: Option<String>,
    /// The final HTTP status of the capture, when a response arrived (never rendered, but a
    /// citer may state it as `HTTP Status`).
    pub http_status: Option<u16>,
    /// For a provision, the quoted passage exactly as in the text.
    pub excerpt: Option<String>,
    /// For a provision, SHA-256 of the passage.
    pub excerpt_sha256: Option<Sha256Digest>,
    /// The signer's fingerprint (`SHA256:…`).
    pub signer: String,
    /// The leaf index of the record's manifest (for a version: of its opening capture's) in
    /// the archive's log, when known.
    pub log_index: Option<u64>,
    /// The log's origin.
    pub log_origin: String,
}

impl RecordFacts {
    /// Facts of a capture record (`Record ID` is the capture id).
    pub fn of_capture(
        m: &CaptureManifest,
        manifest_sha256: Sha256Digest,
        log_index: Option<u64>,
    ) -> RecordFacts {
        let captured_at = manifest_time(&m.captured_at);
        RecordFacts {
            id: m.id.clone(),
            document_id: m.document.id.clone(),
            version_id: m.version.as_ref().map(|v| v.id.clone()),
            capture_id: m.id.clone(),
            provision_id: None,
            entity: m.document.entity.clone(),
            title: m.document.title.clone(),
            url: m.document.url.clone(),
            other_urls: other_urls(m),
            captured_at,
            accessed: captured_at.date_naive(),
            sha256: m.content.as_ref().map(|c| c.sha256),
            text_sha256: m.text.as_ref().map(|t| t.sha256),
            manifest_sha256,
            error: m.error.clone(),
            http_status: m.http.as_ref().and_then(|h| h.status),
            excerpt: None,
            excerpt_sha256: None,
            signer: m.signer.clone(),
            log_index,
            log_origin: m.origin.clone(),
        }
    }

    /// Facts of a version record, from the manifest of the capture that opened it.
    pub fn of_version(
        opening: &CaptureManifest,
        manifest_sha256: Sha256Digest,
        log_index: Option<u64>,
    ) -> RecordFacts {
        let mut facts = RecordFacts::of_capture(opening, manifest_sha256, log_index);
        if let Some(v) = &opening.version {
            facts.id = v.id.clone();
        }
        facts
    }

    /// Facts of a provision record; `opening` is the manifest of the capture that opened the
    /// quoted version (the caller has checked it is the one the provision pins).
    pub fn of_provision(
        p: &ProvisionManifest,
        manifest_sha256: Sha256Digest,
        log_index: Option<u64>,
        opening: &CaptureManifest,
    ) -> RecordFacts {
        let mut facts = RecordFacts::of_capture(opening, manifest_sha256, log_index);
        facts.id = p.id.clone();
        facts.provision_id = Some(p.id.clone());
        facts.document_id = p.document.id.clone();
        facts.entity = p.document.entity.clone();
        facts.title = p.document.title.clone();
        if p.document.url != facts.url {
            let old = std::mem::replace(&mut facts.url, p.document.url.clone());
            facts.other_urls.retain(|u| *u != facts.url);
            if !facts.other_urls.contains(&old) {
                facts.other_urls.push(old);
            }
        }
        facts.version_id = Some(p.version.clone());
        facts.text_sha256 = Some(p.text.sha256);
        if let Some(created) = crate::time::parse_rfc3339_seconds(&p.created_at).or_else(|| {
            DateTime::parse_from_rfc3339(&p.created_at)
                .ok()
                .map(|t| t.to_utc())
        }) {
            facts.accessed = created.date_naive();
        }
        facts.excerpt = Some(p.quote.text.clone());
        facts.excerpt_sha256 = Some(p.quote.sha256);
        facts.signer = p.signer.clone();
        facts.log_origin = p.origin.clone();
        facts
    }

    /// The kind of record cited.
    pub fn kind(&self) -> RecordKind {
        self.id.kind()
    }
}

/// The hashes a record carries, each under the name catalog look-ups, `show`/`cat` and
/// `--hash` answers give it: `manifest sha256` (of the record's own manifest bytes), `content
/// sha256` and `text sha256` (a capture's bytes and extracted text), `quote sha256` (a
/// provision's passage). The one definition of which hash of a record a field name means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CarriedHashes {
    /// SHA-256 of the record's own manifest bytes.
    pub manifest: Sha256Digest,
    /// A capture's content (its captured bytes).
    pub content: Option<Sha256Digest>,
    /// A capture's extracted text.
    pub text: Option<Sha256Digest>,
    /// A provision's quoted passage.
    pub quote: Option<Sha256Digest>,
}

impl CarriedHashes {
    /// The hashes of a capture manifest whose bytes hash to `manifest_sha256`.
    pub fn of_capture(m: &CaptureManifest, manifest_sha256: Sha256Digest) -> CarriedHashes {
        CarriedHashes {
            manifest: manifest_sha256,
            content: m.content.as_ref().map(|c| c.sha256),
            text: m.text.as_ref().map(|t| t.sha256),
            quote: None,
        }
    }

    /// The hashes of a provision manifest whose bytes hash to `manifest_sha256` (the text it
    /// quotes from is its version's, not a hash the provision carries).
    pub fn of_provision(p: &ProvisionManifest, manifest_sha256: Sha256Digest) -> CarriedHashes {
        CarriedHashes {
            manifest: manifest_sha256,
            content: None,
            text: None,
            quote: Some(p.quote.sha256),
        }
    }

    /// The hashes of a manifest of either type whose bytes hash to `manifest_sha256`.
    pub fn of_manifest(m: &AnyManifest, manifest_sha256: Sha256Digest) -> CarriedHashes {
        match m {
            AnyManifest::Capture(c) => CarriedHashes::of_capture(c, manifest_sha256),
            AnyManifest::Provision(p) => CarriedHashes::of_provision(p, manifest_sha256),
        }
    }

    /// Each hash carried, with its field name, in the order manifest, content, text, quote.
    pub fn named_hashes(&self) -> impl Iterator<Item = (&'static str, Sha256Digest)> + use<> {
        [
            ("manifest sha256", Some(self.manifest)),
            ("content sha256", self.content),
            ("text sha256", self.text),
            ("quote sha256", self.quote),
        ]
        .into_iter()
        .filter_map(|(field, hash)| hash.map(|h| (field, h)))
    }

    /// The hash field `field` names, if the record carries one under that name.
    pub fn named(&self, field: &str) -> Option<Sha256Digest> {
        self.named_hashes()
            .find_map(|(name, hash)| (name == field).then_some(hash))
    }
}

impl RecordFacts {
    /// The hashes the cited record itself carries: content and text only for a capture (the
    /// facts of a version or provision hold its opening capture's), the quote for a provision.
    pub fn carried_hashes(&self) -> CarriedHashes {
        let capture = self.kind() == RecordKind::Capture;
        CarriedHashes {
            manifest: self.manifest_sha256,
            content: self.sha256.filter(|_| capture),
            text: self.text_sha256.filter(|_| capture),
            quote: self.excerpt_sha256,
        }
    }
}

/// A manifest timestamp (always valid once the manifest is checked); the UNIX epoch otherwise.
fn manifest_time(s: &str) -> DateTime<Utc> {
    crate::time::parse_rfc3339_seconds(s)
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc()))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The HTTP request and final URLs, when they differ from the document URL.
fn other_urls(m: &CaptureManifest) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(h) = &m.http {
        for u in [&h.request_url, &h.final_url] {
            if *u != m.document.url && !out.contains(u) {
                out.push(u.clone());
            }
        }
    }
    out
}

/// How precisely a stated time was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// To the second.
    Second,
    /// To the minute.
    Minute,
    /// A date only.
    Day,
}

/// A time a citation states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatedTime {
    /// The instant (start of the minute or day for coarser precision), in UTC.
    pub at: DateTime<Utc>,
    /// How precise the statement is.
    pub precision: Precision,
    /// The text as given.
    pub text: String,
}

/// A URL a citation states; filings often cut long ones short with `…`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatedUrl {
    /// The URL, without the ellipsis.
    pub url: String,
    /// Whether it was cut short (then only a prefix is claimed).
    pub truncated: bool,
}

/// An HTTP status a citation states (`HTTP Status: 404 Not Found`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatedStatus {
    /// The three-digit code.
    pub code: u16,
    /// The reason phrase, when one is given.
    pub reason: Option<String>,
}

/// An excerpt a citation quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatedExcerpt {
    /// The quoted words, without surrounding quotation marks or ellipses, whitespace collapsed.
    pub text: String,
    /// Whether an ellipsis marked the start as cut.
    pub truncated_start: bool,
    /// Whether an ellipsis marked the end as cut.
    pub truncated_end: bool,
}

/// What a pasted citation states. Every field is optional: a citation states what it states.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Citation {
    /// `Record ID`.
    pub record_id: Option<RecordId>,
    /// `Document ID`.
    pub document_id: Option<RecordId>,
    /// `Version ID`.
    pub version_id: Option<RecordId>,
    /// `Capture ID`.
    pub capture_id: Option<RecordId>,
    /// `Provision ID`.
    pub provision_id: Option<RecordId>,
    /// `Entity`.
    pub entity: Option<String>,
    /// `Document` (the title).
    pub title: Option<String>,
    /// `URL`.
    pub url: Option<StatedUrl>,
    /// `Captured`.
    pub captured: Option<StatedTime>,
    /// `Accessed`.
    pub accessed: Option<NaiveDate>,
    /// `SHA-256` (full or a prefix).
    pub sha256: Option<HashPrefix>,
    /// `Text SHA-256`.
    pub text_sha256: Option<HashPrefix>,
    /// `Excerpt` (also `Excerpt from …:`, `Quote`).
    pub excerpt: Option<StatedExcerpt>,
    /// `Excerpt SHA-256`.
    pub excerpt_sha256: Option<HashPrefix>,
    /// `Manifest SHA-256`: the SHA-256 of the record's signed manifest (never rendered, but a
    /// citer may state it).
    pub manifest_sha256: Option<HashPrefix>,
    /// `Capture-Failed`: the error a failed capture recorded.
    pub capture_failed: Option<String>,
    /// `HTTP Status`: a status code and perhaps its reason phrase (never rendered, but a citer
    /// may state it).
    pub http_status: Option<StatedStatus>,
    /// `Signed-By`: a key fingerprint `SHA256:` + 43 unpadded base64 digits.
    pub signer: Option<String>,
    /// `Log Position`: the leaf index.
    pub log_index: Option<u64>,
    /// `Log Position`: the log origin, when stated.
    pub log_origin: Option<String>,
    /// Things worth telling the reader (e.g. a hash prefix shorter than 16 digits).
    pub warnings: Vec<String>,
    /// Labelled lines (`Label: value`, or another field-line shape) whose label names no
    /// citation field, in input order. A report lists each as not checked, and a citation with
    /// any of them is not verified: nothing a citation states is silently ignored.
    pub unchecked: Vec<OtherLine>,
}

/// A `Label: value` line of a citation whose label names no field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OtherLine {
    /// The label as written (at most 60 characters shown).
    pub label: String,
    /// The value (at most 120 characters shown).
    pub value: String,
    /// Whether the line states a fact about a record that a field would check — a date, a
    /// time of day, a hash, a record id, a URL or a key fingerprint — rather than prose. (Only
    /// a hint for the report: every such line keeps the citation from being verified.)
    pub states_fact: bool,
    /// The field label this line's label imitates with look-alike letters of another script
    /// (`Еntity` with a Cyrillic `Е`), or that its label mixes scripts in (`Some("")` when it
    /// resembles no field label).
    pub looks_like: Option<&'static str>,
    /// For another spelling of a field whose value contradicts the field's own line (`Captured
    /// on: 1999-…` beside `Captured: 2026-…`): that field's label.
    pub contradicts: Option<&'static str>,
}

/// Why a citation could not be parsed (exit 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("citation: {0}")]
pub struct CitationError(pub String);

/// How one stated field compares with the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FieldStatus {
    /// The record agrees. `note` says how, when it is not plain equality (e.g. "prefix of 16
    /// digits", "matches the text's SHA-256", "the final URL after redirects").
    Matches {
        /// How it matched.
        note: Option<String>,
    },
    /// The record says otherwise.
    Differs {
        /// What the citation states.
        stated: String,
        /// What the record holds.
        found: String,
    },
    /// The citation does not state it.
    NotStated,
    /// Stated, but not something the record can confirm or refute (e.g. `Accessed`).
    Noted {
        /// Why it is not checked.
        note: String,
    },
}

/// One line of a citation report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldCheck {
    /// The field's label as rendered ("SHA-256", "URL", "Captured").
    pub field: &'static str,
    /// The outcome.
    #[serde(flatten)]
    pub status: FieldStatus,
}

/// Shown values are cut to this many characters.
const SHOWN_CHARS: usize = 120;

/// Collapses whitespace runs to one space and trims: a value that fits on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::IdPrefix;

    fn facts(kind: RecordKind) -> RecordFacts {
        let p = IdPrefix::default();
        let at = DateTime::UNIX_EPOCH;
        RecordFacts {
            id: RecordId::new(&p, kind, 7),
            document_id: RecordId::new(&p, RecordKind::Document, 1),
            version_id: Some(RecordId::new(&p, RecordKind::Version, 2)),
            capture_id: RecordId::new(&p, RecordKind::Capture, 3),
            provision_id: (kind == RecordKind::Provision)
                .then(|| RecordId::new(&p, RecordKind::Provision, 7)),
            entity: None,
            title: None,
            url: "https://example.org/".into(),
            other_urls: Vec::new(),
            captured_at: at,
            accessed: at.date_naive(),
            sha256: Some(Sha256Digest::of(b"content")),
            text_sha256: Some(Sha256Digest::of(b"text")),
            manifest_sha256: Sha256Digest::of(b"manifest"),
            error: None,
            http_status: None,
            excerpt: None,
            excerpt_sha256: (kind == RecordKind::Provision).then(|| Sha256Digest::of(b"quote")),
            signer: String::new(),
            log_index: None,
            log_origin: String::new(),
        }
    }

    #[test]
    fn each_field_name_means_one_hash_of_the_record() {
        let capture = facts(RecordKind::Capture).carried_hashes();
        assert_eq!(
            capture.named_hashes().collect::<Vec<_>>(),
            [
                ("manifest sha256", Sha256Digest::of(b"manifest")),
                ("content sha256", Sha256Digest::of(b"content")),
                ("text sha256", Sha256Digest::of(b"text")),
            ]
        );
        assert_eq!(capture.named("quote sha256"), None);
        assert_eq!(capture.named("sha256"), None);
        assert_eq!(capture.named("id"), None);

        // A provision's facts hold its opening capture's content and text: not its own.
        let provision = facts(RecordKind::Provision).carried_hashes();
        assert_eq!(
            provision.named_hashes().collect::<Vec<_>>(),
            [
                ("manifest sha256", Sha256Digest::of(b"manifest")),
                ("quote sha256", Sha256Digest::of(b"quote")),
            ]
        );
        assert_eq!(provision.named("content sha256"), None);
        assert_eq!(provision.named("text sha256"), None);

        let version = facts(RecordKind::Version).carried_hashes();
        assert_eq!(version.named("text sha256"), None);
        assert_eq!(
            version.named("manifest sha256"),
            Some(Sha256Digest::of(b"manifest"))
        );
    }
}
