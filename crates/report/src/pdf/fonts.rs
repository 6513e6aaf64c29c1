//! The report's four typefaces (DejaVu Sans, Sans Bold, Sans Mono, Sans Mono Oblique): which
//! characters each can show, and how wide they are.
//!
//! The report draws glyphs itself (no shaping: left-to-right, one glyph per character), so it
//! reads the two tables it needs straight from the TrueType files: `cmap` (format 12, or 4) for
//! character → glyph, `hmtx` for advances. Every character is put through [`Face::show`] before
//! it is measured or drawn, which replaces what must not or cannot reach the page.

use krilla::text::{Font, GlyphId, KrillaGlyph};

use super::PdfError;

/// One of the report's typefaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaceId {
    /// DejaVu Sans: body text.
    Sans,
    /// DejaVu Sans Bold: headings, labels, emphasis.
    Bold,
    /// DejaVu Sans Mono: identifiers, preformatted text.
    Mono,
    /// DejaVu Sans Mono Oblique: the notes between runs of a comparison.
    MonoOblique,
}

/// A typeface: the embedded font and the tables read from it.
pub(crate) struct Face {
    /// The font krilla embeds (and subsets).
    pub(crate) font: Font,
    /// cmap groups: (first char, last char, first glyph), sorted, non-overlapping.
    groups: Vec<(u32, u32, u32)>,
    /// Advance widths in font units, by glyph id (the last repeats for higher ids).
    advances: Vec<u16>,
    /// Font units per em.
    units_per_em: f32,
    /// What replaces a character this face cannot show: U+FFFD, else '?'.
    replacement: char,
}

/// The four faces, loaded once per rendering.
pub(crate) struct Fonts {
    sans: Face,
    bold: Face,
    mono: Face,
    mono_oblique: Face,
}

impl Fonts {
    /// Loads the DejaVu faces.
    pub(crate) fn load() -> Result<Fonts, PdfError> {
        Ok(Fonts {
            sans: Face::parse("DejaVu Sans", dejavu::sans::regular())?,
            bold: Face::parse("DejaVu Sans Bold", dejavu::sans::bold())?,
            mono: Face::parse("DejaVu Sans Mono", dejavu::sans_mono::regular())?,
            mono_oblique: Face::parse("DejaVu Sans Mono Oblique", dejavu::sans_mono::oblique())?,
        })
    }

    /// The face `id`.
    pub(crate) fn face(&self, id: FaceId) -> &Face {
        match id {
            FaceId::Sans => &self.sans,
            FaceId::Bold => &self.bold,
            FaceId::Mono => &self.mono,
            FaceId::MonoOblique => &self.mono_oblique,
        }
    }
}

/// Whether `c` is an invisible formatting character that could hide or reorder text: bidi
/// overrides and isolates, zero-width characters, the byte order mark, interlinear annotation,
/// tag characters. The report shows these as U+FFFD rather than let them act unseen.
fn is_hidden_format(c: char) -> bool {
    matches!(c as u32,
        0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0000..=0xE007F)
}

/// Whether `c` is a variation selector: a presentation hint with no glyph, dropped.
pub(crate) fn is_variation_selector(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

impl Face {
    /// Reads the tables of the TrueType font `data`.
    fn parse(name: &str, data: &'static [u8]) -> Result<Face, PdfError> {
        let bad = || PdfError::Font(name.to_string());
        let font = Font::new(data.into(), 0).ok_or_else(bad)?;
        let tables = Tables::new(data).ok_or_else(bad)?;
        let head = tables.get(b"head").ok_or_else(bad)?;
        let units_per_em = f32::from(be16(head, 18).ok_or_else(bad)?);
        let hhea = tables.get(b"hhea").ok_or_else(bad)?;
        let metrics = usize::from(be16(hhea, 34).ok_or_else(bad)?);
        let hmtx = tables.get(b"hmtx").ok_or_else(bad)?;
        let advances = (0..metrics)
            .map(|i| be16(hmtx, i * 4))
            .collect::<Option<Vec<u16>>>()
            .ok_or_else(bad)?;
        let groups = read_cmap(tables.get(b"cmap").ok_or_else(bad)?).ok_or_else(bad)?;
        if units_per_em <= 0.0 || advances.is_empty() || groups.is_empty() {
            return Err(bad());
        }
        let mut face = Face {
            font,
            groups,
            advances,
            units_per_em,
            replacement: '?',
        };
        if face.glyph('\u{FFFD}').is_some() {
            face.replacement = '\u{FFFD}';
        } else if face.glyph('?').is_none() {
            return Err(bad());
        }
        Ok(face)
    }

    /// The glyph for `c`, if the font has one.
    fn glyph(&self, c: char) -> Option<u32> {
        let c = c as u32;
        let i = self.groups.partition_point(|g| g.1 < c);
        let &(first, _, glyph) = self.groups.get(i)?;
        if c < first {
            return None;
        }
        let gid = glyph.checked_add(c - first)?;
        (gid != 0).then_some(gid)
    }

    /// The advance of glyph `gid`, in em.
    fn advance(&self, gid: u32) -> f32 {
        let units = usize::try_from(gid)
            .ok()
            .and_then(|i| self.advances.get(i))
            .or(self.advances.last())
            .copied()
            .unwrap_or(0);
        f32::from(units) / self.units_per_em
    }

    /// What is drawn for `c`: `c` itself when the face has a glyph for it and it is safe to
    /// show; U+FFFD (or '?') for control and hidden formatting characters and for characters
    /// the face lacks; `None` for what is dropped (variation selectors). Tabs and line breaks
    /// are the caller's business (they become U+FFFD here).
    pub(crate) fn show(&self, c: char) -> Option<char> {
        if is_variation_selector(c) {
            return None;
        }
        if c.is_control() || is_hidden_format(c) || self.glyph(c).is_none() {
            return Some(self.replacement);
        }
        Some(c)
    }

    /// Passes every character of `text` through [`Face::show`].
    pub(crate) fn clean(&self, text: &str) -> String {
        text.chars().filter_map(|c| self.show(c)).collect()
    }

    /// The advance of `c` (already passed through [`Face::show`]), in em.
    pub(crate) fn char_width(&self, c: char) -> f32 {
        self.glyph(c).map(|g| self.advance(g)).unwrap_or(0.0)
    }

    /// The width of `text` (already cleaned) at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c)).sum::<f32>() * size
    }

    /// The glyphs that draw `text` (already cleaned), one per character, with their place in
    /// `text` (for the PDF's text extraction map).
    pub(crate) fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, c)| {
                let gid = self.glyph(c).unwrap_or(0);
                KrillaGlyph {
                    glyph_id: GlyphId::new(gid),
                    text_range: i..i + c.len_utf8(),
                    x_advance: self.advance(gid),
                    x_offset: 0.0,
                    y_offset: 0.0,
                    y_advance: 0.0,
                    location: None,
                }
            })
            .collect()
    }
}

