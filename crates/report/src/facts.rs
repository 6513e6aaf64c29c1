//! What a report states, read from a bag alone (docs/FORMAT.md §16.2): the machine-readable
//! facts carried inside the report (`exhibit-report.json`), from which `compose` writes every
//! sentence. Only signed material is read — the manifests, their log proofs, the checkpoint,
//! the time-stamp tokens and the objects the manifests name, each checked against the digest
//! its manifest signs — never the bag's name, the BagIt tag files, VERIFY.txt or the catalog,
//! so the facts are the same whoever derives them from the same records.
//!
//! Not for checking any of it: `exhibit-verify` does that first (checks 1 to 13), and then
//! rebuilds the report from these facts (check 14).

use std::collections::BTreeMap;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout;
use exhibit_core::checkpoint::{Checkpoint, TlogProof, base64_encode, split_note};
use exhibit_core::manifest::Change;
use exhibit_core::{AnyManifest, CaptureManifest, ProvisionManifest, Sha256Digest};
use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::certs::{CertificateFacts, certificate_facts};

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
    /// `http`, `file` or `browser`.
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

/// Reads the facts of `bag`, generated by `generator` at `generated_at` (RFC 3339 seconds).
pub fn from_bag(bag: &ReadBag, generated_at: &str, generator: &str) -> Result<Facts, ReportError> {
    let mut manifests: Vec<(String, &[u8], AnyManifest)> = Vec::new();
    for (path, file) in &bag.files {
        if !(path.starts_with("exhibit/manifests/") && path.ends_with(".json")) {
            continue;
        }
        let bytes = file
            .bytes
            .as_deref()
            .ok_or_else(|| ReportError::Bag(format!("{path}: not read")))?;
        let manifest = AnyManifest::parse(bytes)
            .map_err(|e| ReportError::Bag(format!("{path}: not a manifest: {e}")))?;
        manifests.push((path.clone(), bytes, manifest));
    }
    if manifests.is_empty() {
        return Err(ReportError::Bag("the bag holds no record".into()));
    }
    // Captures first, then provisions, each by id (path order is id order within a kind).
    manifests.sort_by_key(|(path, _, m)| (matches!(m, AnyManifest::Provision(_)), path.clone()));
    let by_manifest_sha: BTreeMap<String, &CaptureManifest> = manifests
        .iter()
        .filter_map(|(_, bytes, m)| match m {
            AnyManifest::Capture(c) => Some((Sha256Digest::of(bytes).to_hex(), c)),
            AnyManifest::Provision(_) => None,
        })
        .collect();

    let mut records = Vec::new();
    let mut signers = Vec::new();
    check_kept_in_path_order(bag)?;
    let mut diff_budget = crate::diff::MAX_COMPARED_BYTES;
    let mut checkpoints = Vec::new();
    for (path, bytes, manifest) in &manifests {
        let (log_index, note) = proof_of(bag, manifest.id())?;
        if let Some(note) = note {
            checkpoints.push(note);
        }
        let seal = SealFacts {
            manifest_file: path.clone(),
            manifest_sha256: Sha256Digest::of(bytes).to_hex(),
            signer: manifest.signer().to_owned(),
            log_index,
        };
        signers.push(seal.signer.clone());
        records.push(match manifest {
            AnyManifest::Capture(m) => RecordFacts::Capture(Box::new(capture_facts(
                bag,
                m,
                seal,
                &by_manifest_sha,
                &mut diff_budget,
            ))),
            AnyManifest::Provision(p) => RecordFacts::Provision(Box::new(provision_facts(p, seal))),
        });
    }
    signers.sort();
    signers.dedup();
    checkpoints.sort();
    checkpoints.dedup();
    let checkpoint = match checkpoints.as_slice() {
        [note] => Some(checkpoint_facts(note)?),
        _ => None,
    };
    let timestamps = match &checkpoint {
        Some(_) => timestamp_facts(bag),
        None => Vec::new(),
    };
    let origin = manifests
        .first()
        .map(|(_, _, m)| m.origin().to_owned())
        .unwrap_or_default();
    Facts {
        report_type: REPORT_TYPE.into(),
        layout: LAYOUT.into(),
        id: String::new(),
        generated_at: generated_at.to_owned(),
        generator: generator.to_owned(),
        origin,
        signers,
        checkpoint,
        timestamps,
        records,
    }
    .with_id()
}

