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
//!
//! Here: the proxy's life (start, admission, limits, shutdown) and what its threads share. The
//! browser's side (connections, tunnels, request heads, handling) is in `client.rs`, the
//! upstream side in `upstream.rs`, the TLS identity in `identity.rs`.

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
use crate::acquire::{
    decoder, finish_body, keep_response, recorded, split_content_type, take_connection,
};
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

mod client;
mod identity;
mod upstream;

use client::{Conn, Head, serve, tokens};
pub(crate) use identity::Identity;

use upstream::{base64, forward, write_answer, write_error};

#[cfg(test)]
mod tests;
