//! The records: every capture, provision and re-extraction row against its signed manifest,
//! and the chain rules between them (FORMAT §9): previous capture, versions, the capture a
//! provision quotes, the captures a re-extraction lists. The chain rules and the opening-capture
//! rule have one definition each, in `exhibit_core` ([`DocumentChain`],
//! `ProvisionManifest::check_opening`); this module applies them and words their findings.
//!
//! Not for reading the manifests ([`super::load`]) or the objects they name
//! ([`super::objects`], which gets them from here).

use exhibit_core::chain::{ChainViolation, CurrentVersion, DocumentChain, Pin};
use exhibit_core::manifest::{CaptureManifest, Change, MAX_MANIFEST_BYTES};
use exhibit_core::{RecordId, RecordKind, Sha256Digest};

use super::load::{Job, Loaded, Parsed, read_small};
use super::objects::ObjRef;
use super::report::Problem;
use super::rows::{
    CAPTURES_SQL, CaptureCols, PROVISIONS_SQL, ProvisionCols, REEXTRACTIONS_SQL, RecordRow,
    ReextractionCols, diff, read_capture, read_provision, read_reextraction,
};
use super::{BATCH, BATCH_REEXTRACTIONS, Checker, Phase, Progress, show};
use crate::Archive;
use crate::catalog::decode::{Cols, positive};

/// The document whose captures are being read (they come in commit order, one document after
/// the other).
pub(super) struct DocState {
    /// Its number in the catalog.
    pub(super) num: i64,
    /// Whether the catalog has its `documents` row.
    pub(super) known: bool,
    /// Its row's `last_capture`.
    pub(super) last_capture: Option<i64>,
    /// Its row's `current_version`.
    pub(super) current_version: Option<i64>,
    /// The number of its latest capture read so far.
    pub(super) last_num: u64,
    /// Its place in its chains (FORMAT §9) after the captures read so far; a manifest hash is
    /// unknown (`None`) when neither the catalog nor the file gave one.
    pub(super) chain: DocumentChain<Option<Sha256Digest>>,
}

