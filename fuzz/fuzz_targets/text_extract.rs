//! Text extraction (`exhibit-text`) on arbitrary bytes: the most hostile input exhibit reads,
//! since any server can answer anything.
//!
//! The first three bytes choose the media type (some sniffed with `sniff_media_type`, as for
//! files and stdin), the Content-Type `charset` parameter and the extraction rules; the rest is
//! the document. Properties, from the documentation of `crates/text/src/lib.rs`:
//!
//! - never panics; a `text/*`, HTML or XHTML media type always gives a text, any other none;
//! - deterministic: extracting the same input twice gives the same result;
//! - the text is normalised: NFC, no CR, no trailing white space on a line, no leading or
//!   doubled blank lines, empty or ending in exactly one `"\n"`, and `normalize_text` leaves it
//!   unchanged; the title is non-empty, white space collapsed, NFC, and only HTML has one;
//! - the charset: a byte-order mark wins, then the Content-Type `charset` (never the
//!   "replacement" encoding); an undeclared plain text is UTF-8 exactly when it is valid UTF-8,
//!   else windows-1252; an HTML `<meta>` never makes a document UTF-16 or `x-user-defined`;
//! - `extract` is `extract_with` without rules; plain text ignores rules; rules change neither
//!   the title nor the charset;
//! - rules never reveal dropped or hidden content: the letters of a text under any rules are
//!   among those of the whole page (`select: [":root"]`); a `select` that matches nothing (an
//!   invalid selector) and `remove: ["*"]` give an empty text;
//! - `normalize_text` of any string (the input, lossily decoded) has the same shape and is
//!   idempotent; `sniff_media_type` gives a lower-case essence.
#![no_main]

use std::collections::HashMap;

use encoding_rs::Encoding;
use exhibit_core::manifest::ExtractionRules;
use exhibit_text::{Extracted, extract, extract_with, normalize_text, sniff_media_type};
use libfuzzer_sys::fuzz_target;
use unicode_normalization::{UnicodeNormalization, is_nfc};

