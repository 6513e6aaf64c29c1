//! The files on disk: listing the archive's directories (FIFOs, sockets and devices are
//! problems, never opened), temporary files, manifests no record has (orphans, or a problem
//! when no crash can have left them) and the files of `log/checkpoints/`.
//!
//! Not for `objects/`, which [`super::objects`] lists with what references it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::Path;

use exhibit_core::RecordId;

use super::{Checker, NoteKind};
use crate::fsutil;
use crate::layout::{self as L, CHECKPOINT_DIR, CheckpointDirFile, MANIFESTS_DIR, RETIRED_IDS};
use crate::orphans::{Orphan, judge_orphan, read_retired};

/// One directory, listed by [`list_dir`]: its entries sorted by name (`None` when it does
/// not exist or cannot be listed), and the `files` problems met, in order (path, message).
pub(super) struct Listing {
    entries: Option<Vec<(String, std::fs::FileType)>>,
    problems: Vec<(String, String)>,
}

/// Lists the directory `rel` of the archive at `root`, touching nothing else: FIFOs, sockets
/// and devices have no place in an archive, and reading one could block for ever: they are
/// problems, never opened. Pure, so that it can run on another thread ([`Checker::read_dir`]
/// reports what it found).
pub(super) fn list_dir(root: &Path, rel: &str) -> Listing {
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(root.join(rel)) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Listing {
                entries: None,
                problems,
            };
        }
        Err(e) => {
            problems.push((rel.to_owned(), format!("cannot list: {e}")));
            return Listing {
                entries: None,
                problems,
            };
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.file_name(), e.file_type()?))) {
            Ok((name, ft)) if !(ft.is_file() || ft.is_dir() || ft.is_symlink()) => {
                let name = name.to_string_lossy();
                problems.push((
                    Checker::join(rel, &name),
                    format!(
                        "is {}: an archive holds only regular files and directories (not opened)",
                        fsutil::file_kind(ft)
                    ),
                ));
            }
            Ok((name, ft)) => out.push((name.to_string_lossy().into_owned(), ft)),
            Err(e) => problems.push((rel.to_owned(), format!("cannot list: {e}"))),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Listing {
        entries: Some(out),
        problems,
    }
}

/// Listings made ahead of time by [`prefetch_listings`], by path relative to the root.
pub(super) type Prefetched = HashMap<String, Listing>;

/// Lists, ahead of time and reading nothing else, the directories fsck walks that hold many
/// entries: `manifests/` with its kind and shard directories, and `objects/` with its shards
/// (the directories [`Checker::walk_manifests`] and [`Checker::objects_present`] descend
/// into). To be called once the catalog snapshot is fixed: every file a record of the
/// snapshot names was written before it. [`Checker::read_dir`] takes a listing from here
/// when there is one, and reports what it found as if it had listed the directory itself.
pub(super) fn prefetch_listings(root: &Path) -> Prefetched {
    let mut out = Prefetched::new();
    let mut list = |rel: String, descend: &dyn Fn(&str, std::fs::FileType) -> bool| {
        let listing = list_dir(root, &rel);
        let below: Vec<String> = listing
            .entries
            .iter()
            .flatten()
            .filter(|(name, ft)| descend(name, *ft))
            .map(|(name, _)| Checker::join(&rel, name))
            .collect();
        out.insert(rel, listing);
        below
    };
    let dir = |name: &str, ft: std::fs::FileType| !L::is_temp_name(name) && ft.is_dir();
    for kind in list(MANIFESTS_DIR.to_owned(), &dir) {
        for shard in list(kind, &dir) {
            list(shard, &|_, _| false);
        }
    }
    let shard = |name: &str, ft: std::fs::FileType| dir(name, ft) && L::is_object_shard(name);
    for shard in list(L::OBJECTS_DIR.to_owned(), &shard) {
        list(shard, &|_, _| false);
    }
    out
}

impl<'a> Checker<'a> {
    /// Lists the directory `rel` ([`list_dir`], or the listing made ahead of time) and reports
    /// its problems.
    pub(super) fn read_dir(&mut self, rel: &str) -> Option<Vec<(String, std::fs::FileType)>> {
        let listing = match self.prefetched.remove(rel) {
            Some(listing) => listing,
            None => list_dir(self.root, rel),
        };
        self.take_listing(listing)
    }

    /// Reports the problems of a listing (as [`Checker::read_dir`] does) and returns its
    /// entries.
    pub(super) fn take_listing(
        &mut self,
        listing: Listing,
    ) -> Option<Vec<(String, std::fs::FileType)>> {
        for (path, message) in listing.problems {
            self.fail("files", path, message);
        }
        listing.entries
    }

