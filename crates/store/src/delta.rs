//! Delta objects: an object compressed against a similar *reference* object (docs/FORMAT.md §6).
//!
//! Successive versions of a policy differ in a few lines. Compressed on its own, each version
//! costs a full zstd pass and ≈30% of its size; compressed with a similar earlier version as a
//! raw-content dictionary (zstd's "prefix"), it costs a fraction of the CPU and ≈1/12 of the
//! bytes. The object file stays one zstd stream that the stock tool decodes:
//!
//! ```text
//! zstd skippable frame, magic 0x184D2A5E, 90-byte payload "exhibit-reference sha256:<64 hex>\n"
//! zstd frame(s) compressed with the reference object's bytes as a raw-content dictionary
//! ```
//!
//! so `zstd -dc -D <reference bytes> objects/ab/<sha>.zst` gives the object's bytes. A reference
//! is always a *full* object (no reference of its own): decoding takes at most two steps.
//!
//! This module holds the header format and the in-memory index that finds a reference: each
//! object gets a small *sketch* (the 16 smallest 64-bit hashes of its lines), and an object is
//! compressed against the remembered full object that shares the most sketch entries, when it
//! shares at least [`MIN_SHARED`]. Hand-written: the format is the product, and no crate offers
//! "pick a similar earlier object" for independent zstd frames.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use exhibit_core::Sha256Digest;

/// The magic number of the skippable frame that names a delta object's reference.
pub const REFERENCE_MAGIC: u32 = 0x184D_2A5E;
/// The payload of that frame starts with this tag, followed by the reference's SHA-256 in
/// lowercase hex and a newline.
pub const REFERENCE_TAG: &[u8] = b"exhibit-reference sha256:";
/// The payload's length: tag, 64 hex digits, newline.
pub const REFERENCE_PAYLOAD: usize = REFERENCE_TAG.len() + 64 + 1;
/// The whole header: magic, little-endian payload length, payload.
pub const REFERENCE_HEADER: usize = 8 + REFERENCE_PAYLOAD;

/// Objects (and references) larger than this are never delta-compressed: a reference is held
/// in memory while objects are compressed or decoded against it.
pub const MAX_DELTA_OBJECT: usize = 1 << 20;
/// Objects smaller than this are compressed on their own (too small to gain).
pub const MIN_DELTA_OBJECT: usize = 1024;
/// How many sketch entries an object must share with a reference to be compressed against it.
pub const MIN_SHARED: usize = 4;
/// Entries of a sketch.
const SKETCH: usize = 16;
/// The zstd dictionary magic: bytes starting with it are never used as a reference (zstd
/// would read them as a formatted dictionary, not as raw content).
const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];
/// Bytes of reference contents kept in memory, at most.
const MAX_CACHED_BYTES: usize = 64 << 20;
/// Sketch entries remembered, at most (the index is cleared when it grows beyond).
const MAX_INDEX_ENTRIES: usize = 1 << 20;

/// The header naming `reference`.
pub fn header(reference: &Sha256Digest) -> [u8; REFERENCE_HEADER] {
    let mut out = [0u8; REFERENCE_HEADER];
    out[..4].copy_from_slice(&REFERENCE_MAGIC.to_le_bytes());
    out[4..8].copy_from_slice(&(REFERENCE_PAYLOAD as u32).to_le_bytes());
    let tag_end = 8 + REFERENCE_TAG.len();
    out[8..tag_end].copy_from_slice(REFERENCE_TAG);
    out[tag_end..tag_end + 64].copy_from_slice(reference.to_hex().as_bytes());
    out[REFERENCE_HEADER - 1] = b'\n';
    out
}

/// What the first bytes of an object file say.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// A delta object against this reference.
    Delta(Sha256Digest),
    /// Not a delta header (a plain zstd frame, or damage the decoder will report).
    Plain,
    /// A reference header that is malformed.
    BadHeader(String),
}

/// Reads the start of an object file (at least [`REFERENCE_HEADER`] bytes when the file has
/// them).
pub fn parse_start(start: &[u8]) -> Start {
    if start.len() < 4 || start[..4] != REFERENCE_MAGIC.to_le_bytes() {
        return Start::Plain;
    }
    if start.len() < REFERENCE_HEADER {
        return Start::BadHeader("the reference header is cut short".into());
    }
    if start[4..8] != (REFERENCE_PAYLOAD as u32).to_le_bytes() {
        return Start::BadHeader("the reference header has the wrong length".into());
    }
    let payload = &start[8..REFERENCE_HEADER];
    let Some(rest) = payload.strip_prefix(REFERENCE_TAG) else {
        return Start::BadHeader("the reference header has no exhibit-reference tag".into());
    };
    let (hex, newline) = rest.split_at(64);
    let parsed = std::str::from_utf8(hex)
        .ok()
        .filter(|h| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|h| h.parse::<Sha256Digest>().ok());
    match parsed {
        Some(sha) if newline == b"\n" => Start::Delta(sha),
        _ => Start::BadHeader("the reference header does not name a SHA-256".into()),
    }
}

/// Whether `bytes` may serve as a reference (and be delta-compressed): not too small, not too
/// large, and not something zstd would read as a formatted dictionary.
pub fn eligible(bytes: &[u8]) -> bool {
    (MIN_DELTA_OBJECT..=MAX_DELTA_OBJECT).contains(&bytes.len())
        && !bytes.starts_with(&ZSTD_DICT_MAGIC)
}

