//! Tests of `proxy.rs`.

use super::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use exhibit_store::config::CaptureSettings;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct};

use crate::connector::TlsSetup;

const HELLO: &[u8] = b"<p>hello</p>";

fn limits() -> ProxyLimits {
    ProxyLimits {
        max_response_bytes: 1 << 20,
        max_total_bytes: 64 << 20,
        max_exchanges: 100,
        timeout: Duration::from_secs(10),
    }
}

fn client(ca: Option<&Path>) -> HttpClient {
    let tls = match ca {
        Some(path) => TlsSetup::new(&[path]),
        None => TlsSetup::new(&[] as &[&Path]),
    }
    .unwrap();
    let settings = CaptureSettings {
        timeout_secs: 10,
        ..CaptureSettings::default()
    };
    crate::acquire::client(&settings, Arc::new(tls))
}

fn store() -> (tempfile::TempDir, Arc<ObjectStore>) {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    std::fs::create_dir_all(&objects).unwrap();
    (dir, Arc::new(ObjectStore::new(objects)))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn gz_plain() -> Vec<u8> {
    b"compressed text ".repeat(1000)
}

/// Serves one request per connection on a tiny HTTP/1.1 server.
fn respond(stream: impl Read + Write) {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((n, v)) = h.trim_end().split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = vec![0u8; get("content-length").map_or(0, |v| v.parse().unwrap())];
    r.read_exact(&mut body).unwrap();
    let (status, extra, payload): (u16, &str, Vec<u8>) = match path.as_str() {
        "/x" => (
            200,
            "content-type: Text/HTML; charset=utf-8\r\nx-test: one\r\nx-test: two\r\nconnection: close, x-hop\r\nx-hop: 1\r\nalt-svc: h3=\":443\"\r\n",
            HELLO.to_vec(),
        ),
        "/gz" => (
            200,
            "content-type: text/plain\r\ncontent-encoding: gzip\r\n",
            gzip(&gz_plain()),
        ),
        "/page" => (
            200,
            "content-type: text/html\r\n",
            b"<html><body><p id=p>page</p><script src=/script.js></script></body></html>".to_vec(),
        ),
        "/script.js" => (
            200,
            "content-type: text/javascript\r\ncontent-encoding: gzip\r\n",
            gzip(b"document.getElementById('p').textContent = 'script ran';"),
        ),
        "/empty-gz" => (200, "content-encoding: gzip\r\n", Vec::new()),
        "/big" => (
            200,
            "content-type: application/octet-stream\r\n",
            vec![b'a'; 2 << 20],
        ),
        "/mid" => (
            200,
            "content-type: application/octet-stream\r\n",
            vec![b'm'; 600 << 10],
        ),
        "/echo" => {
            let mut out = format!(
                "{method}|{}|{}|{}|{}|",
                get("accept-encoding").unwrap_or_default(),
                get("user-agent").unwrap_or_default(),
                get("proxy-connection").is_some(),
                get("host").unwrap_or_default(),
            )
            .into_bytes();
            out.extend_from_slice(&body);
            (200, "content-type: text/plain\r\n", out)
        }
        _ => (404, "", b"not here".to_vec()),
    };
    let mut s = r.into_inner();
    let head = format!(
        "HTTP/1.1 {status} X\r\n{extra}content-length: {}\r\n\r\n",
        payload.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(&payload);
    let _ = s.flush();
}

/// A plain HTTP upstream on 127.0.0.1.
fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || respond(stream));
        }
    });
    addr
}

/// An HTTPS upstream on 127.0.0.1 whose certificate a fresh CA signed; the CA's PEM file.
fn tls_upstream(dir: &Path) -> (SocketAddr, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in base64(ca_cert.der()).as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, pem).unwrap();
    let config = Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = ServerConnection::new(config).unwrap();
                respond(StreamOwned::new(conn, stream));
            });
        }
    });
    (addr, ca_path)
}

