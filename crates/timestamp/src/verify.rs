//! The CMS signature of a token and the certificate path of its signer.

use cms::signed_data::SignerInfo;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use crate::asn1::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_CT_TSTINFO,
    ID_KP_TIME_STAMPING, ID_MESSAGE_DIGEST, IssuerSerial, SigningCertificate, SigningCertificateV2,
};
use crate::crypto::{self, Hash};
use crate::{ChainInfo, MAX_CHAIN_LENGTH, TimestampError};

/// The most signature verifications one path search may do.
const MAX_SIGNATURE_CHECKS: usize = 64;

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// RFC 3161 §2.3: extendedKeyUsage present, critical, exactly id-kp-timeStamping; keyUsage, if
/// present, allows digitalSignature or nonRepudiation.
pub(crate) fn check_tsa_certificate(cert: &Certificate) -> Result<(), TimestampError> {
    let bad =
        |why: String| TimestampError::NotTimestampingCert(format!("{}: {why}", subject(cert)));
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Err(_) => return Err(bad("unreadable or repeated extendedKeyUsage".into())),
        Ok(None) => return Err(bad("no extendedKeyUsage extension".into())),
        Ok(Some((false, _))) => return Err(bad("extendedKeyUsage is not marked critical".into())),
        Ok(Some((true, eku))) => {
            if eku.0.as_slice() != [ID_KP_TIME_STAMPING] {
                let list: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
                return Err(bad(format!(
                    "extendedKeyUsage must be exactly timeStamping (1.3.6.1.5.5.7.3.8), not [{}]",
                    list.join(", ")
                )));
            }
        }
    }
    match tbs.get_extension::<KeyUsage>() {
        Err(_) => Err(bad("unreadable or repeated keyUsage".into())),
        Ok(Some((_, ku))) if !(ku.digital_signature() || ku.non_repudiation()) => Err(bad(
            "keyUsage allows neither digitalSignature nor nonRepudiation".into(),
        )),
        Ok(_) => Ok(()),
    }
}

/// The one value of the signed attribute `oid`, which must occur exactly once.
fn single_attribute<'a>(
    si: &'a SignerInfo,
    oid: ObjectIdentifier,
    name: &str,
) -> Result<Option<&'a Any>, TimestampError> {
    let Some(attrs) = &si.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(TimestampError::BadSignature(format!(
            "the {name} attribute occurs more than once"
        )));
    }
    match attr.values.as_slice() {
        [one] => Ok(Some(one)),
        _ => Err(TimestampError::BadSignature(format!(
            "the {name} attribute must have exactly one value"
        ))),
    }
}

fn bad_sig(why: impl Into<String>) -> TimestampError {
    TimestampError::BadSignature(why.into())
}

/// Signed attributes (content type, message digest, ESS signing certificate) and the
/// signature over them with `cert`'s key.
pub(crate) fn check_signer_info(
    si: &SignerInfo,
    cert: &Certificate,
    tst_der: &[u8],
) -> Result<(), TimestampError> {
    let signed_attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad_sig("no signed attributes (RFC 3161 requires them)"))?;
    let digest = match Hash::from_alg(&si.digest_alg) {
        Ok(h @ (Hash::Sha256 | Hash::Sha384 | Hash::Sha512)) => h,
        Ok(Hash::Sha1) => return Err(bad_sig("SHA-1 message digests are not accepted")),
        Err(e) => return Err(bad_sig(format!("unsupported digest algorithm {e}"))),
    };

    let content_type = single_attribute(si, ID_CONTENT_TYPE, "content-type")?
        .ok_or_else(|| bad_sig("no content-type signed attribute"))?
        .decode_as::<ObjectIdentifier>()
        .map_err(|_| bad_sig("unreadable content-type attribute"))?;
    if content_type != ID_CT_TSTINFO {
        return Err(bad_sig(format!(
            "content-type attribute is {content_type}, not id-ct-TSTInfo"
        )));
    }

    let message_digest = single_attribute(si, ID_MESSAGE_DIGEST, "message-digest")?
        .ok_or_else(|| bad_sig("no message-digest signed attribute"))?
        .decode_as::<OctetString>()
        .map_err(|_| bad_sig("unreadable message-digest attribute"))?;
    if message_digest.as_bytes() != digest.digest(tst_der).as_slice() {
        return Err(bad_sig(format!(
            "the message-digest attribute is not the {} of the TSTInfo",
            digest.name()
        )));
    }

    check_ess(si, cert)?;

    let signed = signed_attrs
        .to_der()
        .map_err(|e| bad_sig(format!("cannot re-encode the signed attributes: {e}")))?;
    crypto::verify(
        cert.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        Some(digest),
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(bad_sig)
}

