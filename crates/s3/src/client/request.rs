//! One request: built path-style, signed, sent and retried with exponential backoff and
//! jitter; then handed to the operation that asked ([`Client::execute`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::PoisonError;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use ureq::http;

use super::Client;
use crate::sigv4::{self, sha256_hex};
use crate::{Retention, S3Error, xml};

/// Error answers are read to at most this many bytes.
const ERROR_BODY_LIMIT: u64 = 64 << 10;
/// The first retry waits about this long; each further one twice as long…
const BACKOFF_START: Duration = Duration::from_millis(100);
/// …up to this.
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// 403 codes that mean "your credentials expired or were replaced": they are reloaded once.
const CREDENTIAL_CODES: [&str; 4] = [
    "ExpiredToken",
    "InvalidAccessKeyId",
    "TokenRefreshRequired",
    "InvalidToken",
];

/// A request before signing. `key` is the full key (prefix joined), or None for the bucket.
pub(crate) struct Req<'a> {
    method: &'static str,
    key: Option<&'a str>,
    query: Vec<(String, String)>,
    headers: Vec<(&'static str, String)>,
    body: &'a [u8],
    /// Retry 409 ConditionalRequestConflict (a concurrent conditional write in flight).
    retry_conflict: bool,
}

impl<'a> Req<'a> {
    pub(crate) fn new(method: &'static str, key: Option<&'a str>) -> Req<'a> {
        Req {
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: &[],
            retry_conflict: false,
        }
    }

    pub(crate) fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn retry_conflict(mut self) -> Self {
        self.retry_conflict = true;
        self
    }

    /// The checksum headers the server verifies the body against.
    pub(crate) fn checksum(self, sha256: &[u8]) -> Self {
        self.header("x-amz-checksum-sha256", STANDARD.encode(sha256))
            .header("x-amz-sdk-checksum-algorithm", "SHA256")
    }

    /// The Object Lock headers of `retention`, if any.
    pub(crate) fn retention(self, retention: Option<&Retention>) -> Self {
        match retention {
            None => self,
            Some(r) => self
                .header("x-amz-object-lock-mode", r.mode.as_str())
                .header(
                    "x-amz-object-lock-retain-until-date",
                    r.until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ),
        }
    }
}

/// An answer handed to an operation: any 2xx, or an error status that is not retried.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: ureq::Body,
    /// `(code, message)` of an error answer (status ≥ 300), from at most 64 KiB of body, or
    /// the reason phrase and nothing when it had no S3 error document.
    pub error: Option<(String, String)>,
    /// An earlier attempt failed after the request may have reached the store, so a
    /// conditional write's 412 may be this very call's earlier success.
    pub ambiguous: bool,
}

impl Answer {
    /// The S3 error code, or "".
    pub(crate) fn code(&self) -> &str {
        self.error.as_ref().map_or("", |(c, _)| c.as_str())
    }

    /// This answer as an error.
    pub(crate) fn into_error(self, url: &str) -> S3Error {
        let (code, message) = self.error.unwrap_or_default();
        S3Error::Http {
            url: url.to_owned(),
            status: self.status,
            code,
            message,
        }
    }

    /// A response header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The ETag header without quotes.
    pub(crate) fn etag(&self, url: &str) -> Result<String, S3Error> {
        self.header("etag")
            .map(|e| xml::unquote(e.trim()).to_owned())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| S3Error::BadResponse {
                url: url.to_owned(),
                reason: "the answer has no ETag".into(),
            })
    }

    /// The Content-Length header, if present and a number.
    pub(crate) fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }
}

/// Why an operation's handling of an answer did not produce a result.
pub(crate) enum Failure {
    /// Worth another attempt (the body broke off, the store reported a transient error).
    Retry(String),
    /// Final.
    Fatal(S3Error),
}

impl From<S3Error> for Failure {
    fn from(e: S3Error) -> Failure {
        Failure::Fatal(e)
    }
}