/// Reads one response: status, headers (lower-cased names), body (by Content-Length).
fn read_response(r: &mut impl BufRead) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        let (n, v) = h.trim_end().split_once(':').unwrap();
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).unwrap();
    (status, headers, body)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Waits until the proxy has answered everything, then takes the exchanges.
fn settled(proxy: &Proxy) -> Vec<ProxiedExchange> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.in_flight() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.take_exchanges()
}

/// One request on a new browser connection to the proxy.
fn request(proxy: &Proxy, raw: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    read_response(&mut BufReader::new(s))
}

#[test]
fn absolute_form_get_is_forwarded_and_recorded() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(client(None), objects.clone(), limits()).unwrap();
    let (status, headers, body) = request(
        &proxy,
        &format!(
            "GET http://{up}/x HTTP/1.1\r\nHost: {up}\r\nProxy-Connection: keep-alive\r\n\r\n"
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(body, HELLO);
    assert_eq!(header(&headers, "content-length"), Some("12"));
    assert_eq!(
        header(&headers, "content-type"),
        Some("Text/HTML; charset=utf-8")
    );
    let tests: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "x-test")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(tests, ["one", "two"]);
    // Hop-by-hop (also those the Connection header names) and Alt-Svc stay behind.
    for gone in ["x-hop", "alt-svc"] {
        assert!(header(&headers, gone).is_none(), "{gone} passed on");
    }
    assert_eq!(headers.iter().filter(|(n, _)| n == "connection").count(), 0);

    let exchanges = settled(&proxy);
    assert_eq!(exchanges.len(), 1);
    let ex = &exchanges[0];
    assert_eq!(ex.url, format!("http://{up}/x"));
    assert_eq!(ex.method, "GET");
    assert_eq!(ex.status, Some(200));
    assert_eq!(ex.error, None);
    assert_eq!(ex.media_type.as_deref(), Some("text/html"));
    let stored = ex.body.as_ref().unwrap();
    assert_eq!(stored.sha256, Sha256Digest::of(HELLO));
    assert_eq!(stored.size, HELLO.len() as u64);
    assert_eq!(
        objects.read_verified(&stored.sha256, 1 << 20).unwrap(),
        HELLO
    );
    // The headers as received, hop-by-hop ones included.
    assert!(ex.headers.contains(&("x-hop".into(), "1".into())));
    assert!(ex.headers.contains(&("x-test".into(), "two".into())));
    let connection = ex.connection.as_ref().unwrap();
    assert_eq!(connection.remote, up.to_string());
    assert_eq!(connection.url, ex.url);
    assert!(connection.tls.is_none());
    assert!(proxy.take_exchanges().is_empty());
    assert!(proxy.take_store_error().is_none());
}

