//! WACZ 1.1.1 packages (docs/FORMAT.md §18): the names inside a package and the files made
//! from its WARC's records — the CDXJ index, the page list, `datapackage.json` and
//! `datapackage-digest.json` — as pure functions, so that the exporter writes them and
//! exhibit-verify rebuilds them from the WARC it reads and compares bytes.
//!
//! Not for the zip container (the exporter and the verifier use the `zip` crate, stored
//! entries only) nor for choosing records.

use serde::Deserialize;
use serde_json::json;

use crate::record::sha256_label;

/// The WACZ version written in `datapackage.json`.
pub const WACZ_VERSION: &str = "1.1.1";
/// The one WARC of a package.
pub const WARC_PATH: &str = "archive/data.warc.gz";
/// The WARC's file name as the index names it.
pub const WARC_NAME: &str = "data.warc.gz";
/// The CDXJ index of the WARC's replayable records (plain, sorted).
pub const INDEX_PATH: &str = "indexes/index.cdx";
/// The page list.
pub const PAGES_PATH: &str = "pages/pages.jsonl";
/// The package description.
pub const DATAPACKAGE: &str = "datapackage.json";
/// The digest of the package description and its signatures.
pub const DIGEST: &str = "datapackage-digest.json";
/// Where exhibit's own files go: directly in this folder, since `wacz validate` matches a file
/// by its last two path parts.
pub const EXHIBIT_DIR: &str = "exhibit/";
/// The evidence bundle of the package's records: what exhibit-verify checks.
pub const BUNDLE_PATH: &str = "exhibit/bundle.tar.zst";

/// The name a bundle's tag file under `exhibit/` has in a package, flattened into
/// [`EXHIBIT_DIR`]: `exhibit/timestamps/<tsa>/<file>` becomes `exhibit/<tsa>.<file>`, any
/// other `exhibit/…/<file>` becomes `exhibit/<file>`. `None` for files outside `exhibit/`.
pub fn flat_name(bag_path: &str) -> Option<String> {
    let rest = bag_path.strip_prefix("exhibit/")?;
    if let Some(ts) = rest.strip_prefix("timestamps/") {
        let (tsa, file) = ts.split_once('/')?;
        return Some(format!("{EXHIBIT_DIR}{tsa}.{file}"));
    }
    let file = rest.rsplit('/').next()?;
    if file.is_empty() {
        return None;
    }
    Some(format!("{EXHIBIT_DIR}{file}"))
}

/// A WARC record as the index and the page list see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    /// Where it starts in the WARC file.
    pub offset: u64,
    /// How many bytes of the file it occupies (its gzip member).
    pub length: u64,
    /// `WARC-Type`.
    pub kind: String,
    /// `WARC-Record-ID`.
    pub id: String,
    /// `WARC-Target-URI`, if any.
    pub target: Option<String>,
    /// `WARC-Date`.
    pub date: String,
    /// `Content-Type`.
    pub content_type: String,
    /// `WARC-Refers-To`, if any.
    pub refers_to: Option<String>,
    /// The block's SHA-256.
    pub block_sha256: [u8; 32],
    /// What it replays as ([`Replay::of`]).
    pub replay: Replay,
}

/// What a record replays as, as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// The HTTP status.
    pub status: u16,
    /// The media type.
    pub mime: String,
    /// The payload's SHA-256.
    pub digest: [u8; 32],
}

impl Indexed {
    fn replayable(&self) -> Option<&str> {
        let t = self.target.as_deref()?;
        let kind = self.kind == "resource" || self.kind == "response";
        (kind && (t.starts_with("http://") || t.starts_with("https://"))).then_some(t)
    }
}

