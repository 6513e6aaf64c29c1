//! A recorded HTTP response (docs/FORMAT.md §3.10): the bytes a server sent on one connection,
//! exactly as received — status line, header fields, and the body still in its transfer and
//! content codings. The one rule for what counts as *one complete* response, used when a
//! capture decides to keep the bytes, when an export writes them as a WARC `response` record,
//! and when a verifier reads that record back.
//!
//! Streaming and bounded: the head by [`Limits`], the body hashed as it passes.

use std::cell::RefCell;
use std::io::{self, BufRead, Read};

use sha2::{Digest, Sha256};

use crate::read::Limits;
use crate::read::http::{Dechunk, HttpHead, Tap, parse_http_head};

/// What a complete recorded response is: its head and the digests of its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseFacts {
    /// The head.
    pub head: HttpHead,
    /// The media type essence of its `Content-Type`, lower case; `None` when absent.
    pub mime: Option<String>,
    /// SHA-256 of the body as transmitted (after the head, chunked if it was): the payload
    /// digest `warcio` writes and checks, and the one exhibit's `response` records carry.
    pub transmitted_sha256: [u8; 32],
    /// SHA-256 of the body with the chunked transfer-coding undone (content codings kept):
    /// the same as [`transmitted_sha256`](Self::transmitted_sha256) when not chunked.
    pub dechunked_sha256: [u8; 32],
    /// Length of the body with the transfer-coding undone.
    pub dechunked_len: u64,
}

/// Reads one complete HTTP/1.x response from `block` to its end, or says why it is not one:
/// a final status (not 1xx); a body framed by exactly one of `Transfer-Encoding: chunked`
/// (read to its last chunk and trailers), `Content-Length` (that many bytes) or neither (the
/// rest; the server closed the connection); no body for 204 and 304; and nothing after the
/// body.
pub fn read_response(block: &mut dyn BufRead) -> Result<ResponseFacts, String> {
    let transmitted = RefCell::new(Sha256::new());
    let mut dechunked = Sha256::new();
    let (head, dechunked_len) = walk(block, &|b| transmitted.borrow_mut().update(b), &mut |b| {
        dechunked.update(b)
    })?;
    let mime = head
        .get("Content-Type")
        .map(essence)
        .filter(|e| !e.is_empty());
    Ok(ResponseFacts {
        head,
        mime,
        transmitted_sha256: transmitted.into_inner().finalize().into(),
        dechunked_sha256: dechunked.finalize().into(),
        dechunked_len,
    })
}

/// The media type without parameters, lower case.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether `block` is one complete response by [`read_response`]'s rules, without hashing
/// it: what a capture checks before keeping the bytes.
pub fn check_response(block: &mut dyn BufRead) -> Result<(), String> {
    walk(block, &|_| {}, &mut |_| {}).map(|_| ())
}

/// Reads the response in `block` by [`read_response`]'s rules, showing `transmitted` the body
/// as sent and `dechunked` the body with the chunked coding undone; returns the head and the
/// de-chunked length.
fn walk(
    block: &mut dyn BufRead,
    transmitted: &dyn Fn(&[u8]),
    dechunked: &mut dyn FnMut(&[u8]),
) -> Result<(HttpHead, u64), String> {
    let head = parse_http_head(&mut &mut *block, &Limits::default())?;
    if head.status < 200 {
        return Err(format!("an interim status {}", head.status));
    }
    let codings: Vec<&str> = head
        .values("Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let lengths: Vec<&str> = head.values("Content-Length").map(str::trim).collect();
    let chunked = match codings.as_slice() {
        [] => false,
        [c] if c.eq_ignore_ascii_case("chunked") => true,
        _ => {
            return Err(format!(
                "a transfer-coding other than chunked ({codings:?})"
            ));
        }
    };
    if chunked && !lengths.is_empty() {
        return Err("both Transfer-Encoding and Content-Length".into());
    }
    let length = match lengths.split_first() {
        None => None,
        Some((first, rest)) => {
            if rest.iter().any(|l| l != first) {
                return Err("Content-Length fields that differ".into());
            }
            if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("a Content-Length {first:?} that is not digits"));
            }
            Some(
                first
                    .parse::<u64>()
                    .map_err(|_| format!("a Content-Length {first:?} out of range"))?,
            )
        }
    };
    let no_body = head.status == 204 || head.status == 304;
    let mut dechunked_len = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let read_err = |e: io::Error| format!("the body: {e}");
    if chunked && !no_body {
        let mut tap = Tap {
            inner: &mut *block,
            feed: transmitted,
        };
        let mut body = Dechunk::new(&mut tap);
        loop {
            let n = body.read(&mut buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            dechunked(&buf[..n]);
            dechunked_len += n as u64;
        }
    } else if !no_body {
        let mut body: Box<dyn Read> = match length {
            Some(n) => Box::new((&mut *block).take(n)),
            None => Box::new(&mut *block),
        };
        loop {
            let n = body.read(&mut buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            transmitted(&buf[..n]);
            dechunked(&buf[..n]);
            dechunked_len += n as u64;
        }
        if let Some(n) = length
            && dechunked_len != n
        {
            return Err(format!(
                "a body of {dechunked_len} bytes where Content-Length says {n}"
            ));
        }
    }
    if !block.fill_buf().map_err(read_err)?.is_empty() {
        return Err("bytes after the end of the response".into());
    }
    Ok((head, dechunked_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<ResponseFacts, String> {
        read_response(&mut &bytes[..])
    }

    fn sha(b: &[u8]) -> [u8; 32] {
        Sha256::digest(b).into()
    }

    #[test]
    fn complete_responses_are_read_with_both_digests() {
        let r = read(b"HTTP/1.1 200 OK\r\nContent-Type: Text/HTML; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(r.head.status, 200);
        assert_eq!(r.mime.as_deref(), Some("text/html"));
        assert_eq!(r.transmitted_sha256, sha(b"hello"));
        assert_eq!(r.dechunked_sha256, sha(b"hello"));

        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
        let r = read(chunked).unwrap();
        assert_eq!(r.dechunked_sha256, sha(b"hello"));
        assert_eq!(r.dechunked_len, 5);
        assert_eq!(
            r.transmitted_sha256,
            sha(b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")
        );
        assert_eq!(r.mime, None);

        let closed = read(b"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\nsee /x").unwrap();
        assert_eq!(closed.dechunked_sha256, sha(b"see /x"));
        assert_eq!(check_response(&mut &chunked[..]), Ok(()));
        let empty = read(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").unwrap();
        assert_eq!(empty.dechunked_len, 0);
    }

    #[test]
    fn incomplete_or_ambiguous_responses_are_refused() {
        for (bytes, problem) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello"[..],
                "Content-Length says 9",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello",
                "after the end",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n",
                "ends",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                "both",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "other than chunked",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
                "differ",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
                "not digits",
            ),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
                "interim",
            ),
            (b"HTTP/1.1 204 No Content\r\n\r\nx", "after the end"),
            (b"HTTP/1.1 200 OK\r\nContent-Le", ""),
        ] {
            let e = read(bytes).unwrap_err();
            assert_eq!(check_response(&mut &bytes[..]), Err(e.clone()));
            assert!(
                e.contains(problem),
                "{e:?} for {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
