//! Citations against the archive: `cite` (render, or record a quoted provision), `verify
//! --citation|--hash|--file`, and `show` for a provision (clause stability).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use exhibit_core::citation::{self, Citation, HashForm, RecordFacts};
use exhibit_core::manifest::{CaptureManifest, Change};
use exhibit_core::{
    HashPrefix, Inert, ProvisionManifest, RecordId, RecordKind, Sha256Digest, inert, merkle,
};
use exhibit_sign::PublicKey;
use exhibit_store::{Archive, QuoteProblem, Signature, SignedCapture, StoreError};
use exhibit_verify::citation::{Candidate, Integrity, check_citation, overall};
use serde_json::json;

use crate::output::json_line;
use crate::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Failure};

fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_FAILED,
        message: message.into(),
    }
}

/// One manifest's integrity as the archive holds it: its signature by the archive key (already
/// checked, [`Signature::check`]), its inclusion at `log_index` under the latest signed
/// checkpoint, and the time order of its `claimed` time ([`time_order`]).
fn integrity(
    archive: &Archive,
    public: &PublicKey,
    bytes: &[u8],
    signature: &Signature,
    log_index: u64,
    claimed: &str,
) -> Result<Vec<Integrity>, Failure> {
    let fp = public.fingerprint().to_string();
    let signature = Integrity {
        what: "Signature".into(),
        ok: *signature == Signature::Valid,
        detail: signature
            .problem(public)
            .unwrap_or_else(|| format!("valid Ed25519 signature by {fp}")),
    };
    let log = match archive.latest_checkpoint()? {
        Some(cp) if cp.size > log_index => {
            let proof = archive.inclusion_proof(log_index, &cp)?;
            let note_ok = exhibit_sign::note::SignedNote::parse(&cp.note)
                .map_err(|e| e.to_string())
                .and_then(|n| {
                    n.verify(&archive.config().origin, public)
                        .map_err(|e| e.to_string())
                });
            let leaf = merkle::leaf_hash(bytes);
            let path_ok = merkle::verify_inclusion(&leaf, log_index, cp.size, &proof, &cp.root);
            Integrity {
                what: "Log inclusion".into(),
                ok: note_ok.is_ok() && path_ok.is_ok(),
                detail: match (note_ok, path_ok) {
                    (Ok(()), Ok(())) => format!(
                        "leaf {log_index} of the signed checkpoint of size {}",
                        cp.size
                    ),
                    (Err(e), _) => format!("the latest checkpoint does not verify: {e}"),
                    (_, Err(e)) => format!("leaf {log_index}: {e}"),
                },
            }
        }
        _ => Integrity {
            what: "Log inclusion".into(),
            ok: false,
            detail: format!(
                "leaf {log_index} is not covered by a signed checkpoint yet (run `exhibit log checkpoint`)"
            ),
        },
    };
    let mut checks = vec![signature, log];
    checks.extend(time_order(archive, log_index, claimed)?);
    Ok(checks)
}

