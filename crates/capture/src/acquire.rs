//! Getting the bytes: HTTP(S) with recorded redirects and headers, files, stdin.
//!
//! Bytes are streamed into the object store (hashed and compressed on the way) with a size cap;
//! up to the text-extraction limit they are also kept in memory for extraction.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use exhibit_core::Sha256Digest;
use exhibit_core::connection::{Connection, ObjectRef, TlsSession};
use exhibit_core::manifest::{
    ContentInfo, FileSource, HttpExchange, MAX_RECORDED_STRING, Method, RECORDED_HEADERS, Redirect,
    cap_string,
};
use exhibit_store::config::CaptureSettings;
use exhibit_store::{ObjectStore, StoreError};
use exhibit_text as text;

use crate::CaptureError;
use crate::connector::{ConnectionLog, HttpClient, Received, TlsSetup};
use crate::source::Source;

/// Bytes kept for sniffing the media type when the document is too large to keep whole.
const SNIFF_BYTES: usize = 8 << 10;
/// Content-Type values that say nothing about the content, so the bytes are sniffed instead.
const GENERIC_MEDIA_TYPES: &[&str] = &[
    "application/octet-stream",
    "binary/octet-stream",
    "application/unknown",
    "unknown/unknown",
    "*/*",
];
/// The encodings exhibit asks for and can undo, as `curl --compressed` does.
const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// The result of acquiring a source.
#[derive(Debug)]
pub struct Acquired {
    /// When the bytes (or the final response) arrived.
    pub captured_at: DateTime<Utc>,
    /// How.
    pub method: Method,
    /// The HTTP exchange, for URLs.
    pub http: Option<HttpExchange>,
    /// The file, for paths.
    pub file: Option<FileSource>,
    /// The stored bytes (for failures: the error body, if one arrived whole).
    pub content: Option<ContentInfo>,
    /// The charset parameter of the Content-Type.
    pub charset: Option<String>,
    /// The bytes kept in memory for text extraction.
    pub retained: Vec<u8>,
    /// Whether `retained` holds all the bytes.
    pub retained_all: bool,
    /// `Some` when the capture failed (non-2xx, network error, undecodable body).
    pub error: Option<String>,
    /// For a record imported from a WARC file: the file and the record.
    pub warc: Option<exhibit_core::warc_source::WarcSource>,
}

/// The HTTP client with the archive's timeouts and trust roots. Redirects are followed by hand
/// so that each hop is recorded; bodies are decoded by hand so that `Content-Encoding` is undone
/// exactly once; connections are never pooled or proxied, so that each request's own connection
/// (address, TLS handshake) is recorded ([`crate::connector`]).
pub(crate) fn client(settings: &CaptureSettings, tls: Arc<TlsSetup>) -> HttpClient {
    let t = Duration::from_secs(settings.timeout_secs.max(1));
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(t))
        .timeout_per_read(Some(t))
        .timeout_recv_response(Some(t))
        .timeout_global(Some(t.saturating_mul(20).max(Duration::from_secs(300))))
        .max_redirects(0)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .proxy(None)
        .http_status_as_error(false)
        .user_agent(settings.user_agent.as_str())
        .accept_encoding(ACCEPT_ENCODING)
        .build();
    HttpClient::new(config, tls)
}

