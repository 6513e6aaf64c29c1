//! The line scanner of the citation parser: splitting a paste into clean lines, and telling a
//! field line (`Label: value` in every shape a citer pastes it: list items, table rows, tabs,
//! spaced dashes) from another labelled line and from prose; and which [`Field`] a label
//! names, under its own spelling, its aliases, or a look-alike of another script.
//!
//! Not here: parsing the value of a field (`values.rs`) and assembling records (`parse.rs`).

use super::values::{is_dash, iso_date, month, parse_id, year};

/// The fields a label can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Entity,
    Title,
    RecordId,
    DocumentId,
    VersionId,
    CaptureId,
    ProvisionId,
    Captured,
    Sha256,
    TextSha256,
    ExcerptSha256,
    Url,
    Accessed,
    Signer,
    LogPosition,
    Excerpt,
    ManifestSha256,
    CaptureFailed,
    HttpStatus,
}

impl Field {
    /// The field's label as [`render`](fn@super::render) and [`compare`](fn@super::compare)
    /// name it.
    pub(super) fn label(self) -> &'static str {
        match self {
            Field::Entity => "Entity",
            Field::Title => "Document",
            Field::RecordId => "Record ID",
            Field::DocumentId => "Document ID",
            Field::VersionId => "Version ID",
            Field::CaptureId => "Capture ID",
            Field::ProvisionId => "Provision ID",
            Field::Captured => "Captured",
            Field::Sha256 => "SHA-256",
            Field::TextSha256 => "Text SHA-256",
            Field::ExcerptSha256 => "Excerpt SHA-256",
            Field::Url => "URL",
            Field::Accessed => "Accessed",
            Field::Signer => "Signed-By",
            Field::LogPosition => "Log Position",
            Field::Excerpt => "Excerpt",
            Field::ManifestSha256 => "Manifest SHA-256",
            Field::CaptureFailed => "Capture-Failed",
            Field::HttpStatus => "HTTP Status",
        }
    }
}

