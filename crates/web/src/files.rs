//! A capture's files as they are: the exact bytes (a download), the same bytes of an HTML
//! capture for the sandboxed frame, the extracted text and a browser capture's screenshot.
//! Which object is served comes from the signed manifest, never from the request; every byte
//! is checked against the manifest's SHA-256 as it is sent, and the last chunk is held back
//! until the hash is known, so a damaged object is never delivered whole.

use std::io::{self, Read};

use exhibit_core::{RecordId, RecordKind, Sha256Digest};
use exhibit_http::Response;
use sha2::{Digest, Sha256};

use crate::page::{CAPTURE_CSP, FILE_CSP};
use crate::record::is_html;
use crate::route::FileKind;
use crate::{Ctx, PageError};

/// The response carrying one of a record's files.
pub fn response(ctx: &Ctx, id: &RecordId, kind: FileKind) -> Result<Response, PageError> {
    let a = &ctx.archive;
    let capture = match id.kind() {
        RecordKind::Version => a.version(id.number())?.opened_by.number(),
        _ => id.number(),
    };
    let m = a.read_signed_capture(capture, &ctx.keys)?.manifest;
    let missing = |what: &str| PageError::not_found(format!("{id} has no {what}"));
    let (sha256, size, media_type, csp, disposition) = match kind {
        FileKind::Content => {
            let c = m
                .content
                .as_ref()
                .ok_or_else(|| missing("captured bytes"))?;
            let name = format!("{}.{}", id, extension(&c.media_type));
            (
                c.sha256,
                c.size,
                "application/octet-stream".to_owned(),
                FILE_CSP,
                Some(name),
            )
        }
        FileKind::View => {
            let c = m
                .content
                .as_ref()
                .ok_or_else(|| missing("captured bytes"))?;
            if !is_html(&c.media_type) {
                return Err(missing("HTML page to show"));
            }
            (c.sha256, c.size, c.media_type.clone(), CAPTURE_CSP, None)
        }
        FileKind::Text => {
            let t = m.text.as_ref().ok_or_else(|| missing("extracted text"))?;
            (
                t.sha256,
                t.size,
                "text/plain; charset=utf-8".to_owned(),
                FILE_CSP,
                None,
            )
        }
        FileKind::Bundle | FileKind::Report => return made(ctx, id, kind),
        FileKind::Screenshot => {
            let s = m
                .browser
                .as_ref()
                .and_then(|b| b.screenshot.as_ref())
                .ok_or_else(|| missing("screenshot"))?;
            (s.sha256, s.size, "image/png".to_owned(), FILE_CSP, None)
        }
    };
    let reader = a.objects().open(&sha256)?;
    let checked = Checked::new(Box::new(reader), sha256, size);
    let r = Response::stream(200, &media_type, Box::new(checked), size);
    Ok(match disposition {
        Some(name) => download(r, &name),
        None => r
            .with_header("Content-Security-Policy", csp)
            .with_header("X-Content-Type-Options", "nosniff"),
    })
}

/// A bundle or report of one record, made for this request exactly as `exhibit bundle ID` and
/// `exhibit report ID` make them. Only while the latest signed checkpoint covers the whole log:
/// then making them signs nothing new and writes nothing into the archive (the server stays
/// read-only, and in a bucket nothing needs the writer's lease).
fn made(ctx: &Ctx, id: &RecordId, kind: FileKind) -> Result<Response, PageError> {
    let mut archive = exhibit_store::Archive::open(ctx.archive.root())?;
    let covered = archive
        .latest_checkpoint()?
        .is_some_and(|cp| cp.size == archive.log_size().unwrap_or(u64::MAX));
    if !covered {
        return Err(PageError {
            status: 409,
            message: "the log has grown past its latest signed checkpoint: run `exhibit log checkpoint`, then download again".into(),
        });
    }
    let plan = exhibit_ops::bundle::plan(&mut archive, &[id.to_string()])?;
    let now = chrono::Utc::now();
    let bundle_name = format!("{id}.tar.zst");
    if kind == FileKind::Report {
        let report = exhibit_ops::bundle::report(&archive, &plan, bundle_name, now)?;
        let len = report.pdf.len() as u64;
        let pdf = Box::new(io::Cursor::new(report.pdf));
        return Ok(download(
            Response::stream(200, "application/pdf", pdf, len),
            &format!("{id}-report.pdf"),
        ));
    }
    let io = |e: io::Error| PageError {
        status: 500,
        message: format!("making the bundle: {e}"),
    };
    // Written into a directory removed at once: the open file is the response's alone.
    let dir = tempfile::tempdir().map_err(io)?;
    let path = dir.path().join(&bundle_name);
    exhibit_ops::bundle::write(&archive, &plan, &path, bundle_name.clone(), now)?;
    let file = std::fs::File::open(&path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    Ok(download(
        Response::stream(200, "application/zstd", Box::new(file), len),
        &bundle_name,
    ))
}

/// A download's headers: an attachment, in a sandbox, never sniffed.
fn download(r: Response, name: &str) -> Response {
    r.with_header("Content-Security-Policy", FILE_CSP)
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header(
            "Content-Disposition",
            &format!("attachment; filename=\"{name}\""),
        )
}

/// The file-name extension of a media type, as bundles name captured bytes (its parameters
/// left out).
fn extension(media_type: &str) -> &'static str {
    exhibit_bundle::layout::extension(media_type.split(';').next().unwrap_or("").trim())
}

