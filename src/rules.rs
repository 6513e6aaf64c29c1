//! Extraction rules per document (`document rules`, `capture --select/--remove`) and
//! `reextract`.

use std::io::Write;
use std::path::Path;

use exhibit_capture::Capturer;
use exhibit_core::RecordId;
use exhibit_core::manifest::ExtractionRules;
use exhibit_core::reextraction::ReextractionManifest;
use exhibit_ops::rules::RulesEdit;
use exhibit_store::Archive;
use serde_json::json;

use crate::cli::{ReextractArgs, RulesArgs};
use crate::output::{human_time, json_line};
use crate::{EXIT_FAILED, EXIT_OK, Failure};

fn describe(rules: &ExtractionRules) -> String {
    if rules.is_empty() {
        return "none (the built-in extraction)".into();
    }
    let mut parts = Vec::new();
    for s in &rules.select {
        parts.push(format!("--select {s:?}"));
    }
    for r in &rules.remove {
        parts.push(format!("--remove {r:?}"));
    }
    parts.join(" ")
}

/// `exhibit document rules DOCUMENT [--select CSS]… [--remove CSS]… [--clear]`.
pub fn rules(root: &Path, args: RulesArgs, json: bool) -> Result<u8, Failure> {
    let mut archive = Archive::open(root)?;
    let edit = if args.clear {
        Some(RulesEdit::Clear)
    } else if !args.select.is_empty() || !args.remove.is_empty() {
        Some(RulesEdit::Set(ExtractionRules {
            select: args.select,
            remove: args.remove,
        }))
    } else {
        None
    };
    let exhibit_ops::rules::DocumentRules {
        document: doc,
        edited,
        changed,
        current,
        history,
    } = exhibit_ops::rules::edit(&mut archive, &args.document, edit)?;
    if json {
        json_line(&json!({
            "document": doc.id,
            "url": doc.url,
            "rules": current,
            "changed": changed,
            "history": history,
        }))?;
        return Ok(EXIT_OK);
    }
    let mut o = crate::output::text_stdout();
    writeln!(o, "Document  {}  {}", doc.id, doc.url)?;
    writeln!(o, "Rules     {}", describe(&current))?;
    match (edited, changed) {
        (true, true) => writeln!(
            o,
            "Changed: later captures extract with these rules; earlier texts stay as signed (see `exhibit reextract {}`).",
            doc.id
        )?,
        (true, false) => writeln!(o, "Unchanged: these were already the rules.")?,
        (false, _) => {}
    }
    if !history.is_empty() {
        writeln!(o)?;
        writeln!(o, "History:")?;
        for h in &history {
            writeln!(
                o,
                "  {}  {:<26} {}",
                human_time(&h.set_at),
                h.how,
                describe(&h.rules)
            )?;
        }
    }
    Ok(EXIT_OK)
}

fn render_plan(o: &mut impl Write, m: &ReextractionManifest) -> Result<(), Failure> {
    let changed = m
        .captures
        .iter()
        .filter(|c| c.old_text_sha256 != c.new_text_sha256)
        .count();
    writeln!(o, "Document  {}  {}", m.document.id, m.document.url)?;
    writeln!(
        o,
        "Extractor {} {}, rules: {}",
        m.extractor.name,
        m.extractor.version,
        describe(&m.extractor.rules.clone().unwrap_or_default())
    )?;
    writeln!(
        o,
        "Captures  {} re-extracted, {changed} with a different text than signed",
        m.captures.len()
    )?;
    let old_count = {
        let mut v: Vec<&RecordId> = m.captures.iter().map(|c| &c.old_version).collect();
        v.dedup();
        v.len()
    };
    writeln!(
        o,
        "Versions  {old_count} as signed, {} in the new view",
        m.versions.len()
    )?;
    writeln!(o)?;
    for (i, v) in m.versions.iter().enumerate() {
        let olds: Vec<String> = v.old_versions.iter().map(ToString::to_string).collect();
        writeln!(
            o,
            "  new {:>3}  {} .. {}  {} capture(s)  text {}  from {}",
            i + 1,
            v.first,
            v.last,
            v.captures,
            v.key_sha256.short(16),
            olds.join(" + ")
        )?;
    }
    let merges = m.merges();
    let splits = m.splits();
    writeln!(o)?;
    if merges.is_empty() && splits.is_empty() {
        writeln!(o, "No versions merge or split.")?;
    }
    for (v, olds) in merges {
        let olds: Vec<String> = olds.iter().map(ToString::to_string).collect();
        writeln!(
            o,
            "MERGE  {} become one version ({} .. {})",
            olds.join(", "),
            v.first,
            v.last
        )?;
    }
    for (old, n) in splits {
        writeln!(o, "SPLIT  {old} becomes {n} versions")?;
    }
    Ok(())
}

