//! A real HTTPS server on 127.0.0.1 with a private PKI, for tests of TLS provenance.
//!
//! [`Pki`] is made by the stock `openssl` CLI in a temp dir: a self-signed root CA, an
//! intermediate CA it signs (`pathlen:0`), and a `localhost` / `127.0.0.1` server certificate
//! the intermediate signs, all EC P-256, all valid from a day ago (no clock-skew flakes).
//! [`TlsServer`] serves the leaf and the intermediate (never the root) with rustls and answers
//! requests with the same [`Reply`] handlers as the plain [`Server`](super::Server).
//!
//! The oracles are stock tools and a plain rustls client, not the code under test:
//! [`s_client_chain`] (the chain `openssl s_client -showcerts` saw), [`s_client_verify`],
//! [`s_client_get`] and [`rustls_get`].
//!
//! Used as `crate::common::tls` (see `capture_tls`).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CipherSuite, ProtocolVersion};

use super::{Handler, Reply};

/// How long an `openssl s_client` run may take before it is killed.
const S_CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// A private three-level PKI (root CA, intermediate CA, `localhost` leaf) in a temp dir.
pub struct Pki {
    /// The root CA certificate, PEM: what a user passes to `--ca-cert`.
    pub root_pem: PathBuf,
    /// The intermediate CA certificate, PEM.
    pub intermediate_pem: PathBuf,
    /// The server (leaf) certificate, PEM.
    pub leaf_pem: PathBuf,
    /// The leaf's private key, PKCS#8 PEM.
    pub leaf_key: PathBuf,
    root: Vec<u8>,
    intermediate: Vec<u8>,
    leaf: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Pki {
    /// Makes a new PKI whose subjects carry `name`: "`name` Test Root CA",
    /// "`name` Test Intermediate CA" and a leaf "localhost" (O=`name`), so two PKIs made with
    /// different names (or the same name: the keys differ) do not trust each other.
    pub fn new(name: &str) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let now = chrono::Utc::now();
        let start = asn1_time(now - chrono::Duration::days(1));
        let ca_end = asn1_time(now + chrono::Duration::days(3650));
        let leaf_end = asn1_time(now + chrono::Duration::days(30));

        let root = Spec {
            file: "root",
            subject: format!("/O={name}/CN={name} Test Root CA"),
            extensions: "basicConstraints = critical,CA:TRUE\n\
                         keyUsage = critical,keyCertSign,cRLSign\n\
                         subjectKeyIdentifier = hash\n",
            end: &ca_end,
        };
        let intermediate = Spec {
            file: "intermediate",
            subject: format!("/O={name}/CN={name} Test Intermediate CA"),
            extensions: "basicConstraints = critical,CA:TRUE,pathlen:0\n\
                         keyUsage = critical,keyCertSign,cRLSign\n\
                         subjectKeyIdentifier = hash\n\
                         authorityKeyIdentifier = keyid:always\n",
            end: &ca_end,
        };
        let leaf = Spec {
            file: "leaf",
            subject: format!("/O={name}/CN=localhost"),
            extensions: "basicConstraints = critical,CA:FALSE\n\
                         keyUsage = critical,digitalSignature\n\
                         extendedKeyUsage = serverAuth\n\
                         subjectAltName = DNS:localhost,IP:127.0.0.1\n\
                         subjectKeyIdentifier = hash\n\
                         authorityKeyIdentifier = keyid:always\n",
            end: &leaf_end,
        };
        issue(d, &root, None, &start);
        issue(d, &intermediate, Some("root"), &start);
        issue(d, &leaf, Some("intermediate"), &start);

        let der = |file: &str| {
            CertificateDer::from_pem_file(d.join(format!("{file}.pem")))
                .unwrap_or_else(|e| panic!("{file}.pem: {e:?}"))
                .to_vec()
        };
        Pki {
            root_pem: d.join("root.pem"),
            intermediate_pem: d.join("intermediate.pem"),
            leaf_pem: d.join("leaf.pem"),
            leaf_key: d.join("leaf.key"),
            root: der("root"),
            intermediate: der("intermediate"),
            leaf: der("leaf"),
            dir,
        }
    }

    /// The chain the server sends, DER: the leaf, then the intermediate.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.leaf.clone(), self.intermediate.clone()]
    }

    /// The root CA certificate, DER (never sent by the server).
    pub fn root_der(&self) -> Vec<u8> {
        self.root.clone()
    }

    /// The temp dir holding the keys, certificates and openssl configs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// One certificate to issue.
struct Spec<'a> {
    /// Base name of `.key`, `.csr`, `.cnf`, `.pem` in the PKI dir.
    file: &'a str,
    subject: String,
    /// The v3 extensions section's body.
    extensions: &'a str,
    /// `notAfter`, `YYYYMMDDHHMMSSZ`.
    end: &'a str,
}

