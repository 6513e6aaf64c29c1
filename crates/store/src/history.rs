//! Change-tracking queries: documents with their counts, and a document's versions a page at a
//! time. Everything here reads the catalog's indexes; nothing loads all captures.

use exhibit_core::{RecordId, RecordKind};
use rusqlite::params;
use serde::Serialize;

use crate::{Archive, DocumentRow, StoreError, VersionRow};

/// A tracked document with what `exhibit documents` shows about it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentSummary {
    /// The document.
    #[serde(flatten)]
    pub document: DocumentRow,
    /// When the current version was first seen.
    pub current_since: Option<String>,
    /// When the latest capture was made, RFC 3339.
    pub last_captured_at: Option<String>,
    /// Whether the latest capture succeeded.
    pub last_capture_ok: Option<bool>,
    /// Number of versions.
    pub versions: u64,
    /// Number of captures, failed ones included.
    pub captures: u64,
}

/// How many versions and captures a document has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DocumentCounts {
    /// Versions.
    pub versions: u64,
    /// Captures, failed ones included.
    pub captures: u64,
    /// Failed captures.
    pub failed_captures: u64,
}

impl Archive {
    /// Documents in id order with their counts: at most `limit`, numbered above `after`
    /// (paging). One query; the counts come from the `(document, num)` indexes.
    pub fn document_summaries(
        &self,
        limit: u64,
        after: u64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.num, d.url, d.entity, d.title, d.created_at, d.current_version, \
             d.last_capture, v.first_seen, c.captured_at, c.ok, \
             (SELECT count(*) FROM versions vv WHERE vv.document = d.num), \
             (SELECT count(*) FROM captures cc WHERE cc.document = d.num) \
             FROM documents d \
             LEFT JOIN versions v ON v.num = d.current_version \
             LEFT JOIN captures c ON c.num = d.last_capture \
             WHERE d.num > ?1 ORDER BY d.num LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![
                after.min(i64::MAX as u64) as i64,
                limit.min(i64::MAX as u64) as i64
            ],
            |r| {
                Ok(DocumentSummary {
                    document: DocumentRow {
                        id: self.id(RecordKind::Document, r.get::<_, i64>(0)? as u64),
                        url: r.get(1)?,
                        entity: r.get(2)?,
                        title: r.get(3)?,
                        created_at: r.get(4)?,
                        current_version: r
                            .get::<_, Option<i64>>(5)?
                            .map(|n| self.id(RecordKind::Version, n as u64)),
                        last_capture: r
                            .get::<_, Option<i64>>(6)?
                            .map(|n| self.id(RecordKind::Capture, n as u64)),
                    },
                    current_since: r.get(7)?,
                    last_captured_at: r.get(8)?,
                    last_capture_ok: r.get(9)?,
                    versions: r.get::<_, i64>(10)? as u64,
                    captures: r.get::<_, i64>(11)? as u64,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many versions, captures and failed captures a document has.
    pub fn document_counts(&self, document: &RecordId) -> Result<DocumentCounts, StoreError> {
        let n = document.number() as i64;
        let versions: i64 = self.conn.query_row(
            "SELECT count(*) FROM versions WHERE document = ?1",
            [n],
            |r| r.get(0),
        )?;
        let (captures, failed): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(ok = 0), 0) FROM captures WHERE document = ?1",
            [n],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(DocumentCounts {
            versions: versions as u64,
            captures: captures as u64,
            failed_captures: failed as u64,
        })
    }

    /// A document's versions, oldest first: at most `limit`, numbered above `after` (paging).
    pub fn versions_page(
        &self,
        document: &RecordId,
        after: u64,
        limit: u64,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT num FROM versions WHERE document = ?1 AND num > ?2 ORDER BY num LIMIT ?3",
        )?;
        let nums: Vec<i64> = stmt
            .query_map(
                params![
                    document.number() as i64,
                    after.min(i64::MAX as u64) as i64,
                    limit.min(i64::MAX as u64) as i64
                ],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        nums.into_iter().map(|n| self.version(n as u64)).collect()
    }
}
