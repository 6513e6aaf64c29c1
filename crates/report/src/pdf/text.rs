//! Setting text into lines: runs of styled spans word-wrapped at a width (body text, labels,
//! list items), and preformatted lines wrapped at the margin.

use crate::doc::{self, Mark, Span, Style};

use super::fonts::{FaceId, Fonts};
use super::ops::{Line, Op, Rgb};

/// Black body text.
pub(crate) const INK: Rgb = Rgb(0, 0, 0);
/// Secondary text: labels, captions, headers, footers, elided lines.
pub(crate) const GREY: Rgb = Rgb(95, 95, 95);

/// How [`wrap`] sets each [`Style`], and its line spacing.
pub(crate) struct Inline {
    /// The face and size of [`Style::Regular`].
    pub(crate) regular: (FaceId, f32),
    /// The face and size of [`Style::Bold`].
    pub(crate) bold: (FaceId, f32),
    /// The face and size of [`Style::Mono`].
    pub(crate) mono: (FaceId, f32),
    /// The text colour.
    pub(crate) color: Rgb,
    /// The distance between baselines.
    pub(crate) line_height: f32,
}

impl Inline {
    /// Body text: sans 10pt, monospace 8.5pt (64 characters are 327pt wide).
    pub(crate) const BODY: Inline = Inline {
        regular: (FaceId::Sans, 10.0),
        bold: (FaceId::Bold, 10.0),
        mono: (FaceId::Mono, 8.5),
        color: INK,
        line_height: 13.5,
    };

    /// A face and size per style, all in one colour.
    pub(crate) const fn uniform(face: FaceId, size: f32, color: Rgb, line_height: f32) -> Inline {
        Inline {
            regular: (face, size),
            bold: (face, size),
            mono: (face, size),
            color,
            line_height,
        }
    }

    fn of(&self, style: Style) -> (FaceId, f32) {
        match style {
            Style::Regular => self.regular,
            Style::Bold => self.bold,
            Style::Mono => self.mono,
        }
    }

    /// The baseline's distance from the top of a line.
    fn baseline(&self) -> f32 {
        let largest = self.regular.1.max(self.bold.1).max(self.mono.1);
        (self.line_height - largest) / 2.0 + largest * 0.8
    }
}

/// A word: the characters between two spaces, possibly in several styles.
struct Word {
    parts: Vec<(FaceId, f32, String)>,
    width: f32,
    /// The face and size of the space before it, if there was one.
    space: Option<(FaceId, f32)>,
}

enum Item {
    Word(Word),
    Break,
}

/// Whether `c` separates words (and may be replaced by a line break). No-break spaces do not.
fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || (c.is_whitespace() && !c.is_control() && !is_no_break(c))
}

fn is_no_break(c: char) -> bool {
    matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}')
}

