//! Guessing a media type when no Content-Type is known (local files, stdin).

use encoding_rs::Encoding;

/// How many leading bytes the HTML sniff decodes when the content starts with a UTF-16 BOM.
const SNIFF_WINDOW: usize = 1024;

/// Guess the media type of a document that came without a Content-Type (a local file, stdin).
///
/// Returns a lower-cased essence such as `"text/html"`. The rules, in order:
///
/// 1. A file name extension that `mime_guess` knows and that is neither `text/plain` nor
///    `text/markdown` wins (`.html` → `text/html`, `.xhtml` → `application/xhtml+xml`,
///    `.pdf` → `application/pdf`, `.json` → `application/json`, …).
/// 2. Content that starts — after an optional byte-order mark (UTF-8 or UTF-16, which is decoded
///    for the check) and leading whitespace — with one of the WHATWG HTML sniffing patterns,
///    case-insensitively (`<!doctype html`, `<html`, `<head`, `<body`, `<script`, `<title`,
///    `<div`, `<p`, `<!--`, … followed by a space or `>`), is `text/html`.
/// 3. A few binary signatures: `%PDF-` (`application/pdf`), PNG, JPEG, GIF, WebP.
/// 4. Text — valid UTF-8 without NUL bytes, or anything with a UTF-16 BOM — is `text/markdown`
///    for `.md`/`.markdown`/`.mkd` names and `text/plain` otherwise. A `.txt`/`.md` name makes
///    even non-UTF-8 content text (without a declared charset it is then decoded as
///    windows-1252).
/// 5. Anything else is `application/octet-stream`.
pub fn sniff_media_type(bytes: &[u8], file_name: Option<&str>) -> String {
    let from_name = file_name.and_then(guess_from_name);
    let name_says_markdown = from_name
        .as_deref()
        .is_some_and(|m| m == "text/markdown" || m == "text/x-markdown");
    let name_says_text = from_name.as_deref() == Some("text/plain") || name_says_markdown;
    if let Some(m) = &from_name
        && !name_says_text
    {
        return m.clone();
    }
    if looks_like_html(bytes) {
        return "text/html".to_string();
    }
    if let Some(m) = binary_signature(bytes) {
        return m.to_string();
    }
    let has_utf16_bom = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    let is_text = has_utf16_bom
        || (memchr::memchr(0, bytes).is_none() && simdutf8::basic::from_utf8(bytes).is_ok());
    if is_text || name_says_text {
        if name_says_markdown {
            "text/markdown".to_string()
        } else {
            "text/plain".to_string()
        }
    } else {
        "application/octet-stream".to_string()
    }
}

fn guess_from_name(name: &str) -> Option<String> {
    let ext = std::path::Path::new(name)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    if ext == "md" || ext == "markdown" || ext == "mkd" {
        return Some("text/markdown".to_string());
    }
    let guess = mime_guess::from_ext(&ext).first()?;
    Some(guess.essence_str().to_ascii_lowercase())
}

/// The WHATWG MIME Sniffing "HTML" patterns, each followed by a tag-terminating byte.
const HTML_PATTERNS: &[&[u8]] = &[
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
];

fn looks_like_html(bytes: &[u8]) -> bool {
    // UTF-16 with a BOM: decode a window and sniff that.
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes)
        && encoding != encoding_rs::UTF_8
    {
        let end = bytes.len().min(bom_len + SNIFF_WINDOW);
        let window = bytes.get(bom_len..end).unwrap_or(&[]);
        let (text, _) = encoding.decode_without_bom_handling(window);
        return matches_html_pattern(text.as_bytes());
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    matches_html_pattern(body)
}

fn matches_html_pattern(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        .unwrap_or(bytes.len());
    let rest = &bytes[start..];
    HTML_PATTERNS.iter().any(|pattern| {
        rest.len() > pattern.len()
            && rest[..pattern.len()].eq_ignore_ascii_case(pattern)
            && matches!(rest[pattern.len()], b' ' | b'>')
    })
}

fn binary_signature(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}
