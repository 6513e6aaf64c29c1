//! The re-extraction manifest: a signed statement of how a document's captures group into
//! versions when their stored bytes are extracted again, under the document's current rules and
//! the current extractor.
//!
//! Signed history is never rewritten: capture manifests keep the texts and versions they were
//! signed with. A re-extraction record describes the new view next to the old one — for every
//! capture the old and new text hashes, and the new grouping with the old versions each group
//! covers — so that a reader can see which versions merge and which split.

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::id::{RecordId, RecordKind};
use crate::manifest::{
    DocumentRef, Extractor, ManifestError, canonical_bytes_within, check_common, parse_json_within,
};

/// The largest re-extraction manifest: it lists every capture of a document (about 310 bytes
/// each), so it may hold about 200,000 captures — far more than the 1 MiB of other manifests.
pub const MAX_REEXTRACTION_BYTES: usize = 64 << 20;

/// The `type` of a re-extraction manifest.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReextractionType {
    /// The only version so far.
    #[serde(rename = "exhibit.reextraction/v1")]
    V1,
}

impl ReextractionType {
    /// The `type` string.
    pub fn as_str(self) -> &'static str {
        "exhibit.reextraction/v1"
    }
}

/// One capture, extracted again.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct ReextractedCapture {
    /// The capture.
    pub id: RecordId,
    /// SHA-256 of its manifest.
    pub manifest_sha256: Sha256Digest,
    /// The version it was signed into.
    pub old_version: RecordId,
    /// The text hash it was signed with (null when it had no text).
    pub old_text_sha256: Option<Sha256Digest>,
    /// The text hash now (null when its media type has no text).
    pub new_text_sha256: Option<Sha256Digest>,
}

/// A version of the new view: consecutive captures with one text.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// The text hash that tells it apart (the content hash for captures without text).
    pub key_sha256: Sha256Digest,
    /// Its first capture.
    pub first: RecordId,
    /// Its last capture.
    pub last: RecordId,
    /// How many captures it holds.
    pub captures: u64,
    /// The old versions its captures were signed into, in order.
    pub old_versions: Vec<RecordId>,
}

/// A signed re-extraction manifest (`exhibit.reextraction/v1`).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct ReextractionManifest {
    /// Schema name and version.
    #[serde(rename = "type")]
    pub manifest_type: ReextractionType,
    /// The archive's origin name.
    pub origin: String,
    /// This record's id (`EX-R-000001`).
    pub id: RecordId,
    /// The document.
    pub document: DocumentRef,
    /// The extractor and rules the texts were extracted with now.
    pub extractor: Extractor,
    /// Every successful capture of the document, in capture order.
    pub captures: Vec<ReextractedCapture>,
    /// The versions of the new view, in order.
    pub versions: Vec<NewVersion>,
    /// When it was recorded (RFC 3339 UTC, seconds), as claimed by the signer.
    pub created_at: String,
    /// Fingerprint of the signing key.
    pub signer: String,
}