/// Time order, as `exhibit-verify --tsa-ca` checks it in a bundle: a record's claimed time is
/// no later than a trusted RFC 3161 time over the earliest timestamped checkpoint that
/// includes it. Trusted means chaining to the CA configured for that TSA in this archive; a
/// token that does not (or a TSA configured without a CA) bounds nothing, and a token that
/// fails to verify is `fsck --full`'s to report. `None` when no trusted token covers the
/// record.
fn time_order(
    archive: &Archive,
    log_index: u64,
    claimed: &str,
) -> Result<Option<Integrity>, Failure> {
    let Some(cp) = archive.earliest_timestamped_checkpoint(log_index + 1, &[])? else {
        return Ok(None);
    };
    let mut bound: Option<(i64, String)> = None;
    for stamp in archive.timestamps(cp.size)? {
        let Some(pem) = archive
            .config()
            .tsa
            .iter()
            .find(|t| t.name == stamp.tsa)
            .and_then(|t| t.read_ca(archive.root()))
        else {
            continue;
        };
        let trusted = pem
            .ok()
            .and_then(|pem| exhibit_timestamp::TrustAnchors::from_pem(&pem).ok())
            .zip(archive.read_timestamp(&stamp).ok())
            .and_then(|(anchors, response)| {
                let token = exhibit_timestamp::Token::parse_response(&response).ok()?;
                token.check_message(cp.note.as_bytes()).ok()?;
                token.verify_signature().ok()?;
                token.verify_chain(&anchors).ok()?;
                Some(token)
            });
        if let Some(token) = trusted {
            let at = token.info().no_later_than_unix();
            if bound.as_ref().is_none_or(|(b, _)| at < *b) {
                bound = Some((at, stamp.tsa.clone()));
            }
        }
    }
    let Some((bound, tsa)) = bound else {
        return Ok(None);
    };
    let shown = chrono::DateTime::from_timestamp(bound, 0).map_or_else(
        || bound.to_string(),
        exhibit_core::time::format_rfc3339_seconds,
    );
    let ok =
        exhibit_core::time::parse_rfc3339_seconds(claimed).is_some_and(|t| t.timestamp() <= bound);
    Ok(Some(Integrity {
        what: "Time order".into(),
        ok,
        detail: if ok {
            format!(
                "claimed time {claimed} is no later than the checkpoint of size {} existed ({shown}, timestamped by {tsa})",
                cp.size
            )
        } else {
            format!(
                "claimed time {claimed} is after the checkpoint of size {} that includes it existed (no later than {shown}, timestamped by {tsa}): the claimed time is false",
                cp.size
            )
        },
    }))
}

/// The catalog named a record whose signed manifest says otherwise: exit 1, naming both.
fn out_of_step(id: &RecordId, problem: String) -> Failure {
    failed(format!(
        "{id}: {problem}; catalog.sqlite is out of step with the signed manifests (run `exhibit fsck`)"
    ))
}

