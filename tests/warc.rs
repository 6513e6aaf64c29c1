//! `exhibit export --warc`: WARC 1.1 files that the web-archiving tools read (warcio checks
//! every record's digests and indexes it, cdxj-indexer's offsets land on whole records, pywb
//! replays the page), holding the exact captured bytes under their URL and the signed records as
//! metadata; reproducible; a tampered copy fails warcio's check.
//!
//! pywb and cdxj-indexer come from the virtualenvs `.ci/run` makes (`EXHIBIT_PYWB_VENV`,
//! `EXHIBIT_WEBARCHIVE_VENV`), else from PATH; without them those checks skip, or fail under
//! `EXHIBIT_REQUIRE_TOOLS`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::tls::{Pki, TlsServer};
use crate::common::*;

fn warcio(args: &[&str]) -> std::process::Output {
    Command::new("warcio")
        .args(args)
        .output()
        .expect("run warcio")
}

#[test]
fn a_warc_export_passes_warcio_and_holds_the_exact_bytes_and_the_signed_records() {
    if !have("warcio") {
        return;
    }
    let pki = Pki::new("Warc");
    let server = TlsServer::start(&pki, policy_site);
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
        .expect("the page's response record");
    // The connection kept the whole response: it is exported as received.
    assert_eq!(page_row["warc-type"], "response");
    assert_eq!(
        page_row["content-type"],
        "application/http; msgtype=response"
    );
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
            "<!doctype html><link rel=stylesheet href=/style.css><h1>Terms</h1><p>Be nice.</p>\
             <img src=/missing.png alt=gone>",
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
    // The proxy's connections kept each response whole: they travel as `response` records.
    let css = server.url("/style.css");
    for u in [url.as_str(), css.as_str()] {
        let r = rows.iter().find(|r| r["warc-target-uri"] == u).unwrap();
        assert_eq!(r["warc-type"], "response", "{u}: {rows:#?}");
    }
    // The image answered 404: its error page is not exported as the image.
    let m = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0]["manifest"];
    let missing = server.url("/missing.png");
    assert!(
        m["browser"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["url"] == missing.as_str() && r["status"] == 404),
        "the browser asked for the image: {m}"
    );
    assert!(
        !uris.contains(&missing.as_str()),
        "an error page exported as the resource it answered for: {uris:?}"
    );
    for what in ["screenshot", "dom", "pdf", "manifest"] {
        let uri = format!("urn:exhibit:test.example:EX-C-000001:{what}");
        assert!(uris.contains(&uri.as_str()), "no {uri}: {uris:?}");
    }
}

/// Runs `tool args…` in `dir`, asserting success; returns stdout.
fn run_in(dir: &Path, tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        tool.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A page captured over HTTPS from loopback (and a failed capture of a 404 beside it),
/// exported with `--all` to `out.warc.gz`.
struct Exported {
    dir: tempfile::TempDir,
    archive: PathBuf,
    gz: PathBuf,
    /// The page's URL (`https://127.0.0.1:PORT/privacy`).
    url: String,
    /// The URL whose capture failed (404): its error page must never be served as it.
    gone: String,
    /// The captured SHA-256 (hex), as the signed manifest claims.
    sha256: String,
    /// The SHA-256 (hex) of the response as received, as the signed manifest claims.
    response: String,
    /// The capture time the signed manifest claims (`captured_at`).
    captured_at: chrono::DateTime<chrono::Utc>,
}

impl Exported {
    fn new(name: &str) -> Exported {
        let pki = Pki::new(name);
        let server = TlsServer::start(&pki, policy_site);
        let (dir, archive) = new_archive();
        let url = server.url("/privacy");
        let gone = server.url("/gone");
        let root = pki.root_pem.to_str().unwrap();
        ok(&exhibit(&archive, &["capture", &url, "--ca-cert", root]));
        assert_eq!(
            code(&exhibit(&archive, &["capture", &gone, "--ca-cert", root])),
            1
        );
        drop(server);
        let m = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0]["manifest"];
        let sha256 = m["content"]["sha256"].as_str().unwrap().to_owned();
        let response = m["http"]["connections"][0]["response"]["sha256"]
            .as_str()
            .expect("the response kept as received")
            .to_owned();
        let served = std::fs::read(fixture("policy-v1.html")).unwrap();
        assert_eq!(
            sha256,
            sha256_hex(&served),
            "the capture is not what was served"
        );
        let captured_at = chrono::DateTime::parse_from_rfc3339(m["captured_at"].as_str().unwrap())
            .unwrap()
            .to_utc();
        let gz = dir.path().join("out.warc.gz");
        ok(&export(
            &archive,
            &["--all", "--warc", gz.to_str().unwrap()],
        ));
        Exported {
            dir,
            archive,
            gz,
            url,
            gone,
            sha256,
            response,
            captured_at,
        }
    }

    /// The capture time as a 14-digit WARC/CDX timestamp.
    fn timestamp(&self) -> String {
        self.captured_at.format("%Y%m%d%H%M%S").to_string()
    }

    /// The signed manifest of EX-C-000001, byte for byte as stored.
    fn manifest(&self) -> Vec<u8> {
        std::fs::read(self.archive.join("manifests/C/000/EX-C-000001.json")).unwrap()
    }
}

