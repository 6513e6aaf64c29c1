//! The tamper-evident log as the commands use it: the checkpoint to show, inclusion proofs for
//! records, and checking that today's log extends an old signed checkpoint. Not for the log's
//! storage (`exhibit_store::log`) nor for proof arithmetic (`exhibit_core::merkle`).

use std::path::Path;

use exhibit_core::RecordId;
use exhibit_core::RecordKind;
use exhibit_core::checkpoint::{Checkpoint, TlogProof};
use exhibit_sign::history::KeyHistory;
use exhibit_sign::note::SignedNote;
use exhibit_store::{Archive, SignedCheckpoint};

use crate::OpsError;

/// Largest checkpoint file read for a consistency check.
const MAX_CHECKPOINT_FILE: u64 = 1 << 20;

/// The latest signed checkpoint if it covers the whole log; else a new one is signed first (an
/// interrupted command left leaves without one). The flag says whether one was signed now.
pub fn current_checkpoint(archive: &mut Archive) -> Result<(SignedCheckpoint, bool), OpsError> {
    let size = archive.log_size()?;
    match archive.latest_checkpoint()? {
        Some(cp) if cp.size == size => Ok((cp, false)),
        _ => {
            let key = archive.signing_key()?;
            Ok((archive.sign_checkpoint(&key)?, true))
        }
    }
}

/// An inclusion proof of one record.
pub struct Inclusion {
    /// The record.
    pub id: RecordId,
    /// Its leaf index.
    pub index: u64,
    /// The size of the checkpoint the proof refers to.
    pub tree_size: u64,
    /// The C2SP tlog-proof (index, inclusion path, signed checkpoint).
    pub tlog_proof: String,
}

/// Proves that the record `query` names (a capture, provision or re-extraction; an id or a
/// hash prefix) is in the log, under the latest checkpoint (signed now if none covers it).
pub fn prove(archive: &mut Archive, query: &str) -> Result<Inclusion, OpsError> {
    let group = archive.resolve_hash_group(query)?;
    let m = &group[0];
    let (id, log_index) = match m.id.kind() {
        RecordKind::Capture => {
            let row = archive.capture(m.id.number())?;
            (row.id, row.log_index)
        }
        RecordKind::Provision => {
            let row = archive.provision(m.id.number())?;
            (row.id, row.log_index)
        }
        RecordKind::Reextraction => {
            let row = archive.reextraction(m.id.number())?;
            (row.id, row.log_index)
        }
        _ => {
            return Err(OpsError::bad_input(format!(
                "{}: log proofs are for captures, provisions and re-extractions (their manifests are the leaves)",
                m.id
            )));
        }
    };
    let checkpoint = match archive.latest_checkpoint()? {
        Some(cp) if cp.size > log_index => cp,
        _ => {
            let key = archive.signing_key()?;
            archive.sign_checkpoint(&key)?
        }
    };
    let proof = TlogProof {
        extra: None,
        index: log_index,
        proof: archive.inclusion_proof(log_index, &checkpoint)?,
        checkpoint: checkpoint.note.clone(),
    };
    Ok(Inclusion {
        id,
        index: log_index,
        tree_size: checkpoint.size,
        tlog_proof: proof.to_text(),
    })
}

/// Today's log extends an old checkpoint: the proof of it.
pub struct Consistency {
    /// The old checkpoint's size.
    pub old_size: u64,
    /// The old checkpoint's root.
    pub old_root: exhibit_core::merkle::Hash,
    /// The checkpoint of today's log.
    pub current: SignedCheckpoint,
    /// The consistency proof (empty when the old log is empty or the same size).
    pub proof: Vec<exhibit_core::merkle::Hash>,
}

/// Checks that today's log extends the signed checkpoint in the file at `path` (exit 2 if the
/// file is not a checkpoint; a failure naming the file if it is not this archive's, not signed
/// by `public`, or not extended). Signs a checkpoint of today's log if the log grew since the
/// last and the signing key is at hand.
pub fn check_consistency(
    archive: &mut Archive,
    origin: &str,
    public: &KeyHistory,
    path: &Path,
) -> Result<Consistency, OpsError> {
    let shown = path.display();
    let bytes = exhibit_store::fsutil::read_limited(path, MAX_CHECKPOINT_FILE)
        .map_err(|e| OpsError::bad_input(e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| OpsError::bad_input(format!("{shown}: not UTF-8 text")))?;
    let note =
        SignedNote::parse(&text).map_err(|e| OpsError::bad_input(format!("{shown}: {e}")))?;
    let old =
        Checkpoint::parse(&note.text).map_err(|e| OpsError::bad_input(format!("{shown}: {e}")))?;
    let mismatch = |message: String| OpsError::failed(format!("{shown}: {message}"));
    if old.origin != origin {
        return Err(mismatch(format!(
            "checkpoint of log {:?}, not of this archive ({origin:?})",
            old.origin
        )));
    }
    if let Err(e) = public.verify_checkpoint(&text, origin) {
        return Err(mismatch(e));
    }
    let key = archive.signing_key();
    let current = match (archive.latest_checkpoint()?, key) {
        (Some(cp), _) if cp.size == archive.log_size()? => cp,
        (_, Ok(key)) => archive.sign_checkpoint(&key)?,
        (Some(cp), Err(_)) => cp,
        (None, Err(e)) => return Err(e.into()),
    };
    if old.size > current.size {
        return Err(mismatch(format!(
            "the checkpoint has {} leaves but the log has only {}: the log was truncated or rewritten",
            old.size, current.size
        )));
    }
    let ours = archive.log_root(old.size)?;
    if ours != old.root {
        return Err(mismatch(format!(
            "the log's first {} leaves hash to {}, but the checkpoint says {}: history was rewritten",
            old.size,
            exhibit_core::checkpoint::base64_encode(&ours),
            exhibit_core::checkpoint::base64_encode(&old.root)
        )));
    }
    let proof = if old.size == 0 || old.size == current.size {
        Vec::new()
    } else {
        let proof = archive.consistency_proof(old.size, current.size)?;
        if let Err(e) = exhibit_core::merkle::verify_consistency(
            old.size,
            current.size,
            &old.root,
            &current.root,
            &proof,
        ) {
            return Err(mismatch(format!("consistency proof does not verify: {e}")));
        }
        proof
    };
    Ok(Consistency {
        old_size: old.size,
        old_root: old.root,
        current,
        proof,
    })
}
