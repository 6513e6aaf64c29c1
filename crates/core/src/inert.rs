//! Making strings from captures and bundles inert on a terminal.
//!
//! Titles, entities, URLs, headers, excerpts and file names come from the pages exhibit
//! captures and the bundles it reads: an adversary writes them. Printed raw, an escape sequence
//! could clear the screen, hide a `FAIL` line or move the cursor over the verdict, and a newline
//! could forge a line of the report. Every text report prints such strings through [`inert`]
//! (or [`Inert`] in a `format!`); JSON output is left as it is, since JSON escapes them itself.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` must not reach a terminal as itself: control characters (C0, DEL, C1),
/// bidirectional embeddings, overrides, isolates and marks (which reorder what a reader sees),
/// and the Unicode line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every [`is_unsafe`] character escaped as Rust escapes it (`\n`, `\u{1b}`,
/// `\u{202e}`); other text, a backslash included, is unchanged. Borrowed when nothing needed
/// escaping.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A multi-line text (a whole report, an extracted text) with every line made [`inert`]: its
/// line breaks (`\n`) are kept, every other [`is_unsafe`] character is escaped. Borrowed when
/// nothing needed escaping. A field that could itself hold a line break should still go
/// through [`inert`] before it is put into such a text, so that it cannot forge a line.
pub fn inert_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.split('\n').map(inert).collect::<Vec<_>>().join("\n"))
}

/// [`inert`] as a `Display` adapter: `format!("title: {}", Inert(&title))`.
#[derive(Clone, Copy, Debug)]
pub struct Inert<'a>(pub &'a str);

impl fmt::Display for Inert<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&inert(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::{Inert, inert, inert_text};

    #[test]
    fn control_characters_become_visible_and_the_rest_is_unchanged() {
        assert_eq!(
            inert("manifests/C/000/EX-C-000001.json"),
            "manifests/C/000/EX-C-000001.json"
        );
        assert_eq!(inert(".tmp-x\nFAIL a: b"), ".tmp-x\\nFAIL a: b");
        assert_eq!(
            inert("a\rb\u{1b}[2Kc\u{202e}d\u{9b}e\u{2028}"),
            "a\\rb\\u{1b}[2Kc\\u{202e}d\\u{9b}e\\u{2028}"
        );
        assert_eq!(inert("caf\u{e9} \\ x \u{4e2d}"), "caf\u{e9} \\ x \u{4e2d}");
        assert_eq!(format!("[{:<6}]", Inert("a\tb")), "[a\\tb  ]");
        assert_eq!(
            inert_text("FAIL x\n\u{1b}[1Ax\u{9b}2K\n"),
            "FAIL x\n\\u{1b}[1Ax\\u{9b}2K\n"
        );
        assert_eq!(inert_text("a\nb\n"), "a\nb\n");
    }
}
