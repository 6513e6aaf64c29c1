//! The TLS record of a capture as a person reads it: the recorded chain as PEM (`cat
//! --tls-chain`, what `openssl s_client -showcerts` prints), and each certificate's subject,
//! issuer, validity and fingerprint (`show`).
//!
//! Nothing here judges a chain: whether it was trusted is what the signed manifest says the
//! capturing machine decided (FORMAT §3.10). These are descriptions of bytes the manifest
//! names, read through the object store's digest checks.

use base64::Engine;
use exhibit_core::connection::ObjectRef;
use exhibit_sign::history::KeyHistory;
use exhibit_store::Archive;

use crate::OpsError;
use crate::records::tls_chain_for;

pub use exhibit_report::certs::{CertificateFacts, certificate_facts};

/// Reads certificate objects, each checked against the digests and size the manifest signs.
pub fn read_certificates(archive: &Archive, refs: &[ObjectRef]) -> Result<Vec<Vec<u8>>, OpsError> {
    refs.iter()
        .map(|r| {
            let mut der = Vec::with_capacity(r.size as usize);
            archive
                .objects()
                .write_checked(&r.sha256, &r.blake3, r.size, &mut der)?;
            Ok(der)
        })
        .collect()
}

/// Describes each certificate object of `refs`; one that cannot be read (missing, damaged) is
/// described by what is wrong with it, so that `show` still shows the rest.
pub fn describe_certificates(archive: &Archive, refs: &[ObjectRef]) -> Vec<CertificateFacts> {
    refs.iter()
        .map(
            |r| match read_certificates(archive, std::slice::from_ref(r)) {
                Ok(mut ders) => certificate_facts(&ders.pop().unwrap_or_default()),
                Err(e) => CertificateFacts::unreadable(r.sha256, &format!("(unreadable: {e})")),
            },
        )
        .collect()
}

/// PEM text of one DER certificate (RFC 7468: 64-column base64 lines).
pub fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// `cat --tls-chain`: the recorded chain of the capture `query` names, leaf first, as PEM.
pub fn chain_pem(archive: &Archive, query: &str, public: &KeyHistory) -> Result<String, OpsError> {
    let chain = tls_chain_for(archive, query, public)?;
    let refs: Vec<ObjectRef> = chain
        .iter()
        .map(|o| ObjectRef {
            sha256: o.sha256,
            blake3: o.blake3,
            size: o.size,
        })
        .collect();
    let ders = read_certificates(archive, &refs).map_err(|e| {
        let capture = chain
            .first()
            .map(|o| o.capture.to_string())
            .unwrap_or_default();
        OpsError::failed(format!("{e} (a certificate of {capture})"))
    })?;
    Ok(ders.iter().map(|d| pem(d)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_wraps_at_64_columns() {
        let text = pem(&[0u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
    }

    #[test]
    fn garbage_is_described_not_trusted() {
        let facts = certificate_facts(b"\x1b[31mnot der");
        assert!(facts.subject.starts_with("(not an X.509 certificate"));
        assert!(!facts.subject.contains('\x1b'));
    }
}
