//! Write-once uploads of local files ([`Client::put_file_once`]): small ones in one PUT, large
//! ones as multipart uploads, one part in memory at a time.
//!
//! A key that already holds an object is compared first (HEAD, then both sides hashed), so a
//! retry after a crash uploads nothing. Otherwise CreateMultipartUpload carries the Object Lock
//! headers and announces SHA-256 checksums; each UploadPart carries its part's
//! `x-amz-checksum-sha256` (and signs the part's hash); CompleteMultipartUpload carries
//! `If-None-Match: *`, so the object appears whole or not at all, and never over an existing
//! one — on a store that serialises conditional completions, as AWS S3 does. SeaweedFS 4.48 and
//! moto do not, so the key is looked at once more after completing ([`check_completed`]). An
//! upload that fails is aborted, best-effort; one never completed is not an object (stores drop
//! such uploads by lifecycle rule).

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::client::{Client, Failure, HashWriter, Req, read_bounded};
use crate::xml::{self, Completed, Part};
use crate::{MULTIPART_PART_SIZE, MULTIPART_THRESHOLD, Put, Retention, S3Error};

/// S3 allows at most this many parts.
const MAX_PARTS: u64 = 10_000;
/// The answer to CompleteMultipartUpload is small; read at most this much of it.
const COMPLETE_ANSWER_LIMIT: u64 = 1 << 20;

/// How CompleteMultipartUpload ended.
enum Completion {
    /// Completed: the object's ETag (without quotes; empty if the store gave none).
    Created(String),
    /// 412: the key holds an object already (the upload is still open).
    Exists,
    /// The upload is gone after an attempt whose answer was lost: that attempt may have
    /// completed it.
    MaybeLanded,
}

impl Client {
    /// The same as [`Client::put_once`] for a local file, streamed: files larger than
    /// [`crate::MULTIPART_THRESHOLD`] (16 MiB) go as a multipart upload in
    /// [`crate::MULTIPART_PART_SIZE`] (8 MiB) parts read one at a time (bounded memory; each
    /// part with its `x-amz-checksum-sha256`; Object Lock headers on CreateMultipartUpload;
    /// `If-None-Match: *` on CompleteMultipartUpload; an upload that fails is aborted
    /// best-effort, and a torn one never becomes an object). A large file whose key already
    /// holds an object is compared before anything is uploaded. The comparison streams (both
    /// sides hashed, never loaded whole). A file that changes size while it is read is an
    /// error.
    pub fn put_file_once(
        &self,
        key: &str,
        path: &Path,
        retention: Option<&Retention>,
    ) -> Result<Put, S3Error> {
        let (full, url) = self.object(key)?;
        let io = |error: std::io::Error| S3Error::Io {
            url: url.clone(),
            path: path.to_owned(),
            error,
        };
        let mut file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size <= MULTIPART_THRESHOLD {
            let mut bytes = Vec::with_capacity(size as usize);
            (&mut file)
                .take(MULTIPART_THRESHOLD + 1)
                .read_to_end(&mut bytes)
                .map_err(io)?;
            if bytes.len() as u64 != size {
                return Err(io(changed_while_read()));
            }
            return self.put_once(key, &bytes, retention);
        }
        put_file(self, &full, &url, path, file, size, retention)
    }
}

/// The part size for a file of `size` bytes: [`MULTIPART_PART_SIZE`], or larger (whole MiB)
/// when 10,000 parts would not hold the file.
pub(crate) fn part_size(size: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    needed.max(MULTIPART_PART_SIZE)
}

