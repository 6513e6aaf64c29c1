//! A real RFC 3161 Time-Stamp Authority on 127.0.0.1 for tests: certificates made by the
//! `openssl` CLI (an EC P-256 CA, and a TSA certificate it signs with a critical `timeStamping`
//! extended key usage), answers made by `openssl ts -reply`, HTTP served from a `TcpListener`.
//!
//! The TSA can be told to misbehave at runtime ([`Mode`]): answer garbage, fail with 503, sign
//! a different nonce or imprint than was asked, hang up, or stop listening altogether (and come
//! back on the same port). `tools/tsa-server.py` is the same TSA for humans.
//!
//! Used as `crate::common::tsa` by the areas that need it (fsck, reindex, timestamp).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the TSA answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A correct, signed token.
    Normal,
    /// `200 application/timestamp-reply` with random bytes.
    Garbage,
    /// `503 Service Unavailable`.
    HttpError,
    /// A correctly signed token over the query with one byte of its nonce changed.
    WrongNonce,
    /// A correctly signed token over the query with one byte of its hashed message changed.
    WrongImprint,
    /// Accepts the connection, reads the request, closes without answering.
    Hangup,
    /// Not listening: connections are refused. Leaving this mode listens on the same port again.
    Down,
}

/// What the last query asked for (parsed from its DER).
#[derive(Clone, Debug)]
pub struct Query {
    /// The request's `Content-Type` header.
    pub content_type: String,
    /// The request method.
    pub method: String,
    /// The DER `TimeStampReq`.
    pub der: Vec<u8>,
    /// The hash algorithm OID, dotted.
    pub hash_oid: String,
    /// The hashed message.
    pub imprint: Vec<u8>,
    /// The nonce's content octets, if any.
    pub nonce: Option<Vec<u8>>,
    /// certReq.
    pub cert_req: bool,
}

struct Shared {
    dir: PathBuf,
    config: PathBuf,
    mode: Mutex<Mode>,
    /// Requests read (whatever the answer), not counting refused connections.
    requests: AtomicUsize,
    /// Tokens issued (Normal, WrongNonce, WrongImprint).
    issued: AtomicUsize,
    last: Mutex<Option<Query>>,
    /// `openssl ts -reply` updates one serial file: one at a time.
    openssl: Mutex<u64>,
}

struct Listening {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// A local TSA; stops when dropped.
pub struct LocalTsa {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listening: Option<Listening>,
}

impl LocalTsa {
    /// Makes a CA and a TSA certificate in `dir` (created if needed) and starts serving on
    /// 127.0.0.1 (a free port). None (with a skip message) when `openssl` is not installed.
    pub fn start(dir: &Path) -> Option<LocalTsa> {
        if !crate::common::have("openssl") {
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let dir = dir.canonicalize().unwrap();
        make_ca(&dir, "ca", "Exhibit Test TSA Root");
        make_tsa_cert(&dir);
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        let config = dir.join("ts.cnf");
        std::fs::write(&config, ts_config(&dir)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            dir,
            config,
            mode: Mutex::new(Mode::Normal),
            requests: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            last: Mutex::new(None),
            openssl: Mutex::new(0),
        });
        let listening = Some(listen(listener, shared.clone()));
        Some(LocalTsa {
            addr,
            shared,
            listening,
        })
    }

    /// `http://127.0.0.1:PORT/tsr`.
    pub fn url(&self) -> String {
        format!("http://{}/tsr", self.addr)
    }

    /// The CA certificate (PEM) the TSA certificate chains to.
    pub fn ca_pem(&self) -> PathBuf {
        self.shared.dir.join("ca.pem")
    }

    /// The TSA's own certificate (PEM).
    pub fn tsa_cert(&self) -> PathBuf {
        self.shared.dir.join("tsa.pem")
    }

    /// The directory holding the keys, certificates and config.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Switches the behaviour. Into [`Mode::Down`] closes the listener (connections refused);
    /// out of it listens again on the same port.
    pub fn set_mode(&mut self, mode: Mode) {
        let was = std::mem::replace(&mut *self.shared.mode.lock().unwrap(), mode);
        if mode == Mode::Down && was != Mode::Down {
            self.stop();
        } else if mode != Mode::Down && self.listening.is_none() {
            self.restart();
        }
    }

    /// Closes the listener: connections to the port are refused until [`LocalTsa::restart`].
    pub fn stop(&mut self) {
        if let Some(l) = self.listening.take() {
            l.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = l.thread.join();
        }
        *self.shared.mode.lock().unwrap() = Mode::Down;
    }

