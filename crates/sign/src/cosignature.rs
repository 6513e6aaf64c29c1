//! C2SP checkpoint cosignatures with Ed25519 (<https://c2sp.org/tlog-cosignature>,
//! `cosignature/v1`): what a witness signs to say "as of this time, this is the largest tree of
//! this log I have seen, and it is consistent with everything I saw before".
//!
//! A cosignature is a note signature line on the checkpoint,
//! `— <witness name> base64(key ID ‖ timestamp ‖ signature)`, where the key ID is the first 4
//! bytes of SHA-256(`name` ‖ `"\n"` ‖ 0x04 ‖ public key), the timestamp 8 bytes big-endian
//! (POSIX seconds), and the Ed25519 signature is over
//!
//! ```text
//! cosignature/v1
//! time <timestamp, decimal>
//! <the checkpoint text, every line of it, with its final newline>
//! ```
//!
//! ```
//! use exhibit_sign::SigningKey;
//! use exhibit_sign::cosignature::{CosignerKey, cosign, verify_cosignature};
//! use exhibit_sign::note::SignedNote;
//!
//! let log = SigningKey::generate()?;
//! let note = exhibit_sign::note::sign_note("example.com/log\n1\nAAAA\n", "example.com/log", &log)?;
//! let witness = SigningKey::generate()?;
//! let line = cosign("example.com/log\n1\nAAAA\n", "witness.example/w1", &witness, 1_700_000_000)?;
//! let cosigned = format!("{note}{line}");
//! let key = CosignerKey::new("witness.example/w1", witness.public_key())?;
//! assert_eq!(verify_cosignature(&SignedNote::parse(&cosigned)?, &key)?, 1_700_000_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::note::{ED25519_SIG_LEN, NoteError, SIG_PREFIX, SignedNote, check_name, parse_vkey};
use crate::{PublicKey, SigningKey};

/// The signature type byte of Ed25519 `cosignature/v1` keys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The length of a cosignature after its key ID: an 8-byte timestamp and a 64-byte signature.
pub const COSIGNATURE_LEN: usize = 8 + ED25519_SIG_LEN;

/// The key ID of the cosigner `name` with `key`: the first 4 bytes of
/// SHA-256(`name` ‖ `"\n"` ‖ 0x04 ‖ key), big-endian.
pub fn cosigner_key_id(name: &str, key: &PublicKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_COSIGNATURE_V1]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A witness's public key under its name: the vkey `name+<key ID>+base64(0x04 ‖ key)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CosignerKey {
    /// The witness's name (a schema-less URL, by convention).
    pub name: String,
    /// The key ID, checked to match `name` and `key`.
    pub id: u32,
    /// The Ed25519 public key.
    pub key: PublicKey,
}

impl CosignerKey {
    /// The cosigner key for `key` under `name`. Fails if `name` is not a valid key name.
    pub fn new(name: &str, key: PublicKey) -> Result<CosignerKey, NoteError> {
        check_name(name)?;
        Ok(CosignerKey {
            name: name.to_owned(),
            id: cosigner_key_id(name, &key),
            key,
        })
    }

    /// Parses a cosigner vkey: a valid name, 8 hex digits of key ID matching the name and key,
    /// and base64 of 0x04 followed by a 32-byte Ed25519 point.
    pub fn parse(s: &str) -> Result<CosignerKey, NoteError> {
        let (name, id, key) = parse_vkey(s, ALG_COSIGNATURE_V1, cosigner_key_id)?;
        Ok(CosignerKey { name, id, key })
    }
}

impl fmt::Display for CosignerKey {
    /// Writes the vkey string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_COSIGNATURE_V1);
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, STANDARD.encode(raw))
    }
}

/// The message a `cosignature/v1` signs for the checkpoint `text` at `timestamp`.
fn message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// Cosigns the checkpoint `text` (the note text: its lines with the final newline, no
/// signatures) as the witness `name` with `key` at `timestamp`: returns the signature line,
/// `— name base64(…)` with its newline, to append to the signed note.
pub fn cosign(
    text: &str,
    name: &str,
    key: &SigningKey,
    timestamp: u64,
) -> Result<String, NoteError> {
    check_name(name)?;
    if timestamp > i64::MAX as u64 {
        return Err(NoteError::CosignatureTime { time: timestamp });
    }
    let signature = key.sign(&message(text, timestamp));
    let mut raw = Vec::with_capacity(4 + COSIGNATURE_LEN);
    raw.extend_from_slice(&cosigner_key_id(name, &key.public_key()).to_be_bytes());
    raw.extend_from_slice(&timestamp.to_be_bytes());
    raw.extend_from_slice(signature.as_bytes());
    Ok(format!("{SIG_PREFIX}{name} {}\n", STANDARD.encode(raw)))
}

