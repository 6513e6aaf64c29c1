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

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::digest::{HashPrefix, Sha256Digest};
use crate::id::{RecordId, RecordKind};
use crate::manifest::CaptureManifest;
use crate::provision::ProvisionManifest;

/// The largest citation text [`parse`] accepts.
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
/// [`compare`] checks a parsed citation against it.
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

/// Collapses whitespace runs to one space and trims: a value that fits on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Renders a record's citation.
///
/// One field per line, only fields with a value, in the order of the example in the module
/// documentation (then `Capture ID` when the record is not the capture, `Text SHA-256` for
/// versions and provisions, `Excerpt` and `Excerpt SHA-256` for provisions, `Capture-Failed`
/// for failed captures, `Signed-By` and `Log Position`). Free-text values have their whitespace
/// collapsed, so no value can add a line.
pub fn render(facts: &RecordFacts, hash: HashForm) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("Citation Record\n");
    let mut line = |label: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "{label}: {value}");
        }
    };
    let digest = |d: &Sha256Digest| match hash {
        HashForm::Full => d.to_hex(),
        HashForm::Short => format!("{}…", d.short(16)),
    };
    line("Entity", &one_line(facts.entity.as_deref().unwrap_or("")));
    line("Document", &one_line(facts.title.as_deref().unwrap_or("")));
    line("Record ID", &facts.id.to_string());
    line("Captured", &crate::time::format_human(facts.captured_at));
    if let Some(d) = &facts.sha256 {
        line("SHA-256", &digest(d));
    }
    line("URL", &one_line(&facts.url));
    line("Accessed", &facts.accessed.format("%B %-d, %Y").to_string());
    line("Document ID", &facts.document_id.to_string());
    if let Some(v) = &facts.version_id {
        line("Version ID", &v.to_string());
    }
    if facts.capture_id != facts.id {
        line("Capture ID", &facts.capture_id.to_string());
    }
    if matches!(facts.kind(), RecordKind::Version | RecordKind::Provision)
        && let Some(d) = &facts.text_sha256
    {
        line("Text SHA-256", &digest(d));
    }
    if let Some(e) = &facts.excerpt {
        let e = one_line(e);
        if !e.is_empty() {
            line("Excerpt", &format!("\u{201C}{e}\u{201D}"));
        }
    }
    if let Some(d) = &facts.excerpt_sha256 {
        line("Excerpt SHA-256", &d.to_hex());
    }
    line(
        "Capture-Failed",
        &one_line(facts.error.as_deref().unwrap_or("")),
    );
    line("Signed-By", &one_line(&facts.signer));
    if let Some(i) = facts.log_index {
        let origin = one_line(&facts.log_origin);
        if origin.is_empty() {
            line("Log Position", &format!("leaf {i}"));
        } else {
            line("Log Position", &format!("leaf {i} in {origin}"));
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

/// Parses every citation record in `input`. Each `Citation Record` header line starts a new
/// record; text without one is a single record. Fails when a stated field is malformed, when
/// one field is stated twice with different values, or when no record states any field.
///
/// Parsing is lenient the way text pasted out of a PDF is messy: a byte-order mark, CRLF or CR
/// line ends, indentation, non-breaking and zero-width spaces, prose around and between the
/// fields, labels in any case (with spaces, `-` and `_` alike), a value on the line after its
/// label, truncated hashes and URLs, and many date spellings are accepted.
///
/// Nothing a citation states is dropped. A line is a field line in every shape a citer pastes:
/// `Label: value`, after a list marker (`1.`, `1)`, `-`, `*`, `•`), as a table row (`| Label |
/// value |`), or with a tab or a spaced dash (` - `, ` – `, ` — `) as the separator; labels are
/// compared after folding full-width forms, case, dashes and spacing. A field under another
/// spelling (`Captured on`, `Archived at`, `SHA256`, `Hash`, `Record`, `Error`, `Failure`,
/// `Owner`, `Position`, `Hash (SHA-256)`…) is that field, its value parsed as the field's;
/// when it contradicts the field's own line it is kept in [`Citation::unchecked`], like every
/// other labelled line whose label names no field: any `Label: value` line (at most five words
/// before the colon), any table row but a header or rule, and any line whose label imitates a
/// field label with Cyrillic or Greek look-alike letters or mixes scripts. Lines without a
/// label (prose) and `Citation Record` headers are ignored.
///
/// Values are parsed strictly: a leaf index or status code is the whole token (`2,000`, `-2`,
/// `2.7` are errors), and a weekday stated with a date must be that date's.
pub fn parse(input: &str) -> Result<Vec<Citation>, CitationError> {
    if input.len() > MAX_CITATION_BYTES {
        return Err(CitationError(format!(
            "the text is {} bytes, more than the {MAX_CITATION_BYTES}-byte limit",
            input.len()
        )));
    }
    let lines: Vec<String> = split_lines(input).map(clean_line).collect();
    // Whether a line can be the value of the labelled line before it: not a header, and no
    // label of its own.
    let is_value = |l: &str| !l.is_empty() && !is_header(l) && matches!(classify(l), Line::Prose);
    let mut records = Vec::new();
    let mut cur = Builder::default();
    let mut i = 0usize;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        if is_header(line) {
            // Lines before the first field (prose, an unknown label) stay with the record the
            // header opens.
            if cur.any
                && let Some(c) = std::mem::take(&mut cur).finish()
            {
                records.push(c);
            }
            continue;
        }
        let lab = match classify(line) {
            Line::Prose => continue,
            Line::Other {
                label,
                value,
                looks_like,
            } => {
                let mut value = value.to_owned();
                if value.is_empty() {
                    let mut j = i;
                    while lines.get(j).is_some_and(|l| l.is_empty()) {
                        j += 1;
                    }
                    if let Some(next) = lines.get(j)
                        && is_value(next)
                    {
                        value = next.clone();
                        i = j + 1;
                    }
                }
                // A label with no value, followed by fields or nothing (`As recorded in
                // Exhibit 7:` introducing the record), states nothing, as for a field's own
                // label; a look-alike of a field's label is still listed.
                if value.trim().is_empty() && looks_like.is_none() {
                    continue;
                }
                let states_fact = states_fact(label) || states_fact(&value);
                cur.c.unchecked.push(OtherLine {
                    label: crate::manifest::shorten(label, 60),
                    value: crate::manifest::shorten(&value, SHOWN_CHARS),
                    states_fact,
                    looks_like,
                    contradicts: None,
                });
                continue;
            }
            Line::Field(lab) => lab,
        };
        let mut value = lab.value.to_owned();
        if value.is_empty() {
            let mut j = i;
            while lines.get(j).is_some_and(|l| l.is_empty()) {
                j += 1;
            }
            match lines.get(j) {
                Some(next) if is_value(next) => {
                    value = next.clone();
                    i = j + 1;
                }
                // A label with no value states nothing.
                _ => continue,
            }
        }
        match lab.field {
            Field::Excerpt => i = continue_quote(&mut value, &lines, i),
            Field::Sha256 | Field::TextSha256 | Field::ExcerptSha256 | Field::ManifestSha256 => {
                i = continue_hash(&mut value, &lines, i);
            }
            _ => {}
        }
        match cur.apply(lab.field, lab.label, &value) {
            Ok(()) => {}
            // Another spelling of a field that contradicts the field's own line (`Captured:
            // 2026-…` and `Captured on: 1999-…`): a fact no check confirms, kept as not
            // checked. (A value that is not one of the field's is malformed, as under its own
            // label.)
            Err(_)
                if !lab.canonical
                    && Builder::default()
                        .apply(lab.field, lab.label, &value)
                        .is_ok() =>
            {
                cur.c.unchecked.push(OtherLine {
                    label: crate::manifest::shorten(lab.label, 60),
                    value: crate::manifest::shorten(&value, SHOWN_CHARS),
                    states_fact: true,
                    looks_like: None,
                    contradicts: Some(lab.field.label()),
                });
            }
            Err(e) => return Err(e),
        }
    }
    if cur.any {
        records.extend(cur.finish());
    } else if let Some(last) = records.last_mut() {
        // Labelled lines after the last record's fields, behind a header of their own.
        last.unchecked.append(&mut cur.c.unchecked);
    }
    if records.is_empty() {
        return Err(CitationError("no citation fields found".into()));
    }
    Ok(records)
}

/// The fields a label can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Entity,
    Title,
    RecordId,
    DocumentId,
    VersionId,
    CaptureId,
    ProvisionId,
    Captured,
    Sha256,
    TextSha256,
    ExcerptSha256,
    Url,
    Accessed,
    Signer,
    LogPosition,
    Excerpt,
    ManifestSha256,
    CaptureFailed,
    HttpStatus,
}

