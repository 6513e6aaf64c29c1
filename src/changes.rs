//! Change tracking: `history`, `documents` and `diff`.
//!
//! The size of a change is measured the same way everywhere: a line diff of the two extracted
//! texts, then a word diff inside each changed block of lines. Words are runs of non-whitespace
//! (as `str::split_whitespace` has them); lines are the text's lines.

use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use exhibit_core::{Inert, RecordId, RecordKind, Sha256Digest, inert};
use exhibit_sign::PublicKey;
use exhibit_store::{Archive, DocumentRow, DocumentSummary, VersionRow};
use serde::Serialize;
use similar::{ChangeTag, DiffOp, DiffTag, TextDiff};

use crate::cli::{DiffArgs, DocumentsArgs};
use crate::output::{self, human_time, json_line};
use crate::{EXIT_OK, Failure};

/// Versions are read from the catalog this many at a time.
const VERSION_PAGE: u64 = 256;

/// Comparing two texts (their lines, then the words of each changed block) that takes longer
/// than this is finished approximately (still a correct diff, possibly not the smallest one),
/// so a pathological pair of texts cannot hang the command.
const DIFF_TIMEOUT: Duration = Duration::from_secs(10);

/// `exhibit history DOCUMENT`.
pub fn history(root: &Path, query: &str, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    history_of(&archive, query, json)
}

/// How much changed between two texts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
struct ChangeSize {
    lines_added: u64,
    lines_removed: u64,
    words_added: u64,
    words_removed: u64,
}

/// One row of a document's history.
#[derive(Serialize)]
struct HistoryEntry<'a> {
    id: &'a RecordId,
    first_seen: &'a str,
    last_seen: &'a str,
    captures: u64,
    opened_by: &'a RecordId,
    text_sha256: Option<Sha256Digest>,
    /// SHA-256 of the bytes the opening capture stored.
    content_sha256: Option<Sha256Digest>,
    media_type: Option<&'a str>,
    /// Words in this version's text (null without text).
    words: Option<u64>,
    /// `first`, `text` (both texts compared) or `content` (a side has no text: only the
    /// content hashes tell the versions apart).
    change: &'static str,
    words_added: Option<u64>,
    words_removed: Option<u64>,
    lines_added: Option<u64>,
    lines_removed: Option<u64>,
}

/// What history keeps of the previous version while looking at the next one.
struct Previous {
    id: RecordId,
    content_sha256: Option<Sha256Digest>,
    text: Option<String>,
}

