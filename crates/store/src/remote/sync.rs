//! Moving records between the local copy and the bucket: [`bring_up_to_date`] (pull, and push
//! what this host could not push before), [`push_records`] (a batch's records and their
//! segment) and [`push_rest`] (checkpoints, tokens, cosignatures, key statements, and the
//! latest-checkpoint pointer).
//!
//! Every key read from the bucket is turned into a local path only through the parsers of
//! [`crate::layout`] (or computed from a record id or a digest): a hostile bucket can not name a
//! file outside the archive, and a file it holds that no parser accepts is never fetched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use exhibit_core::{IdPrefix, RecordId, RecordKind, Sha256Digest, merkle};
use rusqlite::Connection;

use super::Remote;
use crate::config::Config;
use crate::layout::{
    self, CHECKPOINT_DIR, KEY_HISTORY_DIR, LATEST_CHECKPOINT, LEAVES_FILE, SEGMENTS_DIR,
    manifest_path, object_path, segment_key, signature_path,
};
use crate::objects::ObjectStore;
use crate::{Archive, StoreError, fsutil};
use exhibit_core::segment::{self, Entry, MAX_SEGMENT_BYTES};

/// Uploads and downloads run this many at a time.
const PARALLEL: usize = 16;
/// Largest checkpoint, token or cosignature file fetched.
const MAX_CHECKPOINT_FILE: u64 = 1 << 20;
/// Largest object fetched (the largest a manifest can record is far below).
const MAX_OBJECT: u64 = 1 << 40;

/// What the bucket's log looked like to this host.
#[derive(Clone, Debug, Default)]
pub(crate) struct Head {
    /// The ETag of `log/checkpoint`, when there is one.
    pub etag: Option<String>,
    /// The size of the checkpoint in it (0 without one).
    pub size: u64,
    /// Where the bucket's log ends (the segments' end).
    pub end: u64,
}

/// What bringing the local copy up to date did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Records fetched from the bucket.
    pub records: u64,
    /// Files fetched (manifests, signatures, objects, checkpoints, tokens, statements).
    pub files: u64,
    /// Records of this host pushed because an earlier push had not finished.
    pub pushed: u64,
    /// Whether the catalog had to be rebuilt (rather than extended by what came).
    pub reindexed: bool,
}

fn bucket_error(remote: &Remote, key: &str, message: impl Into<String>) -> StoreError {
    remote.error(key, message)
}

/// Reads `log/checkpoint` from the bucket: its ETag and the size it signs, and its bytes.
fn read_head(remote: &Remote) -> Result<(Head, Vec<u8>), StoreError> {
    let Some((bytes, etag)) = remote.client.get(LATEST_CHECKPOINT, MAX_CHECKPOINT_FILE)? else {
        return Ok((Head::default(), Vec::new()));
    };
    let size = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| t.lines().nth(1))
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| bucket_error(remote, LATEST_CHECKPOINT, "is not a checkpoint"))?;
    Ok((
        Head {
            etag: Some(etag),
            size,
            end: size,
        },
        bytes,
    ))
}

/// The records at log positions `from..to`, in order, from the catalog.
pub(crate) fn records_in(
    conn: &Connection,
    prefix: &IdPrefix,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, RecordId)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT log_index, 'C', num FROM captures WHERE log_index >= ?1 AND log_index < ?2
         UNION ALL SELECT log_index, 'P', num FROM provisions WHERE log_index >= ?1 AND log_index < ?2
         UNION ALL SELECT log_index, 'R', num FROM reextractions WHERE log_index >= ?1 AND log_index < ?2
         ORDER BY 1",
    )?;
    let rows = stmt.query_map([from as i64, to as i64], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)? as u64,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (idx, letter, num) = row?;
        let kind = letter
            .chars()
            .next()
            .and_then(RecordKind::from_letter)
            .ok_or_else(|| StoreError::Corrupt {
                what: "catalog".into(),
                message: format!("record kind {letter:?} at log index {idx}"),
            })?;
        if idx != from + out.len() as u64 {
            return Err(StoreError::Corrupt {
                what: "catalog".into(),
                message: format!("no record at log index {}", from + out.len() as u64),
            });
        }
        out.push((idx, RecordId::new(prefix, kind, num)));
    }
    if out.len() as u64 != to - from {
        return Err(StoreError::Corrupt {
            what: "catalog".into(),
            message: format!("no record at log index {}", from + out.len() as u64),
        });
    }
    Ok(out)
}

