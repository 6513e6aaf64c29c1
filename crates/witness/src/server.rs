//! The witness's HTTP service: a `TcpListener`, a thread per connection (at most
//! [`MAX_CONNECTIONS`] at once), keep-alive, and one endpoint, `POST /add-checkpoint`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use exhibit_core::manifest::shorten;
use exhibit_core::witness::{ADD_CHECKPOINT_PATH, MAX_REQUEST_BYTES};

use crate::http::{Connection, Head, ReadError};
use crate::witness::{Response, Witness};

/// The most connections served at once; more are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 64;

/// Where the server reports each request: one line.
pub type RequestLog = Arc<dyn Fn(&str) + Send + Sync>;

/// Resolves `listen` and refuses an address that is not loopback unless `public`. One line
/// says what is wrong.
pub fn check_listen(listen: &str, public: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| format!("--listen {listen:?}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("--listen {listen:?}: no address"));
    }
    if !public && let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "--listen {listen:?}: {} is not a loopback address; add --public to serve on it",
            a.ip()
        ));
    }
    Ok(addrs)
}

/// A bound witness server; [`Server::run`] serves until stopped.
pub struct Server {
    listener: TcpListener,
    witness: Arc<Witness>,
    stop: Arc<AtomicBool>,
    log: Option<RequestLog>,
}

/// Stops a running [`Server`] from another thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl StopHandle {
    /// Asks the server to stop: it accepts no more connections and [`Server::run`] returns;
    /// each open connection ends after its current request (an idle one within
    /// [`crate::IO_TIMEOUT`]).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl Server {
    /// Binds the first of `addrs` that can be bound.
    pub fn bind(addrs: &[SocketAddr], witness: Witness) -> io::Result<Server> {
        let listener = TcpListener::bind(addrs)?;
        Ok(Server {
            listener,
            witness: Arc::new(witness),
            stop: Arc::new(AtomicBool::new(false)),
            log: None,
        })
    }

    /// Reports every request to `log`, one line each: the peer, the method and path, the
    /// status and why.
    pub fn with_log(mut self, log: RequestLog) -> Server {
        self.log = Some(log);
        self
    }

    /// The address actually bound (with the port the system chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The witness served.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// A handle that stops the server.
    pub fn stop_handle(&self) -> io::Result<StopHandle> {
        let mut addr = self.local_addr()?;
        // A wildcard address is reached on the loopback interface.
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Ok(StopHandle {
            stop: Arc::clone(&self.stop),
            addr,
        })
    }

    /// Serves until stopped: a thread per connection, at most [`MAX_CONNECTIONS`] at once.
    pub fn run(self) -> io::Result<()> {
        let active = Arc::new(AtomicUsize::new(0));
        for incoming in self.listener.incoming() {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let stream = match incoming {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait, and carry on.
                    self.report(&format!("accept failed: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            let peer = stream
                .peer_addr()
                .map_or_else(|_| "?".to_owned(), |a| a.to_string());
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::SeqCst);
                self.report(&format!(
                    "{peer} refused: {MAX_CONNECTIONS} connections open"
                ));
                refuse_busy(stream);
                continue;
            }
            let slot = Slot(Arc::clone(&active));
            let witness = Arc::clone(&self.witness);
            let stop = Arc::clone(&self.stop);
            let log = self.log.clone();
            let spawned = std::thread::Builder::new()
                .name("witness-conn".into())
                .spawn(move || {
                    let _slot = slot;
                    serve_connection(stream, &peer, &witness, &stop, log.as_ref());
                });
            if let Err(e) = spawned {
                self.report(&format!("cannot start a connection thread: {e}"));
            }
        }
        Ok(())
    }

    fn report(&self, line: &str) {
        if let Some(log) = &self.log {
            log(line);
        }
    }
}

/// One connection's place in the count of open ones, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers 503 to a connection over the limit, without waiting on it.
fn refuse_busy(stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    if let Ok(mut conn) = Connection::new(stream) {
        let r = Response::text(503, "too many connections; try again");
        let _ = conn.write_response(&r, false, &[("Retry-After", "1")]);
    }
}

