//! The crash-leftover policy: what an interrupted writer can leave in an archive, and how each
//! such file is told from one that no crash could have left (docs/FORMAT.md §8).
//!
//! `fsck` uses it to decide whether a file no record names is a note (a crash leftover) or a
//! problem (possible tampering); `fsck --repair` uses the same rules to decide what it may
//! remove, so that the two never disagree. The numbers of removed orphan manifests stay used
//! through [`RETIRED_IDS`], read and written here.
//!
//! What this module is not for: finding leftovers (that is fsck's walk of the archive), removing
//! them or taking the locks that make removing them safe (`repair.rs`, [`crate::locks`]), and
//! file names ([`crate::layout`]).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use exhibit_core::manifest::MAX_MANIFEST_BYTES;
use exhibit_core::reextraction::MAX_REEXTRACTION_BYTES;
use exhibit_core::{IdPrefix, RecordId, RecordKind};
use exhibit_sign::history::KeyHistory;
use rusqlite::{Connection, OptionalExtension};

pub use crate::layout::RETIRED_IDS;
use crate::{StoreError, fsutil, layout};

/// Temporary files outside `objects/`, `manifests/` and `log/` (the configuration, keys) are
/// written under other locks; they are removed only once this old.
pub const MIN_TEMP_AGE: Duration = Duration::from_secs(15 * 60);

/// An orphan manifest numbered more than this past its kind's counter was not left by a crash
/// (a crashed batch allocates at most a few thousand numbers); repair keeps it.
pub const MAX_ORPHAN_AHEAD: u64 = 1_000_000;

/// The largest record number [`RETIRED_IDS`] may list (and so the largest orphan number repair
/// retires).
pub const MAX_RETIRED_NUMBER: u64 = 1_000_000_000_000;

/// The largest [`RETIRED_IDS`] file read (about 400,000 ids).
pub const MAX_RETIRED_BYTES: u64 = 8 << 20;

/// What an orphan manifest (a manifest or signature file no catalog record names) is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Orphan {
    /// What a writer that crashed mid-write leaves: why (the signature is missing or short,
    /// the manifest is missing, empty or truncated).
    Crash(&'static str),
    /// A complete manifest whose signature verifies with the archive key (a batch signed it
    /// and never committed).
    Signed,
    /// A complete manifest and signature that do not verify with the archive key: not left
    /// by a crash (why).
    Foreign(String),
}

