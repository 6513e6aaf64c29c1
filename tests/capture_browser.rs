//! Browser captures: real headless Chromium (Debian's `chromium`, or `EXHIBIT_CHROMIUM`) loading
//! pages from servers on 127.0.0.1 through exhibit's recording proxy. Each test says SKIP when
//! Chromium is missing; in CI (`EXHIBIT_REQUIRE_TOOLS=1`) a missing Chromium fails them.
//!
//! What a person would check is checked: the policy text a script inserts after a timer is in
//! the browser capture and not in the plain one; the screenshot is a real, non-blank PNG of the
//! viewport's width; `pdftotext` finds the text in the PDF; the chain the proxy's upstream
//! connection recorded is the one `openssl s_client` sees; hostile pages end within their limits
//! and no Chromium outlives exhibit, even after `kill -9`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::tls::{Pki, TlsServer, s_client_chain};
use crate::common::{
    Reply, Server, code, exhibit, exhibit_verify, fingerprint, have, json_lines, make_bundle,
    new_archive, ok, ok_bytes, sha256_hex, stderr, stdout,
};

const CLAUSE: &str = "We never sell your personal data to anyone.";

/// A policy page whose clause a script inserts 300 ms after load, with a stylesheet.
fn policy_page(path: &str) -> Reply {
    match path {
        "/policy" => Reply::ok(
            "text/html; charset=utf-8",
            format!(
                "<!doctype html><html><head><title>Privacy Policy</title>\
                 <link rel=stylesheet href=/style.css></head><body>\
                 <h1>Privacy Policy</h1><p>Loading…</p><div id=clause></div>\
                 <script>setTimeout(function () {{\
                 document.getElementById('clause').textContent = '{CLAUSE}';\
                 }}, 300);</script></body></html>"
            ),
        ),
        "/style.css" => Reply::ok(
            "text/css",
            "body { font: 16px serif; color: #222 } h1 { color: #036 }",
        ),
        _ => Reply::status(404, "no"),
    }
}

/// Whether Chromium is there to run (exhibit finds it the same way).
pub(crate) fn chromium() -> bool {
    std::env::var_os("EXHIBIT_CHROMIUM").is_some() || have("chromium")
}

fn manifest(archive: &Path, id: &str) -> serde_json::Value {
    let j = &json_lines(&exhibit(archive, &["--json", "show", id]))[0];
    j["manifest"].clone()
}

/// PNG width and height (IHDR), and whether the decoded pixels vary (not one flat colour).
fn png_facts(png: &[u8]) -> (u32, u32, bool) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = (be(&png[16..20]), be(&png[20..24]));
    // Concatenate the IDAT chunks and inflate them.
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = be(&png[at..at + 4]) as usize;
        let kind = &png[at + 4..at + 8];
        if kind == b"IDAT" {
            idat.extend_from_slice(&png[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&idat[..]), &mut raw).unwrap();
    let mut seen = [false; 256];
    raw.iter().for_each(|b| seen[*b as usize] = true);
    let distinct = seen.iter().filter(|s| **s).count();
    (w, h, distinct > 16)
}

