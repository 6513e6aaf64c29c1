//! Checking an archive: the catalog against the signed manifests, the log and the objects.
//!
//! [`Archive::fsck`] never changes anything. Every inconsistency it finds becomes a
//! [`Problem`] naming the file (or, for catalog rows, `catalog.sqlite` and the record); things a
//! crash legitimately leaves behind (FORMAT §8) — manifests and objects no record references,
//! temporary files, leaves past the log's end — are [`Note`]s, not problems. An unreferenced
//! manifest that no crash can have left (complete, with a complete signature that does not
//! verify with the archive key: [`crate::repair`]) is a problem in both modes, as is a
//! checkpoint file the catalog does not list that is not a crash's: one signed over more leaves
//! than the catalog's log ("catalog older than the log": a restored backup), or one the archive
//! key did not sign (a signed one consistent with the log is a note: `fsck --repair` records
//! it). Files are read through [`crate::fsutil::open_for_reading`] (no link
//! followed, no FIFO opened); FIFOs, sockets and devices in the archive's directories are
//! `files` problems. A private key readable by group or others, or not matching
//! `keys/signing.pub.pem`, is a `keys` problem.
//!
//! **Quick** (the default) reads the catalog (one read transaction, so a concurrent capture is
//! seen either wholly or not at all), every manifest and signature file, `log/leaves`, the
//! checkpoint files and the directory listings of `objects/` and `manifests/`; it does not
//! open objects (a damaged object with the right name passes it). **Full** also decompresses
//! every referenced object and checks its size, SHA-256 and BLAKE3 against the manifests,
//! verifies every manifest signature and every checkpoint note signature with the archive key,
//! recomputes the tree from `log/leaves` alone (its roots against the signed checkpoints, every
//! complete subtree against the catalog's `log_nodes`), checks every stored RFC 3161 token
//! against its checkpoint file through a caller-supplied check (the store does not depend on
//! `exhibit-timestamp`), and runs SQLite's `integrity_check` instead of `quick_check`.
//!
//! Speed: manifests are read and parsed by a pool of threads, in batches; with `full`, objects
//! are hashed by their own pool from the start (listed from the catalog, so no manifest has to be
//! read first), one streaming pass per object through a reused zstd context and 256 KiB
//! buffers, while the records are checked. Each object is then judged against what the manifests
//! say; one the catalog did not list (or listed with another size) is hashed again at the end.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use exhibit_core::checkpoint::{Checkpoint, split_note};
use exhibit_core::manifest::{CaptureManifest, Change, MAX_MANIFEST_BYTES};
use exhibit_core::merkle::{self, Hash};
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::reextraction::{MAX_REEXTRACTION_BYTES, ReextractionManifest};
use exhibit_core::{Blake3Digest, DualHasher, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::PublicKey;
use exhibit_sign::note::SignedNote;
use rusqlite::types::ValueRef;
use serde::Serialize;

use crate::archive::{CATALOG_FILE, PUBLIC_KEY, manifest_rel_path};
use crate::fsutil::{self, Links};
use crate::log::{CHECKPOINT_DIR, LATEST_CHECKPOINT, LEAVES_FILE, SqlNodes};
use crate::objects::ObjectStore;
use crate::timestamps::MAX_TOKEN_BYTES;
use crate::{Archive, StoreError};

/// Problems of one kind (one `check`) listed in a report; more are counted, not listed.
pub const MAX_LISTED_PER_CHECK: usize = 1000;
/// Paths listed per note; the note's count is exact.
pub const NOTE_PATHS: usize = 20;
/// Read buffer for objects and `log/leaves`.
const BUF: usize = 256 * 1024;
/// Records whose manifests are read in parallel at once (memory: at most this many manifests).
const BATCH: usize = 512;
/// The same for re-extraction records, whose manifests may be 64 MiB.
const BATCH_REEXTRACTIONS: usize = 4;

/// What [`Archive::fsck`] is currently doing, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Reading manifests and checking them against the catalog (counted in records).
    Records,
    /// Decompressing and hashing objects, `--full` only (counted in uncompressed bytes). It
    /// runs at the same time as [`Phase::Records`], so that both keep every core busy.
    Objects,
}

impl Phase {
    /// A short English name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Records => "records",
            Phase::Objects => "objects",
        }
    }
}

/// A progress event. Called from worker threads, so the callback must be cheap and `Sync`.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// A phase starts; `total` is in its unit (records, or bytes for [`Phase::Objects`]).
    Begin {
        /// The phase.
        phase: Phase,
        /// How many units it will take (bytes may be slightly off when an object is damaged).
        total: u64,
    },
    /// This many more units of a phase are done.
    Advance {
        /// The phase.
        phase: Phase,
        /// How many units.
        n: u64,
    },
}

/// A check of stored tokens: `(token bytes, checkpoint file bytes)`; `Err` says what is wrong.
pub type TokenCheck<'a> = &'a (dyn Fn(&[u8], &[u8]) -> Result<(), String> + Sync);

/// How to check.
#[derive(Default, Clone, Copy)]
pub struct FsckOptions<'a> {
    /// Also hash every object, verify every signature and recompute the log from its leaves.
    pub full: bool,
    /// Worker threads for reading manifests and hashing objects; 0 = available parallelism.
    pub workers: usize,
    /// Called as work progresses (from any thread).
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// With `full`: checks each stored RFC 3161 token against the checkpoint file it stamps.
    pub check_token: Option<TokenCheck<'a>>,
    /// List every path of every note, not only the first [`NOTE_PATHS`] (for `--repair`).
    pub all_paths: bool,
}

/// Something wrong with the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file concerned, relative to the archive root (`catalog.sqlite` for catalog rows).
    pub path: String,
    /// Which kind of check failed: `catalog`, `manifest`, `signature`, `chain`, `log`,
    /// `checkpoint`, `timestamp`, `object`, `keys`, `files` (a directory that cannot be read).
    pub check: &'static str,
    /// What is wrong, naming the record when there is one.
    pub message: String,
}

/// Something a crash can legitimately leave behind: reported, not a problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// `orphan_manifest`, `orphan_object`, `orphan_checkpoint`, `orphan_token`, `temp_file`,
    /// `uncommitted_leaves` or `unexpected_file`.
    pub kind: &'static str,
    /// What they are, in English.
    pub what: &'static str,
    /// How many.
    pub count: u64,
    /// The first [`NOTE_PATHS`] of them (all with [`FsckOptions::all_paths`]), relative to the
    /// archive root.
    pub paths: Vec<String>,
}

/// What [`Archive::fsck`] found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FsckReport {
    /// Whether objects, signatures and the log were checked in full.
    pub full: bool,
    /// Capture records in the catalog.
    pub captures: u64,
    /// Provision records.
    pub provisions: u64,
    /// Re-extraction records.
    pub reextractions: u64,
    /// Distinct objects the records reference.
    pub objects: u64,
    /// Their uncompressed size, as the manifests give it (re-extracted texts, whose size no
    /// manifest gives, count as 0).
    pub object_bytes: u64,
    /// Leaves in the log (the catalog's log size).
    pub log_size: u64,
    /// Signed checkpoints in the catalog.
    pub checkpoints: u64,
    /// RFC 3161 tokens in the catalog.
    pub timestamps: u64,
    /// The problems, at most [`MAX_LISTED_PER_CHECK`] per check, in the order found.
    pub problems: Vec<Problem>,
    /// Problems found but not listed (over the per-check cap).
    pub unlisted_problems: u64,
    /// Notes (orphans and temporary files).
    pub notes: Vec<Note>,
}

impl FsckReport {
    /// Records of every kind.
    pub fn records(&self) -> u64 {
        self.captures + self.provisions + self.reextractions
    }

    /// Every problem found, listed or not.
    pub fn problem_count(&self) -> u64 {
        self.problems.len() as u64 + self.unlisted_problems
    }

    /// Whether nothing is wrong (notes allowed).
    pub fn is_clean(&self) -> bool {
        self.problem_count() == 0
    }
}

impl Archive {
    /// Checks the archive (read-only); see the module documentation for what each mode checks.
    /// Damage is reported in the [`FsckReport`], never as an error and never as a panic.
    pub fn fsck(&self, options: &FsckOptions<'_>) -> Result<FsckReport, StoreError> {
        let workers = match options.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut c = Checker {
            archive: self,
            root: &self.root,
            opts: options,
            workers,
            found: Findings::default(),
            notes: Notes {
                list: Vec::new(),
                limit: if options.all_paths {
                    usize::MAX
                } else {
                    NOTE_PATHS
                },
            },
            public: None,
            fingerprint: None,
            log_size: 0,
            log_known: false,
            records_complete: true,
            leaves: None,
            leaves_avail: 0,
            owners: HashMap::new(),
            ids: HashSet::new(),
            objects: Vec::new(),
            checkpoint_roots: BTreeMap::new(),
            catalog_checkpoints: HashSet::new(),
            timestamp_files: Vec::new(),
            report: FsckReport {
                full: options.full,
                ..FsckReport::default()
            },
        };
        c.run();
        let mut report = c.report;
        report.problems = c.found.problems;
        report.unlisted_problems = c.found.unlisted;
        report.notes = c.notes.into_vec();
        Ok(report)
    }
}

// --- findings ------------------------------------------------------------------------------

#[derive(Default)]
struct Findings {
    problems: Vec<Problem>,
    per_check: HashMap<&'static str, usize>,
    unlisted: u64,
}

impl Findings {
    fn add(&mut self, p: Problem) {
        let n = self.per_check.entry(p.check).or_default();
        *n += 1;
        if *n > MAX_LISTED_PER_CHECK {
            self.unlisted += 1;
        } else {
            self.problems.push(p);
        }
    }
}

fn problem(check: &'static str, path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        check,
        message: message.into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NoteKind {
    OrphanManifest,
    OrphanObject,
    OrphanCheckpoint,
    OrphanToken,
    TempFile,
    UncommittedLeaves,
    Unexpected,
}

impl NoteKind {
    fn kind(self) -> &'static str {
        match self {
            NoteKind::OrphanManifest => "orphan_manifest",
            NoteKind::OrphanObject => "orphan_object",
            NoteKind::OrphanCheckpoint => "orphan_checkpoint",
            NoteKind::OrphanToken => "orphan_token",
            NoteKind::TempFile => "temp_file",
            NoteKind::UncommittedLeaves => "uncommitted_leaves",
            NoteKind::Unexpected => "unexpected_file",
        }
    }

    fn what(self) -> &'static str {
        match self {
            NoteKind::OrphanManifest => {
                "manifest files no catalog record has (a capture that did not commit leaves them; FORMAT §8)"
            }
            NoteKind::OrphanObject => {
                "objects no record references (a capture that did not commit leaves them; FORMAT §8)"
            }
            NoteKind::OrphanCheckpoint => {
                "signed checkpoints not in the catalog: `fsck --repair` records them"
            }
            NoteKind::OrphanToken => {
                "timestamp tokens the catalog does not list (`fsck --repair` records those that \
                 stamp a signed checkpoint, and keeps the others)"
            }
            NoteKind::TempFile => "temporary files of an interrupted write (safe to delete)",
            NoteKind::UncommittedLeaves => {
                "leaves past the log's end in log/leaves (a batch that did not commit; the next capture cuts them)"
            }
            NoteKind::Unexpected => "files exhibit does not know (not checked)",
        }
    }
}

struct Notes {
    list: Vec<(NoteKind, Note)>,
    /// Paths listed per note.
    limit: usize,
}

impl Notes {
    fn add(&mut self, kind: NoteKind, path: impl Into<String>) {
        let i = match self.list.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                self.list.push((
                    kind,
                    Note {
                        kind: kind.kind(),
                        what: kind.what(),
                        count: 0,
                        paths: Vec::new(),
                    },
                ));
                self.list.len() - 1
            }
        };
        let note = &mut self.list[i].1;
        note.count += 1;
        if note.paths.len() < self.limit {
            note.paths.push(path.into());
        }
    }

    fn into_vec(self) -> Vec<Note> {
        self.list.into_iter().map(|(_, n)| n).collect()
    }
}

// --- catalog rows, read leniently ----------------------------------------------------------

/// Reads columns of a row without trusting their types: a wrong type is noted, never an error.
struct Cols<'r, 's> {
    r: &'r rusqlite::Row<'s>,
    bad: Vec<String>,
}

impl<'r, 's> Cols<'r, 's> {
    fn new(r: &'r rusqlite::Row<'s>) -> Self {
        Cols { r, bad: Vec::new() }
    }

