//! One lenient decoder per catalog table, for a checker that must read a damaged catalog:
//! [`Cols`] reads a column without trusting its type (a wrong type, a null where the schema
//! forbids one, a hash that is not hex is *noted* in [`Cols::bad`], never an error), and
//! `XColumns::read` decodes the columns of table X, in the schema's order (docs/FORMAT.md §7),
//! starting at a given position of the row, so that a query can select `x.*`-ordered columns
//! and join others after them.
//!
//! Not for the look-ups of the commands (`queries.rs` decodes strictly: a damaged row is an
//! error there) and not for judging rows (fsck compares them with the manifests).
//!
//! fsck reads captures, provisions and re-extractions through it (`fsck/rows.rs`). Documents and
//! versions it reads joined to other tables, under qualified names (`documents.url`), so those
//! two tables have no decoder here; `DocumentColumns` is kept for the round-trip test of the
//! writers.

use exhibit_core::{Blake3Digest, Sha256Digest};
use rusqlite::types::ValueRef;

/// Reads columns of a row without trusting their types: a wrong type is noted, never an error.
pub(crate) struct Cols<'r, 's> {
    /// The row.
    pub(crate) r: &'r rusqlite::Row<'s>,
    /// What could not be read, one message per column (`name is null`, `name is text, not an
    /// integer`, …).
    pub(crate) bad: Vec<String>,
}

impl<'r, 's> Cols<'r, 's> {
    /// A reader of `r` with nothing noted yet.
    pub(crate) fn new(r: &'r rusqlite::Row<'s>) -> Self {
        Cols { r, bad: Vec::new() }
    }