/// Serves the requests of one connection until it closes, fails, times out, asks to close,
/// or the server stops.
fn serve_connection(
    stream: TcpStream,
    peer: &str,
    witness: &Witness,
    stop: &AtomicBool,
    log: Option<&RequestLog>,
) {
    let Ok(mut conn) = Connection::new(stream) else {
        return;
    };
    while !stop.load(Ordering::SeqCst) {
        let head = match conn.read_head() {
            Ok(Some(head)) => head,
            Ok(None) | Err(ReadError::Gone) => return,
            Err(ReadError::Refuse(status, why)) => {
                let r = Response::text(status, &why);
                note(log, peer, "-", &r);
                let _ = conn.write_response(&r, false, &[]);
                conn.linger();
                return;
            }
        };
        let what = format!(
            "{} {:?}",
            shorten(&head.method, 16),
            shorten(&head.path, 80)
        );
        // Anything but a well-formed add-checkpoint is answered and the connection closed,
        // so no unread body is ever taken for the next request.
        let len = match acceptable(&head) {
            Ok(len) => len,
            Err(r) => {
                note(log, peer, &what, &r);
                let allow: &[(&str, &str)] = if r.status == 405 {
                    &[("Allow", "POST")]
                } else {
                    &[]
                };
                let _ = conn.write_response(&r, false, allow);
                conn.linger();
                return;
            }
        };
        if head.expect_continue && conn.write_continue().is_err() {
            return;
        }
        let Ok(body) = conn.read_body(len) else {
            return;
        };
        let r = witness.add_checkpoint(&body);
        note(log, peer, &what, &r);
        let keep_alive = head.keep_alive && !stop.load(Ordering::SeqCst);
        if conn.write_response(&r, keep_alive, &[]).is_err() || !keep_alive {
            return;
        }
    }
}

/// The body length of an acceptable request (`POST /add-checkpoint` with a Content-Length
/// of at most [`MAX_REQUEST_BYTES`]), or the answer to any other.
fn acceptable(head: &Head) -> Result<usize, Response> {
    let refuse = |status, why: &str| Err(Response::text(status, why));
    if head.path != ADD_CHECKPOINT_PATH {
        return refuse(
            404,
            &format!("no such endpoint; POST {ADD_CHECKPOINT_PATH}"),
        );
    }
    if head.method != "POST" {
        return refuse(405, "only POST is allowed");
    }
    if head.transfer_encoding {
        return refuse(
            411,
            "send the body with a Content-Length, not a Transfer-Encoding",
        );
    }
    match head.content_length.map(usize::try_from) {
        None => refuse(411, "a Content-Length is required"),
        Some(Ok(n)) if n <= MAX_REQUEST_BYTES => Ok(n),
        Some(_) => refuse(413, &format!("the body is over {MAX_REQUEST_BYTES} bytes")),
    }
}

