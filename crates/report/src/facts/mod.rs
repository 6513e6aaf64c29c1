//! What a report states, read from a bag alone (docs/FORMAT.md §16.2): the machine-readable
//! facts carried inside the report (`exhibit-report.json`), from which `compose` writes every
//! sentence. Only signed material is read — the manifests, their log proofs, the checkpoint,
//! the time-stamp tokens and the objects the manifests name, each checked against the digest
//! its manifest signs — never the bag's name, the BagIt tag files, VERIFY.txt or the catalog,
//! so the facts are the same whoever derives them from the same records.
//!
//! The types are here; reading them from a bag is `read`.
//!
//! Not for checking any of it: `exhibit-verify` does that first (checks 1 to 13), and then
//! rebuilds the report from these facts (check 14).

mod read;

use std::collections::BTreeMap;

use exhibit_core::Sha256Digest;
use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::certs::CertificateFacts;

pub use read::from_bag;
pub(crate) use read::payload_hex;

/// The report schema, `type` of [`Facts`].
pub const REPORT_TYPE: &str = "exhibit.report/v1";

/// The layout version: which typesetting of the facts the report's bytes are. A verifier
/// rebuilds only a layout it knows; any change to the output bytes of `compose`, `html` or
/// `pdf` for the same facts needs a new layout version.
pub const LAYOUT: &str = "exhibit-report-layout/1";

/// Everything a report states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// [`REPORT_TYPE`].
    #[serde(rename = "type")]
    pub report_type: String,
    /// [`LAYOUT`].
    pub layout: String,
    /// The report id: `R-` and the first 20 hex digits of the SHA-256 of these facts with an
    /// empty id (see [`Facts::with_id`]).
    pub id: String,
    /// When the report was generated (RFC 3339, UTC, seconds).
    pub generated_at: String,
    /// What generated it (`exhibit 0.1.0`): like the time, the maker's statement, not read
    /// from the records.
    pub generator: String,
    /// The archive origin of the records.
    pub origin: String,
    /// The fingerprints of every key that signed a record, sorted.
    pub signers: Vec<String>,
    /// The checkpoint every record's log proof refers to, when there is exactly one.
    pub checkpoint: Option<CheckpointFacts>,
    /// The RFC 3161 tokens over that checkpoint, in bag-path order.
    pub timestamps: Vec<TimestampFacts>,
    /// The records, captures first, each kind by id.
    pub records: Vec<RecordFacts>,
}

/// The signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointFacts {
    /// The log's origin line.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash, base64 (as the note writes it).
    pub root: String,
    /// SHA-256 of the whole signed note (`exhibit/checkpoint`).
    pub note_sha256: String,
}

/// One RFC 3161 token over the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampFacts {
    /// The token's bag path.
    pub file: String,
    /// The subject of the certificate that signed the token: what the TSA calls itself, which
    /// only a check against the TSA's CA certificate confirms.
    pub tsa: String,
    /// SHA-256 of that certificate (DER), when the token carries it.
    pub tsa_certificate_sha256: Option<String>,
    /// genTime (RFC 3339, UTC).
    pub gen_time: String,
    /// The accuracy stated, if any (`±1 s`).
    pub accuracy: Option<String>,
    /// genTime plus accuracy, rounded up to the second: what the token bounds.
    pub no_later_than: String,
    /// The token's serial number (hex).
    pub serial: String,
    /// The TSA policy OID.
    pub policy: String,
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum RecordFacts {
    /// A capture (successful or failed).
    Capture(Box<CaptureFacts>),
    /// A provision.
    Provision(Box<ProvisionFacts>),
}

/// Where a record sits in the log and who signed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealFacts {
    /// The manifest's bag path.
    pub manifest_file: String,
    /// SHA-256 of the manifest bytes (what the signature and the log leaf cover).
    pub manifest_sha256: String,
    /// The signer's fingerprint.
    pub signer: String,
    /// The leaf index its proof gives, if it has a proof.
    pub log_index: Option<u64>,
}

/// A capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureFacts {
    /// The record id.
    pub id: String,
    /// The manifest type (`exhibit.capture/v2`).
    pub manifest_type: String,
    /// The document: id, URL, entity, title.
    pub document: exhibit_core::manifest::DocumentRef,
    /// The capture time the signer claims.
    pub captured_at: String,
    /// `http`, `file`, `stdin`, `browser` or `warc-import`.
    pub method: String,
    /// The HTTP exchange (URLs, redirects, status, headers), if any.
    pub http: Option<HttpFacts>,
    /// The file read, for a file capture.
    pub file: Option<String>,
    /// The captured bytes.
    pub content: Option<ObjectFacts>,
    /// The extracted text.
    pub text: Option<TextFacts>,
    /// Why no text was extracted, if so.
    pub text_omitted: Option<String>,
    /// The version: id, new or unchanged, and the previous version.
    pub version: Option<VersionFacts>,
    /// The document's previous capture.
    pub previous_capture: Option<String>,
    /// For a failure: what went wrong.
    pub error: Option<String>,
    /// The TLS connections made.
    pub connections: Vec<ConnectionFacts>,
    /// The trust roots the handshakes were checked against.
    pub trust_roots: Option<String>,
    /// What the browser did, for a browser capture.
    pub browser: Option<BrowserFacts>,
    /// The WARC file and record, for a capture imported from one (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warc: Option<exhibit_core::warc_source::WarcSource>,
    /// The signature and log position.
    pub seal: SealFacts,
}

/// The HTTP exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFacts {
    /// The URL first requested.
    pub request_url: String,
    /// The URL of the last response.
    pub final_url: String,
    /// The redirects followed: status, from, to.
    pub redirects: Vec<(u16, String, String)>,
    /// The final status.
    pub status: Option<u16>,
    /// The recorded response headers.
    pub headers: BTreeMap<String, String>,
}

