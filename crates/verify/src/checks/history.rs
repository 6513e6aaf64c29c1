//! Checks 4 (continued) and 13 (continued): the bundle's key history, its anchors, and the
//! records a revoked key signed (docs/FORMAT.md §2.1, §11.2; docs/VERIFYING.md "Rotated and
//! revoked keys").
//!
//! Not for whether a signer is pinned (check 13 itself, `checks.rs`), nor for the log proofs
//! that use the history (`records.rs`).

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout;
use exhibit_sign::history::KeyHistory;

use crate::report::{Checks, RecordSummary, TimestampSummary, WitnessSummary};

/// What may prove that a record existed before a time: the bundle checkpoint's timestamps and
/// cosignatures (as checks 9 and 16 found them), the anchors, and whether the reader gave
/// trusted TSA CAs at all.
pub(super) struct Proofs<'a> {
    pub(super) timestamps: &'a [TimestampSummary],
    pub(super) witnesses: &'a [WitnessSummary],
    pub(super) anchors: &'a [Anchor],
    pub(super) tsa_ca_given: bool,
}

/// Check 4 (continued), the key history: it proves that the statements under
/// `exhibit/keys/history/`, when the bundle has them, form one valid chain (docs/FORMAT.md
/// §2.1): each names the one before by its SHA-256, and each rotation is signed by the key it
/// retires and by the key it brings in, each revocation by the key current then. Returns the
/// followed history; `None` when the bundle has none (one key signed everything) or it fails.
pub(super) fn check_key_history(c: &mut Checks, bag: &ReadBag) -> Option<KeyHistory> {
    use exhibit_core::key_statement::{new_key_signature_file, signature_file, statement_file};
    use exhibit_sign::history::StoredStatement;
    let files: Vec<(&str, &[u8])> = bag
        .files
        .iter()
        .filter_map(|(p, f)| {
            let name = p.strip_prefix(layout::KEY_HISTORY_DIR)?;
            Some((name, f.bytes.as_deref().unwrap_or_default()))
        })
        .collect();
    if files.is_empty() {
        return None;
    }
    let get = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
    let count = files.iter().filter(|(n, _)| n.ends_with(".json")).count();
    let names: Vec<String> = (1..=count as u64)
        .map(|n| format!("{}{}", layout::KEY_HISTORY_DIR, statement_file(n)))
        .collect();
    let mut stored = Vec::with_capacity(count);
    for (i, name) in names.iter().enumerate() {
        let n = i as u64 + 1;
        let (Some(bytes), Some(signature)) = (get(&statement_file(n)), get(&signature_file(n)))
        else {
            c.fail(
                name,
                "is a statement of the key history with its signature",
                "statements numbered from 000001.json without a gap, each with its .sig",
                "missing",
            );
            return None;
        };
        stored.push(StoredStatement {
            name,
            bytes,
            signature,
            new_key_signature: get(&new_key_signature_file(n)),
        });
    }
    let what = "is one valid key history (each statement signed, chained, and a rotation signed by both keys)";
    match KeyHistory::follow(&origin_of(bag), &stored) {
        Ok(h) => {
            c.pass(layout::KEY_HISTORY_DIR, what);
            Some(h)
        }
        Err(e) => {
            c.fail(
                layout::KEY_HISTORY_DIR,
                what,
                "a valid key history",
                e.to_string(),
            );
            None
        }
    }
}

/// The origin the bag's records state (the first manifest's; every record is checked to be
/// of it by check 7).
fn origin_of(bag: &ReadBag) -> String {
    bag.files
        .iter()
        .filter(|(p, _)| p.starts_with("exhibit/manifests/") && p.ends_with(".json"))
        .find_map(|(_, f)| exhibit_core::AnyManifest::parse(f.bytes.as_deref()?).ok())
        .map(|m| m.origin().to_owned())
        .unwrap_or_default()
}

/// An earlier checkpoint proven to have existed at a time: (tree size, Unix time, how).
pub(super) struct Anchor {
    size: u64,
    time: i64,
    how: String,
}

/// Check 13 (continued), anchors: it proves, for each `exhibit/anchors/<size>/`, that its
/// checkpoint is signed by the archive key for its size, that the bundle's checkpoint extends
/// it (the consistency proof), and that a TSA the reader trusts stamped it: so every leaf below
/// `size` existed no later than the token's time. An anchor is only used with `--tsa-ca` (an
/// untrusted token bounds nothing); without it, anchors are not checked.
pub(super) fn check_anchors(
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
    let origin = origin_of(bag);
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
            let response = bag.tag(&token_path).ok_or("no token")?;
            let (token, chain) = exhibit_timestamp::verify(response, note.as_bytes(), Some(trust))
                .map_err(|e| format!("{token_path}: {e}"))?;
            let chain = chain.ok_or("the token's chain was not checked")?;
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

/// Check 13 (continued), revoked keys: it proves that every record signed by a key the history
/// revokes existed before the compromise — its checkpoint was stamped by a trusted TSA, or
/// cosigned by a witness the reader named, before `compromised_since`, or an anchor below whose
/// size its leaf lies was. A record without such
/// proof fails as "unverifiable: key compromised": its signature is genuine, but whoever held
/// the leaked key could have made it (docs/VERIFYING.md "Rotated and revoked keys").
pub(super) fn check_compromised(
    c: &mut Checks,
    history: &KeyHistory,
    records: &[RecordSummary],
    how: &Proofs<'_>,
) {
    let Proofs {
        timestamps,
        witnesses,
        anchors,
        tsa_ca_given,
    } = *how;
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
                     timestamp or witness cosignature of a checkpoint that covers it predates that{})",
                    era.fingerprint,
                    if tsa_ca_given {
                        ""
                    } else {
                        "; timestamps count only with --tsa-ca"
                    }
                ),
            ),
        }
    }
}