/// Runs `f` on every item, [`PARALLEL`] at a time; the first error stops the rest.
pub(crate) fn in_parallel<T: Sync>(
    items: &[T],
    f: impl Fn(&T) -> Result<(), StoreError> + Sync,
) -> Result<(), StoreError> {
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(items.len()) {
            s.spawn(|| {
                loop {
                    if failed.lock().map_or(true, |f| f.is_some()) {
                        return;
                    }
                    let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    if let Err(e) = f(item) {
                        if let Ok(mut slot) = failed.lock() {
                            slot.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    match failed.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

/// Uploads the local file `rel` write-once (same bytes already there: fine; other bytes: an
/// alarm, as an error).
fn upload(root: &Path, remote: &Remote, rel: &str) -> Result<(), StoreError> {
    remote
        .client
        .put_file_once(rel, &root.join(rel), remote.retention().as_ref())?;
    Ok(())
}

/// Pushes the records at the log positions `records` (contiguous, starting where the bucket's
/// log ends: `head.end`) with their objects, then their segment — the commit point: once it is
/// written, the records are in the bucket's log.
pub(crate) fn push_records(
    root: &Path,
    remote: &Remote,
    head: &mut Head,
    records: &[(u64, RecordId)],
) -> Result<(), StoreError> {
    let Some(&(first, _)) = records.first() else {
        return Ok(());
    };
    if first != head.end {
        return Err(bucket_error(
            remote,
            &segment_key(first),
            format!(
                "would start at log index {first} but the bucket's log ends at {}",
                head.end
            ),
        ));
    }
    let mut entries = Vec::with_capacity(records.len());
    let mut objects = BTreeSet::new();
    let mut files = Vec::with_capacity(records.len() * 2);
    for (index, id) in records {
        let rel = manifest_path(id);
        let bytes = fsutil::read_in_archive(
            &root.join(&rel),
            crate::record_files::manifest_limit(id.kind()),
        )?;
        let named = crate::record_files::named_objects(id.kind(), &bytes).map_err(|e| {
            StoreError::Corrupt {
                what: rel.clone(),
                message: format!("not a valid manifest: {e}"),
            }
        })?;
        objects.extend(named.into_iter().map(|(sha, _)| sha));
        entries.push(Entry {
            index: *index,
            id: id.clone(),
            leaf: merkle::leaf_hash(&bytes),
        });
        files.push(rel);
        files.push(signature_path(id));
    }
    // Objects, manifests and signatures in any order: none of them is in the archive before
    // the segment that names them.
    files.extend(objects.iter().map(object_path));
    in_parallel(&files, |rel| upload(root, remote, rel))?;
    let key = segment_key(first);
    match remote.client.put_once(
        &key,
        &segment::format(&entries),
        remote.retention().as_ref(),
    ) {
        Ok(_) => {}
        Err(exhibit_s3::S3Error::Conflict { .. }) => {
            return Err(bucket_error(
                remote,
                &key,
                format!(
                    "another host already appended leaves at log index {first}: this host's {} record(s) from {} on are not in the bucket's log (run `exhibit reindex` to rebuild this copy from the bucket)",
                    records.len(),
                    records[0].1
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    head.end = first + records.len() as u64;
    Ok(())
}

/// Pushes what a writer made besides records: every file of `log/checkpoints/` from the size of
/// the bucket's latest checkpoint on, the key statements the bucket lacks; then moves
/// `log/checkpoint` to the local latest checkpoint by compare-and-swap. Also pushes any local
/// record the bucket's log lacks (a batch whose push failed).
pub(crate) fn push_rest(root: &Path, remote: &Remote, head: &mut Head) -> Result<(), StoreError> {
    let (latest, behind) = {
        let archive = Archive::open(root)?;
        let size = archive.log_size()?;
        let behind = if size > head.end {
            records_in(&archive.conn, &archive.prefix, head.end, size)?
        } else {
            Vec::new()
        };
        (archive.latest_checkpoint()?, behind)
    };
    push_records(root, remote, head, &behind)?;
    let mut files = Vec::new();
    let dir = root.join(CHECKPOINT_DIR);
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))? {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let size = match layout::parse_checkpoint_dir_name(&name) {
                Some(layout::CheckpointDirFile::Checkpoint(s))
                | Some(layout::CheckpointDirFile::Cosignature(s, _)) => s,
                Some(layout::CheckpointDirFile::Token(t)) => t.size,
                None => continue,
            };
            if size >= head.size {
                files.push(format!("{CHECKPOINT_DIR}/{name}"));
            }
        }
    }
    let in_bucket: BTreeSet<String> = remote
        .client
        .list(&format!("{KEY_HISTORY_DIR}/"), None)?
        .into_iter()
        .map(|l| l.key)
        .collect();
    for name in local_names(&root.join(KEY_HISTORY_DIR))? {
        let rel = format!("{KEY_HISTORY_DIR}/{name}");
        if crate::key_statements::is_history_file(&name) && !in_bucket.contains(&rel) {
            files.push(rel);
        }
    }
    in_parallel(&files, |rel| upload(root, remote, rel))?;
    if let Some(cp) = latest
        && (cp.size > head.size || head.etag.is_none())
    {
        match remote.client.put_if(
            LATEST_CHECKPOINT,
            cp.note.as_bytes(),
            head.etag.as_deref(),
            None,
        )? {
            Ok(etag) => {
                head.etag = Some(etag);
                head.size = cp.size;
            }
            Err(_) => match remote.client.get(LATEST_CHECKPOINT, MAX_CHECKPOINT_FILE)? {
                // An earlier attempt's write landed and only its answer was lost.
                Some((bytes, etag)) if bytes == cp.note.as_bytes() => {
                    head.etag = Some(etag);
                    head.size = cp.size;
                }
                _ => {
                    return Err(bucket_error(
                        remote,
                        LATEST_CHECKPOINT,
                        "changed while this host held the write lease; run the command again",
                    ));
                }
            },
        }
    }
    Ok(())
}

/// The names in `dir` (none when it does not exist).
fn local_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

/// Brings the local copy at `root` up to the bucket: fetches the segments past the local log,
/// their records and objects (each checked: the manifest against the segment's leaf, the objects
/// against their digests), the checkpoint files and key statements it lacks, and rebuilds the
/// catalog when anything came. With `push`, records of this host that the bucket's log lacks
/// are pushed first. Returns the bucket's head as found.
pub(crate) fn bring_up_to_date(
    root: &Path,
    remote: &Remote,
    config: &Config,
    push: bool,
) -> Result<(Head, PullReport), StoreError> {
    let prefix = IdPrefix::new(&config.prefix).map_err(|e| StoreError::Config {
        path: root.join(layout::CONFIG_FILE),
        message: e.to_string(),
    })?;
    let (local_size, local_checkpoint) = {
        let archive = Archive::open(root)?;
        let cp = archive.latest_checkpoint()?.map_or(0, |c| c.size);
        (archive.log_size()?, cp)
    };
    let (mut head, head_note) = read_head(remote)?;
    let mut report = PullReport::default();
    // Segments from the smaller of the two ends: both are segment boundaries (every push writes
    // one segment ending where the local log ends, and checkpoints are signed at those ends).
    let from = head.size.min(local_size);
    let listed = remote.client.list(
        &format!("{SEGMENTS_DIR}/"),
        from.checked_sub(1).map(segment_key).as_deref(),
    )?;
    let leaves_path = root.join(LEAVES_FILE);
    let mut leaves_file = None;
    let mut end = from;
    let mut new = Vec::new();
    for l in listed {
        let Some(start) = layout::parse_segment_key(&l.key) else {
            continue;
        };
        if start != end {
            return Err(bucket_error(
                remote,
                &l.key,
                format!("the bucket's log has a gap: this segment follows leaves up to {end}"),
            ));
        }
        let (bytes, _) = remote
            .client
            .get(&l.key, MAX_SEGMENT_BYTES)?
            .ok_or_else(|| bucket_error(remote, &l.key, "was listed but can not be read"))?;
        let entries =
            segment::parse(start, &bytes, &prefix).map_err(|e| bucket_error(remote, &l.key, e))?;
        for e in entries {
            if e.index < local_size {
                if local_leaf(&mut leaves_file, &leaves_path, e.index)? != e.leaf {
                    return Err(bucket_error(
                        remote,
                        &l.key,
                        format!(
                            "leaf {} differs from this copy's: this host's records from there on are not in the bucket (run `exhibit reindex` to rebuild this copy from the bucket)",
                            e.index
                        ),
                    ));
                }
            } else {
                new.push(e);
            }
            end += 1;
        }
    }
    head.end = end;
    if !new.is_empty() {
        report.files += fetch_records(root, remote, &new)?;
        append_leaves(&leaves_path, local_size, &new)?;
        report.records = new.len() as u64;
    }
    report.files += fetch_log_files(root, remote, local_checkpoint)?;
    if head.size > local_checkpoint {
        // The bucket's latest checkpoint becomes this copy's (reindex checks it is the latest
        // of `log/checkpoints/` and signs the tree the leaves give).
        fsutil::write_atomic_durable(&root.join(LATEST_CHECKPOINT), &head_note)?;
        report.files += 1;
    }
    if report.files > 0 || report.records > 0 {
        // The catalog extended by what came (the cost of what came); rebuilt from the files if
        // that fails (the cost of the archive, and the last word: reindex checks everything).
        let entries: Vec<(u64, RecordId, merkle::Hash)> = new
            .iter()
            .map(|e| (e.index, e.id.clone(), e.leaf))
            .collect();
        if let Err(e) = crate::reindex::extend(root, &entries) {
            eprintln!("exhibit: warning: the catalog could not be extended ({e}); rebuilding it");
            let r = crate::reindex(root)?;
            if let Some(backup) = r.backup {
                // The catalog is this host's cache of the bucket; its old state is not kept.
                for suffix in ["", "-wal", "-journal"] {
                    let _ = std::fs::remove_file(root.join(format!("{backup}{suffix}")));
                }
            }
            report.reindexed = true;
        }
    }
    if push && end < local_size {
        let behind = {
            let archive = Archive::open(root)?;
            records_in(&archive.conn, &archive.prefix, end, local_size)?
        };
        push_records(root, remote, &mut head, &behind)?;
        report.pushed = behind.len() as u64;
    }
    Ok((head, report))
}

/// The leaf at `index` of the local log.
fn local_leaf(
    file: &mut Option<std::fs::File>,
    path: &Path,
    index: u64,
) -> Result<merkle::Hash, StoreError> {
    use std::os::unix::fs::FileExt;
    let file = match file {
        Some(f) => f,
        None => file.insert(
            fsutil::open_for_reading(path, fsutil::Links::Refuse)
                .map_err(|e| StoreError::io(path, e))?,
        ),
    };
    let mut leaf = [0u8; 32];
    file.read_exact_at(&mut leaf, index * 32)
        .map_err(|e| StoreError::io(path, e))?;
    Ok(leaf)
}

/// Writes the leaves of `entries` after the `committed` ones of the local log (cutting a torn
/// tail first), durably.
fn append_leaves(path: &Path, committed: u64, entries: &[Entry]) -> Result<(), StoreError> {
    use std::os::unix::fs::FileExt;
    fsutil::ensure_dir(fsutil::parent_dir(path))?;
    let file = fsutil::open_for_writing(path, true).map_err(|e| StoreError::io(path, e))?;
    file.set_len(committed * 32)
        .map_err(|e| StoreError::io(path, e))?;
    let mut bytes = Vec::with_capacity(entries.len() * 32);
    for e in entries {
        bytes.extend_from_slice(&e.leaf);
    }
    file.write_all_at(&bytes, committed * 32)
        .and_then(|()| file.sync_data())
        .map_err(|e| StoreError::io(path, e))?;
    fsutil::sync_dir(fsutil::parent_dir(path))
}

/// Writes `bytes` fetched from the bucket at `rel`, unless the same bytes are there already.
fn place(root: &Path, rel: &str, bytes: &[u8]) -> Result<bool, StoreError> {
    let path = root.join(rel);
    if let Ok(have) = fsutil::read_in_archive(&path, bytes.len() as u64 + 1)
        && have == bytes
    {
        return Ok(false);
    }
    fsutil::ensure_dir(fsutil::parent_dir(&path))?;
    fsutil::write_atomic(&path, bytes)?;
    Ok(true)
}

/// Fetches the manifests, signatures and missing objects of `entries`; returns the number of
/// files written. Each manifest must hash to its leaf, each object to its digest.
fn fetch_records(root: &Path, remote: &Remote, entries: &[Entry]) -> Result<u64, StoreError> {
    let written = AtomicUsize::new(0);
    let objects: Mutex<BTreeSet<Sha256Digest>> = Mutex::new(BTreeSet::new());
    let dirs: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    in_parallel(entries, |e| {
        let rel = manifest_path(&e.id);
        let limit = crate::record_files::manifest_limit(e.id.kind());
        let (bytes, _) = remote
            .client
            .get(&rel, limit)?
            .ok_or_else(|| bucket_error(remote, &rel, "is named by the log but missing"))?;
        if merkle::leaf_hash(&bytes) != e.leaf {
            return Err(bucket_error(
                remote,
                &rel,
                format!("does not hash to leaf {} of the bucket's log", e.index),
            ));
        }
        let sig_rel = signature_path(&e.id);
        let (sig, _) = remote
            .client
            .get(&sig_rel, 64)?
            .ok_or_else(|| bucket_error(remote, &sig_rel, "is named by the log but missing"))?;
        let named = crate::record_files::named_objects(e.id.kind(), &bytes)
            .map_err(|m| bucket_error(remote, &rel, format!("not a valid manifest: {m}")))?;
        for (file, data) in [(&rel, &bytes), (&sig_rel, &sig)] {
            if place(root, file, data)? {
                written.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut d) = dirs.lock() {
            d.insert(fsutil::parent_dir(&root.join(&rel)).to_path_buf());
        }
        if let Ok(mut o) = objects.lock() {
            o.extend(named.into_iter().map(|(sha, _)| sha));
        }
        Ok(())
    })?;
    let store = ObjectStore::for_archive(root);
    let missing: Vec<Sha256Digest> = objects
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .filter(|sha| !store.contains(sha))
        .collect();
    in_parallel(&missing, |sha| {
        let rel = object_path(sha);
        let path = root.join(&rel);
        fsutil::ensure_dir(fsutil::parent_dir(&path))?;
        if !remote.client.get_to_file(&rel, &path, MAX_OBJECT)? {
            return Err(bucket_error(
                remote,
                &rel,
                "is named by a record but missing",
            ));
        }
        if let Ok(mut d) = dirs.lock() {
            d.insert(fsutil::parent_dir(&path).to_path_buf());
        }
        written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })?;
    // Checked once all are here (a delta object needs its reference): a damaged or substituted
    // object is removed again and the pull fails.
    for sha in &missing {
        if let Err(e) = store.copy_verified(sha, None, &mut std::io::sink()) {
            let _ = std::fs::remove_file(store.path_of(sha));
            return Err(bucket_error(remote, &object_path(sha), e.to_string()));
        }
    }
    for dir in dirs.into_inner().unwrap_or_default() {
        fsutil::sync_dir(&dir)?;
    }
    Ok(written.into_inner() as u64)
}

/// Fetches the checkpoint files (from the size of the local latest checkpoint on) and the key
/// statements the local copy lacks; returns the number written.
fn fetch_log_files(root: &Path, remote: &Remote, from_size: u64) -> Result<u64, StoreError> {
    let mut wanted = Vec::new();
    let after = layout::checkpoint_path(from_size);
    for l in remote
        .client
        .list(&format!("{CHECKPOINT_DIR}/"), Some(&after))?
    {
        let Some(name) = l.key.strip_prefix(&format!("{CHECKPOINT_DIR}/")) else {
            continue;
        };
        if layout::parse_checkpoint_dir_name(name).is_some()
            && std::fs::symlink_metadata(root.join(&l.key)).is_err()
        {
            wanted.push(l.key);
        }
    }
    // Also the latest checkpoint itself when this copy has none of that size.
    let own = layout::checkpoint_path(from_size);
    if from_size > 0 && std::fs::symlink_metadata(root.join(&own)).is_err() {
        wanted.push(own);
    }
    for l in remote.client.list(&format!("{KEY_HISTORY_DIR}/"), None)? {
        let Some(name) = l.key.strip_prefix(&format!("{KEY_HISTORY_DIR}/")) else {
            continue;
        };
        if crate::key_statements::is_history_file(name)
            && std::fs::symlink_metadata(root.join(&l.key)).is_err()
        {
            wanted.push(l.key);
        }
    }
    let written = AtomicUsize::new(0);
    in_parallel(&wanted, |rel| {
        if let Some((bytes, _)) = remote.client.get(rel, MAX_CHECKPOINT_FILE)?
            && place(root, rel, &bytes)?
        {
            written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })?;
    for dir in [CHECKPOINT_DIR, KEY_HISTORY_DIR] {
        if root.join(dir).is_dir() {
            fsutil::sync_dir(&root.join(dir))?;
        }
    }
    Ok(written.into_inner() as u64)
}
