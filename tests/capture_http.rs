//! Capturing over real HTTP from a server on 127.0.0.1: redirects, Content-Encoding, failures
//! recorded as signed evidence, timeouts and size caps.

use std::io::Write;
use std::time::Duration;

use crate::common::*;

const PAGE: &str = "<html><head><title>Loopback Terms</title></head>\
    <body><h1>Terms</h1><p>Served over HTTP.</p></body></html>";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn manifest_of(c: &serde_json::Value) -> serde_json::Value {
    let bytes = std::fs::read(c["manifest_path"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn redirects_are_followed_and_recorded_with_headers() {
    let server = Server::start(|path| match path {
        "/old" => Reply::redirect(301, "/moved"),
        "/moved" => Reply::redirect(302, "/terms"),
        "/terms" => Reply::Full {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/html; charset=utf-8".into()),
                ("ETag".into(), "\"v1\"".into()),
                (
                    "Last-Modified".into(),
                    "Wed, 29 Apr 2026 10:00:00 GMT".into(),
                ),
                ("Set-Cookie".into(), "session=secret".into()),
            ],
            body: PAGE.as_bytes().to_vec(),
        },
        _ => Reply::status(404, "not found"),
    });
    let (_dir, archive) = new_archive();
    let start = server.url("/old");
    let out = exhibit(
        &archive,
        &["--json", "capture", &start, "--entity", "Loopback Inc"],
    );
    let c = &json_lines(&out)[0];
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(c["sha256"], sha256_hex(PAGE.as_bytes()));
    assert_eq!(
        c["url"], start,
        "the document is named by the requested URL"
    );
    let m = manifest_of(c);
    let http = &m["http"];
    assert_eq!(http["request_url"], start);
    assert_eq!(http["final_url"], server.url("/terms"));
    assert_eq!(http["status"], 200);
    let redirects = http["redirects"].as_array().unwrap();
    assert_eq!(redirects.len(), 2);
    assert_eq!(redirects[0]["status"], 301);
    assert_eq!(redirects[0]["location"], server.url("/moved"));
    assert_eq!(redirects[1]["status"], 302);
    assert_eq!(http["headers"]["etag"], "\"v1\"");
    assert_eq!(http["headers"]["content-type"], "text/html; charset=utf-8");
    assert!(
        http["headers"].get("set-cookie").is_none(),
        "only the fixed list is kept"
    );
    assert_eq!(m["document"]["title"], "Loopback Terms");
    assert_eq!(m["method"], "http");
}

#[test]
fn content_encoding_is_undone_before_hashing() {
    let body = PAGE.repeat(50);
    let gz = gzip(body.as_bytes());
    let zst = zstd::encode_all(body.as_bytes(), 3).unwrap();
    let server = Server::start(move |path| {
        let (encoding, bytes) = match path {
            "/gzip" => ("gzip", gz.clone()),
            "/zstd" => ("zstd", zst.clone()),
            "/bogus" => ("compress", b"whatever".to_vec()),
            _ => ("identity", b"plain".to_vec()),
        };
        Reply::Full {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/html".into()),
                ("Content-Encoding".into(), encoding.into()),
            ],
            body: bytes,
        }
    });
    let (_dir, archive) = new_archive();
    for path in ["/gzip", "/zstd"] {
        let out = exhibit(&archive, &["--json", "capture", &server.url(path)]);
        let c = &json_lines(&out)[0];
        assert_eq!(c["sha256"], sha256_hex(body.as_bytes()), "{path}");
        assert_eq!(
            manifest_of(c)["http"]["headers"]["content-encoding"],
            path.trim_start_matches('/')
        );
        let cat = exhibit(&archive, &["cat", c["capture_id"].as_str().unwrap()]);
        assert_eq!(cat.stdout, body.as_bytes());
    }
    // An encoding we cannot undo is a recorded failure, never silently-kept encoded bytes.
    let out = exhibit(&archive, &["--json", "capture", &server.url("/bogus")]);
    assert_eq!(code(&out), 1);
    let c = &json_lines(&out)[0];
    assert_eq!(c["ok"], false);
    assert!(c["error"].as_str().unwrap().contains("Content-Encoding"));
}

#[test]
fn a_404_is_signed_evidence_and_the_other_sources_still_run() {
    let server = Server::start(|path| match path {
        "/gone" => Reply::status(404, "<h1>Not here</h1>"),
        _ => Reply::ok("text/html", PAGE),
    });
    let (_dir, archive) = new_archive();
    let gone = server.url("/gone");
    let fine = server.url("/fine");
    let out = exhibit(&archive, &["--json", "capture", &gone, &fine]);
    assert_eq!(code(&out), 1, "exit 1 when some source failed");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    let failed = &lines[0];
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["status"], 404);
    assert_eq!(failed["version_id"], serde_json::Value::Null);
    assert_eq!(failed["changed"], false);
    assert!(stderr(&out).contains("HTTP 404"), "{}", stderr(&out));
    let m = manifest_of(failed);
    assert_eq!(m["type"], "exhibit.capture-failure/v2");
    assert_eq!(m["error"], "HTTP 404 Not Found");
    assert_eq!(m["content"]["sha256"], sha256_hex(b"<h1>Not here</h1>"));
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[1]["version_id"], "EX-V-000001");

    // The failure is signed like any capture and opened no version.
    let shown =
        String::from_utf8_lossy(&exhibit(&archive, &["show", "EX-C-000001"]).stdout).into_owned();
    assert!(
        shown.contains("FAILED capture") && shown.contains("valid Ed25519"),
        "{shown}"
    );
    let h = &json_lines(&exhibit(&archive, &["--json", "history", &gone]))[0];
    assert!(h["versions"].as_array().unwrap().is_empty());
}