/// The ESS signing-certificate (v1, SHA-1) and/or signing-certificate-v2 attribute: at least
/// one present; each present one's first ESSCertID must name `cert`.
fn check_ess(si: &SignerInfo, cert: &Certificate) -> Result<(), TimestampError> {
    let cert_der = cert
        .to_der()
        .map_err(|e| bad_sig(format!("cannot re-encode the signer certificate: {e}")))?;
    let v1 = single_attribute(si, ID_AA_SIGNING_CERTIFICATE, "signing-certificate")?;
    let v2 = single_attribute(si, ID_AA_SIGNING_CERTIFICATE_V2, "signing-certificate-v2")?;
    if v1.is_none() && v2.is_none() {
        return Err(bad_sig(
            "no ESS signing-certificate or signing-certificate-v2 signed attribute",
        ));
    }
    if let Some(value) = v1 {
        let sc = decode_any::<SigningCertificate>(value)
            .ok_or_else(|| bad_sig("unreadable signing-certificate attribute"))?;
        let id = sc
            .certs
            .first()
            .ok_or_else(|| bad_sig("empty signing-certificate attribute"))?;
        if id.cert_hash.as_bytes() != Hash::Sha1.digest(&cert_der).as_slice() {
            return Err(bad_sig(
                "the signing-certificate attribute does not name the signer certificate",
            ));
        }
        check_issuer_serial(id.issuer_serial.as_ref(), cert)?;
    }
    if let Some(value) = v2 {
        let sc = decode_any::<SigningCertificateV2>(value)
            .ok_or_else(|| bad_sig("unreadable signing-certificate-v2 attribute"))?;
        let id = sc
            .certs
            .first()
            .ok_or_else(|| bad_sig("empty signing-certificate-v2 attribute"))?;
        let hash = match &id.hash_algorithm {
            None => Hash::Sha256,
            Some(alg) => Hash::from_alg(alg).map_err(|e| {
                bad_sig(format!("signing-certificate-v2 with unsupported hash {e}"))
            })?,
        };
        if id.cert_hash.as_bytes() != hash.digest(&cert_der).as_slice() {
            return Err(bad_sig(
                "the signing-certificate-v2 attribute does not name the signer certificate",
            ));
        }
        check_issuer_serial(id.issuer_serial.as_ref(), cert)?;
    }
    Ok(())
}

fn decode_any<T: for<'a> Decode<'a>>(value: &Any) -> Option<T> {
    value.to_der().ok().and_then(|der| T::from_der(&der).ok())
}

