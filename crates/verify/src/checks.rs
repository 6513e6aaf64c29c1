//! [`verify_bag`]: the checks a bundle passes, in order, each a function of its own whose doc
//! comment says what it proves. The numbers are the order the checks run in, which is the order
//! of the report's check list.
//!
//! | # | check | where |
//! |---|-------|-------|
//! | 1 | the declaration (`bagit.txt`) | `checks/bag.rs` |
//! | 2 | the payload (`manifest-sha256.txt`, Payload-Oxum) | `checks/bag.rs` |
//! | 3 | the tag files (`tagmanifest-sha256.txt`) | `checks/bag.rs` |
//! | 4 | the keys, and the key history when the bundle has one | `checks/seal.rs` |
//! | 5 | the seal | `checks/seal.rs` |
//! | 6 | the manifests | `checks/records.rs` |
//! | 7 | each record: (a) name, (b) signature, (c) log position, (d) what a provision quotes or (e) what a capture describes | `checks/records.rs` |
//! | 8 | one checkpoint | `checks/records.rs` |
//! | 9 | the checkpoint file and time-stamp tokens | `checks/timestamps.rs` |
//! | 10 | time order | `checks/timestamps.rs` |
//! | 11 | no stray proof | `checks/records.rs` |
//! | 12 | no stray payload | `checks/records.rs` |
//! | 13 | trust: every signer pinned (or linked to a pinned key by the key history); anchors; no record by a revoked key without proof it predates the compromise | here |
//! | 14 | the report: rebuilt from the records, byte for byte | here (`exhibit_report::check`) |
//! | 15 | a WACZ package around the bag: every file, the signatures, the WARC, index and pages | `wacz.rs` (only for a package) |
//!
//! Then what the checks prove and do not ([`Report::proven`], [`Report::not_proven`]).
//! Not for reading the bundle (`exhibit_bundle::read_bundle`) nor for printing the report
//! (`report`).

mod bag;
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
    let history = seal::check_key_history(&mut c, bag);
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
        let anchors = check_anchors(&mut c, bag, h, &found.checkpoints, tsa_anchors);
        check_compromised(&mut c, h, &found.records, &timestamps, &witnesses, &anchors);
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

/// An earlier checkpoint proven to have existed at a time: (tree size, Unix time, how).
struct Anchor {
    size: u64,
    time: i64,
    how: String,
}

/// Check 13 (continued), anchors: it proves, for each `exhibit/anchors/<size>/`, that its
/// checkpoint is signed by the archive key for its size, that the bundle's checkpoint extends
/// it (the consistency proof), and that a TSA the reader trusts stamped it: so every leaf below
/// `size` existed no later than the token's time. An anchor is only used with `--tsa-ca` (an
/// untrusted token bounds nothing); without it, anchors are not checked.
fn check_anchors(
    c: &mut Checks,
    bag: &ReadBag,
    history: &KeyHistory,
    proof_checkpoints: &std::collections::BTreeSet<String>,
    tsa_anchors: Option<&exhibit_timestamp::TrustAnchors>,
) -> Vec<Anchor> {
    use exhibit_bundle::layout::{anchor_paths, anchor_size};
    let sizes: std::collections::BTreeSet<u64> =
        bag.files.keys().filter_map(|p| anchor_size(p)).collect();
    let (Some(trust), Some(main)) = (tsa_anchors, proof_checkpoints.iter().next()) else {
        return Vec::new();
    };
    let origin = bag_origin(history);
    let Ok((main_cp, _)) = history.verify_checkpoint(main, &origin) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for size in sizes {
        let [note_path, token_path, proof_path] = anchor_paths(size);
        let what = "is an earlier checkpoint the bundle's extends, stamped by a trusted TSA";
        let checked = (|| -> Result<Anchor, String> {
            let note = bag.tag(&note_path).ok_or("no checkpoint file")?;
            let note = std::str::from_utf8(note).map_err(|_| "the checkpoint is not UTF-8")?;
            let (cp, _) = history.verify_checkpoint(note, &origin)?;
            if cp.size != size || cp.size > main_cp.size {
                return Err(format!(
                    "a checkpoint of size {} in the directory of {size}",
                    cp.size
                ));
            }
            let proof: Vec<[u8; 32]> =
                std::str::from_utf8(bag.tag(&proof_path).ok_or("no consistency proof")?)
                    .map_err(|_| "the consistency proof is not UTF-8")?
                    .lines()
                    .map(|l| {
                        exhibit_core::checkpoint::base64_decode(l)
                            .and_then(|b| <[u8; 32]>::try_from(b).ok())
                            .ok_or("a consistency proof line is not a base64 hash")
                    })
                    .collect::<Result<_, _>>()?;
            exhibit_core::merkle::verify_consistency(
                cp.size,
                main_cp.size,
                &cp.root,
                &main_cp.root,
                &proof,
            )
            .map_err(|e| format!("the bundle's checkpoint does not extend it: {e}"))?;
            let token =
                exhibit_timestamp::Token::parse_response(bag.tag(&token_path).ok_or("no token")?)
                    .map_err(|e| e.to_string())?;
            token
                .check_message(note.as_bytes())
                .map_err(|e| e.to_string())?;
            token.verify_signature().map_err(|e| e.to_string())?;
            let chain = token.verify_chain(trust).map_err(|e| e.to_string())?;
            let info = token.info();
            Ok(Anchor {
                size,
                time: info.no_later_than_unix(),
                how: format!(
                    "the trusted TSA token {token_path} ({}, chaining to {}) over an earlier checkpoint of size {size}",
                    info.gen_time, chain.anchor
                ),
            })
        })();
        match checked {
            Ok(a) => {
                c.pass(&note_path, what);
                out.push(a);
            }
            Err(e) => c.fail(&note_path, what, "a valid anchor", e),
        }
    }
    out
}

