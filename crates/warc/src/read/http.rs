//! HTTP/1.x messages inside WARC blocks: the head of a response (`application/http;
//! msgtype=response`), chunked transfer-coding undone as a stream, and the check of a record's
//! `WARC-Payload-Digest`.
//!
//! Bounded like the rest of the reader: the head by [`Limits`], a chunk-size line by
//! [`MAX_CHUNK_LINE`], the trailers by [`MAX_TRAILER_BYTES`]. Not an HTTP client: content
//! codings (gzip, br) are not undone, and requests are not parsed.

use std::io::{self, BufRead, Read};

use super::{
    Fault, Hasher, Head, Limits, Line, Parsed, parse_digest, read_fields, read_line, shown, text,
};

/// The longest chunk-size line (with its extensions) [`Dechunk`] accepts, in bytes.
pub const MAX_CHUNK_LINE: usize = 4096;

/// The longest trailer section [`Dechunk`] accepts, in bytes.
pub const MAX_TRAILER_BYTES: usize = 64 * 1024;

/// An HTTP/1.x response head parsed from the start of a block: status code, reason, headers
/// (in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpHead {
    /// The status code (100 to 999).
    pub status: u16,
    /// The reason phrase, possibly empty.
    pub reason: String,
    /// The header fields in order: names as written, values trimmed, folded lines joined.
    pub headers: Vec<(String, String)>,
    /// The bytes the head takes: status line, fields and the empty line.
    pub head_len: u64,
}

impl HttpHead {
    /// The first header called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        super::first_field(&self.headers, name)
    }

    /// The values of every header called `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body's last transfer-coding is `chunked`.
    pub fn is_chunked(&self) -> bool {
        let last = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Transfer-Encoding"))
            .filter_map(|(_, v)| v.rsplit(',').map(str::trim).find(|c| !c.is_empty()))
            .next_back();
        last.is_some_and(|c| c.eq_ignore_ascii_case("chunked"))
    }
}

/// Reads an HTTP/1.x response head (status line, header fields, empty line) from `reader`,
/// leaving it at the first byte of the body. Lines may end in CRLF or LF.
pub fn parse_http_head(reader: &mut impl BufRead, limits: &Limits) -> Result<HttpHead, String> {
    head(reader, limits)
}

fn head(src: &mut dyn BufRead, limits: &Limits) -> Result<HttpHead, String> {
    let max = limits.max_http_header_bytes;
    let too_long = || format!("HTTP head longer than {max} bytes");
    let mut line = Vec::new();
    let first = match read_line(src, &mut line, max).map_err(|e| e.to_string())? {
        Line::Read(n) => n,
        Line::Eof => return Err("HTTP head ends before its empty line".into()),
        Line::TooLong => return Err(too_long()),
    };
    let (status, reason) = status_line(&line)
        .ok_or_else(|| format!("not an HTTP response (\"{}\")", shown(&line, 60)))?;
    match read_fields(src, &mut line, max - first, limits.max_fields) {
        Ok((headers, used)) => Ok(HttpHead {
            status,
            reason,
            headers,
            head_len: (first + used) as u64,
        }),
        Err((_, fault)) => Err(match fault {
            Fault::Io(e) => e.to_string(),
            Fault::Eof => "HTTP head ends before its empty line".into(),
            Fault::TooLong => too_long(),
            Fault::TooMany => format!("more than {} HTTP header fields", limits.max_fields),
            Fault::Bad(problem) => format!("HTTP head: {problem}"),
        }),
    }
}

/// `HTTP/<version> <3 digits>[ <reason>]`.
fn status_line(line: &[u8]) -> Option<(u16, String)> {
    let rest = line.strip_prefix(b"HTTP/")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let version = &rest[..space];
    if version.is_empty()
        || version.len() > 3
        || !version.iter().all(|b| b.is_ascii_digit() || *b == b'.')
    {
        return None;
    }
    let rest = &rest[space + 1..];
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return None;
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let reason = match &rest[3..] {
        [] => String::new(),
        [b' ', reason @ ..] => text(reason),
        _ => return None,
    };
    Some((status, reason))
}

