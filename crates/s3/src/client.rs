//! The client and its operations. How one request is sent and retried is in [`request`];
//! files (`put_file_once`, multipart uploads) are in `multipart.rs`.

mod request;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub(crate) use request::{Answer, Failure, Req, read_bounded};

use crate::location::{Endpoint, check_key};
use crate::{
    Config, Credentials, Listed, Location, ObjectInfo, Precondition, Put, Retention, S3Error, xml,
};

/// One ListObjectsV2 page (at most 1,000 keys of at most 1 KiB each) is read to at most this.
const LIST_PAGE_LIMIT: u64 = 8 << 20;

type Reloader = dyn Fn() -> Result<Credentials, S3Error> + Send + Sync;

/// A client for one bucket and prefix. Cheap to clone; clones share the connection pool and
/// the credentials (reloaded for all when they expire).
#[derive(Clone)]
pub struct Client {
    credentials: Arc<RwLock<Credentials>>,
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    /// The checked endpoint, or why it is unusable (reported by every call).
    endpoint: Result<Endpoint, String>,
    agent: ureq::Agent,
    /// Where fresh credentials come from when the store says they expired.
    reload: Box<Reloader>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.shared.config.endpoint)
            .field("location", &self.shared.config.location)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`'s location, signing with `credentials` (reloaded with
    /// [`Credentials::from_environment`] when the store says they expired). An endpoint made
    /// invalid after [`Config::new`] is reported by each call.
    pub fn new(config: Config, credentials: Credentials) -> Client {
        Client::with_reloader(config, credentials, Box::new(Credentials::from_environment))
    }

    pub(crate) fn with_reloader(
        config: Config,
        credentials: Credentials,
        reload: Box<Reloader>,
    ) -> Client {
        let endpoint = Endpoint::parse(&config.endpoint).map_err(|e| e.to_string());
        let t = Some(config.timeout);
        let agent = ureq::Agent::config_builder()
            .timeout_resolve(t)
            .timeout_connect(t)
            .timeout_send_request(t)
            .timeout_recv_response(t)
            .timeout_per_read(t)
            .timeout_per_write(t)
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("exhibit-s3/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            credentials: Arc::new(RwLock::new(credentials)),
            shared: Arc::new(Shared {
                config,
                endpoint,
                agent,
                reload,
            }),
        }
    }

    /// The bucket and prefix.
    pub fn location(&self) -> &Location {
        &self.shared.config.location
    }

    /// The full key of `key` and its `s3://` URL, after checking the key.
    pub(crate) fn object(&self, key: &str) -> Result<(String, String), S3Error> {
        let location = self.location();
        let url = location.object_url(key);
        check_key(key).map_err(|reason| S3Error::InvalidKey {
            url: url.clone(),
            reason: format!("the key {reason}"),
        })?;
        let full = location.full_key(key);
        if full.len() > 1024 {
            return Err(S3Error::InvalidKey {
                url,
                reason: "the key with its prefix is longer than 1024 bytes".into(),
            });
        }
        Ok((full, url))
    }

    /// Write-once: PUT with `If-None-Match: *` and `x-amz-checksum-sha256` (the server checks
    /// it), plus Object Lock headers when `retention` is Some. On 412 (the key exists —
    /// possibly because an earlier attempt of this very call landed before a timeout) the
    /// stored bytes are read and compared: identical => `Ok(Put::AlreadyThere)`; different =>
    /// `Err(S3Error::Conflict)` (an alarm).
    pub fn put_once(
        &self,
        key: &str,
        bytes: &[u8],
        retention: Option<&Retention>,
    ) -> Result<Put, S3Error> {
        let (full, url) = self.object(key)?;
        let sha = Sha256::digest(bytes);
        // Twice: when the object vanishes between the 412 and the read, write again.
        for _ in 0..2 {
            let req = Req::new("PUT", Some(&full))
                .header("content-type", "application/octet-stream")
                .header("if-none-match", "*")
                .checksum(&sha)
                .retention(retention)
                .body(bytes)
                .retry_conflict();
            let exists = self.execute(&req, &url, |answer| match answer.status {
                200..=299 => Ok(false),
                412 => Ok(true),
                _ => Err(answer.into_error(&url).into()),
            })?;
            if !exists {
                return Ok(Put::Created);
            }
            match self.stored_matches(&full, &url, bytes.len() as u64, &sha)? {
                Some(true) => return Ok(Put::AlreadyThere),
                Some(false) => return Err(S3Error::Conflict { url }),
                None => continue,
            }
        }
        Err(S3Error::BadResponse {
            url,
            reason: "the store refuses the write (412) but holds no object under the key".into(),
        })
    }

    /// Compare-and-swap for a mutable pointer: `If-Match: "etag"` when `expected_etag` is Some,
    /// `If-None-Match: *` when None. `Ok(Ok(new_etag))` when written, `Ok(Err(Precondition))`
    /// when someone else changed it (412, 409 ConditionalRequestConflict, or 404 for an
    /// expected object that is gone), `Err` on anything else. When a retry after a lost answer
    /// meets 412, the stored bytes are compared: identical bytes are this call's own write.
    pub fn put_if(
        &self,
        key: &str,
        bytes: &[u8],
        expected_etag: Option<&str>,
        retention: Option<&Retention>,
    ) -> Result<Result<String, Precondition>, S3Error> {
        let (full, url) = self.object(key)?;
        let sha = Sha256::digest(bytes);
        let mut req = Req::new("PUT", Some(&full))
            .header("content-type", "application/octet-stream")
            .checksum(&sha)
            .retention(retention)
            .body(bytes);
        req = match expected_etag {
            Some(etag) => req.header("if-match", format!("\"{}\"", xml::unquote(etag))),
            None => req.header("if-none-match", "*"),
        };
        enum Outcome {
            Written(String),
            Lost { ambiguous: bool },
        }
        let outcome = self.execute(&req, &url, |answer| match answer.status {
            200..=299 => Ok(Outcome::Written(answer.etag(&url)?)),
            412 => Ok(Outcome::Lost {
                ambiguous: answer.ambiguous,
            }),
            409 if answer.code() == "ConditionalRequestConflict" => {
                Ok(Outcome::Lost { ambiguous: false })
            }
            404 if expected_etag.is_some() && answer.code() != "NoSuchBucket" => {
                Ok(Outcome::Lost { ambiguous: false })
            }
            _ => Err(answer.into_error(&url).into()),
        })?;
        match outcome {
            Outcome::Written(etag) => Ok(Ok(etag)),
            Outcome::Lost { ambiguous: false } => Ok(Err(Precondition)),
            Outcome::Lost { ambiguous: true } => {
                match self.get_full(&full, &url, bytes.len() as u64) {
                    Ok(Some((stored, etag))) if stored == bytes => Ok(Ok(etag)),
                    Ok(_) | Err(S3Error::TooLarge { .. }) => Ok(Err(Precondition)),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// GET: `Ok(None)` on 404 (no such key). Bodies larger than `max_bytes` are an error
    /// ([`S3Error::TooLarge`]), never truncated. Returns the bytes and the ETag (no quotes).
    /// When the store reports the object's full SHA-256 checksum, the bytes are checked
    /// against it.
    pub fn get(&self, key: &str, max_bytes: u64) -> Result<Option<(Vec<u8>, String)>, S3Error> {
        let (full, url) = self.object(key)?;
        self.get_full(&full, &url, max_bytes)
    }

    fn get_full(
        &self,
        full: &str,
        url: &str,
        max_bytes: u64,
    ) -> Result<Option<(Vec<u8>, String)>, S3Error> {
        let req = Req::new("GET", Some(full)).header("x-amz-checksum-mode", "ENABLED");
        self.execute(&req, url, |mut answer| {
            if let Some(found) = not_found(&answer) {
                return found
                    .map(|()| None)
                    .map_err(|()| answer.into_error(url).into());
            }
            if !(200..300).contains(&answer.status) {
                return Err(answer.into_error(url).into());
            }
            let etag = answer.etag(url)?;
            check_length(&answer, url, max_bytes)?;
            let mut bytes = Vec::new();
            answer
                .body
                .as_reader()
                .take(max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::Retry(format!("reading the object: {e}")))?;
            if bytes.len() as u64 > max_bytes {
                return Err(too_large(url, max_bytes));
            }
            verify_checksum(&answer, &Sha256::digest(&bytes))?;
            Ok(Some((bytes, etag)))
        })
    }

    /// GET streamed into a file created at `path` (written to a temporary file beside it,
    /// fsynced, then renamed over `path`); `Ok(false)` on 404. Bodies larger than `max_bytes`
    /// are an error and leave nothing behind.
    pub fn get_to_file(&self, key: &str, path: &Path, max_bytes: u64) -> Result<bool, S3Error> {
        let (full, url) = self.object(key)?;
        let io = |error: std::io::Error| S3Error::Io {
            url: url.clone(),
            path: path.to_owned(),
            error,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".exhibit-s3-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(io)?;
        let req = Req::new("GET", Some(&full)).header("x-amz-checksum-mode", "ENABLED");
        let found = self.execute(&req, &url, |mut answer| {
            if let Some(found) = not_found(&answer) {
                return found
                    .map(|()| false)
                    .map_err(|()| answer.into_error(&url).into());
            }
            if !(200..300).contains(&answer.status) {
                return Err(answer.into_error(&url).into());
            }
            check_length(&answer, &url, max_bytes)?;
            let file = tmp.as_file_mut();
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            let mut hasher = Sha256::new();
            let mut reader = answer.body.as_reader().take(max_bytes.saturating_add(1));
            let mut buf = vec![0u8; 256 << 10];
            let mut total = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Failure::Retry(format!("reading the object: {e}"))),
                };
                total += n as u64;
                if total > max_bytes {
                    return Err(too_large(&url, max_bytes));
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(io)?;
            }
            verify_checksum(&answer, &hasher.finalize())?;
            Ok(true)
        })?;
        if !found {
            return Ok(false);
        }
        tmp.as_file_mut().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        // The rename itself is durable once the directory is synced.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(true)
    }

    /// HEAD: the object's size, ETag, retention and modification time; `Ok(None)` on 404.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>, S3Error> {
        let (full, url) = self.object(key)?;
        self.head_full(&full, &url)
    }

    pub(crate) fn head_full(&self, full: &str, url: &str) -> Result<Option<ObjectInfo>, S3Error> {
        let req = Req::new("HEAD", Some(full));
        self.execute(&req, url, |answer| {
            if let Some(found) = not_found(&answer) {
                return found
                    .map(|()| None)
                    .map_err(|()| answer.into_error(url).into());
            }
            if !(200..300).contains(&answer.status) {
                return Err(answer.into_error(url).into());
            }
            let bad = |reason: String| S3Error::BadResponse {
                url: url.to_owned(),
                reason,
            };
            let size = answer
                .content_length()
                .ok_or_else(|| bad("the answer has no Content-Length".into()))?;
            let date =
                |name: &str, parse: fn(&str) -> Option<DateTime<Utc>>| match answer.header(name) {
                    None => Ok(None),
                    Some(v) => parse(v.trim())
                        .map(Some)
                        .ok_or_else(|| bad(format!("unreadable {name}: {v:?}"))),
                };
            Ok(Some(ObjectInfo {
                size,
                etag: answer.etag(url)?,
                retention_mode: answer
                    .header("x-amz-object-lock-mode")
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty()),
                retain_until: date("x-amz-object-lock-retain-until-date", parse_iso8601)?,
                last_modified: date("last-modified", parse_http_date)?,
            }))
        })
    }

    /// ListObjectsV2, every page: the objects whose keys start with `prefix` (relative to the
    /// location's prefix, like the keys returned), after `start_after` (relative) if Some,
    /// sorted by key.
    pub fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<Listed>, S3Error> {
        let location = self.location();
        let base = if location.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", location.prefix)
        };
        let url = format!("s3://{}/{base}{prefix}", location.bucket);
        if prefix.starts_with('/') || prefix.chars().any(char::is_control) {
            return Err(S3Error::InvalidKey {
                url,
                reason: "the listing prefix starts with '/' or has control characters".into(),
            });
        }
        let full_prefix = format!("{base}{prefix}");
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        let mut seen_tokens = std::collections::HashSet::new();
        loop {
            let mut req = Req::new("GET", None)
                .query("list-type", "2")
                .query("max-keys", "1000");
            if !full_prefix.is_empty() {
                req = req.query("prefix", &full_prefix);
            }
            match (&token, start_after) {
                (Some(t), _) => req = req.query("continuation-token", t),
                (None, Some(after)) => req = req.query("start-after", &format!("{base}{after}")),
                (None, None) => {}
            }
            let page = self.execute(&req, &url, |mut answer| {
                if !(200..300).contains(&answer.status) {
                    return Err(answer.into_error(&url).into());
                }
                let body = read_bounded(&mut answer.body, LIST_PAGE_LIMIT)
                    .map_err(|e| Failure::Retry(format!("reading the listing: {e}")))?
                    .ok_or_else(|| S3Error::BadResponse {
                        url: url.clone(),
                        reason: format!("a listing page larger than {LIST_PAGE_LIMIT} bytes"),
                    })?;
                xml::list_page(&body).map_err(|reason| {
                    Failure::Fatal(S3Error::BadResponse {
                        url: url.clone(),
                        reason,
                    })
                })
            })?;
            for (key, size, etag) in page.objects {
                let relative = key
                    .strip_prefix(&base)
                    .ok_or_else(|| S3Error::BadResponse {
                        url: url.clone(),
                        reason: format!("the listing has {key:?}, outside the prefix"),
                    })?;
                if relative.is_empty() {
                    continue;
                }
                listed.push(Listed {
                    key: relative.to_owned(),
                    size,
                    etag,
                });
            }
            match page.next {
                None => break,
                Some(next) => {
                    if !seen_tokens.insert(next.clone()) {
                        return Err(S3Error::BadResponse {
                            url,
                            reason: "the listing repeats a continuation token".into(),
                        });
                    }
                    token = Some(next);
                }
            }
        }
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        listed.dedup_by(|a, b| a.key == b.key);
        Ok(listed)
    }

    /// Creates the bucket, with Object Lock enabled (`x-amz-bucket-object-lock-enabled: true`,
    /// which also turns versioning on) when `object_lock`. A bucket this account already owns
    /// is fine unless Object Lock was asked for (it cannot be known to be on). For tests and
    /// setup.
    pub fn create_bucket(&self, object_lock: bool) -> Result<(), S3Error> {
        let url = format!("s3://{}", self.location().bucket);
        let region = self.shared.config.region.as_str();
        let body = if region == "us-east-1" {
            String::new()
        } else {
            xml::create_bucket_request(region)
        };
        let mut req = Req::new("PUT", None).body(body.as_bytes());
        if !body.is_empty() {
            req = req.header("content-type", "application/xml");
        }
        if object_lock {
            req = req.header("x-amz-bucket-object-lock-enabled", "true");
        }
        self.execute(&req, &url, |answer| match answer.status {
            200..=299 => Ok(()),
            409 if answer.code() == "BucketAlreadyOwnedByYou" && !object_lock => Ok(()),
            _ => Err(answer.into_error(&url).into()),
        })
    }

    /// Whether the stored object under `full` has exactly `len` bytes hashing to `sha256`,
    /// streamed; None when there is no object.
    pub(crate) fn stored_matches(
        &self,
        full: &str,
        url: &str,
        len: u64,
        sha256: &[u8],
    ) -> Result<Option<bool>, S3Error> {
        let req = Req::new("GET", Some(full));
        self.execute(&req, url, |mut answer| {
            if let Some(found) = not_found(&answer) {
                return found
                    .map(|()| None)
                    .map_err(|()| answer.into_error(url).into());
            }
            if !(200..300).contains(&answer.status) {
                return Err(answer.into_error(url).into());
            }
            if answer.content_length().is_some_and(|l| l != len) {
                return Ok(Some(false));
            }
            let mut hasher = Sha256::new();
            let mut reader = answer.body.as_reader().take(len.saturating_add(1));
            let read = std::io::copy(&mut reader, &mut HashWriter(&mut hasher))
                .map_err(|e| Failure::Retry(format!("reading the stored object: {e}")))?;
            Ok(Some(read == len && hasher.finalize().as_slice() == sha256))
        })
    }
}