/// An object's digests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFacts {
    /// Its bag path.
    pub file: String,
    /// SHA-256.
    pub sha256: String,
    /// BLAKE3.
    pub blake3: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
}

/// The extracted text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextFacts {
    /// The text object.
    pub object: ObjectFacts,
    /// The charset decoded from.
    pub charset: String,
    /// `name version` of the extractor.
    pub extractor: String,
}

/// The version a capture belongs to, and its change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionFacts {
    /// The version id.
    pub id: String,
    /// `new` or `unchanged`.
    pub change: String,
    /// For `new`: the previous version's id.
    pub previous_version: Option<String>,
    /// For `new`: the capture that opened the previous version, when it is in the bag (its
    /// manifest's SHA-256 is the one this manifest pins).
    pub previous_capture_in_bag: Option<String>,
    /// For `unchanged`: the capture that opened this version.
    pub opened_by: Option<String>,
    /// Lines added and removed since the previous version, when the two texts were compared:
    /// both are in the bag (and were read) and fit what is left of the report's comparison
    /// budget (`diff::MAX_COMPARED_BYTES`, spent in record order) and `diff::MAX_LINES`.
    pub lines_changed: Option<(u64, u64)>,
}

/// One TCP/TLS connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionFacts {
    /// The URL requested over it.
    pub url: String,
    /// The peer address.
    pub remote: String,
    /// When it was made.
    pub connected_at: String,
    /// The TLS session, if any: server name, version, cipher suite, trusted.
    pub tls: Option<TlsFacts>,
}

/// A TLS session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFacts {
    /// The SNI name.
    pub server_name: String,
    /// The protocol version.
    pub version: Option<String>,
    /// The cipher suite.
    pub cipher_suite: Option<String>,
    /// Whether the capturing machine found the chain trusted.
    pub trusted: bool,
    /// The certificates, leaf first.
    pub chain: Vec<CertificateFacts>,
}

/// A browser capture's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserFacts {
    /// The browser (product and version).
    pub product: String,
    /// The user agent it sent.
    pub user_agent: String,
    /// The recorder (`exhibit …`).
    pub recorder: String,
    /// Viewport `WxH`.
    pub viewport: String,
    /// Launch flags.
    pub flags: Vec<String>,
    /// Whether it ran sandboxed.
    pub sandboxed: bool,
    /// What it waited for.
    pub waited_for: Vec<String>,
    /// Why the wait ended early, if it did.
    pub timed_out: Option<String>,
    /// The rendered DOM.
    pub dom: ObjectFacts,
    /// The screenshot.
    pub screenshot: Option<ObjectFacts>,
    /// The browser's PDF print.
    pub pdf: Option<ObjectFacts>,
    /// Responses recorded, and responses left out.
    pub resources: (u64, u64),
}

/// A provision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionFacts {
    /// The record id.
    pub id: String,
    /// The document.
    pub document: exhibit_core::manifest::DocumentRef,
    /// The version quoted.
    pub version: String,
    /// The capture that opened it.
    pub capture: String,
    /// SHA-256 of the version's text.
    pub text_sha256: String,
    /// The quoted passage, exactly.
    pub quote: String,
    /// SHA-256 of the passage.
    pub quote_sha256: String,
    /// Characters `[start, end)` in the text.
    pub chars: (u64, u64),
    /// Bytes `[start, end)` in the text.
    pub bytes: (u64, u64),
    /// Which occurrence of the passage.
    pub occurrence: u64,
    /// When the provision was recorded, as the signer claims.
    pub created_at: String,
    /// The signature and log position.
    pub seal: SealFacts,
}

impl Facts {
    /// The facts with their id set from their own hash (the id field empty while hashing).
    pub fn with_id(mut self) -> Result<Facts, ReportError> {
        self.id = String::new();
        let bytes = serde_json::to_vec(&self).map_err(|e| ReportError::Facts(e.to_string()))?;
        self.id = format!("R-{}", &Sha256Digest::of(&bytes).to_hex()[..20]);
        Ok(self)
    }

    /// The facts as carried in the report: pretty JSON, fields in declaration order.
    pub fn to_json(&self) -> Result<Vec<u8>, ReportError> {
        let mut out =
            serde_json::to_vec_pretty(self).map_err(|e| ReportError::Facts(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Each record's id and the SHA-256 that identifies what it holds: a capture's bytes (its
    /// manifest's, for a capture without content), a provision's passage.
    pub fn identified(&self) -> Vec<(String, String)> {
        self.records
            .iter()
            .map(|r| match r {
                RecordFacts::Capture(c) => (
                    c.id.clone(),
                    c.content
                        .as_ref()
                        .map_or_else(|| c.seal.manifest_sha256.clone(), |x| x.sha256.clone()),
                ),
                RecordFacts::Provision(p) => (p.id.clone(), p.quote_sha256.clone()),
            })
            .collect()
    }

    /// The captures, in order.
    pub fn captures(&self) -> impl Iterator<Item = &CaptureFacts> {
        self.records.iter().filter_map(|r| match r {
            RecordFacts::Capture(c) => Some(c.as_ref()),
            RecordFacts::Provision(_) => None,
        })
    }
}

/// What generates reports: this build of exhibit.
pub const GENERATOR: &str = concat!("exhibit ", env!("CARGO_PKG_VERSION"));

/// Whether `s` is a generator a report may name: `exhibit ` and a version of at most 32 ASCII
/// letters, digits, `.`, `+` or `-` (so that a report cannot claim another maker).
pub fn is_generator(s: &str) -> bool {
    s.strip_prefix("exhibit ").is_some_and(|v| {
        !v.is_empty()
            && v.len() <= 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
    })
}