/// Reports one answered request.
fn note(log: Option<&RequestLog>, peer: &str, what: &str, r: &Response) {
    if let Some(log) = log {
        log(&format!("{peer} {what} {}: {}", r.status, r.summary));
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::thread::JoinHandle;

    use exhibit_core::checkpoint::base64_encode;
    use exhibit_core::witness::{AddCheckpoint, SIZE_CONTENT_TYPE};
    use exhibit_sign::SigningKey;
    use exhibit_sign::note::{VerifierKey, sign_note, verifier_key};

    use super::*;

    const ORIGIN: &str = "example.com/log";

    struct Running {
        addr: SocketAddr,
        stop: StopHandle,
        thread: Option<JoinHandle<io::Result<()>>>,
        _dir: tempfile::TempDir,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.stop();
            if let Some(t) = self.thread.take() {
                t.join().unwrap().unwrap();
            }
        }
    }

    fn start(log_key: &SigningKey) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let vkey = VerifierKey::parse(&verifier_key(ORIGIN, &log_key.public_key())).unwrap();
        let witness = Witness::open(dir.path(), None, &[vkey]).unwrap();
        let addrs = check_listen("127.0.0.1:0", false).unwrap();
        let server = Server::bind(&addrs, witness).unwrap();
        let addr = server.local_addr().unwrap();
        let stop = server.stop_handle().unwrap();
        let thread = Some(std::thread::spawn(move || server.run()));
        Running {
            addr,
            stop,
            thread,
            _dir: dir,
        }
    }

    fn body(key: &SigningKey, size: u64) -> String {
        let text = format!("{ORIGIN}\n{size}\n{}\n", base64_encode(&[size as u8; 32]));
        AddCheckpoint {
            old: 0,
            proof: vec![],
            note: sign_note(&text, ORIGIN, key).unwrap(),
        }
        .to_body()
    }

    fn post(body: &str, headers: &str) -> String {
        format!(
            "POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{headers}\r\n{body}",
            body.len()
        )
    }

    /// Sends `raw`, reads until the server closes.
    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn keep_alive_serves_several_requests_on_one_connection() {
        let key = SigningKey::generate().unwrap();
        let server = start(&key);
        // Two pipelined requests, then one asking to close: three answers, then EOF.
        let raw = format!(
            "{}{}{}",
            post(&body(&key, 1), ""),
            post(&body(&key, 1), ""),
            post(&body(&key, 2), "Connection: close\r\n")
        );
        let out = exchange(server.addr, raw.as_bytes());
        let statuses: Vec<&str> = out
            .match_indices("HTTP/1.1 ")
            .map(|(i, _)| &out[i + 9..i + 12])
            .collect();
        assert_eq!(statuses, ["200", "409", "409"], "{out}");
        assert!(out.contains("\r\n\r\n\u{2014} exhibit-witness "), "{out}");
        assert_eq!(out.matches("Connection: close").count(), 1, "{out}");
        // The 409 of the spec: the latest size, as text/x.tlog.size.
        assert!(out.contains(&format!("Content-Type: {SIZE_CONTENT_TYPE}\r\n")));
        assert!(out.ends_with("\r\n\r\n1\n"), "{out:?}");
    }

    #[test]
    fn other_requests_are_refused_with_their_status() {
        let key = SigningKey::generate().unwrap();
        let server = start(&key);
        let big = format!("{}\r\n", "x".repeat(MAX_REQUEST_BYTES + 1));
        for (raw, status) in [
            ("GET /add-checkpoint HTTP/1.1\r\n\r\n".to_owned(), "405"),
            (
                "POST /other HTTP/1.1\r\nContent-Length: 0\r\n\r\n".into(),
                "404",
            ),
            ("POST /add-checkpoint HTTP/1.1\r\n\r\n".into(), "411"),
            (
                "POST /add-checkpoint HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    .into(),
                "411",
            ),
            (post(&big, ""), "413"),
            ("garbage\r\n\r\n".into(), "400"),
            (
                format!("POST /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000)),
                "431",
            ),
            (post("old 0\n\nnot a note", "Connection: close\r\n"), "400"),
        ] {
            let out = exchange(server.addr, raw.as_bytes());
            let line = out.lines().next().unwrap_or_default();
            assert!(
                line.starts_with(&format!("HTTP/1.1 {status} ")),
                "{line} for {:?}",
                &raw[..raw.len().min(60)]
            );
            // One line of why.
            let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
            assert_eq!(body.matches('\n').count(), 1, "{out}");
        }
        // Expect: 100-continue is honoured.
        let b = body(&key, 1);
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let head = format!(
            "POST /add-checkpoint HTTP/1.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            b.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut cont = [0u8; 25];
        s.read_exact(&mut cont).unwrap();
        assert_eq!(&cont, b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(b.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    }

    #[test]
    fn connections_over_the_limit_are_answered_503() {
        let key = SigningKey::generate().unwrap();
        let server = start(&key);
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.addr).unwrap())
            .collect();
        let out = exchange(server.addr, b"");
        assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
        drop(idle);
        // Once they close, there is room again.
        let mut answered = String::new();
        for _ in 0..100 {
            answered = exchange(
                server.addr,
                post(&body(&key, 1), "Connection: close\r\n").as_bytes(),
            );
            if answered.starts_with("HTTP/1.1 200 ") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(answered.starts_with("HTTP/1.1 200 "), "{answered}");
    }

    #[test]
    fn listening_beyond_loopback_needs_public() {
        assert!(check_listen("127.0.0.1:0", false).is_ok());
        assert!(check_listen("[::1]:0", false).is_ok());
        let e = check_listen("0.0.0.0:7380", false).unwrap_err();
        assert!(e.contains("--public") && !e.contains('\n'), "{e}");
        assert!(check_listen("0.0.0.0:7380", true).is_ok());
        assert!(check_listen("not an address", false).is_err());
    }
}
