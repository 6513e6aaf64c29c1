//! Parsing: pasted citation text → [`Citation`]s.
//!
//! This file walks the lines of a paste and assembles the records: it joins a value written on
//! the line after its label, a quotation or hash that a PDF wrapped, and refuses a field stated
//! twice with different values. What a line *is* (a field line, another labelled line, prose)
//! is decided in `labels.rs`; what a field's value means (an id, a hash, a date) in `values.rs`.
//! Comparing a parsed citation with a record is not done here (`compare.rs`).

use super::labels::{Field, Line, classify, clean_line, is_header, split_lines, states_fact};
use super::values::{
    parse_fingerprint, parse_hash, parse_id, parse_log_position, parse_status, parse_url,
    parse_when, shown, strip_hash_prefix, trim_ellipsis, weekday_conflict,
};
use super::{
    Citation, CitationError, MAX_CITATION_BYTES, OtherLine, Precision, SHOWN_CHARS, StatedExcerpt,
    StatedTime,
};
use crate::digest::HashPrefix;

/// Parses every citation record in `input`. Each `Citation Record` header line starts a new
/// record; text without one is a single record. Fails when a stated field is malformed, when
/// one field is stated twice with different values, or when no record states any field.
///
/// Parsing is lenient the way text pasted out of a PDF is messy: a byte-order mark, CRLF or CR
/// line ends, indentation, non-breaking and zero-width spaces, prose around and between the
/// fields, labels in any case (with spaces, `-` and `_` alike), a value on the line after its
/// label, truncated hashes and URLs, and many date spellings are accepted.
///
/// Nothing a citation states is dropped. A line is a field line in every shape a citer pastes:
/// `Label: value`, after a list marker (`1.`, `1)`, `-`, `*`, `•`), as a table row (`| Label |
/// value |`), or with a tab or a spaced dash (` - `, ` – `, ` — `) as the separator; labels are
/// compared after folding full-width forms, case, dashes and spacing. A field under another
/// spelling (`Captured on`, `Archived at`, `SHA256`, `Hash`, `Record`, `Error`, `Failure`,
/// `Owner`, `Position`, `Hash (SHA-256)`…) is that field, its value parsed as the field's;
/// when it contradicts the field's own line it is kept in [`Citation::unchecked`], like every
/// other labelled line whose label names no field: any `Label: value` line (at most five words
/// before the colon), any table row but a header or rule, and any line whose label imitates a
/// field label with Cyrillic or Greek look-alike letters or mixes scripts. Lines without a
/// label (prose) and `Citation Record` headers are ignored.
///
/// Values are parsed strictly: a leaf index or status code is the whole token (`2,000`, `-2`,
/// `2.7` are errors), and a weekday stated with a date must be that date's.
pub fn parse(input: &str) -> Result<Vec<Citation>, CitationError> {
    if input.len() > MAX_CITATION_BYTES {
        return Err(CitationError(format!(
            "the text is {} bytes, more than the {MAX_CITATION_BYTES}-byte limit",
            input.len()
        )));
    }
    let lines: Vec<String> = split_lines(input).map(clean_line).collect();
    // Whether a line can be the value of the labelled line before it: not a header, and no
    // label of its own.
    let is_value = |l: &str| !l.is_empty() && !is_header(l) && matches!(classify(l), Line::Prose);
    let mut records = Vec::new();
    let mut cur = Builder::default();
    let mut i = 0usize;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        if is_header(line) {
            // Lines before the first field (prose, an unknown label) stay with the record the
            // header opens.
            if cur.any
                && let Some(c) = std::mem::take(&mut cur).finish()
            {
                records.push(c);
            }
            continue;
        }
        let lab = match classify(line) {
            Line::Prose => continue,
            Line::Other {
                label,
                value,
                looks_like,
            } => {
                let mut value = value.to_owned();
                if value.is_empty() {
                    let mut j = i;
                    while lines.get(j).is_some_and(|l| l.is_empty()) {
                        j += 1;
                    }
                    if let Some(next) = lines.get(j)
                        && is_value(next)
                    {
                        value = next.clone();
                        i = j + 1;
                    }
                }
                // A label with no value, followed by fields or nothing (`As recorded in
                // Exhibit 7:` introducing the record), states nothing, as for a field's own
                // label; a look-alike of a field's label is still listed.
                if value.trim().is_empty() && looks_like.is_none() {
                    continue;
                }
                let states_fact = states_fact(label) || states_fact(&value);
                cur.c.unchecked.push(OtherLine {
                    label: crate::manifest::shorten(label, 60),
                    value: crate::manifest::shorten(&value, SHOWN_CHARS),
                    states_fact,
                    looks_like,
                    contradicts: None,
                });
                continue;
            }
            Line::Field(lab) => lab,
        };
        let mut value = lab.value.to_owned();
        if value.is_empty() {
            let mut j = i;
            while lines.get(j).is_some_and(|l| l.is_empty()) {
                j += 1;
            }
            match lines.get(j) {
                Some(next) if is_value(next) => {
                    value = next.clone();
                    i = j + 1;
                }
                // A label with no value states nothing.
                _ => continue,
            }
        }
        match lab.field {
            Field::Excerpt => i = continue_quote(&mut value, &lines, i),
            Field::Sha256 | Field::TextSha256 | Field::ExcerptSha256 | Field::ManifestSha256 => {
                i = continue_hash(&mut value, &lines, i);
            }
            _ => {}
        }
        match cur.apply(lab.field, lab.label, &value) {
            Ok(()) => {}
            // Another spelling of a field that contradicts the field's own line (`Captured:
            // 2026-…` and `Captured on: 1999-…`): a fact no check confirms, kept as not
            // checked. (A value that is not one of the field's is malformed, as under its own
            // label.)
            Err(_)
                if !lab.canonical
                    && Builder::default()
                        .apply(lab.field, lab.label, &value)
                        .is_ok() =>
            {
                cur.c.unchecked.push(OtherLine {
                    label: crate::manifest::shorten(lab.label, 60),
                    value: crate::manifest::shorten(&value, SHOWN_CHARS),
                    states_fact: true,
                    looks_like: None,
                    contradicts: Some(lab.field.label()),
                });
            }
            Err(e) => return Err(e),
        }
    }
    if cur.any {
        records.extend(cur.finish());
    } else if let Some(last) = records.last_mut() {
        // Labelled lines after the last record's fields, behind a header of their own.
        last.unchecked.append(&mut cur.c.unchecked);
    }
    if records.is_empty() {
        return Err(CitationError("no citation fields found".into()));
    }
    Ok(records)
}

