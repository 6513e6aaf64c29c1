//! The provision manifest: a signed statement that a quoted passage (a clause) is part of one
//! version's extracted text, at a given range.
//!
//! Like a capture manifest it is RFC 8785 canonical JSON, signed with the archive key and logged.
//! It pins the version by the manifest of the capture that opened it and by the SHA-256 of the
//! text, so a verifier can check the passage with nothing but that capture's text file:
//! `text[byte_start..byte_end]` is the quote, byte for byte, and hashes to `quote.sha256`.

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::id::{RecordId, RecordKind};
use crate::manifest::{CaptureManifest, DocumentRef, ManifestError, RecordLink};

/// The longest passage a provision quotes, in bytes: a clause, not a document.
pub const MAX_QUOTE_BYTES: usize = 64 * 1024;

/// The `type` of a provision manifest.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProvisionType {
    /// The only version so far.
    #[serde(rename = "exhibit.provision/v1")]
    V1,
}

impl ProvisionType {
    /// The `type` string.
    pub fn as_str(self) -> &'static str {
        "exhibit.provision/v1"
    }
}

/// The version text a provision quotes from.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct QuotedText {
    /// SHA-256 of the version's extracted text (UTF-8).
    pub sha256: Sha256Digest,
    /// Its length in bytes.
    pub size: u64,
}

/// The quoted passage and where it sits in the text.
///
/// Offsets are 0-based and half-open. `char_*` count Unicode scalar values (what most
/// programming languages call characters); `byte_*` count UTF-8 bytes, for `dd`/`tail -c`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    /// The passage exactly as it appears in the text (`text[byte_start..byte_end]`).
    pub text: String,
    /// SHA-256 of `text` (UTF-8).
    pub sha256: Sha256Digest,
    /// First character of the passage.
    pub char_start: u64,
    /// One past its last character.
    pub char_end: u64,
    /// First byte of the passage.
    pub byte_start: u64,
    /// One past its last byte.
    pub byte_end: u64,
    /// Which occurrence (1-based) of the passage, after whitespace normalisation, this is.
    pub occurrence: u64,
}

/// A signed provision manifest (`exhibit.provision/v1`). Every field is always present.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct ProvisionManifest {
    /// Schema name and version.
    #[serde(rename = "type")]
    pub manifest_type: ProvisionType,
    /// The archive's origin name.
    pub origin: String,
    /// This provision's id (`EX-P-000001`).
    pub id: RecordId,
    /// The document, as its opening capture described it.
    pub document: DocumentRef,
    /// The version quoted.
    pub version: RecordId,
    /// The capture that opened that version, pinned by its manifest's SHA-256.
    pub capture: RecordLink,
    /// The version's text.
    pub text: QuotedText,
    /// The passage.
    pub quote: Quote,
    /// When the provision was recorded (RFC 3339 UTC, seconds), as claimed by the signer.
    pub created_at: String,
    /// Fingerprint of the signing key (`SHA256:…`).
    pub signer: String,
}

