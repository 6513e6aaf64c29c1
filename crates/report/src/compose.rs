//! The report's content: every section, in order (docs/FORMAT.md §16.3), written from the facts
//! and the bag's texts and screenshots into one [`Document`] that both renderers set.
//!
//! Every sentence here is a function of [`Facts`] and of bag files the facts name (checked
//! against their digests), so the verifier, holding the same bag, writes the same report.

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout;

use crate::doc::{Attachment, Block, Document, Field, Line, MAX_IMAGE_PIXELS, Mark, Span};
use crate::facts::{CaptureFacts, Facts, ProvisionFacts, RecordFacts, SealFacts, payload_hex};
use crate::texts;

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

fn h(level: u8, text: impl Into<String>) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

fn p(text: impl Into<String>) -> Block {
    Block::Paragraph(vec![Span::regular(text)])
}

/// `2026-04-30 06:15:21 UTC` from RFC 3339 (as given when it does not parse).
pub(crate) fn human(t: &str) -> String {
    exhibit_core::time::parse_rfc3339_seconds(t)
        .map_or_else(|| t.to_owned(), exhibit_core::time::format_human)
}

fn opt(v: &Option<String>) -> String {
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

fn document_name(d: &exhibit_core::manifest::DocumentRef) -> String {
    match (&d.entity, &d.title) {
        (Some(e), Some(t)) => format!("“{t}” ({e})"),
        (None, Some(t)) => format!("“{t}”"),
        (Some(e), None) => format!("{} ({e})", d.url),
        (None, None) => d.url.clone(),
    }
}

/// What is left to reproduce of screenshots and texts.
struct Budget {
    image_bytes: u64,
    text_chars: usize,
}

fn capture(
    b: &mut Vec<Block>,
    c: &CaptureFacts,
    facts: &Facts,
    bag: &ReadBag,
    budget: &mut Budget,
) {
    b.push(h(1, format!("Record {}", c.id)));
    let mut f = vec![
        Field::text("Document", document_name(&c.document)),
        Field::mono("Document id", c.document.id.to_string()),
        Field::mono("Document URL", &c.document.url),
        Field::text(
            "Captured at",
            format!("{} (claimed by the signer)", human(&c.captured_at)),
        ),
        Field::text("Method", &c.method),
    ];
    if let Some(http) = &c.http {
        f.push(Field::mono("Requested URL", &http.request_url));
        for (status, from, to) in &http.redirects {
            f.push(Field {
                label: "Redirect".into(),
                value: vec![
                    Span::regular(format!("{status} from ")),
                    Span::mono(from),
                    Span::regular(" to "),
                    Span::mono(to),
                ],
            });
        }
        f.push(Field::mono("Final URL", &http.final_url));
        f.push(Field::text(
            "HTTP status",
            http.status
                .map_or_else(|| "no response".to_owned(), |s| s.to_string()),
        ));
    }
    if let Some(path) = &c.file {
        f.push(Field::mono("File read", path));
    }
    if let Some(content) = &c.content {
        f.push(Field::text(
            "Captured bytes",
            format!("{} bytes of {}", content.size, content.media_type),
        ));
        f.push(Field::mono("SHA-256", &content.sha256));
    }
    if let Some(v) = &c.version {
        let change = match (v.change.as_str(), &v.previous_version, &v.opened_by) {
            ("new", Some(prev), _) => {
                format!("opens version {} (the text changed since {prev})", v.id)
            }
            ("new", None, _) => format!("opens version {}, the document's first", v.id),
            (_, _, Some(by)) => format!("confirms version {} (same text as {by})", v.id),
            _ => v.id.clone(),
        };
        f.push(Field::text("Version", change));
    }
    if let Some(e) = &c.error {
        f.push(Field::text("Capture failed", e));
    }
    b.push(Block::Fields(f));

    if let Some(browser) = &c.browser {
        b.push(h(2, "What the browser showed"));
        match &browser.screenshot {
            Some(shot) => match payload_hex(bag, &shot.file, &shot.sha256)
                .map(|png| (png, png_size(png)))
            {
                Some((png, Some((width, height))))
                    if shot.size <= budget.image_bytes
                        && u64::from(width) * u64::from(height) <= MAX_IMAGE_PIXELS =>
                {
                    budget.image_bytes -= shot.size;
                    b.push(Block::Image {
                        png: png.to_vec(),
                        width,
                        height,
                        caption: format!(
                            "Screenshot of {} as rendered by {} at {} (viewport {}), SHA-256 {}",
                            c.document.url,
                            browser.product,
                            human(&c.captured_at),
                            browser.viewport,
                            shot.sha256
                        ),
                    });
                }
                Some((_, None)) => b.push(p(format!(
                    "The screenshot is not reproduced here: its file is not a PNG image a report \
                     can show. It is {} in the bundle (SHA-256 {}).",
                    shot.file, shot.sha256
                ))),
                Some(_) => b.push(p(format!(
                    "The screenshot is not reproduced here (a report shows at most {} MiB of \
                     screenshots and {} megapixels each); it is {} in the bundle (SHA-256 {}).",
                    MAX_IMAGE_BYTES >> 20,
                    MAX_IMAGE_PIXELS / 1_000_000,
                    shot.file,
                    shot.sha256
                ))),
                None => b.push(p(missing(bag, &shot.file, &shot.sha256, "screenshot"))),
            },
            None => b.push(p("The browser made no screenshot.")),
        }
    }

    b.push(h(2, "Extracted text"));
    match &c.text {
        Some(t) if budget.text_chars < MIN_TEXT_CHARS => b.push(p(format!(
            "The text is not reproduced here (a report prints at most {MAX_TOTAL_TEXT_CHARS} \
             characters of text in all); it is {} in the bundle, SHA-256 {}.",
            t.object.file, t.object.sha256
        ))),
        Some(t) => match checked_text(bag, &t.object.file, &t.object.sha256) {
            Some(_) if budget.text_chars == 0 => b.push(p(format!(
                "The text is not reproduced here (a report prints at most {MAX_TOTAL_TEXT_CHARS} \
                 characters of text in all); it is {} in the bundle, SHA-256 {}.",
                t.object.file, t.object.sha256
            ))),
            Some(text) => {
                b.push(p(format!(
                    "The text exhibit extracted from the captured bytes ({} {}, decoded as {}; \
                     SHA-256 {}), line for line (a character the report's font lacks shows as U+FFFD, a control \
                     character as an escape such as \\u{{7}}).",
                    t.object.size,
                    if t.object.size == 1 { "byte" } else { "bytes" },
                    t.charset,
                    t.object.sha256
                )));
                let (lines, printed) = text_lines(text, MAX_TEXT_CHARS.min(budget.text_chars));
                budget.text_chars = budget.text_chars.saturating_sub(printed);
                b.push(Block::Preformatted(lines));
            }
            None => b.push(p(missing(bag, &t.object.file, &t.object.sha256, "text"))),
        },
        None => b.push(p(match &c.text_omitted {
            Some(why) => format!("No text was extracted: {why}."),
            None => "No text was extracted (the bytes are not a text format).".to_owned(),
        })),
    }

    if let Some(v) = &c.version {
        b.push(h(2, "Changes since the previous version"));
        match (&v.previous_version, &v.previous_capture_in_bag, v.change.as_str()) {
            (_, _, "unchanged") => b.push(p(format!(
                "None: the text is identical to that of version {} (opened by {}).",
                v.id,
                opt(&v.opened_by)
            ))),
            (None, _, _) => b.push(p("None: this is the document's first version.")),
            (Some(prev), None, _) => b.push(p(format!(
                "The previous version, {prev}, is not in this bundle; bundle it with this record to \
                 show the change."
            ))),
            (Some(prev), Some(prev_capture), _) => match v.lines_changed {
                Some((added, removed)) => {
                    diff_section(b, bag, facts, prev, prev_capture, c, (added, removed));
                }
                None => b.push(p(format!(
                    "Not compared here: the texts of {prev} and of this version are too large for \
                     a report, or were not read from the bundle; `exhibit diff {prev_capture} {}` \
                     compares them.",
                    c.id
                ))),
            },
        }
    }
}

/// The comparison the facts counted (`lines_changed`), printed.
fn diff_section(
    b: &mut Vec<Block>,
    bag: &ReadBag,
    facts: &Facts,
    prev: &str,
    prev_capture: &str,
    c: &CaptureFacts,
    (added, removed): (u64, u64),
) {
    let old = facts
        .captures()
        .find(|x| x.id == prev_capture)
        .and_then(|x| x.text.as_ref())
        .and_then(|t| checked_text(bag, &t.object.file, &t.object.sha256));
    let new = c
        .text
        .as_ref()
        .and_then(|t| checked_text(bag, &t.object.file, &t.object.sha256));
    let Some(lines) = old
        .zip(new)
        .and_then(|(old, new)| crate::diff::lines(old, new))
    else {
        return;
    };
    b.push(p(format!(
        "Compared with version {prev} (captured as {prev_capture}), line by line: {added} line(s) \
         added (+), {removed} removed (−), with two lines of context."
    )));
    b.push(Block::Preformatted(lines));
}

/// Why a file a record names is not reproduced: not in the bundle at all, or in it but beyond
/// what a reader keeps of its kind (`exhibit_bundle::layout::Kept`).
fn missing(bag: &ReadBag, file: &str, sha256: &str, what: &str) -> String {
    if bag.files.contains_key(file) {
        format!(
            "The {what} is not reproduced here: the bundle holds it ({file}, SHA-256 {sha256}), \
             beyond what a report reads of its kind."
        )
    } else {
        format!("The {what} is not in this bundle ({file}, SHA-256 {sha256}).")
    }
}

/// A text the bag holds, kept and matching its SHA-256 (as the reader computed it), if UTF-8.
fn checked_text<'a>(bag: &'a ReadBag, file: &str, sha256: &str) -> Option<&'a str> {
    std::str::from_utf8(payload_hex(bag, file, sha256)?).ok()
}

