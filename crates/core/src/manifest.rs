//! The capture manifest: the signed statement of what was captured, when, how and from where.
//!
//! A manifest is serialised with the RFC 8785 JSON Canonicalization Scheme; those exact bytes are
//! stored and signed. [`CaptureManifest::parse`] accepts only canonical bytes, so a manifest that
//! verifies is also the unique serialisation of what it says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::browser::BrowserRecord;
use crate::connection::{Connection, TrustRoots};
use crate::digest::{Blake3Digest, Sha256Digest};
use crate::id::{RecordId, RecordKind};
use crate::warc_source::WarcSource;

/// The largest manifest [`CaptureManifest::parse`] accepts. Real ones are 1–3 KiB.
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// The longest string a manifest records for a URL, header value, title or error; longer ones
/// are cut by [`cap_string`] so that a hostile server cannot make a manifest too large to keep.
pub const MAX_RECORDED_STRING: usize = 4096;

/// Cuts `s` to at most `max` bytes (at a character boundary), marking the cut with
/// `…[truncated]`.
pub fn cap_string(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[truncated]", &s[..cut])
}

/// Shortens hostile input for an error message: at most `max` characters, then `…`.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// The checks every manifest type shares: a non-empty origin; its time field a strict
/// timestamp; each id (with the field it is in) of the expected kind and with the prefix of
/// `own`, the record's id.
pub(crate) fn check_common(
    origin: &str,
    (time_field, time): (&str, &str),
    own: &RecordId,
    ids: &[(&RecordId, RecordKind, &str)],
) -> Result<(), ManifestError> {
    let bad = |s: String| Err(ManifestError::Inconsistent(s));
    if origin.is_empty() {
        return bad("empty origin".into());
    }
    if crate::time::parse_rfc3339_seconds(time).is_none() {
        return bad(format!(
            "{time_field} {time:?} is not RFC 3339 UTC with whole seconds"
        ));
    }
    for (id, kind, field) in ids {
        if id.kind() != *kind {
            return bad(format!("{field} {id} is not a {} id", kind.name()));
        }
        if id.prefix() != own.prefix() {
            return bad(format!("{field} {id} has a different prefix than {own}"));
        }
    }
    Ok(())
}

/// The RFC 8785 bytes of a manifest value, refusing any larger than [`MAX_MANIFEST_BYTES`].
pub(crate) fn canonical_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, ManifestError> {
    canonical_bytes_within(value, MAX_MANIFEST_BYTES)
}

/// The RFC 8785 bytes of a manifest value, refusing any larger than `limit`.
pub(crate) fn canonical_bytes_within<T: Serialize>(
    value: &T,
    limit: usize,
) -> Result<Vec<u8>, ManifestError> {
    let bytes = crate::jcs::to_vec(value).map_err(|e| ManifestError::Schema(e.to_string()))?;
    if bytes.len() > limit {
        return Err(ManifestError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Parses manifest bytes (at most [`MAX_MANIFEST_BYTES`]) into a schema type.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ManifestError> {
    parse_json_within(bytes, MAX_MANIFEST_BYTES)
}

/// Parses manifest bytes (at most `limit`) into a schema type.
pub(crate) fn parse_json_within<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, ManifestError> {
    if bytes.len() > limit {
        return Err(ManifestError::TooLarge(bytes.len()));
    }
    serde_json::from_slice(bytes).map_err(|e| ManifestError::Schema(e.to_string()))
}

/// The response headers recorded for HTTP captures, in this order, lower-case.
pub const RECORDED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "content-language",
    "last-modified",
    "etag",
    "date",
    "server",
];

/// Whether a browser capture's resource records the response header `name` (lower case):
/// [`RECORDED_HEADERS`] and `location` (FORMAT §3.11).
pub fn is_resource_header(name: &str) -> bool {
    name == "location" || RECORDED_HEADERS.contains(&name)
}

/// Errors from parsing or checking a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// More bytes than any manifest has.
    #[error("manifest is {0} bytes, more than the {MAX_MANIFEST_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON, or not the v1 schema.
    #[error("manifest is not a valid exhibit manifest: {0}")]
    Schema(String),
    /// Valid JSON, but not its RFC 8785 canonical form.
    #[error("manifest bytes are not in RFC 8785 canonical form")]
    NotCanonical,
    /// Fields that contradict each other.
    #[error("manifest is inconsistent: {0}")]
    Inconsistent(String),
}

/// Which manifest schema a manifest follows (its `type` field).
///
/// Version 2 is version 1 plus the connection record of HTTP captures (`http.connections` and
/// `http.trust_roots`, FORMAT §3.10); a v1 manifest has neither, a v2 manifest has both.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ManifestType {
    /// A successful capture: bytes were obtained and belong to a version.
    #[serde(rename = "exhibit.capture/v1")]
    Capture,
    /// A failed capture attempt (non-2xx status or network failure); it opens no version.
    #[serde(rename = "exhibit.capture-failure/v1")]
    CaptureFailure,
    /// [`ManifestType::Capture`] with the connection record.
    #[serde(rename = "exhibit.capture/v2")]
    CaptureV2,
    /// [`ManifestType::CaptureFailure`] with the connection record.
    #[serde(rename = "exhibit.capture-failure/v2")]
    CaptureFailureV2,
}