impl ProvisionManifest {
    /// The canonical RFC 8785 bytes: what is stored and signed.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        self.check()?;
        crate::manifest::canonical_bytes(self)
    }

    /// Parses stored bytes, requiring the v1 schema, canonical form and consistency.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: ProvisionManifest = crate::manifest::parse_json(bytes)?;
        if m.to_canonical_bytes()? != bytes {
            return Err(ManifestError::NotCanonical);
        }
        Ok(m)
    }

    /// Checks that the fields agree with each other.
    pub fn check(&self) -> Result<(), ManifestError> {
        let bad = |s: String| Err(ManifestError::Inconsistent(s));
        crate::manifest::check_common(
            &self.origin,
            ("created_at", &self.created_at),
            &self.id,
            &[
                (&self.id, RecordKind::Provision, "id"),
                (&self.document.id, RecordKind::Document, "document.id"),
                (&self.version, RecordKind::Version, "version"),
                (&self.capture.id, RecordKind::Capture, "capture.id"),
            ],
        )?;
        let q = &self.quote;
        if q.text.is_empty() || q.text.len() > MAX_QUOTE_BYTES {
            return bad(format!(
                "quote is {} bytes; it must be 1 to {MAX_QUOTE_BYTES}",
                q.text.len()
            ));
        }
        if Sha256Digest::of(q.text.as_bytes()) != q.sha256 {
            return bad("quote.sha256 is not the SHA-256 of quote.text".into());
        }
        let bytes = q.byte_end.checked_sub(q.byte_start);
        let chars = q.char_end.checked_sub(q.char_start);
        if bytes != Some(q.text.len() as u64) || chars != Some(q.text.chars().count() as u64) {
            return bad("quote ranges do not match the length of quote.text".into());
        }
        if q.byte_end > self.text.size || q.char_start > q.byte_start {
            return bad("quote range lies outside the text".into());
        }
        if q.occurrence == 0 {
            return bad("quote.occurrence counts from 1".into());
        }
        Ok(())
    }

    /// Checks the pin alone: the capture manifest in hand, whose bytes hash to `in_hand`, is
    /// the one this provision pins (`capture.manifest_sha256`). For when that manifest could
    /// not be parsed; otherwise use [`ProvisionManifest::check_opening`], which includes this.
    pub fn check_opening_pin(&self, in_hand: &Sha256Digest) -> Result<(), OpeningMismatch> {
        let mismatch = OpeningMismatch {
            manifest: (*in_hand != self.capture.manifest_sha256).then_some(*in_hand),
            ..OpeningMismatch::default()
        };
        mismatch.into_result()
    }

    /// The opening-capture rule (FORMAT §3.8), the one definition every checker uses: the
    /// capture manifest in hand (`opening`, whose bytes hash to `opening_manifest_sha256`) is
    /// the one this provision pins, and that capture's text (SHA-256 and size), version and
    /// document are the ones the provision quotes. Every part is compared, so the mismatch
    /// names all that differ.
    pub fn check_opening(
        &self,
        opening_manifest_sha256: &Sha256Digest,
        opening: &CaptureManifest,
    ) -> Result<(), OpeningMismatch> {
        let mismatch = OpeningMismatch {
            manifest: (*opening_manifest_sha256 != self.capture.manifest_sha256)
                .then_some(*opening_manifest_sha256),
            text: opening.text.as_ref().map(|t| (t.sha256, t.size))
                != Some((self.text.sha256, self.text.size)),
            version: opening.version.as_ref().map(|v| &v.id) != Some(&self.version),
            document: opening.document != self.document,
        };
        mismatch.into_result()
    }

    /// Checks the passage against the version's full text: the bytes at the range are the
    /// quote and the range's character offsets are right. `text` must be the text whose
    /// SHA-256 is `self.text.sha256` (the caller checks that).
    pub fn check_against(&self, text: &[u8]) -> Result<(), String> {
        let q = &self.quote;
        if text.len() as u64 != self.text.size {
            return Err(format!(
                "the text is {} bytes, the provision says {}",
                text.len(),
                self.text.size
            ));
        }
        let (start, end) = (q.byte_start as usize, q.byte_end as usize);
        let at = text
            .get(start..end)
            .ok_or_else(|| format!("bytes {start}..{end} are outside the text"))?;
        if at != q.text.as_bytes() {
            return Err(format!(
                "the text at bytes {start}..{end} is not the quoted passage"
            ));
        }
        let before = std::str::from_utf8(&text[..start])
            .map_err(|_| format!("byte {start} is not a character boundary of UTF-8 text"))?;
        let chars = before.chars().count() as u64;
        if chars != q.char_start {
            return Err(format!(
                "byte {start} is character {chars}, the provision says {}",
                q.char_start
            ));
        }
        Ok(())
    }
}

/// How the capture manifest in hand as a provision's opening capture disagrees with what the
/// provision pins and quotes ([`ProvisionManifest::check_opening`]). Each field names one part;
/// in an `Err`, at least one is set. Callers render it in their own words (a verifier's check
/// line, a citation's integrity line, fsck's finding); `Display` is a plain default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpeningMismatch {
    /// The SHA-256 of the manifest in hand, when it is not the one the provision pins.
    pub manifest: Option<Sha256Digest>,
    /// The capture's text (SHA-256 and size) is not the text the provision quotes.
    pub text: bool,
    /// The capture is not of the version the provision quotes.
    pub version: bool,
    /// The capture's document (id, URL, entity, title) is not the provision's.
    pub document: bool,
}

impl OpeningMismatch {
    /// Whether the pinned manifest is the one in hand but does not state the text, version or
    /// document the provision quotes.
    pub fn quotes_differ(&self) -> bool {
        self.text || self.version || self.document
    }