    /// Column `i` (`None` for null, or when it cannot be read).
    pub(crate) fn value(&mut self, i: usize, name: &str) -> Option<ValueRef<'r>> {
        match self.r.get_ref(i) {
            Ok(ValueRef::Null) => None,
            Ok(v) => Some(v),
            Err(e) => {
                self.bad.push(format!("{name}: {e}"));
                None
            }
        }
    }

    /// An integer column that may be null.
    pub(crate) fn int(&mut self, i: usize, name: &str) -> Option<i64> {
        match self.value(i, name)? {
            ValueRef::Integer(n) => Some(n),
            v => {
                self.bad
                    .push(format!("{name} is {}, not an integer", v.data_type()));
                None
            }
        }
    }

    /// An integer column that must not be null.
    pub(crate) fn req_int(&mut self, i: usize, name: &str) -> Option<i64> {
        let v = self.int(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    /// A text column that may be null.
    pub(crate) fn text(&mut self, i: usize, name: &str) -> Option<String> {
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

    /// A text column that must not be null.
    pub(crate) fn req_text(&mut self, i: usize, name: &str) -> Option<String> {
        let v = self.text(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    /// A SHA-256 column (hex) that may be null.
    pub(crate) fn sha(&mut self, i: usize, name: &str) -> Option<Sha256Digest> {
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

    /// A SHA-256 column (hex) that must not be null.
    pub(crate) fn req_sha(&mut self, i: usize, name: &str) -> Option<Sha256Digest> {
        let v = self.sha(i, name);
        if v.is_none() && self.r.get_ref(i).is_ok_and(|v| v == ValueRef::Null) {
            self.bad.push(format!("{name} is null"));
        }
        v
    }

    /// A BLAKE3 column (hex) that may be null.
    pub(crate) fn blake(&mut self, i: usize, name: &str) -> Option<Blake3Digest> {
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

    /// A blob column that may be null.
    pub(crate) fn blob(&mut self, i: usize, name: &str) -> Option<Vec<u8>> {
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
pub(crate) fn positive(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0)
}

/// A `documents` row, as far as it reads.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentColumns {
    pub(crate) num: Option<i64>,
    pub(crate) url: Option<String>,
    pub(crate) entity: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) created_at: Option<String>,
    pub(crate) current_version: Option<i64>,
    pub(crate) last_capture: Option<i64>,
}

#[cfg(test)]
impl DocumentColumns {
    /// The columns of `documents` in schema order, from position `at`.
    pub(crate) fn read(c: &mut Cols<'_, '_>, at: usize) -> Self {
        DocumentColumns {
            num: c.req_int(at, "num"),
            url: c.req_text(at + 1, "url"),
            entity: c.text(at + 2, "entity"),
            title: c.text(at + 3, "title"),
            created_at: c.req_text(at + 4, "created_at"),
            current_version: c.int(at + 5, "current_version"),
            last_capture: c.int(at + 6, "last_capture"),
        }
    }
}

/// A `captures` row, as far as it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaptureColumns {
    pub(crate) num: Option<i64>,
    pub(crate) document: Option<i64>,
    pub(crate) version: Option<i64>,
    pub(crate) ok: Option<i64>,
    pub(crate) captured_at: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) status: Option<i64>,
    pub(crate) error: Option<String>,
    pub(crate) sha256: Option<Sha256Digest>,
    pub(crate) blake3: Option<Blake3Digest>,
    pub(crate) size: Option<i64>,
    pub(crate) media_type: Option<String>,
    pub(crate) text_sha256: Option<Sha256Digest>,
    pub(crate) text_blake3: Option<Blake3Digest>,
    pub(crate) text_size: Option<i64>,
    pub(crate) manifest_sha256: Option<Sha256Digest>,
    pub(crate) manifest_path: Option<String>,
    pub(crate) log_index: Option<i64>,
}

impl CaptureColumns {
    /// The number of columns of `captures`.
    pub(crate) const COUNT: usize = 18;

    /// The columns of `captures` in schema order, from position `at`.
    pub(crate) fn read(c: &mut Cols<'_, '_>, at: usize) -> Self {
        CaptureColumns {
            num: c.req_int(at, "num"),
            document: c.req_int(at + 1, "document"),
            version: c.int(at + 2, "version"),
            ok: c.req_int(at + 3, "ok"),
            captured_at: c.req_text(at + 4, "captured_at"),
            method: c.req_text(at + 5, "method"),
            status: c.int(at + 6, "status"),
            error: c.text(at + 7, "error"),
            sha256: c.sha(at + 8, "sha256"),
            blake3: c.blake(at + 9, "blake3"),
            size: c.int(at + 10, "size"),
            media_type: c.text(at + 11, "media_type"),
            text_sha256: c.sha(at + 12, "text_sha256"),
            text_blake3: c.blake(at + 13, "text_blake3"),
            text_size: c.int(at + 14, "text_size"),
            manifest_sha256: c.req_sha(at + 15, "manifest_sha256"),
            manifest_path: c.req_text(at + 16, "manifest_path"),
            log_index: c.req_int(at + 17, "log_index"),
        }
    }
}

/// A `provisions` row, as far as it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProvisionColumns {
    pub(crate) num: Option<i64>,
    pub(crate) document: Option<i64>,
    pub(crate) version: Option<i64>,
    pub(crate) capture: Option<i64>,
    pub(crate) created_at: Option<String>,
    pub(crate) quote_sha256: Option<Sha256Digest>,
    pub(crate) text_sha256: Option<Sha256Digest>,
    pub(crate) char_start: Option<i64>,
    pub(crate) char_end: Option<i64>,
    pub(crate) manifest_sha256: Option<Sha256Digest>,
    pub(crate) manifest_path: Option<String>,
    pub(crate) log_index: Option<i64>,
}

impl ProvisionColumns {
    /// The number of columns of `provisions`.
    pub(crate) const COUNT: usize = 12;

    /// The columns of `provisions` in schema order, from position `at`.
    pub(crate) fn read(c: &mut Cols<'_, '_>, at: usize) -> Self {
        ProvisionColumns {
            num: c.req_int(at, "num"),
            document: c.req_int(at + 1, "document"),
            version: c.req_int(at + 2, "version"),
            capture: c.req_int(at + 3, "capture"),
            created_at: c.req_text(at + 4, "created_at"),
            quote_sha256: c.req_sha(at + 5, "quote_sha256"),
            text_sha256: c.req_sha(at + 6, "text_sha256"),
            char_start: c.req_int(at + 7, "char_start"),
            char_end: c.req_int(at + 8, "char_end"),
            manifest_sha256: c.req_sha(at + 9, "manifest_sha256"),
            manifest_path: c.req_text(at + 10, "manifest_path"),
            log_index: c.req_int(at + 11, "log_index"),
        }
    }
}

/// A `reextractions` row, as far as it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReextractionColumns {
    pub(crate) num: Option<i64>,
    pub(crate) document: Option<i64>,
    pub(crate) created_at: Option<String>,
    pub(crate) manifest_sha256: Option<Sha256Digest>,
    pub(crate) manifest_path: Option<String>,
    pub(crate) log_index: Option<i64>,
}

impl ReextractionColumns {
    /// The columns of `reextractions` in schema order, from position `at`.
    pub(crate) fn read(c: &mut Cols<'_, '_>, at: usize) -> Self {
        ReextractionColumns {
            num: c.req_int(at, "num"),
            document: c.req_int(at + 1, "document"),
            created_at: c.req_text(at + 2, "created_at"),
            manifest_sha256: c.req_sha(at + 3, "manifest_sha256"),
            manifest_path: c.req_text(at + 4, "manifest_path"),
            log_index: c.req_int(at + 5, "log_index"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rows;

    /// What a writer of `catalog::rows` wrote reads back; a damaged row reads as far as it can,
    /// each problem noted once.
    #[test]
    fn rows_written_read_back_and_damage_is_noted_not_fatal() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::catalog::create(&mut conn, "o", "EX").unwrap();
        rows::insert_document(&conn, 1, "https://e.example/", "2026-01-01T00:00:00Z").unwrap();
        let read = |sql: &str| {
            conn.query_row(sql, [], |r| {
                let mut c = Cols::new(r);
                Ok((DocumentColumns::read(&mut c, 0), c.bad))
            })
            .unwrap()
        };
        let (doc, bad) = read("SELECT * FROM documents");
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(doc.num, Some(1));
        assert_eq!(doc.url.as_deref(), Some("https://e.example/"));
        assert_eq!((doc.current_version, doc.last_capture), (None, None));

        // STRICT tables keep types, so damage is simulated by the query.
        let (doc, bad) = read("SELECT 'one', NULL, 3, NULL, 'c', 'x', NULL FROM documents");
        assert_eq!((doc.num, doc.url, doc.entity), (None, None, None));
        assert_eq!(
            bad,
            [
                "num is Text, not an integer",
                "url is null",
                "entity is Integer, not text",
                "current_version is Text, not an integer",
            ]
        );
    }
}