impl Replay {
    /// What a record replays as: a `response` record's status and media type from its HTTP
    /// head (`unk` without a `Content-Type`, as pywb writes) and its payload digest as
    /// transmitted; any other record's 200, its `Content-Type` essence and its block digest.
    pub fn of(
        kind: &str,
        content_type: &str,
        block_sha256: [u8; 32],
        response: Option<&crate::response::ResponseFacts>,
    ) -> Replay {
        match response {
            Some(f) if kind == "response" => Replay {
                status: f.head.status,
                mime: f.mime.clone().unwrap_or_else(|| "unk".to_owned()),
                digest: f.transmitted_sha256,
            },
            _ => Replay {
                status: 200,
                mime: crate::response::essence(content_type),
                digest: block_sha256,
            },
        }
    }
}

/// `2026-04-30T06:15:21Z` → `20260430061521`.
fn timestamp14(date: &str) -> String {
    date.chars().filter(char::is_ascii_digit).take(14).collect()
}

/// The SURT form of a URL as web archives sort it (as Python's `surt`, which pywb and
/// cdxj-indexer use): scheme dropped, host lower-cased without a leading `www.` and written
/// backwards with commas (an IPv4 address too), a port other than
/// the scheme's default kept, then `)` and the path and query lower-cased, the query's
/// parameters sorted, the fragment dropped.
pub fn surt(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split('#').next().unwrap_or("");
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let host_port = authority
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    // `[v6]:port`, `host:port`, or a host alone.
    let (host, port) = match host_port.rfind(':') {
        Some(i)
            if !host_port[i..].contains(']')
                && host_port[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            (
                host_port[..i].to_owned(),
                Some(host_port[i + 1..].to_owned()),
            )
        }
        _ => (host_port.clone(), None),
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    };
    let port = port.filter(|p| Some(p.as_str()) != default);
    let mut host = host;
    if !host.starts_with('[') {
        if let Some(h) = host.strip_prefix("www.") {
            host = h.to_owned();
        }
        host = host
            .trim_end_matches('.')
            .split('.')
            .rev()
            .collect::<Vec<_>>()
            .join(",");
    }
    let mut out = host;
    if let Some(p) = port {
        out.push(':');
        out.push_str(&p);
    }
    out.push(')');
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    out.push_str(&if p.is_empty() {
        "/".to_owned()
    } else {
        p.to_ascii_lowercase()
    });
    if !q.is_empty() {
        let mut params: Vec<String> = q.split('&').map(str::to_ascii_lowercase).collect();
        params.sort();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The CDXJ index of the replayable records (`response` and `resource` records at `http(s)`
/// URLs): one line
/// each, `SURT TIMESTAMP JSON`, sorted bytewise, the JSON's keys in the order web-archive
/// tools write them.
pub fn index(records: &[Indexed]) -> Vec<u8> {
    let mut lines: Vec<String> = records
        .iter()
        .filter_map(|r| {
            let url = r.replayable()?;
            Some(format!(
                "{} {} {{\"url\": {}, \"mime\": {}, \"status\": \"{}\", \"digest\": \"{}\", \"length\": \"{}\", \"offset\": \"{}\", \"filename\": \"{WARC_NAME}\"}}\n",
                surt(url),
                timestamp14(&r.date),
                json_string(url),
                json_string(&r.replay.mime),
                r.replay.status,
                sha256_label(&r.replay.digest),
                r.length,
                r.offset,
            ))
        })
        .collect();
    lines.sort();
    lines.concat().into_bytes()
}

/// The page list: a header line, then one page per captured document — each replayable
/// record that an exhibit manifest refers to (`WARC-Refers-To` of a `…:manifest` metadata
/// record), in WARC order, with the exhibit record id as its id and title.
pub fn pages(records: &[Indexed]) -> Vec<u8> {
    let mut out = String::from(
        "{\"format\": \"json-pages-1.0\", \"id\": \"pages\", \"title\": \"Captured documents\"}\n",
    );
    // The exhibit id each manifest record names, by the record it refers to (the first wins).
    let mut manifests: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for m in records.iter().filter(|m| m.kind == "metadata") {
        let id = m
            .target
            .as_deref()
            .and_then(|t| t.strip_suffix(":manifest"))
            .and_then(|t| t.rsplit(':').next());
        if let (Some(to), Some(id)) = (m.refers_to.as_deref(), id) {
            manifests.entry(to).or_insert(id);
        }
    }
    for r in records {
        let Some(url) = r.replayable() else { continue };
        let Some(exhibit_id) = manifests.get(r.id.as_str()) else {
            continue;
        };
        out.push_str(&format!(
            "{{\"id\": {}, \"url\": {}, \"ts\": {}, \"title\": {}}}\n",
            json_string(exhibit_id),
            json_string(url),
            json_string(&r.date),
            json_string(exhibit_id),
        ));
    }
    out.into_bytes()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A file of the package as `datapackage.json` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its path in the package.
    pub path: String,
    /// Its length.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

/// What `datapackage.json` says besides its resources.
#[derive(Clone, Debug)]
pub struct Description<'a> {
    /// `created`: RFC 3339 UTC seconds.
    pub created: &'a str,
    /// `software`.
    pub software: &'a str,
    /// `title`.
    pub title: &'a str,
    /// The first page, if any: its URL and date.
    pub main_page: Option<(&'a str, &'a str)>,
}

/// `datapackage.json`: the Frictionless data package of WACZ 1.1.1, every file but itself and
/// the digest file listed with its path, size and `sha256:` hash. A resource's `name` is its
/// path in lower case (Frictionless names allow `a-z0-9._/-`).
pub fn datapackage(resources: &[Resource], d: &Description<'_>) -> Vec<u8> {
    let list: Vec<serde_json::Value> = resources
        .iter()
        .map(|r| {
            json!({
                "name": r.path.to_ascii_lowercase(),
                "path": r.path,
                "hash": sha256_label(&r.sha256),
                "bytes": r.bytes,
            })
        })
        .collect();
    let mut v = json!({
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": d.title,
        "created": d.created,
        "software": d.software,
        "resources": list,
    });
    if let Some((url, date)) = d.main_page {
        v["mainPageUrl"] = json!(url);
        v["mainPageDate"] = json!(date);
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

/// The part of `datapackage.json` a verifier reads.
#[derive(Clone, Debug, Deserialize)]
pub struct ReadDatapackage {
    /// `wacz_version`.
    pub wacz_version: String,
    /// `created`.
    pub created: String,
    /// `resources`.
    pub resources: Vec<ReadResource>,
}

/// A resource as a verifier reads it.
#[derive(Clone, Debug, Deserialize)]
pub struct ReadResource {
    /// `path`.
    pub path: String,
    /// `hash` (`sha256:<hex>`).
    pub hash: String,
    /// `bytes`.
    pub bytes: u64,
}

/// WACZ's `signedData` for anonymous signing, and exhibit's own signature beside it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Signatures {
    /// `signedData.signature`: base64 of the ECDSA P-384 `r‖s` over the UTF-8 of `hash`.
    pub replay_signature: String,
    /// `signedData.publicKey`: base64 of the P-384 key's DER SubjectPublicKeyInfo.
    pub replay_public_key: String,
    /// `exhibitSignature.signature`: base64 of the archive key's Ed25519 signature over the
    /// UTF-8 of `hash` — the authoritative one.
    pub ed25519_signature: String,
    /// `exhibitSignature.keyFingerprint`: the archive key (`SHA256:…`).
    pub ed25519_key: String,
}

/// `datapackage-digest.json`: the hash of `datapackage.json` (`sha256:<hex>`), WACZ's
/// `signedData` (hash, created, software, signature, publicKey) and `exhibitSignature`.
pub fn digest_file(hash: &str, created: &str, software: &str, s: &Signatures) -> Vec<u8> {
    let v = json!({
        "path": DATAPACKAGE,
        "hash": hash,
        "signedData": {
            "hash": hash,
            "created": created,
            "software": software,
            "signature": s.replay_signature,
            "publicKey": s.replay_public_key,
        },
        "exhibitSignature": {
            "algorithm": "Ed25519",
            "keyFingerprint": s.ed25519_key,
            "signature": s.ed25519_signature,
        },
    });
    let mut out = serde_json::to_string_pretty(&v).unwrap_or_default();
    out.push('\n');
    out.into_bytes()
}

/// A digest file as a verifier reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadDigest {
    /// `path`.
    pub path: String,
    /// `hash`.
    pub hash: String,
    /// `signedData.hash`.
    pub signed_hash: String,
    /// `signedData.created`.
    pub signed_created: String,
    /// The signatures.
    pub signatures: Signatures,
}

/// Parses `datapackage-digest.json`; a one-line reason when a field is missing.
pub fn parse_digest_file(bytes: &[u8]) -> Result<ReadDigest, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let s = |ptr: &str| -> Result<String, String> {
        v.pointer(ptr)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("no string at {ptr}"))
    };
    Ok(ReadDigest {
        path: s("/path")?,
        hash: s("/hash")?,
        signed_hash: s("/signedData/hash")?,
        signed_created: s("/signedData/created")?,
        signatures: Signatures {
            replay_signature: s("/signedData/signature")?,
            replay_public_key: s("/signedData/publicKey")?,
            ed25519_signature: s("/exhibitSignature/signature")?,
            ed25519_key: s("/exhibitSignature/keyFingerprint")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surts_sort_like_web_archives() {
        assert_eq!(
            surt("https://www.Example.com/Privacy?b=2&a=1#top"),
            "com,example)/privacy?a=1&b=2"
        );
        assert_eq!(surt("http://example.com:80/"), "com,example)/");
        assert_eq!(surt("https://example.com"), "com,example)/");
        assert_eq!(surt("https://127.0.0.1:8443/p"), "1,0,0,127:8443)/p");
        assert_eq!(
            surt("https://sub.example.co.uk:8443/x"),
            "uk,co,example,sub:8443)/x"
        );
    }

    #[test]
    fn flat_names_keep_exhibit_files_directly_under_exhibit() {
        assert_eq!(
            flat_name("exhibit/manifests/EX-C-000001.json").as_deref(),
            Some("exhibit/EX-C-000001.json")
        );
        assert_eq!(
            flat_name("exhibit/checkpoint.tsr").as_deref(),
            Some("exhibit/checkpoint.tsr")
        );
        assert_eq!(
            flat_name("exhibit/timestamps/tsa2/checkpoint.tsr").as_deref(),
            Some("exhibit/tsa2.checkpoint.tsr")
        );
        assert_eq!(flat_name("data/content/x.html"), None);
    }

    fn rec(kind: &str, id: &str, target: &str, refers: Option<&str>) -> Indexed {
        Indexed {
            offset: 10,
            length: 20,
            kind: kind.into(),
            id: id.into(),
            target: Some(target.into()),
            date: "2026-04-30T06:15:21Z".into(),
            content_type: "text/html; charset=utf-8".into(),
            refers_to: refers.map(str::to_owned),
            block_sha256: [1; 32],
            replay: Replay::of(kind, "text/html; charset=utf-8", [1; 32], None),
        }
    }

    #[test]
    fn the_index_and_pages_list_the_captured_pages_only() {
        let rs = vec![
            rec("warcinfo", "<a>", "", None),
            rec("resource", "<b>", "https://example.com/p", None),
            rec("resource", "<c>", "https://example.com/style.css", None),
            rec(
                "resource",
                "<d>",
                "urn:exhibit:o:EX-C-000001:screenshot",
                None,
            ),
            rec(
                "metadata",
                "<e>",
                "urn:exhibit:o:EX-C-000001:manifest",
                Some("<b>"),
            ),
        ];
        let idx = String::from_utf8(index(&rs)).unwrap();
        assert_eq!(idx.lines().count(), 2, "{idx}");
        assert!(idx.starts_with("com,example)/p 20260430061521 {\"url\": \"https://example.com/p\", \"mime\": \"text/html\""), "{idx}");
        let p = String::from_utf8(pages(&rs)).unwrap();
        assert_eq!(p.lines().count(), 2, "{p}");
        assert!(
            p.contains("{\"id\": \"EX-C-000001\", \"url\": \"https://example.com/p\""),
            "{p}"
        );
    }
}