impl ReextractionManifest {
    /// The canonical RFC 8785 bytes: what is stored and signed.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        self.check()?;
        canonical_bytes_within(self, MAX_REEXTRACTION_BYTES)
    }

    /// Parses stored bytes, requiring the v1 schema, canonical form and consistency.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: ReextractionManifest = parse_json_within(bytes, MAX_REEXTRACTION_BYTES)?;
        if m.to_canonical_bytes()? != bytes {
            return Err(ManifestError::NotCanonical);
        }
        Ok(m)
    }

    /// Checks that the fields agree with each other.
    pub fn check(&self) -> Result<(), ManifestError> {
        let bad = |s: String| Err(ManifestError::Inconsistent(s));
        let mut ids = vec![
            (&self.id, RecordKind::Reextraction, "id"),
            (&self.document.id, RecordKind::Document, "document.id"),
        ];
        for c in &self.captures {
            ids.push((&c.id, RecordKind::Capture, "captures[].id"));
            ids.push((
                &c.old_version,
                RecordKind::Version,
                "captures[].old_version",
            ));
        }
        for v in &self.versions {
            ids.push((&v.first, RecordKind::Capture, "versions[].first"));
            ids.push((&v.last, RecordKind::Capture, "versions[].last"));
            ids.extend(
                v.old_versions
                    .iter()
                    .map(|o| (o, RecordKind::Version, "versions[].old_versions")),
            );
        }
        check_common(
            &self.origin,
            ("created_at", &self.created_at),
            &self.id,
            &ids,
        )?;
        let total: u64 = self.versions.iter().map(|v| v.captures).sum();
        if total != self.captures.len() as u64 {
            return bad("the new versions do not account for every capture".into());
        }
        Ok(())
    }

    /// Old versions that the new view merges: each new version spanning more than one.
    pub fn merges(&self) -> Vec<(&NewVersion, &[RecordId])> {
        self.versions
            .iter()
            .filter(|v| v.old_versions.len() > 1)
            .map(|v| (v, v.old_versions.as_slice()))
            .collect()
    }

    /// Old versions that the new view splits: each one whose captures fall into more than one
    /// new version, with how many.
    pub fn splits(&self) -> Vec<(RecordId, usize)> {
        let mut out: Vec<(RecordId, usize)> = Vec::new();
        for v in &self.versions {
            for old in &v.old_versions {
                match out.iter_mut().find(|(id, _)| id == old) {
                    Some((_, n)) => *n += 1,
                    None => out.push((old.clone(), 1)),
                }
            }
        }
        out.retain(|(_, n)| *n > 1);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::IdPrefix;

    fn id(kind: RecordKind, n: u64) -> RecordId {
        RecordId::new(&IdPrefix::default(), kind, n)
    }

    #[test]
    fn a_long_history_fits_and_merges_and_splits_are_read_back() {
        let n = 5000u64;
        let captures: Vec<ReextractedCapture> = (1..=n)
            .map(|i| ReextractedCapture {
                id: id(RecordKind::Capture, i),
                manifest_sha256: Sha256Digest::of(&i.to_be_bytes()),
                old_version: id(RecordKind::Version, i.div_ceil(2)),
                old_text_sha256: Some(Sha256Digest::of(b"old")),
                new_text_sha256: Some(Sha256Digest::of(b"new")),
            })
            .collect();
        let m = ReextractionManifest {
            manifest_type: ReextractionType::V1,
            origin: "o".into(),
            id: id(RecordKind::Reextraction, 1),
            document: DocumentRef {
                id: id(RecordKind::Document, 1),
                url: "https://example.com/".into(),
                entity: None,
                title: None,
            },
            extractor: Extractor {
                name: "exhibit-text".into(),
                version: "2".into(),
                rules: None,
            },
            versions: vec![
                NewVersion {
                    key_sha256: Sha256Digest::of(b"a"),
                    first: id(RecordKind::Capture, 1),
                    last: id(RecordKind::Capture, 3),
                    captures: 3,
                    old_versions: vec![id(RecordKind::Version, 1), id(RecordKind::Version, 2)],
                },
                NewVersion {
                    key_sha256: Sha256Digest::of(b"b"),
                    first: id(RecordKind::Capture, 4),
                    last: id(RecordKind::Capture, n),
                    captures: n - 3,
                    old_versions: vec![id(RecordKind::Version, 2)],
                },
            ],
            captures,
            created_at: "2026-11-22T00:00:00Z".into(),
            signer: "SHA256:x".into(),
        };
        let bytes = m.to_canonical_bytes().unwrap();
        assert!(bytes.len() > crate::manifest::MAX_MANIFEST_BYTES);
        assert_eq!(ReextractionManifest::parse(&bytes).unwrap(), m);
        assert_eq!(m.merges().len(), 1);
        assert_eq!(m.splits(), vec![(id(RecordKind::Version, 2), 2)]);
        let mut bad = m.clone();
        bad.versions[1].captures -= 1;
        assert!(bad.check().is_err());
    }
}