#[test]
fn a_stalled_server_times_out_into_a_failure_record() {
    let server = Server::start(|_| Reply::Stall {
        headers: vec![("Content-Type".into(), "text/html".into())],
        partial: b"<html><body>half".to_vec(),
        stall: Duration::from_secs(8),
    });
    let (_dir, archive) = new_archive();
    let started = std::time::Instant::now();
    let out = exhibit(
        &archive,
        &["--json", "capture", &server.url("/slow"), "--timeout", "1"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "the timeout did not fire"
    );
    assert_eq!(code(&out), 1);
    let c = &json_lines(&out)[0];
    assert_eq!(c["ok"], false);
    assert!(c["error"].as_str().unwrap().contains("timed out"), "{c}");
    assert_eq!(c["status"], 200, "the status that did arrive is recorded");
}

#[test]
fn an_oversized_body_is_refused_without_keeping_it() {
    let server = Server::start(|_| Reply::Huge { len: 5 << 20 });
    let (_dir, archive) = new_archive();
    let out = exhibit(
        &archive,
        &[
            "--json",
            "capture",
            &server.url("/big"),
            "--max-size",
            "1048576",
        ],
    );
    assert_eq!(code(&out), 1);
    let c = &json_lines(&out)[0];
    assert_eq!(c["ok"], false);
    assert!(c["error"].as_str().unwrap().contains("1048576-byte"), "{c}");
    // No partial object was left behind in the store.
    let objects: Vec<_> = walk(&archive.join("objects"));
    assert!(objects.is_empty(), "{objects:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn connection_refused_is_a_failure_record() {
    // Bind then drop a listener to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_dir, archive) = new_archive();
    let url = format!("http://127.0.0.1:{port}/policy");
    let out = exhibit(&archive, &["--json", "capture", &url]);
    assert_eq!(code(&out), 1);
    let c = &json_lines(&out)[0];
    assert_eq!(c["ok"], false);
    assert_eq!(c["status"], serde_json::Value::Null);
    assert!(stderr(&out).contains(&url));
}

#[test]
fn a_redirect_loop_stops() {
    let server = Server::start(|_| Reply::redirect(302, "/loop"));
    let (_dir, archive) = new_archive();
    let out = exhibit(&archive, &["--json", "capture", &server.url("/loop")]);
    assert_eq!(code(&out), 1);
    let c = &json_lines(&out)[0];
    assert!(c["error"].as_str().unwrap().contains("redirects"), "{c}");
}

#[test]
fn the_same_url_twice_confirms_the_version() {
    let server = Server::start(|_| Reply::ok("text/html", PAGE));
    let (_dir, archive) = new_archive();
    let url = server.url("/terms");
    let a = &json_lines(&exhibit(&archive, &["--json", "capture", &url]))[0];
    let b = &json_lines(&exhibit(&archive, &["--json", "capture", &url]))[0];
    assert_eq!(a["changed"], true);
    assert_eq!(b["changed"], false);
    assert_eq!(a["version_id"], b["version_id"]);
    assert_eq!(a["document_id"], b["document_id"]);
}

#[test]
fn a_generic_content_type_is_sniffed_so_text_is_still_extracted() {
    let server = Server::start(|path| match path {
        "/untyped" => Reply::Full {
            status: 200,
            headers: vec![],
            body: PAGE.as_bytes().to_vec(),
        },
        _ => Reply::ok("application/octet-stream", PAGE),
    });
    let (_dir, archive) = new_archive();
    for path in ["/octet", "/untyped"] {
        let c = &json_lines(&exhibit(
            &archive,
            &["--json", "capture", &server.url(path)],
        ))[0];
        assert!(
            c["text_sha256"].is_string(),
            "{path}: no text extracted: {c}"
        );
        let m = manifest_of(c);
        assert_eq!(m["content"]["media_type"], "text/html", "{path}");
    }
}

#[test]
fn hostile_lengths_never_make_an_unreadable_manifest() {
    let long = format!("/{}", "a".repeat(60_000));
    let big_title = format!(
        "<html><head><title>{}</title></head><body><p>x</p></body></html>",
        "T".repeat(1_100_000)
    );
    let server = Server::start(move |path| match path {
        "/far" => Reply::redirect(302, &long),
        "/title" => Reply::ok("text/html", big_title.clone()),
        _ => Reply::ok("text/html", PAGE),
    });
    let (_dir, archive) = new_archive();
    let out = exhibit(&archive, &["--json", "capture", &server.url("/far")]);
    assert_eq!(code(&out), 1);
    let c = &json_lines(&out)[0];
    assert!(c["error"].as_str().unwrap().contains("Location"), "{c}");
    let out = exhibit(&archive, &["--json", "capture", &server.url("/title")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Both records, and the document's later captures, stay readable and verified.
    let out = exhibit(&archive, &["--json", "capture", &server.url("/title")]);
    assert_eq!(code(&out), 0);
    for id in ["EX-C-000001", "EX-C-000002", "EX-C-000003"] {
        let j = &json_lines(&exhibit(&archive, &["--json", "show", id]))[0];
        assert_eq!(j["signature_valid"], true, "{id}");
    }
}

#[test]
fn credentials_in_a_url_never_reach_the_evidence() {
    let server = Server::start(|_| Reply::ok("text/html", PAGE));
    let (_dir, archive) = new_archive();
    let url = server.url("/p").replace("http://", "http://alice:s3cret@");
    let out = exhibit(&archive, &["--json", "capture", &url]);
    let c = &json_lines(&out)[0];
    let bytes = std::fs::read(c["manifest_path"].as_str().unwrap()).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("s3cret"));
    assert!(!String::from_utf8_lossy(&bytes).contains("alice"));
    assert_eq!(c["url"], server.url("/p"));
}

#[test]
fn a_304_with_a_location_is_an_answer_not_a_redirect() {
    let server = Server::start(|path| match path {
        "/nm" => Reply::Full {
            status: 304,
            headers: vec![("Location".into(), "/elsewhere".into())],
            body: Vec::new(),
        },
        _ => Reply::ok("text/html", PAGE),
    });
    let (_dir, archive) = new_archive();
    let out = exhibit(&archive, &["--json", "capture", &server.url("/nm")]);
    let c = &json_lines(&out)[0];
    assert_eq!(c["status"], 304);
    assert!(
        manifest_of(c)["http"]["redirects"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn concurrent_captures_of_one_document_are_recorded_in_acquisition_order() {
    // The first request is slow and returns the OLD text; every later one is fast and NEW.
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let server = Server::start(move |_| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            Reply::Slow {
                content_type: "text/html".into(),
                body: b"<p>OLD policy text</p>".to_vec(),
                over: Duration::from_secs(2),
            }
        } else {
            Reply::ok("text/html", "<p>NEW policy text</p>")
        }
    });
    let (_dir, archive) = new_archive();
    let url = server.url("/policy");
    let bin = assert_cmd::cargo::cargo_bin("exhibit");
    let spawn = || {
        std::process::Command::new(&bin)
            .args([
                "--archive",
                archive.to_str().unwrap(),
                "--json",
                "capture",
                &url,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let slow = spawn();
    std::thread::sleep(Duration::from_millis(500));
    let fast = spawn();
    assert!(slow.wait_with_output().unwrap().status.success());
    assert!(fast.wait_with_output().unwrap().status.success());
    let h = &json_lines(&exhibit(&archive, &["--json", "history", &url]))[0];
    let current = h["document"]["current_version"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = exhibit(&archive, &["cat", &current, "--text"]);
    assert_eq!(String::from_utf8_lossy(&text.stdout), "NEW policy text\n");
    let versions = h["versions"].as_array().unwrap();
    assert!(versions[0]["first_seen"].as_str() <= versions[1]["first_seen"].as_str());
}

/// Every control byte in `out` other than `\n` and `\t`: C0, DEL, and C1 (as UTF-8, `C2 80`
/// to `C2 9F`), with where it is.
fn control_bytes(out: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, &b) in out.iter().enumerate() {
        let c1 = b == 0xc2 && out.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n));
        if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f || c1 {
            let from = i.saturating_sub(20);
            found.push(format!(
                "byte {b:#04x} at {i}: {:?}",
                String::from_utf8_lossy(&out[from..(i + 20).min(out.len())])
            ));
        }
    }
    found
}

#[test]
fn escape_sequences_from_a_page_never_reach_the_terminal() {
    // ESC[2J clears the screen, ESC[8m hides text, ESC[1A moves up over a line, CSI (C1) and
    // a carriage return overwrite, U+202E reverses what follows.
    const EVIL: &str = "\u{1b}[2J\u{1b}[8m\u{1b}[1A\u{9b}2K\u{202e}";
    let v1 = format!(
        "<html><head><title>Terms{EVIL} of Use</title></head><body><p>We keep{EVIL} your data.</p></body></html>"
    );
    let v2 = format!(
        "<html><head><title>Terms{EVIL} of Use</title></head><body><p>We sell{EVIL} your data.</p></body></html>"
    );
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    let server = Server::start(move |_| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Reply::ok(
            "text/html; charset=utf-8",
            if n == 0 { v1.clone() } else { v2.clone() },
        )
    });
    let (dir, archive) = new_archive();
    let url = server.url("/terms");
    let entity = format!("Evil{EVIL} Corp");
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let out = exhibit(&archive, &["capture", &url, "--entity", &entity]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        outputs.push(("capture", out));
    }
    // Not vacuous: the escapes are in the signed manifest, and JSON output keeps them as JSON
    // escapes (unchanged).
    let shown = json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]));
    let title = shown[0]["manifest"]["document"]["title"].as_str().unwrap();
    assert!(
        title.contains('\u{1b}') && title.contains('\u{9b}'),
        "{title:?}"
    );
    assert!(
        shown[0]["manifest"]["document"]["entity"]
            .as_str()
            .unwrap()
            .contains('\u{1b}')
    );

    let bundle = dir.path().join("evil.tar.zst");
    let b = bundle.to_str().unwrap().to_owned();
    ok(&exhibit(
        &archive,
        &["bundle", "EX-C-000001", "EX-C-000002", "--out", &b],
    ));
    let key = archive.join("keys/signing.pub.pem");
    let key = key.to_str().unwrap();
    for args in [
        vec!["show", "EX-C-000001"],
        vec!["show", "EX-V-000001"],
        vec!["list"],
        vec!["history", url.as_str()],
        vec!["documents"],
        vec!["diff", "EX-V-000001", "EX-V-000002", "--color", "never"],
        vec![
            "diff",
            "EX-V-000001",
            "EX-V-000002",
            "--word",
            "--color",
            "never",
        ],
        vec!["verify", b.as_str(), "--key", key],
    ] {
        let out = exhibit(&archive, &args);
        assert!(matches!(code(&out), 0 | 1), "{args:?}: {}", stderr(&out));
        outputs.push((args[0], out));
    }
    outputs.push(("exhibit-verify", exhibit_verify(&[&b])));
    outputs.push(("exhibit-verify --key", exhibit_verify(&[&b, "--key", key])));
    for (what, out) in &outputs {
        let mut all = out.stdout.clone();
        all.extend_from_slice(&out.stderr);
        let found = control_bytes(&all);
        assert!(
            found.is_empty(),
            "{what}: raw control bytes reach the terminal:\n{}\n---\n{}",
            found.join("\n"),
            String::from_utf8_lossy(&all)
        );
    }
    // The escapes are shown, visibly, not dropped.
    let text = String::from_utf8_lossy(&outputs[2].1.stdout).into_owned();
    assert!(text.contains("\\u{1b}[2J"), "{text}");
}

#[test]
fn an_empty_body_with_a_content_encoding_is_an_empty_capture() {
    let server = Server::start(|_| Reply::Full {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/plain".into()),
            ("Content-Encoding".into(), "gzip".into()),
        ],
        body: Vec::new(),
    });
    let (_dir, archive) = new_archive();
    let out = exhibit(&archive, &["--json", "capture", &server.url("/empty")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = &json_lines(&out)[0];
    assert_eq!(line["sha256"], sha256_hex(b""));
}
