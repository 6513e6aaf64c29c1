//! [`verify_bag`]: the checks a bundle passes, in order, each a function of its own whose doc
//! comment says what it proves. The numbers are the order the checks run in, which is the order
//! of the report's check list.
//!
//! | # | check | where |
//! |---|-------|-------|
//! | 1 | the declaration (`bagit.txt`) | `checks/bag.rs` |
//! | 2 | the payload (`manifest-sha256.txt`, Payload-Oxum) | `checks/bag.rs` |
//! | 3 | the tag files (`tagmanifest-sha256.txt`) | `checks/bag.rs` |
//! | 4 | the keys; the key history, when the bundle has one | `checks/seal.rs`; `checks/history.rs` |
//! | 5 | the seal | `checks/seal.rs` |
//! | 6 | the manifests | `checks/records.rs` |
//! | 7 | each record: (a) name, (b) signature, (c) log position, (d) what a provision quotes or (e) what a capture describes | `checks/records.rs` |
//! | 8 | one checkpoint | `checks/records.rs` |
//! | 9 | the checkpoint file and time-stamp tokens | `checks/timestamps.rs` |
//! | 10 | time order | `checks/timestamps.rs` |
//! | 11 | no stray proof | `checks/records.rs` |
//! | 12 | no stray payload | `checks/records.rs` |
//! | 13 | trust: every signer pinned, or linked to a pinned key by the key history; the anchors; no record by a revoked key without proof that it predates the compromise | here; `checks/history.rs` |
//! | 14 | the report: rebuilt from the records, byte for byte | here (`exhibit_report::check`) |
//! | 15 | a WACZ package around the bag: every file, the signatures, the WARC, index and pages | `wacz.rs` (only for a package) |
//!
//! Then what the checks prove and do not ([`Report::proven`], [`Report::not_proven`]).
//! Not for reading the bundle (`exhibit_bundle::read_bundle`) nor for printing the report
//! (`report`).

mod bag;
mod history;
mod records;
mod seal;
mod timestamps;
mod witnesses;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{BAGIT_TXT, MANIFEST, SEAL, TAG_MANIFEST};

use crate::error::VerifyError;
use crate::options::{Options, TrustedKey};
use crate::report::{Checks, Report, TimestampSummary, Verdict, WitnessSummary};
use exhibit_sign::history::KeyHistory;

/// Checks a bag read from a bundle against what `options` trusts (pinned keys, TSA CAs,
/// witnesses; each may be empty).
pub fn verify_bag(bag: &ReadBag, options: &Options) -> Result<Report, VerifyError> {
    verify_bag_with(bag, options, &mut |_, _| {})
}

/// The checks of what surrounds a bag (a WACZ package), run last as check 15, given the key
/// that sealed the bag and its fingerprint, if one did.
pub(crate) type Surrounding<'a> =
    &'a mut dyn FnMut(&mut Checks, Option<(&str, &exhibit_sign::PublicKey)>);

