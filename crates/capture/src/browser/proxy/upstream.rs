//! The upstream half of the proxy: forwarding one request over a recorded connection of its
//! own ([`crate::connector`]), undoing `Content-Encoding`, storing the body as an object within
//! the limits (spooled to a temporary file past a megabyte), and answering the browser.

use super::*;

/// A response to pass to the browser.
pub(super) struct Answer {
    status: u16,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    body: Spool,
}

/// Whether a request header is not forwarded upstream.
fn not_forwarded(name: &str, named_by_connection: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    HOP_BY_HOP.contains(&name.as_str())
        || name.starts_with("proxy-")
        || named_by_connection.contains(&name)
        // ureq sets these itself: exhibit's own Accept-Encoding (whose encodings it can
        // undo), the Host of the URL, the length of the body it sends.
        || matches!(
            name.as_str(),
            "accept-encoding" | "host" | "content-length" | "expect"
        )
}

/// Whether a response header is not passed to the browser.
fn not_passed_on(name: &str, named_by_connection: &[String]) -> bool {
    HOP_BY_HOP.contains(&name)
        || name.starts_with("proxy-")
        || named_by_connection.iter().any(|n| n == name)
        // The body is passed on decoded, with its own length.
        || matches!(name, "content-encoding" | "content-length")
        // No alternative protocols (HTTP/3) that would bypass the proxy.
        || name == "alt-svc"
}

/// Makes the request upstream, records the response in `exchange` and stores its body.
/// `Err((status, reason))`: the request failed; what is known is in `exchange`.
pub(super) fn forward(
    shared: &Shared,
    url: &Url,
    head: &Head,
    body: Option<Vec<u8>>,
    is_head: bool,
    exchange: &mut ProxiedExchange,
) -> Result<Answer, (u16, String)> {
    let bad_request = |e: &dyn std::fmt::Display| (400, format!("invalid request: {e}"));
    let method = http::Method::from_bytes(head.method.as_bytes()).map_err(|e| bad_request(&e))?;
    let named = head.tokens("connection");
    let mut builder = http::Request::builder().method(method).uri(url.as_str());
    for (name, value) in &head.headers {
        if not_forwarded(name, &named) {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    let (agent, log) = shared.http.agent();
    let result = match &body {
        Some(bytes) => agent.run(
            builder
                .body(bytes.as_slice())
                .map_err(|e| bad_request(&e))?,
        ),
        None => agent.run(builder.body(()).map_err(|e| bad_request(&e))?),
    };
    let received = match take_connection(&log, url, &shared.objects) {
        Ok(taken) => {
            let (connection, received) = taken.unzip();
            exchange.connection = connection;
            received
        }
        Err(e) => return Err((502, shared.store_failed(e))),
    };
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            let mut reason =
                crate::acquire::describe_http_error(&e, shared.http_timeout().as_secs());
            let untrusted = exchange
                .connection
                .as_ref()
                .is_some_and(|c| c.tls.as_ref().is_some_and(|t| !t.trusted));
            if untrusted {
                reason = format!("TLS handshake failed: {reason}");
            }
            return Err((502, reason));
        }
    };
    let status = response.status().as_u16();
    exchange.status = Some(status);
    let headers = response.headers();
    exchange.headers = headers
        .iter()
        .take(MAX_RECORDED_HEADERS)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (
                name.as_str().to_owned(),
                cap_string(&value, MAX_RECORDED_STRING),
            )
        })
        .collect();
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    exchange.media_type = split_content_type(content_type.as_deref()).0;
    let encodings: Vec<String> = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let content_encoding = (!encodings.is_empty()).then(|| encodings.join(", "));
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .flat_map(|v| tokens(v.as_bytes()))
        .collect();
    let passed: Vec<(http::HeaderName, http::HeaderValue)> = headers
        .iter()
        .filter(|(name, _)| !not_passed_on(name.as_str(), &named))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if is_head {
        return Ok(Answer {
            status,
            headers: passed,
            body: Spool::default(),
        });
    }
    // An empty body is empty whatever its Content-Encoding says (a 304 or 204 often carries
    // the header; the decoders would call no bytes a truncated stream).
    let mut raw = response.into_body().into_reader();
    let mut first = vec![0u8; 8192];
    let n = loop {
        match raw.read(&mut first) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((502, read_failure(&e, shared.http_timeout()))),
            Ok(n) => break n,
        }
    };
    first.truncate(n);
    let (stored, spool) = if n == 0 {
        store_body(shared, io::empty())?
    } else {
        let chained: Box<dyn Read> = Box::new(io::Cursor::new(first).chain(&mut raw));
        let reader = decoder(chained, content_encoding.as_deref()).map_err(|e| (502, e))?;
        store_body(shared, reader)?
    };
    finish_body(&mut raw);
    if let (Some(c), Some(r)) = (exchange.connection.as_mut(), &received) {
        // Kept whole only within the capture's limit for all bodies, which it counts against.
        let admit = |n: u64| {
            let before = shared.total_bytes.fetch_add(n, Ordering::SeqCst);
            let fits = before + n <= shared.limits.max_total_bytes;
            if !fits {
                shared.total_bytes.fetch_sub(n, Ordering::SeqCst);
            }
            fits
        };
        keep_response(c, r, &shared.objects, admit).map_err(|e| (502, shared.store_failed(e)))?;
    }
    exchange.body = Some(stored);
    Ok(Answer {
        status,
        headers: passed,
        body: spool,
    })
}

