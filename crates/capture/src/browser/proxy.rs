//! The intercepting proxy a browser capture loads its page through (FORMAT §3.11).
//!
//! Chromium is pointed at it (`--proxy-server=http://127.0.0.1:PORT`) and told to accept its
//! certificate by public-key hash (`--ignore-certificate-errors-spki-list`). Plain `http://`
//! requests arrive in absolute form; `https://` ones arrive inside a `CONNECT` tunnel whose TLS
//! the proxy terminates with a self-signed certificate made for this run. Every request is then
//! made again upstream by exhibit itself — one fresh recording agent per request
//! ([`HttpClient::agent`]), so each has its own recorded connection and TLS handshake — and the
//! response's decoded body is stored as an object *before* the browser receives it. What the
//! page rendered is therefore made of exactly the bytes the archive holds.
//!
//! Bounded everywhere: request heads (64 KiB) and bodies (4 MiB), each response body and the
//! total of all bodies ([`ProxyLimits`]), the number of requests, the number of browser
//! connections at once (64), every socket's timeouts. Over a limit, a request is answered with
//! a short 4xx/5xx and recorded as failed; nothing a page sends can make the proxy panic or
//! hang.
//!
//! A response is answered with a `Content-Length` of its decoded body, so the body is held
//! until it is complete: up to 1 MiB in memory, the rest in an unnamed temporary file (and the
//! object writer holds at most 1 MiB more), so memory stays bounded whatever the limits.

// The browser capture that drives the proxy is being written alongside it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Utc};
use exhibit_core::Sha256Digest;
use exhibit_core::connection::Connection;
use exhibit_core::manifest::{MAX_RECORDED_STRING, cap_string};
use exhibit_store::{ObjectStore, StoredObject};
use rcgen::PublicKeyData;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use ureq::http;
use url::Url;

use crate::CaptureError;
use crate::acquire::{decoder, recorded, split_content_type, take_connection};
use crate::connector::HttpClient;

/// The largest request head (request line and headers) read from the browser.
const MAX_HEAD: usize = 64 << 10;
/// The most request headers parsed.
const MAX_REQUEST_HEADERS: usize = 128;
/// The largest request body forwarded (held in memory).
const MAX_REQUEST_BODY: u64 = 4 << 20;
/// Browser connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;
/// Response headers recorded per exchange.
const MAX_RECORDED_HEADERS: usize = 100;
/// Decoded body bytes held in memory before the rest goes to a temporary file.
const SPOOL_IN_MEMORY: usize = 1 << 20;
/// How long dropping the proxy waits for its threads.
const JOIN_BUDGET: Duration = Duration::from_secs(3);
/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), besides
/// `Proxy-*` and those a `Connection` header names.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The proxy's limits.
#[derive(Debug, Clone)]
pub(crate) struct ProxyLimits {
    /// The largest decoded response body stored and passed on.
    pub(crate) max_response_bytes: u64,
    /// The most decoded body bytes over all exchanges.
    pub(crate) max_total_bytes: u64,
    /// The most requests recorded; later ones are refused (the first refusal is recorded).
    pub(crate) max_exchanges: usize,
    /// The read and write timeout of every browser socket (upstream requests have the
    /// [`HttpClient`]'s own).
    pub(crate) timeout: Duration,
}

/// One request the page made through the proxy, and what came of it.
#[derive(Debug, Clone)]
pub(crate) struct ProxiedExchange {
    /// The absolute URL, as recorded (without credentials). For a refused `CONNECT`, the
    /// `host:port` it named; for a request whose target is not a URL, the target as sent.
    pub(crate) url: String,
    /// The request method.
    pub(crate) method: String,
    /// The upstream status, when a response arrived.
    pub(crate) status: Option<u16>,
    /// The upstream response headers as received (names lower-cased; repeated names are
    /// grouped where the first of them came), each value capped, at most 100.
    pub(crate) headers: Vec<(String, String)>,
    /// The decoded body, stored as an object (`None` when it was not stored whole, and for
    /// `HEAD`).
    pub(crate) body: Option<StoredObject>,
    /// The essence of the Content-Type, lower case.
    pub(crate) media_type: Option<String>,
    /// The upstream connection, when one was made.
    pub(crate) connection: Option<Connection>,
    /// Why the request failed or was refused; `None` when the response reached the browser's
    /// side of the proxy whole (whatever its status).
    pub(crate) error: Option<String>,
}