/// The lines of `text`, up to `max` characters (the last one cut there if need be), and how
/// many characters they hold.
fn text_lines(text: &str, max: usize) -> (Vec<Line>, usize) {
    let mut out = Vec::new();
    let mut chars = 0usize;
    for line in text.lines() {
        let n = line.chars().count() + 1;
        if chars + n > max {
            let room = max.saturating_sub(chars);
            if room > 0 {
                let cut: String = line.chars().take(room).collect();
                chars += room;
                out.push(Line {
                    text: format!("{cut}…"),
                    mark: Mark::Plain,
                });
            }
            out.push(Line {
                text: format!(
                    "… the text continues beyond the {chars} characters printed here; the bundle \
                     holds it whole"
                ),
                mark: Mark::Elided,
            });
            break;
        }
        chars += n;
        out.push(Line {
            text: line.to_owned(),
            mark: Mark::Plain,
        });
    }
    (out, chars)
}

fn provision(b: &mut Vec<Block>, pr: &ProvisionFacts, facts: &Facts, bag: &ReadBag) {
    b.push(h(1, format!("Record {}", pr.id)));
    b.push(Block::Fields(vec![
        Field::text("Document", document_name(&pr.document)),
        Field::mono("Document URL", &pr.document.url),
        Field::mono("Version quoted", &pr.version),
        Field::mono("Opened by capture", &pr.capture),
        Field::text(
            "Recorded at",
            format!("{} (claimed by the signer)", human(&pr.created_at)),
        ),
    ]));
    b.push(h(2, "The quoted provision"));
    // As signed, a paragraph per line, between quotation marks.
    let lines: Vec<&str> = pr.quote.lines().filter(|l| !l.trim().is_empty()).collect();
    for (i, line) in lines.iter().enumerate() {
        let open = if i == 0 { "“" } else { "" };
        let close = if i + 1 == lines.len() { "”" } else { "" };
        b.push(Block::Paragraph(vec![Span::bold(format!(
            "{open}{line}{close}"
        ))]));
    }
    b.push(Block::Fields(vec![
        Field::text(
            "Place in the version",
            format!(
                "characters {} to {} (bytes {} to {}) of the version's text, occurrence {} of \
                 this passage",
                pr.chars.0, pr.chars.1, pr.bytes.0, pr.bytes.1, pr.occurrence
            ),
        ),
        Field::mono("SHA-256 of the passage", &pr.quote_sha256),
        Field::mono("SHA-256 of the text", &pr.text_sha256),
    ]));
    // The passage in its surroundings, when the version's text is in the bag.
    let text = facts
        .captures()
        .find(|c| c.id == pr.capture)
        .and_then(|c| c.text.as_ref())
        .filter(|t| t.object.size <= MAX_CONTEXT_TEXT_BYTES)
        .and_then(|t| checked_text(bag, &t.object.file, &pr.text_sha256));
    let start = usize::try_from(pr.bytes.0).unwrap_or(usize::MAX);
    let end = usize::try_from(pr.bytes.1).unwrap_or(usize::MAX);
    if let Some(text) = text
        && let (Some(before), Some(passage), Some(after)) =
            (text.get(..start), text.get(start..end), text.get(end..))
    {
        // Whitespace collapsed, as one reads it: the exact passage is above.
        let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let before: Vec<char> = before.chars().rev().take(300).collect();
        let before = flat(&before.into_iter().rev().collect::<String>());
        let after = flat(&after.chars().take(300).collect::<String>());
        let passage = flat(passage);
        b.push(h(3, "In context"));
        b.push(Block::Paragraph(vec![
            Span::regular(format!("…{before} ")),
            Span::bold(passage),
            Span::regular(format!(" {after}…")),
        ]));
    }
}

