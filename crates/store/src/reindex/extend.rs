//! The catalog extended, not rebuilt: records that arrived after the end of its log (another
//! host's, pulled from an archive's bucket) are indexed in log order by the very steps a full
//! [`super::reindex`] takes — each manifest verified against its leaf, its signature and the
//! numbering, and indexed as the write path would have (`Builder::index_manifest`), the tree's
//! nodes appended, every new checkpoint checked against the tree — in one transaction on the
//! live catalog. A pull costs what it brings, not the size of the archive.

use std::path::Path;

use exhibit_core::RecordId;
use exhibit_core::manifest::ExtractionRules;
use exhibit_core::merkle::Hash;
use rusqlite::TransactionBehavior;

use super::{Builder, KINDS, RULES_FROM_REINDEX, ReindexReport, corrupt};
use crate::layout::manifest_path;
use crate::objects::{ObjectStore, objects_dir};
use crate::{Archive, StoreError};

/// Indexes `records` — `(leaf index, record id, leaf hash)`, consecutive from the catalog's
/// log size — and every checkpoint file and token the catalog lacks. All or nothing.
pub(crate) fn extend(
    root: &Path,
    records: &[(u64, RecordId, Hash)],
) -> Result<ReindexReport, StoreError> {
    let mut archive = Archive::open(root)?;
    let keys = crate::key_history::load(root, &archive.config.origin)?;
    let origin = archive.config.origin.clone();
    let prefix = archive.prefix.clone();
    let tx = archive
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let start = crate::log::size(&tx)?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS rules_seen (document INTEGER PRIMARY KEY,
                                                    rules TEXT NOT NULL, at TEXT NOT NULL);
         DELETE FROM rules_seen;",
    )?;
    let mut last_num = [0u64; 3];
    for (slot, kind) in last_num.iter_mut().zip(KINDS) {
        let table = match kind.letter() {
            'C' => "captures",
            'P' => "provisions",
            _ => "reextractions",
        };
        let n: i64 = tx.query_row(
            &format!("SELECT coalesce(max(num), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )?;
        *slot = n as u64;
    }
    let mut builder = Builder {
        root,
        conn: &tx,
        origin: &origin,
        prefix: &prefix,
        keys,
        objects: ObjectStore::new(objects_dir(root)),
        report: ReindexReport::default(),
        last_num,
    };
    let checkpoints = builder.load_checkpoints()?;
    let known: i64 = tx.query_row("SELECT coalesce(max(size), 0) FROM checkpoints", [], |r| {
        r.get(0)
    })?;
    let mut size = start;
    for (idx, id, leaf) in records {
        if *idx != size {
            return Err(corrupt(
                manifest_path(id),
                format!("would be log leaf {idx}, but the catalog's log ends at {size}"),
            ));
        }
        builder.index_manifest(&manifest_path(id), *idx, leaf)?;
        builder.append_leaf(*idx, *leaf)?;
        size += 1;
    }
    for cp in checkpoints
        .iter()
        .filter(|c| c.size as i64 > known && c.size > 0)
    {
        if cp.size > size {
            return Err(corrupt(
                crate::log::checkpoint_path(root, cp.size).display(),
                format!("signs a tree of {} leaves but the log has {size}", cp.size),
            ));
        }
        builder.check_root(cp)?;
        tx.execute(
            "INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)",
            rusqlite::params![cp.size as i64, &cp.root[..], cp.note],
        )?;
        builder.report.checkpoints += 1;
    }
    builder.index_timestamps(&checkpoints)?;
    // The rules each document's newest record carried, where they differ from the catalog's.
    let seen: Vec<(i64, String, String)> = tx
        .prepare("SELECT document, rules, at FROM rules_seen ORDER BY document")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (document, rules, at) in seen {
        let rules: ExtractionRules =
            serde_json::from_str(&rules).map_err(|e| corrupt("rules", e.to_string()))?;
        crate::catalog::document_state::record_rules_change(
            &tx,
            document as u64,
            &rules,
            &at,
            RULES_FROM_REINDEX,
        )?;
    }
    builder.store_counters(size)?;
    let report = std::mem::take(&mut builder.report);
    drop(builder);
    tx.commit()?;
    Ok(ReindexReport {
        log_size: size,
        ..report
    })
}
