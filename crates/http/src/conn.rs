//! One client connection: request heads (parsed by httparse) and bodies by `Content-Length`,
//! read within limits and deadlines; responses written with their length.

use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::message::{Body, Head, Response, reason};
use crate::{IO_TIMEOUT, MAX_HEAD_BYTES, REQUEST_DEADLINE};

/// The most headers a request may have.
const MAX_HEADERS: usize = 64;

/// The size of the writes of a response, and of the reads of a streamed body.
const CHUNK: usize = 64 * 1024;

/// Why no request was read.
#[derive(Debug)]
pub(crate) enum ReadError {
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

/// Why a response was not sent whole. Either way the connection is closed.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The client went away or stopped reading.
    Gone,
    /// A streamed body's reader failed or ended early after `sent` bytes (all sent).
    Body {
        /// The bytes of the body read and sent.
        sent: u64,
        /// What went wrong.
        why: String,
    },
}

impl From<io::Error> for WriteError {
    fn from(_: io::Error) -> Self {
        WriteError::Gone
    }
}

/// One client connection: the socket and the bytes read past the last request.
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

impl Connection {
    /// Wraps an accepted socket, setting its read and write timeouts.
    pub(crate) fn new(stream: TcpStream) -> io::Result<Connection> {
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        // Each response goes out in as few writes as it takes (see `write_response`): none
        // needs to wait for more.
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            stream,
            buf: Vec::new(),
            deadline: Instant::now() + REQUEST_DEADLINE,
        })
    }

    /// Reads the next request head. `Ok(None)`: the client closed the connection (or went
    /// quiet) between requests.
    pub(crate) fn read_head(&mut self) -> Result<Option<Head>, ReadError> {
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
    pub(crate) fn read_body(&mut self, len: usize) -> Result<Vec<u8>, ReadError> {
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
    pub(crate) fn linger(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
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
    pub(crate) fn write_continue(&mut self) -> io::Result<()> {
        self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// Sends `response` (see [`write_response`]).
    pub(crate) fn write_response(
        &mut self,
        response: Response,
        keep_alive: bool,
        head_only: bool,
    ) -> Result<(), WriteError> {
        write_response(&self.stream, response, keep_alive, head_only)
    }
}

/// Writes `response` to `out`: its head, with `Connection: keep-alive` or `close`, then its
/// body unless `head_only` (the answer to a `HEAD` request) or its status has none. A streamed
/// body is copied 64 KiB at a time, and never beyond its promised length.
pub(crate) fn write_response(
    out: impl Write,
    response: Response,
    keep_alive: bool,
    head_only: bool,
) -> Result<(), WriteError> {
    // The head and a small body go out in one write.
    let mut out = BufWriter::with_capacity(CHUNK, out);
    out.write_all(&head_bytes(&response, keep_alive))?;
    if !head_only && has_body(response.status) {
        match response.body {
            Body::Bytes(bytes) => out.write_all(&bytes)?,
            Body::Reader { reader, len } => copy_body(reader, len, &mut out)?,
        }
    }
    out.flush()?;
    Ok(())
}

/// Copies exactly `len` bytes of `reader` to `out`, or fails after the bytes read so far.
fn copy_body(
    mut reader: Box<dyn Read + Send>,
    len: u64,
    out: &mut impl Write,
) -> Result<(), WriteError> {
    let mut chunk = vec![0u8; usize::try_from(len).map_or(CHUNK, |l| l.min(CHUNK))];
    let mut sent = 0u64;
    while sent < len {
        let want = usize::try_from(len - sent).map_or(chunk.len(), |l| l.min(chunk.len()));
        let n = match reader.read(&mut chunk[..want]) {
            Ok(0) => {
                return Err(WriteError::Body {
                    sent,
                    why: "the body ended early".into(),
                });
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(WriteError::Body {
                    sent,
                    why: e.to_string(),
                });
            }
        };
        out.write_all(&chunk[..n])?;
        sent += n as u64;
    }
    Ok(())
}

/// Whether a response of `status` has a body (and a `Content-Length`): not 1xx, 204, 304.
fn has_body(status: u16) -> bool {
    !((100..200).contains(&status) || status == 204 || status == 304)
}

/// The head of a response: status line and headers, through the empty line.
fn head_bytes(response: &Response, keep_alive: bool) -> Vec<u8> {
    let status = response.status;
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    if !response.content_type.is_empty() && is_value(&response.content_type) {
        push_header(&mut out, "Content-Type", &response.content_type);
    }
    if has_body(status) {
        push_header(&mut out, "Content-Length", &response.body.len().to_string());
    }
    out.push_str("Cache-Control: no-store\r\n");
    // Said either way, for HTTP/1.0 clients that asked to keep the connection.
    out.push_str(if keep_alive {
        "Connection: keep-alive\r\n"
    } else {
        "Connection: close\r\n"
    });
    for (name, value) in &response.headers {
        let framing = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f));
        if is_token(name) && is_value(value) && !framing {
            push_header(&mut out, name, value);
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn push_header(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

/// Whether `name` is an HTTP token (RFC 9110 §5.6.2), as a header name must be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` can be written as a header value: no CR, LF or NUL.
fn is_value(value: &str) -> bool {
    !value.contains(['\r', '\n', '\0'])
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
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let http11 = req.version == Some(1);
    let mut content_length = None;
    let mut transfer_encoding = false;
    let mut keep_alive = http11;
    let mut expect_continue = false;
    let mut all = Vec::with_capacity(req.headers.len());
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
        all.push((h.name.to_ascii_lowercase(), value.to_owned()));
    }
    Ok(Some((
        Head {
            method,
            path,
            query,
            content_length,
            transfer_encoding,
            keep_alive,
            expect_continue,
            headers: all,
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

    /// The bytes `write_response` writes, and how it ended.
    fn written(r: Response, keep_alive: bool, head_only: bool) -> (String, Result<(), WriteError>) {
        let mut out = Vec::new();
        let result = write_response(&mut out, r, keep_alive, head_only);
        (String::from_utf8_lossy(&out).into_owned(), result)
    }

    #[test]
    fn heads_are_read_strictly() {
        let (h, used) = head("POST /add-checkpoint?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.method.as_str(), h.path.as_str(), h.query.as_deref()),
            ("POST", "/add-checkpoint", Some("x=1"))
        );
        assert_eq!((h.content_length, h.keep_alive, used), (Some(5), true, 56));
        assert_eq!(h.headers, [("content-length".into(), "5".into())]);
        let (h, _) = head("POST / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive && h.content_length.is_none() && h.query.is_none());
        let (h, _) = head("POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.keep_alive);
        assert_eq!(h.header("CONNECTION"), Some("Keep-Alive"));
        let (h, _) =
            head("POST / HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap()
                .unwrap();
        assert!(!h.keep_alive && h.transfer_encoding);
        let (h, _) = head("GET /a%20b?q=1?2&r HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.path.as_str(), h.query.as_deref()),
            ("/a%20b", Some("q=1?2&r"))
        );
        assert!(h.expect_continue);
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
        let bad_latin = b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n";
        assert!(matches!(
            parse_head(bad_latin),
            Err(ReadError::Refuse(400, _))
        ));
        assert!(matches!(
            head("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n"),
            Err(ReadError::Refuse(417, _))
        ));
        let many = format!("POST / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(65));
        assert!(matches!(head(&many), Err(ReadError::Refuse(431, _))));
    }

    #[test]
    fn responses_carry_their_length() {
        let r = Response::text(404, "nothing here").with_header("Allow", "POST");
        let (bytes, result) = written(r, false, false);
        assert!(result.is_ok());
        assert!(bytes.starts_with("HTTP/1.1 404 Not Found\r\n"), "{bytes}");
        assert!(bytes.contains("Content-Length: 13\r\n"), "{bytes}");
        assert!(bytes.contains("Connection: close\r\nAllow: POST\r\n\r\nnothing here\n"));
        let r = Response::new(200, "text/html", "<p>hi</p>");
        let (bytes, _) = written(r, true, false);
        assert_eq!(
            bytes,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\
             Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n<p>hi</p>"
        );
        // No body, nor a length, where the status has none.
        let (bytes, _) = written(Response::new(204, "", "ignored"), true, false);
        assert_eq!(
            bytes,
            "HTTP/1.1 204 No Content\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n"
        );
        let (bytes, _) = written(Response::new(304, "text/html", ""), true, false);
        assert!(!bytes.contains("Content-Length") && bytes.ends_with("\r\n\r\n"));
    }

    #[test]
    fn head_requests_get_the_headers_only() {
        let (bytes, result) = written(Response::text(200, "hello"), true, true);
        assert!(result.is_ok());
        assert!(bytes.contains("Content-Length: 6\r\n"), "{bytes}");
        assert!(bytes.ends_with("\r\n\r\n"), "{bytes}");
        let r = Response::stream(
            200,
            "application/octet-stream",
            Box::new(Failing(0)),
            1 << 40,
        );
        let (bytes, result) = written(r, true, true);
        assert!(result.is_ok());
        assert!(bytes.contains("Content-Length: 1099511627776\r\n") && bytes.ends_with("\r\n\r\n"));
    }

    #[test]
    fn headers_that_could_split_the_response_are_not_written() {
        let r = Response::new(200, "text/plain\r\nX-Evil: 1", "x")
            .with_header("Set-Cookie", "a=1\r\nX-Evil: 1")
            .with_header("X-Lf", "a\nb")
            .with_header("X-Nul", "a\0b")
            .with_header("X-Bad Name", "1")
            .with_header("X\r\nEvil", "1")
            .with_header("", "1")
            .with_header("content-length", "99")
            .with_header("Connection", "keep-alive")
            .with_header("Transfer-Encoding", "chunked")
            .with_header("X-Good", "a\tb");
        let (bytes, _) = written(r, false, false);
        assert_eq!(
            bytes,
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nCache-Control: no-store\r\n\
             Connection: close\r\nX-Good: a\tb\r\n\r\nx"
        );
    }

    /// Gives `n` bytes of `b'x'`, then fails.
    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn streamed_bodies_are_sent_whole_or_cut_short() {
        let data: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
        let r = Response::stream(
            200,
            "application/octet-stream",
            Box::new(io::Cursor::new(data.clone())),
            data.len() as u64,
        );
        let mut out = Vec::new();
        write_response(&mut out, r, true, false).unwrap();
        assert!(out.ends_with(&data));
        let head = String::from_utf8_lossy(&out[..out.len() - data.len()]);
        assert!(head.contains("Content-Length: 204800\r\n"), "{head}");
        // Only the promised length is read, whatever the reader has.
        let r = Response::stream(200, "x/y", Box::new(&b"abcdef"[..]), 3);
        let (bytes, result) = written(r, true, false);
        assert!(result.is_ok() && bytes.ends_with("\r\n\r\nabc"), "{bytes}");
        // A failing reader: the bytes it gave, then an error (the server closes).
        let r = Response::stream(200, "x/y", Box::new(Failing(70_000)), 100_000);
        let mut out = Vec::new();
        let result = write_response(&mut out, r, true, false);
        assert!(
            matches!(&result, Err(WriteError::Body { sent: 70_000, why }) if why.contains("fire")),
            "{result:?}"
        );
        let body = out.split(|&b| b == b'\n').next_back().unwrap();
        assert_eq!(body.len(), 70_000);
        // One that ends early.
        let r = Response::stream(200, "x/y", Box::new(&b"ab"[..]), 5);
        let (bytes, result) = written(r, true, false);
        assert!(matches!(result, Err(WriteError::Body { sent: 2, .. })));
        assert!(bytes.ends_with("\r\n\r\nab"), "{bytes}");
    }
}