#[test]
fn keep_alive_pipelining_and_gzip() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(client(None), objects.clone(), limits()).unwrap();
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // Two requests in one write: the second is read from what was left over.
    s.write_all(
        format!(
            "GET http://{up}/x HTTP/1.1\r\nHost: {up}\r\n\r\n\
             GET http://{up}/gz HTTP/1.1\r\nHost: {up}\r\nAccept-Encoding: identity\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let (status, _, body) = read_response(&mut r);
    assert_eq!((status, body.as_slice()), (200, HELLO));
    let (status, headers, body) = read_response(&mut r);
    assert_eq!(status, 200);
    assert_eq!(body, gz_plain(), "decoded for the browser");
    assert!(header(&headers, "content-encoding").is_none());
    // An empty body with a Content-Encoding is an empty body.
    s.write_all(format!("GET http://{up}/empty-gz HTTP/1.1\r\nHost: {up}\r\n\r\n").as_bytes())
        .unwrap();
    let (status, _, body) = read_response(&mut r);
    assert_eq!((status, body.len()), (200, 0));
    // A third request later on the same connection.
    s.write_all(format!("GET http://{up}/nothing HTTP/1.1\r\nHost: {up}\r\n\r\n").as_bytes())
        .unwrap();
    let (status, _, body) = read_response(&mut r);
    assert_eq!((status, body.as_slice()), (404, &b"not here"[..]));

    let exchanges = settled(&proxy);
    let urls: Vec<&str> = exchanges.iter().map(|e| e.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            format!("http://{up}/x"),
            format!("http://{up}/gz"),
            format!("http://{up}/empty-gz"),
            format!("http://{up}/nothing")
        ]
    );
    let gz = &exchanges[1];
    assert_eq!(gz.error, None);
    assert!(
        gz.headers
            .contains(&("content-encoding".into(), "gzip".into()))
    );
    assert_eq!(
        gz.body.as_ref().unwrap().sha256,
        Sha256Digest::of(&gz_plain())
    );
    assert_eq!(exchanges[2].error, None);
    assert_eq!(exchanges[2].body.as_ref().unwrap().size, 0);
    assert_eq!(exchanges[3].status, Some(404));
    assert_eq!(
        exchanges[3].error, None,
        "an error status is still a response"
    );
    assert_eq!(
        exchanges[3].body.as_ref().unwrap().sha256,
        Sha256Digest::of(b"not here")
    );
}

#[test]
fn limits_refuse_with_502_and_bounded_reads() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(
        client(None),
        objects,
        ProxyLimits {
            max_response_bytes: 1 << 20,
            max_total_bytes: 1 << 20,
            max_exchanges: 100,
            timeout: Duration::from_secs(10),
        },
    )
    .unwrap();
    let get = |path: &str| {
        request(
            &proxy,
            &format!("GET http://{up}{path} HTTP/1.1\r\nHost: {up}\r\n\r\n"),
        )
    };
    let (status, _, body) = get("/big");
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&body).contains("limit"));
    // The refused body's bytes no longer count against the total.
    assert_eq!(get("/mid").0, 200);
    let (status, _, _) = get("/mid");
    assert_eq!(status, 502, "the second 600 KiB passes the 1 MiB total");
    let exchanges = settled(&proxy);
    assert_eq!(exchanges.len(), 3);
    let big = &exchanges[0];
    assert_eq!(big.status, Some(200));
    assert!(big.body.is_none());
    assert!(big.error.as_deref().unwrap().contains("1048576-byte limit"));
    assert!(big.connection.is_some());
    assert_eq!(exchanges[1].error, None);
    assert!(
        exchanges[2]
            .error
            .as_deref()
            .unwrap()
            .contains("limit for all bodies")
    );
}

#[test]
fn large_bodies_are_spooled_to_a_file() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(
        client(None),
        objects.clone(),
        ProxyLimits {
            max_response_bytes: 4 << 20,
            ..limits()
        },
    )
    .unwrap();
    let (status, headers, body) = request(
        &proxy,
        &format!("GET http://{up}/big HTTP/1.1\r\nHost: {up}\r\n\r\n"),
    );
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), Some("2097152"));
    assert!(body.len() == 2 << 20 && body.iter().all(|b| *b == b'a'));
    let exchanges = settled(&proxy);
    let stored = exchanges[0].body.as_ref().unwrap();
    assert_eq!(stored.sha256, Sha256Digest::of(&body));
    assert!(objects.contains(&stored.sha256));
}

#[test]
fn exchange_limit_is_recorded_once() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(
        client(None),
        objects,
        ProxyLimits {
            max_exchanges: 2,
            ..limits()
        },
    )
    .unwrap();
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            request(
                &proxy,
                &format!("GET http://{up}/x HTTP/1.1\r\nHost: {up}\r\n\r\n"),
            )
            .0
        })
        .collect();
    assert_eq!(statuses, [200, 200, 502, 502]);
    let exchanges = settled(&proxy);
    assert_eq!(exchanges.len(), 3);
    assert!(
        exchanges[2]
            .error
            .as_deref()
            .unwrap()
            .contains("limit of 2")
    );
}