/// For a 404: `Some(Ok(()))` when it means the object is absent (no such key, or a `HEAD`'s
/// bodiless 404), `Some(Err(()))` when the bucket itself is missing; None for other statuses.
fn not_found(answer: &Answer) -> Option<Result<(), ()>> {
    if answer.status != 404 {
        return None;
    }
    Some(match answer.code() {
        "NoSuchBucket" => Err(()),
        _ => Ok(()),
    })
}

fn too_large(url: &str, limit: u64) -> Failure {
    Failure::Fatal(S3Error::TooLarge {
        url: url.to_owned(),
        limit,
    })
}

/// Refuses an answer whose announced length is over the limit before reading it.
fn check_length(answer: &Answer, url: &str, max_bytes: u64) -> Result<(), Failure> {
    match answer.content_length() {
        Some(len) if len > max_bytes => Err(too_large(url, max_bytes)),
        _ => Ok(()),
    }
}

/// Checks the bytes against the `x-amz-checksum-sha256` the store returned (with
/// `x-amz-checksum-mode: ENABLED`), when it is a whole-object checksum (not a multipart
/// upload's checksum of checksums).
fn verify_checksum(answer: &Answer, sha256: &[u8]) -> Result<(), Failure> {
    let Some(stored) = answer.header("x-amz-checksum-sha256") else {
        return Ok(());
    };
    let composite = stored.contains('-')
        || answer
            .header("x-amz-checksum-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("COMPOSITE"));
    if composite || STANDARD.encode(sha256) == stored.trim() {
        Ok(())
    } else {
        Err(Failure::Retry(
            "the bytes received do not match the object's stored SHA-256 checksum".into(),
        ))
    }
}

/// `x-amz-object-lock-retain-until-date`: ISO 8601 / RFC 3339.
fn parse_iso8601(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `Last-Modified`: an HTTP date (`Mon, 07 Dec 2026 07:26:08 GMT`).
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Feeds what is written into a hasher.
pub(crate) struct HashWriter<'a>(pub &'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