/// [`Client::put_file_once`] for a file of `size` bytes (over the threshold); `full` is the
/// full key, `url` its `s3://` form.
fn put_file(
    client: &Client,
    full: &str,
    url: &str,
    path: &Path,
    mut file: File,
    size: u64,
    retention: Option<&Retention>,
) -> Result<Put, S3Error> {
    let io = |error: std::io::Error| S3Error::Io {
        url: url.to_owned(),
        path: path.to_owned(),
        error,
    };
    // An object already there (a retry after a crash, most often): compare, without uploading.
    if let Some(info) = client.head_full(full, url)? {
        if info.size != size {
            return Err(S3Error::Conflict {
                url: url.to_owned(),
            });
        }
        let sha = hash_file(&mut file, size).map_err(io)?;
        match client.stored_matches(full, url, size, &sha)? {
            Some(true) => return Ok(Put::AlreadyThere),
            Some(false) => {
                return Err(S3Error::Conflict {
                    url: url.to_owned(),
                });
            }
            None => file.rewind().map_err(io)?,
        }
    }

    let upload_id = create(client, full, url, retention)?;
    let mut whole = Sha256::new();
    let result = upload_parts(client, full, url, &upload_id, &mut file, size, &mut whole)
        .map_err(|e| match e {
            Upload::Io(error) => io(error),
            Upload::S3(e) => e,
        })
        .and_then(|parts| complete(client, full, url, &upload_id, &parts));
    let completion = match result {
        Ok(c) => c,
        Err(e) => {
            abort(client, full, url, &upload_id);
            return Err(e);
        }
    };
    let sha = whole.finalize();
    match completion {
        Completion::Created(etag) => return check_completed(client, full, url, size, &sha, &etag),
        Completion::Exists => abort(client, full, url, &upload_id),
        Completion::MaybeLanded => {}
    }
    match client.stored_matches(full, url, size, &sha)? {
        Some(true) => Ok(Put::AlreadyThere),
        Some(false) => Err(S3Error::Conflict {
            url: url.to_owned(),
        }),
        None => Err(S3Error::BadResponse {
            url: url.to_owned(),
            reason: "the multipart upload was refused or vanished, and no object is there".into(),
        }),
    }
}

enum Upload {
    Io(std::io::Error),
    S3(S3Error),
}

/// CreateMultipartUpload: the upload's id.
fn create(
    client: &Client,
    full: &str,
    url: &str,
    retention: Option<&Retention>,
) -> Result<String, S3Error> {
    let req = Req::new("POST", Some(full))
        .query("uploads", "")
        .header("content-type", "application/octet-stream")
        .header("x-amz-checksum-algorithm", "SHA256")
        .retention(retention);
    client.execute(&req, url, |mut answer| {
        if !(200..300).contains(&answer.status) {
            return Err(answer.into_error(url).into());
        }
        let body = read_bounded(&mut answer.body, COMPLETE_ANSWER_LIMIT)
            .map_err(|e| Failure::Retry(format!("reading the answer: {e}")))?
            .unwrap_or_default();
        xml::upload_id(&body).map_err(|reason| {
            Failure::Fatal(S3Error::BadResponse {
                url: url.to_owned(),
                reason: format!("CreateMultipartUpload: {reason}"),
            })
        })
    })
}

/// Reads and sends the parts, one at a time, feeding the whole file's hash.
fn upload_parts(
    client: &Client,
    full: &str,
    url: &str,
    upload_id: &str,
    file: &mut File,
    size: u64,
    whole: &mut Sha256,
) -> Result<Vec<Part>, Upload> {
    let part_size = part_size(size);
    let mut buf = vec![0u8; part_size.min(size) as usize];
    let mut parts = Vec::new();
    let mut sent = 0u64;
    let mut number = 0u32;
    while sent < size {
        let n = part_size.min(size - sent) as usize;
        let part = &mut buf[..n];
        file.read_exact(part).map_err(|e| {
            Upload::Io(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                changed_while_read()
            } else {
                e
            })
        })?;
        whole.update(&*part);
        number += 1;
        let sha = Sha256::digest(&*part);
        let number_text = number.to_string();
        let req = Req::new("PUT", Some(full))
            .query("partNumber", &number_text)
            .query("uploadId", upload_id)
            .checksum(&sha)
            .body(part);
        let etag = client
            .execute(&req, url, |answer| match answer.status {
                200..=299 => Ok(answer.etag(url)?),
                _ => Err(answer.into_error(url).into()),
            })
            .map_err(Upload::S3)?;
        parts.push(Part {
            number,
            etag: format!("\"{etag}\""),
            checksum_sha256: STANDARD.encode(sha),
        });
        sent += n as u64;
    }
    let mut probe = [0u8; 1];
    if file.read(&mut probe).map_err(Upload::Io)? != 0 {
        return Err(Upload::Io(changed_while_read()));
    }
    Ok(parts)
}

