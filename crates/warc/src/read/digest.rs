//! Digest fields (`WARC-Block-Digest`, `WARC-Payload-Digest`, WARC 1.1 §5.8): `algorithm:value`
//! with SHA-1 or SHA-256 in hex or RFC 4648 base32, and the hashes that check them.

use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use super::fields::shown;

/// A digest as a WARC field gives it.
pub(super) struct Expected {
    pub(super) algorithm: &'static str,
    pub(super) value: Vec<u8>,
    pub(super) base32: bool,
    pub(super) label: String,
}

impl Expected {
    pub(super) fn hasher(&self) -> Hasher {
        match self.algorithm {
            "sha1" => Hasher::Sha1(Sha1::new()),
            _ => Hasher::Sha256(Sha256::new()),
        }
    }

    /// A computed digest written as the expected one is.
    pub(super) fn show(&self, computed: &[u8]) -> String {
        let value = if self.base32 {
            base32_encode(computed)
        } else {
            computed.iter().map(|b| format!("{b:02x}")).collect()
        };
        format!("{}:{value}", self.algorithm)
    }
}

/// What a digest field names.
pub(super) enum Parsed {
    Known(Expected),
    Unknown(String),
}

/// A hash being computed.
pub(super) enum Hasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    pub(super) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// Parses `algorithm:value` (WARC 1.1 §5.8): SHA-1 and SHA-256 in hex or base32 (either
/// case); other algorithms are `Unknown`; a known one with a bad value is an error.
pub(super) fn parse_digest(field: &str, label: &str) -> Result<Parsed, String> {
    let Some((algorithm, value)) = label.split_once(':') else {
        return Err(format!(
            "{field} {} has no algorithm",
            shown(label.as_bytes(), 60)
        ));
    };
    let (algorithm, len) = match algorithm.to_ascii_lowercase().as_str() {
        "sha1" | "sha-1" => ("sha1", 20),
        "sha256" | "sha-256" => ("sha256", 32),
        _ => return Ok(Parsed::Unknown(algorithm.to_owned())),
    };
    let value = value.trim();
    let hex = (value.len() == 2 * len)
        .then(|| hex_decode(value))
        .flatten();
    let decoded = match hex {
        Some(v) => Some((v, false)),
        None => base32_decode(value).map(|v| (v, true)),
    };
    match decoded {
        Some((value, base32)) if value.len() == len => Ok(Parsed::Known(Expected {
            algorithm,
            value,
            base32,
            label: label.to_owned(),
        })),
        _ => Err(format!(
            "{field} {} is not a {algorithm} digest in hex or base32",
            shown(label.as_bytes(), 120)
        )),
    }
}

pub(super) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| char::from(c).to_digit(16);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some((digit(p[0])? * 16 + digit(*p.get(1)?)?) as u8))
        .collect()
}

pub(super) const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, either case, padding optional.
pub(super) fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = BASE32.iter().position(|&a| a == c.to_ascii_uppercase())?;
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub(super) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[(acc >> bits) as usize & 31]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[(acc << (5 - bits)) as usize & 31]));
    }
    while !out.len().is_multiple_of(8) {
        out.push('=');
    }
    out
}