impl Client {
    /// Sends `req`, retrying what is worth retrying, and hands every other answer to
    /// `handle` (which may ask for another attempt).
    pub(crate) fn execute<T>(
        &self,
        req: &Req<'_>,
        url: &str,
        mut handle: impl FnMut(Answer) -> Result<T, Failure>,
    ) -> Result<T, S3Error> {
        let config = &self.shared.config;
        let endpoint =
            self.shared
                .endpoint
                .as_ref()
                .map_err(|reason| S3Error::InvalidEndpoint {
                    endpoint: config.endpoint.clone(),
                    reason: reason.clone(),
                })?;
        let mut path = format!("/{}", sigv4::uri_encode(&config.location.bucket, false));
        if let Some(key) = req.key {
            path.push('/');
            path.push_str(&sigv4::uri_encode(key, true));
        }
        let query = sigv4::canonical_query(&req.query);
        let uri = if query.is_empty() {
            format!("{}{path}", endpoint.base)
        } else {
            format!("{}{path}?{query}", endpoint.base)
        };
        let payload_sha256 = if req.body.is_empty() {
            sigv4::EMPTY_SHA256.to_owned()
        } else {
            sha256_hex(req.body)
        };
        let with_body = matches!(req.method, "PUT" | "POST");
        let max_attempts = config.max_attempts.max(1);
        let mut attempt = 0;
        let mut reloaded = false;
        let mut ambiguous = false;
        loop {
            attempt += 1;
            let credentials = self
                .credentials
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let mut headers = BTreeMap::new();
            headers.insert("host".to_owned(), endpoint.host.clone());
            for (name, value) in &req.headers {
                headers.insert((*name).to_owned(), value.clone());
            }
            let signing = sigv4::Request {
                method: req.method,
                path: &path,
                query: &query,
                payload_sha256: &payload_sha256,
            };
            sigv4::sign(
                &signing,
                &mut headers,
                &credentials,
                &config.region,
                Utc::now(),
            );
            let mut builder = http::Request::builder().method(req.method).uri(&uri);
            for (name, value) in &headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            // Keys are checked and every other value is made here: only credentials (a key id
            // or session token with characters a header cannot carry) can break a request.
            let unformable = |e: http::Error| S3Error::Credentials {
                reason: format!("{url}: they cannot be sent in a request header: {e}"),
            };
            let result = if with_body {
                self.shared
                    .agent
                    .run(builder.body(req.body).map_err(unformable)?)
            } else {
                self.shared.agent.run(builder.body(()).map_err(unformable)?)
            };
            let reason = match result {
                Err(e) => {
                    let (retry, maybe_sent) = classify(&e);
                    let reason = describe(&e, config.timeout);
                    if !retry {
                        return Err(S3Error::Unavailable {
                            url: url.to_owned(),
                            reason,
                            attempts: attempt,
                        });
                    }
                    ambiguous |= maybe_sent;
                    reason
                }
                Ok(response) => {
                    let status = response.status();
                    let (parts, mut body) = response.into_parts();
                    let mut error = None;
                    if status.as_u16() >= 300 {
                        let text = read_bounded(&mut body, ERROR_BODY_LIMIT)
                            .ok()
                            .flatten()
                            .unwrap_or_default();
                        let (code, message) = xml::error_code(&text).unwrap_or_else(|| {
                            (
                                status.canonical_reason().unwrap_or("error").to_owned(),
                                "(no S3 error document)".to_owned(),
                            )
                        });
                        let s = status.as_u16();
                        if retryable_status(s, &code)
                            || (req.retry_conflict
                                && s == 409
                                && code == "ConditionalRequestConflict")
                        {
                            // A 500 or gateway timeout may come after the write was applied.
                            ambiguous |= matches!(s, 500 | 502 | 504);
                            let reason = format!("HTTP {s} {code} ({message})");
                            if attempt >= max_attempts {
                                return Err(S3Error::Unavailable {
                                    url: url.to_owned(),
                                    reason,
                                    attempts: attempt,
                                });
                            }
                            std::thread::sleep(backoff(attempt));
                            continue;
                        }
                        if s == 403 && CREDENTIAL_CODES.contains(&code.as_str()) && !reloaded {
                            reloaded = true;
                            if let Ok(fresh) = (self.shared.reload)()
                                && fresh != credentials
                            {
                                *self
                                    .credentials
                                    .write()
                                    .unwrap_or_else(PoisonError::into_inner) = fresh;
                                // Not an attempt of the request's own.
                                attempt -= 1;
                                continue;
                            }
                        }
                        error = Some((code, message));
                    }
                    let answer = Answer {
                        status: status.as_u16(),
                        headers: parts.headers,
                        body,
                        error,
                        ambiguous,
                    };
                    match handle(answer) {
                        Ok(t) => return Ok(t),
                        Err(Failure::Fatal(e)) => return Err(e),
                        Err(Failure::Retry(reason)) => {
                            ambiguous = true;
                            reason
                        }
                    }
                }
            };
            if attempt >= max_attempts {
                return Err(S3Error::Unavailable {
                    url: url.to_owned(),
                    reason,
                    attempts: attempt,
                });
            }
            std::thread::sleep(backoff(attempt));
        }
    }
}

/// Reads a body to at most `limit` bytes: None when it is longer.
pub(crate) fn read_bounded(body: &mut ureq::Body, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    body.as_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

/// Statuses and codes worth another attempt: throttling and server-side failures.
fn retryable_status(status: u16, code: &str) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
        || matches!(code, "SlowDown" | "InternalError" | "RequestTimeout")
}

/// Whether a transport error is worth another attempt, and whether the request may have
/// reached the store before it.
fn classify(e: &ureq::Error) -> (bool, bool) {
    use ureq::Error as E;
    use ureq::Timeout as T;
    match e {
        E::Timeout(T::Resolve | T::Connect) | E::HostNotFound | E::ConnectionFailed => {
            (true, false)
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => (true, false),
        E::Timeout(_) | E::Io(_) | E::Protocol(_) | E::BodyStalled => (true, true),
        _ => (false, true),
    }
}

/// A transport error in a few words.
fn describe(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(what) => {
            format!("timed out ({what} took over {} s)", timeout.as_secs_f32())
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "could not connect".into(),
        other => other.to_string(),
    }
}

/// The wait before attempt `attempt + 1`: 100 ms doubling, capped at 5 s, with jitter (a
/// random half to all of it).
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_START
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    full.mul_f64(0.5 + 0.5 * random_fraction())
}

/// A number in [0, 1) that differs between calls and processes (std's per-process random
/// hash keys); jitter needs no better.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}
