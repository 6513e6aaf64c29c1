//! C2SP tlog-proofs: `TlogProof::parse`, the checkpoint inside it, and RFC 9162 inclusion
//! verification, the way `exhibit-verify` checks a bundle's proof.
//!
//! Properties: a parsed proof prints back to the same bytes; `merkle::verify_inclusion` agrees
//! with a literal transcription of the RFC's pseudo-code, both on the checkpoint's root and on
//! the root the path actually leads to.
#![no_main]

use exhibit_core::checkpoint::{Checkpoint, TlogProof};
use exhibit_core::merkle;
use exhibit_fuzz::{ORIGIN, public_key, reference_root};
use exhibit_sign::SignedNote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(proof) = TlogProof::parse(text) else {
        return;
    };
    assert_eq!(proof.to_text(), text, "tlog-proof does not print back");
    let body = proof
        .checkpoint_body()
        .expect("a parsed proof has a checkpoint body");
    let cp = Checkpoint::parse(body).expect("a parsed proof has a valid checkpoint");

    // The bundle verifier's path (crates/verify/src/checks.rs, check_inclusion).
    if let Ok(note) = SignedNote::parse(&proof.checkpoint) {
        let _ = note.verify(ORIGIN, &public_key());
        let _ = Checkpoint::parse(&note.text);
    }

    // The leaf: the manifest the seeds prove is unknown here, so try a few leaves, among
    // them the one the path would need if the first proof hash were its sibling.
    let leaves = [
        merkle::leaf_hash(b""),
        merkle::leaf_hash(data),
        proof.proof.first().copied().unwrap_or_default(),
    ];
    for leaf in leaves {
        let ours = merkle::verify_inclusion(&leaf, proof.index, cp.size, &proof.proof, &cp.root);
        let theirs = reference_root(&leaf, proof.index, cp.size, &proof.proof);
        assert_eq!(
            ours.is_ok(),
            theirs == Some(cp.root),
            "verify_inclusion disagrees with RFC 9162 on the checkpoint root: {ours:?}"
        );
        // The root the path leads to (when its length fits the position) must verify.
        if let Some(root) = theirs {
            let r = merkle::verify_inclusion(&leaf, proof.index, cp.size, &proof.proof, &root);
            assert!(r.is_ok(), "RFC 9162 accepts, verify_inclusion says {r:?}");
        }
    }
});