/// A record's leaf index and checkpoint note, from its proof file (none when it has none).
fn proof_of(
    bag: &ReadBag,
    id: &exhibit_core::RecordId,
) -> Result<(Option<u64>, Option<String>), ReportError> {
    let path = layout::proof_path(id);
    let Some(bytes) = bag.tag(&path) else {
        return Ok((None, None));
    };
    let text =
        std::str::from_utf8(bytes).map_err(|_| ReportError::Bag(format!("{path}: not UTF-8")))?;
    let proof = TlogProof::parse(text).map_err(|e| ReportError::Bag(format!("{path}: {e}")))?;
    Ok((Some(proof.index), Some(proof.checkpoint)))
}

fn checkpoint_facts(note: &str) -> Result<CheckpointFacts, ReportError> {
    let (body, _) = split_note(note).map_err(|e| ReportError::Bag(format!("checkpoint: {e}")))?;
    let checkpoint =
        Checkpoint::parse(body).map_err(|e| ReportError::Bag(format!("checkpoint: {e}")))?;
    Ok(CheckpointFacts {
        origin: checkpoint.origin,
        size: checkpoint.size,
        root: base64_encode(&checkpoint.root),
        note_sha256: Sha256Digest::of(note.as_bytes()).to_hex(),
    })
}

/// The tokens in the bag that parse (a token that does not is the verifier's business; the
/// report leaves it out).
fn timestamp_facts(bag: &ReadBag) -> Vec<TimestampFacts> {
    let mut out = Vec::new();
    for path in bag.files.keys() {
        if !(path.ends_with(".tsr") && layout::is_timestamp_path(path)) {
            continue;
        }
        let Some(bytes) = bag.tag(path) else { continue };
        let Ok(token) = exhibit_timestamp::Token::parse_response(bytes) else {
            continue;
        };
        let info = token.info();
        let no_later_than = chrono::DateTime::from_timestamp(info.no_later_than_unix(), 0)
            .map(exhibit_core::time::format_rfc3339_seconds)
            .unwrap_or_default();
        out.push(TimestampFacts {
            file: path.clone(),
            tsa: info.signer.clone(),
            tsa_certificate_sha256: token
                .signer_certificate_der()
                .map(|der| Sha256Digest::of(&der).to_hex()),
            gen_time: info.gen_time.clone(),
            accuracy: info.accuracy.map(|a| a.to_string()),
            no_later_than,
            serial: info.serial.clone(),
            policy: info.policy.clone(),
        });
    }
    out
}

fn object_facts(
    path: String,
    sha256: &Sha256Digest,
    blake3: &str,
    size: u64,
    media: &str,
) -> ObjectFacts {
    ObjectFacts {
        file: path,
        sha256: sha256.to_hex(),
        blake3: blake3.to_owned(),
        size,
        media_type: media.to_owned(),
    }
}

