//! Checks 6 to 8, 11 and 12: the signed records — each manifest parses and is stored under its
//! own id, is signed by its signer's key in the bundle, is a leaf of the log at a position of
//! its own, and describes (or, for a provision, quotes) exactly the bytes in the bundle; all
//! proofs are against one checkpoint; and no proof or payload file is left over.
//!
//! Not for the bag's own integrity (checks 1 to 5) nor for timestamps (checks 9 and 10), which
//! use what these checks found ([`RecordsFound`]).

use std::collections::{BTreeMap, BTreeSet};

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout;
use exhibit_core::checkpoint::{Checkpoint, TlogProof, base64_encode};
use exhibit_core::manifest::ObjectRole;
use exhibit_core::merkle;
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::{AnyManifest, CaptureManifest, RecordId};
use exhibit_sign::PublicKey;
use exhibit_sign::history::KeyHistory;
use exhibit_sign::note::SignedNote;

use crate::error::VerifyError;
use crate::report::{Checks, RecordSummary};

/// What checks 6 and 7 found, for the checks after them and for the report.
#[derive(Debug, Default)]
pub(super) struct RecordsFound {
    /// A summary of each record, in path order.
    pub(super) records: Vec<RecordSummary>,
    /// Every key that signed something: the seal's, and each record's signer whose key and
    /// signature file are in the bundle.
    pub(super) signers: BTreeSet<String>,
    /// The signed checkpoint notes the verified log proofs refer to.
    pub(super) checkpoints: BTreeSet<String>,
    /// Each record in a verified log position, with the time its signer claims for it:
    /// (id, what the time is of, RFC 3339 time).
    pub(super) claimed_times: Vec<(String, &'static str, String)>,
    /// The proof path of every record (present or not).
    proofs_seen: BTreeSet<String>,
    /// The payload files the capture manifests describe.
    referenced: BTreeSet<String>,
    /// The record at each verified leaf index.
    indices: BTreeMap<u64, String>,
}

/// What a record is checked against: the bag, its keys (check 4) and its parsed capture
/// manifests by id.
struct Held<'a> {
    bag: &'a ReadBag,
    keys: &'a BTreeMap<String, PublicKey>,
    history: Option<&'a KeyHistory>,
    captures: BTreeMap<String, &'a CaptureManifest>,
}

/// A record's verified place in the log: (leaf index, tree size, checkpoint root in base64).
type LogPosition = (u64, u64, String);

/// Check 6, the manifests: it proves that the bundle holds at least one record (else it is
/// not an evidence bundle, an error) and reports each `exhibit/manifests/*.json` that is not a
/// valid, canonical exhibit manifest. Then runs check 7 on every manifest that parsed.
pub(super) fn check_records(
    c: &mut Checks,
    bag: &ReadBag,
    keys: &BTreeMap<String, PublicKey>,
    history: Option<&KeyHistory>,
    sealed_by: Option<&String>,
) -> Result<RecordsFound, VerifyError> {
    let mut found = RecordsFound {
        signers: sealed_by.into_iter().cloned().collect(),
        ..RecordsFound::default()
    };
    let manifests: Vec<&String> = bag
        .files
        .keys()
        .filter(|p| p.starts_with("exhibit/manifests/") && p.ends_with(".json"))
        .collect();
    if manifests.is_empty() {
        return Err(VerifyError::Malformed(format!(
            "bag {:?} holds no exhibit/manifests/*.json: not an exhibit evidence bundle",
            bag.name
        )));
    }
    // Parse every manifest first: a provision is checked against its capture's manifest.
    let mut parsed: Vec<(&String, &[u8], AnyManifest)> = Vec::new();
    for path in manifests {
        let bytes = bag.tag(path).unwrap_or_default();
        match AnyManifest::parse(bytes) {
            Ok(m) => parsed.push((path, bytes, m)),
            Err(e) => c.fail(
                path,
                "is a valid, canonical exhibit manifest",
                "exhibit.capture/v1 or /v2, exhibit.capture-failure/v1 or /v2, or exhibit.provision/v1",
                e.to_string(),
            ),
        }
    }
    let captures: BTreeMap<String, &CaptureManifest> = parsed
        .iter()
        .filter_map(|(_, _, m)| match m {
            AnyManifest::Capture(m) => Some((m.id.to_string(), m)),
            AnyManifest::Provision(_) => None,
        })
        .collect();
    let held = Held {
        bag,
        keys,
        history,
        captures,
    };
    for (path, bytes, any) in &parsed {
        check_record(c, &held, path, bytes, any, &mut found);
    }
    Ok(found)
}

