//! Signed-note checkpoints: `Checkpoint::parse`, `SignedNote::parse` + `verify`, `split_note`,
//! `VerifierKey::parse`, `CosignerKey::parse`, `verify_cosignature`, and the tlog-witness
//! request body (`AddCheckpoint::parse`).
//!
//! Properties: a parsed checkpoint prints back to the same bytes; `SignedNote::parse` and
//! `checkpoint::split_note` split a note at the same place; a note that verifies under the
//! fuzz key with a single signature is exactly what `sign_note` makes of its text; any parsed
//! checkpoint, signed, parses and verifies; a parsed verifier key prints back (up to hex case);
//! a parsed add-checkpoint request prints back to the same bytes; a parsed log segment
//! (`exhibit_core::segment`, the log of an archive in a bucket) prints back to the same bytes;
//! no input panics the cosignature checks.
#![no_main]

use exhibit_core::checkpoint::{Checkpoint, split_note};
use exhibit_fuzz::{ORIGIN, public_key, signing_key};
use exhibit_sign::SignedNote;
use exhibit_sign::note::{VerifierKey, sign_note};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A log segment of an archive in a bucket (hostile: anyone with write access to the bucket
    // can put one there) prints back to the same bytes.
    if let (Some((&start, rest)), Ok(prefix)) =
        (data.split_first(), exhibit_core::IdPrefix::new("EX"))
        && let Ok(entries) = exhibit_core::segment::parse(u64::from(start), rest, &prefix)
    {
        assert_eq!(
            exhibit_core::segment::format(&entries),
            rest,
            "a parsed segment does not print back"
        );
    }
    if let Ok(request) = exhibit_core::witness::AddCheckpoint::parse(data) {
        assert_eq!(
            request.to_body().as_bytes(),
            data,
            "an add-checkpoint request does not print back"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = exhibit_sign::cosignature::CosignerKey::parse(text) {
        if let Ok(note) = SignedNote::parse(text) {
            let _ = exhibit_sign::cosignature::verify_cosignature(&note, &key);
        }
    }
    if let Ok(note) = SignedNote::parse(text) {
        let key = exhibit_sign::cosignature::CosignerKey::new(ORIGIN, public_key())
            .expect("the fuzz origin is a key name");
        let _ = exhibit_sign::cosignature::verify_cosignature(&note, &key);
    }

    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(cp.to_text(), text, "checkpoint does not print back");
    }

    let split = split_note(text);
    if let Ok(note) = SignedNote::parse(text) {
        let (body, _) = split.expect("SignedNote::parse accepts a note split_note refuses");
        assert_eq!(body, note.text, "the two note splitters disagree");
        let key = public_key();
        if note.verify(ORIGIN, &key).is_ok() && note.signatures.len() == 1 {
            let again = sign_note(&note.text, ORIGIN, &signing_key())
                .expect("a note that verifies can be signed");
            assert_eq!(
                again, text,
                "a verified note is not what signing its text gives"
            );
        }
        if let Ok(cp) = Checkpoint::parse(&note.text) {
            resign(&cp);
        }
    }
    if let Ok(cp) = Checkpoint::parse(text) {
        resign(&cp);
    }

    for line in text.lines().take(4) {
        if let Ok(vk) = VerifierKey::parse(line) {
            assert!(
                vk.to_string().eq_ignore_ascii_case(line) && vk.to_string().len() == line.len(),
                "verifier key {line:?} prints back as {:?}",
                vk.to_string()
            );
        }
    }
});

/// A checkpoint that parses, signed under a valid key name, must parse and verify.
fn resign(cp: &Checkpoint) {
    let body = cp.to_text();
    let Ok(note) = sign_note(&body, ORIGIN, &signing_key()) else {
        return;
    };
    let parsed = SignedNote::parse(&note).expect("a signed checkpoint parses as a note");
    assert_eq!(parsed.text, body);
    parsed
        .verify(ORIGIN, &public_key())
        .expect("a freshly signed checkpoint verifies");
    assert_eq!(Checkpoint::parse(&parsed.text).as_ref(), Ok(cp));
}
