//! Laying a document out on A4 pages: blocks become lines (with what may and may not be
//! separated), lines are placed on pages. The result is a list of drawing operations per
//! page; the page furniture (header, footer with the page count) is drawn later.

use crate::doc::{Block, Document, Span};

use super::fonts::{FaceId, Fonts};
use super::ops::{Line, Op, Rgb};
use super::text::{self, GREY, INK, Inline};

/// A4 width, in points.
pub(crate) const PAGE_W: f32 = 595.276;
/// A4 height, in points.
pub(crate) const PAGE_H: f32 = 841.89;
/// The left margin.
pub(crate) const LEFT: f32 = 54.0;
/// The width of the text column.
pub(crate) const TEXT_W: f32 = PAGE_W - 2.0 * LEFT;
/// Where content starts on every page.
const TOP: f32 = 58.0;
/// Where content ends on every page (the footer is below).
const BOTTOM: f32 = PAGE_H - 62.0;
/// The height available for content on a page.
const CONTENT_H: f32 = BOTTOM - TOP;
/// The width of the label column of fields.
const LABEL_W: f32 = 118.0;
/// Where the value column of fields starts, from the left margin.
const VALUE_X: f32 = 130.0;
/// The most pages one image may take; the rest is left out with a note.
const IMAGE_PAGES: usize = 6;

/// Whether lines of a unit may be placed on different pages.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// Break anywhere between lines.
    Breakable,
    /// All on one page, if they fit on one.
    Together,
    /// All on one page with the first two lines of what follows (a heading).
    WithNext,
}

/// What the pages are made of.
enum Element {
    Lines(Vec<Line>, Keep),
    /// Vertical space (dropped at the top of a page).
    Space(f32),
    /// A new page, unless the current one is empty.
    NewPage,
    /// A decoded image, `w × h` points on the page, `px` pixels high.
    Image {
        index: usize,
        w: f32,
        h: f32,
        px: u32,
    },
}

/// An image of the document: decoded (its index into the decoded images, its pixel size) or
/// why not.
pub(crate) type ImageSlot = Result<(usize, u32, u32), String>;

/// Lays out `doc` in pages of drawing operations. `images` holds, for each image block in
/// order, what `pdf.rs` made of it (its index among the decoded images, or why it is not shown).
pub(crate) fn layout(doc: &Document, fonts: &Fonts, images: &[ImageSlot]) -> Vec<Vec<Op>> {
    let elements = elements(doc, fonts, images);
    paginate(&elements, fonts)
}

fn spans(text: &str) -> Vec<Span> {
    vec![Span::regular(text)]
}

