//! Verifying one record of the archive as evidence, the way `exhibit-verify` verifies it in a
//! bundle: its signature by the archive key, its inclusion under the latest signed checkpoint,
//! the order of its claimed time against trusted timestamps, the stored bytes it names, and for
//! a provision the quoted passage. The result is an `exhibit_verify::citation::Candidate`, so
//! the archive and a bundle feed one citation checker.
//!
//! Not for choosing which records a citation means ([`crate::citation`]) nor for comparing
//! fields (`exhibit_core::citation`).

use std::sync::Arc;

use exhibit_core::citation::RecordFacts;
use exhibit_core::manifest::{CaptureManifest, Change};
use exhibit_core::{ProvisionManifest, RecordId, RecordKind, Sha256Digest, merkle};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, Signature, SignedCapture};
use exhibit_verify::citation::{Candidate, Integrity};

use crate::OpsError;

/// One manifest's integrity as the archive holds it: its signature by the archive key (already
/// checked, [`Signature::check`]), its inclusion at `log_index` under the latest signed
/// checkpoint, and the time order of its `claimed` time ([`time_order`]).
fn integrity(
    archive: &Archive,
    public: &KeyHistory,
    bytes: &[u8],
    (signature, signer): (&Signature, &str),
    log_index: u64,
    claimed: &str,
) -> Result<Vec<Integrity>, OpsError> {
    // The key that signs this leaf: after a rotation, a record signed by the retired key at a
    // later position is not the archive's.
    let fp = &public.key_for_leaf(log_index).fingerprint;
    let signature = match signature.problem(public) {
        Some(problem) => Integrity {
            what: "Signature".into(),
            ok: false,
            detail: problem,
        },
        None if signer != fp => Integrity {
            what: "Signature".into(),
            ok: false,
            detail: format!(
                "signed by {}, but leaf {log_index} of the log is signed by {fp} (key history)",
                exhibit_core::inert(signer)
            ),
        },
        None => Integrity {
            what: "Signature".into(),
            ok: true,
            detail: format!("valid Ed25519 signature by {fp}"),
        },
    };
    let log = match archive.latest_checkpoint()? {
        Some(cp) if cp.size > log_index => {
            let proof = archive.inclusion_proof(log_index, &cp)?;
            let note_ok = public
                .verify_checkpoint(&cp.note, &archive.config().origin)
                .map(|_| ());
            let leaf = merkle::leaf_hash(bytes);
            let path_ok = merkle::verify_inclusion(&leaf, log_index, cp.size, &proof, &cp.root);
            Integrity {
                what: "Log inclusion".into(),
                ok: note_ok.is_ok() && path_ok.is_ok(),
                detail: match (note_ok, path_ok) {
                    (Ok(()), Ok(())) => format!(
                        "leaf {log_index} of the signed checkpoint of size {}",
                        cp.size
                    ),
                    (Err(e), _) => format!("the latest checkpoint does not verify: {e}"),
                    (_, Err(e)) => format!("leaf {log_index}: {e}"),
                },
            }
        }
        _ => Integrity {
            what: "Log inclusion".into(),
            ok: false,
            detail: format!(
                "leaf {log_index} is not covered by a signed checkpoint yet (run `exhibit log checkpoint`)"
            ),
        },
    };
    let mut checks = vec![signature, log];
    checks.extend(time_order(archive, log_index, claimed)?);
    Ok(checks)
}

/// Time order, as `exhibit-verify --tsa-ca` checks it in a bundle: a record's claimed time is
/// no later than a trusted RFC 3161 time over the earliest timestamped checkpoint that
/// includes it. Trusted means chaining to the CA configured for that TSA in this archive; a
/// token that does not (or a TSA configured without a CA) bounds nothing, and a token that
/// fails to verify is `fsck --full`'s to report. `None` when no trusted token covers the
/// record.
fn time_order(
    archive: &Archive,
    log_index: u64,
    claimed: &str,
) -> Result<Option<Integrity>, OpsError> {
    let Some(cp) = archive.earliest_timestamped_checkpoint(log_index + 1, &[])? else {
        return Ok(None);
    };
    let mut bound: Option<(i64, String)> = None;
    for stamp in archive.timestamps(cp.size)? {
        let Some(pem) = archive
            .config()
            .tsa
            .iter()
            .find(|t| t.name == stamp.tsa)
            .and_then(|t| t.read_ca(archive.root()))
        else {
            continue;
        };
        let response = archive.read_timestamp(&stamp).ok();
        let trusted = pem.ok().zip(response).and_then(|(pem, response)| {
            crate::timestamps::trusted_time(&pem, &response, cp.note.as_bytes())
        });
        if let Some(at) = trusted
            && bound.as_ref().is_none_or(|(b, _)| at < *b)
        {
            bound = Some((at, stamp.tsa.clone()));
        }
    }
    let Some((bound, tsa)) = bound else {
        return Ok(None);
    };
    let shown = chrono::DateTime::from_timestamp(bound, 0).map_or_else(
        || bound.to_string(),
        exhibit_core::time::format_rfc3339_seconds,
    );
    let ok =
        exhibit_core::time::parse_rfc3339_seconds(claimed).is_some_and(|t| t.timestamp() <= bound);
    Ok(Some(Integrity {
        what: "Time order".into(),
        ok,
        detail: if ok {
            format!(
                "claimed time {claimed} is no later than the checkpoint of size {} existed ({shown}, timestamped by {tsa})",
                cp.size
            )
        } else {
            format!(
                "claimed time {claimed} is after the checkpoint of size {} that includes it existed (no later than {shown}, timestamped by {tsa}): the claimed time is false",
                cp.size
            )
        },
    }))
}