/// The field a normalised label (lower case, single spaces, `-`/`_` as spaces) names.
fn field_for(label: &str) -> Option<Field> {
    use Field::*;
    Some(match label {
        "entity" | "company" | "publisher" | "organization" | "organisation" | "platform"
        | "provider" | "service provider" | "owner" | "site owner" | "document owner"
        | "website owner" | "operator" | "site operator" | "company name" | "entity name"
        | "organization name" | "organisation name" | "vendor" => Entity,
        "document" | "document title" | "title" | "policy" | "document name" | "page title"
        | "policy title" | "policy name" => Title,
        "record id" | "record" | "id" | "citation id" | "exhibit id" | "record number"
        | "record no" | "record no." | "record #" | "record identifier" | "exhibit record"
        | "exhibit record id" | "archive id" | "archive record" | "archive record id"
        | "citation record id" => RecordId,
        "document id" | "doc id" | "document identifier" | "document record id" => DocumentId,
        "version id" | "version identifier" | "version record id" => VersionId,
        "capture id" | "capture identifier" | "capture record id" => CaptureId,
        "provision id" | "provision identifier" | "provision record id" => ProvisionId,
        "captured"
        | "captured at"
        | "captured on"
        | "capture time"
        | "capture date"
        | "capture timestamp"
        | "capture date and time"
        | "captured date"
        | "date captured"
        | "time captured"
        | "date and time captured"
        | "retrieved"
        | "retrieved at"
        | "retrieved on"
        | "date retrieved"
        | "archived at"
        | "archived on"
        | "archive date"
        | "date archived"
        | "time archived"
        | "collected at"
        | "collected on"
        | "crawled at"
        | "crawled on"
        | "snapshot date"
        | "snapshot time"
        | "saved at"
        | "saved on" => Captured,
        "sha 256" | "sha256" | "sha" | "sha 2" | "hash" | "sha 256 hash" | "sha256 hash"
        | "sha 256 digest" | "sha256 digest" | "sha 256 checksum" | "sha256 checksum"
        | "sha256sum" | "sha 256 sum" | "sha256 sum" | "hash value" | "hash sha 256"
        | "hash sha256" | "content sha 256" | "content sha256" | "content hash"
        | "content digest" | "file hash" | "file sha 256" | "file sha256" | "document hash"
        | "document sha 256" | "document sha256" | "digest" | "checksum" => Sha256,
        "text sha 256"
        | "text sha256"
        | "text hash"
        | "text digest"
        | "text sha 256 hash"
        | "text sha256 hash"
        | "extracted text sha 256"
        | "extracted text sha256"
        | "extracted text hash" => TextSha256,
        "excerpt sha 256" | "excerpt sha256" | "excerpt hash" | "quote sha 256"
        | "quote sha256" | "quote hash" | "provision sha 256" | "provision sha256"
        | "clause hash" | "clause sha 256" | "clause sha256" => ExcerptSha256,
        "manifest sha 256" | "manifest sha256" | "manifest hash" | "manifest digest"
        | "record hash" | "record sha 256" | "record sha256" => ManifestSha256,
        "url" | "source" | "source url" | "link" | "address" | "original url" | "document url"
        | "page url" | "web address" | "uri" | "captured url" | "archived url" | "request url"
        | "requested url" | "final url" => Url,
        "accessed" | "accessed on" | "accessed at" | "date accessed" | "access date"
        | "date of access" | "last accessed" | "viewed" | "viewed on" | "last viewed"
        | "visited" | "visited on" | "last visited" => Accessed,
        "signed by"
        | "signer"
        | "signing key"
        | "key fingerprint"
        | "fingerprint"
        | "signed with"
        | "signer fingerprint"
        | "signing key fingerprint"
        | "public key fingerprint" => Signer,
        "log position"
        | "log index"
        | "log"
        | "log leaf"
        | "log entry"
        | "log leaf index"
        | "leaf index"
        | "transparency log"
        | "position"
        | "leaf"
        | "log entry index"
        | "transparency log position"
        | "log pos" => LogPosition,
        "excerpt" | "quote" | "quoted text" | "clause" | "provision text" => Excerpt,
        "capture failed" | "capture error" | "capture failure" | "error" | "fetch error"
        | "fetch failed" | "failure" | "failed" | "failure reason" | "error message"
        | "fetch failure" => CaptureFailed,
        "http status"
        | "status"
        | "status code"
        | "http status code"
        | "http code"
        | "response status"
        | "response code"
        | "http response"
        | "http response code"
        | "http response status" => HttpStatus,
        l if l.starts_with("excerpt from ") => Excerpt,
        // `Captured (UTC)`, `Hash (SHA-256)`: the label before a parenthesised remark.
        l if l.ends_with(')') => {
            let (head, _) = l.rsplit_once('(')?;
            let head = head.trim_end();
            if head.is_empty() || head.ends_with(')') {
                return None;
            }
            return field_for(head);
        }
        _ => return None,
    })
}

/// The longest label an unknown labelled line has (in characters and in words): longer runs
/// before a colon are prose.
const OTHER_LABEL_CHARS: usize = 40;
const OTHER_LABEL_WORDS: usize = 5;

/// One line of a citation, classified.
pub(super) enum Line<'a> {
    /// No label: empty, prose, a table's header or rule row.
    Prose,
    /// A line naming a field.
    Field(Labelled<'a>),
    /// A labelled line whose label names no field.
    Other {
        label: &'a str,
        value: &'a str,
        looks_like: Option<&'static str>,
    },
}

