//! Citations against the archive: the record a `cite` query names (verified before it is
//! cited), recording a provision, and finding and checking the records a citation from a
//! filing, a hash prefix or a local file's hash refers to.
//!
//! The catalog only finds candidates; every fact comes from a verified signed manifest
//! ([`crate::audit::verify_record`]) and field comparison is `exhibit_verify::citation`'s, the
//! same code `exhibit-verify` runs on a bundle. Not for rendering citations or reports.

use std::collections::BTreeSet;
use std::io::Read;

use exhibit_core::citation::{Citation, RecordFacts};
use exhibit_core::{HashPrefix, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, CommittedProvision, QuoteProblem, StoreError, VersionRow};
use exhibit_verify::Verdict;
use exhibit_verify::citation::{Candidate, CitationReport, check_citation, overall};

use crate::OpsError;
use crate::audit::{first_failure, verify_record};

/// The record a `cite` query names: a document (by id or URL) stands for its current version.
pub fn cited_id(archive: &Archive, query: &str) -> Result<RecordId, OpsError> {
    if query.contains("://") {
        return Ok(archive.resolve_version(query)?.id);
    }
    let group = archive.resolve_hash_group(query)?;
    let m = &group[0];
    Ok(match m.id.kind() {
        RecordKind::Document => archive.resolve_version(query)?.id,
        _ => m.id.clone(),
    })
}

/// The verified record `id` names, ready to cite; a record that does not verify is refused
/// (exit 1, naming the first check that fails).
pub fn citable(
    archive: &Archive,
    public: &KeyHistory,
    id: &RecordId,
) -> Result<Candidate, OpsError> {
    let r = verify_record(archive, public, id, false)?;
    if let Some(b) = first_failure(&r) {
        return Err(OpsError::failed(format!(
            "{id}: refusing to cite a record that does not verify: {}: {}",
            b.what, b.detail
        )));
    }
    Ok(r)
}