/// [`verify_bag`], then `surrounding` as check 15; its failures fail the verdict like any other.
pub(crate) fn verify_bag_with(
    bag: &ReadBag,
    options: &Options,
    surrounding: Surrounding<'_>,
) -> Result<Report, VerifyError> {
    let (trusted, tsa_anchors) = (&options.trusted[..], options.tsa_anchors.as_ref());
    let bagit = require(bag, BAGIT_TXT)?;
    let manifest_txt = require(bag, MANIFEST)?;
    let tag_manifest = require(bag, TAG_MANIFEST)?;
    let seal = require(bag, SEAL)?;
    let mut c = Checks::default();

    bag::check_declaration(&mut c, bagit);
    bag::check_payload(&mut c, bag, manifest_txt);
    bag::check_tag_files(&mut c, bag, tag_manifest);
    let keys = seal::check_keys(&mut c, bag);
    let history = history::check_key_history(&mut c, bag);
    let sealed_by = seal::check_seal(&mut c, &keys, tag_manifest, seal);
    let found = records::check_records(&mut c, bag, &keys, history.as_ref(), sealed_by.as_ref())?;
    records::check_one_checkpoint(&mut c, &found);
    let timestamps = timestamps::check_timestamps(&mut c, bag, &found.checkpoints, tsa_anchors);
    timestamps::check_time_order(&mut c, &timestamps, &found.claimed_times);
    records::check_proofs_belong(&mut c, bag, &found);
    records::check_payload_described(&mut c, bag, &found);
    let now = chrono::Utc::now().timestamp();
    let witnesses = witnesses::check_witnesses(&mut c, bag, &options.witnesses, now);
    let pinned = check_trust(&mut c, trusted, &found.signers, history.as_ref());
    if let Some(h) = &history {
        let anchors = history::check_anchors(&mut c, bag, h, &found.checkpoints, tsa_anchors);
        let how = history::Proofs {
            timestamps: &timestamps,
            witnesses: &witnesses,
            anchors: &anchors,
            tsa_ca_given: tsa_anchors.is_some(),
        };
        history::check_compromised(&mut c, h, &found.records, &how);
    }
    let (report, report_not_rebuilt) = check_report(&mut c, bag);
    let sealer = sealed_by
        .as_deref()
        .and_then(|fp| keys.get(fp).map(|k| (fp, k)));
    surrounding(&mut c, sealer);

    let verdict = if c.any_failed() {
        Verdict::Mismatch
    } else if pinned.is_empty() {
        Verdict::Unpinned
    } else {
        Verdict::Verified
    };
    let signers: Vec<String> = found.signers.into_iter().collect();
    let imported = found.records.iter().any(|r| r.imported_from.is_some());
    // Witnessed: the reader required witnesses and enough of them cosigned.
    let quorum = options.witnesses.quorum();
    let cosigned: Vec<&WitnessSummary> = witnesses
        .iter()
        .filter(|w| w.cosigned_at.is_some())
        .collect();
    let names: Vec<String> = cosigned.iter().map(|w| w.name.clone()).collect();
    let witnessed = cosigned
        .iter()
        .filter_map(|w| w.cosigned_at.as_deref())
        .min()
        .filter(|_| quorum > 0 && cosigned.len() >= quorum)
        .map(|earliest| exhibit_report::limits::Witnessed {
            names: &names,
            earliest,
        });
    let (proven, not_proven) = conclusions(
        verdict,
        &signers,
        &pinned,
        &timestamps,
        tsa_anchors,
        imported,
        witnessed,
    );
    Ok(Report {
        bundle: String::new(),
        bag: bag.name.clone(),
        verdict,
        report,
        report_not_rebuilt,
        checks: c.into_vec(),
        records: found.records,
        signers,
        sealed_by,
        pinned,
        timestamps,
        witnesses,
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
///
/// With a key history, a pinned key also vouches for the keys the history links it to
/// ([`KeyHistory::trusted_from`]): every earlier key, and later keys reached through rotations
/// out of keys never revoked.
fn check_trust(
    c: &mut Checks,
    trusted: &[TrustedKey],
    signers: &std::collections::BTreeSet<String>,
    history: Option<&KeyHistory>,
) -> Vec<String> {
    let pinned: Vec<String> = trusted
        .iter()
        .map(|t| t.fingerprint().to_string())
        .collect();
    let mut accepted = pinned.clone();
    if let Some(h) = history {
        for p in &pinned {
            for i in h.trusted_from(p) {
                accepted.push(h.eras()[i].fingerprint.clone());
            }
        }
    }
    if !pinned.is_empty() {
        for s in signers {
            let through = if pinned.contains(s) {
                "is a pinned key"
            } else {
                "is a pinned key, or linked to one by the key history"
            };
            c.check(
                accepted.contains(s),
                s,
                through,
                pinned.join(" or "),
                s.clone(),
            );
        }
    }
    pinned
}

/// Check 14, the report: it proves that `exhibit/report.pdf` and `exhibit/report.html`, when
/// the bag has them, are byte for byte the report this bag's records make (rebuilt here from
/// the records, with the generation time the report states), so that what a person reads in
/// them is what the records say.
///
/// Runs only when every check before it passed: a report is made from verified records, and
/// a bag that already failed is not worth the work of typesetting one (nor a way to make the
/// verifier do that work for unsigned records). Returns the report's id when it matches, and
/// whether the bag carries a report this check did not rebuild for that reason.
fn check_report(c: &mut Checks, bag: &ReadBag) -> (Option<String>, bool) {
    use exhibit_bundle::layout::{REPORT_HTML, REPORT_PDF};
    let subject = format!("{REPORT_PDF}, {REPORT_HTML}");
    let what = "are the report the records make (rebuilt and compared byte for byte)";
    if c.any_failed() {
        let carried = bag.files.contains_key(REPORT_PDF) || bag.files.contains_key(REPORT_HTML);
        return (None, carried);
    }
    match exhibit_report::check(bag) {
        exhibit_report::Checked::Absent => (None, false),
        exhibit_report::Checked::Matches { id } => {
            c.pass(&subject, what);
            (Some(id), false)
        }
        exhibit_report::Checked::Differs(why) => {
            c.fail(&subject, what, "the report rebuilt from the records", why);
            (None, false)
        }
    }
}

/// What the checks prove and do not (the one list, `exhibit_report::limits`).
fn conclusions(
    verdict: Verdict,
    signers: &[String],
    pinned: &[String],
    timestamps: &[TimestampSummary],
    tsa_anchors: Option<&exhibit_timestamp::TrustAnchors>,
    imported: bool,
    witnessed: Option<exhibit_report::limits::Witnessed<'_>>,
) -> (Vec<String>, Vec<String>) {
    let trusted_stamp = timestamps
        .iter()
        .filter_map(|t| Some((t, t.trusted_by.as_deref()?)))
        .min_by_key(|(t, _)| t.no_later_than_unix)
        .map(|(t, ca)| exhibit_report::limits::StampBound {
            no_later_than: &t.no_later_than,
            file: &t.file,
            tsa: &t.tsa,
            trusted_by: ca,
        });
    exhibit_report::limits::conclusions(&exhibit_report::limits::Established {
        signers,
        all_pinned: verdict == Verdict::Verified,
        keys_given: !pinned.is_empty(),
        trusted_stamp,
        stamps: timestamps.len(),
        tsa_anchors_given: tsa_anchors.is_some(),
        imported,
        witnessed,
    })
}