impl ManifestType {
    /// The type of a capture manifest: its outcome and whether its `http` records connections.
    pub fn of_capture(success: bool, http: Option<&HttpExchange>) -> ManifestType {
        // A browser capture always records connections (its `http`), so this covers it too.
        let v2 = http.is_some_and(|h| h.connections.is_some());
        match (success, v2) {
            (true, false) => ManifestType::Capture,
            (false, false) => ManifestType::CaptureFailure,
            (true, true) => ManifestType::CaptureV2,
            (false, true) => ManifestType::CaptureFailureV2,
        }
    }

    /// The `type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestType::Capture => "exhibit.capture/v1",
            ManifestType::CaptureFailure => "exhibit.capture-failure/v1",
            ManifestType::CaptureV2 => "exhibit.capture/v2",
            ManifestType::CaptureFailureV2 => "exhibit.capture-failure/v2",
        }
    }

    /// Whether this type records a successful capture.
    pub fn is_success(self) -> bool {
        matches!(self, ManifestType::Capture | ManifestType::CaptureV2)
    }

    /// The schema version: 1 or 2.
    pub fn schema_version(self) -> u8 {
        match self {
            ManifestType::Capture | ManifestType::CaptureFailure => 1,
            ManifestType::CaptureV2 | ManifestType::CaptureFailureV2 => 2,
        }
    }
}

/// How the bytes were acquired.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Fetched over HTTP or HTTPS.
    Http,
    /// Read from a local file.
    File,
    /// Read from standard input.
    Stdin,
    /// Loaded and rendered by a browser through exhibit's proxy (v2, FORMAT §3.11).
    Browser,
    /// Imported from a record of a WARC file (FORMAT §3.12): exhibit claims only that the
    /// bytes were in that record, not that it fetched them.
    #[serde(rename = "warc-import")]
    WarcImport,
}

impl Method {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Http => "http",
            Method::File => "file",
            Method::Stdin => "stdin",
            Method::Browser => "browser",
            Method::WarcImport => "warc-import",
        }
    }
}

/// The document a capture belongs to, as described at capture time.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// The document id.
    pub id: RecordId,
    /// The normalised document URL (its identity).
    pub url: String,
    /// Who publishes it ("AI21 Labs").
    pub entity: Option<String>,
    /// Its title ("AI21 Labs Privacy Policy").
    pub title: Option<String>,
}

/// One redirect that was followed.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// The URL that answered with a redirect.
    pub url: String,
    /// Its status (301, 302, 303, 307, 308).
    pub status: u16,
    /// The `Location` it gave, resolved against `url`.
    pub location: String,
}

/// What happened on the wire for an HTTP capture.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct HttpExchange {
    /// The URL first requested.
    pub request_url: String,
    /// The URL of the last response (after redirects).
    pub final_url: String,
    /// The redirects followed, in order.
    pub redirects: Vec<Redirect>,
    /// The final status, or null when no response arrived.
    pub status: Option<u16>,
    /// The final response's headers from [`RECORDED_HEADERS`] that were present.
    pub headers: BTreeMap<String, String>,
    /// v2: one connection per request, in order (FORMAT §3.10). Absent (the key is omitted,
    /// not null) in v1 manifests, so their bytes are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<Connection>>,
    /// v2: the roots the TLS handshakes were checked against. Absent in v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_roots: Option<TrustRoots>,
}

/// Where a file capture was read from.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// The absolute path, as the capturing machine saw it.
    pub path: String,
}

/// The captured bytes.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct ContentInfo {
    /// SHA-256 of the exact bytes (after undoing any `Content-Encoding`).
    pub sha256: Sha256Digest,
    /// BLAKE3 of the same bytes.
    pub blake3: Blake3Digest,
    /// Length in bytes.
    pub size: u64,
    /// Media type essence, lower case (`text/html`).
    pub media_type: String,
}

/// Name and version of the text extractor, and the document's extraction rules in force.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Extractor {
    /// Extractor name.
    pub name: String,
    /// Extractor version; output for a given input never changes within one version.
    pub version: String,
    /// The rules the text was extracted with. Absent (the key is omitted, not null) when the
    /// document has none, so manifests written before rules existed keep their exact bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<ExtractionRules>,
}