impl Field {
    /// The field's label as [`render`] and [`compare`] name it.
    fn label(self) -> &'static str {
        match self {
            Field::Entity => "Entity",
            Field::Title => "Document",
            Field::RecordId => "Record ID",
            Field::DocumentId => "Document ID",
            Field::VersionId => "Version ID",
            Field::CaptureId => "Capture ID",
            Field::ProvisionId => "Provision ID",
            Field::Captured => "Captured",
            Field::Sha256 => "SHA-256",
            Field::TextSha256 => "Text SHA-256",
            Field::ExcerptSha256 => "Excerpt SHA-256",
            Field::Url => "URL",
            Field::Accessed => "Accessed",
            Field::Signer => "Signed-By",
            Field::LogPosition => "Log Position",
            Field::Excerpt => "Excerpt",
            Field::ManifestSha256 => "Manifest SHA-256",
            Field::CaptureFailed => "Capture-Failed",
            Field::HttpStatus => "HTTP Status",
        }
    }
}

/// The field a normalised label (lower case, single spaces, `-`/`_` as spaces) names.
fn field_for(label: &str) -> Option<Field> {
    use Field::*;
    Some(match label {
        "entity" | "company" | "publisher" | "organization" | "organisation" | "platform"
        | "provider" | "service provider" | "owner" | "site owner" | "document owner"
        | "website owner" | "operator" | "site operator" | "company name" | "entity name"
        | "organization name" | "organisation name" | "vendor" => Entity,
        "document" | "document title" | "title" | "policy" | "document name" | "page title"
        | "policy title" | "policy name" => Title,
        "record id" | "record" | "id" | "citation id" | "exhibit id" | "record number"
        | "record no" | "record no." | "record #" | "record identifier" | "exhibit record"
        | "exhibit record id" | "archive id" | "archive record" | "archive record id"
        | "citation record id" => RecordId,
        "document id" | "doc id" | "document identifier" | "document record id" => DocumentId,
        "version id" | "version identifier" | "version record id" => VersionId,
        "capture id" | "capture identifier" | "capture record id" => CaptureId,
        "provision id" | "provision identifier" | "provision record id" => ProvisionId,
        "captured"
        | "captured at"
        | "captured on"
        | "capture time"
        | "capture date"
        | "capture timestamp"
        | "capture date and time"
        | "captured date"
        | "date captured"
        | "time captured"
        | "date and time captured"
        | "retrieved"
        | "retrieved at"
        | "retrieved on"
        | "date retrieved"
        | "archived at"
        | "archived on"
        | "archive date"
        | "date archived"
        | "time archived"
        | "collected at"
        | "collected on"
        | "crawled at"
        | "crawled on"
        | "snapshot date"
        | "snapshot time"
        | "saved at"
        | "saved on" => Captured,
        "sha 256" | "sha256" | "sha" | "sha 2" | "hash" | "sha 256 hash" | "sha256 hash"
        | "sha 256 digest" | "sha256 digest" | "sha 256 checksum" | "sha256 checksum"
        | "sha256sum" | "sha 256 sum" | "sha256 sum" | "hash value" | "hash sha 256"
        | "hash sha256" | "content sha 256" | "content sha256" | "content hash"
        | "content digest" | "file hash" | "file sha 256" | "file sha256" | "document hash"
        | "document sha 256" | "document sha256" | "digest" | "checksum" => Sha256,
        "text sha 256"
        | "text sha256"
        | "text hash"
        | "text digest"
        | "text sha 256 hash"
        | "text sha256 hash"
        | "extracted text sha 256"
        | "extracted text sha256"
        | "extracted text hash" => TextSha256,
        "excerpt sha 256" | "excerpt sha256" | "excerpt hash" | "quote sha 256"
        | "quote sha256" | "quote hash" | "provision sha 256" | "provision sha256"
        | "clause hash" | "clause sha 256" | "clause sha256" => ExcerptSha256,
        "manifest sha 256" | "manifest sha256" | "manifest hash" | "manifest digest"
        | "record hash" | "record sha 256" | "record sha256" => ManifestSha256,
        "url" | "source" | "source url" | "link" | "address" | "original url" | "document url"
        | "page url" | "web address" | "uri" | "captured url" | "archived url" | "request url"
        | "requested url" | "final url" => Url,
        "accessed" | "accessed on" | "accessed at" | "date accessed" | "access date"
        | "date of access" | "last accessed" | "viewed" | "viewed on" | "last viewed"
        | "visited" | "visited on" | "last visited" => Accessed,
        "signed by"
        | "signer"
        | "signing key"
        | "key fingerprint"
        | "fingerprint"
        | "signed with"
        | "signer fingerprint"
        | "signing key fingerprint"
        | "public key fingerprint" => Signer,
        "log position"
        | "log index"
        | "log"
        | "log leaf"
        | "log entry"
        | "log leaf index"
        | "leaf index"
        | "transparency log"
        | "position"
        | "leaf"
        | "log entry index"
        | "transparency log position"
        | "log pos" => LogPosition,
        "excerpt" | "quote" | "quoted text" | "clause" | "provision text" => Excerpt,
        "capture failed" | "capture error" | "capture failure" | "error" | "fetch error"
        | "fetch failed" | "failure" | "failed" | "failure reason" | "error message"
        | "fetch failure" => CaptureFailed,
        "http status"
        | "status"
        | "status code"
        | "http status code"
        | "http code"
        | "response status"
        | "response code"
        | "http response"
        | "http response code"
        | "http response status" => HttpStatus,
        l if l.starts_with("excerpt from ") => Excerpt,
        // `Captured (UTC)`, `Hash (SHA-256)`: the label before a parenthesised remark.
        l if l.ends_with(')') => {
            let (head, _) = l.rsplit_once('(')?;
            let head = head.trim_end();
            if head.is_empty() || head.ends_with(')') {
                return None;
            }
            return field_for(head);
        }
        _ => return None,
    })
}

/// The longest label an unknown labelled line has (in characters and in words): longer runs
/// before a colon are prose.
const OTHER_LABEL_CHARS: usize = 40;
const OTHER_LABEL_WORDS: usize = 5;

/// One line of a citation, classified.
enum Line<'a> {
    /// No label: empty, prose, a table's header or rule row.
    Prose,
    /// A line naming a field.
    Field(Labelled<'a>),
    /// A labelled line whose label names no field.
    Other {
        label: &'a str,
        value: &'a str,
        looks_like: Option<&'static str>,
    },
}

/// Strips what may stand before a label: list markers (`1.`, `1)`, `(1)`, `a)`, `-`, `*`,
/// `+`, `•` and other bullets), quote and heading marks (`>`, `#`).
fn strip_markers(line: &str) -> &str {
    let mut s = line.trim_start();
    loop {
        let before = s.len();
        s = s
            .trim_start_matches([
                '>', '#', '\u{2022}', '\u{B7}', '\u{2023}', '\u{25E6}', '\u{25AA}', '\u{25A0}',
                '\u{25CF}', '\u{25CB}', '\u{25BA}', '\u{25B8}', '\u{2043}', '\u{2219}',
            ])
            .trim_start();
        // A dash, `*` or `+` followed by a space is a list marker (`**Entity:**` is bold).
        let mut chars = s.chars();
        if let (Some(c), Some(' ')) = (chars.next(), chars.next())
            && (is_dash(c) || c == '*' || c == '+')
        {
            s = s[c.len_utf8()..].trim_start();
        }
        // `1.`, `12)`, `(3)`, `a)`, `(b)` followed by a space.
        let b = s.as_bytes();
        let open = usize::from(b.first() == Some(&b'('));
        let digits = b[open..].iter().take_while(|c| c.is_ascii_digit()).count();
        let letter = digits == 0 && b.get(open).is_some_and(u8::is_ascii_alphabetic);
        let n = if letter { 1 } else { digits };
        if (1..=3).contains(&n)
            && let Some(&close) = b.get(open + n)
            && (close == b')' || (close == b'.' && open == 0 && !letter))
            && b.get(open + n + 1) == Some(&b' ')
        {
            s = s[open + n + 1..].trim_start();
        }
        if s.len() == before {
            return s;
        }
    }
}

/// A label as written, without emphasis and quotation marks around it.
fn trim_label(s: &str) -> &str {
    s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '*' | '_' | '`' | '"' | '\u{201C}' | '\u{201D}')
    })
}

/// A label in the form [`field_for`] takes: Unicode compatibility forms of ASCII (full-width
/// letters) folded, dashes and `_` as spaces, single spaces, lower case.
fn normalise_label(label: &str) -> String {
    let mut norm = String::with_capacity(label.len());
    for c in label.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c if is_dash(c) || c == '_' || c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && (norm.is_empty() || norm.ends_with(' ')) {
            continue;
        }
        norm.extend(c.to_lowercase());
    }
    norm.trim_end().to_owned()
}

