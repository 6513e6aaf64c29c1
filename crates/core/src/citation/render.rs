//! Rendering: a record's [`RecordFacts`] → the citation text a filing quotes.
//!
//! Only the output side lives here; reading a pasted citation back is `parse.rs`, and checking
//! one against a record is `compare.rs`.

use super::{HashForm, RecordFacts, one_line};
use crate::digest::Sha256Digest;
use crate::id::RecordKind;

/// Renders a record's citation.
///
/// One field per line, only fields with a value, in the order of the example in the module
/// documentation (then `Capture ID` when the record is not the capture, `Text SHA-256` for
/// versions and provisions, `Excerpt` and `Excerpt SHA-256` for provisions, `Capture-Failed`
/// for failed captures, `Signed-By` and `Log Position`). Free-text values have their whitespace
/// collapsed, so no value can add a line.
pub fn render(facts: &RecordFacts, hash: HashForm) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("Citation Record\n");
    let mut line = |label: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "{label}: {value}");
        }
    };
    let digest = |d: &Sha256Digest| match hash {
        HashForm::Full => d.to_hex(),
        HashForm::Short => format!("{}…", d.short(16)),
    };
    line("Entity", &one_line(facts.entity.as_deref().unwrap_or("")));
    line("Document", &one_line(facts.title.as_deref().unwrap_or("")));
    line("Record ID", &facts.id.to_string());
    line("Captured", &crate::time::format_human(facts.captured_at));
    if let Some(d) = &facts.sha256 {
        line("SHA-256", &digest(d));
    }
    line("URL", &one_line(&facts.url));
    line("Accessed", &facts.accessed.format("%B %-d, %Y").to_string());
    line("Document ID", &facts.document_id.to_string());
    if let Some(v) = &facts.version_id {
        line("Version ID", &v.to_string());
    }
    if facts.capture_id != facts.id {
        line("Capture ID", &facts.capture_id.to_string());
    }
    if matches!(facts.kind(), RecordKind::Version | RecordKind::Provision)
        && let Some(d) = &facts.text_sha256
    {
        line("Text SHA-256", &digest(d));
    }
    if let Some(e) = &facts.excerpt {
        let e = one_line(e);
        if !e.is_empty() {
            line("Excerpt", &format!("\u{201C}{e}\u{201D}"));
        }
    }
    if let Some(d) = &facts.excerpt_sha256 {
        line("Excerpt SHA-256", &d.to_hex());
    }
    line(
        "Capture-Failed",
        &one_line(facts.error.as_deref().unwrap_or("")),
    );
    line("Signed-By", &one_line(&facts.signer));
    if let Some(i) = facts.log_index {
        let origin = one_line(&facts.log_origin);
        if origin.is_empty() {
            line("Log Position", &format!("leaf {i}"));
        } else {
            line("Log Position", &format!("leaf {i} in {origin}"));
        }
    }
    out
}
