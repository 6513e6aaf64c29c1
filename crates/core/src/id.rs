//! Record identifiers: `EX-C-000042` = archive prefix, record kind, sequence number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Errors from parsing identifiers and prefixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The archive prefix is not 1–12 ASCII letters or digits starting with a letter.
    #[error(
        "id prefix {0:?} must be 1 to 12 ASCII letters or digits, starting with a letter (e.g. EX)"
    )]
    BadPrefix(String),
    /// The text does not have the `PREFIX-K-NNNNNN` shape.
    #[error("{0:?} is not a record id (expected the form EX-C-000042)")]
    Malformed(String),
    /// The kind letter is not one of D, C, V, P, R.
    #[error("{input:?}: unknown record kind {kind:?} (expected D, C, V, P or R)")]
    UnknownKind {
        /// The whole id as given.
        input: String,
        /// The kind part.
        kind: String,
    },
}

/// The per-archive id prefix (`EX` by default), chosen at `init`. Always upper case.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct IdPrefix(String);

impl IdPrefix {
    /// Validates and upper-cases a prefix.
    pub fn new(s: &str) -> Result<Self, IdError> {
        let ok = (1..=12).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric())
            && s.as_bytes()[0].is_ascii_alphabetic();
        if ok {
            Ok(IdPrefix(s.to_ascii_uppercase()))
        } else {
            Err(IdError::BadPrefix(s.to_owned()))
        }
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for IdPrefix {
    fn default() -> Self {
        IdPrefix("EX".to_owned())
    }
}

impl fmt::Display for IdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of record an archive holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum RecordKind {
    /// A document tracked over time (`D`).
    Document,
    /// One acquisition of a document (`C`), successful or failed.
    Capture,
    /// One distinct extracted text of a document (`V`).
    Version,
    /// A quoted excerpt of a version (`P`).
    Provision,
    /// A re-extraction of a document's texts under new rules or a new extractor (`R`).
    Reextraction,
}

impl RecordKind {
    /// The single letter used in ids.
    pub fn letter(self) -> char {
        match self {
            RecordKind::Document => 'D',
            RecordKind::Capture => 'C',
            RecordKind::Version => 'V',
            RecordKind::Provision => 'P',
            RecordKind::Reextraction => 'R',
        }
    }

    /// The kind for an id letter (case-insensitive).
    pub fn from_letter(c: char) -> Option<Self> {
        match c.to_ascii_uppercase() {
            'D' => Some(RecordKind::Document),
            'C' => Some(RecordKind::Capture),
            'V' => Some(RecordKind::Version),
            'P' => Some(RecordKind::Provision),
            'R' => Some(RecordKind::Reextraction),
            _ => None,
        }
    }

    /// Whether records of this kind are signed manifests of their own (captures, provisions,
    /// re-extractions; documents and versions are catalog rows), hence log leaves.
    pub fn has_manifest(self) -> bool {
        matches!(
            self,
            RecordKind::Capture | RecordKind::Provision | RecordKind::Reextraction
        )
    }

    /// A lower-case English name ("capture").
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Document => "document",
            RecordKind::Capture => "capture",
            RecordKind::Version => "version",
            RecordKind::Provision => "provision",
            RecordKind::Reextraction => "re-extraction",
        }
    }
}

/// A record id such as `EX-C-000042`.
///
/// Numbers start at 1, are sequential per kind within an archive and are printed zero-padded to
/// at least six digits. Parsing is case-insensitive and accepts any padding; display is canonical.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct RecordId {
    prefix: String,
    kind: RecordKind,
    number: u64,
}

impl RecordId {
    /// Builds an id. `number` must be at least 1.
    pub fn new(prefix: &IdPrefix, kind: RecordKind, number: u64) -> Self {
        RecordId {
            prefix: prefix.0.clone(),
            kind,
            number,
        }
    }

    /// The archive prefix part.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The record kind.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The sequence number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Whether `s` looks like an id rather than a hash prefix (it contains a `-`).
    pub fn looks_like_id(s: &str) -> bool {
        s.contains('-')
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:06}",
            self.prefix,
            self.kind.letter(),
            self.number
        )
    }
}

impl FromStr for RecordId {
    type Err = IdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        let malformed = || IdError::Malformed(input.to_owned());
        let mut parts = s.rsplitn(3, '-');
        let (num, kind, prefix) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(k), Some(p)) => (n, k, p),
            _ => return Err(malformed()),
        };
        let prefix = IdPrefix::new(prefix).map_err(|_| malformed())?;
        if num.is_empty() || num.len() > 20 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let mut kind_chars = kind.chars();
        let kind = match (kind_chars.next(), kind_chars.next()) {
            (Some(c), None) => RecordKind::from_letter(c).ok_or_else(|| IdError::UnknownKind {
                input: input.to_owned(),
                kind: kind.to_owned(),
            })?,
            _ => {
                return Err(IdError::UnknownKind {
                    input: input.to_owned(),
                    kind: kind.to_owned(),
                });
            }
        };
        let number: u64 = num.parse().map_err(|_| malformed())?;
        if number == 0 {
            return Err(malformed());
        }
        Ok(RecordId {
            prefix: prefix.0,
            kind,
            number,
        })
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let id: RecordId = s.parse().map_err(serde::de::Error::custom)?;
        // Inside signed manifests only the canonical spelling is accepted.
        if id.to_string() != s {
            return Err(serde::de::Error::custom(format!(
                "record id {s:?} is not in canonical form ({id})"
            )));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_padded_and_parse_leniently() {
        let id = RecordId::new(&IdPrefix::default(), RecordKind::Capture, 42);
        assert_eq!(id.to_string(), "EX-C-000042");
        assert_eq!("ex-c-42".parse::<RecordId>().unwrap(), id);
        assert_eq!(" EX-C-000042 ".parse::<RecordId>().unwrap(), id);
        let big = RecordId::new(
            &IdPrefix::new("CA").unwrap(),
            RecordKind::Provision,
            1234567,
        );
        assert_eq!(big.to_string(), "CA-P-1234567");
        assert_eq!(big.to_string().parse::<RecordId>().unwrap(), big);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "EX",
            "EX-C",
            "EX-C-",
            "EX-C-0",
            "EX-X-000001",
            "EX-CC-000001",
            "-C-000001",
            "EX-C-12a",
            "EX-C-99999999999999999999999",
            "1X-C-000001",
        ] {
            assert!(bad.parse::<RecordId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn prefixes_are_validated() {
        assert_eq!(IdPrefix::new("ex").unwrap().as_str(), "EX");
        assert!(IdPrefix::new("").is_err());
        assert!(IdPrefix::new("E-X").is_err());
        assert!(IdPrefix::new("9X").is_err());
        assert!(IdPrefix::new("ABCDEFGHIJKLM").is_err());
    }
}