impl<'a> Checker<'a> {
    /// Reads a record table in batches, loads each batch's manifests (in parallel), and
    /// hands every row with its manifest to `check`.
    pub(super) fn records<T: RecordRow>(
        &mut self,
        sql: &str,
        table: &'static str,
        read: fn(&rusqlite::Row<'_>) -> Option<T>,
        size: usize,
        kind: RecordKind,
        mut check: impl FnMut(&mut Self, T, Loaded),
    ) {
        self.rows(sql, table, read, size, |c, rows| {
            let jobs: Vec<Job> = rows
                .iter()
                .map(|r| {
                    let (catalog_sha, catalog_path, log_index) = r.job_fields();
                    Job {
                        id: c.id(kind, r.num()),
                        table,
                        catalog_sha,
                        catalog_path,
                        log_index,
                    }
                })
                .collect();
            let loaded = c.load_all(&jobs);
            let n = rows.len() as u64;
            for (row, l) in rows.into_iter().zip(loaded) {
                check(c, row, l);
            }
            c.progress(Progress::Advance {
                phase: Phase::Records,
                n,
            });
        });
    }

    /// The checks every record starts with; returns its id.
    pub(super) fn begin_record(
        &mut self,
        kind: RecordKind,
        table: &str,
        row: &impl RecordRow,
        problems: Vec<Problem>,
    ) -> RecordId {
        let num = row.num();
        let id = self.id(kind, num);
        for p in problems {
            self.found.add(p);
        }
        if !row.bad().is_empty() {
            self.catalog(format!("{table} row {id}: {}", row.bad().join("; ")));
        }
        self.ids.insert((kind, num));
        self.own(row.job_fields().2, (kind, num));
        id
    }

    pub(super) fn captures(&mut self) {
        let mut doc: Option<DocState> = None;
        self.records(
            CAPTURES_SQL,
            "captures",
            read_capture,
            BATCH,
            RecordKind::Capture,
            |c, row, l| c.capture(row, l, &mut doc),
        );
        if let Some(d) = doc.take() {
            self.end_document(d);
        }
    }

    pub(super) fn capture(&mut self, row: CaptureCols, l: Loaded, doc: &mut Option<DocState>) {
        let num = row.num;
        self.report.captures += 1;
        let id = self.begin_record(RecordKind::Capture, "captures", &row, l.problems);
        let docnum = row.cols.document.unwrap_or(0);
        if doc.as_ref().is_none_or(|d| d.num != docnum) {
            if let Some(d) = doc.take() {
                self.end_document(d);
            }
            let known = row.doc_url.is_some();
            if !known && row.cols.document.is_some() {
                self.catalog(format!(
                    "captures row {id}: document {docnum} is not in the catalog"
                ));
            }
            *doc = Some(DocState {
                num: docnum,
                known,
                last_capture: row.doc_last_capture,
                current_version: row.doc_current_version,
                last_num: num,
                chain: DocumentChain::default(),
            });
        }
        let Some(st) = doc.as_mut() else { return };
        let sha = row.cols.manifest_sha256.or(l.sha);
        match &l.parsed {
            Some(Parsed::Capture(m)) => {
                self.capture_row_vs_manifest(&row, m, &id);
                self.capture_chain(st, &row, m, &id, &l.rel, sha);
                for object in m.objects() {
                    self.objects.push(ObjRef {
                        sha: object.sha256,
                        blake3: Some(object.blake3),
                        size: Some(object.size),
                        by: (RecordKind::Capture, num),
                        role: object.role.name(),
                    });
                }
            }
            _ => {
                // The manifest could not be used: follow the catalog so that one damaged
                // manifest does not break the checks of the captures after it.
                if row.cols.ok == Some(1)
                    && let Some(v) = positive(row.cols.version)
                {
                    let vid = self.id(RecordKind::Version, v);
                    if positive(row.v_opened_by) == Some(num) {
                        st.chain.current = Some(CurrentVersion {
                            id: vid,
                            key: None,
                            opened_by: Pin {
                                id: id.clone(),
                                manifest_sha256: sha,
                            },
                        });
                    } else if st.chain.current.as_ref().is_none_or(|c| c.id != vid) {
                        st.chain.current = positive(row.v_opened_by).map(|o| CurrentVersion {
                            id: vid,
                            key: None,
                            opened_by: Pin {
                                id: self.id(RecordKind::Capture, o),
                                manifest_sha256: row.v_opened_sha,
                            },
                        });
                    }
                }
                if let Some(s) = row.cols.sha256 {
                    self.objects.push(ObjRef {
                        sha: s,
                        blake3: row.cols.blake3,
                        size: row.cols.size.and_then(|n| u64::try_from(n).ok()),
                        by: (RecordKind::Capture, num),
                        role: "content",
                    });
                }
                if let Some(s) = row.cols.text_sha256 {
                    self.objects.push(ObjRef {
                        sha: s,
                        blake3: row.cols.text_blake3,
                        size: row.cols.text_size.and_then(|n| u64::try_from(n).ok()),
                        by: (RecordKind::Capture, num),
                        role: "text",
                    });
                }
            }
        }
        st.last_num = num;
        // The catalog's row is the document's latest capture, also when its manifest names
        // another record (the loader reports that).
        st.chain.last_capture = Some(Pin {
            id,
            manifest_sha256: sha,
        });
    }

    pub(super) fn capture_row_vs_manifest(
        &mut self,
        row: &CaptureCols,
        m: &CaptureManifest,
        id: &RecordId,
    ) {
        let mut d = Vec::new();
        let n = |v: u64| Some(v as i64);
        diff(
            &mut d,
            "document",
            row.cols.document,
            n(m.document.id.number()),
        );
        diff(
            &mut d,
            "document url",
            row.doc_url.as_deref(),
            Some(m.document.url.as_str()),
        );
        diff(&mut d, "ok", row.cols.ok, Some(i64::from(m.is_success())));
        diff(
            &mut d,
            "captured_at",
            row.cols.captured_at.as_deref(),
            Some(m.captured_at.as_str()),
        );
        diff(
            &mut d,
            "method",
            row.cols.method.as_deref(),
            Some(m.method.as_str()),
        );
        diff(
            &mut d,
            "status",
            row.cols.status,
            m.http.as_ref().and_then(|h| h.status).map(i64::from),
        );
        let c = m.content.as_ref();
        diff(&mut d, "sha256", row.cols.sha256, c.map(|c| c.sha256));
        diff(&mut d, "blake3", row.cols.blake3, c.map(|c| c.blake3));
        diff(&mut d, "size", row.cols.size, c.map(|c| c.size as i64));
        diff(
            &mut d,
            "media_type",
            row.cols.media_type.as_deref(),
            c.map(|c| c.media_type.as_str()),
        );
        let t = m.text.as_ref();
        diff(
            &mut d,
            "text_sha256",
            row.cols.text_sha256,
            t.map(|t| t.sha256),
        );
        diff(
            &mut d,
            "text_blake3",
            row.cols.text_blake3,
            t.map(|t| t.blake3),
        );
        diff(
            &mut d,
            "text_size",
            row.cols.text_size,
            t.map(|t| t.size as i64),
        );
        diff(
            &mut d,
            "version",
            row.cols.version,
            m.version.as_ref().map(|v| v.id.number() as i64),
        );
        if !d.is_empty() {
            self.catalog(format!(
                "captures row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
    }

    /// Checks the capture manifest `m` against its document's chains (FORMAT §9) and the
    /// `versions` row of a version it opens, then moves the chains past it.
    pub(super) fn capture_chain(
        &mut self,
        st: &mut DocState,
        row: &CaptureCols,
        m: &CaptureManifest,
        id: &RecordId,
        rel: &str,
        sha: Option<Sha256Digest>,
    ) {
        let num = row.num;
        let wrong: Vec<String> = st
            .chain
            .check(m)
            .into_iter()
            .filter_map(|v| chain_message(v, m))
            .collect();
        let opens = m.version.as_ref().filter(|v| v.change == Change::New);
        if let Some(v) = opens {
            let mut vd = Vec::new();
            diff(&mut vd, "opened_by", row.v_opened_by, Some(num as i64));
            diff(&mut vd, "opened_manifest_sha256", row.v_opened_sha, sha);
            diff(&mut vd, "document", row.v_document, row.cols.document);
            if !vd.is_empty() {
                self.catalog(format!(
                    "versions row {} (opened by {id}): {}",
                    v.id,
                    vd.join("; ")
                ));
            }
        }
        st.chain.follow(m, sha, None);
        if m.id != *id
            && opens.is_some()
            && let Some(c) = &mut st.chain.current
        {
            // The manifest names another record (the loader reports that): the version it
            // opens was opened by the catalog's row, the one later links must name.
            c.id = self.id(RecordKind::Version, c.id.number());
            c.opened_by.id = id.clone();
        }
        for w in wrong {
            self.fail("chain", rel, format!("{id}: {w}"));
        }
    }

    pub(super) fn end_document(&mut self, st: DocState) {
        if !st.known {
            return;
        }
        let did = self.id(RecordKind::Document, st.num.max(0) as u64);
        if positive(st.last_capture) != Some(st.last_num) {
            self.catalog(format!(
                "documents row {did}: last_capture is {}, but its latest capture is {}",
                show(&st.last_capture),
                self.id(RecordKind::Capture, st.last_num)
            ));
        }
        let current = st.chain.current.as_ref().map(|c| c.id.number());
        if positive(st.current_version) != current {
            self.catalog(format!(
                "documents row {did}: current_version is {}, but its latest successful capture's version is {}",
                show(&st.current_version),
                current.map_or_else(
                    || "none".to_owned(),
                    |v| self.id(RecordKind::Version, v).to_string()
                )
            ));
        }
    }

    pub(super) fn provisions(&mut self) {
        self.records(
            PROVISIONS_SQL,
            "provisions",
            read_provision,
            BATCH,
            RecordKind::Provision,
            Self::provision,
        );
    }

    pub(super) fn provision(&mut self, row: ProvisionCols, l: Loaded) {
        let num = row.num;
        self.report.provisions += 1;
        let id = self.begin_record(RecordKind::Provision, "provisions", &row, l.problems);
        let Some(Parsed::Provision(m)) = &l.parsed else {
            if let Some(s) = row.cols.text_sha256 {
                self.objects.push(ObjRef {
                    sha: s,
                    blake3: None,
                    size: None,
                    by: (RecordKind::Provision, num),
                    role: "quoted text",
                });
            }
            return;
        };
        let n = |v: u64| Some(v as i64);
        let mut d = Vec::new();
        diff(
            &mut d,
            "document",
            row.cols.document,
            n(m.document.id.number()),
        );
        diff(&mut d, "version", row.cols.version, n(m.version.number()));
        diff(
            &mut d,
            "capture",
            row.cols.capture,
            n(m.capture.id.number()),
        );
        diff(
            &mut d,
            "created_at",
            row.cols.created_at.as_deref(),
            Some(m.created_at.as_str()),
        );
        diff(
            &mut d,
            "quote_sha256",
            row.cols.quote_sha256,
            Some(m.quote.sha256),
        );
        diff(
            &mut d,
            "text_sha256",
            row.cols.text_sha256,
            Some(m.text.sha256),
        );
        diff(
            &mut d,
            "char_start",
            row.cols.char_start,
            n(m.quote.char_start),
        );
        diff(&mut d, "char_end", row.cols.char_end, n(m.quote.char_end));
        if !d.is_empty() {
            self.catalog(format!(
                "provisions row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
        let cid = &m.capture.id;
        let mut wrong = Vec::new();
        if row.c_num.is_none() {
            wrong.push(format!("quotes {cid}, which is not in the catalog"));
        } else {
            // The opening-capture rule (FORMAT §3.8) is `check_opening`'s; the manifest in
            // hand is the one the catalog recorded for the capture (a file that differs from
            // it, or that cannot be read, is the capture's own problem): with it, every part
            // is checked; without it, the pin alone.
            let file = self.opening_manifest(cid);
            let in_hand = row.c_manifest_sha256.or(file.as_ref().map(|f| f.0));
            let o = match (&file, in_hand) {
                (Some((sha, Some(o))), Some(h)) if *sha == h => Some(o),
                _ => None,
            };
            let found = match (in_hand, o) {
                (Some(h), Some(o)) => m.check_opening(&h, o).err(),
                (Some(h), None) => m.check_opening_pin(&h).err(),
                (None, _) => None,
            }
            .unwrap_or_default();
            if let Some(s) = found.manifest {
                wrong.push(format!(
                    "pins {cid} as {}, but its manifest is {s}",
                    m.capture.manifest_sha256
                ));
            }
            if found.version {
                wrong.push(format!(
                    "quotes {} but {cid} belongs to version {}",
                    m.version,
                    show(&o.and_then(|o| o.version.as_ref()).map(|v| v.id.number()))
                ));
            } else if positive(row.v_opened_by) != Some(cid.number()) {
                wrong.push(format!(
                    "names {cid} as the capture that opened {}, but {} opened it",
                    m.version,
                    show(&row.v_opened_by)
                ));
            }
            if found.text {
                let text = o.and_then(|o| o.text.as_ref());
                wrong.push(format!(
                    "quotes the text {} ({} bytes), but {cid}'s text is {} ({} bytes)",
                    m.text.sha256,
                    m.text.size,
                    show(&text.map(|t| t.sha256)),
                    show(&text.map(|t| t.size))
                ));
            }
            if found.document {
                let document = o.map(|o| &o.document);
                if document.map(|d| d.id.number()) != Some(m.document.id.number()) {
                    wrong.push(format!(
                        "names {}, but {cid} is a capture of document {}",
                        m.document.id,
                        show(&document.map(|d| d.id.number()))
                    ));
                } else {
                    wrong.push(format!(
                        "names {} as {cid} does not: their URL, entity or title differ",
                        m.document.id
                    ));
                }
            }
        }
        for w in wrong {
            self.fail("chain", &l.rel, format!("{id}: {w}"));
        }
        self.objects.push(ObjRef {
            sha: m.text.sha256,
            blake3: None,
            size: Some(m.text.size),
            by: (RecordKind::Provision, num),
            role: "quoted text",
        });
    }

    /// The manifest file of the capture `cid`: the SHA-256 of its bytes and, when it parses,
    /// the manifest; `None` when it cannot be read.
    fn opening_manifest(&self, cid: &RecordId) -> Option<(Sha256Digest, Option<CaptureManifest>)> {
        let path = self.root.join(crate::layout::manifest_path(cid));
        let bytes = read_small(&path, MAX_MANIFEST_BYTES as u64).ok()?;
        Some((
            Sha256Digest::of(&bytes),
            CaptureManifest::parse(&bytes).ok(),
        ))
    }

    pub(super) fn reextractions(&mut self) {
        self.records(
            REEXTRACTIONS_SQL,
            "reextractions",
            read_reextraction,
            BATCH_REEXTRACTIONS,
            RecordKind::Reextraction,
            Self::reextraction,
        );
    }

    pub(super) fn reextraction(&mut self, row: ReextractionCols, l: Loaded) {
        let num = row.num;
        self.report.reextractions += 1;
        let id = self.begin_record(RecordKind::Reextraction, "reextractions", &row, l.problems);
        let Some(Parsed::Reextraction(m)) = &l.parsed else {
            return;
        };
        let mut d = Vec::new();
        diff(
            &mut d,
            "document",
            row.cols.document,
            Some(m.document.id.number() as i64),
        );
        diff(
            &mut d,
            "created_at",
            row.cols.created_at.as_deref(),
            Some(m.created_at.as_str()),
        );
        if !d.is_empty() {
            self.catalog(format!(
                "reextractions row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
        let archive: &'a Archive = self.archive;
        let mut stmt = match archive.conn.prepare_cached(
            "SELECT manifest_sha256, version, document, text_sha256 FROM captures WHERE num = ?1",
        ) {
            Ok(s) => s,
            Err(e) => {
                self.catalog(format!("cannot read captures: {e}"));
                return;
            }
        };
        let mut wrong = Vec::new();
        for c in &m.captures {
            let found = stmt
                .query_row([c.id.number() as i64], |r| {
                    let mut cols = Cols::new(r);
                    Ok((
                        cols.sha(0, "manifest_sha256"),
                        cols.int(1, "version"),
                        cols.int(2, "document"),
                        cols.sha(3, "text_sha256"),
                    ))
                })
                .map_err(|e| e.to_string());
            match found {
                Err(_) => wrong.push(format!("lists {}, which is not in the catalog", c.id)),
                Ok((sha, version, document, text)) => {
                    if sha != Some(c.manifest_sha256) {
                        wrong.push(format!(
                            "pins {} as {}, but its manifest is {}",
                            c.id,
                            c.manifest_sha256,
                            show(&sha)
                        ));
                    }
                    if positive(version) != Some(c.old_version.number()) {
                        wrong.push(format!(
                            "says {} was signed into {}, but it belongs to version {}",
                            c.id,
                            c.old_version,
                            show(&version)
                        ));
                    }
                    if text != c.old_text_sha256 {
                        wrong.push(format!(
                            "says {}'s text was {}, but it is {}",
                            c.id,
                            show(&c.old_text_sha256),
                            show(&text)
                        ));
                    }
                    if positive(document) != Some(m.document.id.number()) {
                        wrong.push(format!(
                            "lists {}, a capture of document {}, not of {}",
                            c.id,
                            show(&document),
                            m.document.id
                        ));
                    }
                }
            }
            if let Some(s) = c.new_text_sha256 {
                self.objects.push(ObjRef {
                    sha: s,
                    blake3: None,
                    size: None,
                    by: (RecordKind::Reextraction, num),
                    role: "re-extracted text",
                });
            }
        }
        drop(stmt);
        for w in wrong {
            self.fail("chain", &l.rel, format!("{id}: {w}"));
        }
    }
}

/// A chain violation of the capture manifest `m` in fsck's words; `None` for one fsck does not
/// report here (an `unchanged` version without `opened_by` breaks the manifest's own
/// consistency rule, which parsing it checks).
fn chain_message(v: ChainViolation<Option<Sha256Digest>>, m: &CaptureManifest) -> Option<String> {
    Some(match v {
        ChainViolation::PreviousCapture { found, expected } => match (found, expected) {
            (Some(l), Some(p)) if l.id != p.id => format!(
                "previous_capture is {}, but the document's previous capture is {}",
                l.id, p.id
            ),
            (Some(l), Some(p)) => format!(
                "previous_capture pins {} as {}, but its manifest is {}",
                p.id, l.manifest_sha256, p.manifest_sha256?
            ),
            (Some(l), None) => format!(
                "previous_capture is {}, but the catalog has no earlier capture of {}",
                l.id, m.document.id
            ),
            (None, Some(p)) => format!(
                "previous_capture is null, but {} is an earlier capture of {}",
                p.id, m.document.id
            ),
            (None, None) => return None,
        },
        ChainViolation::VersionPrevious {
            version,
            found,
            expected,
        } => match (found, expected) {
            (Some(l), Some(p)) if l.id != p.id => format!(
                "version.previous is {}, but the document's version before {version} is {}",
                l.id, p.id
            ),
            (Some(l), Some(p)) => format!(
                "version.previous pins {} as {}, but the manifest that opened it is {}",
                p.id, l.manifest_sha256, p.manifest_sha256?
            ),
            (Some(l), None) => format!(
                "version.previous is {}, but {version} is the document's first version",
                l.id
            ),
            (None, Some(p)) => format!(
                "version.previous is null, but the document's current version was {}",
                p.id
            ),
            (None, None) => return None,
        },
        ChainViolation::Unchanged {
            version,
            opened_by,
            current,
        } => match (current, opened_by) {
            (None, _) => {
                format!("confirms {version} unchanged, but the document has no earlier version")
            }
            (Some(c), _) if c.id != version => format!(
                "confirms {version} unchanged, but the document's current version is {}",
                c.id
            ),
            (Some(c), Some(l)) if l.id != c.opened_by.id => format!(
                "version.opened_by is {}, but {} was opened by {}",
                l.id, c.id, c.opened_by.id
            ),
            (Some(c), Some(l)) => format!(
                "version.opened_by pins {} as {}, but its manifest is {}",
                c.opened_by.id, l.manifest_sha256, c.opened_by.manifest_sha256?
            ),
            (Some(_), None) => return None,
        },
    })
}
