//! Signed checkpoints, RFC 3161 tokens and witness cosignatures: the catalog's rows against
//! their files and the log, the note signatures (`--full`), checkpoint files the catalog does
//! not list, the tokens against what they stamp (`--full`, through the caller's
//! [`super::TokenCheck`]), and each cosignature by a configured witness against its checkpoint.
//!
//! Not for the leaves and nodes of the log ([`super::log`]).

use std::io;
use std::path::Path;

use exhibit_core::checkpoint::{Checkpoint, split_note};
use exhibit_core::merkle::Hash;

use super::load::read_small;
use super::{Checker, NoteKind, hex, show};
use crate::Archive;
use crate::layout::{self as L, LATEST_CHECKPOINT};
use crate::timestamps::MAX_TOKEN_BYTES;

impl<'a> Checker<'a> {
    pub(super) fn checkpoints(&mut self, latest_file: Option<Result<Vec<u8>, String>>) {
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
            let rel = L::checkpoint_path(size);
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

    pub(super) fn check_note(&mut self, rel: &str, note: &str, origin: &str) {
        let Some(public) = &self.public else { return };
        if let Err(e) = public.verify_checkpoint(note, origin) {
            self.fail("checkpoint", rel, e);
        }
    }

    pub(super) fn timestamps(&mut self) {
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
            let rel = L::token_path(size, &tsa);
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

    /// Each cosignature file (FORMAT §12.6): on a checkpoint the archive signed, and, when its
    /// witness is configured, a `cosignature/v1` by the witness's key over that checkpoint. A
    /// cosignature of a witness no longer configured is kept and not judged.
    pub(super) fn cosignatures(&mut self) {
        let held = match self.archive.cosignatures() {
            Ok(h) => h,
            Err(e) => {
                self.fail("cosignature", L::CHECKPOINT_DIR, e.to_string());
                return;
            }
        };
        for c in held {
            let rel = L::cosignature_path(c.size, &c.witness);
            let Some(w) = self
                .archive
                .config()
                .witness
                .iter()
                .find(|w| w.name == c.witness)
                .cloned()
            else {
                continue;
            };
            let note = match read_small(&self.root.join(L::checkpoint_path(c.size)), 1 << 20) {
                Ok(n) => String::from_utf8_lossy(&n).into_owned(),
                Err(_) => {
                    self.fail(
                        "cosignature",
                        rel,
                        format!("no signed checkpoint of size {}", c.size),
                    );
                    continue;
                }
            };
            let verdict = w.key().and_then(|key| {
                exhibit_sign::cosignature::verify_cosignature_line(&note, &c.line, &key)
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = verdict {
                self.fail(
                    "cosignature",
                    rel,
                    format!(
                        "not a cosignature by witness {} on its checkpoint: {e}",
                        w.name
                    ),
                );
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
    pub(super) fn orphan_checkpoint(&mut self, rel: String, size: u64) {
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
    pub(super) fn recorded_since(&self, size: u64) -> bool {
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

    pub(super) fn full_tokens(&mut self) {
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
            let cp_rel = L::checkpoint_path(*size);
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
