//! A segment of an archive's log in an S3 bucket (docs/FORMAT.md §5.1): `log/segments/<first index>`, the
//! leaves one push appended, one line per leaf:
//!
//! ```text
//! <leaf index> SP <record id> SP <leaf hash, 64 lower-case hex> LF
//! ```
//!
//! An object can not be appended to, so the bucket holds the log as write-once segments; the
//! first writer of a segment's key owns those positions (`If-None-Match: *`), which is what keeps
//! two hosts from ever writing two different leaves at one index. The record id says which
//! manifest the leaf is, so a host pulling the log fetches exactly the records it lacks; the
//! leaf hash is checked against the manifest fetched ([`exhibit_core::merkle::leaf_hash`]).

use crate::merkle::Hash;
use crate::{IdPrefix, RecordId};

/// Largest segment read: 1M leaves of the longest lines.
pub const MAX_SEGMENT_BYTES: u64 = 160 << 20;

/// One leaf of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its index in the log.
    pub index: u64,
    /// The record whose manifest it is.
    pub id: RecordId,
    /// The leaf hash.
    pub leaf: Hash,
}

/// The segment's bytes.
pub fn format(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 96);
    for e in entries {
        out.extend_from_slice(format!("{} {} {}\n", e.index, e.id, hex::encode(e.leaf)).as_bytes());
    }
    out
}

/// Parses the segment whose key names `start`: at least one line, indexes `start`, `start + 1`,
/// …, ids of the archive's prefix and of kinds that have manifests, each line exactly as
/// [`format`] writes it. The error names the line and the problem.
pub fn parse(start: u64, bytes: &[u8], prefix: &IdPrefix) -> Result<Vec<Entry>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "is not UTF-8".to_string())?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| "is empty or does not end with a newline".to_string())?;
    let mut out = Vec::new();
    for (n, line) in body.split('\n').enumerate() {
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let mut fields = line.split(' ');
        let (Some(index), Some(id), Some(leaf), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("is not '<index> <record id> <leaf hash>'"));
        };
        let want = start + out.len() as u64;
        if index != want.to_string() {
            return Err(bad(&format!("index {index:?} should be {want}")));
        }
        let written = id;
        let id: RecordId = id
            .parse()
            .map_err(|_| bad(&format!("{written:?} is not a record id")))?;
        // Ids are parsed leniently where people type them; a segment holds them as written
        // by `format` only, so that its bytes say one thing one way.
        if id.to_string() != written {
            return Err(bad(&format!("{written:?} is not written as {id}")));
        }
        if id.prefix() != prefix.as_str() || !id.kind().has_manifest() {
            return Err(bad(&format!(
                "{id} is not a record of this archive with a manifest"
            )));
        }
        let mut hash = [0u8; 32];
        if leaf.len() != 64
            || !leaf.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            || hex::decode_to_slice(leaf, &mut hash).is_err()
        {
            return Err(bad("the leaf hash is not 64 lower-case hex digits"));
        }
        out.push(Entry {
            index: want,
            id,
            leaf: hash,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordKind;

    fn prefix() -> IdPrefix {
        IdPrefix::new("EX").unwrap()
    }

    #[test]
    fn round_trip_and_strictness() {
        let p = prefix();
        let entries: Vec<Entry> = (0..3)
            .map(|i| Entry {
                index: 7 + i,
                id: RecordId::new(&p, RecordKind::Capture, 40 + i),
                leaf: [i as u8; 32],
            })
            .collect();
        let bytes = format(&entries);
        assert_eq!(parse(7, &bytes, &p).unwrap(), entries);
        // Another start, a gap, a foreign prefix, a document id, upper-case hex, no newline.
        assert!(parse(6, &bytes, &p).is_err());
        let text = String::from_utf8(bytes.clone()).unwrap();
        for bad in [
            text.replacen("8 ", "9 ", 1),
            text.replace("EX-", "XY-"),
            text.replacen("EX-C-000040", "EX-D-000040", 1),
            text.replacen(&"00".repeat(32), &"0A".repeat(32), 1),
            text.trim_end().to_string(),
            String::new(),
            text.replacen(' ', "  ", 1),
            // Ids as people may type them, not as a segment writes them (found by the fuzzer).
            text.replacen("EX-C-000041", "EX-c-000041", 1),
            text.replacen("EX-C-000041", "EX-C-41", 1),
            text.replacen("EX-C-000041", "EX-C-0000041", 1),
        ] {
            assert!(parse(7, bad.as_bytes(), &p).is_err(), "{bad:?}");
        }
    }
}
