//! How a change between two texts is measured, and the diff behind it.
//!
//! The size of a change is measured the same way everywhere (`history`, `diff --stat`, `diff`):
//! a line diff of the two extracted texts, then a word diff inside each changed block of
//! lines. Words are runs of non-whitespace (as `str::split_whitespace` has them); lines are the
//! text's lines. A comparison that takes longer than [`DIFF_TIMEOUT`] is finished
//! approximately (still a correct diff, possibly not the smallest one).
//!
//! Pure: no archive, no output. Rendering a [`Comparison`] (unified diff, colours, JSON) is the
//! command line's.

use std::ops::Range;
use std::time::{Duration, Instant};

use serde::Serialize;
use similar::{ChangeTag, DiffOp, DiffTag, TextDiff};

/// Comparing two texts (their lines, then the words of each changed block) that takes longer
/// than this is finished approximately, so a pathological pair of texts cannot hang a command.
pub const DIFF_TIMEOUT: Duration = Duration::from_secs(10);

/// How much changed between two texts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChangeSize {
    /// Lines in the new text's changed blocks.
    pub lines_added: u64,
    /// Lines in the old text's changed blocks.
    pub lines_removed: u64,
    /// Words added inside changed blocks.
    pub words_added: u64,
    /// Words removed inside changed blocks.
    pub words_removed: u64,
}

/// What a piece of a diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceTag {
    /// In both texts.
    Equal,
    /// Only in the old text.
    Delete,
    /// Only in the new text.
    Insert,
}

impl PieceTag {
    /// `equal`, `delete` or `insert` (the JSON name).
    pub fn name(self) -> &'static str {
        match self {
            PieceTag::Equal => "equal",
            PieceTag::Insert => "insert",
            PieceTag::Delete => "delete",
        }
    }
}

impl From<ChangeTag> for PieceTag {
    fn from(t: ChangeTag) -> Self {
        match t {
            ChangeTag::Equal => PieceTag::Equal,
            ChangeTag::Delete => PieceTag::Delete,
            ChangeTag::Insert => PieceTag::Insert,
        }
    }
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Which side(s) it is on.
    pub tag: PieceTag,
    /// The line without its line break.
    pub text: String,
    /// Whether the line ended with a line break (the last line of a text may not).
    pub newline: bool,
}

/// One hunk of a unified diff.
#[derive(Debug, Clone)]
pub struct Hunk {
    /// The old side's range as in the `@@` line: 1-based start (the line before, for an empty
    /// range) and length.
    pub old: (usize, usize),
    /// The new side's range, likewise.
    pub new: (usize, usize),
    /// Its lines.
    pub lines: Vec<Line>,
    /// With word detail: the hunk as equal text and runs of removed and added words.
    pub words: Option<Vec<(PieceTag, String)>>,
}

/// Two texts compared.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// How much changed.
    pub size: ChangeSize,
    /// The hunks, when asked for.
    pub hunks: Option<Vec<Hunk>>,
}

/// What [`compare`] is to produce besides the size.
#[derive(Debug, Clone, Copy)]
pub struct HunkOptions {
    /// Lines of context around each change.
    pub context: usize,
    /// Also the word-level pieces of each hunk.
    pub words: bool,
}

/// Compares `old` with `new`: the size of the change and, with `hunks`, the hunks of a unified
/// diff.
pub fn compare(old: &str, new: &str, hunks: Option<HunkOptions>) -> Comparison {
    let deadline = Instant::now() + DIFF_TIMEOUT;
    let diff = line_diff(old, new, deadline);
    let size = size_of(&diff, deadline);
    let hunks = hunks.map(|opts| {
        // More context than lines changes nothing (and keeps `2 * context` from overflowing).
        let context = opts.context.min(diff.old_len().max(diff.new_len()) + 1);
        diff.grouped_ops(context)
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| {
                let (first, last) = (&g[0], &g[g.len() - 1]);
                Hunk {
                    old: hunk_range(first.old_range().start..last.old_range().end),
                    new: hunk_range(first.new_range().start..last.new_range().end),
                    lines: g
                        .iter()
                        .flat_map(|op| diff.iter_changes(op))
                        .map(|c| Line {
                            tag: c.tag().into(),
                            text: strip_newline(c.value()).to_owned(),
                            newline: c.value().ends_with('\n'),
                        })
                        .collect(),
                    words: opts.words.then(|| hunk_word_pieces(&diff, g, deadline)),
                }
            })
            .collect()
    });
    Comparison { size, hunks }
}

