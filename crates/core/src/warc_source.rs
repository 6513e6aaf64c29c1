//! Where an imported capture came from (method `warc-import`, FORMAT §3.12): the WARC file, the
//! record in it, and what that record says — kept apart from what exhibit itself claims. An
//! imported capture's `captured_at` is when exhibit imported it; `warc_date` is when the WARC's
//! writer says it captured the record, its claim, not exhibit's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;

/// The WARC record a capture was imported from.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct WarcSource {
    /// The WARC file's name as given (its last path component: the importing machine's folders
    /// say nothing about the evidence).
    pub file_name: String,
    /// SHA-256 of the whole WARC file, as read.
    pub file_sha256: Sha256Digest,
    /// Its size in bytes.
    pub file_size: u64,
    /// `WARC-Record-ID`, as written.
    pub record_id: String,
    /// Where the record starts in the file (for a `.warc.gz`, its gzip member).
    pub offset: u64,
    /// `WARC-Type`: `response` or `resource`.
    pub record_type: String,
    /// `WARC-Target-URI`, as written.
    pub target_uri: String,
    /// `WARC-Date`, as written: the WARC writer's claim of when it captured the record.
    pub warc_date: String,
    /// For a `response` record: the HTTP status code (always 200: others are not imported);
    /// `null` for a resource, or for a response refused because its HTTP head could not be read.
    pub status: Option<u16>,
    /// For a `response` record: its headers among [`crate::manifest::RECORDED_HEADERS`].
    pub headers: BTreeMap<String, String>,
    /// The codings undone to get the content from the payload, in the order undone:
    /// `chunked` (transfer), then each content coding (`gzip`, `deflate`, `br`, `zstd`).
    pub decoded: Vec<String>,
    /// `WARC-Block-Digest`, as written, when the record has one (checked before import).
    pub block_digest: Option<String>,
    /// `WARC-Payload-Digest`, as written, when the record has one (checked before import).
    pub payload_digest: Option<String>,
    /// Which bytes the payload digest matched: `as-transmitted` or `dechunked`; `null` when there
    /// is none or its algorithm is one exhibit does not compute.
    pub payload_digest_over: Option<String>,
}

impl WarcSource {
    /// Checks the fields a reader relies on: the record type, the status, every string within
    /// `max_recorded` bytes (the manifest's recording limit) plus the cut marker, and the
    /// digest form.
    pub fn check(&self, max_recorded: usize) -> Result<(), String> {
        match (self.record_type.as_str(), self.status) {
            ("response", Some(200) | None) | ("resource", None) => {}
            (t, s) => {
                return Err(format!(
                    "warc: a {t:?} record with status {s:?} is not one exhibit imports"
                ));
            }
        }
        if self.record_type == "resource" && !self.headers.is_empty() {
            return Err("warc: a resource record has no HTTP headers".into());
        }
        let cap = max_recorded + "…[truncated]".len();
        let strings = [
            &self.file_name,
            &self.record_id,
            &self.target_uri,
            &self.warc_date,
        ];
        if strings.iter().any(|s| s.len() > cap)
            || self.headers.values().any(|v| v.len() > cap)
            || self
                .block_digest
                .iter()
                .chain(&self.payload_digest)
                .any(|d| d.len() > cap)
        {
            return Err("warc: a recorded string is longer than the recording limit".into());
        }
        match self.payload_digest_over.as_deref() {
            None | Some("as-transmitted") | Some("dechunked") => {}
            Some(other) => return Err(format!("warc: payload_digest_over {other:?}")),
        }
        if self.payload_digest_over.is_some() && self.payload_digest.is_none() {
            return Err("warc: payload_digest_over without a payload_digest".into());
        }
        let codings = ["chunked", "gzip", "deflate", "br", "zstd"];
        if let Some(c) = self.decoded.iter().find(|c| !codings.contains(&c.as_str())) {
            return Err(format!("warc: unknown coding {c:?} in decoded"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 4096;

    fn source() -> WarcSource {
        WarcSource {
            file_name: "crawl.warc.gz".into(),
            file_sha256: Sha256Digest([7; 32]),
            file_size: 1000,
            record_id: "<urn:uuid:1>".into(),
            offset: 0,
            record_type: "response".into(),
            target_uri: "https://example.com/".into(),
            warc_date: "2024-01-02T03:04:05Z".into(),
            status: Some(200),
            headers: BTreeMap::new(),
            decoded: vec!["chunked".into(), "gzip".into()],
            block_digest: Some("sha1:AAAA".into()),
            payload_digest: Some("sha1:BBBB".into()),
            payload_digest_over: Some("dechunked".into()),
        }
    }

    #[test]
    fn only_what_an_import_makes_passes() {
        assert_eq!(source().check(LIMIT), Ok(()));
        let bad: [fn(&mut WarcSource); 7] = [
            |w| w.status = Some(404),
            |w| w.record_type = "request".into(),
            |w| {
                w.record_type = "resource".into();
                w.status = Some(200);
            },
            |w| w.payload_digest_over = Some("somehow".into()),
            |w| w.payload_digest = None,
            |w| w.decoded.push("compress".into()),
            |w| w.target_uri = "x".repeat(LIMIT + 100),
        ];
        for change in bad {
            let mut w = source();
            change(&mut w);
            assert!(w.check(LIMIT).is_err(), "{w:?}");
        }
    }
}
