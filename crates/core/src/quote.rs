//! Finding quoted passages in extracted text.
//!
//! A quote pasted from a filing rarely matches the extracted text byte for byte: line breaks
//! become spaces, non-breaking spaces and curly quotes come and go, ligatures appear. Both sides
//! are therefore compared in their *match form* ([`match_form`]), and every occurrence found
//! is mapped back to offsets in the original text.
//!
//! All functions here do work linear in the text (plus a bounded amount per quote), so that a
//! 64 MiB text and a 64 KiB quote stay cheap.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

/// A passage found in a text: offsets into the ORIGINAL text, 0-based, half-open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// First byte of the passage.
    pub byte_start: usize,
    /// One past its last byte.
    pub byte_end: usize,
    /// First character (Unicode scalar value) of the passage.
    pub char_start: usize,
    /// One past its last character.
    pub char_end: usize,
}

/// The passage of a text most like a quote that was not found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Closest {
    /// The passage, whitespace collapsed to single spaces.
    pub passage: String,
    /// First byte of the passage in the original text.
    pub byte_start: usize,
    /// One past its last byte in the original text.
    pub byte_end: usize,
    /// How similar it is to the quote, 0.0..=1.0 (1.0: the same after case and whitespace
    /// folding).
    pub similarity: f64,
}

/// Characters dropped entirely from the match form: zero-width space, non-joiner and joiner,
/// word joiner, soft hyphen and the byte-order mark.
pub(crate) fn is_removed(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{00AD}' | '\u{FEFF}'
    )
}

/// The typographic folding of one character, when it has one.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\u{FB00}' => "ff",
        '\u{FB01}' => "fi",
        '\u{FB02}' => "fl",
        '\u{FB03}' => "ffi",
        '\u{FB04}' => "ffl",
        _ => return None,
    })
}

/// One piece of a match form and where it comes from in the original string.
struct Piece<'a> {
    /// Byte offset of the original text the piece comes from.
    byte: usize,
    /// Character index of that offset.
    char_index: usize,
    /// The original text: a run of unchanged characters, one folded character or the first
    /// character of a whitespace run.
    orig: &'a str,
    /// What the match form has for it.
    out: &'a str,
    /// Whether `out` is `orig` unchanged (a run of characters mapping one to one).
    plain: bool,
}

/// The character at byte `i` of `s` (a character boundary) and its length; ASCII is decoded
/// without going through `chars()`.
fn char_at(s: &str, i: usize) -> Option<(char, usize)> {
    let b = *s.as_bytes().get(i)?;
    if b < 0x80 {
        return Some((char::from(b), 1));
    }
    let c = s.get(i..)?.chars().next()?;
    Some((c, c.len_utf8()))
}

/// Whether a character needs more than copying into the match form.
fn is_special(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_whitespace() || c == '\u{0B}';
    }
    c.is_whitespace() || is_removed(c) || fold(c).is_some()
}

/// Walks the match form of `s`, calling `emit` for each [`Piece`], in order. Runs of characters
/// that stay as they are come as one piece; a collapsed whitespace run is one `" "` piece
/// located at the run's first character.
fn walk<'a>(s: &'a str, mut emit: impl FnMut(Piece<'a>)) {
    let mut pending: Option<(usize, usize, usize)> = None;
    let mut started = false;
    let mut run: Option<(usize, usize)> = None;
    let (mut i, mut ci) = (0usize, 0usize);
    let flush_run =
        |run: &mut Option<(usize, usize)>, end: usize, emit: &mut dyn FnMut(Piece<'a>)| {
            if let Some((rb, rc)) = run.take() {
                let orig = s.get(rb..end).unwrap_or("");
                emit(Piece {
                    byte: rb,
                    char_index: rc,
                    orig,
                    out: orig,
                    plain: true,
                });
            }
        };
    while let Some((c, len)) = char_at(s, i) {
        if !is_special(c) {
            if run.is_none() {
                if let Some((pb, pc, pl)) = pending.take()
                    && started
                {
                    emit(Piece {
                        byte: pb,
                        char_index: pc,
                        orig: s.get(pb..pb + pl).unwrap_or(""),
                        out: " ",
                        plain: false,
                    });
                }
                run = Some((i, ci));
                started = true;
            }
        } else {
            flush_run(&mut run, i, &mut emit);
            if c.is_whitespace() {
                if pending.is_none() {
                    pending = Some((i, ci, len));
                }
            } else if let Some(out) = fold(c) {
                if let Some((pb, pc, pl)) = pending.take()
                    && started
                {
                    emit(Piece {
                        byte: pb,
                        char_index: pc,
                        orig: s.get(pb..pb + pl).unwrap_or(""),
                        out: " ",
                        plain: false,
                    });
                }
                emit(Piece {
                    byte: i,
                    char_index: ci,
                    orig: s.get(i..i + len).unwrap_or(""),
                    out,
                    plain: false,
                });
                started = true;
            }
        }
        i += len;
        ci += 1;
    }
    flush_run(&mut run, i, &mut emit);
}

