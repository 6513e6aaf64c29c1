//! Typesetting a [`crate::doc::Document`] as PDF: A4, DejaVu fonts embedded (subset), the
//! document's attachment embedded as a file, and nothing that depends on when or where it is
//! made: the same document gives the same bytes.
//!
//! The text is set here (`pdf/text.rs`: one glyph per character, left to right, no shaping)
//! and laid out on pages (`pdf/layout.rs`); krilla writes the file. Characters the fonts lack,
//! control characters and invisible formatting characters are drawn as U+FFFD
//! (`pdf/fonts.rs`), so every string in the file maps back to the text it shows.

mod fonts;
mod layout;
mod ops;
#[cfg(test)]
mod tests;
mod text;

use krilla::color::rgb;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::{Document as Pdf, SerializeSettings};

use crate::doc::{Block, Document};
use fonts::{FaceId, Fonts};
use layout::{ImageSlot, LEFT, PAGE_H, PAGE_W, TEXT_W};
use ops::{Op, Rgb};
use text::GREY;

/// Why a PDF could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// A built-in font could not be read (the `dejavu` crate's file is damaged).
    #[error("the built-in font {0} could not be read")]
    Font(String),
    /// The PDF writer failed.
    #[error("the PDF writer failed: {0}")]
    Writer(String),
}

/// The most pixels an image may have (a 1280 × 31250 screenshot); larger ones are not
/// decoded (that would take gigabytes) and the report says so instead.
const MAX_PIXELS: u64 = crate::doc::MAX_IMAGE_PIXELS;

/// Typesets `doc` as a PDF: A4, fonts embedded, byte-identical for the same document.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::load()?;
    let mut decoded = Vec::new();
    let slots: Vec<ImageSlot> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Image { png, .. } => Some(png),
            _ => None,
        })
        .map(|png| {
            let image = decode(png)?;
            let (w, h) = image.size();
            decoded.push(image);
            Ok((decoded.len() - 1, w, h))
        })
        .collect();
    let pages = layout::layout(doc, &fonts, &slots);

    let settings = SerializeSettings {
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut pdf = Pdf::new_with(settings);
    let date = date_time(doc.generated_unix);
    pdf.set_metadata(
        Metadata::new()
            .title(one_line(&doc.title))
            .creator("exhibit".to_string())
            .document_id(doc.report_id.clone())
            .creation_date(date),
    );
    let attachment = &doc.attachment;
    let name = match one_line(&attachment.name) {
        name if name.is_empty() => "attachment".to_string(),
        name => name,
    };
    // krilla refuses only a second file of the same name; this is the only one.
    let _ = pdf.embed_file(EmbeddedFile {
        path: name,
        mime_type: MimeType::new(&attachment.media_type),
        description: Some(one_line(&attachment.description)),
        association_kind: AssociationKind::Data,
        data: attachment.bytes.clone().into(),
        modification_date: Some(date),
        compress: Some(true),
        location: None,
    });

    let total = pages.len();
    for (i, ops) in pages.into_iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| PdfError::Writer("invalid page size".to_string()))?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        let mut painter = Painter {
            surface: &mut surface,
            fonts: &fonts,
            images: &decoded,
        };
        for op in furniture(doc, &fonts, i + 1, total) {
            painter.draw(op);
        }
        for op in ops {
            painter.draw(op);
        }
        surface.finish();
        page.finish();
    }
    pdf.finish()
        .map_err(|e| PdfError::Writer(one_line(&format!("{e:?}"))))
}

/// `text` on one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Decodes a PNG, or says why it cannot be shown.
fn decode(png: &[u8]) -> Result<Image, String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.get(..8) != Some(SIGNATURE) || png.get(12..16) != Some(b"IHDR") {
        return Err("not a PNG file".to_string());
    }
    let be32 = |at: usize| {
        png.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0)
    };
    let (w, h) = (be32(16), be32(20));
    if w == 0 || h == 0 {
        return Err("the image has no pixels".to_string());
    }
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!(
            "{w} × {h} pixels is more than the report shows ({MAX_PIXELS} pixels at most)"
        ));
    }
    // krilla decodes as it reads (without its `rayon` feature), but keeps a decoding error to
    // report when the whole document is written: a one-image document finds it now.
    let image = Image::from_png(png.to_vec().into(), false).map_err(|e| one_line(&e))?;
    let mut probe = Pdf::new();
    let mut page = probe.start_page();
    let mut surface = page.surface();
    if let Some(size) = Size::from_wh(1.0, 1.0) {
        surface.draw_image(image.clone(), size);
    }
    surface.finish();
    page.finish();
    match probe.finish() {
        Ok(_) => Ok(image),
        Err(krilla::error::KrillaError::Image(_, _, why)) => Err(one_line(&why)),
        Err(e) => Err(one_line(&format!("{e:?}"))),
    }
}

