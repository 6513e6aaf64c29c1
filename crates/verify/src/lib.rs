//! exhibit-verify: checks an evidence bundle offline, trusting nothing but the keys you pin.
//!
//! [`verify_bundle`] reads a `.tar.zst` bundle with [`exhibit_bundle::read_bundle`] (one
//! streaming pass, nothing written) and checks, in order: the bag declaration; every payload
//! file against `manifest-sha256.txt` and the bag's completeness; every tag file against
//! `tagmanifest-sha256.txt`; the keys; the seal (the signature over the tag manifest); every
//! signed capture manifest and the content and text files it describes (SHA-256, BLAKE3, size);
//! and finally whether every signer is a key the caller pinned.
//!
//! The outcome maps to the exit codes of both command-line tools: [`Verdict::Verified`] 0,
//! [`Verdict::Mismatch`] 1, unreadable or malformed input ([`VerifyError`]) 2,
//! [`Verdict::Unpinned`] 3.
//!
//! Where things are (each file imports only the ones listed after it, so there is no cycle):
//!
//! - `lib.rs` (here): reading a bundle file and answering the questions asked of it
//!   (citations, a hash);
//! - [`citation`]: checking a citation record against candidate records;
//! - `checks`: [`verify_bag`] and its numbered checks, one function each (`checks/*.rs`);
//! - `options`: what the caller trusts ([`Options`], [`TrustedKey`], `--tsa-ca`);
//! - `error`: why a bundle could not be verified at all ([`VerifyError`]);
//! - `report`: what the checks found ([`Report`]) and how it is printed.

mod checks;
pub mod citation;
mod error;
mod options;
mod report;
mod wacz;

use std::path::Path;

pub use checks::verify_bag;
pub use error::VerifyError;
pub use options::{Options, TrustedKey, WitnessPolicy, load_tsa_anchors};
pub use report::{Check, Outcome, RecordSummary, Report, TimestampSummary, Verdict};

/// Reads and verifies the bundle at `path`.
pub fn verify_bundle(path: &Path, options: &Options) -> Result<Report, VerifyError> {
    Ok(verify_bundle_keeping(path, options)?.0)
}

/// Reads and verifies the bundle at `path`, and returns the bag too (for citation checks). A
/// WACZ package made by `exhibit export --wacz` (a zip file) is verified through the bundle it
/// carries, then as a package (check 15).
pub fn verify_bundle_keeping(
    path: &Path,
    options: &Options,
) -> Result<(Report, exhibit_bundle::ReadBag), VerifyError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| VerifyError::Open {
        path: shown.clone(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            _ => e.to_string(),
        },
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(VerifyError::Open {
            path: shown,
            reason: "is a directory, not a bundle file".into(),
        });
    }
    let mut file = file;
    if starts_with(&mut file, wacz::ZIP_MAGIC).map_err(|e| VerifyError::Open {
        path: shown.clone(),
        reason: e.to_string(),
    })? {
        return wacz::verify_wacz(&shown, file, options);
    }
    let bag = exhibit_bundle::read_bundle(std::io::BufReader::new(file), &options.limits).map_err(
        |source| VerifyError::Read {
            path: shown.clone(),
            source,
        },
    )?;
    let mut report = verify_bag(&bag, options)?;
    report.bundle = shown;
    Ok((report, bag))
}

/// Whether `file` starts with `magic`; leaves it at its start.
fn starts_with(file: &mut std::fs::File, magic: &[u8]) -> std::io::Result<bool> {
    use std::io::{Read as _, Seek as _};
    let mut head = vec![0u8; magic.len()];
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    file.rewind()?;
    Ok(got == magic.len() && head == magic)
}

