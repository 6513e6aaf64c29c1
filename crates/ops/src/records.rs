//! Which signed record `show` and `cat` state: the capture a query names, chosen among the
//! catalog's matches by what the signed manifests carry; the object `cat` writes; and a
//! re-extraction record with its signature checked. The catalog only finds; what is stated
//! comes from a signed manifest. Not for rendering them.

use exhibit_core::reextraction::ReextractionManifest;
use exhibit_core::{Blake3Digest, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, Match, ReextractionRow, Signature, SignedCapture, StoreError};

use crate::OpsError;

/// The capture `show` states for a group of catalog matches.
pub struct ShownCapture {
    /// The first capture whose signed manifest carries the hash asked for (or is the id).
    pub signed: SignedCapture,
    /// The SHA-256 of its manifest's bytes.
    pub manifest_sha256: Sha256Digest,
    /// Other captures whose verified manifests carry the same hash, each named once.
    pub same_hash: Vec<String>,
}

/// Chooses the capture to show among `group` (captures the catalog matched for one query):
/// the first whose signed manifest carries the hash asked for, and the others that do too. A
/// catalog row claiming a hash its manifest does not carry is passed to `on_warning` and
/// skipped. When the chosen manifest's signature is valid, the catalog must agree with it.
pub fn choose_capture(
    archive: &Archive,
    public: &KeyHistory,
    group: &[Match],
    on_warning: &mut dyn FnMut(&StoreError),
) -> Result<ShownCapture, OpsError> {
    let mut chosen = None;
    let mut same_hash = Vec::new();
    for m in group {
        if chosen.is_none() {
            let signed = archive.read_signed_capture(m.id.number(), public)?;
            if m.field == "id" || signed.carries_hash(m.field, &m.hash) {
                chosen = Some(signed);
                continue;
            }
            on_warning(&StoreError::catalog_damaged(
                &m.id,
                &format!("{} {}", m.field, m.hash),
            ));
            continue;
        }
        // A capture can match one hash through two fields (a plain text's content and text
        // share a SHA-256): name each other capture once, and never the one shown.
        let id = m.id.to_string();
        if chosen.as_ref().is_some_and(|c| c.row.id == m.id) || same_hash.contains(&id) {
            continue;
        }
        match archive.signed_match(m, public) {
            Ok(_) => same_hash.push(id),
            Err(f) => on_warning(&f),
        }
    }
    let Some(signed) = chosen else {
        let first = &group[0];
        return Err(StoreError::catalog_damaged(
            &first.id,
            &format!("{} {}", first.field, first.hash),
        )
        .into());
    };
    if signed.signature == Signature::Valid {
        signed.require_catalog_agrees()?;
    }
    let manifest_sha256 = Sha256Digest::of(&signed.bytes);
    Ok(ShownCapture {
        signed,
        manifest_sha256,
        same_hash,
    })
}

/// The object `cat` writes, as a signed manifest describes it.
pub struct SignedObject {
    /// The capture whose manifest describes it.
    pub capture: RecordId,
    /// Its SHA-256.
    pub sha256: Sha256Digest,
    /// Its BLAKE3.
    pub blake3: Blake3Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// The content (or text) a signed manifest gives for `m`, which must carry `text`'s kind.
fn object_of(m: &SignedCapture, text: bool) -> Result<SignedObject, OpsError> {
    let facts = if text {
        m.manifest
            .text
            .as_ref()
            .map(|t| (t.sha256, t.blake3, t.size))
    } else {
        m.manifest
            .content
            .as_ref()
            .map(|c| (c.sha256, c.blake3, c.size))
    };
    let (sha256, blake3, size) = facts.ok_or_else(|| {
        OpsError::failed(format!(
            "{}: has no {}",
            m.row.id,
            if text { "extracted text" } else { "content" }
        ))
    })?;
    Ok(SignedObject {
        capture: m.row.id.clone(),
        sha256,
        blake3,
        size,
    })
}

/// Resolves a `cat` query to an object described by a signed manifest: the capture a record
/// id names (a version's opening capture, a document's current version's, a provision's), each
/// link checked against the signed manifests; or, for a hash prefix, a capture whose signed
/// manifest carries that content (or, with `text`, text) hash.
pub fn object_for(
    archive: &Archive,
    query: &str,
    text: bool,
    public: &KeyHistory,
) -> Result<SignedObject, OpsError> {
    object_of(&signed_capture_for(archive, query, text, public)?, text)
}

/// What a browser capture made, for `cat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rendering {
    /// The full-page screenshot (PNG).
    Screenshot,
    /// The PDF print.
    Pdf,
    /// The rendered DOM (HTML).
    Dom,
}

impl Rendering {
    fn name(self) -> &'static str {
        match self {
            Rendering::Screenshot => "screenshot",
            Rendering::Pdf => "PDF print",
            Rendering::Dom => "rendered DOM",
        }
    }
}