/// The catalog named a record whose signed manifest says otherwise: exit 1, naming both.
fn out_of_step(id: &RecordId, problem: String) -> OpsError {
    OpsError::failed(format!(
        "{id}: {problem}; catalog.sqlite is out of step with the signed manifests (run `exhibit fsck`)"
    ))
}

/// Verifies a record (capture, version or provision) into a citation candidate. `with_text`
/// reads the version's extracted text (for excerpt checks).
///
/// The catalog only finds the manifest: every fact comes from the signed manifest, which must
/// be the record asked for (a capture's own id; for a version, the capture whose manifest opens
/// that version; for a provision, its own id and the capture it pins). A check that fails is
/// in the candidate's `integrity`; an error means the record could not be read at all.
pub fn verify_record(
    archive: &Archive,
    public: &KeyHistory,
    id: &RecordId,
    with_text: bool,
) -> Result<Candidate, OpsError> {
    let text_of = |m: &CaptureManifest| -> Result<Option<Arc<str>>, OpsError> {
        match (&m.text, with_text) {
            (Some(t), true) => Ok(Some(Arc::from(archive.read_text(&t.sha256)?))),
            _ => Ok(None),
        }
    };
    let candidate = match id.kind() {
        RecordKind::Capture | RecordKind::Version => {
            let capture_number = if id.kind() == RecordKind::Version {
                archive.version(id.number())?.opened_by.number()
            } else {
                id.number()
            };
            let SignedCapture {
                row,
                manifest: m,
                bytes,
                signature,
            } = archive.read_signed_capture(capture_number, public)?;
            if id.kind() == RecordKind::Version
                && !m
                    .version
                    .as_ref()
                    .is_some_and(|v| v.id == *id && v.change == Change::New)
            {
                return Err(out_of_step(
                    id,
                    format!("the signed manifest of {} does not open this version", m.id),
                ));
            }
            let sha = Sha256Digest::of(&bytes);
            let facts = if id.kind() == RecordKind::Version {
                RecordFacts::of_version(&m, sha, Some(row.log_index))
            } else {
                RecordFacts::of_capture(&m, sha, Some(row.log_index))
            };
            let mut checks = integrity(
                archive,
                public,
                &bytes,
                (&signature, &m.signer),
                row.log_index,
                &m.captured_at,
            )?;
            if let Some(c) = &m.content {
                let stored = archive.objects().copy_verified(
                    &c.sha256,
                    Some(&c.blake3),
                    &mut std::io::sink(),
                );
                checks.push(Integrity {
                    what: "Stored bytes".into(),
                    ok: stored.is_ok(),
                    detail: match stored {
                        Ok(n) => format!(
                            "{n} bytes in the archive hash to the manifest's SHA-256 and BLAKE3"
                        ),
                        Err(e) => e.to_string(),
                    },
                });
            }
            Candidate {
                facts,
                text: text_of(&m)?,
                integrity: checks,
            }
        }
        RecordKind::Provision => {
            let row = archive.provision(id.number())?;
            let (bytes, sig) = archive.read_provision_manifest(&row)?;
            let p = ProvisionManifest::parse(&bytes)
                .map_err(|e| OpsError::failed(format!("{}: {e}", row.manifest_path)))?;
            if p.id != *id {
                return Err(out_of_step(
                    id,
                    format!("the manifest read for it is {}'s", p.id),
                ));
            }
            // The pinned capture's manifest (its own signature is its record's matter: the
            // provision pins it by hash, checked below).
            let SignedCapture {
                manifest: opening,
                bytes: obytes,
                ..
            } = archive.read_signed_capture(p.capture.id.number(), public)?;
            let signature = Signature::check(public, &bytes, &sig, &p.signer);
            let mut checks = integrity(
                archive,
                public,
                &bytes,
                (&signature, &p.signer),
                row.log_index,
                &p.created_at,
            )?;
            let text = archive.read_text(&p.text.sha256)?;
            // The same checks a bundle verifier makes (FORMAT §3.8): the pinned manifest, and
            // its text, version and document are the ones the provision names.
            let pinned_ok = p
                .check_opening(&Sha256Digest::of(&obytes), &opening)
                .is_ok();
            let quote_ok = p.check_against(text.as_bytes());
            checks.push(Integrity {
                what: "Quoted passage".into(),
                ok: pinned_ok && quote_ok.is_ok(),
                detail: match (pinned_ok, quote_ok) {
                    (false, _) => format!(
                        "{}'s manifest, text, version or document is not the one the provision names",
                        p.capture.id
                    ),
                    (true, Ok(())) => format!(
                        "is the text of {} at characters {}..{}",
                        p.version, p.quote.char_start, p.quote.char_end
                    ),
                    (true, Err(e)) => e,
                },
            });
            Candidate {
                facts: RecordFacts::of_provision(
                    &p,
                    Sha256Digest::of(&bytes),
                    Some(row.log_index),
                    &opening,
                ),
                text: with_text.then(|| Arc::from(text)),
                integrity: checks,
            }
        }
        RecordKind::Document | RecordKind::Reextraction => {
            return Err(OpsError::bad_input(format!(
                "{id}: only captures, versions and provisions are cited (a document through its current version)"
            )));
        }
    };
    Ok(candidate)
}

/// The first integrity check of `candidate` that fails, if any.
pub fn first_failure(candidate: &Candidate) -> Option<&Integrity> {
    candidate.integrity.iter().find(|i| !i.ok)
}
