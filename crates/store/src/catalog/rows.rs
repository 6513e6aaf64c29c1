//! One writer per catalog table, used by the live path ([`crate::Batch`], provisions, rules)
//! and by [`crate::reindex`] alike, so that each row is written in one place: every column
//! comes from the signed manifest (docs/FORMAT.md §7's table says which field), plus what the
//! write gives it (the manifest's SHA-256, path and leaf index). Also the one read both need
//! to apply the chain rules: a document's [`DocumentChain`] as the catalog records it.
//!
//! Not here: the schema and opening the catalog (the parent module), the look-up queries
//! (`queries.rs`), the log's tables (`log.rs`, `timestamps.rs`), and any decision about what
//! a row should say (the chain rules are `exhibit_core::chain`).

use exhibit_core::chain::{CurrentVersion, DocumentChain, Pin};
use exhibit_core::manifest::{CaptureManifest, Change};
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::reextraction::ReextractionManifest;
use exhibit_core::{IdPrefix, RecordId, RecordKind, Sha256Digest};
use rusqlite::{Connection, params};

use super::{exec_cached, parse_catalog_digest, query_row_cached};
use crate::StoreError;

/// `documents`: a new document, created by its first capture.
pub(crate) fn insert_document(
    conn: &Connection,
    num: u64,
    url: &str,
    created_at: &str,
) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "INSERT INTO documents (num, url, created_at) VALUES (?1, ?2, ?3)",
        params![num as i64, url, created_at],
    )?;
    Ok(())
}

/// `documents`: the document of capture `m` after it (its latest capture, entity and title
/// as `m` says, and the version `m` opened or confirmed, if any, as current).
pub(crate) fn update_document(conn: &Connection, m: &CaptureManifest) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "UPDATE documents SET last_capture = ?2, entity = ?3, title = ?4, \
         current_version = coalesce(?5, current_version) WHERE num = ?1",
        params![
            m.document.id.number() as i64,
            m.id.number() as i64,
            m.document.entity,
            m.document.title,
            m.version.as_ref().map(|v| v.id.number() as i64),
        ],
    )?;
    Ok(())
}

/// `versions`: what capture `m` (manifest SHA-256 `manifest_sha256`) does to its version: a
/// `new` one opens it with version key `key`, an `unchanged` one is counted in it. An error
/// inserting the new row (the version number is taken) is returned as it is.
pub(crate) fn record_version(
    conn: &Connection,
    m: &CaptureManifest,
    key: &Sha256Digest,
    manifest_sha256: &Sha256Digest,
) -> rusqlite::Result<()> {
    let Some(v) = &m.version else { return Ok(()) };
    match v.change {
        Change::New => exec_cached(
            conn,
            "INSERT INTO versions (num, document, key_sha256, text_sha256, opened_by, \
             opened_manifest_sha256, first_seen, last_seen, captures) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)",
            params![
                v.id.number() as i64,
                m.document.id.number() as i64,
                key.to_hex(),
                m.text.as_ref().map(|t| t.sha256.to_hex()),
                m.id.number() as i64,
                manifest_sha256.to_hex(),
                m.captured_at,
            ],
        ),
        Change::Unchanged => exec_cached(
            conn,
            "UPDATE versions SET captures = captures + 1, \
             last_seen = max(last_seen, ?2) WHERE num = ?1",
            params![v.id.number() as i64, m.captured_at],
        ),
    }?;
    Ok(())
}

/// `versions`: the key a version is compared with from now on (after a re-extraction, §3.9).
pub(crate) fn set_version_key(
    conn: &Connection,
    version: u64,
    key: &Sha256Digest,
) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "UPDATE versions SET key_sha256 = ?2 WHERE num = ?1",
        params![version as i64, key.to_hex()],
    )?;
    Ok(())
}

/// `captures`: the row of capture manifest `m`, whose bytes hash to `manifest_sha256`, stored
/// at `rel` (relative to the root), logged at leaf `log_index`.
pub(crate) fn insert_capture(
    conn: &Connection,
    m: &CaptureManifest,
    manifest_sha256: &Sha256Digest,
    rel: &str,
    log_index: u64,
) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "INSERT INTO captures (num, document, version, ok, captured_at, method, status, \
         error, sha256, blake3, size, media_type, text_sha256, text_blake3, text_size, \
         manifest_sha256, manifest_path, log_index) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            m.id.number() as i64,
            m.document.id.number() as i64,
            m.version.as_ref().map(|v| v.id.number() as i64),
            m.is_success(),
            m.captured_at,
            m.method.as_str(),
            m.http.as_ref().and_then(|h| h.status),
            m.error,
            m.content.as_ref().map(|c| c.sha256.to_hex()),
            m.content.as_ref().map(|c| c.blake3.to_hex()),
            m.content.as_ref().map(|c| c.size as i64),
            m.content.as_ref().map(|c| c.media_type.clone()),
            m.text.as_ref().map(|t| t.sha256.to_hex()),
            m.text.as_ref().map(|t| t.blake3.to_hex()),
            m.text.as_ref().map(|t| t.size as i64),
            manifest_sha256.to_hex(),
            rel,
            log_index as i64,
        ],
    )?;
    Ok(())
}

