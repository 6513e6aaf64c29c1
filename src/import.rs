//! `exhibit import FILE.warc[.gz]`: captures from the records of a WARC file
//! (`exhibit_capture`'s `import_warc` reads it); this module reads the arguments and prints the
//! outcome.

use std::io::Write;
use std::path::Path;

use exhibit_capture::{CaptureError, Capturer, DocumentMeta};
use exhibit_core::manifest::MAX_RECORDED_STRING;
use exhibit_store::Archive;
use serde_json::json;

use crate::cli::ImportArgs;
use crate::output::{self, json_line};
use crate::{EXIT_FAILED, EXIT_OK, Failure};

/// `exhibit import`.
pub fn import(root: &Path, args: ImportArgs, json: bool) -> Result<u8, Failure> {
    if args
        .entity
        .as_ref()
        .is_some_and(|e| e.len() > MAX_RECORDED_STRING)
    {
        return Err(Failure::bad_input(format!(
            "--entity is longer than {MAX_RECORDED_STRING} bytes"
        )));
    }
    let meta = DocumentMeta {
        entity: args.entity.clone(),
        ..DocumentMeta::default()
    };
    let mut archive = Archive::open(root)?;
    crate::vouch::before_capture(&mut archive)?;
    // Webhooks told of each new version: queued as it is committed, sent at the end.
    let mut notify = crate::notify::Hook::new(&archive);
    let mut capturer = Capturer::new(&mut archive)?;
    if let Some(m) = args.max_size {
        capturer.set_max_bytes(m);
    }
    let mut committed = 0u64;
    let mut on_committed = |c: &exhibit_store::CommittedCapture| -> Result<(), CaptureError> {
        committed += 1;
        notify.committed(c);
        let line = if json {
            serde_json::to_string(c).map_err(|e| CaptureError::Internal(e.to_string()))?
        } else {
            output::capture_line(c)
        };
        println!("{line}");
        if !c.ok {
            output::eprint_line(&format!(
                "exhibit: record not imported: {}: {} (recorded as {})",
                c.url,
                c.error.as_deref().unwrap_or("unknown error"),
                c.capture_id
            ));
        }
        Ok(())
    };
    let result = capturer.import_warc(&args.file, &meta, &mut on_committed);
    if committed > 0 {
        // One signed checkpoint per command, covering everything it committed — also when
        // the file changed part-way and the command fails.
        capturer.sign_checkpoint()?;
        crate::vouch::after_signing(&mut archive)?;
    }
    notify.deliver();
    let summary = result?;
    let skipped: Vec<String> = summary
        .skipped
        .iter()
        .map(|(why, n)| format!("{n} {why}"))
        .collect();
    let sha = summary
        .file_sha256
        .map(|s| s.to_string())
        .unwrap_or_default();
    if json {
        json_line(&json!({
            "file": args.file,
            "sha256": sha,
            "size": summary.file_size,
            "records": summary.records,
            "imported": summary.committed - summary.refused,
            "refused": summary.refused,
            "skipped": summary.skipped,
        }))?;
    } else {
        writeln!(
            output::text_stdout(),
            "Imported {} capture(s) from {} (SHA-256 {sha}, {} records){}{}",
            summary.committed - summary.refused,
            args.file.display(),
            summary.records,
            if summary.refused > 0 {
                format!("; {} refused", summary.refused)
            } else {
                String::new()
            },
            if skipped.is_empty() {
                String::new()
            } else {
                format!("; not imported: {}", skipped.join(", "))
            }
        )?;
    }
    Ok(if summary.refused > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