/// Resolves a record (capture, version or provision) into a citation candidate, verifying it.
/// `with_text` reads the version's extracted text (for excerpt checks).
///
/// The catalog only finds the manifest: every fact comes from the signed manifest, which must
/// be the record asked for (a capture's own id; for a version, the capture whose manifest opens
/// that version; for a provision, its own id and the capture it pins).
fn resolve_record(
    archive: &Archive,
    public: &PublicKey,
    id: &RecordId,
    with_text: bool,
) -> Result<Candidate, Failure> {
    let text_of = |m: &CaptureManifest| -> Result<Option<std::sync::Arc<str>>, Failure> {
        match (&m.text, with_text) {
            (Some(t), true) => Ok(Some(std::sync::Arc::from(archive.read_text(&t.sha256)?))),
            _ => Ok(None),
        }
    };
    let candidate = match id.kind() {
        RecordKind::Capture | RecordKind::Version => {
            let capture_number = if id.kind() == RecordKind::Version {
                archive.version(id.number())?.opened_by.number()
            } else {
                id.number()
            };
            let SignedCapture {
                row,
                manifest: m,
                bytes,
                signature,
            } = archive.read_signed_capture(capture_number, public)?;
            if id.kind() == RecordKind::Version
                && !m
                    .version
                    .as_ref()
                    .is_some_and(|v| v.id == *id && v.change == Change::New)
            {
                return Err(out_of_step(
                    id,
                    format!("the signed manifest of {} does not open this version", m.id),
                ));
            }
            let sha = Sha256Digest::of(&bytes);
            let facts = if id.kind() == RecordKind::Version {
                RecordFacts::of_version(&m, sha, Some(row.log_index))
            } else {
                RecordFacts::of_capture(&m, sha, Some(row.log_index))
            };
            let mut checks = integrity(
                archive,
                public,
                &bytes,
                &signature,
                row.log_index,
                &m.captured_at,
            )?;
            if let Some(c) = &m.content {
                let stored = archive.objects().copy_verified(
                    &c.sha256,
                    Some(&c.blake3),
                    &mut std::io::sink(),
                );
                checks.push(Integrity {
                    what: "Stored bytes".into(),
                    ok: stored.is_ok(),
                    detail: match stored {
                        Ok(n) => format!(
                            "{n} bytes in the archive hash to the manifest's SHA-256 and BLAKE3"
                        ),
                        Err(e) => e.to_string(),
                    },
                });
            }
            Candidate {
                facts,
                text: text_of(&m)?,
                integrity: checks,
            }
        }
        RecordKind::Provision => {
            let row = archive.provision(id.number())?;
            let (bytes, sig) = archive.read_provision_manifest(&row)?;
            let p = ProvisionManifest::parse(&bytes)
                .map_err(|e| failed(format!("{}: {e}", row.manifest_path)))?;
            if p.id != *id {
                return Err(out_of_step(
                    id,
                    format!("the manifest read for it is {}'s", p.id),
                ));
            }
            // The pinned capture's manifest (its own signature is its record's matter: the
            // provision pins it by hash, checked below).
            let SignedCapture {
                manifest: opening,
                bytes: obytes,
                ..
            } = archive.read_signed_capture(p.capture.id.number(), public)?;
            let signature = Signature::check(public, &bytes, &sig, &p.signer);
            let mut checks = integrity(
                archive,
                public,
                &bytes,
                &signature,
                row.log_index,
                &p.created_at,
            )?;
            let text = archive.read_text(&p.text.sha256)?;
            // The same checks a bundle verifier makes (FORMAT §3.8): the pinned manifest, and
            // its text, version and document are the ones the provision names.
            let pinned_ok = Sha256Digest::of(&obytes) == p.capture.manifest_sha256
                && opening.text.as_ref().map(|t| (t.sha256, t.size))
                    == Some((p.text.sha256, p.text.size))
                && opening.version.as_ref().map(|v| &v.id) == Some(&p.version)
                && opening.document == p.document;
            let quote_ok = p.check_against(text.as_bytes());
            checks.push(Integrity {
                what: "Quoted passage".into(),
                ok: pinned_ok && quote_ok.is_ok(),
                detail: match (pinned_ok, quote_ok) {
                    (false, _) => format!(
                        "{}'s manifest, text, version or document is not the one the provision names",
                        p.capture.id
                    ),
                    (true, Ok(())) => format!(
                        "is the text of {} at characters {}..{}",
                        p.version, p.quote.char_start, p.quote.char_end
                    ),
                    (true, Err(e)) => e,
                },
            });
            Candidate {
                facts: RecordFacts::of_provision(
                    &p,
                    Sha256Digest::of(&bytes),
                    Some(row.log_index),
                    &opening,
                ),
                text: with_text.then(|| std::sync::Arc::from(text)),
                integrity: checks,
            }
        }
        RecordKind::Document | RecordKind::Reextraction => {
            return Err(Failure::bad_input(format!(
                "{id}: only captures, versions and provisions are cited (a document through its current version)"
            )));
        }
    };
    Ok(candidate)
}

/// `exhibit cite QUERY [--short]`: prints the citation record of a capture, version, provision
/// or (its current version) document.
pub fn cite(root: &Path, query: &str, short: bool, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let public = archive.public_key()?;
    let id = cited_id(&archive, query)?;
    let r = resolve_record(&archive, &public, &id, false)?;
    let broken: Vec<&Integrity> = r.integrity.iter().filter(|i| !i.ok).collect();
    if let Some(b) = broken.first() {
        return Err(failed(format!(
            "{id}: refusing to cite a record that does not verify: {}: {}",
            b.what, b.detail
        )));
    }
    let form = if short {
        HashForm::Short
    } else {
        HashForm::Full
    };
    let text = citation::render(&r.facts, form);
    if json {
        json_line(&json!({"citation": text, "record": r.facts}))?;
    } else {
        write!(
            std::io::stdout().lock(),
            "{}",
            exhibit_core::inert::inert_text(&text)
        )?;
    }
    Ok(EXIT_OK)
}

