//! SHA-256 and BLAKE3 digests, the dual hasher used on every stored byte, and hash prefixes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

/// Errors from parsing a digest or a hash prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The text is not the expected number of hex digits.
    #[error("{what} must be {expected} hex digits, got {got} characters")]
    Length {
        /// What was being parsed ("SHA-256", "BLAKE3", "hash prefix").
        what: &'static str,
        /// The expected length description.
        expected: &'static str,
        /// The number of characters found.
        got: usize,
    },
    /// A character that is not a hex digit.
    #[error("{what} contains {ch:?}, which is not a hex digit")]
    NotHex {
        /// What was being parsed.
        what: &'static str,
        /// The offending character.
        ch: char,
    },
}

/// The value of each byte as a hex digit (either case), or [`NOT_HEX`].
const HEX_VALUES: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

fn parse_hex32(what: &'static str, s: &str) -> Result<[u8; 32], DigestError> {
    // One pass over 64 hex digits (the common case); anything else is explained below.
    let bytes = s.as_bytes();
    if bytes.len() == 64 {
        let mut out = [0u8; 32];
        let mut bad = false;
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (hi, lo) = (HEX_VALUES[pair[0] as usize], HEX_VALUES[pair[1] as usize]);
            bad |= (hi | lo) & 0xf0 != 0;
            *o = (hi << 4) | (lo & 0x0f);
        }
        if !bad {
            return Ok(out);
        }
    }
    if let Some(ch) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(DigestError::NotHex { what, ch });
    }
    Err(DigestError::Length {
        what,
        expected: "64",
        got: s.chars().count(),
    })
}

/// Deserialises a digest's hex string as `String` does (and with its errors), without
/// allocating one: manifests are canonical, so only the lower-case form is accepted.
struct HexVisitor {
    what: &'static str,
    not_lower: &'static str,
}

impl serde::de::Visitor<'_> for HexVisitor {
    type Value = [u8; 32];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<[u8; 32], E> {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(E::custom(self.not_lower));
        }
        parse_hex32(self.what, s).map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; 32], E> {
        match std::str::from_utf8(v) {
            Ok(s) => self.visit_str(s),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
        }
    }
}

macro_rules! digest_type {
    ($name:ident, $what:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Displayed and serialised as 64 lower-case hex digits.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// The 64-digit lower-case hex form.
            pub fn to_hex(&self) -> String {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                let mut out = [0u8; 64];
                for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
                    pair[0] = DIGITS[usize::from(byte >> 4)];
                    pair[1] = DIGITS[usize::from(byte & 0x0f)];
                }
                out.iter().map(|&d| char::from(d)).collect()
            }
            /// The first `n` hex digits (at most 64), as filings print truncated hashes.
            pub fn short(&self, n: usize) -> String {
                let mut s = self.to_hex();
                s.truncate(n.min(64));
                s
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = DigestError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex32($what, s).map($name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_string(HexVisitor {
                    what: $what,
                    not_lower: concat!($what, " must be lower-case hex"),
                })
                .map($name)
            }
        }
    };
}

digest_type!(
    Sha256Digest,
    "SHA-256",
    "A SHA-256 digest: the content hash that citations print."
);
digest_type!(
    Blake3Digest,
    "BLAKE3",
    "A BLAKE3-256 digest: the second, independent fixity value."
);

impl Sha256Digest {
    /// SHA-256 of `data`.
    pub fn of(data: &[u8]) -> Self {
        Sha256Digest(sha2::Sha256::digest(data).into())
    }
}

impl Blake3Digest {
    /// BLAKE3 of `data`.
    pub fn of(data: &[u8]) -> Self {
        Blake3Digest(*blake3::hash(data).as_bytes())
    }
}

/// Computes SHA-256, BLAKE3 and the length of a byte stream in one pass.
#[derive(Clone, Default)]
pub struct DualHasher {
    sha256: sha2::Sha256,
    blake3: blake3::Hasher,
    len: u64,
}

impl DualHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.blake3.update(data);
        self.len += data.len() as u64;
    }

    /// Number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digests and length of everything fed.
    pub fn finish(self) -> (Sha256Digest, Blake3Digest, u64) {
        (
            Sha256Digest(self.sha256.finalize().into()),
            Blake3Digest(*self.blake3.finalize().as_bytes()),
            self.len,
        )
    }
}

/// A (possibly truncated) hex hash as pasted from a filing: 8 to 64 hex digits, lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct HashPrefix(String);

impl HashPrefix {
    /// The fewest hex digits accepted: shorter prefixes match too much by chance.
    pub const MIN_LEN: usize = 8;

    /// Parses a prefix, tolerating what filings add around it: surrounding spaces and a trailing
    /// `…` or `...`.
    pub fn parse(input: &str) -> Result<Self, DigestError> {
        let s = input
            .trim()
            .trim_end_matches('…')
            .trim_end_matches("...")
            .trim_end();
        if let Some(ch) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(DigestError::NotHex {
                what: "hash prefix",
                ch,
            });
        }
        let n = s.len();
        if !(Self::MIN_LEN..=64).contains(&n) {
            return Err(DigestError::Length {
                what: "hash prefix",
                expected: "8 to 64",
                got: n,
            });
        }
        Ok(HashPrefix(s.to_ascii_lowercase()))
    }

    /// The lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the prefix is a complete 64-digit hash.
    pub fn is_full(&self) -> bool {
        self.0.len() == 64
    }

    /// Whether `digest_hex` (lower-case hex) starts with this prefix.
    pub fn matches(&self, digest_hex: &str) -> bool {
        digest_hex.starts_with(&self.0)
    }

    /// The half-open range `[low, high)` of lower-case hex strings that start with this prefix,
    /// for index range scans. `high` is `None` when the prefix is all `f`s.
    pub fn range(&self) -> (String, Option<String>) {
        let low = self.0.clone();
        let mut digits: Vec<u8> = self.0.bytes().collect();
        while let Some(last) = digits.pop() {
            if last != b'f' {
                let next = match last {
                    b'9' => b'a',
                    other => other + 1,
                };
                digits.push(next);
                return (low, Some(String::from_utf8_lossy(&digits).into_owned()));
            }
        }
        (low, None)
    }
}

