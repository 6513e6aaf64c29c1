//! Reading the records' manifest and signature files in parallel: a [`Loader`] reads, hashes,
//! verifies (with `--full`) and parses one record's files on a worker thread; [`par_map`] runs
//! it over a batch, keeping the order.
//!
//! Not for comparing a manifest with the catalog: [`super::records`] does that with what is
//! loaded here.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use exhibit_core::manifest::{CaptureManifest, MAX_MANIFEST_BYTES};
use exhibit_core::merkle;
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::reextraction::{MAX_REEXTRACTION_BYTES, ReextractionManifest};
use exhibit_core::{RecordId, RecordKind, Sha256Digest};
use exhibit_sign::history::KeyHistory;

use super::Checker;
use super::report::{Problem, problem};
use crate::fsutil::{self, Links};
use crate::layout::{self as L, CATALOG_FILE, LEAVES_FILE};

pub(super) struct Job {
    pub(super) id: RecordId,
    pub(super) table: &'static str,
    pub(super) catalog_sha: Option<Sha256Digest>,
    pub(super) catalog_path: Option<String>,
    pub(super) log_index: Option<i64>,
}

pub(super) enum Parsed {
    Capture(Box<CaptureManifest>),
    Provision(Box<ProvisionManifest>),
    Reextraction(Box<ReextractionManifest>),
}

pub(super) struct Loaded {
    pub(super) rel: String,
    /// SHA-256 of the file as read, when it could be read.
    pub(super) sha: Option<Sha256Digest>,
    pub(super) parsed: Option<Parsed>,
    pub(super) problems: Vec<Problem>,
}

/// What reading one record's files needs; shared by the worker threads.
pub(super) struct Loader<'a> {
    pub(super) root: &'a Path,
    /// `root`, open: files are opened relative to it when it is there.
    pub(super) root_dir: Option<&'a File>,
    pub(super) full: bool,
    pub(super) origin: &'a str,
    pub(super) public: Option<&'a KeyHistory>,
    pub(super) leaves: Option<&'a File>,
    pub(super) leaves_avail: u64,
}

/// Reads a whole small file: `Err` is a message (`missing`, `larger than …`, the I/O error).
pub(super) fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    read_opened(fsutil::open_regular(path, Links::Refuse), limit)
}

/// [`read_small`] of `root.join(rel)`, opened relative to `root_dir` (`root`, open) when
/// there is one.
fn read_small_in(
    root: &Path,
    root_dir: Option<&File>,
    rel: &str,
    limit: u64,
) -> Result<Vec<u8>, String> {
    match root_dir {
        Some(dir) => read_opened(
            fsutil::open_regular_at(dir, Path::new(rel), Links::Refuse),
            limit,
        ),
        None => read_small(&root.join(rel), limit),
    }
}

/// The rest of [`read_small`], once the file is opened (or not).
fn read_opened(
    opened: io::Result<(File, std::fs::Metadata)>,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let (file, meta) = opened.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "missing".to_owned(),
        io::ErrorKind::InvalidInput => e.to_string(),
        _ => format!("cannot open: {e}"),
    })?;
    // Sized from the file's length (one read instead of growing probes), within the limit.
    let len = meta.len().min(limit);
    let mut buf = Vec::with_capacity(len as usize + 1);
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > limit {
        return Err(format!("larger than the {limit}-byte limit"));
    }
    Ok(buf)
}