/// The number of characters in `s[from..to]` (byte offsets at character boundaries).
fn chars_between(s: &str, from: usize, to: usize) -> usize {
    s.as_bytes()
        .get(from..to)
        .map_or(0, |b| b.iter().filter(|&&b| (b & 0xC0) != 0x80).count())
}

/// Cleans what a user or a filing gives as a quote: trims, strips one pair of surrounding
/// quotation marks (`"` `"`, `“` `”`, `‘` `’`, `'` `'`, `«` `»`), strips a leading and/or
/// trailing ellipsis (`…`, `...` or `. . .`, also in square brackets), collapses whitespace.
/// Returns `(cleaned, truncated_start, truncated_end)`.
pub fn clean_quote(q: &str) -> (String, bool, bool) {
    let mut s = trim(q);
    let mut cut_start = false;
    let mut cut_end = false;
    strip_ellipses(&mut s, &mut cut_start, &mut cut_end);
    s = strip_quote_pair(s);
    strip_ellipses(&mut s, &mut cut_start, &mut cut_end);
    (collapse_whitespace(s), cut_start, cut_end)
}

/// Trims whitespace and the characters [`match_form`] removes.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || is_removed(c))
}

const ELLIPSES: [&str; 5] = ["[...]", "[…]", ". . .", "...", "…"];

fn strip_ellipses(s: &mut &str, cut_start: &mut bool, cut_end: &mut bool) {
    for e in ELLIPSES {
        if let Some(rest) = s.strip_prefix(e) {
            *s = trim(rest);
            *cut_start = true;
            break;
        }
    }
    for e in ELLIPSES {
        if let Some(rest) = s.strip_suffix(e) {
            *s = trim(rest);
            *cut_end = true;
            break;
        }
    }
}

fn strip_quote_pair(s: &str) -> &str {
    const OPEN: [char; 6] = ['"', '\u{201C}', '\u{201E}', '\u{2018}', '\'', '\u{AB}'];
    let mut chars = s.chars();
    let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
        return s;
    };
    let closes = match first {
        '"' | '\u{201C}' | '\u{201E}' => matches!(last, '"' | '\u{201C}' | '\u{201D}'),
        '\u{2018}' | '\'' => matches!(last, '\'' | '\u{2019}'),
        '\u{AB}' => last == '\u{BB}',
        _ => false,
    };
    if OPEN.contains(&first) && closes {
        trim(chars.as_str())
    } else {
        s
    }
}

/// Collapses every whitespace run to one space, drops the characters [`match_form`] removes and
/// trims; nothing else is changed.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        if is_removed(c) {
            continue;
        }
        if c.is_whitespace() {
            pending = true;
            continue;
        }
        if pending && !out.is_empty() {
            out.push(' ');
        }
        pending = false;
        out.push(c);
    }
    out
}

/// The matching form of a string: every run of whitespace (Unicode `White_Space`, including
/// NBSP) becomes one space and the string is trimmed; zero-width space, non-joiner, joiner and
/// word joiner, soft hyphen (U+00AD) and the BOM are removed entirely; typographic folding:
/// `‘ ’ ‚ ‛ ′` → `'`, `“ ” „ ‟ ″` → `"`, `‐ ‑ ‒ – — −` → `-`, `…` → `...`, ligatures
/// `ﬀ ﬁ ﬂ ﬃ ﬄ` → `ff fi fl ffi ffl`. Case is kept.
pub fn match_form(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    walk(s, |p| out.push_str(p.out));
    out
}

