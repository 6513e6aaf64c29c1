//! Exporting records as an evidence bundle: which records a list of queries selects, the one
//! checkpoint every inclusion proof refers to, the RFC 3161 tokens that go with it, and the
//! bundle written from them.
//!
//! Not for the bundle's format (that is `exhibit-bundle`) nor for reading bundles
//! (`exhibit-verify`).

use std::path::{Path, PathBuf};

use exhibit_bundle::{BundleRecord, BundleTimestamp, WriteSummary};
use exhibit_core::checkpoint::TlogProof;
use exhibit_core::{AnyManifest, CaptureManifest, ProvisionManifest, RecordId, RecordKind};
use exhibit_sign::SigningKey;
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, CaptureRow, ProvisionRow, SignedCheckpoint};

use crate::OpsError;

/// A token the archive holds over the bundle's checkpoint that did not check out against the
/// checkpoint's bytes: it is left out of the bundle.
#[derive(Debug)]
pub struct SkippedToken {
    /// The token file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub error: String,
}

/// What a bundle will hold, chosen before anything is written.
pub struct Plan {
    key: SigningKey,
    public: KeyHistory,
    pub(crate) captures: Vec<CaptureRow>,
    pub(crate) provisions: Vec<ProvisionRow>,
    /// The checkpoint every record's inclusion proof refers to.
    pub checkpoint: SignedCheckpoint,
    /// The tokens over that checkpoint that go into the bundle.
    pub timestamps: Vec<BundleTimestamp>,
    /// Tokens left out because the archive's copy is damaged.
    pub skipped_tokens: Vec<SkippedToken>,
    /// The cosignature lines on that checkpoint by the witnesses configured now, each checked
    /// against its key (a damaged one is left out).
    pub cosignatures: Vec<String>,
    /// TSAs are configured but none has stamped the checkpoint yet: the bundle carries no
    /// timestamp.
    pub awaiting_timestamp: bool,
    /// The key history's files, as the bag carries them (`000001.json`, its signatures, …).
    key_history: Vec<(String, Vec<u8>)>,
    /// Earlier stamped checkpoints proving that records signed by a since-revoked key existed
    /// before its compromise.
    pub anchors: Vec<exhibit_bundle::BundleAnchor>,
}

/// A bundle as written.
pub struct Written {
    /// The records it holds, in the order they were given to the writer (captures, then
    /// provisions, each by id).
    pub records: Vec<RecordId>,
    /// The id of the report it carries.
    pub report_id: String,
    /// What the writer reports.
    pub summary: WriteSummary,
}

/// Chooses what a bundle of `queries` holds: captures, versions (all their captures),
/// documents (all their captures, by id or URL) or hash prefixes; a provision brings itself
/// and the capture whose text it quotes; a capture that opened a version brings the capture
/// that opened the version before it, so that the report can show what changed. Signs a
/// checkpoint if the log grew since the last.
pub fn plan(archive: &mut Archive, queries: &[String]) -> Result<Plan, OpsError> {
    plan_with(archive, queries, true)
}

/// [`plan`] without the captures of previous versions: exactly the records the queries name
/// (and the captures provisions quote), for exports that carry no report.
pub fn plan_exact(archive: &mut Archive, queries: &[String]) -> Result<Plan, OpsError> {
    plan_with(archive, queries, false)
}

