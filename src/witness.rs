//! `exhibit witness add|remove|list`, `exhibit log witness`, and the cosigning that follows
//! every signed checkpoint: the witnesses an archive asks (asking them is
//! `exhibit_capture::witness`). Running a witness is `witness_serve`.

use std::io::Write;
use std::path::Path;

use exhibit_capture::witness::{COSIGN_BUDGET, RETRY_BUDGET, WitnessOutcome, cosign_latest};
use exhibit_store::Archive;
use serde_json::json;

use crate::cli::WitnessCommand;
use crate::output::{eprint_line, json_line, text_stdout};
use crate::{EXIT_FAILED, EXIT_OK, Failure};

/// After a command signed a checkpoint: ask the witnesses that have not cosigned the latest
/// one, and warn (never fail) about each that did not.
pub fn cosign_after_signing(archive: &mut Archive) -> Result<(), Failure> {
    let reports = cosign_latest(archive, COSIGN_BUDGET)?;
    for r in &reports {
        if let WitnessOutcome::Failed(why) = &r.outcome {
            eprint_line(&format!(
                "exhibit: warning: checkpoint {} not yet cosigned by witness {} ({}): {}; \
                 `exhibit log witness` retries",
                r.size,
                r.witness,
                r.url,
                why.replace(['\n', '\r'], " ")
            ));
        }
    }
    Ok(())
}

/// Before a capture: retry witnesses that missed the latest checkpoint, quietly.
pub fn retry_quietly(archive: &mut Archive) -> Result<(), Failure> {
    if !archive.config().witness.is_empty() {
        cosign_latest(archive, RETRY_BUDGET)?;
    }
    Ok(())
}

/// `exhibit log witness`.
pub fn log_witness(archive: &mut Archive, json: bool) -> Result<u8, Failure> {
    if archive.config().witness.is_empty() {
        let message =
            "no witness is configured (add one with `exhibit witness add URL --vkey VKEY`)";
        if json {
            json_line(&json!({ "witnesses": 0, "message": message }))?;
        } else {
            writeln!(text_stdout(), "{message}")?;
        }
        return Ok(EXIT_OK);
    }
    if archive.log_size()? == 0 {
        let message = "the log is empty: nothing to cosign yet";
        if json {
            json_line(&json!({ "checkpoint_size": 0, "message": message }))?;
        } else {
            writeln!(text_stdout(), "{message}")?;
        }
        return Ok(EXIT_OK);
    }
    // An interrupted command may have left leaves without a checkpoint: sign one first.
    let key = archive.signing_key()?;
    archive.sign_checkpoint(&key)?;
    let reports = cosign_latest(archive, COSIGN_BUDGET)?;
    let mut status = EXIT_OK;
    let mut out = text_stdout();
    for r in &reports {
        let (state, error) = match &r.outcome {
            WitnessOutcome::Cosigned(_) => ("cosigned", None),
            WitnessOutcome::AlreadyHeld(_) => ("held", None),
            WitnessOutcome::Failed(why) => ("failed", Some(why.as_str())),
        };
        if error.is_some() {
            status = EXIT_FAILED;
        }
        if json {
            json_line(&json!({
                "witness": r.witness,
                "url": r.url,
                "checkpoint_size": r.size,
                "status": state,
                "error": error,
            }))?;
        } else {
            match error {
                None => writeln!(
                    out,
                    "{}: checkpoint {} {}",
                    r.witness,
                    r.size,
                    if state == "cosigned" {
                        "cosigned"
                    } else {
                        "already cosigned"
                    }
                )?,
                Some(why) => writeln!(
                    out,
                    "{}: checkpoint {} NOT cosigned: {} ({})",
                    r.witness,
                    r.size,
                    why.replace(['\n', '\r'], " "),
                    r.url
                )?,
            }
        }
    }
    if status != EXIT_OK && !json {
        eprintln!("exhibit: some witnesses did not cosign the latest checkpoint (see above)");
    }
    Ok(status)
}

/// `exhibit witness …`.
pub fn witness(root: &Path, cmd: WitnessCommand, json: bool) -> Result<u8, Failure> {
    let (url, vkey, name) = match cmd {
        WitnessCommand::Serve(args) => return crate::witness_serve::serve(args),
        WitnessCommand::Key { dir, name } => {
            return crate::witness_serve::key(&dir, name.as_deref(), json);
        }
        WitnessCommand::Remove { witness } => return remove(root, &witness, json),
        WitnessCommand::List => return list(root, json),
        WitnessCommand::Add { url, vkey, name } => (url, vkey, name),
    };
    let mut archive = Archive::open(root)?;
    let mut added = None;
    archive
        .update_config(|c| {
            added = Some(c.add_witness(&url, &vkey, name.as_deref())?);
            Ok(())
        })
        .map_err(config_error)?;
    let Some(added) = added else {
        return Ok(EXIT_OK);
    };
    if json {
        json_line(&json!({ "added": added.name, "url": added.url, "vkey": added.vkey }))?;
    } else {
        writeln!(
            text_stdout(),
            "Added witness {} ({}); checkpoints from now on are sent to it \
             (`exhibit log witness` asks it for the latest now)",
            added.name,
            added.url
        )?;
    }
    Ok(EXIT_OK)
}

/// A configuration refused for what the user gave: exit 2, the message alone.
fn config_error(e: exhibit_store::StoreError) -> Failure {
    match e {
        exhibit_store::StoreError::Config { message, .. } => Failure::bad_input(message),
        other => other.into(),
    }
}

fn remove(root: &Path, witness: &str, json: bool) -> Result<u8, Failure> {
    let mut archive = Archive::open(root)?;
    let mut removed = None;
    archive
        .update_config(|c| {
            let at = c
                .witness
                .iter()
                .position(|w| w.name == witness || w.url == witness)
                .ok_or_else(|| format!("no witness named {witness:?} is configured"))?;
            removed = Some(c.witness.remove(at));
            Ok(())
        })
        .map_err(config_error)?;
    if let Some(r) = removed {
        if json {
            json_line(&json!({ "removed": r.name, "url": r.url }))?;
        } else {
            writeln!(
                text_stdout(),
                "Removed witness {} ({}); the cosignatures it made are kept",
                r.name,
                r.url
            )?;
        }
    }
    Ok(EXIT_OK)
}

fn list(root: &Path, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let latest = archive.latest_checkpoint()?;
    let held = archive.cosignatures()?;
    let mut out = text_stdout();
    if archive.config().witness.is_empty() && !json {
        writeln!(
            out,
            "No witness is configured (add one with `exhibit witness add URL --vkey VKEY`)"
        )?;
    }
    for w in &archive.config().witness {
        let last = held
            .iter()
            .filter(|c| c.witness == w.name)
            .map(|c| c.size)
            .max();
        if json {
            json_line(&json!({
                "name": w.name,
                "url": w.url,
                "vkey": w.vkey,
                "latest_checkpoint": latest.as_ref().map(|c| c.size),
                "latest_cosigned": last,
            }))?;
        } else {
            writeln!(
                out,
                "{}  {}  {}  latest checkpoint: {}",
                w.name,
                w.url,
                w.vkey,
                match (&latest, last) {
                    (None, _) => "none signed yet".to_owned(),
                    (Some(cp), Some(s)) if s == cp.size => "cosigned".to_owned(),
                    (Some(cp), Some(s)) => format!("size {} not yet cosigned (last: {s})", cp.size),
                    (Some(cp), None) => format!("size {} not yet cosigned", cp.size),
                }
            )?;
        }
    }
    Ok(EXIT_OK)
}