/// The Latin letter a Cyrillic or Greek letter is drawn like, for the letters that are.
fn latin_look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'А' | 'Α' => 'A',
        'В' | 'Β' | 'в' => 'B',
        'с' | 'ϲ' => 'c',
        'С' | 'Ϲ' => 'C',
        'ԁ' => 'd',
        'е' | 'ё' | 'ε' => 'e',
        'Е' | 'Ё' | 'Ε' => 'E',
        'һ' => 'h',
        'Н' | 'Η' | 'н' => 'H',
        'і' | 'ї' | 'ι' | 'ӏ' => 'i',
        'І' | 'Ї' | 'Ι' | 'Ӏ' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'к' | 'κ' => 'k',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' | 'м' => 'M',
        'Ν' | 'η' => 'N',
        'о' | 'ο' | 'σ' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'ԛ' => 'q',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'т' | 'τ' => 't',
        'Т' | 'Τ' => 'T',
        'υ' | 'ս' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ѡ' => 'w',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'у' | 'γ' => 'y',
        'У' | 'Υ' | 'Ү' => 'Y',
        'Ζ' => 'Z',
        _ => return None,
    })
}

/// For a label that is not a field's: the field label it imitates with look-alike letters of
/// another script, or `""` when it mixes ASCII letters with other characters (and so may
/// imitate a label in a way no table lists). `None` for an ASCII label or one in one script.
fn looks_like(label: &str) -> Option<&'static str> {
    if label.is_ascii() {
        return None;
    }
    let skeleton: String = label
        .chars()
        .map(|c| latin_look_alike(c).unwrap_or(c))
        .collect();
    if let Some(f) = field_for(&normalise_label(&skeleton)) {
        return Some(f.label());
    }
    let ascii_letter = label.chars().any(|c| c.is_ascii_alphabetic());
    let other = label.chars().any(|c| {
        !c.is_ascii() && !c.is_whitespace() && !is_dash(c) && !matches!(c, '\u{2019}' | '\u{FF1A}')
    });
    (ascii_letter && other).then_some("")
}

/// Whether an unknown label reads as one: after any leading marks (`<b>`, `[`, `«`), it has a
/// letter, is at most five words and forty characters, and has no sentence punctuation. (A
/// label of digits alone, as in `12:30`, is a time, not a label.)
fn reads_as_label(label: &str) -> bool {
    let l = label.trim_start_matches(|c: char| !c.is_alphanumeric());
    l.chars().any(char::is_alphabetic)
        && l.chars().count() <= OTHER_LABEL_CHARS
        && l.split_whitespace().count() <= OTHER_LABEL_WORDS
        && !l.contains([',', ';', '!', '?', '"', '\u{201C}', '\u{201D}'])
}

/// Table cell separators: `|` and the box-drawing and broken bars PDFs render tables with.
const PIPES: [char; 4] = ['|', '\u{2502}', '\u{2503}', '\u{A6}'];

/// Whether `c` can make up a spaced separator run: dashes, `=`, `>`, arrows, dot leaders.
fn is_run_char(c: char) -> bool {
    is_dash(c)
        || matches!(
            c,
            '=' | '>' | '.' | '\u{2026}' | '\u{2192}' | '\u{21D2}' | '~'
        )
}

/// The separators that can end a label, in the line: a colon (`:`, `：`), a tab, a table bar,
/// or a run of dashes, `=`, arrows or dot leaders with a space before it and a space (or the
/// end of the line) after it (`Entity – X`, `Entity -- X`, `Entity => X`, `Entity .... X`).
/// Each as (byte offset, length, is a colon).
fn separators(body: &str) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    // The first colon that is not inside a time of day or a ratio (`12:30`).
    let digit = |p: usize| body.as_bytes().get(p).is_some_and(u8::is_ascii_digit);
    if let Some((p, c)) = body.char_indices().find(|&(p, c)| {
        (c == ':' || c == '\u{FF1A}') && !(p > 0 && digit(p - 1) && digit(p + c.len_utf8()))
    }) {
        out.push((p, c.len_utf8(), true));
    }
    if let Some(p) = body.find('\t') {
        out.push((p, 1, false));
    }
    if let Some(p) = body.find(PIPES) {
        out.push((p, body[p..].chars().next().map_or(1, char::len_utf8), false));
    }
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut k = 1;
    while k < chars.len() {
        if chars[k - 1].1 == ' ' && is_run_char(chars[k].1) {
            let mut e = k;
            while e < chars.len() && is_run_char(chars[e].1) {
                e += 1;
            }
            let run: String = chars[k..e].iter().map(|&(_, c)| c).collect();
            // One `.` or `>` alone is punctuation, not a separator.
            let lone = run == "." || run == ">";
            if !lone && (e == chars.len() || chars[e].1 == ' ') {
                let end = chars.get(e).map_or(body.len(), |&(i, _)| i + 1);
                out.push((chars[k - 1].0, end.min(body.len()) - chars[k - 1].0, false));
                break;
            }
            k = e;
        }
        k += 1;
    }
    out.sort_unstable();
    out
}

/// Classifies a clean line: a field line, another labelled line, or prose.
///
/// A field line is a known label (in any case and spacing, after list markers, bullets, quote
/// marks and emphasis) followed by a separator — `:`, a tab, or a spaced dash — or a table row
/// `| Label | value |`. Another labelled line is a line whose label, before a colon, reads as
/// one ([`reads_as_label`]), any table row but a header or rule, or any line whose label
/// before a tab or dash imitates a field label ([`looks_like`]).
fn classify(line: &str) -> Line<'_> {
    let body = strip_markers(line);
    if let Some(row) = body.strip_prefix(PIPES) {
        let row = row.trim_end();
        let row = row.strip_suffix(PIPES).unwrap_or(row);
        let Some((label, value)) = row.split_once(PIPES) else {
            return classify_unpiped(row.trim());
        };
        let (label, value) = (trim_label(label), value.trim());
        let rule = |s: &str| s.chars().all(|c| matches!(c, '-' | ':' | '|' | ' ' | '='));
        if label.is_empty() || (rule(label) && rule(value)) {
            return Line::Prose;
        }
        let norm = normalise_label(label);
        if let Some(field) = field_for(&norm) {
            return Line::Field(Labelled {
                label,
                value,
                field,
                canonical: CANONICAL_LABELS.contains(&norm.as_str()),
            });
        }
        let header = matches!(
            norm.as_str(),
            "field" | "label" | "item" | "name" | "property" | "key" | "fields"
        ) && matches!(
            normalise_label(trim_label(value)).as_str(),
            "value" | "values" | "detail" | "details" | "content" | "data" | "entry"
        );
        if header {
            return Line::Prose;
        }
        return Line::Other {
            label,
            value,
            looks_like: looks_like(label),
        };
    }
    classify_unpiped(body)
}

fn classify_unpiped(body: &str) -> Line<'_> {
    // A field's own label alone on a line (a two-column table pasted as text): its value is on
    // the next line.
    let norm = normalise_label(trim_label(body));
    if CANONICAL_LABELS.contains(&norm.as_str())
        && let Some(field) = field_for(&norm)
    {
        return Line::Field(Labelled {
            label: trim_label(body),
            value: "",
            field,
            canonical: true,
        });
    }
    let seps = separators(body);
    for &(pos, len, _) in &seps {
        let label = trim_label(&body[..pos]);
        if label.len() > 240 {
            break;
        }
        let norm = normalise_label(label);
        if let Some(field) = field_for(&norm) {
            let mut value = body[pos + len..].trim();
            if body.starts_with(['*', '_']) {
                value = value.trim_start_matches(['*', '_']).trim_start();
            }
            return Line::Field(Labelled {
                label: if label.is_empty() { body } else { label },
                value,
                field,
                canonical: CANONICAL_LABELS.contains(&norm.as_str()),
            });
        }
    }
    for &(pos, len, colon) in &seps {
        let label = trim_label(&body[..pos]);
        let mut value = body[pos + len..].trim();
        if colon && (value.starts_with('/') || value.starts_with('\\')) {
            // `https://…`: a bare URL, not a label.
            continue;
        }
        if body.starts_with(['*', '_']) {
            value = value.trim_start_matches(['*', '_']).trim_start();
        }
        let like = looks_like(label);
        let words = label.split_whitespace().count();
        if (like.is_some() && words <= OTHER_LABEL_WORDS) || (colon && reads_as_label(label)) {
            return Line::Other {
                label,
                value,
                looks_like: like,
            };
        }
    }
    Line::Prose
}