/// Undoes chunked transfer-coding (RFC 9112 §7.1), streaming: reads the chunks of the body
/// from `R` and yields their data; then reads the trailers (checked, dropped) and ends.
/// Malformed chunking is an `InvalidData` error, a body that ends early `UnexpectedEof`.
pub struct Dechunk<R> {
    inner: R,
    state: Chunk,
    line: Vec<u8>,
}

/// Where a [`Dechunk`] is.
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

impl<R: BufRead> Dechunk<R> {
    /// Reads the chunked body at the start of `inner`.
    pub fn new(inner: R) -> Dechunk<R> {
        Dechunk {
            inner,
            state: Chunk::Size,
            line: Vec::new(),
        }
    }

    /// Whether the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, Chunk::Done)
    }

    /// The reader underneath, just after the body if [`is_done`](Self::is_done).
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn line(&mut self, budget: usize, what: &str) -> io::Result<()> {
        match read_line(&mut self.inner, &mut self.line, budget)? {
            Line::Read(_) => Ok(()),
            Line::Eof => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("chunked body ends in a {what}"),
            )),
            Line::TooLong => Err(bad(format!("{what} longer than {budget} bytes"))),
        }
    }
}

fn bad(problem: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, problem)
}

/// A chunk-size line's size: 1 to 16 hex digits, then optional extensions after `;`.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let size = text(&line[..end]);
    let size = size.trim_matches([' ', '\t']);
    if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(size, 16).ok()
}

impl<R: BufRead> Read for Dechunk<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.state {
                Chunk::Size => {
                    self.line(MAX_CHUNK_LINE, "chunk-size line")?;
                    let size = chunk_size(&self.line).ok_or_else(|| {
                        bad(format!("bad chunk-size line \"{}\"", shown(&self.line, 60)))
                    })?;
                    self.state = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if out.is_empty() {
                        return Ok(0);
                    }
                    let buf = self.inner.fill_buf()?;
                    if buf.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "chunked body ends inside a chunk",
                        ));
                    }
                    let n = buf
                        .len()
                        .min(out.len())
                        .min(usize::try_from(left).unwrap_or(usize::MAX));
                    out[..n].copy_from_slice(&buf[..n]);
                    self.inner.consume(n);
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                    return Ok(n);
                }
                Chunk::DataEnd => {
                    self.line(2, "chunk's end")?;
                    if !self.line.is_empty() {
                        return Err(bad("chunk data not followed by CRLF".into()));
                    }
                    self.state = Chunk::Size;
                }
                Chunk::Trailers => {
                    let read = read_fields(&mut self.inner, &mut self.line, MAX_TRAILER_BYTES, 512);
                    match read {
                        Ok(_) => self.state = Chunk::Done,
                        Err((_, Fault::Io(e))) => return Err(e),
                        Err((_, Fault::Eof)) => {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "chunked body ends in its trailers",
                            ));
                        }
                        Err((_, Fault::TooLong | Fault::TooMany)) => {
                            return Err(bad("chunked body's trailers too long".into()));
                        }
                        Err((_, Fault::Bad(problem))) => {
                            return Err(bad(format!("chunked body's trailers: {problem}")));
                        }
                    }
                }
                Chunk::Done => return Ok(0),
            }
        }
    }
}

/// Which bytes a payload digest was found to be of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadForm {
    /// The payload as the block holds it (for HTTP: the body as transmitted, chunked or not).
    AsTransmitted,
    /// The body with its chunked transfer-coding undone.
    Dechunked,
}

/// What checking a `WARC-Payload-Digest` found (a mismatch is an error, not a value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadCheck {
    /// The digest matched these bytes; `algorithm` is `sha1` or `sha256`.
    Matched {
        /// The algorithm checked.
        algorithm: &'static str,
        /// Which bytes matched.
        over: PayloadForm,
    },
    /// The record has no `WARC-Payload-Digest`.
    Absent,
    /// An algorithm this reader does not compute (its name as written), so not checked.
    Unknown(String),
    /// A record type whose payload this reader does not delimit (only `response` and
    /// `resource` are checked), so not checked.
    NotChecked,
}

