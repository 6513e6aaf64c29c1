//! Printing records for people and for machines.

use std::io::Write;

use exhibit_core::time::parse_rfc3339_seconds;
use exhibit_core::{Inert, inert};
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

pub use exhibit_core::inert::inert_text;

/// Standard output for a text report, made inert on a terminal as a whole: every line written
/// is passed through [`inert`] before it reaches the terminal, so no control character
/// (escape sequences, carriage returns, bidi overrides) from a capture, a bundle or an error
/// text can reach it, whatever the code that formats the line forgets. Line breaks are kept.
/// Fields that could themselves hold a line break are still printed through
/// [`exhibit_core::Inert`], so that they cannot forge a line either.
///
/// Not for raw bytes (`cat`) nor for output that carries colours of its own (`diff`).
pub fn text_stdout() -> InertLines<std::io::StdoutLock<'static>> {
    InertLines::new(std::io::stdout().lock())
}

/// A writer that passes each line through [`inert`] (see [`text_stdout`]).
pub struct InertLines<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> InertLines<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        InertLines {
            inner,
            line: Vec::new(),
        }
    }

    /// Writes the buffered line, made inert, and `end`.
    fn emit(&mut self, end: &[u8]) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(&self.line);
        let safe = inert(&text);
        self.inner.write_all(safe.as_bytes())?;
        self.inner.write_all(end)?;
        self.line.clear();
        Ok(())
    }
}

impl<W: Write> Write for InertLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..i]);
            self.emit(b"\n")?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.emit(b"")?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for InertLines<W> {
    fn drop(&mut self) {
        // An unfinished last line; errors were reported by the writes that mattered.
        let _ = self.flush();
    }
}

/// Prints one line to stderr, made [`inert`] (a line break in it is escaped too).
pub fn eprint_line(line: &str) {
    eprintln!("{}", inert(line));
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
            Inert(&c.url)
        )
    } else {
        format!(
            "{}  {}  FAILED: {}  {}",
            c.capture_id,
            c.document_id,
            Inert(c.error.as_deref().unwrap_or("unknown error")),
            Inert(&c.url)
        )
    }
}

/// A table of captures.
pub fn capture_table(rows: &[CaptureRow]) -> Result<(), Failure> {
    let mut out = text_stdout();
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
            Inert(&r.url)
        )?;
    }
    Ok(())
}

/// A document's header lines.
pub fn document_block(d: &DocumentRow, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "Document     {}", d.id)?;
    writeln!(out, "URL          {}", Inert(&d.url))?;
    writeln!(out, "Entity       {}", Inert(&opt(&d.entity)))?;
    writeln!(out, "Title        {}", Inert(&opt(&d.title)))?;
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

/// The connection record of an HTTP capture (FORMAT §3.10), for `show`: each connection's
/// address and handshake, the chain's subjects and fingerprints, and the trust roots.
pub fn connections(
    archive: &exhibit_store::Archive,
    http: &exhibit_core::manifest::HttpExchange,
    out: &mut impl Write,
) -> std::io::Result<()> {
    for (i, c) in http.connections.iter().flatten().enumerate() {
        writeln!(
            out,
            "Connection {} {}  at {}  for {}",
            i + 1,
            Inert(&c.remote),
            human_time(&c.connected_at),
            Inert(&c.url)
        )?;
        let Some(t) = &c.tls else { continue };
        let or_none = |v: &Option<String>| {
            v.as_deref()
                .map_or("-".to_owned(), |s| inert(s).into_owned())
        };
        writeln!(
            out,
            "  TLS      {}  {}  {}  ALPN {}  server name {}: chain {}",
            or_none(&t.version),
            or_none(&t.cipher_suite),
            or_none(&t.group),
            or_none(&t.alpn),
            Inert(&t.server_name),
            if t.trusted { "trusted" } else { "REFUSED" }
        )?;
        for (n, facts) in exhibit_ops::tls::describe_certificates(archive, &t.chain)
            .iter()
            .enumerate()
        {
            certificate_line(&format!("  Cert {n}"), facts, out)?;
        }
    }
    if let Some(roots) = &http.trust_roots {
        writeln!(out, "Roots      {}", Inert(&roots.bundled))?;
        for facts in exhibit_ops::tls::describe_certificates(archive, &roots.added) {
            certificate_line("  Added", &facts, out)?;
        }
    }
    Ok(())
}

fn certificate_line(
    label: &str,
    facts: &exhibit_ops::tls::CertificateFacts,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(out, "{label:<11}{}  sha256 {}", facts.subject, facts.sha256)?;
    if !facts.not_after.is_empty() {
        writeln!(
            out,
            "{:<11}issued by {}, valid {} to {}",
            "", facts.issuer, facts.not_before, facts.not_after
        )?;
    }
    Ok(())
}

/// The browser record of a browser capture (FORMAT §3.11), for `show`.
pub fn browser(
    b: &exhibit_core::browser::BrowserRecord,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Browser    {}  viewport {}x{}  sandbox {}",
        Inert(&b.product),
        b.viewport.width,
        b.viewport.height,
        if b.sandboxed {
            "on"
        } else {
            "off (running as root)"
        }
    )?;
    writeln!(out, "User agent {}", Inert(&b.user_agent))?;
    writeln!(out, "Recorder   {}", Inert(&b.recorder))?;
    writeln!(
        out,
        "Waited     {} ({} ms){}",
        b.waited_for
            .iter()
            .map(|w| inert(w).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        b.wait_ms,
        b.timed_out.as_ref().map_or(String::new(), |t| format!(
            "; timed out waiting for {}",
            inert(t)
        ))
    )?;
    for e in &b.events {
        writeln!(out, "Event      {}", Inert(e))?;
    }
    writeln!(
        out,
        "DOM        sha256 {}  {} bytes",
        b.dom.sha256, b.dom.size
    )?;
    match &b.screenshot {
        Some(o) => writeln!(
            out,
            "Screenshot sha256 {}  {} bytes (PNG)",
            o.sha256, o.size
        )?,
        None => writeln!(out, "Screenshot none")?,
    }
    match &b.pdf {
        Some(o) => writeln!(out, "PDF        sha256 {}  {} bytes", o.sha256, o.size)?,
        None => writeln!(out, "PDF        none")?,
    }
    writeln!(
        out,
        "Resources  {}{}",
        b.resources.len(),
        if b.resources_omitted > 0 {
            format!(" ({} more not recorded)", b.resources_omitted)
        } else {
            String::new()
        }
    )?;
    for r in &b.resources {
        let status = r.status.map_or("---".to_owned(), |s| s.to_string());
        let size = r
            .body
            .as_ref()
            .map_or("-".to_owned(), |o| o.size.to_string());
        let via = r.connection.as_ref().map_or("-".to_owned(), |c| {
            let tls = c
                .tls
                .as_ref()
                .and_then(|t| t.version.clone())
                .unwrap_or_else(|| "plain".into());
            format!("{} {}", inert(&c.remote), inert(&tls))
        });
        writeln!(
            out,
            "  {status} {} {size:>9} B  {via}  {}{}",
            Inert(&r.method),
            Inert(&r.url),
            r.error
                .as_ref()
                .map_or(String::new(), |e| format!("  ({})", inert(e)))
        )?;
    }
    Ok(())
}