/// A document's change timeline. Versions are read a page at a time and texts a pair at a
/// time, so a long history needs no more memory than its two largest consecutive texts.
pub fn history_of(archive: &Archive, query: &str, json: bool) -> Result<u8, Failure> {
    let d = archive.document(query)?;
    let counts = archive.document_counts(&d.id)?;
    let public = archive.public_key()?;
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
    let mut previous: Option<Previous> = None;
    // The latest pair of consecutive versions whose texts were compared.
    let mut latest_change: Option<(RecordId, RecordId)> = None;
    let mut after = 0;
    let mut first_entry = true;
    loop {
        let page = archive.versions_page(&d.id, after, VERSION_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id.number();
        for v in &page {
            // Content hash and text as the opening capture's signed manifest has them.
            let signed = archive.signed_opening(v, &public)?;
            let content_sha256 = signed.manifest.content.as_ref().map(|c| c.sha256);
            let text = match &v.text_sha256 {
                Some(sha) => Some(archive.read_text(sha)?),
                None => None,
            };
            let words = text.as_deref().map(count_words);
            let (change, size) = match (&previous, &text) {
                (None, _) => ("first", None),
                (Some(Previous { text: Some(a), .. }), Some(b)) => {
                    ("text", Some(change_size(a, b)))
                }
                (Some(_), _) => ("content", None),
            };
            let entry = HistoryEntry {
                id: &v.id,
                first_seen: &v.first_seen,
                last_seen: &v.last_seen,
                captures: v.captures,
                opened_by: &v.opened_by,
                text_sha256: v.text_sha256,
                content_sha256,
                media_type: signed
                    .manifest
                    .content
                    .as_ref()
                    .map(|c| c.media_type.as_str()),
                words,
                change,
                words_added: size.map(|s| s.words_added),
                words_removed: size.map(|s| s.words_removed),
                lines_added: size.map(|s| s.lines_added),
                lines_removed: size.map(|s| s.lines_removed),
            };
            if json {
                if !first_entry {
                    write!(o, ",")?;
                }
                write!(o, "{}", to_json(&entry)?)?;
            } else {
                let describe = describe_change(&entry, previous.as_ref());
                writeln!(
                    o,
                    "{:<14} {:<23}  {:<23}  {:>8}  {:<14} {}",
                    v.id.to_string(),
                    human_time(&v.first_seen),
                    human_time(&v.last_seen),
                    v.captures,
                    v.opened_by.to_string(),
                    describe
                )?;
            }
            first_entry = false;
            if let (Some(p), "text") = (&previous, change) {
                latest_change = Some((p.id.clone(), v.id.clone()));
            }
            previous = Some(Previous {
                id: v.id.clone(),
                content_sha256,
                text,
            });
        }
    }
    if json {
        writeln!(o, "]}}")?;
    } else if let Some((a, b)) = latest_change {
        writeln!(o)?;
        writeln!(o, "Latest change: exhibit diff {a} {b}")?;
    }
    Ok(EXIT_OK)
}

/// The CHANGE column of the history table.
fn describe_change(e: &HistoryEntry<'_>, previous: Option<&Previous>) -> String {
    let media = e.media_type.unwrap_or("unknown media type");
    let short = |d: Option<Sha256Digest>| d.map_or_else(|| "-".to_owned(), |d| d.short(12) + "…");
    match (e.change, e.words, previous) {
        ("first", Some(w), _) => format!("first version, {}", plural(w, "word")),
        ("first", None, _) => format!("first version, no text ({media})"),
        ("text", Some(w), _) => format!(
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
        let public = archive.public_key()?;
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

fn line_diff<'a>(old: &'a str, new: &'a str, deadline: Instant) -> TextDiff<'a, 'a, str> {
    TextDiff::configure()
        .deadline(deadline)
        .diff_lines(old, new)
}

fn count_words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// A run of a line diff: equal lines, or a change (lines removed and/or added). Adjacent
/// delete, insert and replace operations are one change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Equal(Range<usize>),
    Change {
        old: Range<usize>,
        new: Range<usize>,
    },
}

fn blocks(ops: &[DiffOp]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for op in ops {
        match op.tag() {
            DiffTag::Equal => out.push(Block::Equal(op.old_range())),
            _ => match out.last_mut() {
                Some(Block::Change { old, new }) => {
                    old.end = op.old_range().end;
                    new.end = op.new_range().end;
                }
                _ => out.push(Block::Change {
                    old: op.old_range(),
                    new: op.new_range(),
                }),
            },
        }
    }
    out
}

/// The text of lines `range` of one side of a line diff.
fn old_lines(diff: &TextDiff<'_, '_, str>, range: Range<usize>) -> String {
    range.filter_map(|i| diff.old_slice(i)).collect()
}

fn new_lines(diff: &TextDiff<'_, '_, str>, range: Range<usize>) -> String {
    range.filter_map(|i| diff.new_slice(i)).collect()
}

/// The words of a text (runs of non-whitespace), as slices of it.
fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// Where a slice of `base` starts in it.
fn offset(base: &str, part: &str) -> usize {
    part.as_ptr() as usize - base.as_ptr() as usize
}

/// A diff of two word lists. Only words are compared, not the spaces between them: comparing
/// spaces too lets a diff match spaces instead of words and report unchanged words as changed.
fn word_diff<'a>(old: &[&'a str], new: &[&'a str], deadline: Instant) -> TextDiff<'a, 'a, str> {
    TextDiff::configure()
        .deadline(deadline)
        .diff_slices(old, new)
}

/// Words removed and added between two blocks of text.
fn word_counts(old: &str, new: &str, deadline: Instant) -> (u64, u64) {
    let (ow, nw) = (words(old), words(new));
    if ow.is_empty() || nw.is_empty() {
        return (ow.len() as u64, nw.len() as u64);
    }
    let (mut removed, mut added) = (0, 0);
    for op in word_diff(&ow, &nw, deadline).ops() {
        match op.tag() {
            DiffTag::Equal => {}
            DiffTag::Delete => removed += op.old_range().len() as u64,
            DiffTag::Insert => added += op.new_range().len() as u64,
            DiffTag::Replace => {
                removed += op.old_range().len() as u64;
                added += op.new_range().len() as u64;
            }
        }
    }
    (removed, added)
}

fn size_of(diff: &TextDiff<'_, '_, str>, deadline: Instant) -> ChangeSize {
    let mut size = ChangeSize::default();
    for b in blocks(diff.ops()) {
        if let Block::Change { old, new } = b {
            size.lines_removed += old.len() as u64;
            size.lines_added += new.len() as u64;
            let (removed, added) =
                word_counts(&old_lines(diff, old), &new_lines(diff, new), deadline);
            size.words_removed += removed;
            size.words_added += added;
        }
    }
    size
}

/// How much changed from `old` to `new`.
fn change_size(old: &str, new: &str) -> ChangeSize {
    let deadline = Instant::now() + DIFF_TIMEOUT;
    size_of(&line_diff(old, new, deadline), deadline)
}

/// A word-level diff of two blocks of text as readable pieces: equal text (with the new
/// text's spacing and line breaks), and each run of removed and added words as one removal and
/// one addition, so that "[-a b-]{+c d+}" reads as one change rather than "[-a-]{+c+} [-b-]{+d+}".
fn word_pieces(old: &str, new: &str, deadline: Instant) -> Vec<(ChangeTag, String)> {
    let (ow, nw) = (words(old), words(new));
    let diff = word_diff(&ow, &nw, deadline);
    let mut r = WordRender {
        old,
        new,
        old_at: 0,
        new_at: 0,
        old_end: None,
        new_end: None,
        out: Pieces::default(),
    };
    for c in diff.iter_all_changes() {
        match (c.tag(), c.old_index(), c.new_index()) {
            (ChangeTag::Equal, Some(i), Some(j)) => {
                r.flush();
                let end = offset(new, nw[j]) + nw[j].len();
                r.out.push(ChangeTag::Equal, &new[r.new_at..end]);
                r.new_at = end;
                r.old_at = offset(old, ow[i]) + ow[i].len();
            }
            (ChangeTag::Delete, Some(i), _) => r.old_end = Some(offset(old, ow[i]) + ow[i].len()),
            (ChangeTag::Insert, _, Some(j)) => r.new_end = Some(offset(new, nw[j]) + nw[j].len()),
            _ => {}
        }
    }
    r.flush();
    // What follows the last word (usually a line break).
    let tail = if new.is_empty() {
        &old[r.old_at..]
    } else {
        &new[r.new_at..]
    };
    r.out.push(ChangeTag::Equal, tail);
    r.out.0
}

/// The state of [`word_pieces`]: how much of each text is shown, and where the current run of
/// removed (old) and added (new) words ends.
struct WordRender<'a> {
    old: &'a str,
    new: &'a str,
    old_at: usize,
    new_at: usize,
    old_end: Option<usize>,
    new_end: Option<usize>,
    out: Pieces,
}

