//! The browser's side of the proxy: each connection it opens, `CONNECT` tunnels and their TLS,
//! request heads and bodies read within their limits, and each request handled — refused,
//! or forwarded upstream (`upstream.rs`) and answered.

use super::*;

/// A stream with bytes already read from it put back in front.
pub(super) struct Rewind<S> {
    pub(super) prefix: Vec<u8>,
    pub(super) pos: usize,
    pub(super) inner: S,
}

impl<S: Read> Read for Rewind<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl<S: Write> Write for Rewind<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A browser connection: the stream, and bytes read from it but not yet used.
pub(super) struct Conn<S> {
    pub(super) io: S,
    pub(super) buf: Vec<u8>,
}

/// Where requests on a connection go.
pub(super) enum Origin {
    /// A plain connection to the proxy: absolute-form requests, or `CONNECT`.
    Proxy,
    /// Inside a tunnel to `authority`: origin-form requests.
    Tunnel {
        scheme: &'static str,
        authority: String,
    },
}

/// What to do after a request.
pub(super) enum Next {
    KeepAlive,
    Close,
    /// The connection became a tunnel to this `host:port` (the 200 is sent).
    Tunnel(String),
}

/// A request head, owned.
pub(super) struct Head {
    pub(super) method: String,
    pub(super) target: String,
    http10: bool,
    pub(super) headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    pub(super) fn values<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h [u8]> + 'h {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// The comma-separated tokens of every `name` header, lower case.
    pub(super) fn tokens(&self, name: &str) -> Vec<String> {
        self.values(name).flat_map(tokens).collect()
    }
}

pub(super) fn tokens(value: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(value)
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Why a head could not be read.
pub(super) enum HeadError {
    /// Longer than [`MAX_HEAD`] or with too many headers.
    TooLarge,
    /// Not HTTP/1.x.
    Malformed,
    /// The connection failed or closed mid-head.
    Io,
}

/// Serves a browser connection to its end.
pub(super) fn serve(shared: &Shared, stream: TcpStream) {
    let timeout = Some(shared.limits.timeout.max(Duration::from_secs(1)));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        io: stream,
        buf: Vec::new(),
    };
    if let Next::Tunnel(authority) = http_loop(shared, &mut conn, &Origin::Proxy) {
        tunnel(shared, conn, authority);
    }
}

/// Serves what comes through a `CONNECT` tunnel: TLS (terminated here) or plain HTTP.
pub(super) fn tunnel(shared: &Shared, mut conn: Conn<TcpStream>, authority: String) {
    if conn.buf.is_empty() {
        let mut first = [0u8; 1];
        match conn.io.read(&mut first) {
            Ok(1) => conn.buf.push(first[0]),
            _ => return,
        }
    }
    // A TLS record of type handshake.
    if conn.buf.first() == Some(&0x16) {
        let Ok(server) = ServerConnection::new(shared.tls.clone()) else {
            return;
        };
        let io = Rewind {
            prefix: std::mem::take(&mut conn.buf),
            pos: 0,
            inner: conn.io,
        };
        let mut tls = Conn {
            io: StreamOwned::new(server, io),
            buf: Vec::new(),
        };
        let origin = Origin::Tunnel {
            scheme: "https",
            authority,
        };
        http_loop(shared, &mut tls, &origin);
        tls.io.conn.send_close_notify();
        let _ = tls.io.flush();
    } else {
        let origin = Origin::Tunnel {
            scheme: "http",
            authority,
        };
        http_loop(shared, &mut conn, &origin);
    }
}

/// Serves requests on a connection until it closes, fails or becomes a tunnel.
pub(super) fn http_loop<S: Read + Write>(
    shared: &Shared,
    conn: &mut Conn<S>,
    origin: &Origin,
) -> Next {
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Next::Close;
        }
        let head = match read_head(conn) {
            Ok(Some(head)) => head,
            Ok(None) => return Next::Close,
            Err(HeadError::Io) => return Next::Close,
            Err(HeadError::TooLarge) => {
                let _ = write_error(conn, 431, "request head too large", true);
                return Next::Close;
            }
            Err(HeadError::Malformed) => {
                let _ = write_error(conn, 400, "malformed request", true);
                return Next::Close;
            }
        };
        match handle(shared, conn, head, origin) {
            Next::KeepAlive => {}
            other => return other,
        }
    }
}

