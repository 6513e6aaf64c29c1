//! Look-ups for browsing an archive (`exhibit serve`): documents by entity, documents whose
//! URL, title or entity contains a text, and the latest changes of the archive, an entity or a
//! document. Each is a page of at most `limit` rows read through an index, so a page costs
//! the same at ten thousand captures as at a million.

use exhibit_core::{RecordId, RecordKind};
use rusqlite::params;

use crate::history::{DocumentSummary, summary_select};
use crate::{Archive, ProvisionRow, StoreError, VersionRow};

/// Documents of an entity (`?1`) numbered above `?2`, at most `?3`.
pub(crate) const DOCUMENTS_OF_ENTITY: &str = concat!(
    summary_select!(),
    "WHERE d.entity = ?1 AND d.num > ?2 ORDER BY d.num LIMIT ?3"
);

/// Documents whose URL, title or entity contains the FTS5 phrase `?1`, numbered above `?2`,
/// at most `?3`: the trigram index picks them.
pub(crate) const SEARCH_DOCUMENTS: &str = concat!(
    summary_select!(),
    "WHERE d.num IN (SELECT rowid FROM documents_search WHERE documents_search MATCH ?1 \
     AND rowid > ?2 ORDER BY rowid LIMIT ?3) ORDER BY d.num"
);

/// Documents whose URL, title or entity is `LIKE ?1` (texts too short for the index: a scan
/// of the documents that stops at the page's end).
const SCAN_DOCUMENTS: &str = concat!(
    summary_select!(),
    "WHERE (d.url LIKE ?1 ESCAPE '\\' OR d.title LIKE ?1 ESCAPE '\\' \
     OR d.entity LIKE ?1 ESCAPE '\\') AND d.num > ?2 ORDER BY d.num LIMIT ?3"
);

/// One document's summary.
pub(crate) const DOCUMENT_SUMMARY: &str = concat!(summary_select!(), "WHERE d.num = ?1");

/// The version before `v` of the same document (an index look-up on versions(document, num)).
macro_rules! previous_version {
    () => {
        "(SELECT p.num FROM versions p WHERE p.document = v.document AND p.num < v.num \
         ORDER BY p.num DESC LIMIT 1)"
    };
}

/// The archive's changes below version `?1`, newest first, at most `?2`.
pub(crate) const CHANGES_OF_ARCHIVE: &str = concat!(
    "SELECT v.num, ",
    previous_version!(),
    " AS prev FROM versions v WHERE v.num < ?1 AND prev IS NOT NULL ORDER BY v.num DESC LIMIT ?2"
);

/// An entity's (`?1`) changes below version `?2`, newest first, at most `?3`. `CROSS JOIN`
/// keeps the entity's documents the outer loop (through `documents_entity`), so the cost is the
/// entity's versions (sorted), never a walk of the archive's versions filtered as it goes.
const CHANGES_OF_ENTITY: &str = concat!(
    "SELECT v.num, ",
    previous_version!(),
    " AS prev FROM documents d CROSS JOIN versions v ON v.document = d.num \
     WHERE d.entity = ?1 AND v.num < ?2 AND prev IS NOT NULL ORDER BY v.num DESC LIMIT ?3"
);

/// A document's (`?1`) changes below version `?2`, newest first, at most `?3`.
pub(crate) const CHANGES_OF_DOCUMENT: &str = concat!(
    "SELECT v.num, ",
    previous_version!(),
    " AS prev FROM versions v WHERE v.document = ?1 AND v.num < ?2 AND prev IS NOT NULL \
     ORDER BY v.num DESC LIMIT ?3"
);

/// Versions numbered above `?1`, oldest first, at most `?2`.
pub(crate) const VERSIONS_AFTER: &str =
    "SELECT num FROM versions WHERE num > ?1 ORDER BY num LIMIT ?2";

/// A document's (`?1`) provisions, oldest first, at most `?2`.
pub(crate) const PROVISIONS_OF_DOCUMENT: &str =
    "SELECT num FROM provisions WHERE document = ?1 ORDER BY num LIMIT ?2";

/// A document's (`?1`) versions below `?2`, newest first, at most `?3`.
pub(crate) const VERSIONS_BEFORE: &str =
    "SELECT num FROM versions WHERE document = ?1 AND num < ?2 ORDER BY num DESC LIMIT ?3";