    /// Listens again on the same port (in [`Mode::Normal`] if it was down).
    pub fn restart(&mut self) {
        if self.listening.is_some() {
            return;
        }
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(_) if tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("rebind {}: {e}", self.addr),
            }
        };
        {
            let mut mode = self.shared.mode.lock().unwrap();
            if *mode == Mode::Down {
                *mode = Mode::Normal;
            }
        }
        self.listening = Some(listen(listener, self.shared.clone()));
    }

    /// Requests read so far (not counting refused connections).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Signed tokens handed out so far.
    pub fn issued(&self) -> usize {
        self.shared.issued.load(Ordering::SeqCst)
    }

    /// The last query received.
    pub fn last_query(&self) -> Option<Query> {
        self.shared.last.lock().unwrap().clone()
    }

    /// A genuine token (DER TimeStampResp) from this TSA over `data`, made without HTTP: for
    /// forging bundles with a real token over the wrong bytes.
    pub fn stamp(&self, data: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let (d, q) = (dir.path().join("data"), dir.path().join("q.tsq"));
        std::fs::write(&d, data).unwrap();
        super::openssl(
            dir.path(),
            &[
                "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq",
            ],
        );
        sign(&self.shared, &std::fs::read(q).unwrap()).expect("openssl ts -reply")
    }
}

impl Drop for LocalTsa {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA unrelated to any TSA (for "untrusted CA" checks): `<dir>/<name>.pem`.
pub fn other_ca(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    make_ca(dir, name, &format!("Unrelated Root {name}"))
}

/// Concatenates PEM files into `out` (a CA bundle).
pub fn pem_bundle(out: &Path, pems: &[&Path]) -> PathBuf {
    let mut all = Vec::new();
    for p in pems {
        all.extend(std::fs::read(p).unwrap());
    }
    std::fs::write(out, all).unwrap();
    out.to_path_buf()
}

/// Runs `openssl ts -verify -data DATA -in TSR -CAfile CA`; Ok(stdout) or Err(stdout+stderr).
pub fn openssl_ts_verify(data: &Path, tsr: &Path, ca: &Path) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(data)
        .arg("-in")
        .arg(tsr)
        .arg("-CAfile")
        .arg(ca)
        .output()
        .expect("run openssl ts -verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.contains("Verification: OK") {
        Ok(text)
    } else {
        Err(text)
    }
}

/// `openssl ts -reply -in TSR -text`: the token in words.
pub fn openssl_ts_text(tsr: &Path) -> String {
    let out = Command::new("openssl")
        .args(["ts", "-reply", "-text", "-in"])
        .arg(tsr)
        .output()
        .expect("run openssl ts -reply -text");
    assert!(
        out.status.success(),
        "openssl ts -reply -text -in {}: {}",
        tsr.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn make_ca(dir: &Path, name: &str, cn: &str) -> PathBuf {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    super::openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "3650",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    dir.join(pem)
}

fn make_tsa_cert(dir: &Path) {
    super::openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/CN=Exhibit Test TSA",
        ],
    );
    std::fs::write(
        dir.join("tsa-ext.cnf"),
        "basicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature\n\
         extendedKeyUsage = critical,timeStamping\n\
         subjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    super::openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "3650",
            "-extfile",
            "tsa-ext.cnf",
        ],
    );
}

fn ts_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "[tsa]\n\
         default_tsa = tsa_config\n\
         [tsa_config]\n\
         serial = {d}/serial\n\
         crypto_device = builtin\n\
         signer_cert = {d}/tsa.pem\n\
         certs = {d}/ca.pem\n\
         signer_key = {d}/tsa.key\n\
         signer_digest = sha256\n\
         default_policy = 1.3.6.1.4.1.99999.1\n\
         digests = sha256, sha384, sha512\n\
         accuracy = secs:1\n\
         ordering = no\n\
         tsa_name = yes\n\
         ess_cert_id_chain = no\n\
         ess_cert_id_alg = sha256\n"
    )
}

fn listen(listener: TcpListener, shared: Arc<Shared>) -> Listening {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || serve(stream, &shared));
        }
    });
    Listening { stop, thread }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut content_type = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {
                if let Some((k, v)) = line.split_once(':') {
                    let v = v.trim();
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.parse().unwrap_or(0);
                    } else if k.eq_ignore_ascii_case("content-type") {
                        content_type = v.to_owned();
                    }
                }
            }
        }
    }
    let mut der = vec![0u8; len.min(1 << 20)];
    if reader.read_exact(&mut der).is_err() {
        return;
    }
    let n = shared.requests.fetch_add(1, Ordering::SeqCst);
    let method = request_line
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    let parsed = parse_query(&der);
    if let Some((hash_oid, imprint, nonce, cert_req)) = parsed.clone() {
        *shared.last.lock().unwrap() = Some(Query {
            content_type: content_type.clone(),
            method: method.clone(),
            der: der.clone(),
            hash_oid,
            imprint,
            nonce,
            cert_req,
        });
    }
    let mode = *shared.mode.lock().unwrap();
    let mut out = stream;
    let reply = |out: &mut TcpStream, status: &str, ctype: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        let _ = out.write_all(head.as_bytes());
        let _ = out.write_all(body);
        let _ = out.flush();
    };
    match mode {
        Mode::Down | Mode::Hangup => {
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        Mode::HttpError => reply(
            &mut out,
            "503 Service Unavailable",
            "text/plain",
            b"TSA overloaded\n",
        ),
        Mode::Garbage => reply(
            &mut out,
            "200 OK",
            "application/timestamp-reply",
            &pseudo_random(n, 700),
        ),
        Mode::Normal | Mode::WrongNonce | Mode::WrongImprint => {
            if method != "POST" || parsed.is_none() {
                reply(&mut out, "400 Bad Request", "text/plain", b"not a query\n");
                return;
            }
            let mut query = der;
            match mode {
                Mode::WrongNonce => {
                    if let Some(at) = locate(&query).nonce_last {
                        query[at] ^= 0x01;
                    }
                }
                Mode::WrongImprint => {
                    if let Some(at) = locate(&query).imprint_first {
                        query[at] ^= 0x01;
                    }
                }
                _ => {}
            }
            match sign(shared, &query) {
                Ok(resp) => {
                    shared.issued.fetch_add(1, Ordering::SeqCst);
                    reply(&mut out, "200 OK", "application/timestamp-reply", &resp)
                }
                Err(e) => reply(
                    &mut out,
                    "500 Internal Server Error",
                    "text/plain",
                    e.as_bytes(),
                ),
            }
        }
    }
}