/// Check 7, one record: it proves, in this order, that (a) its manifest is stored under its
/// own id, (b) its signature verifies with its signer's key in the bundle, (c) it is a leaf of
/// the log at a position no other record has, in a checkpoint signed by that key, and (d) a
/// provision quotes the text of the capture it pins, or (e) a capture's content and text files
/// are byte for byte what it describes.
fn check_record(
    c: &mut Checks,
    held: &Held<'_>,
    path: &String,
    bytes: &[u8],
    any: &AnyManifest,
    found: &mut RecordsFound,
) {
    let Held {
        bag,
        keys,
        history,
        captures,
    } = held;
    let record_id = any.id();
    let signer = any.signer().to_owned();
    let id = record_id.to_string();
    c.check(
        layout::manifest_path(record_id) == *path,
        path,
        "file name matches the record id",
        layout::manifest_path(record_id),
        path.clone(),
    );
    if check_signature(c, bag, keys, path, bytes, &id, &signer) {
        found.signers.insert(signer.clone());
    }
    let log_position = match history {
        Some(h) => check_log_position(c, bag, Signers::History(h), any, bytes, found),
        None => check_log_position(c, bag, Signers::One(keys.get(&signer)), any, bytes, found),
    };
    found.proofs_seen.insert(layout::proof_path(record_id));
    if log_position.is_some() {
        found.claimed_times.push(match any {
            AnyManifest::Capture(m) => (id.clone(), "capture", m.captured_at.clone()),
            AnyManifest::Provision(p) => (id.clone(), "creation", p.created_at.clone()),
        });
    }
    let mut s = match any {
        AnyManifest::Provision(p) => {
            check_provision(c, bag, p, captures);
            provision_summary(p, captures.get(&p.capture.id.to_string()).copied())
        }
        AnyManifest::Capture(m) => {
            check_described_files(c, bag, m, &id, &mut found.referenced);
            summary(m)
        }
    };
    if let Some((index, size, root)) = log_position {
        s.log_index = Some(index);
        s.tree_size = Some(size);
        s.checkpoint_root = Some(root);
    }
    found.records.push(s);
}

/// Check 7b: the signature file beside the manifest at `path` verifies with the signer's key
/// in the bundle. Returns whether both were there (the signer then counts as a signer of the
/// bundle, verified or not: a bad signature fails this check).
fn check_signature(
    c: &mut Checks,
    bag: &ReadBag,
    keys: &BTreeMap<String, PublicKey>,
    path: &str,
    bytes: &[u8],
    id: &str,
    signer: &str,
) -> bool {
    let sig_path = format!("{path}.sig");
    match (bag.tag(&sig_path), keys.get(signer)) {
        (None, _) => {
            c.fail(id, "signature file present", sig_path, "missing");
            false
        }
        (_, None) => {
            c.fail(
                id,
                "signer's key is in the bundle",
                layout::key_path(signer),
                "missing",
            );
            false
        }
        (Some(sig), Some(k)) => {
            let verdict = k.verify(bytes, sig);
            c.check(
                verdict.is_ok(),
                id,
                &format!("signature by {signer} verifies"),
                "a valid Ed25519 signature over the manifest bytes",
                verdict.err().map_or_else(String::new, |e| e.to_string()),
            );
            true
        }
    }
}