/// Whether text states a fact a citation field would check: a URL, a key fingerprint, a record
/// id, a hash (8 or more hex digits with a letter among them, or 16 or more digits), a date (ISO,
/// digits such as `05/13/2026`, or a month name with a year) or a time of day.
fn states_fact(s: &str) -> bool {
    if s.contains("://") || s.to_ascii_lowercase().contains("sha256:") {
        return true;
    }
    let toks: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| {
            t.trim_matches(|c: char| {
                matches!(
                    c,
                    '(' | ')' | '[' | ']' | ';' | '"' | '\'' | '\u{201C}' | '\u{201D}' | '\u{2026}'
                ) || (c == '.')
            })
        })
        .filter(|t| !t.is_empty())
        .collect();
    let hex_run = |t: &str| {
        let mut best = (0usize, false);
        let (mut len, mut letter) = (0usize, false);
        for c in t.chars() {
            if c.is_ascii_hexdigit() {
                len += 1;
                letter |= c.is_ascii_alphabetic();
                if len >= 16 || (len >= 8 && letter) {
                    best = (len, true);
                }
            } else {
                len = 0;
                letter = false;
            }
        }
        best.1
    };
    let clock = |t: &str| {
        let t = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let mut parts = t.split(':');
        let h = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        !rest.is_empty()
            && rest.len() <= 2
            && (1..=2).contains(&h.len())
            && h.bytes().all(|b| b.is_ascii_digit())
            && rest
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let has_year = toks
        .iter()
        .any(|t| year(t).is_some_and(|y| (1900..2200).contains(&y)));
    // `05/13/2026`, `13.05.26`: day, month and year in digits.
    let numeric_date = |t: &str| {
        let parts: Vec<&str> = t.split(['/', '.']).collect();
        parts.len() == 3
            && parts[0].len() <= 2
            && parts[1].len() <= 2
            && matches!(parts[2].len(), 2 | 4)
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    toks.iter().any(|t| {
        hex_run(t)
            || clock(t)
            || numeric_date(t)
            || parse_id(t).is_ok()
            || iso_date(t.split(['T', 't']).next().unwrap_or(t)).is_some()
            || (has_year && t.len() >= 3 && month(t).is_some())
    })
}

/// Unicode dashes that stand for `-` in ids and labels.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

/// The lines of `input`; `\r\n`, `\r`, `\n`, U+2028/U+2029, NEL, VT and FF all end a line.
fn split_lines(input: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(input);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find([
            '\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{0B}', '\u{0C}',
        ]) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let line = &s[..i];
                let mut next = &s[i..];
                if next.starts_with("\r\n") {
                    next = &next[2..];
                } else {
                    let n = next.chars().next().map_or(1, char::len_utf8);
                    next = &next[n..];
                }
                rest = Some(next);
                Some(line)
            }
        }
    })
}

/// A line without invisible characters, every whitespace run one space, trimmed — except that
/// a tab between two parts of a line is kept (one tab), since it may separate a label from its
/// value.
fn clean_line(line: &str) -> String {
    if let Some((head, tail)) = line.trim().split_once('\t') {
        let (head, tail) = (
            crate::quote::collapse_whitespace(head),
            crate::quote::collapse_whitespace(tail),
        );
        if !head.is_empty() && !tail.is_empty() {
            return format!("{head}\t{tail}");
        }
    }
    crate::quote::collapse_whitespace(line)
}

/// Whether a (clean) line is the `Citation Record` header.
fn is_header(line: &str) -> bool {
    let s = line
        .trim_start_matches(['#', '*', '>', ' '])
        .trim_end_matches(['*', ' ', ':', '\u{FF1A}']);
    s.eq_ignore_ascii_case("citation record")
}

/// A recognised field line.
struct Labelled<'a> {
    /// The label as written (trimmed).
    label: &'a str,
    /// The value (trimmed; may be empty).
    value: &'a str,
    field: Field,
    /// Whether the label is the field's own (as [`render`] prints it, in any case and
    /// spacing) rather than another spelling of it.
    canonical: bool,
}

/// The labels [`render`] prints (normalised), and the other fields' own names.
const CANONICAL_LABELS: &[&str] = &[
    "entity",
    "document",
    "record id",
    "captured",
    "sha 256",
    "url",
    "accessed",
    "document id",
    "version id",
    "capture id",
    "provision id",
    "text sha 256",
    "excerpt",
    "excerpt sha 256",
    "manifest sha 256",
    "capture failed",
    "http status",
    "signed by",
    "log position",
];

/// The most lines one quoted excerpt may span.
const MAX_EXCERPT_LINES: usize = 200;

/// For an excerpt that opens a quotation mark without closing it, appends the following lines
/// up to the one that closes it (at most [`MAX_EXCERPT_LINES`]). Returns the index of the first
/// line not used.
fn continue_quote(value: &mut String, lines: &[String], next: usize) -> usize {
    let mut chars = value.chars();
    let Some(open) = chars.next() else {
        return next;
    };
    let closes = |c: char| match open {
        '\u{201C}' | '\u{201E}' => matches!(c, '\u{201D}' | '"' | '\u{201C}'),
        '"' => matches!(c, '"' | '\u{201D}' | '\u{201C}'),
        '\u{2018}' => matches!(c, '\u{2019}' | '\''),
        '\'' => matches!(c, '\'' | '\u{2019}'),
        '\u{AB}' => c == '\u{BB}',
        _ => false,
    };
    if !matches!(
        open,
        '\u{201C}' | '\u{201E}' | '"' | '\u{2018}' | '\'' | '\u{AB}'
    ) {
        return next;
    }
    if chars.next_back().is_some_and(closes) {
        return next;
    }
    let mut bytes = value.len();
    for (j, line) in lines.iter().enumerate().skip(next).take(MAX_EXCERPT_LINES) {
        bytes += line.len() + 1;
        if bytes > MAX_CITATION_BYTES {
            break;
        }
        if line.chars().next_back().is_some_and(closes) {
            for l in &lines[next..=j] {
                if !l.is_empty() {
                    value.push(' ');
                    value.push_str(l);
                }
            }
            return j + 1;
        }
    }
    next
}

/// For a hash that a PDF wrapped onto the next line: while fewer than 64 digits are known and
/// no ellipsis ends them, appends the next line if it is nothing but hex digits (and perhaps an
/// ellipsis). Returns the index of the first line not used.
fn continue_hash(value: &mut String, lines: &[String], mut next: usize) -> usize {
    let digits = |s: &str| {
        let (_, body) = strip_hash_prefix(s);
        let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let open = !(body.ends_with('.') || body.ends_with('\u{2026}'));
        let ok = !body.is_empty() && body.chars().all(|c| c.is_ascii_hexdigit());
        (body.len(), ok && open)
    };
    loop {
        let (have, open) = digits(value);
        if !open || have >= 64 {
            return next;
        }
        let Some(line) = lines.get(next) else {
            return next;
        };
        let body = trim_ellipsis(line);
        let hex_only = body.len() >= 2 && body.chars().all(|c| c.is_ascii_hexdigit() || c == ' ');
        let more = body.chars().filter(|c| c.is_ascii_hexdigit()).count();
        if !hex_only || have + more > 64 {
            return next;
        }
        value.push_str(line);
        next += 1;
    }
}

/// Strips one trailing `…`, `...`, `..` or `.` (and the spaces before it).
fn trim_ellipsis(s: &str) -> &str {
    let s = s.trim_end();
    for e in ["\u{2026}", "...", "..", "."] {
        if let Some(rest) = s.strip_suffix(e) {
            return rest.trim_end();
        }
    }
    s
}

/// Strips an optional `sha256:` / `sha-256:` in front of a hash; says whether there was one.
fn strip_hash_prefix(s: &str) -> (bool, &str) {
    let t = s.trim_start();
    for p in ["sha256:", "sha-256:", "sha256\u{FF1A}", "sha-256\u{FF1A}"] {
        if let Some(head) = t.get(..p.len())
            && head.eq_ignore_ascii_case(p)
        {
            return (true, t[p.len()..].trim_start());
        }
    }
    (false, t)
}

/// The fields one record has stated so far.
#[derive(Default)]
struct Builder {
    c: Citation,
    any: bool,
}

/// The value shown in an error message: at most 60 characters.
fn shown(value: &str) -> String {
    crate::manifest::shorten(value, 60)
}

/// Stores a parsed value, refusing a different second value for the same field.
fn set<T: PartialEq>(
    slot: &mut Option<T>,
    v: T,
    label: &str,
    value: &str,
    same: impl Fn(&T, &T) -> bool,
) -> Result<(), CitationError> {
    match slot {
        Some(old) if !same(old, &v) => Err(CitationError(format!(
            "{} {:?}: the field is stated twice with different values",
            crate::manifest::shorten(label, 40),
            shown(value)
        ))),
        Some(_) => Ok(()),
        None => {
            *slot = Some(v);
            Ok(())
        }
    }
}

impl Builder {
    fn finish(self) -> Option<Citation> {
        let mut c = self.c;
        let mut seen = std::collections::HashSet::new();
        c.warnings.retain(|w| seen.insert(w.clone()));
        self.any.then_some(c)
    }

