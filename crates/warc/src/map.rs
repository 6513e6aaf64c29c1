//! How exhibit's records become WARC records (docs/FORMAT.md §17): what each capture stored is
//! described honestly — a `resource` record for the captured bytes (exhibit keeps the body of
//! an HTTP response, not its raw status line and headers, so it never writes a `response`
//! record), and `metadata` records, under `urn:exhibit:` URIs that no replay tool mistakes for
//! the page, for each signed manifest, its signature and its log proof, the checkpoint and its
//! time-stamp tokens.
//!
//! Pure: the blocks are named (bytes in hand, or an archive object by digest) and the caller
//! streams them.

use exhibit_core::{CaptureManifest, Sha256Digest};
use sha2::{Digest, Sha256};

use crate::record::{Record, RecordType, record_id, sha256_label};

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
    /// Its C2SP tlog-proof, if any.
    pub proof: Option<&'a str>,
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

fn bytes_record(
    kind: RecordType,
    key: &str,
    date: &str,
    content_type: &str,
    fields: Vec<(String, String)>,
    bytes: Vec<u8>,
) -> Planned {
    Planned {
        record: Record {
            kind,
            id: record_id(key),
            date: date.to_owned(),
            content_type: content_type.to_owned(),
            fields,
            length: bytes.len() as u64,
            block_sha256: Sha256::digest(&bytes).into(),
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
        &format!("warcinfo {origin} {date}"),
        date,
        "application/warc-fields",
        Vec::new(),
        body.into_bytes(),
    )
}

/// The records of one signed record: for a capture with content, a `resource` record of the
/// captured bytes at the URL they came from; then `metadata` records of its manifest,
/// signature and proof, referring to the resource when there is one.
pub fn records_of(origin: &str, warcinfo_id: &str, r: &SignedRecord<'_>) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut refers_to = None;
    if let Some(m) = r.capture
        && let Some(content) = &m.content
    {
        let target = m
            .http
            .as_ref()
            .map_or(m.document.url.as_str(), |h| h.final_url.as_str());
        let mut fields = vec![
            ("WARC-Target-URI".to_owned(), target.to_owned()),
            ("WARC-Warcinfo-ID".to_owned(), warcinfo_id.to_owned()),
            (
                "WARC-Payload-Digest".to_owned(),
                sha256_label(content.sha256.as_bytes()),
            ),
        ];
        fields.extend(connection_fields(m));
        let id = record_id(&format!("{origin} {} content", r.id));
        refers_to = Some(id.clone());
        out.push(Planned {
            record: Record {
                kind: RecordType::Resource,
                id,
                date: r.date.to_owned(),
                content_type: content.media_type.clone(),
                fields,
                length: content.size,
                block_sha256: *content.sha256.as_bytes(),
            },
            block: Block::Object {
                sha256: content.sha256,
                size: content.size,
            },
        });
    }
    let meta = |what: &str, content_type: &str, bytes: Vec<u8>| {
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
            &format!("{origin} {} {what}", r.id),
            r.date,
            content_type,
            fields,
            bytes,
        )
    };
    out.push(meta("manifest", "application/json", r.manifest.to_vec()));
    out.push(meta(
        "signature",
        "application/octet-stream",
        r.signature.to_vec(),
    ));
    if let Some(proof) = r.proof {
        out.push(meta("tlog-proof", "text/plain", proof.as_bytes().to_vec()));
    }
    out
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
        &format!("{origin} log {what}"),
        date,
        content_type,
        vec![
            ("WARC-Target-URI".to_owned(), urn(origin, what)),
            ("WARC-Warcinfo-ID".to_owned(), warcinfo_id.to_owned()),
        ],
        bytes,
    )
}

/// The connection facts of the request that fetched the content (its last connection):
/// `WARC-IP-Address`, `WARC-Protocol` (the TLS version as `tls/1.3`, and the HTTP version)
/// and `WARC-Cipher-Suite` (IANA name), as proposed in the IIPC WARC specifications.
fn connection_fields(m: &CaptureManifest) -> Vec<(String, String)> {
    let Some(c) = m
        .http
        .as_ref()
        .and_then(|h| h.connections.as_ref())
        .and_then(|c| c.last())
    else {
        return Vec::new();
    };
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
