//! Checking a citation record from a filing against records that were verified: which record
//! it names, and whether every field it states is true of that record.
//!
//! The same logic serves `exhibit verify --citation` (records from an archive) and
//! `exhibit-verify BUNDLE --citation` (records from a bundle): the caller verifies the
//! candidate records its own way and hands them over as [`Candidate`]s.

use std::sync::Arc;

use exhibit_core::citation::{Citation, FieldCheck, FieldStatus, OtherLine, RecordFacts, compare};
use exhibit_core::{RecordKind, Sha256Digest, inert};
use serde::Serialize;

use crate::report::Verdict;

/// A record the citation may name, with the outcome of verifying it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// What the verified record says.
    pub facts: RecordFacts,
    /// The extracted text of the record's version, for checking a quoted excerpt (shared:
    /// many records have one text).
    pub text: Option<Arc<str>>,
    /// Signature, log and other integrity checks of the record, as the caller ran them.
    pub integrity: Vec<Integrity>,
}

/// One integrity check of a record (signature, log inclusion, stored bytes).
#[derive(Clone, Debug, Serialize)]
pub struct Integrity {
    /// What was checked ("Signature", "Log inclusion").
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// Details: what held, or what is wrong.
    pub detail: String,
}

/// The outcome of checking one citation.
#[derive(Clone, Debug, Serialize)]
pub struct CitationReport {
    /// Which citation of the input (1-based).
    pub number: usize,
    /// The record id the citation states, if any.
    pub stated_record: Option<String>,
    /// The record the fields were compared with, if one was found.
    pub record: Option<String>,
    /// Field by field.
    pub fields: Vec<FieldCheck>,
    /// The record's integrity checks.
    pub integrity: Vec<Integrity>,
    /// Other records every stated field also matches (identical bytes captured again).
    pub also_matches: Vec<String>,
    /// A record the citation probably means, when its id is wrong but its other fields
    /// identify exactly one record.
    pub did_you_mean: Option<String>,
    /// Parser and checker warnings.
    pub warnings: Vec<String>,
    /// The citation's labelled lines that name no field: listed as not checked. Any of them
    /// keeps the citation from being verified (whatever it says: nothing checked it).
    pub not_checked: Vec<OtherLine>,
    /// Whether the record's signer is pinned: by `--key` when keys were given, else by the
    /// citation's `Signed-By`.
    pub signer_pinned: bool,
    /// The verdict: verified (0), mismatch (1) or unpinned (3).
    pub verdict: Verdict,
    /// One sentence saying what the verdict rests on.
    pub summary: String,
}

const IDENTIFYING: &[&str] = &["SHA-256", "Text SHA-256", "Excerpt SHA-256"];

fn differs(fields: &[FieldCheck]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|f| matches!(f.status, FieldStatus::Differs { .. }))
        .map(|f| f.field)
        .collect()
}

fn matches(fields: &[FieldCheck], field: &str) -> bool {
    fields
        .iter()
        .any(|f| f.field == field && matches!(f.status, FieldStatus::Matches { .. }))
}

/// Whether the stated fields other than ids pick this record out: a matching hash, or a
/// matching URL and capture time.
fn identified(fields: &[FieldCheck]) -> bool {
    IDENTIFYING.iter().any(|f| matches(fields, f))
        || (matches(fields, "URL") && matches(fields, "Captured"))
}

/// Whether one of the citation's hashes is any hash of the record (content, text, excerpt or
/// manifest), even under the wrong label: the record it is about, though it may not match.
fn names_a_hash_of(citation: &Citation, facts: &RecordFacts) -> bool {
    let stated = [
        &citation.sha256,
        &citation.text_sha256,
        &citation.excerpt_sha256,
        &citation.manifest_sha256,
    ];
    let had: [Option<&Sha256Digest>; 4] = [
        facts.sha256.as_ref(),
        facts.text_sha256.as_ref(),
        facts.excerpt_sha256.as_ref(),
        Some(&facts.manifest_sha256),
    ];
    stated
        .iter()
        .copied()
        .flatten()
        .any(|p| had.iter().flatten().any(|d| p.matches(&d.to_hex())))
}

