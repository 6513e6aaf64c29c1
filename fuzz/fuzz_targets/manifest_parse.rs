//! Signed manifests: `AnyManifest::parse` (capture, capture-failure and provision manifests),
//! `check()`, the canonical form, and the citation a manifest renders.
//!
//! Properties:
//! - a parsed manifest is its own canonical serialisation, and parses back to itself;
//! - an independent canonicaliser (`serde_json::Value` + `serde_json_canonicalizer`) gives the
//!   same bytes;
//! - any JSON that deserialises into a manifest and passes `check()` — canonical or not —
//!   canonicalises to bytes that `parse` accepts and that give the same manifest back (what
//!   exhibit signs, it can read);
//! - the citation a capture renders parses, and compares with the record without a
//!   difference;
//! - a parsed key statement (`exhibit.key-statement/v1`) is its canonical form too, and a
//!   history made of it (with any signatures from the input) is followed without a panic.
#![no_main]

use exhibit_core::citation::{FieldStatus, HashForm, RecordFacts, compare, parse, render};
use exhibit_core::{AnyManifest, CaptureManifest, ManifestError, ProvisionManifest, Sha256Digest};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    key_statement(data);
    if let Ok(m) = AnyManifest::parse(data) {
        let canonical = match &m {
            AnyManifest::Capture(c) => {
                c.check().expect("a parsed capture manifest is consistent");
                c.to_canonical_bytes()
            }
            AnyManifest::Provision(p) => {
                p.check()
                    .expect("a parsed provision manifest is consistent");
                p.to_canonical_bytes()
            }
        }
        .expect("a parsed manifest serialises");
        assert_eq!(
            canonical, data,
            "a parsed manifest is not its canonical form"
        );
        assert_eq!(AnyManifest::parse(&canonical).as_ref(), Ok(&m));
        let value: serde_json::Value =
            serde_json::from_slice(data).expect("a parsed manifest is JSON");
        let jcs = serde_json_canonicalizer::to_vec(&value).expect("JSON canonicalises");
        assert_eq!(jcs, data, "RFC 8785 through serde_json::Value differs");
        if let AnyManifest::Capture(c) = &m {
            citation_round_trip(c, data);
        }
    }

    // Lenient path: whatever deserialises and is consistent must canonicalise to something
    // the strict parser takes back.
    lenient(
        data,
        CaptureManifest::check,
        CaptureManifest::to_canonical_bytes,
        CaptureManifest::parse,
    );
    lenient(
        data,
        ProvisionManifest::check,
        ProvisionManifest::to_canonical_bytes,
        ProvisionManifest::parse,
    );
});

/// Deserialises `data` leniently (any JSON spelling) as a `T`; if it is consistent and
/// serialises, its canonical bytes must parse strictly back to the same value.
fn lenient<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
    data: &[u8],
    check: fn(&T) -> Result<(), ManifestError>,
    canonical: fn(&T) -> Result<Vec<u8>, ManifestError>,
    parse: fn(&[u8]) -> Result<T, ManifestError>,
) {
    if let Ok(m) = serde_json::from_slice::<T>(data)
        && check(&m).is_ok()
        && let Ok(bytes) = canonical(&m)
    {
        assert_eq!(
            parse(&bytes).as_ref(),
            Ok(&m),
            "canonical bytes of a manifest do not parse back"
        );
    }
}

/// The citation of a capture: render, parse, compare. Only for manifests a real archive could
/// sign: the parser leaves the signer, the origin and URL syntax to the verifier (FORMAT.md
/// §3.5), but exhibit only signs a well-formed fingerprint, a valid origin and a URL (with
/// `://`, no white space, not ending like an ellipsis).
fn citation_round_trip(c: &CaptureManifest, bytes: &[u8]) {
    let url = &c.document.url;
    if !url.contains("://")
        || url.chars().any(char::is_whitespace)
        || url.ends_with('…')
        || url.ends_with("...")
        || c.signer.parse::<exhibit_sign::Fingerprint>().is_err()
        || c.origin.len() > 200
        || c.origin
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control() || ch == '+')
    {
        return;
    }
    let facts = RecordFacts::of_capture(c, Sha256Digest::of(bytes), Some(7));
    for form in [HashForm::Full, HashForm::Short] {
        let text = render(&facts, form);
        let parsed = parse(&text)
            .unwrap_or_else(|e| panic!("the rendered citation does not parse: {e}\n{text}"));
        assert_eq!(parsed.len(), 1, "one record renders one citation:\n{text}");
        for check in compare(&parsed[0], &facts, None) {
            assert!(
                !matches!(check.status, FieldStatus::Differs { .. }),
                "rendered citation differs from its record in {}: {:?}\n{text}",
                check.field,
                check.status
            );
        }
    }
}

/// Key statements: canonical print-back, and `KeyHistory::follow` on the statement with the
/// input's tail as its signatures (never panics; a signature forged by the fuzzer never
/// verifies, so a followed history is only ever the statement's own first key).
fn key_statement(data: &[u8]) {
    use exhibit_core::key_statement::KeyStatement;
    use exhibit_sign::history::{KeyHistory, StoredStatement};
    if let Ok(s) = KeyStatement::parse(data) {
        assert_eq!(
            s.to_canonical_bytes()
                .expect("a parsed statement serialises"),
            data,
            "a parsed key statement is not its canonical form"
        );
    }
    let sig = data
        .get(data.len().saturating_sub(64)..)
        .unwrap_or_default();
    let stored = [StoredStatement {
        name: "000001.json",
        bytes: data,
        signature: sig,
        new_key_signature: Some(sig),
    }];
    let _ = KeyHistory::follow("exhibit/fuzz", &stored);
}
