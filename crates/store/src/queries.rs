//! Looking records up in the catalog: the row types ([`CaptureRow`], [`DocumentRow`],
//! [`VersionRow`]), how a query (an id or a hash prefix) resolves to records ([`Match`]), and
//! the named look-up queries whose plans `history::tests` checks.
//!
//! Read-only: rows are written by `catalog::rows`. Not here: provisions' and
//! re-extractions' look-ups (`provisions.rs`, `rules.rs`), history pages (`history.rs`).

use std::collections::BTreeSet;

use exhibit_core::{HashPrefix, RecordId, RecordKind, Sha256Digest};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::catalog::parse_digest;
use crate::{Archive, StoreError};

/// A capture as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureRow {
    /// The capture id.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// The document URL.
    pub url: String,
    /// Its version (null for failures).
    pub version_id: Option<RecordId>,
    /// Whether the capture succeeded.
    pub ok: bool,
    /// Capture time, RFC 3339.
    pub captured_at: String,
    /// `http`, `file` or `stdin`.
    pub method: String,
    /// Final HTTP status.
    pub status: Option<u16>,
    /// Error of a failed capture.
    pub error: Option<String>,
    /// SHA-256 of the bytes.
    pub sha256: Option<Sha256Digest>,
    /// BLAKE3 of the bytes.
    pub blake3: Option<exhibit_core::Blake3Digest>,
    /// Size of the bytes.
    pub size: Option<u64>,
    /// Media type.
    pub media_type: Option<String>,
    /// SHA-256 of the text.
    pub text_sha256: Option<Sha256Digest>,
    /// BLAKE3 of the text.
    pub text_blake3: Option<exhibit_core::Blake3Digest>,
    /// Size of the text.
    pub text_size: Option<u64>,
    /// SHA-256 of the manifest bytes.
    pub manifest_sha256: Sha256Digest,
    /// Manifest path relative to the archive root.
    pub manifest_path: String,
    /// The manifest's leaf index in the archive's log.
    pub log_index: u64,
}

/// A document as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    /// The document id.
    pub id: RecordId,
    /// Its URL.
    pub url: String,
    /// Its entity.
    pub entity: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// When it was first captured.
    pub created_at: String,
    /// The current version.
    pub current_version: Option<RecordId>,
    /// The latest capture.
    pub last_capture: Option<RecordId>,
}

/// A version as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    /// The version id.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// SHA-256 of its text (null for media without text).
    pub text_sha256: Option<Sha256Digest>,
    /// The hash versions are told apart by: the text's, or the content's when there is no text.
    pub key_sha256: Sha256Digest,
    /// The capture that opened it.
    pub opened_by: RecordId,
    /// First capture time.
    pub first_seen: String,
    /// Latest capture time.
    pub last_seen: String,
    /// Number of captures that saw it.
    pub captures: u64,
}

/// One record a query matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The record.
    pub id: RecordId,
    /// What matched: `id`, `content sha256`, `text sha256` or `manifest sha256`.
    pub field: &'static str,
    /// The full hash that matched (empty for ids).
    pub hash: String,
}

/// The columns a hash prefix is looked up in: table, record kind, column, what matched.
pub(crate) const HASH_COLUMNS: &[(&str, RecordKind, &str, &str)] = &[
    ("captures", RecordKind::Capture, "sha256", "content sha256"),
    (
        "captures",
        RecordKind::Capture,
        "text_sha256",
        "text sha256",
    ),
    (
        "captures",
        RecordKind::Capture,
        "manifest_sha256",
        "manifest sha256",
    ),
    (
        "provisions",
        RecordKind::Provision,
        "quote_sha256",
        "quote sha256",
    ),
    (
        "provisions",
        RecordKind::Provision,
        "manifest_sha256",
        "manifest sha256",
    ),
];

// The look-up queries, named so that a test checks their plans (`history::tests`): each must
// be an index search that stops at its LIMIT, never a table scan or a sort of every match.

/// The first 100 rows whose `column` lies in `[?1, ?2)`, in the index's own order.
pub(crate) fn hash_range_sql(table: &str, column: &str) -> String {
    format!(
        "SELECT num, {column} FROM {table} WHERE {column} >= ?1 AND {column} < ?2 \
         ORDER BY {column}, num LIMIT 100"
    )
}