fn seal_fields(f: &mut Vec<Field>, s: &SealFacts, facts: &Facts) {
    f.push(Field::mono("Manifest file", &s.manifest_file));
    f.push(Field::mono("Manifest SHA-256", &s.manifest_sha256));
    f.push(Field::mono("Signed by", &s.signer));
    match (s.log_index, &facts.checkpoint) {
        (Some(i), Some(c)) => f.push(Field::text(
            "Log position",
            format!(
                "leaf {i} of the {} in checkpoint {}",
                leaves(c.size),
                c.root
            ),
        )),
        (Some(i), None) => f.push(Field::text("Log position", format!("leaf {i}"))),
        (None, _) => f.push(Field::text("Log position", "(no proof in this bundle)")),
    }
}

fn integrity(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Integrity"));
    b.push(p(texts::INTEGRITY_INTRO));
    b.push(Block::Fields(
        texts::WHAT_PROVES
            .iter()
            .map(|(label, what)| Field::text(*label, *what))
            .collect(),
    ));
    for r in &facts.records {
        let mut f = Vec::new();
        match r {
            RecordFacts::Capture(c) => {
                b.push(h(2, format!("{} (capture)", c.id)));
                if let Some(content) = &c.content {
                    f.push(Field::mono("SHA-256", &content.sha256));
                    f.push(Field::mono("BLAKE3", &content.blake3));
                    f.push(Field::mono("Bytes file", &content.file));
                }
                if let Some(t) = &c.text {
                    f.push(Field::mono("Text SHA-256", &t.object.sha256));
                    f.push(Field::mono("Text BLAKE3", &t.object.blake3));
                }
                if let Some(browser) = &c.browser {
                    if let Some(s) = &browser.screenshot {
                        f.push(Field::mono("Screenshot SHA-256", &s.sha256));
                    }
                    f.push(Field::mono("DOM SHA-256", &browser.dom.sha256));
                    if let Some(pdf) = &browser.pdf {
                        f.push(Field::mono("Print SHA-256", &pdf.sha256));
                    }
                }
                seal_fields(&mut f, &c.seal, facts);
            }
            RecordFacts::Provision(pr) => {
                b.push(h(2, format!("{} (provision)", pr.id)));
                f.push(Field::mono("Passage SHA-256", &pr.quote_sha256));
                f.push(Field::mono("Text SHA-256", &pr.text_sha256));
                seal_fields(&mut f, &pr.seal, facts);
            }
        }
        b.push(Block::Fields(f));
    }
    b.push(h(2, "Checkpoint and timestamps"));
    let mut f = Vec::new();
    match &facts.checkpoint {
        Some(c) => {
            f.push(Field::text("Log", &c.origin));
            f.push(Field::text("Tree size", c.size.to_string()));
            f.push(Field::mono("Root hash", &c.root));
            f.push(Field::mono("Checkpoint SHA-256", &c.note_sha256));
        }
        None => f.push(Field::text(
            "Checkpoint",
            "(the records' proofs do not name one single checkpoint)",
        )),
    }
    for t in &facts.timestamps {
        f.push(Field::mono("Timestamp token", &t.file));
        f.push(Field::text("TSA (as it names itself)", &t.tsa));
        if let Some(sha) = &t.tsa_certificate_sha256 {
            f.push(Field::mono("TSA certificate SHA-256", sha));
        }
        f.push(Field::text(
            "TSA time",
            format!(
                "{}{}",
                t.gen_time,
                t.accuracy
                    .as_ref()
                    .map(|a| format!(" (accuracy {a})"))
                    .unwrap_or_default()
            ),
        ));
        f.push(Field::text(
            "Proves",
            format!(
                "once the token is checked against the TSA's CA certificate, obtained from the \
                 TSA itself (exhibit-verify --tsa-ca): every record above existed no later than \
                 {}. Before that check, nothing",
                human(&t.no_later_than)
            ),
        ));
    }
    if facts.timestamps.is_empty() {
        f.push(Field::text(
            "Timestamps",
            "none: the capture times rest on the signer's word alone",
        ));
    }
    b.push(Block::Fields(f));
}