    pub(super) fn join(dir: &str, name: &str) -> String {
        if dir == "." {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    }

    /// Temporary files directly in `dir`.
    pub(super) fn walk_temp(&mut self, dir: &str) {
        for (name, _) in self.read_dir(dir).unwrap_or_default() {
            if L::is_temp_name(&name) {
                self.notes.add(NoteKind::TempFile, Self::join(dir, &name));
            }
        }
    }

    pub(super) fn walk_manifests(&mut self) {
        let prefix = self.archive.prefix().as_str().to_owned();
        let mut orphans: BTreeMap<RecordId, Vec<String>> = BTreeMap::new();
        let Some(kinds) = self.read_dir(MANIFESTS_DIR) else {
            if !self.ids.is_empty() {
                self.fail("files", MANIFESTS_DIR, "missing");
            }
            return;
        };
        for (kname, kt) in kinds {
            let krel = format!("{MANIFESTS_DIR}/{kname}");
            if L::is_temp_name(&kname) {
                self.notes.add(NoteKind::TempFile, krel);
                continue;
            }
            if krel == RETIRED_IDS && kt.is_file() {
                if let Err(e) = read_retired(self.archive.root(), self.archive.prefix()) {
                    self.fail("files", RETIRED_IDS, e.to_string());
                }
                continue;
            }
            if !kt.is_dir() {
                self.notes.add(NoteKind::Unexpected, krel);
                continue;
            }
            for (dname, dt) in self.read_dir(&krel).unwrap_or_default() {
                let drel = format!("{krel}/{dname}");
                if L::is_temp_name(&dname) {
                    self.notes.add(NoteKind::TempFile, drel);
                    continue;
                }
                if !dt.is_dir() {
                    self.notes.add(NoteKind::Unexpected, drel);
                    continue;
                }
                for (name, _) in self.read_dir(&drel).unwrap_or_default() {
                    let rel = format!("{drel}/{name}");
                    if L::is_temp_name(&name) {
                        self.notes.add(NoteKind::TempFile, rel);
                        continue;
                    }
                    let id = L::parse_manifest_path(&rel)
                        .map(|file| file.id().clone())
                        .filter(|id| id.prefix() == prefix);
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
                && let Orphan::Foreign(why) = judge_orphan(self.root, &id, public)
            {
                self.fail(
                    "signature",
                    L::manifest_path(&id),
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

    pub(super) fn walk_log(&mut self) {
        self.walk_temp(L::LOG_DIR);
        let sizes = std::mem::take(&mut self.catalog_checkpoints);
        let tokens: HashSet<String> = self
            .timestamp_files
            .iter()
            .map(|(_, _, rel)| rel.clone())
            .collect();
        for (name, _) in self.read_dir(CHECKPOINT_DIR).unwrap_or_default() {
            let rel = format!("{CHECKPOINT_DIR}/{name}");
            if L::is_temp_name(&name) {
                self.notes.add(NoteKind::TempFile, rel);
                continue;
            }
            match L::parse_checkpoint_dir_name(&name) {
                Some(CheckpointDirFile::Checkpoint(size)) => {
                    if !sizes.contains(&size) {
                        self.orphan_checkpoint(rel, size);
                    }
                }
                Some(CheckpointDirFile::Token(_)) => {
                    if !tokens.contains(&rel) {
                        self.notes.add(NoteKind::OrphanToken, rel);
                    }
                }
                // Cosignatures are files only (no catalog rows): `witness list` and bundles
                // read them; a damaged one fails the verifier's check, not the archive.
                Some(CheckpointDirFile::Cosignature(..)) => {}
                // A token over a checkpoint whose TSA part is no TSA name is still noted as a
                // token (repair keeps it: "not a token file name").
                None if is_misnamed_token(&name) => {
                    if !tokens.contains(&rel) {
                        self.notes.add(NoteKind::OrphanToken, rel);
                    }
                }
                _ => self.notes.add(NoteKind::Unexpected, rel),
            }
        }
    }
}

/// Whether `name` is a checkpoint file's name followed by `.<anything>.tsr`: the shape of a
/// token file name whose TSA part [`L::parse_checkpoint_dir_name`] refuses.
fn is_misnamed_token(name: &str) -> bool {
    let checkpoint_len = L::checkpoint_file_name(0).len();
    let is_checkpoint = |n: &str| {
        matches!(
            L::parse_checkpoint_dir_name(n),
            Some(CheckpointDirFile::Checkpoint(_))
        )
    };
    name.get(..checkpoint_len).is_some_and(is_checkpoint)
        && name[checkpoint_len..].starts_with('.')
        && name.ends_with(".tsr")
}
