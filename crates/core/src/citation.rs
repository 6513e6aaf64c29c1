//! Citation records: the human-readable form a filing quotes.
//!
//! ```text
//! Citation Record
//! Entity: AI21 Labs
//! Document: AI21 Labs Privacy Policy
//! Record ID: EX-C-000042
//! Captured: 2026-04-30 06:15:21 UTC
//! SHA-256: 4abc7ff0d7779bee…
//! URL: https://www.ai21.com/privacy-policy
//! Accessed: April 30, 2026
//! Document ID: EX-D-000001
//! Version ID: EX-V-000002
//! Signed-By: SHA256:…
//! ```

use crate::manifest::CaptureManifest;
use crate::time::{format_human, parse_rfc3339_seconds};

/// How the SHA-256 is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashForm {
    /// All 64 hex digits.
    Full,
    /// The first 16 hex digits and `…`, as filings often print it.
    Short,
}

/// Renders the citation record of a capture manifest.
pub fn render(m: &CaptureManifest, hash: HashForm) -> String {
    let mut out = String::from("Citation Record\n");
    let mut field = |label: &str, value: &str| {
        out.push_str(label);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    };
    if let Some(entity) = &m.document.entity {
        field("Entity", entity);
    }
    if let Some(title) = &m.document.title {
        field("Document", title);
    }
    field("Record ID", &m.id.to_string());
    let captured = parse_rfc3339_seconds(&m.captured_at);
    field(
        "Captured",
        &captured.map_or_else(|| m.captured_at.clone(), format_human),
    );
    if let Some(c) = &m.content {
        let h = match hash {
            HashForm::Full => c.sha256.to_hex(),
            HashForm::Short => format!("{}…", c.sha256.short(16)),
        };
        field("SHA-256", &h);
    }
    field("URL", &m.document.url);
    if let Some(t) = captured {
        field("Accessed", &t.format("%B %-d, %Y").to_string());
    }
    if let Some(error) = &m.error {
        field("Capture-Failed", error);
    }
    field("Document ID", &m.document.id.to_string());
    if let Some(v) = &m.version {
        field("Version ID", &v.id.to_string());
    }
    field("Signed-By", &m.signer);
    out
}
