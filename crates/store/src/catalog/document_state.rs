//! The per-document state that the capture path reads from the catalog before a capture and
//! keeps up to date when it commits: the extraction rules in force (`document_rules`: read and
//! changed here) and the content hash of the document's latest capture (a reference hint for
//! the new capture's object).
//!
//! This is the catalog layer: plain SQL on a connection, used by [`crate::Archive`], its
//! [`crate::CatalogReader`], [`crate::Batch`] and `rules.rs` alike. Not here: the rules'
//! history and re-extraction records (`rules.rs`), history pages (`history.rs`).

use exhibit_core::Sha256Digest;
use exhibit_core::manifest::ExtractionRules;
use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;

/// The current rules of the document `url` (`None`: untracked, or no rules).
pub(crate) fn rules_for_url_in(
    conn: &Connection,
    url: &str,
) -> Result<Option<ExtractionRules>, StoreError> {
    let num: Option<i64> = conn
        .query_row("SELECT num FROM documents WHERE url = ?1", [url], |r| {
            r.get(0)
        })
        .optional()?;
    match num {
        Some(n) => current_rules(conn, n as u64),
        None => Ok(None),
    }
}

/// The current rules of the document numbered `document` (`None`: none, or empty).
pub(crate) fn current_rules(
    conn: &Connection,
    document: u64,
) -> Result<Option<ExtractionRules>, StoreError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT rules FROM document_rules WHERE document = ?1 ORDER BY id DESC LIMIT 1",
            [document as i64],
            |r| r.get(0),
        )
        .optional()?;
    match json {
        None => Ok(None),
        Some(j) => {
            let rules: ExtractionRules =
                serde_json::from_str(&j).map_err(|e| StoreError::Corrupt {
                    what: "catalog document_rules".into(),
                    message: e.to_string(),
                })?;
            Ok((!rules.is_empty()).then_some(rules))
        }
    }
}

/// Records `rules` as the document's rules when they differ from the current ones (inside the
/// caller's transaction). Returns whether anything changed.
pub(crate) fn record_rules_change(
    conn: &Connection,
    document: u64,
    rules: &ExtractionRules,
    at: &str,
    how: &str,
) -> Result<bool, StoreError> {
    let now = current_rules(conn, document)?.unwrap_or_default();
    if now == *rules {
        return Ok(false);
    }
    let json = serde_json::to_string(rules).map_err(|e| StoreError::Rejected {
        what: "rules".into(),
        message: e.to_string(),
    })?;
    super::rows::insert_rules_change(conn, document, &json, at, how)?;
    Ok(true)
}

/// The content SHA-256 of the latest capture of the document `url` that has content (`None`
/// for a new document): what a new capture of it most likely resembles.
pub(crate) fn previous_content_in(
    conn: &Connection,
    url: &str,
) -> Result<Option<Sha256Digest>, StoreError> {
    let hex: Option<Option<String>> = conn
        .prepare_cached(PREVIOUS_CONTENT)?
        .query_row([url], |r| r.get(0))
        .optional()?;
    Ok(hex.flatten().and_then(|h| h.parse().ok()))
}

/// The content hash of a document's last capture (by URL): two index look-ups. (A join that
/// filters on `captures.sha256` lets SQLite walk every capture for a new document.)
pub(crate) const PREVIOUS_CONTENT: &str = "SELECT sha256 FROM captures \
     WHERE num = (SELECT last_capture FROM documents WHERE url = ?1)";
