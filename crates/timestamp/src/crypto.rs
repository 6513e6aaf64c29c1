//! Digests and signature verification: ECDSA P-256/P-384 and RSA (PKCS#1 v1.5 and PSS) with
//! SHA-256/384/512. SHA-1 and MD5 signatures are refused.

use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use sha2::Digest;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::asn1::RsaPssParams;

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

const SHA1: ObjectIdentifier = oid("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.3");
const MD5: ObjectIdentifier = oid("1.2.840.113549.2.5");

const EC_PUBLIC_KEY: ObjectIdentifier = oid("1.2.840.10045.2.1");
const P256: ObjectIdentifier = oid("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = oid("1.3.132.0.34");
const ECDSA_SHA1: ObjectIdentifier = oid("1.2.840.10045.4.1");
const ECDSA_SHA256: ObjectIdentifier = oid("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = oid("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = oid("1.2.840.10045.4.3.4");

const RSA_ENCRYPTION: ObjectIdentifier = oid("1.2.840.113549.1.1.1");
const MD5_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.4");
const SHA1_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.5");
const RSA_PSS: ObjectIdentifier = oid("1.2.840.113549.1.1.10");
const SHA256_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.11");
const SHA384_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.12");
const SHA512_RSA: ObjectIdentifier = oid("1.2.840.113549.1.1.13");
const MGF1: ObjectIdentifier = oid("1.2.840.113549.1.1.8");

/// The smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// A digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The conventional lower-case name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "sha1",
            Hash::Sha256 => "sha256",
            Hash::Sha384 => "sha384",
            Hash::Sha512 => "sha512",
        }
    }

    /// The digest of `data`.
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The digest length in bytes.
    pub(crate) fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// A digest AlgorithmIdentifier (parameters absent or NULL). Unknown algorithms (MD5
    /// included) are an error naming the OID.
    pub(crate) fn from_alg(alg: &AlgorithmIdentifierOwned) -> Result<Hash, String> {
        let hash = match alg.oid {
            SHA1 => Hash::Sha1,
            SHA256 => Hash::Sha256,
            SHA384 => Hash::Sha384,
            SHA512 => Hash::Sha512,
            MD5 => return Err("md5".into()),
            other => return Err(other.to_string()),
        };
        null_or_absent(alg.parameters.as_ref())
            .map_err(|()| format!("{} with unexpected parameters", hash.name()))?;
        Ok(hash)
    }
}

fn null_or_absent(params: Option<&Any>) -> Result<(), ()> {
    match params {
        None => Ok(()),
        Some(p) if p.is_null() => Ok(()),
        Some(_) => Err(()),
    }
}

/// How a signature is computed.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    Ecdsa,
    Pkcs1v15,
    Pss { salt: usize },
}