impl Loader<'_> {
    pub(super) fn load(&self, job: &Job) -> Loaded {
        let id = &job.id;
        let rel = L::manifest_path(id);
        let mut problems = Vec::new();
        if let Some(p) = &job.catalog_path
            && *p != rel
        {
            problems.push(problem(
                "catalog",
                CATALOG_FILE,
                format!("{} row {id}: manifest_path is {p:?}, not {rel}", job.table),
            ));
        }
        let limit = match id.kind() {
            RecordKind::Reextraction => MAX_REEXTRACTION_BYTES,
            _ => MAX_MANIFEST_BYTES,
        } as u64;
        let bytes = match read_small_in(self.root, self.root_dir, &rel, limit) {
            Ok(b) => b,
            Err(message) => {
                problems.push(problem(
                    "manifest",
                    &rel,
                    format!("{message} (the manifest of {id})"),
                ));
                return Loaded {
                    rel,
                    sha: None,
                    parsed: None,
                    problems,
                };
            }
        };
        let sha = Sha256Digest::of(&bytes);
        if let Some(want) = job.catalog_sha
            && want != sha
        {
            problems.push(problem(
                "manifest",
                &rel,
                format!(
                    "its bytes hash to {sha}, but the catalog recorded {want} for {id}: the \
                     manifest was changed or replaced"
                ),
            ));
            return Loaded {
                rel,
                sha: Some(sha),
                parsed: None,
                problems,
            };
        }
        if let (Some(index), Some(leaves)) = (job.log_index, self.leaves)
            && let Ok(index) = u64::try_from(index)
            && index < self.leaves_avail
        {
            let mut leaf = [0u8; 32];
            match leaves.read_exact_at(&mut leaf, index * 32) {
                Ok(()) if leaf == merkle::leaf_hash(&bytes) => {}
                Ok(()) => problems.push(problem(
                    "log",
                    LEAVES_FILE,
                    format!("leaf {index} is not the leaf hash of {rel} ({id})"),
                )),
                Err(e) => problems.push(problem(
                    "log",
                    LEAVES_FILE,
                    format!("cannot read leaf {index}: {e}"),
                )),
            }
        }
        let sig_rel = L::signature_path(id);
        match read_small_in(self.root, self.root_dir, &sig_rel, 64) {
            Err(message) => problems.push(problem(
                "signature",
                &sig_rel,
                format!("{message} (the signature of {id})"),
            )),
            Ok(sig) if sig.len() != 64 => problems.push(problem(
                "signature",
                &sig_rel,
                format!("is {} bytes; an Ed25519 signature is 64", sig.len()),
            )),
            Ok(sig) => {
                if self.full
                    && let Some(public) = self.public
                    && public.verify_any(&bytes, &sig).is_none()
                {
                    problems.push(problem(
                        "signature",
                        &sig_rel,
                        format!(
                            "does not verify over {rel} with the archive key (any key of its history; now {})",
                            public.current().fingerprint
                        ),
                    ));
                }
            }
        }
        let parsed = match id.kind() {
            RecordKind::Capture => {
                CaptureManifest::parse(&bytes).map(|m| Parsed::Capture(Box::new(m)))
            }
            RecordKind::Provision => {
                ProvisionManifest::parse(&bytes).map(|m| Parsed::Provision(Box::new(m)))
            }
            _ => ReextractionManifest::parse(&bytes).map(|m| Parsed::Reextraction(Box::new(m))),
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                problems.push(problem(
                    "manifest",
                    &rel,
                    format!("is not a valid {} manifest: {e}", id.kind().name()),
                ));
                return Loaded {
                    rel,
                    sha: Some(sha),
                    parsed: None,
                    problems,
                };
            }
        };
        let (mid, origin, signer) = match &parsed {
            Parsed::Capture(m) => (&m.id, &m.origin, &m.signer),
            Parsed::Provision(m) => (&m.id, &m.origin, &m.signer),
            Parsed::Reextraction(m) => (&m.id, &m.origin, &m.signer),
        };
        if mid != id {
            problems.push(problem(
                "manifest",
                &rel,
                format!("is the manifest of {mid}, not of {id}"),
            ));
        }
        if origin != self.origin {
            problems.push(problem(
                "manifest",
                &rel,
                format!("origin is {origin:?}, not this archive's {:?}", self.origin),
            ));
        }
        if let Some(keys) = self.public
            && keys.era_of(signer).is_some()
            && let Some(index) = job.log_index.and_then(|i| u64::try_from(i).ok())
            && keys.key_for_leaf(index).fingerprint != *signer
        {
            problems.push(problem(
                "signature",
                &rel,
                format!(
                    "is signed by {}, but log leaf {index} is signed by {} (the key history)",
                    exhibit_core::inert(signer),
                    keys.key_for_leaf(index).fingerprint
                ),
            ));
        }
        if let Some(keys) = self.public
            && keys.era_of(signer).is_none()
        {
            problems.push(problem(
                "signature",
                &rel,
                format!(
                    "names the signer {}, not a key of the archive (now {})",
                    exhibit_core::inert(signer),
                    keys.current().fingerprint
                ),
            ));
        }
        Loaded {
            rel,
            sha: Some(sha),
            parsed: Some(parsed),
            problems,
        }
    }
}

/// Maps `f` over `items` on up to `workers` threads (a shared queue), keeping the order.
pub(super) fn par_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: &(dyn Fn(&T) -> R + Sync),
) -> Vec<R> {
    if workers <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = Vec::with_capacity(items.len());
    out.resize_with(items.len(), || None);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.min(items.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (i, r) in done {
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(r);
                        }
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter().flatten().collect()
}

impl<'a> Checker<'a> {
    pub(super) fn loader(&self) -> Loader<'_> {
        Loader {
            root: self.root,
            root_dir: self.root_dir.as_ref(),
            full: self.opts.full,
            origin: &self.archive.config.origin,
            public: self.public.as_ref(),
            leaves: self.leaves.as_ref(),
            leaves_avail: self.leaves_avail,
        }
    }

    pub(super) fn load_all(&self, jobs: &[Job]) -> Vec<Loaded> {
        let loader = self.loader();
        par_map(jobs, self.workers, &|j| loader.load(j))
    }
}