    fn apply(&mut self, field: Field, label: &str, value: &str) -> Result<(), CitationError> {
        let err = |problem: String| {
            CitationError(format!(
                "{} {:?}: {problem}",
                crate::manifest::shorten(label, 40),
                shown(value)
            ))
        };
        let c = &mut self.c;
        fn eq<T: PartialEq>(a: &T, b: &T) -> bool {
            a == b
        }
        match field {
            Field::Entity => set(&mut c.entity, value.to_owned(), label, value, eq)?,
            Field::Title => set(&mut c.title, value.to_owned(), label, value, eq)?,
            Field::RecordId
            | Field::DocumentId
            | Field::VersionId
            | Field::CaptureId
            | Field::ProvisionId => {
                let id = parse_id(value).map_err(err)?;
                let slot = match field {
                    Field::RecordId => &mut c.record_id,
                    Field::DocumentId => &mut c.document_id,
                    Field::VersionId => &mut c.version_id,
                    Field::CaptureId => &mut c.capture_id,
                    _ => &mut c.provision_id,
                };
                set(slot, id, label, value, eq)?;
            }
            Field::Captured => {
                if let Some(problem) = weekday_conflict(value) {
                    return Err(err(problem));
                }
                let t = parse_when(value).ok_or_else(|| {
                    err("not a date and time (expected e.g. 2026-04-30 06:15:21 UTC)".into())
                })?;
                if t.precision != Precision::Day && !t.zoned {
                    c.warnings.push(format!(
                        "{} {:?} gives no time zone; UTC is assumed",
                        crate::manifest::shorten(label, 40),
                        shown(value)
                    ));
                }
                let stated = StatedTime {
                    at: t.at,
                    precision: t.precision,
                    text: value.to_owned(),
                };
                set(&mut c.captured, stated, label, value, |a, b| {
                    a.at == b.at && a.precision == b.precision
                })?;
            }
            Field::Accessed => match parse_when(value) {
                Some(t) => set(&mut c.accessed, t.date, label, value, eq)?,
                // Not a date (or a weekday the date does not have): nothing checks it, so it
                // is listed as not checked, like an unknown label.
                None => c.unchecked.push(OtherLine {
                    label: crate::manifest::shorten(label, 60),
                    value: crate::manifest::shorten(value, SHOWN_CHARS),
                    states_fact: true,
                    looks_like: None,
                    contradicts: None,
                }),
            },
            Field::CaptureFailed => {
                if value.is_empty() {
                    return Err(err("the error is empty".into()));
                }
                set(&mut c.capture_failed, value.to_owned(), label, value, eq)?;
            }
            Field::HttpStatus => {
                let st = parse_status(value).map_err(err)?;
                set(&mut c.http_status, st, label, value, eq)?;
            }
            Field::Sha256 | Field::TextSha256 | Field::ExcerptSha256 | Field::ManifestSha256 => {
                let (p, warning) = parse_hash(value).map_err(err)?;
                if let Some(w) = warning {
                    c.warnings.push(format!(
                        "{} {:?}: {w}",
                        crate::manifest::shorten(label, 40),
                        shown(value)
                    ));
                }
                let slot = match field {
                    Field::Sha256 => &mut c.sha256,
                    Field::TextSha256 => &mut c.text_sha256,
                    Field::ManifestSha256 => &mut c.manifest_sha256,
                    _ => &mut c.excerpt_sha256,
                };
                // A prefix and a longer form of the same hash agree: keep the longer.
                let agree = |a: &HashPrefix, b: &HashPrefix| {
                    a.as_str().starts_with(b.as_str()) || b.as_str().starts_with(a.as_str())
                };
                match slot {
                    Some(old) if agree(old, &p) => {
                        if p.as_str().len() > old.as_str().len() {
                            *old = p;
                        }
                    }
                    _ => set(slot, p, label, value, agree)?,
                }
            }
            Field::Url => {
                let u = parse_url(value).map_err(err)?;
                set(&mut c.url, u, label, value, eq)?;
            }
            Field::Signer => {
                let s = parse_fingerprint(value).ok_or_else(|| {
                    err("not a key fingerprint (expected SHA256: and 43 base64 digits)".into())
                })?;
                set(&mut c.signer, s, label, value, eq)?;
            }
            Field::LogPosition => {
                let (index, origin) = parse_log_position(value).map_err(err)?;
                set(&mut c.log_index, index, label, value, eq)?;
                if let Some(o) = origin {
                    set(&mut c.log_origin, o, label, value, eq)?;
                }
            }
            Field::Excerpt => {
                let (text, truncated_start, truncated_end) = crate::quote::clean_quote(value);
                if text.is_empty() {
                    return Err(err("the excerpt is empty".into()));
                }
                let e = StatedExcerpt {
                    text,
                    truncated_start,
                    truncated_end,
                };
                set(&mut c.excerpt, e, label, value, eq)?;
            }
        }
        self.any = true;
        Ok(())
    }
}

/// A record id as pasted: Unicode dashes are `-`, spaces inside are dropped.
fn parse_id(value: &str) -> Result<RecordId, String> {
    let s: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if is_dash(c) { '-' } else { c })
        .collect();
    s.parse::<RecordId>().map_err(|e| match e {
        crate::id::IdError::UnknownKind { kind, .. } => format!(
            "unknown record kind {:?} (expected D, C, V or P)",
            crate::manifest::shorten(&kind, 10)
        ),
        _ => "not a record id (expected the form EX-C-000042)".into(),
    })
}

/// A hash or hash prefix as pasted; the second value is a warning for a short prefix.
fn parse_hash(value: &str) -> Result<(HashPrefix, Option<String>), String> {
    let (_, body) = strip_hash_prefix(value);
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let body = trim_ellipsis(&body);
    if let Some(ch) = body.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("{ch:?} is not a hex digit"));
    }
    let n = body.len();
    if n < HashPrefix::MIN_LEN {
        return Err(format!(
            "a hash prefix needs at least {} hex digits, found {n}",
            HashPrefix::MIN_LEN
        ));
    }
    if n > 64 {
        return Err(format!("a SHA-256 has 64 hex digits, found {n}"));
    }
    let p = HashPrefix::parse(body).map_err(|e| e.to_string())?;
    let warning = (n < 16).then(|| {
        format!(
            "the SHA-256 prefix has only {n} hex digits; 16 or more are needed to identify a \
             record with confidence"
        )
    });
    Ok((p, warning))
}

/// A URL as pasted: spaces inside dropped, a trailing ellipsis marks it as cut short.
fn parse_url(value: &str) -> Result<StatedUrl, String> {
    let mut s: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if s.starts_with('<') && s.ends_with('>') && s.len() >= 2 {
        s = s[1..s.len() - 1].to_owned();
    }
    let mut truncated = false;
    for e in ["\u{2026}", "..."] {
        if let Some(rest) = s.strip_suffix(e) {
            s = rest.to_owned();
            truncated = true;
            break;
        }
    }
    if !s.contains("://") {
        return Err("not a URL (expected e.g. https://example.org/privacy)".into());
    }
    Ok(StatedUrl { url: s, truncated })
}

/// A key fingerprint: `SHA256:` and 43 unpadded standard base64 digits.
fn parse_fingerprint(value: &str) -> Option<String> {
    let s: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let head = s.get(..7)?;
    if !head.eq_ignore_ascii_case("sha256:") {
        return None;
    }
    let body = &s[7..];
    let ok = body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    ok.then(|| format!("SHA256:{body}"))
}

