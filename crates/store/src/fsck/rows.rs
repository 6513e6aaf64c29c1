//! The record tables' queries and row types as fsck reads them, and the [`Checker`]'s row
//! iterators. Each row is a table's own columns, decoded by the catalog's one lenient decoder
//! ([`crate::catalog::decode`]: a wrong type is noted, never an error), plus the columns of the
//! rows it joins.
//!
//! Not for judging the rows: [`super::records`] compares them with the manifests.

use exhibit_core::Sha256Digest;

use super::Checker;
use crate::Archive;
use crate::catalog::decode::{CaptureColumns, ProvisionColumns, ReextractionColumns};
use crate::catalog::decode::{Cols, positive};

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

/// A `captures` row with the `documents` and `versions` rows it names.
pub(super) struct CaptureCols {
    /// The row's number (positive).
    pub(super) num: u64,
    /// The `captures` columns.
    pub(super) cols: CaptureColumns,
    pub(super) doc_url: Option<String>,
    pub(super) doc_last_capture: Option<i64>,
    pub(super) doc_current_version: Option<i64>,
    pub(super) v_document: Option<i64>,
    pub(super) v_opened_by: Option<i64>,
    pub(super) v_opened_sha: Option<Sha256Digest>,
    pub(super) bad: Vec<String>,
}

/// The `captures` columns in schema order, then the joined ones from
/// [`CaptureColumns::COUNT`].
pub(super) const CAPTURES_SQL: &str = "SELECT c.num, c.document, c.version, c.ok, c.captured_at, c.method, \
     c.status, c.error, c.sha256, c.blake3, c.size, c.media_type, c.text_sha256, c.text_blake3, \
     c.text_size, c.manifest_sha256, c.manifest_path, c.log_index, \
     d.url, d.last_capture, d.current_version, v.document, v.opened_by, v.opened_manifest_sha256 \
     FROM captures c LEFT JOIN documents d ON d.num = c.document \
     LEFT JOIN versions v ON v.num = c.version ORDER BY c.document, c.num";

pub(super) fn read_capture(r: &rusqlite::Row<'_>) -> Option<CaptureCols> {
    let mut c = Cols::new(r);
    let cols = CaptureColumns::read(&mut c, 0);
    let num = positive(cols.num)?;
    let at = CaptureColumns::COUNT;
    Some(CaptureCols {
        num,
        cols,
        doc_url: c.text(at, "documents.url"),
        doc_last_capture: c.int(at + 1, "documents.last_capture"),
        doc_current_version: c.int(at + 2, "documents.current_version"),
        v_document: c.int(at + 3, "versions.document"),
        v_opened_by: c.int(at + 4, "versions.opened_by"),
        v_opened_sha: c.sha(at + 5, "versions.opened_manifest_sha256"),
        bad: c.bad,
    })
}

/// A `provisions` row with the `captures` and `versions` rows it names.
pub(super) struct ProvisionCols {
    /// The row's number (positive).
    pub(super) num: u64,
    /// The `provisions` columns.
    pub(super) cols: ProvisionColumns,
    pub(super) c_num: Option<i64>,
    pub(super) c_manifest_sha256: Option<Sha256Digest>,
    pub(super) v_opened_by: Option<i64>,
    pub(super) bad: Vec<String>,
}

/// The `provisions` columns in schema order, then the joined ones from
/// [`ProvisionColumns::COUNT`].
pub(super) const PROVISIONS_SQL: &str = "SELECT p.num, p.document, p.version, p.capture, p.created_at, \
     p.quote_sha256, p.text_sha256, p.char_start, p.char_end, p.manifest_sha256, \
     p.manifest_path, p.log_index, c.num, c.manifest_sha256, v.opened_by \
     FROM provisions p LEFT JOIN captures c ON c.num = p.capture \
     LEFT JOIN versions v ON v.num = p.version ORDER BY p.num";

pub(super) fn read_provision(r: &rusqlite::Row<'_>) -> Option<ProvisionCols> {
    let mut c = Cols::new(r);
    let cols = ProvisionColumns::read(&mut c, 0);
    let num = positive(cols.num)?;
    let at = ProvisionColumns::COUNT;
    Some(ProvisionCols {
        num,
        cols,
        c_num: c.int(at, "captures.num"),
        c_manifest_sha256: c.sha(at + 1, "captures.manifest_sha256"),
        v_opened_by: c.int(at + 2, "versions.opened_by"),
        bad: c.bad,
    })
}

/// A `reextractions` row.
pub(super) struct ReextractionCols {
    /// The row's number (positive).
    pub(super) num: u64,
    /// The `reextractions` columns.
    pub(super) cols: ReextractionColumns,
    pub(super) bad: Vec<String>,
}

/// The `reextractions` columns in schema order.
pub(super) const REEXTRACTIONS_SQL: &str = "SELECT num, document, created_at, manifest_sha256, \
     manifest_path, log_index FROM reextractions ORDER BY num";

pub(super) fn read_reextraction(r: &rusqlite::Row<'_>) -> Option<ReextractionCols> {
    let mut c = Cols::new(r);
    let cols = ReextractionColumns::read(&mut c, 0);
    let num = positive(cols.num)?;
    Some(ReextractionCols {
        num,
        cols,
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
                    self.cols.manifest_sha256,
                    self.cols.manifest_path.clone(),
                    self.cols.log_index,
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
