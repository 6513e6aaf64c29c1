//! What a [`crate::Handler`] sees and answers: request heads and requests, responses and their
//! bodies.

use std::fmt;
use std::io::Read;

/// The media type of [`Response::text`].
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// A request head: the request line and the headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The method, as sent (methods are case-sensitive: `GET`, not `get`).
    pub method: String,
    /// The request target without its query, percent-encoded as sent (see
    /// [`Request::decoded_path`]).
    pub path: String,
    /// The query, as sent after the first `?` (`None`: no `?`; see [`Request::query_pairs`]).
    pub query: Option<String>,
    /// The body length, if the request has one (`None`: no `Content-Length`).
    pub content_length: Option<u64>,
    /// Whether a `Transfer-Encoding` was sent (not supported: such a request is refused).
    pub transfer_encoding: bool,
    /// Whether the client wants the connection kept open after the answer.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
    /// Every header in order, names lower-cased, values as sent (a value that is not UTF-8 is
    /// refused with `400`).
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The value of the first header called `name` (in any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request whose body has been read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Its head.
    pub head: Head,
    /// Its body (empty without a `Content-Length`).
    pub body: Vec<u8>,
    /// The client's address (`?` if unknown), for logs.
    pub peer: String,
}

impl Request {
    /// The query's name=value pairs, application/x-www-form-urlencoded decoded ('+' is a
    /// space; a pair without '=' has value ""); invalid UTF-8 after decoding is replaced
    /// lossily, an invalid %-escape is kept as it is.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.head.query.as_deref().map_or_else(Vec::new, |q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect()
        })
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The path percent-decoded, or None if it does not decode to UTF-8 or contains a NUL.
    /// Nothing else is judged: `/a/%2e%2e/b` is `/a/../b`, for the caller to refuse.
    pub fn decoded_path(&self) -> Option<String> {
        let path = percent_encoding::percent_decode_str(&self.head.path)
            .decode_utf8()
            .ok()?;
        (!path.contains('\0')).then(|| path.into_owned())
    }
}

/// The body of a [`Response`].
pub enum Body {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// Streamed; exactly `len` bytes are promised in Content-Length. If the reader fails or
    /// ends early, the connection is closed (the client sees a short body, never a wrong one).
    Reader {
        /// Where the bytes come from; read at most `len` bytes, 64 KiB at a time.
        reader: Box<dyn Read + Send>,
        /// The number of bytes promised.
        len: u64,
    },
}

impl Body {
    /// The number of bytes the body is (or promises to be).
    pub(crate) fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Reader { len, .. } => *len,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) if bytes.len() <= 4096 => f
                .debug_tuple("Bytes")
                .field(&String::from_utf8_lossy(bytes))
                .finish(),
            Body::Bytes(bytes) => write!(f, "Bytes(<{} bytes>)", bytes.len()),
            Body::Reader { len, .. } => write!(f, "Reader(<{len} bytes>)"),
        }
    }
}

/// An answer to a request.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` (none is sent if empty).
    pub content_type: String,
    /// More headers, sent in order after `Content-Type`, `Content-Length`, `Cache-Control`
    /// and `Connection`. One whose name is not an HTTP token or whose value holds a CR, LF
    /// or NUL is not sent, nor `Content-Length`, `Transfer-Encoding` or `Connection` (the
    /// server frames the response itself).
    pub headers: Vec<(String, String)>,
    /// The body (not sent for a `HEAD` request, nor with a status of 1xx, 204 or 304).
    pub body: Body,
    /// One line for the request log.
    pub summary: String,
}