/// `leaf 41 in exhibit/1a2b3c4d`, `41`, `#41`, `index 41 of archive.example.org`,
/// `41 (log exhibit/1a2b3c4d)`. Strict: an optional word (`leaf`, `index`, `entry`,
/// `position`, `leaf index`, `#`, `no.`), then the index as a whole number (ASCII digits, no
/// sign, separator, fraction or leading zero), then nothing, `in ORIGIN`, `of ORIGIN` or
/// `(log ORIGIN)`. `2,000`, `-2`, `2.7` and `2nd` are errors, never leaf 2.
fn parse_log_position(value: &str) -> Result<(u64, Option<String>), String> {
    const EXPECTED: &str = "expected e.g. leaf 41 in exhibit/1a2b3c4d";
    let mut rest = value.trim();
    for word in [
        "leaf index",
        "leaf no.",
        "leaf #",
        "leaf",
        "index",
        "entry",
        "position",
        "no.",
        "#",
    ] {
        if let Some(head) = rest.get(..word.len())
            && head.eq_ignore_ascii_case(word)
            && rest[word.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c.is_ascii_digit() || word.ends_with(['#', '.']))
        {
            rest = rest[word.len()..].trim_start();
            if word == "leaf" && rest.starts_with('#') {
                rest = rest[1..].trim_start();
            }
            break;
        }
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(rest.len());
    let (token, tail) = rest.split_at(end);
    if token.is_empty() {
        return Err(format!("no leaf index ({EXPECTED})"));
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{:?} is not a whole leaf index: digits only, with no sign, separator or fraction ({EXPECTED})",
            shown(token)
        ));
    }
    if token.len() > 1 && token.starts_with('0') {
        return Err(format!("{token:?} has a leading zero ({EXPECTED})"));
    }
    let index: u64 = token
        .parse()
        .map_err(|_| "the leaf index is too large".to_owned())?;
    let tail = tail.trim();
    let lower = tail.to_ascii_lowercase();
    let origin = if tail.is_empty() {
        None
    } else if lower.starts_with("in ") || lower.starts_with("of ") {
        Some(tail[3..].trim())
    } else if lower.starts_with("(log ") && tail.ends_with(')') {
        Some(tail[5..tail.len() - 1].trim())
    } else {
        return Err(format!(
            "{:?} after the leaf index is not `in ORIGIN` ({EXPECTED})",
            shown(tail)
        ));
    };
    match origin {
        Some("") => Err(format!("no log origin after `in` ({EXPECTED})")),
        o => Ok((index, o.map(str::to_owned))),
    }
}

/// `404`, `404 Not Found`, `HTTP 404 Not Found`, `HTTP/1.1 200 OK`: a three-digit status code
/// (the whole token, 100 to 599) and an optional reason phrase.
fn parse_status(value: &str) -> Result<StatedStatus, String> {
    const EXPECTED: &str = "expected e.g. 404 Not Found";
    let mut rest = value.trim();
    if let Some(head) = rest.get(..4)
        && head.eq_ignore_ascii_case("http")
    {
        rest = &rest[4..];
        if let Some(v) = rest.strip_prefix('/') {
            let n = v
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(v.len());
            rest = &v[n..];
        }
        rest = rest.trim_start();
    }
    let (token, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code: u16 = (token.len() == 3 && token.bytes().all(|b| b.is_ascii_digit()))
        .then(|| token.parse().ok())
        .flatten()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| format!("not an HTTP status ({EXPECTED})"))?;
    let reason = reason.trim();
    Ok(StatedStatus {
        code,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
    })
}

/// A date or date and time as pasted.
struct When {
    /// The instant in UTC (start of the minute or day for coarser statements).
    at: DateTime<Utc>,
    /// The calendar date as written (before any offset is applied).
    date: NaiveDate,
    precision: Precision,
    /// Whether a time zone or offset was given.
    zoned: bool,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A month name, full or abbreviated to at least three letters (`Sept.` too).
fn month(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches('.').to_ascii_lowercase();
    if t.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(t.as_str()))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// A weekday name, full or abbreviated to at least three letters: 0 for Monday.
fn weekday(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches('.').to_ascii_lowercase();
    if t.len() < 3 {
        return None;
    }
    WEEKDAYS
        .iter()
        .position(|w| w.starts_with(t.as_str()))
        .and_then(|i| u32::try_from(i).ok())
}

/// When `value` opens with a weekday that its date does not fall on, says so.
fn weekday_conflict(value: &str) -> Option<String> {
    use chrono::Datelike as _;
    let first = value.split([' ', ',']).find(|t| !t.is_empty())?;
    let stated = weekday(first)?;
    let rest = &value[value.find(first)? + first.len()..];
    let when = parse_when(rest)?;
    let actual = when.date.weekday().num_days_from_monday();
    let name = |i: u32| {
        let w = WEEKDAYS[i as usize];
        format!("{}{}", w[..1].to_ascii_uppercase(), &w[1..])
    };
    (actual != stated).then(|| {
        format!(
            "{} is a {}, not a {}",
            when.date.format("%B %-d, %Y"),
            name(actual),
            name(stated)
        )
    })
}

/// A day of the month, perhaps with an ordinal suffix (`30th`).
fn day(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h', 'S', 'T', 'N', 'D', 'R', 'H']);
    if t.is_empty() || t.len() > 2 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year(tok: &str) -> Option<i32> {
    (tok.len() == 4 && tok.bytes().all(|b| b.is_ascii_digit()))
        .then(|| tok.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD` (or with `/`).
fn iso_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split(['-', '/']);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() > 2 || d.len() > 2 {
        return None;
    }
    let m: u32 = m.parse().ok()?;
    let d: u32 = d.parse().ok()?;
    NaiveDate::from_ymd_opt(year(y)?, m, d)
}

/// `+02:00`, `+0200`, `+02`, `-05:30` → seconds east of UTC.
fn offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.chars().next()? {
        '+' => (1, &s[1..]),
        '-' | '\u{2212}' => (-1, &s[s.chars().next().map_or(1, char::len_utf8)..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// A time zone token: `UTC`, `GMT`, `Z`, `UT`, an offset, or `UTC+02:00`.
fn zone(tok: &str) -> Option<i32> {
    let t = tok.trim_matches(['(', ')']);
    let upper = t.to_ascii_uppercase();
    for name in ["UTC", "GMT", "UT", "Z"] {
        if let Some(rest) = upper.strip_prefix(name) {
            if rest.is_empty() {
                return Some(0);
            }
            if name != "Z" {
                return offset(&t[name.len()..]);
            }
        }
    }
    offset(t)
}

/// Parses a date, or a date and time, in the spellings filings use.
fn parse_when(value: &str) -> Option<When> {
    let cleaned: String = value
        .chars()
        .map(|c| if c == ',' { ' ' } else { c })
        .collect();
    let mut toks: Vec<&str> = cleaned.split_whitespace().collect();
    if toks.len() > 12 {
        return None;
    }
    let stated_weekday = toks.first().and_then(|t| weekday(t));
    if stated_weekday.is_some() {
        toks.remove(0);
    }
    let first = *toks.first()?;
    let (date, mut rest): (NaiveDate, Vec<&str>) =
        if first.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && first.len() >= 8
            && first
                .as_bytes()
                .get(4)
                .is_some_and(|b| matches!(b, b'-' | b'/'))
        {
            // ISO: `2026-04-30`, `2026-04-30T06:15:21Z`.
            let (d, t) = match first.find(['T', 't']) {
                Some(i) => (&first[..i], Some(&first[i + 1..])),
                None => (first, None),
            };
            let mut rest: Vec<&str> = t.into_iter().collect();
            rest.extend(&toks[1..]);
            (iso_date(d)?, rest)
        } else {
            let (a, b, c) = (toks.first()?, toks.get(1)?, toks.get(2)?);
            let date = if let (Some(m), Some(d)) = (month(a), day(b)) {
                NaiveDate::from_ymd_opt(year(c)?, m, d)?
            } else if let (Some(d), Some(m)) = (day(a), month(b)) {
                NaiveDate::from_ymd_opt(year(c)?, m, d)?
            } else {
                return None;
            };
            (date, toks[3..].to_vec())
        };
    // A stated weekday must be the date's.
    if stated_weekday.is_some_and(|w| {
        use chrono::Datelike as _;
        date.weekday().num_days_from_monday() != w
    }) {
        return None;
    }
    if rest.first().is_some_and(|t| t.eq_ignore_ascii_case("at")) {
        rest.remove(0);
    }
    let Some(time_tok) = rest.first().copied() else {
        let at = date.and_hms_opt(0, 0, 0)?.and_utc();
        return Some(When {
            at,
            date,
            precision: Precision::Day,
            zoned: false,
        });
    };
    // The time, perhaps with a zone glued on (`06:15:21Z`, `08:15:21+02:00`, `6:15AM`).
    let split = time_tok
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(time_tok.len());
    let (clock, glued) = time_tok.split_at(split);
    let mut parts = clock.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m_part = parts.next()?;
    if m_part.len() != 2 {
        return None;
    }
    let m: u32 = m_part.parse().ok()?;
    let s_part = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (s, precision) = match s_part {
        None => (0, Precision::Minute),
        Some(sp) => {
            let whole = sp.split('.').next()?;
            let frac = &sp[whole.len()..];
            if whole.len() != 2
                || frac.len() > 10
                || !frac.chars().skip(1).all(|c| c.is_ascii_digit())
            {
                return None;
            }
            (whole.parse::<u32>().ok()?, Precision::Second)
        }
    };
    let mut extra: Vec<&str> = Vec::new();
    if !glued.is_empty() {
        extra.push(glued);
    }
    extra.extend(&rest[1..]);
    let mut ampm: Option<bool> = None;
    let mut zone_secs: Option<i32> = None;
    for tok in extra {
        let t = tok.to_ascii_lowercase().replace('.', "");
        if ampm.is_none() && (t == "am" || t == "pm") {
            ampm = Some(t == "pm");
        } else if zone_secs.is_none()
            && let Some(z) = zone(tok)
        {
            zone_secs = Some(z);
        } else {
            return None;
        }
    }
    let h = match ampm {
        None => h,
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(pm) => h % 12 + if pm { 12 } else { 0 },
    };
    let local = date.and_hms_opt(h, m, s)?;
    let at = local.and_utc() - chrono::TimeDelta::seconds(i64::from(zone_secs.unwrap_or(0)));
    Some(When {
        at,
        date,
        precision,
        zoned: zone_secs.is_some(),
    })
}

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

/// Compares what `citation` states with `facts`, one [`FieldCheck`] per field in render
/// order. `text`, when given, is the extracted text of the record's version: a stated excerpt
/// is looked for in it (after whitespace normalisation).
///
/// The fields, in order: Record ID, Entity, Document, Captured, SHA-256, URL, Accessed,
/// Document ID, Version ID, Capture ID, Provision ID, Text SHA-256, Excerpt, Excerpt SHA-256,
/// Manifest SHA-256, Capture-Failed, HTTP Status, Signed-By, Log Position. A field the record has but the
/// citation does not state is [`FieldStatus::NotStated`]; a field neither has is left out.
/// (`Capture ID` and `Provision ID` count as "had" only when they are not the record id itself,
/// `Text SHA-256` only for versions and provisions, as in [`render`], and `Manifest SHA-256`
/// and `HTTP Status` never, since they are not rendered.)
///
/// A URL matches only the same URL component by component (user and password, host, port,
/// path, query, fragment), its host written in canonical form and with no backslash. `HTTP
/// Status` is the capture's final status, and a stated reason phrase must be the code's.
///
/// A hash field matches only its own hash: a `SHA-256` that is the text's or the manifest's
/// hash DIFFERS, and the report says which hash it is. `Accessed` is the citer's own date and
/// is not checked, except that a date more than a day before the record was made (the day
/// allows for time zones) DIFFERS. Labelled lines that name no field are not compared here:
/// they are in [`Citation::unchecked`].
pub fn compare(citation: &Citation, facts: &RecordFacts, text: Option<&str>) -> Vec<FieldCheck> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, has: bool, status: Option<FieldStatus>| match status {
        Some(status) => out.push(FieldCheck { field, status }),
        None if has => out.push(FieldCheck {
            field,
            status: FieldStatus::NotStated,
        }),
        None => {}
    };

    push(
        "Record ID",
        true,
        citation
            .record_id
            .as_ref()
            .map(|s| compare_id(s, &facts.id)),
    );
    let entity = facts
        .entity
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    push(
        "Entity",
        entity.is_some(),
        citation
            .entity
            .as_deref()
            .map(|s| compare_name(s, entity.as_deref())),
    );
    let title = facts
        .title
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    push(
        "Document",
        title.is_some(),
        citation
            .title
            .as_deref()
            .map(|s| compare_name(s, title.as_deref())),
    );
    push(
        "Captured",
        true,
        citation
            .captured
            .as_ref()
            .map(|s| compare_time(s, facts.captured_at)),
    );
    push(
        "SHA-256",
        facts.sha256.is_some(),
        citation
            .sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Content, facts)),
    );
    push(
        "URL",
        true,
        citation.url.as_ref().map(|u| compare_url(u, facts)),
    );
    push(
        "Accessed",
        true,
        citation.accessed.map(|d| compare_accessed(d, facts)),
    );
    push(
        "Document ID",
        true,
        citation
            .document_id
            .as_ref()
            .map(|s| compare_id(s, &facts.document_id)),
    );
    push(
        "Version ID",
        facts.version_id.is_some(),
        citation
            .version_id
            .as_ref()
            .map(|s| compare_optional_id(s, facts.version_id.as_ref())),
    );
    push(
        "Capture ID",
        facts.capture_id != facts.id,
        citation
            .capture_id
            .as_ref()
            .map(|s| compare_id(s, &facts.capture_id)),
    );
    push(
        "Provision ID",
        facts.provision_id.as_ref().is_some_and(|p| *p != facts.id),
        citation
            .provision_id
            .as_ref()
            .map(|s| compare_optional_id(s, facts.provision_id.as_ref())),
    );
    push(
        "Text SHA-256",
        facts.text_sha256.is_some()
            && matches!(facts.kind(), RecordKind::Version | RecordKind::Provision),
        citation
            .text_sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Text, facts)),
    );
    push(
        "Excerpt",
        facts.excerpt.is_some(),
        citation
            .excerpt
            .as_ref()
            .map(|e| compare_excerpt(e, facts, text)),
    );
    push(
        "Excerpt SHA-256",
        facts.excerpt_sha256.is_some(),
        citation
            .excerpt_sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Excerpt, facts)),
    );
    push(
        "Manifest SHA-256",
        false,
        citation
            .manifest_sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Manifest, facts)),
    );
    let error = facts
        .error
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    push(
        "Capture-Failed",
        error.is_some(),
        citation.capture_failed.as_deref().map(|s| match &error {
            Some(e) => compare_name(s, Some(e)),
            None => differs(s, "none (the capture succeeded)"),
        }),
    );
    push(
        "HTTP Status",
        false,
        citation
            .http_status
            .as_ref()
            .map(|st| compare_status(st, facts)),
    );
    push(
        "Signed-By",
        !facts.signer.is_empty(),
        citation.signer.as_deref().map(|s| {
            if s == facts.signer {
                FieldStatus::Matches { note: None }
            } else {
                differs(s, &facts.signer)
            }
        }),
    );
    let stated_log = citation
        .log_index
        .map(|i| (i, citation.log_origin.as_deref()));
    push(
        "Log Position",
        facts.log_index.is_some(),
        stated_log.map(|(i, origin)| compare_log(i, origin, facts)),
    );
    out
}