/// How much changed from `old` to `new`.
pub fn change_size(old: &str, new: &str) -> ChangeSize {
    compare(old, new, None).size
}

/// The number of words (runs of non-whitespace) in `s`.
pub fn count_words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

fn line_diff<'a>(old: &'a str, new: &'a str, deadline: Instant) -> TextDiff<'a, 'a, str> {
    TextDiff::configure()
        .deadline(deadline)
        .diff_lines(old, new)
}

/// A run of a line diff: equal lines, or a change (lines removed and/or added). Adjacent
/// delete, insert and replace operations are one change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Equal(Range<usize>),
    Change {
        old: Range<usize>,
        new: Range<usize>,
    },
}

fn blocks(ops: &[DiffOp]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for op in ops {
        match op.tag() {
            DiffTag::Equal => out.push(Block::Equal(op.old_range())),
            _ => match out.last_mut() {
                Some(Block::Change { old, new }) => {
                    old.end = op.old_range().end;
                    new.end = op.new_range().end;
                }
                _ => out.push(Block::Change {
                    old: op.old_range(),
                    new: op.new_range(),
                }),
            },
        }
    }
    out
}

/// The text of lines `range` of one side of a line diff.
fn old_lines(diff: &TextDiff<'_, '_, str>, range: Range<usize>) -> String {
    range.filter_map(|i| diff.old_slice(i)).collect()
}

fn new_lines(diff: &TextDiff<'_, '_, str>, range: Range<usize>) -> String {
    range.filter_map(|i| diff.new_slice(i)).collect()
}

/// The words of a text (runs of non-whitespace), as slices of it.
fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// Where a slice of `base` starts in it.
fn offset(base: &str, part: &str) -> usize {
    part.as_ptr() as usize - base.as_ptr() as usize
}

/// A diff of two word lists. Only words are compared, not the spaces between them: comparing
/// spaces too lets a diff match spaces instead of words and report unchanged words as changed.
fn word_diff<'a>(old: &[&'a str], new: &[&'a str], deadline: Instant) -> TextDiff<'a, 'a, str> {
    TextDiff::configure()
        .deadline(deadline)
        .diff_slices(old, new)
}

/// Words removed and added between two blocks of text.
fn word_counts(old: &str, new: &str, deadline: Instant) -> (u64, u64) {
    let (ow, nw) = (words(old), words(new));
    if ow.is_empty() || nw.is_empty() {
        return (ow.len() as u64, nw.len() as u64);
    }
    let (mut removed, mut added) = (0, 0);
    for op in word_diff(&ow, &nw, deadline).ops() {
        match op.tag() {
            DiffTag::Equal => {}
            DiffTag::Delete => removed += op.old_range().len() as u64,
            DiffTag::Insert => added += op.new_range().len() as u64,
            DiffTag::Replace => {
                removed += op.old_range().len() as u64;
                added += op.new_range().len() as u64;
            }
        }
    }
    (removed, added)
}

fn size_of(diff: &TextDiff<'_, '_, str>, deadline: Instant) -> ChangeSize {
    let mut size = ChangeSize::default();
    for b in blocks(diff.ops()) {
        if let Block::Change { old, new } = b {
            size.lines_removed += old.len() as u64;
            size.lines_added += new.len() as u64;
            let (removed, added) =
                word_counts(&old_lines(diff, old), &new_lines(diff, new), deadline);
            size.words_removed += removed;
            size.words_added += added;
        }
    }
    size
}

/// A unified-diff range: 1-based start (the line before, for an empty range) and length.
fn hunk_range(r: Range<usize>) -> (usize, usize) {
    let len = r.len();
    (if len == 0 { r.start } else { r.start + 1 }, len)
}

