//! How exhibit's records become WARC records (docs/FORMAT.md §17): what each capture stored is
//! described honestly — a `response` record where a connection kept the whole response as
//! received (`Connection::response`), a `resource` record where only the decoded body was kept
//! (and for a browser capture's renderings), and `metadata` records, under `urn:exhibit:` URIs
//! that no replay tool mistakes for the page, for each signed manifest, its signature and its
//! log proof, the checkpoint and its time-stamp tokens.
//!
//! Pure: the blocks are named (bytes in hand, or an archive object by digest) and the caller
//! streams them.

use std::collections::HashMap;

use exhibit_core::connection::{Connection, ObjectRef};
use exhibit_core::{CaptureManifest, Sha256Digest};
use sha2::{Digest, Sha256};

use crate::record::{Record, RecordType, record_id, sha256_label};
use crate::response::ResponseFacts;

/// The `Content-Type` of a `response` record's block.
pub const HTTP_RESPONSE_TYPE: &str = "application/http; msgtype=response";

/// What the caller read from each recorded response object a manifest names
/// ([`crate::response::read_response`]), by its SHA-256. A response missing here (unreadable,
/// or not one complete response) is written as before there were responses: its body as a
/// `resource` record.
pub type Responses = HashMap<Sha256Digest, ResponseFacts>;

/// A record's block: bytes in hand, or an archive object the caller opens (and checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The archive object with this SHA-256 and size.
    Object {
        /// Its SHA-256.
        sha256: Sha256Digest,
        /// Its size.
        size: u64,
    },
}

/// A record and its block, ready to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The record.
    pub record: Record,
    /// Its block.
    pub block: Block,
}

/// A signed record of the archive as it goes into a WARC.
pub struct SignedRecord<'a> {
    /// The record id (`EX-C-000042`).
    pub id: &'a str,
    /// The parsed capture manifest, for a capture (`None` for a provision).
    pub capture: Option<&'a CaptureManifest>,
    /// When it was made, as its manifest claims (RFC 3339 seconds).
    pub date: &'a str,
    /// The manifest bytes, exactly as signed.
    pub manifest: &'a [u8],
    /// The raw Ed25519 signature.
    pub signature: &'a [u8],
    /// Its C2SP tlog-proof, if any: made at export time, against the export's checkpoint.
    pub proof: Option<&'a str>,
    /// When the export was made (RFC 3339 seconds): the date of the proof's record.
    pub exported: &'a str,
    /// The recorded responses its manifest names, read.
    pub responses: &'a Responses,
}

/// `urn:exhibit:<origin>:<what>`: the URI of exhibit's own metadata, with every character of
/// the origin outside RFC 8141's safe set percent-encoded.
pub fn urn(origin: &str, what: &str) -> String {
    let mut o = String::new();
    for b in origin.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    format!("urn:exhibit:{o}:{what}")
}

/// A record id unique to what the record is (`key`: origin, record, role and the export's
/// warcinfo id) and to its block's digest, so that two exports never give different records
/// one id, and the same export always gives the same ids.
fn unique_id(key: &str, block_sha256: &[u8; 32]) -> String {
    record_id(&format!("{key} {}", sha256_label(block_sha256)))
}

fn bytes_record(
    kind: RecordType,
    key: &str,
    date: &str,
    content_type: &str,
    fields: Vec<(String, String)>,
    bytes: Vec<u8>,
) -> Planned {
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    Planned {
        record: Record {
            kind,
            id: unique_id(key, &digest),
            date: date.to_owned(),
            content_type: content_type.to_owned(),
            fields,
            length: bytes.len() as u64,
            block_sha256: digest,
        },
        block: Block::Bytes(bytes),
    }
}

