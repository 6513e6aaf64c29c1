//! `exhibit bundle RECORD… --out FILE`, `exhibit report RECORD… --out FILE.pdf` and `exhibit
//! export --warc FILE RECORD…`: what goes in is chosen and written by `exhibit_ops::bundle`
//! (the report by `exhibit-report`, the WARC by `exhibit_ops::export`); this module reads the
//! arguments and prints the outcome.

use std::io::Write;

use exhibit_store::Archive;
use serde_json::json;

use crate::cli::{BundleArgs, ExportArgs, ReportArgs};
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
            "report": written.report_id,
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
            "It carries report {} (exhibit/report.pdf, exhibit/report.html)",
            written.report_id
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

/// `exhibit report`: the report the bundle of the same records carries (named after `--out`:
/// `report.pdf` describes the bag `report`, as `exhibit bundle … --out report.tar.zst` would
/// write it), as PDF and optionally HTML, each with a detached signature by the archive key.
pub fn report(root: &std::path::Path, args: ReportArgs, json: bool) -> Result<u8, Failure> {
    let created = bundle_time()?;
    let stem = args
        .out
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Failure::bad_input(format!("--out {}: not a file name", args.out.display()))
        })?;
    if args.html.as_ref() == Some(&args.out) {
        return Err(Failure::bad_input(format!(
            "--out and --html are both {}: give the PDF and the HTML a file each",
            args.out.display()
        )));
    }
    let mut targets = vec![args.out.clone()];
    targets.extend(args.html.iter().cloned());
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for t in &targets {
        files.push(t.clone());
        files.push(signature_path(t));
    }
    for f in &files {
        if f.exists() {
            return Err(Failure::bad_input(format!(
                "{}: already exists; not replacing it",
                f.display()
            )));
        }
    }
    let mut archive = Archive::open(root)?;
    let plan = exhibit_ops::bundle::plan(&mut archive, &args.records)?;
    let report = exhibit_ops::bundle::report(&archive, &plan, format!("{stem}.tar.zst"), created)?;
    let mut outputs = vec![(args.out.clone(), report.pdf.as_slice())];
    if let Some(html) = &args.html {
        outputs.push((html.clone(), report.html.as_slice()));
    }
    // All the files or none: a failure part-way removes what this run wrote.
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    let mut write_all = || -> Result<(), Failure> {
        for (path, bytes) in &outputs {
            let signature = exhibit_ops::bundle::sign_detached(&plan, bytes);
            for (file, data) in [
                (path.clone(), *bytes),
                (signature_path(path), &signature[..]),
            ] {
                exhibit_store::fsutil::create_file_with(&file, |w| {
                    w.write_all(data)
                        .map_err(|e| exhibit_store::StoreError::io(&file, e))
                })?;
                written.push(file);
            }
        }
        Ok(())
    };
    if let Err(e) = write_all() {
        for f in &written {
            let _ = std::fs::remove_file(f);
        }
        return Err(e);
    }
    let key = plan.checkpoint_signer();
    if json {
        json_line(&json!({
            "report": report.facts.id,
            "pdf": args.out,
            "html": args.html,
            "records": report.facts.records.len(),
            "signed_by": key,
        }))?;
    } else {
        let mut o = output::text_stdout();
        writeln!(
            o,
            "Wrote report {} of {} record(s): {}{}, each signed by {key} (FILE.sig)",
            report.facts.id,
            report.facts.records.len(),
            args.out.display(),
            args.html
                .as_ref()
                .map(|h| format!(" and {}", h.display()))
                .unwrap_or_default()
        )?;
        writeln!(
            o,
            "Check a signature: openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in {} -sigfile {}",
            exhibit_bundle::layout::shell_quote(&args.out.display().to_string()),
            exhibit_bundle::layout::shell_quote(&signature_path(&args.out).display().to_string())
        )?;
        writeln!(
            o,
            "The bundle of the same records carries this report and lets anyone check it: \
             exhibit bundle … --out {stem}.tar.zst (with the same SOURCE_DATE_EPOCH)"
        )?;
    }
    Ok(EXIT_OK)
}

/// `FILE.sig` beside `FILE`.
fn signature_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sig");
    name.into()
}

/// `exhibit export --warc | --wacz`: the records as a WARC file, or as a WACZ package.
pub fn export(root: &std::path::Path, args: ExportArgs, json: bool) -> Result<u8, Failure> {
    let created = bundle_time()?;
    let (out, wacz) = match (&args.warc, &args.wacz) {
        (Some(w), None) => (w.clone(), false),
        (None, Some(z)) => (z.clone(), true),
        _ => return Err(Failure::bad_input("give one of --warc FILE or --wacz FILE")),
    };
    if out.exists() {
        return Err(Failure::bad_input(format!(
            "{}: already exists; not replacing it",
            out.display()
        )));
    }
    let mut archive = Archive::open(root)?;
    let queries = if args.all {
        let ids = exhibit_ops::export::all_records(&archive)?;
        if ids.is_empty() {
            return Err(Failure::bad_input("the archive has no records to export"));
        }
        ids
    } else {
        args.records.clone()
    };
    let done = if wacz {
        // The package carries the bundle of these records: chosen as `exhibit bundle` does.
        let plan = exhibit_ops::bundle::plan(&mut archive, &queries)?;
        exhibit_ops::wacz::wacz(&archive, &plan, &out, created)?
    } else {
        let plan = exhibit_ops::bundle::plan_exact(&mut archive, &queries)?;
        exhibit_ops::export::warc(&archive, &plan, &out, created)?
    };
    let kind = if wacz { "wacz" } else { "warc" };
    if json {
        json_line(&json!({
            kind: out,
            "warc_records": done.records,
            "records": done.exhibit_records,
        }))?;
    } else {
        writeln!(
            output::text_stdout(),
            "Wrote {} ({} WARC records for {} exhibit record(s))",
            out.display(),
            done.records,
            done.exhibit_records
        )?;
    }
    Ok(EXIT_OK)
}