/// Records a provision: `quote` (occurrence `occurrence`) in the text of `version`, signed,
/// appended to the log and covered by a new signed checkpoint. `Ok(Err(problem))` when the
/// quote cannot be placed in the text (nothing is recorded).
pub fn record_provision(
    archive: &mut Archive,
    version: &VersionRow,
    quote: &str,
    occurrence: Option<u64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<CommittedProvision, QuoteProblem>, OpsError> {
    let draft = match archive.draft_provision(version, quote, occurrence, now)? {
        Ok(d) => d,
        Err(problem) => return Ok(Err(problem)),
    };
    let key = archive.signing_key()?;
    let committed = {
        let mut batch = archive.begin(&key)?;
        let p = batch.add_provision(draft)?;
        batch.commit()?;
        p
    };
    archive.sign_checkpoint(&key)?;
    Ok(Ok(committed))
}

/// The versions of `version`'s document whose text holds `quote` (after the lenient cleaning a
/// quote gets when a provision is made), to say where a quote that is not in `version` is.
pub fn versions_quoting(archive: &Archive, version: &VersionRow, quote: &str) -> Vec<RecordId> {
    let (cleaned, _, _) = exhibit_core::quote::clean_quote(quote);
    archive
        .clause_history(&version.document_id, &cleaned)
        .map(|h| {
            h.into_iter()
                .filter(|c| c.occurrences.unwrap_or(0) > 0)
                .map(|c| c.version.id)
                .collect()
        })
        .unwrap_or_default()
}

/// Gathers the records a citation may refer to: those it names by id and those its hashes,
/// or its URL and capture time, pick out. Warnings about the citation go to `warnings`.
fn candidate_ids(
    archive: &Archive,
    c: &Citation,
    warnings: &mut Vec<String>,
) -> Result<BTreeSet<RecordId>, OpsError> {
    let mut ids = BTreeSet::new();
    let prefix = archive.prefix().as_str();
    let add = |id: &RecordId, ids: &mut BTreeSet<RecordId>| -> Result<(), OpsError> {
        // Only captures, versions and provisions are cited: a document id names no record a
        // citation can be compared with (the same exit 1 as exhibit-verify).
        let citable = matches!(
            id.kind(),
            RecordKind::Capture | RecordKind::Version | RecordKind::Provision
        );
        if id.prefix() != prefix || !citable {
            return Ok(());
        }
        match archive.resolve(&id.to_string()) {
            Ok(_) => {
                ids.insert(id.clone());
                Ok(())
            }
            Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    };
    for id in [&c.record_id, &c.capture_id, &c.version_id, &c.provision_id]
        .into_iter()
        .flatten()
    {
        add(id, &mut ids)?;
    }
    if let Some(id) = &c.record_id
        && id.prefix() != prefix
    {
        warnings.push(format!(
            "{id} is an id of another archive (this archive's ids start with {prefix}-)"
        ));
    }
    let mut captures: Vec<u64> = Vec::new();
    for h in [&c.sha256, &c.text_sha256, &c.excerpt_sha256]
        .into_iter()
        .flatten()
    {
        match archive.resolve(h.as_str()) {
            Ok(matches) => {
                for m in matches {
                    if m.id.kind() == RecordKind::Capture {
                        captures.push(m.id.number());
                    }
                    ids.insert(m.id);
                }
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let (Some(url), Some(t)) = (&c.url, &c.captured)
        && !url.truncated
        && let Ok(doc) = archive.document(&url.url)
    {
        let day = t.at.date_naive();
        for row in archive.captures(1000, None, Some(doc.id.number()))? {
            let at = exhibit_core::time::parse_rfc3339_seconds(&row.captured_at);
            if at.is_some_and(|a| a.date_naive() == day) {
                captures.push(row.id.number());
                ids.insert(row.id);
            }
        }
    }
    // A capture may be cited as its version, and a version through its provisions.
    for n in captures {
        let row = archive.capture(n)?;
        if let Some(v) = row.version_id {
            let version = archive.version(v.number())?;
            if version.opened_by == row.id {
                ids.insert(v.clone());
            }
            if c.record_id
                .as_ref()
                .is_some_and(|r| r.kind() == RecordKind::Provision)
                || c.excerpt.is_some()
            {
                for p in archive.provisions_of_version(&v)? {
                    ids.insert(p.id);
                }
            }
        }
    }
    Ok(ids)
}

/// Checks each citation against the records of the archive it may refer to (verified as
/// [`verify_record`] does); `keys` are the trusted signers given with `--key`. Returns one
/// report per citation and the overall verdict.
pub fn check_citations(
    archive: &Archive,
    public: &KeyHistory,
    citations: &[Citation],
    keys: &[String],
) -> Result<(Vec<CitationReport>, Verdict), OpsError> {
    let mut reports = Vec::new();
    for (i, c) in citations.iter().enumerate() {
        let mut warnings = Vec::new();
        let ids = candidate_ids(archive, c, &mut warnings)?;
        let mut candidates = Vec::new();
        for id in &ids {
            candidates.push(verify_record(archive, public, id, c.excerpt.is_some())?);
        }
        let mut report = check_citation(i + 1, c, &candidates, keys, "this archive");
        report.warnings.extend(warnings);
        reports.push(report);
    }
    let verdict = overall(&reports);
    Ok((reports, verdict))
}

/// A verified record found by a hash, and how it matched.
pub struct Found {
    /// The record, verified.
    pub candidate: Candidate,
    /// How it matched (`content sha256 <hex>`, or a sentence for a local file).
    pub how: String,
}

/// The catalog listed a record under a hash its signed manifest does not carry: the record
/// is not counted.
pub struct CatalogMismatch {
    /// The record.
    pub id: RecordId,
    /// The hash field the catalog matched.
    pub field: &'static str,
    /// The hash the catalog holds for it.
    pub hash: String,
    /// The hash (or prefix) looked for.
    pub wanted: String,
}

/// What a hash prefix finds in the archive.
pub enum HashSearch {
    /// No record carries such a hash (the sentence says why).
    NotHere(String),
    /// The records whose signed manifests carry a hash with the prefix.
    Found {
        /// The records, in catalog order.
        found: Vec<Found>,
        /// How many different hashes they carry (more than one: the prefix is ambiguous).
        distinct: usize,
    },
}

/// The hash of a verified record that a catalog match names (`content sha256`, `text sha256`,
/// `manifest sha256`, `quote sha256`), as its signed manifest (or, for the manifest hash, its
/// verified bytes) gives it: [`RecordFacts::carried_hashes`].
fn signed_hash(facts: &RecordFacts, field: &str) -> Option<Sha256Digest> {
    facts.carried_hashes().named(field)
}

/// Every record carrying a hash that starts with `prefix`. The catalog only finds candidates:
/// each is verified, and counted only when its signed manifest carries the hash; the others are
/// passed to `on_mismatch` as they are found.
pub fn find_by_hash(
    archive: &Archive,
    public: &KeyHistory,
    prefix: &HashPrefix,
    on_mismatch: &mut dyn FnMut(&CatalogMismatch),
) -> Result<HashSearch, OpsError> {
    let matches = match archive.resolve(prefix.as_str()) {
        Ok(m) => m,
        Err(StoreError::NotFound(m)) => return Ok(HashSearch::NotHere(m)),
        Err(e) => return Err(e.into()),
    };
    let mut distinct: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for m in &matches {
        let r = verify_record(archive, public, &m.id, false)?;
        match signed_hash(&r.facts, m.field).map(|d| d.to_hex()) {
            Some(hex) if prefix.matches(&hex) => {
                found.push(Found {
                    candidate: r,
                    how: format!("{} {hex}", m.field),
                });
                distinct.insert(hex);
            }
            _ => on_mismatch(&CatalogMismatch {
                id: m.id.clone(),
                field: m.field,
                hash: m.hash.clone(),
                wanted: prefix.as_str().to_owned(),
            }),
        }
    }
    if found.is_empty() {
        return Ok(HashSearch::NotHere(format!(
            "no record's signed content, text, quote or manifest hash starts with {}",
            prefix.as_str()
        )));
    }
    Ok(HashSearch::Found {
        found,
        distinct: distinct.len(),
    })
}

/// The SHA-256 and size of everything `r` yields (a local file to look up, a file of a WACZ
/// package).
pub fn hash_reader(r: &mut dyn Read) -> std::io::Result<(Sha256Digest, u64)> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Sha256Digest(hasher.finalize().into()), size))
}

/// The captures a local file with SHA-256 `sha` is (its exact bytes, its signed manifest, or
/// another hash of it). The catalog only finds candidates; a capture is named only when its
/// signed manifest carries the hash, the others are passed to `on_mismatch`. Empty when the
/// file is no capture of this archive.
pub fn find_file(
    archive: &Archive,
    public: &KeyHistory,
    sha: &Sha256Digest,
    on_mismatch: &mut dyn FnMut(&CatalogMismatch),
) -> Result<Vec<Found>, OpsError> {
    let matches = match archive.resolve(&sha.to_hex()) {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut found = Vec::new();
    for m in matches
        .iter()
        .filter(|m| m.id.kind() == RecordKind::Capture)
    {
        let r = verify_record(archive, public, &m.id, false)?;
        if signed_hash(&r.facts, m.field) != Some(*sha) {
            on_mismatch(&CatalogMismatch {
                id: m.id.clone(),
                field: m.field,
                hash: m.hash.clone(),
                wanted: sha.to_hex(),
            });
            continue;
        }
        let how = match m.field {
            "content sha256" => "the file is this capture's exact bytes".to_owned(),
            "manifest sha256" => "the file is this capture's signed manifest".to_owned(),
            other => format!("the file's SHA-256 is this capture's {other}"),
        };
        found.push(Found { candidate: r, how });
    }
    Ok(found)
}