/// The record a `cite` query names: a document stands for its current version.
fn cited_id(archive: &Archive, query: &str) -> Result<RecordId, Failure> {
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

/// `exhibit cite VERSION --quote TEXT [--occurrence N]`: records a provision.
pub fn cite_quote(
    root: &Path,
    query: &str,
    quote: &str,
    occurrence: Option<u64>,
    short: bool,
    json: bool,
) -> Result<u8, Failure> {
    if quote.len() > exhibit_core::provision::MAX_QUOTE_BYTES {
        return Err(Failure::bad_input(format!(
            "--quote is longer than {} bytes; quote a clause, not a document",
            exhibit_core::provision::MAX_QUOTE_BYTES
        )));
    }
    let mut archive = Archive::open(root)?;
    let version = archive.resolve_version(query)?;
    let draft = match archive.draft_provision(&version, quote, occurrence, chrono::Utc::now())? {
        Ok(d) => d,
        Err(problem) => return Err(quote_problem(&archive, &version, quote, problem)),
    };
    let key = archive.signing_key()?;
    let committed = {
        let mut batch = archive.begin(&key)?;
        let p = batch.add_provision(draft)?;
        batch.commit()?;
        p
    };
    archive.sign_checkpoint(&key)?;
    crate::tsa::stamp_latest(&mut archive)?;
    let public = archive.public_key()?;
    let r = resolve_record(&archive, &public, &committed.provision_id, false)?;
    let form = if short {
        HashForm::Short
    } else {
        HashForm::Full
    };
    let text = citation::render(&r.facts, form);
    if json {
        json_line(&json!({
            "provision": committed,
            "citation": text,
            "record": r.facts,
        }))?;
    } else {
        let mut o = std::io::stdout().lock();
        writeln!(
            o,
            "Recorded provision {}: characters {}..{} of the text of {} (log leaf {}).",
            committed.provision_id,
            committed.char_start,
            committed.char_end,
            committed.version_id,
            committed.log_index
        )?;
        writeln!(o)?;
        write!(o, "{}", exhibit_core::inert::inert_text(&text))?;
    }
    Ok(EXIT_OK)
}

fn quote_problem(
    archive: &Archive,
    version: &exhibit_store::VersionRow,
    quote: &str,
    problem: QuoteProblem,
) -> Failure {
    match problem {
        QuoteProblem::Empty => {
            Failure::bad_input("--quote is empty once quotation marks and ellipses are removed")
        }
        QuoteProblem::Repeated(n) => Failure::bad_input(format!(
            "the quote occurs {n} times in the text of {}; choose one with --occurrence 1..{n}",
            version.id
        )),
        QuoteProblem::NoSuchOccurrence { asked, found } => Failure::bad_input(format!(
            "--occurrence {asked}: the quote occurs {found} time(s) in the text of {}",
            version.id
        )),
        QuoteProblem::NotFound(closest) => {
            let (cleaned, _, _) = exhibit_core::quote::clean_quote(quote);
            let elsewhere: Vec<String> = archive
                .clause_history(&version.document_id, &cleaned)
                .map(|h| {
                    h.into_iter()
                        .filter(|c| c.occurrences.unwrap_or(0) > 0)
                        .map(|c| c.version.id.to_string())
                        .collect()
                })
                .unwrap_or_default();
            let mut message = format!("the quote is not in the text of {}", version.id);
            match closest {
                Some(c) => message.push_str(&format!(
                    "; the closest passage ({:.0}% similar) is “{}”",
                    c.similarity * 100.0,
                    inert(&exhibit_core::manifest::shorten(&c.passage, 200))
                )),
                None => message.push_str("; nothing in it comes close"),
            }
            if !elsewhere.is_empty() {
                message.push_str(&format!(
                    "; it does appear in {} of the same document",
                    elsewhere.join(", ")
                ));
            }
            failed(message)
        }
    }
}

/// Gathers the records a citation may refer to: those it names by id and those its hashes,
/// or its URL and capture time, pick out.
fn candidate_ids(
    archive: &Archive,
    c: &Citation,
    warnings: &mut Vec<String>,
) -> Result<BTreeSet<RecordId>, Failure> {
    let mut ids = BTreeSet::new();
    let prefix = archive.prefix().as_str();
    let add = |id: &RecordId, ids: &mut BTreeSet<RecordId>| -> Result<(), Failure> {
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

/// `exhibit verify --citation FILE|-` against the archive.
pub fn verify_citation(root: &Path, arg: &str, keys: &[String], json: bool) -> Result<u8, Failure> {
    let (source, citations) =
        exhibit_verify::citation::read_citations(arg).map_err(Failure::bad_input)?;
    let archive = Archive::open(root)?;
    let public = archive.public_key()?;
    let mut reports = Vec::new();
    for (i, c) in citations.iter().enumerate() {
        let mut warnings = Vec::new();
        let ids = candidate_ids(&archive, c, &mut warnings)?;
        let mut candidates = Vec::new();
        for id in &ids {
            candidates.push(resolve_record(&archive, &public, id, c.excerpt.is_some())?);
        }
        let mut report = check_citation(i + 1, c, &candidates, keys, "this archive");
        report.warnings.extend(warnings);
        reports.push(report);
    }
    let verdict = overall(&reports);
    if json {
        json_line(&json!({"source": source, "citations": reports, "verdict": verdict}))?;
    } else {
        write!(
            std::io::stdout().lock(),
            "{}",
            exhibit_verify::citation::render_citation_reports(&source, &reports)
        )?;
    }
    Ok(verdict.exit_code())
}

/// Prints a found record: its citation and its verification.
fn print_found(o: &mut impl Write, r: &Candidate, how: &str) -> Result<(), Failure> {
    let f = &r.facts;
    writeln!(o, "{}  ({})", f.id, Inert(how))?;
    for line in citation::render(f, HashForm::Full).lines() {
        writeln!(o, "  {}", Inert(line))?;
    }
    for i in &r.integrity {
        writeln!(
            o,
            "  {:<16} {:<6} {}",
            i.what,
            if i.ok { "holds" } else { "FAILS" },
            Inert(&i.detail)
        )?;
    }
    writeln!(o)?;
    Ok(())
}

fn report_found(found: &[(Candidate, String)], json: bool) -> Result<bool, Failure> {
    let all_ok = found.iter().all(|(r, _)| r.integrity.iter().all(|i| i.ok));
    if json {
        json_line(&json!({
            "records": found.iter().map(|(r, how)| json!({
                "id": r.facts.id,
                "matched": how,
                "citation": citation::render(&r.facts, HashForm::Full),
                "record": r.facts,
                "integrity": r.integrity,
            })).collect::<Vec<_>>(),
            "verified": all_ok,
        }))?;
    } else {
        let mut o = std::io::stdout().lock();
        for (r, how) in found {
            print_found(&mut o, r, how)?;
        }
    }
    Ok(all_ok)
}

/// The hash of a verified record that a catalog match names (`content sha256`, `text sha256`,
/// `manifest sha256`, `quote sha256`), as its signed manifest (or, for the manifest hash, its
/// verified bytes) gives it.
fn signed_hash(facts: &RecordFacts, field: &str) -> Option<Sha256Digest> {
    match field {
        "content sha256" if facts.kind() == RecordKind::Capture => facts.sha256,
        "text sha256" if facts.kind() == RecordKind::Capture => facts.text_sha256,
        "quote sha256" => facts.excerpt_sha256,
        "manifest sha256" => Some(facts.manifest_sha256),
        _ => None,
    }
}

/// Warns that the catalog listed a record under a hash its signed manifest does not carry.
fn warn_catalog(id: &RecordId, field: &str, hash: &str, wanted: &str) {
    eprintln!(
        "exhibit: warning: catalog.sqlite lists {id} under {field} {}, but its signed manifest has no {field} {}: not counted (run `exhibit fsck`)",
        Inert(hash),
        Inert(wanted)
    );
}

/// `exhibit verify --hash PREFIX`: every record carrying a hash with that prefix. The catalog
/// only finds candidates: each is verified, and counted only when its signed manifest carries
/// the hash.
pub fn verify_hash(root: &Path, query: &str, json: bool) -> Result<u8, Failure> {
    let prefix =
        HashPrefix::parse(query).map_err(|e| Failure::bad_input(format!("--hash: {e}")))?;
    let archive = Archive::open(root)?;
    let public = archive.public_key()?;
    let not_here = |m: String| -> Result<u8, Failure> {
        if json {
            json_line(&json!({"records": [], "verified": false}))?;
        }
        Err(failed(format!("not in this archive: {m}")))
    };
    let matches = match archive.resolve(prefix.as_str()) {
        Ok(m) => m,
        Err(StoreError::NotFound(m)) => return not_here(m),
        Err(e) => return Err(e.into()),
    };
    let mut distinct: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for m in &matches {
        let r = resolve_record(&archive, &public, &m.id, false)?;
        match signed_hash(&r.facts, m.field).map(|d| d.to_hex()) {
            Some(hex) if prefix.matches(&hex) => {
                found.push((r, format!("{} {hex}", m.field)));
                distinct.insert(hex);
            }
            _ => warn_catalog(&m.id, m.field, &m.hash, prefix.as_str()),
        }
    }
    if found.is_empty() {
        return not_here(format!(
            "no record's signed content, text, quote or manifest hash starts with {}",
            prefix.as_str()
        ));
    }
    let all_ok = report_found(&found, json)?;
    if prefix.as_str().len() < 16 && !json {
        eprintln!(
            "exhibit: warning: a {}-digit prefix identifies little; 16 or more hex digits are needed to cite a capture with confidence",
            prefix.as_str().len()
        );
    }
    if distinct.len() > 1 {
        return Err(failed(format!(
            "{} is ambiguous: it begins {} different hashes (listed above); give more digits",
            prefix.as_str(),
            distinct.len()
        )));
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_FAILED })
}

/// `exhibit verify --file PATH`: which capture a local copy is. The catalog only finds
/// candidates; a capture is named only when its signed manifest carries the file's SHA-256.
pub fn verify_file(root: &Path, path: &Path, json: bool) -> Result<u8, Failure> {
    let shown = path.display().to_string();
    let shown = inert(&shown);
    let mut file = std::fs::File::open(path).map_err(|e| {
        Failure::bad_input(match e.kind() {
            std::io::ErrorKind::NotFound => format!("--file {shown}: no such file"),
            _ => format!("--file {shown}: {e}"),
        })
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Failure::bad_input(format!(
            "--file {shown}: is a directory"
        )));
    }
    let mut hasher = exhibit_core::DualHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        use std::io::Read as _;
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::bad_input(format!("--file {shown}: {e}"))),
        };
        hasher.update(&buf[..n]);
    }
    let (sha, _, size) = hasher.finish();
    let archive = Archive::open(root)?;
    let public = archive.public_key()?;
    let none = || -> Result<u8, Failure> {
        if json {
            json_line(
                &json!({"file": path, "sha256": sha, "size": size, "records": [], "verified": false}),
            )?;
        }
        Err(failed(format!(
            "{shown} (sha256 {sha}, {size} bytes) matches no capture in this archive: it is not a copy of anything captured here, byte for byte"
        )))
    };
    let matches = match archive.resolve(&sha.to_hex()) {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return none(),
        Err(e) => return Err(e.into()),
    };
    let mut found = Vec::new();
    for m in matches
        .iter()
        .filter(|m| m.id.kind() == RecordKind::Capture)
    {
        let r = resolve_record(&archive, &public, &m.id, false)?;
        if signed_hash(&r.facts, m.field) != Some(sha) {
            warn_catalog(&m.id, m.field, &m.hash, &sha.to_hex());
            continue;
        }
        let how = match m.field {
            "content sha256" => "the file is this capture's exact bytes".to_owned(),
            "manifest sha256" => "the file is this capture's signed manifest".to_owned(),
            other => format!("the file's SHA-256 is this capture's {other}"),
        };
        found.push((r, how));
    }
    if found.is_empty() {
        return none();
    }
    if !json {
        writeln!(
            std::io::stdout().lock(),
            "{shown}: sha256 {sha}, {size} bytes\n"
        )?;
    }
    let all_ok = report_found(&found, json)?;
    Ok(if all_ok { EXIT_OK } else { EXIT_FAILED })
}

