//! Choosing the character encoding of a document and decoding it.
//!
//! Order: byte-order mark, then the Content-Type `charset` parameter, then (HTML only) a
//! `<meta>` pre-scan of the first 1024 bytes following the WHATWG "prescan a byte stream to
//! determine its encoding" algorithm (for XHTML, the XML declaration's `encoding` first), then
//! UTF-8 if the bytes are valid UTF-8, else windows-1252 (so undeclared bytes are never lost to
//! U+FFFD). Labels are resolved with `encoding_rs` (WHATWG Encoding Standard), so
//! `iso-8859-1`/`latin1` mean windows-1252, as in browsers.

use std::borrow::Cow;

use encoding_rs::{Encoding, REPLACEMENT, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};

/// How many bytes the `<meta>` pre-scan looks at.
const PRESCAN_LIMIT: usize = 1024;

/// Decode `bytes`; returns the text and the encoding used.
pub(super) fn decode<'a>(
    bytes: &'a [u8],
    is_html: bool,
    is_xhtml: bool,
    charset: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or(&[]);
        let (text, _had_errors) = encoding.decode_without_bom_handling(body);
        return (text, encoding);
    }
    let encoding = charset
        .and_then(resolve_label)
        .or_else(|| {
            if is_xhtml {
                xml_declaration(bytes)
            } else {
                None
            }
        })
        .or_else(|| {
            if is_html || is_xhtml {
                prescan_meta(bytes)
            } else {
                None
            }
        })
        .unwrap_or_else(|| undeclared_encoding(bytes));
    let (text, _had_errors) = encoding.decode_without_bom_handling(bytes);
    (text, encoding)
}

/// The encoding of a document that declares none: UTF-8 when the bytes are valid UTF-8, else
/// windows-1252. windows-1252 maps every byte to a distinct character, so two documents that
/// differ only in undeclared non-UTF-8 bytes still extract to different texts; decoding them as
/// UTF-8 would turn both into U+FFFD and hide the change.
fn undeclared_encoding(bytes: &[u8]) -> &'static Encoding {
    if simdutf8::basic::from_utf8(bytes).is_ok() {
        UTF_8
    } else {
        WINDOWS_1252
    }
}

/// Resolve a Content-Type charset label (possibly quoted). The "replacement" encoding is refused:
/// it would decode every document to one U+FFFD and so hide all changes.
pub(super) fn resolve_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let encoding = Encoding::for_label(label.as_bytes())?;
    if encoding == REPLACEMENT {
        None
    } else {
        Some(encoding)
    }
}