/// The most lines one quoted excerpt may span.
const MAX_EXCERPT_LINES: usize = 200;

/// For an excerpt that opens a quotation mark without closing it, appends the following lines
/// up to the one that closes it (at most [`MAX_EXCERPT_LINES`]). Returns the index of the first
/// line not used.
fn continue_quote(value: &mut String, lines: &[String], next: usize) -> usize {
    let mut chars = value.chars();
    let Some(open) = chars.next() else {
        return next;
    };
    let closes = |c: char| match open {
        '\u{201C}' | '\u{201E}' => matches!(c, '\u{201D}' | '"' | '\u{201C}'),
        '"' => matches!(c, '"' | '\u{201D}' | '\u{201C}'),
        '\u{2018}' => matches!(c, '\u{2019}' | '\''),
        '\'' => matches!(c, '\'' | '\u{2019}'),
        '\u{AB}' => c == '\u{BB}',
        _ => false,
    };
    if !matches!(
        open,
        '\u{201C}' | '\u{201E}' | '"' | '\u{2018}' | '\'' | '\u{AB}'
    ) {
        return next;
    }
    if chars.next_back().is_some_and(closes) {
        return next;
    }
    let mut bytes = value.len();
    for (j, line) in lines.iter().enumerate().skip(next).take(MAX_EXCERPT_LINES) {
        bytes += line.len() + 1;
        if bytes > MAX_CITATION_BYTES {
            break;
        }
        if line.chars().next_back().is_some_and(closes) {
            for l in &lines[next..=j] {
                if !l.is_empty() {
                    value.push(' ');
                    value.push_str(l);
                }
            }
            return j + 1;
        }
    }
    next
}

/// For a hash that a PDF wrapped onto the next line: while fewer than 64 digits are known and
/// no ellipsis ends them, appends the next line if it is nothing but hex digits (and perhaps an
/// ellipsis). Returns the index of the first line not used.
fn continue_hash(value: &mut String, lines: &[String], mut next: usize) -> usize {
    let digits = |s: &str| {
        let (_, body) = strip_hash_prefix(s);
        let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let open = !(body.ends_with('.') || body.ends_with('\u{2026}'));
        let ok = !body.is_empty() && body.chars().all(|c| c.is_ascii_hexdigit());
        (body.len(), ok && open)
    };
    loop {
        let (have, open) = digits(value);
        if !open || have >= 64 {
            return next;
        }
        let Some(line) = lines.get(next) else {
            return next;
        };
        let body = trim_ellipsis(line);
        let hex_only = body.len() >= 2 && body.chars().all(|c| c.is_ascii_hexdigit() || c == ' ');
        let more = body.chars().filter(|c| c.is_ascii_hexdigit()).count();
        if !hex_only || have + more > 64 {
            return next;
        }
        value.push_str(line);
        next += 1;
    }
}

/// The fields one record has stated so far.
#[derive(Default)]
struct Builder {
    c: Citation,
    any: bool,
}

/// Stores a parsed value, refusing a different second value for the same field.
fn set<T: PartialEq>(
    slot: &mut Option<T>,
    v: T,
    label: &str,
    value: &str,
    same: impl Fn(&T, &T) -> bool,
) -> Result<(), CitationError> {
    match slot {
        Some(old) if !same(old, &v) => Err(CitationError(format!(
            "{} {:?}: the field is stated twice with different values",
            crate::manifest::shorten(label, 40),
            shown(value)
        ))),
        Some(_) => Ok(()),
        None => {
            *slot = Some(v);
            Ok(())
        }
    }
}

