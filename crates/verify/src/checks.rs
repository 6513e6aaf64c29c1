//! [`verify_bag`]: the checks a bundle passes, in order, each a function of its own whose doc
//! comment says what it proves. The numbers are the order the checks run in, which is the order
//! of the report's check list.
//!
//! | # | check | where |
//! |---|-------|-------|
//! | 1 | the declaration (`bagit.txt`) | `checks/bag.rs` |
//! | 2 | the payload (`manifest-sha256.txt`, Payload-Oxum) | `checks/bag.rs` |
//! | 3 | the tag files (`tagmanifest-sha256.txt`) | `checks/bag.rs` |
//! | 4 | the keys | `checks/seal.rs` |
//! | 5 | the seal | `checks/seal.rs` |
//! | 6 | the manifests | `checks/records.rs` |
//! | 7 | each record: (a) name, (b) signature, (c) log position, (d) what a provision quotes or (e) what a capture describes | `checks/records.rs` |
//! | 8 | one checkpoint | `checks/records.rs` |
//! | 9 | the checkpoint file and time-stamp tokens | `checks/timestamps.rs` |
//! | 10 | time order | `checks/timestamps.rs` |
//! | 11 | no stray proof | `checks/records.rs` |
//! | 12 | no stray payload | `checks/records.rs` |
//! | 13 | trust: every signer pinned | here |
//!
//! Then what the checks prove and do not ([`Report::proven`], [`Report::not_proven`]).
//! Not for reading the bundle (`exhibit_bundle::read_bundle`) nor for printing the report
//! (`report`).

mod bag;
mod records;
mod seal;
mod timestamps;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{BAGIT_TXT, MANIFEST, SEAL, TAG_MANIFEST};

use crate::error::VerifyError;
use crate::options::TrustedKey;
use crate::report::{Checks, Report, TimestampSummary, Verdict};

/// Checks a bag read from a bundle. `trusted` are the pinned keys (may be empty).
pub fn verify_bag(
    bag: &ReadBag,
    trusted: &[TrustedKey],
    tsa_anchors: Option<&exhibit_timestamp::TrustAnchors>,
) -> Result<Report, VerifyError> {
    let bagit = require(bag, BAGIT_TXT)?;
    let manifest_txt = require(bag, MANIFEST)?;
    let tag_manifest = require(bag, TAG_MANIFEST)?;
    let seal = require(bag, SEAL)?;
    let mut c = Checks::default();

    bag::check_declaration(&mut c, bagit);
    bag::check_payload(&mut c, bag, manifest_txt);
    bag::check_tag_files(&mut c, bag, tag_manifest);
    let keys = seal::check_keys(&mut c, bag);
    let sealed_by = seal::check_seal(&mut c, &keys, tag_manifest, seal);
    let found = records::check_records(&mut c, bag, &keys, sealed_by.as_ref())?;
    records::check_one_checkpoint(&mut c, &found);
    let timestamps = timestamps::check_timestamps(&mut c, bag, &found.checkpoints, tsa_anchors);
    timestamps::check_time_order(&mut c, &timestamps, &found.claimed_times);
    records::check_proofs_belong(&mut c, bag, &found);
    records::check_payload_described(&mut c, bag, &found);
    let pinned = check_trust(&mut c, trusted, &found.signers);

    let verdict = if c.any_failed() {
        Verdict::Mismatch
    } else if pinned.is_empty() {
        Verdict::Unpinned
    } else {
        Verdict::Verified
    };
    let signers: Vec<String> = found.signers.into_iter().collect();
    let (proven, not_proven) = conclusions(verdict, &signers, &pinned, &timestamps, tsa_anchors);
    Ok(Report {
        bundle: String::new(),
        bag: bag.name.clone(),
        verdict,
        checks: c.into_vec(),
        records: found.records,
        signers,
        sealed_by,
        pinned,
        timestamps,
        proven,
        not_proven,
    })
}

/// The tag file at `path`, which every evidence bundle has: without it the bag is not one (an
/// error, not a failed check).
fn require<'a>(bag: &'a ReadBag, path: &str) -> Result<&'a [u8], VerifyError> {
    bag.tag(path).ok_or_else(|| {
        VerifyError::Malformed(format!(
            "bag {:?} has no {path}: not an exhibit evidence bundle",
            bag.name
        ))
    })
}

/// Check 13, trust: it proves, when the caller pinned keys, that every key that signed
/// something in the bundle is one of them. Returns the pinned fingerprints (empty: nothing is
/// pinned, and nothing is checked here).
fn check_trust(
    c: &mut Checks,
    trusted: &[TrustedKey],
    signers: &std::collections::BTreeSet<String>,
) -> Vec<String> {
    let pinned: Vec<String> = trusted
        .iter()
        .map(|t| t.fingerprint().to_string())
        .collect();
    if !pinned.is_empty() {
        for s in signers {
            c.check(
                pinned.contains(s),
                s,
                "is a pinned key",
                pinned.join(" or "),
                s.clone(),
            );
        }
    }
    pinned
}

/// What the checks prove, and what they do not, given the verdict, the signers, the pinned keys
/// and the timestamps found: the report's "Proven" and "Not proven" lists.
fn conclusions(
    verdict: Verdict,
    signers: &[String],
    pinned: &[String],
    timestamps: &[TimestampSummary],
    tsa_anchors: Option<&exhibit_timestamp::TrustAnchors>,
) -> (Vec<String>, Vec<String>) {
    let mut proven = vec![
        "the bag is complete and every file is byte for byte what its manifests list".to_owned(),
        format!(
            "each record's manifest is signed by {} and describes exactly the bytes in data/",
            signers.join(", ")
        ),
        "each manifest is a leaf, at the position its proof gives, of the log tree that one checkpoint signed by the same key describes".to_owned(),
    ];
    if verdict == Verdict::Verified {
        proven.push("every signing key is one you pinned".into());
    }
    let trusted_stamps: Vec<_> = timestamps
        .iter()
        .filter(|t| t.trusted_by.is_some())
        .collect();
    if let Some(first) = trusted_stamps.iter().min_by_key(|t| t.no_later_than_unix) {
        proven.push(format!(
            "every record in this bundle existed no later than {} (the RFC 3161 timestamp of {} over its checkpoint, by {}, whose certificate chains to the CA you trust, {}; the TSA's time plus its stated accuracy)",
            first.no_later_than,
            first.file,
            first.tsa,
            first.trusted_by.as_deref().unwrap_or_default()
        ));
    }
    let mut not_proven = vec![
        if trusted_stamps.is_empty() {
            "the capture times: they are the signer's claim (no trusted independent timestamp checked)".to_owned()
        } else {
            "the capture times themselves: they are the signer's claim; the timestamp only bounds them from above".to_owned()
        },
        "that others were shown the same log: compare the checkpoint with one kept independently (exhibit log consistency)"
            .to_owned(),
        "that the server sent the same bytes to everyone who asked".to_owned(),
    ];
    if !timestamps.is_empty() && tsa_anchors.is_none() {
        not_proven.push(format!(
            "the timestamp{}: present, but not checked against a TSA CA you trust (--tsa-ca PEM)",
            if timestamps.len() > 1 { "s" } else { "" }
        ));
    }
    if pinned.is_empty() {
        not_proven.insert(
            0,
            "who the signer is: no trusted key was given (--key)".into(),
        );
    }
    (proven, not_proven)
}
