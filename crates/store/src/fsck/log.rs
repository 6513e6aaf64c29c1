//! The log: `log/leaves` against the catalog's log size and `log_nodes`, which record owns
//! each leaf, and — with `--full` — the tree recomputed from the leaves alone.
//!
//! Not for the signed checkpoints and tokens ([`super::checkpoints`]), though the full
//! recomputation checks their roots.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use exhibit_core::RecordKind;
use exhibit_core::merkle::{self, Frontier, Hash};

use super::{BUF, Checker, NoteKind, hex, show};
use crate::Archive;
use crate::catalog::decode::Cols;
use crate::fsutil::{self, Links};
use crate::layout::LEAVES_FILE;
use crate::log::SqlNodes;

/// Sequential reads of `log/leaves` through a 256 KiB window.
pub(super) struct LeafWindow<'a> {
    pub(super) file: &'a File,
    pub(super) start: u64,
    pub(super) buf: Vec<u8>,
}

impl<'a> LeafWindow<'a> {
    pub(super) fn new(file: &'a File) -> Self {
        LeafWindow {
            file,
            start: 0,
            buf: Vec::new(),
        }
    }

    pub(super) fn get(&mut self, index: u64) -> io::Result<Hash> {
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

impl<'a> Checker<'a> {
    pub(super) fn open_log(&mut self) {
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

    /// Records that the record `who` is the leaf at `index`.
    pub(super) fn own(&mut self, index: Option<i64>, who: (RecordKind, u64)) {
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

    /// Every leaf belongs to exactly one record (duplicates were reported as found).
    pub(super) fn log_ownership(&mut self) {
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
    pub(super) fn log_nodes_vs_leaves(&mut self) {
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
    pub(super) fn catalog_root(&self, size: u64) -> Result<Hash, String> {
        merkle::root(size, &SqlNodes(&self.archive.conn)).map_err(|e| e.to_string())
    }

    /// Recomputes the tree from `log/leaves` alone: its root at every signed checkpoint's size,
    /// against the checkpoints, and every complete subtree, against the catalog's `log_nodes`
    /// (read in the order the leaves complete them, so both sides stream).
    pub(super) fn full_log(&mut self) {
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
}
