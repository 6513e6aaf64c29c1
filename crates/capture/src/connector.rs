//! The recording connector: exhibit's own TCP and TLS connection setup for ureq, so that every
//! request's remote address and TLS handshake (the certificate chain exactly as the server sent
//! it, version, cipher suite, key-exchange group, ALPN) are the capture's record, not a guess.
//!
//! Why hand-written: ureq's `RustlsConnector` keeps the rustls connection private and its
//! `TcpConnector` does not tell which address answered. This module is ureq's connector chain
//! (TCP, then rustls) with those facts kept. It implements ureq's *unversioned* transport API,
//! which is why the workspace pins ureq to `~3.5`.
//!
//! Each connection gets a fresh rustls configuration (no session resumption: every handshake
//! presents the full chain) with a verifier that records the chain before checking it, so a
//! chain the roots refuse is recorded too. Agents are made per capture with connection pooling
//! off ([`HttpClient::agent`]): one connection per request, one record per connection — so
//! the bytes a connection received ([`Received`]) are the one response it carried.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use exhibit_core::Sha256Digest;
use exhibit_core::connection::{
    MAX_ADDED_ROOTS, MAX_CHAIN_CERTIFICATES, MAX_RECORDED_RESPONSE, ObjectRef, TrustRoots,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use crate::CaptureError;

/// The name [`TrustRoots::bundled`] gives the bundled root set.
const BUNDLED_ROOTS: &str = "webpki-roots (Mozilla)";

/// The largest `--ca-cert` file read.
const MAX_CA_FILE: u64 = 1 << 20;

/// A connection as the connector saw it, before its certificates are stored as objects.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// The address connected to.
    pub(crate) remote: SocketAddr,
    /// When the TCP connection was made.
    pub(crate) connected_at: DateTime<Utc>,
    /// The handshake, for HTTPS.
    pub(crate) tls: Option<RecordedTls>,
    /// Every byte the server sent after the handshake, as received so far.
    pub(crate) received: Received,
}

/// The bytes one connection received (after TLS), shared between its transport, which
/// appends, and the capture, which takes them once the response has been read. Past
/// [`MAX_RECORDED_RESPONSE`] bytes they are dropped and nothing is kept.
#[derive(Debug, Clone)]
pub(crate) struct Received(Arc<Mutex<Option<Vec<u8>>>>);

impl Received {
    fn new() -> Received {
        Received(Arc::new(Mutex::new(Some(Vec::new()))))
    }

    fn append(&self, bytes: &[u8]) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = kept.as_mut() {
            if (v.len() + bytes.len()) as u64 > MAX_RECORDED_RESPONSE {
                *kept = None;
            } else {
                v.extend_from_slice(bytes);
            }
        }
    }

    /// The bytes received so far, or `None` when they went over the limit (or were taken).
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// A handshake as the connector saw it.
#[derive(Debug, Clone)]
pub(crate) struct RecordedTls {
    /// The server name sent and checked.
    pub(crate) server_name: String,
    /// The certificates as sent, leaf first (DER).
    pub(crate) chain: Vec<Vec<u8>>,
    /// Whether the handshake completed with the chain accepted.
    pub(crate) trusted: bool,
    /// `TLSv1.3`, `TLSv1.2`.
    pub(crate) version: Option<String>,
    /// IANA cipher suite name.
    pub(crate) cipher_suite: Option<String>,
    /// IANA key-exchange group name.
    pub(crate) group: Option<String>,
    /// The ALPN protocol agreed.
    pub(crate) alpn: Option<String>,
}

/// The connections one agent made, in order.
pub(crate) type ConnectionLog = Arc<Mutex<Vec<Recorded>>>;

/// The trust roots and crypto every capture's handshakes use: built once per capturer.
pub(crate) struct TlsSetup {
    provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
    /// The manifest's record of the roots.
    pub(crate) record: TrustRoots,
    /// The added roots' DER, stored as objects by each capture that records them.
    pub(crate) added: Vec<Vec<u8>>,
}

impl fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSetup")
            .field("roots", &self.record)
            .finish()
    }
}

