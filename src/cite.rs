//! Citations against the archive: `cite` (render, or record a quoted provision), `verify
//! --citation|--hash|--file`, and `show` for a provision (clause stability).

use std::io::Write;
use std::path::Path;

use exhibit_core::citation::{self, HashForm};
use exhibit_core::{HashPrefix, Inert, RecordId, inert};
use exhibit_ops::citation::{CatalogMismatch, Found, HashSearch};
use exhibit_ops::clause::Stability;
use exhibit_store::{Archive, QuoteProblem};
use exhibit_verify::citation::Candidate;
use serde_json::json;

use crate::output::json_line;
use crate::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Failure};

fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_FAILED,
        message: message.into(),
    }
}

/// `exhibit cite QUERY [--short]`: prints the citation record of a capture, version, provision
/// or (its current version) document.
pub fn cite(root: &Path, query: &str, short: bool, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let public = archive.keys()?;
    let id = exhibit_ops::citation::cited_id(&archive, query)?;
    let r = exhibit_ops::citation::citable(&archive, &public, &id)?;
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
    let committed = match exhibit_ops::citation::record_provision(
        &mut archive,
        &version,
        quote,
        occurrence,
        chrono::Utc::now(),
    )? {
        Ok(p) => p,
        Err(problem) => return Err(quote_problem(&archive, &version, quote, problem)),
    };
    crate::vouch::after_signing(&mut archive)?;
    let public = archive.keys()?;
    let r = exhibit_ops::audit::verify_record(&archive, &public, &committed.provision_id, false)?;
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
            let elsewhere: Vec<String> =
                exhibit_ops::citation::versions_quoting(archive, version, quote)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
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

/// `exhibit verify --citation FILE|-` against the archive.
pub fn verify_citation(root: &Path, arg: &str, keys: &[String], json: bool) -> Result<u8, Failure> {
    let (source, citations) =
        exhibit_verify::citation::read_citations(arg).map_err(Failure::bad_input)?;
    let archive = Archive::open(root)?;
    let public = archive.keys()?;
    let (reports, verdict) =
        exhibit_ops::citation::check_citations(&archive, &public, &citations, keys)?;
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

fn report_found(found: &[Found], json: bool) -> Result<bool, Failure> {
    let all_ok = found
        .iter()
        .all(|f| f.candidate.integrity.iter().all(|i| i.ok));
    if json {
        json_line(&json!({
            "records": found.iter().map(|Found { candidate: r, how }| json!({
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
        for f in found {
            print_found(&mut o, &f.candidate, &f.how)?;
        }
    }
    Ok(all_ok)
}

/// Warns that the catalog listed a record under a hash its signed manifest does not carry.
fn warn_catalog(m: &CatalogMismatch) {
    eprintln!(
        "exhibit: warning: catalog.sqlite lists {} under {} {}, but its signed manifest has no {} {}: not counted (run `exhibit fsck`)",
        m.id,
        m.field,
        Inert(&m.hash),
        m.field,
        Inert(&m.wanted)
    );
}

/// `exhibit verify --hash PREFIX`: every record carrying a hash with that prefix. The catalog
/// only finds candidates: each is verified, and counted only when its signed manifest carries
/// the hash.
pub fn verify_hash(root: &Path, query: &str, json: bool) -> Result<u8, Failure> {
    let prefix =
        HashPrefix::parse(query).map_err(|e| Failure::bad_input(format!("--hash: {e}")))?;
    let archive = Archive::open(root)?;
    let public = archive.keys()?;
    let not_here = |m: String| -> Result<u8, Failure> {
        if json {
            json_line(&json!({"records": [], "verified": false}))?;
        }
        Err(failed(format!("not in this archive: {m}")))
    };
    let (found, distinct) =
        match exhibit_ops::citation::find_by_hash(&archive, &public, &prefix, &mut warn_catalog)? {
            HashSearch::NotHere(m) => return not_here(m),
            HashSearch::Found { found, distinct } => (found, distinct),
        };
    let all_ok = report_found(&found, json)?;
    if prefix.as_str().len() < 16 && !json {
        eprintln!(
            "exhibit: warning: a {}-digit prefix identifies little; 16 or more hex digits are needed to cite a capture with confidence",
            prefix.as_str().len()
        );
    }
    if distinct > 1 {
        return Err(failed(format!(
            "{} is ambiguous: it begins {} different hashes (listed above); give more digits",
            prefix.as_str(),
            distinct
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
    let (sha, size) = exhibit_ops::citation::hash_reader(&mut file)
        .map_err(|e| Failure::bad_input(format!("--file {shown}: {e}")))?;
    let archive = Archive::open(root)?;
    let public = archive.keys()?;
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
    let found = exhibit_ops::citation::find_file(&archive, &public, &sha, &mut warn_catalog)?;
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
    let public = archive.keys()?;
    let r = exhibit_ops::audit::verify_record(archive, &public, id, false)?;
    let row = archive.provision(id.number())?;
    let f = &r.facts;
    let passage = f.excerpt.clone().unwrap_or_default();
    let Stability {
        history,
        first_seen,
        last_seen,
        changed_in,
    } = exhibit_ops::clause::stability(archive, &row.document_id, &row.version_id, &passage)?;
    let ok = r.integrity.iter().all(|i| i.ok);
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