    fn value(&mut self, i: usize, name: &str) -> Option<ValueRef<'r>> {
        match self.r.get_ref(i) {
            Ok(ValueRef::Null) => None,
            Ok(v) => Some(v),
            Err(e) => {
                self.bad.push(format!("{name}: {e}"));
                None
            }
        }
    }

    fn int(&mut self, i: usize, name: &str) -> Option<i64> {
        match self.value(i, name)? {
            ValueRef::Integer(n) => Some(n),
            v => {
                self.bad
                    .push(format!("{name} is {}, not an integer", v.data_type()));
                None
            }
        }
    }

    fn req_int(&mut self, i: usize, name: &str) -> Option<i64> {
        let v = self.int(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    fn text(&mut self, i: usize, name: &str) -> Option<String> {
        match self.value(i, name)? {
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => Some(s.to_owned()),
                Err(_) => {
                    self.bad.push(format!("{name} is not UTF-8"));
                    None
                }
            },
            v => {
                self.bad
                    .push(format!("{name} is {}, not text", v.data_type()));
                None
            }
        }
    }

    fn req_text(&mut self, i: usize, name: &str) -> Option<String> {
        let v = self.text(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    fn sha(&mut self, i: usize, name: &str) -> Option<Sha256Digest> {
        let t = self.text(i, name)?;
        match t.parse() {
            Ok(d) => Some(d),
            Err(_) => {
                self.bad
                    .push(format!("{name} {t:?} is not a SHA-256 in hex"));
                None
            }
        }
    }

    fn req_sha(&mut self, i: usize, name: &str) -> Option<Sha256Digest> {
        let v = self.sha(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    fn blake(&mut self, i: usize, name: &str) -> Option<Blake3Digest> {
        let t = self.text(i, name)?;
        match t.parse() {
            Ok(d) => Some(d),
            Err(_) => {
                self.bad
                    .push(format!("{name} {t:?} is not a BLAKE3 in hex"));
                None
            }
        }
    }

    fn blob(&mut self, i: usize, name: &str) -> Option<Vec<u8>> {
        match self.value(i, name)? {
            ValueRef::Blob(b) => Some(b.to_vec()),
            v => {
                self.bad
                    .push(format!("{name} is {}, not a blob", v.data_type()));
                None
            }
        }
    }
}

/// A catalog number as a positive record number.
fn positive(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0)
}

fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "null".to_owned(), T::to_string)
}

/// Appends `field: catalog X, manifest Y` when they differ.
fn diff<T: PartialEq + std::fmt::Display>(
    out: &mut Vec<String>,
    field: &str,
    catalog: Option<T>,
    manifest: Option<T>,
) {
    if catalog != manifest {
        out.push(format!(
            "{field} is {} in the catalog but {} in the manifest",
            show(&catalog),
            show(&manifest)
        ));
    }
}

struct CaptureCols {
    num: u64,
    document: Option<i64>,
    version: Option<i64>,
    ok: Option<i64>,
    captured_at: Option<String>,
    method: Option<String>,
    status: Option<i64>,
    sha256: Option<Sha256Digest>,
    blake3: Option<Blake3Digest>,
    size: Option<i64>,
    media_type: Option<String>,
    text_sha256: Option<Sha256Digest>,
    text_blake3: Option<Blake3Digest>,
    text_size: Option<i64>,
    manifest_sha256: Option<Sha256Digest>,
    manifest_path: Option<String>,
    log_index: Option<i64>,
    doc_url: Option<String>,
    doc_last_capture: Option<i64>,
    doc_current_version: Option<i64>,
    v_document: Option<i64>,
    v_opened_by: Option<i64>,
    v_opened_sha: Option<Sha256Digest>,
    bad: Vec<String>,
}

const CAPTURES_SQL: &str = "SELECT c.num, c.document, c.version, c.ok, c.captured_at, c.method, \
     c.status, c.sha256, c.blake3, c.size, c.media_type, c.text_sha256, c.text_blake3, \
     c.text_size, c.manifest_sha256, c.manifest_path, c.log_index, \
     d.url, d.last_capture, d.current_version, v.document, v.opened_by, v.opened_manifest_sha256 \
     FROM captures c LEFT JOIN documents d ON d.num = c.document \
     LEFT JOIN versions v ON v.num = c.version ORDER BY c.document, c.num";

fn read_capture(r: &rusqlite::Row<'_>) -> Option<CaptureCols> {
    let mut c = Cols::new(r);
    let num = positive(c.int(0, "num"))?;
    Some(CaptureCols {
        num,
        document: c.req_int(1, "document"),
        version: c.int(2, "version"),
        ok: c.req_int(3, "ok"),
        captured_at: c.req_text(4, "captured_at"),
        method: c.req_text(5, "method"),
        status: c.int(6, "status"),
        sha256: c.sha(7, "sha256"),
        blake3: c.blake(8, "blake3"),
        size: c.int(9, "size"),
        media_type: c.text(10, "media_type"),
        text_sha256: c.sha(11, "text_sha256"),
        text_blake3: c.blake(12, "text_blake3"),
        text_size: c.int(13, "text_size"),
        manifest_sha256: c.req_sha(14, "manifest_sha256"),
        manifest_path: c.req_text(15, "manifest_path"),
        log_index: c.req_int(16, "log_index"),
        doc_url: c.text(17, "documents.url"),
        doc_last_capture: c.int(18, "documents.last_capture"),
        doc_current_version: c.int(19, "documents.current_version"),
        v_document: c.int(20, "versions.document"),
        v_opened_by: c.int(21, "versions.opened_by"),
        v_opened_sha: c.sha(22, "versions.opened_manifest_sha256"),
        bad: c.bad,
    })
}

struct ProvisionCols {
    num: u64,
    document: Option<i64>,
    version: Option<i64>,
    capture: Option<i64>,
    created_at: Option<String>,
    quote_sha256: Option<Sha256Digest>,
    text_sha256: Option<Sha256Digest>,
    char_start: Option<i64>,
    char_end: Option<i64>,
    manifest_sha256: Option<Sha256Digest>,
    manifest_path: Option<String>,
    log_index: Option<i64>,
    c_num: Option<i64>,
    c_manifest_sha256: Option<Sha256Digest>,
    c_version: Option<i64>,
    c_text_sha256: Option<Sha256Digest>,
    c_text_size: Option<i64>,
    c_document: Option<i64>,
    v_opened_by: Option<i64>,
    bad: Vec<String>,
}

const PROVISIONS_SQL: &str = "SELECT p.num, p.document, p.version, p.capture, p.created_at, \
     p.quote_sha256, p.text_sha256, p.char_start, p.char_end, p.manifest_sha256, \
     p.manifest_path, p.log_index, c.num, c.manifest_sha256, c.version, c.text_sha256, \
     c.text_size, c.document, v.opened_by \
     FROM provisions p LEFT JOIN captures c ON c.num = p.capture \
     LEFT JOIN versions v ON v.num = p.version ORDER BY p.num";

fn read_provision(r: &rusqlite::Row<'_>) -> Option<ProvisionCols> {
    let mut c = Cols::new(r);
    let num = positive(c.int(0, "num"))?;
    Some(ProvisionCols {
        num,
        document: c.req_int(1, "document"),
        version: c.req_int(2, "version"),
        capture: c.req_int(3, "capture"),
        created_at: c.req_text(4, "created_at"),
        quote_sha256: c.req_sha(5, "quote_sha256"),
        text_sha256: c.req_sha(6, "text_sha256"),
        char_start: c.req_int(7, "char_start"),
        char_end: c.req_int(8, "char_end"),
        manifest_sha256: c.req_sha(9, "manifest_sha256"),
        manifest_path: c.req_text(10, "manifest_path"),
        log_index: c.req_int(11, "log_index"),
        c_num: c.int(12, "captures.num"),
        c_manifest_sha256: c.sha(13, "captures.manifest_sha256"),
        c_version: c.int(14, "captures.version"),
        c_text_sha256: c.sha(15, "captures.text_sha256"),
        c_text_size: c.int(16, "captures.text_size"),
        c_document: c.int(17, "captures.document"),
        v_opened_by: c.int(18, "versions.opened_by"),
        bad: c.bad,
    })
}

struct ReextractionCols {
    num: u64,
    document: Option<i64>,
    created_at: Option<String>,
    manifest_sha256: Option<Sha256Digest>,
    manifest_path: Option<String>,
    log_index: Option<i64>,
    bad: Vec<String>,
}

const REEXTRACTIONS_SQL: &str = "SELECT num, document, created_at, manifest_sha256, \
     manifest_path, log_index FROM reextractions ORDER BY num";

fn read_reextraction(r: &rusqlite::Row<'_>) -> Option<ReextractionCols> {
    let mut c = Cols::new(r);
    let num = positive(c.int(0, "num"))?;
    Some(ReextractionCols {
        num,
        document: c.req_int(1, "document"),
        created_at: c.req_text(2, "created_at"),
        manifest_sha256: c.req_sha(3, "manifest_sha256"),
        manifest_path: c.req_text(4, "manifest_path"),
        log_index: c.req_int(5, "log_index"),
        bad: c.bad,
    })
}

// --- reading manifests (in parallel) -------------------------------------------------------

/// What every record row (capture, provision, re-extraction) has for the shared checks.
trait RecordRow {
    fn num(&self) -> u64;
    /// The catalog's `manifest_sha256`, `manifest_path` and `log_index`.
    fn job_fields(&self) -> (Option<Sha256Digest>, Option<String>, Option<i64>);
    /// What could not be read from the row.
    fn bad(&self) -> &[String];
}

macro_rules! record_row {
    ($t:ty) => {
        impl RecordRow for $t {
            fn num(&self) -> u64 {
                self.num
            }
            fn job_fields(&self) -> (Option<Sha256Digest>, Option<String>, Option<i64>) {
                (
                    self.manifest_sha256,
                    self.manifest_path.clone(),
                    self.log_index,
                )
            }
            fn bad(&self) -> &[String] {
                &self.bad
            }
        }
    };
}
record_row!(CaptureCols);
record_row!(ProvisionCols);
record_row!(ReextractionCols);

struct Job {
    id: RecordId,
    table: &'static str,
    catalog_sha: Option<Sha256Digest>,
    catalog_path: Option<String>,
    log_index: Option<i64>,
}

enum Parsed {
    Capture(Box<CaptureManifest>),
    Provision(Box<ProvisionManifest>),
    Reextraction(Box<ReextractionManifest>),
}

struct Loaded {
    rel: String,
    /// SHA-256 of the file as read, when it could be read.
    sha: Option<Sha256Digest>,
    parsed: Option<Parsed>,
    problems: Vec<Problem>,
}

/// What reading one record's files needs; shared by the worker threads.
struct Loader<'a> {
    root: &'a Path,
    full: bool,
    origin: &'a str,
    public: Option<&'a PublicKey>,
    fingerprint: Option<&'a str>,
    leaves: Option<&'a File>,
    leaves_avail: u64,
}

