//! The syntax of header blocks, WARC's and HTTP's alike: lines within a byte budget, `Name:
//! value` fields with continuation lines, and header bytes as text.

use std::io::{self, BufRead};

/// How reading a line ended.
pub(super) enum Line {
    /// A line of this many bytes, with its LF.
    Read(usize),
    /// The input ended before an LF.
    Eof,
    /// No LF within the budget.
    TooLong,
}

/// Reads one line into `line` (without its LF, nor a CR before it), taking at most `budget`
/// bytes from `src`; time and memory linear in the line.
pub(super) fn read_line(
    src: &mut dyn BufRead,
    line: &mut Vec<u8>,
    budget: usize,
) -> io::Result<Line> {
    line.clear();
    let mut used = 0;
    loop {
        let buf = src.fill_buf()?;
        if buf.is_empty() {
            return Ok(Line::Eof);
        }
        let take = buf.len().min(budget - used);
        if take == 0 {
            return Ok(Line::TooLong);
        }
        if let Some(i) = buf[..take].iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&buf[..i]);
            src.consume(i + 1);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Line::Read(used + i + 1));
        }
        line.extend_from_slice(&buf[..take]);
        src.consume(take);
        used += take;
    }
}

/// Why a header's fields could not be read.
pub(super) enum Fault {
    Io(io::Error),
    Eof,
    TooLong,
    TooMany,
    Bad(String),
}

/// Header fields: names and values, in order.
pub(super) type Fields = Vec<(String, String)>;

/// Reads `Name: value` lines up to and with an empty line, at most `budget` bytes and
/// `max_fields` fields; returns the fields and the bytes read, or the offset of the line at
/// fault and the fault.
pub(super) fn read_fields(
    src: &mut dyn BufRead,
    line: &mut Vec<u8>,
    budget: usize,
    max_fields: usize,
) -> Result<(Fields, usize), (usize, Fault)> {
    let mut fields = Fields::new();
    let mut used = 0;
    loop {
        let at = used;
        match read_line(src, line, budget - used) {
            Err(e) => return Err((at, Fault::Io(e))),
            Ok(Line::Read(n)) => used += n,
            Ok(Line::Eof) => return Err((at, Fault::Eof)),
            Ok(Line::TooLong) => return Err((at, Fault::TooLong)),
        }
        if line.is_empty() {
            return Ok((fields, used));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            let Some((_, value)) = fields.last_mut() else {
                return Err((at, Fault::Bad("continuation line before any field".into())));
            };
            let more = text(line);
            let more = more.trim_matches([' ', '\t']);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            let shown = shown(line, 60);
            return Err((
                at,
                Fault::Bad(format!("header line without a colon: \"{shown}\"")),
            ));
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            let shown = shown(name, 60);
            return Err((at, Fault::Bad(format!("bad field name \"{shown}\""))));
        }
        if fields.len() == max_fields {
            return Err((at, Fault::TooMany));
        }
        let value = text(&line[colon + 1..]);
        fields.push((text(name), value.trim_matches([' ', '\t']).to_owned()));
    }
}

/// RFC 9110 §5.6.2 token characters.
pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Header bytes as text: UTF-8, else ISO-8859-1.
pub(super) fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Bytes for an error message: escaped, at most `max` characters.
pub(super) fn shown(bytes: &[u8], max: usize) -> String {
    let s = bytes.escape_ascii().to_string();
    if s.len() > max {
        format!("{}…", &s[..max])
    } else {
        s
    }
}