/// The records of a verified bag as citation candidates: every capture, every version a
/// capture in the bag opened, and every provision. Their integrity is the bundle's: a failed
/// check anywhere in the bundle fails them all.
pub fn bundle_candidates(
    bag: &exhibit_bundle::ReadBag,
    report: &Report,
) -> Vec<citation::Candidate> {
    use exhibit_core::citation::RecordFacts;
    use exhibit_core::manifest::Change;
    use exhibit_core::{AnyManifest, Sha256Digest};
    let failed = report.failures().count();
    let mut parsed = Vec::new();
    for (path, f) in &bag.files {
        if !(path.starts_with("exhibit/manifests/") && path.ends_with(".json")) {
            continue;
        }
        // Only a manifest stored under its own id's name is a record of the bundle (a copy
        // under another name fails verification, and must not multiply the candidates).
        if let Some(m) = f.bytes.as_deref().and_then(|b| AnyManifest::parse(b).ok())
            && exhibit_bundle::layout::manifest_path(m.id()) == *path
        {
            parsed.push((f.sha256, m));
        }
    }
    // Each text once, shared by every record that has it.
    let mut texts: std::collections::BTreeMap<Sha256Digest, Option<std::sync::Arc<str>>> =
        Default::default();
    let mut text_of = |sha: Option<Sha256Digest>| -> Option<std::sync::Arc<str>> {
        let sha = sha?;
        texts
            .entry(sha)
            .or_insert_with(|| {
                let bytes = bag.payload(&exhibit_bundle::layout::text_path(&sha))?;
                std::str::from_utf8(bytes).ok().map(std::sync::Arc::from)
            })
            .clone()
    };
    let integrity = |id: &str| -> Vec<citation::Integrity> {
        let summary = report.records.iter().find(|r| r.id == id);
        vec![
            citation::Integrity {
                what: "Bundle".into(),
                ok: failed == 0,
                detail: if failed == 0 {
                    format!(
                        "all {} checks passed (hashes, seal, signatures)",
                        report.checks.len()
                    )
                } else {
                    format!("{failed} of {} checks failed", report.checks.len())
                },
            },
            citation::Integrity {
                what: "Log inclusion".into(),
                ok: summary.is_some_and(|s| s.log_index.is_some()),
                detail: match summary.and_then(|s| Some((s.log_index?, s.tree_size?))) {
                    Some((i, n)) => format!("leaf {i} of a signed checkpoint of size {n}"),
                    None => "no verified inclusion proof".into(),
                },
            },
        ]
    };
    let log_index = |id: &str| {
        report
            .records
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.log_index)
    };
    let mut out = Vec::new();
    for (sha, m) in &parsed {
        match m {
            AnyManifest::Capture(c) => {
                let id = c.id.to_string();
                let text = text_of(c.text.as_ref().map(|t| t.sha256));
                out.push(citation::Candidate {
                    facts: RecordFacts::of_capture(c, *sha, log_index(&id)),
                    text: text.clone(),
                    integrity: integrity(&id),
                });
                if c.version.as_ref().is_some_and(|v| v.change == Change::New) {
                    out.push(citation::Candidate {
                        facts: RecordFacts::of_version(c, *sha, log_index(&id)),
                        text,
                        integrity: integrity(&id),
                    });
                }
            }
            AnyManifest::Provision(p) => {
                let opening = parsed.iter().find_map(|(_, o)| match o {
                    AnyManifest::Capture(o) if o.id == p.capture.id => Some(o),
                    _ => None,
                });
                if let Some(opening) = opening {
                    let id = p.id.to_string();
                    out.push(citation::Candidate {
                        facts: RecordFacts::of_provision(p, *sha, log_index(&id), opening),
                        text: text_of(Some(p.text.sha256)),
                        integrity: integrity(&id),
                    });
                }
            }
        }
    }
    out
}

/// A record of a bundle that carries a hash asked about.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HashMatch {
    /// The record id.
    pub id: String,
    /// Which of its hashes: `content sha256`, `text sha256`, `quote sha256` or
    /// `manifest sha256`.
    pub field: &'static str,
    /// The full hash.
    pub hash: String,
}

/// The records of a bag that carry a hash starting with `prefix`, in path order.
pub fn bundle_hash_matches(
    bag: &exhibit_bundle::ReadBag,
    prefix: &exhibit_core::HashPrefix,
) -> Vec<HashMatch> {
    use exhibit_core::AnyManifest;
    let mut out = Vec::new();
    for (path, f) in &bag.files {
        if !(path.starts_with("exhibit/manifests/") && path.ends_with(".json")) {
            continue;
        }
        let Some(m) = f.bytes.as_deref().and_then(|b| AnyManifest::parse(b).ok()) else {
            continue;
        };
        let hashes = exhibit_core::citation::CarriedHashes::of_manifest(&m, f.sha256);
        for (field, h) in hashes.named_hashes() {
            let hex = h.to_hex();
            if prefix.matches(&hex) {
                out.push(HashMatch {
                    id: m.id().to_string(),
                    field,
                    hash: hex,
                });
            }
        }
    }
    out
}