/// The origin of the archive whose history this is (every statement names it).
fn bag_origin(history: &KeyHistory) -> String {
    history
        .statements()
        .first()
        .map(|s| s.origin.clone())
        .unwrap_or_default()
}

/// Check 13 (continued), revoked keys: it proves that every record signed by a key the history
/// revokes existed before the compromise — its checkpoint was stamped by a trusted TSA, or
/// cosigned by a witness the reader named, before `compromised_since`. A record without such
/// proof fails as "unverifiable: key compromised": its signature is genuine, but whoever held
/// the leaked key could have made it (docs/VERIFYING.md "Rotated and revoked keys").
fn check_compromised(
    c: &mut Checks,
    history: &KeyHistory,
    records: &[crate::report::RecordSummary],
    timestamps: &[TimestampSummary],
    witnesses: &[WitnessSummary],
    anchors: &[Anchor],
) {
    let mut proofs: Vec<(i64, String)> = timestamps
        .iter()
        .filter(|t| t.trusted_by.is_some())
        .map(|t| {
            (
                t.no_later_than_unix,
                format!("a trusted TSA token ({})", t.no_later_than),
            )
        })
        .collect();
    for w in witnesses.iter().filter(|w| w.given) {
        if let Some(at) = w.cosigned_at.as_deref()
            && let Some(t) = exhibit_core::time::parse_rfc3339_seconds(at)
        {
            proofs.push((
                t.timestamp(),
                format!("witness {}'s cosignature ({at})", w.name),
            ));
        }
    }
    for r in records {
        let Some(era) = history.era_of(&r.signer) else {
            continue;
        };
        let Some(since) = era.compromised_since else {
            continue;
        };
        let since_text = exhibit_core::time::format_rfc3339_seconds(since);
        let what = format!("signed before its key {} was compromised", era.fingerprint);
        // The bundle's checkpoint covers every record; an anchor covers the leaves below its size.
        let covering = anchors
            .iter()
            .filter(|a| r.log_index.is_some_and(|i| i < a.size))
            .map(|a| (a.time, a.how.clone()));
        let all: Vec<(i64, String)> = proofs.iter().cloned().chain(covering).collect();
        match all.iter().filter(|(t, _)| *t < since.timestamp()).min() {
            Some((_, how)) => c.pass(&r.id, &format!("{what}: {how} predates {since_text}")),
            None => c.fail(
                &r.id,
                &what,
                format!("proof that it existed before {since_text}"),
                format!(
                    "unverifiable: key compromised ({} is revoked from {since_text}, and no trusted \
                     timestamp or witness cosignature of a checkpoint that covers it predates that)",
                    era.fingerprint
                ),
            ),
        }
    }
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