/// Strips what may stand before a label: list markers (`1.`, `1)`, `(1)`, `a)`, `-`, `*`,
/// `+`, `•` and other bullets), quote and heading marks (`>`, `#`).
fn strip_markers(line: &str) -> &str {
    let mut s = line.trim_start();
    loop {
        let before = s.len();
        s = s
            .trim_start_matches([
                '>', '#', '\u{2022}', '\u{B7}', '\u{2023}', '\u{25E6}', '\u{25AA}', '\u{25A0}',
                '\u{25CF}', '\u{25CB}', '\u{25BA}', '\u{25B8}', '\u{2043}', '\u{2219}',
            ])
            .trim_start();
        // A dash, `*` or `+` followed by a space is a list marker (`**Entity:**` is bold).
        let mut chars = s.chars();
        if let (Some(c), Some(' ')) = (chars.next(), chars.next())
            && (is_dash(c) || c == '*' || c == '+')
        {
            s = s[c.len_utf8()..].trim_start();
        }
        // `1.`, `12)`, `(3)`, `a)`, `(b)` followed by a space.
        let b = s.as_bytes();
        let open = usize::from(b.first() == Some(&b'('));
        let digits = b[open..].iter().take_while(|c| c.is_ascii_digit()).count();
        let letter = digits == 0 && b.get(open).is_some_and(u8::is_ascii_alphabetic);
        let n = if letter { 1 } else { digits };
        if (1..=3).contains(&n)
            && let Some(&close) = b.get(open + n)
            && (close == b')' || (close == b'.' && open == 0 && !letter))
            && b.get(open + n + 1) == Some(&b' ')
        {
            s = s[open + n + 1..].trim_start();
        }
        if s.len() == before {
            return s;
        }
    }
}

/// A label as written, without emphasis and quotation marks around it.
fn trim_label(s: &str) -> &str {
    s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '*' | '_' | '`' | '"' | '\u{201C}' | '\u{201D}')
    })
}

/// A label in the form [`field_for`] takes: Unicode compatibility forms of ASCII (full-width
/// letters) folded, dashes and `_` as spaces, single spaces, lower case.
fn normalise_label(label: &str) -> String {
    let mut norm = String::with_capacity(label.len());
    for c in label.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c if is_dash(c) || c == '_' || c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && (norm.is_empty() || norm.ends_with(' ')) {
            continue;
        }
        norm.extend(c.to_lowercase());
    }
    norm.trim_end().to_owned()
}

/// The Latin letter a Cyrillic or Greek letter is drawn like, for the letters that are.
fn latin_look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'А' | 'Α' => 'A',
        'В' | 'Β' | 'в' => 'B',
        'с' | 'ϲ' => 'c',
        'С' | 'Ϲ' => 'C',
        'ԁ' => 'd',
        'е' | 'ё' | 'ε' => 'e',
        'Е' | 'Ё' | 'Ε' => 'E',
        'һ' => 'h',
        'Н' | 'Η' | 'н' => 'H',
        'і' | 'ї' | 'ι' | 'ӏ' => 'i',
        'І' | 'Ї' | 'Ι' | 'Ӏ' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'к' | 'κ' => 'k',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' | 'м' => 'M',
        'Ν' | 'η' => 'N',
        'о' | 'ο' | 'σ' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'ԛ' => 'q',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'т' | 'τ' => 't',
        'Т' | 'Τ' => 'T',
        'υ' | 'ս' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ѡ' => 'w',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'у' | 'γ' => 'y',
        'У' | 'Υ' | 'Ү' => 'Y',
        'Ζ' => 'Z',
        _ => return None,
    })
}

/// For a label that is not a field's: the field label it imitates with look-alike letters of
/// another script, or `""` when it mixes ASCII letters with other characters (and so may
/// imitate a label in a way no table lists). `None` for an ASCII label or one in one script.
fn looks_like(label: &str) -> Option<&'static str> {
    if label.is_ascii() {
        return None;
    }
    let skeleton: String = label
        .chars()
        .map(|c| latin_look_alike(c).unwrap_or(c))
        .collect();
    if let Some(f) = field_for(&normalise_label(&skeleton)) {
        return Some(f.label());
    }
    let ascii_letter = label.chars().any(|c| c.is_ascii_alphabetic());
    let other = label.chars().any(|c| {
        !c.is_ascii() && !c.is_whitespace() && !is_dash(c) && !matches!(c, '\u{2019}' | '\u{FF1A}')
    });
    (ascii_letter && other).then_some("")
}

