//! Just enough HTTP/1.1 for one POST endpoint: request heads (parsed by httparse) and bodies
//! by `Content-Length`, read within limits and deadlines; responses with a length.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::witness::Response;

/// The largest request head read (request line and headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The most headers a request may have.
const MAX_HEADERS: usize = 64;

/// The longest wait for any one read or write, including the wait for the next request on a
/// kept-alive connection.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a request may take to arrive, head and body (against one trickled a byte at a
/// time).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// A request head, as far as the witness cares.
#[derive(Debug)]
pub struct Head {
    /// The method.
    pub method: String,
    /// The request target without its query.
    pub path: String,
    /// The body length, if the request has one (`None`: no `Content-Length`).
    pub content_length: Option<u64>,
    /// Whether a `Transfer-Encoding` was sent (not supported).
    pub transfer_encoding: bool,
    /// Whether the client wants the connection kept open after the answer.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// Why no request was read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection ended, timed out or failed: close it without an answer.
    Gone,
    /// The request is unacceptable: answer with this status and reason, then close.
    Refuse(u16, String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Gone
    }
}

/// One client connection: the socket and the bytes read past the last request.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

impl Connection {
    /// Wraps an accepted socket, setting its read and write timeouts.
    pub fn new(stream: TcpStream) -> io::Result<Connection> {
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Connection {
            stream,
            buf: Vec::new(),
            deadline: Instant::now() + REQUEST_DEADLINE,
        })
    }

    /// Reads the next request head. `Ok(None)`: the client closed the connection (or went
    /// quiet) between requests.
    pub fn read_head(&mut self) -> Result<Option<Head>, ReadError> {
        self.deadline = Instant::now() + REQUEST_DEADLINE;
        loop {
            if let Some((head, used)) = parse_head(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(head));
            }
            if self.buf.len() >= MAX_HEAD_BYTES {
                return Err(ReadError::Refuse(
                    431,
                    format!("the request head is larger than {MAX_HEAD_BYTES} bytes"),
                ));
            }
            match self.fill(MAX_HEAD_BYTES - self.buf.len()) {
                Ok(0) | Err(_) if self.buf.is_empty() => return Ok(None),
                Ok(0) => return Err(ReadError::Gone),
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads a body of exactly `len` bytes.
    pub fn read_body(&mut self, len: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < len {
            if self.fill(len - self.buf.len())? == 0 {
                return Err(ReadError::Gone);
            }
        }
        Ok(self.buf.drain(..len).collect())
    }

    /// Reads at most `max` more bytes into the buffer, within the request's deadline.
    fn fill(&mut self, max: usize) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT)))?;
        let mut chunk = [0u8; 4096];
        let want = max.clamp(1, chunk.len());
        let n = self.stream.read(&mut chunk[..want])?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Ends a connection whose request was refused unread: stops sending, then reads and
    /// drops what the client still sends (for at most a second, 64 KiB), so that closing
    /// with unread data does not reset the connection before the client reads the answer.
    pub fn linger(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let until = Instant::now() + Duration::from_secs(1);
        let mut drained = 0usize;
        let mut chunk = [0u8; 4096];
        while drained < 64 * 1024 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    }

    /// Sends `100 Continue`.
    pub fn write_continue(&mut self) -> io::Result<()> {
        self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// Sends `response`, with `Connection: keep-alive` or `close`, and `extra` headers.
    pub fn write_response(
        &mut self,
        response: &Response,
        keep_alive: bool,
        extra: &[(&str, &str)],
    ) -> io::Result<()> {
        let bytes = response_bytes(response, keep_alive, extra);
        self.stream.write_all(&bytes)?;
        self.stream.flush()
    }
}

/// The bytes of a response: status line, headers, body.
pub fn response_bytes(response: &Response, keep_alive: bool, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    // Said either way, for HTTP/1.0 clients that asked to keep the connection.
    out.push_str(if keep_alive {
        "Connection: keep-alive\r\n"
    } else {
        "Connection: close\r\n"
    });
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&response.body);
    out.into_bytes()
}

/// The reason phrase of the statuses the witness sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Parses a complete head at the start of `buf`: the head and its length, `None` if
/// incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let used = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ReadError::Refuse(
                431,
                format!("more than {MAX_HEADERS} headers"),
            ));
        }
        Err(e) => {
            return Err(ReadError::Refuse(
                400,
                format!("malformed HTTP request: {e}"),
            ));
        }
    };
    let bad = |why: &str| ReadError::Refuse(400, why.to_owned());
    let method = req.method.ok_or_else(|| bad("no method"))?.to_owned();
    let target = req.path.ok_or_else(|| bad("no request target"))?;
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let http11 = req.version == Some(1);
    let mut content_length = None;
    let mut transfer_encoding = false;
    let mut keep_alive = http11;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| bad("a header value is not UTF-8"))?;
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|_| value.trim().bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| bad("an invalid Content-Length"))?;
            if content_length.is_some_and(|m| m != n) {
                return Err(bad("conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && !http11 {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            if value.trim().eq_ignore_ascii_case("100-continue") {
                expect_continue = true;
            } else {
                return Err(ReadError::Refuse(417, "unsupported Expect".into()));
            }
        }
    }
    Ok(Some((
        Head {
            method,
            path,
            content_length,
            transfer_encoding,
            keep_alive,
            expect_continue,
        },
        used,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Option<(Head, usize)>, ReadError> {
        parse_head(raw.as_bytes())
    }

    #[test]
    fn heads_are_read_strictly() {
        let (h, used) = head("POST /add-checkpoint?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.method.as_str(), h.path.as_str()),
            ("POST", "/add-checkpoint")
        );
        assert_eq!((h.content_length, h.keep_alive, used), (Some(5), true, 56));
        let (h, _) = head("POST / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive && h.content_length.is_none());
        let (h, _) = head("POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.keep_alive);
        let (h, _) =
            head("POST / HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap()
                .unwrap();
        assert!(!h.keep_alive && h.transfer_encoding);
        assert!(
            head("POST / HTTP/1.1\r\nContent-Length: 5")
                .unwrap()
                .is_none()
        );
        for bad in [
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "\u{1}\r\n\r\n",
        ] {
            assert!(
                matches!(head(bad), Err(ReadError::Refuse(400, _))),
                "{bad:?}"
            );
        }
        let many = format!("POST / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(65));
        assert!(matches!(head(&many), Err(ReadError::Refuse(431, _))));
    }

    #[test]
    fn responses_carry_their_length() {
        let r = Response::text(404, "nothing here");
        let bytes = String::from_utf8(response_bytes(&r, false, &[("Allow", "POST")])).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 404 Not Found\r\n"), "{bytes}");
        assert!(bytes.contains("Content-Length: 13\r\n"), "{bytes}");
        assert!(bytes.contains("Connection: close\r\nAllow: POST\r\n\r\nnothing here\n"));
    }
}