#[test]
fn refusals_are_answered_and_recorded() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(client(None), objects, limits()).unwrap();
    let cases = [
        ("GET ftp://example.com/f HTTP/1.1\r\n\r\n".to_owned(), 501),
        ("GET /local HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(), 400),
        (
            format!(
                "GET http://{up}/ws HTTP/1.1\r\nHost: {up}\r\nConnection: Upgrade\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
            501,
        ),
        (
            format!(
                "POST http://{up}/echo HTTP/1.1\r\nHost: {up}\r\n\
                 Transfer-Encoding: chunked\r\n\r\n3\r\na=1\r\n0\r\n\r\n"
            ),
            501,
        ),
        (
            format!(
                "POST http://{up}/echo HTTP/1.1\r\nHost: {up}\r\nContent-Length: 99999999\r\n\r\n"
            ),
            413,
        ),
    ];
    for (raw, want) in &cases {
        let (status, _, body) = request(&proxy, raw);
        assert_eq!(status, *want, "{raw}");
        assert!(body.starts_with(b"exhibit capture proxy: "));
    }
    // A request to the proxy itself is not looped back into it.
    let own = proxy.addr();
    let (status, _, _) = request(
        &proxy,
        &format!("GET http://{own}/ HTTP/1.1\r\nHost: {own}\r\n\r\n"),
    );
    assert_eq!(status, 502);
    let (status, _, _) = request(
        &proxy,
        &format!(
            "GET http://localhost:{}/ HTTP/1.1\r\nHost: x\r\n\r\n",
            own.port()
        ),
    );
    assert_eq!(status, 502);
    // Too large a head: answered, not recorded (there is no request to record).
    let huge = format!(
        "GET http://{up}/x HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 << 10)
    );
    assert_eq!(request(&proxy, &huge).0, 431);
    // Garbage: answered, not recorded.
    assert_eq!(request(&proxy, "\x01\x02 nonsense\r\n\r\n").0, 400);

    let exchanges = settled(&proxy);
    assert_eq!(exchanges.len(), cases.len() + 2);
    for ex in &exchanges {
        assert!(ex.error.is_some(), "{ex:?}");
        assert!(ex.connection.is_none(), "nothing went upstream: {ex:?}");
    }
    assert!(exchanges[0].error.as_deref().unwrap().contains("ftp"));
    assert!(exchanges[2].error.as_deref().unwrap().contains("WebSocket"));
    assert!(exchanges[3].error.as_deref().unwrap().contains("chunked"));
}

#[test]
fn request_bodies_and_headers_are_forwarded() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(client(None), objects, limits()).unwrap();
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(
        format!(
            "POST http://{up}/echo HTTP/1.1\r\nHost: {up}\r\nUser-Agent: TestBrowser/1\r\n\
             Accept-Encoding: sdch\r\nProxy-Connection: keep-alive\r\n\
             Expect: 100-continue\r\nContent-Length: 7\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    // The body is sent once the proxy asks for it.
    assert_eq!(read_response(&mut r).0, 100);
    s.write_all(b"a=1&b=2").unwrap();
    let (status, _, body) = read_response(&mut r);
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("POST|gzip, deflate, br, zstd|TestBrowser/1|false|{up}|a=1&b=2")
    );
    let exchanges = settled(&proxy);
    assert_eq!(exchanges[0].method, "POST");
    assert_eq!(exchanges[0].error, None);
}

/// Accepts the proxy's certificate (by its exact bytes), as Chromium does by SPKI hash.
#[derive(Debug)]
struct PinnedCert(Vec<u8>);

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the proxy's certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// CONNECTs through the proxy and completes TLS with it.
fn tunnel_to(proxy: &Proxy, target: SocketAddr) -> StreamOwned<ClientConnection, TcpStream> {
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .unwrap();
    // Read the answer byte by byte: nothing of the TLS stream may be consumed.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert_eq!(head, b"HTTP/1.1 200 Connection Established\r\n\r\n");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCert(proxy.cert_der.clone())))
            .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from(target.ip().to_string()).unwrap();
    let conn = ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tls = StreamOwned::new(conn, s);
    tls.flush().unwrap();
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls
}

#[test]
fn connect_tunnel_terminates_tls_and_records_upstream_failure() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start_with_ports(
        &Identity::generate().unwrap(),
        client(None),
        objects,
        limits(),
        &[443, up.port()],
    )
    .unwrap();
    let mut tls = tunnel_to(&proxy, up);
    tls.write_all(format!("GET /x?q=1 HTTP/1.1\r\nHost: {up}\r\n\r\n").as_bytes())
        .unwrap();
    let mut r = BufReader::new(tls);
    let (status, _, body) = read_response(&mut r);
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&body).contains("TLS"), "{body:?}");
    let exchanges = settled(&proxy);
    assert_eq!(exchanges.len(), 1);
    let ex = &exchanges[0];
    assert_eq!(ex.url, format!("https://{up}/x?q=1"));
    assert_eq!(ex.status, None);
    assert!(ex.error.as_deref().unwrap().contains("TLS"));
    let connection = ex.connection.as_ref().unwrap();
    assert_eq!(connection.remote, up.to_string());
    assert!(!connection.tls.as_ref().unwrap().trusted);
    // A port outside an allowed list is refused.
    drop(r);
    let refused = Proxy::start_with_ports(
        &Identity::generate().unwrap(),
        client(None),
        store().1,
        limits(),
        &[443],
    )
    .unwrap();
    let (status, _, _) = request(
        &refused,
        &format!("CONNECT {up} HTTP/1.1\r\nHost: {up}\r\n\r\n"),
    );
    assert_eq!(status, 502);
}