/// Reads a whole small file: `Err` is a message (`missing`, `larger than …`, the I/O error).
fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = fsutil::open_for_reading(path, Links::Refuse).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "missing".to_owned(),
        io::ErrorKind::InvalidInput => e.to_string(),
        _ => format!("cannot open: {e}"),
    })?;
    // Sized from the file's length (one read instead of growing probes), within the limit.
    let len = file.metadata().map_or(0, |m| m.len()).min(limit);
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
    fn load(&self, job: &Job) -> Loaded {
        let id = &job.id;
        let rel = manifest_rel_path(id);
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
        let bytes = match read_small(&self.root.join(&rel), limit) {
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
        let sig_rel = format!("{rel}.sig");
        match read_small(&self.root.join(&sig_rel), 64) {
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
                    && let Err(e) = public.verify(&bytes, &sig)
                {
                    problems.push(problem(
                        "signature",
                        &sig_rel,
                        format!(
                            "does not verify over {rel} with the archive key {}: {e}",
                            public.fingerprint()
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
        if let Some(fp) = self.fingerprint
            && signer != fp
        {
            problems.push(problem(
                "signature",
                &rel,
                format!("names the signer {signer}, not the archive key {fp}"),
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
fn par_map<T: Sync, R: Send>(items: &[T], workers: usize, f: &(dyn Fn(&T) -> R + Sync)) -> Vec<R> {
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

// --- objects ---------------------------------------------------------------------------------

/// An object some record references, with what the manifests say about it.
struct ObjRef {
    sha: Sha256Digest,
    blake3: Option<Blake3Digest>,
    size: Option<u64>,
    by: (RecordKind, u64),
    role: &'static str,
}

fn object_rel(sha: &Sha256Digest) -> String {
    let hex = sha.to_hex();
    format!("objects/{}/{hex}.zst", &hex[..2])
}

/// What decompressing and hashing one object found.
enum Hashed {
    /// The object decompressed: its digests and size. `capped`: reading stopped at the cap it
    /// was given, so the object is at least `size` bytes and the digests are of that prefix.
    Done {
        sha: Sha256Digest,
        blake3: Blake3Digest,
        size: u64,
        capped: bool,
    },
    /// It could not be read or decompressed.
    Failed(String),
}

impl Hashed {
    /// Whether this result can judge an object the manifests say has `size` bytes: a capped
    /// read cannot, unless it read past that size.
    fn usable_for(&self, size: Option<u64>) -> bool {
        match self {
            Hashed::Done {
                capped: true,
                size: read,
                ..
            } => size.is_some_and(|want| *read > want),
            _ => true,
        }
    }

    /// What is wrong with the object `o`, judged by this result.
    fn judge(&self, o: &ObjRef) -> Option<String> {
        let (sha, blake3, size, capped) = match self {
            Hashed::Failed(m) => return Some(m.clone()),
            Hashed::Done {
                sha,
                blake3,
                size,
                capped,
            } => (sha, blake3, *size, *capped),
        };
        if let Some(want) = o.size
            && size != want
        {
            return Some(if capped || size > want {
                format!("decompresses to more than {want} bytes")
            } else {
                format!("decompresses to {size} bytes, not {want}")
            });
        }
        if *sha != o.sha {
            return Some(format!("its bytes hash to sha256 {sha}, not its name"));
        }
        match o.blake3 {
            Some(want) if *blake3 != want => Some(format!("its BLAKE3 is {blake3}, not {want}")),
            _ => None,
        }
    }
}

/// One worker's state for decompressing and hashing objects: a zstd context and two buffers,
/// reused for every object (creating a context per object costs more than decompressing a
/// small one).
struct ObjectHasher {
    dctx: zstd::stream::raw::Decoder<'static>,
    /// A context for the current delta object, with its reference loaded as the dictionary.
    delta_dctx: Option<zstd::stream::raw::Decoder<'static>>,
    /// Reference objects read so far (bounded: cleared past [`REFERENCE_CACHE`] bytes).
    references: std::collections::HashMap<Sha256Digest, std::sync::Arc<Vec<u8>>>,
    reference_bytes: usize,
    input: Vec<u8>,
    output: Vec<u8>,
}

/// Bytes of reference objects one fsck worker keeps in memory.
const REFERENCE_CACHE: usize = 32 << 20;

impl ObjectHasher {
    fn new() -> io::Result<Self> {
        Ok(ObjectHasher {
            dctx: zstd::stream::raw::Decoder::new()?,
            delta_dctx: None,
            references: std::collections::HashMap::new(),
            reference_bytes: 0,
            input: vec![0u8; BUF],
            output: vec![0u8; BUF],
        })
    }

    /// The bytes of `reference` (read and verified once, then cached).
    fn reference(
        &mut self,
        store: &ObjectStore,
        reference: &Sha256Digest,
    ) -> Result<std::sync::Arc<Vec<u8>>, String> {
        if let Some(bytes) = self.references.get(reference) {
            return Ok(bytes.clone());
        }
        let bytes = std::sync::Arc::new(store.read_reference(reference)?);
        if self.reference_bytes + bytes.len() > REFERENCE_CACHE {
            self.references.clear();
            self.reference_bytes = 0;
        }
        self.reference_bytes += bytes.len();
        self.references.insert(*reference, bytes.clone());
        Ok(bytes)
    }

    /// Decompresses one object, streaming (two buffers in memory, whatever its size), hashing
    /// it with SHA-256 and BLAKE3 in the same pass; stops after `cap` bytes (a damaged object
    /// may decompress to far more than it should). Reports progress in uncompressed bytes.
    fn hash(
        &mut self,
        store: &ObjectStore,
        sha: &Sha256Digest,
        cap: u64,
        progress: Option<&(dyn Fn(Progress) + Sync)>,
    ) -> Hashed {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let failed = |m: String| Hashed::Failed(m);
        let mut file = match fsutil::open_for_reading(&store.path_of(sha), Links::Refuse) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return failed("missing".into()),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => return failed(e.to_string()),
            Err(e) => return failed(format!("cannot open: {e}")),
        };
        // A delta object (FORMAT §6) is decoded with its reference as the dictionary.
        let mut start = 0usize;
        let first = match read_retry(&mut file, &mut self.input[..crate::delta::REFERENCE_HEADER]) {
            Ok(n) => n,
            Err(e) => return failed(format!("cannot read: {e}")),
        };
        let mut end = first;
        let mut eof = first == 0;
        let delta = match crate::delta::parse_start(&self.input[..first]) {
            crate::delta::Start::Plain => false,
            crate::delta::Start::BadHeader(m) => return failed(format!("damaged: {m}")),
            crate::delta::Start::Delta(reference) => {
                let bytes = match self.reference(store, &reference) {
                    Ok(b) => b,
                    Err(e) => {
                        return failed(format!("its reference object {reference} {e}"));
                    }
                };
                match zstd::stream::raw::Decoder::with_dictionary(&bytes) {
                    Ok(d) => self.delta_dctx = Some(d),
                    Err(e) => return failed(format!("cannot decompress: {e}")),
                }
                true
            }
        };
        let dctx = match (delta, self.delta_dctx.as_mut()) {
            (true, Some(d)) => d,
            _ => &mut self.dctx,
        };
        if let Err(e) = dctx.reinit() {
            return failed(format!("cannot decompress: {e}"));
        }
        let mut h = DualHasher::new();
        let capped = loop {
            if start == end && !eof {
                match read_retry(&mut file, &mut self.input) {
                    Ok(0) => eof = true,
                    Ok(n) => (start, end) = (0, n),
                    Err(e) => return failed(format!("cannot read: {e}")),
                }
            }
            let room = (cap - h.len()).min(self.output.len() as u64) as usize;
            let mut input = InBuffer::around(&self.input[start..end]);
            let mut output = OutBuffer::around(&mut self.output[..room]);
            let hint = match dctx.run(&mut input, &mut output) {
                Ok(hint) => hint,
                Err(e) => {
                    return failed(format!(
                        "damaged: decompression fails after {} bytes: {e}",
                        h.len()
                    ));
                }
            };
            let (read, written) = (input.pos(), output.pos());
            start += read;
            if written > 0 {
                h.update(&self.output[..written]);
                if let Some(p) = progress {
                    p(Progress::Advance {
                        phase: Phase::Objects,
                        n: written as u64,
                    });
                }
            }
            if hint == 0 {
                // A frame is complete. An object is one frame, or several concatenated (a text
                // stored as its document's frame plus a frame of the extra bytes, FORMAT §6):
                // whatever follows must decode as further frames, or decompression fails.
                if start < end {
                    continue;
                }
                match read_retry(&mut file, &mut self.input) {
                    Ok(0) => break false,
                    Ok(n) => {
                        (start, end) = (0, n);
                        continue;
                    }
                    Err(e) => return failed(format!("cannot read: {e}")),
                }
            }
            if h.len() >= cap {
                break true;
            }
            if eof && read == 0 && written == 0 {
                return failed(format!(
                    "damaged: the zstd frame is cut short after {} bytes",
                    h.len()
                ));
            }
        };
        let (sha, blake3, size) = h.finish();
        Hashed::Done {
            sha,
            blake3,
            size,
            capped,
        }
    }
}

fn read_retry(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// An object to hash and the most bytes to read of it.
type HashJob = (Sha256Digest, u64);

/// A worker: takes objects from the shared queue until it is empty. A worker that cannot make
/// a zstd context takes nothing (the others do its share).
fn hash_queue(
    store: &ObjectStore,
    jobs: &[HashJob],
    next: &AtomicUsize,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Vec<(usize, Hashed)> {
    let mut out = Vec::new();
    let Ok(mut hasher) = ObjectHasher::new() else {
        return out;
    };
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some((sha, cap)) = jobs.get(i) else { break };
        out.push((i, hasher.hash(store, sha, *cap, progress)));
    }
    out
}

/// Hashes `jobs` on up to `workers` threads; one result per job, in order.
fn hash_all(
    store: &ObjectStore,
    jobs: &[HashJob],
    workers: usize,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Vec<Hashed> {
    let next = AtomicUsize::new(0);
    let done: Vec<(usize, Hashed)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.clamp(1, jobs.len().max(1)))
            .map(|_| s.spawn(|| hash_queue(store, jobs, &next, progress)))
            .collect();
        join_all(handles)
    });
    collect_results(done, jobs.len())
}

fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, Vec<T>>>) -> Vec<T> {
    let mut all = Vec::new();
    for h in handles {
        match h.join() {
            Ok(v) => all.extend(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    all
}

/// Results by job index; a job no worker took (none could start) failed.
fn collect_results(done: Vec<(usize, Hashed)>, n: usize) -> Vec<Hashed> {
    let mut slots: Vec<Option<Hashed>> = Vec::with_capacity(n);
    slots.resize_with(n, || None);
    for (i, r) in done {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(r);
        }
    }
    slots
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Hashed::Failed("not checked: cannot create a zstd context".into()))
        })
        .collect()
}

// --- the log ---------------------------------------------------------------------------------

/// RFC 6962 root of a growing sequence of leaves, in O(log n) memory: the roots of the complete
/// subtrees, largest (leftmost) first.
#[derive(Default)]
struct Frontier {
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    /// Appends a leaf hash; `on_node(level, hash)` sees every complete subtree it completes,
    /// the leaf itself (level 0) first.
    fn push(&mut self, leaf: Hash, mut on_node: impl FnMut(u32, &Hash)) {
        let mut hash = leaf;
        let mut level = 0u32;
        on_node(level, &hash);
        while let Some(&(l, left)) = self.stack.last() {
            if l != level {
                break;
            }
            self.stack.pop();
            hash = merkle::node_hash(&left, &hash);
            level += 1;
            on_node(level, &hash);
        }
        self.stack.push((level, hash));
    }

    fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for (_, piece) in self.stack.iter().rev() {
            acc = Some(match acc {
                None => *piece,
                Some(right) => merkle::node_hash(piece, &right),
            });
        }
        acc.unwrap_or_else(merkle::empty_root)
    }
}

/// Sequential reads of `log/leaves` through a 256 KiB window.
struct LeafWindow<'a> {
    file: &'a File,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> LeafWindow<'a> {
    fn new(file: &'a File) -> Self {
        LeafWindow {
            file,
            start: 0,
            buf: Vec::new(),
        }
    }

    fn get(&mut self, index: u64) -> io::Result<Hash> {
        let off = index * 32;
        if off < self.start || off + 32 > self.start + self.buf.len() as u64 {
            self.buf.resize(BUF, 0);
            let mut got = 0;
            while got < BUF {
                match self.file.read_at(&mut self.buf[got..], off + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.buf.truncate(got);
            self.start = off;
            if got < 32 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "log/leaves ends early",
                ));
            }
        }
        let at = (off - self.start) as usize;
        let mut leaf = [0u8; 32];
        leaf.copy_from_slice(&self.buf[at..at + 32]);
        Ok(leaf)
    }
}

// --- the checker -----------------------------------------------------------------------------

struct DocState {
    num: i64,
    known: bool,
    last_capture: Option<i64>,
    current_version: Option<i64>,
    last_num: u64,
    /// The previous capture: number and manifest SHA-256 (when the catalog has it).
    prev: Option<(u64, Option<Sha256Digest>)>,
    /// The current version: number, opening capture, its manifest SHA-256.
    cur: Option<(u64, u64, Option<Sha256Digest>)>,
}

struct Checker<'a> {
    archive: &'a Archive,
    root: &'a Path,
    opts: &'a FsckOptions<'a>,
    workers: usize,
    found: Findings,
    notes: Notes,
    public: Option<PublicKey>,
    fingerprint: Option<String>,
    log_size: u64,
    /// Whether the catalog's log size could be read (if not, leaf ownership is not checked:
    /// every record would look out of range).
    log_known: bool,
    /// Whether every record row could be read (if not, files without a record are not
    /// called orphans: the catalog, not the files, is what is damaged).
    records_complete: bool,
    leaves: Option<File>,
    /// Leaves of the log that `log/leaves` holds: min(log size, file length / 32).
    leaves_avail: u64,
    /// Log index → the record whose leaf it is.
    owners: HashMap<u64, (RecordKind, u64)>,
    /// Every record in the catalog (for orphan manifests).
    ids: HashSet<(RecordKind, u64)>,
    objects: Vec<ObjRef>,
    /// Catalog checkpoints: size → root.
    checkpoint_roots: BTreeMap<u64, Hash>,
    /// The sizes of the catalog's `checkpoints` rows (not `log/checkpoint`'s: a checkpoint
    /// file no row names is judged by `orphan_checkpoint`, even the latest).
    catalog_checkpoints: HashSet<u64>,
    /// Catalog tokens: (size, TSA name) → file, relative.
    timestamp_files: Vec<(u64, String, String)>,
    report: FsckReport,
}

impl<'a> Checker<'a> {
    fn fail(&mut self, check: &'static str, path: impl Into<String>, message: impl Into<String>) {
        self.found.add(problem(check, path, message));
    }

    fn catalog(&mut self, message: impl Into<String>) {
        self.fail("catalog", CATALOG_FILE, message);
    }

    fn id(&self, kind: RecordKind, n: u64) -> RecordId {
        self.archive.id(kind, n)
    }

    fn progress(&self, p: Progress) {
        if let Some(f) = self.opts.progress {
            f(p);
        }
    }

    fn run(&mut self) {
        // The latest checkpoint file is read before the catalog snapshot: it is written before
        // the catalog commits the checkpoint, and after the leaves it signs are committed, so
        // read in this order it never signs more than the snapshot's log holds.
        let latest_file = match read_small(&self.root.join(LATEST_CHECKPOINT), 1 << 20) {
            Ok(b) => Some(Ok(b)),
            Err(e) if e == "missing" => None,
            Err(e) => Some(Err(e)),
        };
        let archive: &'a Archive = self.archive;
        // One read transaction: a concurrent capture is seen wholly or not at all.
        let tx = match archive.conn.unchecked_transaction() {
            Ok(tx) => Some(tx),
            Err(e) => {
                self.catalog(format!("cannot begin a read transaction: {e}"));
                None
            }
        };
        self.keys();
        let early = if self.opts.full {
            self.catalog_objects()
        } else {
            Vec::new()
        };
        let store: &ObjectStore = archive.objects();
        let progress = self.opts.progress;
        let next = AtomicUsize::new(0);
        let (early_ref, next_ref) = (&early, &next);
        std::thread::scope(|s| {
            // --full: the objects are hashed by their own workers from the start, while this
            // thread (and the manifest readers) check the records; both keep the cores busy.
            let handles: Vec<_> = if early.is_empty() {
                Vec::new()
            } else {
                self.progress(Progress::Begin {
                    phase: Phase::Objects,
                    total: early
                        .iter()
                        .filter(|j| j.1 != u64::MAX)
                        .map(|j| j.1 - 1)
                        .sum(),
                });
                (0..self.workers.clamp(1, early.len()))
                    .map(|_| s.spawn(move || hash_queue(store, early_ref, next_ref, progress)))
                    .collect()
            };
            self.quick(latest_file);
            let todo = self.objects_present();
            if self.opts.full {
                self.full_log();
                self.full_tokens();
                let done = join_all(handles);
                let hashed = collect_results(done, early.len());
                self.judge_objects(todo, &early, hashed);
            }
        });
        drop(tx);
    }

    /// Everything but the objects' bytes.
    fn quick(&mut self, latest_file: Option<Result<Vec<u8>, String>>) {
        self.sqlite_integrity();
        self.open_log();
        let total = self.count_records();
        self.progress(Progress::Begin {
            phase: Phase::Records,
            total,
        });
        self.captures();
        self.provisions();
        self.reextractions();
        self.log_ownership();
        self.catalog_extras();
        self.log_nodes_vs_leaves();
        self.checkpoints(latest_file);
        self.timestamps();
        self.walk_manifests();
        self.walk_log();
        self.walk_temp(".");
        self.walk_temp("keys");
        // Only for what they hold that is not a file or directory (see `read_dir`).
        self.read_dir("locks");
        self.read_dir(crate::timestamps::TSA_DIR);
    }

    fn keys(&mut self) {
        match crate::archive::load_public_key(&self.root.join(PUBLIC_KEY)) {
            Ok(k) => {
                self.fingerprint = Some(k.fingerprint().to_string());
                self.public = Some(k);
            }
            Err(e) => self.fail(
                "keys",
                PUBLIC_KEY,
                format!("cannot load the archive's public key: {e}; signatures not checked"),
            ),
        }
        self.private_key();
    }

    /// The private key, when the archive has it (a copy checked elsewhere may not): readable
    /// by its owner only, and the key of `keys/signing.pub.pem` — a key that is not would sign
    /// records that never verify.
    fn private_key(&mut self) {
        let archive: &'a Archive = self.archive;
        let path = archive.config.key_path(self.root);
        let shown = path
            .strip_prefix(self.root)
            .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
        // The mode from `stat`, which needs no permission to read the file: an auditor
        // running fsck as another user still sees a key others can read.
        let links = archive.key_links();
        let meta = match links {
            Links::Refuse => std::fs::symlink_metadata(&path),
            Links::Follow => std::fs::metadata(&path),
        };
        match meta {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Ok(m) if m.is_file() => {
                use std::os::unix::fs::PermissionsExt;
                let mode = m.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 {
                    let e = exhibit_sign::KeyError::InsecurePermissions {
                        path: path.clone(),
                        mode,
                    };
                    self.fail("keys", shown, e.to_string());
                    return;
                }
            }
            // Anything else is reported by the load below.
            _ => {}
        }
        match crate::archive::load_private_key(&path, links) {
            Ok(key) => {
                if let Some(public) = &self.public
                    && key.public_key() != *public
                {
                    let message = format!(
                        "does not match {PUBLIC_KEY}: its public key is {}, the archive's is {}; \
                         records it signed would never verify",
                        key.public_key().fingerprint(),
                        public.fingerprint()
                    );
                    self.fail("keys", shown, message);
                }
            }
            // Not ours to read (fsck run by another user): the match cannot be checked.
            Err(StoreError::Key(exhibit_sign::KeyError::Read { error, .. }))
                if matches!(
                    error.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) => {}
            Err(StoreError::Key(e @ exhibit_sign::KeyError::InsecurePermissions { .. })) => {
                self.fail("keys", shown, e.to_string())
            }
            Err(e) => self.fail("keys", shown, format!("cannot load the private key: {e}")),
        }
    }

    fn sqlite_integrity(&mut self) {
        let archive: &'a Archive = self.archive;
        let pragma = if self.opts.full {
            "PRAGMA integrity_check"
        } else {
            "PRAGMA quick_check"
        };
        let lines: rusqlite::Result<Vec<String>> = archive
            .conn
            .prepare(pragma)
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        match lines {
            Ok(lines) => {
                for line in lines.into_iter().filter(|l| l != "ok") {
                    self.catalog(format!("SQLite {pragma}: {line}"));
                }
            }
            Err(e) => self.catalog(format!("SQLite {pragma} failed: {e}")),
        }
        let fk: rusqlite::Result<Vec<(String, Option<i64>, String)>> = archive
            .conn
            .prepare("PRAGMA foreign_key_check")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            });
        match fk {
            Ok(rows) => {
                for (table, rowid, parent) in rows {
                    self.catalog(format!(
                        "{table} row {}: refers to a {parent} row that does not exist",
                        show(&rowid)
                    ));
                }
            }
            Err(e) => self.catalog(format!("SQLite foreign_key_check failed: {e}")),
        }
    }

    fn open_log(&mut self) {
        let size: rusqlite::Result<i64> =
            self.archive
                .conn
                .query_row("SELECT last FROM counters WHERE kind = 'L'", [], |r| {
                    r.get(0)
                });
        self.log_size = match size {
            Ok(n) if n >= 0 => {
                self.log_known = true;
                n as u64
            }
            Ok(n) => {
                self.catalog(format!("the log size (counter L) is {n}"));
                0
            }
            Err(e) => {
                self.catalog(format!("cannot read the log size (counter L): {e}"));
                0
            }
        };
        self.report.log_size = self.log_size;
        let path = self.root.join(LEAVES_FILE);
        let file = match fsutil::open_for_reading(&path, Links::Refuse) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.log_size > 0 {
                    self.fail(
                        "log",
                        LEAVES_FILE,
                        format!("missing, but the log has {} leaves", self.log_size),
                    );
                }
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                self.fail("log", LEAVES_FILE, e.to_string());
                return;
            }
            Err(e) => {
                self.fail("log", LEAVES_FILE, format!("cannot open: {e}"));
                return;
            }
        };
        let len = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                self.fail("log", LEAVES_FILE, format!("cannot stat: {e}"));
                return;
            }
        };
        if !self.log_known {
            self.leaves_avail = len / 32;
            self.leaves = Some(file);
            return;
        }
        let want = self.log_size.saturating_mul(32);
        if len < want {
            self.fail(
                "log",
                LEAVES_FILE,
                format!(
                    "is {len} bytes, holding {} leaves, but the log has {}: the file was truncated",
                    len / 32,
                    self.log_size
                ),
            );
        } else if len > want {
            self.notes.add(
                NoteKind::UncommittedLeaves,
                format!(
                    "{LEAVES_FILE} (bytes {want}..{len}, {} leaves)",
                    (len - want).div_ceil(32)
                ),
            );
        }
        self.leaves_avail = self.log_size.min(len / 32);
        self.leaves = Some(file);
    }

    fn count_records(&mut self) -> u64 {
        let archive: &'a Archive = self.archive;
        let mut count = |table: &str| -> u64 {
            match archive
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                }) {
                Ok(n) => n.max(0) as u64,
                Err(e) => {
                    self.found.add(problem(
                        "catalog",
                        CATALOG_FILE,
                        format!("cannot count {table}: {e}"),
                    ));
                    0
                }
            }
        };
        let (c, p, r) = (
            count("captures"),
            count("provisions"),
            count("reextractions"),
        );
        c + p + r
    }

    fn loader(&self) -> Loader<'_> {
        Loader {
            root: self.root,
            full: self.opts.full,
            origin: &self.archive.config.origin,
            public: self.public.as_ref(),
            fingerprint: self.fingerprint.as_deref(),
            leaves: self.leaves.as_ref(),
            leaves_avail: self.leaves_avail,
        }
    }

    fn load_all(&self, jobs: &[Job]) -> Vec<Loaded> {
        let loader = self.loader();
        par_map(jobs, self.workers, &|j| loader.load(j))
    }

    /// Records that the record `who` is the leaf at `index`.
    fn own(&mut self, index: Option<i64>, who: (RecordKind, u64)) {
        if !self.log_known {
            return;
        }
        let id = self.id(who.0, who.1);
        let Some(index) = index else { return };
        let Some(index) = u64::try_from(index).ok().filter(|i| *i < self.log_size) else {
            self.catalog(format!(
                "{id}: log_index {index} is outside the log of {} leaves",
                self.log_size
            ));
            return;
        };
        if let Some(other) = self.owners.insert(index, who) {
            let other = self.id(other.0, other.1);
            self.catalog(format!(
                "{id}: log_index {index} is also the leaf of {other}; each record is one leaf"
            ));
        }
    }

    /// Iterates a catalog query, handing rows to `batch` in groups of `size`.
    fn rows<T>(
        &mut self,
        sql: &str,
        table: &str,
        read: fn(&rusqlite::Row<'_>) -> Option<T>,
        size: usize,
        mut batch: impl FnMut(&mut Self, Vec<T>),
    ) {
        let archive: &'a Archive = self.archive;
        let mut stmt = match archive.conn.prepare(sql) {
            Ok(s) => s,
            Err(e) => {
                self.records_complete = false;
                self.catalog(format!("cannot read {table}: {e}"));
                return;
            }
        };
        let mut rows = match stmt.query([]) {
            Ok(r) => r,
            Err(e) => {
                self.records_complete = false;
                self.catalog(format!("cannot read {table}: {e}"));
                return;
            }
        };
        let mut pending = Vec::with_capacity(size);
        loop {
            match rows.next() {
                Ok(Some(r)) => match read(r) {
                    Some(row) => {
                        pending.push(row);
                        if pending.len() == size {
                            batch(self, std::mem::take(&mut pending));
                        }
                    }
                    None => self.catalog(format!(
                        "{table}: a row whose num is not a positive integer"
                    )),
                },
                Ok(None) => break,
                Err(e) => {
                    self.records_complete = false;
                    self.catalog(format!("reading {table} failed: {e}"));
                    break;
                }
            }
        }
        if !pending.is_empty() {
            batch(self, pending);
        }
    }

    // --- captures ---

    /// Reads a record table in batches, loads each batch's manifests (in parallel), and
    /// hands every row with its manifest to `check`.
    fn records<T: RecordRow>(
        &mut self,
        sql: &str,
        table: &'static str,
        read: fn(&rusqlite::Row<'_>) -> Option<T>,
        size: usize,
        kind: RecordKind,
        mut check: impl FnMut(&mut Self, T, Loaded),
    ) {
        self.rows(sql, table, read, size, |c, rows| {
            let jobs: Vec<Job> = rows
                .iter()
                .map(|r| {
                    let (catalog_sha, catalog_path, log_index) = r.job_fields();
                    Job {
                        id: c.id(kind, r.num()),
                        table,
                        catalog_sha,
                        catalog_path,
                        log_index,
                    }
                })
                .collect();
            let loaded = c.load_all(&jobs);
            let n = rows.len() as u64;
            for (row, l) in rows.into_iter().zip(loaded) {
                check(c, row, l);
            }
            c.progress(Progress::Advance {
                phase: Phase::Records,
                n,
            });
        });
    }

    /// The checks every record starts with; returns its id.
    fn begin_record(
        &mut self,
        kind: RecordKind,
        table: &str,
        row: &impl RecordRow,
        problems: Vec<Problem>,
    ) -> RecordId {
        let num = row.num();
        let id = self.id(kind, num);
        for p in problems {
            self.found.add(p);
        }
        if !row.bad().is_empty() {
            self.catalog(format!("{table} row {id}: {}", row.bad().join("; ")));
        }
        self.ids.insert((kind, num));
        self.own(row.job_fields().2, (kind, num));
        id
    }

    fn captures(&mut self) {
        let mut doc: Option<DocState> = None;
        self.records(
            CAPTURES_SQL,
            "captures",
            read_capture,
            BATCH,
            RecordKind::Capture,
            |c, row, l| c.capture(row, l, &mut doc),
        );
        if let Some(d) = doc.take() {
            self.end_document(d);
        }
    }

    fn capture(&mut self, row: CaptureCols, l: Loaded, doc: &mut Option<DocState>) {
        let num = row.num;
        self.report.captures += 1;
        let id = self.begin_record(RecordKind::Capture, "captures", &row, l.problems);
        let docnum = row.document.unwrap_or(0);
        if doc.as_ref().is_none_or(|d| d.num != docnum) {
            if let Some(d) = doc.take() {
                self.end_document(d);
            }
            let known = row.doc_url.is_some();
            if !known && row.document.is_some() {
                self.catalog(format!(
                    "captures row {id}: document {docnum} is not in the catalog"
                ));
            }
            *doc = Some(DocState {
                num: docnum,
                known,
                last_capture: row.doc_last_capture,
                current_version: row.doc_current_version,
                last_num: num,
                prev: None,
                cur: None,
            });
        }
        let Some(st) = doc.as_mut() else { return };
        let sha = row.manifest_sha256.or(l.sha);
        match &l.parsed {
            Some(Parsed::Capture(m)) => {
                self.capture_row_vs_manifest(&row, m, &id);
                self.capture_chain(st, &row, m, &id, &l.rel, sha);
                if let Some(c) = &m.content {
                    self.objects.push(ObjRef {
                        sha: c.sha256,
                        blake3: Some(c.blake3),
                        size: Some(c.size),
                        by: (RecordKind::Capture, num),
                        role: "content",
                    });
                }
                if let Some(t) = &m.text {
                    self.objects.push(ObjRef {
                        sha: t.sha256,
                        blake3: Some(t.blake3),
                        size: Some(t.size),
                        by: (RecordKind::Capture, num),
                        role: "text",
                    });
                }
            }
            _ => {
                // The manifest could not be used: follow the catalog so that one damaged
                // manifest does not break the checks of the captures after it.
                if row.ok == Some(1)
                    && let Some(v) = positive(row.version)
                {
                    if positive(row.v_opened_by) == Some(num) {
                        st.cur = Some((v, num, sha));
                    } else if st.cur.is_none_or(|c| c.0 != v) {
                        st.cur = positive(row.v_opened_by).map(|o| (v, o, row.v_opened_sha));
                    }
                }
                if let Some(s) = row.sha256 {
                    self.objects.push(ObjRef {
                        sha: s,
                        blake3: row.blake3,
                        size: row.size.and_then(|n| u64::try_from(n).ok()),
                        by: (RecordKind::Capture, num),
                        role: "content",
                    });
                }
                if let Some(s) = row.text_sha256 {
                    self.objects.push(ObjRef {
                        sha: s,
                        blake3: row.text_blake3,
                        size: row.text_size.and_then(|n| u64::try_from(n).ok()),
                        by: (RecordKind::Capture, num),
                        role: "text",
                    });
                }
            }
        }
        st.last_num = num;
        st.prev = Some((num, sha));
    }

    fn capture_row_vs_manifest(&mut self, row: &CaptureCols, m: &CaptureManifest, id: &RecordId) {
        let mut d = Vec::new();
        let n = |v: u64| Some(v as i64);
        diff(&mut d, "document", row.document, n(m.document.id.number()));
        diff(
            &mut d,
            "document url",
            row.doc_url.as_deref(),
            Some(m.document.url.as_str()),
        );
        diff(&mut d, "ok", row.ok, Some(i64::from(m.is_success())));
        diff(
            &mut d,
            "captured_at",
            row.captured_at.as_deref(),
            Some(m.captured_at.as_str()),
        );
        diff(
            &mut d,
            "method",
            row.method.as_deref(),
            Some(m.method.as_str()),
        );
        diff(
            &mut d,
            "status",
            row.status,
            m.http.as_ref().and_then(|h| h.status).map(i64::from),
        );
        let c = m.content.as_ref();
        diff(&mut d, "sha256", row.sha256, c.map(|c| c.sha256));
        diff(&mut d, "blake3", row.blake3, c.map(|c| c.blake3));
        diff(&mut d, "size", row.size, c.map(|c| c.size as i64));
        diff(
            &mut d,
            "media_type",
            row.media_type.as_deref(),
            c.map(|c| c.media_type.as_str()),
        );
        let t = m.text.as_ref();
        diff(&mut d, "text_sha256", row.text_sha256, t.map(|t| t.sha256));
        diff(&mut d, "text_blake3", row.text_blake3, t.map(|t| t.blake3));
        diff(&mut d, "text_size", row.text_size, t.map(|t| t.size as i64));
        diff(
            &mut d,
            "version",
            row.version,
            m.version.as_ref().map(|v| v.id.number() as i64),
        );
        if !d.is_empty() {
            self.catalog(format!(
                "captures row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
    }

    fn capture_chain(
        &mut self,
        st: &mut DocState,
        row: &CaptureCols,
        m: &CaptureManifest,
        id: &RecordId,
        rel: &str,
        sha: Option<Sha256Digest>,
    ) {
        let num = row.num;
        let mut wrong = Vec::new();
        match (&m.previous_capture, st.prev) {
            (None, None) => {}
            (Some(l), Some((n, s))) => {
                let want = self.id(RecordKind::Capture, n);
                if l.id != want {
                    wrong.push(format!(
                        "previous_capture is {}, but the document's previous capture is {want}",
                        l.id
                    ));
                } else if let Some(s) = s
                    && l.manifest_sha256 != s
                {
                    wrong.push(format!(
                        "previous_capture pins {want} as {}, but its manifest is {s}",
                        l.manifest_sha256
                    ));
                }
            }
            (Some(l), None) => wrong.push(format!(
                "previous_capture is {}, but the catalog has no earlier capture of {}",
                l.id, m.document.id
            )),
            (None, Some((n, _))) => wrong.push(format!(
                "previous_capture is null, but {} is an earlier capture of {}",
                self.id(RecordKind::Capture, n),
                m.document.id
            )),
        }
        if let Some(v) = &m.version {
            match v.change {
                Change::New => {
                    let want = st
                        .cur
                        .map(|(vn, _, osha)| (self.id(RecordKind::Version, vn), osha));
                    match (&v.previous, want) {
                        (None, None) => {}
                        (Some(l), Some((vid, osha))) => {
                            if l.id != vid {
                                wrong.push(format!(
                                    "version.previous is {}, but the document's version before {} is {vid}",
                                    l.id, v.id
                                ));
                            } else if let Some(o) = osha
                                && l.manifest_sha256 != o
                            {
                                wrong.push(format!(
                                    "version.previous pins {vid} as {}, but the manifest that opened it is {o}",
                                    l.manifest_sha256
                                ));
                            }
                        }
                        (Some(l), None) => wrong.push(format!(
                            "version.previous is {}, but {} is the document's first version",
                            l.id, v.id
                        )),
                        (None, Some((vid, _))) => wrong.push(format!(
                            "version.previous is null, but the document's current version was {vid}"
                        )),
                    }
                    let mut vd = Vec::new();
                    diff(&mut vd, "opened_by", row.v_opened_by, Some(num as i64));
                    diff(&mut vd, "opened_manifest_sha256", row.v_opened_sha, sha);
                    diff(&mut vd, "document", row.v_document, row.document);
                    if !vd.is_empty() {
                        self.catalog(format!(
                            "versions row {} (opened by {id}): {}",
                            v.id,
                            vd.join("; ")
                        ));
                    }
                    st.cur = Some((v.id.number(), num, sha));
                }
                Change::Unchanged => match st.cur {
                    None => wrong.push(format!(
                        "confirms {} unchanged, but the document has no earlier version",
                        v.id
                    )),
                    Some((vn, opener, osha)) => {
                        let vid = self.id(RecordKind::Version, vn);
                        let oid = self.id(RecordKind::Capture, opener);
                        if v.id != vid {
                            wrong.push(format!(
                                "confirms {} unchanged, but the document's current version is {vid}",
                                v.id
                            ));
                        } else if let Some(l) = &v.opened_by {
                            if l.id != oid {
                                wrong.push(format!(
                                    "version.opened_by is {}, but {vid} was opened by {oid}",
                                    l.id
                                ));
                            } else if let Some(o) = osha
                                && l.manifest_sha256 != o
                            {
                                wrong.push(format!(
                                    "version.opened_by pins {oid} as {}, but its manifest is {o}",
                                    l.manifest_sha256
                                ));
                            }
                        }
                    }
                },
            }
        }
        for w in wrong {
            self.fail("chain", rel, format!("{id}: {w}"));
        }
    }

    fn end_document(&mut self, st: DocState) {
        if !st.known {
            return;
        }
        let did = self.id(RecordKind::Document, st.num.max(0) as u64);
        if positive(st.last_capture) != Some(st.last_num) {
            self.catalog(format!(
                "documents row {did}: last_capture is {}, but its latest capture is {}",
                show(&st.last_capture),
                self.id(RecordKind::Capture, st.last_num)
            ));
        }
        let current = st.cur.map(|c| c.0);
        if positive(st.current_version) != current {
            self.catalog(format!(
                "documents row {did}: current_version is {}, but its latest successful capture's version is {}",
                show(&st.current_version),
                current.map_or_else(
                    || "none".to_owned(),
                    |v| self.id(RecordKind::Version, v).to_string()
                )
            ));
        }
    }

    // --- provisions ---

    fn provisions(&mut self) {
        self.records(
            PROVISIONS_SQL,
            "provisions",
            read_provision,
            BATCH,
            RecordKind::Provision,
            Self::provision,
        );
    }

    fn provision(&mut self, row: ProvisionCols, l: Loaded) {
        let num = row.num;
        self.report.provisions += 1;
        let id = self.begin_record(RecordKind::Provision, "provisions", &row, l.problems);
        let Some(Parsed::Provision(m)) = &l.parsed else {
            if let Some(s) = row.text_sha256 {
                self.objects.push(ObjRef {
                    sha: s,
                    blake3: None,
                    size: None,
                    by: (RecordKind::Provision, num),
                    role: "quoted text",
                });
            }
            return;
        };
        let n = |v: u64| Some(v as i64);
        let mut d = Vec::new();
        diff(&mut d, "document", row.document, n(m.document.id.number()));
        diff(&mut d, "version", row.version, n(m.version.number()));
        diff(&mut d, "capture", row.capture, n(m.capture.id.number()));
        diff(
            &mut d,
            "created_at",
            row.created_at.as_deref(),
            Some(m.created_at.as_str()),
        );
        diff(
            &mut d,
            "quote_sha256",
            row.quote_sha256,
            Some(m.quote.sha256),
        );
        diff(&mut d, "text_sha256", row.text_sha256, Some(m.text.sha256));
        diff(&mut d, "char_start", row.char_start, n(m.quote.char_start));
        diff(&mut d, "char_end", row.char_end, n(m.quote.char_end));
        if !d.is_empty() {
            self.catalog(format!(
                "provisions row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
        let cid = &m.capture.id;
        let mut wrong = Vec::new();
        if row.c_num.is_none() {
            wrong.push(format!("quotes {cid}, which is not in the catalog"));
        } else {
            if let Some(s) = row.c_manifest_sha256
                && s != m.capture.manifest_sha256
            {
                wrong.push(format!(
                    "pins {cid} as {}, but its manifest is {s}",
                    m.capture.manifest_sha256
                ));
            }
            if positive(row.c_version) != Some(m.version.number()) {
                wrong.push(format!(
                    "quotes {} but {cid} belongs to version {}",
                    m.version,
                    show(&row.c_version)
                ));
            } else if positive(row.v_opened_by) != Some(cid.number()) {
                wrong.push(format!(
                    "names {cid} as the capture that opened {}, but {} opened it",
                    m.version,
                    show(&row.v_opened_by)
                ));
            }
            if row.c_text_sha256 != Some(m.text.sha256)
                || row.c_text_size != Some(m.text.size as i64)
            {
                wrong.push(format!(
                    "quotes the text {} ({} bytes), but {cid}'s text is {} ({} bytes)",
                    m.text.sha256,
                    m.text.size,
                    show(&row.c_text_sha256),
                    show(&row.c_text_size)
                ));
            }
            if positive(row.c_document) != Some(m.document.id.number()) {
                wrong.push(format!(
                    "names {}, but {cid} is a capture of document {}",
                    m.document.id,
                    show(&row.c_document)
                ));
            }
        }
        for w in wrong {
            self.fail("chain", &l.rel, format!("{id}: {w}"));
        }
        self.objects.push(ObjRef {
            sha: m.text.sha256,
            blake3: None,
            size: Some(m.text.size),
            by: (RecordKind::Provision, num),
            role: "quoted text",
        });
    }

    // --- re-extractions ---

    fn reextractions(&mut self) {
        self.records(
            REEXTRACTIONS_SQL,
            "reextractions",
            read_reextraction,
            BATCH_REEXTRACTIONS,
            RecordKind::Reextraction,
            Self::reextraction,
        );
    }

    fn reextraction(&mut self, row: ReextractionCols, l: Loaded) {
        let num = row.num;
        self.report.reextractions += 1;
        let id = self.begin_record(RecordKind::Reextraction, "reextractions", &row, l.problems);
        let Some(Parsed::Reextraction(m)) = &l.parsed else {
            return;
        };
        let mut d = Vec::new();
        diff(
            &mut d,
            "document",
            row.document,
            Some(m.document.id.number() as i64),
        );
        diff(
            &mut d,
            "created_at",
            row.created_at.as_deref(),
            Some(m.created_at.as_str()),
        );
        if !d.is_empty() {
            self.catalog(format!(
                "reextractions row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
        let archive: &'a Archive = self.archive;
        let mut stmt = match archive.conn.prepare_cached(
            "SELECT manifest_sha256, version, document, text_sha256 FROM captures WHERE num = ?1",
        ) {
            Ok(s) => s,
            Err(e) => {
                self.catalog(format!("cannot read captures: {e}"));
                return;
            }
        };
        let mut wrong = Vec::new();
        for c in &m.captures {
            let found = stmt
                .query_row([c.id.number() as i64], |r| {
                    let mut cols = Cols::new(r);
                    Ok((
                        cols.sha(0, "manifest_sha256"),
                        cols.int(1, "version"),
                        cols.int(2, "document"),
                        cols.sha(3, "text_sha256"),
                    ))
                })
                .map_err(|e| e.to_string());
            match found {
                Err(_) => wrong.push(format!("lists {}, which is not in the catalog", c.id)),
                Ok((sha, version, document, text)) => {
                    if sha != Some(c.manifest_sha256) {
                        wrong.push(format!(
                            "pins {} as {}, but its manifest is {}",
                            c.id,
                            c.manifest_sha256,
                            show(&sha)
                        ));
                    }
                    if positive(version) != Some(c.old_version.number()) {
                        wrong.push(format!(
                            "says {} was signed into {}, but it belongs to version {}",
                            c.id,
                            c.old_version,
                            show(&version)
                        ));
                    }
                    if text != c.old_text_sha256 {
                        wrong.push(format!(
                            "says {}'s text was {}, but it is {}",
                            c.id,
                            show(&c.old_text_sha256),
                            show(&text)
                        ));
                    }
                    if positive(document) != Some(m.document.id.number()) {
                        wrong.push(format!(
                            "lists {}, a capture of document {}, not of {}",
                            c.id,
                            show(&document),
                            m.document.id
                        ));
                    }
                }
            }
            if let Some(s) = c.new_text_sha256 {
                self.objects.push(ObjRef {
                    sha: s,
                    blake3: None,
                    size: None,
                    by: (RecordKind::Reextraction, num),
                    role: "re-extracted text",
                });
            }
        }
        drop(stmt);
        for w in wrong {
            self.fail("chain", &l.rel, format!("{id}: {w}"));
        }
    }

    // --- the log ---

    /// Every leaf belongs to exactly one record (duplicates were reported as found).
    fn log_ownership(&mut self) {
        if !self.log_known || !self.records_complete {
            return;
        }
        let mut used: Vec<u64> = self.owners.keys().copied().collect();
        used.sort_unstable();
        let mut next = 0u64;
        let mut gaps = Vec::new();
        for i in used.into_iter().chain(std::iter::once(self.log_size)) {
            if i > next {
                gaps.push((next, i - 1));
            }
            next = i + 1;
        }
        for (a, b) in gaps {
            let which = if a == b {
                format!("leaf {a}")
            } else {
                format!("leaves {a}–{b}")
            };
            self.fail(
                "log",
                LEAVES_FILE,
                format!("{which} of the log belong to no record in the catalog"),
            );
        }
        self.owners = HashMap::new();
    }

    /// The catalog's level-0 log nodes are the leaves of `log/leaves`.
    fn log_nodes_vs_leaves(&mut self) {
        if !self.log_known {
            return;
        }
        let archive: &'a Archive = self.archive;
        let mut stmt = match archive
            .conn
            .prepare("SELECT idx, hash FROM log_nodes WHERE level = 0 ORDER BY idx")
        {
            Ok(s) => s,
            Err(e) => {
                self.catalog(format!("cannot read log_nodes: {e}"));
                return;
            }
        };
        let mut rows = match stmt.query([]) {
            Ok(r) => r,
            Err(e) => {
                self.catalog(format!("cannot read log_nodes: {e}"));
                return;
            }
        };
        let leaves = self.leaves.as_ref();
        let mut window = leaves.map(LeafWindow::new);
        let mut expected = 0u64;
        let mut wrong = Vec::new();
        loop {
            let r = match rows.next() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    wrong.push(format!("reading log_nodes failed: {e}"));
                    break;
                }
            };
            let mut cols = Cols::new(r);
            let (Some(idx), Some(hash)) = (cols.int(0, "idx"), cols.blob(1, "hash")) else {
                wrong.push(format!(
                    "log_nodes: a bad leaf row: {}",
                    cols.bad.join("; ")
                ));
                continue;
            };
            let Ok(idx) = u64::try_from(idx) else {
                wrong.push(format!("log_nodes: leaf index {idx}"));
                continue;
            };
            if idx >= self.log_size {
                wrong.push(format!(
                    "log_nodes has leaf {idx}, past the log's {} leaves",
                    self.log_size
                ));
                break;
            }
            if idx != expected {
                wrong.push(format!(
                    "log_nodes lacks leaves {expected}–{}",
                    idx.saturating_sub(1)
                ));
            }
            expected = idx + 1;
            if idx < self.leaves_avail
                && let Some(w) = window.as_mut()
            {
                match w.get(idx) {
                    Ok(leaf) if leaf[..] == hash[..] => {}
                    Ok(_) => wrong.push(format!(
                        "log_nodes leaf {idx} differs from leaf {idx} of {LEAVES_FILE}"
                    )),
                    Err(e) => wrong.push(format!("cannot read leaf {idx} of {LEAVES_FILE}: {e}")),
                }
            }
        }
        if expected < self.log_size {
            wrong.push(format!(
                "log_nodes lacks leaves {expected}–{}",
                self.log_size - 1
            ));
        }
        drop(rows);
        drop(stmt);
        for w in wrong {
            self.catalog(w);
        }
    }

    /// The log's root at `size` from the catalog's complete subtrees.
    fn catalog_root(&self, size: u64) -> Result<Hash, String> {
        merkle::root(size, &SqlNodes(&self.archive.conn)).map_err(|e| e.to_string())
    }

    /// Every row of `sql`, read with `read` (which gets the row's columns and returns what
    /// it needs, with the columns' problems); a failed query is a catalog problem and no rows.
    fn table_rows<T>(
        &mut self,
        sql: &str,
        what: &str,
        read: impl Fn(&mut Cols<'_, '_>) -> T,
    ) -> Vec<T> {
        let archive: &'a Archive = self.archive;
        let rows: rusqlite::Result<Vec<T>> = archive
            .conn
            .prepare(sql)
            .and_then(|mut s| s.query_map([], |r| Ok(read(&mut Cols::new(r))))?.collect());
        rows.unwrap_or_else(|e| {
            self.catalog(format!("cannot read {what}: {e}"));
            Vec::new()
        })
    }

    fn checkpoints(&mut self, latest_file: Option<Result<Vec<u8>, String>>) {
        let archive: &'a Archive = self.archive;
        let origin = archive.config.origin.clone();
        let rows = self.table_rows(
            "SELECT size, root, note FROM checkpoints ORDER BY size",
            "checkpoints",
            |c| {
                (
                    c.req_int(0, "size"),
                    c.blob(1, "root"),
                    c.req_text(2, "note"),
                    std::mem::take(&mut c.bad),
                )
            },
        );
        self.report.checkpoints = rows.len() as u64;
        for (size, root, note, bad) in rows {
            if !bad.is_empty() {
                self.catalog(format!(
                    "checkpoints row {}: {}",
                    show(&size),
                    bad.join("; ")
                ));
            }
            let Some(size) = size.and_then(|s| u64::try_from(s).ok()) else {
                continue;
            };
            self.catalog_checkpoints.insert(size);
            let rel = format!("{CHECKPOINT_DIR}/{size:012}.checkpoint");
            let root: Option<Hash> = match root.map(<Hash>::try_from) {
                Some(Ok(r)) => Some(r),
                Some(Err(_)) => {
                    self.catalog(format!("checkpoints row {size}: root is not 32 bytes"));
                    None
                }
                None => None,
            };
            let Some(note) = note else { continue };
            match split_note(&note)
                .map_err(|e| e.to_string())
                .and_then(|(body, _)| Checkpoint::parse(body).map_err(|e| e.to_string()))
            {
                Ok(cp) => {
                    if cp.origin != origin || cp.size != size || Some(cp.root) != root {
                        self.catalog(format!(
                            "checkpoints row {size}: its note (origin {:?}, size {}) does not match the row",
                            cp.origin, cp.size
                        ));
                    }
                }
                Err(e) => self.catalog(format!(
                    "checkpoints row {size}: the note is not a checkpoint: {e}"
                )),
            }
            if self.log_known && size > self.log_size {
                self.fail(
                    "checkpoint",
                    &rel,
                    format!(
                        "signs a log of {size} leaves, but the log has {}",
                        self.log_size
                    ),
                );
            } else if let Some(root) = root {
                match self.catalog_root(size) {
                    Ok(r) if r == root => {}
                    Ok(r) => self.fail(
                        "checkpoint",
                        &rel,
                        format!(
                            "signs the root {} for {size} leaves, but the log's root at that size is {}: the log was rewritten",
                            hex(&root),
                            hex(&r)
                        ),
                    ),
                    Err(e) => self.catalog(format!("log_nodes: {e}")),
                }
                self.checkpoint_roots.insert(size, root);
            }
            match read_small(&self.root.join(&rel), 1 << 20) {
                Ok(bytes) if bytes == note.as_bytes() => {}
                Ok(_) => self.fail(
                    "checkpoint",
                    &rel,
                    "differs from the catalog's copy of the signed checkpoint",
                ),
                Err(message) => self.fail("checkpoint", &rel, message),
            }
            if self.opts.full {
                self.check_note(&rel, &note, &origin);
            }
        }
        let rel = LATEST_CHECKPOINT;
        match latest_file {
            None if self.report.checkpoints > 0 => self.fail(
                "checkpoint",
                rel,
                "missing, but the catalog holds signed checkpoints",
            ),
            None => {}
            Some(Err(e)) => self.fail("checkpoint", rel, e),
            Some(Ok(bytes)) => {
                let parsed = String::from_utf8(bytes)
                    .map_err(|_| "not UTF-8".to_owned())
                    .and_then(|text| {
                        let cp = split_note(&text)
                            .map_err(|e| e.to_string())
                            .and_then(|(b, _)| Checkpoint::parse(b).map_err(|e| e.to_string()))?;
                        Ok((text, cp))
                    });
                match parsed {
                    Err(e) => self.fail("checkpoint", rel, format!("not a signed checkpoint: {e}")),
                    Ok((text, cp)) => {
                        if cp.origin != origin {
                            self.fail(
                                "checkpoint",
                                rel,
                                format!("is a checkpoint of {:?}, not of {origin:?}", cp.origin),
                            );
                        }
                        if self.log_known && cp.size > self.log_size {
                            self.fail(
                                "checkpoint",
                                rel,
                                format!(
                                    "signs a log of {} leaves, but the log has {}",
                                    cp.size, self.log_size
                                ),
                            );
                        } else {
                            match self.catalog_root(cp.size) {
                                Ok(r) if r == cp.root => {}
                                Ok(r) => self.fail(
                                    "checkpoint",
                                    rel,
                                    format!(
                                        "signs the root {} for {} leaves, but the log's root at that size is {}: the log was rewritten",
                                        hex(&cp.root),
                                        cp.size,
                                        hex(&r)
                                    ),
                                ),
                                Err(e) => self.catalog(format!("log_nodes: {e}")),
                            }
                            self.checkpoint_roots.entry(cp.size).or_insert(cp.root);
                        }
                        if self.opts.full {
                            self.check_note(rel, &text, &origin);
                        }
                    }
                }
            }
        }
    }

    fn check_note(&mut self, rel: &str, note: &str, origin: &str) {
        let Some(public) = &self.public else { return };
        if let Err(e) = SignedNote::parse(note).and_then(|n| n.verify(origin, public)) {
            let message = format!(
                "the note's signature does not verify with the archive key {}: {e}",
                public.fingerprint()
            );
            self.fail("checkpoint", rel, message);
        }
    }

    fn timestamps(&mut self) {
        let rows = self.table_rows(
            "SELECT size, tsa, file FROM timestamps ORDER BY size, tsa",
            "timestamps",
            |c| {
                (
                    c.req_int(0, "size"),
                    c.req_text(1, "tsa"),
                    c.req_text(2, "file"),
                    std::mem::take(&mut c.bad),
                )
            },
        );
        self.report.timestamps = rows.len() as u64;
        for (size, tsa, file, bad) in rows {
            if !bad.is_empty() {
                self.catalog(format!("timestamps row: {}", bad.join("; ")));
            }
            let (Some(size), Some(tsa)) = (size.and_then(|s| u64::try_from(s).ok()), tsa) else {
                continue;
            };
            let rel = format!("{CHECKPOINT_DIR}/{size:012}.checkpoint.{tsa}.tsr");
            if file.as_deref() != Some(rel.as_str()) {
                self.catalog(format!(
                    "timestamps row ({size}, {tsa}): file is {}, not {rel}",
                    show(&file)
                ));
            }
            if tsa.contains('/') || tsa.starts_with('.') {
                self.catalog(format!("timestamps row ({size}, {tsa}): bad TSA name"));
                continue;
            }
            if !self.checkpoint_roots.contains_key(&size) {
                self.catalog(format!(
                    "timestamps row ({size}, {tsa}): no signed checkpoint of size {size}"
                ));
            }
            match std::fs::symlink_metadata(self.root.join(&rel)) {
                Ok(m) if m.is_file() => {}
                Ok(_) => self.fail("timestamp", &rel, "is not a regular file"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.fail("timestamp", &rel, "missing (the catalog lists this token)")
                }
                Err(e) => self.fail("timestamp", &rel, format!("cannot stat: {e}")),
            }
            self.timestamp_files.push((size, tsa, rel));
        }
    }

    /// Derived catalog values: counters, versions, documents.
    fn catalog_extras(&mut self) {
        let archive: &'a Archive = self.archive;
        for (kind, table) in [
            ('D', "documents"),
            ('C', "captures"),
            ('V', "versions"),
            ('P', "provisions"),
            ('R', "reextractions"),
        ] {
            let got = archive.conn.query_row(
                &format!(
                    "SELECT (SELECT last FROM counters WHERE kind = ?1), (SELECT max(num) FROM {table})"
                ),
                [kind.to_string()],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
            );
            match got {
                Ok((None, _)) => self.catalog(format!("counter {kind} is missing")),
                Ok((Some(last), Some(max))) if max > last => self.catalog(format!(
                    "counter {kind} is {last}, but {table} holds number {max}: new records would reuse ids"
                )),
                Ok(_) => {}
                Err(e) => self.catalog(format!("cannot check counter {kind}: {e}")),
            }
        }
        type Row = (i64, Option<i64>, Option<i64>, i64, Option<i64>, Option<i64>);
        let versions: rusqlite::Result<Vec<Row>> = archive
            .conn
            .prepare(
                "SELECT v.num, v.opened_by, v.captures, coalesce(g.n, 0), o.version, o.num \
                     FROM versions v \
                     LEFT JOIN (SELECT version, count(*) AS n FROM captures \
                                WHERE version IS NOT NULL GROUP BY version) g ON g.version = v.num \
                     LEFT JOIN captures o ON o.num = v.opened_by \
                     WHERE v.captures IS NOT coalesce(g.n, 0) OR o.num IS NULL \
                        OR o.version IS NOT v.num",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1).ok().flatten(),
                        r.get(2).ok().flatten(),
                        r.get(3)?,
                        r.get(4).ok().flatten(),
                        r.get(5).ok().flatten(),
                    ))
                })?
                .collect()
            });
        match versions {
            Ok(rows) => {
                for (num, opened_by, captures, counted, o_version, o_num) in rows {
                    let vid = self.id(RecordKind::Version, num.max(0) as u64);
                    if o_num.is_none() {
                        self.catalog(format!(
                            "versions row {vid}: opened_by {} is not a capture in the catalog",
                            show(&opened_by)
                        ));
                    } else if o_version != Some(num) {
                        self.catalog(format!(
                            "versions row {vid}: its opening capture {} belongs to version {}",
                            show(&opened_by),
                            show(&o_version)
                        ));
                    }
                    if captures != Some(counted) {
                        self.catalog(format!(
                            "versions row {vid}: captures is {}, but {counted} captures belong to it",
                            show(&captures)
                        ));
                    }
                }
            }
            Err(e) => self.catalog(format!("cannot check versions: {e}")),
        }
        let empty: rusqlite::Result<Vec<i64>> = archive
            .conn
            .prepare(
                "SELECT d.num FROM documents d \
                 WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.document = d.num)",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        match empty {
            Ok(nums) => {
                for n in nums {
                    let did = self.id(RecordKind::Document, n.max(0) as u64);
                    self.catalog(format!("documents row {did} has no capture"));
                }
            }
            Err(e) => self.catalog(format!("cannot check documents: {e}")),
        }
    }

    // --- files on disk ---

    fn read_dir(&mut self, rel: &str) -> Option<Vec<(String, std::fs::FileType)>> {
        let path = self.root.join(rel);
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.fail("files", rel, format!("cannot list: {e}"));
                return None;
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            match entry.and_then(|e| Ok((e.file_name(), e.file_type()?))) {
                // FIFOs, sockets and devices have no place in an archive, and reading one
                // could block for ever: reported, never opened.
                Ok((name, ft)) if !(ft.is_file() || ft.is_dir() || ft.is_symlink()) => {
                    let name = name.to_string_lossy();
                    self.fail(
                        "files",
                        Self::join(rel, &name),
                        format!(
                            "is {}: an archive holds only regular files and directories (not opened)",
                            fsutil::file_kind(ft)
                        ),
                    );
                }
                Ok((name, ft)) => out.push((name.to_string_lossy().into_owned(), ft)),
                Err(e) => self.fail("files", rel, format!("cannot list: {e}")),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    }

    fn is_temp(name: &str) -> bool {
        name.starts_with(".tmp-") || name.starts_with(".exhibit-")
    }

    fn join(dir: &str, name: &str) -> String {
        if dir == "." {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    }

    /// Temporary files directly in `dir`.
    fn walk_temp(&mut self, dir: &str) {
        for (name, _) in self.read_dir(dir).unwrap_or_default() {
            if Self::is_temp(&name) {
                self.notes.add(NoteKind::TempFile, Self::join(dir, &name));
            }
        }
    }

    fn walk_manifests(&mut self) {
        let prefix = self.archive.prefix().as_str().to_owned();
        let mut orphans: BTreeMap<RecordId, Vec<String>> = BTreeMap::new();
        let Some(kinds) = self.read_dir("manifests") else {
            if !self.ids.is_empty() {
                self.fail("files", "manifests", "missing");
            }
            return;
        };
        for (kname, kt) in kinds {
            let krel = format!("manifests/{kname}");
            if Self::is_temp(&kname) {
                self.notes.add(NoteKind::TempFile, krel);
                continue;
            }
            if krel == crate::repair::RETIRED_IDS && kt.is_file() {
                if let Err(e) =
                    crate::repair::read_retired(self.archive.root(), self.archive.prefix())
                {
                    self.fail("files", crate::repair::RETIRED_IDS, e.to_string());
                }
                continue;
            }
            if !kt.is_dir() {
                self.notes.add(NoteKind::Unexpected, krel);
                continue;
            }
            for (dname, dt) in self.read_dir(&krel).unwrap_or_default() {
                let drel = format!("{krel}/{dname}");
                if Self::is_temp(&dname) {
                    self.notes.add(NoteKind::TempFile, drel);
                    continue;
                }
                if !dt.is_dir() {
                    self.notes.add(NoteKind::Unexpected, drel);
                    continue;
                }
                for (name, _) in self.read_dir(&drel).unwrap_or_default() {
                    let rel = format!("{drel}/{name}");
                    if Self::is_temp(&name) {
                        self.notes.add(NoteKind::TempFile, rel);
                        continue;
                    }
                    let stem = name
                        .strip_suffix(".json.sig")
                        .or_else(|| name.strip_suffix(".json"));
                    let id = stem.and_then(|s| s.parse::<RecordId>().ok()).filter(|id| {
                        id.prefix() == prefix
                            && matches!(
                                id.kind(),
                                RecordKind::Capture
                                    | RecordKind::Provision
                                    | RecordKind::Reextraction
                            )
                            && (rel == manifest_rel_path(id)
                                || rel == format!("{}.sig", manifest_rel_path(id)))
                    });
                    match id {
                        None => self.notes.add(NoteKind::Unexpected, rel),
                        Some(id)
                            if self.records_complete
                                && !self.ids.contains(&(id.kind(), id.number())) =>
                        {
                            orphans.entry(id).or_default().push(rel);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        // An orphan that is not a crash leftover (a complete manifest whose signature does not
        // verify with the archive key) may be evidence of tampering: a problem, never a note.
        for (id, rels) in orphans {
            if let Some(public) = &self.public
                && let crate::repair::Orphan::Foreign(why) =
                    crate::repair::judge_orphan(self.root, &id, public)
            {
                self.fail(
                    "signature",
                    manifest_rel_path(&id),
                    format!(
                        "no record names it, and {why}: not left by a crash (fsck --repair \
                         keeps it; examine it, then move it out of the archive)"
                    ),
                );
                continue;
            }
            for rel in rels {
                self.notes.add(NoteKind::OrphanManifest, rel);
            }
        }
    }

    fn walk_log(&mut self) {
        self.walk_temp("log");
        let sizes = std::mem::take(&mut self.catalog_checkpoints);
        let tokens: HashSet<String> = self
            .timestamp_files
            .iter()
            .map(|(_, _, rel)| rel.clone())
            .collect();
        for (name, _) in self.read_dir(CHECKPOINT_DIR).unwrap_or_default() {
            let rel = format!("{CHECKPOINT_DIR}/{name}");
            if Self::is_temp(&name) {
                self.notes.add(NoteKind::TempFile, rel);
                continue;
            }
            let size = name
                .get(..12)
                .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u64>().ok());
            let rest = name.get(12..).unwrap_or("");
            match size {
                Some(size) if rest == ".checkpoint" => {
                    if !sizes.contains(&size) {
                        self.orphan_checkpoint(rel, size);
                    }
                }
                Some(_) if rest.starts_with(".checkpoint.") && rest.ends_with(".tsr") => {
                    if !tokens.contains(&rel) {
                        self.notes.add(NoteKind::OrphanToken, rel);
                    }
                }
                _ => self.notes.add(NoteKind::Unexpected, rel),
            }
        }
    }

    /// Judges a checkpoint file the catalog does not list (`size` from its name). A crash
    /// while signing leaves one signed by the archive key over leaves the catalog has
    /// committed (FORMAT §8) — as does a catalog that lost the row: committed evidence either
    /// way, a note ("`fsck --repair` records it"), never removed. One that covers more leaves
    /// than the catalog's log means the catalog is older than the log (a restored backup):
    /// those leaves were committed and signed, so nothing of them is a crash leftover — a
    /// problem, and repair removes nothing. One that does not verify, holds a checkpoint of
    /// another size than its name, or contradicts the log, was not left by a crash: a problem
    /// too.
    fn orphan_checkpoint(&mut self, rel: String, size: u64) {
        let Some(public) = &self.public else {
            // Reported as a keys problem already; nothing is removed then.
            self.notes.add(NoteKind::OrphanCheckpoint, rel);
            return;
        };
        let origin = &self.archive.config.origin;
        match crate::log::read_signed_checkpoint(&self.root.join(&rel), origin, public) {
            Ok((n, _)) if n != size => self.fail(
                "checkpoint",
                &rel,
                format!(
                    "no catalog row names it, and it holds the signed checkpoint of size {n}, \
                     not {size}: not left by a crash (fsck --repair keeps it; examine it, then \
                     move it out of the archive)"
                ),
            ),
            // Signed and recorded by a capture that committed after this check's snapshot:
            // neither a leftover nor a sign of a catalog behind the log.
            Ok((n, _)) if self.log_known && n > self.log_size && self.recorded_since(n) => {}
            Ok((n, _)) if self.log_known && n > self.log_size => {
                let message = crate::log::catalog_behind_message(Path::new(&rel), n, self.log_size);
                self.catalog(message);
            }
            Ok((n, root)) => match self.catalog_root(n) {
                Ok(r) if r == root => self.notes.add(NoteKind::OrphanCheckpoint, rel),
                Ok(r) => self.fail(
                    "checkpoint",
                    &rel,
                    format!(
                        "no catalog row names it, and it signs the root {} for {n} leaves, but \
                         the log's root at that size is {}: not left by a crash",
                        hex(&root),
                        hex(&r)
                    ),
                ),
                // The catalog's nodes are reported where they are read.
                Err(_) => self.notes.add(NoteKind::OrphanCheckpoint, rel),
            },
            Err(why) => self.fail(
                "checkpoint",
                &rel,
                format!(
                    "no catalog row names it, and it is not a signed checkpoint of this \
                     archive ({why}): not left by a crash (fsck \
                     --repair keeps it; examine it, then move it out of the archive)"
                ),
            ),
        }
    }

    /// Whether the catalog, read afresh (outside this check's snapshot), now holds the
    /// checkpoint of `size` and a log at least that long: one a concurrent writer committed.
    fn recorded_since(&self, size: u64) -> bool {
        let Ok(reader) = self.archive.catalog_reader() else {
            return false;
        };
        let Ok(size) = i64::try_from(size) else {
            return false;
        };
        reader
            .conn
            .query_row(
                "SELECT count(*) FROM checkpoints, counters \
                 WHERE checkpoints.size = ?1 AND counters.kind = 'L' AND counters.last >= ?1",
                [size],
                |r| r.get::<_, i64>(0),
            )
            .is_ok_and(|n| n > 0)
    }

    /// Lists `objects/`, reports referenced objects that are missing and notes the others;
    /// returns the referenced objects present, sorted by name.
    fn objects_present(&mut self) -> Vec<ObjRef> {
        let mut refs = std::mem::take(&mut self.objects);
        refs.sort_by_key(|o| o.sha);
        // One entry per object, merging what several records say about it.
        let mut unique: Vec<ObjRef> = Vec::with_capacity(refs.len());
        for r in refs {
            match unique.last_mut() {
                Some(u) if u.sha == r.sha => {
                    let mut conflict = Vec::new();
                    match (u.size, r.size) {
                        (Some(a), Some(b)) if a != b => conflict.push(format!("size {a} and {b}")),
                        (None, Some(b)) => u.size = Some(b),
                        _ => {}
                    }
                    match (u.blake3, r.blake3) {
                        (Some(a), Some(b)) if a != b => {
                            conflict.push(format!("BLAKE3 {a} and {b}"))
                        }
                        (None, Some(b)) => u.blake3 = Some(b),
                        _ => {}
                    }
                    if !conflict.is_empty() {
                        let (a, b) = (self.id(u.by.0, u.by.1), self.id(r.by.0, r.by.1));
                        self.fail(
                            "object",
                            object_rel(&u.sha),
                            format!(
                                "{a} and {b} disagree about this object: {}",
                                conflict.join(", ")
                            ),
                        );
                    }
                }
                _ => unique.push(r),
            }
        }
        self.report.objects = unique.len() as u64;
        self.report.object_bytes = unique.iter().filter_map(|o| o.size).sum();

        let mut present: Vec<Sha256Digest> = Vec::new();
        match self.read_dir("objects") {
            None if !unique.is_empty() => self.fail("files", "objects", "missing"),
            None => {}
            Some(shards) => {
                for (shard, st) in shards {
                    let srel = format!("objects/{shard}");
                    if Self::is_temp(&shard) {
                        self.notes.add(NoteKind::TempFile, srel);
                        continue;
                    }
                    let shard_ok = st.is_dir()
                        && shard.len() == 2
                        && shard
                            .bytes()
                            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                    if !shard_ok {
                        self.notes.add(NoteKind::Unexpected, srel);
                        continue;
                    }
                    for (name, ft) in self.read_dir(&srel).unwrap_or_default() {
                        let rel = format!("{srel}/{name}");
                        if Self::is_temp(&name) {
                            self.notes.add(NoteKind::TempFile, rel);
                            continue;
                        }
                        let sha = name
                            .strip_suffix(".zst")
                            .filter(|h| {
                                h.len() == 64
                                    && h.starts_with(shard.as_str())
                                    && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                            })
                            .and_then(|h| h.parse::<Sha256Digest>().ok());
                        match sha {
                            Some(sha) if ft.is_file() => present.push(sha),
                            _ => self.notes.add(NoteKind::Unexpected, rel),
                        }
                    }
                }
            }
        }
        present.sort_unstable();
        let mut todo = Vec::with_capacity(unique.len());
        let mut unreferenced = Vec::new();
        let mut p = present.iter().peekable();
        for o in unique {
            while let Some(s) = p.next_if(|s| **s < o.sha) {
                unreferenced.push(*s);
            }
            if p.next_if(|s| **s == o.sha).is_some() {
                todo.push(o);
            } else {
                let by = self.id(o.by.0, o.by.1);
                self.fail(
                    "object",
                    object_rel(&o.sha),
                    format!("missing (the {} of {by})", o.role),
                );
            }
        }
        unreferenced.extend(p.copied());
        // A delta object's reference (FORMAT §6) is needed as long as the delta is: it must be
        // present and a full object, and it is no orphan even when no record names it.
        let store = self.archive.objects();
        let mut needed = std::collections::BTreeSet::new();
        // `--full` decodes every delta with its reference (a missing or bad one fails that
        // object); the headers are read here only when there are orphan candidates to judge.
        let read_headers = !self.opts.full || (self.records_complete && !unreferenced.is_empty());
        for o in todo.iter().filter(|_| read_headers) {
            match store.reference_of(&o.sha) {
                Ok(Some(reference)) => {
                    needed.insert(reference);
                }
                Ok(None) => {}
                // The problem names the object already (by its path relative to the root).
                Err(StoreError::Corrupt { message, .. }) => {
                    self.fail("object", object_rel(&o.sha), message)
                }
                Err(e) => self.fail("object", object_rel(&o.sha), e.to_string()),
            }
        }
        for reference in &needed {
            let problem = match store.reference_of(reference) {
                Ok(None) => None,
                Ok(Some(_)) => {
                    Some("is itself a delta object (a reference must be a full object)".to_owned())
                }
                Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                    Some("missing (the reference of a delta object)".to_owned())
                }
                Err(StoreError::Corrupt { message, .. }) => Some(message),
                Err(e) => Some(e.to_string()),
            };
            if let Some(problem) = problem {
                self.fail("object", object_rel(reference), problem);
            }
        }
        if self.records_complete {
            for s in unreferenced.iter().filter(|s| !needed.contains(*s)) {
                self.notes.add(NoteKind::OrphanObject, object_rel(s));
            }
        }
        todo
    }

    // --- full mode ---

    /// The objects to hash, as the catalog lists them (known before any manifest is read, so
    /// hashing starts at once), sorted by name, each with the most bytes worth reading.
    fn catalog_objects(&mut self) -> Vec<HashJob> {
        let archive: &'a Archive = self.archive;
        let rows: rusqlite::Result<Vec<(Option<String>, Option<i64>)>> = archive
            .conn
            .prepare(
                "SELECT sha256, size FROM captures WHERE sha256 IS NOT NULL \
                 UNION ALL SELECT text_sha256, text_size FROM captures \
                 WHERE text_sha256 IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0).ok(), r.get(1).ok().flatten())))?
                    .collect()
            });
        // Errors and bad rows are reported by the record checks; here they are just skipped.
        let mut jobs: Vec<HashJob> = rows
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(sha, size)| {
                let sha: Sha256Digest = sha?.parse().ok()?;
                let cap = size
                    .and_then(|s| u64::try_from(s).ok())
                    .map_or(u64::MAX, |s| s.saturating_add(1));
                Some((sha, cap))
            })
            .collect();
        jobs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        jobs.dedup_by_key(|j| j.0);
        jobs
    }

    /// Judges every referenced object that is present by what hashing it found: the early
    /// results where they apply, else (an object the catalog does not list, or listed with
    /// another size) by hashing it now.
    fn judge_objects(&mut self, todo: Vec<ObjRef>, early: &[HashJob], hashed: Vec<Hashed>) {
        let mut verdicts: Vec<Option<Option<String>>> = Vec::with_capacity(todo.len());
        let mut late: Vec<HashJob> = Vec::new();
        let mut late_of: Vec<usize> = Vec::new();
        for (t, o) in todo.iter().enumerate() {
            let found = early
                .binary_search_by(|j| j.0.cmp(&o.sha))
                .ok()
                .and_then(|i| hashed.get(i))
                .filter(|h| h.usable_for(o.size));
            match found {
                Some(h) => verdicts.push(Some(h.judge(o))),
                None => {
                    verdicts.push(None);
                    late.push((o.sha, o.size.map_or(u64::MAX, |s| s.saturating_add(1))));
                    late_of.push(t);
                }
            }
        }
        drop(hashed);
        if !late.is_empty() {
            let archive: &'a Archive = self.archive;
            let results = hash_all(archive.objects(), &late, self.workers, self.opts.progress);
            for (t, h) in late_of.into_iter().zip(results) {
                if let (Some(v), Some(o)) = (verdicts.get_mut(t), todo.get(t)) {
                    *v = Some(h.judge(o));
                }
            }
        }
        for (o, v) in todo.iter().zip(verdicts) {
            if let Some(Some(w)) = v {
                let by = self.id(o.by.0, o.by.1);
                self.fail(
                    "object",
                    object_rel(&o.sha),
                    format!("{w} (the {} of {by})", o.role),
                );
            }
        }
    }

    /// Recomputes the tree from `log/leaves` alone: its root at every signed checkpoint's size,
    /// against the checkpoints, and every complete subtree, against the catalog's `log_nodes`
    /// (read in the order the leaves complete them, so both sides stream).
    fn full_log(&mut self) {
        let Some(file) = self.leaves.as_ref() else {
            return;
        };
        let archive: &'a Archive = self.archive;
        let mut log_wrong: Vec<String> = Vec::new();
        let mut node_wrong: Vec<String> = Vec::new();
        let mut stmt = match archive
            .conn
            .prepare("SELECT level, idx, hash FROM log_nodes ORDER BY ((idx + 1) << level), level")
        {
            Ok(s) => Some(s),
            Err(e) => {
                node_wrong.push(format!("cannot read log_nodes: {e}"));
                None
            }
        };
        let mut rows = match stmt.as_mut().map(|s| s.query([])) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                node_wrong.push(format!("cannot read log_nodes: {e}"));
                None
            }
            None => None,
        };
        // The next catalog node: ((end, level), idx, hash).
        type Node = ((u64, u64), u64, Vec<u8>);
        let fetch = |rows: &mut Option<rusqlite::Rows<'_>>,
                     wrong: &mut Vec<String>|
         -> Option<Node> {
            loop {
                let r = match rows.as_mut()?.next() {
                    Ok(Some(r)) => r,
                    Ok(None) => return None,
                    Err(e) => {
                        wrong.push(format!("reading log_nodes failed: {e}"));
                        *rows = None;
                        return None;
                    }
                };
                let mut c = Cols::new(r);
                let (level, idx, hash) = (c.int(0, "level"), c.int(1, "idx"), c.blob(2, "hash"));
                match (level, idx, hash) {
                    (Some(l), Some(i), Some(h)) if (0..64).contains(&l) && i >= 0 => {
                        let (l, i) = (l as u64, i as u64);
                        let end = (i + 1).checked_shl(l as u32).unwrap_or(u64::MAX);
                        return Some(((end, l), i, h));
                    }
                    _ => wrong.push(format!(
                        "log_nodes: a bad row ({}, {}): {}",
                        show(&level),
                        show(&idx),
                        c.bad.join("; ")
                    )),
                }
            }
        };
        let mut pending = fetch(&mut rows, &mut node_wrong);
        let mut window = LeafWindow::new(file);
        let mut frontier = Frontier::default();
        let mut wanted: Vec<(u64, Hash)> = self
            .checkpoint_roots
            .iter()
            .filter(|(s, _)| **s <= self.leaves_avail)
            .map(|(s, r)| (*s, *r))
            .rev()
            .collect();
        let mut check_root = |frontier: &Frontier, size: u64, wrong: &mut Vec<String>| {
            while let Some(&(s, root)) = wanted.last() {
                if s != size {
                    break;
                }
                wanted.pop();
                let ours = frontier.root();
                if ours != root {
                    wrong.push(format!(
                        "the root of its first {size} leaves is {}, but the signed checkpoint of size {size} says {}",
                        hex(&ours),
                        hex(&root)
                    ));
                }
            }
        };
        check_root(&frontier, 0, &mut log_wrong);
        for n in 0..self.leaves_avail {
            let leaf = match window.get(n) {
                Ok(leaf) => leaf,
                Err(e) => {
                    log_wrong.push(format!("cannot read leaf {n}: {e}"));
                    break;
                }
            };
            frontier.push(leaf, |level, hash| {
                let idx = n >> level;
                let key = (idx + 1) << level;
                let key = (key, u64::from(level));
                loop {
                    match &pending {
                        Some((k, i, _)) if *k < key => {
                            node_wrong.push(format!(
                                "log_nodes holds a subtree (level {}, index {i}) that the leaves do not make",
                                k.1
                            ));
                            pending = fetch(&mut rows, &mut node_wrong);
                        }
                        Some((k, _, h)) if *k == key => {
                            if h[..] != hash[..] {
                                node_wrong.push(format!(
                                    "log_nodes (level {level}, index {idx}) differs from the hash of leaves {}–{} of {LEAVES_FILE}",
                                    idx << level,
                                    key.0 - 1
                                ));
                            }
                            pending = fetch(&mut rows, &mut node_wrong);
                            break;
                        }
                        _ => {
                            node_wrong.push(format!(
                                "log_nodes lacks the subtree (level {level}, index {idx}) of leaves {}–{}",
                                idx << level,
                                key.0 - 1
                            ));
                            break;
                        }
                    }
                }
            });
            check_root(&frontier, n + 1, &mut log_wrong);
        }
        // Nodes past the leaves read: extra, unless the leaves file was cut short (reported).
        if self.log_known && self.leaves_avail == self.log_size {
            while let Some(((_, level), idx, _)) = pending {
                node_wrong.push(format!(
                    "log_nodes holds a subtree (level {level}, index {idx}) past the log's {} leaves",
                    self.log_size
                ));
                pending = fetch(&mut rows, &mut node_wrong);
            }
        }
        drop(rows);
        drop(stmt);
        for w in log_wrong {
            self.fail("log", LEAVES_FILE, w);
        }
        for w in node_wrong {
            self.catalog(w);
        }
    }

    fn full_tokens(&mut self) {
        let Some(check) = self.opts.check_token else {
            return;
        };
        let files = std::mem::take(&mut self.timestamp_files);
        let archive: &'a Archive = self.archive;
        for (size, _, rel) in &files {
            let token = match read_small(&self.root.join(rel), MAX_TOKEN_BYTES) {
                Ok(t) => t,
                Err(_) => continue, // reported in quick mode
            };
            let cp_rel = format!("{CHECKPOINT_DIR}/{size:012}.checkpoint");
            let data = match read_small(&self.root.join(&cp_rel), 1 << 20) {
                Ok(d) => d,
                Err(_) => match archive.checkpoint(*size) {
                    Ok(Some(cp)) => cp.note.into_bytes(),
                    _ => continue,
                },
            };
            if let Err(e) = check(&token, &data) {
                self.fail("timestamp", rel, format!("does not stamp {cp_rel}: {e}"));
            }
        }
        self.timestamp_files = files;
    }
}

fn hex(h: &Hash) -> String {
    Sha256Digest(*h).to_hex()
}

#[cfg(test)]
mod tests {
    use super::*;
    use exhibit_core::merkle::{MemoryTree, NodeSource};

    #[test]
    fn fsck_frontier_root_matches_the_memory_tree_at_every_size() {
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::default();
        assert_eq!(frontier.root(), merkle::empty_root());
        for i in 0u32..300 {
            let leaf = merkle::leaf_hash(&i.to_be_bytes());
            tree.push(leaf);
            let n = u64::from(i);
            frontier.push(leaf, |level, hash| {
                assert_eq!(tree.node(level as u8, n >> level).ok().as_ref(), Some(hash));
            });
            assert_eq!(frontier.root(), tree.root(), "size {}", i + 1);
        }
    }

    use crate::{InitOptions, PendingCapture};
    use exhibit_core::manifest::{ContentInfo, FileSource, Method};

    /// An archive with four captures of one file-sourced document ("one", "one", "two",
    /// "three": three versions) and a signed checkpoint.
    fn archive() -> (tempfile::TempDir, Archive) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a");
        let mut archive = Archive::init(
            &root,
            InitOptions {
                origin: Some("test.example".into()),
                ..InitOptions::default()
            },
        )
        .unwrap();
        let key = archive.signing_key().unwrap();
        for text in ["one", "one", "two", "three"] {
            let bytes = format!("policy {text}\n");
            let obj = archive.objects().put(bytes.as_bytes()).unwrap();
            commit_file_capture(&mut archive, &key, "/policy.txt", &obj);
        }
        archive.sign_checkpoint(&key).unwrap();
        (dir, archive)
    }

    /// Commits a successful file capture of `path` whose content is `obj`.
    fn commit_file_capture(
        archive: &mut Archive,
        key: &exhibit_sign::SigningKey,
        path: &str,
        obj: &crate::StoredObject,
    ) {
        let p = PendingCapture {
            document_url: format!("file://{path}"),
            entity: None,
            title: None,
            title_hint: None,
            captured_at: chrono::Utc::now(),
            method: Method::File,
            http: None,
            file: Some(FileSource { path: path.into() }),
            content: Some(ContentInfo {
                sha256: obj.sha256,
                blake3: obj.blake3,
                size: obj.size,
                media_type: "text/plain".into(),
            }),
            text: None,
            text_omitted: None,
            error: None,
            rules_change: None,
        };
        let mut batch = archive.begin(key).unwrap();
        batch.add(p).unwrap();
        batch.commit().unwrap();
    }

    fn run(archive: &Archive, full: bool) -> FsckReport {
        let options = FsckOptions {
            full,
            workers: 2,
            ..FsckOptions::default()
        };
        archive.fsck(&options).unwrap()
    }

    fn checks(r: &FsckReport) -> Vec<&'static str> {
        r.problems.iter().map(|p| p.check).collect()
    }

    fn numbered_lines(n: usize, edit: &str) -> String {
        crate::delta::sample_policy(n, edit)
    }

    #[test]
    fn fsck_a_reference_no_record_names_is_needed_not_an_orphan() {
        // What a crash can leave: a delta object that a later capture deduplicated against,
        // whose reference no committed record names.
        let (_dir, mut archive) = archive();
        let key = archive.signing_key().unwrap();
        let base = numbered_lines(400, "");
        let edited = numbered_lines(400, "A new clause.\n");
        let reference = archive.objects().put(base.as_bytes()).unwrap();
        let obj = archive.objects().put(edited.as_bytes()).unwrap();
        assert_eq!(
            archive.objects().reference_of(&obj.sha256).unwrap(),
            Some(reference.sha256)
        );
        commit_file_capture(&mut archive, &key, "/other.txt", &obj);
        for full in [false, true] {
            let r = run(&archive, full);
            assert!(r.is_clean(), "{:#?}", r.problems);
            assert!(r.notes.is_empty(), "{:#?}", r.notes);
        }
        archive.repair().unwrap();
        assert!(archive.objects().path_of(&reference.sha256).is_file());
        assert!(run(&archive, true).is_clean());
    }

    #[test]
    fn fsck_repair_removes_an_orphan_delta_before_its_orphan_reference() {
        // A crash leftover: a delta and its reference, neither named by a record. A repair
        // stopped between the two removals (killed, an I/O error) must not leave the delta
        // without its reference, for a later capture of the same bytes to deduplicate against.
        let (dir, archive) = archive();
        let base = numbered_lines(400, "");
        // An edit whose object sorts after the reference (removal in name order would take the
        // reference first).
        let edited = (0..)
            .map(|i| numbered_lines(400, &format!("Clause {i} is new.\n")))
            .find(|e| Sha256Digest::of(e.as_bytes()) > Sha256Digest::of(base.as_bytes()))
            .unwrap();
        let reference = archive.objects().put(base.as_bytes()).unwrap().sha256;
        let delta = archive.objects().put(edited.as_bytes()).unwrap().sha256;
        assert_eq!(
            archive.objects().reference_of(&delta).unwrap(),
            Some(reference)
        );
        // This process announced itself as a writer: repair from a fresh handle.
        drop(archive);
        let report = Archive::open(&dir.path().join("a"))
            .unwrap()
            .repair()
            .unwrap();
        let removed: Vec<&str> = report
            .removed
            .iter()
            .filter(|r| r.kind == "orphan_object")
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(removed, [object_rel(&delta), object_rel(&reference)]);
    }

    #[test]
    fn fsck_a_clean_archive_has_no_problems_in_either_mode() {
        let (_dir, archive) = archive();
        for full in [false, true] {
            let r = run(&archive, full);
            assert!(r.is_clean(), "{:#?}", r.problems);
            assert!(r.notes.is_empty(), "{:#?}", r.notes);
            assert_eq!((r.captures, r.log_size, r.objects), (4, 4, 3));
            assert_eq!(r.checkpoints, 1);
        }
    }

    #[test]
    fn fsck_a_catalog_row_that_contradicts_its_manifest_is_a_problem() {
        let (_dir, archive) = archive();
        archive
            .conn
            .execute("UPDATE captures SET size = size + 1 WHERE num = 2", [])
            .unwrap();
        let r = run(&archive, false);
        assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
        let m = &r.problems[0].message;
        assert!(m.contains("EX-C-000002") && m.contains("size"), "{m}");
    }

    #[test]
    fn fsck_objects_are_judged_by_the_manifests_not_the_catalog() {
        let (_dir, archive) = archive();
        // The catalog understates an object's size: hashing starts from the catalog's list,
        // stops early, and the object is hashed again against what the manifest says.
        archive
            .conn
            .execute("UPDATE captures SET size = 1 WHERE num = 3", [])
            .unwrap();
        let r = run(&archive, true);
        assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
        // A hash the catalog gets wrong: the object is still checked, against the manifest.
        archive
            .conn
            .execute(
                "UPDATE captures SET size = 11, sha256 = 'ab' || substr(sha256, 3) WHERE num = 3",
                [],
            )
            .unwrap();
        let r = run(&archive, true);
        assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
    }

    #[test]
    fn fsck_a_capture_removed_from_the_catalog_breaks_the_chain_and_the_log() {
        let (_dir, archive) = archive();
        archive
            .conn
            .execute("DELETE FROM captures WHERE num = 2", [])
            .unwrap();
        let r = run(&archive, false);
        let c = checks(&r);
        assert!(
            c.contains(&"chain") && c.contains(&"log"),
            "{:#?}",
            r.problems
        );
        let chain = r.problems.iter().find(|p| p.check == "chain").unwrap();
        assert_eq!(chain.path, "manifests/C/000/EX-C-000003.json");
        assert!(chain.message.contains("EX-C-000002"), "{}", chain.message);
        let log = r.problems.iter().find(|p| p.check == "log").unwrap();
        assert!(log.message.contains("leaf 1 "), "{}", log.message);
        // Its files are now orphans: noted, not problems of their own.
        let orphans = r
            .notes
            .iter()
            .find(|n| n.kind == "orphan_manifest")
            .unwrap();
        assert_eq!(orphans.count, 2, "{orphans:?}");
    }

    #[test]
    fn fsck_a_cut_reference_header_is_named_once_by_its_relative_path() {
        let (dir, archive) = archive();
        let sha = Sha256Digest::of(b"policy two\n");
        let header = crate::delta::header(&Sha256Digest::of(b"policy one\n"));
        std::fs::write(archive.objects().path_of(&sha), &header[..50]).unwrap();
        let r = run(&archive, false);
        assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
        assert_eq!(r.problems[0].path, object_rel(&sha));
        assert_eq!(
            r.problems[0].message, "the reference header is cut short",
            "the path is not repeated, and not absolute"
        );
        assert!(
            !r.problems[0]
                .message
                .contains(&*dir.path().to_string_lossy())
        );
    }

    #[test]
    fn fsck_a_damaged_object_is_found_only_in_full_mode() {
        let (_dir, archive) = archive();
        let sha = Sha256Digest::of(b"policy two\n");
        let forged = zstd::encode_all(&b"policy t0o\n"[..], 3).unwrap();
        std::fs::write(archive.objects().path_of(&sha), forged).unwrap();
        assert!(run(&archive, false).is_clean());
        let r = run(&archive, true);
        assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
        assert!(r.problems[0].path.ends_with(&format!("{sha}.zst")));
        assert!(
            r.problems[0].message.contains("EX-C-000003"),
            "{:?}",
            r.problems[0]
        );
        // Truncated: the zstd frame is cut.
        let good = zstd::encode_all(&b"policy two\n"[..], 3).unwrap();
        std::fs::write(archive.objects().path_of(&sha), &good[..good.len() - 3]).unwrap();
        let r = run(&archive, true);
        assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
        assert!(
            r.problems[0].message.contains("cut short"),
            "{:?}",
            r.problems
        );
        // Something after the frame that is not a frame.
        let mut long = good.clone();
        long.extend_from_slice(b"junk");
        std::fs::write(archive.objects().path_of(&sha), &long).unwrap();
        let r = run(&archive, true);
        assert!(
            r.problems[0].message.contains("decompression fails"),
            "{:?}",
            r.problems
        );
        // Frames that decode to other bytes (the right bytes plus more): damaged too.
        let mut extended = good.clone();
        extended.extend_from_slice(&zstd::encode_all(&b"\n"[..], 3).unwrap());
        std::fs::write(archive.objects().path_of(&sha), &extended).unwrap();
        let r = run(&archive, true);
        assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
        // The right bytes split over two frames (how an extended text object is stored): clean.
        let mut split = zstd::encode_all(&b"policy two"[..], 3).unwrap();
        split.extend_from_slice(&zstd::encode_all(&b"\n"[..], 3).unwrap());
        std::fs::write(archive.objects().path_of(&sha), &split).unwrap();
        assert!(run(&archive, true).is_clean());
        // Intact again: clean.
        std::fs::write(archive.objects().path_of(&sha), &good).unwrap();
        assert!(run(&archive, true).is_clean());
    }

    #[test]
    fn fsck_a_rewritten_log_contradicts_the_signed_checkpoint() {
        let (_dir, archive) = archive();
        // An inner node no checkpoint root uses: only the full recomputation sees it.
        archive
            .conn
            .execute(
                "UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0",
                [],
            )
            .unwrap();
        assert!(run(&archive, false).is_clean());
        let r = run(&archive, true);
        assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
        assert!(
            r.problems[0].message.contains("level 1, index 0"),
            "{:?}",
            r.problems
        );
        // The root of the signed tree: the quick check sees it too.
        archive
            .conn
            .execute(
                "UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0",
                [],
            )
            .unwrap();
        let r = run(&archive, false);
        assert!(checks(&r).contains(&"checkpoint"), "{:#?}", r.problems);
    }

    #[test]
    fn fsck_par_map_keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = par_map(&items, 3, &|x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
