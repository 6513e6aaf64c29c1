//! What a laid-out page is made of: drawing operations (text, rectangles, image slices) at
//! positions, and lines of them. Made by `layout` and `text`, drawn by `pdf.rs`.

use super::fonts::FaceId;

/// A colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rgb(pub(crate) u8, pub(crate) u8, pub(crate) u8);

/// One drawing operation; `y` is measured down from the top (of a line while laying out, of
/// the page once placed).
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Text (already cleaned) on a baseline at `y`.
    Text {
        x: f32,
        y: f32,
        face: FaceId,
        size: f32,
        color: Rgb,
        text: String,
    },
    /// A filled rectangle.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    /// Image `index` (into the document's decoded images) drawn at `x, y` in `w × h`, showing
    /// only what falls inside `clip` (x, y, w, h).
    Image {
        index: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        clip: [f32; 4],
    },
}

impl Op {
    /// The operation moved down by `dy`.
    pub(super) fn shift(mut self, dy: f32) -> Op {
        match &mut self {
            Op::Text { y, .. } | Op::Rect { y, .. } => *y += dy,
            Op::Image { y, clip, .. } => {
                *y += dy;
                clip[1] += dy;
            }
        }
        self
    }
}

/// A laid-out line: its height and its operations, relative to its top.
pub(crate) struct Line {
    pub(crate) height: f32,
    pub(crate) ops: Vec<Op>,
}