    fn into_result(self) -> Result<(), OpeningMismatch> {
        if self.manifest.is_some() || self.quotes_differ() {
            Err(self)
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Display for OpeningMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = [
            (self.manifest.is_some(), "manifest"),
            (self.text, "text"),
            (self.version, "version"),
            (self.document, "document"),
        ]
        .iter()
        .filter_map(|&(differs, part)| differs.then_some(part))
        .collect();
        write!(
            f,
            "the opening capture differs from what the provision pins and quotes: its {}",
            parts.join(", ")
        )
    }
}

impl std::error::Error for OpeningMismatch {}

/// Any signed exhibit manifest, told apart by its `type`.
// Manifests are handled a few at a time, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AnyManifest {
    /// `exhibit.capture/v1` or `/v2`, `exhibit.capture-failure/v1` or `/v2`.
    Capture(crate::manifest::CaptureManifest),
    /// `exhibit.provision/v1`.
    Provision(ProvisionManifest),
}

impl AnyManifest {
    /// Parses manifest bytes of any type (each strictly, as its own `parse` does).
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct TypeOnly {
            #[serde(rename = "type")]
            manifest_type: String,
        }
        let t: TypeOnly = crate::manifest::parse_json(bytes)?;
        match t.manifest_type.as_str() {
            "exhibit.provision/v1" => ProvisionManifest::parse(bytes).map(AnyManifest::Provision),
            _ => crate::manifest::CaptureManifest::parse(bytes).map(AnyManifest::Capture),
        }
    }

    /// The record id.
    pub fn id(&self) -> &RecordId {
        match self {
            AnyManifest::Capture(m) => &m.id,
            AnyManifest::Provision(m) => &m.id,
        }
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        match self {
            AnyManifest::Capture(m) => &m.origin,
            AnyManifest::Provision(m) => &m.origin,
        }
    }

    /// The signer's fingerprint.
    pub fn signer(&self) -> &str {
        match self {
            AnyManifest::Capture(m) => &m.signer,
            AnyManifest::Provision(m) => &m.signer,
        }
    }

    /// The `type` string.
    pub fn type_str(&self) -> &'static str {
        match self {
            AnyManifest::Capture(m) => m.manifest_type.as_str(),
            AnyManifest::Provision(m) => m.manifest_type.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::IdPrefix;

    fn sample(text: &str, quote: &str) -> ProvisionManifest {
        let p = IdPrefix::default();
        let byte_start = text.find(quote).unwrap();
        let char_start = text[..byte_start].chars().count() as u64;
        ProvisionManifest {
            manifest_type: ProvisionType::V1,
            origin: "archive.example.org".into(),
            id: RecordId::new(&p, RecordKind::Provision, 1),
            document: DocumentRef {
                id: RecordId::new(&p, RecordKind::Document, 1),
                url: "https://example.org/privacy".into(),
                entity: Some("Example".into()),
                title: None,
            },
            version: RecordId::new(&p, RecordKind::Version, 2),
            capture: RecordLink {
                id: RecordId::new(&p, RecordKind::Capture, 3),
                manifest_sha256: Sha256Digest::of(b"m"),
            },
            text: QuotedText {
                sha256: Sha256Digest::of(text.as_bytes()),
                size: text.len() as u64,
            },
            quote: Quote {
                text: quote.into(),
                sha256: Sha256Digest::of(quote.as_bytes()),
                char_start,
                char_end: char_start + quote.chars().count() as u64,
                byte_start: byte_start as u64,
                byte_end: (byte_start + quote.len()) as u64,
                occurrence: 1,
            },
            created_at: "2026-05-13T09:00:00Z".into(),
            signer: "SHA256:abc".into(),
        }
    }

    #[test]
    fn round_trip_and_check_against_text() {
        let text = "Héllo wörld.\nBy using the Services, you grant us a licence.\n";
        let m = sample(text, "By using the Services, you grant");
        let bytes = m.to_canonical_bytes().unwrap();
        assert_eq!(ProvisionManifest::parse(&bytes).unwrap(), m);
        assert_eq!(
            AnyManifest::parse(&bytes).unwrap(),
            AnyManifest::Provision(m.clone())
        );
        assert_eq!(m.quote.char_start, 13);
        assert_eq!(m.quote.byte_start, 15);
        m.check_against(text.as_bytes()).unwrap();
        let other = text.replace("grant", "GRANT");
        let mut m2 = m.clone();
        m2.text.size = other.len() as u64;
        assert!(m2.check_against(other.as_bytes()).is_err());
    }

    #[test]
    fn inconsistent_provisions_are_rejected() {
        let text = "one two three";
        let mut m = sample(text, "two");
        m.quote.sha256 = Sha256Digest::of(b"x");
        assert!(m.check().is_err());
        let mut m = sample(text, "two");
        m.quote.byte_end += 1;
        assert!(m.check().is_err());
        let mut m = sample(text, "two");
        m.version = m.capture.id.clone();
        assert!(m.check().is_err());
        let mut m = sample(text, "two");
        m.quote.occurrence = 0;
        assert!(m.check().is_err());
        let mut m = sample(text, "two");
        m.text.size = 2;
        assert!(m.check().is_err());
    }

    /// A capture manifest that opened the version `sample` quotes, with its text.
    fn opening_of(m: &ProvisionManifest) -> CaptureManifest {
        use crate::digest::Blake3Digest;
        use crate::manifest::{
            Change, ContentInfo, Extractor, FileSource, ManifestType, Method, TextInfo, VersionLink,
        };
        CaptureManifest {
            manifest_type: ManifestType::Capture,
            origin: m.origin.clone(),
            id: m.capture.id.clone(),
            document: m.document.clone(),
            captured_at: "2026-05-13T08:00:00Z".into(),
            method: Method::File,
            http: None,
            file: Some(FileSource {
                path: "/tmp/privacy.txt".into(),
            }),
            content: Some(ContentInfo {
                sha256: Sha256Digest::of(b"c"),
                blake3: Blake3Digest::of(b"c"),
                size: 1,
                media_type: "text/plain".into(),
            }),
            text: Some(TextInfo {
                sha256: m.text.sha256,
                blake3: Blake3Digest::of(b"t"),
                size: m.text.size,
                charset: "UTF-8".into(),
                extractor: Extractor {
                    name: "exhibit-text".into(),
                    version: "1".into(),
                    rules: None,
                },
            }),
            text_omitted: None,
            version: Some(VersionLink {
                id: m.version.clone(),
                change: Change::New,
                previous: None,
                opened_by: None,
            }),
            previous_capture: None,
            error: None,
            signer: m.signer.clone(),
            browser: None,
            warc: None,
        }
    }

    #[test]
    fn the_opening_capture_is_checked_part_by_part() {
        let m = sample("one two three", "two");
        let pin = m.capture.manifest_sha256;
        let opening = opening_of(&m);
        m.check_opening(&pin, &opening).unwrap();
        m.check_opening_pin(&pin).unwrap();

        // Another manifest in hand: only the pin differs, and it says which manifest that is.
        let other = Sha256Digest::of(b"other");
        let e = m.check_opening(&other, &opening).unwrap_err();
        assert_eq!(
            e,
            OpeningMismatch {
                manifest: Some(other),
                ..OpeningMismatch::default()
            }
        );
        assert!(!e.quotes_differ());
        assert_eq!(m.check_opening_pin(&other).unwrap_err(), e);

        // Each quoted part on its own, and all of them with the pin at once.
        let mut o = opening.clone();
        o.text.as_mut().unwrap().size += 1;
        let e = m.check_opening(&pin, &o).unwrap_err();
        assert!(e.text && !e.version && !e.document && e.manifest.is_none());
        assert!(e.quotes_differ());
        let mut o = opening.clone();
        o.text = None;
        assert!(m.check_opening(&pin, &o).unwrap_err().text);
        let mut o = opening.clone();
        o.version.as_mut().unwrap().id =
            RecordId::new(&IdPrefix::default(), RecordKind::Version, 9);
        let e = m.check_opening(&pin, &o).unwrap_err();
        assert!(e.version && !e.text && !e.document);
        let mut o = opening.clone();
        o.document.title = Some("Another title".into());
        let e = m.check_opening(&pin, &o).unwrap_err();
        assert!(e.document && !e.text && !e.version);
        let mut o = opening.clone();
        o.text = None;
        o.version = None;
        o.document.url = "https://example.org/other".into();
        let e = m.check_opening(&other, &o).unwrap_err();
        assert_eq!(
            e,
            OpeningMismatch {
                manifest: Some(other),
                text: true,
                version: true,
                document: true,
            }
        );
        assert_eq!(
            e.to_string(),
            "the opening capture differs from what the provision pins and quotes: its manifest, text, version, document"
        );
    }
}
