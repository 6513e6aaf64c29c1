//! What a record is made of on disk (and in a bucket): its signed manifest, the signature beside
//! it, and the objects the manifest names. One home for "the objects of a record", used by
//! reindex (is a record beyond the checkpoint complete?) and by the bucket's push and pull (which
//! objects travel with a record).

use exhibit_core::manifest::CaptureManifest;
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::reextraction::ReextractionManifest;
use exhibit_core::{RecordKind, Sha256Digest};

/// The objects the manifest `bytes` of a record of `kind` names, each with what it is (`content`,
/// `text`, `re-extracted text`, …), in the manifest's order; `Err` with the parser's message when
/// the bytes are not a valid manifest of that kind.
pub(crate) fn named_objects(
    kind: RecordKind,
    bytes: &[u8],
) -> Result<Vec<(Sha256Digest, &'static str)>, String> {
    Ok(match kind {
        RecordKind::Capture => CaptureManifest::parse(bytes)
            .map_err(|e| e.to_string())?
            .objects()
            .iter()
            .map(|o| (o.sha256, o.role.name()))
            .collect(),
        RecordKind::Provision => {
            let m = ProvisionManifest::parse(bytes).map_err(|e| e.to_string())?;
            vec![(m.text.sha256, "text")]
        }
        _ => ReextractionManifest::parse(bytes)
            .map_err(|e| e.to_string())?
            .captures
            .iter()
            .filter_map(|c| c.new_text_sha256.map(|t| (t, "re-extracted text")))
            .collect(),
    })
}

/// The largest manifest file of a record kind that is read: 64 MiB for a re-extraction (it
/// lists every capture of a document), 1 MiB for the others.
pub(crate) fn manifest_limit(kind: RecordKind) -> u64 {
    if kind == RecordKind::Reextraction {
        exhibit_core::reextraction::MAX_REEXTRACTION_BYTES as u64
    } else {
        exhibit_core::manifest::MAX_MANIFEST_BYTES as u64
    }
}