/// Acquires a source, storing its bytes.
pub(crate) fn acquire(
    source: &Source,
    http: &HttpClient,
    settings: &CaptureSettings,
    objects: &ObjectStore,
    previous: Option<&Sha256Digest>,
) -> Result<Acquired, CaptureError> {
    match source {
        Source::File(path) => {
            let meta = std::fs::metadata(path).map_err(|e| CaptureError::File {
                path: path.clone(),
                reason: io_reason(&e),
            })?;
            if !meta.is_file() {
                return Err(CaptureError::File {
                    path: path.clone(),
                    reason: "not a regular file".into(),
                });
            }
            let file = std::fs::File::open(path).map_err(|e| CaptureError::File {
                path: path.clone(),
                reason: io_reason(&e),
            })?;
            let captured_at = Utc::now();
            let name = path.display().to_string();
            let stored =
                store_stream(file, objects, previous, settings, &name).map_err(|e| match e {
                    StreamError::Read(e) => CaptureError::File {
                        path: path.clone(),
                        reason: io_reason(&e),
                    },
                    StreamError::Other(e) => e,
                })?;
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let file_name = path.file_name().and_then(|n| n.to_str());
            Ok(finish_local(
                stored,
                captured_at,
                Method::File,
                Some(abs.display().to_string()),
                file_name,
            ))
        }
        Source::Stdin => {
            let captured_at = Utc::now();
            let stored = store_stream(io::stdin().lock(), objects, previous, settings, "<stdin>")
                .map_err(|e| match e {
                StreamError::Read(e) => CaptureError::BadSource(format!("<stdin>: {e}")),
                StreamError::Other(e) => e,
            })?;
            Ok(finish_local(stored, captured_at, Method::Stdin, None, None))
        }
        Source::Http(url) => fetch(url, http, settings, objects, previous),
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn finish_local(
    stored: Streamed,
    captured_at: DateTime<Utc>,
    method: Method,
    path: Option<String>,
    file_name: Option<&str>,
) -> Acquired {
    let media_type = text::sniff_media_type(&stored.retained, file_name);
    Acquired {
        captured_at,
        method,
        http: None,
        file: path.map(|path| FileSource { path }),
        content: Some(ContentInfo {
            sha256: stored.object.sha256,
            blake3: stored.object.blake3,
            size: stored.object.size,
            media_type,
        }),
        charset: None,
        retained: stored.retained,
        retained_all: stored.retained_all,
        error: None,
        warc: None,
    }
}

pub(crate) struct Streamed {
    pub(crate) object: exhibit_store::StoredObject,
    pub(crate) retained: Vec<u8>,
    pub(crate) retained_all: bool,
}

pub(crate) enum StreamError {
    /// Reading the source failed (the source's fault: a file error, a network timeout).
    Read(io::Error),
    /// Anything else (too large, the archive failed).
    Other(CaptureError),
}

impl From<StoreError> for StreamError {
    fn from(e: StoreError) -> Self {
        StreamError::Other(e.into())
    }
}

/// Streams `reader` into a new object, keeping up to the text limit in memory. `previous` is
/// the document's previous content, which a changed version is likely to resemble (a hint for
/// delta compression, docs/FORMAT.md §6).
pub(crate) fn store_stream(
    mut reader: impl Read,
    objects: &ObjectStore,
    previous: Option<&Sha256Digest>,
    settings: &CaptureSettings,
    name: &str,
) -> Result<Streamed, StreamError> {
    let mut writer = objects.writer()?;
    if let Some(previous) = previous {
        writer.hint_reference(*previous);
    }
    let keep = settings.max_text_bytes.min(settings.max_bytes) as usize;
    let mut retained = Vec::new();
    let mut retained_all = true;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Read(e)),
        };
        if writer.len() + n as u64 > settings.max_bytes {
            return Err(StreamError::Other(CaptureError::TooLarge {
                source_name: name.to_owned(),
                limit: settings.max_bytes,
            }));
        }
        writer
            .write_all(&buf[..n])
            .map_err(|e| StreamError::Other(StoreError::io("objects", e).into()))?;
        if retained_all && retained.is_empty() && looks_binary(&buf[..n]) {
            // Binary bytes (a NUL in the first block, no UTF-16 byte-order mark): no text will
            // be extracted, so only the sniffing prefix is kept, not up to the text limit.
            retained_all = false;
            retained.extend_from_slice(&buf[..n.min(SNIFF_BYTES)]);
        }
        if retained_all {
            if retained.len() + n <= keep {
                retained.extend_from_slice(&buf[..n]);
            } else {
                retained_all = false;
                let room = SNIFF_BYTES.saturating_sub(retained.len());
                retained.extend_from_slice(&buf[..n.min(room)]);
                retained.truncate(SNIFF_BYTES);
                retained.shrink_to_fit();
            }
        }
    }
    let object = writer.finish()?;
    Ok(Streamed {
        object,
        retained,
        retained_all,
    })
}

/// Whether the first block of a source is binary: it holds a NUL byte and does not start with a
/// UTF-16 or UTF-32 byte-order mark (text in those encodings is full of NULs).
fn looks_binary(first: &[u8]) -> bool {
    let boms: [&[u8]; 4] = [
        b"\xff\xfe",
        b"\xfe\xff",
        b"\x00\x00\xfe\xff",
        b"\xff\xfe\x00\x00",
    ];
    if boms.iter().any(|b| first.starts_with(b)) {
        return false;
    }
    first.contains(&0)
}

