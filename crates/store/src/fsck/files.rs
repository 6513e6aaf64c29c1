//! The files on disk: listing the archive's directories (FIFOs, sockets and devices are
//! problems, never opened), temporary files, manifests no record has (orphans, or a problem
//! when no crash can have left them) and the files of `log/checkpoints/`.
//!
//! Not for `objects/`, which [`super::objects`] lists with what references it.

use std::collections::{BTreeMap, HashSet};
use std::io;

use exhibit_core::{RecordId, RecordKind};

use super::{Checker, NoteKind};
use crate::archive::manifest_rel_path;
use crate::fsutil;
use crate::log::CHECKPOINT_DIR;

impl<'a> Checker<'a> {
    pub(super) fn read_dir(&mut self, rel: &str) -> Option<Vec<(String, std::fs::FileType)>> {
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

    pub(super) fn is_temp(name: &str) -> bool {
        name.starts_with(".tmp-") || name.starts_with(".exhibit-")
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
            if Self::is_temp(&name) {
                self.notes.add(NoteKind::TempFile, Self::join(dir, &name));
            }
        }
    }

    pub(super) fn walk_manifests(&mut self) {
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

    pub(super) fn walk_log(&mut self) {
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
}
