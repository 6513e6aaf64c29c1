//! `exhibit tsa …`, `exhibit log timestamp`, and the timestamping that follows every signed
//! checkpoint (run with the witnesses' cosigning by `vouch`).

use std::io::Write;
use std::path::Path;

use exhibit_capture::tsa::{RETRY_BUDGET, STAMP_BUDGET, TsaOutcome, timestamp_latest};
use exhibit_store::Archive;
use serde_json::json;

use crate::cli::TsaCommand;
use crate::output::json_line;
use crate::{EXIT_FAILED, EXIT_OK, Failure};

/// After a command signed a checkpoint: ask the TSAs that have not stamped the latest one, and
/// warn (never fail) about each that could not.
pub fn stamp_latest(archive: &mut Archive) -> Result<(), Failure> {
    let reports = timestamp_latest(archive, STAMP_BUDGET)?;
    for r in &reports {
        if let TsaOutcome::Failed(why) = &r.outcome {
            crate::output::eprint_line(&format!(
                "exhibit: warning: checkpoint {} not yet timestamped by TSA {} ({}): {}; \
                 `exhibit log timestamp` retries",
                r.size,
                r.tsa,
                r.url,
                why.replace(['\n', '\r'], " ")
            ));
        }
    }
    Ok(())
}

/// Before a capture: retry TSAs that missed the latest checkpoint, quietly (the checkpoint the
/// capture signs is stamped, or warned about, at its end).
pub fn retry_quietly(archive: &mut Archive) -> Result<(), Failure> {
    if !archive.config().tsa.is_empty() {
        timestamp_latest(archive, RETRY_BUDGET)?;
    }
    Ok(())
}

/// `exhibit log timestamp`.
pub fn log_timestamp(archive: &mut Archive, json: bool) -> Result<u8, Failure> {
    if archive.config().tsa.is_empty() {
        let message = "no TSA is configured (add one with `exhibit tsa add URL`)";
        if json {
            json_line(&json!({ "tsas": 0, "message": message }))?;
        } else {
            writeln!(crate::output::text_stdout(), "{message}")?;
        }
        return Ok(EXIT_OK);
    }
    if archive.log_size()? == 0 {
        let message = "the log is empty: nothing to timestamp yet";
        if json {
            json_line(&json!({ "checkpoint_size": 0, "message": message }))?;
        } else {
            writeln!(crate::output::text_stdout(), "{message}")?;
        }
        return Ok(EXIT_OK);
    }
    // An interrupted command may have left leaves without a checkpoint: sign one first.
    let key = archive.signing_key()?;
    archive.sign_checkpoint(&key)?;
    let reports = timestamp_latest(archive, STAMP_BUDGET)?;
    let mut status = EXIT_OK;
    let mut out = crate::output::text_stdout();
    for r in &reports {
        let (state, stamp, error) = match &r.outcome {
            TsaOutcome::Stamped(s) => ("stamped", Some(s), None),
            TsaOutcome::AlreadyHeld(s) => ("held", Some(s), None),
            TsaOutcome::Failed(why) => ("failed", None, Some(why.as_str())),
        };
        if error.is_some() {
            status = EXIT_FAILED;
        }
        if json {
            json_line(&json!({
                "tsa": r.tsa,
                "url": r.url,
                "checkpoint_size": r.size,
                "status": state,
                "gen_time": stamp.map(|s| s.gen_time.as_str()),
                "file": stamp.map(|s| &s.path),
                "error": error,
            }))?;
        } else {
            match (stamp, error) {
                (Some(s), _) => writeln!(
                    out,
                    "{}: checkpoint {} {} at {} ({})",
                    r.tsa,
                    r.size,
                    if state == "stamped" {
                        "timestamped"
                    } else {
                        "already timestamped"
                    },
                    s.gen_time,
                    s.path.display()
                )?,
                (None, why) => writeln!(
                    out,
                    "{}: checkpoint {} NOT timestamped: {} ({})",
                    r.tsa,
                    r.size,
                    why.unwrap_or_default().replace(['\n', '\r'], " "),
                    r.url
                )?,
            }
        }
    }
    if status != EXIT_OK && !json {
        eprintln!("exhibit: some TSAs did not timestamp the latest checkpoint (see above)");
    }
    Ok(status)
}

