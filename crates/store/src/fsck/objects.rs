//! The objects: which are referenced (and by what), which are present in `objects/`, and —
//! with `--full` — hashing each on a pool of workers and judging it against the manifests.
//!
//! Not for decoding an object's bytes: that is [`crate::objects::ObjectDecoder`], the one
//! streaming decoder `ObjectStore` reads use too.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

use exhibit_core::{Blake3Digest, RecordKind, Sha256Digest};

use super::{BUF, Checker, NoteKind, Phase, Progress};
use crate::layout::{self as L, OBJECTS_DIR};
use crate::objects::{DecodeError, ObjectDecoder, ObjectStore};
use crate::{Archive, StoreError};

/// An object some record references, with what the manifests say about it.
pub(super) struct ObjRef {
    pub(super) sha: Sha256Digest,
    pub(super) blake3: Option<Blake3Digest>,
    pub(super) size: Option<u64>,
    pub(super) by: (RecordKind, u64),
    pub(super) role: &'static str,
}

/// What decompressing and hashing one object found.
pub(super) enum Hashed {
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
    pub(super) fn usable_for(&self, size: Option<u64>) -> bool {
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
    pub(super) fn judge(&self, o: &ObjRef) -> Option<String> {
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

/// Bytes of reference objects one fsck worker keeps in memory.
const REFERENCE_CACHE: usize = 32 << 20;

/// Decodes one object with a worker's decoder (its zstd contexts and buffers reused for every
/// object), hashing it with SHA-256 and BLAKE3 in the same pass; stops after `cap` bytes (a
/// damaged object may decompress to far more than it should). Reports progress in
/// uncompressed bytes. What went wrong is worded here, for the `object` problems.
fn hash_one(
    decoder: &mut ObjectDecoder,
    store: &ObjectStore,
    sha: &Sha256Digest,
    cap: u64,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Hashed {
    let mut advance = |chunk: &[u8]| {
        if let Some(p) = progress {
            p(Progress::Advance {
                phase: Phase::Objects,
                n: chunk.len() as u64,
            });
        }
        Ok(())
    };
    match decoder.decode(store, sha, cap, &mut advance) {
        Ok(d) => Hashed::Done {
            sha: d.sha256,
            blake3: d.blake3,
            size: d.size,
            capped: d.capped,
        },
        Err(e) => Hashed::Failed(match e {
            DecodeError::Open(e) if e.kind() == io::ErrorKind::NotFound => "missing".into(),
            DecodeError::Open(e) if e.kind() == io::ErrorKind::InvalidInput => e.to_string(),
            DecodeError::Open(e) => format!("cannot open: {e}"),
            DecodeError::ReadStart(e) | DecodeError::Read(e) => format!("cannot read: {e}"),
            DecodeError::BadHeader(m) => format!("damaged: {m}"),
            DecodeError::Reference { reference, why } => {
                format!("its reference object {reference} {why}")
            }
            DecodeError::Context(e) => format!("cannot decompress: {e}"),
            DecodeError::Damaged { after, error } => {
                format!("damaged: decompression fails after {after} bytes: {error}")
            }
            DecodeError::CutShort { after } => {
                format!("damaged: the zstd frame is cut short after {after} bytes")
            }
            // Neither happens here (a store is given; `advance` never fails): worded anyway.
            DecodeError::NotFull | DecodeError::Sink(_) => {
                e.into_store_error(&store.path_of(sha)).to_string()
            }
        }),
    }
}

/// An object to hash and the most bytes to read of it.
pub(super) type HashJob = (Sha256Digest, u64);

/// What `--full` hashes: the jobs, sorted by name (results are looked up by name), and the
/// order to hash them in, as runs of job indices a worker takes whole. Objects of one document
/// and role form a run, so a worker decodes a reference and the delta objects made against it
/// one after the other: the reference is decoded once, and its dictionary loaded once.
pub(super) struct HashPlan {
    pub(super) jobs: Vec<HashJob>,
    pub(super) runs: Vec<Vec<usize>>,
}

impl HashPlan {
    /// Every job a run of its own, in name order.
    fn one_by_one(jobs: Vec<HashJob>) -> Self {
        let runs = (0..jobs.len()).map(|i| vec![i]).collect();
        HashPlan { jobs, runs }
    }
}

/// A worker: takes runs of objects from the shared queue until it is empty. A worker that
/// cannot make a zstd context takes nothing (the others do its share).
pub(super) fn hash_queue(
    store: &ObjectStore,
    plan: &HashPlan,
    next: &AtomicUsize,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Vec<(usize, Hashed)> {
    let mut out = Vec::new();
    let Ok(decoder) = ObjectDecoder::new(BUF, REFERENCE_CACHE) else {
        return out;
    };
    let mut decoder = decoder.in_store_dir(store);
    loop {
        let r = next.fetch_add(1, Ordering::Relaxed);
        let Some(run) = plan.runs.get(r) else { break };
        for &i in run {
            if let Some((sha, cap)) = plan.jobs.get(i) {
                out.push((i, hash_one(&mut decoder, store, sha, *cap, progress)));
            }
        }
    }
    out
}

/// Hashes `jobs` on up to `workers` threads; one result per job, in order.
pub(super) fn hash_all(
    store: &ObjectStore,
    jobs: Vec<HashJob>,
    workers: usize,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Vec<Hashed> {
    let plan = HashPlan::one_by_one(jobs);
    let next = AtomicUsize::new(0);
    let done: Vec<(usize, Hashed)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.clamp(1, plan.runs.len().max(1)))
            .map(|_| s.spawn(|| hash_queue(store, &plan, &next, progress)))
            .collect();
        join_all(handles)
    });
    collect_results(done, plan.jobs.len())
}

pub(super) fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, Vec<T>>>) -> Vec<T> {
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
pub(super) fn collect_results(done: Vec<(usize, Hashed)>, n: usize) -> Vec<Hashed> {
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

impl<'a> Checker<'a> {
    /// Lists `objects/`, reports referenced objects that are missing and notes the others;
    /// returns the referenced objects present, sorted by name.
    pub(super) fn objects_present(&mut self) -> Vec<ObjRef> {
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
                            L::object_path(&u.sha),
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
        match self.read_dir(OBJECTS_DIR) {
            None if !unique.is_empty() => self.fail("files", OBJECTS_DIR, "missing"),
            None => {}
            Some(shards) => {
                for (shard, st) in shards {
                    let srel = format!("{OBJECTS_DIR}/{shard}");
                    if L::is_temp_name(&shard) {
                        self.notes.add(NoteKind::TempFile, srel);
                        continue;
                    }
                    if !(st.is_dir() && L::is_object_shard(&shard)) {
                        self.notes.add(NoteKind::Unexpected, srel);
                        continue;
                    }
                    for (name, ft) in self.read_dir(&srel).unwrap_or_default() {
                        let rel = format!("{srel}/{name}");
                        if L::is_temp_name(&name) {
                            self.notes.add(NoteKind::TempFile, rel);
                            continue;
                        }
                        let sha = L::parse_object_path(&rel);
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
                    L::object_path(&o.sha),
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
                    self.fail("object", L::object_path(&o.sha), message)
                }
                Err(e) => self.fail("object", L::object_path(&o.sha), e.to_string()),
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
                self.fail("object", L::object_path(reference), problem);
            }
        }
        if self.records_complete {
            for s in unreferenced.iter().filter(|s| !needed.contains(*s)) {
                self.notes.add(NoteKind::OrphanObject, L::object_path(s));
            }
        }
        todo
    }

    /// The objects to hash, as the catalog lists them (known before any manifest is read, so
    /// hashing starts at once), sorted by name, each with the most bytes worth reading; hashed
    /// in runs by document and role (see [`HashPlan`]).
    pub(super) fn catalog_objects(&mut self) -> HashPlan {
        let archive: &'a Archive = self.archive;
        type Row = (Option<String>, Option<i64>, Option<i64>, i64, Option<i64>);
        let rows: rusqlite::Result<Vec<Row>> = archive
            .conn
            .prepare(
                "SELECT sha256, size, document, 0, num FROM captures WHERE sha256 IS NOT NULL \
                 UNION ALL SELECT text_sha256, text_size, document, 1, num FROM captures \
                 WHERE text_sha256 IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((
                        r.get(0).ok(),
                        r.get(1).ok().flatten(),
                        r.get(2).ok().flatten(),
                        r.get(3)?,
                        r.get(4).ok().flatten(),
                    ))
                })?
                .collect()
            });
        // Errors and bad rows are reported by the record checks; here they are just skipped.
        // Each object with where it goes in the hashing order: (document, role, capture).
        let mut found: Vec<(HashJob, (i64, i64, i64))> = rows
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(sha, size, document, role, num)| {
                let sha: Sha256Digest = sha?.parse().ok()?;
                let cap = size
                    .and_then(|s| u64::try_from(s).ok())
                    .map_or(u64::MAX, |s| s.saturating_add(1));
                let place = (document.unwrap_or(i64::MAX), role, num.unwrap_or(i64::MAX));
                Some(((sha, cap), place))
            })
            .collect();
        found.sort_unstable_by(|a, b| a.0.0.cmp(&b.0.0).then(b.0.1.cmp(&a.0.1)));
        // One job per object: the largest cap, the earliest place.
        let mut jobs: Vec<HashJob> = Vec::with_capacity(found.len());
        let mut places: Vec<(i64, i64, i64)> = Vec::with_capacity(found.len());
        for (job, place) in found {
            match (jobs.last(), places.last_mut()) {
                (Some(last), Some(p)) if last.0 == job.0 => *p = (*p).min(place),
                _ => {
                    jobs.push(job);
                    places.push(place);
                }
            }
        }
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| places[i]);
        let mut runs: Vec<Vec<usize>> = Vec::new();
        let mut run_of: Option<(i64, i64)> = None;
        for i in order {
            let key = (places[i].0, places[i].1);
            match runs.last_mut() {
                Some(run) if run_of == Some(key) => run.push(i),
                _ => runs.push(vec![i]),
            }
            run_of = Some(key);
        }
        HashPlan { jobs, runs }
    }

    /// Judges every referenced object that is present by what hashing it found: the early
    /// results where they apply, else (an object the catalog does not list, or listed with
    /// another size) by hashing it now.
    pub(super) fn judge_objects(
        &mut self,
        todo: Vec<ObjRef>,
        early: &[HashJob],
        hashed: Vec<Hashed>,
    ) {
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
            let results = hash_all(archive.objects(), late, self.workers, self.opts.progress);
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
                    L::object_path(&o.sha),
                    format!("{w} (the {} of {by})", o.role),
                );
            }
        }
    }
}