/// Every occurrence of `quote` in `text`, comparing match forms (so line breaks, NBSPs, curly
/// quotes and dashes do not matter). Each occurrence spans from the original character where
/// the match starts to the end of the original character where it ends (no leading or trailing
/// whitespace). Non-overlapping (in the match form), in order. An empty quote (after
/// [`match_form`]) has no occurrences.
pub fn find(text: &str, quote: &str) -> Vec<Occurrence> {
    let q = match_form(quote);
    if q.is_empty() {
        return Vec::new();
    }
    let t = match_form(text);
    let hits: Vec<(usize, usize)> = t
        .match_indices(q.as_str())
        .map(|(i, m)| (i, i + m.len()))
        .collect();
    drop(t);
    if hits.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(hits.len());
    let mut pos = 0usize;
    let mut k = 0usize;
    let mut open: Option<(usize, usize)> = None;
    walk(text, |p| {
        let end = pos + p.out.len();
        // Where in `p` a match-form offset lies, as (byte, char index); for plain runs the
        // char index is counted incrementally from `cursor`.
        let mut cursor = (0usize, p.char_index);
        let mut locate = |off: usize| {
            let rel = off - pos;
            cursor.1 += chars_between(p.orig, cursor.0, rel);
            cursor.0 = rel;
            (p.byte + rel, cursor.1)
        };
        while let Some(&(hs, he)) = hits.get(k) {
            match open {
                None if hs < end => {
                    open = Some(if p.plain {
                        locate(hs)
                    } else {
                        (p.byte, p.char_index)
                    });
                }
                Some((sb, sc)) if he <= end => {
                    let (eb, ec) = if p.plain {
                        locate(he)
                    } else {
                        (p.byte + p.orig.len(), p.char_index + 1)
                    };
                    out.push(Occurrence {
                        byte_start: sb,
                        byte_end: eb,
                        char_start: sc,
                        char_end: ec,
                    });
                    open = None;
                    k += 1;
                }
                _ => break,
            }
        }
        pos = end;
    });
    out
}

/// How many words around a candidate window are looked at when refining it.
const PAD: usize = 3;
/// How many candidate windows the word scan keeps.
const CANDIDATES: usize = 8;
/// Quotes up to this many characters get the edit-distance ratio; longer ones the (linear)
/// bigram ratio.
const EDIT_DISTANCE_MAX: usize = 1000;
/// Quotes up to this many characters get their best windows shifted and resized.
const REFINE_MAX: usize = 300;

/// The comparison key of one word: match form, lower case, without surrounding punctuation
/// (unless it is all punctuation).
fn word_key(word: &str, buf: &mut String) {
    buf.clear();
    if word.is_ascii() {
        buf.push_str(word);
        buf.make_ascii_lowercase();
    } else {
        walk(word, |p| {
            for c in p.out.chars() {
                buf.extend(c.to_lowercase());
            }
        });
    }
    let trimmed = buf.trim_matches(|c: char| !c.is_alphanumeric());
    if !trimmed.is_empty() && trimmed.len() != buf.len() {
        let start = buf.len() - buf.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
        let end = start + trimmed.len();
        buf.truncate(end);
        buf.drain(..start);
    }
}

/// The words of `s` (maximal runs of non-whitespace), as byte ranges, from byte `from` (a
/// character boundary) on.
fn words_from(s: &str, from: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = from;
    std::iter::from_fn(move || {
        loop {
            let (c, len) = char_at(s, i)?;
            if !c.is_whitespace() {
                break;
            }
            i += len;
        }
        let start = i;
        while let Some((c, len)) = char_at(s, i) {
            if c.is_whitespace() {
                break;
            }
            i += len;
        }
        Some((start, i))
    })
}

/// The comparison form of a passage: match form in lower case, at most `max_chars` characters.
fn comparison_chars(s: &str, max_chars: usize) -> Vec<char> {
    let mut out = Vec::new();
    walk(s, |p| {
        for c in p.out.chars() {
            if out.len() < max_chars {
                out.extend(c.to_lowercase());
            }
        }
    });
    out.truncate(max_chars);
    out
}

/// 1 − (edit distance / longer length).
fn edit_ratio(a: &[char], b: &[char]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    1.0 - prev[b.len()] as f64 / longest as f64
}

/// Sørensen–Dice coefficient over character bigrams (linear time).
fn bigram_ratio(a: &[char], b: &[char]) -> f64 {
    if a == b {
        return 1.0;
    }
    if a.len() < 2 || b.len() < 2 {
        return 0.0;
    }
    let mut counts: HashMap<(char, char), i64> = HashMap::new();
    for w in a.windows(2) {
        *counts.entry((w[0], w[1])).or_default() += 1;
    }
    let mut shared = 0i64;
    for w in b.windows(2) {
        if let Some(n) = counts.get_mut(&(w[0], w[1]))
            && *n > 0
        {
            *n -= 1;
            shared += 1;
        }
    }
    (2 * shared) as f64 / (a.len() + b.len() - 2) as f64
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    score: usize,
    /// Index of the window's first word.
    word: usize,
    /// Byte where the context (up to PAD words before the window) starts.
    ctx_start: usize,
    /// Number of context words before the window.
    pad: usize,
}