/// `YYYYMMDDHHMMSSZ`, what `openssl ca -startdate/-enddate` take.
fn asn1_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%d%H%M%SZ").to_string()
}

/// Makes `spec.file.key` (P-256) and `spec.file.pem`, signed by `issuer` (a base name in the
/// same dir) or self-signed. `openssl ca` rather than `x509 -req`: only it sets `notBefore`.
fn issue(dir: &Path, spec: &Spec, issuer: Option<&str>, start: &str) {
    let f = spec.file;
    super::openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{f}.key"),
        ],
    );
    super::openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{f}.key"),
            "-subj",
            &spec.subject,
            "-out",
            &format!("{f}.csr"),
        ],
    );
    // Each certificate gets its own CA database, so nothing is shared between issues.
    let db = dir.join(format!("{f}.db"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    std::fs::write(db.join("serial"), "01\n").unwrap();
    std::fs::write(
        dir.join(format!("{f}.cnf")),
        format!(
            "[ ca ]\n\
             default_ca = issuing\n\
             [ issuing ]\n\
             database = {db}/index.txt\n\
             new_certs_dir = {db}\n\
             serial = {db}/serial\n\
             default_md = sha256\n\
             policy = any\n\
             unique_subject = no\n\
             copy_extensions = none\n\
             email_in_dn = no\n\
             [ any ]\n\
             organizationName = optional\n\
             commonName = supplied\n\
             [ v3 ]\n\
             {ext}",
            db = db.display(),
            ext = spec.extensions,
        ),
    )
    .unwrap();
    let (cnf, csr, pem) = (format!("{f}.cnf"), format!("{f}.csr"), format!("{f}.pem"));
    let mut args = vec![
        "ca",
        "-batch",
        "-notext",
        "-rand_serial",
        "-config",
        &cnf,
        "-extensions",
        "v3",
        "-in",
        &csr,
        "-out",
        &pem,
        "-startdate",
        start,
        "-enddate",
        spec.end,
    ];
    let (issuer_pem, issuer_key, own_key);
    match issuer {
        Some(i) => {
            issuer_pem = format!("{i}.pem");
            issuer_key = format!("{i}.key");
            args.extend(["-cert", &issuer_pem, "-keyfile", &issuer_key]);
        }
        None => {
            own_key = format!("{f}.key");
            args.extend(["-selfsign", "-keyfile", &own_key]);
        }
    }
    super::openssl(dir, &args);
}

/// What the server saw of one completed handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The negotiated protocol version.
    pub version: ProtocolVersion,
    /// The negotiated cipher suite.
    pub suite: CipherSuite,
    /// The SNI host name the client sent, if any.
    pub sni: Option<String>,
}