fn plan_with(
    archive: &mut Archive,
    queries: &[String],
    previous_versions: bool,
) -> Result<Plan, OpsError> {
    let key = archive.signing_key()?;
    let loaded = archive.read_keys()?;
    let (public, statements) = (loaded.history, loaded.statements);
    let mut rows = Vec::new();
    let mut provisions = Vec::new();
    for query in queries {
        // A provision brings the capture whose text it quotes.
        if !query.contains("://") {
            for m in archive.resolve_hash_group(query)? {
                if m.id.kind() == RecordKind::Provision {
                    provisions.push(archive.provision(m.id.number())?);
                }
            }
        }
        rows.extend(archive.select_captures(query)?);
    }
    if previous_versions {
        let previous = openers_of_previous_versions(archive, &rows)?;
        rows.extend(previous);
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows.dedup_by(|a, b| a.id == b.id);
    provisions.sort_by(|a, b| a.id.cmp(&b.id));
    provisions.dedup_by(|a, b| a.id == b.id);
    // Every record's inclusion proof refers to one checkpoint that covers all of them: the
    // earliest timestamped one when there is one (the tightest "existed no later than"), else
    // the latest, signed now if the log grew since.
    let latest = archive.sign_checkpoint(&key)?;
    let needed = rows
        .iter()
        .map(|r| r.log_index)
        .chain(provisions.iter().map(|p| p.log_index))
        .max()
        .map_or(0, |i| i + 1);
    // Tokens of the TSAs configured now (one that was removed may not be trusted any more);
    // of any TSA when none is configured.
    let tsas: Vec<String> = archive
        .config()
        .tsa
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let checkpoint = archive
        .earliest_timestamped_checkpoint(needed, &tsas)?
        .unwrap_or(latest);
    let (timestamps, skipped_tokens) = tokens_over(archive, &checkpoint, &tsas)?;
    let awaiting_timestamp = timestamps.is_empty() && !archive.config().tsa.is_empty();
    let cosignatures = cosignatures_on(archive, &checkpoint)?;
    let indices: Vec<u64> = rows
        .iter()
        .map(|r| r.log_index)
        .chain(provisions.iter().map(|p| p.log_index))
        .collect();
    let anchors = anchors_for(archive, &public, &indices, &checkpoint, &tsas)?;
    Ok(Plan {
        key_history: key_history_files(statements),
        anchors,
        key,
        public,
        captures: rows,
        provisions,
        checkpoint,
        timestamps,
        skipped_tokens,
        awaiting_timestamp,
        cosignatures,
    })
}

/// For each revoked key that signed one of the records at `indices`: the largest checkpoint,
/// up to `checkpoint`, that a TSA stamped before the key's compromise (its token checked over
/// it), with the consistency proof from it to `checkpoint`. None when `checkpoint` itself was
/// stamped in time, or nothing was.
fn anchors_for(
    archive: &Archive,
    keys: &KeyHistory,
    indices: &[u64],
    checkpoint: &SignedCheckpoint,
    tsas: &[String],
) -> Result<Vec<exhibit_bundle::BundleAnchor>, OpsError> {
    let mut anchors: Vec<exhibit_bundle::BundleAnchor> = Vec::new();
    for era in keys.eras() {
        let Some(since) = era.compromised_since else {
            continue;
        };
        if !indices.iter().any(|&i| era.signs_leaf(i)) {
            continue;
        }
        let Some((anchor, stamp)) = archive.stamped_before(checkpoint.size, since, tsas)? else {
            continue;
        };
        if anchor.size == checkpoint.size || anchors.iter().any(|a| a.size == anchor.size) {
            continue;
        }
        let token = archive.read_timestamp(&stamp)?;
        if crate::timestamps::check_over(&token, anchor.note.as_bytes()).is_err() {
            continue;
        }
        anchors.push(exhibit_bundle::BundleAnchor {
            size: anchor.size,
            consistency: archive.consistency_proof(anchor.size, checkpoint.size)?,
            checkpoint: anchor.note,
            token,
        });
    }
    Ok(anchors)
}

/// The cosignature lines held on `checkpoint` by each witness configured now, each one that
/// verifies with the witness's key over the checkpoint (one whose witness was removed may not
/// be trusted any more; a damaged file is left out).
fn cosignatures_on(
    archive: &Archive,
    checkpoint: &SignedCheckpoint,
) -> Result<Vec<String>, OpsError> {
    let mut out = Vec::new();
    for w in &archive.config().witness {
        let Some(c) = archive.cosignature(checkpoint.size, &w.name)? else {
            continue;
        };
        let Ok(key) = w.key() else { continue };
        if exhibit_sign::cosignature::verify_cosignature_line(&checkpoint.note, &c.line, &key)
            .is_ok()
        {
            out.push(c.line);
        }
    }
    Ok(out)
}

/// For each capture of `rows` that opened a version, the capture that opened the document's
/// version before it (the catalog only chooses: the report shows a change only when this
/// capture's signed manifest is the one the newer manifest pins).
fn openers_of_previous_versions(
    archive: &Archive,
    rows: &[CaptureRow],
) -> Result<Vec<CaptureRow>, OpsError> {
    let mut out = Vec::new();
    let mut versions_of = std::collections::BTreeMap::new();
    for row in rows {
        let Some(version) = &row.version_id else {
            continue;
        };
        if !versions_of.contains_key(&row.document_id) {
            versions_of.insert(row.document_id.clone(), archive.versions(&row.document_id)?);
        }
        let versions = &versions_of[&row.document_id];
        let Some(at) = versions.iter().position(|v| &v.id == version) else {
            continue;
        };
        if at == 0 || versions[at].opened_by != row.id {
            continue;
        }
        out.push(archive.capture(versions[at - 1].opened_by.number())?);
    }
    Ok(out)
}

/// The tokens the archive holds over `checkpoint` from the TSAs in `tsas` (all when empty), each
/// re-checked against the note's bytes (a damaged token file is left out rather than bundled).
fn tokens_over(
    archive: &Archive,
    checkpoint: &SignedCheckpoint,
    tsas: &[String],
) -> Result<(Vec<BundleTimestamp>, Vec<SkippedToken>), OpsError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for stamp in archive.timestamps(checkpoint.size)? {
        if !tsas.is_empty() && !tsas.contains(&stamp.tsa) {
            continue;
        }
        let response = archive.read_timestamp(&stamp)?;
        match crate::timestamps::check_over(&response, checkpoint.note.as_bytes()) {
            Ok(()) => out.push(BundleTimestamp {
                tsa: stamp.tsa,
                response,
            }),
            Err(error) => skipped.push(SkippedToken {
                path: stamp.path,
                error,
            }),
        }
    }
    Ok((out, skipped))
}

