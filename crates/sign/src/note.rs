//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, compatible with Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more signature lines
//! `— <key name> base64(4-byte key hash || signature)`:
//!
//! ```text
//! example.com/log
//! 42
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```
//!
//! The Ed25519 signature is over exactly the note text (including its final newline, not the
//! blank line), so `openssl pkeyutl -verify -rawin` checks it given the text and the 64
//! signature bytes.
//!
//! ```
//! use exhibit_sign::SigningKey;
//! use exhibit_sign::note::{SignedNote, VerifierKey, sign_note, verifier_key};
//!
//! let key = SigningKey::generate()?;
//! let note = sign_note("example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
//!                      "example.com/log", &key)?;
//! let vkey = VerifierKey::parse(&verifier_key("example.com/log", &key.public_key()))?;
//! SignedNote::parse(&note)?.verify(&vkey.name, &vkey.key)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::key::{PublicKey, SigningKey};

/// Signature type byte for Ed25519 note keys.
pub const ALG_ED25519: u8 = 0x01;

/// The largest note [`SignedNote::parse`] accepts (1 MiB).
pub const MAX_NOTE_SIZE: usize = 1024 * 1024;

/// The most signature lines [`SignedNote::parse`] accepts (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The em dash and space that begin every signature line.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

/// Length in bytes of an Ed25519 signature.
pub(crate) const ED25519_SIG_LEN: usize = 64;

/// Key hash: first 4 bytes of SHA-256(name || "\n" || 0x01 || 32-byte public key), as a
/// big-endian u32. This is the key ID of the C2SP spec for Ed25519 keys.
pub fn key_hash(name: &str, key: &PublicKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The verifier key string `name+<8 hex key hash>+<base64(0x01 || pubkey)>`, as Go's
/// `note.NewEd25519VerifierKey` writes it.
pub fn verifier_key(name: &str, key: &PublicKey) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(ALG_ED25519);
    raw.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_hash(name, key),
        STANDARD.encode(raw)
    )
}

/// A parsed verifier key (`name+hash+base64(0x01 || pubkey)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    /// The key name.
    pub name: String,
    /// The key hash, checked to match `name` and `key`.
    pub hash: u32,
    /// The Ed25519 public key.
    pub key: PublicKey,
}

impl VerifierKey {
    /// The verifier key for `key` under `name`. Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: PublicKey) -> Result<VerifierKey, NoteError> {
        check_name(name)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            hash: key_hash(name, &key),
            key,
        })
    }

    /// Parse a verifier key string. The name must be valid, the hash exactly 8 hex digits
    /// matching the name and key, and the key `0x01` followed by a 32-byte Ed25519 point.
    pub fn parse(s: &str) -> Result<VerifierKey, NoteError> {
        let (name, hash, key) = parse_vkey(s, ALG_ED25519, key_hash)?;
        Ok(VerifierKey { name, hash, key })
    }
}