/// The creation date: `unix` seconds in UTC, as a calendar date (years 0 to 9999).
fn date_time(unix: i64) -> DateTime {
    // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    let secs = unix.clamp(-62_167_219_200, 253_402_300_799);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let small = |v: i64| u8::try_from(v).unwrap_or(0);
    DateTime::new(u16::try_from(year).unwrap_or(0))
        .month(small(month))
        .day(small(day))
        .hour(small(rem / 3600))
        .minute(small(rem % 3600 / 60))
        .second(small(rem % 60))
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// The header (title, from the second page on) and footer (report id, page number) of page
/// `n` of `total`.
fn furniture(doc: &Document, fonts: &Fonts, n: usize, total: usize) -> Vec<Op> {
    let sans = fonts.face(FaceId::Sans);
    let size = 8.0;
    let text = |x: f32, y: f32, text: String| Op::Text {
        x,
        y,
        face: FaceId::Sans,
        size,
        color: GREY,
        text,
    };
    let rule = |y: f32| Op::Rect {
        x: LEFT,
        y,
        w: TEXT_W,
        h: 0.4,
        color: Rgb(170, 170, 170),
    };
    let mut ops = Vec::new();
    if n > 1 {
        let title = fit(fonts, &text::flat(&doc.title), TEXT_W, size);
        ops.push(text(LEFT, 36.0, title));
        ops.push(rule(41.0));
    }
    let number = format!("Page {n} of {total}");
    let number_w = sans.width(&number, size);
    let footer_y = PAGE_H - 34.0;
    ops.push(rule(footer_y - 11.0));
    let id = fit(
        fonts,
        &text::flat(&doc.report_id),
        TEXT_W - number_w - 20.0,
        size,
    );
    ops.push(text(LEFT, footer_y, id));
    ops.push(text(LEFT + TEXT_W - number_w, footer_y, number));
    ops
}

/// `text` (cleaned for Sans) cut with an ellipsis to fit `width` at `size`.
fn fit(fonts: &Fonts, text: &str, width: f32, size: f32) -> String {
    let sans = fonts.face(FaceId::Sans);
    let text = sans.clean(text);
    if sans.width(&text, size) <= width {
        return text;
    }
    let room = width - sans.width("\u{2026}", size);
    let mut out = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        used += sans.char_width(c) * size;
        if used > room {
            break;
        }
        out.push(c);
    }
    out.push('\u{2026}');
    out
}

/// Draws operations on a page.
struct Painter<'a, 'b, 'c> {
    surface: &'a mut Surface<'b>,
    fonts: &'c Fonts,
    images: &'c [Image],
}

impl Painter<'_, '_, '_> {
    fn fill(&mut self, color: Rgb) {
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(color.0, color.1, color.2).into(),
            opacity: NormalizedF32::ONE,
            rule: FillRule::NonZero,
        }));
    }

    fn draw(&mut self, op: Op) {
        match op {
            Op::Text {
                x,
                y,
                face,
                size,
                color,
                text,
            } => {
                let face = self.fonts.face(face);
                let glyphs = face.glyphs(&text);
                self.fill(color);
                self.surface.draw_glyphs(
                    Point::from_xy(x, y),
                    &glyphs,
                    face.font.clone(),
                    &text,
                    size,
                    false,
                );
            }
            Op::Rect { x, y, w, h, color } => {
                if let Some(path) = rect(x, y, w, h) {
                    self.fill(color);
                    self.surface.draw_path(&path);
                }
            }
            Op::Image {
                index,
                x,
                y,
                w,
                h,
                clip,
            } => {
                let (Some(image), Some(clip), Some(size)) = (
                    self.images.get(index),
                    rect(clip[0], clip[1], clip[2], clip[3]),
                    Size::from_wh(w, h),
                ) else {
                    return;
                };
                self.surface.push_clip_path(&clip, &FillRule::NonZero);
                self.surface
                    .push_transform(&Transform::from_translate(x, y));
                self.surface.draw_image(image.clone(), size);
                self.surface.pop();
                self.surface.pop();
            }
        }
    }
}

/// A rectangle path, if it has an area.
fn rect(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}