impl WordRender<'_> {
    /// Shows the current run of changes, if any.
    fn flush(&mut self) {
        let removed = self
            .old_end
            .take()
            .map_or("", |e| &self.old[self.old_at..e]);
        let added = self
            .new_end
            .take()
            .map_or("", |e| &self.new[self.new_at..e]);
        // The space before the run is not part of it.
        let lead = if added.is_empty() { removed } else { added };
        let lead = &lead[..lead.len() - lead.trim_start().len()];
        self.out.push(ChangeTag::Equal, lead);
        self.out.push(ChangeTag::Delete, removed.trim_start());
        self.out.push(ChangeTag::Insert, added.trim_start());
        self.old_at += removed.len();
        self.new_at += added.len();
    }
}

/// Pieces of a word diff; neighbours of one kind are merged and empty ones dropped.
#[derive(Default)]
struct Pieces(Vec<(ChangeTag, String)>);

impl Pieces {
    fn push(&mut self, tag: ChangeTag, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((t, s)) if *t == tag => s.push_str(text),
            _ => self.0.push((tag, text.to_owned())),
        }
    }
}

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
fn text_of(archive: &Archive, v: &VersionRow, public: &PublicKey) -> Result<String, Failure> {
    archive.signed_opening(v, public)?;
    match &v.text_sha256 {
        Some(sha) => Ok(archive.read_text(sha)?),
        None => {
            let opening = archive.capture(v.opened_by.number())?;
            Err(Failure::bad_input(format!(
                "{} has no extracted text ({}), so there is no text to compare; diff compares \
                 extracted texts (`exhibit cat {}` gives its bytes)",
                v.id,
                opening
                    .media_type
                    .as_deref()
                    .unwrap_or("unknown media type"),
                v.opened_by
            )))
        }
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

/// A unified-diff range: 1-based start (the line before, for an empty range) and length.
fn hunk_range(r: Range<usize>) -> (usize, usize) {
    let len = r.len();
    (if len == 0 { r.start } else { r.start + 1 }, len)
}

fn fmt_range((start, len): (usize, usize)) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
}

/// One hunk: its ranges (as in the `@@` line) and ops.
struct Hunk<'g> {
    old: (usize, usize),
    new: (usize, usize),
    ops: &'g [DiffOp],
}