/// The facts of capture `m`. `diff_budget` is what is left of the characters the whole report
/// may compare (`diff::MAX_COMPARED_BYTES`): a comparison that does not fit is not made.
fn capture_facts(
    bag: &ReadBag,
    m: &CaptureManifest,
    seal: SealFacts,
    by_manifest_sha: &BTreeMap<String, &CaptureManifest>,
    diff_budget: &mut usize,
) -> CaptureFacts {
    let content = m.content.as_ref().map(|c| {
        object_facts(
            layout::content_path(&c.sha256, &c.media_type),
            &c.sha256,
            &c.blake3.to_hex(),
            c.size,
            &c.media_type,
        )
    });
    let text = m.text.as_ref().map(|t| TextFacts {
        object: object_facts(
            layout::text_path(&t.sha256),
            &t.sha256,
            &t.blake3.to_hex(),
            t.size,
            "text/plain; charset=utf-8",
        ),
        charset: t.charset.clone(),
        extractor: format!("{} {}", t.extractor.name, t.extractor.version),
    });
    let version = m.version.as_ref().map(|v| {
        let previous_capture = v
            .previous
            .as_ref()
            .and_then(|p| by_manifest_sha.get(&p.manifest_sha256.to_hex()))
            .copied();
        let lines_changed = previous_capture.and_then(|prev| {
            // The budget is checked on the signed sizes before a byte is read.
            let cost = prev
                .text
                .as_ref()?
                .size
                .saturating_add(m.text.as_ref()?.size);
            let cost = usize::try_from(cost).unwrap_or(usize::MAX);
            if cost > *diff_budget {
                return None;
            }
            let old = text_of(bag, prev)?;
            let new = text_of(bag, m)?;
            if crate::diff::too_large(old, new) {
                return None;
            }
            *diff_budget -= cost;
            crate::diff::count(old, new)
        });
        VersionFacts {
            id: v.id.to_string(),
            change: match v.change {
                Change::New => "new".into(),
                Change::Unchanged => "unchanged".into(),
            },
            previous_version: v.previous.as_ref().map(|p| p.id.to_string()),
            previous_capture_in_bag: previous_capture.map(|c| c.id.to_string()),
            opened_by: v.opened_by.as_ref().map(|o| o.id.to_string()),
            lines_changed,
        }
    });
    let http = m.http.as_ref().map(|h| HttpFacts {
        request_url: h.request_url.clone(),
        final_url: h.final_url.clone(),
        redirects: h
            .redirects
            .iter()
            .map(|r| (r.status, r.url.clone(), r.location.clone()))
            .collect(),
        status: h.status,
        headers: h.headers.clone(),
    });
    let connections = m
        .http
        .iter()
        .flat_map(|h| h.connections.iter().flatten())
        .map(|c| ConnectionFacts {
            url: c.url.clone(),
            remote: c.remote.clone(),
            connected_at: c.connected_at.clone(),
            tls: c.tls.as_ref().map(|t| TlsFacts {
                server_name: t.server_name.clone(),
                version: t.version.clone(),
                cipher_suite: t.cipher_suite.clone(),
                trusted: t.trusted,
                chain: t
                    .chain
                    .iter()
                    .map(|r| certificate_in(bag, &r.sha256))
                    .collect(),
            }),
        })
        .collect();
    let trust_roots = m
        .http
        .as_ref()
        .and_then(|h| h.trust_roots.as_ref())
        .map(|t| {
            if t.added.is_empty() {
                t.bundled.clone()
            } else {
                format!("{} and {} added root(s)", t.bundled, t.added.len())
            }
        });
    let browser = m.browser.as_ref().map(|b| {
        let named = |r: &exhibit_core::connection::ObjectRef, path: String, media: &str| {
            object_facts(path, &r.sha256, &r.blake3.to_hex(), r.size, media)
        };
        BrowserFacts {
            product: b.product.clone(),
            user_agent: b.user_agent.clone(),
            recorder: b.recorder.clone(),
            viewport: format!("{}x{}", b.viewport.width, b.viewport.height),
            flags: b.flags.clone(),
            sandboxed: b.sandboxed,
            waited_for: b.waited_for.clone(),
            timed_out: b.timed_out.clone(),
            dom: named(&b.dom, object_path(m, &b.dom.sha256), "text/html"),
            screenshot: b
                .screenshot
                .as_ref()
                .map(|s| named(s, object_path(m, &s.sha256), "image/png")),
            pdf: b
                .pdf
                .as_ref()
                .map(|s| named(s, object_path(m, &s.sha256), "application/pdf")),
            resources: (b.resources.len() as u64, b.resources_omitted),
        }
    });
    CaptureFacts {
        id: m.id.to_string(),
        manifest_type: m.manifest_type.as_str().to_owned(),
        document: m.document.clone(),
        captured_at: m.captured_at.clone(),
        method: m.method.as_str().to_owned(),
        http,
        file: m.file.as_ref().map(|f| f.path.clone()),
        content,
        text,
        text_omitted: m.text_omitted.clone(),
        version,
        previous_capture: m.previous_capture.as_ref().map(|p| p.id.to_string()),
        error: m.error.clone(),
        connections,
        trust_roots,
        browser,
        seal,
    }
}

