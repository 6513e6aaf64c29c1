//! The report as a sequence of typeset-neutral blocks: what both renderers (`html`, `pdf`) read,
//! so that the two files say the same things in the same order. Built by `compose` from the
//! facts; nothing here knows about records or bags.
//!
//! Every string is plain text as it should be read (no markup, no escapes): each renderer
//! escapes for its medium.

/// The most pixels of an [`Block::Image`]: a renderer refuses a larger image (with a note in
/// its place), so that a small file claiming huge dimensions cannot exhaust memory.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// A whole report, ready to typeset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The title: set above the cover by both renderers, and in the PDF's metadata.
    pub title: String,
    /// The report id, printed in every page's footer.
    pub report_id: String,
    /// When the report was generated (Unix seconds, UTC): the PDF's creation date.
    pub generated_unix: i64,
    /// The machine-readable facts, carried inside the file (PDF attachment, HTML data block).
    pub attachment: Attachment,
    /// The content, in reading order.
    pub blocks: Vec<Block>,
}

/// A file carried inside the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Its file name (`exhibit-report.json`).
    pub name: String,
    /// Its media type (`application/json`).
    pub media_type: String,
    /// A one-line description.
    pub description: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A run of text in one style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The text (may hold spaces; line breaks are the renderer's business).
    pub text: String,
    /// How it is set.
    pub style: Style,
}

/// How a [`Span`] is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Body text (sans serif).
    Regular,
    /// Emphasis (sans serif bold).
    Bold,
    /// Identifiers, hashes, URLs, commands (monospace). A renderer keeps a monospace word of up
    /// to 64 characters on one line (a whole SHA-256 in hex always fits, so `pdftotext` finds
    /// it whole) and breaks longer ones (URLs) anywhere.
    Mono,
}

/// One line of preformatted text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The text, without its line break.
    pub text: String,
    /// Its mark in a comparison.
    pub mark: Mark,
}

/// A preformatted line's place in a comparison of two texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Not part of a comparison, or the same in both.
    Plain,
    /// Only in the newer text (shown with a leading `+`).
    Added,
    /// Only in the older text (shown with a leading `-`).
    Removed,
    /// A note between runs of a comparison (`… 40 unchanged lines …`), set in italics or grey.
    Elided,
}

/// A label and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The label ("SHA-256").
    pub label: String,
    /// The value.
    pub value: Vec<Span>,
}

/// A unit of content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A section heading: level 1 starts a new page in print; level 2 and 3 are subsections.
    Heading {
        /// 1, 2 or 3.
        level: u8,
        /// The heading text.
        text: String,
    },
    /// A paragraph of wrapped text.
    Paragraph(Vec<Span>),
    /// Label/value rows, labels in a narrow first column.
    Fields(Vec<Field>),
    /// A bulleted list, each item a paragraph.
    List(Vec<Vec<Span>>),
    /// Preformatted monospace lines, each wrapped at the right margin if too long.
    Preformatted(Vec<Line>),
    /// A PNG image, scaled to the text width (continued on further pages when taller than one).
    Image {
        /// The PNG bytes.
        png: Vec<u8>,
        /// Its width in pixels.
        width: u32,
        /// Its height in pixels.
        height: u32,
        /// What it shows (the HTML `alt` text; the caption under it).
        caption: String,
    },
    /// A blank to fill in by hand: the label, then a line to write on.
    Blank(String),
}

impl Span {
    /// Body text.
    pub fn regular(text: impl Into<String>) -> Span {
        Span {
            text: text.into(),
            style: Style::Regular,
        }
    }

    /// Bold text.
    pub fn bold(text: impl Into<String>) -> Span {
        Span {
            text: text.into(),
            style: Style::Bold,
        }
    }

    /// Monospace text.
    pub fn mono(text: impl Into<String>) -> Span {
        Span {
            text: text.into(),
            style: Style::Mono,
        }
    }
}

impl Field {
    /// A field whose value is body text.
    pub fn text(label: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            label: label.into(),
            value: vec![Span::regular(value)],
        }
    }

    /// A field whose value is monospace (a hash, an id, a URL).
    pub fn mono(label: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            label: label.into(),
            value: vec![Span::mono(value)],
        }
    }
}

impl Document {
    /// Makes every string of the document inert ([`exhibit_core::inert`]): control characters,
    /// bidirectional overrides and line separators, which a capture may hold to reorder or
    /// forge what a reader sees, are written as visible escapes (`\u{202e}`). Both renderers
    /// set what this leaves.
    pub fn make_inert(&mut self) {
        fn fix(s: &mut String) {
            if let std::borrow::Cow::Owned(o) = exhibit_core::inert(s) {
                *s = o;
            }
        }
        fix(&mut self.title);
        fix(&mut self.report_id);
        for block in &mut self.blocks {
            match block {
                Block::Heading { text, .. } | Block::Blank(text) => fix(text),
                Block::Paragraph(spans) => spans.iter_mut().for_each(|s| fix(&mut s.text)),
                Block::Fields(fields) => {
                    for f in fields {
                        fix(&mut f.label);
                        f.value.iter_mut().for_each(|s| fix(&mut s.text));
                    }
                }
                Block::List(items) => items.iter_mut().flatten().for_each(|s| fix(&mut s.text)),
                Block::Preformatted(lines) => lines.iter_mut().for_each(|l| fix(&mut l.text)),
                Block::Image { caption, .. } => fix(caption),
            }
        }
    }
}
