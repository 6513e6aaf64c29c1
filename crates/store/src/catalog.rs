//! The SQLite catalog: an index over manifests and objects, rebuildable from them.
//!
//! This module creates, opens, checks and upgrades it; [`rows`] writes its rows, one writer
//! per table, for the live path and `reindex` alike; [`decode`] reads them leniently, one
//! decoder per table, for a checker of a damaged catalog; [`document_state`] reads and keeps
//! what the capture path needs per document (its rules, its latest content hash).
//!
//! This is the bottom layer of the crate's catalog code: it uses nothing above it (not
//! [`crate::Archive`], not the look-ups in `queries.rs`, `history.rs` or `rules.rs`).

pub(crate) mod decode;
pub(crate) mod document_state;
pub(crate) mod rows;

use exhibit_core::Sha256Digest;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::StoreError;

/// Catalog schema version, kept in `meta`. Version 2 added `provisions`, `document_rules` and
/// `reextractions`, 3 `timestamps`, 4 the documents' search index; an older catalog is upgraded
/// in place when the archive is opened.
pub const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE counters (kind TEXT PRIMARY KEY, last INTEGER NOT NULL) STRICT;
INSERT INTO counters (kind, last) VALUES ('D', 0), ('C', 0), ('V', 0), ('P', 0), ('L', 0);
CREATE TABLE documents (
    num INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    entity TEXT,
    title TEXT,
    created_at TEXT NOT NULL,
    current_version INTEGER,
    last_capture INTEGER
) STRICT;
CREATE TABLE versions (
    num INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(num),
    key_sha256 TEXT NOT NULL,
    text_sha256 TEXT,
    opened_by INTEGER NOT NULL,
    opened_manifest_sha256 TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    captures INTEGER NOT NULL
) STRICT;
CREATE INDEX versions_document ON versions(document, num);
CREATE INDEX versions_text ON versions(text_sha256);
CREATE TABLE captures (
    num INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(num),
    version INTEGER REFERENCES versions(num),
    ok INTEGER NOT NULL,
    captured_at TEXT NOT NULL,
    method TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    sha256 TEXT,
    blake3 TEXT,
    size INTEGER,
    media_type TEXT,
    text_sha256 TEXT,
    text_blake3 TEXT,
    text_size INTEGER,
    manifest_sha256 TEXT NOT NULL UNIQUE,
    manifest_path TEXT NOT NULL,
    log_index INTEGER NOT NULL UNIQUE
) STRICT;
CREATE INDEX captures_document ON captures(document, num);
CREATE INDEX captures_sha256 ON captures(sha256);
CREATE INDEX captures_text ON captures(text_sha256);
CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
) STRICT;
"#;

/// Added in schema 2: quoted passages of versions, extraction rules, re-extractions.
const SCHEMA_2: &str = r#"
INSERT OR IGNORE INTO counters (kind, last) VALUES ('R', 0);
CREATE TABLE provisions (
    num INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(num),
    version INTEGER NOT NULL REFERENCES versions(num),
    capture INTEGER NOT NULL REFERENCES captures(num),
    created_at TEXT NOT NULL,
    quote_sha256 TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    manifest_sha256 TEXT NOT NULL UNIQUE,
    manifest_path TEXT NOT NULL,
    log_index INTEGER NOT NULL UNIQUE
) STRICT;
CREATE INDEX provisions_version ON provisions(version, num);
CREATE INDEX provisions_document ON provisions(document, num);
CREATE INDEX provisions_quote ON provisions(quote_sha256);
CREATE TABLE document_rules (
    id INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(num),
    rules TEXT NOT NULL,
    set_at TEXT NOT NULL,
    how TEXT NOT NULL
) STRICT;
CREATE INDEX document_rules_document ON document_rules(document, id);
CREATE TABLE reextractions (
    num INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(num),
    created_at TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL UNIQUE,
    manifest_path TEXT NOT NULL,
    log_index INTEGER NOT NULL UNIQUE
) STRICT;
CREATE INDEX reextractions_document ON reextractions(document, num);
"#;

