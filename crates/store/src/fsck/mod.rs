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
//! Speed: manifests are read, verified and parsed by a pool of threads, in batches; with `full`,
//! objects are hashed by their own pool from the start (listed from the catalog, so no manifest
//! has to be read first), one streaming pass per object through the store's decoder (reused zstd
//! contexts and 256 KiB buffers), while the records are checked. A worker takes the objects of
//! one document and role together, so a reference is decoded once, as an object, and kept for
//! the delta objects made against it. Each object is then judged against what the manifests
//! say; one the catalog did not list (or listed with another size) is hashed again at the end.
//!
//! The checks are split by what they check, each module adding its methods to the one
//! `Checker` that [`Archive::fsck`] runs: `keys`, `catalog` (SQLite and derived values),
//! `records` (rows against manifests, the chain rules), `log`, `checkpoints` (and tokens),
//! `objects` and `files`. `rows` reads catalog rows leniently, `load` reads manifests in
//! parallel, and `report` is the model of what is found. Objects are decoded by the store's one
//! streaming decoder (`crate::objects::ObjectDecoder`), and the log's tree is recomputed with
//! [`exhibit_core::merkle::Frontier`].

mod catalog;
mod checkpoints;
mod files;
mod keys;
mod load;
mod log;
mod objects;
mod records;
mod report;
mod rows;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::AtomicUsize;

use exhibit_core::merkle::Hash;
use exhibit_core::{RecordId, RecordKind, Sha256Digest};
use serde::Serialize;

use crate::layout::{CATALOG_FILE, KEYS_DIR, LATEST_CHECKPOINT, LOCKS_DIR, TSA_DIR};
use crate::objects::ObjectStore;
use crate::{Archive, StoreError};

pub use report::{Note, Problem};

use load::read_small;
use objects::{ObjRef, collect_results, hash_queue, join_all};
use report::{Findings, NoteKind, Notes, problem};
use rows::show;

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
            root_dir: crate::fsutil::open_dir(&self.root).ok(),
            prefetched: files::Prefetched::new(),
            public: None,
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

struct Checker<'a> {
    archive: &'a Archive,
    root: &'a Path,
    opts: &'a FsckOptions<'a>,
    workers: usize,
    found: Findings,
    notes: Notes,
    /// The archive root, open, for reading the records' files relative to it (`None` if it
    /// cannot be opened: then by their paths, which say what is wrong).
    root_dir: Option<File>,
    /// Directory listings made ahead of time, taken by [`Checker::read_dir`].
    prefetched: files::Prefetched,
    public: Option<exhibit_sign::history::KeyHistory>,
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

fn hex(h: &Hash) -> String {
    Sha256Digest(*h).to_hex()
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
        let mut snapshot = false;
        // One read transaction: a concurrent capture is seen wholly or not at all.
        let tx = match archive.conn.unchecked_transaction() {
            // A first read fixes the snapshot (SQLite takes it at a transaction's first read):
            // from then on, every file a record of the snapshot names is on disk, so the big
            // directories can be listed ahead of time, on another thread.
            Ok(tx) => {
                snapshot = tx
                    .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .is_ok();
                Some(tx)
            }
            Err(e) => {
                self.catalog(format!("cannot begin a read transaction: {e}"));
                None
            }
        };
        self.keys();
        let early = if self.opts.full {
            self.catalog_objects()
        } else {
            objects::HashPlan {
                jobs: Vec::new(),
                runs: Vec::new(),
            }
        };
        let store: &ObjectStore = archive.objects();
        let progress = self.opts.progress;
        let next = AtomicUsize::new(0);
        let (early_ref, next_ref) = (&early, &next);
        std::thread::scope(|s| {
            // --full: the objects are hashed by their own workers from the start, while this
            // thread (and the manifest readers) check the records; both keep the cores busy.
            // One worker fewer until the records are checked (at least one): the records'
            // readers take the other core meanwhile, and what this thread does alone after
            // them then runs beside the hashing rather than after it.
            let hashers = self.workers.clamp(1, early.runs.len().max(1));
            let spawn_hashers = |n: usize| -> Vec<_> {
                (0..n)
                    .map(|_| s.spawn(move || hash_queue(store, early_ref, next_ref, progress)))
                    .collect()
            };
            let mut handles: Vec<_> = if early.jobs.is_empty() {
                Vec::new()
            } else {
                self.progress(Progress::Begin {
                    phase: Phase::Objects,
                    total: early
                        .jobs
                        .iter()
                        .filter(|j| j.1 != u64::MAX)
                        .map(|j| j.1 - 1)
                        .sum(),
                });
                spawn_hashers(hashers.saturating_sub(1).max(1))
            };
            let root = self.root;
            let lister = snapshot.then(|| s.spawn(move || files::prefetch_listings(root)));
            self.quick(latest_file, lister);
            if !handles.is_empty() {
                handles.extend(spawn_hashers(hashers - handles.len()));
            }
            let todo = self.objects_present();
            if self.opts.full {
                self.full_log();
                self.full_tokens();
                let done = join_all(handles);
                let hashed = collect_results(done, early.jobs.len());
                self.judge_objects(todo, &early.jobs, hashed);
            }
        });
        drop(tx);
    }

    /// Everything but the objects' bytes; the big directories' listings come from `lister`
    /// when there is one ([`files::prefetch_listings`]).
    fn quick(
        &mut self,
        latest_file: Option<Result<Vec<u8>, String>>,
        lister: Option<std::thread::ScopedJoinHandle<'_, files::Prefetched>>,
    ) {
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
        if let Some(lister) = lister {
            self.prefetched = match lister.join() {
                Ok(listed) => listed,
                Err(panic) => std::panic::resume_unwind(panic),
            };
        }
        self.log_ownership();
        self.catalog_extras();
        self.log_nodes_vs_leaves();
        self.key_statements_vs_log();
        self.checkpoints(latest_file);
        self.timestamps();
        self.cosignatures();
        self.walk_manifests();
        self.walk_log();
        self.walk_temp(".");
        self.walk_temp(KEYS_DIR);
        // Only for what they hold that is not a file or directory (see `read_dir`).
        self.read_dir(LOCKS_DIR);
        self.read_dir(TSA_DIR);
    }
}