fn provenance(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Provenance"));
    b.push(p(texts::PROVENANCE_INTRO));
    for c in facts.captures() {
        b.push(h(2, format!("{} (capture)", c.id)));
        let mut f = Vec::new();
        if let Some(t) = &c.text {
            f.push(Field::text("Text extractor", &t.extractor));
        }
        if let Some(http) = &c.http {
            for (name, value) in &http.headers {
                f.push(Field {
                    label: format!("Header {name}"),
                    value: vec![Span::mono(value)],
                });
            }
        }
        if let Some(roots) = &c.trust_roots {
            f.push(Field::text("Trust roots", roots));
        }
        if let Some(browser) = &c.browser {
            f.push(Field::text("Browser", &browser.product));
            f.push(Field::mono("User agent", &browser.user_agent));
            f.push(Field::text("Recorded by", &browser.recorder));
            f.push(Field::text("Viewport", &browser.viewport));
            f.push(Field::text(
                "Sandboxed",
                if browser.sandboxed { "yes" } else { "no" },
            ));
            if !browser.flags.is_empty() {
                f.push(Field::mono("Browser flags", browser.flags.join(" ")));
            }
            if !browser.waited_for.is_empty() {
                f.push(Field::text("Waited for", browser.waited_for.join(", ")));
            }
            if let Some(t) = &browser.timed_out {
                f.push(Field::text("Wait ended early", t));
            }
            f.push(Field::text(
                "Resources",
                format!(
                    "{} response(s) recorded, {} left out",
                    browser.resources.0, browser.resources.1
                ),
            ));
        }
        if f.is_empty() && c.connections.is_empty() {
            f.push(Field::text("Recorded", "nothing beyond the captured bytes"));
        }
        b.push(Block::Fields(f));
        for conn in &c.connections {
            let mut f = vec![
                Field::mono("Connection to", &conn.url),
                Field::mono("Remote address", &conn.remote),
                Field::text("Connected at", human(&conn.connected_at)),
            ];
            match &conn.tls {
                Some(tls) => {
                    f.push(Field::mono("TLS server name", &tls.server_name));
                    f.push(Field::text(
                        "TLS",
                        format!(
                            "{}, {}; chain {} by the capturing machine",
                            opt(&tls.version),
                            opt(&tls.cipher_suite),
                            if tls.trusted {
                                "trusted"
                            } else {
                                "NOT trusted"
                            }
                        ),
                    ));
                    for (i, cert) in tls.chain.iter().enumerate() {
                        f.push(Field::text(
                            format!("Certificate {}", i + 1),
                            format!(
                                "{} (issued by {}; valid {} to {})",
                                cert.subject, cert.issuer, cert.not_before, cert.not_after
                            ),
                        ));
                        f.push(Field::mono("SHA-256", cert.sha256.to_hex()));
                    }
                }
                None => f.push(Field::text("TLS", "none (plain HTTP)")),
            }
            b.push(Block::Fields(f));
        }
    }
    b.push(Block::Fields(vec![
        Field::text("Report made by", &facts.generator),
        Field::text("Report layout", &facts.layout),
    ]));
}