/// The intercepting proxy: listening on 127.0.0.1 until dropped.
pub(crate) struct Proxy {
    addr: SocketAddr,
    spki_sha256: String,
    #[cfg(test)]
    cert_der: Vec<u8>,
    #[cfg(test)]
    spki_der: Vec<u8>,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field("spki_sha256", &self.spki_sha256)
            .finish_non_exhaustive()
    }
}

/// The certificate and key every proxy of one browser presents: generated once per browser, so
/// that the browser can be told to accept it by its public key's hash.
pub(crate) struct Identity {
    tls: Arc<ServerConfig>,
    spki_sha256: String,
    #[cfg(test)]
    cert_der: Vec<u8>,
    #[cfg(test)]
    spki_der: Vec<u8>,
}

impl Identity {
    /// A fresh self-signed certificate (ECDSA P-256, valid from yesterday for 30 days) and the
    /// TLS configuration that presents it.
    pub(crate) fn generate() -> Result<Identity, CaptureError> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            CaptureError::Internal(format!("capture proxy: {what}: {e}"))
        };
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| internal("key generation", &e))?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(|e| internal("certificate", &e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "exhibit capture proxy");
        let ymd = |t: DateTime<Utc>| {
            let d = t.date_naive();
            rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
        };
        let now = Utc::now();
        params.not_before = ymd(now - chrono::Duration::days(1));
        params.not_after = ymd(now + chrono::Duration::days(30));
        let cert = params
            .self_signed(&key)
            .map_err(|e| internal("certificate", &e))?;
        let spki_der = key.subject_public_key_info();
        let spki_sha256 = base64(Sha256Digest::of(&spki_der).as_bytes());
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| internal("TLS configuration", &e))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der)
            .map_err(|e| internal("TLS configuration", &e))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        Ok(Identity {
            tls: Arc::new(tls),
            spki_sha256,
            #[cfg(test)]
            cert_der: cert.der().to_vec(),
            #[cfg(test)]
            spki_der,
        })
    }

    /// Base64 (standard, padded) of the SHA-256 of the certificate's SubjectPublicKeyInfo
    /// (DER): what Chromium's `--ignore-certificate-errors-spki-list` takes.
    pub(crate) fn spki_sha256_base64(&self) -> String {
        self.spki_sha256.clone()
    }
}

/// What the proxy's threads share.
struct Shared {
    http: HttpClient,
    objects: Arc<ObjectStore>,
    limits: ProxyLimits,
    tls: Arc<ServerConfig>,
    connect_ports: Vec<u16>,
    /// The port the proxy listens on (a request to itself is refused, not looped).
    own_port: u16,
    stop: AtomicBool,
    in_flight: AtomicUsize,
    /// Decoded body bytes stored or being stored, over all exchanges.
    total_bytes: AtomicU64,
    book: Mutex<Book>,
    conns: Mutex<Conns>,
    /// Signalled when a browser connection ends.
    slot_free: Condvar,
    /// The first failure of the object store.
    store_error: Mutex<Option<CaptureError>>,
}

/// The exchanges.
#[derive(Default)]
struct Book {
    next_seq: u64,
    admitted: usize,
    limit_recorded: bool,
    /// Finished exchanges not yet taken, by arrival.
    done: BTreeMap<u64, ProxiedExchange>,
}