pub(crate) fn record_headers(headers: &ureq::http::HeaderMap) -> BTreeMap<String, String> {
    recorded_headers(|name| {
        headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    })
}

/// The headers a manifest records ([`RECORDED_HEADERS`]), each name's values (from
/// `values_of`) joined with `, ` and capped: the one rule for HTTP captures and imported
/// responses.
pub(crate) fn recorded_headers(
    values_of: impl Fn(&str) -> Vec<String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in RECORDED_HEADERS {
        let values = values_of(name);
        if values.is_empty() {
            continue;
        }
        out.insert(
            (*name).to_owned(),
            cap_string(&values.join(", "), MAX_RECORDED_STRING),
        );
    }
    out
}

/// Wraps the raw body in decoders for each `Content-Encoding`, outermost last.
pub(crate) fn decoder<'r>(
    body: Box<dyn Read + 'r>,
    content_encoding: Option<&str>,
) -> Result<Box<dyn Read + 'r>, String> {
    let mut reader = body;
    let Some(header) = content_encoding else {
        return Ok(reader);
    };
    let codings: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    for coding in codings.iter().rev() {
        reader = match coding.as_str() {
            "identity" => reader,
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            "deflate" => Box::new(flate2::read::ZlibDecoder::new(reader)),
            "br" => Box::new(brotli_decompressor::Decompressor::new(reader, 1 << 16)),
            "zstd" => Box::new(
                zstd::stream::read::Decoder::new(reader)
                    .map_err(|e| format!("cannot start zstd decoding: {e}"))?,
            ),
            other => return Err(format!("unsupported Content-Encoding {other:?}")),
        };
    }
    Ok(reader)
}

/// A one-line description of a failed request: timeouts and refusals in words.
pub(crate) fn describe_http_error(e: &ureq::Error, timeout: u64) -> String {
    match e {
        ureq::Error::Timeout(what) => format!("timed out after {timeout}s ({what})"),
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => {
            format!("timed out after {timeout}s")
        }
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        other => other.to_string(),
    }
}

fn failure(
    captured_at: DateTime<Utc>,
    exchange: HttpExchange,
    error: String,
    content: Option<ContentInfo>,
) -> Acquired {
    Acquired {
        captured_at,
        method: Method::Http,
        http: Some(exchange),
        file: None,
        content,
        charset: None,
        retained: Vec::new(),
        retained_all: false,
        error: Some(cap_string(&error, MAX_RECORDED_STRING)),
        warc: None,
    }
}