/// The first row of the next hash after `?1` below `?2`.
pub(crate) fn next_hash_sql(table: &str, column: &str) -> String {
    format!(
        "SELECT num, {column} FROM {table} WHERE {column} > ?1 AND {column} < ?2 \
         ORDER BY {column}, num LIMIT 1"
    )
}

/// Captures newest first below `?1` (`?2` unused), at most `?3`.
pub(crate) const CAPTURES_NEWEST: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.num < ?1 ORDER BY c.num DESC LIMIT ?3";
/// A document's (`?2`) captures newest first below `?1`, at most `?3`.
pub(crate) const CAPTURES_OF_DOCUMENT_NEWEST: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.document = ?2 AND c.num < ?1 \
    ORDER BY c.num DESC LIMIT ?3";
/// All of a document's captures, oldest first.
pub(crate) const CAPTURES_OF_DOCUMENT: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.document = ?1 ORDER BY c.num";
/// All of a version's captures, oldest first.
pub(crate) const CAPTURES_OF_VERSION: &str = "SELECT c.*, d.url FROM captures c \
    JOIN documents d ON d.num = c.document WHERE c.version = ?1 ORDER BY c.num";
/// All of a document's versions, oldest first.
pub(crate) const VERSIONS_OF_DOCUMENT: &str =
    "SELECT * FROM versions WHERE document = ?1 ORDER BY num";
/// Documents numbered above `?1`, at most `?2`.
pub(crate) const DOCUMENTS_PAGE: &str =
    "SELECT num FROM documents WHERE num > ?1 ORDER BY num LIMIT ?2";

/// The error of a query that matched more than it may: every match, with what matched.
fn ambiguous(query: &str, matches: &[Match]) -> StoreError {
    StoreError::Ambiguous {
        query: query.trim().to_owned(),
        candidates: matches
            .iter()
            .map(|m| format!("{} ({} {})", m.id, m.field, m.hash))
            .collect(),
    }
}

impl Archive {
    fn check_own_id(&self, id: &RecordId) -> Result<(), StoreError> {
        if id.prefix() != self.prefix.as_str() {
            return Err(StoreError::NotFound(format!(
                "{id}: this archive's ids start with {}-",
                self.prefix
            )));
        }
        Ok(())
    }

