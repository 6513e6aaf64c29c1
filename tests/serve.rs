//! `exhibit serve` (issue 24): the archive read-only as web pages and Atom feeds, checked from
//! outside against the contract the pages keep (routes, element ids, headers, how the server
//! prints its URL).
//!
//! The real `exhibit serve --listen 127.0.0.1:0` runs as a child process ([`Served`]); pages
//! are fetched with a plain HTTP/1.1 client over `TcpStream` (no client library smooths over
//! what the server sends) and loaded in headless Chromium (`--dump-dom`, screenshots), found
//! the way browser captures find it. What a person relies on is checked: the evidence a record
//! page shows is computed when it is served (a tampered object turns its check red on the next
//! load); a hostile capture runs no code in exhibit's origin and reaches no server (a canary
//! counts every request); the feeds parse in feedparser and validate against RFC 4287's schema
//! (`fixtures/serve/check_feed.py`); bad requests are refused without leaking files; readers are
//! answered while a batch capture writes.
//!
//! Chromium checks SKIP without Chromium and the feed checks without the feed virtualenv
//! (`EXHIBIT_FEED_VENV`: feedparser, lxml, rnc2rng); in CI (`EXHIBIT_REQUIRE_TOOLS=1`) either
//! missing fails. `EXHIBIT_WRITE_SCREENSHOTS=1` also writes the screenshots the pages test takes
//! to `docs/img/serve-<kind>.png` (to regenerate the documentation's images; CI never does).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// The CSP of every exhibit page, as the contract spells it.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
    img-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

// ---------------------------------------------------------------------------------------------
// The server under test and a plain HTTP/1.1 client.

/// A running `exhibit serve` on 127.0.0.1, in its own process group, killed when dropped.
struct Served {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `exhibit --archive ARCHIVE serve --listen 127.0.0.1:0 --no-notify` and reads its
    /// URL from the first line it prints.
    fn start(archive: &Path) -> Served {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
            .arg("--archive")
            .arg(archive)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-notify"])
            .env_remove("EXHIBIT_ARCHIVE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("run exhibit serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let out_pipe = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out_pipe).lines();
            let _ = tx.send(lines.next());
            // Keep reading: a server whose stdout pipe fills up would stall.
            for _ in lines {}
        });
        let first = rx.recv_timeout(Duration::from_secs(60));
        let line = match first {
            Ok(Some(Ok(line))) => line,
            other => {
                std::thread::sleep(Duration::from_millis(200));
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`exhibit serve` printed no first line with its URL ({other:?}; exit status \
                     {status:?}); stderr: {}",
                    stderr.lock().unwrap()
                );
            }
        };
        let url = line
            .split_whitespace()
            .find(|t| t.starts_with("http://"))
            .unwrap_or_else(|| panic!("no http:// URL in the first line: {line:?}"));
        assert!(
            line.starts_with("exhibit serve: http://127.0.0.1:"),
            "the first line, as the contract words it: {line:?}"
        );
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Served {
            child,
            addr,
            stderr,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET `path`, asserting the response could be read.
    fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[])
    }

    /// A request with `method`, `path` (sent exactly as given) and extra header lines.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: exhibit-tests\r\n\
             Connection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if method == "POST" || method == "PUT" {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        http(&self.addr, head.as_bytes(), method == "HEAD").unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {e}; server stderr: {}",
                self.stderr.lock().unwrap()
            )
        })
    }

    /// What the server wrote on stderr so far.
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGKILL to the process group `pgid` (a child started with `process_group(0)`).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether the body is as long as the response said (Content-Length met, or the last chunk
    /// of a chunked body read): false when the server ended the connection early.
    complete: bool,
}

impl Resp {
    /// The first header called `name` (any case).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a complete 200 and returns the body as text.
    fn ok_text(&self, what: &str) -> String {
        assert_eq!(
            self.status,
            200,
            "{what}: status {} ({:?}): {}",
            self.status,
            self.headers,
            self.text()
        );
        assert!(self.complete, "{what}: the body ended early");
        self.text()
    }
}

/// Sends `request` to `addr` and reads the response until the server closes the connection.
fn http(addr: &str, request: &[u8], head_only: bool) -> Result<Resp, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // A server may answer (and close) before reading a long request: what was answered counts.
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let mut read_error = None;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(format!(
            "no complete response head ({} bytes read, read error {read_error:?}): {:?}",
            raw.len(),
            String::from_utf8_lossy(&raw[..raw.len().min(300)])
        ));
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    if !status_line.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let (body, complete) = if head_only || status == 204 || status == 304 {
        // No body, whatever the headers say: anything after the head is kept to be seen.
        (rest.to_vec(), true)
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        let body = rest[..rest.len().min(len)].to_vec();
        let complete = body.len() == len;
        (body, complete)
    } else {
        (rest.to_vec(), read_error.is_none())
    };
    Ok(Resp {
        status,
        headers,
        body,
        complete,
    })
}

/// A chunked body's bytes, and whether its last (empty) chunk arrived.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (body, false);
        };
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return (body, false);
        };
        rest = &rest[eol + 2..];
        if size == 0 {
            return (body, true);
        }
        if rest.len() < size {
            body.extend_from_slice(rest);
            return (body, false);
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading HTML: enough of a parser for the contract's markers, in exhibit's markup as served
// and in Chromium's serialization (`--dump-dom`). Tag names are matched in lower case.

/// An element: its attributes and its inner HTML (up to the first closing tag of its name).
#[derive(Debug, Clone)]
struct Element {
    attrs: BTreeMap<String, String>,
    inner: String,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(|s| s.as_str())
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }

    /// The text inside, tags dropped and character references decoded, whitespace collapsed.
    fn text(&self) -> String {
        text_of(&self.inner)
    }
}