fn elements(doc: &Document, fonts: &Fonts, images: &[ImageSlot]) -> Vec<Element> {
    let mut out = Vec::new();
    let title = Inline::uniform(FaceId::Bold, 19.0, INK, 24.0);
    let mut lines = text::wrap(fonts, &spans(&text::flat(&doc.title)), &title, LEFT, TEXT_W);
    if let Some(last) = lines.last_mut() {
        last.height += 6.0;
        last.ops.push(rule(last.height - 1.0, TEXT_W, INK));
    }
    out.push(Element::Lines(lines, Keep::Together));
    out.push(Element::Space(12.0));
    let mut image_slots = images.iter();
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text } => {
                let (size, leading, before, after) = match level {
                    1 => (16.0, 21.0, 0.0, 8.0),
                    2 => (12.5, 16.5, 10.0, 4.0),
                    _ => (10.5, 14.0, 8.0, 3.0),
                };
                if *level == 1 {
                    out.push(Element::NewPage);
                }
                out.push(Element::Space(before));
                let style = Inline::uniform(FaceId::Bold, size, INK, leading);
                let text = text::flat(text);
                let mut lines = text::wrap(fonts, &spans(&text), &style, LEFT, TEXT_W);
                if *level == 1
                    && let Some(last) = lines.last_mut()
                {
                    last.height += 4.0;
                    last.ops.push(rule(last.height - 1.0, TEXT_W, GREY));
                }
                out.push(Element::Lines(lines, Keep::WithNext));
                out.push(Element::Space(after));
            }
            Block::Paragraph(spans) => {
                let lines = text::wrap(fonts, spans, &Inline::BODY, LEFT, TEXT_W);
                out.push(Element::Lines(lines, Keep::Breakable));
                out.push(Element::Space(6.0));
            }
            Block::Fields(fields) => {
                let label = Inline::uniform(FaceId::Bold, 9.0, GREY, 13.5);
                for field in fields {
                    let labels = text::wrap(fonts, &spans(&field.label), &label, LEFT, LABEL_W);
                    let values = text::wrap(
                        fonts,
                        &field.value,
                        &Inline::BODY,
                        LEFT + VALUE_X,
                        TEXT_W - VALUE_X,
                    );
                    let n = labels.len().max(values.len());
                    let mut labels = labels.into_iter();
                    let mut values = values.into_iter();
                    let rows = (0..n)
                        .map(|_| {
                            let mut ops = Vec::new();
                            ops.extend(labels.next().into_iter().flat_map(|l| l.ops));
                            ops.extend(values.next().into_iter().flat_map(|l| l.ops));
                            Line { height: 13.5, ops }
                        })
                        .collect();
                    out.push(Element::Lines(rows, Keep::Together));
                    out.push(Element::Space(2.5));
                }
                out.push(Element::Space(5.0));
            }
            Block::List(items) => {
                let indent = 14.0;
                for item in items {
                    let mut lines =
                        text::wrap(fonts, item, &Inline::BODY, LEFT + indent, TEXT_W - indent);
                    if let Some(first) = lines.first_mut() {
                        first.ops.insert(0, bullet(first.ops.first()));
                    }
                    out.push(Element::Lines(lines, Keep::Breakable));
                    out.push(Element::Space(2.0));
                }
                out.push(Element::Space(5.0));
            }
            Block::Preformatted(lines) => {
                if !lines.is_empty() {
                    let lines = text::preformatted(fonts, lines, LEFT, TEXT_W);
                    out.push(Element::Lines(lines, Keep::Breakable));
                }
                out.push(Element::Space(8.0));
            }
            Block::Image { caption, .. } => {
                match image_slots.next() {
                    Some(Ok((index, w, h))) => {
                        let scale = (TEXT_W / *w as f32).min(1.0);
                        out.push(Element::Image {
                            index: *index,
                            w: *w as f32 * scale,
                            h: *h as f32 * scale,
                            px: *h,
                        });
                    }
                    Some(Err(why)) => {
                        let note = format!("(image could not be decoded: {why})");
                        let lines = text::wrap(fonts, &spans(&note), &Inline::BODY, LEFT, TEXT_W);
                        out.push(Element::Lines(lines, Keep::Together));
                    }
                    None => {}
                }
                let style = Inline::uniform(FaceId::Sans, 8.5, GREY, 11.5);
                let lines = text::wrap(fonts, &spans(caption), &style, LEFT, TEXT_W);
                out.push(Element::Space(3.0));
                out.push(Element::Lines(lines, Keep::Together));
                out.push(Element::Space(10.0));
            }
            Block::Blank(label) => {
                let mut lines = text::wrap(fonts, &spans(label), &Inline::BODY, LEFT, TEXT_W);
                lines.push(Line {
                    height: 34.0,
                    ops: vec![rule(33.0, TEXT_W * 0.6, INK)],
                });
                out.push(Element::Lines(lines, Keep::Together));
                out.push(Element::Space(14.0));
            }
        }
    }
    out
}

/// A hairline rectangle around `x, y, w, h` (four thin filled rectangles).
fn frame(x: f32, y: f32, w: f32, h: f32) -> [Op; 4] {
    const T: f32 = 0.5;
    const C: Rgb = Rgb(150, 150, 150);
    let side = |x, y, w, h| Op::Rect {
        x,
        y,
        w,
        h,
        color: C,
    };
    [
        side(x, y, w, T),
        side(x, y + h - T, w, T),
        side(x, y, T, h),
        side(x + w - T, y, T, h),
    ]
}

/// A horizontal rule `w` wide at `y`.
fn rule(y: f32, w: f32, color: Rgb) -> Op {
    Op::Rect {
        x: LEFT,
        y,
        w,
        h: 0.6,
        color,
    }
}