/// The table directory of a TrueType font.
struct Tables<'a> {
    data: &'a [u8],
    count: usize,
}

impl<'a> Tables<'a> {
    fn new(data: &'a [u8]) -> Option<Tables<'a>> {
        let count = usize::from(be16(data, 4)?);
        Some(Tables { data, count })
    }

    /// The bytes of table `tag`.
    fn get(&self, tag: &[u8; 4]) -> Option<&'a [u8]> {
        (0..self.count).find_map(|i| {
            let record = self.data.get(12 + i * 16..28 + i * 16)?;
            if record.get(..4)? != tag {
                return None;
            }
            let offset = usize::try_from(be32(record, 8)?).ok()?;
            let length = usize::try_from(be32(record, 12)?).ok()?;
            self.data.get(offset..offset.checked_add(length)?)
        })
    }
}

/// The character → glyph groups of a `cmap` table: its Unicode full-repertoire subtable
/// (format 12) if it has one, else its BMP subtable (format 4).
fn read_cmap(cmap: &[u8]) -> Option<Vec<(u32, u32, u32)>> {
    let count = usize::from(be16(cmap, 2)?);
    let subtables: Vec<(u16, u16, &[u8])> = (0..count)
        .filter_map(|i| {
            let platform = be16(cmap, 4 + i * 8)?;
            let encoding = be16(cmap, 6 + i * 8)?;
            let offset = usize::try_from(be32(cmap, 8 + i * 8)?).ok()?;
            Some((platform, encoding, cmap.get(offset..)?))
        })
        .collect();
    let find = |format: u16| {
        subtables
            .iter()
            .find(|(p, e, t)| (*p == 3 || *p == 0) && *e != 14 && be16(t, 0) == Some(format))
            .map(|s| s.2)
    };
    let mut groups = if let Some(t) = find(12) {
        let n = usize::try_from(be32(t, 12)?).ok()?;
        (0..n)
            .map(|i| {
                Some((
                    be32(t, 16 + i * 12)?,
                    be32(t, 20 + i * 12)?,
                    be32(t, 24 + i * 12)?,
                ))
            })
            .collect::<Option<Vec<_>>>()?
    } else {
        format4(find(4)?)?
    };
    groups.retain(|g| g.0 <= g.1);
    groups.sort_unstable();
    Some(groups)
}

/// The groups of a format 4 subtable, one per character where `idRangeOffset` is used.
fn format4(t: &[u8]) -> Option<Vec<(u32, u32, u32)>> {
    let segs = usize::from(be16(t, 6)? / 2);
    let ends = 14;
    let starts = ends + segs * 2 + 2;
    let deltas = starts + segs * 2;
    let ranges = deltas + segs * 2;
    let mut groups = Vec::new();
    for i in 0..segs {
        let end = be16(t, ends + i * 2)?;
        let start = be16(t, starts + i * 2)?;
        let delta = be16(t, deltas + i * 2)?;
        let range = usize::from(be16(t, ranges + i * 2)?);
        for c in start..=end.min(0xFFFE) {
            let gid = if range == 0 {
                c.wrapping_add(delta)
            } else {
                let at = ranges + i * 2 + range + usize::from(c - start) * 2;
                match be16(t, at)? {
                    0 => 0,
                    g => g.wrapping_add(delta),
                }
            };
            if gid != 0 {
                groups.push((u32::from(c), u32::from(c), u32::from(gid)));
            }
        }
    }
    Some(groups)
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(b.try_into().ok()?))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}
