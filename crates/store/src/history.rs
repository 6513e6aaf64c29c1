//! Change-tracking queries: documents with their counts, and a document's versions a page at a
//! time. Everything here reads the catalog's indexes; nothing loads all captures.

use exhibit_core::RecordId;
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

/// The columns and joins of [`DocumentSummary`] rows for the documents `d` chosen by the
/// `WHERE` clause that follows (a literal, for `concat!`). The counts are `count(*)`s over the
/// `(document, num)` indexes: each costs the document's own size, not the archive's. The first
/// seven columns are the ones [`Archive::document_from_row`] reads.
macro_rules! summary_select {
    () => {
        "SELECT d.num, d.url, d.entity, d.title, d.created_at, \
         d.current_version, d.last_capture, v.first_seen, c.captured_at, c.ok, \
         (SELECT count(*) FROM versions vv WHERE vv.document = d.num), \
         (SELECT count(*) FROM captures cc WHERE cc.document = d.num) \
         FROM documents d \
         LEFT JOIN versions v ON v.num = d.current_version \
         LEFT JOIN captures c ON c.num = d.last_capture "
    };
}
pub(crate) use summary_select;

/// Documents numbered above `?1` with their counts, at most `?2`.
const DOCUMENT_SUMMARIES: &str = concat!(
    summary_select!(),
    "WHERE d.num > ?1 ORDER BY d.num LIMIT ?2"
);

/// A document's versions, captures and failed captures, counted in indexes only (the partial
/// index of failures instead of reading every capture row for its `ok`).
const DOCUMENT_COUNTS: &str = "SELECT (SELECT count(*) FROM versions WHERE document = ?1), \
    (SELECT count(*) FROM captures WHERE document = ?1), \
    (SELECT count(*) FROM captures WHERE document = ?1 AND ok = 0)";

/// A document's (`?1`) versions numbered above `?2`, at most `?3`.
const VERSIONS_PAGE: &str =
    "SELECT num FROM versions WHERE document = ?1 AND num > ?2 ORDER BY num LIMIT ?3";

