//! exhibit-text: text extraction and normalisation.
//!
//! A pure function from bytes to text: it depends on no exhibit crate but `exhibit-core` (for
//! [`ExtractionRules`]), does no I/O and reads no clock or configuration.
//!
//! A capture keeps the exact bytes it fetched; whether a capture opens a new *version* of a
//! document is decided by the SHA-256 of the text this crate extracts (DESIGN §4). The output
//! must therefore be a pure, deterministic function of `(bytes, media type, charset, rules)` and
//! of [`EXTRACTOR_VERSION`]: any change to what some input produces must bump the version,
//! because it changes text hashes. The rules are the document's [`ExtractionRules`] (CSS
//! `select` / `remove` selectors), named in each capture manifest; `docs/EXTRACTION.md` gives
//! their semantics, examples and measured quality.
//!
//! # Pipeline
//!
//! 1. **Decode** (`charset.rs`): a byte-order mark wins; then the `charset` parameter of
//!    the Content-Type; then, for HTML, a `<meta charset>` / `<meta http-equiv>` found by a
//!    WHATWG-style pre-scan of the first 1024 bytes (for XHTML first the `<?xml … encoding=…?>`
//!    declaration); otherwise UTF-8 when the bytes are valid UTF-8, else windows-1252 (which
//!    keeps every byte distinct). Labels resolve per the WHATWG Encoding Standard
//!    (`iso-8859-1` means windows-1252). Decoding never fails: malformed sequences in a declared
//!    encoding become U+FFFD. Labels that resolve to the WHATWG "replacement" encoding are ignored, since decoding
//!    a whole document to a single U+FFFD would hide every later change.
//! 2. **HTML to text** (`html.rs`, which lists every rule): parsed with html5ever (via
//!    `scraper`) as a browser would, walked iteratively (no recursion) and rendered as
//!    Markdown-like text: `# ` headings, `- ` / `1. ` list items, blank lines between paragraphs
//!    and blocks, table cells on their own lines, `<pre>` verbatim, link text without URLs.
//!    What is rendered: with a `select` rule, the matching elements only; otherwise the page's
//!    `<main>` (or `role="main"`), else its only `<article>`, else the whole page without
//!    navigation and page-level header, footer and asides. Nothing matching a `remove` rule is
//!    rendered. Scripts (JSON data included), styles, `<head>` (the title is reported
//!    separately), templates, `noscript`, embedded objects, form controls and hidden elements
//!    (including screen-reader-only classes) are always dropped. Decisions worth knowing:
//!    - `&nbsp;` (U+00A0) collapses with other whitespace into one ordinary space;
//!    - `aria-hidden="true"` drops only elements without block-level content (icons): on block
//!      containers it marks collapsed accordion panels whose text belongs to the document;
//!    - nothing that contains `<main>`, `role="main"` or `<h1>` is dropped as hidden (pages
//!      behind an open cookie modal are `aria-hidden`);
//!    - `<button>` text and `<form>` contents other than controls are kept.
//!
//!    A linear pre-pass (`guard.rs`) first rewrites the rare hostile document (hundreds of
//!    nested or unclosed formatting elements) that would drive the HTML tree builder quadratic;
//!    ordinary pages are parsed untouched.
//! 3. **Normalise** ([`normalize_text`]): line endings, Unicode NFC, trailing whitespace, blank
//!    lines.
//!
//! Media types without text (PDF, images, `application/octet-stream`, JSON, XML …) yield `None`;
//! such documents are versioned by their content hash alone. [`sniff_media_type`] guesses a media
//! type when no Content-Type is known.
//!
//! The extractor has no configuration and reads nothing but its arguments, so the same bytes,
//! media type, charset and rules always give the same text.
//!
//! Version history: `"1"` rendered the whole page; `"2"` adds the extraction rules, the choice of
//! the main content (`main` / `article`), the dropping of navigation and page-level header,
//! footer and asides, and of screen-reader-only elements.

mod charset;
mod guard;
mod html;
mod sniff;

use exhibit_core::manifest::ExtractionRules;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

pub use sniff::sniff_media_type;

/// Name of the text extractor, recorded in every capture manifest next to [`EXTRACTOR_VERSION`].
pub const EXTRACTOR_NAME: &str = "exhibit-text";

/// Version of the text extractor, recorded in every capture manifest.
///
/// Bump it whenever the extracted text for some input changes, since text hashes decide whether
/// a capture opens a new version.
pub const EXTRACTOR_VERSION: &str = "2";