/// The `warcinfo` record that opens the file: what wrote it, for which archive and key.
pub fn warcinfo(origin: &str, signer: &str, date: &str, software: &str) -> Planned {
    let body = format!(
        "software: {software}\r\nformat: WARC File Format 1.1\r\nconformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
         description: captures of the exhibit archive {origin}, each with its signed manifest (Ed25519, key {signer}), signature and log proof in metadata records under urn:exhibit:\r\n"
    );
    bytes_record(
        RecordType::Warcinfo,
        &format!("warcinfo {origin} {date} {software}"),
        date,
        "application/warc-fields",
        Vec::new(),
        body.into_bytes(),
    )
}

/// The records of one signed record: for a capture with content, a `resource` record of the
/// captured bytes at the URL they came from; for a browser capture, a `resource` record of each
/// other response body the page used (at its own URL) and of the screenshot, rendered DOM and
/// print (at `urn:exhibit:` URIs); then `metadata` records of its manifest, signature and
/// proof, referring to the first resource when there is one.
pub fn records_of(origin: &str, warcinfo_id: &str, r: &SignedRecord<'_>) -> Vec<Planned> {
    let mut out = Vec::new();
    if let Some(m) = r.capture {
        out.extend(resources_of(origin, warcinfo_id, r, m));
    }
    let refers_to = out.first().map(|p: &Planned| p.record.id.clone());
    let meta = |what: &str, date: &str, content_type: &str, bytes: Vec<u8>| {
        let mut fields = vec![
            (
                "WARC-Target-URI".to_owned(),
                urn(origin, &format!("{}:{what}", r.id)),
            ),
            ("WARC-Warcinfo-ID".to_owned(), warcinfo_id.to_owned()),
        ];
        if let Some(to) = &refers_to {
            fields.push(("WARC-Refers-To".to_owned(), to.clone()));
        }
        bytes_record(
            RecordType::Metadata,
            &format!("{warcinfo_id} {origin} {} {what}", r.id),
            date,
            content_type,
            fields,
            bytes,
        )
    };
    out.push(meta(
        "manifest",
        r.date,
        "application/json",
        r.manifest.to_vec(),
    ));
    out.push(meta(
        "signature",
        r.date,
        "application/octet-stream",
        r.signature.to_vec(),
    ));
    if let Some(proof) = r.proof {
        out.push(meta(
            "tlog-proof",
            r.exported,
            "text/plain",
            proof.as_bytes().to_vec(),
        ));
    }
    out
}

/// A `response` record at `target` of the recorded response `object`, read as `facts`: its
/// payload digest is of the body as transmitted, as `warcio` writes and checks it.
fn object_response(
    key: String,
    date: &str,
    target: &str,
    warcinfo_id: &str,
    object: &ObjectRef,
    facts: &ResponseFacts,
    connection: &Connection,
) -> Planned {
    let mut fields = vec![
        ("WARC-Target-URI".to_owned(), target.to_owned()),
        ("WARC-Warcinfo-ID".to_owned(), warcinfo_id.to_owned()),
        (
            "WARC-Payload-Digest".to_owned(),
            sha256_label(&facts.transmitted_sha256),
        ),
    ];
    fields.extend(connection_fields(connection));
    Planned {
        record: Record {
            kind: RecordType::Response,
            id: unique_id(&key, object.sha256.as_bytes()),
            date: date.to_owned(),
            content_type: HTTP_RESPONSE_TYPE.to_owned(),
            fields,
            length: object.size,
            block_sha256: *object.sha256.as_bytes(),
        },
        block: Block::Object {
            sha256: object.sha256,
            size: object.size,
        },
    }
}

/// The connection's recorded response and what was read from it, when both are there.
fn recorded_response<'a>(
    r: &'a SignedRecord<'_>,
    c: Option<&'a Connection>,
) -> Option<(&'a Connection, &'a ObjectRef, &'a ResponseFacts)> {
    let c = c?;
    let o = c.response.as_ref()?;
    Some((c, o, r.responses.get(&o.sha256)?))
}

