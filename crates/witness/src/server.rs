//! The witness's HTTP service: one endpoint, `POST /add-checkpoint`, served by
//! `exhibit_http` (a thread per connection, at most [`crate::MAX_CONNECTIONS`] at once,
//! keep-alive).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use exhibit_core::witness::{ADD_CHECKPOINT_PATH, MAX_REQUEST_BYTES};
use exhibit_http::{Handler, Head, Request, RequestLog, Response, StopHandle};

use crate::witness::Witness;

/// A bound witness server; [`Server::run`] serves until stopped.
pub struct Server {
    http: exhibit_http::Server,
    witness: Arc<Witness>,
}

impl Server {
    /// Binds the first of `addrs` that can be bound.
    pub fn bind(addrs: &[SocketAddr], witness: Witness) -> io::Result<Server> {
        let witness = Arc::new(witness);
        let handler = Arc::new(WitnessHandler(Arc::clone(&witness)));
        let http = exhibit_http::Server::bind(addrs, handler)?.with_thread_name("witness-conn");
        Ok(Server { http, witness })
    }

    /// Reports every request to `log`, one line each: the peer, the method and path, the
    /// status and why.
    pub fn with_log(mut self, log: RequestLog) -> Server {
        self.http = self.http.with_log(log);
        self
    }

    /// The address actually bound (with the port the system chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.http.local_addr()
    }

    /// The witness served.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// A handle that stops the server.
    pub fn stop_handle(&self) -> io::Result<StopHandle> {
        self.http.stop_handle()
    }

    /// Serves until stopped: a thread per connection, at most [`crate::MAX_CONNECTIONS`] at
    /// once.
    pub fn run(self) -> io::Result<()> {
        self.http.run()
    }
}

/// The witness as an HTTP handler: `POST /add-checkpoint` and nothing else.
struct WitnessHandler(Arc<Witness>);

impl Handler for WitnessHandler {
    /// Anything but a well-formed add-checkpoint is answered and the connection closed (by
    /// the server), so no unread body is ever taken for the next request.
    fn accept(&self, head: &Head) -> Result<usize, Response> {
        acceptable(head)
    }

    fn handle(&self, request: &Request) -> Response {
        self.0.add_checkpoint(&request.body)
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
        return Err(Response::text(405, "only POST is allowed").with_header("Allow", "POST"));
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::thread::JoinHandle;
    use std::time::Duration;

    use exhibit_core::checkpoint::base64_encode;
    use exhibit_core::witness::{AddCheckpoint, SIZE_CONTENT_TYPE};
    use exhibit_sign::SigningKey;
    use exhibit_sign::note::{VerifierKey, sign_note, verifier_key};

    use super::*;
    use crate::{MAX_CONNECTIONS, check_listen};

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
        // A 405 says what is allowed; a HEAD is answered without a body.
        let out = exchange(server.addr, b"GET /add-checkpoint HTTP/1.1\r\n\r\n");
        assert!(
            out.contains("\r\nConnection: close\r\nAllow: POST\r\n\r\n"),
            "{out}"
        );
        let out = exchange(server.addr, b"HEAD /add-checkpoint HTTP/1.1\r\n\r\n");
        assert!(
            out.starts_with("HTTP/1.1 405 ") && out.ends_with("\r\n\r\n"),
            "{out}"
        );
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
}
