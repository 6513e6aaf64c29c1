//! Change tracking: `history`, `documents` and `diff`. How a change is measured and the diff
//! itself are `exhibit_ops::measure`; the timeline is `exhibit_ops::history`. This module
//! renders them (tables, unified diffs with or without colour, JSON).

use std::io::{IsTerminal, Write};
use std::path::Path;

use exhibit_core::{Inert, RecordId, RecordKind, Sha256Digest, inert};
use exhibit_ops::history::{ChangeKind, HistoryEntry, NoText};
use exhibit_ops::measure::{ChangeSize, HunkOptions, PieceTag};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, DocumentRow, DocumentSummary, VersionRow};
use serde::Serialize;

use crate::cli::{DiffArgs, DocumentsArgs};
use crate::output::{self, human_time, json_line};
use crate::{EXIT_OK, Failure};

/// `exhibit history DOCUMENT`.
pub fn history(root: &Path, query: &str, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    history_of(&archive, query, json)
}

/// A document's change timeline. Versions are read a page at a time and texts a pair at a
/// time, so a long history needs no more memory than its two largest consecutive texts.
pub fn history_of(archive: &Archive, query: &str, json: bool) -> Result<u8, Failure> {
    let d = archive.document(query)?;
    let counts = archive.document_counts(&d.id)?;
    let public = archive.keys()?;
    // Everything shown below is what the signed manifests state, or the command fails.
    archive.require_document_agrees(&d, &public)?;
    // JSON escapes what it must itself; a text report is made inert line by line.
    let mut o: Box<dyn Write> = if json {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(output::text_stdout())
    };
    if json {
        // One JSON object, written as it is computed.
        write!(
            o,
            "{{\"document\":{},\"captures\":{},\"failed_captures\":{},\"versions\":[",
            to_json(&d)?,
            counts.captures,
            counts.failed_captures
        )?;
    } else {
        output::document_block(&d, &mut o)?;
        writeln!(
            o,
            "Captures     {} ({} failed)",
            counts.captures, counts.failed_captures
        )?;
        writeln!(o, "Versions     {}", counts.versions)?;
        writeln!(o)?;
        if counts.versions == 0 {
            writeln!(o, "No versions: no capture of this document succeeded yet.")?;
            return Ok(EXIT_OK);
        }
        writeln!(
            o,
            "{:<14} {:<23}  {:<23}  {:>8}  {:<14} CHANGE",
            "VERSION", "FIRST SEEN", "LAST SEEN", "CAPTURES", "OPENED BY"
        )?;
    }
    let mut first_entry = true;
    let latest_change = exhibit_ops::history::walk(archive, &d, &public, |entry| {
        if json {
            if !first_entry {
                write!(o, ",")?;
            }
            write!(o, "{}", to_json(entry)?)?;
        } else {
            writeln!(
                o,
                "{:<14} {:<23}  {:<23}  {:>8}  {:<14} {}",
                entry.id.to_string(),
                human_time(&entry.first_seen),
                human_time(&entry.last_seen),
                entry.captures,
                entry.opened_by.to_string(),
                describe_change(entry)
            )?;
        }
        first_entry = false;
        Ok::<(), Failure>(())
    })?;
    if json {
        writeln!(o, "]}}")?;
    } else if let Some((a, b)) = latest_change {
        writeln!(o)?;
        writeln!(o, "Latest change: exhibit diff {a} {b}")?;
    }
    Ok(EXIT_OK)
}

/// The CHANGE column of the history table.
fn describe_change(e: &HistoryEntry) -> String {
    let media = e.media_type.as_deref().unwrap_or("unknown media type");
    let short = |d: Option<Sha256Digest>| d.map_or_else(|| "-".to_owned(), |d| d.short(12) + "…");
    match (e.change, e.words, &e.previous) {
        (ChangeKind::First, Some(w), _) => format!("first version, {}", plural(w, "word")),
        (ChangeKind::First, None, _) => format!("first version, no text ({media})"),
        (ChangeKind::Text, Some(w), _) => format!(
            "+{} -{} words ({})",
            e.words_added.unwrap_or(0),
            e.words_removed.unwrap_or(0),
            plural(w, "word")
        ),
        (_, Some(w), Some(p)) => format!(
            "{}; {} had no text (content {} → {})",
            plural(w, "word"),
            p.id,
            short(p.content_sha256),
            short(e.content_sha256)
        ),
        (_, None, Some(p)) => format!(
            "no text ({media}); content {} → {}",
            short(p.content_sha256),
            short(e.content_sha256)
        ),
        _ => "-".into(),
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| Failure {
        code: crate::EXIT_FAILED,
        message: format!("output: {e}"),
    })
}