/// `openssl ts -reply` over one query.
fn sign(shared: &Shared, query: &[u8]) -> Result<Vec<u8>, String> {
    let mut seq = shared.openssl.lock().unwrap();
    *seq += 1;
    let q = shared.dir.join(format!("q{}.tsq", *seq));
    let r = shared.dir.join(format!("r{}.tsr", *seq));
    std::fs::write(&q, query).map_err(|e| e.to_string())?;
    let out = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(&shared.config)
        .arg("-queryfile")
        .arg(&q)
        .arg("-out")
        .arg(&r)
        .output()
        .map_err(|e| e.to_string())?;
    let resp = std::fs::read(&r);
    let _ = std::fs::remove_file(&q);
    let _ = std::fs::remove_file(&r);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    resp.map_err(|e| e.to_string())
}

fn pseudo_random(seed: usize, len: usize) -> Vec<u8> {
    use sha2::Digest;
    let mut out = Vec::new();
    let mut block =
        sha2::Sha256::digest(format!("garbage {seed} {:?}", std::time::SystemTime::now()));
    while out.len() < len {
        out.extend_from_slice(&block);
        block = sha2::Sha256::digest(block);
    }
    out.truncate(len);
    out
}

// --- A minimal DER reader for TimeStampReq -------------------------------------------------

/// (tag, start of contents, end of contents) of the TLV at `pos`.
fn tlv(d: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *d.get(pos)?;
    let first = *d.get(pos + 1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(pos + 2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let start = pos + hdr;
    let end = start.checked_add(len)?;
    (end <= d.len()).then_some((tag, start, end))
}

fn children(d: &[u8], start: usize, end: usize) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let Some(t) = tlv(d, pos) else { break };
        pos = t.2;
        out.push(t);
    }
    out
}

#[derive(Default)]
struct Located {
    imprint_first: Option<usize>,
    nonce_last: Option<usize>,
}

fn locate(d: &[u8]) -> Located {
    let mut at = Located::default();
    let Some((0x30, s, e)) = tlv(d, 0) else {
        return at;
    };
    let top = children(d, s, e);
    if let Some(&(0x30, ms, me)) = top.get(1)
        && let Some(&(0x04, os, oe)) = children(d, ms, me).get(1)
        && oe > os
    {
        at.imprint_first = Some(os);
    }
    at.nonce_last = top
        .iter()
        .skip(2)
        .find(|t| t.0 == 0x02 && t.2 > t.1)
        .map(|t| t.2 - 1);
    at
}

/// (hash OID, imprint, nonce, certReq) of a DER TimeStampReq.
type Parsed = (String, Vec<u8>, Option<Vec<u8>>, bool);

/// Parses a DER TimeStampReq.
fn parse_query(d: &[u8]) -> Option<Parsed> {
    let (tag, s, e) = tlv(d, 0)?;
    if tag != 0x30 || e != d.len() {
        return None;
    }
    let top = children(d, s, e);
    let &(0x30, ms, me) = top.get(1)? else {
        return None;
    };
    let mi = children(d, ms, me);
    let &(0x30, as_, ae) = mi.first()? else {
        return None;
    };
    let &(0x06, os, oe) = children(d, as_, ae).first()? else {
        return None;
    };
    let &(0x04, is, ie) = mi.get(1)? else {
        return None;
    };
    let nonce = top
        .iter()
        .skip(2)
        .find(|t| t.0 == 0x02)
        .map(|t| d[t.1..t.2].to_vec());
    let cert_req = top
        .iter()
        .skip(2)
        .find(|t| t.0 == 0x01)
        .is_some_and(|t| d[t.1..t.2].iter().any(|&b| b != 0));
    Some((oid_dotted(&d[os..oe]), d[is..ie].to_vec(), nonce, cert_req))
}

fn oid_dotted(b: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate() {
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if parts.is_empty() && i < b.len() {
                let first = if v < 80 { v / 40 } else { 2 };
                parts.push(first);
                parts.push(v - first * 40);
            } else {
                parts.push(v);
            }
            v = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}