/// A document's extraction rules: CSS selectors, as Open Terms Archive uses them.
///
/// With `select` non-empty only the elements matching one of its selectors are kept (their
/// union, in document order, nested matches once); then everything matching one of `remove`
/// is dropped. Both lists keep the order they were given in.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Hash, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ExtractionRules {
    /// Keep only these parts.
    pub select: Vec<String>,
    /// Drop these parts.
    pub remove: Vec<String>,
}

impl ExtractionRules {
    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.select.is_empty() && self.remove.is_empty()
    }
}

/// The normalised extracted text.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct TextInfo {
    /// SHA-256 of the UTF-8 text: decides whether a capture opens a new version.
    pub sha256: Sha256Digest,
    /// BLAKE3 of the UTF-8 text.
    pub blake3: Blake3Digest,
    /// Length of the UTF-8 text in bytes.
    pub size: u64,
    /// The character encoding the bytes were decoded from.
    pub charset: String,
    /// Which extractor produced it.
    pub extractor: Extractor,
}

/// A link to an earlier record, pinned by the SHA-256 of its manifest bytes.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct RecordLink {
    /// The record's id.
    pub id: RecordId,
    /// SHA-256 of that record's manifest bytes.
    pub manifest_sha256: Sha256Digest,
}

/// Whether a capture opened a version or confirmed the current one.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The text differs from the current version: this capture opens `version.id`.
    New,
    /// The text equals the current version's: this capture confirms it.
    Unchanged,
}

/// The version a capture belongs to.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct VersionLink {
    /// The version id.
    pub id: RecordId,
    /// New or unchanged.
    pub change: Change,
    /// For `new`: the document's previous version and the manifest of the capture that opened
    /// it (null for a document's first version). Null for `unchanged`.
    pub previous: Option<RecordLink>,
    /// For `unchanged`: the capture that opened this version. Null for `new`.
    pub opened_by: Option<RecordLink>,
}

/// What an object named by a capture manifest is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ObjectRole<'a> {
    /// The captured bytes, of this media type.
    Content {
        /// [`ContentInfo::media_type`].
        media_type: &'a str,
    },
    /// The extracted text.
    Text,
    /// A DER certificate: of a handshake's chain or an added trust root.
    Certificate,
    /// A browser capture's rendered DOM (`text/html`).
    Dom,
    /// A browser capture's full-page screenshot (`image/png`).
    Screenshot,
    /// A browser capture's PDF print.
    Pdf,
    /// A response body a browser capture's page load used, of this media type if known.
    Resource {
        /// [`crate::browser::Resource::media_type`].
        media_type: Option<&'a str>,
    },
    /// An HTTP response exactly as received on a connection ([`Connection::response`]).
    ///
    /// [`Connection::response`]: crate::connection::Connection::response
    Response,
}

impl ObjectRole<'_> {
    /// The role's name in reports: `content`, `text`, `certificate`.
    pub fn name(&self) -> &'static str {
        match self {
            ObjectRole::Content { .. } => "content",
            ObjectRole::Text => "text",
            ObjectRole::Certificate => "certificate",
            ObjectRole::Dom => "dom",
            ObjectRole::Screenshot => "screenshot",
            ObjectRole::Pdf => "pdf",
            ObjectRole::Resource { .. } => "resource",
            ObjectRole::Response => "response",
        }
    }
}

/// An object a capture manifest names, with the digests and size it signs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NamedObject<'a> {
    /// What it is.
    pub role: ObjectRole<'a>,
    /// Its SHA-256 (its name in the object store).
    pub sha256: Sha256Digest,
    /// Its BLAKE3.
    pub blake3: Blake3Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A signed capture manifest (`exhibit.capture/v1`, `exhibit.capture-failure/v1`, or their v2
/// forms with the connection record).
///
/// Every field is always present; inapplicable ones are `null`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct CaptureManifest {
    /// Schema name and version.
    #[serde(rename = "type")]
    pub manifest_type: ManifestType,
    /// The archive's origin name.
    pub origin: String,
    /// This capture's id.
    pub id: RecordId,
    /// The document captured.
    pub document: DocumentRef,
    /// When it was captured, as claimed by the signer (RFC 3339 UTC, seconds).
    pub captured_at: String,
    /// How the bytes were acquired.
    pub method: Method,
    /// For HTTP: the exchange.
    pub http: Option<HttpExchange>,
    /// For files: where from.
    pub file: Option<FileSource>,
    /// The bytes (for a failure: the error body, if any).
    pub content: Option<ContentInfo>,
    /// The extracted text, for media types that have one.
    pub text: Option<TextInfo>,
    /// Why no text was extracted from a text media type (e.g. too large), else null.
    pub text_omitted: Option<String>,
    /// The version (null for failures).
    pub version: Option<VersionLink>,
    /// The document's previous capture (successful or not): a hash chain over all captures.
    pub previous_capture: Option<RecordLink>,
    /// For failures: what went wrong.
    pub error: Option<String>,
    /// Fingerprint of the signing key (`SHA256:…`, as `ssh-keygen -l` prints it).
    pub signer: String,
    /// For browser captures (v2): what the browser did and made. Absent (the key is omitted)
    /// for every other method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<BrowserRecord>,
    /// For captures imported from a WARC file: the file and the record. Absent (the key is
    /// omitted) for every other method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warc: Option<WarcSource>,
}