/// `exhibit documents`.
pub fn documents(root: &Path, args: DocumentsArgs, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let after = match args.after.as_deref() {
        Some(s) => parse_document_id(&archive, s)?,
        None => 0,
    };
    // One more than asked for says whether there are more.
    let mut rows = archive.document_summaries(args.limit.saturating_add(1), after)?;
    let more = rows.len() as u64 > args.limit;
    rows.truncate(args.limit.min(usize::MAX as u64) as usize);
    // Each row is shown only if the signed manifests of its captures state the same.
    if !rows.is_empty() {
        let public = archive.keys()?;
        for r in &rows {
            archive.require_summary_agrees(r, &public)?;
        }
    }
    if json {
        for r in &rows {
            json_line(r)?;
        }
        return Ok(EXIT_OK);
    }
    let mut o = crate::output::text_stdout();
    if rows.is_empty() {
        if after == 0 {
            writeln!(
                o,
                "No documents. Capture something with `exhibit capture URL`."
            )?;
        } else {
            writeln!(o, "No more documents.")?;
        }
        return Ok(EXIT_OK);
    }
    writeln!(
        o,
        "{:<14} {:<14} {:>8}  {:>8}  {:<14} {:<23}  DOCUMENT",
        "ID", "CURRENT", "VERSIONS", "CAPTURES", "LAST CAPTURE", "LAST CAPTURED"
    )?;
    for r in &rows {
        writeln!(
            o,
            "{:<14} {:<14} {:>8}  {:>8}  {:<14} {:<23}  {}",
            r.document.id.to_string(),
            opt_id(&r.document.current_version),
            r.versions,
            r.captures,
            opt_id(&r.document.last_capture),
            r.last_captured_at
                .as_deref()
                .map_or_else(|| "-".to_owned(), human_time),
            describe_document(r)
        )?;
    }
    if more && let Some(last) = rows.last() {
        writeln!(
            o,
            "… more: exhibit documents --limit {} --after {}",
            args.limit, last.document.id
        )?;
    }
    Ok(EXIT_OK)
}

fn opt_id(id: &Option<RecordId>) -> String {
    id.as_ref()
        .map_or_else(|| "-".to_owned(), RecordId::to_string)
}

/// `URL (Entity: Title)`, and a warning when the latest capture failed.
fn describe_document(r: &DocumentSummary) -> String {
    let d: &DocumentRow = &r.document;
    let mut s = inert(&d.url).into_owned();
    match (&d.entity, &d.title) {
        (Some(e), Some(t)) => s.push_str(&format!(" ({}: {})", Inert(e), Inert(t))),
        (Some(x), None) | (None, Some(x)) => s.push_str(&format!(" ({})", Inert(x))),
        (None, None) => {}
    }
    if r.last_capture_ok == Some(false) {
        s.push_str("  [last capture FAILED]");
    }
    s
}

fn parse_document_id(archive: &Archive, s: &str) -> Result<u64, Failure> {
    let id: RecordId = s
        .trim()
        .parse()
        .map_err(|e: exhibit_core::id::IdError| Failure::bad_input(format!("--after: {e}")))?;
    if id.kind() != RecordKind::Document || id.prefix() != archive.prefix().as_str() {
        return Err(Failure::bad_input(format!(
            "--after {s}: not a document id of this archive (like {})",
            archive.id(RecordKind::Document, 1)
        )));
    }
    Ok(id.number())
}

// ---------------------------------------------------------------------------------------------
// Diffing

/// ANSI colours, or nothing.
struct Palette {
    del: &'static str,
    ins: &'static str,
    hunk: &'static str,
    head: &'static str,
    reset: &'static str,
}

impl Palette {
    fn new(colour: bool) -> Palette {
        if colour {
            Palette {
                del: "\x1b[31m",
                ins: "\x1b[32m",
                hunk: "\x1b[36m",
                head: "\x1b[1m",
                reset: "\x1b[0m",
            }
        } else {
            Palette {
                del: "",
                ins: "",
                hunk: "",
                head: "",
                reset: "",
            }
        }
    }