/// Reads a whole file of at most `limit` bytes: `Ok(None)` when it does not exist.
pub(crate) fn read_at_most(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, String> {
    match fsutil::read_in_archive(path, limit) {
        Ok(b) => Ok(Some(b)),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(StoreError::Io { source, .. }) => Err(format!("cannot be read: {source}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Judges the orphan manifest `id` of an archive whose public key is `public`: whether it is a
/// crash leftover ([`Orphan::Crash`], [`Orphan::Signed`]) or not ([`Orphan::Foreign`]).
pub(crate) fn judge_orphan(root: &Path, id: &RecordId, public: &KeyHistory) -> Orphan {
    let rel = layout::manifest_path(id);
    let sig_rel = layout::signature_path(id);
    let sig = match read_at_most(&root.join(&sig_rel), 64) {
        Ok(None) => return Orphan::Crash("its signature is missing"),
        Ok(Some(s)) if s.len() < 64 => return Orphan::Crash("its signature is short"),
        Ok(Some(s)) => s,
        Err(e) => return Orphan::Foreign(format!("{sig_rel} {e}")),
    };
    let limit = match id.kind() {
        RecordKind::Reextraction => MAX_REEXTRACTION_BYTES,
        _ => MAX_MANIFEST_BYTES,
    } as u64;
    let bytes = match read_at_most(&root.join(&rel), limit) {
        Ok(None) => return Orphan::Crash("the manifest is missing"),
        Ok(Some(b)) => b,
        Err(e) => return Orphan::Foreign(format!("{rel} {e}")),
    };
    if bytes.iter().all(|&b| b == 0) {
        return Orphan::Crash("the manifest is empty");
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        && e.is_eof()
    {
        return Orphan::Crash("the manifest is truncated");
    }
    match public.verify_any(&bytes, &sig) {
        Some(_) => Orphan::Signed,
        None => Orphan::Foreign(format!(
            "its signature ({sig_rel}) does not verify with the archive key (any key of its history; now {})",
            public.current().fingerprint
        )),
    }
}

/// The counter of a record kind (0 when it has none).
fn counter(tx: &Connection, kind: RecordKind) -> Result<i64, StoreError> {
    Ok(tx
        .query_row(
            "SELECT last FROM counters WHERE kind = ?1",
            [kind.letter().to_string()],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// `Ok` when an orphan's number is one a crashed writer could have allocated: at most
/// [`MAX_ORPHAN_AHEAD`] past its kind's counter (and at most [`MAX_RETIRED_NUMBER`]);
/// otherwise why it is kept.
pub(crate) fn orphan_number_plausible(
    tx: &Connection,
    id: &RecordId,
) -> Result<Result<(), String>, StoreError> {
    let last = counter(tx, id.kind())?;
    let limit = u64::try_from(last)
        .unwrap_or(0)
        .checked_add(MAX_ORPHAN_AHEAD)
        .map_or(MAX_RETIRED_NUMBER, |l| l.min(MAX_RETIRED_NUMBER));
    Ok(if id.number() <= limit {
        Ok(())
    } else {
        Err(format!(
            "its number is more than {MAX_ORPHAN_AHEAD} past the {} counter ({last}): not left \
             by a crash",
            id.kind().letter()
        ))
    })
}

/// Why the temporary file `rel` (at `path`) must be kept for now, if it must: one in
/// `objects/` while another process writes objects (`writers_active`) may be a staged object;
/// one elsewhere outside `manifests/` and `log/` (written under other locks than the catalog's)
/// while it is younger than [`MIN_TEMP_AGE`].
pub(crate) fn keep_temp_file(path: &Path, rel: &str, writers_active: bool) -> Option<&'static str> {
    let under = |dir: &str| rel.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
    if under(layout::OBJECTS_DIR) {
        writers_active.then_some("another process is writing objects")
    } else if under(layout::MANIFESTS_DIR) || under(layout::LOG_DIR) {
        None
    } else {
        (!older_than(path, MIN_TEMP_AGE)).then_some("younger than 15 minutes (may be in use)")
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

/// The ids listed in [`RETIRED_IDS`] (none when the file does not exist). Every line must be
/// a capture, provision or re-extraction id of this archive (`prefix`), in canonical form, with
/// a number of at most [`MAX_RETIRED_NUMBER`]; anything else is a [`StoreError::Corrupt`]
/// naming the file and the line.
pub fn read_retired(root: &Path, prefix: &IdPrefix) -> Result<BTreeSet<RecordId>, StoreError> {
    let path = root.join(RETIRED_IDS);
    let bytes = match fsutil::read_in_archive(&path, MAX_RETIRED_BYTES) {
        Ok(b) => b,
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Default::default());
        }
        Err(e) => return Err(e),
    };
    let corrupt = |message: String| StoreError::Corrupt {
        what: RETIRED_IDS.to_owned(),
        message,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| corrupt("not UTF-8".into()))?;
    text.split_terminator('\n')
        .enumerate()
        .map(|(i, line)| {
            let bad = |why: &str| corrupt(format!("line {}: {line:?} {why}", i + 1));
            let id = line
                .parse::<RecordId>()
                .map_err(|e| bad(&format!("is not a record id ({e})")))?;
            if id.to_string() != line {
                return Err(bad(&format!("is not in canonical form ({id})")));
            }
            if id.prefix() != prefix.as_str() {
                return Err(bad(&format!(
                    "is not an id of this archive (prefix {})",
                    prefix.as_str()
                )));
            }
            if !layout::has_manifest(id.kind()) {
                return Err(bad("is not a capture, provision or re-extraction id"));
            }
            if id.number() > MAX_RETIRED_NUMBER {
                return Err(bad(&format!(
                    "has a number larger than {MAX_RETIRED_NUMBER}"
                )));
            }
            Ok(id)
        })
        .collect()
}

/// Adds `ids` to [`RETIRED_IDS`] durably (a new file replaces the old atomically).
pub(crate) fn record_retired(
    root: &Path,
    prefix: &IdPrefix,
    ids: &BTreeSet<RecordId>,
) -> Result<(), StoreError> {
    let mut all = read_retired(root, prefix)?;
    all.extend(ids.iter().cloned());
    let mut text = String::new();
    for id in &all {
        text.push_str(&id.to_string());
        text.push('\n');
    }
    fsutil::write_atomic_durable(&root.join(RETIRED_IDS), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_judge_orphan_tells_crash_leftovers_from_foreign_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let key = exhibit_sign::SigningKey::generate().unwrap();
        let other = exhibit_sign::SigningKey::generate().unwrap();
        let public = exhibit_sign::history::KeyHistory::single(key.public_key());
        let prefix = IdPrefix::new("EX").unwrap();
        let id = RecordId::new(&prefix, RecordKind::Capture, 7);
        let rel = layout::manifest_path(&id);
        let (m, s) = (root.join(&rel), root.join(layout::signature_path(&id)));
        std::fs::create_dir_all(m.parent().unwrap()).unwrap();
        let bytes: &[u8] = br#"{"a":"a complete manifest"}"#;
        let put = |manifest: Option<&[u8]>, sig: Option<&[u8]>| {
            let _ = std::fs::remove_file(&m);
            let _ = std::fs::remove_file(&s);
            if let Some(b) = manifest {
                std::fs::write(&m, b).unwrap();
            }
            if let Some(b) = sig {
                std::fs::write(&s, b).unwrap();
            }
            judge_orphan(root, &id, &public)
        };
        let good = key.sign(bytes);
        let bad = other.sign(bytes);
        assert_eq!(put(Some(bytes), Some(good.as_bytes())), Orphan::Signed);
        assert!(matches!(put(Some(bytes), None), Orphan::Crash(_)));
        assert!(matches!(put(Some(bytes), Some(&b""[..])), Orphan::Crash(_)));
        assert!(matches!(
            put(Some(bytes), Some(&bad.as_bytes()[..63])),
            Orphan::Crash(_)
        ));
        assert!(matches!(put(None, Some(bad.as_bytes())), Orphan::Crash(_)));
        assert!(matches!(
            put(Some(&b""[..]), Some(bad.as_bytes())),
            Orphan::Crash(_)
        ));
        assert!(matches!(
            put(Some(&[0u8; 40][..]), Some(bad.as_bytes())),
            Orphan::Crash(_)
        ));
        assert!(matches!(
            put(Some(&bytes[..10]), Some(bad.as_bytes())),
            Orphan::Crash(_)
        ));
        let Orphan::Foreign(why) = put(Some(bytes), Some(bad.as_bytes())) else {
            panic!("signed by another key")
        };
        assert!(
            why.contains("does not verify with the archive key"),
            "{why}"
        );
        // Complete but not JSON, or a signature too long: not a crash's either.
        assert!(matches!(
            put(Some(&b"not json"[..]), Some(bad.as_bytes())),
            Orphan::Foreign(_)
        ));
        let mut long = good.as_bytes().to_vec();
        long.push(0);
        assert!(matches!(put(Some(bytes), Some(&long)), Orphan::Foreign(_)));
    }

    #[test]
    fn orphans_retired_ids_round_trip_and_refuse_what_repair_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("manifests")).unwrap();
        let prefix = IdPrefix::new("EX").unwrap();
        assert!(read_retired(root, &prefix).unwrap().is_empty());
        let ids: BTreeSet<RecordId> = [
            RecordId::new(&prefix, RecordKind::Capture, 3),
            RecordId::new(&prefix, RecordKind::Provision, 1),
        ]
        .into();
        record_retired(root, &prefix, &ids).unwrap();
        let more = [RecordId::new(&prefix, RecordKind::Reextraction, 2)].into();
        record_retired(root, &prefix, &more).unwrap();
        let all = read_retired(root, &prefix).unwrap();
        assert_eq!(all.len(), 3);
        assert!(ids.is_subset(&all) && more.is_subset(&all));
        assert_eq!(
            std::fs::read_to_string(root.join(RETIRED_IDS)).unwrap(),
            "EX-C-000003\nEX-P-000001\nEX-R-000002\n"
        );
        for (text, why) in [
            ("EX-C-3\n", "canonical"),
            ("XY-C-000003\n", "prefix EX"),
            ("EX-D-000003\n", "not a capture"),
            ("EX-C-1000000000001\n", "larger than"),
            ("nonsense\n", "not a record id"),
        ] {
            std::fs::write(root.join(RETIRED_IDS), text).unwrap();
            let e = read_retired(root, &prefix).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("line 1"), "{text}: {e}");
        }
    }

    #[test]
    fn orphans_temp_files_outside_the_catalog_lock_wait_until_old() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join(".tmp-config");
        std::fs::write(&fresh, b"x").unwrap();
        assert!(keep_temp_file(&fresh, ".tmp-config", false).is_some());
        assert_eq!(keep_temp_file(&fresh, "log/.tmp-x", true), None);
        assert_eq!(keep_temp_file(&fresh, "manifests/C/000/.tmp-x", true), None);
        assert_eq!(keep_temp_file(&fresh, "objects/.tmp-x.zst", false), None);
        assert!(keep_temp_file(&fresh, "objects/.tmp-x.zst", true).is_some());
        // Gone: not known to be old, so kept (repair skips a file already gone anyway).
        assert!(keep_temp_file(&dir.path().join("gone"), "keys/.tmp-gone", false).is_some());
    }
}
