//! Key statements (`exhibit.key-statement/v1`): the signed, hash-chained history of an
//! archive's signing keys (docs/FORMAT.md §2.1).
//!
//! A `rotate` statement hands signing over from one key to the next at a log position: the
//! retiring key signed every leaf before `log_size` and every checkpoint up to that size, the
//! new key signs the rest. It is signed by both keys, so a reader who trusts either one learns
//! the other. A `revoke` statement, signed by the current key, says that a retired key is not to
//! be trusted from `compromised_since` on. An archive made with an offline root key
//! (`exhibit init --root-key`) starts its history with a `root` statement, signed by the root
//! and the first signing key; the root may then sign rotations and revocations in place of the
//! current key (a lost key can be replaced).
//!
//! This module is the byte form and the rules one statement must follow on its own; following
//! a chain of them with signatures is `exhibit_sign::history`.

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::manifest::{ManifestError, canonical_bytes_within, parse_json_within};

/// The largest statement file read: a statement is a few hundred bytes.
pub const MAX_KEY_STATEMENT_BYTES: usize = 64 << 10;

/// The most statements a history may hold (a bound for readers of hostile histories; an
/// archive rotating monthly for eighty years uses a tenth of it).
pub const MAX_KEY_STATEMENTS: usize = 10_000;

/// The `type` of a key statement.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyStatementType {
    /// The only version so far.
    #[serde(rename = "exhibit.key-statement/v1")]
    V1,
}

/// What a statement does.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum KeyAction {
    /// Signing passes from `key` to `new_key` at `log_size`.
    Rotate,
    /// `key` is not to be trusted from `compromised_since` on.
    Revoke,
    /// The first statement of an archive with a root key: `key` is the root, `new_key` the
    /// first signing key.
    Root,
}

impl KeyAction {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAction::Rotate => "rotate",
            KeyAction::Revoke => "revoke",
            KeyAction::Root => "root",
        }
    }
}

/// A key named in a statement: its fingerprint and its raw public key.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// `SHA256:…` fingerprint (docs/FORMAT.md §2).
    pub fingerprint: String,
    /// The 32-byte Ed25519 public key, 64 lowercase hex digits.
    pub public_key: String,
}

impl KeyRef {
    /// The 32 public key bytes, if `public_key` is 64 lowercase hex digits.
    pub fn key_bytes(&self) -> Option<[u8; 32]> {
        if self.public_key.len() != 64 || self.public_key.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(&self.public_key, &mut out).ok()?;
        Some(out)
    }
}

/// One key statement.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct KeyStatement {
    /// Schema name and version.
    #[serde(rename = "type")]
    pub statement_type: KeyStatementType,
    /// The archive's origin name.
    pub origin: String,
    /// Position in the history, from 1.
    pub sequence: u64,
    /// SHA-256 of the previous statement's bytes (null for the first).
    pub previous_sha256: Option<Sha256Digest>,
    /// What the statement does.
    pub action: KeyAction,
    /// `rotate`: the retiring key; `revoke`: the compromised key; `root`: the root key.
    pub key: KeyRef,
    /// `rotate`: the key that signs from `log_size` on; `root`: the first signing key; absent
    /// for `revoke`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key: Option<KeyRef>,
    /// The log's size when the statement was made: for `rotate`, the first leaf index the new
    /// key signs (and the largest checkpoint size the retiring key signs).
    pub log_size: u64,
    /// The root of the log at `log_size` (SHA-256 of the empty string for an empty log).
    pub log_root: Sha256Digest,
    /// `revoke`: from when on (RFC 3339 UTC, seconds) the key is not trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<String>,
    /// When the statement was made (RFC 3339 UTC, seconds), as claimed by its signers.
    pub created_at: String,
    /// Fingerprint of the key whose signature is `<n>.json.sig`: the retiring key (or the
    /// root) for a `rotate`, the current key (or the root) for a `revoke`, the root for `root`.
    pub signer: String,
}