impl Builder {
    fn finish(self) -> Option<Citation> {
        let mut c = self.c;
        let mut seen = std::collections::HashSet::new();
        c.warnings.retain(|w| seen.insert(w.clone()));
        self.any.then_some(c)
    }

    fn apply(&mut self, field: Field, label: &str, value: &str) -> Result<(), CitationError> {
        let err = |problem: String| {
            CitationError(format!(
                "{} {:?}: {problem}",
                crate::manifest::shorten(label, 40),
                shown(value)
            ))
        };
        let c = &mut self.c;
        fn eq<T: PartialEq>(a: &T, b: &T) -> bool {
            a == b
        }
        match field {
            Field::Entity => set(&mut c.entity, value.to_owned(), label, value, eq)?,
            Field::Title => set(&mut c.title, value.to_owned(), label, value, eq)?,
            Field::RecordId
            | Field::DocumentId
            | Field::VersionId
            | Field::CaptureId
            | Field::ProvisionId => {
                let id = parse_id(value).map_err(err)?;
                let slot = match field {
                    Field::RecordId => &mut c.record_id,
                    Field::DocumentId => &mut c.document_id,
                    Field::VersionId => &mut c.version_id,
                    Field::CaptureId => &mut c.capture_id,
                    _ => &mut c.provision_id,
                };
                set(slot, id, label, value, eq)?;
            }
            Field::Captured => {
                if let Some(problem) = weekday_conflict(value) {
                    return Err(err(problem));
                }
                let t = parse_when(value).ok_or_else(|| {
                    err("not a date and time (expected e.g. 2026-04-30 06:15:21 UTC)".into())
                })?;
                if t.precision != Precision::Day && !t.zoned {
                    c.warnings.push(format!(
                        "{} {:?} gives no time zone; UTC is assumed",
                        crate::manifest::shorten(label, 40),
                        shown(value)
                    ));
                }
                let stated = StatedTime {
                    at: t.at,
                    precision: t.precision,
                    text: value.to_owned(),
                };
                set(&mut c.captured, stated, label, value, |a, b| {
                    a.at == b.at && a.precision == b.precision
                })?;
            }
            Field::Accessed => match parse_when(value) {
                Some(t) => set(&mut c.accessed, t.date, label, value, eq)?,
                // Not a date (or a weekday the date does not have): nothing checks it, so it
                // is listed as not checked, like an unknown label.
                None => c.unchecked.push(OtherLine {
                    label: crate::manifest::shorten(label, 60),
                    value: crate::manifest::shorten(value, SHOWN_CHARS),
                    states_fact: true,
                    looks_like: None,
                    contradicts: None,
                }),
            },
            Field::CaptureFailed => {
                if value.is_empty() {
                    return Err(err("the error is empty".into()));
                }
                set(&mut c.capture_failed, value.to_owned(), label, value, eq)?;
            }
            Field::HttpStatus => {
                let st = parse_status(value).map_err(err)?;
                set(&mut c.http_status, st, label, value, eq)?;
            }
            Field::Sha256 | Field::TextSha256 | Field::ExcerptSha256 | Field::ManifestSha256 => {
                let (p, warning) = parse_hash(value).map_err(err)?;
                if let Some(w) = warning {
                    c.warnings.push(format!(
                        "{} {:?}: {w}",
                        crate::manifest::shorten(label, 40),
                        shown(value)
                    ));
                }
                let slot = match field {
                    Field::Sha256 => &mut c.sha256,
                    Field::TextSha256 => &mut c.text_sha256,
                    Field::ManifestSha256 => &mut c.manifest_sha256,
                    _ => &mut c.excerpt_sha256,
                };
                // A prefix and a longer form of the same hash agree: keep the longer.
                let agree = |a: &HashPrefix, b: &HashPrefix| {
                    a.as_str().starts_with(b.as_str()) || b.as_str().starts_with(a.as_str())
                };
                match slot {
                    Some(old) if agree(old, &p) => {
                        if p.as_str().len() > old.as_str().len() {
                            *old = p;
                        }
                    }
                    _ => set(slot, p, label, value, agree)?,
                }
            }
            Field::Url => {
                let u = parse_url(value).map_err(err)?;
                set(&mut c.url, u, label, value, eq)?;
            }
            Field::Signer => {
                let s = parse_fingerprint(value).ok_or_else(|| {
                    err("not a key fingerprint (expected SHA256: and 43 base64 digits)".into())
                })?;
                set(&mut c.signer, s, label, value, eq)?;
            }
            Field::LogPosition => {
                let (index, origin) = parse_log_position(value).map_err(err)?;
                set(&mut c.log_index, index, label, value, eq)?;
                if let Some(o) = origin {
                    set(&mut c.log_origin, o, label, value, eq)?;
                }
            }
            Field::Excerpt => {
                let (text, truncated_start, truncated_end) = crate::quote::clean_quote(value);
                if text.is_empty() {
                    return Err(err("the excerpt is empty".into()));
                }
                let e = StatedExcerpt {
                    text,
                    truncated_start,
                    truncated_end,
                };
                set(&mut c.excerpt, e, label, value, eq)?;
            }
        }
        self.any = true;
        Ok(())
    }
}
