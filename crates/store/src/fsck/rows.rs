//! Catalog rows read leniently: [`Cols`] reads columns without trusting their types (a wrong
//! type is noted, never an error), the record tables' queries and row types, and the
//! [`Checker`]'s row iterators.
//!
//! Not for judging the rows: [`super::records`] compares them with the manifests.

use exhibit_core::{Blake3Digest, Sha256Digest};
use rusqlite::types::ValueRef;

use super::Checker;
use crate::Archive;

/// Reads columns of a row without trusting their types: a wrong type is noted, never an error.
pub(super) struct Cols<'r, 's> {
    pub(super) r: &'r rusqlite::Row<'s>,
    pub(super) bad: Vec<String>,
}

impl<'r, 's> Cols<'r, 's> {
    pub(super) fn new(r: &'r rusqlite::Row<'s>) -> Self {
        Cols { r, bad: Vec::new() }
    }

    pub(super) fn value(&mut self, i: usize, name: &str) -> Option<ValueRef<'r>> {
        match self.r.get_ref(i) {
            Ok(ValueRef::Null) => None,
            Ok(v) => Some(v),
            Err(e) => {
                self.bad.push(format!("{name}: {e}"));
                None
            }
        }
    }

    pub(super) fn int(&mut self, i: usize, name: &str) -> Option<i64> {
        match self.value(i, name)? {
            ValueRef::Integer(n) => Some(n),
            v => {
                self.bad
                    .push(format!("{name} is {}, not an integer", v.data_type()));
                None
            }
        }
    }

    pub(super) fn req_int(&mut self, i: usize, name: &str) -> Option<i64> {
        let v = self.int(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    pub(super) fn text(&mut self, i: usize, name: &str) -> Option<String> {
        match self.value(i, name)? {
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => Some(s.to_owned()),
                Err(_) => {
                    self.bad.push(format!("{name} is not UTF-8"));
                    None
                }
            },
            v => {
                self.bad
                    .push(format!("{name} is {}, not text", v.data_type()));
                None
            }
        }
    }

    pub(super) fn req_text(&mut self, i: usize, name: &str) -> Option<String> {
        let v = self.text(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    pub(super) fn sha(&mut self, i: usize, name: &str) -> Option<Sha256Digest> {
        let t = self.text(i, name)?;
        match t.parse() {
            Ok(d) => Some(d),
            Err(_) => {
                self.bad
                    .push(format!("{name} {t:?} is not a SHA-256 in hex"));
                None
            }
        }
    }

    pub(super) fn req_sha(&mut self, i: usize, name: &str) -> Option<Sha256Digest> {
        let v = self.sha(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    pub(super) fn blake(&mut self, i: usize, name: &str) -> Option<Blake3Digest> {
        let t = self.text(i, name)?;
        match t.parse() {
            Ok(d) => Some(d),
            Err(_) => {
                self.bad
                    .push(format!("{name} {t:?} is not a BLAKE3 in hex"));
                None
            }
        }
    }

    pub(super) fn blob(&mut self, i: usize, name: &str) -> Option<Vec<u8>> {
        match self.value(i, name)? {
            ValueRef::Blob(b) => Some(b.to_vec()),
            v => {
                self.bad
                    .push(format!("{name} is {}, not a blob", v.data_type()));
                None
            }
        }
    }
}

/// A catalog number as a positive record number.
pub(super) fn positive(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0)
}

pub(super) fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "null".to_owned(), T::to_string)
}

/// Appends `field: catalog X, manifest Y` when they differ.
pub(super) fn diff<T: PartialEq + std::fmt::Display>(
    out: &mut Vec<String>,
    field: &str,
    catalog: Option<T>,
    manifest: Option<T>,
) {
    if catalog != manifest {
        out.push(format!(
            "{field} is {} in the catalog but {} in the manifest",
            show(&catalog),
            show(&manifest)
        ));
    }
}

pub(super) struct CaptureCols {
    pub(super) num: u64,
    pub(super) document: Option<i64>,
    pub(super) version: Option<i64>,
    pub(super) ok: Option<i64>,
    pub(super) captured_at: Option<String>,
    pub(super) method: Option<String>,
    pub(super) status: Option<i64>,
    pub(super) sha256: Option<Sha256Digest>,
    pub(super) blake3: Option<Blake3Digest>,
    pub(super) size: Option<i64>,
    pub(super) media_type: Option<String>,
    pub(super) text_sha256: Option<Sha256Digest>,
    pub(super) text_blake3: Option<Blake3Digest>,
    pub(super) text_size: Option<i64>,
    pub(super) manifest_sha256: Option<Sha256Digest>,
    pub(super) manifest_path: Option<String>,
    pub(super) log_index: Option<i64>,
    pub(super) doc_url: Option<String>,
    pub(super) doc_last_capture: Option<i64>,
    pub(super) doc_current_version: Option<i64>,
    pub(super) v_document: Option<i64>,
    pub(super) v_opened_by: Option<i64>,
    pub(super) v_opened_sha: Option<Sha256Digest>,
    pub(super) bad: Vec<String>,
}

pub(super) const CAPTURES_SQL: &str = "SELECT c.num, c.document, c.version, c.ok, c.captured_at, c.method, \
     c.status, c.sha256, c.blake3, c.size, c.media_type, c.text_sha256, c.text_blake3, \
     c.text_size, c.manifest_sha256, c.manifest_path, c.log_index, \
     d.url, d.last_capture, d.current_version, v.document, v.opened_by, v.opened_manifest_sha256 \
     FROM captures c LEFT JOIN documents d ON d.num = c.document \
     LEFT JOIN versions v ON v.num = c.version ORDER BY c.document, c.num";

pub(super) fn read_capture(r: &rusqlite::Row<'_>) -> Option<CaptureCols> {
    let mut c = Cols::new(r);
    let num = positive(c.int(0, "num"))?;
    Some(CaptureCols {
        num,
        document: c.req_int(1, "document"),
        version: c.int(2, "version"),
        ok: c.req_int(3, "ok"),
        captured_at: c.req_text(4, "captured_at"),
        method: c.req_text(5, "method"),
        status: c.int(6, "status"),
        sha256: c.sha(7, "sha256"),
        blake3: c.blake(8, "blake3"),
        size: c.int(9, "size"),
        media_type: c.text(10, "media_type"),
        text_sha256: c.sha(11, "text_sha256"),
        text_blake3: c.blake(12, "text_blake3"),
        text_size: c.int(13, "text_size"),
        manifest_sha256: c.req_sha(14, "manifest_sha256"),
        manifest_path: c.req_text(15, "manifest_path"),
        log_index: c.req_int(16, "log_index"),
        doc_url: c.text(17, "documents.url"),
        doc_last_capture: c.int(18, "documents.last_capture"),
        doc_current_version: c.int(19, "documents.current_version"),
        v_document: c.int(20, "versions.document"),
        v_opened_by: c.int(21, "versions.opened_by"),
        v_opened_sha: c.sha(22, "versions.opened_manifest_sha256"),
        bad: c.bad,
    })
}

pub(super) struct ProvisionCols {
    pub(super) num: u64,
    pub(super) document: Option<i64>,
    pub(super) version: Option<i64>,
    pub(super) capture: Option<i64>,
    pub(super) created_at: Option<String>,
    pub(super) quote_sha256: Option<Sha256Digest>,
    pub(super) text_sha256: Option<Sha256Digest>,
    pub(super) char_start: Option<i64>,
    pub(super) char_end: Option<i64>,
    pub(super) manifest_sha256: Option<Sha256Digest>,
    pub(super) manifest_path: Option<String>,
    pub(super) log_index: Option<i64>,
    pub(super) c_num: Option<i64>,
    pub(super) c_manifest_sha256: Option<Sha256Digest>,
    pub(super) c_version: Option<i64>,
    pub(super) c_text_sha256: Option<Sha256Digest>,
    pub(super) c_text_size: Option<i64>,
    pub(super) c_document: Option<i64>,
    pub(super) v_opened_by: Option<i64>,
    pub(super) bad: Vec<String>,
}

pub(super) const PROVISIONS_SQL: &str = "SELECT p.num, p.document, p.version, p.capture, p.created_at, \
     p.quote_sha256, p.text_sha256, p.char_start, p.char_end, p.manifest_sha256, \
     p.manifest_path, p.log_index, c.num, c.manifest_sha256, c.version, c.text_sha256, \
     c.text_size, c.document, v.opened_by \
     FROM provisions p LEFT JOIN captures c ON c.num = p.capture \
     LEFT JOIN versions v ON v.num = p.version ORDER BY p.num";

pub(super) fn read_provision(r: &rusqlite::Row<'_>) -> Option<ProvisionCols> {
    let mut c = Cols::new(r);
    let num = positive(c.int(0, "num"))?;
    Some(ProvisionCols {
        num,
        document: c.req_int(1, "document"),
        version: c.req_int(2, "version"),
        capture: c.req_int(3, "capture"),
        created_at: c.req_text(4, "created_at"),
        quote_sha256: c.req_sha(5, "quote_sha256"),
        text_sha256: c.req_sha(6, "text_sha256"),
        char_start: c.req_int(7, "char_start"),
        char_end: c.req_int(8, "char_end"),
        manifest_sha256: c.req_sha(9, "manifest_sha256"),
        manifest_path: c.req_text(10, "manifest_path"),
        log_index: c.req_int(11, "log_index"),
        c_num: c.int(12, "captures.num"),
        c_manifest_sha256: c.sha(13, "captures.manifest_sha256"),
        c_version: c.int(14, "captures.version"),
        c_text_sha256: c.sha(15, "captures.text_sha256"),
        c_text_size: c.int(16, "captures.text_size"),
        c_document: c.int(17, "captures.document"),
        v_opened_by: c.int(18, "versions.opened_by"),
        bad: c.bad,
    })
}

pub(super) struct ReextractionCols {
    pub(super) num: u64,
    pub(super) document: Option<i64>,
    pub(super) created_at: Option<String>,
    pub(super) manifest_sha256: Option<Sha256Digest>,
    pub(super) manifest_path: Option<String>,
    pub(super) log_index: Option<i64>,
    pub(super) bad: Vec<String>,
}

pub(super) const REEXTRACTIONS_SQL: &str = "SELECT num, document, created_at, manifest_sha256, \
     manifest_path, log_index FROM reextractions ORDER BY num";

pub(super) fn read_reextraction(r: &rusqlite::Row<'_>) -> Option<ReextractionCols> {
    let mut c = Cols::new(r);
    let num = positive(c.int(0, "num"))?;
    Some(ReextractionCols {
        num,
        document: c.req_int(1, "document"),
        created_at: c.req_text(2, "created_at"),
        manifest_sha256: c.req_sha(3, "manifest_sha256"),
        manifest_path: c.req_text(4, "manifest_path"),
        log_index: c.req_int(5, "log_index"),
        bad: c.bad,
    })
}

/// What every record row (capture, provision, re-extraction) has for the shared checks.
pub(super) trait RecordRow {
    fn num(&self) -> u64;
    /// The catalog's `manifest_sha256`, `manifest_path` and `log_index`.
    fn job_fields(&self) -> (Option<Sha256Digest>, Option<String>, Option<i64>);
    /// What could not be read from the row.
    fn bad(&self) -> &[String];
}

macro_rules! record_row {
    ($t:ty) => {
        impl RecordRow for $t {
            fn num(&self) -> u64 {
                self.num
            }
            fn job_fields(&self) -> (Option<Sha256Digest>, Option<String>, Option<i64>) {
                (
                    self.manifest_sha256,
                    self.manifest_path.clone(),
                    self.log_index,
                )
            }
            fn bad(&self) -> &[String] {
                &self.bad
            }
        }
    };
}
record_row!(CaptureCols);
record_row!(ProvisionCols);
record_row!(ReextractionCols);

impl<'a> Checker<'a> {
    /// Iterates a catalog query, handing rows to `batch` in groups of `size`.
    pub(super) fn rows<T>(
        &mut self,
        sql: &str,
        table: &str,
        read: fn(&rusqlite::Row<'_>) -> Option<T>,
        size: usize,
        mut batch: impl FnMut(&mut Self, Vec<T>),
    ) {
        let archive: &'a Archive = self.archive;
        let mut stmt = match archive.conn.prepare(sql) {
            Ok(s) => s,
            Err(e) => {
                self.records_complete = false;
                self.catalog(format!("cannot read {table}: {e}"));
                return;
            }
        };
        let mut rows = match stmt.query([]) {
            Ok(r) => r,
            Err(e) => {
                self.records_complete = false;
                self.catalog(format!("cannot read {table}: {e}"));
                return;
            }
        };
        let mut pending = Vec::with_capacity(size);
        loop {
            match rows.next() {
                Ok(Some(r)) => match read(r) {
                    Some(row) => {
                        pending.push(row);
                        if pending.len() == size {
                            batch(self, std::mem::take(&mut pending));
                        }
                    }
                    None => self.catalog(format!(
                        "{table}: a row whose num is not a positive integer"
                    )),
                },
                Ok(None) => break,
                Err(e) => {
                    self.records_complete = false;
                    self.catalog(format!("reading {table} failed: {e}"));
                    break;
                }
            }
        }
        if !pending.is_empty() {
            batch(self, pending);
        }
    }

    /// Every row of `sql`, read with `read` (which gets the row's columns and returns what
    /// it needs, with the columns' problems); a failed query is a catalog problem and no rows.
    pub(super) fn table_rows<T>(
        &mut self,
        sql: &str,
        what: &str,
        read: impl Fn(&mut Cols<'_, '_>) -> T,
    ) -> Vec<T> {
        let archive: &'a Archive = self.archive;
        let rows: rusqlite::Result<Vec<T>> = archive
            .conn
            .prepare(sql)
            .and_then(|mut s| s.query_map([], |r| Ok(read(&mut Cols::new(r))))?.collect());
        rows.unwrap_or_else(|e| {
            self.catalog(format!("cannot read {what}: {e}"));
            Vec::new()
        })
    }
}