/// Whether an unknown label reads as one: after any leading marks (`<b>`, `[`, `«`), it has a
/// letter, is at most five words and forty characters, and has no sentence punctuation. (A
/// label of digits alone, as in `12:30`, is a time, not a label.)
fn reads_as_label(label: &str) -> bool {
    let l = label.trim_start_matches(|c: char| !c.is_alphanumeric());
    l.chars().any(char::is_alphabetic)
        && l.chars().count() <= OTHER_LABEL_CHARS
        && l.split_whitespace().count() <= OTHER_LABEL_WORDS
        && !l.contains([',', ';', '!', '?', '"', '\u{201C}', '\u{201D}'])
}

/// Table cell separators: `|` and the box-drawing and broken bars PDFs render tables with.
const PIPES: [char; 4] = ['|', '\u{2502}', '\u{2503}', '\u{A6}'];

/// Whether `c` can make up a spaced separator run: dashes, `=`, `>`, arrows, dot leaders.
fn is_run_char(c: char) -> bool {
    is_dash(c)
        || matches!(
            c,
            '=' | '>' | '.' | '\u{2026}' | '\u{2192}' | '\u{21D2}' | '~'
        )
}

/// The separators that can end a label, in the line: a colon (`:`, `：`), a tab, a table bar,
/// or a run of dashes, `=`, arrows or dot leaders with a space before it and a space (or the
/// end of the line) after it (`Entity – X`, `Entity -- X`, `Entity => X`, `Entity .... X`).
/// Each as (byte offset, length, is a colon).
fn separators(body: &str) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    // The first colon that is not inside a time of day or a ratio (`12:30`).
    let digit = |p: usize| body.as_bytes().get(p).is_some_and(u8::is_ascii_digit);
    if let Some((p, c)) = body.char_indices().find(|&(p, c)| {
        (c == ':' || c == '\u{FF1A}') && !(p > 0 && digit(p - 1) && digit(p + c.len_utf8()))
    }) {
        out.push((p, c.len_utf8(), true));
    }
    if let Some(p) = body.find('\t') {
        out.push((p, 1, false));
    }
    if let Some(p) = body.find(PIPES) {
        out.push((p, body[p..].chars().next().map_or(1, char::len_utf8), false));
    }
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut k = 1;
    while k < chars.len() {
        if chars[k - 1].1 == ' ' && is_run_char(chars[k].1) {
            let mut e = k;
            while e < chars.len() && is_run_char(chars[e].1) {
                e += 1;
            }
            let run: String = chars[k..e].iter().map(|&(_, c)| c).collect();
            // One `.` or `>` alone is punctuation, not a separator.
            let lone = run == "." || run == ">";
            if !lone && (e == chars.len() || chars[e].1 == ' ') {
                let end = chars.get(e).map_or(body.len(), |&(i, _)| i + 1);
                out.push((chars[k - 1].0, end.min(body.len()) - chars[k - 1].0, false));
                break;
            }
            k = e;
        }
        k += 1;
    }
    out.sort_unstable();
    out
}