/// Checks `citation` against `candidates`. `place` names where the records came from ("this
/// archive", "the bundle").
///
/// Pins come from the user. `pinned` are the fingerprints given with `--key`: when there are
/// any, only they are trusted — the record's signer must be one of them, and a stated
/// `Signed-By` is a field that must name one of them (else the citation fails). With no `--key`,
/// the citation's `Signed-By` pins the signer, since the filing is an independent channel;
/// without either, a citation that matches is "not pinned" (exit 3).
///
/// Fail-closed: a labelled line that names no field (`Label: value`, a table row, a look-alike
/// label) is listed as not checked and fails the citation, whatever its value, since nothing
/// checked it; the report says to remove it or state it as a field. Unlabelled prose and the
/// `Citation Record` header are harmless.
pub fn check_citation(
    number: usize,
    citation: &Citation,
    candidates: &[Candidate],
    pinned: &[String],
    place: &str,
) -> CitationReport {
    // Choose the record on every field but the excerpt (searching a text is the expensive
    // part); the chosen record's excerpt is checked below.
    let compared: Vec<(&Candidate, Vec<FieldCheck>)> = candidates
        .iter()
        .map(|k| (k, compare(citation, &k.facts, None)))
        .collect();
    let stated = citation.record_id.as_ref();
    let mut report = CitationReport {
        number,
        stated_record: stated.map(ToString::to_string),
        record: None,
        fields: Vec::new(),
        integrity: Vec::new(),
        also_matches: Vec::new(),
        did_you_mean: None,
        warnings: citation.warnings.clone(),
        not_checked: citation.unchecked.clone(),
        signer_pinned: false,
        verdict: Verdict::Mismatch,
        summary: String::new(),
    };
    // Records every stated field except possibly the record id agrees with, and which those
    // fields identify (so a citation of nothing but an id suggests nothing).
    let consistent_but_id: Vec<&(&Candidate, Vec<FieldCheck>)> = compared
        .iter()
        .filter(|(k, f)| {
            stated.is_none_or(|s| s.kind() == k.facts.id.kind() && *s != k.facts.id)
                && differs(f).iter().all(|d| *d == "Record ID")
                && identified(f)
        })
        .collect();
    let by_id = stated.and_then(|s| compared.iter().find(|(k, _)| k.facts.id == *s));
    let chosen = match (by_id, stated) {
        (Some(found), _) => {
            if !differs(&found.1).is_empty() && consistent_but_id.len() == 1 {
                report.did_you_mean = Some(consistent_but_id[0].0.facts.id.to_string());
            }
            Some(found)
        }
        (None, Some(s)) => {
            if consistent_but_id.len() == 1 {
                let suggestion = consistent_but_id[0];
                report.did_you_mean = Some(suggestion.0.facts.id.to_string());
                report.summary = format!(
                    "{s} is not in {place}, but every other stated field matches {}",
                    suggestion.0.facts.id
                );
                Some(suggestion)
            } else {
                report.summary = match s.kind() {
                    RecordKind::Document | RecordKind::Reextraction => format!(
                        "{s} is a {} id, and a citation names a capture, a version or a provision (a document is cited through its current version), so it names no record in {place}",
                        s.kind().name()
                    ),
                    _ => format!("{s} is not in {place}"),
                };
                None
            }
        }
        (None, None) => {
            let mut agreeing: Vec<_> = compared
                .iter()
                .filter(|(_, f)| differs(f).is_empty() && identified(f))
                .collect();
            agreeing.sort_by(|a, b| a.0.facts.id.cmp(&b.0.facts.id));
            if let Some(first) = agreeing.first() {
                report.also_matches = agreeing[1..]
                    .iter()
                    .map(|(k, _)| k.facts.id.to_string())
                    .collect();
                Some(*first)
            } else {
                // The best partial match, if a hash identifies one: report what differs.
                let best = compared
                    .iter()
                    .filter(|(k, f)| {
                        IDENTIFYING.iter().any(|x| matches(f, x))
                            || names_a_hash_of(citation, &k.facts)
                    })
                    .min_by_key(|(_, f)| differs(f).len());
                if best.is_none() {
                    report.summary = format!("no record in {place} matches the citation");
                }
                best
            }
        }
    };
    let Some((candidate, _)) = chosen else {
        return report;
    };
    let mut fields = compare(citation, &candidate.facts, candidate.text.as_deref());
    let signer = &candidate.facts.signer;
    if pinned.is_empty() {
        report.signer_pinned = citation.signer.as_deref() == Some(signer.as_str());
    } else {
        report.signer_pinned = pinned.contains(signer);
        // With --key, a stated Signed-By must name a pinned key: it never adds one.
        if let Some(stated) = citation.signer.as_deref()
            && !pinned.iter().any(|p| p == stated)
            && let Some(f) = fields.iter_mut().find(|f| f.field == "Signed-By")
        {
            f.status = FieldStatus::Differs {
                stated: stated.to_owned(),
                found: format!("{} (pinned with --key)", pinned.join(" or ")),
            };
        }
    }
    let fields = &fields;
    report.record = Some(candidate.facts.id.to_string());
    report.fields = fields.clone();
    report.integrity = candidate.integrity.clone();
    let unpinned_key = !pinned.is_empty() && !report.signer_pinned;
    let wrong = differs(fields);
    let unchecked_facts: Vec<&str> = citation
        .unchecked
        .iter()
        .map(|o| o.label.as_str())
        .collect();
    // A stated field that could not be checked (an excerpt with no text to look in, a log
    // position without a verified proof) is not a match: the citation is not verified.
    let unchecked: Vec<&str> = fields
        .iter()
        .filter(|f| matches!(f.status, FieldStatus::Noted { .. }) && f.field != "Accessed")
        .map(|f| f.field)
        .collect();
    let broken: Vec<&str> = candidate
        .integrity
        .iter()
        .filter(|i| !i.ok)
        .map(|i| i.what.as_str())
        .collect();
    report.verdict = if !wrong.is_empty()
        || !unchecked.is_empty()
        || !unchecked_facts.is_empty()
        || !broken.is_empty()
        || report.did_you_mean.is_some()
        || unpinned_key
    {
        Verdict::Mismatch
    } else if report.signer_pinned {
        Verdict::Verified
    } else {
        Verdict::Unpinned
    };
    if report.summary.is_empty() {
        report.summary = match report.verdict {
            Verdict::Verified => format!(
                "every stated field matches {} in {place}, its signature and log inclusion hold, and its signer {} is pinned",
                candidate.facts.id, candidate.facts.signer
            ),
            Verdict::Unpinned => format!(
                "every stated field matches {} in {place} and its signature and log inclusion hold, but nothing pins its signer {} (the citation has no Signed-By and no --key was given)",
                candidate.facts.id, candidate.facts.signer
            ),
            Verdict::Mismatch if !wrong.is_empty() => format!(
                "{} found in {place}, but the citation's {} {} not match it",
                candidate.facts.id,
                wrong.join(", "),
                if wrong.len() == 1 { "does" } else { "do" }
            ),
            Verdict::Mismatch if !unchecked.is_empty() => format!(
                "{} found in {place}, but the citation's {} cannot be checked against it, so the citation is not verified",
                candidate.facts.id,
                unchecked.join(", ")
            ),
            Verdict::Mismatch if !unchecked_facts.is_empty() => format!(
                "{} found in {place}, but nothing checked the citation's line{} {}, so the citation is not verified (remove {} or state {} as a field)",
                candidate.facts.id,
                if unchecked_facts.len() == 1 { "" } else { "s" },
                unchecked_facts
                    .iter()
                    .map(|l| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if unchecked_facts.len() == 1 {
                    "it"
                } else {
                    "them"
                },
                if unchecked_facts.len() == 1 {
                    "it"
                } else {
                    "them"
                },
            ),
            Verdict::Mismatch if unpinned_key => format!(
                "{} found in {place}, but it is signed by {}, which is not a key you pinned with --key ({})",
                candidate.facts.id,
                signer,
                pinned.join(" or ")
            ),
            Verdict::Mismatch => format!(
                "{} found in {place}, but its {} failed",
                candidate.facts.id,
                broken.join(", ")
            ),
        };
    }
    report
}

fn status_words(status: &FieldStatus) -> (&'static str, String) {
    match status {
        FieldStatus::Matches { note } => ("matches", note.clone().unwrap_or_default()),
        FieldStatus::Differs { stated, found } => (
            "DIFFERS",
            format!("stated {stated}; the record has {found}"),
        ),
        FieldStatus::NotStated => ("not stated", String::new()),
        FieldStatus::Noted { note } => ("not checked", note.clone()),
    }
}

/// Appends one report line, inert: everything in it (values stated by a citation, strings from
/// a capture, file names) has its control characters escaped before it reaches a terminal.
fn line(out: &mut String, text: &str) {
    out.push_str(inert(text.trim_end_matches(' ')).as_ref());
    out.push('\n');
}

/// The human-readable report of one or more checked citations. Every string in it that came
/// from a citation, a capture or a file name is printed inert (control characters escaped).
pub fn render_citation_reports(source: &str, reports: &[CitationReport]) -> String {
    let mut s = String::new();
    for r in reports {
        line(
            &mut s,
            &format!(
                "Citation {} of {} (from {source}){}",
                r.number,
                reports.len(),
                r.stated_record
                    .as_deref()
                    .map(|id| format!(", Record ID {id}"))
                    .unwrap_or_default()
            ),
        );
        for w in &r.warnings {
            line(&mut s, &format!("  warning: {w}"));
        }
        if let Some(id) = &r.record {
            line(&mut s, &format!("  Compared with {id}:"));
        }
        for f in &r.fields {
            let (word, detail) = status_words(&f.status);
            line(&mut s, &format!("  {:<16} {:<12} {detail}", f.field, word));
        }
        for o in &r.not_checked {
            line(
                &mut s,
                &match o.contradicts {
                    Some(field) => format!(
                        "  {:<16} {:<12} {:?} contradicts the citation's {field} line, so the citation is not verified",
                        o.label, "not checked", o.value,
                    ),
                    None => format!(
                        "  {:<16} {:<12} {:?}: {} not a citation field; nothing checked it, so the citation is not verified \u{2014} remove it or state it as a field",
                        o.label,
                        "not checked",
                        o.value,
                        match o.looks_like {
                            Some("") => "its label mixes scripts and is".to_owned(),
                            Some(field) => format!(
                                "its label looks like {field} but is spelled with letters of another script, and is"
                            ),
                            None => "its label is".to_owned(),
                        }
                    ),
                },
            );
        }
        for i in &r.integrity {
            line(
                &mut s,
                &format!(
                    "  {:<16} {:<12} {}",
                    i.what,
                    if i.ok { "holds" } else { "FAILS" },
                    i.detail
                ),
            );
        }
        if !r.also_matches.is_empty() {
            line(
                &mut s,
                &format!(
                    "  Also matches {} (the same bytes captured again)",
                    r.also_matches.join(", ")
                ),
            );
        }
        if let Some(d) = &r.did_you_mean {
            line(
                &mut s,
                &format!("  Did you mean {d}? Every other stated field matches it."),
            );
        }
        let word = match r.verdict {
            Verdict::Verified => "VERIFIED",
            Verdict::Unpinned => "NOT PINNED",
            Verdict::Mismatch => "FAILED",
        };
        line(&mut s, &format!("{word}: {}.", r.summary));
        if r.verdict == Verdict::Unpinned {
            line(
                &mut s,
                "Compare the signer's fingerprint with one from an independent channel, then pin it with --key.",
            );
        }
        s.push('\n');
    }
    s
}

/// The combined verdict of several citations: the worst one (mismatch over unpinned over
/// verified).
pub fn overall(reports: &[CitationReport]) -> Verdict {
    if reports.iter().any(|r| r.verdict == Verdict::Mismatch) {
        Verdict::Mismatch
    } else if reports.iter().any(|r| r.verdict == Verdict::Unpinned) {
        Verdict::Unpinned
    } else {
        Verdict::Verified
    }
}

/// The most citation records one input may hold (each costs a look-up and, with an excerpt, a
/// text search).
pub const MAX_CITATIONS: usize = 100;

/// Reads and parses citation records from a file, or from standard input for `-`. The error
/// is one line naming the input and the problem.
pub fn read_citations(arg: &str) -> Result<(String, Vec<Citation>), String> {
    use std::io::Read as _;
    let limit = exhibit_core::citation::MAX_CITATION_BYTES as u64;
    let (shown, bytes) = if arg == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("standard input: {e}"))?;
        ("standard input".to_owned(), bytes)
    } else {
        let file = std::fs::File::open(arg).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{arg}: no such file"),
            _ => format!("{arg}: {e}"),
        })?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(format!("{arg}: is a directory, not a citation file"));
        }
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{arg}: {e}"))?;
        (arg.to_owned(), bytes)
    };
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{shown}: more than {limit} bytes; a citation record is a few lines"
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8 text"))?;
    let citations = exhibit_core::citation::parse(&text).map_err(|e| format!("{shown}: {e}"))?;
    if citations.len() > MAX_CITATIONS {
        return Err(format!(
            "{shown}: {} citation records; at most {MAX_CITATIONS} are checked at once",
            citations.len()
        ));
    }
    Ok((shown, citations))
}