/// The shortest search text the trigram index answers; shorter texts scan the documents.
pub const MIN_INDEXED_SEARCH: usize = 3;

/// Whose changes [`Archive::latest_changes`] lists.
#[derive(Debug, Clone, Copy)]
pub enum ChangeScope<'a> {
    /// Every document's.
    Archive,
    /// The documents of one entity.
    Entity(&'a str),
    /// One document's.
    Document(&'a RecordId),
}

/// A version that changed its document (any version but a document's first), with the one it
/// replaced.
#[derive(Debug, Clone)]
pub struct Change {
    /// The new version.
    pub version: VersionRow,
    /// The version before it.
    pub previous: VersionRow,
}

/// Clamps a page bound to SQLite's integer range.
fn sql_int(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

/// `text` as an FTS5 string literal matching it as a substring (a trigram phrase).
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// `text` as a `LIKE` pattern matching it as a substring (`\` escapes).
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Archive {
    /// Documents of `entity` in id order, numbered above `after`: at most `limit`.
    pub fn documents_of_entity(
        &self,
        entity: &str,
        after: u64,
        limit: u64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        self.summaries(
            DOCUMENTS_OF_ENTITY,
            params![entity, sql_int(after), sql_int(limit)],
        )
    }

    /// Documents whose URL, title or entity contains `text` (case-insensitively for ASCII), in
    /// id order, numbered above `after`: at most `limit`. Texts of [`MIN_INDEXED_SEARCH`]
    /// characters or more are looked up in the trigram index; shorter ones scan the documents.
    pub fn search_documents(
        &self,
        text: &str,
        after: u64,
        limit: u64,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let (sql, pattern) = if text.chars().count() >= MIN_INDEXED_SEARCH {
            (SEARCH_DOCUMENTS, fts_phrase(text))
        } else {
            (SCAN_DOCUMENTS, like_pattern(text))
        };
        self.summaries(sql, params![pattern, sql_int(after), sql_int(limit)])
    }

    fn summaries(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| self.summary_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest changes in `scope`, newest first: versions numbered below `before` (0: no
    /// bound) that are not their document's first, at most `limit`, each with the version it
    /// replaced.
    pub fn latest_changes(
        &self,
        scope: ChangeScope<'_>,
        before: u64,
        limit: u64,
    ) -> Result<Vec<Change>, StoreError> {
        let before = if before == 0 {
            i64::MAX
        } else {
            sql_int(before)
        };
        let limit = sql_int(limit);
        let pairs = match scope {
            ChangeScope::Archive => self.pairs(CHANGES_OF_ARCHIVE, params![before, limit])?,
            ChangeScope::Entity(entity) => {
                self.pairs(CHANGES_OF_ENTITY, params![entity, before, limit])?
            }
            ChangeScope::Document(d) => {
                if d.kind() != RecordKind::Document {
                    return Err(StoreError::NotFound(format!("{d} is not a document")));
                }
                self.pairs(
                    CHANGES_OF_DOCUMENT,
                    params![d.number() as i64, before, limit],
                )?
            }
        };
        pairs
            .into_iter()
            .map(|(v, p)| {
                Ok(Change {
                    version: self.version(v as u64)?,
                    previous: self.version(p as u64)?,
                })
            })
            .collect()
    }

    fn pairs(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A document's summary.
    pub fn document_summary(&self, document: &RecordId) -> Result<DocumentSummary, StoreError> {
        self.summaries(DOCUMENT_SUMMARY, params![document.number() as i64])?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("no document {document}")))
    }

    /// The versions of a document that are numbered below `before`, newest first: at most
    /// `limit` (the timeline's pages, newest first).
    pub fn versions_before(
        &self,
        document: &RecordId,
        before: u64,
        limit: u64,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let before = if before == 0 {
            i64::MAX
        } else {
            sql_int(before)
        };
        let mut stmt = self.conn.prepare_cached(VERSIONS_BEFORE)?;
        let nums: Vec<i64> = stmt
            .query_map(
                params![document.number() as i64, before, sql_int(limit)],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        nums.into_iter().map(|n| self.version(n as u64)).collect()
    }

    /// A document's provisions, oldest first: at most `limit`.
    pub fn provisions_of_document(
        &self,
        document: &RecordId,
        limit: u64,
    ) -> Result<Vec<ProvisionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(PROVISIONS_OF_DOCUMENT)?;
        let nums: Vec<i64> = stmt
            .query_map(params![document.number() as i64, sql_int(limit)], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        nums.into_iter().map(|n| self.provision(n as u64)).collect()
    }

    /// The archive's versions numbered above `after`, oldest first: at most `limit`.
    pub fn versions_after(&self, after: u64, limit: u64) -> Result<Vec<VersionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(VERSIONS_AFTER)?;
        let nums: Vec<i64> = stmt
            .query_map(params![sql_int(after), sql_int(limit)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        nums.into_iter().map(|n| self.version(n as u64)).collect()
    }

    /// The highest version number in the archive (0 when it has none).
    pub fn last_version_number(&self) -> Result<u64, StoreError> {
        let n: Option<i64> = self
            .conn
            .query_row("SELECT max(num) FROM versions", [], |r| r.get(0))?;
        Ok(n.map_or(0, |n| n as u64))
    }

    /// The version of `document` before `version`, if any.
    pub fn previous_version(&self, version: &VersionRow) -> Result<Option<VersionRow>, StoreError> {
        Ok(self
            .versions_before(&version.document_id, version.id.number(), 1)?
            .pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index follows every write of `documents` (insert, a new title, a reindex's rebuild
    /// by inserts), matches substrings case-insensitively, and texts shorter than the index
    /// answers scan instead; `%`, `_` and `"` are literal characters.
    #[test]
    fn documents_are_found_by_any_part_of_url_title_or_entity() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::init(&dir.path().join("a"), Default::default()).unwrap();
        for (num, url, title, entity) in [
            (
                1,
                "https://example.com/privacy",
                Some("Privacy Policy"),
                Some("Example"),
            ),
            (
                2,
                "https://other.org/terms_100%",
                Some("Terms \"v2\""),
                None,
            ),
            (3, "https://example.com/cookies", None, Some("Example")),
        ] {
            archive
                .conn
                .execute(
                    "INSERT INTO documents (num, url, entity, title, created_at) \
                     VALUES (?1, ?2, ?3, ?4, '2026-01-01T00:00:00Z')",
                    params![num, url, entity, title],
                )
                .unwrap();
        }
        let found = |q: &str| -> Vec<u64> {
            archive
                .search_documents(q, 0, 10)
                .unwrap()
                .iter()
                .map(|d| d.document.id.number())
                .collect()
        };
        assert_eq!(found("PRIVACY"), [1]);
        assert_eq!(found("example.com"), [1, 3]);
        assert_eq!(found("xampl"), [1, 3], "entity or URL");
        assert_eq!(found("_100%"), [2]);
        assert_eq!(found("\"v2\""), [2]);
        assert_eq!(found("%"), [2], "a short text scans, literally");
        assert_eq!(found("zz"), Vec::<u64>::new());
        archive
            .conn
            .execute(
                "UPDATE documents SET title = 'Cookie notice' WHERE num = 3",
                [],
            )
            .unwrap();
        assert_eq!(found("cookie notice"), [3]);
        // What every capture does: set the title and entity again, unchanged (the update
        // trigger skips it), or change only the latest capture; the index stays the table's.
        archive
            .conn
            .execute_batch(
                "UPDATE documents SET title = title, entity = entity; \
                 UPDATE documents SET last_capture = 1; \
                 INSERT INTO documents_search(documents_search) VALUES ('integrity-check');",
            )
            .unwrap();
        assert_eq!(found("cookie notice"), [3]);
        assert_eq!(found("Privacy Policy"), [1]);
        let paged = archive.search_documents("example", 1, 10).unwrap();
        assert_eq!(paged.len(), 1);
        assert_eq!(
            archive.documents_of_entity("Example", 0, 1).unwrap().len(),
            1
        );
    }

    #[test]
    fn search_texts_are_literal() {
        assert_eq!(fts_phrase(r#"a "b" c"#), r#""a ""b"" c""#);
        assert_eq!(like_pattern(r"50%_\x"), r"%50\%\_\\x%");
    }
}
