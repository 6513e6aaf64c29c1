//! The records: every capture, provision and re-extraction row against its signed manifest,
//! and the chain rules between them (FORMAT §9): previous capture, versions, the capture a
//! provision quotes, the captures a re-extraction lists.
//!
//! Not for reading the manifests ([`super::load`]) or the objects they name
//! ([`super::objects`], which gets them from here).

use exhibit_core::manifest::{CaptureManifest, Change};
use exhibit_core::{RecordId, RecordKind, Sha256Digest};

use super::load::{Job, Loaded, Parsed};
use super::objects::ObjRef;
use super::report::Problem;
use super::rows::{
    CAPTURES_SQL, CaptureCols, Cols, PROVISIONS_SQL, ProvisionCols, REEXTRACTIONS_SQL, RecordRow,
    ReextractionCols, diff, positive, read_capture, read_provision, read_reextraction,
};
use super::{BATCH, BATCH_REEXTRACTIONS, Checker, Phase, Progress, show};
use crate::Archive;

pub(super) struct DocState {
    pub(super) num: i64,
    pub(super) known: bool,
    pub(super) last_capture: Option<i64>,
    pub(super) current_version: Option<i64>,
    pub(super) last_num: u64,
    /// The previous capture: number and manifest SHA-256 (when the catalog has it).
    pub(super) prev: Option<(u64, Option<Sha256Digest>)>,
    /// The current version: number, opening capture, its manifest SHA-256.
    pub(super) cur: Option<(u64, u64, Option<Sha256Digest>)>,
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
        let docnum = row.document.unwrap_or(0);
        if doc.as_ref().is_none_or(|d| d.num != docnum) {
            if let Some(d) = doc.take() {
                self.end_document(d);
            }
            let known = row.doc_url.is_some();
            if !known && row.document.is_some() {
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
                prev: None,
                cur: None,
            });
        }
        let Some(st) = doc.as_mut() else { return };
        let sha = row.manifest_sha256.or(l.sha);
        match &l.parsed {
            Some(Parsed::Capture(m)) => {
                self.capture_row_vs_manifest(&row, m, &id);
                self.capture_chain(st, &row, m, &id, &l.rel, sha);
                if let Some(c) = &m.content {
                    self.objects.push(ObjRef {
                        sha: c.sha256,
                        blake3: Some(c.blake3),
                        size: Some(c.size),
                        by: (RecordKind::Capture, num),
                        role: "content",
                    });
                }
                if let Some(t) = &m.text {
                    self.objects.push(ObjRef {
                        sha: t.sha256,
                        blake3: Some(t.blake3),
                        size: Some(t.size),
                        by: (RecordKind::Capture, num),
                        role: "text",
                    });
                }
            }
            _ => {
                // The manifest could not be used: follow the catalog so that one damaged
                // manifest does not break the checks of the captures after it.
                if row.ok == Some(1)
                    && let Some(v) = positive(row.version)
                {
                    if positive(row.v_opened_by) == Some(num) {
                        st.cur = Some((v, num, sha));
                    } else if st.cur.is_none_or(|c| c.0 != v) {
                        st.cur = positive(row.v_opened_by).map(|o| (v, o, row.v_opened_sha));
                    }
                }
                if let Some(s) = row.sha256 {
                    self.objects.push(ObjRef {
                        sha: s,
                        blake3: row.blake3,
                        size: row.size.and_then(|n| u64::try_from(n).ok()),
                        by: (RecordKind::Capture, num),
                        role: "content",
                    });
                }
                if let Some(s) = row.text_sha256 {
                    self.objects.push(ObjRef {
                        sha: s,
                        blake3: row.text_blake3,
                        size: row.text_size.and_then(|n| u64::try_from(n).ok()),
                        by: (RecordKind::Capture, num),
                        role: "text",
                    });
                }
            }
        }
        st.last_num = num;
        st.prev = Some((num, sha));
    }

    pub(super) fn capture_row_vs_manifest(
        &mut self,
        row: &CaptureCols,
        m: &CaptureManifest,
        id: &RecordId,
    ) {
        let mut d = Vec::new();
        let n = |v: u64| Some(v as i64);
        diff(&mut d, "document", row.document, n(m.document.id.number()));
        diff(
            &mut d,
            "document url",
            row.doc_url.as_deref(),
            Some(m.document.url.as_str()),
        );
        diff(&mut d, "ok", row.ok, Some(i64::from(m.is_success())));
        diff(
            &mut d,
            "captured_at",
            row.captured_at.as_deref(),
            Some(m.captured_at.as_str()),
        );
        diff(
            &mut d,
            "method",
            row.method.as_deref(),
            Some(m.method.as_str()),
        );
        diff(
            &mut d,
            "status",
            row.status,
            m.http.as_ref().and_then(|h| h.status).map(i64::from),
        );
        let c = m.content.as_ref();
        diff(&mut d, "sha256", row.sha256, c.map(|c| c.sha256));
        diff(&mut d, "blake3", row.blake3, c.map(|c| c.blake3));
        diff(&mut d, "size", row.size, c.map(|c| c.size as i64));
        diff(
            &mut d,
            "media_type",
            row.media_type.as_deref(),
            c.map(|c| c.media_type.as_str()),
        );
        let t = m.text.as_ref();
        diff(&mut d, "text_sha256", row.text_sha256, t.map(|t| t.sha256));
        diff(&mut d, "text_blake3", row.text_blake3, t.map(|t| t.blake3));
        diff(&mut d, "text_size", row.text_size, t.map(|t| t.size as i64));
        diff(
            &mut d,
            "version",
            row.version,
            m.version.as_ref().map(|v| v.id.number() as i64),
        );
        if !d.is_empty() {
            self.catalog(format!(
                "captures row {id} differs from its manifest: {}",
                d.join("; ")
            ));
        }
    }

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
        let mut wrong = Vec::new();
        match (&m.previous_capture, st.prev) {
            (None, None) => {}
            (Some(l), Some((n, s))) => {
                let want = self.id(RecordKind::Capture, n);
                if l.id != want {
                    wrong.push(format!(
                        "previous_capture is {}, but the document's previous capture is {want}",
                        l.id
                    ));
                } else if let Some(s) = s
                    && l.manifest_sha256 != s
                {
                    wrong.push(format!(
                        "previous_capture pins {want} as {}, but its manifest is {s}",
                        l.manifest_sha256
                    ));
                }
            }
            (Some(l), None) => wrong.push(format!(
                "previous_capture is {}, but the catalog has no earlier capture of {}",
                l.id, m.document.id
            )),
            (None, Some((n, _))) => wrong.push(format!(
                "previous_capture is null, but {} is an earlier capture of {}",
                self.id(RecordKind::Capture, n),
                m.document.id
            )),
        }
        if let Some(v) = &m.version {
            match v.change {
                Change::New => {
                    let want = st
                        .cur
                        .map(|(vn, _, osha)| (self.id(RecordKind::Version, vn), osha));
                    match (&v.previous, want) {
                        (None, None) => {}
                        (Some(l), Some((vid, osha))) => {
                            if l.id != vid {
                                wrong.push(format!(
                                    "version.previous is {}, but the document's version before {} is {vid}",
                                    l.id, v.id
                                ));
                            } else if let Some(o) = osha
                                && l.manifest_sha256 != o
                            {
                                wrong.push(format!(
                                    "version.previous pins {vid} as {}, but the manifest that opened it is {o}",
                                    l.manifest_sha256
                                ));
                            }
                        }
                        (Some(l), None) => wrong.push(format!(
                            "version.previous is {}, but {} is the document's first version",
                            l.id, v.id
                        )),
                        (None, Some((vid, _))) => wrong.push(format!(
                            "version.previous is null, but the document's current version was {vid}"
                        )),
                    }
                    let mut vd = Vec::new();
                    diff(&mut vd, "opened_by", row.v_opened_by, Some(num as i64));
                    diff(&mut vd, "opened_manifest_sha256", row.v_opened_sha, sha);
                    diff(&mut vd, "document", row.v_document, row.document);
                    if !vd.is_empty() {
                        self.catalog(format!(
                            "versions row {} (opened by {id}): {}",
                            v.id,
                            vd.join("; ")
                        ));
                    }
                    st.cur = Some((v.id.number(), num, sha));
                }
                Change::Unchanged => match st.cur {
                    None => wrong.push(format!(
                        "confirms {} unchanged, but the document has no earlier version",
                        v.id
                    )),
                    Some((vn, opener, osha)) => {
                        let vid = self.id(RecordKind::Version, vn);
                        let oid = self.id(RecordKind::Capture, opener);
                        if v.id != vid {
                            wrong.push(format!(
                                "confirms {} unchanged, but the document's current version is {vid}",
                                v.id
                            ));
                        } else if let Some(l) = &v.opened_by {
                            if l.id != oid {
                                wrong.push(format!(
                                    "version.opened_by is {}, but {vid} was opened by {oid}",
                                    l.id
                                ));
                            } else if let Some(o) = osha
                                && l.manifest_sha256 != o
                            {
                                wrong.push(format!(
                                    "version.opened_by pins {oid} as {}, but its manifest is {o}",
                                    l.manifest_sha256
                                ));
                            }
                        }
                    }
                },
            }
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
        let current = st.cur.map(|c| c.0);
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
            if let Some(s) = row.text_sha256 {
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
        diff(&mut d, "document", row.document, n(m.document.id.number()));
        diff(&mut d, "version", row.version, n(m.version.number()));
        diff(&mut d, "capture", row.capture, n(m.capture.id.number()));
        diff(
            &mut d,
            "created_at",
            row.created_at.as_deref(),
            Some(m.created_at.as_str()),
        );
        diff(
            &mut d,
            "quote_sha256",
            row.quote_sha256,
            Some(m.quote.sha256),
        );
        diff(&mut d, "text_sha256", row.text_sha256, Some(m.text.sha256));
        diff(&mut d, "char_start", row.char_start, n(m.quote.char_start));
        diff(&mut d, "char_end", row.char_end, n(m.quote.char_end));
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
            if let Some(s) = row.c_manifest_sha256
                && s != m.capture.manifest_sha256
            {
                wrong.push(format!(
                    "pins {cid} as {}, but its manifest is {s}",
                    m.capture.manifest_sha256
                ));
            }
            if positive(row.c_version) != Some(m.version.number()) {
                wrong.push(format!(
                    "quotes {} but {cid} belongs to version {}",
                    m.version,
                    show(&row.c_version)
                ));
            } else if positive(row.v_opened_by) != Some(cid.number()) {
                wrong.push(format!(
                    "names {cid} as the capture that opened {}, but {} opened it",
                    m.version,
                    show(&row.v_opened_by)
                ));
            }
            if row.c_text_sha256 != Some(m.text.sha256)
                || row.c_text_size != Some(m.text.size as i64)
            {
                wrong.push(format!(
                    "quotes the text {} ({} bytes), but {cid}'s text is {} ({} bytes)",
                    m.text.sha256,
                    m.text.size,
                    show(&row.c_text_sha256),
                    show(&row.c_text_size)
                ));
            }
            if positive(row.c_document) != Some(m.document.id.number()) {
                wrong.push(format!(
                    "names {}, but {cid} is a capture of document {}",
                    m.document.id,
                    show(&row.c_document)
                ));
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
            row.document,
            Some(m.document.id.number() as i64),
        );
        diff(
            &mut d,
            "created_at",
            row.created_at.as_deref(),
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