/// Matches with no note.
const MATCHES: FieldStatus = FieldStatus::Matches { note: None };

fn matches_with(note: impl Into<String>) -> FieldStatus {
    FieldStatus::Matches {
        note: Some(note.into()),
    }
}

/// Shown values are cut to this many characters.
const SHOWN_CHARS: usize = 120;

fn differs(stated: &str, found: &str) -> FieldStatus {
    FieldStatus::Differs {
        stated: crate::manifest::shorten(stated, SHOWN_CHARS),
        found: crate::manifest::shorten(found, SHOWN_CHARS),
    }
}

fn compare_id(stated: &RecordId, found: &RecordId) -> FieldStatus {
    if stated == found {
        MATCHES
    } else {
        differs(&stated.to_string(), &found.to_string())
    }
}

fn compare_optional_id(stated: &RecordId, found: Option<&RecordId>) -> FieldStatus {
    match found {
        Some(f) => compare_id(stated, f),
        None => differs(&stated.to_string(), "none"),
    }
}

fn compare_name(stated: &str, found: Option<&str>) -> FieldStatus {
    let Some(found) = found else {
        return differs(stated, "none");
    };
    let (a, b) = (
        crate::quote::match_form(stated),
        crate::quote::match_form(found),
    );
    // A citation printed by `cite` shows control characters escaped (`\u{1b}`).
    if a == b || a == crate::quote::match_form(&crate::inert::inert(found)) {
        MATCHES
    } else if a.to_lowercase() == b.to_lowercase() {
        matches_with("differs only in letter case")
    } else {
        differs(stated, found)
    }
}

fn compare_time(stated: &StatedTime, found: DateTime<Utc>) -> FieldStatus {
    let same = match stated.precision {
        Precision::Second => stated.at == found,
        Precision::Minute => {
            stated.at.timestamp().div_euclid(60) == found.timestamp().div_euclid(60)
        }
        Precision::Day => stated.at.date_naive() == found.date_naive(),
    };
    match (same, stated.precision) {
        (true, Precision::Second) => MATCHES,
        (true, Precision::Minute) => matches_with("stated to the minute"),
        (true, Precision::Day) => matches_with("stated as a date only"),
        (false, _) => differs(&stated.text, &crate::time::format_human(found)),
    }
}

fn compare_prefix(stated: &HashPrefix, found: Option<&Sha256Digest>) -> FieldStatus {
    match found {
        Some(d) if stated.matches(&d.to_hex()) => {
            if stated.is_full() {
                MATCHES
            } else {
                matches_with(format!("first {} of 64 hex digits", stated.as_str().len()))
            }
        }
        Some(d) => differs(stated.as_str(), &d.to_hex()),
        None => differs(stated.as_str(), "none"),
    }
}

/// The hashes a record has, as a citation names them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Content,
    Text,
    Excerpt,
    Manifest,
}

impl Hash {
    /// The digest of `facts` this hash is, if the record has it.
    fn of(self, facts: &RecordFacts) -> Option<&Sha256Digest> {
        match self {
            Hash::Content => facts.sha256.as_ref(),
            Hash::Text => facts.text_sha256.as_ref(),
            Hash::Excerpt => facts.excerpt_sha256.as_ref(),
            Hash::Manifest => Some(&facts.manifest_sha256),
        }
    }