fn strip_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// The word-level pieces of a hunk: its equal lines and the word diff of each change.
fn hunk_word_pieces(
    diff: &TextDiff<'_, '_, str>,
    ops: &[DiffOp],
    deadline: Instant,
) -> Vec<(PieceTag, String)> {
    let mut pieces = Pieces::default();
    for b in blocks(ops) {
        match b {
            Block::Equal(r) => pieces.push(PieceTag::Equal, &old_lines(diff, r)),
            Block::Change { old, new } => {
                for (tag, text) in
                    word_pieces(&old_lines(diff, old), &new_lines(diff, new), deadline)
                {
                    pieces.push(tag, &text);
                }
            }
        }
    }
    pieces.0
}

/// A word-level diff of two blocks of text as readable pieces: equal text (with the new
/// text's spacing and line breaks), and each run of removed and added words as one removal and
/// one addition, so that "[-a b-]{+c d+}" reads as one change rather than "[-a-]{+c+} [-b-]{+d+}".
fn word_pieces(old: &str, new: &str, deadline: Instant) -> Vec<(PieceTag, String)> {
    let (ow, nw) = (words(old), words(new));
    let diff = word_diff(&ow, &nw, deadline);
    let mut r = WordRender {
        old,
        new,
        old_at: 0,
        new_at: 0,
        old_end: None,
        new_end: None,
        out: Pieces::default(),
    };
    for c in diff.iter_all_changes() {
        match (c.tag(), c.old_index(), c.new_index()) {
            (ChangeTag::Equal, Some(i), Some(j)) => {
                r.flush();
                let end = offset(new, nw[j]) + nw[j].len();
                r.out.push(PieceTag::Equal, &new[r.new_at..end]);
                r.new_at = end;
                r.old_at = offset(old, ow[i]) + ow[i].len();
            }
            (ChangeTag::Delete, Some(i), _) => r.old_end = Some(offset(old, ow[i]) + ow[i].len()),
            (ChangeTag::Insert, _, Some(j)) => r.new_end = Some(offset(new, nw[j]) + nw[j].len()),
            _ => {}
        }
    }
    r.flush();
    // What follows the last word (usually a line break).
    let tail = if new.is_empty() {
        &old[r.old_at..]
    } else {
        &new[r.new_at..]
    };
    r.out.push(PieceTag::Equal, tail);
    r.out.0
}

/// The state of [`word_pieces`]: how much of each text is shown, and where the current run of
/// removed (old) and added (new) words ends.
struct WordRender<'a> {
    old: &'a str,
    new: &'a str,
    old_at: usize,
    new_at: usize,
    old_end: Option<usize>,
    new_end: Option<usize>,
    out: Pieces,
}

impl WordRender<'_> {
    /// Shows the current run of changes, if any.
    fn flush(&mut self) {
        let removed = self
            .old_end
            .take()
            .map_or("", |e| &self.old[self.old_at..e]);
        let added = self
            .new_end
            .take()
            .map_or("", |e| &self.new[self.new_at..e]);
        // The space before the run is not part of it.
        let lead = if added.is_empty() { removed } else { added };
        let lead = &lead[..lead.len() - lead.trim_start().len()];
        self.out.push(PieceTag::Equal, lead);
        self.out.push(PieceTag::Delete, removed.trim_start());
        self.out.push(PieceTag::Insert, added.trim_start());
        self.old_at += removed.len();
        self.new_at += added.len();
    }
}

/// Pieces of a word diff; neighbours of one kind are merged and empty ones dropped.
#[derive(Default)]
struct Pieces(Vec<(PieceTag, String)>);

