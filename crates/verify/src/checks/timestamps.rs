//! Checks 9 and 10: the bundle's checkpoint file and its RFC 3161 time-stamp tokens, and the
//! order of the times they bound.
//!
//! `exhibit/checkpoint` must be exactly the signed checkpoint that every record's log proof
//! refers to (which the proof checks have verified). Every token `F.tsr` must sit beside a file
//! `F` that is byte-identical to it, and must stamp the SHA-256 of those bytes under a valid CMS
//! signature by a time-stamping certificate; with trusted TSA CA certificates (`--tsa-ca`), the
//! signer must chain to one of them at the token's time. Without them, each token is reported
//! with its time but as not checked for trust.

use std::collections::BTreeSet;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{self, CHECKPOINT};
use exhibit_timestamp::{Token, TrustAnchors};

use crate::report::{Checks, TimestampSummary};

/// Check 9: the checkpoint file and every token. It proves that `exhibit/checkpoint` is the
/// checkpoint the verified log proofs refer to, and that each token stamps those very bytes
/// under a valid TSA signature (chaining to a trusted CA when anchors are given); a bundle
/// without a token fails when anchors are given.
///
/// Checks the checkpoint file and every token; `proof_checkpoints` are the checkpoint notes
/// the verified log proofs refer to.
pub(super) fn check_timestamps(
    c: &mut Checks,
    bag: &ReadBag,
    proof_checkpoints: &BTreeSet<String>,
    anchors: Option<&TrustAnchors>,
) -> Vec<TimestampSummary> {
    let checkpoint = bag.tag(CHECKPOINT);
    if let Some(bytes) = checkpoint {
        let ours = proof_checkpoints.iter().next().map(String::as_bytes);
        c.check(
            proof_checkpoints.len() == 1 && ours == Some(bytes),
            CHECKPOINT,
            "is the signed checkpoint the records' log proofs refer to",
            "the checkpoint in exhibit/proofs/",
            match ours {
                None => "no verified proof names a checkpoint".to_owned(),
                Some(_) => "a different checkpoint".to_owned(),
            },
        );
    }
    let tree_size = checkpoint.and_then(|b| {
        let text = std::str::from_utf8(b).ok()?;
        let (body, _) = exhibit_core::checkpoint::split_note(text).ok()?;
        Some(exhibit_core::checkpoint::Checkpoint::parse(body).ok()?.size)
    });
    let mut summaries = Vec::new();
    for path in bag.files.keys().filter(|p| layout::is_timestamp_path(p)) {
        let Some(data_path) = path.strip_suffix(".tsr") else {
            // A stamped copy: it must have its token and equal the checkpoint.
            if path != CHECKPOINT && !bag.files.contains_key(&format!("{path}.tsr")) {
                c.fail(
                    path,
                    "is stamped by a token beside it",
                    format!("{path}.tsr"),
                    "missing",
                );
            }
            continue;
        };
        let Some(data) = bag.tag(data_path) else {
            c.fail(path, "sits beside the file it stamps", data_path, "missing");
            continue;
        };
        if data_path != CHECKPOINT
            && !c.check(
                checkpoint == Some(data),
                data_path,
                "is a byte-identical copy of exhibit/checkpoint",
                "the same bytes",
                if checkpoint.is_some() {
                    "different bytes"
                } else {
                    "no exhibit/checkpoint"
                },
            )
        {
            continue;
        }
        let Some(response) = bag.tag(path) else {
            continue;
        };
        let token = match Token::parse_response(response) {
            Ok(t) => t,
            Err(e) => {
                c.fail(
                    path,
                    "is an RFC 3161 time-stamp token",
                    "a granted TimeStampResp",
                    e.to_string(),
                );
                continue;
            }
        };
        if let Err(e) = token.check_message(data) {
            c.fail(
                path,
                &format!("stamps the SHA-256 of {data_path}"),
                "the hash of those bytes",
                e.to_string(),
            );
            continue;
        }
        if let Err(e) = token.verify_signature() {
            c.fail(
                path,
                "is signed by the time-stamping certificate it carries",
                "a valid CMS signature by a certificate for timeStamping only (critical)",
                e.to_string(),
            );
            continue;
        }
        let info = token.info();
        let trusted_by = match anchors {
            Some(a) => match token.verify_chain(a) {
                Ok(chain) => {
                    c.pass(
                        path,
                        &format!("is signed by a TSA that chains to {}", chain.anchor),
                    );
                    Some(chain.anchor)
                }
                Err(e) => {
                    c.fail(
                        path,
                        "is signed by a TSA that chains to a trusted CA (--tsa-ca)",
                        a.subjects().join(" or "),
                        e.to_string(),
                    );
                    continue;
                }
            },
            None => None,
        };
        c.pass(path, &format!("stamps {data_path} at {}", info.gen_time));
        let bound = info.no_later_than_unix();
        let no_later_than = chrono::DateTime::from_timestamp(bound, 0).map_or_else(
            || info.gen_time.clone(),
            exhibit_core::time::format_rfc3339_seconds,
        );
        summaries.push(TimestampSummary {
            file: path.clone(),
            stamps: data_path.to_owned(),
            tree_size,
            gen_time: info.gen_time.clone(),
            accuracy: info.accuracy.map(|a| a.to_string()),
            no_later_than,
            no_later_than_unix: bound,
            tsa: info.signer.clone(),
            trusted_by,
            trust_checked: anchors.is_some(),
        });
    }
    let any_token = bag
        .files
        .keys()
        .any(|p| layout::is_timestamp_path(p) && p.ends_with(".tsr"));
    if anchors.is_some() && !any_token {
        c.fail(
            "exhibit/checkpoint.tsr",
            "a time-stamp token checked against the trusted TSA CA (--tsa-ca)",
            "at least one token",
            "none in this bundle",
        );
    }
    summaries
}

/// Check 10, time order: it proves that no record claims a time after a trusted timestamp
/// over a checkpoint that includes it.
///
/// A record cannot have been captured (or made) after a trusted timestamp over a
/// checkpoint that includes it. `records` are (id, what, claimed RFC 3339 time) of the records
/// whose inclusion in the bundle's one checkpoint verified; every trusted token stamps that
/// checkpoint, so the earliest trusted bound applies to all of them. Untrusted tokens bound
/// nothing (they could be anyone's), so without `--tsa-ca` nothing is checked here.
pub(super) fn check_time_order(
    c: &mut Checks,
    timestamps: &[TimestampSummary],
    records: &[(String, &'static str, String)],
) {
    let Some(bound) = timestamps
        .iter()
        .filter(|t| t.trusted_by.is_some())
        .min_by_key(|t| t.no_later_than_unix)
    else {
        return;
    };
    for (id, what, at) in records {
        let claimed = exhibit_core::time::parse_rfc3339_seconds(at);
        c.check(
            claimed.is_some_and(|t| t.timestamp() <= bound.no_later_than_unix),
            id,
            &format!(
                "its claimed {what} time is no later than the trusted timestamp {} over a checkpoint that includes it",
                bound.file
            ),
            format!("{what} at or before {}", bound.no_later_than),
            format!(
                "{what} claimed at {at}, after the checkpoint that includes it existed (no later than {}, by {}): the claimed time is false",
                bound.no_later_than, bound.tsa
            ),
        );
    }
}
