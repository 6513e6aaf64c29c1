//! Capturing over real HTTPS from a server on 127.0.0.1 with a private PKI (root CA,
//! intermediate, `localhost` leaf; `common::tls`): the TLS provenance recorded (chain, version,
//! cipher suite) checked against stock `openssl s_client`.
//!
//! The first tests check the test server itself against the oracles, so a failure in a capture
//! test below them is the capture's, not the harness's.

use std::path::Path;

use crate::common::tls::*;
use crate::common::{
    Reply, Server, bagit_validate, code, exhibit, exhibit_verify, fingerprint, json_lines,
    make_bundle, new_archive, ok, sha256_hex, stderr, stdout, untar,
};

const BODY: &str = "<html><body><p>Served over HTTPS.</p></body></html>";

fn page(path: &str) -> Reply {
    match path {
        "/terms" => Reply::ok("text/html", BODY),
        _ => Reply::status(404, "not here"),
    }
}

#[test]
fn tls_server_sends_leaf_then_intermediate_as_s_client_sees_them() {
    let pki = Pki::new("Chain");
    let chain = pki.chain_der();
    assert_eq!(chain.len(), 2);
    assert_ne!(chain[0], chain[1]);
    assert!(!chain.contains(&pki.root_der()), "the root is never sent");
    let server = TlsServer::start(&pki, page);
    assert_eq!(s_client_chain(server.addr()), chain);
    let server12 = TlsServer::start_tls12(&pki, page);
    assert_eq!(s_client_chain(server12.addr()), chain);
}

#[test]
fn s_client_verifies_against_its_own_root_only() {
    let pki = Pki::new("Trusted");
    let other = Pki::new("Other");
    let server = TlsServer::start(&pki, page);
    if let Err(out) = s_client_verify(server.addr(), &pki.root_pem) {
        panic!("s_client should verify against the PKI's root:\n{out}");
    }
    assert!(
        s_client_verify(server.addr(), &other.root_pem).is_err(),
        "another PKI's root must not verify"
    );
    // The intermediate alone is not a trust anchor for s_client's default (non-partial) chains.
    assert!(s_client_verify(server.addr(), &pki.intermediate_pem).is_err());
    // The server survives refused handshakes.
    assert!(s_client_verify(server.addr(), &pki.root_pem).is_ok());
}

#[test]
fn https_get_through_s_client_returns_the_handler_body() {
    let pki = Pki::new("Get");
    let server = TlsServer::start(&pki, page);
    let response = s_client_get(server.addr(), "/terms", &[]);
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert_eq!(http_body(&response), BODY.as_bytes(), "{text}");
    let missing = s_client_get(server.addr(), "/nope", &[]);
    assert!(missing.starts_with(b"HTTP/1.1 404 "));
    let hs = server.handshakes();
    assert_eq!(hs.len(), 2, "{hs:?}");
    assert_eq!(hs[0].version, rustls::ProtocolVersion::TLSv1_3);
    assert_eq!(hs[0].sni.as_deref(), Some("localhost"));
}

#[test]
fn tls12_server_negotiates_tls12_only() {
    let pki = Pki::new("Twelve");
    let server = TlsServer::start_tls12(&pki, page);
    let response = s_client_get(server.addr(), "/terms", &[]);
    assert_eq!(http_body(&response), BODY.as_bytes());
    let hs = server.handshakes();
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0].version, rustls::ProtocolVersion::TLSv1_2);
    // An ECDSA leaf: an ECDHE-ECDSA suite.
    assert!(format!("{:?}", hs[0].suite).starts_with("TLS_ECDHE_ECDSA_WITH_"));
    // A client insisting on TLS 1.3 gets nothing.
    assert!(s_client_get(server.addr(), "/terms", &["-tls1_3"]).is_empty());
    assert_eq!(server.handshakes().len(), 1);
}

