//! What an HTTP capture's connections recorded (FORMAT §3.10): for each request, the address
//! connected to and, for HTTPS, the TLS handshake with the certificate chain the server sent.
//!
//! These fields make a capture manifest `exhibit.capture/v2` (or `exhibit.capture-failure/v2`);
//! a v1 manifest has none of them. The certificates are stored as objects (DER, one object per
//! certificate), so the manifest names them by digest like the content and the text.

use serde::{Deserialize, Serialize};

use crate::digest::{Blake3Digest, Sha256Digest};

/// The most certificates one handshake's chain records. Real chains have 2–4; rustls refuses
/// handshake messages above 64 KiB, which bounds what a server can send, and this bounds what a
/// manifest may claim.
pub const MAX_CHAIN_CERTIFICATES: usize = 16;

/// The most trust roots a capture may add to the bundled set (`--ca-cert`).
pub const MAX_ADDED_ROOTS: usize = 64;

/// The largest response a connection record keeps as received ([`Connection::response`]):
/// 16 MiB. A larger response keeps only its decoded body.
pub const MAX_RECORDED_RESPONSE: u64 = 16 << 20;

/// An object a manifest names that is not the content or the text: a certificate.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    /// SHA-256 of the bytes = the object name (§6).
    pub sha256: Sha256Digest,
    /// BLAKE3 of the same bytes.
    pub blake3: Blake3Digest,
    /// Length in bytes.
    pub size: u64,
}

impl ObjectRef {
    /// The reference to `bytes`.
    pub fn of(bytes: &[u8]) -> ObjectRef {
        ObjectRef {
            sha256: Sha256Digest::of(bytes),
            blake3: Blake3Digest::of(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// One connection the capture opened: each request (the first and each redirect) has its own,
/// so each records its own address and handshake.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The URL requested over it (as recorded: without credentials).
    pub url: String,
    /// The IP address and port connected to, as Rust's `SocketAddr` prints it
    /// (`192.0.2.7:443`, `[2001:db8::1]:443`).
    pub remote: String,
    /// When the TCP connection was established (strict timestamp, §1).
    pub connected_at: String,
    /// For `https` URLs, the handshake; null for `http`.
    pub tls: Option<TlsSession>,
    /// The response exactly as the server sent it on this connection (after TLS): status line,
    /// header fields and body still in its transfer and content codings, as an object of at
    /// most [`MAX_RECORDED_RESPONSE`] bytes that is one complete HTTP/1.x response (FORMAT
    /// §3.10). Absent (the key is omitted) when not kept: the response was larger, did not
    /// arrive whole, or the manifest predates the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ObjectRef>,
}

/// A TLS handshake as the client saw it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct TlsSession {
    /// The server name sent (SNI) and checked against the certificate.
    pub server_name: String,
    /// The certificates the server sent, leaf first, exactly as sent (DER objects). Empty when
    /// the handshake failed before the server's certificates arrived.
    pub chain: Vec<ObjectRef>,
    /// Whether the chain was accepted: it leads to one of the trust roots, is valid now and
    /// names `server_name`. A capture whose chain was refused is a failed capture.
    pub trusted: bool,
    /// The protocol version (`TLSv1.3`, `TLSv1.2`); null when the handshake did not complete.
    pub version: Option<String>,
    /// The cipher suite's IANA name (`TLS_AES_128_GCM_SHA256`); null when not negotiated.
    pub cipher_suite: Option<String>,
    /// The key-exchange group's IANA name (`x25519`, `secp256r1`, `X25519MLKEM768`); null when
    /// not negotiated.
    pub group: Option<String>,
    /// The ALPN protocol agreed (`http/1.1`), or null when none was.
    pub alpn: Option<String>,
}

/// The trust roots a capture's TLS handshakes were checked against.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct TrustRoots {
    /// The bundled root set: its name and a digest of its trust anchors (FORMAT §3.10), so that
    /// two captures can be seen to have trusted the same set.
    pub bundled: String,
    /// Roots added for this capture (`--ca-cert`), as DER certificate objects.
    pub added: Vec<ObjectRef>,
}

impl TrustRoots {
    /// The name and digest of the bundled set, as [`TrustRoots::bundled`] records it.
    pub fn bundled_name(name: &str, anchors: usize, digest: &Sha256Digest) -> String {
        format!("{name}; {anchors} anchors; sha256:{}", digest.to_hex())
    }
}

/// Whether `remote` is an address as [`Connection::remote`] records it.
fn is_socket_address(remote: &str) -> bool {
    remote
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.to_string() == remote)
}

