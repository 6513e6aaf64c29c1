//! OpenSSH-compatible key fingerprints.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::error::FingerprintError;

const PREFIX: &str = "SHA256:";
/// Unpadded base64 of 32 bytes.
const ENCODED_LEN: usize = 43;

/// A public key fingerprint: `SHA256:` + unpadded standard base64 of the SHA-256 of the key's
/// OpenSSH wire encoding — identical to what `ssh-keygen -l -f key.pub` prints.
///
/// Displays and parses (strictly) as that string, and serialises as it with serde.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Wrap a raw SHA-256 digest of an OpenSSH wire-encoded public key.
    pub fn from_digest(digest: [u8; 32]) -> Fingerprint {
        Fingerprint(digest)
    }

    /// The raw 32-byte SHA-256 digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", STANDARD_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Fingerprint, FingerprintError> {
        let fail = |reason| FingerprintError {
            input: exhibit_core::manifest::shorten(s, 80),
            reason,
        };
        let body = s
            .strip_prefix(PREFIX)
            .ok_or_else(|| fail("does not start with `SHA256:`"))?;
        if body.len() != ENCODED_LEN {
            return Err(fail("wrong length"));
        }
        // The decoder rejects non-alphabet characters, padding and non-zero trailing bits, so
        // each fingerprint has exactly one accepted spelling.
        let bytes = STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| fail("not valid unpadded base64"))?;
        let digest: [u8; 32] = bytes
            .try_into()
            .map_err(|_| fail("does not decode to 32 bytes"))?;
        Ok(Fingerprint(digest))
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parse_round_trip() {
        let fp = Fingerprint::from_digest([7u8; 32]);
        let text = fp.to_string();
        assert_eq!(text.len(), PREFIX.len() + ENCODED_LEN);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(format!("{fp:?}"), format!("Fingerprint({text})"));
    }

    #[test]
    fn parse_is_strict() {
        let good = Fingerprint::from_digest([0xab; 32]).to_string();
        let body = &good[PREFIX.len()..];
        let bad = [
            String::new(),
            body.to_owned(),                     // no prefix
            format!("sha256:{body}"),            // wrong case
            format!("MD5:{body}"),               // wrong algorithm
            format!("{good}="),                  // padding
            format!("{good}A"),                  // too long
            good[..good.len() - 1].to_owned(),   // too short
            format!("{PREFIX}{}!", &body[..42]), // bad character
            format!("{PREFIX}{}-", &body[..42]), // URL-safe alphabet
            format!(" {good}"),                  // whitespace
            format!("{PREFIX}{}B", &body[..42]), // non-zero trailing bits
            "SHA256:ü".repeat(40),               // non-ASCII, long
        ];
        for b in &bad {
            let err = b.parse::<Fingerprint>().unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("invalid key fingerprint"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn serde_as_string() {
        let fp = Fingerprint::from_digest([1u8; 32]);
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, format!("\"{fp}\""));
        let back: Fingerprint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fp);
        let err = serde_json::from_str::<Fingerprint>("\"SHA256:nope\"").unwrap_err();
        assert!(err.to_string().contains("invalid key fingerprint"), "{err}");
        assert!(serde_json::from_str::<Fingerprint>("42").is_err());
    }
}