/// Classifies a clean line: a field line, another labelled line, or prose.
///
/// A field line is a known label (in any case and spacing, after list markers, bullets, quote
/// marks and emphasis) followed by a separator — `:`, a tab, or a spaced dash — or a table row
/// `| Label | value |`. Another labelled line is a line whose label, before a colon, reads as
/// one ([`reads_as_label`]), any table row but a header or rule, or any line whose label
/// before a tab or dash imitates a field label ([`looks_like`]).
pub(super) fn classify(line: &str) -> Line<'_> {
    let body = strip_markers(line);
    if let Some(row) = body.strip_prefix(PIPES) {
        let row = row.trim_end();
        let row = row.strip_suffix(PIPES).unwrap_or(row);
        let Some((label, value)) = row.split_once(PIPES) else {
            return classify_unpiped(row.trim());
        };
        let (label, value) = (trim_label(label), value.trim());
        let rule = |s: &str| s.chars().all(|c| matches!(c, '-' | ':' | '|' | ' ' | '='));
        if label.is_empty() || (rule(label) && rule(value)) {
            return Line::Prose;
        }
        let norm = normalise_label(label);
        if let Some(field) = field_for(&norm) {
            return Line::Field(Labelled {
                label,
                value,
                field,
                canonical: CANONICAL_LABELS.contains(&norm.as_str()),
            });
        }
        let header = matches!(
            norm.as_str(),
            "field" | "label" | "item" | "name" | "property" | "key" | "fields"
        ) && matches!(
            normalise_label(trim_label(value)).as_str(),
            "value" | "values" | "detail" | "details" | "content" | "data" | "entry"
        );
        if header {
            return Line::Prose;
        }
        return Line::Other {
            label,
            value,
            looks_like: looks_like(label),
        };
    }
    classify_unpiped(body)
}

fn classify_unpiped(body: &str) -> Line<'_> {
    // A field's own label alone on a line (a two-column table pasted as text): its value is on
    // the next line.
    let norm = normalise_label(trim_label(body));
    if CANONICAL_LABELS.contains(&norm.as_str())
        && let Some(field) = field_for(&norm)
    {
        return Line::Field(Labelled {
            label: trim_label(body),
            value: "",
            field,
            canonical: true,
        });
    }
    let seps = separators(body);
    for &(pos, len, _) in &seps {
        let label = trim_label(&body[..pos]);
        if label.len() > 240 {
            break;
        }
        let norm = normalise_label(label);
        if let Some(field) = field_for(&norm) {
            let mut value = body[pos + len..].trim();
            if body.starts_with(['*', '_']) {
                value = value.trim_start_matches(['*', '_']).trim_start();
            }
            return Line::Field(Labelled {
                label: if label.is_empty() { body } else { label },
                value,
                field,
                canonical: CANONICAL_LABELS.contains(&norm.as_str()),
            });
        }
    }
    for &(pos, len, colon) in &seps {
        let label = trim_label(&body[..pos]);
        let mut value = body[pos + len..].trim();
        if colon && (value.starts_with('/') || value.starts_with('\\')) {
            // `https://…`: a bare URL, not a label.
            continue;
        }
        if body.starts_with(['*', '_']) {
            value = value.trim_start_matches(['*', '_']).trim_start();
        }
        let like = looks_like(label);
        let words = label.split_whitespace().count();
        if (like.is_some() && words <= OTHER_LABEL_WORDS) || (colon && reads_as_label(label)) {
            return Line::Other {
                label,
                value,
                looks_like: like,
            };
        }
    }
    Line::Prose
}