impl Pieces {
    fn push(&mut self, tag: PieceTag, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((t, s)) if *t == tag => s.push_str(text),
            _ => self.0.push((tag, text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later() -> Instant {
        Instant::now() + DIFF_TIMEOUT
    }

    #[test]
    fn change_size_counts_lines_and_words() {
        let old = "Title\n\nWe do not use your content.\nUnchanged.\n";
        let new = "Title\n\nWe use your content to train.\nUnchanged.\nNew line here.\n";
        let s = change_size(old, new);
        assert_eq!(s.lines_removed, 1);
        assert_eq!(s.lines_added, 2);
        // "do not content." removed; "content to train." + "New line here." added.
        assert_eq!(s.words_removed, 3, "{s:?}");
        assert_eq!(s.words_added, 6, "{s:?}");
        assert_eq!(change_size(old, old), ChangeSize::default());
        let all = change_size("", "a b c\n");
        assert_eq!((all.words_added, all.words_removed), (3, 0));
    }

    #[test]
    fn word_pieces_join_neighbouring_changes() {
        let p = word_pieces("keep a b keep\n", "keep c d keep\n", later());
        assert_eq!(
            p,
            vec![
                (PieceTag::Equal, "keep ".to_owned()),
                (PieceTag::Delete, "a b".to_owned()),
                (PieceTag::Insert, "c d".to_owned()),
                (PieceTag::Equal, " keep\n".to_owned()),
            ]
        );
        // A pure deletion keeps no empty insertion.
        let p = word_pieces("x a b y\n", "x y\n", later());
        assert!(p.iter().all(|(t, _)| *t != PieceTag::Insert), "{p:?}");
    }

    #[test]
    fn hunk_ranges_follow_unified_diff_conventions() {
        assert_eq!(hunk_range(0..0), (0, 0));
        assert_eq!(hunk_range(4..5), (5, 1));
        assert_eq!(hunk_range(2..6), (3, 4));
    }

    #[test]
    fn compare_gives_hunks_with_lines_and_words() {
        let c = compare(
            "a\nb\nc\n",
            "a\nB\nc",
            Some(HunkOptions {
                context: 1,
                words: true,
            }),
        );
        let hunks = c.hunks.unwrap_or_default();
        assert_eq!(hunks.len(), 1);
        assert_eq!((hunks[0].old, hunks[0].new), ((1, 3), (1, 3)));
        let last = hunks[0].lines.last().cloned();
        assert_eq!(
            last,
            Some(Line {
                tag: PieceTag::Insert,
                text: "c".into(),
                newline: false
            })
        );
        assert!(hunks[0].words.is_some());
        assert!(compare("a\n", "b\n", None).hunks.is_none());
    }

    /// The pieces of a word diff are the old words (equal and removed) and the new words
    /// (equal and added), in order, whatever the texts.
    #[test]
    fn word_pieces_keep_every_word_in_order() {
        let vocab = ["a", "b", "policy", "data", "the", "we", "x.", "(c)"];
        let spaces = [" ", " ", " ", "\n", "  ", "\n\n", "\t"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let text = |next: &mut dyn FnMut(usize) -> usize| {
            let mut s = String::new();
            for _ in 0..next(12) {
                if next(4) == 0 {
                    s.push_str(spaces[next(spaces.len())]);
                }
                s.push_str(vocab[next(vocab.len())]);
                s.push_str(spaces[next(spaces.len())]);
            }
            s
        };
        for _ in 0..2000 {
            let (old, new) = (text(&mut next), text(&mut next));
            let pieces = word_pieces(&old, &new, later());
            let side = |keep: PieceTag| -> Vec<String> {
                pieces
                    .iter()
                    .filter(|(t, _)| *t == PieceTag::Equal || *t == keep)
                    .flat_map(|(_, s)| s.split_whitespace().map(str::to_owned))
                    .collect()
            };
            assert_eq!(
                side(PieceTag::Delete),
                words(&old),
                "{old:?} {new:?} {pieces:?}"
            );
            assert_eq!(
                side(PieceTag::Insert),
                words(&new),
                "{old:?} {new:?} {pieces:?}"
            );
            let (removed, added) = word_counts(&old, &new, later());
            let count = |tag: PieceTag| -> u64 {
                pieces
                    .iter()
                    .filter(|(t, _)| *t == tag)
                    .map(|(_, s)| count_words(s))
                    .sum()
            };
            assert_eq!(
                (count(PieceTag::Delete), count(PieceTag::Insert)),
                (removed, added)
            );
        }
    }
}