impl CaptureManifest {
    /// The canonical RFC 8785 bytes: what is stored and signed. Fails for a manifest that is
    /// inconsistent or larger than [`MAX_MANIFEST_BYTES`], so nothing is signed that
    /// [`CaptureManifest::parse`] would refuse.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        self.check()?;
        canonical_bytes(self)
    }

    /// Parses stored manifest bytes, requiring the v1 schema, canonical form and consistency.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: CaptureManifest = parse_json(bytes)?;
        m.check()?;
        if m.to_canonical_bytes()? != bytes {
            return Err(ManifestError::NotCanonical);
        }
        Ok(m)
    }

    /// Whether this records a successful capture.
    pub fn is_success(&self) -> bool {
        self.manifest_type.is_success()
    }

    /// Every object this manifest names, each once: the content, the text, then the
    /// certificates of its connections and added trust roots (FORMAT §3.10) and a browser
    /// capture's DOM, screenshot, PDF and response bodies (§3.11), then every connection's
    /// response as received (§3.10), each skipped when an earlier
    /// one has its SHA-256. Bundles carry exactly these; verifiers and `fsck` check each against
    /// its digests and size ([`CaptureManifest::check`] makes sure one SHA-256 is never claimed
    /// with two different BLAKE3 digests or sizes, so checking one claim checks them all).
    pub fn objects(&self) -> Vec<NamedObject<'_>> {
        let claims = self.object_claims();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(claims.len());
        for o in claims {
            // The content and the text keep their own places even when they are the same bytes.
            let own_place = matches!(o.role, ObjectRole::Content { .. } | ObjectRole::Text);
            if seen.insert(o.sha256) || own_place {
                out.push(o);
            }
        }
        out
    }

    /// Every object claim of the manifest, in order, repeats included.
    fn object_claims(&self) -> Vec<NamedObject<'_>> {
        let named = |role, sha256, blake3, size| NamedObject {
            role,
            sha256,
            blake3,
            size,
        };
        let by_ref =
            |role, o: &crate::connection::ObjectRef| named(role, o.sha256, o.blake3, o.size);
        let mut out = Vec::new();
        if let Some(c) = &self.content {
            let role = ObjectRole::Content {
                media_type: &c.media_type,
            };
            out.push(named(role, c.sha256, c.blake3, c.size));
        }
        if let Some(t) = &self.text {
            out.push(named(ObjectRole::Text, t.sha256, t.blake3, t.size));
        }
        let Some(http) = &self.http else { return out };
        let resources = self.browser.iter().flat_map(|b| b.resources.iter());
        let connections = http
            .connections
            .iter()
            .flatten()
            .chain(resources.clone().filter_map(|r| r.connection.as_ref()));
        for c in connections {
            if let Some(t) = &c.tls {
                out.extend(t.chain.iter().map(|o| by_ref(ObjectRole::Certificate, o)));
            }
        }
        if let Some(r) = &http.trust_roots {
            out.extend(r.added.iter().map(|o| by_ref(ObjectRole::Certificate, o)));
        }
        if let Some(b) = &self.browser {
            out.push(by_ref(ObjectRole::Dom, &b.dom));
            out.extend(
                b.screenshot
                    .iter()
                    .map(|o| by_ref(ObjectRole::Screenshot, o)),
            );
            out.extend(b.pdf.iter().map(|o| by_ref(ObjectRole::Pdf, o)));
        }
        for r in resources.clone() {
            let role = ObjectRole::Resource {
                media_type: r.media_type.as_deref(),
            };
            out.extend(r.body.iter().map(|o| by_ref(role, o)));
        }
        let connections = http
            .connections
            .iter()
            .flatten()
            .chain(resources.filter_map(|r| r.connection.as_ref()));
        out.extend(
            connections
                .filter_map(|c| c.response.as_ref().map(|o| by_ref(ObjectRole::Response, o))),
        );
        out
    }

    /// One SHA-256, one object: every claim naming it gives the same BLAKE3 and size.
    fn check_object_claims(&self) -> Result<(), ManifestError> {
        let mut claimed: std::collections::HashMap<Sha256Digest, (Blake3Digest, u64)> =
            std::collections::HashMap::new();
        for o in self.object_claims() {
            let facts = (o.blake3, o.size);
            if let Some(earlier) = claimed.insert(o.sha256, facts)
                && earlier != facts
            {
                return Err(ManifestError::Inconsistent(format!(
                    "object {} is claimed with two different BLAKE3 digests or sizes",
                    o.sha256
                )));
            }
        }
        Ok(())
    }

    /// Checks that the fields agree with each other and with the type.
    pub fn check(&self) -> Result<(), ManifestError> {
        let bad = |s: String| Err(ManifestError::Inconsistent(s));
        let mut ids = vec![
            (&self.id, RecordKind::Capture, "id"),
            (&self.document.id, RecordKind::Document, "document.id"),
        ];
        if let Some(link) = &self.previous_capture {
            ids.push((&link.id, RecordKind::Capture, "previous_capture.id"));
        }
        if let Some(v) = &self.version {
            ids.push((&v.id, RecordKind::Version, "version.id"));
            if let Some(p) = &v.previous {
                ids.push((&p.id, RecordKind::Version, "version.previous.id"));
            }
            if let Some(o) = &v.opened_by {
                ids.push((&o.id, RecordKind::Capture, "version.opened_by.id"));
            }
        }
        check_common(
            &self.origin,
            ("captured_at", &self.captured_at),
            &self.id,
            &ids,
        )?;
        match (self.method, &self.http, &self.file) {
            (Method::Http | Method::Browser, Some(_), None) | (Method::File, None, Some(_)) => {}
            (Method::Stdin | Method::WarcImport, None, None) => {}
            (m, _, _) => {
                return bad(format!(
                    "method {} does not match the http/file fields",
                    m.as_str()
                ));
            }
        }
        if self.manifest_type.is_success() {
            if self.content.is_none() || self.version.is_none() || self.error.is_some() {
                return bad("a capture needs content and version and no error".into());
            }
        } else if self.version.is_some() || self.text.is_some() || self.error.is_none() {
            return bad("a failed capture has an error and no version or text".into());
        }
        let v2 = self.manifest_type.schema_version() == 2;
        match self.http.as_ref() {
            Some(h) => match (&h.connections, &h.trust_roots) {
                (None, None) if !v2 => {}
                (Some(connections), Some(roots)) if v2 => {
                    let requests: Vec<&str> = h
                        .redirects
                        .iter()
                        .map(|r| r.url.as_str())
                        .chain(std::iter::once(h.final_url.as_str()))
                        .collect();
                    crate::connection::check_connections(
                        &requests,
                        connections,
                        roots,
                        self.is_success(),
                    )
                    .map_err(ManifestError::Inconsistent)?
                }
                _ => {
                    return bad(format!(
                        "{} needs http.connections and http.trust_roots {}",
                        self.manifest_type.as_str(),
                        if v2 { "both" } else { "absent" }
                    ));
                }
            },
            None if v2 => return bad("a v2 capture manifest records an HTTP capture".into()),
            None => {}
        }
        self.check_object_claims()?;
        match (&self.browser, self.method) {
            (Some(b), Method::Browser) if v2 => b.check().map_err(ManifestError::Inconsistent)?,
            (None, Method::Browser) => return bad("a browser capture has no browser record".into()),
            (Some(_), Method::Browser) => return bad("a browser capture is v2".into()),
            (Some(_), m) => {
                return bad(format!("method {} has a browser record", m.as_str()));
            }
            (None, _) => {}
        }
        match (&self.warc, self.method) {
            (Some(w), Method::WarcImport) if !v2 => w
                .check(MAX_RECORDED_STRING)
                .map_err(ManifestError::Inconsistent)?,
            (None, Method::WarcImport) => return bad("a WARC import has no warc record".into()),
            (Some(_), Method::WarcImport) => return bad("a WARC import is v1".into()),
            (Some(_), m) => return bad(format!("method {} has a warc record", m.as_str())),
            (None, _) => {}
        }
        if let Some(v) = &self.version {
            match v.change {
                Change::New if v.opened_by.is_some() => {
                    return bad("a new version has no opened_by".into());
                }
                Change::Unchanged if v.previous.is_some() || v.opened_by.is_none() => {
                    return bad("an unchanged version names opened_by and no previous".into());
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::IdPrefix;

    fn sample() -> CaptureManifest {
        let p = IdPrefix::default();
        CaptureManifest {
            manifest_type: ManifestType::Capture,
            origin: "archive.example.org".into(),
            id: RecordId::new(&p, RecordKind::Capture, 2),
            document: DocumentRef {
                id: RecordId::new(&p, RecordKind::Document, 1),
                url: "https://www.ai21.com/privacy-policy".into(),
                entity: Some("AI21 Labs".into()),
                title: Some("AI21 Labs Privacy Policy — “2026”".into()),
            },
            captured_at: "2026-04-30T06:15:21Z".into(),
            method: Method::Http,
            http: Some(HttpExchange {
                request_url: "http://ai21.com/privacy-policy".into(),
                final_url: "https://www.ai21.com/privacy-policy".into(),
                redirects: vec![Redirect {
                    url: "http://ai21.com/privacy-policy".into(),
                    status: 301,
                    location: "https://www.ai21.com/privacy-policy".into(),
                }],
                status: Some(200),
                headers: [("content-type".to_string(), "text/html".to_string())].into(),
                connections: None,
                trust_roots: None,
            }),
            file: None,
            content: Some(ContentInfo {
                sha256: Sha256Digest::of(b"<p>hi</p>"),
                blake3: Blake3Digest::of(b"<p>hi</p>"),
                size: 9,
                media_type: "text/html".into(),
            }),
            text: Some(TextInfo {
                sha256: Sha256Digest::of(b"hi\n"),
                blake3: Blake3Digest::of(b"hi\n"),
                size: 3,
                charset: "UTF-8".into(),
                extractor: Extractor {
                    name: "exhibit-text".into(),
                    version: "1".into(),
                    rules: None,
                },
            }),
            text_omitted: None,
            version: Some(VersionLink {
                id: RecordId::new(&p, RecordKind::Version, 1),
                change: Change::Unchanged,
                previous: None,
                opened_by: Some(RecordLink {
                    id: RecordId::new(&p, RecordKind::Capture, 1),
                    manifest_sha256: Sha256Digest::of(b"m1"),
                }),
            }),
            previous_capture: None,
            error: None,
            signer: "SHA256:abc".into(),
            browser: None,
            warc: None,
        }
    }

    #[test]
    fn canonical_bytes_round_trip_and_sort_keys() {
        let m = sample();
        let bytes = m.to_canonical_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(r#"{"captured_at":"2026-04-30T06:15:21Z","content":{"#));
        assert!(!text.contains('\n'));
        assert_eq!(CaptureManifest::parse(&bytes).unwrap(), m);
    }

    #[test]
    fn oversized_manifests_are_never_produced() {
        let mut m = sample();
        m.error = None;
        m.document.title = Some("t".repeat(MAX_MANIFEST_BYTES));
        assert!(matches!(
            m.to_canonical_bytes(),
            Err(ManifestError::TooLarge(_))
        ));
        assert_eq!(cap_string("héllo", 2), "h…[truncated]");
        assert_eq!(cap_string("hello", 5), "hello");
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hé", 2), "hé");
    }

    #[test]
    fn non_canonical_and_unknown_fields_are_rejected() {
        let m = sample();
        let pretty = serde_json::to_vec_pretty(&m).unwrap();
        assert_eq!(
            CaptureManifest::parse(&pretty),
            Err(ManifestError::NotCanonical)
        );
        let mut v: serde_json::Value =
            serde_json::from_slice(&m.to_canonical_bytes().unwrap()).unwrap();
        v["extra"] = serde_json::json!(1);
        let bytes = serde_json_canonicalizer::to_vec(&v).unwrap();
        assert!(matches!(
            CaptureManifest::parse(&bytes),
            Err(ManifestError::Schema(_))
        ));
        assert!(matches!(
            CaptureManifest::parse(b"\xff\xfe"),
            Err(ManifestError::Schema(_))
        ));
    }

    #[test]
    fn citation_renders_the_filing_shape() {
        let m = sample();
        let facts = crate::citation::RecordFacts::of_capture(&m, Sha256Digest::of(b"m"), None);
        let text = crate::citation::render(&facts, crate::citation::HashForm::Short);
        let want = format!(
            "Citation Record\nEntity: AI21 Labs\nDocument: AI21 Labs Privacy Policy — “2026”\n\
             Record ID: EX-C-000002\nCaptured: 2026-04-30 06:15:21 UTC\nSHA-256: {}…\n\
             URL: https://www.ai21.com/privacy-policy\nAccessed: April 30, 2026\n\
             Document ID: EX-D-000001\nVersion ID: EX-V-000001\nSigned-By: SHA256:abc\n",
            &Sha256Digest::of(b"<p>hi</p>").to_hex()[..16]
        );
        assert_eq!(text, want);
    }

    /// The sample as v2: one connection per request (the redirect, then the final URL).
    fn sample_v2() -> CaptureManifest {
        use crate::connection::{Connection, ObjectRef, TlsSession, TrustRoots};
        let mut m = sample();
        m.manifest_type = ManifestType::CaptureV2;
        let h = m.http.as_mut().unwrap();
        let connection = |url: &str| Connection {
            url: url.into(),
            remote: "192.0.2.7:443".into(),
            connected_at: "2026-04-30T06:15:21Z".into(),
            tls: url.starts_with("https:").then(|| TlsSession {
                server_name: "www.ai21.com".into(),
                chain: vec![ObjectRef::of(b"leaf"), ObjectRef::of(b"intermediate")],
                trusted: true,
                version: Some("TLSv1.3".into()),
                cipher_suite: Some("TLS_AES_128_GCM_SHA256".into()),
                group: Some("x25519".into()),
                alpn: Some("http/1.1".into()),
            }),
            response: None,
        };
        h.connections = Some(vec![
            connection("http://ai21.com/privacy-policy"),
            connection("https://www.ai21.com/privacy-policy"),
        ]);
        h.trust_roots = Some(TrustRoots {
            bundled: "webpki-roots (Mozilla); 1 anchors; sha256:00".into(),
            added: vec![ObjectRef::of(b"root")],
        });
        m
    }

    #[test]
    fn a_kept_response_is_named_bounded_and_absent_when_not_kept() {
        use crate::connection::{MAX_RECORDED_RESPONSE, ObjectRef};
        let m = sample_v2();
        let text = String::from_utf8(m.to_canonical_bytes().unwrap()).unwrap();
        assert!(!text.contains("\"response\""), "absent, not null: {text}");
        let mut m = sample_v2();
        let raw = ObjectRef::of(b"HTTP/1.1 200 OK\r\n\r\n");
        m.http.as_mut().unwrap().connections.as_mut().unwrap()[1].response = Some(raw);
        let bytes = m.to_canonical_bytes().unwrap();
        assert_eq!(CaptureManifest::parse(&bytes).unwrap(), m);
        let named: Vec<_> = m
            .objects()
            .into_iter()
            .filter(|o| o.role == ObjectRole::Response)
            .map(|o| o.sha256)
            .collect();
        assert_eq!(named, [raw.sha256]);
        let over = ObjectRef {
            size: MAX_RECORDED_RESPONSE + 1,
            ..raw
        };
        m.http.as_mut().unwrap().connections.as_mut().unwrap()[1].response = Some(over);
        let e = m.check().unwrap_err().to_string();
        assert!(e.contains("over the 16777216-byte limit"), "{e}");
    }

    #[test]
    fn v2_round_trips_and_names_its_certificates() {
        let m = sample_v2();
        let bytes = m.to_canonical_bytes().unwrap();
        assert_eq!(CaptureManifest::parse(&bytes).unwrap(), m);
        let certs: Vec<_> = m
            .objects()
            .into_iter()
            .filter(|o| o.role == ObjectRole::Certificate)
            .map(|o| o.sha256)
            .collect();
        let want: Vec<_> = [&b"leaf"[..], b"intermediate", b"root"]
            .iter()
            .map(|b| Sha256Digest::of(b))
            .collect();
        assert_eq!(
            certs, want,
            "each certificate once, chains before added roots"
        );
        // v1 bytes are untouched by the v2 keys: absent, not null.
        let v1 = String::from_utf8(sample().to_canonical_bytes().unwrap()).unwrap();
        assert!(!v1.contains("connections") && !v1.contains("trust_roots"));
        let mut v: serde_json::Value = serde_json::from_str(&v1).unwrap();
        v["http"]["connections"] = serde_json::Value::Null;
        let with_null = serde_json_canonicalizer::to_vec(&v).unwrap();
        assert_eq!(
            CaptureManifest::parse(&with_null),
            Err(ManifestError::NotCanonical)
        );
    }

    #[test]
    fn inconsistent_connection_records_are_rejected() {
        type Edit = Box<dyn Fn(&mut CaptureManifest)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "v1 with connections",
                Box::new(|m| m.manifest_type = ManifestType::Capture),
            ),
            (
                "v2 without them",
                Box::new(|m| m.http.as_mut().unwrap().connections = None),
            ),
            (
                "v2 without roots",
                Box::new(|m| m.http.as_mut().unwrap().trust_roots = None),
            ),
            (
                "a connection missing",
                Box::new(|m| {
                    m.http
                        .as_mut()
                        .unwrap()
                        .connections
                        .as_mut()
                        .unwrap()
                        .remove(0);
                }),
            ),
            (
                "connections out of order",
                Box::new(|m| {
                    m.http
                        .as_mut()
                        .unwrap()
                        .connections
                        .as_mut()
                        .unwrap()
                        .swap(0, 1);
                }),
            ),
            (
                "tls on http",
                Box::new(|m| {
                    let c = m.http.as_mut().unwrap().connections.as_mut().unwrap();
                    c[0].tls = c[1].tls.clone();
                }),
            ),
            (
                "no tls on https",
                Box::new(|m| {
                    m.http.as_mut().unwrap().connections.as_mut().unwrap()[1].tls = None;
                }),
            ),
            (
                "a host name as remote",
                Box::new(|m| {
                    m.http.as_mut().unwrap().connections.as_mut().unwrap()[1].remote =
                        "www.ai21.com:443".into();
                }),
            ),
            (
                "a non-canonical remote",
                Box::new(|m| {
                    m.http.as_mut().unwrap().connections.as_mut().unwrap()[1].remote =
                        "[0:0::1]:443".into();
                }),
            ),
            (
                "a loose time",
                Box::new(|m| {
                    m.http.as_mut().unwrap().connections.as_mut().unwrap()[1].connected_at =
                        "2026-04-30T06:15:21.5Z".into();
                }),
            ),
            (
                "success over an untrusted chain",
                Box::new(|m| {
                    let c = m.http.as_mut().unwrap().connections.as_mut().unwrap();
                    c[1].tls.as_mut().unwrap().trusted = false;
                }),
            ),
            (
                "trusted without a chain",
                Box::new(|m| {
                    let c = m.http.as_mut().unwrap().connections.as_mut().unwrap();
                    c[1].tls.as_mut().unwrap().chain.clear();
                }),
            ),
            (
                "trusted without a version",
                Box::new(|m| {
                    let c = m.http.as_mut().unwrap().connections.as_mut().unwrap();
                    c[1].tls.as_mut().unwrap().version = None;
                }),
            ),
            (
                "an overlong chain",
                Box::new(|m| {
                    let c = m.http.as_mut().unwrap().connections.as_mut().unwrap();
                    let chain = &mut c[1].tls.as_mut().unwrap().chain;
                    *chain = vec![chain[0]; crate::connection::MAX_CHAIN_CERTIFICATES + 1];
                }),
            ),
            (
                "a v2 file capture",
                Box::new(|m| {
                    m.method = Method::File;
                    m.http = None;
                    m.file = Some(FileSource { path: "/p".into() });
                }),
            ),
        ];
        for (what, change) in cases {
            let mut m = sample_v2();
            change(&mut m);
            assert!(
                matches!(m.check(), Err(ManifestError::Inconsistent(_))),
                "{what}: {:?}",
                m.check()
            );
        }
        // One SHA-256 claimed with another size (a second role would go unchecked).
        let mut m = sample_v2();
        let h = m.http.as_mut().unwrap();
        let mut forged = h.trust_roots.as_ref().unwrap().added[0];
        forged.sha256 = h.connections.as_ref().unwrap()[1]
            .tls
            .as_ref()
            .unwrap()
            .chain[0]
            .sha256;
        h.trust_roots.as_mut().unwrap().added = vec![forged];
        assert!(
            matches!(m.check(), Err(ManifestError::Inconsistent(ref e)) if e.contains("two different")),
            "{:?}",
            m.check()
        );
        // A failure may lack the last connection (none was made), and may be untrusted.
        let mut m = sample_v2();
        m.manifest_type = ManifestType::CaptureFailureV2;
        m.version = None;
        m.text = None;
        m.error = Some("TLS handshake failed: invalid peer certificate: UnknownIssuer".into());
        m.http.as_mut().unwrap().connections.as_mut().unwrap()[1]
            .tls
            .as_mut()
            .unwrap()
            .trusted = false;
        m.check().unwrap();
        m.http.as_mut().unwrap().connections.as_mut().unwrap().pop();
        m.check().unwrap();
    }

    #[test]
    fn inconsistent_manifests_are_rejected() {
        let mut m = sample();
        m.manifest_type = ManifestType::CaptureFailure;
        assert!(matches!(m.check(), Err(ManifestError::Inconsistent(_))));
        let mut m = sample();
        m.method = Method::File;
        assert!(m.check().is_err());
        let mut m = sample();
        m.captured_at = "2026-04-30 06:15:21".into();
        assert!(m.check().is_err());
        let mut m = sample();
        m.document.id = RecordId::new(&IdPrefix::default(), RecordKind::Version, 1);
        assert!(m.check().is_err());
    }
}
