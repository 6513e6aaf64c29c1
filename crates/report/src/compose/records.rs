//! Each record's section: a capture's summary, screenshot, text and change; a provision's
//! passage and its place.

use exhibit_bundle::ReadBag;

use crate::doc::{Block, Field, Line, MAX_IMAGE_PIXELS, Mark, Span};
use crate::facts::{CaptureFacts, Facts, ProvisionFacts, payload_hex};
use crate::texts;

use super::{
    MAX_CONTEXT_TEXT_BYTES, MAX_IMAGE_BYTES, MAX_TEXT_CHARS, MAX_TOTAL_TEXT_CHARS, MIN_TEXT_CHARS,
    document_name, h, human, opt, p, png_size,
};

/// What is left to reproduce of screenshots and texts.
pub(super) struct Budget {
    pub(super) image_bytes: u64,
    pub(super) text_chars: usize,
}

pub(super) fn capture(
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
            if c.warc.is_some() {
                texts::IMPORTED_AT
            } else {
                "Captured at"
            },
            format!("{} (claimed by the signer)", human(&c.captured_at)),
        ),
        Field::text("Method", &c.method),
    ];
    if let Some(w) = &c.warc {
        f.push(Field::mono("WARC file", &w.file_name));
        f.push(Field::mono("WARC file SHA-256", w.file_sha256.to_string()));
        f.push(Field::text(
            "WARC record",
            format!("{} record at byte {}", w.record_type, w.offset),
        ));
        f.push(Field::mono("WARC record id", &w.record_id));
        f.push(Field::mono("WARC target URI", &w.target_uri));
        f.push(Field::text(
            "WARC date",
            format!("{} ({})", w.warc_date, texts::WARC_DATE_CLAIM),
        ));
        if let Some(status) = w.status {
            f.push(Field::text("HTTP status", status.to_string()));
        }
        if !w.decoded.is_empty() {
            f.push(Field::text("Codings undone", w.decoded.join(", ")));
        }
        let digests: Vec<String> = w
            .block_digest
            .iter()
            .map(|d| format!("block {d}"))
            .chain(w.payload_digest.iter().map(|d| {
                format!(
                    "payload {d}{}",
                    w.payload_digest_over
                        .as_deref()
                        .map_or(String::new(), |o| format!(" ({o})"))
                )
            }))
            .collect();
        if !digests.is_empty() {
            f.push(Field::mono("WARC digests checked", digests.join("; ")));
        }
    }
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
    if c.warc.is_some() {
        b.push(p(texts::IMPORTED_NOTE));
    }

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

pub(super) fn provision(b: &mut Vec<Block>, pr: &ProvisionFacts, facts: &Facts, bag: &ReadBag) {
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