#[test]
fn connect_tunnel_to_https_upstream() {
    let (dir, objects) = store();
    let (up, ca) = tls_upstream(dir.path());
    let proxy = Proxy::start_with_ports(
        &Identity::generate().unwrap(),
        client(Some(&ca)),
        objects.clone(),
        limits(),
        &[up.port()],
    )
    .unwrap();
    let tls = tunnel_to(&proxy, up);
    let mut r = BufReader::new(tls);
    for path in ["/x", "/gz"] {
        r.get_mut()
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: {up}\r\n\r\n").as_bytes())
            .unwrap();
        let (status, _, body) = read_response(&mut r);
        assert_eq!(status, 200);
        let want = if path == "/x" {
            HELLO.to_vec()
        } else {
            gz_plain()
        };
        assert_eq!(body, want);
    }
    let exchanges = settled(&proxy);
    assert_eq!(exchanges.len(), 2);
    let ex = &exchanges[0];
    assert_eq!(ex.url, format!("https://{up}/x"));
    assert_eq!(ex.error, None);
    let tls = ex.connection.as_ref().unwrap().tls.as_ref().unwrap();
    assert!(tls.trusted);
    assert_eq!(tls.server_name, "127.0.0.1");
    assert_eq!(tls.chain.len(), 1);
    assert!(objects.contains(&tls.chain[0].sha256));
}

