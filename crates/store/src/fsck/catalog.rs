//! The catalog as a database: SQLite's own integrity and foreign-key checks, the record counts,
//! and the values derived from the records (counters, versions, documents).
//!
//! Not for the record rows themselves ([`super::records`]).

use exhibit_core::RecordKind;

use super::report::problem;
use super::{Checker, show};
use crate::Archive;
use crate::layout::CATALOG_FILE;

impl<'a> Checker<'a> {
    pub(super) fn sqlite_integrity(&mut self) {
        let archive: &'a Archive = self.archive;
        let pragma = if self.opts.full {
            "PRAGMA integrity_check"
        } else {
            "PRAGMA quick_check"
        };
        let lines: rusqlite::Result<Vec<String>> = archive
            .conn
            .prepare(pragma)
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        match lines {
            Ok(lines) => {
                for line in lines.into_iter().filter(|l| l != "ok") {
                    self.catalog(format!("SQLite {pragma}: {line}"));
                }
            }
            Err(e) => self.catalog(format!("SQLite {pragma} failed: {e}")),
        }
        let fk: rusqlite::Result<Vec<(String, Option<i64>, String)>> = archive
            .conn
            .prepare("PRAGMA foreign_key_check")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            });
        match fk {
            Ok(rows) => {
                for (table, rowid, parent) in rows {
                    self.catalog(format!(
                        "{table} row {}: refers to a {parent} row that does not exist",
                        show(&rowid)
                    ));
                }
            }
            Err(e) => self.catalog(format!("SQLite foreign_key_check failed: {e}")),
        }
    }

    pub(super) fn count_records(&mut self) -> u64 {
        let archive: &'a Archive = self.archive;
        let mut count = |table: &str| -> u64 {
            match archive
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                }) {
                Ok(n) => n.max(0) as u64,
                Err(e) => {
                    self.found.add(problem(
                        "catalog",
                        CATALOG_FILE,
                        format!("cannot count {table}: {e}"),
                    ));
                    0
                }
            }
        };
        let (c, p, r) = (
            count("captures"),
            count("provisions"),
            count("reextractions"),
        );
        c + p + r
    }

    /// Derived catalog values: counters, versions, documents.
    pub(super) fn catalog_extras(&mut self) {
        let archive: &'a Archive = self.archive;
        for (kind, table) in [
            ('D', "documents"),
            ('C', "captures"),
            ('V', "versions"),
            ('P', "provisions"),
            ('R', "reextractions"),
        ] {
            let got = archive.conn.query_row(
                &format!(
                    "SELECT (SELECT last FROM counters WHERE kind = ?1), (SELECT max(num) FROM {table})"
                ),
                [kind.to_string()],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
            );
            match got {
                Ok((None, _)) => self.catalog(format!("counter {kind} is missing")),
                Ok((Some(last), Some(max))) if max > last => self.catalog(format!(
                    "counter {kind} is {last}, but {table} holds number {max}: new records would reuse ids"
                )),
                Ok(_) => {}
                Err(e) => self.catalog(format!("cannot check counter {kind}: {e}")),
            }
        }
        type Row = (i64, Option<i64>, Option<i64>, i64, Option<i64>, Option<i64>);
        let versions: rusqlite::Result<Vec<Row>> = archive
            .conn
            .prepare(
                "SELECT v.num, v.opened_by, v.captures, coalesce(g.n, 0), o.version, o.num \
                     FROM versions v \
                     LEFT JOIN (SELECT version, count(*) AS n FROM captures \
                                WHERE version IS NOT NULL GROUP BY version) g ON g.version = v.num \
                     LEFT JOIN captures o ON o.num = v.opened_by \
                     WHERE v.captures IS NOT coalesce(g.n, 0) OR o.num IS NULL \
                        OR o.version IS NOT v.num",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1).ok().flatten(),
                        r.get(2).ok().flatten(),
                        r.get(3)?,
                        r.get(4).ok().flatten(),
                        r.get(5).ok().flatten(),
                    ))
                })?
                .collect()
            });
        match versions {
            Ok(rows) => {
                for (num, opened_by, captures, counted, o_version, o_num) in rows {
                    let vid = self.id(RecordKind::Version, num.max(0) as u64);
                    if o_num.is_none() {
                        self.catalog(format!(
                            "versions row {vid}: opened_by {} is not a capture in the catalog",
                            show(&opened_by)
                        ));
                    } else if o_version != Some(num) {
                        self.catalog(format!(
                            "versions row {vid}: its opening capture {} belongs to version {}",
                            show(&opened_by),
                            show(&o_version)
                        ));
                    }
                    if captures != Some(counted) {
                        self.catalog(format!(
                            "versions row {vid}: captures is {}, but {counted} captures belong to it",
                            show(&captures)
                        ));
                    }
                }
            }
            Err(e) => self.catalog(format!("cannot check versions: {e}")),
        }
        let empty: rusqlite::Result<Vec<i64>> = archive
            .conn
            .prepare(
                "SELECT d.num FROM documents d \
                 WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.document = d.num)",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
        match empty {
            Ok(nums) => {
                for n in nums {
                    let did = self.id(RecordKind::Document, n.max(0) as u64);
                    self.catalog(format!("documents row {did} has no capture"));
                }
            }
            Err(e) => self.catalog(format!("cannot check documents: {e}")),
        }
    }
}