impl TlsSetup {
    /// The bundled Mozilla roots plus the certificates in each PEM file of `ca_files`.
    pub(crate) fn new(ca_files: &[impl AsRef<Path>]) -> Result<TlsSetup, CaptureError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut added = Vec::new();
        for path in ca_files {
            let path = path.as_ref();
            let bad = |reason: String| {
                CaptureError::BadSource(format!("--ca-cert {}: {reason}", path.display()))
            };
            let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
            if !meta.is_file() || meta.len() > MAX_CA_FILE {
                return Err(bad(format!(
                    "not a regular file of at most {MAX_CA_FILE} bytes"
                )));
            }
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let before = added.len();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("not PEM certificates: {e}")))?;
                roots
                    .add(cert.clone())
                    .map_err(|e| bad(format!("a certificate is not usable as a root: {e}")))?;
                added.push(cert.to_vec());
            }
            if added.len() == before {
                return Err(bad("holds no PEM certificate".into()));
            }
        }
        added.sort();
        added.dedup();
        if added.len() > MAX_ADDED_ROOTS {
            return Err(CaptureError::BadSource(format!(
                "--ca-cert adds {} roots, more than {MAX_ADDED_ROOTS}",
                added.len()
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| CaptureError::Internal(format!("TLS verifier: {e}")))?;
        let record = TrustRoots {
            bundled: TrustRoots::bundled_name(
                BUNDLED_ROOTS,
                webpki_roots::TLS_SERVER_ROOTS.len(),
                &bundled_digest(),
            ),
            added: added.iter().map(|d| ObjectRef::of(d)).collect(),
        };
        Ok(TlsSetup {
            provider,
            verifier,
            record,
            added,
        })
    }
}

/// The digest of the bundled trust anchors (FORMAT §3.10): SHA-256 over, for each anchor in the
/// bundle's order, its subject, its SubjectPublicKeyInfo and its name constraints (empty when
/// none), each preceded by its length as a 4-byte big-endian number.
fn bundled_digest() -> Sha256Digest {
    let mut bytes = Vec::new();
    for anchor in webpki_roots::TLS_SERVER_ROOTS {
        let parts: [&[u8]; 3] = [
            anchor.subject.as_ref(),
            anchor.subject_public_key_info.as_ref(),
            anchor
                .name_constraints
                .as_ref()
                .map_or(&[][..], |n| n.as_ref()),
        ];
        for part in parts {
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part);
        }
    }
    Sha256Digest::of(&bytes)
}

/// Makes ureq agents whose connections are recorded.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    config: ureq::config::Config,
    pub(crate) tls: Arc<TlsSetup>,
}

impl HttpClient {
    /// A client with `config` (whose pooling and proxy settings are overridden) and `tls`.
    pub(crate) fn new(config: ureq::config::Config, tls: Arc<TlsSetup>) -> HttpClient {
        HttpClient { config, tls }
    }

    /// A fresh agent for one capture, and the log its connections are recorded in.
    pub(crate) fn agent(&self) -> (ureq::Agent, ConnectionLog) {
        let log = ConnectionLog::default();
        let connector = RecordingConnector {
            tls: self.tls.clone(),
            log: log.clone(),
        };
        let agent =
            ureq::Agent::with_parts(self.config.clone(), connector, DefaultResolver::default());
        (agent, log)
    }
}

/// Connects over TCP and, for `https`, TLS, recording both.
#[derive(Debug)]
struct RecordingConnector {
    tls: Arc<TlsSetup>,
    log: ConnectionLog,
}

impl RecordingConnector {
    fn record(&self, connection: Recorded) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
    }
}