/// Every `<tag …>` element of `html`, in document order.
fn elements(html: &str, tag: &str) -> Vec<Element> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = html[at..].find(&open) {
        let start = at + pos + open.len();
        at = start;
        // `<tr` must not match `<track`: the name ends here.
        match html[start..].chars().next() {
            Some(c) if c.is_ascii_whitespace() || c == '>' || c == '/' => {}
            _ => continue,
        }
        let Some((attrs, after)) = parse_attrs(&html[start..]) else {
            break;
        };
        let body_start = start + after;
        let inner = match html[body_start..].find(&close) {
            Some(end) => html[body_start..body_start + end].to_owned(),
            None => String::new(),
        };
        found.push(Element { attrs, inner });
        at = body_start;
    }
    found
}

/// The first `<tag>` whose attribute `attr` is `value`.
fn element(html: &str, tag: &str, attr: &str, value: &str) -> Option<Element> {
    elements(html, tag)
        .into_iter()
        .find(|e| e.attr(attr) == Some(value))
}

/// Attributes from just after a tag's name to its `>`: (attributes, bytes consumed).
fn parse_attrs(s: &str) -> Option<(BTreeMap<String, String>, usize)> {
    let bytes = s.as_bytes();
    let mut attrs = BTreeMap::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b'>' {
            return Some((attrs, i + 1));
        }
        let name_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let name = s[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let v_start = i + 1;
                let v_end = v_start + bytes[v_start..].iter().position(|&b| b == quote)?;
                value = unescape(&s[v_start..v_end]);
                i = v_end + 1;
            } else {
                let v_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = unescape(&s[v_start..i]);
            }
        }
        attrs.entry(name).or_insert(value);
    }
}

/// Decodes the character references HTML serializers write (named basics and numeric).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            "check" => Some('✓'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text content of an HTML fragment: tags dropped, references decoded, whitespace collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A CSP header's directives, each normalized to single spaces, as a set.
fn csp_directives(csp: &str) -> BTreeSet<String> {
    csp.split(';')
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|d| !d.is_empty())
        .collect()
}

/// Asserts the headers every exhibit page carries (the contract's CSP, nosniff, no referrer).
fn assert_page_headers(r: &Resp, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy: {:?}", r.headers));
    assert_eq!(
        csp_directives(csp),
        csp_directives(PAGE_CSP),
        "{what}: the page CSP of the contract"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{what}: {:?}",
        r.header("content-type")
    );
}

/// The `href` of the first `<a rel="next">` link (the next page of a paged list).
fn next_link(html: &str) -> Option<String> {
    elements(html, "a")
        .into_iter()
        .find(|a| {
            a.attr("rel")
                .is_some_and(|r| r.split_whitespace().any(|r| r == "next"))
        })
        .and_then(|a| a.attr("href").map(str::to_owned))
}