/// A loopback HTTPS server presenting a [`Pki`]'s leaf and intermediate; stops when dropped.
pub struct TlsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handshakes: Arc<Mutex<Vec<Handshake>>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Starts a server (TLS 1.3 and 1.2, rustls' safe defaults) that answers each request path
    /// with `handler(path)`.
    pub fn start(pki: &Pki, handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> TlsServer {
        Self::start_with(pki, rustls::DEFAULT_VERSIONS, Arc::new(handler))
    }

    /// Like [`TlsServer::start`], offering TLS 1.2 only.
    pub fn start_tls12(
        pki: &Pki,
        handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> TlsServer {
        Self::start_with(pki, &[&rustls::version::TLS12], Arc::new(handler))
    }

    fn start_with(
        pki: &Pki,
        versions: &[&'static rustls::SupportedProtocolVersion],
        handler: Arc<Handler>,
    ) -> TlsServer {
        let chain: Vec<CertificateDer<'static>> = pki
            .chain_der()
            .into_iter()
            .map(CertificateDer::from)
            .collect();
        let key = PrivateKeyDer::from_pem_file(&pki.leaf_key).expect("leaf key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate and key");
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let (stop2, handshakes2) = (stop.clone(), handshakes.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, config, handshakes) =
                    (handler.clone(), config.clone(), handshakes2.clone());
                std::thread::spawn(move || serve_tls(stream, config, &handshakes, &*handler));
            }
        });
        TlsServer {
            addr,
            stop,
            handshakes,
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT{path}` (the leaf names IP 127.0.0.1 in its SAN).
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.addr, path)
    }

    /// `https://localhost:PORT{path}` (the leaf names DNS localhost in its SAN).
    pub fn localhost_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.addr.port(), path)
    }

    /// The listening address, 127.0.0.1:PORT.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every handshake completed so far, in completion order (recorded before the request is
    /// read, so a client that got an answer has its handshake here).
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes.lock().unwrap().clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection: handshake (a failed one just ends the connection), then the plain server's
/// request handling over TLS, then close_notify.
fn serve_tls(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    handshakes: &Mutex<Vec<Handshake>>,
    handler: &Handler,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    if tls.conn.complete_io(&mut tls.sock).is_err() || tls.conn.is_handshaking() {
        return;
    }
    if let (Some(version), Some(suite)) = (
        tls.conn.protocol_version(),
        tls.conn.negotiated_cipher_suite(),
    ) {
        handshakes.lock().unwrap().push(Handshake {
            version,
            suite: suite.suite(),
            sni: tls.conn.server_name().map(str::to_owned),
        });
    }
    super::serve(&mut tls, handler);
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
}

/// Runs `cmd` with `stdin` fed then closed, killing it after `timeout`.
fn run_with_timeout(mut cmd: Command, stdin: &[u8], timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for openssl") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = feeder.join();
            panic!(
                "{cmd:?} timed out after {timeout:?}; stderr: {}",
                String::from_utf8_lossy(&err.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = feeder.join();
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// `openssl s_client -connect 127.0.0.1:PORT -servername localhost` plus `extra`, stdin `input`.
fn s_client(addr: SocketAddr, extra: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", addr.port()))
        .args(["-servername", "localhost"])
        .args(extra);
    run_with_timeout(cmd, input, S_CLIENT_TIMEOUT)
}

/// The certificate chain the server at `addr` sent, DER, in the order sent, as printed by
/// `openssl s_client -showcerts` (the stock-tool oracle for a recorded chain).
pub fn s_client_chain(addr: SocketAddr) -> Vec<Vec<u8>> {
    let out = s_client(addr, &["-showcerts"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    let section = text
        .split_once("Certificate chain\n")
        .map(|(_, rest)| rest.split_once("\n---\n").map_or(rest, |(chain, _)| chain))
        .unwrap_or_else(|| {
            panic!(
                "openssl s_client -showcerts printed no chain ({:?}):\n{text}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    CertificateDer::pem_slice_iter(section.as_bytes())
        .map(|c| c.expect("PEM certificate from s_client").to_vec())
        .collect()
}

/// `openssl s_client -verify_return_error -CAfile CA` (also checking the name `localhost`):
/// Ok(s_client's output) when the handshake verified against `ca` alone, Err(output) when not.
pub fn s_client_verify(addr: SocketAddr, ca: &Path) -> Result<String, String> {
    let ca = ca.to_str().expect("UTF-8 CA path");
    let args = [
        "-verify_return_error",
        "-verify_hostname",
        "localhost",
        "-CAfile",
        ca,
        "-no-CApath",
        "-no-CAstore",
    ];
    let out = s_client(addr, &args, b"");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.contains("Verify return code: 0 (ok)") {
        Ok(text)
    } else {
        Err(text)
    }
}

/// `GET path` over `openssl s_client -quiet` (no verification): the raw HTTP response (head and
/// body) the server at `addr` sent. Extra s_client options (e.g. `-tls1_2`) go in `extra`.
pub fn s_client_get(addr: SocketAddr, path: &str, extra: &[&str]) -> Vec<u8> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut args = vec!["-quiet"];
    args.extend_from_slice(extra);
    s_client(addr, &args, request.as_bytes()).stdout
}

/// What [`rustls_get`] got.
#[derive(Debug)]
pub struct RustlsResponse {
    /// The raw HTTP response, head and body.
    pub response: Vec<u8>,
    /// The negotiated protocol version.
    pub version: ProtocolVersion,
    /// The negotiated cipher suite.
    pub suite: CipherSuite,
    /// The certificates the server sent, DER, in order.
    pub chain: Vec<Vec<u8>>,
}

/// `GET path` with a plain rustls client (ring) that trusts only `root_der`, verifying the
/// server as `server_name` ("localhost" or "127.0.0.1"): Err(the error) when the handshake or
/// the exchange fails.
pub fn rustls_get(
    addr: SocketAddr,
    server_name: &str,
    root_der: &[u8],
    path: &str,
) -> Result<RustlsResponse, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(root_der.to_vec()))
        .map_err(|e| format!("root certificate: {e}"))?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let _ = sock.set_read_timeout(Some(Duration::from_secs(20)));
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).map_err(|e| e.to_string())?;
    let (Some(version), Some(suite)) = (
        tls.conn.protocol_version(),
        tls.conn.negotiated_cipher_suite(),
    ) else {
        return Err("no negotiated version or suite".into());
    };
    let chain = tls
        .conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.to_vec())
        .collect();
    Ok(RustlsResponse {
        response,
        version,
        suite: suite.suite(),
        chain,
    })
}

/// The body of a raw `Connection: close` HTTP response (everything after the blank line).
pub fn http_body(response: &[u8]) -> &[u8] {
    response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |i| &response[i + 4..])
}
