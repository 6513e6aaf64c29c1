//! Test support: a real HTTP/1.1 server on 127.0.0.1, the real `exhibit` binary, temp archives.
//!
//! The server is hand-rolled on `TcpListener` on purpose: tests need it to misbehave in ways a
//! well-behaved server library will not (stall mid-body, lie about encodings, send huge bodies).

#![allow(dead_code)]

pub mod s3;
pub mod tls;
pub mod tsa;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does for one request.
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers and part of the body, then silence for `stall` (a hung server).
    Stall {
        headers: Vec<(String, String)>,
        partial: Vec<u8>,
        stall: Duration,
    },
    /// `len` bytes of body, streamed without holding them in memory.
    Huge { len: u64 },
    /// Exactly these bytes (status line, headers, body), then the connection closes.
    Raw(Vec<u8>),
    /// A complete 200 response whose body trickles out over `over`.
    Slow {
        content_type: String,
        body: Vec<u8>,
        over: Duration,
    },
}

impl Reply {
    /// 200 with a body and content type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A redirect.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    /// A status with a small HTML body.
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

type Handler = dyn Fn(&str) -> Reply + Send + Sync;

/// A loopback HTTP server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server that answers each request path with `handler(path)`.
    pub fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    serve(stream, &*handler)
                });
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one request on `stream` (plain TCP, or TLS from `tls`): reads the request head,
/// then writes `handler(path)`. The caller sets any read timeout.
fn serve<S: Read + Write>(mut stream: S, handler: &Handler) {
    let mut request_line = String::new();
    {
        // Dropped before writing: what it read past the head (a request body) is discarded.
        let mut reader = BufReader::new(&mut stream);
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {}
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let mut out = stream;
    let head = |status: u16, headers: &[(String, String)], len: Option<u64>| {
        let mut h = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(len) = len {
            h.push_str(&format!("Content-Length: {len}\r\n"));
        }
        h.push_str("\r\n");
        h
    };
    match handler(&path) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let _ = out.write_all(head(status, &headers, Some(body.len() as u64)).as_bytes());
            let _ = out.write_all(&body);
        }
        Reply::Raw(bytes) => {
            let _ = out.write_all(&bytes);
        }
        Reply::Stall {
            headers,
            partial,
            stall,
        } => {
            let _ =
                out.write_all(head(200, &headers, Some(partial.len() as u64 + 1000)).as_bytes());
            let _ = out.write_all(&partial);
            let _ = out.flush();
            std::thread::sleep(stall);
        }
        Reply::Slow {
            content_type,
            body,
            over,
        } => {
            let headers = vec![("Content-Type".to_string(), content_type)];
            let _ = out.write_all(head(200, &headers, Some(body.len() as u64)).as_bytes());
            let pieces = 10;
            for chunk in body.chunks(body.len().div_ceil(pieces).max(1)) {
                let _ = out.write_all(chunk);
                let _ = out.flush();
                std::thread::sleep(over / pieces as u32);
            }
        }
        Reply::Huge { len } => {
            let headers = vec![("Content-Type".to_string(), "text/plain".to_string())];
            let _ = out.write_all(head(200, &headers, Some(len)).as_bytes());
            let chunk = vec![b'x'; 1 << 16];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if out.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n as u64;
            }
        }
    }
    let _ = out.flush();
}

/// Runs the real `exhibit` binary with `args` against `archive`.
pub fn exhibit(archive: &Path, args: &[&str]) -> Output {
    exhibit_stdin(archive, args, None)
}

/// Like [`exhibit`], feeding `stdin`.
pub fn exhibit_stdin(archive: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("exhibit").expect("exhibit binary");
    cmd.arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("EXHIBIT_ARCHIVE");
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    cmd.timeout(Duration::from_secs(120));
    cmd.output().expect("run exhibit")
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exhibit failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The exit code.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Asserts success (like [`ok`]) and returns stdout as bytes.
pub fn ok_bytes(out: &Output) -> Vec<u8> {
    ok(out);
    out.stdout.clone()
}

/// Stdout as text, whatever the exit code.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Both streams (stdout, a newline, stderr), for messages whose stream the spec does not fix.
pub fn all_output(out: &Output) -> String {
    format!("{}\n{}", stdout(out), stderr(out))
}

/// Parses JSON Lines output.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// `capture --list LIST --jobs 1 --json`: every committed capture's JSON line, in list order.
pub fn capture_list_in_order(archive: &Path, list: &Path) -> Vec<serde_json::Value> {
    let list = list.to_str().unwrap();
    let args = ["--json", "capture", "--list", list, "--jobs", "1"];
    json_lines(&exhibit(archive, &args))
}

/// The fingerprint of the archive's signing key (`key show --json`).
pub fn fingerprint(archive: &Path) -> String {
    json_lines(&exhibit(archive, &["--json", "key", "show"]))[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `exhibit bundle RECORDS... --out OUT`, asserting success.
pub fn make_bundle(archive: &Path, out: &Path, records: &[&str]) {
    let mut args = vec!["bundle"];
    args.extend_from_slice(records);
    args.extend(["--out", out.to_str().unwrap()]);
    ok(&exhibit(archive, &args));
}

/// A temp dir with an initialised archive at `<dir>/archive`.
pub fn new_archive() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    ok(&exhibit(&archive, &["init", "--origin", "test.example"]));
    (dir, archive)
}

/// SHA-256 hex of bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Whether a stock tool is on PATH; prints a skip message when it is not.
pub fn have(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("EXHIBIT_REQUIRE_TOOLS").is_none(),
            "`{tool}` is not installed, and EXHIBIT_REQUIRE_TOOLS is set (CI runs every check)"
        );
        eprintln!("SKIP: `{tool}` is not installed; this check needs it");
    }
    found
}