/// Who signs the log a record is checked against.
#[derive(Clone, Copy)]
enum Signers<'a> {
    /// One key signed everything: the record's signer (when its key is in the bundle).
    One(Option<&'a PublicKey>),
    /// The bundle's key history: the checkpoint must be signed by the key for its size, and
    /// the record by the key for its leaf index.
    History(&'a KeyHistory),
}

/// Check 7c: the record's log proof is present and proves its manifest a leaf of a checkpoint
/// signed by the archive's key (the signer's, or with a key history the key for the
/// checkpoint's size), at a leaf index no other record of the bundle has; with a key history,
/// the record's signer is also the key that signs its leaf index. Returns the verified
/// position.
fn check_log_position(
    c: &mut Checks,
    bag: &ReadBag,
    key: Signers<'_>,
    any: &AnyManifest,
    bytes: &[u8],
    found: &mut RecordsFound,
) -> Option<LogPosition> {
    let record_id: &RecordId = any.id();
    let id = record_id.to_string();
    match (bag.tag(&layout::proof_path(record_id)), key) {
        (None, _) => {
            c.fail(
                &id,
                "log inclusion proof present",
                layout::proof_path(record_id),
                "missing",
            );
            None
        }
        (Some(_), Signers::One(None)) => None,
        (Some(proof), key) => match check_inclusion(proof, bytes, any.origin(), key) {
            Ok((index, size, root, note)) => {
                if let Signers::History(h) = key {
                    let era = h.key_for_leaf(index);
                    c.check(
                        era.fingerprint == any.signer(),
                        &id,
                        "is signed by the key that signs its log position (key history)",
                        &era.fingerprint,
                        exhibit_core::inert(any.signer()).to_string(),
                    );
                }
                found.checkpoints.insert(note);
                if let Some(other) = found.indices.insert(index, id.clone()) {
                    c.fail(
                        &id,
                        "has its own log position",
                        format!("a leaf index other than {other}'s"),
                        format!("leaf {index}, as {other}"),
                    );
                }
                c.pass(
                    &id,
                    &format!(
                        "included in the log at index {index} of a signed checkpoint of size {size}"
                    ),
                );
                Some((index, size, root))
            }
            Err(e) => {
                c.fail(
                    &layout::proof_path(record_id),
                    "proves inclusion in a checkpoint signed by the record's signer",
                    "a valid C2SP tlog-proof",
                    e,
                );
                None
            }
        },
    }
}

/// Checks a tlog-proof for `manifest_bytes`: the checkpoint is a note signed by `key` under the
/// manifest's origin, and the inclusion path leads from the manifest's leaf hash to its root.
/// Returns the position and the checkpoint note.
fn check_inclusion(
    proof: &[u8],
    manifest_bytes: &[u8],
    origin: &str,
    key: Signers<'_>,
) -> Result<(u64, u64, String, String), String> {
    let text = std::str::from_utf8(proof).map_err(|_| "not UTF-8".to_owned())?;
    let proof = TlogProof::parse(text).map_err(|e| e.to_string())?;
    let note = SignedNote::parse(&proof.checkpoint).map_err(|e| format!("checkpoint: {e}"))?;
    match key {
        Signers::One(Some(key)) => note
            .verify(origin, key)
            .map_err(|e| format!("checkpoint signature: {e}"))?,
        Signers::History(h) => {
            h.verify_checkpoint(&proof.checkpoint, origin)
                .map_err(|e| format!("checkpoint signature: {e}"))?;
        }
        Signers::One(None) => return Err("no key to check the checkpoint with".into()),
    }
    let cp = Checkpoint::parse(&note.text).map_err(|e| format!("checkpoint: {e}"))?;
    if cp.origin != origin {
        return Err(format!(
            "checkpoint of log {:?}, but the manifest's origin is {origin:?}",
            cp.origin
        ));
    }
    let leaf = merkle::leaf_hash(manifest_bytes);
    merkle::verify_inclusion(&leaf, proof.index, cp.size, &proof.proof, &cp.root)
        .map_err(|e| format!("inclusion: {e}"))?;
    Ok((
        proof.index,
        cp.size,
        base64_encode(&cp.root),
        proof.checkpoint,
    ))
}

/// Check 7d: a provision against the bundle. It proves that the capture it quotes is in the
/// bundle as the very manifest it pins, that this capture's text, version and document are the
/// ones it quotes ([`ProvisionManifest::check_opening`]), and that the passage is in that text
/// at the range it gives.
fn check_provision(
    c: &mut Checks,
    bag: &ReadBag,
    p: &ProvisionManifest,
    captures: &BTreeMap<String, &CaptureManifest>,
) {
    let id = p.id.to_string();
    let path = layout::manifest_path(&p.capture.id);
    let in_hand = bag.files.get(&path).map(|f| f.sha256);
    if !c.check(
        in_hand.is_some_and(|h| p.check_opening_pin(&h).is_ok()),
        &id,
        &format!("the capture it quotes ({}) is in the bundle", p.capture.id),
        format!("{path} with sha256 {}", p.capture.manifest_sha256),
        in_hand.map_or("missing".into(), |h| format!("sha256 {h}")),
    ) {
        return;
    }
    let (Some(capture), Some(in_hand)) = (captures.get(&p.capture.id.to_string()), in_hand) else {
        return; // its manifest failed to parse, which is reported already
    };
    if !c.check(
        p.check_opening(&in_hand, capture).is_ok(),
        &id,
        &format!("quotes the text, version and document of {}", p.capture.id),
        format!("text sha256 {}, version {}", p.text.sha256, p.version),
        format!(
            "text sha256 {}, version {}",
            capture
                .text
                .as_ref()
                .map_or("none".into(), |t| t.sha256.to_hex()),
            capture
                .version
                .as_ref()
                .map_or("none".into(), |v| v.id.to_string())
        ),
    ) {
        return;
    }
    let text_path = layout::text_path(&p.text.sha256);
    match bag.payload(&text_path) {
        Some(text) => {
            let verdict = p.check_against(text);
            c.check(
                verdict.is_ok(),
                &id,
                &format!(
                    "the quoted passage is in {text_path} at characters {}..{}",
                    p.quote.char_start, p.quote.char_end
                ),
                "the passage, byte for byte",
                verdict.err().unwrap_or_default(),
            );
        }
        None => c.fail(
            &id,
            "the quoted text can be checked",
            format!("{text_path} in the bundle"),
            if bag.files.contains_key(&text_path) {
                "too large to hold in memory (see --help for limits)"
            } else {
                "missing"
            },
        ),
    }
}

/// Check 7e: a capture's content and text files. It proves that each file the manifest
/// describes is in the bundle with the SHA-256, BLAKE3 and size the manifest signs. Adds their
/// paths to `referenced` (for check 12).
fn check_described_files(
    c: &mut Checks,
    bag: &ReadBag,
    m: &CaptureManifest,
    id: &str,
    referenced: &mut BTreeSet<String>,
) {
    for object in m.objects() {
        let (what, sha, blake3, size) = (
            object.role.name(),
            object.sha256,
            object.blake3,
            object.size,
        );
        let file = layout::object_path(&object);
        referenced.insert(file.clone());
        match bag.files.get(&file) {
            None => c.fail(id, &format!("{what} file present"), file, "missing"),
            Some(f) => {
                let ok = f.sha256 == sha && f.blake3 == blake3 && f.size == size;
                // A response as received must be one, by the rule the capture kept it by
                // (checked when its bytes were kept in memory, FORMAT §11.3).
                if ok
                    && object.role == ObjectRole::Response
                    && let Some(bytes) = bag.payload(&file)
                {
                    let read = exhibit_warc::response::read_response(&mut &bytes[..]);
                    c.check(
                        read.is_ok(),
                        &file,
                        &format!("response of {id} is one complete HTTP/1.x response"),
                        "a status line, headers and a whole body",
                        read.err().unwrap_or_default(),
                    );
                }
                c.check(
                    ok,
                    &file,
                    &format!("{what} of {id}: sha256, blake3 and size match the signed manifest"),
                    format!("sha256 {sha}, {size} bytes"),
                    format!(
                        "sha256 {}, {} bytes{}",
                        f.sha256,
                        f.size,
                        if f.blake3 == blake3 {
                            ""
                        } else {
                            ", different blake3"
                        }
                    ),
                );
            }
        }
    }
}

/// Check 8, one checkpoint: it proves that all verified log proofs are against one signed
/// checkpoint. Two checkpoints of one log in one bundle would either be redundant or, if they
/// disagree, prove a fork; exhibit bundles always carry exactly one.
pub(super) fn check_one_checkpoint(c: &mut Checks, found: &RecordsFound) {
    if found.checkpoints.len() > 1 {
        c.fail(
            "exhibit/proofs/",
            "all proofs refer to one signed checkpoint",
            "one checkpoint",
            format!("{} different checkpoints", found.checkpoints.len()),
        );
    }
}

/// Check 11, no stray proof: it proves that every file under `exhibit/proofs/` is the proof of
/// a record in the bundle.
pub(super) fn check_proofs_belong(c: &mut Checks, bag: &ReadBag, found: &RecordsFound) {
    for path in bag
        .files
        .keys()
        .filter(|p| p.starts_with("exhibit/proofs/"))
    {
        if !found.proofs_seen.contains(path) {
            c.fail(
                path,
                "belongs to a record in the bundle",
                "a manifest with this id",
                "none",
            );
        }
    }
}

/// Check 12, no stray payload: it proves that every file under `data/` is described by a
/// signed capture manifest (check 7e).
pub(super) fn check_payload_described(c: &mut Checks, bag: &ReadBag, found: &RecordsFound) {
    for path in bag.files.keys().filter(|p| p.starts_with("data/")) {
        if !found.referenced.contains(path) {
            c.fail(
                path,
                "is described by a signed manifest",
                "a manifest naming it",
                "none",
            );
        }
    }
}

/// The report's summary of a capture.
fn summary(m: &CaptureManifest) -> RecordSummary {
    RecordSummary {
        id: m.id.to_string(),
        manifest_type: m.manifest_type.as_str().to_owned(),
        url: m.document.url.clone(),
        entity: m.document.entity.clone(),
        title: m.document.title.clone(),
        captured_at: m.captured_at.clone(),
        sha256: m.content.as_ref().map(|c| c.sha256.to_hex()),
        size: m.content.as_ref().map(|c| c.size),
        media_type: m.content.as_ref().map(|c| c.media_type.clone()),
        error: m.error.clone(),
        signer: m.signer.clone(),
        log_index: None,
        tree_size: None,
        checkpoint_root: None,
        version_id: m.version.as_ref().map(|v| v.id.to_string()),
        excerpt: None,
        quotes: None,
        imported_from: m.warc.as_ref().map(imported_from),
    }
}

/// One line on where an imported capture came from.
pub(crate) fn imported_from(w: &exhibit_core::warc_source::WarcSource) -> String {
    format!(
        "WARC {} (SHA-256 {}), {} record {} at byte {}, dated {} by the WARC's writer",
        w.file_name, w.file_sha256, w.record_type, w.record_id, w.offset, w.warc_date
    )
}

/// The report's summary of a provision (with its opening capture's time and hash, when that
/// capture is in the bundle).
fn provision_summary(p: &ProvisionManifest, opening: Option<&CaptureManifest>) -> RecordSummary {
    RecordSummary {
        id: p.id.to_string(),
        manifest_type: p.manifest_type.as_str().to_owned(),
        url: p.document.url.clone(),
        entity: p.document.entity.clone(),
        title: p.document.title.clone(),
        captured_at: opening.map_or_else(|| p.created_at.clone(), |o| o.captured_at.clone()),
        sha256: opening.and_then(|o| o.content.as_ref().map(|c| c.sha256.to_hex())),
        size: None,
        media_type: None,
        error: None,
        signer: p.signer.clone(),
        log_index: None,
        tree_size: None,
        checkpoint_root: None,
        version_id: Some(p.version.to_string()),
        excerpt: Some(p.quote.text.clone()),
        quotes: Some(format!(
            "characters {}..{} of the text of {} (captured by {})",
            p.quote.char_start, p.quote.char_end, p.version, p.capture.id
        )),
        imported_from: None,
    }
}