/// Added in schema 3: RFC 3161 tokens over signed checkpoints (the `.tsr` files beside the
/// checkpoint files are the truth; this indexes them), and two indexes that keep look-ups
/// O(log n) at millions of captures: a version's captures (`bundle`/`verify` of a version id
/// scanned the whole table without it) and a document's failed captures (`history` counted
/// them by reading every capture row of the document; partial, so it holds only failures).
const SCHEMA_3: &str = r#"
CREATE TABLE timestamps (
    size INTEGER NOT NULL REFERENCES checkpoints(size),
    tsa TEXT NOT NULL,
    gen_time TEXT NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (size, tsa)
) STRICT, WITHOUT ROWID;
CREATE INDEX captures_version ON captures(version, num);
CREATE INDEX captures_failed ON captures(document, num) WHERE ok = 0;
"#;

/// Added in schema 4, for browsing (`exhibit serve`): a trigram full-text index of the
/// documents' URL, title and entity, so that a search for any substring of three or more
/// characters reads the index instead of every document, and an index of documents by entity.
/// The search index is external-content (it stores only the trigram index, the text stays in
/// `documents`) and is kept in step by triggers, so every writer of `documents` — capture,
/// reindex, a pull — maintains it without knowing of it. Every capture sets its document's
/// title and entity again; the update trigger re-indexes only when one of them changed.
const SCHEMA_4: &str = r#"
CREATE INDEX documents_entity ON documents(entity, num);
CREATE VIRTUAL TABLE documents_search USING fts5(
    url, title, entity, content='documents', content_rowid='num', tokenize='trigram'
);
CREATE TRIGGER documents_search_insert AFTER INSERT ON documents BEGIN
    INSERT INTO documents_search(rowid, url, title, entity)
        VALUES (new.num, new.url, new.title, new.entity);
END;
CREATE TRIGGER documents_search_update AFTER UPDATE OF url, title, entity ON documents
WHEN old.url IS NOT new.url OR old.title IS NOT new.title OR old.entity IS NOT new.entity BEGIN
    INSERT INTO documents_search(documents_search, rowid, url, title, entity)
        VALUES ('delete', old.num, old.url, old.title, old.entity);
    INSERT INTO documents_search(rowid, url, title, entity)
        VALUES (new.num, new.url, new.title, new.entity);
END;
CREATE TRIGGER documents_search_delete AFTER DELETE ON documents BEGIN
    INSERT INTO documents_search(documents_search, rowid, url, title, entity)
        VALUES ('delete', old.num, old.url, old.title, old.entity);
END;
INSERT INTO documents_search(documents_search) VALUES ('rebuild');
"#;

/// Merges the documents' search index into one segment (FTS5 `optimize`): searches then read
/// one posting list per trigram instead of one per segment. Run where a catalog is built in
/// bulk (`reindex`, the synthetic catalogs of the benchmarks); captures leave the index to
/// FTS5's own incremental merging. About 0.15 s at 40,000 documents.
pub fn optimize_search(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO documents_search(documents_search) VALUES ('optimize')",
        [],
    )?;
    Ok(())
}