/// The extracted, normalised text of a document and what was learned on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The normalised text (see [`normalize_text`]); empty if the document has no text, otherwise
    /// ending in exactly one `"\n"`.
    pub text: String,
    /// The HTML `<title>`, whitespace-collapsed and NFC; `None` if absent, empty, or not HTML.
    pub title: Option<String>,
    /// The encoding actually used to decode the bytes, as named by `encoding_rs`
    /// (for example `"UTF-8"`, `"windows-1252"`, `"UTF-16LE"`).
    pub charset: &'static str,
}

/// What kind of text a media type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    Xhtml,
    Plain,
}

fn kind_of(media_type: &str) -> Option<Kind> {
    // Be lenient: callers should pass a lower-cased essence, but a full header value works too.
    let essence = media_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("text/html") {
        Some(Kind::Html)
    } else if essence.eq_ignore_ascii_case("application/xhtml+xml") {
        Some(Kind::Xhtml)
    } else if essence.len() > 5
        && essence.is_char_boundary(5)
        && essence[..5].eq_ignore_ascii_case("text/")
    {
        Some(Kind::Plain)
    } else {
        None
    }
}

/// Extract the normalised text of a document.
///
/// `media_type` is the lower-cased essence of the document's media type (`"text/html"`,
/// `"application/xhtml+xml"`, `"text/plain"`, `"text/markdown"`, …); `charset` is the `charset`
/// parameter of a Content-Type header, if there was one.
///
/// HTML and XHTML go through the HTML renderer; every other `text/*` type is decoded and
/// normalised as plain text. Any other media type (PDF, images, `application/octet-stream`,
/// `application/json`, …) returns `None`: such documents are versioned by their content hash.
///
/// Never panics and never fails on any input: undecodable bytes become U+FFFD.
pub fn extract(bytes: &[u8], media_type: &str, charset: Option<&str>) -> Option<Extracted> {
    extract_with(bytes, media_type, charset, &ExtractionRules::default())
}

/// Checks a document's extraction rules: every selector must be valid CSS (as `scraper`
/// parses it). The error names the first bad selector.
pub fn check_rules(rules: &ExtractionRules) -> Result<(), String> {
    for (flag, list) in [("--select", &rules.select), ("--remove", &rules.remove)] {
        for css in list {
            if css.trim().is_empty() {
                return Err(format!("{flag}: an empty CSS selector"));
            }
            if css.len() > 1024 {
                return Err(format!("{flag}: a CSS selector longer than 1024 bytes"));
            }
            scraper::Selector::parse(css).map_err(|e| {
                format!(
                    "{flag} {:?}: not a valid CSS selector ({e})",
                    exhibit_core::manifest::shorten(css, 80)
                )
            })?;
        }
    }
    Ok(())
}

/// [`extract`] with a document's extraction rules applied to HTML and XHTML; plain text ignores
/// them.
///
/// With `rules.select` non-empty, only the elements matching one of its selectors are rendered
/// (their union in document order, a match nested in another rendered once), each as if it were
/// the whole body; if nothing matches, the text is empty (the rule no longer fits the page).
/// Nothing matching a `rules.remove` selector is ever rendered, including selected elements
/// inside it. Without `select`, the default choice of the main content applies (see the crate
/// documentation), `remove` on top of it. Rules never reveal dropped or hidden content.
/// Selectors that do not parse match nothing (check them first with [`check_rules`]).
pub fn extract_with(
    bytes: &[u8],
    media_type: &str,
    charset: Option<&str>,
    rules: &ExtractionRules,
) -> Option<Extracted> {
    let kind = kind_of(media_type)?;
    let (decoded, encoding) =
        charset::decode(bytes, kind == Kind::Html, kind == Kind::Xhtml, charset);
    let charset = encoding.name();
    match kind {
        Kind::Html | Kind::Xhtml => {
            let rendered = html::render(&decoded, rules);
            Some(Extracted {
                text: normalize_text(&rendered.text),
                title: rendered.title,
                charset,
            })
        }
        Kind::Plain => Some(Extracted {
            text: normalize_text(&decoded),
            title: None,
            charset,
        }),
    }
}