/// The screenshot, PDF or DOM of the browser capture `query` names, as its signed manifest
/// describes it (`cat --screenshot | --pdf | --dom`).
pub fn rendering_for(
    archive: &Archive,
    query: &str,
    which: Rendering,
    public: &KeyHistory,
) -> Result<SignedObject, OpsError> {
    let signed = signed_capture_for(archive, query, false, public)?;
    let id = &signed.row.id;
    let Some(b) = &signed.manifest.browser else {
        return Err(OpsError::failed(format!(
            "{id}: not a browser capture (capture it with --browser)"
        )));
    };
    let object = match which {
        Rendering::Screenshot => b.screenshot.as_ref(),
        Rendering::Pdf => b.pdf.as_ref(),
        Rendering::Dom => Some(&b.dom),
    };
    let o = object
        .ok_or_else(|| OpsError::failed(format!("{id}: the browser made no {}", which.name())))?;
    Ok(SignedObject {
        capture: id.clone(),
        sha256: o.sha256,
        blake3: o.blake3,
        size: o.size,
    })
}

/// The certificates `cat --tls-chain` writes, leaf first: the chain the server sent on the
/// connection that carried the capture's last request (for a refused chain, the one presented),
/// as the signed manifest names them.
pub fn tls_chain_for(
    archive: &Archive,
    query: &str,
    public: &KeyHistory,
) -> Result<Vec<SignedObject>, OpsError> {
    let signed = signed_capture_for(archive, query, false, public)?;
    let id = &signed.row.id;
    let last = signed
        .manifest
        .http
        .as_ref()
        .and_then(|h| h.connections.as_ref())
        .and_then(|c| c.last());
    let Some(connection) = last else {
        return Err(OpsError::failed(format!(
            "{id}: records no connection (a file, stdin, or a capture made before exhibit recorded connections)"
        )));
    };
    let Some(tls) = &connection.tls else {
        return Err(OpsError::failed(format!(
            "{id}: {} was fetched without TLS",
            exhibit_core::inert(&connection.url)
        )));
    };
    if tls.chain.is_empty() {
        return Err(OpsError::failed(format!(
            "{id}: the TLS handshake failed before the server sent certificates"
        )));
    }
    Ok(tls
        .chain
        .iter()
        .map(|c| SignedObject {
            capture: id.clone(),
            sha256: c.sha256,
            blake3: c.blake3,
            size: c.size,
        })
        .collect())
}

/// The signed capture a `cat` query names (see [`object_for`]).
fn signed_capture_for(
    archive: &Archive,
    query: &str,
    text: bool,
    public: &KeyHistory,
) -> Result<SignedCapture, OpsError> {
    let matches = archive.resolve(query)?;
    let first = &matches[0];
    if first.field != "id" {
        // The catalog narrows the prefix to one hash; a signed manifest must carry it.
        let sha = archive.resolve_object(query, text)?;
        let hex = sha.to_hex();
        let field = if text {
            "text sha256"
        } else {
            "content sha256"
        };
        let mut refused = None;
        for m in matches
            .iter()
            .filter(|m| m.field == field && m.hash == hex && m.id.kind() == RecordKind::Capture)
        {
            match archive.signed_match(m, public) {
                Ok(signed) => return Ok(signed),
                Err(f) => refused = Some(OpsError::from(f)),
            }
        }
        return Err(refused
            .unwrap_or_else(|| OpsError::failed(format!("no signed capture has {field} {hex}"))));
    }
    Ok(archive.signed_capture_of(&first.id, public)?)
}

/// A re-extraction record as `show` states it.
pub struct ShownReextraction {
    /// Its catalog row.
    pub row: ReextractionRow,
    /// Its manifest as read (stated only when `valid`).
    pub manifest: ReextractionManifest,
    /// Whether the manifest is signed by the archive key and is the record asked for.
    pub valid: bool,
    /// The SHA-256 of the manifest's bytes.
    pub manifest_sha256: Sha256Digest,
}

/// Reads re-extraction record `id` and checks its signature by the archive key.
pub fn reextraction(archive: &Archive, id: &RecordId) -> Result<ShownReextraction, OpsError> {
    let row = archive.reextraction(id.number())?;
    let (bytes, sig) = archive.read_reextraction_manifest(&row)?;
    let m = ReextractionManifest::parse(&bytes)
        .map_err(|e| OpsError::failed(format!("{}: {e}", row.manifest_path)))?;
    let public = archive.keys()?;
    let valid =
        Signature::check(&public, &bytes, &sig, &m.signer) == Signature::Valid && m.id == *id;
    Ok(ShownReextraction {
        row,
        manifest: m,
        valid,
        manifest_sha256: Sha256Digest::of(&bytes),
    })
}