/// Reads the next request head: `None` when the connection ends (or idles past the timeout)
/// between requests.
pub(super) fn read_head<S: Read>(conn: &mut Conn<S>) -> Result<Option<Head>, HeadError> {
    let mut chunk = [0u8; 8192];
    loop {
        // Empty lines before a request are ignored (RFC 9112 §2.2).
        let blank = conn
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        conn.buf.drain(..blank);
        if !conn.buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&conn.buf) {
                Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => {
                    return Err(HeadError::TooLarge);
                }
                Ok(httparse::Status::Complete(len)) => {
                    let head = Head {
                        method: request.method.unwrap_or_default().to_owned(),
                        target: request.path.unwrap_or_default().to_owned(),
                        http10: request.version == Some(0),
                        headers: request
                            .headers
                            .iter()
                            .map(|h| (h.name.to_owned(), h.value.to_vec()))
                            .collect(),
                    };
                    conn.buf.drain(..len);
                    return Ok(Some(head));
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
                Err(_) => return Err(HeadError::Malformed),
            }
            if conn.buf.len() > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
        }
        let n = loop {
            match conn.io.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if conn.buf.is_empty() => return Ok(None),
                Err(_) => return Err(HeadError::Io),
                Ok(n) => break n,
            }
        };
        if n == 0 {
            return if conn.buf.is_empty() {
                Ok(None)
            } else {
                Err(HeadError::Io)
            };
        }
        conn.buf.extend_from_slice(&chunk[..n]);
    }
}

/// The `host:port` a `CONNECT` names (host normalised), and its port.
pub(super) fn connect_target(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    if host.is_empty()
        || host
            .chars()
            .any(|c| matches!(c, '/' | '@' | '?' | '#' | '\\') || c.is_whitespace())
    {
        return None;
    }
    let url = Url::parse(&format!("https://{host}:{port}/")).ok()?;
    let host = url.host_str()?;
    Some((format!("{host}:{port}"), port))
}

/// The absolute URL of a request: `Err((status, reason))` when it has none the proxy serves.
pub(super) fn request_url(origin: &Origin, target: &str) -> Result<Url, (u16, String)> {
    let url = match origin {
        Origin::Proxy => {
            if target.starts_with('/') {
                return Err((400, "not a proxy request (no absolute URL)".into()));
            }
            Url::parse(target).map_err(|e| (400, format!("invalid request URL: {e}")))?
        }
        Origin::Tunnel { scheme, authority } => {
            if !target.starts_with('/') {
                return Err((400, "not an origin-form request in a tunnel".into()));
            }
            Url::parse(&format!("{scheme}://{authority}{target}"))
                .map_err(|e| (400, format!("invalid request URL: {e}")))?
        }
    };
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err((400, "a URL without a host".into())),
        other => Err((501, format!("the {other}: scheme is not proxied"))),
    }
}