/// The bag path of the object of `m` with this SHA-256 (one mapping: `layout::object_path`).
fn object_path(m: &CaptureManifest, sha256: &Sha256Digest) -> String {
    m.objects()
        .iter()
        .find(|o| &o.sha256 == sha256)
        .map(layout::object_path)
        .unwrap_or_default()
}

fn provision_facts(p: &ProvisionManifest, seal: SealFacts) -> ProvisionFacts {
    ProvisionFacts {
        id: p.id.to_string(),
        document: p.document.clone(),
        version: p.version.to_string(),
        capture: p.capture.id.to_string(),
        text_sha256: p.text.sha256.to_hex(),
        quote: p.quote.text.clone(),
        quote_sha256: p.quote.sha256.to_hex(),
        chars: (p.quote.char_start, p.quote.char_end),
        bytes: (p.quote.byte_start, p.quote.byte_end),
        occurrence: p.quote.occurrence,
        created_at: p.created_at.clone(),
        seal,
    }
}

/// What the certificate `sha256` of a chain says, from the bag's copy when it holds (and a
/// reader kept) one matching that digest.
fn certificate_in(bag: &ReadBag, sha256: &Sha256Digest) -> CertificateFacts {
    let path = layout::certificate_path(sha256);
    match payload(bag, &path, sha256) {
        Some(der) => certificate_facts(der),
        None if bag.files.get(&path).is_some_and(|f| f.sha256 != *sha256) => {
            CertificateFacts::unreadable(*sha256, "(the bundle's file does not match its digest)")
        }
        None if bag.files.contains_key(&path) => CertificateFacts::unreadable(
            *sha256,
            "(in the bundle, beyond what a report reads of certificates)",
        ),
        None => CertificateFacts::absent(*sha256),
    }
}

/// The bytes of the payload file at `path` when a reader keeps it and its SHA-256 (as the
/// reader computed it while reading, so nothing is hashed again here) is `sha256`.
pub(crate) fn payload<'a>(bag: &'a ReadBag, path: &str, sha256: &Sha256Digest) -> Option<&'a [u8]> {
    let file = bag.files.get(path)?;
    if file.sha256 != *sha256 {
        return None;
    }
    bag.payload(path)
}

/// [`payload`] for a hex digest (as the facts carry them).
pub(crate) fn payload_hex<'a>(bag: &'a ReadBag, path: &str, sha256: &str) -> Option<&'a [u8]> {
    let file = bag.files.get(path)?;
    if file.sha256.to_hex() != sha256 {
        return None;
    }
    bag.payload(path)
}

/// Checks that the payload files a reader kept are those it keeps reading the bag in path order
/// (`layout::KeptSoFar`): the order the bundle writer writes and `view` reads. A bag re-packed in
/// another order, with more of a kind than its budget, has other files kept, and its report
/// cannot be made again from it.
fn check_kept_in_path_order(bag: &ReadBag) -> Result<(), ReportError> {
    let mut kept = layout::KeptSoFar::default();
    for (path, file) in &bag.files {
        let by_rule = path.starts_with("data/") && kept.admit(path, file.size);
        if layout::Kept::of(path).is_some() && by_rule != file.bytes.is_some() {
            return Err(ReportError::Bag(format!(
                "{path}: the bag's files are not in path order and exceed what a reader keeps, \
                 so the report cannot be made from it again (re-pack it sorted by path)"
            )));
        }
    }
    Ok(())
}

/// A capture's extracted text, when the bag holds it (kept, matching its SHA-256) and it is
/// UTF-8.
pub(crate) fn text_of<'a>(bag: &'a ReadBag, m: &CaptureManifest) -> Option<&'a str> {
    let t = m.text.as_ref()?;
    let bytes = payload(bag, &layout::text_path(&t.sha256), &t.sha256)?;
    std::str::from_utf8(bytes).ok()
}