/// An inclusion proof of leaf `index` under `checkpoint`, as a C2SP tlog-proof.
pub(crate) fn proof_text(
    archive: &Archive,
    index: u64,
    checkpoint: &SignedCheckpoint,
) -> Result<String, OpsError> {
    let proof = TlogProof {
        extra: None,
        index,
        proof: archive.inclusion_proof(index, checkpoint)?,
        checkpoint: checkpoint.note.clone(),
    };
    Ok(proof.to_text())
}

/// Reads every planned record's signed manifest and proves it against the plan's checkpoint:
/// the bundle as it will be written, with its report still to be made (`report: Some(empty)`).
fn spec<'a>(
    archive: &Archive,
    plan: &'a Plan,
    file_name: String,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<exhibit_bundle::Bundle<'a>, OpsError> {
    let public = &plan.public;
    let checkpoint = &plan.checkpoint;
    let mut records = Vec::with_capacity(plan.captures.len() + plan.provisions.len());
    for row in &plan.captures {
        let (manifest_bytes, signature) = archive.read_manifest(row)?;
        let manifest = CaptureManifest::parse(&manifest_bytes)
            .map_err(|e| OpsError::failed(format!("{}: {e}", row.manifest_path)))?;
        let expected = &public.key_for_leaf(row.log_index).fingerprint;
        if manifest.signer != *expected {
            return Err(OpsError::failed(format!(
                "{}: signed by {}, but leaf {} of the log is signed by {expected}",
                row.id,
                exhibit_core::inert(&manifest.signer),
                row.log_index
            )));
        }
        records.push(BundleRecord {
            id: row.id.clone(),
            manifest_bytes,
            signature,
            manifest: AnyManifest::Capture(manifest),
            tlog_proof: Some(proof_text(archive, row.log_index, checkpoint)?),
            log_index: Some(row.log_index),
        });
    }
    for row in &plan.provisions {
        let (manifest_bytes, signature) = archive.read_provision_manifest(row)?;
        let manifest = ProvisionManifest::parse(&manifest_bytes)
            .map_err(|e| OpsError::failed(format!("{}: {e}", row.manifest_path)))?;
        records.push(BundleRecord {
            id: row.id.clone(),
            manifest_bytes,
            signature,
            manifest: AnyManifest::Provision(manifest),
            tlog_proof: Some(proof_text(archive, row.log_index, checkpoint)?),
            log_index: Some(row.log_index),
        });
    }
    Ok(exhibit_bundle::Bundle {
        name: exhibit_bundle::layout::bag_name_for(&file_name),
        origin: archive.config().origin.clone(),
        created,
        records,
        public_keys: public.eras().iter().map(|e| e.key.clone()).collect(),
        seal: &plan.key,
        file_name,
        checkpoint: Some(checkpoint.note.clone()),
        timestamps: plan.timestamps.clone(),
        cosignatures: plan.cosignatures.clone(),
        key_history: plan.key_history.clone(),
        anchors: plan.anchors.clone(),
        report: Some(Vec::new()),
    })
}