    fn on(&self) -> bool {
        !self.reset.is_empty()
    }
}

/// `--color`: always, never, or (auto) when stdout is a terminal, `NO_COLOR` is unset or empty
/// and the terminal is not dumb. An explicit `--color always` wins over `NO_COLOR`.
fn use_colour(choice: &str) -> bool {
    match choice {
        "always" => true,
        "never" => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                && std::io::stdout().is_terminal()
        }
    }
}

/// A version's extracted text, or exit 2 saying why there is none. The text hash is checked
/// against the opening capture's signed manifest first (exit 1 if the catalog disagrees), and
/// the text's bytes against that hash.
fn text_of(archive: &Archive, v: &VersionRow, public: &KeyHistory) -> Result<String, Failure> {
    match exhibit_ops::history::version_text(archive, v, public)? {
        Ok(text) => Ok(text),
        Err(NoText {
            version,
            media_type,
            opened_by,
        }) => Err(Failure::bad_input(format!(
            "{version} has no extracted text ({}), so there is no text to compare; diff compares \
             extracted texts (`exhibit cat {opened_by}` gives its bytes)",
            media_type.as_deref().unwrap_or("unknown media type"),
        ))),
    }
}

fn header_line(v: &VersionRow, with_document: bool) -> String {
    let document = if with_document {
        format!("{}, ", v.document_id)
    } else {
        String::new()
    };
    format!(
        "{} ({document}first seen {}, last seen {})",
        v.id,
        human_time(&v.first_seen),
        human_time(&v.last_seen)
    )
}

fn fmt_range((start, len): (usize, usize)) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
}

/// Writes marked text: `[-…-]`/`{+…+}` without colour, red/green with it; markers and colours
/// close before each line break so that every output line stands alone.
fn write_marked(
    o: &mut impl Write,
    text: &str,
    marks: (&str, &str),
    colour: &str,
    pal: &Palette,
) -> std::io::Result<()> {
    for (i, part) in text.split('\n').enumerate() {
        if i > 0 {
            writeln!(o)?;
        }
        if part.is_empty() {
            continue;
        }
        let part = Inert(part);
        if pal.on() {
            write!(o, "{colour}{part}{}", pal.reset)?;
        } else {
            write!(o, "{}{part}{}", marks.0, marks.1)?;
        }
    }
    Ok(())
}

/// `diff --json`.
#[derive(Serialize)]
struct DiffReport<'a> {
    from: &'a RecordId,
    to: &'a RecordId,
    from_document: &'a RecordId,
    to_document: &'a RecordId,
    from_text_sha256: Option<Sha256Digest>,
    to_text_sha256: Option<Sha256Digest>,
    identical: bool,
    #[serde(flatten)]
    size: ChangeSize,
    /// Left out with `--stat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    hunks: Option<Vec<HunkReport>>,
}

/// One hunk of `diff --json`.
#[derive(Serialize)]
struct HunkReport {
    old_start: usize,
    old_len: usize,
    new_start: usize,
    new_len: usize,
    lines: Vec<Piece>,
    /// With `--word`: the hunk as equal text and removed and added words.
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<Vec<Piece>>,
}

#[derive(Serialize)]
struct Piece {
    tag: &'static str,
    text: String,
}