impl Response {
    /// An answer with `body` in memory; its summary is the status's reason phrase.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
            body: Body::Bytes(body.into()),
            summary: reason(status).to_owned(),
        }
    }

    /// A one-line text answer (`text/plain; charset=utf-8`): `message` with any CR or LF made
    /// a space, then a newline; the summary is that line.
    pub fn text(status: u16, message: &str) -> Response {
        let line = message.replace(['\r', '\n'], " ");
        Response {
            summary: line.clone(),
            ..Response::new(status, TEXT_PLAIN, format!("{line}\n"))
        }
    }

    /// An answer streamed from `reader`, which must give `len` bytes (see [`Body::Reader`]);
    /// its summary is the status's reason phrase.
    pub fn stream(
        status: u16,
        content_type: &str,
        reader: Box<dyn Read + Send>,
        len: u64,
    ) -> Response {
        Response {
            body: Body::Reader { reader, len },
            ..Response::new(status, content_type, Vec::new())
        }
    }

    /// Adds a header (after those already added).
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the line for the request log.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Response {
        self.summary = summary.into();
        self
    }
}

/// The reason phrase of a status ("Unknown" for one not listed).
pub(crate) fn reason(status: u16) -> &'static str {
    exhibit_core::http_status::reason_phrase(status).unwrap_or("Unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, query: Option<&str>) -> Request {
        Request {
            head: Head {
                method: "GET".into(),
                path: path.into(),
                query: query.map(str::to_owned),
                content_length: None,
                transfer_encoding: false,
                keep_alive: true,
                expect_continue: false,
                headers: vec![("x-thing".into(), "Value".into())],
            },
            body: Vec::new(),
            peer: "127.0.0.1:1".into(),
        }
    }

    #[test]
    fn queries_are_form_decoded() {
        let r = request("/", Some("a=1&b=x+y%20z&c"));
        let pairs = r.query_pairs();
        let want = [("a", "1"), ("b", "x y z"), ("c", "")];
        assert_eq!(pairs.len(), want.len());
        for ((n, v), (wn, wv)) in pairs.iter().zip(want) {
            assert_eq!((n.as_str(), v.as_str()), (wn, wv));
        }
        assert_eq!(r.query("b").as_deref(), Some("x y z"));
        assert_eq!(r.query("c").as_deref(), Some(""));
        assert_eq!(r.query("d"), None);
        // Invalid escapes are kept as they are; invalid UTF-8 is replaced; the first wins.
        let r = request("/", Some("q=%zz%4&q=2&r=%ff&%41=%41"));
        assert_eq!(r.query("q").as_deref(), Some("%zz%4"));
        assert_eq!(r.query("r").as_deref(), Some("\u{fffd}"));
        assert_eq!(r.query("A").as_deref(), Some("A"));
        assert!(request("/", None).query_pairs().is_empty());
        assert_eq!(r.head.header("X-Thing"), Some("Value"));
        assert_eq!(r.head.header("x-other"), None);
    }

    #[test]
    fn paths_are_percent_decoded() {
        let path = |p: &str| request(p, None).decoded_path();
        assert_eq!(
            path("/records/EX-C-000001").as_deref(),
            Some("/records/EX-C-000001")
        );
        assert_eq!(path("/a%20b+c").as_deref(), Some("/a b+c"));
        // `..` is the caller's to judge.
        assert_eq!(path("/x/%2e%2e/y").as_deref(), Some("/x/../y"));
        assert_eq!(path("/caf%C3%A9").as_deref(), Some("/café"));
        assert_eq!(path("/bad%zz").as_deref(), Some("/bad%zz"));
        assert_eq!(path("/nul%00"), None);
        assert_eq!(path("/latin%E9"), None);
    }

    #[test]
    fn responses_are_built_as_documented() {
        let r = Response::text(404, "no\r\nthing");
        assert_eq!((r.status, r.summary.as_str()), (404, "no  thing"));
        assert_eq!(r.content_type, "text/plain; charset=utf-8");
        assert!(matches!(&r.body, Body::Bytes(b) if String::from_utf8_lossy(b) == "no  thing\n"));
        let r = Response::new(200, "text/html", "<p>")
            .with_header("A", "1")
            .with_header("B", "2");
        assert_eq!(r.summary, "OK");
        assert_eq!(
            r.headers,
            [("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        let r = Response::stream(200, "application/octet-stream", Box::new(&[1u8, 2][..]), 2)
            .with_summary("two bytes");
        assert_eq!((r.body.len(), r.summary.as_str()), (2, "two bytes"));
        assert_eq!(format!("{:?}", r.body), "Reader(<2 bytes>)");
    }
}