impl Shared {
    /// The upstream timeout, for messages (the browser sockets' one is the same setting).
    fn http_timeout(&self) -> Duration {
        self.limits.timeout
    }
}

/// Bytes counted against the total limit, given back unless kept.
struct Reserved<'a> {
    total: &'a AtomicU64,
    bytes: u64,
    keep: bool,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if !self.keep {
            self.total.fetch_sub(self.bytes, Ordering::SeqCst);
        }
    }
}

/// Streams a decoded body into a new object and a spool for the browser, within the limits.
fn store_body(
    shared: &Shared,
    mut reader: impl Read,
) -> Result<(StoredObject, Spool), (u16, String)> {
    let limits = &shared.limits;
    let mut writer = shared
        .objects
        .writer()
        .map_err(|e| (502, shared.store_failed(e.into())))?;
    let mut spool = Spool::default();
    let mut reserved = Reserved {
        total: &shared.total_bytes,
        bytes: 0,
        keep: false,
    };
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Err((502, "the capture ended before the body arrived".into()));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((502, read_failure(&e, shared.http_timeout()))),
        };
        if writer.len() + n as u64 > limits.max_response_bytes {
            return Err((
                502,
                format!(
                    "body larger than the {}-byte limit",
                    limits.max_response_bytes
                ),
            ));
        }
        let before = shared.total_bytes.fetch_add(n as u64, Ordering::SeqCst);
        reserved.bytes += n as u64;
        if before + n as u64 > limits.max_total_bytes {
            return Err((
                502,
                format!(
                    "the capture's {}-byte limit for all bodies was reached",
                    limits.max_total_bytes
                ),
            ));
        }
        if let Err(e) = writer.write_all(&buf[..n]) {
            let e = exhibit_store::StoreError::io("objects", e);
            return Err((502, shared.store_failed(e.into())));
        }
        spool
            .write_all(&buf[..n])
            .map_err(|e| (502, format!("cannot hold the body for the browser: {e}")))?;
    }
    let stored = writer
        .finish()
        .map_err(|e| (502, shared.store_failed(e.into())))?;
    reserved.keep = true;
    Ok((stored, spool))
}

fn read_failure(e: &io::Error, timeout: Duration) -> String {
    let text = e.to_string().to_ascii_lowercase();
    if e.kind() == io::ErrorKind::TimedOut || text.contains("timeout") || text.contains("timed out")
    {
        format!(
            "timed out after {}s while reading the body",
            timeout.as_secs()
        )
    } else {
        format!("body could not be read: {e}")
    }
}

/// A body held for the browser: in memory up to [`SPOOL_IN_MEMORY`], then in an unnamed
/// temporary file.
#[derive(Default)]
struct Spool {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
}

impl Spool {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.memory.len() + data.len() <= SPOOL_IN_MEMORY {
            self.memory.extend_from_slice(data);
        } else {
            let file = match &mut self.file {
                Some(file) => file,
                None => self.file.insert(tempfile::tempfile()?),
            };
            file.write_all(data)?;
        }
        self.len += data.len() as u64;
        Ok(())
    }

    fn send(&mut self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.memory)?;
        if let Some(file) = &mut self.file {
            file.seek(SeekFrom::Start(0))?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                out.write_all(&buf[..n])?;
            }
        }
        Ok(())
    }
}

fn status_line(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP/1.1 {status} {reason}\r\n")
}

/// Passes a response to the browser: its status and headers, the decoded body with its length.
pub(super) fn write_answer<S: Write>(
    conn: &mut Conn<S>,
    mut answer: Answer,
    is_head: bool,
    close: bool,
) -> io::Result<()> {
    let mut head = status_line(answer.status).into_bytes();
    for (name, value) in &answer.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let bodyless = is_head || matches!(answer.status, 100..=199 | 204 | 304);
    if !bodyless {
        head.extend_from_slice(format!("content-length: {}\r\n", answer.body.len).as_bytes());
    }
    if close {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    conn.io.write_all(&head)?;
    if !bodyless {
        answer.body.send(&mut conn.io)?;
    }
    conn.io.flush()
}

/// Answers with a short plain-text error.
pub(super) fn write_error<S: Write>(
    conn: &mut Conn<S>,
    status: u16,
    reason: &str,
    close: bool,
) -> io::Result<()> {
    let body = format!("exhibit capture proxy: {}\n", cap_string(reason, 1024));
    let mut out = status_line(status);
    out.push_str("content-type: text/plain; charset=utf-8\r\n");
    out.push_str("cache-control: no-store\r\n");
    out.push_str(&format!("content-length: {}\r\n", body.len()));
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    conn.io.write_all(out.as_bytes())?;
    conn.io.flush()
}

/// Standard base64 with padding.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