fn check_issuer_serial(
    is: Option<&IssuerSerial>,
    cert: &Certificate,
) -> Result<(), TimestampError> {
    let Some(is) = is else { return Ok(()) };
    let tbs = cert.tbs_certificate();
    let issuer_ok = is
        .issuer
        .iter()
        .any(|n| matches!(n, GeneralName::DirectoryName(name) if name == tbs.issuer()));
    let serial_ok = is.serial_number.0.as_slice() == tbs.serial_number().as_bytes();
    if issuer_ok && serial_ok {
        Ok(())
    } else {
        Err(bad_sig(
            "the ESS issuerSerial does not match the signer certificate",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Path building.

/// Extensions understood well enough to be accepted when critical.
const KNOWN_CRITICAL: [ObjectIdentifier; 7] = [
    ObjectIdentifier::new_unwrap("2.5.29.19"), // basicConstraints
    ObjectIdentifier::new_unwrap("2.5.29.15"), // keyUsage
    ObjectIdentifier::new_unwrap("2.5.29.37"), // extendedKeyUsage
    ObjectIdentifier::new_unwrap("2.5.29.17"), // subjectAltName
    ObjectIdentifier::new_unwrap("2.5.29.14"), // subjectKeyIdentifier
    ObjectIdentifier::new_unwrap("2.5.29.35"), // authorityKeyIdentifier
    ObjectIdentifier::new_unwrap("2.5.29.32"), // certificatePolicies (not enforced)
];

/// `cert` is valid at `at` (Unix seconds) and has no unknown critical extension.
fn check_cert(cert: &Certificate, at: i64, is_anchor: bool) -> Result<(), String> {
    let validity = cert.tbs_certificate().validity();
    let secs = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let (not_before, not_after) = (secs(validity.not_before), secs(validity.not_after));
    if at < not_before {
        return Err(format!(
            "not yet valid at genTime (notBefore {})",
            validity.not_before
        ));
    }
    if at > not_after {
        return Err(format!(
            "expired at genTime (notAfter {})",
            validity.not_after
        ));
    }
    if !is_anchor {
        for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
            if ext.critical && !KNOWN_CRITICAL.contains(&ext.extn_id) {
                return Err(format!("unsupported critical extension {}", ext.extn_id));
            }
        }
    }
    Ok(())
}

/// `cert` may issue certificates, with `below` CA certificates between it and the signer.
fn check_ca(cert: &Certificate, below: usize) -> Result<(), String> {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => {
            if let Some(limit) = bc.path_len_constraint
                && below > usize::from(limit)
            {
                return Err(format!(
                    "pathLenConstraint {limit} exceeded ({below} CA certificates below)"
                ));
            }
        }
        Ok(_) => return Err("not a CA (basicConstraints cA is not TRUE)".into()),
        Err(_) => return Err("unreadable or repeated basicConstraints".into()),
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.key_cert_sign() => Err("keyUsage lacks keyCertSign".into()),
        Ok(_) => Ok(()),
        Err(_) => Err("unreadable or repeated keyUsage".into()),
    }
}

/// `issuer` signed `cert`.
fn check_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| format!("cannot re-encode: {e}"))?;
    let signature = cert
        .signature()
        .as_bytes()
        .ok_or("signature bit string has unused bits")?;
    if cert.signature_algorithm() != cert.tbs_certificate().signature() {
        return Err("signatureAlgorithm differs from tbsCertificate.signature".into());
    }
    crypto::verify(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        signature,
    )
    .map_err(|e| format!("signature by {} invalid: {e}", subject(issuer)))
}

struct Search<'a> {
    pool: &'a [Certificate],
    anchors: &'a [Certificate],
    at: i64,
    used: Vec<bool>,
    checks: usize,
    /// The failure found deepest in the search: (depth, message).
    failure: Option<(usize, String)>,
}

impl<'a> Search<'a> {
    fn note(&mut self, depth: usize, cert: &Certificate, why: String) {
        if self.failure.as_ref().is_none_or(|(d, _)| depth > *d) {
            self.failure = Some((depth, format!("{}: {why}", subject(cert))));
        }
    }

    fn signature_budget(&mut self) -> bool {
        self.checks += 1;
        self.checks <= MAX_SIGNATURE_CHECKS
    }