/// One CDXJ line: `SURT TIMESTAMP {json}`.
fn cdxj_lines(index: &str) -> Vec<(String, String, serde_json::Value)> {
    index
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (key, ts, json) = (parts.next(), parts.next(), parts.next());
            let json = json.unwrap_or_else(|| panic!("not a CDXJ line: {l:?}"));
            let json = serde_json::from_str(json).unwrap_or_else(|e| panic!("{l:?}: {e}"));
            (key.unwrap().to_owned(), ts.unwrap().to_owned(), json)
        })
        .collect()
}

/// A CDXJ line's `offset` and `length` (strings in cdxj-indexer's JSON).
fn span(json: &serde_json::Value) -> (usize, usize) {
    let n = |k: &str| -> usize {
        json[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} in {json}"))
            .parse()
            .unwrap()
    };
    (n("offset"), n("length"))
}

/// The bytes of exactly one gzip member, decompressed: panics if `member` is not one whole
/// member (trailing bytes after it, or a truncated one).
fn one_gzip_member(member: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut decoder = flate2::bufread::GzDecoder::new(member);
    let mut out = Vec::new();
    decoder
        .read_to_end(&mut out)
        .expect("the span is a whole gzip member");
    let rest = decoder.into_inner();
    assert!(
        rest.is_empty(),
        "{} bytes after the gzip member inside the span",
        rest.len()
    );
    out
}

/// Header fields (WARC or HTTP), in order: (name, value).
type Fields = Vec<(String, String)>;

/// An HTTP response: status, headers (lowercase names), body.
type Response = (u16, Fields, Vec<u8>);