/// Parses a C2SP verifier key `name+<8 hex key ID>+base64(alg || 32-byte Ed25519 key)` whose
/// signature type is `alg` and whose key ID is `key_id(name, key)`: the one parser of vkeys,
/// for note signers (0x01) and cosigners (0x04).
pub(crate) fn parse_vkey(
    s: &str,
    alg: u8,
    key_id: fn(&str, &PublicKey) -> u32,
) -> Result<(String, u32, PublicKey), NoteError> {
    let bad = |reason: &'static str| NoteError::InvalidVerifierKey { reason };
    if s.len() > 1024 {
        return Err(bad("longer than 1024 bytes"));
    }
    let (name, rest) = s.split_once('+').ok_or(bad("expected `name+hash+key`"))?;
    let (hash_hex, key_b64) = rest
        .split_once('+')
        .ok_or(bad("expected `name+hash+key`"))?;
    check_name(name)?;
    if hash_hex.len() != 8 || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the key hash is not 8 hexadecimal digits"));
    }
    let hash = u32::from_str_radix(hash_hex, 16)
        .map_err(|_| bad("the key hash is not 8 hexadecimal digits"))?;
    let raw = STANDARD
        .decode(key_b64)
        .map_err(|_| bad("the key is not valid base64"))?;
    let (&found, key_bytes) = raw.split_first().ok_or(bad("the key is empty"))?;
    if found != alg {
        return Err(NoteError::UnsupportedAlgorithm {
            alg: found,
            expected: alg,
        });
    }
    let key_bytes: &[u8; 32] = key_bytes
        .try_into()
        .map_err(|_| bad("an Ed25519 key must be 32 bytes"))?;
    let key = PublicKey::from_bytes(key_bytes)
        .map_err(|_| bad("the key is not an Ed25519 curve point"))?;
    let expected = key_id(name, &key);
    if hash != expected {
        return Err(NoteError::KeyHashMismatch {
            found: hash,
            expected,
        });
    }
    Ok((name.to_owned(), hash, key))
}

impl fmt::Display for VerifierKey {
    /// Writes the verifier key string, as [`verifier_key`] does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&verifier_key(&self.name, &self.key))
    }
}

/// Signs `text` as a signed note with one Ed25519 signature: `text`, a blank line, and
/// `— name base64(4-byte key hash || 64-byte signature)`. The signature is over exactly
/// `text`.
///
/// `text` must be non-empty, end with a newline and contain no ASCII control character other
/// than newline (it may contain blank lines); `name` must be a valid key name (non-empty, no
/// spaces, no `+`).
pub fn sign_note(text: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_name(name)?;
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::NoFinalNewline);
    }
    check_controls(text)?;
    if text.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge {
            size: text.len(),
            limit: MAX_NOTE_SIZE,
        });
    }
    let signature = key.sign(text.as_bytes());
    let mut raw = Vec::with_capacity(4 + ED25519_SIG_LEN);
    raw.extend_from_slice(&key_hash(name, &key.public_key()).to_be_bytes());
    raw.extend_from_slice(signature.as_bytes());
    Ok(format!(
        "{text}\n{SIG_PREFIX}{name} {}\n",
        STANDARD.encode(raw)
    ))
}

/// A parsed signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The note text, including its final newline but not the blank line after it.
    pub text: String,
    /// The signature lines, in order. Signatures by unknown keys are kept.
    pub signatures: Vec<NoteSignature>,
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key hash (key ID), the first four bytes of the decoded signature.
    pub hash: u32,
    /// The signature proper, after the four-byte key hash (64 bytes for Ed25519).
    pub signature: Vec<u8>,
}