/// The shared corpus directory, or None (with a skip message) when absent.
pub fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: ../shared/corpus is absent; corpus checks need it");
        None
    }
}

/// A fixture file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The standalone `exhibit-verify` binary (built by `cargo test --workspace`, or
/// `cargo build -p exhibit-verify`).
pub fn verify_bin() -> PathBuf {
    let exhibit = assert_cmd::cargo::cargo_bin("exhibit");
    let path = exhibit.with_file_name(format!("exhibit-verify{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo test --workspace` or `cargo build -p exhibit-verify` first",
        path.display()
    );
    path
}

/// Runs `exhibit-verify` with `args`.
pub fn exhibit_verify(args: &[&str]) -> Output {
    std::process::Command::new(verify_bin())
        .args(args)
        .output()
        .expect("run exhibit-verify")
}

/// Extracts a `.tar.zst` bundle into `dir` with the stock `tar`.
pub fn untar(bundle: &Path, dir: &Path) {
    let ok = std::process::Command::new("tar")
        .arg("--zstd")
        .arg("-xf")
        .arg(bundle)
        .arg("-C")
        .arg(dir)
        .status()
        .expect("run tar");
    assert!(ok.success(), "tar -x {}", bundle.display());
}

/// Extracts a bundle into `into` (created) with the stock `tar`; returns the bag's root (its one
/// top directory).
pub fn extract_bag(bundle: &Path, into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    untar(bundle, into);
    let mut roots: Vec<PathBuf> = std::fs::read_dir(into)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(roots.len(), 1, "one bag directory: {roots:?}");
    roots.pop().unwrap()
}

/// Validates the extracted bag `bag` with the Library of Congress `bagit.py`, when installed.
pub fn bagit_validate(bag: &Path) {
    if !have("bagit.py") {
        return;
    }
    let out = std::process::Command::new("bagit.py")
        .arg("--validate")
        .arg(bag)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bagit.py --validate {}: {}",
        bag.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Packs `dir/name` into a `.tar.zst` at `out` with the stock `tar`.
pub fn tar_up(dir: &Path, name: &str, out: &Path) {
    let ok = std::process::Command::new("tar")
        .arg("--zstd")
        .arg("-cf")
        .arg(out)
        .arg("-C")
        .arg(dir)
        .arg(name)
        .status()
        .expect("run tar");
    assert!(ok.success(), "tar -c {}", out.display());
}

/// Runs the stock `openssl` with `args` in `dir`, asserting success (tests mint keys,
/// certificates and tokens with it).
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Python tool from a virtualenv: `$var/bin/name` when `var` names a virtualenv that has it
/// (`.ci/run` makes them and sets `EXHIBIT_PYWB_VENV` and `EXHIBIT_WEBARCHIVE_VENV`), else
/// `name` on PATH; else None with a skip message, like [`have`] (a failure under
/// `EXHIBIT_REQUIRE_TOOLS`).
pub fn venv_tool(var: &str, name: &str) -> Option<PathBuf> {
    let in_venv = std::env::var_os(var).map(|dir| PathBuf::from(dir).join("bin").join(name));
    let on_path = || {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    let found = in_venv.filter(|p| p.is_file()).or_else(on_path);
    if found.is_none() {
        assert!(
            std::env::var_os("EXHIBIT_REQUIRE_TOOLS").is_none(),
            "`{name}` is in neither ${var}/bin nor PATH, and EXHIBIT_REQUIRE_TOOLS is set \
             (CI runs every check; .ci/run installs it)"
        );
        eprintln!("SKIP: `{name}` is in neither ${var}/bin nor PATH; this check needs it");
    }
    found
}

/// `exhibit --archive ARCHIVE export ARGS…` with `SOURCE_DATE_EPOCH` fixed, so that exports
/// can be compared byte for byte.
pub fn export(archive: &Path, args: &[&str]) -> Output {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .env("SOURCE_DATE_EPOCH", "1777529721")
        .arg("--archive")
        .arg(archive)
        .arg("export")
        .args(args)
        .output()
        .expect("run exhibit")
}

/// A small policy site: `/privacy` (the fixture policy-v1.html, as HTML with a charset),
/// `/terms.txt` (the fixture terms.txt), anything else a 404 page.
pub fn policy_site(path: &str) -> Reply {
    match path {
        "/privacy" => Reply::ok(
            "text/html; charset=utf-8",
            std::fs::read(fixture("policy-v1.html")).unwrap(),
        ),
        "/terms.txt" => Reply::ok("text/plain", std::fs::read(fixture("terms.txt")).unwrap()),
        _ => Reply::status(404, "<h1>Not here</h1>"),
    }
}

/// Re-seals an extracted bag as the key holder would: recomputes the tag manifest and signs it
/// with the archive's own key.
pub fn reseal(bag: &Path, archive: &Path) {
    reseal_with(bag, &archive.join("keys/signing.pem"));
}

/// [`reseal`] with the private key in `key`.
pub fn reseal_with(bag: &Path, key: &Path) {
    let manifest = std::fs::read_to_string(bag.join("tagmanifest-sha256.txt")).unwrap();
    let mut out = String::new();
    for line in manifest.lines() {
        let (_, path) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(bag.join(path)).unwrap();
        out.push_str(&format!("{}  {path}\n", sha256_hex(&bytes)));
    }
    std::fs::write(bag.join("tagmanifest-sha256.txt"), out).unwrap();
    openssl(
        bag,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            key.to_str().unwrap(),
            "-rawin",
            "-in",
            "tagmanifest-sha256.txt",
            "-out",
            "tagmanifest-sha256.txt.sig",
        ],
    );
}