/// A `resource` record of the archive object `object` at `target`.
#[allow(clippy::too_many_arguments)]
fn object_resource(
    key: String,
    date: &str,
    target: &str,
    warcinfo_id: &str,
    content_type: &str,
    sha256: Sha256Digest,
    size: u64,
    connection: Option<&Connection>,
) -> Planned {
    let mut fields = vec![
        ("WARC-Target-URI".to_owned(), target.to_owned()),
        ("WARC-Warcinfo-ID".to_owned(), warcinfo_id.to_owned()),
        (
            "WARC-Payload-Digest".to_owned(),
            sha256_label(sha256.as_bytes()),
        ),
    ];
    fields.extend(connection.map(connection_fields).unwrap_or_default());
    Planned {
        record: Record {
            kind: RecordType::Resource,
            id: unique_id(&key, sha256.as_bytes()),
            date: date.to_owned(),
            content_type: content_type.to_owned(),
            fields,
            length: size,
            block_sha256: *sha256.as_bytes(),
        },
        block: Block::Object { sha256, size },
    }
}

/// The records of what capture `m` fetched: its content, as a `response` record where the
/// connection kept the whole response, else a `resource` record of the body; the redirects
/// that led a successful capture to it, as `response` records where kept whole; then a browser
/// capture's other responses the same way (each URL once, the page's own URL only as the
/// content; 2xx, and 3xx where kept whole), screenshot, DOM and print.
fn resources_of(
    origin: &str,
    warcinfo_id: &str,
    r: &SignedRecord<'_>,
    m: &CaptureManifest,
) -> Vec<Planned> {
    let mut out = Vec::new();
    // The URL the bytes came from: an HTTP capture's final URL, an imported record's target.
    let target = m
        .http
        .as_ref()
        .map(|h| h.final_url.as_str())
        .or(m.warc.as_ref().map(|w| w.target_uri.as_str()))
        .unwrap_or(m.document.url.as_str());
    let key = |what: &str| format!("{warcinfo_id} {origin} {} {what}", r.id);
    let mut seen = std::collections::BTreeSet::new();
    let connections: &[Connection] = m
        .http
        .as_ref()
        .and_then(|h| h.connections.as_deref())
        .unwrap_or(&[]);
    // The connection of the request that fetched the content, if it was the last made.
    let last = m
        .http
        .as_ref()
        .and_then(|h| connections.last().filter(|c| c.url == h.final_url));
    if let Some(content) = &m.content {
        // A failure's body (an error page, or a page from a server whose certificate was
        // refused) is not the document: it goes under exhibit's own URI, never the page's.
        let (target, role) = if m.is_success() {
            (target.to_owned(), "content")
        } else {
            (urn(origin, &format!("{}:error-body", r.id)), "error-body")
        };
        seen.insert(target.clone());
        match recorded_response(r, last).filter(|_| m.is_success()) {
            Some((c, o, facts)) => {
                out.push(object_response(
                    key(role),
                    r.date,
                    &target,
                    warcinfo_id,
                    o,
                    facts,
                    c,
                ));
            }
            None => out.push(object_resource(
                key(role),
                r.date,
                &target,
                warcinfo_id,
                &content.media_type,
                content.sha256,
                content.size,
                last,
            )),
        }
    }
    // The redirects that led a successful capture to it, after it (the first record is the
    // one its manifest refers to).
    let redirects = match &m.http {
        Some(h) if m.is_success() => h.redirects.len(),
        _ => 0,
    };
    for (i, c) in connections.iter().enumerate().take(redirects) {
        let Some((c, o, facts)) = recorded_response(r, Some(c)) else {
            continue;
        };
        if is_redirect(facts.head.status) && seen.insert(c.url.clone()) {
            let k = key(&format!("redirect {i}"));
            out.push(object_response(k, r.date, &c.url, warcinfo_id, o, facts, c));
        }
    }
    let Some(b) = &m.browser else {
        return out;
    };
    for (i, res) in b.resources.iter().enumerate() {
        if res.method != "GET" || seen.contains(&res.url) {
            continue;
        }
        let k = key(&format!("resource {i}"));
        // Only what the server served as the resource: an error page (a 404 for the favicon)
        // is not the resource, and a replay tool would serve it as one.
        match recorded_response(r, res.connection.as_ref()) {
            Some((c, o, facts)) if is_served(facts.head.status) => {
                seen.insert(res.url.clone());
                out.push(object_response(
                    k,
                    r.date,
                    &res.url,
                    warcinfo_id,
                    o,
                    facts,
                    c,
                ));
            }
            _ => {
                let Some(body) = &res.body else { continue };
                if !res.status.is_some_and(|s| (200..300).contains(&s)) {
                    continue;
                }
                seen.insert(res.url.clone());
                out.push(object_resource(
                    k,
                    r.date,
                    &res.url,
                    warcinfo_id,
                    res.media_type
                        .as_deref()
                        .unwrap_or("application/octet-stream"),
                    body.sha256,
                    body.size,
                    res.connection.as_ref(),
                ));
            }
        }
    }
    let made = [
        ("screenshot", "image/png", b.screenshot.as_ref()),
        ("dom", "text/html", Some(&b.dom)),
        ("pdf", "application/pdf", b.pdf.as_ref()),
    ];
    for (what, content_type, object) in made {
        let Some(o) = object else { continue };
        out.push(object_resource(
            key(what),
            r.date,
            &urn(origin, &format!("{}:{what}", r.id)),
            warcinfo_id,
            content_type,
            o.sha256,
            o.size,
            None,
        ));
    }
    out
}

