//! What a certificate says of itself, for a person to read: subject, issuer, validity and
//! fingerprint. The one description of a recorded certificate, used by the report and by
//! `exhibit show` (through `exhibit-ops`).
//!
//! Nothing here judges a chain: whether it was trusted is what the signed manifest says the
//! capturing machine decided (FORMAT §3.10).

use exhibit_core::{Sha256Digest, inert};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::der::Decode;

/// What a certificate says of itself. Every string is made inert.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertificateFacts {
    /// SHA-256 of the DER: the object name, and the fingerprint `openssl x509 -fingerprint
    /// -sha256` prints (without colons).
    pub sha256: Sha256Digest,
    /// The subject distinguished name (RFC 4514), or why it could not be read.
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// notBefore, as the certificate encodes it.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
}

impl CertificateFacts {
    /// A certificate whose bytes are not at hand: described by its digest and `why`.
    pub fn unreadable(sha256: Sha256Digest, why: &str) -> CertificateFacts {
        let why = inert(why).into_owned();
        CertificateFacts {
            sha256,
            subject: why.clone(),
            issuer: why,
            not_before: String::new(),
            not_after: String::new(),
        }
    }

    /// A certificate the bag does not hold.
    pub fn absent(sha256: Sha256Digest) -> CertificateFacts {
        CertificateFacts::unreadable(sha256, "(not in the bundle)")
    }
}

/// Describes a DER certificate; bytes that do not parse as one are described as such.
pub fn certificate_facts(der: &[u8]) -> CertificateFacts {
    let sha256 = Sha256Digest::of(der);
    match Certificate::from_der(der) {
        Ok(cert) => {
            let tbs = cert.tbs_certificate();
            CertificateFacts {
                sha256,
                subject: inert(&tbs.subject().to_string()).into_owned(),
                issuer: inert(&tbs.issuer().to_string()).into_owned(),
                not_before: tbs.validity().not_before.to_string(),
                not_after: tbs.validity().not_after.to_string(),
            }
        }
        Err(e) => CertificateFacts::unreadable(sha256, &format!("(not an X.509 certificate: {e})")),
    }
}
