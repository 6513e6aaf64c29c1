//! `exhibit fsck [--full] [--repair]`: checks the archive and prints one line per problem;
//! `--repair` first removes what interrupted writes left behind.
//!
//! The checking is `exhibit_store::Archive::fsck`, with the RFC 3161 token check from
//! `exhibit_ops::fsck`; this module adds the progress bar and the output.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::OnceLock;

use exhibit_core::inert as escape;
use exhibit_store::{Archive, FsckOptions, FsckReport, Phase, Progress, RepairReport};
use serde_json::json;

use crate::cli::FsckArgs;
use crate::output::json_line;
use crate::{EXIT_FAILED, EXIT_OK, Failure};

/// `exhibit fsck`.
pub fn fsck(root: &Path, args: FsckArgs, json: bool) -> Result<u8, Failure> {
    let archive = match Archive::open(root) {
        Ok(a) => a,
        Err(e) if e.is_bad_input() => return Err(e.into()),
        // An archive too damaged to open (no catalog, not SQLite, …) is a finding, not an error.
        Err(e) => {
            let report = exhibit_ops::fsck::unopenable(root, &e, args.full);
            print_report(&report, json)?;
            return Ok(EXIT_FAILED);
        }
    };
    if args.repair {
        print_repair(&archive.repair()?, json)?;
    }
    // Progress bars on a terminal only; records and objects (--full) are checked at the same
    // time, so each has its own bar.
    let multi = std::io::stderr().is_terminal().then(|| {
        indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(
            10,
        ))
    });
    let bars: [OnceLock<indicatif::ProgressBar>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = |phase: Phase| match phase {
        Phase::Records => &bars[0],
        Phase::Objects => &bars[1],
    };
    let on_progress = |p: Progress| match p {
        Progress::Begin { phase, total } => {
            let Some(multi) = &multi else { return };
            let template = match phase {
                Phase::Records => "{msg:>8} [{bar:40}] {pos}/{len} {per_sec} {eta}",
                Phase::Objects => "{msg:>8} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            };
            let bar = indicatif::ProgressBar::new(total).with_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(phase.name());
            let _ = slot(phase).set(multi.add(bar));
        }
        Progress::Advance { phase, n } => {
            if let Some(bar) = slot(phase).get() {
                bar.inc(n);
            }
        }
    };
    let check_token = |token: &[u8], data: &[u8]| exhibit_ops::fsck::check_token(token, data);
    let options = FsckOptions {
        full: args.full,
        workers: 0,
        progress: multi
            .as_ref()
            .map(|_| &on_progress as &(dyn Fn(Progress) + Sync)),
        check_token: Some(&check_token),
        all_paths: false,
    };
    let report = archive.fsck(&options);
    for bar in bars.iter().filter_map(OnceLock::get) {
        bar.finish_and_clear();
    }
    if let Some(multi) = &multi {
        let _ = multi.clear();
    }
    let mut report = report?;
    // An archive in a bucket: the bucket must hold what the local copy committed.
    if let Some(bucket) = exhibit_store::remote::check::check(root, args.full)? {
        report.problems.extend(bucket.problems);
        report.unlisted_problems += bucket.unlisted;
        report.notes.extend(bucket.notes);
    }
    print_report(&report, json)?;
    Ok(if report.is_clean() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// Prints what `--repair` removed and kept (one line or JSON object each).
fn print_repair(r: &RepairReport, json: bool) -> Result<(), Failure> {
    if !r.repaired() {
        eprintln!(
            "exhibit: fsck --repair: nothing removed: the archive has {} problems (listed below)",
            r.before.problem_count()
        );
    }
    if r.writers_active {
        eprintln!(
            "exhibit: fsck --repair: another process is writing objects; objects/ was left alone"
        );
    }
    let all = [
        ("removed", &r.removed),
        ("recorded", &r.recorded),
        ("kept", &r.kept),
    ];
    let items = all.iter().flat_map(|(a, l)| l.iter().map(move |f| (*a, f)));
    if json {
        for (action, f) in items {
            json_line(&json!({
                "type": action,
                "kind": f.kind,
                "path": f.path,
                "reason": f.reason,
            }))?;
        }
        return Ok(());
    }
    let mut o = std::io::stdout().lock();
    for (action, f) in items {
        let path = escape(&f.path);
        match &f.reason {
            Some(why) => writeln!(o, "{action} {} {path} ({})", f.kind, escape(why))?,
            None => writeln!(o, "{action} {} {path}", f.kind)?,
        }
    }
    Ok(())
}

fn print_report(r: &FsckReport, json: bool) -> Result<(), Failure> {
    if json {
        for p in &r.problems {
            json_line(&json!({
                "type": "problem",
                "check": p.check,
                "path": p.path,
                "message": p.message,
            }))?;
        }
        for n in &r.notes {
            json_line(&json!({
                "type": "note",
                "kind": n.kind,
                "what": n.what,
                "count": n.count,
                "paths": n.paths,
            }))?;
        }
        json_line(&json!({
            "type": "summary",
            "mode": if r.full { "full" } else { "quick" },
            "ok": r.is_clean(),
            "problems": r.problem_count(),
            "unlisted_problems": r.unlisted_problems,
            "records": r.records(),
            "captures": r.captures,
            "provisions": r.provisions,
            "reextractions": r.reextractions,
            "objects": r.objects,
            "object_bytes": r.object_bytes,
            "log_size": r.log_size,
            "checkpoints": r.checkpoints,
            "timestamps": r.timestamps,
        }))?;
        return Ok(());
    }
    let mut o = std::io::stdout().lock();
    for p in &r.problems {
        writeln!(
            o,
            "FAIL {}: {}",
            escape(&p.path),
            escape(&p.message.replace(['\n', '\r'], " "))
        )?;
    }
    if r.unlisted_problems > 0 {
        writeln!(
            o,
            "FAIL …: {} more problems not listed (at most {} per kind are)",
            r.unlisted_problems,
            exhibit_store::fsck::MAX_LISTED_PER_CHECK
        )?;
    }
    for n in &r.notes {
        writeln!(o, "note: {} {}:", n.count, n.what)?;
        for p in &n.paths {
            writeln!(o, "  {}", escape(p))?;
        }
        if n.count > n.paths.len() as u64 {
            writeln!(o, "  … and {} more", n.count - n.paths.len() as u64)?;
        }
    }
    let verdict = match r.problem_count() {
        0 => "OK".to_owned(),
        1 => "1 problem".to_owned(),
        k => format!("{k} problems"),
    };
    writeln!(
        o,
        "fsck: {} records, {} objects ({} bytes), log of {} leaves: {verdict}",
        r.records(),
        r.objects,
        r.object_bytes,
        r.log_size
    )?;
    Ok(())
}