/// The statuses of redirects a replay tool follows.
fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Whether a response with `status` was the resource (or a redirect to it) as the server
/// served it, and so belongs at its URL.
fn is_served(status: u16) -> bool {
    (200..300).contains(&status) || is_redirect(status)
}

/// A `metadata` record of a log file (the checkpoint note, a time-stamp token) named `what`.
pub fn log_record(
    origin: &str,
    warcinfo_id: &str,
    date: &str,
    what: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Planned {
    bytes_record(
        RecordType::Metadata,
        &format!("{warcinfo_id} {origin} log {what}"),
        date,
        content_type,
        vec![
            ("WARC-Target-URI".to_owned(), urn(origin, what)),
            ("WARC-Warcinfo-ID".to_owned(), warcinfo_id.to_owned()),
        ],
        bytes,
    )
}

/// The facts of the connection that carried a response: `WARC-IP-Address`, `WARC-Protocol`
/// (the TLS version as `tls/1.3`, then the HTTP version) and `WARC-Cipher-Suite` (IANA name),
/// as proposed in the IIPC WARC specifications.
fn connection_fields(c: &Connection) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(ip) = ip_of(&c.remote) {
        out.push(("WARC-IP-Address".to_owned(), ip));
    }
    if let Some(tls) = &c.tls {
        if let Some(v) = tls.version.as_deref().and_then(|v| v.strip_prefix("TLSv")) {
            out.push(("WARC-Protocol".to_owned(), format!("tls/{v}")));
        }
        let http = match tls.alpn.as_deref() {
            Some("h2") => "h2",
            _ => "http/1.1",
        };
        out.push(("WARC-Protocol".to_owned(), http.to_owned()));
        if let Some(suite) = &tls.cipher_suite {
            out.push(("WARC-Cipher-Suite".to_owned(), suite.clone()));
        }
    } else {
        out.push(("WARC-Protocol".to_owned(), "http/1.1".to_owned()));
    }
    out
}

/// The address of `ip:port` or `[ipv6]:port`.
fn ip_of(remote: &str) -> Option<String> {
    let addr: std::net::SocketAddr = remote.parse().ok()?;
    Some(addr.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_are_safe_and_addresses_lose_their_port() {
        assert_eq!(
            urn("demo.example", "EX-C-000001:manifest"),
            "urn:exhibit:demo.example:EX-C-000001:manifest"
        );
        assert_eq!(urn("a b/c", "x"), "urn:exhibit:a%20b%2Fc:x");
        assert_eq!(ip_of("127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip_of("[::1]:443").as_deref(), Some("::1"));
        assert_eq!(ip_of("nonsense"), None);
    }
}