/// Unicode NFC, without allocating when the input is already (quick-check) normalised, and
/// normalising only the stretches that need it otherwise.
///
/// A normalisation boundary falls before every ASCII character: ASCII characters are starters
/// (canonical combining class 0) and none is the second part of a canonical composition. So
/// the non-ASCII stretches, each with the one character before it (which a combining mark may
/// compose with), can be normalised on their own; the rest is copied as it is.
pub(crate) fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `s` already copied into `out`.
    let mut copied = 0;
    let mut at = 0;
    while let Some(start) = first_non_ascii(&bytes[at..]).map(|p| at + p) {
        let end = bytes[start..]
            .iter()
            .position(u8::is_ascii)
            .map_or(bytes.len(), |p| start + p);
        // Both ends are ASCII bytes or the string's ends: character boundaries; so is
        // `start - 1` (an ASCII byte), when the stretch does not begin the string.
        if is_nfc_quick(s[start..end].chars()) != IsNormalized::Yes {
            let from = start.saturating_sub(1).max(copied);
            let o = out.get_or_insert_with(|| String::with_capacity(s.len() + 16));
            o.push_str(&s[copied..from]);
            o.extend(s[from..end].nfc());
            copied = end;
        }
        at = end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(&s[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

/// The index of the first non-ASCII byte, eight bytes at a time.
fn first_non_ascii(bytes: &[u8]) -> Option<usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if u64::from_ne_bytes(w) & HIGH != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|b| !b.is_ascii())
        .map(|p| at + p)
}

/// Normalise already-decoded plain text.
///
/// - CRLF and lone CR become LF;
/// - Unicode NFC (so a decomposed `e` + U+0301 becomes `é`);
/// - trailing whitespace (Unicode `White_Space`, including no-break space) is stripped from every
///   line; leading whitespace (indentation) is kept;
/// - runs of two or more empty lines collapse to one empty line;
/// - leading and trailing empty lines are removed;
/// - a non-empty result ends with exactly one `"\n"`; an all-whitespace input gives `""`.
///
/// The function is idempotent: `normalize_text(&normalize_text(s)) == normalize_text(s)`.
pub fn normalize_text(s: &str) -> String {
    let composed = nfc(s);
    let mut out = String::with_capacity(composed.len() + 1);
    // Number of empty lines seen since the last non-empty line (only emitted before the next
    // non-empty line, so trailing blank lines vanish).
    let mut blank = 0usize;
    for raw_line in Lines::new(&composed) {
        let line = raw_line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank > 0 {
                out.push('\n');
            }
        }
        blank = 0;
        out.push_str(line);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Splits on `"\r\n"`, `"\r"` and `"\n"`.
struct Lines<'a> {
    rest: Option<&'a str>,
}

impl<'a> Lines<'a> {
    fn new(s: &'a str) -> Self {
        Lines { rest: Some(s) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match memchr::memchr2(b'\r', b'\n', rest.as_bytes()) {
            Some(i) => {
                let line = &rest[..i];
                let after = &rest[i..];
                let skip = if after.starts_with("\r\n") { 2 } else { 1 };
                self.rest = Some(&after[skip..]);
                Some(line)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretch_by_stretch_nfc_equals_whole_string_nfc() {
        let alphabet = [
            'a', 'e', 'A', ' ', '\n', '\u{e9}', '\u{301}', '\u{323}', '\u{307}', '\u{1100}',
            '\u{1161}', '\u{11a8}', 'Å', '\u{212b}', '\u{fb01}', '“', '\u{338}', '=',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50_000 {
            let len = (seed % 12) as usize;
            let s: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let whole: String = s.nfc().collect();
            assert_eq!(nfc(&s), whole, "{s:?}");
        }
    }

    #[test]
    fn normalize_basics() {
        assert_eq!(normalize_text(""), "");
        assert_eq!(normalize_text(" \n\t\r\n  "), "");
        assert_eq!(normalize_text("a"), "a\n");
        assert_eq!(normalize_text("a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(normalize_text("a  \t\nb\u{a0}"), "a\nb\n");
        assert_eq!(normalize_text("\n\n a\n\n\n\n b \n\n"), " a\n\n b\n");
        assert_eq!(normalize_text("a\n \n\t\nb"), "a\n\nb\n");
        assert_eq!(normalize_text("e\u{301}"), "\u{e9}\n");
        assert_eq!(normalize_text("a\r\r\r\rb"), "a\n\nb\n");
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of("text/html"), Some(Kind::Html));
        assert_eq!(kind_of("Text/HTML; charset=utf-8"), Some(Kind::Html));
        assert_eq!(kind_of("application/xhtml+xml"), Some(Kind::Xhtml));
        assert_eq!(kind_of("text/plain"), Some(Kind::Plain));
        assert_eq!(kind_of("text/markdown"), Some(Kind::Plain));
        assert_eq!(kind_of("text/"), None);
        assert_eq!(kind_of("application/json"), None);
        assert_eq!(kind_of("application/pdf"), None);
        assert_eq!(kind_of("té"), None);
        assert_eq!(kind_of(""), None);
    }
}
