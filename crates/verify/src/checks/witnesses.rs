//! Check 16: the witnesses' cosignatures on the bundle's checkpoint (C2SP tlog-cosignature).
//!
//! `exhibit/checkpoint.cosigned`, when present, must begin with the exact bytes of
//! `exhibit/checkpoint` and be a signed note whose further lines are cosignatures. With witness
//! keys given (`--witness VKEY`), each cosignature by one of them must verify over the
//! checkpoint and not be dated in the future, and at least the quorum of them must have
//! cosigned. Without keys, the cosignatures are listed by name, unchecked.

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{CHECKPOINT, COSIGNED_CHECKPOINT};
use exhibit_sign::NoteError;
use exhibit_sign::cosignature::verify_cosignature;
use exhibit_sign::note::SignedNote;

use crate::options::WitnessPolicy;
use crate::report::{Checks, WitnessSummary};

/// How far in the future a cosignature's time may be (clock skew).
const MAX_FUTURE_SKEW_SECS: u64 = 60;

/// Check 16. It proves, with witness keys given, that at least the quorum of those witnesses
/// cosigned exactly the checkpoint the records' proofs refer to (check 9 ties that checkpoint
/// to the proofs), each at a time not in the future: each states that this tree was then the
/// largest it had seen of the log, consistent with all it had seen before.
pub(super) fn check_witnesses(
    c: &mut Checks,
    bag: &ReadBag,
    policy: &WitnessPolicy,
    now: i64,
) -> Vec<WitnessSummary> {
    let cosigned = bag.tag(COSIGNED_CHECKPOINT);
    let note = cosigned.and_then(|bytes| {
        let ok_start = bag
            .tag(CHECKPOINT)
            .is_some_and(|checkpoint| bytes.starts_with(checkpoint));
        c.check(
            ok_start,
            COSIGNED_CHECKPOINT,
            "begins with exhibit/checkpoint, byte for byte",
            "the checkpoint, then cosignature lines",
            "another text",
        );
        let parsed = std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_owned())
            .and_then(|t| SignedNote::parse(t).map_err(|e| e.to_string()));
        if let Err(e) = &parsed {
            c.fail(COSIGNED_CHECKPOINT, "is a signed note", "a note", e.clone());
        }
        parsed.ok().filter(|_| ok_start)
    });
    let mut summaries = Vec::new();
    let mut cosigned_by = 0usize;
    for key in &policy.keys {
        let vkey = key.to_string();
        let outcome = match &note {
            Some(n) => verify_cosignature(n, key),
            None => Err(NoteError::SignatureMissing {
                name: key.name.clone(),
                hash: key.id,
            }),
        };
        let time = match outcome {
            Ok(t) if t > now.max(0) as u64 + MAX_FUTURE_SKEW_SECS => {
                c.fail(
                    COSIGNED_CHECKPOINT,
                    &format!("the cosignature by {vkey} is not dated in the future"),
                    "a time before now",
                    format!("{t} (Unix seconds)"),
                );
                None
            }
            Ok(t) => Some(t),
            Err(NoteError::SignatureMissing { .. }) => None,
            Err(e) => {
                c.fail(
                    COSIGNED_CHECKPOINT,
                    &format!("the cosignature by {vkey} verifies over the checkpoint"),
                    "a valid cosignature/v1",
                    e.to_string(),
                );
                None
            }
        };
        cosigned_by += usize::from(time.is_some());
        summaries.push(WitnessSummary {
            name: key.name.clone(),
            vkey,
            cosigned_at: time.and_then(|t| {
                chrono::DateTime::from_timestamp(i64::try_from(t).ok()?, 0)
                    .map(exhibit_core::time::format_rfc3339_seconds)
            }),
            given: true,
        });
    }
    if !policy.keys.is_empty() {
        let quorum = policy.quorum();
        c.check(
            cosigned_by >= quorum,
            COSIGNED_CHECKPOINT,
            &format!(
                "the checkpoint is cosigned by at least {quorum} of the {} witnesses given",
                policy.keys.len()
            ),
            format!("{quorum} valid cosignatures"),
            format!("{cosigned_by}"),
        );
    }
    // Cosignatures by witnesses the reader did not name: listed, not checked.
    if let Some(n) = &note {
        // The log's own signature is under its origin, the note's first line.
        let origin = n.text.split('\n').next().unwrap_or("");
        for s in n.signatures.iter().filter(|s| s.name != origin) {
            let given = policy
                .keys
                .iter()
                .any(|k| k.name == s.name && k.id == s.hash);
            if !given && !summaries.iter().any(|w| w.name == s.name && !w.given) {
                summaries.push(WitnessSummary {
                    name: s.name.clone(),
                    vkey: format!("{}+{:08x}", s.name, s.hash),
                    cosigned_at: None,
                    given: false,
                });
            }
        }
    }
    summaries
}