impl Archive {
    /// Documents in id order with their counts: at most `limit`, numbered above `after`
    /// (paging). One query; the counts come from the `(document, num)` indexes.
    pub fn document_summaries(
        &self,
        limit: u64,
        after: u64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(DOCUMENT_SUMMARIES)?;
        let rows = stmt.query_map(
            params![
                after.min(i64::MAX as u64) as i64,
                limit.min(i64::MAX as u64) as i64
            ],
            |r| self.summary_from_row(r),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The [`DocumentSummary`] of a row selected by [`summary_select`].
    pub(crate) fn summary_from_row(
        &self,
        r: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<DocumentSummary> {
        Ok(DocumentSummary {
            document: self.document_from_row(r)?,
            current_since: r.get(7)?,
            last_captured_at: r.get(8)?,
            last_capture_ok: r.get(9)?,
            versions: r.get::<_, i64>(10)? as u64,
            captures: r.get::<_, i64>(11)? as u64,
        })
    }

    /// How many versions, captures and failed captures a document has.
    pub fn document_counts(&self, document: &RecordId) -> Result<DocumentCounts, StoreError> {
        let (versions, captures, failed): (i64, i64, i64) =
            self.conn
                .query_row(DOCUMENT_COUNTS, [document.number() as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
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
        let mut stmt = self.conn.prepare_cached(VERSIONS_PAGE)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::document_state::PREVIOUS_CONTENT;
    use crate::queries::{
        CAPTURES_NEWEST, CAPTURES_OF_DOCUMENT, CAPTURES_OF_DOCUMENT_NEWEST, CAPTURES_OF_VERSION,
        DOCUMENTS_PAGE, HASH_COLUMNS, VERSIONS_OF_DOCUMENT, hash_range_sql, next_hash_sql,
    };

    /// SQLite's plan for `sql`, one line per step.
    fn plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Every look-up behind `show`, `verify --hash`, `list`, `history`, `documents` and
    /// `bundle` is an index search that stops at its LIMIT: no step scans a table, none sorts
    /// all matches in a temporary B-tree. That is what keeps them O(log n) (plus the rows they
    /// return) at millions of captures; `bench/lookup.sh` measures it. The catalog has no
    /// `ANALYZE` statistics, as in real use, so these plans do not depend on its contents.
    #[test]
    fn lookup_query_plans_use_indexes_and_never_sort() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let mut conn = crate::catalog::open(&path).unwrap();
        crate::catalog::create(&mut conn, "o", "EX").unwrap();
        let mut queries: Vec<(String, String)> = Vec::new();
        for &(table, _, column, _) in HASH_COLUMNS {
            queries.push((
                format!("{table}.{column} range"),
                hash_range_sql(table, column),
            ));
            queries.push((
                format!("{table}.{column} next"),
                next_hash_sql(table, column),
            ));
        }
        for (name, sql) in [
            ("captures newest", CAPTURES_NEWEST),
            ("captures of document newest", CAPTURES_OF_DOCUMENT_NEWEST),
            ("captures of document", CAPTURES_OF_DOCUMENT),
            ("captures of version", CAPTURES_OF_VERSION),
            ("versions of document", VERSIONS_OF_DOCUMENT),
            ("documents page", DOCUMENTS_PAGE),
            ("document summaries", DOCUMENT_SUMMARIES),
            ("document counts", DOCUMENT_COUNTS),
            ("versions page", VERSIONS_PAGE),
            ("previous content", PREVIOUS_CONTENT),
            ("documents of entity", crate::browse::DOCUMENTS_OF_ENTITY),
            ("search documents", crate::browse::SEARCH_DOCUMENTS),
            ("document summary", crate::browse::DOCUMENT_SUMMARY),
            ("latest changes", crate::browse::CHANGES_OF_ARCHIVE),
            (
                "latest changes of document",
                crate::browse::CHANGES_OF_DOCUMENT,
            ),
            ("versions before", crate::browse::VERSIONS_BEFORE),
            (
                "provisions of document",
                crate::browse::PROVISIONS_OF_DOCUMENT,
            ),
            ("versions after", crate::browse::VERSIONS_AFTER),
        ] {
            queries.push((name.to_owned(), sql.to_owned()));
        }
        for (name, sql) in &queries {
            let steps = plan(&conn, sql);
            println!("{name}:\n  {}", steps.join("\n  "));
            for step in &steps {
                // An FTS5 MATCH plans as a "SCAN" of the virtual table with a MATCH index
                // (`:M`): it reads the full-text index, not the table.
                let fts_match = step.contains("VIRTUAL TABLE INDEX") && step.contains(":M");
                assert!(
                    !(step.starts_with("SCAN ") && step != "SCAN CONSTANT ROW" && !fts_match),
                    "{name} scans a table: {step}\n{sql}"
                );
                assert!(!step.contains("TEMP B-TREE"), "{name} sorts: {step}\n{sql}");
            }
        }
        // The filters that pick few rows out of many use their own index, not a walk of all
        // captures that filters as it goes (which plans as a SEARCH on the rowid).
        for (sql, index) in [
            (
                CAPTURES_OF_DOCUMENT_NEWEST,
                "captures_document (document=? AND num<?)",
            ),
            (CAPTURES_OF_VERSION, "captures_version"),
            (DOCUMENT_COUNTS, "captures_failed"),
        ] {
            let steps = plan(&conn, sql).join("\n");
            assert!(steps.contains(index), "{sql}:\n{steps}");
        }
    }

    /// A hash prefix shared by a hash captured 150 times and another captured once later: the
    /// second is found although the first fills the page, so the prefix is ambiguous.
    #[test]
    fn a_second_hash_behind_a_full_page_of_the_first_is_still_seen() {
        let dir = tempfile::tempdir().unwrap();
        let archive = crate::Archive::init(&dir.path().join("a"), Default::default()).unwrap();
        let common = format!("abcdef01{}", "0".repeat(56));
        let other = format!("abcdef01{}", "f".repeat(56));
        archive
            .conn
            .execute(
                "INSERT INTO documents (num, url, created_at) VALUES (1, 'https://e.example/', 't')",
                [],
            )
            .unwrap();
        for num in 1..=151i64 {
            let sha = if num == 151 { &other } else { &common };
            archive
                .conn
                .execute(
                    "INSERT INTO captures (num, document, ok, captured_at, method, sha256, \
                     manifest_sha256, manifest_path, log_index) \
                     VALUES (?1, 1, 1, 't', 'file', ?2, ?3, 'm', ?1)",
                    params![num, sha, format!("{num:064x}")],
                )
                .unwrap();
        }
        let matches = archive.resolve("abcdef01").unwrap();
        assert_eq!(matches.len(), 101);
        assert!(matches[..100].iter().all(|m| m.hash == common));
        assert_eq!(matches[0].id.number(), 1, "oldest first within a hash");
        assert_eq!(matches[100].hash, other);
        assert!(matches!(
            archive.resolve_hash_group("abcdef01"),
            Err(StoreError::Ambiguous { .. })
        ));
        // One hash alone: its oldest 100 captures, in order.
        let group = archive.resolve_hash_group(&common[..20]).unwrap();
        let nums: Vec<u64> = group.iter().map(|m| m.id.number()).collect();
        assert_eq!(nums, (1..=100).collect::<Vec<_>>());
    }
}