/// Whether text states a fact a citation field would check: a URL, a key fingerprint, a record
/// id, a hash (8 or more hex digits with a letter among them, or 16 or more digits), a date (ISO,
/// digits such as `05/13/2026`, or a month name with a year) or a time of day.
pub(super) fn states_fact(s: &str) -> bool {
    if s.contains("://") || s.to_ascii_lowercase().contains("sha256:") {
        return true;
    }
    let toks: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| {
            t.trim_matches(|c: char| {
                matches!(
                    c,
                    '(' | ')' | '[' | ']' | ';' | '"' | '\'' | '\u{201C}' | '\u{201D}' | '\u{2026}'
                ) || (c == '.')
            })
        })
        .filter(|t| !t.is_empty())
        .collect();
    let hex_run = |t: &str| {
        let mut best = (0usize, false);
        let (mut len, mut letter) = (0usize, false);
        for c in t.chars() {
            if c.is_ascii_hexdigit() {
                len += 1;
                letter |= c.is_ascii_alphabetic();
                if len >= 16 || (len >= 8 && letter) {
                    best = (len, true);
                }
            } else {
                len = 0;
                letter = false;
            }
        }
        best.1
    };
    let clock = |t: &str| {
        let t = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let mut parts = t.split(':');
        let h = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        !rest.is_empty()
            && rest.len() <= 2
            && (1..=2).contains(&h.len())
            && h.bytes().all(|b| b.is_ascii_digit())
            && rest
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let has_year = toks
        .iter()
        .any(|t| year(t).is_some_and(|y| (1900..2200).contains(&y)));
    // `05/13/2026`, `13.05.26`: day, month and year in digits.
    let numeric_date = |t: &str| {
        let parts: Vec<&str> = t.split(['/', '.']).collect();
        parts.len() == 3
            && parts[0].len() <= 2
            && parts[1].len() <= 2
            && matches!(parts[2].len(), 2 | 4)
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    toks.iter().any(|t| {
        hex_run(t)
            || clock(t)
            || numeric_date(t)
            || parse_id(t).is_ok()
            || iso_date(t.split(['T', 't']).next().unwrap_or(t)).is_some()
            || (has_year && t.len() >= 3 && month(t).is_some())
    })
}

/// The lines of `input`; `\r\n`, `\r`, `\n`, U+2028/U+2029, NEL, VT and FF all end a line.
pub(super) fn split_lines(input: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(input);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find([
            '\n', '\r', '\u{2028}', '\u{2029}', '\u{85}', '\u{0B}', '\u{0C}',
        ]) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let line = &s[..i];
                let mut next = &s[i..];
                if next.starts_with("\r\n") {
                    next = &next[2..];
                } else {
                    let n = next.chars().next().map_or(1, char::len_utf8);
                    next = &next[n..];
                }
                rest = Some(next);
                Some(line)
            }
        }
    })
}

/// A line without invisible characters, every whitespace run one space, trimmed — except that
/// a tab between two parts of a line is kept (one tab), since it may separate a label from its
/// value.
pub(super) fn clean_line(line: &str) -> String {
    if let Some((head, tail)) = line.trim().split_once('\t') {
        let (head, tail) = (
            crate::quote::collapse_whitespace(head),
            crate::quote::collapse_whitespace(tail),
        );
        if !head.is_empty() && !tail.is_empty() {
            return format!("{head}\t{tail}");
        }
    }
    crate::quote::collapse_whitespace(line)
}

/// Whether a (clean) line is the `Citation Record` header.
pub(super) fn is_header(line: &str) -> bool {
    let s = line
        .trim_start_matches(['#', '*', '>', ' '])
        .trim_end_matches(['*', ' ', ':', '\u{FF1A}']);
    s.eq_ignore_ascii_case("citation record")
}

/// A recognised field line.
pub(super) struct Labelled<'a> {
    /// The label as written (trimmed).
    pub(super) label: &'a str,
    /// The value (trimmed; may be empty).
    pub(super) value: &'a str,
    pub(super) field: Field,
    /// Whether the label is the field's own (as [`render`](fn@super::render) prints it, in any
    /// case and spacing) rather than another spelling of it.
    pub(super) canonical: bool,
}

/// The labels [`render`](fn@super::render) prints (normalised), and the other fields' own names.
const CANONICAL_LABELS: &[&str] = &[
    "entity",
    "document",
    "record id",
    "captured",
    "sha 256",
    "url",
    "accessed",
    "document id",
    "version id",
    "capture id",
    "provision id",
    "text sha 256",
    "excerpt",
    "excerpt sha 256",
    "manifest sha 256",
    "capture failed",
    "http status",
    "signed by",
    "log position",
];