/// `exhibit diff`.
pub fn diff(root: &Path, args: DiffArgs, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let from = archive.resolve_version(&args.from)?;
    let to = archive.resolve_version(&args.to)?;
    let public = archive.keys()?;
    let old = text_of(&archive, &from, &public)?;
    let new = text_of(&archive, &to, &public)?;
    let other_documents = from.document_id != to.document_id;
    if other_documents {
        let url = |v: &VersionRow| -> Result<String, Failure> {
            Ok(archive.document(&v.document_id.to_string())?.url)
        };
        output::eprint_line(&format!(
            "exhibit: note: {} is a version of {} ({}) and {} of another document, {} ({})",
            from.id,
            from.document_id,
            url(&from)?,
            to.id,
            to.document_id,
            url(&to)?
        ));
    }
    let identical = from.text_sha256 == to.text_sha256;
    let pal = Palette::new(!json && use_colour(&args.color));
    // Not `text_stdout`: the colours are ours. Every piece of the texts is made inert instead.
    let mut o = std::io::stdout().lock();

    if identical {
        if json {
            json_line(&DiffReport {
                from: &from.id,
                to: &to.id,
                from_document: &from.document_id,
                to_document: &to.document_id,
                from_text_sha256: from.text_sha256,
                to_text_sha256: to.text_sha256,
                identical: true,
                size: ChangeSize::default(),
                hunks: (!args.stat).then(Vec::new),
            })?;
        } else {
            writeln!(
                o,
                "No differences: {} and {} have the same text (sha256 {}).",
                from.id,
                to.id,
                from.text_sha256.map(|s| s.to_hex()).unwrap_or_default()
            )?;
        }
        return Ok(EXIT_OK);
    }

    let comparison = exhibit_ops::measure::compare(
        &old,
        &new,
        (!args.stat).then_some(HunkOptions {
            context: args.context,
            words: args.word,
        }),
    );
    let size = comparison.size;
    let hunks = comparison.hunks.unwrap_or_default();

    if json {
        let hunks = (!args.stat).then(|| {
            hunks
                .iter()
                .map(|h| HunkReport {
                    old_start: h.old.0,
                    old_len: h.old.1,
                    new_start: h.new.0,
                    new_len: h.new.1,
                    lines: h
                        .lines
                        .iter()
                        .map(|l| Piece {
                            tag: l.tag.name(),
                            text: l.text.clone(),
                        })
                        .collect(),
                    words: h.words.as_ref().map(|w| {
                        w.iter()
                            .map(|(t, text)| Piece {
                                tag: t.name(),
                                text: text.clone(),
                            })
                            .collect()
                    }),
                })
                .collect()
        });
        json_line(&DiffReport {
            from: &from.id,
            to: &to.id,
            from_document: &from.document_id,
            to_document: &to.document_id,
            from_text_sha256: from.text_sha256,
            to_text_sha256: to.text_sha256,
            identical: false,
            size,
            hunks,
        })?;
        return Ok(EXIT_OK);
    }

    if args.stat {
        writeln!(
            o,
            "{} → {}: {} added, {} removed; {} added, {} removed",
            from.id,
            to.id,
            plural(size.lines_added, "line"),
            plural(size.lines_removed, "line"),
            plural(size.words_added, "word"),
            plural(size.words_removed, "word"),
        )?;
        return Ok(EXIT_OK);
    }

    writeln!(
        o,
        "{}--- {}{}",
        pal.head,
        header_line(&from, other_documents),
        pal.reset
    )?;
    writeln!(
        o,
        "{}+++ {}{}",
        pal.head,
        header_line(&to, other_documents),
        pal.reset
    )?;
    for h in &hunks {
        writeln!(
            o,
            "{}@@ -{} +{} @@{}",
            pal.hunk,
            fmt_range(h.old),
            fmt_range(h.new),
            pal.reset
        )?;
        if let Some(words) = &h.words {
            let mut ends_with_newline = true;
            for (tag, text) in words {
                match tag {
                    PieceTag::Equal => write!(o, "{}", output::inert_text(text))?,
                    PieceTag::Delete => write_marked(&mut o, text, ("[-", "-]"), pal.del, &pal)?,
                    PieceTag::Insert => write_marked(&mut o, text, ("{+", "+}"), pal.ins, &pal)?,
                }
                if !text.is_empty() {
                    ends_with_newline = text.ends_with('\n');
                }
            }
            if !ends_with_newline {
                writeln!(o)?;
            }
            continue;
        }
        for line in &h.lines {
            let (sign, colour) = match line.tag {
                PieceTag::Equal => (' ', ""),
                PieceTag::Delete => ('-', pal.del),
                PieceTag::Insert => ('+', pal.ins),
            };
            let reset = if colour.is_empty() { "" } else { pal.reset };
            writeln!(o, "{colour}{sign}{}{reset}", Inert(&line.text))?;
            if !line.newline {
                writeln!(o, "\\ No newline at end of file")?;
            }
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_ranges_print_as_unified_diff_does() {
        assert_eq!(fmt_range((5, 1)), "5");
        assert_eq!(fmt_range((3, 4)), "3,4");
        assert_eq!(fmt_range((0, 0)), "0,0");
    }
}
