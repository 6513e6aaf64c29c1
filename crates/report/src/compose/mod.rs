//! The report's content: every section, in order (docs/FORMAT.md §16.3), written from the facts
//! and the bag's texts and screenshots into one [`Document`] that both renderers set.
//!
//! Every sentence here is a function of [`Facts`] and of bag files the facts name (checked
//! against their digests), so the verifier, holding the same bag, writes the same report.
//! The cover is here; each record's section is in `records`, the sections after them in
//! `sections`.

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout;

mod records;
mod sections;

use crate::doc::{Attachment, Block, Document, Field, Span};
use crate::facts::{Facts, RecordFacts};
use crate::texts;

use records::{Budget, capture, provision};
use sections::{custody, how_to_verify, integrity, limitations, provenance};

/// The most characters of one record's extracted text the report prints.
pub const MAX_TEXT_CHARS: usize = 300_000;

/// Below this many characters left of [`MAX_TOTAL_TEXT_CHARS`], no further text is printed.
pub const MIN_TEXT_CHARS: usize = 1_000;

/// The most bytes of a version's text a provision's context is read from (the passage itself is
/// in the signed manifest whatever the size).
pub const MAX_CONTEXT_TEXT_BYTES: u64 = 4 << 20;

/// The most characters of extracted text the report prints, all records together (which
/// bounds the work of rebuilding a report from a hostile bundle); later texts are named by
/// their bag path instead.
pub const MAX_TOTAL_TEXT_CHARS: usize = 1_500_000;

/// The most screenshot bytes the report carries, all records together (what a reader keeps of
/// screenshots); later screenshots are named by their bag path instead.
pub const MAX_IMAGE_BYTES: u64 = layout::Kept::Screenshot.budget();

/// The document for `facts`, with `facts_json` attached.
pub fn compose(facts: &Facts, bag: &ReadBag, facts_json: Vec<u8>) -> Document {
    let mut b = Vec::new();
    cover(&mut b, facts);
    let mut budget = Budget {
        image_bytes: MAX_IMAGE_BYTES,
        text_chars: MAX_TOTAL_TEXT_CHARS,
    };
    for record in &facts.records {
        match record {
            RecordFacts::Capture(c) => capture(&mut b, c, facts, bag, &mut budget),
            RecordFacts::Provision(p) => provision(&mut b, p, facts, bag),
        }
    }
    integrity(&mut b, facts);
    provenance(&mut b, facts);
    custody(&mut b, facts);
    how_to_verify(&mut b, facts);
    limitations(&mut b, facts);
    texts::declarations(&mut b, facts);
    Document {
        title: texts::TITLE.to_owned(),
        report_id: facts.id.clone(),
        generated_unix: exhibit_core::time::parse_rfc3339_seconds(&facts.generated_at)
            .map_or(0, |t| t.timestamp()),
        attachment: Attachment {
            name: "exhibit-report.json".into(),
            media_type: "application/json".into(),
            description: "The facts this report states, machine-readable (exhibit.report/v1)"
                .into(),
            bytes: facts_json,
        },
        blocks: b,
    }
}

pub(super) fn h(level: u8, text: impl Into<String>) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

pub(super) fn p(text: impl Into<String>) -> Block {
    Block::Paragraph(vec![Span::regular(text)])
}

/// `2026-04-30 06:15:21 UTC` from RFC 3339 (as given when it does not parse).
pub(crate) fn human(t: &str) -> String {
    exhibit_core::time::parse_rfc3339_seconds(t)
        .map_or_else(|| t.to_owned(), exhibit_core::time::format_human)
}

pub(super) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(not recorded)".into())
}

/// The cover: both renderers set the document's title above it.
fn cover(b: &mut Vec<Block>, facts: &Facts) {
    b.push(p(texts::COVER_INTRO));
    let mut fields = vec![
        Field::mono("Report id", &facts.id),
        Field::text("Generated", human(&facts.generated_at)),
        Field::text("Archive", &facts.origin),
    ];
    for s in &facts.signers {
        fields.push(Field::mono("Archive key", s));
    }
    if let Some(c) = &facts.checkpoint {
        fields.push(Field::text(
            "Log checkpoint",
            format!("{}, root {}", leaves(c.size), c.root),
        ));
    }
    b.push(Block::Fields(fields));
    b.push(h(2, "Records covered"));
    let mut rows = Vec::new();
    for r in &facts.records {
        match r {
            RecordFacts::Capture(c) => rows.push(Field {
                label: c.id.clone(),
                value: vec![Span::regular(format!(
                    "{} of {}, captured {}",
                    if c.error.is_some() {
                        "Failed capture"
                    } else {
                        "Capture"
                    },
                    document_name(&c.document),
                    human(&c.captured_at)
                ))],
            }),
            RecordFacts::Provision(pr) => rows.push(Field {
                label: pr.id.clone(),
                value: vec![Span::regular(format!(
                    "Provision quoted from version {} of {}",
                    pr.version,
                    document_name(&pr.document)
                ))],
            }),
        }
    }
    b.push(Block::Fields(rows));
    b.push(h(2, "Contents"));
    b.push(Block::List(
        texts::CONTENTS
            .iter()
            .map(|s| vec![Span::regular(*s)])
            .collect(),
    ));
}

pub(super) fn document_name(d: &exhibit_core::manifest::DocumentRef) -> String {
    match (&d.entity, &d.title) {
        (Some(e), Some(t)) => format!("“{t}” ({e})"),
        (None, Some(t)) => format!("“{t}”"),
        (Some(e), None) => format!("{} ({e})", d.url),
        (None, None) => d.url.clone(),
    }
}

/// `1 leaf`, `2 leaves`.
pub(super) fn leaves(n: u64) -> String {
    format!("{n} {}", if n == 1 { "leaf" } else { "leaves" })
}

/// The width and height of a PNG, from its IHDR (`None` when it is not a PNG).
pub(super) fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    Some((w, h))
}