/// The browser connections being served.
#[derive(Default)]
struct Conns {
    next_id: u64,
    /// A handle on each connection's socket, to close it when the proxy stops.
    open: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Proxy {
    /// Listens on 127.0.0.1:0 with a fresh self-signed certificate (ECDSA P-256, valid from
    /// yesterday for 30 days); the browser is told to accept it by its public key's hash
    /// ([`Proxy::spki_sha256_base64`]).
    #[cfg(test)]
    pub(crate) fn start(
        http: HttpClient,
        objects: Arc<ObjectStore>,
        limits: ProxyLimits,
    ) -> Result<Proxy, CaptureError> {
        Proxy::start_as(&Identity::generate()?, http, objects, limits)
    }

    /// [`Proxy::start`] with a given identity: every proxy of one browser presents the same
    /// certificate, the one the browser was told to accept.
    pub(crate) fn start_as(
        identity: &Identity,
        http: HttpClient,
        objects: Arc<ObjectStore>,
        limits: ProxyLimits,
    ) -> Result<Proxy, CaptureError> {
        // Any port: the browser could reach any port without the proxy, and test servers and
        // intranet pages use others. The proxy's own port is refused separately.
        Proxy::start_with_ports(identity, http, objects, limits, &[])
    }

    /// [`Proxy::start`], allowing `CONNECT` only to `connect_ports` (any port when empty).
    fn start_with_ports(
        identity: &Identity,
        http: HttpClient,
        objects: Arc<ObjectStore>,
        limits: ProxyLimits,
        connect_ports: &[u16],
    ) -> Result<Proxy, CaptureError> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            CaptureError::Internal(format!("capture proxy: {what}: {e}"))
        };
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| internal("cannot listen on 127.0.0.1", &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| internal("listening address", &e))?;
        let shared = Arc::new(Shared {
            http,
            objects,
            limits,
            tls: identity.tls.clone(),
            connect_ports: connect_ports.to_vec(),
            own_port: addr.port(),
            stop: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            total_bytes: AtomicU64::new(0),
            book: Mutex::default(),
            conns: Mutex::default(),
            slot_free: Condvar::new(),
            store_error: Mutex::new(None),
        });
        let for_thread = shared.clone();
        let accept = std::thread::Builder::new()
            .name("exhibit-proxy".into())
            .spawn(move || accept_loop(&for_thread, &listener))
            .map_err(|e| internal("cannot start a thread", &e))?;
        Ok(Proxy {
            addr,
            spki_sha256: identity.spki_sha256.clone(),
            #[cfg(test)]
            cert_der: identity.cert_der.clone(),
            #[cfg(test)]
            spki_der: identity.spki_der.clone(),
            shared,
            accept: Some(accept),
        })
    }

    /// The address the proxy listens on (127.0.0.1).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base64 (standard, padded) of the SHA-256 of the certificate's SubjectPublicKeyInfo
    /// (DER): what Chromium's `--ignore-certificate-errors-spki-list` takes.
    #[cfg(test)]
    pub(crate) fn spki_sha256_base64(&self) -> String {
        self.spki_sha256.clone()
    }

    /// Every exchange finished (completed or failed) since the last call, in the order the
    /// requests arrived. Requests still in flight come with a later call.
    pub(crate) fn take_exchanges(&self) -> Vec<ProxiedExchange> {
        std::mem::take(&mut lock(&self.shared.book).done)
            .into_values()
            .collect()
    }

    /// Requests in flight now: heads read and not yet answered.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The first failure of the object store, if any (taken once). The exchange it happened
    /// in is recorded as failed too; a capture should fail rather than record it.
    pub(crate) fn take_store_error(&self) -> Option<CaptureError> {
        lock(&self.shared.store_error).take()
    }
}