/// One whole WARC record: its header fields and its block; panics unless `bytes` is exactly
/// `WARC/1.1`, fields, an empty line, `Content-Length` bytes of block and two CRLFs.
fn one_warc_record(bytes: &[u8]) -> (Fields, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a WARC header");
    let head = std::str::from_utf8(&bytes[..end]).expect("a UTF-8 WARC header");
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("WARC/1.1"));
    let fields: Fields = lines
        .map(|l| {
            let (k, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad field {l:?}"));
            (k.to_owned(), v.trim().to_owned())
        })
        .collect();
    let len: usize = field(&fields, "Content-Length").parse().unwrap();
    let block = &bytes[end + 4..];
    assert!(block.len() >= len, "the record is cut short");
    assert_eq!(
        &block[len..],
        b"\r\n\r\n",
        "not one record: bytes after the block"
    );
    (fields, block[..len].to_vec())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

#[test]
fn cdxj_indexer_points_at_one_gzip_member_holding_the_exact_captured_bytes() {
    let Some(indexer) = venv_tool("EXHIBIT_WEBARCHIVE_VENV", "cdxj-indexer") else {
        return;
    };
    let e = Exported::new("Cdxj");
    let file = std::fs::read(&e.gz).unwrap();
    let gz = e.gz.to_str().unwrap();

    // The default index (what pywb and wacz build): the page under its own URL, once, at the
    // capture time, with the captured digest; the failed capture's URL not at all.
    let rows = cdxj_lines(&run_in(e.dir.path(), &indexer, &[gz]));
    let pages: Vec<_> = rows
        .iter()
        .filter(|r| r.2["url"] == e.url.as_str())
        .collect();
    assert_eq!(pages.len(), 1, "{rows:#?}");
    let (key, ts, json) = pages[0];
    assert!(key.ends_with(")/privacy"), "SURT key {key:?}");
    assert_eq!(*ts, e.timestamp());
    assert_eq!(json["mime"], "text/html");
    assert_eq!(json["digest"], format!("sha256:{}", e.sha256));
    assert_eq!(json["filename"], "out.warc.gz");
    assert!(
        !rows.iter().any(|r| r.2["url"] == e.gone.as_str()),
        "the failure's error page is indexed as its URL: {rows:#?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r.2["url"] != e.url.as_str())
            .all(|r| r.2["url"]
                .as_str()
                .unwrap()
                .starts_with("urn:exhibit:test.example:")),
        "a record other than the page is indexed under a web URL: {rows:#?}"
    );

    // The bytes at offset/length are one gzip member holding one WARC record: the response
    // record of the page, whose block is the response the signed manifest names (block digest
    // and SHA-256 alike), ending in the captured bytes.
    let (offset, length) = span(json);
    let record = one_gzip_member(&file[offset..offset + length]);
    let (fields, block) = one_warc_record(&record);
    assert_eq!(field(&fields, "WARC-Type"), "response");
    assert_eq!(field(&fields, "WARC-Target-URI"), e.url);
    assert_eq!(
        field(&fields, "WARC-Block-Digest"),
        format!("sha256:{}", e.response)
    );
    assert_eq!(sha256_hex(&block), e.response);
    assert!(block.starts_with(b"HTTP/1.1 200 "));
    assert!(block.ends_with(&std::fs::read(fixture("policy-v1.html")).unwrap()));

    // `--records all` (the warcinfo record too): the spans tile the file from its first byte
    // to its last, each one gzip member of one WARC record.
    let all = cdxj_lines(&run_in(e.dir.path(), &indexer, &["--records", "all", gz]));
    let mut spans: Vec<(usize, usize)> = all.iter().map(|r| span(&r.2)).collect();
    spans.sort();
    assert_eq!(spans.len(), rows.len() + 1, "{all:#?}");
    let mut at = 0;
    for (offset, length) in spans {
        assert_eq!(offset, at, "a gap or overlap before offset {offset}");
        one_warc_record(&one_gzip_member(&file[offset..offset + length]));
        at = offset + length;
    }
    assert_eq!(at, file.len(), "bytes after the last indexed record");
}

/// A `wayback` server (pywb) on 127.0.0.1; killed when dropped, on panic too.
struct Wayback {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Wayback {
    /// Starts `wayback` in `dir` (which holds `collections/`) on a free loopback port and
    /// waits (at most 30 s) until it answers.
    fn start(wayback: &Path, dir: &Path) -> Wayback {
        let log = dir.join("wayback.log");
        // A port found free can be taken before wayback binds it: then it exits; try again.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let out = std::fs::File::create(&log).unwrap();
            let child = Command::new(wayback)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .arg("--directory")
                .arg(dir)
                .current_dir(dir)
                .stdin(std::process::Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("run {}: {e}", wayback.display()));
            let mut server = Wayback {
                child,
                port,
                log: log.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok((200, _, _)) = http_get(port, "/") {
                    return server;
                }
                if server.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(
                server.child.try_wait().unwrap().is_some(),
                "wayback did not answer within 30 s:\n{}",
                server.log()
            );
        }
        panic!(
            "wayback exited three times:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
    }

    /// What it printed so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`, asserting an answer: (status, headers with lowercase names, body).
    fn get(&self, path: &str) -> Response {
        http_get(self.port, path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\nwayback's log:\n{}", self.log()))
    }
}

impl Drop for Wayback {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` from 127.0.0.1:port over HTTP/1.0 (the server closes the connection after the
/// response): (status, headers with lowercase names, body).
fn http_get(port: u16, path: &str) -> std::io::Result<Response> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let bad = || std::io::Error::other(format!("not an HTTP response: {raw:?}"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers: Fields = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = raw[end + 4..].to_vec();
    if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        assert_eq!(
            len.parse::<usize>().ok(),
            Some(body.len()),
            "GET {path}: Content-Length"
        );
    }
    assert!(
        !headers.iter().any(|(k, _)| k == "transfer-encoding"),
        "GET {path}: a transfer coding in a reply to HTTP/1.0: {headers:?}"
    );
    Ok((status, headers, body))
}

#[test]
fn pywb_replays_the_exact_captured_bytes_at_the_page_url_and_never_exhibits_metadata() {
    let Some(manager) = venv_tool("EXHIBIT_PYWB_VENV", "wb-manager") else {
        return;
    };
    let Some(wayback) = venv_tool("EXHIBIT_PYWB_VENV", "wayback") else {
        return;
    };
    let e = Exported::new("Pywb");
    let served = std::fs::read(fixture("policy-v1.html")).unwrap();
    let site = e.dir.path().join("pywb");
    std::fs::create_dir(&site).unwrap();
    run_in(&site, &manager, &["init", "c"]);
    run_in(&site, &manager, &["add", "c", e.gz.to_str().unwrap()]);
    let server = Wayback::start(&wayback, &site);
    let ts = e.timestamp();

    // id_ (the original bytes, unrewritten) at the capture time: exactly what the server sent.
    let (status, headers, body) = server.get(&format!("/c/{ts}id_/{}", e.url));
    assert_eq!(status, 200, "{}", server.log());
    assert!(
        body == served,
        "pywb replayed other bytes than were captured:\n{}",
        String::from_utf8_lossy(&body)
    );
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name}: {headers:?}"))
    };
    // A response record replays with the headers the server sent.
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    // The memento is dated at the capture time the signed manifest claims.
    assert_eq!(
        header("memento-datetime"),
        e.captured_at
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    );

    // pywb's own index of the URL: the page's resource record alone, none of exhibit's
    // metadata records (which are in the collection: see below).
    let (status, _, index) = server.get(&format!("/c/cdx?output=json&url={}", e.url));
    assert_eq!(status, 200);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&index)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["timestamp"], ts.as_str());
    assert_eq!(rows[0]["mime"], "text/html");
    assert_eq!(rows[0]["digest"], format!("sha256:{}", e.sha256));
    assert!(!String::from_utf8_lossy(&body).contains("urn:exhibit:"));

    // The signed manifest is in the collection, but only under its urn:exhibit: URI.
    let manifest = e.manifest();
    let (status, _, got) = server.get(&format!(
        "/c/{ts}id_/urn:exhibit:test.example:EX-C-000001:manifest"
    ));
    assert_eq!(status, 200);
    assert!(got == manifest, "the manifest record replays other bytes");
    assert!(body != manifest);

    // The failed capture's error page is not replayed at its URL.
    let (status, _, body) = server.get(&format!("/c/{ts}id_/{}", e.gone));
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert!(!String::from_utf8_lossy(&body).contains("Not here"));
}

/// `body` in chunked transfer-coding, in chunks of at most 100 bytes.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(100) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn a_response_is_kept_exactly_as_sent_and_exported_as_a_response_record() {
    use std::io::Write as _;
    if !have("warcio") {
        return;
    }
    let page = std::fs::read(fixture("policy-v1.html")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&page).unwrap();
    let gzipped = gz.finish().unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(b"Deflated terms.").unwrap();
    let deflated = z.finish().unwrap();
    // What the server sends, byte for byte: gzip inside chunked (as nginx serves), a redirect
    // to it, a zlib body framed by its length, and a response with bytes after its body.
    let mut chunked_gzip = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
        Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    chunked_gzip.extend(chunked(&gzipped));
    let redirect = b"HTTP/1.1 301 Moved Permanently\r\nLocation: /policy\r\nContent-Length: 0\r\n\
        Connection: close\r\n\r\n"
        .to_vec();
    let mut deflate = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: deflate\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        deflated.len()
    )
    .into_bytes();
    deflate.extend(&deflated);
    let trailing =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA"
            .to_vec();
    let sent = [
        ("/policy", chunked_gzip.clone()),
        ("/old", redirect.clone()),
        ("/deflate", deflate.clone()),
        ("/trailing", trailing),
    ];
    let served = sent.clone();
    let server = Server::start(move |path| {
        let bytes = served
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, b)| b.clone());
        bytes.map_or_else(|| Reply::status(404, "no"), Reply::Raw)
    });
    let (dir, archive) = new_archive();
    let manifest =
        |id: &str| json_lines(&exhibit(&archive, &["--json", "show", id]))[0]["manifest"].clone();
    ok(&exhibit(&archive, &["capture", &server.url("/old")]));
    ok(&exhibit(&archive, &["capture", &server.url("/deflate")]));
    ok(&exhibit(&archive, &["capture", &server.url("/trailing")]));

    // Each connection names exactly the bytes its server sent; the content is the decoded body.
    let m = manifest("EX-C-000001");
    assert_eq!(m["content"]["sha256"], sha256_hex(&page));
    let connections = m["http"]["connections"].as_array().unwrap();
    assert_eq!(connections[0]["response"]["sha256"], sha256_hex(&redirect));
    assert_eq!(
        connections[1]["response"]["sha256"],
        sha256_hex(&chunked_gzip)
    );
    assert_eq!(
        manifest("EX-C-000002")["http"]["connections"][0]["response"]["sha256"],
        sha256_hex(&deflate)
    );
    // Bytes after the body: not one response, so not kept (the capture stands on its body).
    let t = manifest("EX-C-000003");
    assert_eq!(t["content"]["sha256"], sha256_hex(b"hello"));
    assert!(t["http"]["connections"][0].get("response").is_none(), "{t}");

    // The bundle carries them, checked like every object.
    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001", "EX-C-000002"]);
    let out = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fingerprint(&archive)]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let bag = dir.path().join("bag");
    std::fs::create_dir(&bag).unwrap();
    untar(&bundle, &bag);
    let kept = bag
        .join("b/data/responses")
        .join(format!("{}.http", sha256_hex(&chunked_gzip)));
    assert!(std::fs::read(&kept).unwrap() == chunked_gzip);

    // Exported as `response` records, which warcio checks (block and payload digests).
    let warc = dir.path().join("out.warc.gz");
    ok(&export(
        &archive,
        &["--all", "--warc", warc.to_str().unwrap()],
    ));
    let check = warcio(&["check", "-v", warc.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "{said}");
    assert!(!said.contains("digest failed"), "{said}");
    let index = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,http:status,warc-block-digest",
        warc.to_str().unwrap(),
    ]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&index.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |url: &str| {
        rows.iter()
            .find(|r| r["warc-target-uri"] == url)
            .unwrap_or_else(|| panic!("no record for {url}: {rows:#?}"))
    };
    for (path, bytes, status) in [
        ("/policy", &chunked_gzip, "200"),
        ("/old", &redirect, "301"),
        ("/deflate", &deflate, "200"),
    ] {
        let r = row(&server.url(path));
        assert_eq!(r["warc-type"], "response", "{path}");
        assert_eq!(r["http:status"], status, "{path}");
        assert_eq!(
            r["warc-block-digest"],
            format!("sha256:{}", sha256_hex(bytes)),
            "{path}"
        );
    }
    assert_eq!(row(&server.url("/trailing"))["warc-type"], "resource");

    // Imported back, the responses give the same content hashes.
    let second = dir.path().join("second");
    ok(&exhibit(&second, &["init"]));
    ok(&exhibit(&second, &["import", warc.to_str().unwrap()]));
    let imported: Vec<String> = (1..=3)
        .map(|i| {
            let out = exhibit(&second, &["--json", "show", &format!("EX-C-{i:06}")]);
            json_lines(&out)[0]["manifest"]["content"]["sha256"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut want = vec![
        sha256_hex(&page),
        sha256_hex(b"Deflated terms."),
        sha256_hex(b"hello"),
    ];
    let mut got = imported.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}