/// `exhibit show PROVISION`: the provision, its verification, and where the clause stands in
/// every version of its document.
pub fn show_provision(archive: &Archive, id: &RecordId, json: bool) -> Result<u8, Failure> {
    let public = archive.public_key()?;
    let r = resolve_record(archive, &public, id, false)?;
    let row = archive.provision(id.number())?;
    let f = &r.facts;
    let passage = f.excerpt.clone().unwrap_or_default();
    let history = archive.clause_history(&row.document_id, &passage)?;
    let ok = r.integrity.iter().all(|i| i.ok);
    // Stability: versions after the quoted one that still hold the clause, until the first
    // that does not.
    let quoted_at = history.iter().position(|h| h.version.id == row.version_id);
    let mut last_seen = None;
    let mut changed_in = None;
    if let Some(q) = quoted_at {
        for h in &history[q..] {
            if h.occurrences.unwrap_or(0) > 0 {
                last_seen = Some(h.version.clone());
            } else {
                changed_in = Some(h.version.clone());
                break;
            }
        }
    }
    let first_seen = history
        .iter()
        .find(|h| h.occurrences.unwrap_or(0) > 0)
        .map(|h| h.version.clone());
    if json {
        json_line(&json!({
            "provision": row,
            "record": f,
            "integrity": r.integrity,
            "versions": history.iter().map(|h| json!({
                "version": h.version.id,
                "first_seen": h.version.first_seen,
                "last_seen": h.version.last_seen,
                "occurrences": h.occurrences,
            })).collect::<Vec<_>>(),
            "first_seen_in": first_seen.as_ref().map(|v| &v.id),
            "last_seen_in": last_seen.as_ref().map(|v| &v.id),
            "changed_in": changed_in.as_ref().map(|v| &v.id),
        }))?;
    } else {
        let mut o = std::io::stdout().lock();
        writeln!(o, "Provision {id}  (exhibit.provision/v1)")?;
        writeln!(o, "Document   {}  {}", row.document_id, Inert(&f.url))?;
        writeln!(
            o,
            "Quotes     {} (opened by {}), characters {}..{}",
            row.version_id, row.capture_id, row.char_start, row.char_end
        )?;
        writeln!(
            o,
            "Excerpt    “{}”",
            Inert(&passage.split_whitespace().collect::<Vec<_>>().join(" "))
        )?;
        writeln!(o, "Quote      sha256 {}", row.quote_sha256)?;
        writeln!(
            o,
            "Recorded   {} (as claimed by the signer)",
            crate::output::human_time(&row.created_at)
        )?;
        for i in &r.integrity {
            writeln!(
                o,
                "{:<10} {} {}",
                i.what.split_whitespace().next().unwrap_or_default(),
                if i.ok { "holds:" } else { "FAILS:" },
                Inert(&i.detail)
            )?;
        }
        writeln!(o)?;
        writeln!(
            o,
            "Clause stability (verbatim after whitespace normalisation), by version:"
        )?;
        for h in &history {
            let state = match h.occurrences {
                None => "no text".to_owned(),
                Some(0) => "absent".to_owned(),
                Some(1) => "present".to_owned(),
                Some(n) => format!("present ({n} times)"),
            };
            let mark = if h.version.id == row.version_id {
                "  <- quoted"
            } else {
                ""
            };
            writeln!(
                o,
                "  {}  {} .. {}  {state}{mark}",
                h.version.id,
                crate::output::human_time(&h.version.first_seen),
                crate::output::human_time(&h.version.last_seen)
            )?;
        }
        match (&last_seen, &changed_in) {
            (Some(l), None) => writeln!(
                o,
                "Unchanged since {}: still in the latest version {} (last seen {}).",
                first_seen.as_ref().map_or("?".into(), |v| v.id.to_string()),
                l.id,
                crate::output::human_time(&l.last_seen)
            )?,
            (Some(l), Some(c)) => writeln!(
                o,
                "Last seen verbatim in {} ({}); changed or removed in {} (first seen {}).",
                l.id,
                crate::output::human_time(&l.last_seen),
                c.id,
                crate::output::human_time(&c.first_seen)
            )?,
            _ => {}
        }
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAILED })
}

/// Checks that the arguments of `verify` make one question.
pub fn verify_mode_error(bundle: bool, citation: bool, hash: bool, file: bool) -> Option<Failure> {
    let n = [citation, hash, file].iter().filter(|x| **x).count();
    if !bundle && n == 0 {
        return Some(Failure::bad_input(
            "verify needs a BUNDLE, --citation FILE, --hash PREFIX or --file PATH",
        ));
    }
    if n > 1 || (bundle && file) {
        return Some(Failure {
            code: EXIT_BAD_INPUT,
            message:
                "give one of --citation, --hash or --file (with a BUNDLE: --citation or --hash)"
                    .into(),
        });
    }
    None
}