impl Drop for Proxy {
    /// Stops accepting, closes every browser connection and waits (at most a few seconds)
    /// for the threads; a thread still waiting for an upstream server ends by its timeout.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        self.shared.slot_free.notify_all();
        let deadline = Instant::now() + JOIN_BUDGET;
        let mut threads: Vec<JoinHandle<()>> = self.accept.take().into_iter().collect();
        {
            let mut conns = lock(&self.shared.conns);
            for stream in conns.open.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            threads.append(&mut conns.threads);
        }
        for thread in threads {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

/// Accepts browser connections, at most [`MAX_CONNECTIONS`] served at once.
fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    loop {
        {
            let mut conns = lock(&shared.conns);
            while conns.open.len() >= MAX_CONNECTIONS && !shared.stop.load(Ordering::SeqCst) {
                conns = shared
                    .slot_free
                    .wait_timeout(conns, Duration::from_millis(100))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                spawn_connection(shared, stream);
            }
            Err(_) => {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                // Out of file descriptors, say: try again shortly.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Serves one browser connection on a thread of its own.
fn spawn_connection(shared: &Arc<Shared>, stream: TcpStream) {
    let Ok(handle) = stream.try_clone() else {
        return;
    };
    let id = {
        let mut conns = lock(&shared.conns);
        conns.threads.retain(|t| !t.is_finished());
        conns.next_id += 1;
        let id = conns.next_id;
        conns.open.insert(id, handle);
        id
    };
    let for_thread = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("exhibit-proxy-conn".into())
        .spawn(move || {
            let _registered = Registered {
                shared: &for_thread,
                id,
            };
            serve(&for_thread, stream);
        });
    match spawned {
        Ok(thread) => lock(&shared.conns).threads.push(thread),
        Err(_) => {
            lock(&shared.conns).open.remove(&id);
        }
    }
}

/// A served connection: unregistered when its thread ends, however it ends.
struct Registered<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.shared.conns).open.remove(&self.id);
        self.shared.slot_free.notify_all();
    }
}

/// Counts a request in flight while it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An admitted exchange: recorded in the book when dropped, so that even a request whose
/// handling failed unexpectedly is recorded.
struct Ticket<'a> {
    shared: &'a Shared,
    seq: u64,
    exchange: ProxiedExchange,
    finished: bool,
}

impl Ticket<'_> {
    /// Records the exchange as failed with `error`.
    fn fail(mut self, error: &str) {
        self.exchange.error = Some(cap_string(error, MAX_RECORDED_STRING));
        self.finished = true;
    }

    /// Records the exchange as it is.
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut exchange = std::mem::replace(&mut self.exchange, empty_exchange(String::new()));
        if !self.finished && exchange.error.is_none() {
            exchange.error = Some("the proxy failed while handling the request".into());
        }
        lock(&self.shared.book).done.insert(self.seq, exchange);
    }
}

fn empty_exchange(method: String) -> ProxiedExchange {
    ProxiedExchange {
        url: String::new(),
        method,
        status: None,
        headers: Vec::new(),
        body: None,
        media_type: None,
        connection: None,
        error: None,
    }
}

/// Whether a request may be recorded.
enum Admission<'a> {
    /// Yes.
    Admitted(Ticket<'a>),
    /// It is the first over the exchange limit: recorded as refused.
    LimitReached(Ticket<'a>),
    /// Over the limit, which is recorded already: refused without a record.
    Refused,
}

impl Shared {
    fn admit(&self, url: String, method: &str) -> Admission<'_> {
        let mut book = lock(&self.book);
        let over = book.admitted >= self.limits.max_exchanges;
        if over && book.limit_recorded {
            return Admission::Refused;
        }
        let seq = book.next_seq;
        book.next_seq += 1;
        if over {
            book.limit_recorded = true;
        } else {
            book.admitted += 1;
        }
        drop(book);
        let ticket = Ticket {
            shared: self,
            seq,
            exchange: ProxiedExchange {
                url,
                ..empty_exchange(method.to_owned())
            },
            finished: false,
        };
        if over {
            Admission::LimitReached(ticket)
        } else {
            Admission::Admitted(ticket)
        }
    }

    fn store_failed(&self, e: CaptureError) -> String {
        let message = format!("the archive failed: {e}");
        lock(&self.store_error).get_or_insert(e);
        message
    }
}

/// A stream with bytes already read from it put back in front.
struct Rewind<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S: Read> Read for Rewind<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl<S: Write> Write for Rewind<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A browser connection: the stream, and bytes read from it but not yet used.
struct Conn<S> {
    io: S,
    buf: Vec<u8>,
}

/// Where requests on a connection go.
enum Origin {
    /// A plain connection to the proxy: absolute-form requests, or `CONNECT`.
    Proxy,
    /// Inside a tunnel to `authority`: origin-form requests.
    Tunnel {
        scheme: &'static str,
        authority: String,
    },
}

/// What to do after a request.
enum Next {
    KeepAlive,
    Close,
    /// The connection became a tunnel to this `host:port` (the 200 is sent).
    Tunnel(String),
}