/// A record's `WARC-Payload-Digest`, checked as the payload streams past: feed it the payload
/// as transmitted ([`PayloadDigest::transmitted`]) and, when the body is chunked, the
/// de-chunked bytes too ([`PayloadDigest::dechunked`]), then [`PayloadDigest::finish`].
pub struct PayloadDigest {
    expected: super::Expected,
    label: String,
    raw: Hasher,
    dechunked: Option<Hasher>,
}

impl PayloadDigest {
    /// The check of `head`'s payload digest, or what to report instead: `Absent`, `Unknown`,
    /// or `NotChecked` (a record type whose payload this reader does not delimit: only
    /// `response` and `resource` are checked). `chunked`: whether de-chunked bytes will be fed
    /// too. An error names a digest field that cannot be read.
    pub fn for_record(head: &Head, chunked: bool) -> Result<Result<Self, PayloadCheck>, String> {
        let Some(label) = head.get("WARC-Payload-Digest") else {
            return Ok(Err(PayloadCheck::Absent));
        };
        let kind = head.kind().unwrap_or_default();
        if !kind.eq_ignore_ascii_case("response") && !kind.eq_ignore_ascii_case("resource") {
            return Ok(Err(PayloadCheck::NotChecked));
        }
        Ok(match parse_digest("WARC-Payload-Digest", label)? {
            Parsed::Known(expected) => Ok(PayloadDigest {
                raw: expected.hasher(),
                dechunked: chunked.then(|| expected.hasher()),
                label: label.to_owned(),
                expected,
            }),
            Parsed::Unknown(algorithm) => Err(PayloadCheck::Unknown(algorithm)),
        })
    }

    /// Feeds payload bytes as the block holds them.
    pub fn transmitted(&mut self, bytes: &[u8]) {
        self.raw.update(bytes);
    }

    /// Feeds de-chunked payload bytes.
    pub fn dechunked(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.dechunked {
            h.update(bytes);
        }
    }

    /// Whether the digest matched the bytes as transmitted or de-chunked (`dechunked_ok`:
    /// whether the chunked coding read to its end); an error says what did not match.
    pub fn finish(self, dechunked_ok: bool) -> Result<PayloadCheck, String> {
        let matched = |over| PayloadCheck::Matched {
            algorithm: self.expected.algorithm,
            over,
        };
        let chunked = self.dechunked.is_some();
        let as_sent = self.raw.finish();
        let dechunked = self.dechunked.filter(|_| dechunked_ok).map(Hasher::finish);
        if as_sent == self.expected.value {
            return Ok(matched(PayloadForm::AsTransmitted));
        }
        if dechunked.as_ref() == Some(&self.expected.value) {
            return Ok(matched(PayloadForm::Dechunked));
        }
        let label = shown(self.label.as_bytes(), 120);
        let as_sent = self.expected.show(&as_sent);
        Err(if chunked {
            format!(
                "WARC-Payload-Digest {label} matches neither the payload as transmitted ({as_sent}) \
                 nor de-chunked ({})",
                dechunked.map_or("not validly chunked".into(), |d| self.expected.show(&d))
            )
        } else {
            format!("WARC-Payload-Digest {label} does not match the payload ({as_sent} computed)")
        })
    }
}