fn hunks(groups: &[Vec<DiffOp>]) -> Vec<Hunk<'_>> {
    groups
        .iter()
        .filter(|g| !g.is_empty())
        .map(|g| {
            let (first, last) = (&g[0], &g[g.len() - 1]);
            Hunk {
                old: hunk_range(first.old_range().start..last.old_range().end),
                new: hunk_range(first.new_range().start..last.new_range().end),
                ops: g,
            }
        })
        .collect()
}

fn tag_name(tag: ChangeTag) -> &'static str {
    match tag {
        ChangeTag::Equal => "equal",
        ChangeTag::Insert => "insert",
        ChangeTag::Delete => "delete",
    }
}

fn strip_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// The word-level pieces of a hunk: its equal lines and the word diff of each change.
fn hunk_word_pieces(
    diff: &TextDiff<'_, '_, str>,
    ops: &[DiffOp],
    deadline: Instant,
) -> Vec<(ChangeTag, String)> {
    let mut pieces = Pieces::default();
    for b in blocks(ops) {
        match b {
            Block::Equal(r) => pieces.push(ChangeTag::Equal, &old_lines(diff, r)),
            Block::Change { old, new } => {
                for (tag, text) in
                    word_pieces(&old_lines(diff, old), &new_lines(diff, new), deadline)
                {
                    pieces.push(tag, &text);
                }
            }
        }
    }
    pieces.0
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
    let public = archive.public_key()?;
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

    let deadline = Instant::now() + DIFF_TIMEOUT;
    let diff = line_diff(&old, &new, deadline);
    let size = size_of(&diff, deadline);
    // More context than lines changes nothing (and keeps `2 * context` from overflowing).
    let context = args.context.min(diff.old_len().max(diff.new_len()) + 1);
    let groups = diff.grouped_ops(context);
    let hunks = hunks(&groups);

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
                        .ops
                        .iter()
                        .flat_map(|op| diff.iter_changes(op))
                        .map(|c| Piece {
                            tag: tag_name(c.tag()),
                            text: strip_newline(c.value()).to_owned(),
                        })
                        .collect(),
                    words: args.word.then(|| {
                        hunk_word_pieces(&diff, h.ops, deadline)
                            .into_iter()
                            .map(|(t, text)| Piece {
                                tag: tag_name(t),
                                text,
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
        if args.word {
            let mut ends_with_newline = true;
            for (tag, text) in hunk_word_pieces(&diff, h.ops, deadline) {
                match tag {
                    ChangeTag::Equal => write!(o, "{}", output::inert_text(&text))?,
                    ChangeTag::Delete => write_marked(&mut o, &text, ("[-", "-]"), pal.del, &pal)?,
                    ChangeTag::Insert => write_marked(&mut o, &text, ("{+", "+}"), pal.ins, &pal)?,
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
        for op in h.ops {
            for c in diff.iter_changes(op) {
                let (sign, colour) = match c.tag() {
                    ChangeTag::Equal => (' ', ""),
                    ChangeTag::Delete => ('-', pal.del),
                    ChangeTag::Insert => ('+', pal.ins),
                };
                let reset = if colour.is_empty() { "" } else { pal.reset };
                writeln!(
                    o,
                    "{colour}{sign}{}{reset}",
                    Inert(strip_newline(c.value()))
                )?;
                if !c.value().ends_with('\n') {
                    writeln!(o, "\\ No newline at end of file")?;
                }
            }
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later() -> Instant {
        Instant::now() + DIFF_TIMEOUT
    }

    #[test]
    fn change_size_counts_lines_and_words() {
        let old = "Title\n\nWe do not use your content.\nUnchanged.\n";
        let new = "Title\n\nWe use your content to train.\nUnchanged.\nNew line here.\n";
        let s = change_size(old, new);
        assert_eq!(s.lines_removed, 1);
        assert_eq!(s.lines_added, 2);
        // "do not content." removed; "content to train." + "New line here." added.
        assert_eq!(s.words_removed, 3, "{s:?}");
        assert_eq!(s.words_added, 6, "{s:?}");
        assert_eq!(change_size(old, old), ChangeSize::default());
        let all = change_size("", "a b c\n");
        assert_eq!((all.words_added, all.words_removed), (3, 0));
    }

    #[test]
    fn word_pieces_join_neighbouring_changes() {
        let p = word_pieces("keep a b keep\n", "keep c d keep\n", later());
        assert_eq!(
            p,
            vec![
                (ChangeTag::Equal, "keep ".to_owned()),
                (ChangeTag::Delete, "a b".to_owned()),
                (ChangeTag::Insert, "c d".to_owned()),
                (ChangeTag::Equal, " keep\n".to_owned()),
            ]
        );
        // A pure deletion keeps no empty insertion.
        let p = word_pieces("x a b y\n", "x y\n", later());
        assert!(p.iter().all(|(t, _)| *t != ChangeTag::Insert), "{p:?}");
    }

    #[test]
    fn hunk_ranges_follow_unified_diff_conventions() {
        assert_eq!(hunk_range(0..0), (0, 0));
        assert_eq!(hunk_range(4..5), (5, 1));
        assert_eq!(hunk_range(2..6), (3, 4));
        assert_eq!(fmt_range((5, 1)), "5");
        assert_eq!(fmt_range((3, 4)), "3,4");
    }

    /// The pieces of a word diff are the old words (equal and removed) and the new words
    /// (equal and added), in order, whatever the texts.
    #[test]
    fn word_pieces_keep_every_word_in_order() {
        let vocab = ["a", "b", "policy", "data", "the", "we", "x.", "(c)"];
        let spaces = [" ", " ", " ", "\n", "  ", "\n\n", "\t"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let text = |next: &mut dyn FnMut(usize) -> usize| {
            let mut s = String::new();
            for _ in 0..next(12) {
                if next(4) == 0 {
                    s.push_str(spaces[next(spaces.len())]);
                }
                s.push_str(vocab[next(vocab.len())]);
                s.push_str(spaces[next(spaces.len())]);
            }
            s
        };
        for _ in 0..2000 {
            let (old, new) = (text(&mut next), text(&mut next));
            let pieces = word_pieces(&old, &new, later());
            let side = |keep: ChangeTag| -> Vec<String> {
                pieces
                    .iter()
                    .filter(|(t, _)| *t == ChangeTag::Equal || *t == keep)
                    .flat_map(|(_, s)| s.split_whitespace().map(str::to_owned))
                    .collect()
            };
            assert_eq!(
                side(ChangeTag::Delete),
                words(&old),
                "{old:?} {new:?} {pieces:?}"
            );
            assert_eq!(
                side(ChangeTag::Insert),
                words(&new),
                "{old:?} {new:?} {pieces:?}"
            );
            let (removed, added) = word_counts(&old, &new, later());
            let count = |tag: ChangeTag| -> u64 {
                pieces
                    .iter()
                    .filter(|(t, _)| *t == tag)
                    .map(|(_, s)| count_words(s))
                    .sum()
            };
            assert_eq!(
                (count(ChangeTag::Delete), count(ChangeTag::Insert)),
                (removed, added)
            );
        }
    }
}