/// A request head, owned.
struct Head {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    fn values<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h [u8]> + 'h {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn has(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// The comma-separated tokens of every `name` header, lower case.
    fn tokens(&self, name: &str) -> Vec<String> {
        self.values(name).flat_map(tokens).collect()
    }
}

fn tokens(value: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(value)
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Why a head could not be read.
enum HeadError {
    /// Longer than [`MAX_HEAD`] or with too many headers.
    TooLarge,
    /// Not HTTP/1.x.
    Malformed,
    /// The connection failed or closed mid-head.
    Io,
}

/// Serves a browser connection to its end.
fn serve(shared: &Shared, stream: TcpStream) {
    let timeout = Some(shared.limits.timeout.max(Duration::from_secs(1)));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        io: stream,
        buf: Vec::new(),
    };
    if let Next::Tunnel(authority) = http_loop(shared, &mut conn, &Origin::Proxy) {
        tunnel(shared, conn, authority);
    }
}

/// Serves what comes through a `CONNECT` tunnel: TLS (terminated here) or plain HTTP.
fn tunnel(shared: &Shared, mut conn: Conn<TcpStream>, authority: String) {
    if conn.buf.is_empty() {
        let mut first = [0u8; 1];
        match conn.io.read(&mut first) {
            Ok(1) => conn.buf.push(first[0]),
            _ => return,
        }
    }
    // A TLS record of type handshake.
    if conn.buf.first() == Some(&0x16) {
        let Ok(server) = ServerConnection::new(shared.tls.clone()) else {
            return;
        };
        let io = Rewind {
            prefix: std::mem::take(&mut conn.buf),
            pos: 0,
            inner: conn.io,
        };
        let mut tls = Conn {
            io: StreamOwned::new(server, io),
            buf: Vec::new(),
        };
        let origin = Origin::Tunnel {
            scheme: "https",
            authority,
        };
        http_loop(shared, &mut tls, &origin);
        tls.io.conn.send_close_notify();
        let _ = tls.io.flush();
    } else {
        let origin = Origin::Tunnel {
            scheme: "http",
            authority,
        };
        http_loop(shared, &mut conn, &origin);
    }
}

/// Serves requests on a connection until it closes, fails or becomes a tunnel.
fn http_loop<S: Read + Write>(shared: &Shared, conn: &mut Conn<S>, origin: &Origin) -> Next {
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Next::Close;
        }
        let head = match read_head(conn) {
            Ok(Some(head)) => head,
            Ok(None) => return Next::Close,
            Err(HeadError::Io) => return Next::Close,
            Err(HeadError::TooLarge) => {
                let _ = write_error(conn, 431, "request head too large", true);
                return Next::Close;
            }
            Err(HeadError::Malformed) => {
                let _ = write_error(conn, 400, "malformed request", true);
                return Next::Close;
            }
        };
        match handle(shared, conn, head, origin) {
            Next::KeepAlive => {}
            other => return other,
        }
    }
}

/// Reads the next request head: `None` when the connection ends (or idles past the timeout)
/// between requests.
fn read_head<S: Read>(conn: &mut Conn<S>) -> Result<Option<Head>, HeadError> {
    let mut chunk = [0u8; 8192];
    loop {
        // Empty lines before a request are ignored (RFC 9112 §2.2).
        let blank = conn
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        conn.buf.drain(..blank);
        if !conn.buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&conn.buf) {
                Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => {
                    return Err(HeadError::TooLarge);
                }
                Ok(httparse::Status::Complete(len)) => {
                    let head = Head {
                        method: request.method.unwrap_or_default().to_owned(),
                        target: request.path.unwrap_or_default().to_owned(),
                        http10: request.version == Some(0),
                        headers: request
                            .headers
                            .iter()
                            .map(|h| (h.name.to_owned(), h.value.to_vec()))
                            .collect(),
                    };
                    conn.buf.drain(..len);
                    return Ok(Some(head));
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
                Err(_) => return Err(HeadError::Malformed),
            }
            if conn.buf.len() > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
        }
        let n = loop {
            match conn.io.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if conn.buf.is_empty() => return Ok(None),
                Err(_) => return Err(HeadError::Io),
                Ok(n) => break n,
            }
        };
        if n == 0 {
            return if conn.buf.is_empty() {
                Ok(None)
            } else {
                Err(HeadError::Io)
            };
        }
        conn.buf.extend_from_slice(&chunk[..n]);
    }
}