    /// What it is the hash of, for a report.
    fn name(self) -> &'static str {
        match self {
            Hash::Content => "captured content",
            Hash::Text => "extracted text",
            Hash::Excerpt => "excerpt",
            Hash::Manifest => "signed manifest",
        }
    }
}

/// Compares a stated hash with the record's hash `which`. Another of the record's hashes is
/// not a match: the report names it.
fn compare_hash(stated: &HashPrefix, which: Hash, facts: &RecordFacts) -> FieldStatus {
    let own = which.of(facts);
    if own.is_some_and(|d| stated.matches(&d.to_hex())) {
        return compare_prefix(stated, own);
    }
    let found = own.map_or_else(|| "none".to_owned(), Sha256Digest::to_hex);
    for other in [Hash::Content, Hash::Text, Hash::Excerpt, Hash::Manifest] {
        if other != which && other.of(facts).is_some_and(|d| stated.matches(&d.to_hex())) {
            return FieldStatus::Differs {
                stated: stated.as_str().to_owned(),
                found: format!(
                    "{found}; the stated digits are its {} SHA-256, not its {} SHA-256",
                    other.name(),
                    which.name()
                ),
            };
        }
    }
    differs(stated.as_str(), &found)
}

/// `Accessed` is the citer's own date: unchecked, unless it is more than a day before the
/// record was made.
fn compare_accessed(stated: NaiveDate, facts: &RecordFacts) -> FieldStatus {
    if facts
        .accessed
        .pred_opt()
        .is_some_and(|day_before| stated < day_before)
    {
        return FieldStatus::Differs {
            stated: stated.format("%B %-d, %Y").to_string(),
            found: format!(
                "made on {}; it cannot have been accessed before",
                facts.accessed.format("%B %-d, %Y")
            ),
        };
    }
    FieldStatus::Noted {
        note: "the citer's own access date; the record cannot confirm it".to_owned(),
    }
}

/// The reason phrases of the common HTTP status codes.
fn reason_phrase(code: u16) -> Option<&'static str> {
    Some(match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => return None,
    })
}

/// `HTTP Status` is the capture's final HTTP status; a stated reason phrase must be the code's
/// standard one or the one the recorded error gives (`HTTP 404 Not Found`).
fn compare_status(stated: &StatedStatus, facts: &RecordFacts) -> FieldStatus {
    let shown_stated = match &stated.reason {
        Some(r) => format!("{} {r}", stated.code),
        None => stated.code.to_string(),
    };
    let Some(code) = facts.http_status else {
        return differs(&shown_stated, "none (no HTTP response was recorded)");
    };
    let standard = reason_phrase(code);
    let shown_found = match standard {
        Some(r) => format!("{code} {r}"),
        None => code.to_string(),
    };
    if stated.code != code {
        return differs(&shown_stated, &shown_found);
    }
    let Some(reason) = &stated.reason else {
        return MATCHES;
    };
    let folded = |s: &str| crate::quote::match_form(s).to_lowercase();
    let said = folded(reason);
    let in_error = facts
        .error
        .as_deref()
        .is_some_and(|e| folded(e) == format!("http {code} {said}"));
    if standard.is_some_and(|r| folded(r) == said) || in_error {
        MATCHES
    } else {
        differs(&shown_stated, &shown_found)
    }
}

/// The normalised form of a URL, or the URL itself when it does not normalise.
fn normal_url(u: &str) -> String {
    crate::url::normalize_document_url(u).map_or_else(|_| u.trim().to_owned(), |n| n.to_string())
}

/// The authority of a URL as written (between `://` and the next `/`, `?`, `#` or `\`).
fn written_authority(u: &str) -> Option<&str> {
    let (_, rest) = u.split_once("://")?;
    Some(&rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())])
}

/// Whether a stated URL names the same resource as a recorded one, component by component:
/// scheme, user name and password, host, port (a default port is the same as none), path,
/// query and fragment, after WHATWG parsing (which lower-cases scheme and host and punycodes
/// an internationalised host). The host must be written in its canonical form (no
/// percent-escapes, no numeric shorthand such as `2130706433` for `127.0.0.1`), and a URL with
/// a backslash or a control character never matches another spelling: parsers disagree
/// about both.
fn same_url(stated: &str, recorded: &str) -> bool {
    if stated == recorded {
        return true;
    }
    if stated.contains('\\') || stated.chars().any(char::is_control) {
        return false;
    }
    let (Ok(a), Ok(b)) = (::url::Url::parse(stated), ::url::Url::parse(recorded)) else {
        return false;
    };
    if a != b {
        return false;
    }
    // The host as written is the host parsed (up to letter case and IDNA).
    let Some(auth) = written_authority(stated) else {
        return false;
    };
    let host_port = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port, |i| &host_port[..=i])
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    !host.is_ascii() || a.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// A URL with its scheme and authority in lower case (the rest as written).
fn lower_authority(u: &str) -> String {
    match u.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                rest[..end].to_ascii_lowercase(),
                &rest[end..]
            )
        }
        None => u.to_owned(),
    }
}

fn compare_url(stated: &StatedUrl, facts: &RecordFacts) -> FieldStatus {
    let recorded = std::iter::once(&facts.url).chain(&facts.other_urls);
    if stated.truncated {
        // A cut URL claims something only once it names a host: `https://…` matches nothing.
        // It is compared as written (scheme and authority in any case): a user part, a
        // backslash or a port the recorded URLs do not have is not theirs.
        let auth = written_authority(&stated.url);
        let names_host = auth.is_some_and(|a| !a.is_empty());
        let odd = auth.is_some_and(|a| a.contains('@'))
            || stated.url.contains('\\')
            || stated.url.chars().any(char::is_control);
        let cut = lower_authority(&stated.url);
        let starts = |u: &str| {
            u.starts_with(stated.url.as_str())
                || (!odd
                    && (lower_authority(u).starts_with(&cut)
                        || lower_authority(&normal_url(u)).starts_with(&cut)))
        };
        let mut recorded = recorded;
        if names_host && recorded.any(|u| starts(u)) {
            return matches_with("the citation shortens the URL");
        }
        return differs(&format!("{}\u{2026}", stated.url), &facts.url);
    }
    if same_url(&stated.url, &facts.url) {
        return MATCHES;
    }
    if facts.other_urls.iter().any(|u| same_url(&stated.url, u)) {
        return matches_with("another URL the capture recorded (request or final URL)");
    }
    differs(&stated.url, &facts.url)
}

fn compare_excerpt(stated: &StatedExcerpt, facts: &RecordFacts, text: Option<&str>) -> FieldStatus {
    let cited = crate::quote::match_form(&stated.text);
    if let Some(excerpt) = &facts.excerpt {
        let found = crate::quote::match_form(excerpt);
        let ok = cited == found
            || (!cited.is_empty()
                && match (stated.truncated_start, stated.truncated_end) {
                    (false, false) => false,
                    (false, true) => found.starts_with(&cited),
                    (true, false) => found.ends_with(&cited),
                    (true, true) => found.contains(&cited),
                });
        return if ok {
            MATCHES
        } else {
            differs(&stated.text, &one_line(excerpt))
        };
    }
    let Some(text) = text else {
        return FieldStatus::Noted {
            note: "no text to check it against".into(),
        };
    };
    match crate::quote::find(text, &stated.text).len() {
        0 => {
            let found = match crate::quote::closest(text, &stated.text) {
                Some(c) => format!(
                    "not in the version's text; closest: \u{201C}{}\u{201D}",
                    crate::manifest::shorten(&c.passage, SHOWN_CHARS)
                ),
                None => "not in the version's text".to_owned(),
            };
            FieldStatus::Differs {
                stated: crate::manifest::shorten(&stated.text, SHOWN_CHARS),
                found,
            }
        }
        1 => matches_with("appears in the version's text (once)"),
        n => matches_with(format!("appears in the version's text ({n} times)")),
    }
}

fn compare_log(index: u64, origin: Option<&str>, facts: &RecordFacts) -> FieldStatus {
    let Some(found) = facts.log_index else {
        return FieldStatus::Noted {
            note: "no verified log position".into(),
        };
    };
    let found_origin = one_line(&facts.log_origin);
    let shown_found = if found_origin.is_empty() {
        format!("leaf {found}")
    } else {
        format!("leaf {found} in {found_origin}")
    };
    let shown_stated = match origin {
        Some(o) => format!("leaf {index} in {o}"),
        None => format!("leaf {index}"),
    };
    if index != found || origin.is_some_and(|o| one_line(o) != found_origin) {
        return differs(&shown_stated, &shown_found);
    }
    MATCHES
}