impl KeyStatement {
    /// The canonical RFC 8785 bytes: what is stored and signed.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, ManifestError> {
        self.check()?;
        canonical_bytes_within(self, MAX_KEY_STATEMENT_BYTES)
    }

    /// Parses stored bytes, requiring the v1 schema, canonical form and consistency.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let s: KeyStatement = parse_json_within(bytes, MAX_KEY_STATEMENT_BYTES)?;
        if s.to_canonical_bytes()? != bytes {
            return Err(ManifestError::NotCanonical);
        }
        Ok(s)
    }

    /// Checks the rules one statement follows on its own.
    pub fn check(&self) -> Result<(), ManifestError> {
        let bad = |s: String| Err(ManifestError::Inconsistent(s));
        if self.origin.is_empty() {
            return bad("empty origin".into());
        }
        if self.sequence == 0 {
            return bad("sequence starts at 1".into());
        }
        if (self.sequence == 1) != self.previous_sha256.is_none() {
            return bad("previous_sha256 is null exactly for sequence 1".into());
        }
        if crate::time::parse_rfc3339_seconds(&self.created_at).is_none() {
            return bad(format!(
                "created_at {:?} is not RFC 3339 UTC with whole seconds",
                self.created_at
            ));
        }
        for k in std::iter::once(&self.key).chain(&self.new_key) {
            if k.key_bytes().is_none() {
                return bad(format!(
                    "public_key of {} is not 64 lowercase hex digits",
                    k.fingerprint
                ));
            }
        }
        match self.action {
            KeyAction::Rotate => {
                let Some(new) = &self.new_key else {
                    return bad("a rotate statement names its new_key".into());
                };
                if self.compromised_since.is_some() {
                    return bad("compromised_since belongs to revoke statements".into());
                }
                if new.public_key == self.key.public_key {
                    return bad("a rotation to the same key".into());
                }
                if self.signer == new.fingerprint {
                    return bad(
                        "a rotate statement is signed by its retiring key or the root, \
                                not by its new key"
                            .into(),
                    );
                }
            }
            KeyAction::Root => {
                let Some(first) = &self.new_key else {
                    return bad("a root statement names the first signing key as new_key".into());
                };
                if self.sequence != 1 {
                    return bad("a root statement is the first of a history".into());
                }
                if self.compromised_since.is_some() {
                    return bad("compromised_since belongs to revoke statements".into());
                }
                if first.public_key == self.key.public_key {
                    return bad("the root key cannot also be the signing key".into());
                }
                if self.signer != self.key.fingerprint {
                    return bad("a root statement is signed by the root key".into());
                }
            }
            KeyAction::Revoke => {
                if self.new_key.is_some() {
                    return bad("new_key belongs to rotate statements".into());
                }
                let since = self.compromised_since.as_deref().unwrap_or_default();
                if crate::time::parse_rfc3339_seconds(since).is_none() {
                    return bad(format!(
                        "compromised_since {since:?} is not RFC 3339 UTC with whole seconds"
                    ));
                }
                if self.signer == self.key.fingerprint {
                    return bad("a key cannot revoke itself: revoke it from the next key".into());
                }
            }
        }
        Ok(())
    }
}

/// The file name of statement `sequence` in a history directory: six digits at least
/// (`000001.json`).
pub fn statement_file(sequence: u64) -> String {
    format!("{sequence:06}.json")
}

/// The file beside a statement holding the signature of its `signer`.
pub fn signature_file(sequence: u64) -> String {
    format!("{sequence:06}.json.sig")
}

/// The file beside a `rotate` statement holding the new key's signature.
pub fn new_key_signature_file(sequence: u64) -> String {
    format!("{sequence:06}.json.new.sig")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotate() -> KeyStatement {
        KeyStatement {
            statement_type: KeyStatementType::V1,
            origin: "archive.example".into(),
            sequence: 1,
            previous_sha256: None,
            action: KeyAction::Rotate,
            key: KeyRef {
                fingerprint: "SHA256:old".into(),
                public_key: "11".repeat(32),
            },
            new_key: Some(KeyRef {
                fingerprint: "SHA256:new".into(),
                public_key: "22".repeat(32),
            }),
            log_size: 3,
            log_root: Sha256Digest([7; 32]),
            compromised_since: None,
            created_at: "2026-12-07T05:00:00Z".into(),
            signer: "SHA256:old".into(),
        }
    }

    #[test]
    fn round_trips_canonically() {
        let s = rotate();
        let bytes = s.to_canonical_bytes().unwrap();
        assert_eq!(KeyStatement::parse(&bytes).unwrap(), s);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"action\":\"rotate\""), "{text}");
        let mut spaced = bytes.clone();
        spaced.insert(1, b' ');
        assert!(KeyStatement::parse(&spaced).is_err());
    }

    #[test]
    fn refuses_inconsistent_statements() {
        type Change = Box<dyn Fn(&mut KeyStatement)>;
        let cases: Vec<(&str, Change)> = vec![
            ("sequence 0", Box::new(|s| s.sequence = 0)),
            (
                "first with previous",
                Box::new(|s| s.previous_sha256 = Some(Sha256Digest([1; 32]))),
            ),
            ("second without previous", Box::new(|s| s.sequence = 2)),
            ("no new key", Box::new(|s| s.new_key = None)),
            ("same key", Box::new(|s| s.new_key = Some(s.key.clone()))),
            (
                "signed by the new key",
                Box::new(|s| s.signer = "SHA256:new".into()),
            ),
            (
                "upper-case hex",
                Box::new(|s| s.key.public_key = "AA".repeat(32)),
            ),
            ("short key", Box::new(|s| s.key.public_key = "11".into())),
            ("bad time", Box::new(|s| s.created_at = "yesterday".into())),
            (
                "rotate with compromise",
                Box::new(|s| s.compromised_since = Some(s.created_at.clone())),
            ),
            (
                "revoke without time",
                Box::new(|s| {
                    s.action = KeyAction::Revoke;
                    s.new_key = None;
                    s.signer = "SHA256:new".into();
                }),
            ),
            (
                "revoke by itself",
                Box::new(|s| {
                    s.action = KeyAction::Revoke;
                    s.new_key = None;
                    s.compromised_since = Some(s.created_at.clone());
                }),
            ),
        ];
        for (what, change) in cases {
            let mut s = rotate();
            change(&mut s);
            assert!(s.check().is_err(), "{what} was accepted");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(statement_file(1), "000001.json");
        assert_eq!(signature_file(12), "000012.json.sig");
        assert_eq!(new_key_signature_file(1234567), "1234567.json.new.sig");
    }
}
