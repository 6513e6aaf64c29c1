//! The report model of fsck: [`Problem`]s, [`Note`]s, and how a check collects them
//! ([`Findings`] caps the problems listed per check; [`Notes`] groups crash leftovers by kind).
//!
//! Not for deciding what is a problem: the checks in the sibling modules do that.

use std::collections::HashMap;

use serde::Serialize;

use super::MAX_LISTED_PER_CHECK;

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
    /// The first [`super::NOTE_PATHS`] of them (all with [`super::FsckOptions::all_paths`]), relative to the
    /// archive root.
    pub paths: Vec<String>,
}

#[derive(Default)]
pub(super) struct Findings {
    pub(super) problems: Vec<Problem>,
    pub(super) per_check: HashMap<&'static str, usize>,
    pub(super) unlisted: u64,
}

impl Findings {
    pub(super) fn add(&mut self, p: Problem) {
        let n = self.per_check.entry(p.check).or_default();
        *n += 1;
        if *n > MAX_LISTED_PER_CHECK {
            self.unlisted += 1;
        } else {
            self.problems.push(p);
        }
    }
}

pub(super) fn problem(
    check: &'static str,
    path: impl Into<String>,
    message: impl Into<String>,
) -> Problem {
    Problem {
        path: path.into(),
        check,
        message: message.into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NoteKind {
    OrphanManifest,
    OrphanObject,
    OrphanCheckpoint,
    OrphanToken,
    TempFile,
    UncommittedLeaves,
    Unexpected,
}

impl NoteKind {
    pub(super) fn kind(self) -> &'static str {
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

    pub(super) fn what(self) -> &'static str {
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

pub(super) struct Notes {
    pub(super) list: Vec<(NoteKind, Note)>,
    /// Paths listed per note.
    pub(super) limit: usize,
}

impl Notes {
    pub(super) fn add(&mut self, kind: NoteKind, path: impl Into<String>) {
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

    pub(super) fn into_vec(self) -> Vec<Note> {
        self.list.into_iter().map(|(_, n)| n).collect()
    }
}
