//! `exhibit bundle RECORD… --out FILE`: what goes in is chosen and written by
//! `exhibit_ops::bundle`; this module reads the arguments and prints the outcome.

use std::io::Write;

use exhibit_store::Archive;
use serde_json::json;

use crate::cli::BundleArgs;
use crate::output::{self, json_line};
use crate::{EXIT_OK, Failure};

/// The bundle time: `SOURCE_DATE_EPOCH` (seconds) when set, for reproducible bundles; else now.
fn bundle_time() -> Result<chrono::DateTime<chrono::Utc>, Failure> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .filter(|t| t.timestamp() >= 0)
            .ok_or_else(|| {
                Failure::bad_input(format!(
                    "SOURCE_DATE_EPOCH={v:?} is not a non-negative number of seconds"
                ))
            }),
        Err(_) => Ok(chrono::Utc::now()),
    }
}

/// `exhibit bundle`.
pub fn bundle(root: &std::path::Path, args: BundleArgs, json: bool) -> Result<u8, Failure> {
    let created = bundle_time()?;
    let file_name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Failure::bad_input(format!("--out {}: not a file name", args.out.display()))
        })?;
    let mut archive = Archive::open(root)?;
    let plan = exhibit_ops::bundle::plan(&mut archive, &args.records)?;
    for t in &plan.skipped_tokens {
        output::eprint_line(&format!(
            "exhibit: warning: {}: {}; not bundled (the archive's copy is damaged)",
            t.path.display(),
            t.error
        ));
    }
    if plan.awaiting_timestamp {
        eprintln!(
            "exhibit: note: checkpoint {} is not timestamped yet, so the bundle carries no \
             timestamp (`exhibit log timestamp` asks the TSAs, then bundle again)",
            plan.checkpoint.size
        );
    }
    let written = exhibit_ops::bundle::write(&archive, &plan, &args.out, file_name, created)?;
    let summary = &written.summary;
    if json {
        json_line(&json!({
            "bundle": args.out,
            "records": written.records.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "payload_files": summary.payload_files,
            "payload_bytes": summary.payload_bytes,
            "sealed_by": summary.sealed_by,
        }))?;
    } else {
        let mut o = output::text_stdout();
        writeln!(
            o,
            "Wrote {} ({} record(s), {} payload file(s), {} bytes), sealed by {}",
            args.out.display(),
            written.records.len(),
            summary.payload_files,
            summary.payload_bytes,
            summary.sealed_by
        )?;
        writeln!(
            o,
            "Check it: exhibit-verify {} --key {}",
            exhibit_bundle::layout::shell_quote(&args.out.display().to_string()),
            summary.sealed_by
        )?;
    }
    Ok(EXIT_OK)
}
