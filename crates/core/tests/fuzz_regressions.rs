//! Inputs found by the fuzz targets in `fuzz/` (docs/FUZZING.md), each kept as the exact bytes
//! the fuzzer wrote, with the behaviour now expected.

use exhibit_core::{AnyManifest, CaptureManifest};

/// `manifest_parse`: a manifest whose `captured_at` second is `60` parsed (chrono takes `:60`
/// in any minute as a leap second and prints it back the same), and its citation then
/// rendered `Captured: 2026-11-23 03:53:60 UTC`, which the citation parser refuses. Manifest
/// times are now 00–59 only.
#[test]
fn manifest_with_a_leap_second_is_refused() {
    let bytes = include_bytes!("fixtures/fuzz/manifest-leap-second.json");
    let err = CaptureManifest::parse(bytes).unwrap_err().to_string();
    assert!(err.contains("captured_at"), "{err}");
    assert!(AnyManifest::parse(bytes).is_err());
    // The same bytes with a real second parse.
    let fixed = String::from_utf8(bytes.to_vec())
        .unwrap()
        .replace("03:53:60Z", "03:53:59Z");
    CaptureManifest::parse(fixed.as_bytes()).unwrap();
}