/// The key history's statements as bundle files (`000001.json`, its signatures, …).
fn key_history_files(
    statements: Vec<exhibit_store::key_statements::StatementFiles>,
) -> Vec<(String, Vec<u8>)> {
    use exhibit_core::key_statement::{new_key_signature_file, signature_file, statement_file};
    let mut files = Vec::new();
    for s in statements {
        files.push((statement_file(s.sequence), s.bytes));
        files.push((signature_file(s.sequence), s.signature));
        if let Some(sig) = s.new_key_signature {
            files.push((new_key_signature_file(s.sequence), sig));
        }
    }
    files
}

/// Opens archive objects for the bundle writer, which checks the size, SHA-256 and BLAKE3 of
/// what it reads against the signed manifest, so a damaged object is caught there, with the
/// writer's own message.
fn opener(
    archive: &Archive,
) -> impl Fn(&exhibit_core::Sha256Digest) -> std::io::Result<Box<dyn std::io::Read>> + '_ {
    let objects = archive.objects();
    move |sha| {
        objects
            .open(sha)
            .map(|r| Box::new(r) as Box<dyn std::io::Read>)
            .map_err(std::io::Error::other)
    }
}

/// The report of the bundle `spec` describes, generated at `created`.
fn make_report(
    spec: &exhibit_bundle::Bundle<'_>,
    archive: &Archive,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<exhibit_report::Report, OpsError> {
    let open = opener(archive);
    let view = exhibit_bundle::view(spec, &open).map_err(|e| OpsError::failed(e.to_string()))?;
    exhibit_report::build(&view, &exhibit_core::time::format_rfc3339_seconds(created))
        .map_err(|e| OpsError::failed(format!("the report: {e}")))
}

/// Writes the bundle of `plan` to `out` (a new file, never replacing one), with its report.
/// `file_name` is how VERIFY.txt names the bundle; `created` dates the bag, its entries and the
/// report.
pub fn write(
    archive: &Archive,
    plan: &Plan,
    out: &Path,
    file_name: String,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<Written, OpsError> {
    let mut spec = spec(archive, plan, file_name, created)?;
    let report = make_report(&spec, archive, created)?;
    spec.report = Some(report.bag_files());
    let open = opener(archive);
    let summary = exhibit_store::fsutil::create_file_with(out, |w| {
        exhibit_bundle::write_bundle(w, &spec, &open).map_err(|e| OpsError::failed(e.to_string()))
    })?;
    Ok(Written {
        records: spec.records.iter().map(|r| r.id.clone()).collect(),
        report_id: report.facts.id,
        summary,
    })
}

/// The report the bundle of `plan` named `file_name` and dated `created` carries, without
/// writing the bundle (`exhibit report`).
pub fn report(
    archive: &Archive,
    plan: &Plan,
    file_name: String,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<exhibit_report::Report, OpsError> {
    let spec = spec(archive, plan, file_name, created)?;
    make_report(&spec, archive, created)
}

impl Plan {
    /// The fingerprint of the archive key that signs the bundle and its report.
    pub fn checkpoint_signer(&self) -> String {
        self.key.public_key().fingerprint().to_string()
    }

    /// The archive key that signs the bundle (and a WACZ package's digest).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

/// Signs `bytes` with the plan's key: the detached raw Ed25519 signature a standalone report
/// file carries beside it (`report.pdf.sig`, checked with `openssl pkeyutl -verify -rawin`).
pub fn sign_detached(plan: &Plan, bytes: &[u8]) -> Vec<u8> {
    plan.key.sign(bytes).as_bytes().to_vec()
}