/// `provisions`: the row of provision manifest `m` (as [`insert_capture`]).
pub(crate) fn insert_provision(
    conn: &Connection,
    m: &ProvisionManifest,
    manifest_sha256: &Sha256Digest,
    rel: &str,
    log_index: u64,
) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "INSERT INTO provisions (num, document, version, capture, created_at, quote_sha256, \
         text_sha256, char_start, char_end, manifest_sha256, manifest_path, log_index) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            m.id.number() as i64,
            m.document.id.number() as i64,
            m.version.number() as i64,
            m.capture.id.number() as i64,
            m.created_at,
            m.quote.sha256.to_hex(),
            m.text.sha256.to_hex(),
            m.quote.char_start as i64,
            m.quote.char_end as i64,
            manifest_sha256.to_hex(),
            rel,
            log_index as i64,
        ],
    )?;
    Ok(())
}

/// `reextractions`: the row of re-extraction manifest `m` (as [`insert_capture`]).
pub(crate) fn insert_reextraction(
    conn: &Connection,
    m: &ReextractionManifest,
    manifest_sha256: &Sha256Digest,
    rel: &str,
    log_index: u64,
) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "INSERT INTO reextractions (num, document, created_at, manifest_sha256, \
         manifest_path, log_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            m.id.number() as i64,
            m.document.id.number() as i64,
            m.created_at,
            manifest_sha256.to_hex(),
            rel,
            log_index as i64
        ],
    )?;
    Ok(())
}

/// `document_rules`: a change of a document's extraction rules (`rules` as JSON, §7).
pub(crate) fn insert_rules_change(
    conn: &Connection,
    document: u64,
    rules_json: &str,
    set_at: &str,
    how: &str,
) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "INSERT INTO document_rules (document, rules, set_at, how) VALUES (?1, ?2, ?3, ?4)",
        params![document as i64, rules_json, set_at, how],
    )?;
    Ok(())
}

/// `counters`: the last number allocated of `kind`.
pub(crate) fn store_counter(conn: &Connection, kind: char, last: u64) -> rusqlite::Result<()> {
    exec_cached(
        conn,
        "UPDATE counters SET last = ?2 WHERE kind = ?1",
        params![kind.to_string(), last as i64],
    )?;
    Ok(())
}

/// The chain state (§9.2) of a document whose `documents` row names `last_capture` and
/// `current_version`: the pinned manifest hashes come from `captures` and `versions`. A
/// caller that will not look at the current version (a failed capture) passes `None` for it,
/// and its row is not read.
pub(crate) fn document_chain(
    conn: &Connection,
    prefix: &IdPrefix,
    last_capture: Option<u64>,
    current_version: Option<u64>,
) -> Result<DocumentChain, StoreError> {
    let last_capture = match last_capture {
        Some(n) => {
            let sha: String = query_row_cached(
                conn,
                "SELECT manifest_sha256 FROM captures WHERE num = ?1",
                [n as i64],
                |r| r.get(0),
            )?;
            Some(Pin {
                id: RecordId::new(prefix, RecordKind::Capture, n),
                manifest_sha256: parse_catalog_digest(&sha)?,
            })
        }
        None => None,
    };
    let current = match current_version {
        Some(v) => {
            let (key, opened_by, opened_sha) = query_row_cached(
                conn,
                "SELECT key_sha256, opened_by, opened_manifest_sha256 FROM versions \
                 WHERE num = ?1",
                [v as i64],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, String>(2)?,
                    ))
                },
            )?;
            Some(CurrentVersion {
                id: RecordId::new(prefix, RecordKind::Version, v),
                // Compared as the catalog spells it: a key not in canonical hex equals no
                // capture's, so the capture opens a version.
                key: key
                    .parse()
                    .ok()
                    .filter(|k: &Sha256Digest| k.to_hex() == key),
                opened_by: Pin {
                    id: RecordId::new(prefix, RecordKind::Capture, opened_by),
                    manifest_sha256: parse_catalog_digest(&opened_sha)?,
                },
            })
        }
        None => None,
    };
    Ok(DocumentChain {
        last_capture,
        current,
    })
}
