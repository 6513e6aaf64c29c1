//! `exhibit export --warc`: the planned records as a WARC 1.1 file (FORMAT §17) — a `warcinfo`
//! record, then per record its `response`, `resource` and `metadata` records
//! (`exhibit_warc::map`), then the
//! checkpoint every proof refers to and its time-stamp tokens. Written to a new file, never
//! replacing one; an object that does not match its manifest aborts the export.
//!
//! Not for the record format (that is `exhibit-warc`) nor for choosing records (`bundle::plan`).

use std::io::{BufReader, Read};
use std::path::Path;

use exhibit_core::manifest::ObjectRole;
use exhibit_core::{CaptureManifest, time};
use exhibit_store::Archive;
use exhibit_warc::map::{self, Block, Planned, Responses, SignedRecord};
use exhibit_warc::{Compression, WarcWriter};

use crate::OpsError;
use crate::bundle::{Plan, proof_text};

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// WARC records written.
    pub records: usize,
    /// Archive records (captures and provisions) exported.
    pub exhibit_records: usize,
}

/// Every record of the archive as queries for [`crate::bundle::plan_exact`]: each document (all
/// its captures) and each provision of each of its versions. Empty for an empty archive.
pub fn all_records(archive: &Archive) -> Result<Vec<String>, OpsError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = archive.documents(1000, after)?;
        let Some(last) = page.last() else { break };
        after = last.id.number();
        for d in &page {
            out.push(d.id.to_string());
            for v in archive.versions(&d.id)? {
                for p in archive.provisions_of_version(&v.id)? {
                    out.push(p.id.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// Writes the records of `plan` as a WARC to `out` (`.gz`: one gzip member per record),
/// dated `created` (the `warcinfo` record's date; every other record carries its own time).
pub fn warc(
    archive: &Archive,
    plan: &Plan,
    out: &Path,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<Exported, OpsError> {
    let (planned, _) = planned(archive, plan, created)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    exhibit_store::fsutil::create_file_with(out, |w| {
        write(archive, &planned, w, Compression::for_file_name(&name))
            .map_err(|e| OpsError::failed(format!("{}: {e}", out.display())))
    })?;
    Ok(Exported {
        records: planned.len(),
        exhibit_records: plan.captures.len() + plan.provisions.len(),
    })
}

/// The WARC records of `plan`, in file order: the `warcinfo` record dated `created`, each
/// signed record's records, then the checkpoint and its tokens; and the recorded responses
/// they carry, read.
pub(crate) fn planned(
    archive: &Archive,
    plan: &Plan,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<Planned>, Responses), OpsError> {
    let origin = archive.config().origin.clone();
    let signer = plan.checkpoint_signer();
    let date = time::format_rfc3339_seconds(created);
    let software = concat!("exhibit ", env!("CARGO_PKG_VERSION"));
    let info = map::warcinfo(&origin, &signer, &date, software);
    let info_id = info.record.id.clone();
    let mut planned = vec![info];
    // Each signed record once: (id, parsed capture, claimed time, manifest, signature, leaf).
    let mut signed = Vec::with_capacity(plan.captures.len() + plan.provisions.len());
    for row in &plan.captures {
        let (manifest, signature) = archive.read_manifest(row)?;
        let parsed = CaptureManifest::parse(&manifest)
            .map_err(|e| OpsError::failed(format!("{}: {e}", row.manifest_path)))?;
        let date = parsed.captured_at.clone();
        signed.push((
            row.id.to_string(),
            Some(parsed),
            date,
            manifest,
            signature,
            row.log_index,
        ));
    }
    for row in &plan.provisions {
        let (manifest, signature) = archive.read_provision_manifest(row)?;
        let date = row.created_at.clone();
        signed.push((
            row.id.to_string(),
            None,
            date,
            manifest,
            signature,
            row.log_index,
        ));
    }
    let mut responses = Responses::new();
    for m in signed.iter().filter_map(|s| s.1.as_ref()) {
        for o in m.objects() {
            if o.role == ObjectRole::Response && !responses.contains_key(&o.sha256) {
                let mut reader = BufReader::new(
                    archive
                        .objects()
                        .open(&o.sha256)
                        .map_err(|e| OpsError::failed(format!("object {}: {e}", o.sha256)))?,
                );
                // One that is not a complete response is exported as its body alone.
                if let Ok(facts) = exhibit_warc::response::read_response(&mut reader) {
                    responses.insert(o.sha256, facts);
                }
            }
        }
    }
    for (id, capture, record_date, manifest, signature, log_index) in &signed {
        let proof = proof_text(archive, *log_index, &plan.checkpoint)?;
        planned.extend(map::records_of(
            &origin,
            &info_id,
            &SignedRecord {
                id,
                capture: capture.as_ref(),
                date: record_date,
                manifest,
                signature,
                proof: Some(&proof),
                exported: &date,
                responses: &responses,
            },
        ));
    }
    let note = plan.checkpoint.note.clone().into_bytes();
    planned.push(map::log_record(
        &origin,
        &info_id,
        &date,
        "checkpoint",
        "text/plain",
        note,
    ));
    for t in &plan.timestamps {
        planned.push(map::log_record(
            &origin,
            &info_id,
            &date,
            &format!("checkpoint.tsr:{}", t.tsa),
            "application/timestamp-reply",
            t.response.clone(),
        ));
    }
    Ok((planned, responses))
}

/// Streams `planned` into `w`, archive objects read through the object store (the writer
/// checks each block against its digest); returns where each record starts and how many bytes
/// it takes.
pub(crate) fn write(
    archive: &Archive,
    planned: &[Planned],
    w: &mut dyn std::io::Write,
    compression: Compression,
) -> Result<Vec<(u64, u64)>, OpsError> {
    let objects = archive.objects();
    let mut writer = WarcWriter::new(w, compression);
    let mut placed = Vec::with_capacity(planned.len());
    for p in planned {
        let mut reader: Box<dyn Read> = match &p.block {
            Block::Bytes(bytes) => Box::new(&bytes[..]),
            Block::Object { sha256, .. } => Box::new(
                objects
                    .open(sha256)
                    .map_err(|e| OpsError::failed(format!("object {sha256}: {e}")))?,
            ),
        };
        let start = writer.offset();
        writer
            .write(&p.record, &mut reader)
            .map_err(|e| OpsError::failed(e.to_string()))?;
        placed.push((start, writer.offset() - start));
    }
    writer
        .finish()
        .map_err(|e| OpsError::failed(e.to_string()))?;
    Ok(placed)
}