/// The `host:port` a `CONNECT` names (host normalised), and its port.
fn connect_target(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    if host.is_empty()
        || host
            .chars()
            .any(|c| matches!(c, '/' | '@' | '?' | '#' | '\\') || c.is_whitespace())
    {
        return None;
    }
    let url = Url::parse(&format!("https://{host}:{port}/")).ok()?;
    let host = url.host_str()?;
    Some((format!("{host}:{port}"), port))
}

/// The absolute URL of a request: `Err((status, reason))` when it has none the proxy serves.
fn request_url(origin: &Origin, target: &str) -> Result<Url, (u16, String)> {
    let url = match origin {
        Origin::Proxy => {
            if target.starts_with('/') {
                return Err((400, "not a proxy request (no absolute URL)".into()));
            }
            Url::parse(target).map_err(|e| (400, format!("invalid request URL: {e}")))?
        }
        Origin::Tunnel { scheme, authority } => {
            if !target.starts_with('/') {
                return Err((400, "not an origin-form request in a tunnel".into()));
            }
            Url::parse(&format!("{scheme}://{authority}{target}"))
                .map_err(|e| (400, format!("invalid request URL: {e}")))?
        }
    };
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err((400, "a URL without a host".into())),
        other => Err((501, format!("the {other}: scheme is not proxied"))),
    }
}

