//! The ECDSA P-384 key that signs a WACZ package's digest the way WACZ's anonymous signing does
//! (docs/FORMAT.md §18): ECDSA with SHA-256 over the UTF-8 digest string, by a P-384 key given
//! as base64 SPKI, the signature as WebCrypto makes it (IEEE P1363 `r‖s`, 96 bytes), so that
//! replay tools such as ReplayWeb.page show the package as signed.
//!
//! Not a second identity: the key is derived from the archive's Ed25519 key (no second secret
//! to keep or lose), and exhibit's Ed25519 signature over the same digest stays the
//! authoritative one. Signing is deterministic (RFC 6979): the same package gets the same bytes.

use p384::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p384::ecdsa::{Signature as EcdsaSignature, SigningKey as EcdsaKey, VerifyingKey};
use p384::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest as _, Sha256, Sha384};
use zeroize::Zeroizing;

use crate::error::SignatureError;

/// What the derivation hashes before the Ed25519 seed: names the purpose and its version.
const DERIVATION_CONTEXT: &[u8] = b"exhibit replay-signature key, ECDSA P-384, v1\0";

/// The length of a P1363 P-384 signature (`r‖s`).
pub const REPLAY_SIGNATURE_LEN: usize = 96;

/// An ECDSA P-384 key derived from an Ed25519 seed.
pub struct ReplayKey {
    inner: EcdsaKey,
}

impl ReplayKey {
    /// The key derived from a 32-byte Ed25519 seed: the first SHA-384 of
    /// `context ‖ seed ‖ counter` (counter a byte from 0) that is a valid P-384 scalar.
    pub(crate) fn derive(seed: &[u8; 32]) -> ReplayKey {
        for counter in 0..=u8::MAX {
            let mut h = Sha384::new();
            h.update(DERIVATION_CONTEXT);
            h.update(seed);
            h.update([counter]);
            let d = Zeroizing::new(h.finalize());
            if let Ok(inner) = EcdsaKey::from_slice(&d) {
                return ReplayKey { inner };
            }
        }
        // 256 hashes each outside [1, n) with probability < 2^-190: unreachable in practice.
        unreachable!("no P-384 scalar in 256 derivations")
    }

    /// The public key as DER SubjectPublicKeyInfo (what WebCrypto imports as `spki`).
    pub fn public_spki_der(&self) -> Vec<u8> {
        VerifyingKey::from(&self.inner)
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// Signs `message`: ECDSA P-384 over its SHA-256, `r‖s`.
    pub fn sign_sha256(&self, message: &[u8]) -> [u8; REPLAY_SIGNATURE_LEN] {
        let digest = Sha256::digest(message);
        let mut out = [0u8; REPLAY_SIGNATURE_LEN];
        if let Ok(sig) = PrehashSigner::<EcdsaSignature>::sign_prehash(&self.inner, &digest) {
            out.copy_from_slice(&sig.to_bytes());
        }
        out
    }
}

/// Checks a replay signature: `signature` (`r‖s`) is ECDSA P-384 over the SHA-256 of `message`
/// by the key whose DER SubjectPublicKeyInfo is `spki_der`.
pub fn verify_replay_signature(
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let key = VerifyingKey::from_public_key_der(spki_der).map_err(|_| SignatureError::Invalid)?;
    if signature.len() != REPLAY_SIGNATURE_LEN {
        return Err(SignatureError::Invalid);
    }
    let sig = EcdsaSignature::from_slice(signature).map_err(|_| SignatureError::Invalid)?;
    key.verify_prehash(&Sha256::digest(message), &sig)
        .map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_stable_and_signatures_verify_and_are_deterministic() {
        let a = ReplayKey::derive(&[7u8; 32]);
        let b = ReplayKey::derive(&[7u8; 32]);
        let c = ReplayKey::derive(&[8u8; 32]);
        assert_eq!(a.public_spki_der(), b.public_spki_der());
        assert_ne!(a.public_spki_der(), c.public_spki_der());
        let msg = b"sha256:0123";
        let sig = a.sign_sha256(msg);
        assert_eq!(sig, b.sign_sha256(msg));
        verify_replay_signature(&a.public_spki_der(), msg, &sig).unwrap();
        assert!(verify_replay_signature(&c.public_spki_der(), msg, &sig).is_err());
        assert!(verify_replay_signature(&a.public_spki_der(), b"sha256:0124", &sig).is_err());
        assert!(verify_replay_signature(&a.public_spki_der(), msg, &sig[..95]).is_err());
        assert!(verify_replay_signature(b"not a key", msg, &sig).is_err());
        // SPKI of an EC key on P-384: the id-ecPublicKey and secp384r1 OIDs.
        let der = a.public_spki_der();
        assert_eq!(der.len(), 120);
    }
}