impl SignedNote {
    /// Parses a signed note.
    ///
    /// The note must be at most [`MAX_NOTE_SIZE`] bytes with at most [`MAX_SIGNATURES`]
    /// signature lines, contain no ASCII control character other than newline, and consist
    /// of a text ending in a newline, a blank line, and signature lines. As the spec says, the
    /// text is separated from the signatures by the *last* blank line, so the text may itself
    /// contain blank lines. Each signature line must be `— name base64`, with a valid key name
    /// and at least five decoded bytes. Signatures are not checked here; see
    /// [`SignedNote::verify`].
    pub fn parse(s: &str) -> Result<SignedNote, NoteError> {
        if s.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: s.len(),
                limit: MAX_NOTE_SIZE,
            });
        }
        check_controls(s)?;
        let split = s.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&s[..split + 1], &s[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        let Some(block) = block.strip_suffix('\n') else {
            return Err(NoteError::NoFinalNewline);
        };
        let mut signatures = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            let number = i + 1;
            if number > MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    limit: MAX_SIGNATURES,
                });
            }
            let bad = |reason| NoteError::MalformedSignatureLine {
                line: number,
                reason,
            };
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(bad("does not start with an em dash and a space"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(bad("expected `— name signature`"))?;
            if !valid_name(name) {
                return Err(bad("invalid key name"));
            }
            if b64.is_empty() {
                return Err(bad("the signature is empty"));
            }
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| bad("the signature is not valid base64"))?;
            if raw.len() < 5 {
                return Err(bad("the signature is shorter than five bytes"));
            }
            let (hash, signature) = raw.split_at(4);
            let hash = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                hash,
                signature: signature.to_vec(),
            });
        }
        Ok(SignedNote {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the note's signature by the Ed25519 key `key` named `name`.
    ///
    /// Every signature line whose name and key hash match (`name`, [`key_hash`]`(name, key)`)
    /// must verify over the text, and there must be at least one; lines from other keys are
    /// ignored, as the spec requires. Verification uses [`PublicKey::verify`] (the rules
    /// OpenSSL applies).
    pub fn verify(&self, name: &str, key: &PublicKey) -> Result<(), NoteError> {
        let hash = key_hash(name, key);
        let mut found = false;
        for sig in self
            .signatures
            .iter()
            .filter(|s| s.name == name && s.hash == hash)
        {
            found = true;
            if sig.signature.len() != ED25519_SIG_LEN {
                return Err(NoteError::SignatureLength {
                    name: exhibit_core::manifest::shorten(name, 80),
                    hash,
                    len: sig.signature.len(),
                });
            }
            key.verify(self.text.as_bytes(), &sig.signature)
                .map_err(|_| NoteError::SignatureInvalid {
                    name: exhibit_core::manifest::shorten(name, 80),
                    hash,
                })?;
        }
        if found {
            Ok(())
        } else {
            Err(NoteError::SignatureMissing {
                name: exhibit_core::manifest::shorten(name, 80),
                hash,
            })
        }
    }
}

/// An error parsing, signing or verifying a signed note or a verifier key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note text to sign is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The note text, or the signature block, does not end with a newline.
    #[error("note does not end with a newline")]
    NoFinalNewline,
    /// The note contains an ASCII control character other than newline.
    #[error("note contains the control character U+{code:04X} at byte {offset}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset in the note.
        offset: usize,
    },
    /// The note is larger than the limit.
    #[error("note is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The note's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The note has no blank line followed by signature lines.
    #[error("note has no blank line followed by signature lines")]
    NoSignatureBlock,
    /// A signature line is not `— name base64(key hash || signature)`.
    #[error("note signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// The 1-based number of the line within the signature block.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The note has more signature lines than the limit.
    #[error("note has more than {limit} signature lines")]
    TooManySignatures {
        /// The limit.
        limit: usize,
    },
    /// A key name is empty or contains a space or `+`.
    #[error("invalid key name {name:?}: it must be non-empty with no spaces and no `+`")]
    InvalidKeyName {
        /// The name (shortened if long).
        name: String,
    },
    /// A verifier key string is malformed.
    #[error("invalid verifier key: {reason}")]
    InvalidVerifierKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// A verifier key's hash does not match its name and key.
    #[error(
        "verifier key hash {found:08x} does not match its name and key (expected {expected:08x})"
    )]
    KeyHashMismatch {
        /// The hash in the string.
        found: u32,
        /// The hash computed from the name and key.
        expected: u32,
    },
    /// A verifier key has another signature type than the one expected.
    #[error(
        "verifier key signature type 0x{alg:02x} is not the one expected here (0x{expected:02x})"
    )]
    UnsupportedAlgorithm {
        /// The signature type byte.
        alg: u8,
        /// The type expected: 0x01 for a note signer, 0x04 for a cosigner.
        expected: u8,
    },
    /// A cosignature's time is not below 2^63 (C2SP tlog-cosignature).
    #[error("cosignature time {time} is not below 2^63")]
    CosignatureTime {
        /// The time given.
        time: u64,
    },
    /// The note has no signature line for the key.
    #[error("note has no signature by key {name}+{hash:08x}")]
    SignatureMissing {
        /// The key name (shortened if long).
        name: String,
        /// The key hash.
        hash: u32,
    },
    /// A signature line for the key has the wrong length for Ed25519.
    #[error("note signature by key {name}+{hash:08x} is {len} bytes, expected 64")]
    SignatureLength {
        /// The key name (shortened if long).
        name: String,
        /// The key hash.
        hash: u32,
        /// The signature's length after the key hash.
        len: usize,
    },
    /// A signature line for the key does not verify over the note text.
    #[error("note signature by key {name}+{hash:08x} does not verify")]
    SignatureInvalid {
        /// The key name (shortened if long).
        name: String,
        /// The key hash.
        hash: u32,
    },
}

