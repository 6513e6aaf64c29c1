//! Printing records for people and for machines.

use std::io::Write;

use exhibit_core::time::parse_rfc3339_seconds;
use exhibit_store::{CaptureRow, CommittedCapture, DocumentRow, VersionRow};
use serde::Serialize;

use crate::Failure;

/// Writes one JSON value and a newline to stdout.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let line = serde_json::to_string(value).map_err(|e| Failure {
        code: crate::EXIT_FAILED,
        message: format!("output: {e}"),
    })?;
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

/// `2026-04-30T06:15:21Z` → `2026-04-30 06:15:21 UTC`.
pub fn human_time(rfc3339: &str) -> String {
    parse_rfc3339_seconds(rfc3339)
        .map(exhibit_core::time::format_human)
        .unwrap_or_else(|| rfc3339.to_owned())
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

/// One line per committed capture.
pub fn capture_line(c: &CommittedCapture) -> String {
    if c.ok {
        let version = match (&c.version_id, c.changed, &c.previous_version_id) {
            (Some(v), true, Some(prev)) => format!("{v} new version (was {prev})"),
            (Some(v), true, None) => format!("{v} new version (first)"),
            (Some(v), false, _) => format!("{v} unchanged"),
            (None, _, _) => "-".into(),
        };
        format!(
            "{}  {}  {}  sha256 {}  {}",
            c.capture_id,
            c.document_id,
            version,
            opt(&c.sha256),
            c.url
        )
    } else {
        format!(
            "{}  {}  FAILED: {}  {}",
            c.capture_id,
            c.document_id,
            c.error.as_deref().unwrap_or("unknown error"),
            c.url
        )
    }
}

/// A table of captures.
pub fn capture_table(rows: &[CaptureRow]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<14} {:<23} {:<14} {:<18} URL",
        "CAPTURE", "CAPTURED", "VERSION", "SHA-256"
    )?;
    for r in rows {
        let version = if r.ok {
            opt(&r.version_id)
        } else {
            format!(
                "FAILED {}",
                r.status.map_or(String::new(), |s| s.to_string())
            )
        };
        let sha = r
            .sha256
            .map_or_else(|| "-".to_owned(), |s| format!("{}…", s.short(16)));
        writeln!(
            out,
            "{:<14} {:<23} {:<14} {:<18} {}",
            r.id.to_string(),
            human_time(&r.captured_at),
            version,
            sha,
            r.url
        )?;
    }
    Ok(())
}

/// A document's header lines.
pub fn document_block(d: &DocumentRow, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "Document     {}", d.id)?;
    writeln!(out, "URL          {}", d.url)?;
    writeln!(out, "Entity       {}", opt(&d.entity))?;
    writeln!(out, "Title        {}", opt(&d.title))?;
    writeln!(out, "First seen   {}", human_time(&d.created_at))?;
    writeln!(out, "Current      {}", opt(&d.current_version))?;
    writeln!(out, "Last capture {}", opt(&d.last_capture))
}

/// A table of versions.
pub fn version_table(rows: &[VersionRow], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<14} {:<23} {:<23} {:>8}  {:<18} OPENED BY",
        "VERSION", "FIRST SEEN", "LAST SEEN", "CAPTURES", "TEXT SHA-256"
    )?;
    for v in rows {
        let text = v
            .text_sha256
            .map_or_else(|| "(no text)".to_owned(), |s| format!("{}…", s.short(16)));
        writeln!(
            out,
            "{:<14} {:<23} {:<23} {:>8}  {:<18} {}",
            v.id.to_string(),
            human_time(&v.first_seen),
            human_time(&v.last_seen),
            v.captures,
            text,
            v.opened_by
        )?;
    }
    Ok(())
}