fn custody(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Chain of custody"));
    b.push(p(texts::CUSTODY_INTRO));
    for r in &facts.records {
        let (id, at, verb, seal) = match r {
            RecordFacts::Capture(c) => (&c.id, &c.captured_at, "Captured", &c.seal),
            RecordFacts::Provision(pr) => (&pr.id, &pr.created_at, "Recorded", &pr.seal),
        };
        b.push(h(2, id.clone()));
        let mut f = vec![Field::text(
            verb,
            format!(
                "{} (claimed by the signer); evidence: the signed manifest {}",
                human(at),
                seal.manifest_file
            ),
        )];
        if let (Some(i), Some(c)) = (seal.log_index, &facts.checkpoint) {
            f.push(Field::text(
                "Logged",
                format!(
                    "as leaf {i} of the log \"{}\"; evidence: the inclusion proof {} against the \
                     checkpoint of {}",
                    c.origin,
                    seal.manifest_file
                        .replace("exhibit/manifests/", "exhibit/proofs/")
                        .replace(".json", ".tlog-proof"),
                    leaves(c.size)
                ),
            ));
        }
        for t in &facts.timestamps {
            f.push(Field::text(
                "Timestamped",
                format!(
                    "by a TSA naming itself {}, at {}: no later than {} once checked against that \
                     TSA's CA certificate; evidence: the RFC 3161 token {}",
                    t.tsa,
                    human(&t.gen_time),
                    human(&t.no_later_than),
                    t.file
                ),
            ));
        }
        f.push(Field::text(
            "Bundled",
            "sealed with the signature tagmanifest-sha256.txt.sig over the list of every \
             file's SHA-256 (exhibit-verify names the sealing key)"
                .to_owned(),
        ));
        f.push(Field::text(
            "Reported",
            format!(
                "{} in this report, {}",
                human(&facts.generated_at),
                facts.id
            ),
        ));
        b.push(Block::Fields(f));
    }
}