/// A URL as recorded in a manifest: without credentials.
pub(crate) fn recorded(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// The statuses that are redirects (others with a Location, such as 300 or 304, are answers).
fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Turns the connections the last request made into its manifest record, storing each
/// certificate as an object. One request makes at most one connection (pooling is off); should
/// a request ever make more, the last is the one that carried it.
pub(crate) fn take_connection(
    log: &ConnectionLog,
    url: &url::Url,
    objects: &ObjectStore,
) -> Result<Option<(Connection, Received)>, CaptureError> {
    let Some(made) = log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain(..)
        .next_back()
    else {
        return Ok(None);
    };
    let tls = match made.tls {
        None => None,
        Some(t) => {
            let mut chain = Vec::with_capacity(t.chain.len());
            for der in &t.chain {
                let stored = objects.put(der)?;
                chain.push(ObjectRef {
                    sha256: stored.sha256,
                    blake3: stored.blake3,
                    size: stored.size,
                });
            }
            Some(TlsSession {
                server_name: cap_string(&t.server_name, MAX_RECORDED_STRING),
                chain,
                trusted: t.trusted,
                version: t.version,
                cipher_suite: t.cipher_suite,
                group: t.group,
                alpn: t.alpn.map(|a| cap_string(&a, 256)),
            })
        }
    };
    let connection = Connection {
        url: recorded(url),
        remote: made.remote.to_string(),
        connected_at: exhibit_core::time::format_rfc3339_seconds(made.connected_at),
        tls,
        response: None,
    };
    Ok(Some((connection, made.received)))
}

/// Keeps what `connection` received as its [`Connection::response`] when it is one complete
/// HTTP response (`exhibit_warc::response`) within the size limit, and `admit` agrees to its
/// length; else leaves it absent. Called once the response has been read as far as it will be.
pub(crate) fn keep_response(
    connection: &mut Connection,
    received: &Received,
    objects: &ObjectStore,
    admit: impl FnOnce(u64) -> bool,
) -> Result<(), CaptureError> {
    let Some(bytes) = received.take() else {
        return Ok(());
    };
    if exhibit_warc::response::check_response(&mut &bytes[..]).is_err()
        || !admit(bytes.len() as u64)
    {
        return Ok(());
    }
    let stored = objects.put(&bytes)?;
    connection.response = Some(ObjectRef {
        sha256: stored.sha256,
        blake3: stored.blake3,
        size: stored.size,
    });
    Ok(())
}

/// Reads what is left of a response body whose decoded bytes have all been taken (a
/// decoder may stop at the end of its stream before the chunked framing's last chunk), so
/// that the connection's record of it is whole. Bounded: a body with more after that is not
/// one response, and is not kept.
pub(crate) fn finish_body(body: &mut impl Read) {
    let _ = io::copy(&mut body.take(64 << 10), &mut io::sink());
}

fn fetch(
    start: &url::Url,
    http: &HttpClient,
    settings: &CaptureSettings,
    objects: &ObjectStore,
    previous: Option<&Sha256Digest>,
) -> Result<Acquired, CaptureError> {
    let (agent, log) = http.agent();
    // The added roots are evidence of what was trusted: stored like the chains.
    for der in &http.tls.added {
        objects.put(der)?;
    }
    let mut current = start.clone();
    let mut redirects: Vec<Redirect> = Vec::new();
    let mut connections: Vec<Connection> = Vec::new();
    loop {
        let response = agent.get(current.as_str()).call();
        let captured_at = Utc::now();
        let taken = take_connection(&log, &current, objects)?;
        let received = taken.as_ref().map(|(_, r)| r.clone());
        connections.extend(taken.map(|(c, _)| c));
        let mut exchange = HttpExchange {
            request_url: recorded(start),
            final_url: recorded(&current),
            redirects: redirects.clone(),
            status: None,
            headers: BTreeMap::new(),
            connections: Some(connections.clone()),
            trust_roots: Some(http.tls.record.clone()),
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let mut error = describe_http_error(&e, settings.timeout_secs);
                let untrusted = connections.last().is_some_and(|c| {
                    c.url == exchange.final_url && c.tls.as_ref().is_some_and(|t| !t.trusted)
                });
                if untrusted {
                    error = format!("TLS handshake failed: {error}");
                }
                return Ok(failure(captured_at, exchange, error, None));
            }
        };
        let status = response.status().as_u16();
        exchange.status = Some(status);
        exchange.headers = record_headers(response.headers());
        if is_redirect(status)
            && let Some(location) = response.headers().get("location")
        {
            let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
            if location.len() > MAX_RECORDED_STRING {
                let error = format!(
                    "redirect Location of {} bytes is longer than the {MAX_RECORDED_STRING}-byte limit",
                    location.len()
                );
                return Ok(failure(captured_at, exchange, error, None));
            }
            let next = match current.join(location.trim()) {
                Ok(u) => u,
                Err(e) => {
                    let shown = cap_string(&location, 200);
                    let error = format!("redirect to an invalid Location {shown:?}: {e}");
                    return Ok(failure(captured_at, exchange, error, None));
                }
            };
            if redirects.len() as u32 >= settings.max_redirects {
                let error = format!("more than {} redirects", settings.max_redirects);
                return Ok(failure(captured_at, exchange, error, None));
            }
            if next.scheme() != "http" && next.scheme() != "https" {
                let error = format!("redirect to a non-HTTP URL {next}");
                return Ok(failure(captured_at, exchange, error, None));
            }
            redirects.push(Redirect {
                url: recorded(&current),
                status,
                location: recorded(&next),
            });
            // What arrived of the redirect with its head (often all of it) is kept if whole.
            if let (Some(c), Some(r)) = (connections.last_mut(), &received) {
                keep_response(c, r, objects, |_| true)?;
            }
            current = next;
            continue;
        }
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let encodings: Vec<String> = response
            .headers()
            .get_all("content-encoding")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let content_encoding = (!encodings.is_empty()).then(|| encodings.join(", "));
        let mut body = io::BufReader::with_capacity(1 << 16, response.into_body().into_reader());
        // An empty body (a 204, a HEAD-like answer) has nothing to decode, whatever
        // Content-Encoding says: every decoder would call it truncated.
        let empty = matches!(io::BufRead::fill_buf(&mut body), Ok([]));
        let encoding = if empty {
            None
        } else {
            content_encoding.as_deref()
        };
        let reader = match decoder(Box::new(&mut body), encoding) {
            Ok(r) => r,
            Err(error) => return Ok(failure(captured_at, exchange, error, None)),
        };
        let name = current.to_string();
        let stored = match store_stream(reader, objects, previous, settings, &name) {
            Ok(s) => s,
            Err(StreamError::Read(e)) => {
                let error = if e.kind() == io::ErrorKind::TimedOut
                    || e.to_string().to_ascii_lowercase().contains("timeout")
                    || e.to_string().to_ascii_lowercase().contains("timed out")
                {
                    format!(
                        "timed out after {}s while reading the body",
                        settings.timeout_secs
                    )
                } else {
                    format!("body could not be read: {e}")
                };
                return Ok(failure(captured_at, exchange, error, None));
            }
            Err(StreamError::Other(CaptureError::TooLarge { limit, .. })) => {
                let error = format!("body larger than the {limit}-byte capture limit");
                return Ok(failure(captured_at, exchange, error, None));
            }
            Err(StreamError::Other(e)) => return Err(e),
        };
        finish_body(&mut body);
        if let (Some(c), Some(r)) = (connections.last_mut(), &received) {
            keep_response(c, r, objects, |_| true)?;
            exchange.connections = Some(connections.clone());
        }
        let (media_type, charset) =
            media_type_of(content_type.as_deref(), &stored.retained, Some(&current));
        let content = ContentInfo {
            sha256: stored.object.sha256,
            blake3: stored.object.blake3,
            size: stored.object.size,
            media_type,
        };
        if !(200..300).contains(&status) {
            let reason = ureq::http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let error = format!("HTTP {status} {reason}").trim_end().to_owned();
            // The body is evidence too, even when empty (it is stored, so it is referenced).
            return Ok(failure(captured_at, exchange, error, Some(content)));
        }
        return Ok(Acquired {
            captured_at,
            method: Method::Http,
            http: Some(exchange),
            file: None,
            content: Some(content),
            charset,
            retained: stored.retained,
            retained_all: stored.retained_all,
            error: None,
            warc: None,
        });
    }
}