/// The bullet of a list item whose first line starts with `first`.
fn bullet(first: Option<&Op>) -> Op {
    let y = match first {
        Some(Op::Text { y, .. }) => *y,
        _ => 10.0,
    };
    Op::Text {
        x: LEFT + 3.0,
        y,
        face: FaceId::Sans,
        size: 10.0,
        color: INK,
        text: "\u{2022}".to_string(),
    }
}

/// Places elements on pages.
struct Pager {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pager {
    fn empty(&self) -> bool {
        self.y <= TOP
    }

    fn remaining(&self) -> f32 {
        BOTTOM - self.y
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Places `line`, on a new page if it does not fit on this one.
    fn place(&mut self, line: &Line) {
        if line.height > self.remaining() + 0.01 && !self.empty() {
            self.new_page();
        }
        let y = self.y;
        let page = self.page();
        page.extend(line.ops.iter().map(|op| op.clone().shift(y)));
        self.y += line.height;
    }
}

/// How much of `element` must share a page with a heading before it.
fn lead(element: Option<&Element>) -> f32 {
    match element {
        Some(Element::Lines(lines, _)) => lines.iter().take(2).map(|l| l.height).sum(),
        Some(Element::Image { h, .. }) => h.min(120.0),
        _ => 0.0,
    }
}

fn paginate(elements: &[Element], fonts: &Fonts) -> Vec<Vec<Op>> {
    let mut pager = Pager {
        pages: vec![Vec::new()],
        y: TOP,
    };
    for (i, element) in elements.iter().enumerate() {
        match element {
            Element::Space(h) => {
                if !pager.empty() {
                    pager.y += h;
                }
            }
            Element::NewPage => {
                if !pager.empty() {
                    pager.new_page();
                }
            }
            Element::Lines(lines, keep) => {
                let mut need: f32 = lines.iter().map(|l| l.height).sum();
                if *keep == Keep::WithNext {
                    let next = elements[i + 1..]
                        .iter()
                        .find(|e| !matches!(e, Element::Space(_)));
                    need += lead(next) + 10.0;
                }
                if *keep != Keep::Breakable
                    && need > pager.remaining()
                    && need <= CONTENT_H
                    && !pager.empty()
                {
                    pager.new_page();
                }
                for line in lines {
                    pager.place(line);
                }
            }
            Element::Image { index, w, h, px } => image(&mut pager, fonts, *index, *w, *h, *px),
        }
    }
    pager.pages
}

/// Places an image: whole if it fits on this page or the next, else in slices, one per page,
/// for at most [`IMAGE_PAGES`] pages.
fn image(pager: &mut Pager, fonts: &Fonts, index: usize, w: f32, h: f32, px: u32) {
    if h > pager.remaining() && !pager.empty() && (h <= CONTENT_H || pager.remaining() < 150.0) {
        pager.new_page();
    }
    let mut shown = 0.0;
    for n in 1..=IMAGE_PAGES {
        let slice = (h - shown).min(pager.remaining());
        let y = pager.y;
        pager.page().push(Op::Image {
            index,
            x: LEFT,
            y: y - shown,
            w,
            h,
            clip: [LEFT, y, w, slice],
        });
        // A hairline frame, so that a white page reads as a picture and not as the report's
        // own white space.
        pager.page().extend(frame(LEFT, y, w, slice));
        shown += slice;
        pager.y += slice;
        if shown >= h - 0.01 {
            return;
        }
        if n < IMAGE_PAGES {
            pager.new_page();
        }
    }
    let shown_px = ((shown / h) * px as f32).round() as u64;
    let note = format!(
        "(The image continues beyond what is shown here: the first {shown_px} of its {px} \
         pixel rows are shown; the whole image is embedded in this file and kept in the bundle.)"
    );
    let style = Inline::uniform(FaceId::Sans, 8.5, GREY, 11.5);
    pager.y += 3.0;
    for line in text::wrap(fonts, &spans(&note), &style, LEFT, TEXT_W) {
        pager.place(&line);
    }
}