impl fmt::Display for HashPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_matches_fips_180_vector() {
        assert_eq!(
            Sha256Digest::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn dual_hasher_matches_one_shot_hashes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = DualHasher::new();
        for chunk in data.chunks(777) {
            h.update(chunk);
        }
        let (s, b, n) = h.finish();
        assert_eq!(s, Sha256Digest::of(&data));
        assert_eq!(b, Blake3Digest::of(&data));
        assert_eq!(n, data.len() as u64);
    }

    #[test]
    fn digest_parse_round_trips_and_rejects_bad_input() {
        let d = Sha256Digest::of(b"x");
        assert_eq!(d.to_hex().parse::<Sha256Digest>().unwrap(), d);
        assert!("abc".parse::<Sha256Digest>().is_err());
        assert!("zz".repeat(32).parse::<Sha256Digest>().is_err());
        assert!("é".repeat(32).parse::<Sha256Digest>().is_err());
    }

    #[test]
    fn digest_parse_errors_say_what_is_wrong_and_serde_wants_lower_case() {
        let hex = Sha256Digest::of(b"x").to_hex();
        let upper = hex.to_uppercase();
        assert_eq!(upper.parse::<Sha256Digest>().unwrap().to_hex(), hex);
        let not_hex = |s: &str, ch| {
            let e = s.parse::<Sha256Digest>().unwrap_err();
            assert_eq!(
                e,
                DigestError::NotHex {
                    what: "SHA-256",
                    ch
                },
                "{s}"
            );
        };
        not_hex(&format!("{}g", &hex[..63]), 'g');
        not_hex(&format!("g{}", &hex[1..]), 'g');
        not_hex(&format!("{}é", &hex[..62]), 'é');
        not_hex(&format!("{hex} "), ' ');
        let length = |s: &str, got| {
            let e = s.parse::<Blake3Digest>().unwrap_err();
            assert_eq!(
                e,
                DigestError::Length {
                    what: "BLAKE3",
                    expected: "64",
                    got
                },
                "{s}"
            );
        };
        length("", 0);
        length(&hex[..63], 63);
        length(&format!("{hex}0"), 65);
        let quoted = |s: &str| format!("\"{s}\"");
        let d: Sha256Digest = serde_json::from_str(&quoted(&hex)).unwrap();
        assert_eq!(d.to_hex(), hex);
        let e = serde_json::from_str::<Sha256Digest>(&quoted(&upper)).unwrap_err();
        assert!(
            e.to_string().starts_with("SHA-256 must be lower-case hex"),
            "{e}"
        );
        let e = serde_json::from_str::<Sha256Digest>(&quoted(&hex[..10])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("SHA-256 must be 64 hex digits, got 10"),
            "{e}"
        );
        let e = serde_json::from_str::<Sha256Digest>("5").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid type: integer `5`, expected a string"),
            "{e}"
        );
        // An escaped string (not borrowed from the input) too.
        let escaped = format!("\"\\u0030{}\"", &hex[1..]);
        let d: Sha256Digest = serde_json::from_str(&escaped).unwrap();
        assert_eq!(d.to_hex(), format!("0{}", &hex[1..]));
    }

    #[test]
    fn prefix_accepts_filing_forms() {
        for s in [
            "4abc7ff0d7779bee…",
            "4abc7ff0d7779bee...",
            "  4ABC7FF0D7779BEE ",
            "4abc7ff0d7779bee",
        ] {
            assert_eq!(HashPrefix::parse(s).unwrap().as_str(), "4abc7ff0d7779bee");
        }
        assert!(HashPrefix::parse("4abc7ff").is_err());
        assert!(HashPrefix::parse("4abc7ff0g").is_err());
        assert!(HashPrefix::parse(&"a".repeat(65)).is_err());
        assert!(HashPrefix::parse("").is_err());
    }

    #[test]
    fn prefix_range_bounds_exactly_the_matching_hashes() {
        let p = HashPrefix::parse("0123456f").unwrap();
        assert_eq!(p.range(), ("0123456f".into(), Some("0123457".into())));
        let p = HashPrefix::parse("abcdef99").unwrap();
        assert_eq!(p.range().1.as_deref(), Some("abcdef9a"));
        let p = HashPrefix::parse("ffffffff").unwrap();
        assert_eq!(p.range().1, None);
    }

    proptest::proptest! {
        #[test]
        fn prefix_range_contains_exactly_the_matches(data in proptest::collection::vec(0u8..=255, 0..64), other in proptest::collection::vec(0u8..=255, 0..64), len in 8usize..=64) {
            let full = Sha256Digest::of(&data).to_hex();
            let probe = Sha256Digest::of(&other).to_hex();
            let p = HashPrefix::parse(&full[..len]).unwrap();
            for h in [&full, &probe] {
                let (low, high) = p.range();
                let in_range = h.as_str() >= low.as_str() && high.as_deref().is_none_or(|hi| h.as_str() < hi);
                proptest::prop_assert_eq!(in_range, p.matches(h));
            }
        }
    }
}