    /// Finds the records a query names: a record id, or a hash prefix (8–64 hex digits) of a
    /// capture's content, text or manifest. Every match is returned (ambiguity is the caller's
    /// to judge).
    pub fn resolve(&self, query: &str) -> Result<Vec<Match>, StoreError> {
        if RecordId::looks_like_id(query.trim()) {
            let id: RecordId = query
                .parse()
                .map_err(|e: exhibit_core::id::IdError| StoreError::BadQuery(e.to_string()))?;
            self.check_own_id(&id)?;
            let table = match id.kind() {
                RecordKind::Document => "documents",
                RecordKind::Capture => "captures",
                RecordKind::Version => "versions",
                RecordKind::Provision => "provisions",
                RecordKind::Reextraction => "reextractions",
            };
            let found: Option<i64> = self
                .conn
                .query_row(
                    &format!("SELECT num FROM {table} WHERE num = ?1"),
                    [id.number() as i64],
                    |r| r.get(0),
                )
                .optional()?;
            return match found {
                Some(_) => Ok(vec![Match {
                    id,
                    field: "id",
                    hash: String::new(),
                }]),
                None => Err(StoreError::NotFound(format!(
                    "{id}: no such {} in this archive",
                    id.kind().name()
                ))),
            };
        }
        let prefix = HashPrefix::parse(query).map_err(|e| {
            StoreError::BadQuery(format!(
                "{:?} is neither a record id (EX-C-000042) nor a hash prefix: {e}",
                query.trim()
            ))
        })?;
        let (low, high) = prefix.range();
        let high = high.unwrap_or_else(|| "g".into());
        let mut out = Vec::new();
        for &(table, kind, column, field) in HASH_COLUMNS {
            // In index order, (hash, num): the scan stops after the rows it returns instead of
            // sorting every capture of a hash seen a million times. 100 rows, then the first row
            // of the next different hash in the range, if any: a second hash is never hidden
            // behind the limit, so ambiguity is always seen (at most 101 rows per column).
            let mut stmt = self.conn.prepare_cached(&hash_range_sql(table, column))?;
            let mut rows: Vec<(i64, String)> = stmt
                .query_map(params![low, high], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            if rows.len() == 100
                && let Some((_, last)) = rows.last()
            {
                let mut next = self.conn.prepare_cached(&next_hash_sql(table, column))?;
                let row = next
                    .query_row(params![last, high], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                rows.extend(row);
            }
            for (num, hash) in rows {
                out.push(Match {
                    id: self.id(kind, num as u64),
                    field,
                    hash,
                });
            }
        }
        if out.is_empty() {
            return Err(StoreError::NotFound(format!(
                "no record's content, text, quote or manifest hash starts with {prefix}"
            )));
        }
        Ok(out)
    }

    /// Like [`Archive::resolve`] but requires exactly one record.
    pub fn resolve_one(&self, query: &str) -> Result<Match, StoreError> {
        let mut matches = self.resolve(query)?;
        let ids: BTreeSet<&RecordId> = matches.iter().map(|m| &m.id).collect();
        if ids.len() > 1 {
            return Err(ambiguous(query, &matches));
        }
        Ok(matches.swap_remove(0))
    }

    /// Resolves a query to the records that carry one hash: an id gives that record; a hash
    /// prefix must match a single full hash value (a plain-text capture's content and text hash
    /// are the same value), and every capture carrying it is returned, oldest first. Identical bytes captured many
    /// times are one hash, not an ambiguity; a prefix of two different hashes is.
    pub fn resolve_hash_group(&self, query: &str) -> Result<Vec<Match>, StoreError> {
        let matches = self.resolve(query)?;
        let values: BTreeSet<&str> = matches.iter().map(|m| m.hash.as_str()).collect();
        if values.len() > 1 {
            return Err(ambiguous(query, &matches));
        }
        Ok(matches)
    }

    /// The captures a query selects, in id order: a capture id gives that capture; a version
    /// id, the captures that saw the version; a document id or URL, all the document's captures;
    /// a hash prefix, every capture carrying that hash.
    pub fn select_captures(&self, query: &str) -> Result<Vec<CaptureRow>, StoreError> {
        let q = query.trim();
        let (column, value) = if q.contains("://") {
            ("document", self.document(q)?.id.number())
        } else {
            let group = self.resolve_hash_group(q)?;
            let first = &group[0];
            match first.id.kind() {
                RecordKind::Capture if first.field != "id" || group.len() > 1 => {
                    return group.iter().map(|m| self.capture(m.id.number())).collect();
                }
                RecordKind::Capture => return Ok(vec![self.capture(first.id.number())?]),
                RecordKind::Version => ("version", first.id.number()),
                RecordKind::Document => ("document", first.id.number()),
                RecordKind::Provision => {
                    let p = self.provision(first.id.number())?;
                    return Ok(vec![self.capture(p.capture_id.number())?]);
                }
                RecordKind::Reextraction => {
                    let r = self.reextraction(first.id.number())?;
                    ("document", r.document_id.number())
                }
            }
        };
        let mut stmt = self.conn.prepare_cached(match column {
            "version" => CAPTURES_OF_VERSION,
            _ => CAPTURES_OF_DOCUMENT,
        })?;
        let rows = stmt.query_map([value as i64], |r| self.capture_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolves a query to one stored object: the content (or, with `text`, the extracted text)
    /// of the named capture, version or document's current version, or the single object whose
    /// hash starts with the given prefix (identical bytes captured many times are one object).
    pub fn resolve_object(&self, query: &str, text: bool) -> Result<Sha256Digest, StoreError> {
        let matches = self.resolve(query)?;
        let first = &matches[0];
        if first.field == "id" {
            let capture = match first.id.kind() {
                RecordKind::Capture => self.capture(first.id.number())?,
                RecordKind::Version => {
                    let v = self.version(first.id.number())?;
                    self.capture(v.opened_by.number())?
                }
                RecordKind::Document => {
                    let d = self.document(&first.id.to_string())?;
                    let v = d.current_version.ok_or_else(|| {
                        StoreError::NotFound(format!("{}: no successful capture yet", d.id))
                    })?;
                    let v = self.version(v.number())?;
                    self.capture(v.opened_by.number())?
                }
                RecordKind::Provision => {
                    let p = self.provision(first.id.number())?;
                    self.capture(p.capture_id.number())?
                }
                RecordKind::Reextraction => {
                    return Err(StoreError::BadQuery(format!(
                        "{}: a re-extraction record has no content of its own; name a capture or version",
                        first.id
                    )));
                }
            };
            let want = if text {
                capture.text_sha256
            } else {
                capture.sha256
            };
            return want.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: has no {}",
                    capture.id,
                    if text { "extracted text" } else { "content" }
                ))
            });
        }
        let wanted_field = if text {
            "text sha256"
        } else {
            "content sha256"
        };
        let hashes: BTreeSet<&str> = matches
            .iter()
            .filter(|m| m.field == wanted_field)
            .map(|m| m.hash.as_str())
            .collect();
        match hashes.len() {
            0 => Err(StoreError::NotFound(format!(
                "no {wanted_field} starts with {}",
                query.trim()
            ))),
            1 => hashes
                .into_iter()
                .next()
                .unwrap_or_default()
                .parse()
                .map_err(|e| StoreError::Corrupt {
                    what: "catalog".into(),
                    message: format!("bad hash: {e}"),
                }),
            _ => Err(StoreError::Ambiguous {
                query: query.trim().to_owned(),
                candidates: hashes.into_iter().map(str::to_owned).collect(),
            }),
        }
    }