/// Whether `url` names the proxy itself (a loopback address or `localhost` on its port).
pub(super) fn is_self(url: &Url, own_port: u16) -> bool {
    if url.port_or_known_default() != Some(own_port) {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// Handles one request whose head is read.
pub(super) fn handle<S: Read + Write>(
    shared: &Shared,
    conn: &mut Conn<S>,
    head: Head,
    origin: &Origin,
) -> Next {
    let _busy = InFlight::new(&shared.in_flight);
    let close_after = head.http10
        || head.tokens("connection").iter().any(|t| t == "close")
        || head.tokens("proxy-connection").iter().any(|t| t == "close");

    // CONNECT: open a tunnel, or refuse.
    let mut refusal: Option<(u16, String)> = None;
    let url = if head.method.eq_ignore_ascii_case("CONNECT") {
        let target = head.target.clone();
        match (origin, connect_target(&head.target)) {
            (Origin::Tunnel { .. }, _) => refusal = Some((400, "CONNECT inside a tunnel".into())),
            (Origin::Proxy, None) => refusal = Some((400, "invalid CONNECT target".into())),
            (Origin::Proxy, Some((authority, port))) => {
                if shared.connect_ports.is_empty() || shared.connect_ports.contains(&port) {
                    if conn
                        .io
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .and_then(|()| conn.io.flush())
                        .is_err()
                    {
                        return Next::Close;
                    }
                    return Next::Tunnel(authority);
                }
                refusal = Some((502, format!("CONNECT to port {port} refused")));
            }
        }
        Err(cap_string(&target, MAX_RECORDED_STRING))
    } else {
        match request_url(origin, &head.target) {
            Ok(url) => Ok(url),
            Err(why) => {
                refusal = Some(why);
                Err(cap_string(&head.target, MAX_RECORDED_STRING))
            }
        }
    };
    let recorded_url = match &url {
        Ok(u) => recorded(u),
        Err(raw) => raw.clone(),
    };
    let ticket = match shared.admit(recorded_url, &head.method) {
        Admission::Admitted(ticket) => ticket,
        Admission::LimitReached(ticket) => {
            let reason = format!(
                "refused: the capture's limit of {} requests was reached",
                shared.limits.max_exchanges
            );
            ticket.fail(&reason);
            return refuse(conn, 502, &reason, &head);
        }
        Admission::Refused => {
            let reason = "refused: the capture's request limit was reached";
            return refuse(conn, 502, reason, &head);
        }
    };
    if let Some((status, reason)) = refusal {
        ticket.fail(&reason);
        return refuse(conn, status, &reason, &head);
    }
    let Ok(url) = url else {
        ticket.fail("invalid request");
        return refuse(conn, 400, "invalid request", &head);
    };
    if is_self(&url, shared.own_port) {
        let reason = "refused: a request to the capture proxy itself";
        ticket.fail(reason);
        return refuse(conn, 502, reason, &head);
    }

    // The request body.
    if head.has("transfer-encoding") {
        let reason = "refused: chunked request bodies are not supported";
        ticket.fail(reason);
        return refuse_and_close(conn, 501, reason);
    }
    let upgrade = head.tokens("upgrade");
    if !upgrade.is_empty() {
        let reason = if upgrade.iter().any(|t| t == "websocket") {
            "refused: WebSocket connections are not captured".to_owned()
        } else {
            format!("refused: protocol upgrade to {}", upgrade.join(", "))
        };
        ticket.fail(&reason);
        return refuse_and_close(conn, 501, &reason);
    }
    let length = match content_length(&head) {
        Ok(length) => length,
        Err(()) => {
            let reason = "refused: invalid Content-Length";
            ticket.fail(reason);
            return refuse_and_close(conn, 400, reason);
        }
    };
    if length.is_some_and(|n| n > MAX_REQUEST_BODY) {
        let reason = format!("refused: request body larger than {MAX_REQUEST_BODY} bytes");
        ticket.fail(&reason);
        return refuse_and_close(conn, 413, &reason);
    }
    let body = match length {
        None => None,
        Some(n) => {
            if head.tokens("expect").iter().any(|t| t == "100-continue")
                && conn
                    .io
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .and_then(|()| conn.io.flush())
                    .is_err()
            {
                ticket.fail("the browser connection failed");
                return Next::Close;
            }
            match read_body(conn, n as usize) {
                Ok(body) => Some(body),
                Err(e) => {
                    ticket.fail(&format!("the request body could not be read: {e}"));
                    return Next::Close;
                }
            }
        }
    };

    // Upstream, and back.
    let mut ticket = ticket;
    let is_head = head.method.eq_ignore_ascii_case("HEAD");
    match forward(shared, &url, &head, body, is_head, &mut ticket.exchange) {
        Ok(answer) => {
            ticket.finish();
            match write_answer(conn, answer, is_head, close_after) {
                Ok(()) if !close_after => Next::KeepAlive,
                _ => Next::Close,
            }
        }
        Err((status, reason)) => {
            ticket.fail(&reason);
            let shown = format!("{reason} ({})", url.as_str());
            refuse(conn, status, &shown, &head)
        }
    }
}

/// Answers with an error, keeping the connection when the request had no body left unread.
pub(super) fn refuse<S: Write>(conn: &mut Conn<S>, status: u16, reason: &str, head: &Head) -> Next {
    let close = head.http10
        || head.has("transfer-encoding")
        || head.has("upgrade")
        || !matches!(content_length(head), Ok(None) | Ok(Some(0)))
        || head.tokens("connection").iter().any(|t| t == "close");
    match write_error(conn, status, reason, close) {
        Ok(()) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}

pub(super) fn refuse_and_close<S: Write>(conn: &mut Conn<S>, status: u16, reason: &str) -> Next {
    let _ = write_error(conn, status, reason, true);
    Next::Close
}

/// The request's Content-Length: `Err` when it is malformed or given twice differently.
pub(super) fn content_length(head: &Head) -> Result<Option<u64>, ()> {
    let mut length = None;
    for value in head.values("content-length") {
        for part in String::from_utf8_lossy(value).split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            let n: u64 = part.parse().map_err(|_| ())?;
            if length.is_some_and(|l| l != n) {
                return Err(());
            }
            length = Some(n);
        }
    }
    Ok(length)
}

pub(super) fn read_body<S: Read>(conn: &mut Conn<S>, n: usize) -> io::Result<Vec<u8>> {
    let have = n.min(conn.buf.len());
    let mut body: Vec<u8> = conn.buf.drain(..have).collect();
    body.resize(n, 0);
    conn.io.read_exact(&mut body[have..])?;
    Ok(body)
}
