//! `exhibit log …`: the latest checkpoint, inclusion proofs, consistency with an old
//! checkpoint, the note verifier key and timestamps. The work is `exhibit_ops::log`; this
//! module prints it.

use std::io::Write;
use std::path::Path;

use exhibit_core::checkpoint::base64_encode as b64;
use exhibit_store::Archive;
use serde_json::json;

use crate::cli::LogCommand;
use crate::output::{json_line, text_stdout};
use crate::{EXIT_OK, Failure, tsa};

/// `exhibit log …`.
pub fn log(root: &Path, cmd: LogCommand, json: bool) -> Result<u8, Failure> {
    let mut archive = Archive::open(root)?;
    let origin = archive.config().origin.clone();
    let public = archive.keys()?;
    match cmd {
        LogCommand::Witness => return crate::witness::log_witness(&mut archive, json),
        LogCommand::Key => {
            let vkey = exhibit_sign::note::verifier_key(&origin, &public.current().key);
            if json {
                json_line(&json!({"verifier_key": vkey, "origin": origin}))?;
            } else {
                writeln!(text_stdout(), "{vkey}")?;
            }
        }
        LogCommand::Checkpoint => {
            let (checkpoint, signed_now) = exhibit_ops::log::current_checkpoint(&mut archive)?;
            if signed_now {
                crate::vouch::after_signing(&mut archive)?;
            }
            if json {
                json_line(&json!({
                    "origin": origin,
                    "size": checkpoint.size,
                    "root": b64(&checkpoint.root),
                    "note": checkpoint.note,
                }))?;
            } else {
                write!(text_stdout(), "{}", checkpoint.note)?;
            }
        }
        LogCommand::Prove { query } => {
            let proof = exhibit_ops::log::prove(&mut archive, &query)?;
            if json {
                json_line(&json!({
                    "id": proof.id,
                    "index": proof.index,
                    "tree_size": proof.tree_size,
                    "tlog_proof": proof.tlog_proof,
                }))?;
            } else {
                write!(text_stdout(), "{}", proof.tlog_proof)?;
            }
        }
        LogCommand::Timestamp => return tsa::log_timestamp(&mut archive, json),
        LogCommand::Consistency { old_checkpoint } => {
            let c = exhibit_ops::log::check_consistency(
                &mut archive,
                &origin,
                &public,
                &old_checkpoint,
            )?;
            print_consistency(&c, json)?;
        }
    }
    Ok(EXIT_OK)
}

fn print_consistency(c: &exhibit_ops::log::Consistency, json: bool) -> Result<(), Failure> {
    let current = &c.current;
    if json {
        json_line(&json!({
            "consistent": true,
            "trivial": c.old_size == 0,
            "old_size": c.old_size,
            "old_root": b64(&c.old_root),
            "new_size": current.size,
            "new_root": b64(&current.root),
            "proof": c.proof.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "new_checkpoint": current.note,
        }))?;
        return Ok(());
    }
    let mut o = text_stdout();
    if c.old_size == 0 {
        writeln!(
            o,
            "Trivially consistent: the checkpoint is of the empty log, which every log extends (no proof needed)."
        )?;
        return Ok(());
    }
    writeln!(
        o,
        "Consistent: the log of {} leaves (root {}) extends the checkpoint of {} leaves (root {}).",
        current.size,
        b64(&current.root),
        c.old_size,
        b64(&c.old_root)
    )?;
    writeln!(o, "Consistency proof ({} hashes):", c.proof.len())?;
    for h in &c.proof {
        writeln!(o, "  {}", b64(h))?;
    }
    Ok(())
}
