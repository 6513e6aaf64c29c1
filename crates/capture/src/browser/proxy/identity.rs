//! The proxy's TLS identity: the self-signed certificate every proxy of one browser presents,
//! and the public-key hash the browser is told to accept.

use super::*;

/// The certificate and key every proxy of one browser presents: generated once per browser, so
/// that the browser can be told to accept it by its public key's hash.
pub(crate) struct Identity {
    pub(super) tls: Arc<ServerConfig>,
    pub(super) spki_sha256: String,
    #[cfg(test)]
    pub(super) cert_der: Vec<u8>,
    #[cfg(test)]
    pub(super) spki_der: Vec<u8>,
}

impl Identity {
    /// A fresh self-signed certificate (ECDSA P-256, valid from yesterday for 30 days) and the
    /// TLS configuration that presents it.
    pub(crate) fn generate() -> Result<Identity, CaptureError> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            CaptureError::Internal(format!("capture proxy: {what}: {e}"))
        };
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| internal("key generation", &e))?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(|e| internal("certificate", &e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "exhibit capture proxy");
        let ymd = |t: DateTime<Utc>| {
            let d = t.date_naive();
            rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
        };
        let now = Utc::now();
        params.not_before = ymd(now - chrono::Duration::days(1));
        params.not_after = ymd(now + chrono::Duration::days(30));
        let cert = params
            .self_signed(&key)
            .map_err(|e| internal("certificate", &e))?;
        let spki_der = key.subject_public_key_info();
        let spki_sha256 = base64(Sha256Digest::of(&spki_der).as_bytes());
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| internal("TLS configuration", &e))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der)
            .map_err(|e| internal("TLS configuration", &e))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        Ok(Identity {
            tls: Arc::new(tls),
            spki_sha256,
            #[cfg(test)]
            cert_der: cert.der().to_vec(),
            #[cfg(test)]
            spki_der,
        })
    }

    /// Base64 (standard, padded) of the SHA-256 of the certificate's SubjectPublicKeyInfo
    /// (DER): what Chromium's `--ignore-certificate-errors-spki-list` takes.
    pub(crate) fn spki_sha256_base64(&self) -> String {
        self.spki_sha256.clone()
    }
}