/// What verifying a bundle answered: the bundle report, and the answers to the optional
/// questions asked of it (citations, a hash).
#[derive(Debug)]
pub struct BundleAnswer {
    /// The bundle's own verification.
    pub report: Report,
    /// Where the citations came from, and their reports.
    pub citations: Option<(String, Vec<citation::CitationReport>)>,
    /// The hash asked about and the records carrying it.
    pub hash: Option<(exhibit_core::HashPrefix, Vec<HashMatch>)>,
    /// The combined verdict.
    pub verdict: Verdict,
}

/// The worse of two verdicts: mismatch over unpinned over verified.
pub fn worst(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Mismatch, _) | (_, Verdict::Mismatch) => Verdict::Mismatch,
        (Verdict::Unpinned, _) | (_, Verdict::Unpinned) => Verdict::Unpinned,
        _ => Verdict::Verified,
    }
}

/// Verifies the bundle at `path` and answers the questions asked of it: whether each citation
/// is true of a record in it, and whether it holds a hash.
///
/// Pins come from the user: with keys in `options` (`--key`), only they are trusted, and a
/// citation's `Signed-By` is a field that must name one of them. With none, each citation's
/// `Signed-By` pins that key (the filing is the independent channel).
pub fn answer_bundle(
    path: &Path,
    mut options: Options,
    citations: Option<(String, Vec<exhibit_core::citation::Citation>)>,
    hash: Option<exhibit_core::HashPrefix>,
) -> Result<BundleAnswer, VerifyError> {
    let keys_given: Vec<String> = options
        .trusted
        .iter()
        .map(|t| t.fingerprint().to_string())
        .collect();
    if keys_given.is_empty() {
        for c in citations.iter().flat_map(|(_, cs)| cs) {
            if let Some(fp) = c.signer.as_deref().and_then(|f| f.parse().ok()) {
                options.trusted.push(TrustedKey::Fingerprint(fp));
            }
        }
    }
    let (report, bag) = verify_bundle_keeping(path, &options)?;
    let mut verdict = report.verdict;
    let citations = citations.map(|(source, cs)| {
        let candidates = bundle_candidates(&bag, &report);
        let reports: Vec<_> = cs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                citation::check_citation(i + 1, c, &candidates, &keys_given, "the bundle")
            })
            .collect();
        verdict = worst(verdict, citation::overall(&reports));
        (source, reports)
    });
    let hash = hash.map(|p| {
        let found = bundle_hash_matches(&bag, &p);
        if found.is_empty() {
            verdict = Verdict::Mismatch;
        }
        (p, found)
    });
    Ok(BundleAnswer {
        report,
        citations,
        hash,
        verdict,
    })
}

impl BundleAnswer {
    /// The human-readable answer.
    pub fn render(&self) -> String {
        let mut s = self.report.render();
        if let Some((source, reports)) = &self.citations {
            s.push('\n');
            s.push_str(&citation::render_citation_reports(source, reports));
        }
        if let Some((p, found)) = &self.hash {
            s.push('\n');
            if found.is_empty() {
                s.push_str(&format!(
                    "NOT HELD: no record in the bundle has a content, text, quote or manifest SHA-256 starting with {}.\n",
                    p.as_str()
                ));
            } else {
                for m in found {
                    let held = format!("HELD: {} ({} {})", m.id, m.field, m.hash);
                    s.push_str(&exhibit_core::inert(&held));
                    s.push('\n');
                }
            }
        }
        s
    }

    /// The machine-readable answer: the bundle report alone when nothing else was asked.
    pub fn to_json(&self) -> serde_json::Value {
        let report = serde_json::to_value(&self.report).unwrap_or_default();
        if self.citations.is_none() && self.hash.is_none() {
            return report;
        }
        serde_json::json!({
            "bundle": report,
            "citations": self.citations.as_ref().map(|(_, r)| r),
            "hash": self.hash.as_ref().map(|(p, found)| serde_json::json!({
                "prefix": p.as_str(),
                "held": !found.is_empty(),
                "records": found,
            })),
            "verdict": self.verdict,
        })
    }
}
