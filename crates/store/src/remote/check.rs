//! `fsck` of an archive in a bucket, after the local checks: every committed record of the local
//! copy (manifest, signature, objects) and every checkpoint file is in the bucket, the bucket's
//! log agrees with the local one, and — with `--full` and a configured retention — every object
//! exhibit wrote is under compliance retention at least as long as configured. Only reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Remote;
use super::sync::{self, in_parallel};
use crate::config::Config;
use crate::fsck::{Note, Problem};
use crate::layout::{self, CHECKPOINT_DIR, KEY_HISTORY_DIR, SEGMENTS_DIR};
use crate::{Archive, StoreError, fsutil};

/// How much earlier than configured a retention may end and still count (clock skew, and the
/// seconds between a write and its retention's computation).
const RETENTION_SLACK: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Problems listed per kind; the rest are counted.
const LISTED: usize = 20;

/// What the bucket check found.
#[derive(Default, Debug)]
pub struct BucketFindings {
    /// Problems (check `bucket`, or `retention`).
    pub problems: Vec<Problem>,
    /// Problems over [`LISTED`] per kind.
    pub unlisted: u64,
    /// Keys in the bucket that this copy does not hold (a push that stopped before its segment,
    /// or another host's records not pulled yet).
    pub notes: Vec<Note>,
    /// Keys looked at in the bucket.
    pub keys: u64,
}

impl BucketFindings {
    fn problem(&mut self, check: &'static str, path: String, message: String) {
        if self.problems.iter().filter(|p| p.check == check).count() < LISTED {
            self.problems.push(Problem {
                path,
                check,
                message,
            });
        } else {
            self.unlisted += 1;
        }
    }
}

/// Checks the bucket of the archive at `root` against its local copy: `None` for a local
/// archive. `full` adds the retention of every object.
pub fn check(root: &Path, full: bool) -> Result<Option<BucketFindings>, StoreError> {
    let config = Config::load(root)?;
    let Some(settings) = &config.store else {
        return Ok(None);
    };
    let remote = Remote::connect(settings)?;
    let mut found = BucketFindings::default();
    let listed: BTreeMap<String, u64> = remote
        .client
        .list("", None)?
        .into_iter()
        .map(|l| (l.key, l.size))
        .collect();
    found.keys = listed.len() as u64;
    // What the local copy says the bucket must hold.
    let (records, size) = {
        let archive = Archive::open(root)?;
        let size = archive.log_size()?;
        (
            sync::records_in(&archive.conn, &archive.prefix, 0, size)?,
            size,
        )
    };
    let mut expected = BTreeSet::new();
    for (_, id) in &records {
        let rel = layout::manifest_path(id);
        expected.insert(layout::signature_path(id));
        let bytes = fsutil::read_in_archive(
            &root.join(&rel),
            crate::record_files::manifest_limit(id.kind()),
        )?;
        if let Ok(objects) = crate::record_files::named_objects(id.kind(), &bytes) {
            expected.extend(objects.iter().map(|(sha, _)| layout::object_path(sha)));
        }
        expected.insert(rel);
    }
    for dir in [CHECKPOINT_DIR, KEY_HISTORY_DIR] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            for entry in entries.flatten() {
                if let Some(name) = entry.file_name().to_str()
                    && !layout::is_temp_name(name)
                {
                    expected.insert(format!("{dir}/{name}"));
                }
            }
        }
    }
    for rel in &expected {
        if !listed.contains_key(rel) {
            found.problem("bucket", rel.clone(), format!("is not in {}", remote.url()));
        }
    }
    // The bucket's log: its segments must end where this copy's log ends.
    let end = match listed
        .keys()
        .filter_map(|k| layout::parse_segment_key(k))
        .max()
    {
        None => 0,
        Some(start) => {
            let key = layout::segment_key(start);
            let prefix =
                exhibit_core::IdPrefix::new(&config.prefix).map_err(|e| StoreError::Config {
                    path: root.join(layout::CONFIG_FILE),
                    message: e.to_string(),
                })?;
            let (bytes, _) = remote
                .client
                .get(&key, exhibit_core::segment::MAX_SEGMENT_BYTES)?
                .ok_or_else(|| remote.error(&key, "was listed but can not be read"))?;
            let entries = exhibit_core::segment::parse(start, &bytes, &prefix)
                .map_err(|e| remote.error(&key, e))?;
            start + entries.len() as u64
        }
    };
    if end != size {
        found.problem(
            "bucket",
            SEGMENTS_DIR.into(),
            format!(
                "the bucket's log ends at {end} leaves, this copy's at {size}{}",
                if end > size {
                    " (any command brings the copy up to date)"
                } else {
                    " (the next command that writes pushes the rest)"
                }
            ),
        );
    }
    let extra: Vec<String> = listed
        .keys()
        .filter(|k| {
            !expected.contains(*k)
                && layout::parse_segment_key(k).is_none()
                && ![
                    layout::BUCKET_IDENTITY,
                    layout::BUCKET_LEASE,
                    layout::LATEST_CHECKPOINT,
                ]
                .contains(&k.as_str())
        })
        .cloned()
        .collect();
    if !extra.is_empty() {
        found.notes.push(Note {
            kind: "bucket_only",
            what: "keys in the bucket that no record of this copy's log names (a push that stopped before its segment)",
            count: extra.len() as u64,
            paths: extra.into_iter().take(crate::fsck::NOTE_PATHS).collect(),
        });
    }
    if full && let Some(period) = remote.retention_period() {
        let keys: Vec<String> = expected
            .iter()
            .filter(|k| listed.contains_key(*k))
            .cloned()
            .collect();
        let short = std::sync::Mutex::new(Vec::new());
        in_parallel(&keys, |key| {
            let info = remote.client.head(key)?;
            let problem = match info {
                None => Some("is gone from the bucket".to_string()),
                Some(i) => {
                    let written = i.last_modified.unwrap_or_else(chrono::Utc::now);
                    let want = period.until(written) - RETENTION_SLACK;
                    match (i.retention_mode.as_deref(), i.retain_until) {
                        (Some("COMPLIANCE"), Some(until)) if until >= want => None,
                        (mode, until) => Some(format!(
                            "retention {} until {} is shorter than the configured {} compliance retention",
                            mode.unwrap_or("none"),
                            until.map_or("-".into(), |u| u.to_rfc3339()),
                            settings.retention.as_deref().unwrap_or_default()
                        )),
                    }
                }
            };
            if let Some(p) = problem
                && let Ok(mut s) = short.lock()
            {
                s.push((key.clone(), p));
            }
            Ok(())
        })?;
        for (key, message) in short.into_inner().unwrap_or_default() {
            found.problem("retention", key, message);
        }
    }
    Ok(Some(found))
}