/// `text` with its line breaks and tabs made spaces (for text set on one line: titles,
/// headings, page headers and footers).
pub(crate) fn flat(text: &str) -> String {
    text.chars()
        .map(|c| {
            if is_line_break(c) || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// The words and line breaks of `spans`; every character already shown as [`Face::show`]
/// says. Runs of spaces collapse to one.
///
/// [`Face::show`]: super::fonts::Face::show
fn items(fonts: &Fonts, spans: &[Span], style: &Inline) -> Vec<Item> {
    let mut out = Vec::new();
    let mut word: Option<Word> = None;
    let mut space = None;
    for span in spans {
        let (id, size) = style.of(span.style);
        let face = fonts.face(id);
        let mut chars = span.text.chars().peekable();
        while let Some(c) = chars.next() {
            if is_line_break(c) {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.extend(word.take().map(Item::Word));
                out.push(Item::Break);
                space = None;
            } else if is_space(c) {
                out.extend(word.take().map(Item::Word));
                space = Some((id, size));
            } else if let Some(c) = face.show(c) {
                let w = word.get_or_insert_with(|| Word {
                    parts: Vec::new(),
                    width: 0.0,
                    space: space.take(),
                });
                w.width += face.char_width(c) * size;
                match w.parts.last_mut() {
                    Some((f, s, text)) if *f == id && *s == size => text.push(c),
                    _ => w.parts.push((id, size, c.to_string())),
                }
            }
        }
    }
    out.extend(word.map(Item::Word));
    out
}

/// A line being filled: its runs (face, size, x, text) and the width used.
#[derive(Default)]
struct Filling {
    runs: Vec<(FaceId, f32, f32, String)>,
    x: f32,
}

impl Filling {
    fn push(&mut self, face: FaceId, size: f32, text: &str, width: f32) {
        match self.runs.last_mut() {
            Some((f, s, _, t)) if *f == face && *s == size => t.push_str(text),
            _ => self.runs.push((face, size, self.x, text.to_string())),
        }
        self.x += width;
    }
}

/// Sets `spans` in lines of at most `width` points starting at `x0`: breaks between words,
/// inside a word only when it is wider than a whole line (a monospace word of 64 characters
/// never is, in any column of the report). Hard line breaks in the text are kept.
pub(crate) fn wrap(
    fonts: &Fonts,
    spans: &[Span],
    style: &Inline,
    x0: f32,
    width: f32,
) -> Vec<Line> {
    const EPS: f32 = 0.01;
    let mut lines = Vec::new();
    let mut cur = Filling::default();
    let flush = |lines: &mut Vec<Line>, cur: &mut Filling| {
        lines.push(finish(std::mem::take(cur), style, x0));
    };
    let space_width = |(id, size): (FaceId, f32)| fonts.face(id).char_width(' ') * size;
    for item in items(fonts, spans, style) {
        let word = match item {
            Item::Break => {
                flush(&mut lines, &mut cur);
                continue;
            }
            Item::Word(word) => word,
        };
        let space = match word.space {
            Some(s) if cur.x > 0.0 => Some((s, space_width(s))),
            _ => None,
        };
        let space_w = space.map_or(0.0, |s| s.1);
        if cur.x + space_w + word.width <= width + EPS {
            if let Some(((id, size), w)) = space {
                cur.push(id, size, " ", w);
            }
        } else if word.width <= width + EPS {
            flush(&mut lines, &mut cur);
        } else {
            // Too wide for any line: fill this one and go on, unless little is left of it.
            if width - cur.x - space_w < (width * 0.25).min(60.0) {
                flush(&mut lines, &mut cur);
            } else if let Some(((id, size), w)) = space {
                cur.push(id, size, " ", w);
            }
            for (id, size, text) in &word.parts {
                let face = fonts.face(*id);
                for c in text.chars() {
                    let w = face.char_width(c) * size;
                    if cur.x + w > width + EPS && cur.x > 0.0 {
                        flush(&mut lines, &mut cur);
                    }
                    cur.push(*id, *size, c.encode_utf8(&mut [0; 4]), w);
                }
            }
            continue;
        }
        for (id, size, text) in &word.parts {
            let w = fonts.face(*id).width(text, *size);
            cur.push(*id, *size, text, w);
        }
    }
    if !cur.runs.is_empty() || lines.is_empty() {
        flush(&mut lines, &mut cur);
    }
    lines
}

fn finish(filling: Filling, style: &Inline, x0: f32) -> Line {
    let baseline = style.baseline();
    Line {
        height: style.line_height,
        ops: filling
            .runs
            .into_iter()
            .map(|(face, size, x, text)| Op::Text {
                x: x0 + x,
                y: baseline,
                face,
                size,
                color: style.color,
                text,
            })
            .collect(),
    }
}

/// The size of preformatted text.
pub(crate) const PRE_SIZE: f32 = 7.5;
const PRE_LINE: f32 = 9.4;
const TAB: usize = 8;

/// Sets preformatted `lines` at `x0`, each wrapped at `width` points: a comparison's added
/// lines with a leading `+ ` on light green, removed ones `- ` on light red, notes in grey
/// oblique; continuation lines indented two columns behind a thin grey bar.
pub(crate) fn preformatted(fonts: &Fonts, lines: &[doc::Line], x0: f32, width: f32) -> Vec<Line> {
    let diff = lines
        .iter()
        .any(|l| matches!(l.mark, Mark::Added | Mark::Removed));
    let mono = fonts.face(FaceId::Mono);
    let column = mono.char_width(' ') * PRE_SIZE;
    let mut out = Vec::new();
    for line in lines {
        let (prefix, id, color, background) = match line.mark {
            Mark::Added => ("+ ", FaceId::Mono, INK, Some(Rgb(220, 244, 220))),
            Mark::Removed => ("- ", FaceId::Mono, INK, Some(Rgb(250, 222, 222))),
            Mark::Elided => ("  ", FaceId::MonoOblique, GREY, None),
            Mark::Plain => ("  ", FaceId::Mono, INK, None),
        };
        let prefix = if diff { prefix } else { "" };
        let face = fonts.face(id);
        let text = line.text.strip_suffix('\r').unwrap_or(&line.text);
        for piece in text.split('\n') {
            let piece = piece.strip_suffix('\r').unwrap_or(piece);
            let mut cleaned = String::with_capacity(piece.len());
            let mut col = 0;
            for c in piece.chars() {
                if c == '\t' {
                    let n = TAB - col % TAB;
                    cleaned.extend(std::iter::repeat_n(' ', n));
                    col += n;
                } else if let Some(c) = face.show(c) {
                    cleaned.push(c);
                    col += 1;
                }
            }
            let first_x = x0 + column * prefix.chars().count() as f32;
            let rest_x = first_x + column * 2.0;
            let mut chunk = prefix.to_string();
            let mut used = 0.0;
            let mut start_x = x0;
            let mut avail = width - (first_x - x0);
            let mut first = true;
            for c in cleaned.chars() {
                let w = face.char_width(c) * PRE_SIZE;
                if used + w > avail + 0.01 && used > 0.0 {
                    out.push(pre_line(
                        std::mem::take(&mut chunk),
                        start_x,
                        id,
                        color,
                        background,
                        !first,
                        x0,
                        width,
                    ));
                    first = false;
                    start_x = rest_x;
                    avail = width - (rest_x - x0);
                    used = 0.0;
                }
                chunk.push(c);
                used += w;
            }
            out.push(pre_line(
                chunk, start_x, id, color, background, !first, x0, width,
            ));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn pre_line(
    text: String,
    x: f32,
    face: FaceId,
    color: Rgb,
    background: Option<Rgb>,
    continued: bool,
    x0: f32,
    width: f32,
) -> Line {
    let mut ops = Vec::with_capacity(3);
    if let Some(bg) = background {
        ops.push(Op::Rect {
            x: x0 - 2.0,
            y: 0.0,
            w: width + 4.0,
            h: PRE_LINE,
            color: bg,
        });
    }
    if continued {
        ops.push(Op::Rect {
            x: x - PRE_SIZE * 0.9,
            y: 1.0,
            w: 0.8,
            h: PRE_LINE - 2.0,
            color: Rgb(160, 160, 160),
        });
    }
    if !text.trim_end().is_empty() {
        ops.push(Op::Text {
            x,
            y: PRE_LINE * 0.76,
            face,
            size: PRE_SIZE,
            color,
            text,
        });
    }
    Line {
        height: PRE_LINE,
        ops,
    }
}