/// A link as a request path on the server at `addr` (absolute, rooted or query-only).
fn as_path(href: &str, addr: &str) -> String {
    if let Some(rest) = href.strip_prefix(&format!("http://{addr}")) {
        rest.to_owned()
    } else if href.starts_with('/') {
        href.to_owned()
    } else if href.starts_with('?') {
        format!("/{href}")
    } else {
        panic!("a link exhibit's pages should not have: {href:?}")
    }
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium.

/// The Chromium browser captures use (`EXHIBIT_CHROMIUM`, else `chromium` and its usual names),
/// or None with a skip message (a failure under `EXHIBIT_REQUIRE_TOOLS`).
struct Browser {
    path: PathBuf,
}

impl Browser {
    fn find() -> Option<Browser> {
        if !crate::capture_browser::chromium() {
            return None;
        }
        match exhibit_capture::find_browser() {
            Ok(path) => Some(Browser { path }),
            Err(e) => {
                assert!(
                    std::env::var_os("EXHIBIT_REQUIRE_TOOLS").is_none(),
                    "no Chromium ({e}), and EXHIBIT_REQUIRE_TOOLS is set"
                );
                eprintln!("SKIP: no Chromium ({e}); the browser checks need it");
                None
            }
        }
    }

    /// Runs the browser headless on `url` with `extra` flags; returns stdout. A fresh profile;
    /// the sandbox off as root (as browser captures run it); traffic to anything but loopback
    /// goes to a dead proxy; killed (its whole process group) after 90 s.
    fn run(&self, extra: &[&str], url: &str) -> String {
        let profile = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(&self.path);
        cmd.args([
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--hide-scrollbars",
            "--mute-audio",
            "--proxy-server=http://127.0.0.1:1",
        ]);
        if running_as_root() {
            cmd.arg("--no-sandbox");
        }
        cmd.arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("run chromium");
        let pipe = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = r.read_to_end(&mut v);
                v
            })
        };
        let out = pipe(Box::new(child.stdout.take().unwrap()));
        let err = pipe(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + Duration::from_secs(90);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                kill_group(child.id());
                let _ = child.wait();
                panic!("chromium on {url} ran for more than 90 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Helpers the browser started may outlive it: its group goes too.
        kill_group(child.id());
        let out = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
        let err = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
        assert!(status.success(), "chromium on {url}: {status}: {err}");
        out
    }

    /// The DOM after the page's scripts had 3 s of virtual time (`--dump-dom`).
    fn dump_dom(&self, url: &str) -> String {
        self.run(&["--virtual-time-budget=3000", "--dump-dom"], url)
    }

    /// A 1280×1100 screenshot of `url` into `file`.
    fn screenshot(&self, url: &str, file: &Path) {
        let shot = format!("--screenshot={}", file.display());
        self.run(
            &[
                "--window-size=1280,1100",
                "--virtual-time-budget=2000",
                &shot,
            ],
            url,
        );
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// PNG width and height (IHDR), and whether the decoded pixels vary (not one flat colour).
fn png_facts(png: &[u8]) -> (u32, u32, bool) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = (be(&png[16..20]), be(&png[20..24]));
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = be(&png[at..at + 4]) as usize;
        if &png[at + 4..at + 8] == b"IDAT" {
            idat.extend_from_slice(&png[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let mut seen = [false; 256];
    raw.iter().for_each(|b| seen[*b as usize] = true);
    (w, h, seen.iter().filter(|s| **s).count() > 16)
}

// ---------------------------------------------------------------------------------------------
// Archives.

/// `exhibit --json capture ARGS…`, asserting success: its one JSON line.
fn capture(archive: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json", "capture"];
    all.extend_from_slice(args);
    let out = exhibit(archive, &all);
    ok(&out);
    json_lines(&out).remove(0)
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

fn serve_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("serve/{name}"))).unwrap()
}

/// The policy site: `/privacy` serves policy-v1.html or policy-v2.html as `version` says.
fn policy_site(version: Arc<AtomicUsize>) -> Server {
    Server::start(move |path| match path {
        "/privacy" => {
            let file = match version.load(Ordering::SeqCst) {
                1 => "policy-v1.html",
                _ => "policy-v2.html",
            };
            Reply::ok("text/html; charset=utf-8", serve_fixture(file))
        }
        _ => Reply::status(404, "no"),
    })
}

// ---------------------------------------------------------------------------------------------
// 1. The pages, in a real browser.

#[test]
fn a_real_browser_finds_the_evidence() {
    let version = Arc::new(AtomicUsize::new(1));
    let site = policy_site(version.clone());
    let (dir, archive) = new_archive();
    let url = site.url("/privacy");
    let c1 = capture(&archive, &[&url, "--entity", "Harbor Labs"]);
    version.store(2, Ordering::SeqCst);
    let c2 = capture(&archive, &[&url, "--entity", "Harbor Labs"]);
    let c3 = capture(&archive, &[&url]);
    assert_eq!(c2["changed"], true, "{c2}");
    assert_eq!(c3["changed"], false, "{c3}");
    let (cap1, cap2) = (s(&c1["capture_id"]), s(&c2["capture_id"]));
    let (v1, v2) = (s(&c1["version_id"]), s(&c2["version_id"]));
    let doc = s(&c1["document_id"]);
    let shown = &json_lines(&exhibit(&archive, &["--json", "show", &cap1]))[0];
    let sha = s(&shown["capture"]["sha256"]);
    assert_eq!(sha.len(), 64);

    let served = Served::start(&archive);
    let browser = Browser::find();
    if browser.is_none() {
        eprintln!("(the page checks read exhibit's HTML as served instead of a browser's DOM)");
    }
    let page = |path: &str| -> String {
        let r = served.get(path);
        let html = r.ok_text(path);
        assert_page_headers(&r, path);
        match &browser {
            Some(b) => b.dump_dom(&served.url(path)),
            None => html,
        }
    };

    // The record page: the hash exhibit reports, and every check green.
    let record = page(&format!("/records/{cap1}"));
    let evidence = element(&record, "section", "id", "evidence")
        .unwrap_or_else(|| panic!("no <section id=evidence>: {record}"));
    let code = element(&evidence.inner, "code", "id", "sha256")
        .unwrap_or_else(|| panic!("no <code id=sha256>: {record}"));
    assert_eq!(code.text(), sha, "the full SHA-256 `show --json` reports");
    for (kind, says) in [
        ("stored", "✓ Snapshot stored"),
        ("hash", "✓ Hash verified"),
        ("signature", "✓ Signature valid"),
    ] {
        let li = element(&record, "li", "data-check", kind)
            .unwrap_or_else(|| panic!("no data-check={kind}: {record}"));
        assert!(
            li.has_class("check") && li.has_class("ok"),
            "{kind}: {li:?}"
        );
        assert!(li.text().contains(says), "{kind}: {:?}", li.text());
    }
    // Every check item has one of the three states.
    for li in elements(&record, "li")
        .into_iter()
        .filter(|l| l.attr("data-check").is_some())
    {
        let states = ["ok", "fail", "none"]
            .iter()
            .filter(|s| li.has_class(s))
            .count();
        assert_eq!(states, 1, "{li:?}");
    }
    let citation = element(&record, "pre", "id", "citation")
        .unwrap_or_else(|| panic!("no <pre id=citation>: {record}"));
    let cite = ok(&exhibit(&archive, &["cite", &cap1]));
    assert_eq!(
        unescape(&citation.inner).trim(),
        cite.trim(),
        "the citation as `exhibit cite` prints it"
    );
    let download = |kind: &str| {
        element(&record, "a", "data-download", kind).map(|a| a.attr("href").unwrap().to_owned())
    };
    assert_eq!(
        download("content").as_deref(),
        Some(format!("/records/{cap1}/content").as_str())
    );
    assert_eq!(
        download("text").as_deref(),
        Some(format!("/records/{cap1}/text").as_str())
    );
    assert_eq!(download("screenshot"), None, "not a browser capture");
    let frame = elements(&record, "iframe")
        .into_iter()
        .find(|f| f.attr("src") == Some(&format!("/records/{cap1}/view")))
        .unwrap_or_else(|| panic!("no frame of the capture: {record}"));
    assert_eq!(
        frame.attr("sandbox"),
        Some(""),
        "an empty sandbox: {frame:?}"
    );

    // The downloads are the evidence itself.
    let content = served.get(&format!("/records/{cap1}/content"));
    assert_eq!(content.status, 200);
    assert!(content.complete);
    assert_eq!(sha256_hex(&content.body), sha);
    assert_eq!(
        content.header("content-type"),
        Some("application/octet-stream")
    );
    let disposition = content.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(&format!("{cap1}.")),
        "{disposition}"
    );
    let text = served.get(&format!("/records/{cap1}/text"));
    assert_eq!(
        text.ok_text("text"),
        ok(&exhibit(&archive, &["cat", &cap1, "--text"]))
    );
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    // A version's record page shows that version's content hash.
    let version_page = page(&format!("/records/{v2}"));
    let v2_sha = s(&c2["sha256"]);
    assert_eq!(
        element(&version_page, "code", "id", "sha256").map(|c| c.text()),
        Some(v2_sha.clone())
    );

    // The diff: what went and what came.
    for view in ["inline", "side"] {
        let diff = page(&format!("/diff?from={v1}&to={v2}&view={view}"));
        let div = element(&diff, "div", "id", "diff")
            .unwrap_or_else(|| panic!("no <div id=diff>: {diff}"));
        assert!(div.has_class(view), "{view}: {:?}", div.attrs);
        let dels: Vec<String> = elements(&diff, "del").iter().map(|e| e.text()).collect();
        let inss: Vec<String> = elements(&diff, "ins").iter().map(|e| e.text()).collect();
        assert!(dels.iter().any(|d| d.contains("never")), "{view}: {dels:?}");
        assert!(dels.iter().any(|d| d.contains("March")), "{view}: {dels:?}");
        assert!(
            inss.iter().any(|i| i.contains("advertisers")),
            "{view}: {inss:?}"
        );
        assert!(!dels.iter().any(|d| d.contains("advertisers")), "{dels:?}");
        assert!(!inss.iter().any(|i| i.contains("never")), "{inss:?}");
    }
    // The default view is inline.
    let diff = served
        .get(&format!("/diff?from={v1}&to={v2}"))
        .ok_text("diff");
    assert!(
        element(&diff, "div", "id", "diff").is_some_and(|d| d.has_class("inline")),
        "{diff}"
    );

    // The timeline: both versions, the second linked to its diff.
    let timeline = page(&format!("/documents/{doc}"));
    assert!(
        element(&timeline, "table", "id", "versions").is_some(),
        "{timeline}"
    );
    assert!(element(&timeline, "tr", "data-version", &v1).is_some());
    let row = element(&timeline, "tr", "data-version", &v2)
        .unwrap_or_else(|| panic!("no row of {v2}: {timeline}"));
    assert!(
        elements(&row.inner, "a").iter().any(|a| {
            a.attr("href").is_some_and(|h| {
                h.starts_with("/diff?") && h.contains(&format!("from={v1}")) && h.contains(&v2)
            })
        }),
        "a link to the diff with {v1}: {}",
        row.inner
    );

    // The documents list.
    let list = page("/");
    assert!(
        element(&list, "table", "id", "documents").is_some(),
        "{list}"
    );
    let row = element(&list, "tr", "data-document", &doc)
        .unwrap_or_else(|| panic!("no row of {doc}: {list}"));
    let row_text = row.text();
    for want in ["Harbor Labs", "Harbor Privacy Policy", url.as_str()] {
        assert!(row_text.contains(want), "{want} not in {row_text:?}");
    }

    // Finding records: by hash prefix, by record id; by entity.
    let matches = |q: &str| -> Vec<String> {
        let html = served.get(&format!("/?q={}", pct(q))).ok_text("search");
        element(&html, "ul", "id", "matches")
            .map(|ul| {
                elements(&ul.inner, "a")
                    .iter()
                    .filter_map(|a| a.attr("href").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        matches(&sha[..12]).contains(&format!("/records/{cap1}")),
        "{:?}",
        matches(&sha[..12])
    );
    assert!(matches(&cap2).contains(&format!("/records/{cap2}")));
    let acme = served
        .get(&format!("/?entity={}", pct("Harbor Labs")))
        .ok_text("entity");
    assert!(
        element(&acme, "tr", "data-document", &doc).is_some(),
        "{acme}"
    );
    let nobody = served
        .get(&format!("/?entity={}", pct("Nobody Inc")))
        .ok_text("entity");
    assert!(element(&nobody, "tr", "data-document", &doc).is_none());

    // What a person sees: a screenshot of each kind of page (a feed is not a page).
    let Some(browser) = &browser else { return };
    let write_docs = std::env::var("EXHIBIT_WRITE_SCREENSHOTS").as_deref() == Ok("1");
    for (kind, path) in [
        ("documents", "/".to_owned()),
        ("timeline", format!("/documents/{doc}")),
        ("record", format!("/records/{cap1}")),
        (
            "diff-inline",
            format!("/diff?from={v1}&to={v2}&view=inline"),
        ),
        ("diff-side", format!("/diff?from={v1}&to={v2}&view=side")),
    ] {
        let file = dir.path().join(format!("serve-{kind}.png"));
        browser.screenshot(&served.url(&path), &file);
        let png = std::fs::read(&file).unwrap_or_else(|e| panic!("no screenshot of {path} ({e})"));
        let (w, h, varied) = png_facts(&png);
        assert_eq!((w, h), (1280, 1100), "{kind}");
        assert!(varied, "the {kind} page is not blank");
        assert!(png.len() > 10_000, "{kind}: {} bytes", png.len());
        if write_docs {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/img");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::copy(&file, docs.join(format!("serve-{kind}.png"))).unwrap();
        }
    }
    drop(served);
}

// ---------------------------------------------------------------------------------------------
// 2. A hostile capture.

#[test]
fn a_hostile_capture_cannot_run_code_in_exhibits_origin() {
    // The canary counts requests: but for the control (the page loaded straight from its site),
    // every request it gets is a failure.
    let hits = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = hits.clone();
    let canary = Server::start(move |path| {
        seen.lock().unwrap().push(path.to_owned());
        Reply::ok("text/plain", "canary")
    });
    let port = canary
        .url("")
        .trim_start_matches("http://127.0.0.1:")
        .to_owned();
    let revision = Arc::new(AtomicUsize::new(1));
    let rev = revision.clone();
    let hostile = String::from_utf8(serve_fixture("hostile.html"))
        .unwrap()
        .replace("CANARY", &port);
    let site = Server::start(move |path| {
        if !path.starts_with("/p?") {
            return Reply::status(404, "no");
        }
        let word = match rev.load(Ordering::SeqCst) {
            1 => "one",
            _ => "two",
        };
        Reply::ok(
            "text/html; charset=utf-8",
            hostile.replace("REVISION", word),
        )
    });
    let (_dir, archive) = new_archive();
    // A URL whose query carries markup, percent-encoded as a client sends it.
    let url = site.url("/p?x=%3Cscript%3Ealert(1)%3C%2Fscript%3E&y=%22%3E%3Cimg%20src%3Dx%3E");
    let entity = format!("<script>fetch('http://127.0.0.1:{port}/entity')</script>Evil & Co");
    let c1 = capture(&archive, &[&url, "--entity", &entity]);
    revision.store(2, Ordering::SeqCst);
    let c2 = capture(&archive, &[&url]);
    assert_eq!(c2["changed"], true);
    let (cap, doc) = (s(&c1["capture_id"]), s(&c1["document_id"]));
    let (v1, v2) = (s(&c1["version_id"]), s(&c2["version_id"]));
    assert!(
        hits.lock().unwrap().is_empty(),
        "a plain capture fetches the page only"
    );
    let title = s(
        &json_lines(&exhibit(&archive, &["--json", "show", &cap]))[0]["manifest"]["document"]["title"],
    );
    assert!(
        title.contains("<script>fetch("),
        "the hostile title is the document's: {title}"
    );

    let served = Served::start(&archive);
    let pages = [
        ("/".to_owned(), "documents"),
        (format!("/?entity={}", pct(&entity)), "documents"),
        (format!("/documents/{doc}"), "versions"),
        (format!("/records/{cap}"), "evidence"),
        (format!("/records/{v2}"), "evidence"),
        (format!("/diff?from={v1}&to={v2}"), "diff"),
        (format!("/diff?from={v1}&to={v2}&view=side"), "diff"),
    ];
    // Exhibit's own markup: every hostile string escaped, the strict CSP on every page.
    for (path, marker) in &pages {
        let r = served.get(path);
        let html = r.ok_text(path);
        assert_page_headers(&r, path);
        assert!(html.contains(&format!("id=\"{marker}\"")), "{path}: {html}");
        for raw in [
            "<script>fetch",
            "<img src=x",
            "<script>alert",
            "<b id=pwned",
        ] {
            assert!(!html.contains(raw), "{path} has {raw:?} unescaped:\n{html}");
        }
        assert!(
            html.contains("&lt;script&gt;"),
            "{path} shows the hostile text escaped:\n{html}"
        );
    }
    let feeds = [
        "/feed.atom".to_owned(),
        format!("/documents/{doc}/feed.atom"),
    ];
    for path in &feeds {
        let r = served.get(path);
        let xml = r.ok_text(path);
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/atom+xml")),
            "{path}: {:?}",
            r.headers
        );
        for raw in ["<script>fetch", "<img src=x"] {
            assert!(!xml.contains(raw), "{path} has {raw:?} unescaped:\n{xml}");
        }
    }
    // The capture itself: only ever in a sandbox with nothing fetched.
    let view = served.get(&format!("/records/{cap}/view"));
    assert_eq!(view.status, 200, "{view:?}");
    let view_csp = csp_directives(view.header("content-security-policy").unwrap_or_default());
    for d in ["sandbox", "default-src 'none'"] {
        assert!(view_csp.contains(d), "/view CSP lacks {d}: {view_csp:?}");
    }
    assert!(
        !view_csp.iter().any(|d| d.contains("allow-")),
        "{view_csp:?}"
    );
    assert_eq!(view.header("x-content-type-options"), Some("nosniff"));
    assert!(
        view.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "its own media type: {:?}",
        view.headers
    );
    for sub in ["content", "text"] {
        let r = served.get(&format!("/records/{cap}/{sub}"));
        assert_eq!(r.status, 200, "{sub}");
        let csp = csp_directives(r.header("content-security-policy").unwrap_or_default());
        assert!(csp.contains("sandbox"), "/{sub} CSP: {csp:?}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{sub}");
    }

    // And in a browser, with time for every script, refresh and form to fire.
    if let Some(browser) = Browser::find() {
        // The control: the same page straight from its site, unsandboxed, does reach the
        // canary (so that no request below means the page was contained, not inert).
        browser.dump_dom(&url);
        std::thread::sleep(Duration::from_millis(500));
        let reached: BTreeSet<String> = std::mem::take(&mut *hits.lock().unwrap())
            .into_iter()
            .collect();
        assert!(
            reached.contains("/style.css")
                && (reached.contains("/body") || reached.contains("/nav")),
            "the hostile page, unsandboxed, loads its stylesheet and runs its scripts: {reached:?}"
        );
        eprintln!("unsandboxed, the hostile page reached the canary at {reached:?}");
        let mut all: Vec<(String, Option<&str>)> =
            pages.iter().map(|(p, m)| (p.clone(), Some(*m))).collect();
        all.push((format!("/records/{cap}/view"), None));
        all.extend(feeds.iter().map(|p| (p.clone(), None)));
        for (path, marker) in &all {
            let dom = browser.dump_dom(&served.url(path));
            assert!(
                !dom.contains("id=\"pwned\""),
                "{path}: a script of the capture ran:\n{dom}"
            );
            if let Some(marker) = marker {
                assert!(
                    dom.contains(&format!("id=\"{marker}\"")),
                    "{path}: exhibit's page is not what the browser shows:\n{dom}"
                );
            }
        }
        let view_dom = browser.dump_dom(&served.url(&format!("/records/{cap}/view")));
        assert!(
            view_dom.contains("Terms of Service"),
            "the frame shows the capture: {view_dom}"
        );
        // Anything in flight has had time to land.
        std::thread::sleep(Duration::from_millis(500));
    }
    let hits = hits.lock().unwrap().clone();
    assert!(
        hits.is_empty(),
        "the hostile capture reached the canary: {hits:?}"
    );
    assert!(!served.stderr().contains("panicked"), "{}", served.stderr());
}

// ---------------------------------------------------------------------------------------------
// 3. Evidence checked live.

#[test]
fn evidence_checks_are_live_never_cached() {
    let (dir, archive) = new_archive();
    let file = fixture("serve/policy-v1.html");
    let c = capture(
        &archive,
        &[
            file.to_str().unwrap(),
            "--url",
            "https://harbor.example/privacy",
            "--entity",
            "Harbor Labs",
        ],
    );
    let cap = s(&c["capture_id"]);
    let sha = s(&c["sha256"]);
    let original = serve_fixture("policy-v1.html");
    assert_eq!(sha256_hex(&original), sha);
    let object = archive
        .join("objects")
        .join(&sha[..2])
        .join(format!("{sha}.zst"));
    let stored = std::fs::read(&object).unwrap_or_else(|e| panic!("{}: {e}", object.display()));

    let served = Served::start(&archive);
    let hash_check = |want: &str| -> Element {
        let r = served.get(&format!("/records/{cap}"));
        let html = r.ok_text("record");
        assert!(
            r.header("cache-control")
                .is_some_and(|c| c.contains("no-store")),
            "Cache-Control: {:?}",
            r.headers
        );
        let li = element(&html, "li", "data-check", "hash")
            .unwrap_or_else(|| panic!("no data-check=hash: {html}"));
        assert!(li.has_class(want), "want {want}: {li:?}");
        li
    };
    let content_is_refused = |how: &str| {
        let r = served.get(&format!("/records/{cap}/content"));
        assert!(
            !(r.status == 200 && r.complete && r.body.len() == original.len()),
            "{how}: the tampered object was delivered whole as if valid ({} bytes, status {})",
            r.body.len(),
            r.status
        );
        assert!(
            r.body != original,
            "{how}: the original bytes cannot come from a changed object"
        );
    };
    let writable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
    };
    let li = hash_check("ok");
    assert!(li.text().contains("✓ Hash verified"), "{}", li.text());

    // Bytes overwritten in the middle of the zstd frame.
    let mut broken = stored.clone();
    let mid = broken.len() / 2;
    for b in &mut broken[mid..mid + 8] {
        *b ^= 0xa5;
    }
    writable(&object);
    std::fs::write(&object, &broken).unwrap();
    let li = hash_check("fail");
    assert!(
        li.text().contains("✗ Content hash NOT verified"),
        "{}",
        li.text()
    );
    content_is_refused("overwritten bytes");

    // Put back: green again on the next load (nothing was cached either way).
    std::fs::write(&object, &stored).unwrap();
    hash_check("ok");

    // A well-formed object of other bytes, as long as the original (one byte changed).
    let mut other = original.clone();
    let at = other.windows(5).position(|w| w == b"never").unwrap();
    other[at..at + 5].copy_from_slice(b"NEVER");
    let plain = dir.path().join("other.html");
    std::fs::write(&plain, &other).unwrap();
    let recompressed = if have("zstd") {
        let out = Command::new("zstd")
            .args(["-q", "-c", "--check"])
            .arg(&plain)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    } else {
        zstd::encode_all(&other[..], 3).unwrap()
    };
    std::fs::write(&object, &recompressed).unwrap();
    let li = hash_check("fail");
    assert!(
        li.text().contains("✗ Content hash NOT verified"),
        "{}",
        li.text()
    );
    content_is_refused("other bytes");
    assert!(!served.stderr().contains("panicked"), "{}", served.stderr());
}

// ---------------------------------------------------------------------------------------------
// 4. Atom feeds.

/// Fetches `path` (an Atom feed), checks it with check_feed.py (`python`: the feed virtualenv's)
/// expecting `entries` entries, each linking to a diff and a record page; returns the `to=`
/// version of each entry's diff link, in feed order.
fn checked_feed(served: &Served, python: &Path, path: &str, entries: usize) -> Vec<String> {
    let r = served.get(path);
    let xml = r.ok_text(path);
    let ctype = r.header("content-type").unwrap_or_default().to_owned();
    assert!(ctype.starts_with("application/atom+xml"), "{path}: {ctype}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.atom");
    std::fs::write(&file, &xml).unwrap();
    let out = Command::new(python)
        .arg(fixture("serve/check_feed.py"))
        .arg(&file)
        .args(["--base", &served.url("/"), "--content-type", &ctype])
        .args(["--entries", &entries.to_string()])
        .args(["--entry-link", "/diff?", "--entry-link", "/records/"])
        .output()
        .expect("run check_feed.py");
    assert!(
        out.status.success(),
        "{path}: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let diff = e["links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| s(&l["href"]))
                .find(|h| h.contains("/diff?"))
                .unwrap();
            let to = diff
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("to="))
                .unwrap_or_else(|| panic!("no to= in {diff}"));
            to.to_owned()
        })
        .collect()
}