/// The scheme and hash of a signature AlgorithmIdentifier. `digest` is the CMS
/// digestAlgorithm, used when the signature algorithm names only the key type
/// (rsaEncryption, id-ecPublicKey), as OpenSSL writes for RSA signers.
fn scheme_of(
    alg: &AlgorithmIdentifierOwned,
    digest: Option<Hash>,
) -> Result<(Scheme, Hash), String> {
    let need_digest =
        || digest.ok_or_else(|| format!("signature algorithm {} needs a digest", alg.oid));
    let (scheme, hash) = match alg.oid {
        ECDSA_SHA256 => (Scheme::Ecdsa, Hash::Sha256),
        ECDSA_SHA384 => (Scheme::Ecdsa, Hash::Sha384),
        ECDSA_SHA512 => (Scheme::Ecdsa, Hash::Sha512),
        EC_PUBLIC_KEY => (Scheme::Ecdsa, need_digest()?),
        SHA256_RSA => (Scheme::Pkcs1v15, Hash::Sha256),
        SHA384_RSA => (Scheme::Pkcs1v15, Hash::Sha384),
        SHA512_RSA => (Scheme::Pkcs1v15, Hash::Sha512),
        RSA_ENCRYPTION => (Scheme::Pkcs1v15, need_digest()?),
        RSA_PSS => return pss_params(alg.parameters.as_ref()),
        ECDSA_SHA1 | SHA1_RSA => return Err("SHA-1 signatures are not accepted".into()),
        MD5_RSA => return Err("MD5 signatures are not accepted".into()),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    // ecdsa-with-SHA* have absent parameters, the RSA ones NULL; accept either.
    null_or_absent(alg.parameters.as_ref())
        .map_err(|()| format!("signature algorithm {} with unexpected parameters", alg.oid))?;
    if hash == Hash::Sha1 {
        return Err("SHA-1 signatures are not accepted".into());
    }
    Ok((scheme, hash))
}

/// RSASSA-PSS parameters: SHA-256/384/512, MGF1 with the same hash, trailer 1.
fn pss_params(params: Option<&Any>) -> Result<(Scheme, Hash), String> {
    let params = params.ok_or("RSASSA-PSS without parameters (SHA-1) is not accepted")?;
    let params = params
        .to_der()
        .ok()
        .and_then(|der| RsaPssParams::from_der(&der).ok())
        .ok_or("unreadable RSASSA-PSS parameters")?;
    let hash = match &params.hash_algorithm {
        None => Hash::Sha1,
        Some(alg) => Hash::from_alg(alg).map_err(|e| format!("RSASSA-PSS with hash {e}"))?,
    };
    if hash == Hash::Sha1 {
        return Err("SHA-1 signatures are not accepted".into());
    }
    let mgf = params
        .mask_gen_algorithm
        .as_ref()
        .ok_or("RSASSA-PSS with the default MGF1-SHA-1 is not accepted")?;
    let mgf_hash = if mgf.oid == MGF1 {
        mgf.parameters
            .as_ref()
            .and_then(|p| p.to_der().ok())
            .and_then(|der| AlgorithmIdentifierOwned::from_der(&der).ok())
            .and_then(|alg| Hash::from_alg(&alg).ok())
    } else {
        None
    };
    if mgf_hash != Some(hash) {
        return Err("RSASSA-PSS mask generation must be MGF1 with the signature hash".into());
    }
    if params.trailer_field.is_some_and(|t| t != 1) {
        return Err("RSASSA-PSS trailer field must be 1".into());
    }
    let salt = params.salt_length.unwrap_or(20);
    let salt = usize::try_from(salt).map_err(|_| "RSASSA-PSS salt length too large")?;
    Ok((Scheme::Pss { salt }, hash))
}

/// The public key types supported.
enum Key {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

fn key_of(spki: &SubjectPublicKeyInfoOwned) -> Result<Key, String> {
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or("public key bit string has unused bits")?;
    match spki.algorithm.oid {
        EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or("EC public key without a named curve")?;
            match curve {
                P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                    .map(Key::P256)
                    .map_err(|_| "invalid P-256 public key".into()),
                P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                    .map(Key::P384)
                    .map_err(|_| "invalid P-384 public key".into()),
                other => Err(format!("unsupported elliptic curve {other}")),
            }
        }
        RSA_ENCRYPTION | RSA_PSS => {
            let key = rsa::RsaPublicKey::from_pkcs1_der(bits)
                .map_err(|e| format!("invalid RSA public key: {e}"))?;
            let size = key.size().saturating_mul(8);
            if size < MIN_RSA_BITS {
                return Err(format!(
                    "RSA key of {size} bits is too small (minimum {MIN_RSA_BITS})"
                ));
            }
            Ok(Key::Rsa(key))
        }
        other => Err(format!("unsupported public key algorithm {other}")),
    }
}

/// Verifies `signature` over `message` with the key in `spki` and the signature algorithm
/// `alg` (`digest` is the CMS digestAlgorithm, if any). Errors are one-line reasons.
pub(crate) fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    digest: Option<Hash>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let (scheme, hash) = scheme_of(alg, digest)?;
    let key = key_of(spki)?;
    let hashed = hash.digest(message);
    let ok = match (scheme, &key) {
        (Scheme::Ecdsa, Key::P256(k)) => {
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| "malformed ECDSA signature")?;
            k.verify_prehash(&hashed, &sig).is_ok()
        }
        (Scheme::Ecdsa, Key::P384(k)) => {
            let sig = p384::ecdsa::Signature::from_der(signature)
                .map_err(|_| "malformed ECDSA signature")?;
            k.verify_prehash(&hashed, &sig).is_ok()
        }
        (Scheme::Pkcs1v15, Key::Rsa(k)) => {
            let padding = match hash {
                Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                Hash::Sha1 => return Err("SHA-1 signatures are not accepted".into()),
            };
            k.verify(padding, &hashed, signature).is_ok()
        }
        (Scheme::Pss { salt }, Key::Rsa(k)) => match hash {
            Hash::Sha256 => k
                .verify(pss::<sha2::Sha256>(salt), &hashed, signature)
                .is_ok(),
            Hash::Sha384 => k
                .verify(pss::<sha2::Sha384>(salt), &hashed, signature)
                .is_ok(),
            Hash::Sha512 => k
                .verify(pss::<sha2::Sha512>(salt), &hashed, signature)
                .is_ok(),
            Hash::Sha1 => return Err("SHA-1 signatures are not accepted".into()),
        },
        _ => {
            return Err(format!(
                "signature algorithm {} does not match the {} key",
                alg.oid, spki.algorithm.oid
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{} signature does not verify", label(scheme, hash)))
    }
}

fn pss<D: Digest>(salt: usize) -> rsa::pss::Pss<D> {
    rsa::pss::Pss {
        blinded: false,
        digest: D::new(),
        salt_len: Some(salt),
    }
}

fn label(scheme: Scheme, hash: Hash) -> String {
    let s = match scheme {
        Scheme::Ecdsa => "ECDSA",
        Scheme::Pkcs1v15 => "RSA PKCS#1 v1.5",
        Scheme::Pss { .. } => "RSA-PSS",
    };
    format!("{s}/{}", hash.name())
}