/// How the media type is chosen: given, or sniffed from the bytes (with this file name).
enum Media {
    Given(&'static str),
    Sniffed(Option<&'static str>),
}

const MEDIA: &[Media] = &[
    Media::Given("text/html"),
    Media::Given("application/xhtml+xml"),
    Media::Given("text/plain"),
    Media::Given("text/markdown"),
    Media::Given("Text/HTML; charset=utf-8"),
    Media::Given("application/json"),
    Media::Given("application/octet-stream"),
    Media::Given("text/"),
    Media::Sniffed(None),
    Media::Sniffed(Some("policy.html")),
    Media::Sniffed(Some("notes.txt")),
    Media::Sniffed(Some("README.md")),
];

/// Content-Type `charset` parameters: labels, a quoted one, unknown ones, and one that
/// resolves to the "replacement" encoding (ignored).
const CHARSETS: &[Option<&str>] = &[
    None,
    Some("utf-8"),
    Some("windows-1252"),
    Some("iso-8859-1"),
    Some("\"Shift_JIS\""),
    Some("utf-16le"),
    Some("UTF-16BE"),
    Some("x-user-defined"),
    Some("gb18030"),
    Some("iso-2022-kr"),
    Some("no-such-charset"),
    Some(" 'koi8-r' "),
];

/// Extraction rules as (select, remove). The last two must give an empty text: a selector
/// that does not parse matches nothing, and `*` removes everything.
const RULES: &[(&[&str], &[&str])] = &[
    (&[], &[]),
    (&["main"], &[]),
    (&["p", "li"], &[]),
    (&[], &["nav", "footer"]),
    (&["article"], &["aside"]),
    (&["body > footer", "h1 + p"], &["div"]),
    (&["[hidden]", "[aria-hidden=true]", "script", "head"], &[]),
    (&["table", "pre"], &[".sr-only"]),
    (&["[["], &[]),
    (&[], &["*"]),
];

/// How many of the last `RULES` give an empty text.
const EMPTY_RULES: usize = 2;

fn make_rules(select: &[&str], remove: &[&str]) -> ExtractionRules {
    ExtractionRules {
        select: select.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    }
}

/// Whether `extract` must give a text for this media type: HTML, XHTML and every other
/// `text/*` type (the essence before any parameters, case-insensitive).
fn has_text(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    let lower = essence.to_ascii_lowercase();
    lower == "text/html"
        || lower == "application/xhtml+xml"
        || (lower.starts_with("text/") && lower.len() > "text/".len())
}

fn is_html(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("text/html")
        || essence.eq_ignore_ascii_case("application/xhtml+xml")
}

/// The shape `normalize_text` promises.
fn assert_normalised(text: &str, what: &str) {
    if text.is_empty() {
        return;
    }
    assert!(text.ends_with('\n'), "{what}: no final newline: {text:?}");
    assert!(
        !text.ends_with("\n\n"),
        "{what}: trailing blank line: {text:?}"
    );
    assert!(
        !text.starts_with('\n'),
        "{what}: leading blank line: {text:?}"
    );
    assert!(!text.contains('\r'), "{what}: a CR: {text:?}");
    assert!(
        !text.contains("\n\n\n"),
        "{what}: two blank lines in a row: {text:?}"
    );
    for line in text[..text.len() - 1].split('\n') {
        assert!(
            !line.ends_with(char::is_whitespace),
            "{what}: trailing white space on {line:?}"
        );
    }
    assert!(is_nfc(text), "{what}: not NFC: {text:?}");
    assert_eq!(
        normalize_text(text),
        text,
        "{what}: normalize_text changes it"
    );
}

fn assert_title(title: &Option<String>) {
    if let Some(t) = title {
        assert!(!t.is_empty(), "an empty title is None");
        let collapsed = t.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(&collapsed, t, "title white space not collapsed");
        assert!(is_nfc(t), "title not NFC: {t:?}");
    }
}

/// The letters of a text, decomposed (so that a composition across what one rendering joins
/// and another separates does not count), with their numbers.
fn letters(text: &str) -> HashMap<char, usize> {
    let mut out = HashMap::new();
    for c in text.nfd().filter(|c| c.is_alphabetic()) {
        *out.entry(c).or_insert(0) += 1;
    }
    out
}

fn assert_letters_within(part: &Extracted, whole: &HashMap<char, usize>, what: &str) {
    for (c, n) in letters(&part.text) {
        let available = whole.get(&c).copied().unwrap_or(0);
        assert!(
            n <= available,
            "{what} reveals {c:?} ({n} times, {available} in the whole page): {:?}",
            part.text
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let [m, c, r, bytes @ ..] = data else {
        return;
    };
    let media_type = match &MEDIA[usize::from(*m) % MEDIA.len()] {
        Media::Given(t) => t.to_string(),
        Media::Sniffed(name) => {
            let sniffed = sniff_media_type(bytes, *name);
            assert!(
                !sniffed.is_empty() && sniffed.contains('/'),
                "sniffed {sniffed:?}"
            );
            assert!(!sniffed.contains(';'), "sniffed {sniffed:?} has parameters");
            assert_eq!(
                sniffed,
                sniffed.to_ascii_lowercase(),
                "sniffed type not lower-case"
            );
            assert_eq!(
                sniff_media_type(bytes, *name),
                sniffed,
                "sniffing is not deterministic"
            );
            sniffed
        }
    };
    let charset = CHARSETS[usize::from(*c) % CHARSETS.len()];
    let rules_index = usize::from(*r) % RULES.len();
    let (select, remove) = RULES[rules_index];
    let rules = make_rules(select, remove);

    // normalize_text on its own, on any string.
    let lossy = String::from_utf8_lossy(bytes);
    let normalised = normalize_text(&lossy);
    assert_normalised(&normalised, "normalize_text");

    let Some(plain) = extract(bytes, &media_type, charset) else {
        assert!(!has_text(&media_type), "no text for {media_type:?}");
        assert!(extract_with(bytes, &media_type, charset, &rules).is_none());
        return;
    };
    assert!(has_text(&media_type), "a text for {media_type:?}");
    let html = is_html(&media_type);

    // Deterministic, and `extract` is `extract_with` without rules (one check for both: an
    // HTML parse is most of the cost of an input).
    assert_eq!(
        extract_with(bytes, &media_type, charset, &ExtractionRules::default()).as_ref(),
        Some(&plain),
        "extracting again, through extract_with without rules, differs"
    );

    assert_normalised(&plain.text, "text");
    assert_title(&plain.title);
    if !html {
        assert_eq!(plain.title, None, "a title outside HTML");
    }

    // The charset.
    assert_ne!(
        plain.charset, "replacement",
        "decoded as the replacement encoding"
    );
    let declared = charset.and_then(|label| {
        let label = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        Encoding::for_label(label.as_bytes()).filter(|e| *e != encoding_rs::REPLACEMENT)
    });
    if let Some((bom, _)) = Encoding::for_bom(bytes) {
        assert_eq!(
            plain.charset,
            bom.name(),
            "the byte-order mark does not win"
        );
    } else if let Some(declared) = declared {
        assert_eq!(
            plain.charset,
            declared.name(),
            "the declared charset is not used"
        );
    } else if !html {
        let expected = if std::str::from_utf8(bytes).is_ok() {
            "UTF-8"
        } else {
            "windows-1252"
        };
        assert_eq!(plain.charset, expected, "undeclared plain text");
    } else {
        assert!(
            !matches!(plain.charset, "UTF-16LE" | "UTF-16BE" | "x-user-defined"),
            "an HTML declaration chose {}",
            plain.charset
        );
    }

    // Rules.
    let ruled = if rules.is_empty() {
        plain.clone()
    } else {
        extract_with(bytes, &media_type, charset, &rules).expect("a text with rules")
    };
    assert_normalised(&ruled.text, "text with rules");
    assert_eq!(ruled.title, plain.title, "rules changed the title");
    assert_eq!(ruled.charset, plain.charset, "rules changed the charset");
    if !html {
        assert_eq!(ruled, plain, "rules changed a plain text");
        return;
    }
    let whole = extract_with(bytes, &media_type, charset, &make_rules(&[":root"], &[]))
        .expect("a text for the whole page");
    assert_normalised(&whole.text, "the whole page");
    let whole_letters = letters(&whole.text);
    assert_letters_within(&plain, &whole_letters, "the default choice");
    assert_letters_within(
        &ruled,
        &whole_letters,
        &format!("rules {select:?} / {remove:?}"),
    );
    if rules_index >= RULES.len() - EMPTY_RULES {
        assert_eq!(ruled.text, "", "rules {select:?} / {remove:?} give a text");
    }
});