#[test]
fn atom_feeds_parse_and_validate_against_rfc_4287() {
    let Some(python) = venv_tool("EXHIBIT_FEED_VENV", "python") else {
        return;
    };
    let probe = Command::new(&python)
        .args(["-c", "import feedparser, lxml, rnc2rng"])
        .output()
        .unwrap();
    if !probe.status.success() {
        assert!(
            std::env::var_os("EXHIBIT_REQUIRE_TOOLS").is_none(),
            "{} lacks feedparser, lxml or rnc2rng, and EXHIBIT_REQUIRE_TOOLS is set",
            python.display()
        );
        eprintln!(
            "SKIP: {} lacks feedparser, lxml or rnc2rng (set EXHIBIT_FEED_VENV)",
            python.display()
        );
        return;
    }
    let (dir, archive) = new_archive();
    let page = |name: &str, title: &str, body: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "<!doctype html><html><head><title>{title}</title></head>\
                 <body><h1>{title}</h1><p>{body}</p></body></html>"
            ),
        )
        .unwrap();
        path
    };
    let acme = "Acme Corp";
    let beta = "Beta & Sons <Ltd>";
    let cap = |file: PathBuf, url: &str, entity: &str| -> Value {
        capture(
            &archive,
            &[file.to_str().unwrap(), "--url", url, "--entity", entity],
        )
    };
    let (a_url, b_url, c_url) = (
        "https://acme.example/terms",
        "https://beta.example/privacy?lang=en&x=1",
        "https://acme.example/cookies",
    );
    // A1 B1 C1, then changes A2, B2, A3 a second apart (newest first is then unambiguous).
    let a1 = cap(
        page("a1.html", "Acme Terms", "You may cancel at any time."),
        a_url,
        acme,
    );
    let b1 = cap(
        page("b1.html", "Beta Privacy", "We keep logs for 30 days."),
        b_url,
        beta,
    );
    cap(
        page("c1.html", "Acme Cookies", "We use cookies."),
        c_url,
        acme,
    );
    std::thread::sleep(Duration::from_millis(1100));
    let a2 = cap(
        page("a2.html", "Acme Terms", "You may cancel within 14 days."),
        a_url,
        acme,
    );
    std::thread::sleep(Duration::from_millis(1100));
    let b2 = cap(
        page("b2.html", "Beta Privacy", "We keep logs & <b>forever</b>."),
        b_url,
        beta,
    );
    std::thread::sleep(Duration::from_millis(1100));
    let a3 = cap(
        page("a3.html", "Acme Terms", "You may not cancel."),
        a_url,
        acme,
    );
    for c in [&a2, &b2, &a3] {
        assert_eq!(c["changed"], true, "{c}");
    }
    let v = |c: &Value| s(&c["version_id"]);
    let (doc_a, doc_b) = (s(&a1["document_id"]), s(&b1["document_id"]));

    let served = Served::start(&archive);
    assert_eq!(
        checked_feed(&served, &python, "/feed.atom", 3),
        [v(&a3), v(&b2), v(&a2)],
        "every change, newest first"
    );
    assert_eq!(
        checked_feed(
            &served,
            &python,
            &format!("/feed.atom?entity={}", pct(acme)),
            2
        ),
        [v(&a3), v(&a2)]
    );
    assert_eq!(
        checked_feed(
            &served,
            &python,
            &format!("/feed.atom?entity={}", pct(beta)),
            1
        ),
        [v(&b2)]
    );
    assert_eq!(
        checked_feed(
            &served,
            &python,
            &format!("/feed.atom?entity={}", pct("Nobody")),
            0
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        checked_feed(
            &served,
            &python,
            &format!("/documents/{doc_a}/feed.atom"),
            2
        ),
        [v(&a3), v(&a2)]
    );
    assert_eq!(
        checked_feed(
            &served,
            &python,
            &format!("/documents/{doc_b}/feed.atom"),
            1
        ),
        [v(&b2)]
    );
    drop(served);

    // 52 more changes of one document: a feed holds the newest 50.
    let mut list = String::new();
    for n in 0..53 {
        let file = page(
            &format!("e{n}.html"),
            "Echo Policy",
            &format!("Revision number {n} of the policy."),
        );
        list.push_str(&format!(
            "{}\thttps://echo.example/policy\tEcho Ltd\n",
            file.display()
        ));
    }
    let list_file = dir.path().join("echo.tsv");
    std::fs::write(&list_file, list).unwrap();
    let lines = capture_list_in_order(&archive, &list_file);
    assert_eq!(lines.len(), 53);
    let newest = v(&lines[52]);
    let doc_e = s(&lines[0]["document_id"]);
    let served = Served::start(&archive);
    for path in [
        "/feed.atom".to_owned(),
        format!("/documents/{doc_e}/feed.atom"),
    ] {
        let tos = checked_feed(&served, &python, &path, 50);
        assert_eq!(tos[0], newest, "{path}: newest first");
        assert_eq!(tos.iter().collect::<BTreeSet<_>>().len(), 50, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Bad requests.

#[test]
fn bad_requests_are_refused_without_leaking_files() {
    let (_dir, archive) = new_archive();
    let file = fixture("serve/policy-v1.html");
    capture(
        &archive,
        &[file.to_str().unwrap(), "--url", "https://harbor.example/p"],
    );
    let config = std::fs::read_to_string(archive.join("exhibit.toml")).unwrap();
    let origin_line = config
        .lines()
        .find(|l| l.starts_with("origin ="))
        .unwrap()
        .to_owned();
    let served = Served::start(&archive);

    let r = served.get("/records/not-an-id");
    assert_eq!(r.status, 400, "{r:?}");
    let said = r.text();
    assert!(
        !said.trim().is_empty() && said.trim().lines().count() == 1,
        "one line: {said:?}"
    );
    let r = served.get("/records/EX-C-999999");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(served.get("/no/such/page").status, 404);

    for path in [
        "/../../etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/records/%2e%2e%2fexhibit.toml",
        "/records/..%2F..%2Fexhibit.toml",
        "/records/../exhibit.toml",
        "/static/../exhibit.toml",
        "/static/%2e%2e/exhibit.toml",
        "/static/..%2fexhibit.toml",
        "/static/%2e%2e%2fkeys%2fsigning.pem",
        "/static/../keys/signing.pem",
        "/static//etc/passwd",
        "/static/exhibit.css/../../exhibit.toml",
        "/exhibit.toml",
        "/catalog.sqlite",
        "/objects/",
    ] {
        let r = served.get(path);
        assert!(
            r.status == 404 || r.status == 400,
            "{path}: status {} {:?}",
            r.status,
            r.text()
        );
        let body = r.text();
        for secret in [
            origin_line.as_str(),
            "root:x:0:0",
            "PRIVATE KEY",
            "SQLite format",
        ] {
            assert!(!body.contains(secret), "{path} leaked {secret:?}: {body}");
        }
    }
    // What /static/ does serve.
    let css = served.get("/static/exhibit.css");
    css.ok_text("css");
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css")),
        "{:?}",
        css.headers
    );
    let js = served.get("/static/copy.js");
    js.ok_text("js");
    assert!(
        js.header("content-type")
            .is_some_and(|t| t.contains("javascript")),
        "{:?}",
        js.headers
    );

    // GET and HEAD only.
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = served.request(method, "/", &[]);
        assert_eq!(r.status, 405, "{method}: {r:?}");
    }
    let r = served.request("POST", "/records/EX-C-000001", &[]);
    assert_eq!(r.status, 405);
    let head = served.request("HEAD", "/", &[]);
    assert_eq!(head.status, 200, "{head:?}");
    assert!(head.body.is_empty(), "a HEAD answer has no body: {head:?}");
    let head = served.request("HEAD", "/records/EX-C-000001", &[]);
    assert_eq!(head.status, 200, "{head:?}");
    assert!(head.body.is_empty(), "{head:?}");

    // A 20 KiB header.
    let big = "a".repeat(20 * 1024);
    let r = served.request("GET", "/", &[("X-Big", &big)]);
    assert_eq!(r.status, 431, "{r:?}");

    // And the server is still there for the next reader.
    served.get("/").ok_text("after the bad requests");
    assert!(!served.stderr().contains("panicked"), "{}", served.stderr());
}

// ---------------------------------------------------------------------------------------------
// 6. Readers while a batch capture writes.

#[test]
fn readers_are_served_while_a_batch_capture_runs() {
    let (dir, archive) = new_archive();
    let first = fixture("serve/policy-v1.html");
    let c = capture(
        &archive,
        &[first.to_str().unwrap(), "--url", "https://harbor.example/p"],
    );
    let record = format!("/records/{}", s(&c["capture_id"]));
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut list = String::from("# 200 small policies\n");
    for n in 0..200 {
        let path = files.join(format!("policy-{n:03}.html"));
        std::fs::write(
            &path,
            format!(
                "<html><head><title>Policy {n}</title></head><body><main><p>Policy number {n} \
                 says hello.</p></main></body></html>"
            ),
        )
        .unwrap();
        list.push_str(&format!("{}\n", path.display()));
    }
    let list_file = dir.path().join("list.txt");
    std::fs::write(&list_file, list).unwrap();

    let served = Arc::new(Served::start(&archive));
    let batch = Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(&archive)
        .args(["--json", "capture", "--jobs", "1", "--list"])
        .arg(&list_file)
        .env_remove("EXHIBIT_ARCHIVE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let problems = Arc::new(Mutex::new(Vec::<String>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (served, done, problems, answered) = (
                served.clone(),
                done.clone(),
                problems.clone(),
                answered.clone(),
            );
            let record = record.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut n = 0;
                while !done.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(300) {
                    let (path, markers) = if (n + t) % 2 == 0 {
                        ("/", ["id=\"documents\"", "</table>"])
                    } else {
                        (record.as_str(), ["id=\"evidence\"", "id=\"sha256\""])
                    };
                    n += 1;
                    let r = match http(
                        &served.addr,
                        format!(
                            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                            served.addr
                        )
                        .as_bytes(),
                        false,
                    ) {
                        Ok(r) => r,
                        Err(e) => {
                            problems.lock().unwrap().push(format!("{path}: {e}"));
                            continue;
                        }
                    };
                    let body = r.text();
                    let well_formed = r.complete && markers.iter().all(|m| body.contains(m));
                    if r.status != 200 || !well_formed || body.contains("database is locked") {
                        problems.lock().unwrap().push(format!(
                            "{path}: status {} complete {}: {}",
                            r.status,
                            r.complete,
                            &body[..body.len().min(500)]
                        ));
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                n
            })
        })
        .collect();
    let out = batch.wait_with_output().unwrap();
    done.store(true, Ordering::SeqCst);
    let per_reader: Vec<usize> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    ok(&out);
    assert_eq!(json_lines(&out).len(), 200);
    let problems = problems.lock().unwrap().clone();
    assert!(
        problems.is_empty(),
        "{} bad answers of {}: {:#?}",
        problems.len(),
        answered.load(Ordering::SeqCst),
        &problems[..problems.len().min(10)]
    );
    assert!(
        per_reader.iter().all(|&n| n >= 2),
        "the readers ran while the batch did: {per_reader:?}"
    );
    eprintln!(
        "{} answers while the batch ran ({per_reader:?} per reader)",
        answered.load(Ordering::SeqCst)
    );

    // Every document, across the pages.
    let mut seen = BTreeSet::new();
    let mut path = "/".to_owned();
    for pages in 1.. {
        assert!(pages <= 250, "more pages than documents");
        let html = served.get(&path).ok_text(&path);
        for tr in elements(&html, "tr") {
            if let Some(d) = tr.attr("data-document") {
                assert!(seen.insert(d.to_owned()), "{d} on two pages ({path})");
            }
        }
        match next_link(&html) {
            Some(href) => path = as_path(&href, &served.addr),
            None => break,
        }
    }
    let want: BTreeSet<String> = (1..=201).map(|n| format!("EX-D-{n:06}")).collect();
    assert_eq!(seen, want, "every document once across the pages");
    assert!(!served.stderr().contains("panicked"), "{}", served.stderr());
}