/// CompleteMultipartUpload with `If-None-Match: *`.
fn complete(
    client: &Client,
    full: &str,
    url: &str,
    upload_id: &str,
    parts: &[Part],
) -> Result<Completion, S3Error> {
    let body = xml::complete_request(parts);
    let req = Req::new("POST", Some(full))
        .query("uploadId", upload_id)
        .header("content-type", "application/xml")
        .header("if-none-match", "*")
        .body(body.as_bytes())
        .retry_conflict();
    client.execute(&req, url, |mut answer| match answer.status {
        200..=299 => {
            let text = read_bounded(&mut answer.body, COMPLETE_ANSWER_LIMIT)
                .map_err(|e| Failure::Retry(format!("reading the answer: {e}")))?
                .unwrap_or_default();
            let bad = |reason: String| S3Error::BadResponse {
                url: url.to_owned(),
                reason: format!("CompleteMultipartUpload: {reason}"),
            };
            match xml::completed(&text).map_err(bad)? {
                Completed::Done(etag) => Ok(Completion::Created(etag)),
                // An error inside a 200: the status went out before the parts were assembled.
                Completed::Failed(code, message) => match code.as_str() {
                    "InternalError" | "SlowDown" => {
                        Err(Failure::Retry(format!("HTTP 200 {code} ({message})")))
                    }
                    "PreconditionFailed" => Ok(Completion::Exists),
                    _ => Err(Failure::Fatal(S3Error::Http {
                        url: url.to_owned(),
                        status: answer.status,
                        code,
                        message,
                    })),
                },
            }
        }
        412 => Ok(Completion::Exists),
        404 if answer.code() == "NoSuchUpload" && answer.ambiguous => Ok(Completion::MaybeLanded),
        _ => Err(answer.into_error(url).into()),
    })
}

/// After a completed upload: whether the key still holds it. Some stores (SeaweedFS 4.48,
/// moto) check `If-None-Match: *` on CompleteMultipartUpload without serialising concurrent
/// completions, so two uploads of one key can both "succeed", the later replacing the earlier.
/// A different ETag under the key means that happened: identical bytes are harmless, different
/// bytes are a [`S3Error::Conflict`]. (A replacement after this look goes unseen; AWS S3
/// itself serialises conditional completions.)
fn check_completed(
    client: &Client,
    full: &str,
    url: &str,
    size: u64,
    sha: &[u8],
    etag: &str,
) -> Result<Put, S3Error> {
    if etag.is_empty() {
        return Ok(Put::Created);
    }
    let conflict = || S3Error::Conflict {
        url: url.to_owned(),
    };
    match client.head_full(full, url)? {
        Some(info) if info.etag == etag => Ok(Put::Created),
        Some(info) if info.size != size => Err(conflict()),
        Some(_) => match client.stored_matches(full, url, size, sha)? {
            Some(true) => Ok(Put::Created),
            Some(false) => Err(conflict()),
            None => Err(vanished(url)),
        },
        None => Err(vanished(url)),
    }
}

fn vanished(url: &str) -> S3Error {
    S3Error::BadResponse {
        url: url.to_owned(),
        reason: "the object vanished right after its multipart upload completed".into(),
    }
}

/// AbortMultipartUpload, best-effort: failures are ignored (a lifecycle rule on the bucket
/// collects what is left).
fn abort(client: &Client, full: &str, url: &str, upload_id: &str) {
    let req = Req::new("DELETE", Some(full)).query("uploadId", upload_id);
    let _ = client.execute(&req, url, |_| Ok(()));
}

fn changed_while_read() -> std::io::Error {
    std::io::Error::other("the file changed size while it was being read")
}

/// The SHA-256 of the file's `size` bytes, streamed; the file is rewound after.
fn hash_file(file: &mut File, size: u64) -> std::io::Result<Vec<u8>> {
    let mut hasher = Sha256::new();
    let read = std::io::copy(
        &mut (&mut *file).take(size + 1),
        &mut HashWriter(&mut hasher),
    )?;
    if read != size {
        return Err(changed_while_read());
    }
    file.rewind()?;
    Ok(hasher.finalize().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes() {
        assert_eq!(part_size(40 << 20), 8 << 20);
        assert_eq!(part_size(MULTIPART_PART_SIZE * MAX_PARTS), 8 << 20);
        // 100 GiB: 10,000 parts of 11 MiB.
        let size = 100u64 << 30;
        let p = part_size(size);
        assert_eq!(p, 11 << 20);
        assert!(size.div_ceil(p) <= MAX_PARTS);
    }
}