/// The media type and charset of bytes served with `content_type` from `url`: the header's
/// essence, unless it is missing or generic — then it says nothing about the bytes, which are
/// sniffed (with the URL's last path segment as a file name). The header as sent stays recorded
/// in the manifest either way.
pub(crate) fn media_type_of(
    content_type: Option<&str>,
    retained: &[u8],
    url: Option<&url::Url>,
) -> (String, Option<String>) {
    let (essence, charset) = split_content_type(content_type);
    let essence = essence.filter(|e| !GENERIC_MEDIA_TYPES.contains(&e.as_str()));
    let media_type = essence.unwrap_or_else(|| {
        let file_name = url
            .and_then(|u| u.path_segments())
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty());
        text::sniff_media_type(retained, file_name)
    });
    (media_type, charset)
}

/// Splits a Content-Type into its lower-cased essence and charset parameter.
pub(crate) fn split_content_type(value: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(value) = value else {
        return (None, None);
    };
    let mut parts = value.split(';');
    let essence = parts
        .next()
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| e.contains('/') && !e.contains(char::is_whitespace));
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    (essence, charset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_is_split() {
        assert_eq!(
            split_content_type(Some("Text/HTML; charset=\"ISO-8859-1\"")),
            (Some("text/html".into()), Some("ISO-8859-1".into()))
        );
        assert_eq!(split_content_type(Some("garbage")), (None, None));
        assert_eq!(split_content_type(None), (None, None));
    }

    #[test]
    fn stacked_encodings_are_undone_in_reverse() {
        use flate2::write::GzEncoder;
        let plain = b"hello policy".repeat(100);
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&gz[..], 3).unwrap();
        let mut out = Vec::new();
        decoder(Box::new(&zst[..]), Some("gzip, zstd"))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain);
        assert!(decoder(Box::new(&b""[..]), Some("compress")).is_err());
    }
}