/// Checks the connection record of an HTTP exchange (FORMAT §3.10) whose requests were
/// `requests` (each redirect's URL, then the final URL): one connection per request in order
/// (a failure may lack the last), each well formed, and for a successful capture every one
/// trusted. Errors say what is inconsistent.
pub(crate) fn check_connections(
    requests: &[&str],
    connections: &[Connection],
    roots: &TrustRoots,
    success: bool,
) -> Result<(), String> {
    if roots.added.len() > MAX_ADDED_ROOTS {
        return Err(format!(
            "{} added trust roots, more than {MAX_ADDED_ROOTS}",
            roots.added.len()
        ));
    }
    // The last request may have failed before a connection was made.
    let complete = connections.len() == requests.len();
    if !complete && connections.len() + 1 != requests.len() {
        return Err(format!(
            "{} connections recorded for {} requests",
            connections.len(),
            requests.len()
        ));
    }
    if success && !complete {
        return Err("a capture records a connection for every request".into());
    }
    for (i, (c, url)) in connections.iter().zip(requests).enumerate() {
        if c.url != *url {
            return Err(format!(
                "connection {i} is for {:?}, not the request {url:?}",
                c.url
            ));
        }
        check_connection(&format!("connection {i}"), c, success)?;
    }
    Ok(())
}

/// Checks one connection record (FORMAT §3.10): the address and time forms, a handshake exactly
/// for `https` URLs, its bounds, and — when `must_be_trusted` — an accepted chain.
pub(crate) fn check_connection(
    what: &str,
    c: &Connection,
    must_be_trusted: bool,
) -> Result<(), String> {
    let bad = |s: String| Err(s);
    if !is_socket_address(&c.remote) {
        return bad(format!(
            "{what} remote {:?} is not an IP address and port",
            c.remote
        ));
    }
    if crate::time::parse_rfc3339_seconds(&c.connected_at).is_none() {
        return bad(format!(
            "{what} connected_at {:?} is not RFC 3339 UTC with whole seconds",
            c.connected_at
        ));
    }
    if let Some(r) = &c.response
        && r.size > MAX_RECORDED_RESPONSE
    {
        return bad(format!(
            "{what} response of {} bytes is over the {MAX_RECORDED_RESPONSE}-byte limit",
            r.size
        ));
    }
    let https = c.url.starts_with("https://");
    match &c.tls {
        None if https => bad(format!("{what} to an https URL has no tls")),
        Some(_) if !https => bad(format!("{what} to a non-https URL has tls")),
        None => Ok(()),
        Some(t) => {
            if t.chain.len() > MAX_CHAIN_CERTIFICATES {
                return bad(format!(
                    "{what} chain has {} certificates, more than {MAX_CHAIN_CERTIFICATES}",
                    t.chain.len()
                ));
            }
            let negotiated = t.version.is_some() && t.cipher_suite.is_some();
            if t.trusted && (t.chain.is_empty() || !negotiated) {
                return bad(format!(
                    "{what} is trusted without a chain or a negotiated version and suite"
                ));
            }
            if must_be_trusted && !t.trusted {
                return bad(format!("a capture answered over the untrusted {what}"));
            }
            Ok(())
        }
    }
}