/// Checks, before SQLite is let open the database `path`, that it and each of its
/// [`CATALOG_SIDE_FILES`](crate::layout::CATALOG_SIDE_FILES) is absent or a regular file — by `lstat`, never following a link. SQLite
/// opens these files itself, following links and blocking on a FIFO (it opens the rollback
/// journal to see whether it is hot: a FIFO there hung every command for ever). Anything else
/// is a [`StoreError::Corrupt`] naming the file and what it is (exit 1; fsck reports it as a
/// `catalog` problem). SQLite's temporary files are not the archive's: it makes them with
/// random names and `O_EXCL` in `SQLITE_TMPDIR`/`TMPDIR`.
pub fn check_files(path: &std::path::Path) -> Result<(), StoreError> {
    let mut files = vec![path.to_path_buf()];
    for suffix in crate::layout::CATALOG_SIDE_FILES {
        files.push(crate::layout::sqlite_side_file(path, suffix));
    }
    for file in files {
        match std::fs::symlink_metadata(&file) {
            Ok(m) if m.file_type().is_file() => {}
            Ok(m) => {
                return Err(StoreError::Corrupt {
                    what: file.display().to_string(),
                    message: format!(
                        "is {}, not a regular file; the catalog is not opened (SQLite would \
                         follow a link or wait on a FIFO for ever): move it out of the archive",
                        crate::fsutil::file_kind(m.file_type())
                    ),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&file, e)),
        }
    }
    Ok(())
}

/// Opens the database `path` with `flags` once [`check_files`] has passed: the one way this
/// crate lets SQLite open a catalog (or a catalog being built).
pub fn connect(
    path: &std::path::Path,
    flags: rusqlite::OpenFlags,
) -> Result<Connection, StoreError> {
    check_files(path)?;
    Ok(Connection::open_with_flags(path, flags)?)
}

/// Opens the catalog with the pragmas every connection needs (after [`check_files`]).
pub fn open(path: &std::path::Path) -> Result<Connection, StoreError> {
    let mut conn = connect(path, rusqlite::OpenFlags::default())?;
    // Concurrent writers wait for each other instead of failing; set first, so that even the
    // pragmas below wait rather than fail while another process holds the lock.
    conn.busy_handler(Some(wait_for_lock))?;
    // WAL lets readers run while a capture writes; FULL makes every commit durable.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// How long a connection waits for another process's lock before giving up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);
/// How often a waiting connection tries again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// SQLite's busy handler: sleeps [`LOCK_POLL`] and tries again, for at least [`LOCK_WAIT`] in
/// all. SQLite's own (`busy_timeout`) backs off to one try every 100 ms, which rarely falls
/// into the moment between two batches of a batch capture in another process (it holds the
/// write lock while it records captures, and lets it go only after each commit): a short
/// capture could then wait for the whole batch capture.
fn wait_for_lock(attempt: i32) -> bool {
    let attempts = LOCK_WAIT.as_micros() / LOCK_POLL.as_micros();
    if (attempt as u128) >= attempts {
        return false;
    }
    std::thread::sleep(LOCK_POLL);
    true
}

/// Creates the schema in an empty catalog.
pub fn create(conn: &mut Connection, origin: &str, prefix: &str) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(SCHEMA_2)?;
    tx.execute_batch(SCHEMA_3)?;
    tx.execute_batch(SCHEMA_4)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('schema', ?1), ('origin', ?2), ('prefix', ?3)",
        params![SCHEMA_VERSION.to_string(), origin, prefix],
    )?;
    tx.commit()?;
    Ok(())
}

/// Checks the schema version of an opened catalog, upgrading an older one in place (one
/// transaction per step: 1 → 2 adds provisions, rules and re-extractions; 2 → 3 adds
/// timestamps; 3 → 4 the documents' search index; concurrent openers wait and re-check).
pub fn check(conn: &mut Connection, path: &std::path::Path) -> Result<(), StoreError> {
    for (from, step) in [("1", SCHEMA_2), ("2", SCHEMA_3), ("3", SCHEMA_4)] {
        if schema(conn, path)?.as_deref() == Some(from) {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if schema(&tx, path)?.as_deref() == Some(from) {
                tx.execute_batch(step)?;
                let to = from.parse::<i64>().unwrap_or(0) + 1;
                tx.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'schema'",
                    [to.to_string()],
                )?;
            }
            tx.commit()?;
        }
    }
    match schema(conn, path)?.as_deref() {
        Some("4") => Ok(()),
        other => Err(StoreError::Corrupt {
            what: path.display().to_string(),
            message: format!(
                "catalog schema {other:?} is not supported (expected {SCHEMA_VERSION}); \
                 is it from a newer exhibit?"
            ),
        }),
    }
}