/// A candidate window with its ratio and its words (with context), as byte ranges.
type Ranked = (f64, Candidate, Vec<(usize, usize)>);

fn offer(cands: &mut Vec<Candidate>, c: Candidate, k: usize) {
    if let Some(o) = cands.iter_mut().find(|o| o.word.abs_diff(c.word) < k) {
        if c.score > o.score {
            *o = c;
        }
        return;
    }
    if cands.len() < CANDIDATES {
        cands.push(c);
        return;
    }
    if let Some(worst) = cands.iter_mut().min_by_key(|o| o.score)
        && c.score > worst.score
    {
        *worst = c;
    }
}

/// The passage of `text` most similar to `quote` (when [`find`] found nothing), or `None` for
/// an empty text or quote.
///
/// A window of the quote's word count slides over the text's words, scoring the words it
/// shares with the quote (linear in the text); the best few windows, slightly shifted and
/// resized for short quotes, are then ranked by a character-level ratio on their lower-cased
/// match forms (edit distance for quotes up to 1000 characters, bigram overlap above). The
/// passage is the original text of the best window, whitespace collapsed, at most about twice
/// the quote's length.
pub fn closest(text: &str, quote: &str) -> Option<Closest> {
    let mut buf = String::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut need: Vec<usize> = Vec::new();
    let mut k = 0usize;
    let mut longest_key = 0usize;
    for (s, e) in words_from(quote, 0) {
        word_key(&quote[s..e], &mut buf);
        if buf.is_empty() {
            continue;
        }
        k += 1;
        longest_key = longest_key.max(buf.len());
        let next = ids.len();
        let id = *ids.entry(buf.clone()).or_insert(next);
        if id == need.len() {
            need.push(0);
        }
        need[id] += 1;
    }
    if k == 0 {
        return None;
    }

    // Pass 1: slide a window of k words, scoring shared words (a bag-of-words overlap).
    let mut have = vec![0usize; need.len()];
    let mut recent: VecDeque<(usize, Option<usize>)> = VecDeque::with_capacity(k + PAD + 1);
    let mut score = 0usize;
    let mut cands: Vec<Candidate> = Vec::new();
    let mut n_words = 0usize;
    for (s, e) in words_from(text, 0) {
        let word = &text[s..e];
        let id = if word.len() > 4 * longest_key + 16 {
            None
        } else {
            word_key(word, &mut buf);
            if buf.is_empty() {
                continue;
            }
            ids.get(buf.as_str()).copied()
        };
        n_words += 1;
        if let Some(id) = id {
            have[id] += 1;
            if have[id] <= need[id] {
                score += 1;
            }
        }
        recent.push_back((s, id));
        if recent.len() > k
            && let Some(&(_, Some(out))) = recent.get(recent.len() - 1 - k)
        {
            if have[out] <= need[out] {
                score -= 1;
            }
            have[out] -= 1;
        }
        if recent.len() > k + PAD {
            recent.pop_front();
        }
        if n_words >= k {
            let pad = recent.len() - k;
            offer(
                &mut cands,
                Candidate {
                    score,
                    word: n_words - k,
                    ctx_start: recent.front().map_or(0, |r| r.0),
                    pad,
                },
                k,
            );
        }
    }
    if n_words == 0 {
        return None;
    }
    if n_words < k {
        cands.push(Candidate {
            score,
            word: 0,
            ctx_start: recent.front().map_or(0, |r| r.0),
            pad: 0,
        });
    }

    // Pass 2: rank the candidates by a character-level ratio.
    let q = comparison_chars(quote, usize::MAX);
    let cap = 2 * q.len() + 16;
    let ratio = |a: &[char]| {
        if q.len() <= EDIT_DISTANCE_MAX {
            edit_ratio(&q, a)
        } else {
            bigram_ratio(&q, a)
        }
    };
    let span_of = |words: &[(usize, usize)], start: usize, len: usize| -> Option<(usize, usize)> {
        let first = words.get(start)?;
        let last = words.get(start + len.checked_sub(1)?)?;
        Some((first.0, last.1))
    };
    let mut ranked: Vec<Ranked> = Vec::new();
    for c in cands {
        let words: Vec<(usize, usize)> = words_from(text, c.ctx_start)
            .take(c.pad + k + PAD)
            .collect();
        let Some((s, e)) = span_of(&words, c.pad, k.min(words.len() - c.pad.min(words.len())))
        else {
            continue;
        };
        let r = ratio(&comparison_chars(&text[s..e], cap));
        ranked.push((r, c, words));
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.word.cmp(&b.1.word)));
    let mut best: Option<(f64, usize, usize)> = None;
    let consider = |best: &mut Option<(f64, usize, usize)>, r: f64, s: usize, e: usize| {
        let better = match best {
            None => true,
            Some((br, bs, _)) => r > *br || (r == *br && s < *bs),
        };
        if better {
            *best = Some((r, s, e));
        }
    };
    for (i, (r, c, words)) in ranked.iter().enumerate() {
        let Some((s, e)) = span_of(words, c.pad, k.min(words.len() - c.pad.min(words.len())))
        else {
            continue;
        };
        consider(&mut best, *r, s, e);
        if i >= 2 || q.len() > REFINE_MAX {
            continue;
        }
        for start in c.pad.saturating_sub(PAD)..=c.pad + PAD {
            for len in k.saturating_sub(2).max(1)..=k + 2 {
                if let Some((s, e)) = span_of(words, start, len) {
                    let r = ratio(&comparison_chars(&text[s..e], cap));
                    consider(&mut best, r, s, e);
                }
            }
        }
    }
    let (similarity, start, end) = best?;
    let (passage, byte_end) = collapsed_prefix(&text[start..end], cap);
    Some(Closest {
        passage,
        byte_start: start,
        byte_end: start + byte_end,
        similarity: similarity.clamp(0.0, 1.0),
    })
}

