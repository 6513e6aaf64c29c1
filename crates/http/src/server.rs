//! The service: a `TcpListener`, a thread per connection (at most [`MAX_CONNECTIONS`] at
//! once), keep-alive, and a [`Handler`] that answers.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use exhibit_core::manifest::shorten;

use crate::MAX_CONNECTIONS;
use crate::conn::{Connection, ReadError, WriteError, write_response};
use crate::message::{Head, Request, Response};

/// What a [`Server`] serves: it decides on each request, in two steps.
pub trait Handler: Send + Sync + 'static {
    /// Called with each head before any body is read: Ok(max body bytes to accept) or the
    /// answer refusing it (the connection is then closed after the answer).
    ///
    /// With `Ok(max)`, a request with a `Transfer-Encoding` is still refused (`411`), and one
    /// whose `Content-Length` is above `max` (`413`); one without a `Content-Length` has an
    /// empty body.
    fn accept(&self, head: &Head) -> Result<usize, Response>;

    /// Answers a request whose body has been read.
    fn handle(&self, request: &Request) -> Response;
}

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

/// A bound server; [`Server::run`] serves until stopped.
pub struct Server {
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    stop: Arc<AtomicBool>,
    log: Option<RequestLog>,
    thread_name: String,
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
    /// Binds the first of `addrs` that can be bound, to serve `handler`.
    pub fn bind(addrs: &[SocketAddr], handler: Arc<dyn Handler>) -> io::Result<Server> {
        let listener = TcpListener::bind(addrs)?;
        Ok(Server {
            listener,
            handler,
            stop: Arc::new(AtomicBool::new(false)),
            log: None,
            thread_name: "http-conn".into(),
        })
    }

    /// Reports every request to `log`, one line each: the peer, the method and path, the
    /// status and the response's summary (`{peer} {METHOD "path"} {status}: {summary}`);
    /// also connections refused and failures to accept.
    pub fn with_log(mut self, log: RequestLog) -> Server {
        self.log = Some(log);
        self
    }

    /// Names the threads serving connections (`http-conn` unless set).
    pub fn with_thread_name(mut self, name: &str) -> Server {
        name.clone_into(&mut self.thread_name);
        self
    }