#[test]
fn rustls_client_accepts_the_chain_by_name_and_by_ip() {
    let pki = Pki::new("Webpki");
    let server = TlsServer::start(&pki, page);
    for name in ["localhost", "127.0.0.1"] {
        let got = rustls_get(server.addr(), name, &pki.root_der(), "/terms")
            .unwrap_or_else(|e| panic!("rustls as {name}: {e}"));
        assert_eq!(http_body(&got.response), BODY.as_bytes());
        assert_eq!(got.chain, pki.chain_der());
        assert_eq!(got.version, rustls::ProtocolVersion::TLSv1_3);
    }
    let other = Pki::new("Other");
    let err = rustls_get(server.addr(), "localhost", &other.root_der(), "/terms").unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    // Same subject names, different keys: still refused.
    let twin = Pki::new("Webpki");
    let err = rustls_get(server.addr(), "localhost", &twin.root_der(), "/terms").unwrap_err();
    assert!(err.contains("BadSignature"), "{err}");
    assert!(rustls_get(server.addr(), "example.com", &pki.root_der(), "/terms").is_err());
    assert!(server.url("/x").starts_with("https://127.0.0.1:"));
    assert_eq!(
        server.localhost_url("/x"),
        format!("https://localhost:{}/x", server.addr().port())
    );

    let server12 = TlsServer::start_tls12(&pki, page);
    let got = rustls_get(server12.addr(), "localhost", &pki.root_der(), "/terms").unwrap();
    assert_eq!(got.version, rustls::ProtocolVersion::TLSv1_2);
    assert_eq!(server12.handshakes()[0].suite, got.suite);
}

// ---- Captures over HTTPS: what the manifest records, checked against the oracles. ----

/// Captures `url` with `args`, returning the `--json` line and the signed manifest.
fn capture(
    archive: &Path,
    url: &str,
    args: &[&str],
) -> (i32, serde_json::Value, serde_json::Value) {
    let mut all = vec!["--json", "capture", url];
    all.extend_from_slice(args);
    let out = exhibit(archive, &all);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}{}", stdout(&out), stderr(&out));
    let line = lines[0].clone();
    let bytes = std::fs::read(line["manifest_path"].as_str().unwrap()).unwrap();
    (code(&out), line, serde_json::from_slice(&bytes).unwrap())
}

/// The DER certificates of a PEM text, in order.
fn pem_ders(pem: &str) -> Vec<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap().to_vec())
        .collect()
}

/// The SHA-256 hex digests a recorded chain names.
fn chain_digests(tls: &serde_json::Value) -> Vec<String> {
    tls["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha256"].as_str().unwrap().to_owned())
        .collect()
}

/// The IANA name of a rustls cipher suite (rustls names TLS 1.3 suites `TLS13_…`).
fn iana(suite: rustls::CipherSuite) -> String {
    format!("{suite:?}").replacen("TLS13_", "TLS_", 1)
}

