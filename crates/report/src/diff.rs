//! The comparison of a version's text with the previous version's, as the report prints it:
//! line by line, changed lines with two lines of context, unchanged runs elided.
//!
//! Deterministic by construction (no deadline: a diff cut short by a clock would differ from
//! machine to machine, and a verifier rebuilds the report); time is bounded by size instead —
//! texts of more than [`MAX_LINES`] lines together are not compared here.

use similar::{Algorithm, ChangeTag, TextDiff};

use crate::doc::{Line, Mark};

/// The most lines (old and new together) compared in a report.
pub const MAX_LINES: usize = 20_000;

/// The most lines of a comparison printed; the rest is summarised.
pub const MAX_SHOWN: usize = 1_500;

/// The most characters of a printed comparison line; longer lines end in `…`.
pub const MAX_LINE_CHARS: usize = 2_000;

/// The most bytes of text (old and new together) one report compares, all records together:
/// with [`MAX_LINES`] this bounds the work of rebuilding a report from a hostile bag, however
/// many records pin the same previous version.
pub const MAX_COMPARED_BYTES: usize = 8 << 20;

/// Lines of context around each change.
const CONTEXT: usize = 2;

/// Whether two texts have more than [`MAX_LINES`] lines together.
pub fn too_large(old: &str, new: &str) -> bool {
    old.lines().count() + new.lines().count() > MAX_LINES
}

fn diff<'a>(old: &'a str, new: &'a str) -> TextDiff<'a, 'a, str> {
    TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new)
}

/// Lines (added, removed) from `old` to `new`; `(0, 0)` for identical texts. `None` when the
/// texts are too large to compare here.
pub fn count(old: &str, new: &str) -> Option<(u64, u64)> {
    if too_large(old, new) {
        return None;
    }
    let (mut added, mut removed) = (0, 0);
    for change in diff(old, new).iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    Some((added, removed))
}

/// The comparison as printed lines: each group of changes with [`CONTEXT`] lines around it,
/// and a note for every run of unchanged lines left out. `None` when the texts are too large.
pub fn lines(old: &str, new: &str) -> Option<Vec<Line>> {
    if too_large(old, new) {
        return None;
    }
    let diff = diff(old, new);
    let mut out = Vec::new();
    let mut shown_up_to = 0usize; // index in the new text's line numbering, for the elision notes
    for group in diff.grouped_ops(CONTEXT) {
        let Some(first) = group.first() else { continue };
        let start = first.new_range().start;
        if start > shown_up_to {
            out.push(elided(start - shown_up_to));
        }
        for op in &group {
            for change in diff.iter_changes(op) {
                if out.len() >= MAX_SHOWN {
                    out.push(Line {
                        text: format!(
                            "… comparison cut at {MAX_SHOWN} lines; see the two texts in full"
                        ),
                        mark: Mark::Elided,
                    });
                    return Some(out);
                }
                let value = change.value().trim_end_matches(['\n', '\r']);
                let text = match value.char_indices().nth(MAX_LINE_CHARS) {
                    Some((cut, _)) => format!("{}…", &value[..cut]),
                    None => value.to_owned(),
                };
                let mark = match change.tag() {
                    ChangeTag::Insert => Mark::Added,
                    ChangeTag::Delete => Mark::Removed,
                    ChangeTag::Equal => Mark::Plain,
                };
                out.push(Line { text, mark });
            }
        }
        if let Some(last) = group.last() {
            shown_up_to = last.new_range().end;
        }
    }
    let total = new.lines().count();
    if !out.is_empty() && total > shown_up_to {
        out.push(elided(total - shown_up_to));
    }
    Some(out)
}

fn elided(n: usize) -> Line {
    Line {
        text: format!("… {n} unchanged line{} …", if n == 1 { "" } else { "s" }),
        mark: Mark::Elided,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_lines() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(count(old, new), Some((1, 1)));
        assert_eq!(count(old, old), Some((0, 0)));
        let l = lines(old, new).unwrap();
        let marks: Vec<Mark> = l.iter().map(|l| l.mark).collect();
        assert_eq!(
            marks,
            [
                Mark::Elided,
                Mark::Plain,
                Mark::Plain,
                Mark::Removed,
                Mark::Added,
                Mark::Plain,
                Mark::Plain,
                Mark::Elided
            ]
        );
        assert_eq!(l[0].text, "… 2 unchanged lines …");
        assert_eq!(l[3].text, "e");
        assert!(lines(old, old).unwrap().is_empty());
    }

    #[test]
    fn too_large_is_not_compared() {
        let big = "x\n".repeat(MAX_LINES);
        assert_eq!(count(&big, "y\n"), None);
        assert!(lines(&big, "y\n").is_none());
    }
}