#[test]
fn a_script_inserted_clause_is_captured_with_screenshot_pdf_and_tls() {
    if !chromium() {
        return;
    }
    let pki = Pki::new("Browser");
    let server = TlsServer::start(&pki, policy_page);
    let (dir, archive) = new_archive();
    let url = server.url("/policy");
    let root = pki.root_pem.to_str().unwrap();

    // The plain capture keeps the bytes the server sent: the clause is not in them.
    ok(&exhibit(&archive, &["capture", &url, "--ca-cert", root]));
    let plain = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--text"]));
    assert!(!plain.contains(CLAUSE), "{plain}");

    let started = Instant::now();
    let out = exhibit(
        &archive,
        &["--json", "capture", &url, "--browser", "--ca-cert", root],
    );
    let took = started.elapsed();
    if code(&out) != 0 {
        let m = manifest(&archive, "EX-C-000002");
        panic!("{}{}\n{:#}", stdout(&out), stderr(&out), m["browser"]);
    }
    let line = &json_lines(&out)[0];
    assert_eq!(
        line["changed"], true,
        "the rendered text is a new version: {line}"
    );
    let text = ok(&exhibit(&archive, &["cat", "EX-C-000002", "--text"]));
    assert!(text.contains(CLAUSE), "{text}");
    eprintln!("browser capture took {took:?}");

    let m = manifest(&archive, "EX-C-000002");
    assert_eq!(m["type"], "exhibit.capture/v2");
    assert_eq!(m["method"], "browser");
    let b = &m["browser"];
    assert!(b["product"].as_str().unwrap().contains("Chrome/"), "{b}");
    assert_eq!(b["viewport"]["width"], 1280);
    assert!(b["waited_for"].as_array().unwrap().len() >= 2, "{b}");
    assert_eq!(b["timed_out"], serde_json::Value::Null, "{b}");
    // The content is the main document exactly as the server sent it (the plain capture's).
    assert_eq!(
        m["content"]["sha256"],
        manifest(&archive, "EX-C-000001")["content"]["sha256"]
    );
    // Every response the page used, with its body and its own TLS connection.
    let resources = b["resources"].as_array().unwrap();
    let urls: Vec<&str> = resources
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&url.as_str()), "{urls:?}");
    let css = resources
        .iter()
        .find(|r| r["url"] == server.url("/style.css"))
        .unwrap_or_else(|| panic!("no stylesheet among {urls:?}"));
    assert_eq!(css["status"], 200);
    assert_eq!(
        css["body"]["sha256"],
        sha256_hex(b"body { font: 16px serif; color: #222 } h1 { color: #036 }")
    );
    let chain: Vec<String> = css["connection"]["tls"]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha256"].as_str().unwrap().to_owned())
        .collect();
    let seen: Vec<String> = s_client_chain(server.addr())
        .iter()
        .map(|d| sha256_hex(d))
        .collect();
    assert_eq!(chain, seen, "the upstream chain is exhibit's own record");
    assert_eq!(m["http"]["connections"][0]["tls"]["trusted"], true);

    // What a person looks at.
    let png = ok_bytes(&exhibit(&archive, &["cat", "EX-C-000002", "--screenshot"]));
    let (w, h, varied) = png_facts(&png);
    assert_eq!(w, 1280, "full-page screenshot at the viewport's width");
    assert!(h >= 100, "height {h}");
    assert!(varied, "the screenshot is not blank");
    std::fs::write(dir.path().join("screenshot.png"), &png).unwrap();
    if let Some(keep) = std::env::var_os("EXHIBIT_KEEP_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    let pdf = ok_bytes(&exhibit(&archive, &["cat", "EX-C-000002", "--pdf"]));
    assert!(pdf.starts_with(b"%PDF-"));
    if have("pdftotext") {
        let file = dir.path().join("print.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .unwrap();
        assert!(out.status.success());
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains(CLAUSE), "pdftotext: {said}");
    }
    let dom = ok(&exhibit(&archive, &["cat", "EX-C-000002", "--dom"]));
    assert!(dom.contains(CLAUSE) && dom.contains("<html"), "{dom}");
    let shown = ok(&exhibit(&archive, &["show", "EX-C-000002"]));
    assert!(
        shown.contains("Browser    Chrome/") && shown.contains("style.css"),
        "{shown}"
    );
    // A plain capture has no rendering.
    let out = exhibit(&archive, &["cat", "EX-C-000001", "--screenshot"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not a browser capture"),
        "{}",
        stderr(&out)
    );

    // Everything a browser capture made is evidence end to end.
    ok(&exhibit(&archive, &["fsck", "--full"]));
    let bundle = dir.path().join("browser.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000002"]);
    let out = exhibit_verify(&[
        bundle.to_str().unwrap(),
        "--key",
        &fingerprint(&archive),
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = stdout(&out);
    for what in [
        "screenshot of EX-C-000002",
        "pdf of EX-C-000002",
        "dom of EX-C-000002",
        "resource of EX-C-000002",
    ] {
        assert!(report.contains(what), "{what} not checked:\n{report}");
    }
    ok(&exhibit(&archive, &["reindex"]));
    ok(&exhibit(&archive, &["fsck", "--full"]));
}

#[test]
fn wait_for_waits_for_a_late_element_and_a_timeout_is_recorded() {
    if !chromium() {
        return;
    }
    let server = Server::start(|path| match path {
        "/late" => Reply::ok(
            "text/html",
            "<!doctype html><title>Late</title><body><p>Terms</p><script>\
             setTimeout(function () { var p = document.createElement('p'); p.id = 'late';\
             p.textContent = 'Clause arriving late.'; document.body.appendChild(p); }, 1500);\
             </script>",
        ),
        _ => Reply::status(404, "no"),
    });
    let (_dir, archive) = new_archive();
    let url = server.url("/late");
    // A fragment is the reader's, never sent: the capture still finds its main document.
    let with_fragment = format!("{url}#section-2");
    ok(&exhibit(
        &archive,
        &[
            "capture",
            &with_fragment,
            "--browser",
            "--wait-for",
            "#late",
        ],
    ));
    let text = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--text"]));
    assert!(text.contains("Clause arriving late."), "{text}");
    let m = manifest(&archive, "EX-C-000001");
    let waited = m["browser"]["waited_for"].to_string();
    assert!(waited.contains("#late"), "{waited}");
    // A selector that never appears: the wait ends at --timeout, and the capture says so.
    let started = Instant::now();
    ok(&exhibit(
        &archive,
        &[
            "capture",
            &url,
            "--browser",
            "--wait-for",
            "#never",
            "--timeout",
            "3",
        ],
    ));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let m = manifest(&archive, "EX-C-000002");
    assert!(
        m["browser"]["timed_out"]
            .as_str()
            .unwrap()
            .contains("#never"),
        "{m}"
    );
}

#[test]
fn hostile_pages_end_within_their_limits_and_are_recorded() {
    if !chromium() {
        return;
    }
    let server = Server::start(|path| match path {
        // Never settles: a request every 100 ms, a dialog, a pop-up, a download.
        "/busy" => Reply::ok(
            "text/html",
            "<!doctype html><title>Busy</title><body><p>Busy terms</p><script>\
             alert('hello'); window.open('/popup');\
             setInterval(function () { fetch('/ping?' + Math.random()); }, 100);\
             var a = document.createElement('a'); a.href = '/file.bin'; a.download = 'x';\
             document.body.appendChild(a); a.click();</script>",
        ),
        "/big" => Reply::ok(
            "text/html",
            "<!doctype html><title>Big</title><body><p>Big terms</p><img src=/huge.bin>",
        ),
        "/huge.bin" => Reply::Huge { len: 100 << 20 },
        // What a browser downloads instead of showing.
        "/download" => Reply::ok("application/octet-stream", "%PDF-1.4 not shown"),
        "/ping" | "/popup" | "/file.bin" => Reply::ok("text/plain", "pong"),
        _ => Reply::ok("text/plain", "pong"),
    });
    let (_dir, archive) = new_archive();
    let started = Instant::now();
    let out = exhibit(
        &archive,
        &[
            "--json",
            "capture",
            &server.url("/busy"),
            "--browser",
            "--timeout",
            "4",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let m = manifest(&archive, "EX-C-000001");
    let b = &m["browser"];
    assert!(b["timed_out"].is_string(), "a page that never settles: {b}");
    let events = b["events"].to_string();
    assert!(events.contains("dialog"), "{events}");
    let text = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--text"]));
    assert!(text.contains("Busy terms"));

    // A 100 MB subresource is refused at the per-response limit and recorded as such.
    let out = exhibit(&archive, &["capture", &server.url("/big"), "--browser"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let m = manifest(&archive, "EX-C-000002");
    let huge = m["browser"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with("/huge.bin"))
        .cloned()
        .unwrap_or_else(|| panic!("{m}"));
    assert!(huge["error"].as_str().unwrap().contains("limit"), "{huge}");
    assert_eq!(huge["body"], serde_json::Value::Null);

    // A page the browser downloads instead of showing: a failed capture, not an empty version.
    let out = exhibit(
        &archive,
        &["--json", "capture", &server.url("/download"), "--browser"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let m = manifest(&archive, "EX-C-000003");
    assert_eq!(m["type"], "exhibit.capture-failure/v2");
    assert!(
        m["error"].as_str().unwrap().contains("rendered no page"),
        "{m}"
    );
    assert!(m["error"].as_str().unwrap().contains("download"), "{m}");
    assert_eq!(
        m["content"]["sha256"],
        sha256_hex(b"%PDF-1.4 not shown"),
        "the bytes are kept"
    );
}

/// The processes whose parent is `pid` and whose command line mentions `what`, with their
/// process groups.
fn children(pid: u32, what: &str) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …: split after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (ppid, pgrp) = (
            fields[1].parse::<u32>().unwrap(),
            fields[2].parse::<u32>().unwrap(),
        );
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if ppid == pid && String::from_utf8_lossy(&cmdline).contains(what) {
            found.push((child, pgrp));
        }
    }
    found
}

/// Whether any live (not zombie) process is in process group `pgrp`.
fn group_alive(pgrp: u32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[0] != "Z" && fields[2].parse::<u32>().ok() == Some(pgrp)
    })
}

#[test]
fn no_chromium_outlives_a_killed_exhibit() {
    if !chromium() {
        return;
    }
    let server = Server::start(|_| {
        Reply::ok(
            "text/html",
            "<!doctype html><body><p>x</p><script>setInterval(function(){fetch('/p?'+Math.random())},50)</script>",
        )
    });
    let (_dir, archive) = new_archive();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(&archive)
        .args(["capture", &server.url("/"), "--browser", "--timeout", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until its Chromium is up (a child of this exhibit), then kill exhibit without warning.
    let deadline = Instant::now() + Duration::from_secs(30);
    let browser = loop {
        let found = children(child.id(), "exhibit-chromium");
        if let Some(first) = found.first() {
            break *first;
        }
        assert!(Instant::now() < deadline, "no Chromium started");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_millis(1000));
    assert!(group_alive(browser.1));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", browser.0)).unwrap();
    let profile = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .find_map(|a| {
            a.strip_prefix("--user-data-dir=")
                .map(std::path::PathBuf::from)
        })
        .expect("a --user-data-dir");
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while group_alive(browser.1) {
        assert!(
            Instant::now() < deadline,
            "Chromium (process group {}) survived kill -9 of exhibit",
            browser.1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing half-written: the archive checks clean.
    ok(&exhibit(&archive, &["fsck"]));
    // The killed run could not remove its profile (the pages' cookies and cache); the next
    // browser capture does (or another test's, running at the same time: either sweeps it).
    ok(&exhibit(
        &archive,
        &["capture", &server.url("/"), "--browser", "--timeout", "2"],
    ));
    assert!(!profile.exists(), "{} was left behind", profile.display());
}

#[test]
fn browser_needs_urls_and_a_browser() {
    let (dir, archive) = new_archive();
    let file = dir.path().join("p.html");
    std::fs::write(&file, "<p>x</p>").unwrap();
    let out = exhibit(&archive, &["capture", file.to_str().unwrap(), "--browser"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--browser loads http(s) URLs"),
        "{}",
        stderr(&out)
    );
    // A Chromium that is not there is a one-line usage error, and nothing is recorded.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(&archive)
        .args(["capture", "http://127.0.0.1:9/", "--browser"])
        .env("EXHIBIT_CHROMIUM", dir.path().join("no-such-chromium"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-chromium"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json_lines(&exhibit(&archive, &["--json", "list"])).len(), 0);
}

#[test]
fn jobs_share_one_browser_with_a_tab_per_capture() {
    if !chromium() {
        return;
    }
    let server = Server::start(|path| {
        Reply::ok(
            "text/html",
            format!(
                "<!doctype html><title>{path}</title><body><div id=t></div><script>\
                 setTimeout(function () {{ document.getElementById('t').textContent = \
                 'Rendered clause of {path}'; }}, 200);</script>"
            ),
        )
    });
    let (dir, archive) = new_archive();
    let list = dir.path().join("list.txt");
    let urls: Vec<String> = (0..6).map(|i| server.url(&format!("/doc{i}"))).collect();
    std::fs::write(&list, urls.join("\n")).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(&archive)
        .args(["--json", "capture", "--browser", "--jobs", "2", "--list"])
        .arg(&list)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // However many pages are in flight, exhibit runs one Chromium.
    let mut most = 0;
    while child.try_wait().unwrap().is_none() {
        most = most.max(children(child.id(), "exhibit-chromium").len());
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(most, 1, "one browser for the batch");
    assert_eq!(json_lines(&out).len(), 6);
    for (i, url) in urls.iter().enumerate() {
        let id = format!("EX-C-{:06}", i + 1);
        let m = manifest(&archive, &id);
        let doc = &m["http"]["request_url"];
        let text = ok(&exhibit(&archive, &["cat", &id, "--text"]));
        let path = doc.as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        assert!(
            text.contains(&format!("Rendered clause of /{path}")),
            "{id}: {text}"
        );
        // Each capture's resources are its own page's only.
        for r in m["browser"]["resources"].as_array().unwrap() {
            assert!(
                r["url"].as_str().unwrap().contains(&format!("/{path}"))
                    || r["url"].as_str().unwrap().ends_with("/favicon.ico"),
                "{id}: {r}"
            );
        }
        assert!(urls.contains(&doc.as_str().unwrap().to_owned()), "{url}");
    }
}

#[test]
fn exhibit_toml_names_documents_captured_in_the_browser_by_default() {
    if !chromium() {
        return;
    }
    let server = Server::start(|path| match path {
        "/app" => Reply::ok(
            "text/html",
            "<!doctype html><body><div id=t></div><script>\
             document.getElementById('t').textContent = 'Terms written by script.';</script>",
        ),
        _ => Reply::ok("text/html", "<!doctype html><p>Static terms.</p>"),
    });
    let (_dir, archive) = new_archive();
    let app = server.url("/app");
    let config = archive.join("exhibit.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace(
        "[capture]\n",
        &format!("[capture]\nbrowser = [\"{app}\"]\n"),
    );
    std::fs::write(&config, text).unwrap();
    // One command, two documents: the listed one in the browser, the other plainly.
    ok(&exhibit(
        &archive,
        &["capture", &app, &server.url("/static")],
    ));
    assert_eq!(manifest(&archive, "EX-C-000001")["method"], "browser");
    assert_eq!(manifest(&archive, "EX-C-000002")["method"], "http");
    let text = ok(&exhibit(&archive, &["cat", "EX-C-000001", "--text"]));
    assert!(text.contains("Terms written by script."), "{text}");
}

#[test]
fn review_cases_long_urls_self_navigation_and_added_roots_in_a_fresh_archive() {
    if !chromium() {
        return;
    }
    let pki = Pki::new("Fresh");
    let long = format!("/beacon?{}", "x".repeat(5000));
    let page_long =
        format!("<!doctype html><title>Long</title><p>Long terms</p><img src='{long}'>");
    let server = TlsServer::start(&pki, move |path| match path {
        "/long" => Reply::ok("text/html", page_long.clone()),
        "/start" => Reply::ok(
            "text/html",
            "<!doctype html><title>Start</title><script>location.replace('/next')</script>",
        ),
        "/next" => Reply::ok(
            "text/html",
            "<!doctype html><title>Next</title><p>Navigated terms</p>",
        ),
        _ => Reply::ok("image/gif", "GIF89a"),
    });
    let (_dir, archive) = new_archive();
    let root = pki.root_pem.to_str().unwrap();
    // A subresource URL longer than a manifest records: cut, and the capture still commits.
    let out = exhibit(
        &archive,
        &[
            "capture",
            &server.url("/long"),
            "--browser",
            "--ca-cert",
            root,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let m = manifest(&archive, "EX-C-000001");
    let cut = m["browser"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"].as_str().unwrap().contains("/beacon?"))
        .cloned()
        .unwrap_or_else(|| panic!("{m}"));
    assert!(
        cut["url"].as_str().unwrap().ends_with("…[truncated]"),
        "{cut}"
    );
    assert_eq!(cut["connection"]["url"], cut["url"]);
    // The --ca-cert root is stored by a browser capture too: the fresh archive checks clean.
    ok(&exhibit(&archive, &["fsck", "--full"]));
    // A page that navigates itself: the record is of the page shown.
    let out = exhibit(
        &archive,
        &[
            "capture",
            &server.url("/start"),
            "--browser",
            "--ca-cert",
            root,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let m = manifest(&archive, "EX-C-000002");
    assert_eq!(m["http"]["final_url"], server.url("/next"), "{m}");
    assert_eq!(
        m["content"]["sha256"],
        sha256_hex(b"<!doctype html><title>Next</title><p>Navigated terms</p>")
    );
    assert!(
        m["browser"]["events"]
            .to_string()
            .contains("the page shown is"),
        "{m}"
    );
    let text = ok(&exhibit(&archive, &["cat", "EX-C-000002", "--text"]));
    assert!(text.contains("Navigated terms"), "{text}");
    ok(&exhibit(&archive, &["fsck", "--full"]));
}