/// Checks the `WARC-Payload-Digest` of the record `head` against its block, read from
/// `block` (from its first byte; read to the end). The payload of a `response` record of
/// type `application/http` is the body after the HTTP head, matched either as transmitted
/// or, when chunked, de-chunked (tools differ); of any other `response` or `resource` record,
/// the whole block. An error says what did not match, or why the block could not be read.
pub fn check_payload_digest(
    head: &Head,
    block: &mut dyn BufRead,
    limits: &Limits,
) -> Result<PayloadCheck, String> {
    let http = head
        .kind()
        .is_some_and(|k| k.eq_ignore_ascii_case("response"))
        && head
            .get("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/http"));
    // Only a record with a digest to check has its head parsed.
    if head.get("WARC-Payload-Digest").is_none() {
        return Ok(PayloadCheck::Absent);
    }
    let chunked = http && parse_http_head(&mut &mut *block, limits)?.is_chunked();
    let digest = match PayloadDigest::for_record(head, chunked)? {
        Ok(d) => std::cell::RefCell::new(d),
        Err(report) => return Ok(report),
    };
    let mut raw = Tap {
        inner: block,
        feed: &|b: &[u8]| digest.borrow_mut().transmitted(b),
    };
    let dechunked_ok = chunked && {
        let mut body = Dechunk::new(&mut raw);
        let copied = io::copy(
            &mut TapRead {
                inner: &mut body,
                feed: &|b: &[u8]| digest.borrow_mut().dechunked(b),
            },
            &mut io::sink(),
        );
        copied.is_ok()
    };
    io::copy(&mut raw, &mut io::sink()).map_err(|e| e.to_string())?;
    digest.into_inner().finish(dechunked_ok)
}

/// A buffered reader that shows `feed` every byte consumed from it: how a payload is hashed as
/// it streams past whoever reads it.
pub struct Tap<'a> {
    /// What is read.
    pub inner: &'a mut dyn BufRead,
    /// Shown each run of bytes as it is consumed.
    pub feed: &'a dyn Fn(&[u8]),
}

impl BufRead for Tap<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amount.min(buf.len());
            (self.feed)(&buf[..n]);
            self.inner.consume(n);
        }
    }
}

impl Read for Tap<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// A reader that shows `feed` every byte read from it.
pub struct TapRead<'a> {
    /// What is read.
    pub inner: &'a mut dyn Read,
    /// Shown each run of bytes as it is read.
    pub feed: &'a dyn Fn(&[u8]),
}