/// Verifies the cosignatures by `key` on `note`: every line with its name and key ID must be
/// a valid `cosignature/v1` over the note's text, and there must be at least one. Returns the
/// latest of their times. Lines from other keys are ignored.
pub fn verify_cosignature(note: &SignedNote, key: &CosignerKey) -> Result<u64, NoteError> {
    let short = || exhibit_core::manifest::shorten(&key.name, 80);
    let mut latest = None;
    for sig in note
        .signatures
        .iter()
        .filter(|s| s.name == key.name && s.hash == key.id)
    {
        if sig.signature.len() != COSIGNATURE_LEN {
            return Err(NoteError::SignatureLength {
                name: short(),
                hash: key.id,
                len: sig.signature.len(),
            });
        }
        let (time, signature) = sig.signature.split_at(8);
        let mut t = [0u8; 8];
        t.copy_from_slice(time);
        let timestamp = u64::from_be_bytes(t);
        if timestamp > i64::MAX as u64 {
            return Err(NoteError::SignatureInvalid {
                name: short(),
                hash: key.id,
            });
        }
        key.key
            .verify(&message(&note.text, timestamp), signature)
            .map_err(|_| NoteError::SignatureInvalid {
                name: short(),
                hash: key.id,
            })?;
        latest = latest.max(Some(timestamp));
    }
    latest.ok_or_else(|| NoteError::SignatureMissing {
        name: short(),
        hash: key.id,
    })
}

/// Verifies `line`, one note signature line (with or without its newline), as a cosignature
/// by `key` on the signed checkpoint `note`: the one check of a cosignature kept apart from its
/// checkpoint (in a `.cosig` file, or a witness's answer). Returns its time.
pub fn verify_cosignature_line(
    note: &str,
    line: &str,
    key: &CosignerKey,
) -> Result<u64, NoteError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.contains('\n') {
        return Err(NoteError::MalformedSignatureLine {
            line: 1,
            reason: "a cosignature is one line",
        });
    }
    verify_cosignature(&SignedNote::parse(&format!("{note}{line}\n"))?, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::sign_note;

    const TEXT: &str = "example.com/log\n5\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n";

    fn cosigned() -> (String, CosignerKey, SigningKey) {
        let log = SigningKey::generate().unwrap();
        let witness = SigningKey::generate().unwrap();
        let note = sign_note(TEXT, "example.com/log", &log).unwrap();
        let line = cosign(TEXT, "w.example/1", &witness, 1_679_315_147).unwrap();
        let key = CosignerKey::new("w.example/1", witness.public_key()).unwrap();
        (format!("{note}{line}"), key, witness)
    }

    #[test]
    fn a_cosignature_verifies_with_its_time_and_its_vkey_round_trips() {
        let (note, key, _) = cosigned();
        let parsed = SignedNote::parse(&note).unwrap();
        assert_eq!(verify_cosignature(&parsed, &key).unwrap(), 1_679_315_147);
        let vkey = key.to_string();
        assert!(vkey.starts_with("w.example/1+"), "{vkey}");
        assert_eq!(CosignerKey::parse(&vkey).unwrap(), key);
        // A note signer's vkey (0x01) is not a cosigner's, nor the other way round.
        let e = crate::note::VerifierKey::parse(&vkey).unwrap_err();
        assert!(
            matches!(e, NoteError::UnsupportedAlgorithm { alg: 4, .. }),
            "{e}"
        );
    }

    #[test]
    fn a_changed_checkpoint_time_or_key_fails() {
        let (note, key, _) = cosigned();
        // Another root under the same signatures.
        let other = note.replace("sFodV", "tFodV");
        let parsed = SignedNote::parse(&other).unwrap();
        assert!(matches!(
            verify_cosignature(&parsed, &key),
            Err(NoteError::SignatureInvalid { .. })
        ));
        // Another time: rewrite the timestamp bytes of the cosignature.
        let mut parsed = SignedNote::parse(&note).unwrap();
        let sig = parsed.signatures.last_mut().unwrap();
        sig.signature[7] ^= 1;
        assert!(verify_cosignature(&parsed, &key).is_err());
        // A key that did not cosign: missing, not invalid.
        let stranger =
            CosignerKey::new("w.example/1", SigningKey::generate().unwrap().public_key()).unwrap();
        let parsed = SignedNote::parse(&note).unwrap();
        assert!(matches!(
            verify_cosignature(&parsed, &stranger),
            Err(NoteError::SignatureMissing { .. })
        ));
    }

    #[test]
    fn the_signed_message_is_the_specs() {
        // The message layout of c2sp.org/tlog-cosignature, checked by recomputing a signature
        // over the spec's example message with the same key.
        let (_, _, witness) = cosigned();
        let line = cosign(TEXT, "w.example/1", &witness, 1_679_315_147).unwrap();
        let raw = STANDARD
            .decode(line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        let spec_message = format!("cosignature/v1\ntime 1679315147\n{TEXT}");
        witness
            .public_key()
            .verify(spec_message.as_bytes(), &raw[12..])
            .unwrap();
        assert_eq!(&raw[4..12], &1_679_315_147u64.to_be_bytes());
    }
}