fn schema(conn: &Connection, path: &std::path::Path) -> Result<Option<String>, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
        r.get(0)
    })
    .optional()
    .map_err(|e| StoreError::Corrupt {
        what: path.display().to_string(),
        message: format!("not an exhibit catalog ({e})"),
    })
}

/// A value from the `meta` table.
pub fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// The last number allocated of a record kind (its `counters` row). A missing row is a one-line
/// error.
pub fn counter(conn: &Connection, kind: char) -> Result<u64, StoreError> {
    let n: Option<i64> = conn
        .prepare_cached("SELECT last FROM counters WHERE kind = ?1")?
        .query_row([kind.to_string()], |r| r.get(0))
        .optional()?;
    n.and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| counter_exhausted(kind))
}

/// The error for a counter that is missing or cannot go higher.
pub fn counter_exhausted(kind: char) -> StoreError {
    StoreError::Corrupt {
        what: crate::layout::CATALOG_FILE.into(),
        message: format!(
            "the {kind} counter (counters.last) is missing or at its largest value ({}): no \
             more {kind} numbers can be allocated",
            i64::MAX
        ),
    }
}

/// `execute` with a statement from the connection's cache (batches run the same statements
/// thousands of times; parsing them each time showed in profiles).
pub(crate) fn exec_cached(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` with a statement from the connection's cache.
pub(crate) fn query_row_cached<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// A hash column's value as a digest (`None` for null); a value that is not a SHA-256 in hex
/// is a conversion error.
pub(crate) fn parse_digest(s: Option<String>) -> rusqlite::Result<Option<Sha256Digest>> {
    s.map(|s| {
        s.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// A hash column's value, which must be present and a SHA-256 in hex.
pub(crate) fn parse_catalog_digest(s: &str) -> Result<Sha256Digest, StoreError> {
    parse_digest(Some(s.to_owned()))
        .map_err(StoreError::from)?
        .ok_or_else(|| StoreError::Corrupt {
            what: "catalog".into(),
            message: "missing hash".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_1_catalog_is_upgraded_in_place_to_4_and_a_future_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let mut conn = open(&path).unwrap();
        create(&mut conn, "o", "EX").unwrap();
        // What a catalog written by the first release looks like.
        conn.execute_batch(
            "DROP TRIGGER documents_search_insert; DROP TRIGGER documents_search_update; \
             DROP TRIGGER documents_search_delete; DROP TABLE documents_search; \
             DROP INDEX documents_entity; \
             DROP TABLE timestamps; DROP INDEX captures_version; DROP INDEX captures_failed; \
             DROP TABLE provisions; DROP TABLE document_rules; \
             DROP TABLE reextractions; DELETE FROM counters WHERE kind = 'R'; UPDATE meta SET value = '1' WHERE key = 'schema';",
        )
        .unwrap();
        // A document written before the upgrade is found by the search index it builds.
        conn.execute(
            "INSERT INTO documents (num, url, created_at) VALUES (1, 'https://example.com/terms', 'now')",
            [],
        )
        .unwrap();
        check(&mut conn, &path).unwrap();
        assert_eq!(meta(&conn, "schema").unwrap().as_deref(), Some("4"));
        let found: i64 = conn
            .query_row(
                "SELECT rowid FROM documents_search WHERE documents_search MATCH '\"example.com/t\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1);
        for table in ["provisions", "timestamps"] {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
        for index in ["captures_version", "captures_failed", "documents_entity"] {
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [index],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{index}");
        }
        // Upgrading twice is a no-op.
        check(&mut conn, &path).unwrap();
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema'", [])
            .unwrap();
        let e = check(&mut conn, &path).unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
    }
}