    /// The address actually bound (with the port the system chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
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
                refuse_busy(&stream);
                continue;
            }
            let slot = Slot(Arc::clone(&active));
            let handler = Arc::clone(&self.handler);
            let stop = Arc::clone(&self.stop);
            let log = self.log.clone();
            let spawned = std::thread::Builder::new()
                .name(self.thread_name.clone())
                .spawn(move || {
                    let _slot = slot;
                    serve_connection(stream, peer, &*handler, &stop, log.as_ref());
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
fn refuse_busy(stream: &TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let r = Response::text(503, "too many connections; try again").with_header("Retry-After", "1");
    let _ = write_response(stream, r, false, false);
}

/// Serves the requests of one connection until it closes, fails, times out, asks to close,
/// or the server stops.
fn serve_connection(
    stream: TcpStream,
    peer: String,
    handler: &dyn Handler,
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
                note(log, &peer, "-", &r);
                let _ = conn.write_response(r, false, false);
                conn.linger();
                return;
            }
        };
        let what = format!(
            "{} {:?}",
            shorten(&head.method, 16),
            shorten(&head.path, 80)
        );
        let head_only = head.method == "HEAD";
        // A request refused is answered and the connection closed, so no unread body is ever
        // taken for the next request.
        let len = match handler
            .accept(&head)
            .and_then(|max| body_length(&head, max))
        {
            Ok(len) => len,
            Err(r) => {
                note(log, &peer, &what, &r);
                let _ = conn.write_response(r, false, head_only);
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
        let request = Request {
            head,
            body,
            peer: peer.clone(),
        };
        let r = handler.handle(&request);
        note(log, &peer, &what, &r);
        let keep_alive = request.head.keep_alive && !stop.load(Ordering::SeqCst);
        let len = r.body.len();
        match conn.write_response(r, keep_alive, head_only) {
            Ok(()) if keep_alive => {}
            Ok(()) | Err(WriteError::Gone) => return,
            Err(WriteError::Body { sent, why }) => {
                if let Some(log) = log {
                    log(&format!(
                        "{peer} {what} body cut short after {sent} of {len} bytes: {why}"
                    ));
                }
                return;
            }
        }
    }
}

/// The body length of a request the handler takes bodies of at most `max` bytes for: its
/// `Content-Length` (none: 0), or the answer refusing it.
fn body_length(head: &Head, max: usize) -> Result<usize, Response> {
    if head.transfer_encoding {
        return Err(Response::text(
            411,
            "send the body with a Content-Length, not a Transfer-Encoding",
        ));
    }
    match head.content_length.map(usize::try_from) {
        None => Ok(0),
        Some(Ok(n)) if n <= max => Ok(n),
        Some(_) => Err(Response::text(
            413,
            &format!("the body is over {max} bytes"),
        )),
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
    use std::sync::Mutex;
    use std::thread::JoinHandle;

    use super::*;

    /// Answers `GET /echo?…` with the decoded query, `/big` with 200 KiB streamed, `/fail`
    /// with a reader that fails, `POST /post` (at most 10 bytes) with the body.
    struct Echo;

    impl Handler for Echo {
        fn accept(&self, head: &Head) -> Result<usize, Response> {
            match (head.method.as_str(), head.path.as_str()) {
                ("GET" | "HEAD", _) => Ok(0),
                ("POST", "/post") => Ok(10),
                _ => Err(Response::text(405, "no").with_header("Allow", "GET, HEAD")),
            }
        }

        fn handle(&self, request: &Request) -> Response {
            match request.head.path.as_str() {
                "/echo" => {
                    let pairs: Vec<String> = request
                        .query_pairs()
                        .iter()
                        .map(|(n, v)| format!("{n}={v}"))
                        .collect();
                    Response::text(200, &pairs.join(";"))
                }
                "/big" => {
                    let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
                    Response::stream(
                        200,
                        "application/octet-stream",
                        Box::new(io::Cursor::new(data)),
                        BIG as u64,
                    )
                }
                "/fail" => Response::stream(
                    200,
                    "application/octet-stream",
                    Box::new(io::Cursor::new(vec![b'x'; 1000])),
                    5000,
                ),
                "/post" => Response::new(200, "application/octet-stream", request.body.clone()),
                _ => Response::text(404, "nothing here"),
            }
        }
    }

    const BIG: usize = 200 * 1024;

    struct Running {
        addr: SocketAddr,
        stop: StopHandle,
        thread: Option<JoinHandle<io::Result<()>>>,
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.stop();
            if let Some(t) = self.thread.take() {
                t.join().unwrap().unwrap();
            }
        }
    }

    fn start() -> Running {
        let addrs = check_listen("127.0.0.1:0", false).unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let server = Server::bind(&addrs, Arc::new(Echo))
            .unwrap()
            .with_thread_name("test-conn")
            .with_log(Arc::new(move |line: &str| {
                sink.lock().unwrap().push(line.to_owned());
            }));
        let addr = server.local_addr().unwrap();
        let stop = server.stop_handle().unwrap();
        let thread = Some(std::thread::spawn(move || server.run()));
        Running {
            addr,
            stop,
            thread,
            lines,
        }
    }

    /// Sends `raw`, reads until the server closes.
    fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn requests_are_answered_and_kept_alive() {
        let server = start();
        // Two requests on one connection, the second asking to close.
        let raw = "GET /echo?a=1&b=x+y%20z&c HTTP/1.1\r\nHost: x\r\n\r\n\
                   GET /echo?q=%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let out = text(&exchange(server.addr, raw.as_bytes()));
        assert_eq!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 15\r\n\
             Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\na=1;b=x y z;c=\n\
             HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 6\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n\r\nq=%zz\n"
        );
        // A body, within the handler's limit; over it, 413; chunked, 411.
        let out = text(&exchange(
            server.addr,
            b"POST /post HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        ));
        assert!(
            out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nhello"),
            "{out}"
        );
        let out = text(&exchange(
            server.addr,
            b"POST /post HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world",
        ));
        assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
        let out = text(&exchange(
            server.addr,
            b"POST /post HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ));
        assert!(out.starts_with("HTTP/1.1 411 "), "{out}");
        let out = text(&exchange(server.addr, b"PUT /x HTTP/1.1\r\n\r\n"));
        assert!(out.starts_with("HTTP/1.1 405 ") && out.contains("\r\nAllow: GET, HEAD\r\n"));
        // A head too large: 431, and the connection closed.
        let raw = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20 * 1024));
        let out = text(&exchange(server.addr, raw.as_bytes()));
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");

        let lines = server.lines.lock().unwrap().clone();
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with(" GET \"/echo\" 200: a=1;b=x y z;c=")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with(" - 431: the request head is larger than 16384 bytes")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.contains(" POST \"/post\" 413: ")),
            "{lines:?}"
        );
    }

    #[test]
    fn head_requests_get_no_body() {
        let server = start();
        let raw = "HEAD /echo?a=1 HTTP/1.1\r\n\r\nHEAD /big HTTP/1.1\r\n\r\n\
                   GET /echo?a=2 HTTP/1.1\r\nConnection: close\r\n\r\n";
        let out = text(&exchange(server.addr, raw.as_bytes()));
        let answers: Vec<&str> = out.split("HTTP/1.1 ").skip(1).collect();
        assert_eq!(answers.len(), 3, "{out}");
        assert!(answers[0].contains("Content-Length: 4\r\n") && answers[0].ends_with("\r\n\r\n"));
        assert!(
            answers[1].contains(&format!("Content-Length: {BIG}\r\n"))
                && answers[1].ends_with("\r\n\r\n"),
            "{}",
            answers[1]
        );
        assert!(answers[2].ends_with("\r\n\r\na=2\n"), "{out}");
    }

    #[test]
    fn streamed_bodies_arrive_whole_or_short_then_closed() {
        let server = start();
        let out = exchange(
            server.addr,
            b"GET /big HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
        assert!(out.ends_with(&data), "{} bytes", out.len());
        let head = text(&out[..out.len() - BIG]);
        assert!(
            head.contains(&format!("Content-Length: {BIG}\r\n")),
            "{head}"
        );

        // The reader gives 1000 of 5000 bytes: those, then the connection closes, even
        // though the client asked to keep it.
        let out = exchange(
            server.addr,
            b"GET /fail HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n",
        );
        let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(text(&out[..head_end]).contains("Content-Length: 5000\r\n"));
        assert_eq!(&out[head_end..], &[b'x'; 1000][..]);
        let lines = server.lines.lock().unwrap().clone();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("\"/fail\" body cut short after 1000 of 5000 bytes")),
            "{lines:?}"
        );
    }

    #[test]
    fn connections_over_the_limit_are_answered_503() {
        let server = start();
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.addr).unwrap())
            .collect();
        let out = text(&exchange(server.addr, b""));
        assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
        assert!(out.contains("\r\nRetry-After: 1\r\n"), "{out}");
        drop(idle);
        let mut answered = String::new();
        for _ in 0..100 {
            answered = text(&exchange(
                server.addr,
                b"GET /echo?a=1 HTTP/1.1\r\nConnection: close\r\n\r\n",
            ));
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

    #[test]
    fn log_lines_are_shortened() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "abc…");
        assert_eq!(shorten("ééééé", 2), "éé…");
    }
}