/// The sketch of `bytes`: the `SKETCH` (16) smallest distinct hashes of its lines of 16 bytes or
/// more (long lines hashed in 4 KiB pieces), sorted. Similar documents share most entries.
pub fn sketch(bytes: &[u8]) -> Vec<u64> {
    let mut smallest: Vec<u64> = Vec::with_capacity(SKETCH + 1);
    let mut add = |h: u64| {
        if smallest.len() == SKETCH && h >= smallest[SKETCH - 1] {
            return;
        }
        if let Err(at) = smallest.binary_search(&h) {
            smallest.insert(at, h);
            smallest.truncate(SKETCH);
        }
    };
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
        let line = &bytes[start..end];
        start = end + 1;
        if line.len() < 16 {
            continue;
        }
        for piece in line.chunks(4096) {
            add(xxhash_rust::xxh3::xxh3_64(piece));
        }
    }
    smallest
}

/// The objects this process may compress against: full objects it stored or was pointed to,
/// found by sketch. Bounded: at most `MAX_CACHED_BYTES` (64 MiB) of contents (oldest dropped
/// first) and `MAX_INDEX_ENTRIES` (2^20) sketch entries.
#[derive(Debug, Default)]
pub struct References {
    /// Sketch entry → the full object to compress against.
    index: HashMap<u64, Sha256Digest>,
    /// Contents of full objects, by name.
    contents: HashMap<Sha256Digest, Arc<[u8]>>,
    /// Names in `contents`, oldest first.
    order: VecDeque<Sha256Digest>,
    /// Bytes in `contents`.
    bytes: usize,
}

impl References {
    /// The remembered full object sharing the most entries with `sketch` (at least
    /// [`MIN_SHARED`]), with its bytes.
    pub fn choose(&self, sketch: &[u64]) -> Option<(Sha256Digest, Arc<[u8]>)> {
        let mut votes: Vec<(Sha256Digest, usize)> = Vec::new();
        for entry in sketch {
            if let Some(sha) = self.index.get(entry) {
                match votes.iter_mut().find(|(s, _)| s == sha) {
                    Some((_, n)) => *n += 1,
                    None => votes.push((*sha, 1)),
                }
            }
        }
        votes
            .into_iter()
            .filter(|(_, n)| *n >= MIN_SHARED)
            .max_by_key(|(sha, n)| (*n, *sha))
            .and_then(|(sha, _)| Some((sha, self.contents.get(&sha)?.clone())))
    }

    /// Whether `sha`'s contents are held.
    pub fn holds(&self, sha: &Sha256Digest) -> bool {
        self.contents.contains_key(sha)
    }

    /// Remembers the full object `sha` (its bytes, `sketch`) as a reference for what follows.
    pub fn add_full(&mut self, sha: Sha256Digest, bytes: Arc<[u8]>, sketch: &[u64]) {
        if !self.contents.contains_key(&sha) {
            self.bytes += bytes.len();
            self.contents.insert(sha, bytes);
            self.order.push_back(sha);
            while self.bytes > MAX_CACHED_BYTES {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                if let Some(b) = self.contents.remove(&old) {
                    self.bytes -= b.len();
                }
            }
        }
        self.point(sketch, sha);
    }

    /// Points `sketch`'s entries at the full object `reference` (so that what resembles a delta
    /// object is compressed against the same reference).
    pub fn point(&mut self, sketch: &[u64], reference: Sha256Digest) {
        if self.index.len() + sketch.len() > MAX_INDEX_ENTRIES {
            self.index.clear();
        }
        for entry in sketch {
            self.index.insert(*entry, reference);
        }
    }
}

/// `n` numbered clauses with pseudo-random reference numbers (so they do not compress to
/// nothing on their own), and `edit` inserted after the middle one: versions of one policy.
#[cfg(test)]
pub(crate) fn sample_policy(n: usize, edit: &str) -> String {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut s = String::new();
    for i in 0..n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        s.push_str(&format!("Clause {i}: reference {seed:016x} applies.\n"));
        if i == n / 2 {
            s.push_str(edit);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_damage_is_named() {
        let sha = Sha256Digest::of(b"reference");
        let h = header(&sha);
        assert_eq!(h.len(), 98);
        assert_eq!(parse_start(&h), Start::Delta(sha));
        assert_eq!(parse_start(b"\x28\xb5\x2f\xfdxyz"), Start::Plain);
        assert!(matches!(parse_start(&h[..50]), Start::BadHeader(_)));
        let mut upper = h;
        upper[40] = b'A';
        assert!(matches!(parse_start(&upper), Start::BadHeader(_)));
        let mut len = h;
        len[4] = 0;
        assert!(matches!(parse_start(&len), Start::BadHeader(_)));
        let mut nl = h;
        nl[97] = b' ';
        assert!(matches!(parse_start(&nl), Start::BadHeader(_)));
    }

    #[test]
    fn similar_texts_share_a_reference_and_different_ones_do_not() {
        let base: String = (0..200)
            .map(|i| format!("Section {i}: we process your data for purpose {i}.\n"))
            .collect();
        let edited = base.replace("purpose 17.", "purpose seventeen.");
        let other: String = (0..200)
            .map(|i| format!("Clause {i} of a different document entirely, {}.\n", i * 7))
            .collect();
        let mut refs = References::default();
        let sha = Sha256Digest::of(base.as_bytes());
        refs.add_full(sha, Arc::from(base.as_bytes()), &sketch(base.as_bytes()));
        assert_eq!(
            refs.choose(&sketch(edited.as_bytes())).map(|r| r.0),
            Some(sha)
        );
        assert_eq!(refs.choose(&sketch(other.as_bytes())).map(|r| r.0), None);
        assert!(eligible(base.as_bytes()));
        assert!(!eligible(b"short"));
        let mut dict = ZSTD_DICT_MAGIC.to_vec();
        dict.extend_from_slice(base.as_bytes());
        assert!(!eligible(&dict));
    }
}