/// `exhibit reextract DOCUMENT [--dry-run]`.
pub fn reextract(root: &Path, args: ReextractArgs, json: bool) -> Result<u8, Failure> {
    let mut archive = Archive::open(root)?;
    let doc = archive.document(&args.document)?;
    // No capture of the document may commit between reading its captures and recording the
    // new view (which sets the key the next capture is compared with).
    let _lock = archive.lock_document(&doc.url)?;
    let mut capturer = Capturer::new(&mut archive)?;
    let now = chrono::Utc::now();
    let draft = capturer.plan_reextraction(&doc.id, !args.dry_run, now)?;
    if draft.captures.is_empty() {
        return Err(Failure {
            code: EXIT_FAILED,
            message: format!("{}: no successful capture to re-extract", doc.id),
        });
    }
    if args.dry_run {
        // The record as it would be, unsigned and unnumbered.
        let preview = exhibit_ops::rules::preview(&doc.id, draft)?;
        if json {
            json_line(&json!({"dry_run": true, "reextraction": preview}))?;
        } else {
            let mut o = crate::output::text_stdout();
            render_plan(&mut o, &preview)?;
            writeln!(o, "\nDry run: nothing recorded.")?;
        }
        return Ok(EXIT_OK);
    }
    let (manifest, committed) = capturer.record_reextraction(draft)?;
    if json {
        json_line(&json!({"dry_run": false, "record": committed, "reextraction": manifest}))?;
    } else {
        let mut o = crate::output::text_stdout();
        render_plan(&mut o, &manifest)?;
        writeln!(
            o,
            "\nRecorded {} (log leaf {}): signed history is unchanged; later captures of {} are compared with the re-extracted text.",
            committed.id, committed.log_index, manifest.document.id
        )?;
    }
    crate::vouch::after_signing(&mut archive)?;
    Ok(EXIT_OK)
}

/// `exhibit show EX-R-…`: a re-extraction record, its signature, and what it found.
pub fn show_reextraction(archive: &Archive, id: &RecordId, json: bool) -> Result<u8, Failure> {
    let exhibit_ops::records::ShownReextraction {
        row,
        manifest: m,
        valid,
        manifest_sha256,
    } = exhibit_ops::records::reextraction(archive, id)?;
    if json {
        json_line(&json!({
            "record": row,
            // What an unsigned manifest says is no evidence: not passed on.
            "manifest": valid.then_some(&m),
            "signature_valid": valid,
            "manifest_sha256": manifest_sha256,
        }))?;
    } else {
        let mut o = crate::output::text_stdout();
        writeln!(o, "Re-extraction {}  (exhibit.reextraction/v1)", m.id)?;
        if valid {
            writeln!(
                o,
                "Recorded   {} (as claimed by the signer)",
                human_time(&m.created_at)
            )?;
        }
        writeln!(
            o,
            "Signature  {}",
            if valid {
                format!("valid Ed25519 signature by {}", m.signer)
            } else {
                "INVALID".to_owned()
            }
        )?;
        writeln!(o, "Log        leaf {}", row.log_index)?;
        if valid {
            render_plan(&mut o, &m)?;
        } else {
            writeln!(
                o,
                "Not shown: what an unsigned manifest says is no evidence of anything."
            )?;
        }
    }
    Ok(if valid { EXIT_OK } else { EXIT_FAILED })
}