/// Real Chromium, when installed: it accepts the proxy's certificate by SPKI hash and
/// loads an HTTPS page and its subresources through the proxy.
#[test]
fn chromium_loads_https_through_the_proxy() {
    let Some(chromium) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    }) else {
        println!("SKIP: chromium not found");
        return;
    };
    let (dir, objects) = store();
    let (up, ca) = tls_upstream(dir.path());
    let proxy = Proxy::start_with_ports(
        &Identity::generate().unwrap(),
        client(Some(&ca)),
        objects,
        limits(),
        &[443, up.port()],
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--proxy-bypass-list=<-loopback>",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=http://{}", proxy.addr()))
        .arg(format!(
            "--ignore-certificate-errors-spki-list={}",
            proxy.spki_sha256_base64()
        ))
        .arg(format!("https://{up}/page"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("script ran"),
        "DOM: {dom}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exchanges = settled(&proxy);
    let page = exchanges
        .iter()
        .find(|e| e.url == format!("https://{up}/page"))
        .unwrap();
    assert_eq!(page.status, Some(200));
    assert!(
        page.connection
            .as_ref()
            .unwrap()
            .tls
            .as_ref()
            .unwrap()
            .trusted
    );
    assert!(
        exchanges
            .iter()
            .any(|e| e.url == format!("https://{up}/script.js") && e.error.is_none()),
        "{exchanges:#?}"
    );
}

/// Garbage, truncated and hostile requests: each connection ends, the proxy keeps serving.
#[test]
fn garbage_does_not_break_the_proxy() {
    let up = upstream();
    let (_dir, objects) = store();
    let proxy = Proxy::start(
        client(None),
        objects,
        ProxyLimits {
            timeout: Duration::from_secs(1),
            ..limits()
        },
    )
    .unwrap();
    let prefixes = [
        String::new(),
        "CONNECT ".to_owned(),
        format!("GET http://{up}/x HTTP/1.1\r\n"),
        format!("POST http://{up}/echo HTTP/1.1\r\nContent-Length: 10\r\n\r\n"),
        format!("GET http://{up}/x HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n"),
        format!("GET http://{up}/x HTTP/1.1\r\nBad\x00Name: v\r\n\r\n"),
        format!("\u{e9}\u{e9} http://{up}/x HTTP/1.1\r\n\r\n"),
        format!("GET http://{up}/x HTTP/9.9\r\n\r\n"),
        "GET http://[::1/ HTTP/1.1\r\n\r\n".to_owned(),
        "CONNECT [::1]:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello".to_owned(),
        "CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x7f\x7f".to_owned(),
        "CONNECT a:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".to_owned(),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut handles = Vec::new();
    for i in 0..120 {
        let mut bytes = prefixes[i % prefixes.len()].clone().into_bytes();
        for _ in 0..(i * 7 % 300) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push((seed >> 24) as u8);
        }
        let addr = proxy.addr();
        handles.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(addr) else {
                return;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(&bytes);
            let _ = s.shutdown(Shutdown::Write);
            let _ = s.read_to_end(&mut Vec::new());
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let (status, _, body) = request(
        &proxy,
        &format!("GET http://{up}/x HTTP/1.1\r\nHost: {up}\r\n\r\n"),
    );
    assert_eq!((status, body.as_slice()), (200, HELLO));
    for ex in settled(&proxy) {
        assert_ne!(
            ex.error.as_deref(),
            Some("the proxy failed while handling the request")
        );
    }
    assert!(proxy.take_store_error().is_none());
}

#[test]
fn spki_hash_names_the_certificate_key() {
    let (_dir, objects) = store();
    let proxy = Proxy::start(client(None), objects, limits()).unwrap();
    let spki = &proxy.spki_der;
    assert!(
        proxy
            .cert_der
            .windows(spki.len())
            .any(|w| w == spki.as_slice()),
        "the SPKI is the certificate's"
    );
    assert_eq!(
        proxy.spki_sha256_base64(),
        base64(Sha256Digest::of(spki).as_bytes())
    );
    assert_eq!(proxy.spki_sha256_base64().len(), 44);
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
}

#[test]
fn drop_closes_connections_promptly() {
    let (_dir, objects) = store();
    let proxy = Proxy::start(client(None), objects, limits()).unwrap();
    let mut idle = TcpStream::connect(proxy.addr()).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    idle.write_all(b"GET http://127.0.0.1:9/ HT").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    drop(proxy);
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(rest.is_empty());
}