#[test]
fn an_https_capture_records_the_chain_openssl_sees_and_the_handshake() {
    let pki = Pki::new("Capture");
    let server = TlsServer::start(&pki, page);
    let (_dir, archive) = new_archive();
    let root = pki.root_pem.to_str().unwrap();
    let (rc, line, m) = capture(&archive, &server.url("/terms"), &["--ca-cert", root]);
    assert_eq!(rc, 0, "{line}");
    assert_eq!(m["type"], "exhibit.capture/v2");
    let connections = m["http"]["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1, "{m}");
    let c = &connections[0];
    assert_eq!(c["url"], server.url("/terms"));
    assert_eq!(c["remote"], server.addr().to_string());
    let tls = &c["tls"];
    assert_eq!(tls["trusted"], true);
    assert_eq!(tls["server_name"], "127.0.0.1");
    assert_eq!(
        tls["alpn"],
        serde_json::Value::Null,
        "the server offers no ALPN"
    );
    // What the server negotiated, by its own record.
    let hs = server.handshakes();
    assert_eq!(hs.len(), 1);
    assert_eq!(tls["version"], "TLSv1.3");
    assert_eq!(tls["cipher_suite"], iana(hs[0].suite));
    assert!(tls["group"].as_str().unwrap().len() > 3, "{tls}");
    // The chain is the one `openssl s_client -showcerts` sees, certificate for certificate.
    let seen = s_client_chain(server.addr());
    let want: Vec<String> = seen.iter().map(|d| sha256_hex(d)).collect();
    assert_eq!(chain_digests(tls), want);
    let pem = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--tls-chain"]));
    assert_eq!(pem_ders(&pem), seen);
    // The added root is recorded and kept, so the trust decision can be re-made offline.
    let roots = &m["http"]["trust_roots"];
    assert_eq!(roots["added"][0]["sha256"], sha256_hex(&pki.root_der()));
    assert!(
        roots["bundled"]
            .as_str()
            .unwrap()
            .starts_with("webpki-roots (Mozilla); ")
    );
    // `show` names the chain's subjects and fingerprints.
    let shown = ok(&exhibit(&archive, &["show", "EX-C-000001"]));
    assert!(shown.contains("CN=localhost"), "{shown}");
    assert!(shown.contains("CN=Capture Test Intermediate CA"), "{shown}");
    assert!(
        shown.contains(&want[0]) && shown.contains(&want[1]),
        "{shown}"
    );
    assert!(
        shown.contains("TLSv1.3") && shown.contains("chain trusted"),
        "{shown}"
    );
    let j = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0];
    let subjects: Vec<&str> = j["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 3, "leaf, intermediate, added root: {j}");
    assert!(subjects[2].contains("Capture Test Root CA"), "{subjects:?}");

    // Every check that vouches for objects covers the certificates too.
    ok(&exhibit(&archive, &["fsck", "--full"]));
    ok(&exhibit(&archive, &["fsck", "--repair"]));
    ok(&exhibit(&archive, &["reindex"]));
    ok(&exhibit(&archive, &["fsck", "--full"]));
    assert_eq!(
        pem_ders(&ok(&exhibit(
            &archive,
            &["cat", "EX-C-000001", "--tls-chain"]
        ))),
        seen,
        "repair and reindex keep the certificates"
    );
}

#[test]
fn a_bundle_carries_the_certificates_and_the_stock_tools_agree() {
    let pki = Pki::new("Bundle");
    let server = TlsServer::start(&pki, page);
    let (dir, archive) = new_archive();
    let root = pki.root_pem.to_str().unwrap();
    let (rc, _, _) = capture(&archive, &server.url("/terms"), &["--ca-cert", root]);
    assert_eq!(rc, 0);
    let bundle = dir.path().join("tls.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let out = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fingerprint(&archive)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let bag = x.join("tls");
    let mut certs: Vec<Vec<u8>> = std::fs::read_dir(bag.join("data/certificates"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    certs.sort();
    let mut want = pki.chain_der();
    want.push(pki.root_der());
    want.sort();
    assert_eq!(certs, want, "the chain and the added root, as DER");
    bagit_validate(&bag);
    // `openssl verify` re-makes the trust decision from the bundle alone.
    let leaf = bag.join(format!(
        "data/certificates/{}.der",
        sha256_hex(&pki.chain_der()[0])
    ));
    let inter = bag.join(format!(
        "data/certificates/{}.der",
        sha256_hex(&pki.chain_der()[1])
    ));
    let root = bag.join(format!(
        "data/certificates/{}.der",
        sha256_hex(&pki.root_der())
    ));
    let pem_of = |der: &Path| {
        let out = std::process::Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(der)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let (root_pem, inter_pem) = (x.join("root.pem"), x.join("inter.pem"));
    std::fs::write(&root_pem, pem_of(&root)).unwrap();
    std::fs::write(&inter_pem, pem_of(&inter)).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&root_pem)
        .arg("-untrusted")
        .arg(&inter_pem)
        .arg(&leaf)
        .output()
        .unwrap();
    // openssl verify reads PEM or DER leaf files.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("OK"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One changed byte in a certificate is named by the verifier.
    let tampered_dir = dir.path().join("t");
    std::fs::create_dir(&tampered_dir).unwrap();
    let mut der = std::fs::read(&leaf).unwrap();
    let last = der.len() - 1;
    der[last] ^= 1;
    std::fs::write(&leaf, der).unwrap();
    let tampered = dir.path().join("tampered.tar.zst");
    crate::common::tar_up(&x, "tls", &tampered);
    let out = exhibit_verify(&[tampered.to_str().unwrap(), "--key", &fingerprint(&archive)]);
    assert_ne!(code(&out), 0);
    assert!(
        stdout(&out).contains("certificate of EX-C-000001"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn tls12_is_recorded_with_its_iana_suite() {
    let pki = Pki::new("Twelve");
    let server = TlsServer::start_tls12(&pki, page);
    let (_dir, archive) = new_archive();
    let root = pki.root_pem.to_str().unwrap();
    let (rc, _, m) = capture(
        &archive,
        &server.localhost_url("/terms"),
        &["--ca-cert", root],
    );
    assert_eq!(rc, 0, "{m}");
    let tls = &m["http"]["connections"][0]["tls"];
    assert_eq!(tls["version"], "TLSv1.2");
    assert_eq!(tls["server_name"], "localhost");
    let suite = tls["cipher_suite"].as_str().unwrap();
    assert_eq!(suite, iana(server.handshakes()[0].suite));
    assert!(suite.starts_with("TLS_ECDHE_ECDSA_WITH_"), "{suite}");
}

#[test]
fn an_unknown_ca_is_a_failed_capture_that_records_the_presented_chain() {
    let pki = Pki::new("Unknown");
    let server = TlsServer::start(&pki, page);
    let (_dir, archive) = new_archive();
    let (rc, line, m) = capture(&archive, &server.url("/terms"), &[]);
    assert_eq!(rc, 1, "{line}");
    assert_eq!(line["ok"], false);
    assert_eq!(m["type"], "exhibit.capture-failure/v2");
    let error = m["error"].as_str().unwrap();
    assert!(
        error.starts_with("TLS handshake failed") && error.contains("UnknownIssuer"),
        "{error}"
    );
    let tls = &m["http"]["connections"][0]["tls"];
    assert_eq!(tls["trusted"], false);
    let want: Vec<String> = pki.chain_der().iter().map(|d| sha256_hex(d)).collect();
    assert_eq!(
        chain_digests(tls),
        want,
        "the chain presented is evidence too"
    );
    assert_eq!(m["http"]["trust_roots"]["added"], serde_json::json!([]));
    let pem = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--tls-chain"]));
    assert_eq!(pem_ders(&pem), pki.chain_der());
    let shown = ok(&exhibit(&archive, &["show", "EX-C-000001"]));
    assert!(shown.contains("chain REFUSED"), "{shown}");
    ok(&exhibit(&archive, &["fsck", "--full"]));
    // Another PKI's root does not help.
    let other = Pki::new("Other");
    let (rc, _, m) = capture(
        &archive,
        &server.url("/terms"),
        &["--ca-cert", other.root_pem.to_str().unwrap()],
    );
    assert_eq!(rc, 1);
    assert_eq!(m["http"]["connections"][0]["tls"]["trusted"], false);
}

#[test]
fn a_redirect_to_a_second_host_records_two_handshakes() {
    let second = Pki::new("Second");
    let target = TlsServer::start(&second, page);
    let to = target.localhost_url("/terms");
    let first = Pki::new("First");
    let origin = TlsServer::start(&first, move |path| match path {
        "/old" => Reply::redirect(301, &to),
        _ => Reply::status(404, "no"),
    });
    let (_dir, archive) = new_archive();
    let (a, b) = (
        first.root_pem.to_str().unwrap(),
        second.root_pem.to_str().unwrap(),
    );
    let (rc, _, m) = capture(
        &archive,
        &origin.url("/old"),
        &["--ca-cert", a, "--ca-cert", b],
    );
    assert_eq!(rc, 0, "{m}");
    let connections = m["http"]["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 2, "{m}");
    assert_eq!(connections[0]["url"], origin.url("/old"));
    assert_eq!(connections[0]["remote"], origin.addr().to_string());
    assert_eq!(connections[1]["url"], target.localhost_url("/terms"));
    assert_eq!(connections[1]["tls"]["server_name"], "localhost");
    assert_eq!(
        chain_digests(&connections[0]["tls"]),
        first
            .chain_der()
            .iter()
            .map(|d| sha256_hex(d))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        chain_digests(&connections[1]["tls"]),
        second
            .chain_der()
            .iter()
            .map(|d| sha256_hex(d))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        m["http"]["trust_roots"]["added"].as_array().unwrap().len(),
        2
    );
    // `--tls-chain` is the chain of the connection that answered.
    let pem = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--tls-chain"]));
    assert_eq!(pem_ders(&pem), s_client_chain(target.addr()));
}

#[test]
fn plain_http_records_the_address_and_no_handshake() {
    let server = Server::start(page);
    let (_dir, archive) = new_archive();
    let (rc, _, m) = capture(&archive, &server.url("/terms"), &[]);
    assert_eq!(rc, 0);
    assert_eq!(m["type"], "exhibit.capture/v2");
    let c = &m["http"]["connections"][0];
    assert_eq!(c["tls"], serde_json::Value::Null);
    assert!(c["remote"].as_str().unwrap().starts_with("127.0.0.1:"));
    let out = exhibit(&archive, &["cat", "EX-C-000001", "--tls-chain"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("without TLS"), "{}", stderr(&out));
}

#[test]
fn a_bad_ca_cert_file_is_a_one_line_usage_error() {
    let (dir, archive) = new_archive();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    for (path, says) in [
        (
            junk.to_str().unwrap().to_owned(),
            "holds no PEM certificate",
        ),
        (
            dir.path().join("missing.pem").to_str().unwrap().to_owned(),
            "--ca-cert",
        ),
        (
            dir.path().to_str().unwrap().to_owned(),
            "not a regular file",
        ),
    ] {
        let out = exhibit(
            &archive,
            &["capture", "https://127.0.0.1:9/", "--ca-cert", &path],
        );
        assert_eq!(code(&out), 2, "{path}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
    // Nothing was captured.
    assert_eq!(json_lines(&exhibit(&archive, &["--json", "list"])).len(), 0);
}

#[test]
fn a_server_that_never_speaks_tls_or_speaks_plain_http_is_a_bounded_failure() {
    let (_dir, archive) = new_archive();
    // Accepts the connection, then says nothing: the handshake times out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(1).collect();
        std::thread::sleep(std::time::Duration::from_secs(4));
        drop(held);
    });
    let started = std::time::Instant::now();
    let url = format!("https://127.0.0.1:{}/terms", addr.port());
    let (rc, _, m) = capture(&archive, &url, &["--timeout", "1"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(rc, 1);
    assert_eq!(m["type"], "exhibit.capture-failure/v2");
    let tls = &m["http"]["connections"][0]["tls"];
    assert_eq!(tls["trusted"], false);
    assert_eq!(tls["chain"], serde_json::json!([]));
    assert_eq!(tls["version"], serde_json::Value::Null);
    assert!(m["error"].as_str().unwrap().contains("timed out"), "{m}");
    hold.join().unwrap();
    // A plain HTTP server on an https URL: the handshake fails, the attempt is recorded.
    let plain = Server::start(page);
    let url = plain.url("/terms").replacen("http:", "https:", 1);
    let (rc, _, m) = capture(&archive, &url, &[]);
    assert_eq!(rc, 1);
    assert!(
        m["error"]
            .as_str()
            .unwrap()
            .starts_with("TLS handshake failed"),
        "{m}"
    );
    assert_eq!(m["http"]["connections"][0]["tls"]["trusted"], false);
    ok(&exhibit(&archive, &["fsck", "--full"]));
}