/// A valid key name: non-empty, no Unicode white space, no `+`. (Control characters are
/// rejected too; a note cannot contain them anyway.)
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

pub(crate) fn check_name(name: &str) -> Result<(), NoteError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName {
            name: exhibit_core::manifest::shorten(name, 80),
        })
    }
}

/// Reject ASCII control characters other than newline.
fn check_controls(s: &str) -> Result<(), NoteError> {
    match s.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(NoteError::ControlCharacter {
            code: u32::from(s.as_bytes()[offset]),
            offset,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::generate().unwrap()
    }

    #[test]
    fn sign_parse_verify() {
        let k = key();
        let text = "a\n\nb\n";
        let note = sign_note(text, "example.com/x", &k).unwrap();
        let parsed = SignedNote::parse(&note).unwrap();
        assert_eq!(parsed.text, text);
        assert_eq!(parsed.signatures.len(), 1);
        assert_eq!(parsed.signatures[0].signature.len(), 64);
        parsed.verify("example.com/x", &k.public_key()).unwrap();
    }

    #[test]
    fn text_ending_in_blank_line() {
        let k = key();
        for text in ["\n", "a\n\n", "a\n\n\n"] {
            let note = sign_note(text, "n", &k).unwrap();
            let parsed = SignedNote::parse(&note).unwrap();
            assert_eq!(parsed.text, text);
            parsed.verify("n", &k.public_key()).unwrap();
        }
    }

    #[test]
    fn sign_rejects_bad_input() {
        let k = key();
        assert_eq!(sign_note("", "n", &k), Err(NoteError::EmptyText));
        assert_eq!(sign_note("a", "n", &k), Err(NoteError::NoFinalNewline));
        assert!(matches!(
            sign_note("a\tb\n", "n", &k),
            Err(NoteError::ControlCharacter { code: 9, offset: 1 })
        ));
        assert!(matches!(
            sign_note("a\r\n", "n", &k),
            Err(NoteError::ControlCharacter { .. })
        ));
        for name in ["", "a b", "a+b", "a\u{a0}b", "a\u{2003}b", "a\nb"] {
            assert!(
                matches!(
                    sign_note("a\n", name, &k),
                    Err(NoteError::InvalidKeyName { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn key_hash_matches_go_vector() {
        let vkey = VerifierKey::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        assert_eq!(vkey.hash, 0xc74f20a3);
        assert_eq!(key_hash("PeterNeumann", &vkey.key), 0xc74f20a3);
        assert_eq!(
            vkey.to_string(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
    }

    #[test]
    fn verifier_key_rejections() {
        let good = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let cases = [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a30+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW==",
            "PeterNeumann+c74f20a3+AhpTest",
            "PeterNeumann+c74f20a3+",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+x",
        ];
        assert!(VerifierKey::parse(good).is_ok());
        for c in cases {
            let err = VerifierKey::parse(c).unwrap_err();
            assert!(!err.to_string().contains('\n'), "{err}");
        }
        // Wrong algorithm byte, with an otherwise plausible key.
        let mut raw = vec![0x02];
        raw.extend_from_slice(&[9u8; 32]);
        let s = format!("n+00000000+{}", STANDARD.encode(raw));
        assert_eq!(
            VerifierKey::parse(&s),
            Err(NoteError::UnsupportedAlgorithm {
                alg: 2,
                expected: 1
            })
        );
        assert_eq!(
            VerifierKey::parse(&"a".repeat(2000)),
            Err(NoteError::InvalidVerifierKey {
                reason: "longer than 1024 bytes"
            })
        );
    }

    #[test]
    fn parse_rejections() {
        let k = key();
        let note = sign_note("t\n", "n", &k).unwrap();
        let sig_line = note.lines().last().unwrap().to_owned();
        let b64 = sig_line.split(' ').nth(2).unwrap().to_owned();
        let bad = [
            String::new(),
            "t\n".into(),
            "t\n\n".into(),
            format!("t\n\n{sig_line}"),      // no final newline
            format!("t\n\n{sig_line}\n\n"),  // blank line after signatures
            format!("t\n\n- n {b64}\n"),     // hyphen, not em dash
            format!("t\n\n—n {b64}\n"),      // no space after dash
            "t\n\n— n\n".into(),             // no signature
            "t\n\n— n \n".into(),            // empty signature
            format!("t\n\n—  {b64}\n"),      // empty name
            format!("t\n\n— a+b {b64}\n"),   // plus in name
            format!("t\n\n— n {b64} x\n"),   // trailing junk
            format!("t\n\n— n {b64}x\n"),    // bad base64
            "t\n\n— n AAAA\n".into(),        // three bytes
            "t\n\n— n AAAAAA==\n".into(),    // four bytes
            format!("t\r\n\n{sig_line}\n"),  // control character
            format!("t\n\n{sig_line}\r\n"),  // control character
            format!("t\n\n{sig_line}\nx\n"), // junk line in block
            format!("t\n\n \n{sig_line}\n"), // space-only line
        ];
        for b in &bad {
            let err = SignedNote::parse(b).unwrap_err();
            assert!(!err.to_string().contains('\n'), "{err}");
        }
        let many = format!(
            "t\n\n{}",
            format!("{sig_line}\n").repeat(MAX_SIGNATURES + 1)
        );
        assert_eq!(
            SignedNote::parse(&many),
            Err(NoteError::TooManySignatures {
                limit: MAX_SIGNATURES
            })
        );
        let ok = format!("t\n\n{}", format!("{sig_line}\n").repeat(MAX_SIGNATURES));
        let parsed = SignedNote::parse(&ok).unwrap();
        parsed.verify("n", &k.public_key()).unwrap();
        let big = format!("{}\n\n{sig_line}\n", "a".repeat(MAX_NOTE_SIZE));
        assert!(matches!(
            SignedNote::parse(&big),
            Err(NoteError::TooLarge { .. })
        ));
    }

    #[test]
    fn five_byte_signature_parses_but_fails_length() {
        let k = key();
        let name = "n";
        let hash = key_hash(name, &k.public_key());
        let mut raw = hash.to_be_bytes().to_vec();
        raw.push(0);
        let note = format!("t\n\n— {name} {}\n", STANDARD.encode(raw));
        let parsed = SignedNote::parse(&note).unwrap();
        assert!(matches!(
            parsed.verify(name, &k.public_key()),
            Err(NoteError::SignatureLength { len: 1, .. })
        ));
    }

    #[test]
    fn any_bad_matching_signature_fails() {
        let k = key();
        let good = sign_note("t\n", "n", &k).unwrap();
        let good_line = good.lines().last().unwrap();
        let other = sign_note("u\n", "n", &k).unwrap();
        let other_line = other.lines().last().unwrap();
        let note = format!("t\n\n{good_line}\n{other_line}\n");
        let parsed = SignedNote::parse(&note).unwrap();
        assert!(matches!(
            parsed.verify("n", &k.public_key()),
            Err(NoteError::SignatureInvalid { .. })
        ));
    }
}