/// `exhibit tsa …`.
pub fn tsa(root: &Path, cmd: TsaCommand, json: bool) -> Result<u8, Failure> {
    let mut archive = Archive::open(root)?;
    match cmd {
        TsaCommand::Add { url, name, ca } => {
            let pem = ca
                .as_deref()
                .map(exhibit_ops::timestamps::read_ca_bundle)
                .transpose()?;
            // Check the entry (and find its name) before copying anything into the archive.
            let mut probe = archive.config().clone();
            let entry = probe
                .add_tsa(&url, name.as_deref(), None)
                .map_err(Failure::bad_input)?;
            let ca_rel = pem
                .map(|pem| archive.import_tsa_ca(&entry.name, &pem))
                .transpose()?;
            let mut added = None;
            archive.update_config(|c| {
                added = Some(c.add_tsa(&url, Some(&entry.name), ca_rel.clone())?);
                Ok(())
            })?;
            let added = added.unwrap_or(entry);
            if json {
                json_line(&json!({ "added": added.name, "url": added.url, "ca": added.ca }))?;
            } else {
                writeln!(
                    crate::output::text_stdout(),
                    "Added TSA {} ({}){}; checkpoints from now on are sent to it \
                     (`exhibit log timestamp` stamps the latest now)",
                    added.name,
                    added.url,
                    added
                        .ca
                        .as_ref()
                        .map(|c| format!(", answers checked against {}", c.display()))
                        .unwrap_or_default()
                )?;
            }
            Ok(EXIT_OK)
        }
        TsaCommand::Remove { tsa } => {
            let mut removed = None;
            archive
                .update_config(|c| {
                    let at = c
                        .tsa
                        .iter()
                        .position(|t| t.name == tsa || t.url == tsa)
                        .ok_or_else(|| format!("no TSA named {tsa:?} is configured"))?;
                    removed = Some(c.tsa.remove(at));
                    Ok(())
                })
                .map_err(|e| match e {
                    exhibit_store::StoreError::Config { message, .. } => {
                        Failure::bad_input(message)
                    }
                    other => other.into(),
                })?;
            if let Some(r) = removed {
                if json {
                    json_line(&json!({ "removed": r.name, "url": r.url }))?;
                } else {
                    writeln!(
                        crate::output::text_stdout(),
                        "Removed TSA {} ({}); the tokens it issued are kept",
                        r.name,
                        r.url
                    )?;
                }
            }
            Ok(EXIT_OK)
        }
        TsaCommand::List => {
            let latest = archive.latest_checkpoint()?;
            let held = match &latest {
                Some(cp) => archive.timestamps(cp.size)?,
                None => Vec::new(),
            };
            let mut out = crate::output::text_stdout();
            if archive.config().tsa.is_empty() && !json {
                writeln!(
                    out,
                    "No TSA is configured (add one with `exhibit tsa add URL`)"
                )?;
            }
            for t in &archive.config().tsa {
                let stamp = held.iter().find(|h| h.tsa == t.name);
                if json {
                    json_line(&json!({
                        "name": t.name,
                        "url": t.url,
                        "ca": t.ca,
                        "latest_checkpoint": latest.as_ref().map(|c| c.size),
                        "latest_gen_time": stamp.map(|s| s.gen_time.as_str()),
                    }))?;
                } else {
                    writeln!(
                        out,
                        "{}  {}{}  latest checkpoint: {}",
                        t.name,
                        t.url,
                        t.ca.as_ref()
                            .map(|c| format!("  (CA {})", c.display()))
                            .unwrap_or_default(),
                        match (&latest, stamp) {
                            (None, _) => "none signed yet".to_owned(),
                            (Some(_), Some(s)) => format!("timestamped at {}", s.gen_time),
                            (Some(cp), None) => format!("size {} not yet timestamped", cp.size),
                        }
                    )?;
                }
            }
            Ok(EXIT_OK)
        }
    }
}
