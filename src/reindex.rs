//! `exhibit reindex`: rebuilds the catalog from the signed files (`exhibit_store::reindex`)
//! and prints what it indexed, the manifests it skipped as orphans, and where the old catalog
//! went.

use std::io::Write;
use std::path::Path;

use exhibit_store::ReindexReport;
use serde_json::json;

use crate::output::json_line;
use crate::{EXIT_OK, Failure};

/// `exhibit reindex`. For an archive in a bucket, the local copy is first brought up to the
/// bucket (every record this host lacks is fetched and checked), so a new host's catalog is
/// rebuilt from the bucket alone.
pub fn reindex(root: &Path, json: bool) -> Result<u8, Failure> {
    exhibit_store::remote::pull(root)?;
    let r = exhibit_store::reindex(root)?;
    if json {
        json_line(&json!({ "type": "reindex", "report": r }))?;
    } else {
        print_text(&r)?;
    }
    Ok(EXIT_OK)
}

fn print_text(r: &ReindexReport) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    for o in &r.orphans {
        writeln!(out, "orphan (skipped) {o}")?;
    }
    for t in &r.skipped_tokens {
        writeln!(out, "token (skipped) {t}")?;
    }
    writeln!(
        out,
        "indexed {} documents, {} versions, {} captures ({} failed), {} provisions, \
         {} re-extractions",
        r.documents, r.versions, r.captures, r.failures, r.provisions, r.reextractions
    )?;
    writeln!(
        out,
        "log: {} leaves, latest signed checkpoint {} ({} leaves beyond it indexed, {} dropped); \
         {} checkpoints, {} timestamps",
        r.log_size,
        r.checkpoint_size,
        r.beyond_checkpoint,
        r.dropped_leaves,
        r.checkpoints,
        r.timestamps
    )?;
    if r.rules_restored > 0 {
        writeln!(
            out,
            "extraction rules in force restored for {} documents (their change history is not in \
             the signed files)",
            r.rules_restored
        )?;
    }
    if let Some(size) = r.latest_checkpoint_replaced {
        writeln!(
            out,
            "log/checkpoint held the older signed checkpoint {size}; replaced by the latest ({})",
            r.checkpoint_size
        )?;
    }
    match &r.backup {
        Some(b) => writeln!(out, "previous catalog kept as {b}")?,
        None => writeln!(out, "no previous catalog")?,
    }
    Ok(())
}