/// Whether `url` names the proxy itself (a loopback address or `localhost` on its port).
fn is_self(url: &Url, own_port: u16) -> bool {
    if url.port_or_known_default() != Some(own_port) {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// Handles one request whose head is read.
fn handle<S: Read + Write>(
    shared: &Shared,
    conn: &mut Conn<S>,
    head: Head,
    origin: &Origin,
) -> Next {
    let _busy = InFlight::new(&shared.in_flight);
    let close_after = head.http10
        || head.tokens("connection").iter().any(|t| t == "close")
        || head.tokens("proxy-connection").iter().any(|t| t == "close");

    // CONNECT: open a tunnel, or refuse.
    let mut refusal: Option<(u16, String)> = None;
    let url = if head.method.eq_ignore_ascii_case("CONNECT") {
        let target = head.target.clone();
        match (origin, connect_target(&head.target)) {
            (Origin::Tunnel { .. }, _) => refusal = Some((400, "CONNECT inside a tunnel".into())),
            (Origin::Proxy, None) => refusal = Some((400, "invalid CONNECT target".into())),
            (Origin::Proxy, Some((authority, port))) => {
                if shared.connect_ports.is_empty() || shared.connect_ports.contains(&port) {
                    if conn
                        .io
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .and_then(|()| conn.io.flush())
                        .is_err()
                    {
                        return Next::Close;
                    }
                    return Next::Tunnel(authority);
                }
                refusal = Some((502, format!("CONNECT to port {port} refused")));
            }
        }
        Err(cap_string(&target, MAX_RECORDED_STRING))
    } else {
        match request_url(origin, &head.target) {
            Ok(url) => Ok(url),
            Err(why) => {
                refusal = Some(why);
                Err(cap_string(&head.target, MAX_RECORDED_STRING))
            }
        }
    };
    let recorded_url = match &url {
        Ok(u) => recorded(u),
        Err(raw) => raw.clone(),
    };
    let ticket = match shared.admit(recorded_url, &head.method) {
        Admission::Admitted(ticket) => ticket,
        Admission::LimitReached(ticket) => {
            let reason = format!(
                "refused: the capture's limit of {} requests was reached",
                shared.limits.max_exchanges
            );
            ticket.fail(&reason);
            return refuse(conn, 502, &reason, &head);
        }
        Admission::Refused => {
            let reason = "refused: the capture's request limit was reached";
            return refuse(conn, 502, reason, &head);
        }
    };
    if let Some((status, reason)) = refusal {
        ticket.fail(&reason);
        return refuse(conn, status, &reason, &head);
    }
    let Ok(url) = url else {
        ticket.fail("invalid request");
        return refuse(conn, 400, "invalid request", &head);
    };
    if is_self(&url, shared.own_port) {
        let reason = "refused: a request to the capture proxy itself";
        ticket.fail(reason);
        return refuse(conn, 502, reason, &head);
    }

    // The request body.
    if head.has("transfer-encoding") {
        let reason = "refused: chunked request bodies are not supported";
        ticket.fail(reason);
        return refuse_and_close(conn, 501, reason);
    }
    let upgrade = head.tokens("upgrade");
    if !upgrade.is_empty() {
        let reason = if upgrade.iter().any(|t| t == "websocket") {
            "refused: WebSocket connections are not captured".to_owned()
        } else {
            format!("refused: protocol upgrade to {}", upgrade.join(", "))
        };
        ticket.fail(&reason);
        return refuse_and_close(conn, 501, &reason);
    }
    let length = match content_length(&head) {
        Ok(length) => length,
        Err(()) => {
            let reason = "refused: invalid Content-Length";
            ticket.fail(reason);
            return refuse_and_close(conn, 400, reason);
        }
    };
    if length.is_some_and(|n| n > MAX_REQUEST_BODY) {
        let reason = format!("refused: request body larger than {MAX_REQUEST_BODY} bytes");
        ticket.fail(&reason);
        return refuse_and_close(conn, 413, &reason);
    }
    let body = match length {
        None => None,
        Some(n) => {
            if head.tokens("expect").iter().any(|t| t == "100-continue")
                && conn
                    .io
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .and_then(|()| conn.io.flush())
                    .is_err()
            {
                ticket.fail("the browser connection failed");
                return Next::Close;
            }
            match read_body(conn, n as usize) {
                Ok(body) => Some(body),
                Err(e) => {
                    ticket.fail(&format!("the request body could not be read: {e}"));
                    return Next::Close;
                }
            }
        }
    };

    // Upstream, and back.
    let mut ticket = ticket;
    let is_head = head.method.eq_ignore_ascii_case("HEAD");
    match forward(shared, &url, &head, body, is_head, &mut ticket.exchange) {
        Ok(answer) => {
            ticket.finish();
            match write_answer(conn, answer, is_head, close_after) {
                Ok(()) if !close_after => Next::KeepAlive,
                _ => Next::Close,
            }
        }
        Err((status, reason)) => {
            ticket.fail(&reason);
            let shown = format!("{reason} ({})", url.as_str());
            refuse(conn, status, &shown, &head)
        }
    }
}

/// Answers with an error, keeping the connection when the request had no body left unread.
fn refuse<S: Write>(conn: &mut Conn<S>, status: u16, reason: &str, head: &Head) -> Next {
    let close = head.http10
        || head.has("transfer-encoding")
        || head.has("upgrade")
        || !matches!(content_length(head), Ok(None) | Ok(Some(0)))
        || head.tokens("connection").iter().any(|t| t == "close");
    match write_error(conn, status, reason, close) {
        Ok(()) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}

fn refuse_and_close<S: Write>(conn: &mut Conn<S>, status: u16, reason: &str) -> Next {
    let _ = write_error(conn, status, reason, true);
    Next::Close
}

/// The request's Content-Length: `Err` when it is malformed or given twice differently.
fn content_length(head: &Head) -> Result<Option<u64>, ()> {
    let mut length = None;
    for value in head.values("content-length") {
        for part in String::from_utf8_lossy(value).split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            let n: u64 = part.parse().map_err(|_| ())?;
            if length.is_some_and(|l| l != n) {
                return Err(());
            }
            length = Some(n);
        }
    }
    Ok(length)
}

fn read_body<S: Read>(conn: &mut Conn<S>, n: usize) -> io::Result<Vec<u8>> {
    let have = n.min(conn.buf.len());
    let mut body: Vec<u8> = conn.buf.drain(..have).collect();
    body.resize(n, 0);
    conn.io.read_exact(&mut body[have..])?;
    Ok(body)
}

mod upstream;

use upstream::{base64, forward, write_answer, write_error};

#[cfg(test)]
mod tests;