    fn capture_from_row(&self, r: &Row<'_>) -> rusqlite::Result<CaptureRow> {
        Ok(CaptureRow {
            id: self.id(RecordKind::Capture, r.get::<_, i64>("num")? as u64),
            document_id: self.id(RecordKind::Document, r.get::<_, i64>("document")? as u64),
            url: r.get("url")?,
            version_id: r
                .get::<_, Option<i64>>("version")?
                .map(|n| self.id(RecordKind::Version, n as u64)),
            ok: r.get("ok")?,
            captured_at: r.get("captured_at")?,
            method: r.get("method")?,
            status: r.get("status")?,
            error: r.get("error")?,
            sha256: parse_digest(r.get("sha256")?)?,
            blake3: r
                .get::<_, Option<String>>("blake3")?
                .and_then(|s| s.parse().ok()),
            size: r.get::<_, Option<i64>>("size")?.map(|n| n as u64),
            media_type: r.get("media_type")?,
            text_sha256: parse_digest(r.get("text_sha256")?)?,
            text_blake3: r
                .get::<_, Option<String>>("text_blake3")?
                .and_then(|s| s.parse().ok()),
            text_size: r.get::<_, Option<i64>>("text_size")?.map(|n| n as u64),
            manifest_sha256: parse_digest(r.get("manifest_sha256")?)?
                .unwrap_or(Sha256Digest([0; 32])),
            manifest_path: r.get("manifest_path")?,
            log_index: r.get::<_, i64>("log_index")? as u64,
        })
    }