impl Connector<()> for RecordingConnector {
    type Out = Either<PlainTransport, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let (stream, remote) = connect_tcp(details)?;
        let connected_at = Utc::now();
        let config = details.config;
        let buffers = || LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size());
        let received = Received::new();
        // Under TLS the socket's bytes are TLS records: the plaintext is recorded above them.
        let mut tcp = PlainTransport {
            stream,
            buffers: buffers(),
            received: None,
        };
        if !details.needs_tls() {
            tcp.received = Some(received.clone());
            self.record(Recorded {
                remote,
                connected_at,
                tls: None,
                received,
            });
            return Ok(Some(Either::A(tcp)));
        }
        let host = details
            .uri
            .host()
            .ok_or_else(|| io_error("an https URL without a host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io_error(format!("{host:?} is not a TLS server name: {e}")))?;
        let verifier = Arc::new(RecordingVerifier {
            inner: self.tls.verifier.clone(),
            chain: Mutex::default(),
        });
        let mut client = ClientConfig::builder_with_provider(self.tls.provider.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| io_error(format!("TLS configuration: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        client.resumption = rustls::client::Resumption::disabled();
        let mut conn = ClientConnection::new(Arc::new(client), name)
            .map_err(|e| io_error(format!("TLS: {e}")))?;
        let mut sock = TransportAdapter::new(tcp.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        let outcome = conn.complete_io(&mut sock);
        let chain = verifier
            .chain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        let trusted = outcome.is_ok() && !conn.is_handshaking();
        self.record(Recorded {
            remote,
            connected_at,
            tls: Some(RecordedTls {
                server_name: host.to_owned(),
                chain,
                trusted,
                version: conn.protocol_version().map(version_name),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .map(|s| suite_name(s.suite())),
                group: conn
                    .negotiated_key_exchange_group()
                    .map(|g| group_name(g.name())),
                alpn: conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            }),
            received: received.clone(),
        });
        outcome?;
        if !trusted {
            return Err(io_error("TLS handshake did not complete"));
        }
        let transport = TlsTransport {
            buffers: buffers(),
            stream: StreamOwned { conn, sock },
            received,
        };
        Ok(Some(Either::B(transport)))
    }
}

fn io_error(message: impl Into<String>) -> ureq::Error {
    ureq::Error::Io(std::io::Error::other(message.into()))
}

/// Connects to the first of the resolved addresses that answers, sharing the connect timeout
/// between them (at least one second each).
fn connect_tcp(details: &ConnectionDetails) -> Result<(TcpStream, SocketAddr), ureq::Error> {
    let addrs: Vec<SocketAddr> = details.addrs.iter().copied().collect();
    let budget = details.timeout.not_zero().map(|d| *d);
    let each = budget.map(|b| (b / addrs.len().max(1) as u32).max(Duration::from_secs(1)));
    let mut last = None;
    for addr in addrs {
        let attempt = match each {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok((stream, addr));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or(ureq::Error::ConnectionFailed, ureq::Error::Io))
}

/// Records the chain the server sent, then lets the WebPKI verifier judge it.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    chain: Mutex<Option<Vec<Vec<u8>>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_CHAIN_CERTIFICATES)
            .map(|c| c.to_vec())
            .collect();
        *self.chain.lock().unwrap_or_else(PoisonError::into_inner) = Some(chain);
        if intermediates.len() >= MAX_CHAIN_CERTIFICATES {
            return Err(rustls::Error::General(format!(
                "the server sent more than {MAX_CHAIN_CERTIFICATES} certificates"
            )));
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `TLSv1.3`, `TLSv1.2` (as OpenSSL prints them).
fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("0x{:04x}", u16::from(other)),
    }
}

/// The IANA name of a cipher suite: rustls's name, whose TLS 1.3 suites carry a `TLS13_`
/// prefix where IANA's have `TLS_`.
fn suite_name(s: rustls::CipherSuite) -> String {
    match s.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_owned(),
        },
        None => format!("0x{:04x}", u16::from(s)),
    }
}

/// The IANA name of a key-exchange group (TLS Supported Groups registry).
fn group_name(g: rustls::NamedGroup) -> String {
    match u16::from(g) {
        0x0017 => "secp256r1".into(),
        0x0018 => "secp384r1".into(),
        0x0019 => "secp521r1".into(),
        0x001d => "x25519".into(),
        0x001e => "x448".into(),
        0x0100 => "ffdhe2048".into(),
        0x0101 => "ffdhe3072".into(),
        0x0102 => "ffdhe4096".into(),
        0x11ec => "X25519MLKEM768".into(),
        0x11eb => "SecP256r1MLKEM768".into(),
        0x11ed => "SecP384r1MLKEM1024".into(),
        other => format!("0x{other:04x}"),
    }
}

/// A TCP connection (ureq's `TcpTransport`, which is private to ureq).
struct PlainTransport {
    stream: TcpStream,
    buffers: LazyBuffers,
    /// Where the bytes read are recorded; `None` under TLS.
    received: Option<Received>,
}

impl fmt::Debug for PlainTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainTransport").finish_non_exhaustive()
    }
}

/// A socket timeout as ureq reports it: the budget that ran out.
fn timed_out(e: std::io::Error, timeout: NextTimeout) -> ureq::Error {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            ureq::Error::Timeout(timeout.reason)
        }
        _ => ureq::Error::Io(e),
    }
}

impl Transport for PlainTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        self.stream
            .set_write_timeout(timeout.not_zero().map(|d| *d))?;
        let output = &self.buffers.output()[..amount];
        self.stream
            .write_all(output)
            .map_err(|e| timed_out(e, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        self.stream
            .set_read_timeout(timeout.not_zero().map(|d| *d))?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(input) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other.map_err(|e| timed_out(e, timeout))?,
            }
        };
        if let Some(r) = &self.received {
            r.append(&input[..amount]);
        }
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // Never asked: connections are not pooled.
        true
    }
}

/// A TLS connection over the chained transport (ureq's `RustlsTransport`, which is private).
struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
    /// Where the plaintext read is recorded.
    received: Received,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.received.append(&input[..amount]);
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_iana() {
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(group_name(rustls::NamedGroup::X25519), "x25519");
        assert_eq!(group_name(rustls::NamedGroup::secp256r1), "secp256r1");
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "TLSv1.3");
    }

    #[test]
    fn bundled_digest_names_the_set() {
        let setup = TlsSetup::new(&[] as &[&Path]).unwrap();
        assert!(setup.record.bundled.starts_with("webpki-roots (Mozilla); "));
        assert!(setup.record.added.is_empty());
        assert_eq!(bundled_digest(), bundled_digest());
    }
}
