//! Citation records as pasted from a filing: `citation::parse`, then `compare` with a record.
//!
//! Properties: parsing never panics and is insensitive to what §15.2 says it normalises (a
//! byte-order mark, CRLF line ends); comparing any parsed citation with a record never
//! panics.
#![no_main]

use std::sync::OnceLock;

use exhibit_core::citation::{RecordFacts, compare, parse};
use exhibit_core::{CaptureManifest, Sha256Digest};
use libfuzzer_sys::fuzz_target;

/// A real capture manifest (made by `seeds.sh`), as the record to compare with.
const MANIFEST: &[u8] = include_bytes!("../seeds/manifest_parse/capture-1.json");

fn facts() -> &'static RecordFacts {
    static FACTS: OnceLock<RecordFacts> = OnceLock::new();
    FACTS.get_or_init(|| {
        let m = CaptureManifest::parse(MANIFEST).expect("the seed manifest parses");
        RecordFacts::of_capture(&m, Sha256Digest::of(MANIFEST), Some(0))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(text);
    if let Ok(citations) = &parsed {
        let facts = facts();
        for c in citations {
            let _ = compare(c, facts, Some("Privacy Policy\n\nWe keep your data."));
            let _ = compare(c, facts, None);
        }
    }
    // A BOM is dropped.
    let with_bom = format!("\u{feff}{text}");
    if !text.starts_with('\u{feff}') && with_bom.len() <= exhibit_core::citation::MAX_CITATION_BYTES
    {
        assert_eq!(
            parse(&with_bom),
            parsed,
            "a byte-order mark changes the parse"
        );
    }
    // CRLF line ends are LF.
    if !text.contains('\r') {
        let crlf = text.replace('\n', "\r\n");
        if crlf.len() <= exhibit_core::citation::MAX_CITATION_BYTES {
            assert_eq!(parse(&crlf), parsed, "CRLF line ends change the parse");
        }
    }
});