/// `s` with whitespace collapsed, cut after at most `max_chars` characters, and the byte length
/// of the part of `s` it covers.
fn collapsed_prefix(s: &str, max_chars: usize) -> (String, usize) {
    let mut out = String::new();
    let mut n = 0usize;
    let mut covered = 0usize;
    let mut pending = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            pending = true;
            continue;
        }
        if n >= max_chars {
            break;
        }
        if pending && !out.is_empty() {
            out.push(' ');
            n += 1;
        }
        pending = false;
        out.push(c);
        n += 1;
        covered = i + c.len_utf8();
    }
    (out, covered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_form_folds_typography_and_whitespace() {
        assert_eq!(
            match_form("  \u{FEFF}“Don’t”\u{a0}–\n\tso\u{AD}ft\u{200B} ﬁle…  "),
            "\"Don't\" - soft file..."
        );
        assert_eq!(match_form(" \u{200B} "), "");
    }

    #[test]
    fn clean_quote_strips_marks_and_ellipses() {
        assert_eq!(
            clean_quote("  “…we may  share\nyour data…”  "),
            ("we may share your data".into(), true, true)
        );
        assert_eq!(clean_quote("\"abc\""), ("abc".into(), false, false));
        assert_eq!(clean_quote(". . . abc ..."), ("abc".into(), true, true));
        assert_eq!(clean_quote("it's"), ("it's".into(), false, false));
    }

    #[test]
    fn find_maps_back_to_original_offsets() {
        let text = "Héllo.\nBy using\nthe \u{a0}Services, you grant… ﬁnal";
        let occ = find(text, "By using the Services, you grant");
        assert_eq!(occ.len(), 1);
        let o = &occ[0];
        assert_eq!(
            &text[o.byte_start..o.byte_end],
            "By using\nthe \u{a0}Services, you grant"
        );
        assert_eq!(o.char_start, 7);
        assert_eq!(
            o.char_end,
            o.char_start + text[o.byte_start..o.byte_end].chars().count()
        );
        let occ = find(text, "grant... fi");
        assert_eq!(occ.len(), 1);
        assert_eq!(&text[occ[0].byte_start..occ[0].byte_end], "grant… ﬁ");
    }

    #[test]
    fn closest_finds_the_near_miss() {
        let text = "Intro text here. We may share your personal data with our partners for \
                    advertising. Other text follows and goes on.";
        let c = closest(text, "we may sell your personal data to our partners").unwrap();
        assert!(c.passage.contains("share your personal data"), "{c:?}");
        assert!(c.similarity > 0.6 && c.similarity < 1.0, "{c:?}");
        assert_eq!(&text[c.byte_start..c.byte_end], c.passage);
        assert!(closest("", "x").is_none());
        assert!(closest("x", " ").is_none());
    }
}