impl Read for TapRead<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        (self.feed)(&out[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use sha1::{Digest as _, Sha1};

    use super::*;
    use crate::read::digest::base32_encode;

    fn dechunk(body: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Dechunk::new(body).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_response_head_is_parsed_and_bounded() {
        let msg = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nX-Folded: a\r\n  b\r\nTransfer-Encoding: gzip, chunked\r\n\r\nbody";
        let mut reader = &msg[..];
        let head = parse_http_head(&mut reader, &Limits::default()).unwrap();
        assert_eq!((head.status, head.reason.as_str()), (404, "Not Found"));
        assert_eq!(head.get("x-folded"), Some("a b"));
        assert_eq!(head.headers.len(), 3);
        assert!(head.is_chunked());
        assert_eq!(head.head_len as usize, msg.len() - 4);
        assert_eq!(reader, b"body");
        let head =
            parse_http_head(&mut &b"HTTP/1.0 200\nA: b\n\n"[..], &Limits::default()).unwrap();
        assert_eq!(
            (head.status, head.reason.as_str(), head.is_chunked()),
            (200, "", false)
        );
        for bad in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.1  200\r\n\r\n",
        ] {
            let e = parse_http_head(&mut &bad[..], &Limits::default()).unwrap_err();
            assert!(e.starts_with("not an HTTP response"), "{e}");
        }
        let long = [
            &b"HTTP/1.1 200 OK\r\nX: "[..],
            &vec![b'a'; 70_000],
            b"\r\n\r\n",
        ]
        .concat();
        let e = parse_http_head(&mut &long[..], &Limits::default()).unwrap_err();
        assert_eq!(e, "HTTP head longer than 65536 bytes");
        let e = parse_http_head(&mut &b"HTTP/1.1 200 OK\r\nA: b\r\n"[..], &Limits::default())
            .unwrap_err();
        assert_eq!(e, "HTTP head ends before its empty line");
    }

    #[test]
    fn chunked_bodies_are_undone_or_refused() {
        let body = b"5\r\nhello\r\n7 ; ext=\"x\"\r\n, world\r\n0\r\nTrailer: t\r\n\r\nafter";
        let mut d = Dechunk::new(&body[..]);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello, world");
        assert!(d.is_done());
        assert_eq!(d.into_inner(), b"after");
        assert_eq!(dechunk(b"A\n0123456789\n0\n\n").unwrap(), b"0123456789");
        let bad: [(&[u8], &str); 7] = [
            (b"x\r\n", "bad chunk-size line \"x\""),
            (b"11111111111111111\r\n", "bad chunk-size line"),
            (
                b"5\r\nhelloX\r\n0\r\n\r\n",
                "chunk's end longer than 2 bytes",
            ),
            (b"5\r\nhel", "chunked body ends inside a chunk"),
            (
                b"5\r\nhello\r\n0\r\nT: t\r\n",
                "chunked body ends in its trailers",
            ),
            (
                b"0\r\nno colon\r\n\r\n",
                "trailers: header line without a colon",
            ),
            (b"", "chunked body ends in a chunk-size line"),
        ];
        for (body, problem) in bad {
            let e = dechunk(body).unwrap_err().to_string();
            assert!(e.contains(problem), "{e}");
        }
        let long = [&b"1;"[..], &vec![b'x'; 5000], b"\r\n"].concat();
        assert!(
            dechunk(&long)
                .unwrap_err()
                .to_string()
                .contains("longer than 4096 bytes")
        );
        let trailers = [&b"0\r\n"[..], &b"T: t\r\n".repeat(20_000)].concat();
        assert!(
            dechunk(&trailers)
                .unwrap_err()
                .to_string()
                .contains("too long")
        );
    }

    fn head(kind: &str, content_type: &str, digest: &str) -> Head {
        let fields = [
            ("WARC-Type", kind),
            ("Content-Type", content_type),
            ("WARC-Payload-Digest", digest),
        ];
        Head {
            offset: 0,
            offset_in_member: 0,
            version: "WARC/1.1".into(),
            fields: fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            content_length: 0,
        }
    }

    fn sha1(bytes: &[u8]) -> String {
        format!("sha1:{}", base32_encode(&Sha1::digest(bytes)))
    }

    #[test]
    fn payload_digests_are_checked_over_the_right_bytes() {
        let limits = Limits::default();
        let http = "application/http; msgtype=response";
        let block = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let check = |kind: &str, ct: &str, digest: &str, block: &[u8]| {
            check_payload_digest(&head(kind, ct, digest), &mut &block[..], &limits)
        };
        let matched = |over| {
            Ok(PayloadCheck::Matched {
                algorithm: "sha1",
                over,
            })
        };
        assert_eq!(
            check("response", http, &sha1(b"hi"), block),
            matched(PayloadForm::AsTransmitted)
        );
        assert_eq!(
            check("resource", "text/plain", &sha1(block), block),
            matched(PayloadForm::AsTransmitted)
        );
        assert_eq!(
            check("request", http, &sha1(b"hi"), block),
            Ok(PayloadCheck::NotChecked)
        );
        assert_eq!(
            check("response", http, "md5:abc", block),
            Ok(PayloadCheck::Unknown("md5".into()))
        );
        let e = check("response", http, &sha1(b"ho"), block).unwrap_err();
        let want = format!(
            "WARC-Payload-Digest {} does not match the payload ({} computed)",
            sha1(b"ho"),
            sha1(b"hi")
        );
        assert_eq!(e, want);
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let raw = &b"2\r\nhi\r\n0\r\n\r\n"[..];
        assert_eq!(
            check("response", http, &sha1(raw), chunked),
            matched(PayloadForm::AsTransmitted)
        );
        assert_eq!(
            check("response", http, &sha1(b"hi"), chunked),
            matched(PayloadForm::Dechunked)
        );
        let e = check("response", http, &sha1(b"ho"), chunked).unwrap_err();
        assert!(
            e.contains("matches neither the payload as transmitted")
                && e.ends_with(&format!("nor de-chunked ({})", sha1(b"hi"))),
            "{e}"
        );
        let broken = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        let e = check("response", http, &sha1(b"ho"), broken).unwrap_err();
        assert!(e.ends_with("nor de-chunked (not validly chunked)"), "{e}");
        let e = check("response", http, &sha1(b"hi"), b"HTTP/1.1 200").unwrap_err();
        assert_eq!(e, "HTTP head ends before its empty line");
    }
}