/// The verification commands, written from the facts alone (never from a bag file the report
/// would then vouch for): the verifier, then the stock-tool steps for these very records.
fn how_to_verify(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "How to verify this independently"));
    b.push(p(texts::VERIFY_INTRO));
    let key = facts.signers.first().cloned().unwrap_or_default();
    let cmd = |text: String| Line {
        text,
        mark: Mark::Plain,
    };
    let keys: String = facts
        .signers
        .iter()
        .map(|k| format!(" --key {k}"))
        .collect();
    b.push(Block::Preformatted(vec![cmd(format!(
        "$ exhibit-verify BUNDLE.tar.zst{keys}"
    ))]));
    b.push(p(texts::VERIFY_BY_HAND));
    let key_file = |fp: &str| layout::key_path(fp);
    let mut lines = vec![
        cmd("$ mkdir check && tar --zstd -xf BUNDLE.tar.zst -C check && cd check/*/".into()),
        cmd("$ sha256sum -c manifest-sha256.txt && sha256sum -c tagmanifest-sha256.txt".into()),
        cmd("$ bagit.py --validate .".into()),
        cmd(format!(
            "$ openssl pkeyutl -verify -pubin -inkey {} -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig",
            key_file(&key)
        )),
    ];
    for r in &facts.records {
        let seal = match r {
            RecordFacts::Capture(c) => &c.seal,
            RecordFacts::Provision(p) => &p.seal,
        };
        lines.push(cmd(format!(
            "$ openssl pkeyutl -verify -pubin -inkey {} -rawin -in {m} -sigfile {m}.sig",
            key_file(&seal.signer),
            m = seal.manifest_file
        )));
        lines.push(cmd(format!(
            "$ echo '{}  {}' | sha256sum -c -",
            seal.manifest_sha256, seal.manifest_file
        )));
        if let RecordFacts::Capture(c) = r {
            for object in c.content.iter().chain(c.text.as_ref().map(|t| &t.object)) {
                lines.push(cmd(format!(
                    "$ echo '{}  {}' | sha256sum -c -",
                    object.sha256, object.file
                )));
            }
        }
    }
    for t in &facts.timestamps {
        let stamped = t.file.strip_suffix(".tsr").unwrap_or(&t.file);
        lines.push(cmd(format!(
            "$ openssl ts -verify -data {stamped} -in {} -CAfile ../../tsa-ca.pem",
            t.file
        )));
    }
    b.push(Block::Preformatted(lines));
    b.push(p(texts::VERIFY_MORE));
}

/// What is and is not proven: the list `exhibit-verify` prints for a reader who has pinned
/// nothing yet (the report cannot know what its reader checked), then what pinning adds.
fn limitations(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Limitations"));
    b.push(p(texts::LIMITATIONS_INTRO));
    let (proven, not_proven) = crate::limits::conclusions(&crate::limits::Established {
        signers: &facts.signers,
        all_pinned: false,
        keys_given: false,
        trusted_stamp: None,
        stamps: facts.timestamps.len(),
        tsa_anchors_given: false,
    });
    b.push(h(2, "Proven by the checks"));
    b.push(Block::List(
        proven.into_iter().map(|s| vec![Span::regular(s)]).collect(),
    ));
    b.push(h(2, "Not proven by them"));
    b.push(Block::List(
        not_proven
            .into_iter()
            .map(|s| vec![Span::regular(s)])
            .collect(),
    ));
    b.push(p(texts::LIMITATIONS_PINNING));
    if !facts.timestamps.is_empty() {
        b.push(p(texts::LIMITATIONS_TSA));
    }
    b.push(p(texts::LIMITATIONS_REPORT));
}

/// `1 leaf`, `2 leaves`.
fn leaves(n: u64) -> String {
    format!("{n} {}", if n == 1 { "leaf" } else { "leaves" })
}

/// The width and height of a PNG, from its IHDR (`None` when it is not a PNG).
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    Some((w, h))
}