/// Bytes read through while hashing them: the bytes of each read from the object are released
/// only once the next read has been made, and the last only once the whole object hashed to
/// `expected` in exactly `size` bytes; otherwise the read fails (and the server ends the
/// connection short): a damaged object is never delivered whole.
pub struct Checked {
    inner: Box<dyn Read + Send>,
    hasher: Sha256,
    expected: Sha256Digest,
    size: u64,
    seen: u64,
    /// Read from the object, not yet given out.
    held: Vec<u8>,
    /// How much of `held` has been given out.
    pos: usize,
    /// How much of `held` may be given out.
    releasable: usize,
    /// Whether the whole object was read and checked.
    done: bool,
}

/// The most read from the object at once.
const CHUNK: usize = 64 * 1024;

impl Checked {
    /// Checks `inner` against `expected` and `size`.
    pub fn new(inner: Box<dyn Read + Send>, expected: Sha256Digest, size: u64) -> Checked {
        Checked {
            inner,
            hasher: Sha256::new(),
            expected,
            size,
            seen: 0,
            held: Vec::new(),
            pos: 0,
            releasable: 0,
            done: false,
        }
    }
}

impl Read for Checked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.releasable {
                let n = out.len().min(self.releasable - self.pos);
                out[..n].copy_from_slice(&self.held[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            // Only the bytes of the last read are left: keep them, read the next.
            self.held.drain(..self.pos);
            self.pos = 0;
            let start = self.held.len();
            self.held.resize(start + CHUNK, 0);
            let n = match self.inner.read(&mut self.held[start..]) {
                Ok(n) => n,
                Err(e) => {
                    self.held.truncate(start);
                    return Err(e);
                }
            };
            self.held.truncate(start + n);
            if n == 0 {
                let got = Sha256Digest(self.hasher.clone().finalize().into());
                if got != self.expected || self.seen != self.size {
                    return Err(io::Error::other(format!(
                        "the stored object hashes to {got} ({} bytes), not {} ({} bytes)",
                        self.seen, self.expected, self.size
                    )));
                }
                self.done = true;
                self.releasable = self.held.len();
                continue;
            }
            self.seen += n as u64;
            if self.seen > self.size {
                return Err(io::Error::other(
                    "the stored object is longer than its manifest says",
                ));
            }
            self.hasher.update(&self.held[start..]);
            self.releasable = start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(data: Vec<u8>, expected: Sha256Digest, size: u64) -> (Vec<u8>, bool) {
        let mut r = Checked::new(Box::new(io::Cursor::new(data)), expected, size);
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, true),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return (out, false),
            }
        }
    }

    #[test]
    fn good_bytes_pass_whole_and_bad_ones_never_do() {
        for len in [0usize, 1, 999, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sha = Sha256Digest::of(&data);
            assert_eq!(
                read_all(data.clone(), sha, len as u64),
                (data.clone(), true),
                "{len}"
            );
            if len > 0 {
                let mut bad = data.clone();
                bad[len - 1] ^= 1;
                let (got, ok) = read_all(bad, sha, len as u64);
                assert!(
                    !ok && got.len() < len,
                    "{len}: {} bytes released",
                    got.len()
                );
            }
            let mut longer = data.clone();
            longer.push(0);
            let (got, ok) = read_all(longer, sha, len as u64);
            assert!(!ok && got.len() <= len, "{len}");
        }
    }
}
