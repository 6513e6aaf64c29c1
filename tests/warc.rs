//! `exhibit export --warc`: WARC 1.1 files that the web-archiving tools read (warcio checks
//! every record's digests and indexes it), holding the exact captured bytes under their URL and
//! the signed records as metadata; reproducible; a tampered copy fails warcio's check.

use std::path::Path;
use std::process::Command;

use crate::common::tls::{Pki, TlsServer};
use crate::common::*;

fn page(path: &str) -> Reply {
    match path {
        "/privacy" => Reply::ok(
            "text/html; charset=utf-8",
            std::fs::read(fixture("policy-v1.html")).unwrap(),
        ),
        _ => Reply::status(404, "<h1>Not here</h1>"),
    }
}

fn warcio(args: &[&str]) -> std::process::Output {
    Command::new("warcio")
        .args(args)
        .output()
        .expect("run warcio")
}

fn export(archive: &Path, args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .env("SOURCE_DATE_EPOCH", "1777529721")
        .arg("--archive")
        .arg(archive)
        .arg("export")
        .args(args)
        .output()
        .expect("run exhibit")
}

#[test]
fn a_warc_export_passes_warcio_and_holds_the_exact_bytes_and_the_signed_records() {
    if !have("warcio") {
        return;
    }
    let pki = Pki::new("Warc");
    let server = TlsServer::start(&pki, page);
    let (dir, archive) = new_archive();
    let url = server.url("/privacy");
    let root = pki.root_pem.to_str().unwrap();
    ok(&exhibit(&archive, &["capture", &url, "--ca-cert", root]));
    let terms = fixture("terms.txt");
    ok(&exhibit(&archive, &["capture", terms.to_str().unwrap()]));
    ok(&exhibit(
        &archive,
        &[
            "cite",
            "EX-V-000001",
            "--quote",
            "We do not use your content to train our models.",
        ],
    ));

    // A failed capture (404): its error page goes under exhibit's own URI, never its URL.
    let gone = server.url("/gone");
    assert_eq!(
        code(&exhibit(&archive, &["capture", &gone, "--ca-cert", root])),
        1
    );

    let gz = dir.path().join("out.warc.gz");
    ok(&export(
        &archive,
        &["--all", "--warc", gz.to_str().unwrap()],
    ));
    let again = dir.path().join("again.warc.gz");
    ok(&export(
        &archive,
        &["--all", "--warc", again.to_str().unwrap()],
    ));
    assert!(
        std::fs::read(&gz).unwrap() == std::fs::read(&again).unwrap(),
        "two exports of the same records differ"
    );
    // An existing file is never replaced.
    assert_eq!(
        code(&export(
            &archive,
            &["--all", "--warc", gz.to_str().unwrap()]
        )),
        2
    );

    // warcio checks every block and payload digest.
    let check = warcio(&["check", "-v", gz.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(out.contains("digest pass"), "{out}");
    assert!(!out.contains("digest failed"), "{out}");

    // warcio indexes it: the captured page under its own URL, a resource record with the TLS
    // facts; the signed records under urn:exhibit: URIs.
    let index = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,content-type,warc-ip-address,warc-protocol,warc-cipher-suite,warc-payload-digest",
        gz.to_str().unwrap(),
    ]);
    assert!(index.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&index.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["warc-type"], "warcinfo");
    let m = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0]["manifest"];
    let page_row = rows
        .iter()
        .find(|r| r["warc-target-uri"] == url.as_str())
        .expect("the page's resource record");
    assert_eq!(page_row["warc-type"], "resource");
    assert_eq!(page_row["content-type"], "text/html");
    assert_eq!(page_row["warc-ip-address"], "127.0.0.1");
    assert_eq!(
        page_row["warc-payload-digest"],
        format!("sha256:{}", m["content"]["sha256"].as_str().unwrap())
    );
    let tls = &m["http"]["connections"][0]["tls"];
    assert_eq!(page_row["warc-cipher-suite"], tls["cipher_suite"]);
    assert!(
        !rows.iter().any(|r| r["warc-target-uri"] == gone.as_str()),
        "a failure's error page is exported as the page"
    );
    for what in [
        "EX-C-000003:error-body",
        "EX-C-000003:manifest",
        "EX-C-000001:manifest",
        "EX-C-000001:signature",
        "EX-C-000001:tlog-proof",
        "EX-C-000002:manifest",
        "EX-P-000001:manifest",
        "checkpoint",
    ] {
        let uri = format!("urn:exhibit:test.example:{what}");
        let row = rows
            .iter()
            .find(|r| r["warc-target-uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("no record for {uri}"));
        let kind = if what.ends_with("error-body") {
            "resource"
        } else {
            "metadata"
        };
        assert_eq!(row["warc-type"], kind, "{uri}");
    }

    // The exact bytes: warcio extracts the payload, which hashes to the manifest's SHA-256;
    // the metadata record holds the manifest byte for byte, and its signature verifies.
    let plain = dir.path().join("out.warc");
    ok(&export(
        &archive,
        &["EX-C-000001", "--warc", plain.to_str().unwrap()],
    ));
    let offset = |want: &str| -> String {
        let idx = warcio(&[
            "index",
            "-f",
            "warc-target-uri,offset",
            plain.to_str().unwrap(),
        ]);
        String::from_utf8_lossy(&idx.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["warc-target-uri"] == want)
            .map(|r| r["offset"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let extract = |off: &str| {
        let o = warcio(&["extract", "--payload", plain.to_str().unwrap(), off]);
        assert!(o.status.success());
        o.stdout
    };
    let body = extract(&offset(&url));
    assert_eq!(sha256_hex(&body), m["content"]["sha256"].as_str().unwrap());
    let manifest = extract(&offset("urn:exhibit:test.example:EX-C-000001:manifest"));
    let stored = std::fs::read(
        std::fs::read_dir(archive.join("manifests/C/000"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap() == "EX-C-000001.json")
            .unwrap(),
    )
    .unwrap();
    assert!(
        manifest == stored,
        "the metadata record is not the signed manifest"
    );
    let sig = extract(&offset("urn:exhibit:test.example:EX-C-000001:signature"));
    std::fs::write(dir.path().join("m.json"), &manifest).unwrap();
    std::fs::write(dir.path().join("m.sig"), &sig).unwrap();
    openssl(
        dir.path(),
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            archive.join("keys/signing.pub.pem").to_str().unwrap(),
            "-rawin",
            "-in",
            "m.json",
            "-sigfile",
            "m.sig",
        ],
    );

    // One byte of the page changed in a copy: warcio's check fails.
    let mut bytes = std::fs::read(&plain).unwrap();
    let at = bytes
        .windows(b"Privacy Policy".len())
        .position(|w| w == b"Privacy Policy")
        .unwrap();
    bytes[at] = b'p';
    let tampered = dir.path().join("tampered.warc");
    std::fs::write(&tampered, bytes).unwrap();
    let check = warcio(&["check", tampered.to_str().unwrap()]);
    assert!(!check.status.success(), "warcio accepted a tampered WARC");
}

#[test]
fn a_browser_capture_exports_every_response_and_its_renderings() {
    if !have("warcio") {
        return;
    }
    if !crate::capture_browser::chromium() {
        return;
    }
    let server = Server::start(|path| match path {
        "/page" => Reply::ok(
            "text/html; charset=utf-8",
            "<!doctype html><link rel=stylesheet href=/style.css><h1>Terms</h1><p>Be nice.</p>",
        ),
        "/style.css" => Reply::ok("text/css", "h1 { color: #333 }"),
        _ => Reply::status(404, "not here"),
    });
    let (dir, archive) = new_archive();
    let url = server.url("/page");
    ok(&exhibit(&archive, &["capture", &url, "--browser"]));
    let gz = dir.path().join("b.warc.gz");
    ok(&export(
        &archive,
        &["EX-C-000001", "--warc", gz.to_str().unwrap()],
    ));
    let check = warcio(&["check", "-v", gz.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let index = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,content-type",
        gz.to_str().unwrap(),
    ]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&index.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uris: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["warc-target-uri"].as_str())
        .collect();
    // The page once (as the content), its stylesheet, and the renderings under urn:exhibit:.
    assert_eq!(
        uris.iter().filter(|u| **u == url.as_str()).count(),
        1,
        "{uris:?}"
    );
    assert!(
        uris.contains(&server.url("/style.css").as_str()),
        "{uris:?}"
    );
    for what in ["screenshot", "dom", "pdf", "manifest"] {
        let uri = format!("urn:exhibit:test.example:EX-C-000001:{what}");
        assert!(uris.contains(&uri.as_str()), "no {uri}: {uris:?}");
    }
}