    /// Extends `path` (signer first) to an anchor: (anchor index, path length).
    fn extend(&mut self, path: &mut Vec<&'a Certificate>) -> Option<(usize, usize)> {
        let cur = *path.last()?;
        let depth = path.len();
        // The current certificate is itself an anchor: the very same certificate, byte for
        // byte. (Not merely the anchor's subject and key: the certificates of a token are not
        // signed by anyone we trust, so a copy of the anchor with other validity dates or
        // extensions must not stand in for it. Such a copy can only continue the path as a
        // certificate issued by the anchor, below.)
        if let Some(i) = self.anchors.iter().position(|a| a == cur) {
            return Some((i, depth));
        }
        let issuer_name = cur.tbs_certificate().issuer();
        let mut candidates = 0;
        // Issued by an anchor.
        for (i, anchor) in self.anchors.iter().enumerate() {
            if anchor.tbs_certificate().subject() != issuer_name {
                continue;
            }
            candidates += 1;
            if depth + 1 > MAX_CHAIN_LENGTH {
                self.note(depth, cur, format!("path longer than {MAX_CHAIN_LENGTH}"));
                return None;
            }
            if !self.signature_budget() {
                self.note(usize::MAX, cur, "too many candidate issuers".into());
                return None;
            }
            let result = check_cert(anchor, self.at, true)
                .map_err(|e| format!("{}: {e}", subject(anchor)))
                .and_then(|()| {
                    check_ca(anchor, depth - 1).map_err(|e| format!("{}: {e}", subject(anchor)))
                })
                .and_then(|()| check_signed_by(cur, anchor));
            match result {
                Ok(()) => return Some((i, depth + 1)),
                Err(e) => self.note(depth, cur, e),
            }
        }
        // Issued by a certificate from the token.
        for (j, cand) in self.pool.iter().enumerate() {
            if self.used.get(j).copied().unwrap_or(true)
                || cand.tbs_certificate().subject() != issuer_name
                || path.iter().any(|p| std::ptr::eq(*p, cand) || *p == cand)
            {
                continue;
            }
            candidates += 1;
            if depth + 2 > MAX_CHAIN_LENGTH {
                self.note(depth, cur, format!("path longer than {MAX_CHAIN_LENGTH}"));
                return None;
            }
            if let Some(u) = self.used.get_mut(j) {
                *u = true;
            }
            if !self.signature_budget() {
                self.note(usize::MAX, cur, "too many candidate issuers".into());
                return None;
            }
            let result = check_cert(cand, self.at, false)
                .and_then(|()| check_ca(cand, depth - 1))
                .map_err(|e| format!("{}: {e}", subject(cand)))
                .and_then(|()| check_signed_by(cur, cand));
            match result {
                Ok(()) => {
                    path.push(cand);
                    if let Some(found) = self.extend(path) {
                        return Some(found);
                    }
                    path.pop();
                }
                Err(e) => self.note(depth, cur, e),
            }
        }
        if candidates == 0 {
            self.note(
                depth,
                cur,
                format!(
                    "no issuer certificate ({issuer_name}) among the token's certificates \
                     and the trust anchors"
                ),
            );
        }
        None
    }
}

/// A path from `signer` through `pool` to one of `anchors`, everything valid at `at`.
pub(crate) fn build_chain(
    signer: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    at: i64,
) -> Result<ChainInfo, TimestampError> {
    check_cert(signer, at, false)
        .map_err(|e| TimestampError::Untrusted(format!("{}: {e}", subject(signer))))?;
    let mut search = Search {
        pool,
        anchors,
        at,
        used: vec![false; pool.len()],
        checks: 0,
        failure: None,
    };
    let mut path = vec![signer];
    match search.extend(&mut path) {
        Some((i, length)) => Ok(ChainInfo {
            anchor: anchors.get(i).map(subject).unwrap_or_default(),
            length,
        }),
        None => Err(TimestampError::Untrusted(
            search
                .failure
                .map(|(_, m)| m)
                .unwrap_or_else(|| format!("{}: no path to a trust anchor", subject(signer))),
        )),
    }
}