    /// A capture by number.
    pub fn capture(&self, number: u64) -> Result<CaptureRow, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.*, d.url FROM captures c JOIN documents d ON d.num = c.document \
             WHERE c.num = ?1",
        )?;
        stmt.query_row([number as i64], |r| self.capture_from_row(r))
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: no such capture",
                    self.id(RecordKind::Capture, number)
                ))
            })
    }

    /// Captures, newest first: at most `limit`, numbered below `before` when given (paging).
    pub fn captures(
        &self,
        limit: u64,
        before: Option<u64>,
        document: Option<u64>,
    ) -> Result<Vec<CaptureRow>, StoreError> {
        // Two statements, not one with `?2 IS NULL OR c.document = ?2`: SQLite plans a
        // statement once, and that form walks all captures newest first looking for the
        // document's, a full scan for a document captured rarely or long ago. This one walks
        // the (document, num) index backwards.
        let mut stmt = self.conn.prepare_cached(match document {
            None => CAPTURES_NEWEST,
            Some(_) => CAPTURES_OF_DOCUMENT_NEWEST,
        })?;
        let rows = stmt.query_map(
            params![
                before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64),
                document.map(|d| d.min(i64::MAX as u64) as i64),
                limit.min(i64::MAX as u64) as i64
            ],
            |r| self.capture_from_row(r),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A document by id, by URL, or by the id of one of its captures or versions.
    pub fn document(&self, query: &str) -> Result<DocumentRow, StoreError> {
        let q = query.trim();
        let num: Option<i64> = if q.contains("://") {
            let url = exhibit_core::url::normalize_document_url(q)
                .map_err(|e| StoreError::BadQuery(e.to_string()))?;
            self.conn
                .query_row(
                    "SELECT num FROM documents WHERE url = ?1",
                    [url.as_str()],
                    |r| r.get(0),
                )
                .optional()?
        } else {
            let m = self.resolve_one(q)?;
            match m.id.kind() {
                RecordKind::Document => Some(m.id.number() as i64),
                RecordKind::Capture => {
                    Some(self.capture(m.id.number())?.document_id.number() as i64)
                }
                RecordKind::Version => {
                    Some(self.version(m.id.number())?.document_id.number() as i64)
                }
                RecordKind::Provision => {
                    Some(self.provision(m.id.number())?.document_id.number() as i64)
                }
                RecordKind::Reextraction => {
                    Some(self.reextraction(m.id.number())?.document_id.number() as i64)
                }
            }
        };
        let num = num.ok_or_else(|| StoreError::NotFound(format!("no document {q}")))?;
        self.conn
            .query_row(
                "SELECT num, url, entity, title, created_at, current_version, last_capture \
                 FROM documents WHERE num = ?1",
                [num],
                |r| self.document_from_row(r),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no document {q}")))
    }

    /// The [`DocumentRow`] in a row whose first seven columns are, in this order, `documents`'
    /// `num, url, entity, title, created_at, current_version, last_capture` (what follows them
    /// is the caller's).
    pub(crate) fn document_from_row(&self, r: &Row<'_>) -> rusqlite::Result<DocumentRow> {
        Ok(DocumentRow {
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
        })
    }

    fn version_from_row(&self, r: &Row<'_>) -> rusqlite::Result<VersionRow> {
        Ok(VersionRow {
            id: self.id(RecordKind::Version, r.get::<_, i64>("num")? as u64),
            document_id: self.id(RecordKind::Document, r.get::<_, i64>("document")? as u64),
            text_sha256: parse_digest(r.get("text_sha256")?)?,
            key_sha256: parse_digest(r.get("key_sha256")?)?.unwrap_or(Sha256Digest([0; 32])),
            opened_by: self.id(RecordKind::Capture, r.get::<_, i64>("opened_by")? as u64),
            first_seen: r.get("first_seen")?,
            last_seen: r.get("last_seen")?,
            captures: r.get::<_, i64>("captures")? as u64,
        })
    }

    /// A version by number.
    pub fn version(&self, number: u64) -> Result<VersionRow, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM versions WHERE num = ?1")?;
        stmt.query_row([number as i64], |r| self.version_from_row(r))
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: no such version",
                    self.id(RecordKind::Version, number)
                ))
            })
    }

    /// A document's versions, oldest first.
    pub fn versions(&self, document: &RecordId) -> Result<Vec<VersionRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(VERSIONS_OF_DOCUMENT)?;
        let rows = stmt.query_map([document.number() as i64], |r| self.version_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Documents, in id order: at most `limit`, numbered above `after` (paging).
    pub fn documents(&self, limit: u64, after: u64) -> Result<Vec<DocumentRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(DOCUMENTS_PAGE)?;
        let nums: Vec<i64> = stmt
            .query_map(
                params![after as i64, limit.min(i64::MAX as u64) as i64],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        nums.into_iter()
            .map(|n| self.document(&self.id(RecordKind::Document, n as u64).to_string()))
            .collect()
    }

    /// The manifest bytes and raw signature of a capture, read from disk (bounded) and checked
    /// against the manifest SHA-256 the catalog recorded.
    pub fn read_manifest(&self, row: &CaptureRow) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        self.read_signed(&row.id, &row.manifest_sha256)
    }
}