/// Apply the WHATWG fix-ups for an encoding found in a `<meta>` (or XML declaration): a document
/// that could be read as ASCII cannot really be UTF-16, and `x-user-defined` means windows-1252.
fn meta_fixup(encoding: &'static Encoding) -> Option<&'static Encoding> {
    if encoding == UTF_16BE || encoding == UTF_16LE {
        Some(UTF_8)
    } else if encoding == X_USER_DEFINED {
        Some(WINDOWS_1252)
    } else if encoding == REPLACEMENT {
        None
    } else {
        Some(encoding)
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `<?xml version="1.0" encoding="…"?>` at the very start of the document.
fn xml_declaration(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(PRESCAN_LIMIT)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = find(head, b"?>", 5)?;
    let decl = &head[5..end];
    let mut pos = 0;
    while let Some((name, value)) = next_attribute(decl, &mut pos) {
        if name == b"encoding" {
            let label = std::str::from_utf8(&value).ok()?;
            return Encoding::for_label(label.trim().as_bytes()).and_then(meta_fixup);
        }
    }
    None
}

/// The WHATWG pre-scan for `<meta charset>` / `<meta http-equiv=content-type content=…>`,
/// limited to the first [`PRESCAN_LIMIT`] bytes.
pub(super) fn prescan_meta(bytes: &[u8]) -> Option<&'static Encoding> {
    let buf = &bytes[..bytes.len().min(PRESCAN_LIMIT)];
    let mut i = 0;
    while i < buf.len() {
        let rest = &buf[i..];
        if rest.starts_with(b"<!--") {
            // Skip the comment; the end may overlap the opening (`<!-->`), as in the spec.
            match find(buf, b"-->", i + 2) {
                Some(end) => i = end + 3,
                None => return None,
            }
        } else if starts_with_ci(rest, b"<meta")
            && rest.get(5).is_some_and(|&b| is_ws(b) || b == b'/')
        {
            let mut pos = i + 5;
            if let Some(found) = meta_tag(buf, &mut pos) {
                return Some(found);
            }
            i = pos.max(i + 1);
        } else if (rest.len() >= 2 && rest[0] == b'<' && rest[1].is_ascii_alphabetic())
            || (rest.len() >= 3 && rest.starts_with(b"</") && rest[2].is_ascii_alphabetic())
        {
            // Any other tag: skip its name and attributes (so that `<meta` inside an attribute
            // value is not mistaken for a tag).
            let mut pos = i + 1;
            while pos < buf.len() && !is_ws(buf[pos]) && buf[pos] != b'>' {
                pos += 1;
            }
            while next_attribute(buf, &mut pos).is_some() {}
            i = pos.max(i + 1);
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            match find(buf, b">", i + 2) {
                Some(end) => i = end + 1,
                None => return None,
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Parse the attributes of a `<meta` tag starting at `pos`; returns its encoding if it declares
/// one that counts.
fn meta_tag(buf: &[u8], pos: &mut usize) -> Option<&'static Encoding> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut got_pragma = false;
    let mut need_pragma: Option<bool> = None;
    let mut charset: Option<&'static Encoding> = None;
    while let Some((name, value)) = next_attribute(buf, pos) {
        if seen.contains(&name) {
            continue;
        }
        match name.as_slice() {
            b"http-equiv" if value.eq_ignore_ascii_case(b"content-type") => got_pragma = true,
            b"content" => {
                if charset.is_none()
                    && let Some(label) = charset_from_content(&value)
                {
                    charset = Encoding::for_label(label);
                    need_pragma = Some(true);
                }
            }
            b"charset" => {
                charset = Encoding::for_label(trim_ws(&value));
                need_pragma = Some(false);
            }
            _ => {}
        }
        seen.push(name);
    }
    match need_pragma {
        None => None,
        Some(true) if !got_pragma => None,
        Some(_) => charset.and_then(meta_fixup),
    }
}

fn trim_ws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// The WHATWG "algorithm for extracting a character encoding from a meta element".
fn charset_from_content(content: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    loop {
        let at = (pos..content.len()).find(|&p| starts_with_ci(&content[p..], b"charset"))?;
        pos = at + 7;
        while pos < content.len() && is_ws(content[pos]) {
            pos += 1;
        }
        if content.get(pos) != Some(&b'=') {
            continue;
        }
        pos += 1;
        while pos < content.len() && is_ws(content[pos]) {
            pos += 1;
        }
        let rest = content.get(pos..)?;
        return match rest.first() {
            Some(&q @ (b'"' | b'\'')) => {
                let end = rest[1..].iter().position(|&b| b == q)?;
                Some(&rest[1..1 + end])
            }
            Some(_) => {
                let end = rest
                    .iter()
                    .position(|&b| is_ws(b) || b == b';')
                    .unwrap_or(rest.len());
                if end == 0 { None } else { Some(&rest[..end]) }
            }
            None => None,
        };
    }
}

/// The WHATWG "get an attribute" step: returns the lower-cased name and the raw value and
/// advances `pos`, or `None` at `>` / end of input (leaving `pos` after the `>`).
fn next_attribute(buf: &[u8], pos: &mut usize) -> Option<(Vec<u8>, Vec<u8>)> {
    while *pos < buf.len() && (is_ws(buf[*pos]) || buf[*pos] == b'/') {
        *pos += 1;
    }
    match buf.get(*pos) {
        None => return None,
        Some(b'>') => {
            *pos += 1;
            return None;
        }
        _ => {}
    }
    let mut name = Vec::new();
    // The first character may be '=' and then belongs to the name.
    if buf[*pos] == b'=' {
        name.push(b'=');
        *pos += 1;
    }
    while let Some(&b) = buf.get(*pos) {
        if is_ws(b) || b == b'/' || b == b'>' || b == b'=' {
            break;
        }
        name.push(b.to_ascii_lowercase());
        *pos += 1;
    }
    while *pos < buf.len() && is_ws(buf[*pos]) {
        *pos += 1;
    }
    if buf.get(*pos) != Some(&b'=') {
        return Some((name, Vec::new()));
    }
    *pos += 1;
    while *pos < buf.len() && is_ws(buf[*pos]) {
        *pos += 1;
    }
    let mut value = Vec::new();
    match buf.get(*pos) {
        Some(&q @ (b'"' | b'\'')) => {
            *pos += 1;
            while let Some(&b) = buf.get(*pos) {
                *pos += 1;
                if b == q {
                    return Some((name, value));
                }
                value.push(b.to_ascii_lowercase());
            }
            // Unterminated quote at the end of the window: take what we have.
            Some((name, value))
        }
        _ => {
            while let Some(&b) = buf.get(*pos) {
                if is_ws(b) || b == b'>' {
                    break;
                }
                value.push(b.to_ascii_lowercase());
                *pos += 1;
            }
            Some((name, value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Option<&'static str> {
        prescan_meta(s.as_bytes()).map(|e| e.name())
    }

    #[test]
    fn meta_charset_forms() {
        assert_eq!(
            scan(r#"<meta charset="windows-1252">"#),
            Some("windows-1252")
        );
        assert_eq!(scan("<META CHARSET=ISO-8859-2>"), Some("ISO-8859-2"));
        assert_eq!(scan("<meta charset='latin1'/>"), Some("windows-1252"));
        assert_eq!(
            scan(r#"<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">"#),
            Some("Shift_JIS")
        );
        assert_eq!(
            scan(r#"<meta content='text/html; charset="koi8-r"' http-equiv=content-type>"#),
            Some("KOI8-R")
        );
        // content without the pragma does not count
        assert_eq!(scan(r#"<meta content="text/html; charset=koi8-r">"#), None);
        // UTF-16 in a meta means UTF-8
        assert_eq!(scan(r#"<meta charset="utf-16">"#), Some("UTF-8"));
        assert_eq!(
            scan(r#"<meta charset="x-user-defined">"#),
            Some("windows-1252")
        );
        assert_eq!(scan(r#"<meta charset="iso-2022-kr">"#), None);
        assert_eq!(scan(r#"<meta charset="bogus">"#), None);
    }

    #[test]
    fn meta_skips_comments_and_attributes() {
        assert_eq!(scan(r#"<!-- <meta charset="koi8-r"> --><p>"#), None);
        assert_eq!(scan(r#"<div title='<meta charset="koi8-r">'>"#), None);
        assert_eq!(
            scan(r#"<!doctype html><html><head><title>x</title><meta charset=gbk>"#),
            Some("GBK")
        );
    }

    #[test]
    fn meta_only_in_first_kilobyte() {
        let mut s = "<p>".to_string();
        s.push_str(&" ".repeat(1100));
        s.push_str("<meta charset=koi8-r>");
        assert_eq!(scan(&s), None);
    }

    #[test]
    fn xml_decl() {
        assert_eq!(
            xml_declaration(b"<?xml version='1.0' encoding='ISO-8859-1'?><html/>")
                .map(|e| e.name()),
            Some("windows-1252")
        );
        assert_eq!(xml_declaration(b"<?xml version='1.0'?>"), None);
    }

    #[test]
    fn content_parsing() {
        assert_eq!(
            charset_from_content(b"text/html;charset=utf-8"),
            Some(&b"utf-8"[..])
        );
        assert_eq!(
            charset_from_content(b"text/html; charset = 'x'"),
            Some(&b"x"[..])
        );
        assert_eq!(charset_from_content(b"charset"), None);
        assert_eq!(charset_from_content(b"charset=\"unterminated"), None);
        assert_eq!(charset_from_content(b"charsetcharset=a"), Some(&b"a"[..]));
    }

    #[test]
    fn labels() {
        assert_eq!(resolve_label("\"UTF-8\"").map(|e| e.name()), Some("UTF-8"));
        assert_eq!(
            resolve_label(" iso-8859-1 ").map(|e| e.name()),
            Some("windows-1252")
        );
        assert_eq!(resolve_label("iso-2022-kr"), None);
        assert_eq!(resolve_label("nonsense"), None);
    }

    #[test]
    fn arbitrary_prefixes_do_not_panic() {
        let samples: &[&[u8]] = &[
            b"<",
            b"<!",
            b"<!-",
            b"<!--",
            b"<meta",
            b"<meta ",
            b"<meta charset",
            b"<meta charset=",
            b"<meta charset='",
            b"</",
            b"</a",
            b"<?",
            b"<a b='",
            b"<meta =",
            b"<?xml",
            b"<?xml ?>",
        ];
        for s in samples {
            let _ = prescan_meta(s);
            let _ = xml_declaration(s);
        }
    }
}
