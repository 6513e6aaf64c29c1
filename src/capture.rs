//! `exhibit capture SOURCE… [--list FILE] [--jobs N]`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use exhibit_capture::batch::{BatchEvent, BatchItem, BatchOptions, read_list};
use exhibit_capture::{CaptureError, Capturer, DocumentMeta, Source};
use exhibit_core::manifest::MAX_RECORDED_STRING;
use exhibit_store::Archive;

use crate::cli::CaptureArgs;
use crate::output;
use crate::{EXIT_FAILED, EXIT_OK, Failure};

/// `exhibit capture`.
pub fn capture(root: &Path, args: CaptureArgs, json: bool) -> Result<u8, Failure> {
    // Check every source argument before capturing any, so a typo fails fast and records
    // nothing. (Lines of a list are checked as they are read: a bad one is reported and
    // skipped, and the command exits 2 at the end.)
    let sources = args
        .sources
        .iter()
        .map(|s| Source::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let stdin_sources = sources.iter().filter(|s| **s == Source::Stdin).count();
    let list_on_stdin = args.list.as_deref() == Some(Path::new("-"));
    if stdin_sources + usize::from(list_on_stdin) > 1 {
        return Err(Failure::bad_input(
            "stdin (-) can be read only once per command (as a source or as --list)",
        ));
    }
    if args.browser
        && let Some((_, raw)) = sources
            .iter()
            .zip(&args.sources)
            .find(|(s, _)| !matches!(s, Source::Http(_)))
    {
        return Err(Failure::bad_input(format!(
            "--browser loads http(s) URLs; {raw:?} is not one"
        )));
    }
    if let Some(url) = &args.url {
        exhibit_core::url::normalize_document_url(url)
            .map_err(|e| Failure::bad_input(format!("--url: {e}")))?;
    }
    for (flag, value) in [
        ("--url", &args.url),
        ("--entity", &args.entity),
        ("--title", &args.title),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.len() > MAX_RECORDED_STRING)
        {
            return Err(Failure::bad_input(format!(
                "{flag} is longer than {MAX_RECORDED_STRING} bytes"
            )));
        }
    }
    let rules = if args.select.is_empty() && args.remove.is_empty() {
        None
    } else {
        let rules = exhibit_core::manifest::ExtractionRules {
            select: args.select.clone(),
            remove: args.remove.clone(),
        };
        exhibit_text::check_rules(&rules).map_err(Failure::bad_input)?;
        Some(rules)
    };
    let meta = DocumentMeta {
        url: args.url.clone(),
        entity: args.entity.clone(),
        title: args.title.clone(),
        rules,
    };
    let list: Option<(Box<dyn std::io::BufRead + Send>, String)> = match &args.list {
        None => None,
        Some(p) if p == Path::new("-") => Some((
            Box::new(std::io::BufReader::new(std::io::stdin())),
            "stdin".to_owned(),
        )),
        Some(p) => {
            let file = std::fs::File::open(p)
                .map_err(|e| Failure::bad_input(format!("--list {}: {e}", p.display())))?;
            Some((
                Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
                p.display().to_string(),
            ))
        }
    };
    // The progress bar needs a total: count the list's entries first (a cheap pass).
    let show_progress = std::io::stderr().is_terminal();
    let total = if show_progress {
        let listed = match &args.list {
            Some(p) if p != Path::new("-") => count_entries(p),
            _ => None,
        };
        listed.map(|n| n + sources.len() as u64)
    } else {
        None
    };

    let mut archive = Archive::open(root)?;
    // A TSA that missed the last checkpoint (an outage) gets another chance first.
    crate::vouch::before_capture(&mut archive)?;
    // Webhooks told of each new version: queued as it is committed, sent at the end.
    let mut notify = crate::notify::Hook::new(&archive);
    let mut capturer = Capturer::new(&mut archive)?;
    if let Some(t) = args.timeout {
        capturer.set_timeout(t);
    }
    if let Some(m) = args.max_size {
        capturer.set_max_bytes(m);
    }
    if args.browser {
        exhibit_capture::find_browser().map_err(|e| Failure::bad_input(e.to_string()))?;
        capturer.set_browser(Some(exhibit_capture::BrowserSettings {
            wait_for: args.wait_for.clone(),
            ..Default::default()
        }));
    }
    if !args.ca_cert.is_empty() {
        capturer
            .add_trust_roots(&args.ca_cert)
            .map_err(|e| Failure::bad_input(e.to_string()))?;
    }
    let options = BatchOptions {
        jobs: match args.jobs {
            Some(n) => n as usize,
            None if args.list.is_some() => BatchOptions::default().jobs,
            None => 1,
        },
        ..BatchOptions::default()
    };
    let given = sources.into_iter().zip(&args.sources).map(|(source, raw)| {
        Ok(BatchItem {
            source,
            meta: meta.clone(),
            origin: raw.clone(),
        })
    });
    let listed = list
        .into_iter()
        .flat_map(|(reader, name)| read_list(reader, &name, &meta));
    let items = given.chain(listed);

    let progress = show_progress.then(|| progress_bar(total));
    let mut status = EXIT_OK;
    let mut skipped = 0usize;
    let mut on_event = |event: BatchEvent<'_>| -> Result<(), CaptureError> {
        match event {
            BatchEvent::Committed(c) => {
                notify.committed(c);
                let line = if json {
                    serde_json::to_string(c).map_err(|e| CaptureError::Internal(e.to_string()))?
                } else {
                    output::capture_line(c)
                };
                print_above(progress.as_ref(), &line, json);
                if !c.ok {
                    status = EXIT_FAILED;
                    let message = format!(
                        "exhibit: capture failed: {}: {} (recorded as {})",
                        c.url,
                        c.error.as_deref().unwrap_or("unknown error"),
                        c.capture_id
                    );
                    eprint_above(progress.as_ref(), &message);
                }
            }
            BatchEvent::Skipped { origin, error } => {
                // A browser that failed is no fault of the input: exit 1, like a failed capture.
                if error.is_bad_input() {
                    skipped += 1;
                } else {
                    status = EXIT_FAILED;
                }
                let message = format!(
                    "exhibit: error: {}",
                    with_origin(origin, &error.to_string()).replace('\n', " ")
                );
                eprint_above(progress.as_ref(), &message);
            }
        }
        if let Some(p) = &progress {
            p.inc(1);
        }
        Ok(())
    };
    let started = std::time::Instant::now();
    let summary = capturer.capture_all(items, &options, &mut on_event);
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let summary = summary?;
    if summary.committed > 0 {
        // One signed checkpoint per capture command, covering everything it committed.
        capturer.sign_checkpoint()?;
        crate::vouch::after_signing(&mut archive)?;
    }
    notify.deliver();
    if show_progress && summary.committed + summary.skipped > 1 {
        eprintln!(
            "exhibit: {} captured ({} failed), {} skipped, in {} transaction(s), {:.1} s",
            summary.committed,
            summary.failed,
            summary.skipped,
            summary.transactions,
            started.elapsed().as_secs_f64()
        );
    }
    if skipped > 0 {
        return Err(Failure::bad_input(if summary.committed > 0 {
            format!("{skipped} source(s) could not be read (see above); the others were captured")
        } else {
            "nothing was captured (see above)".to_owned()
        }));
    }
    Ok(status)
}

/// An error message led by where the source came from, unless it already says so.
fn with_origin(origin: &str, message: &str) -> String {
    if message.starts_with(origin) {
        message.to_owned()
    } else {
        format!("{origin}: {message}")
    }
}

/// The number of entries (non-blank, non-comment lines) of a list file; `None` if unreadable.
fn count_entries(path: &Path) -> Option<u64> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).ok()?;
    let mut n = 0u64;
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.ok()?;
        let trimmed = line.trim_ascii();
        if !trimmed.is_empty() && !trimmed.starts_with(b"#") {
            n += 1;
        }
    }
    Some(n)
}

fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} captured [{bar:30}] {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} captured {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
    bar
}

/// Prints a line to stdout without tearing the progress bar (output errors are ignored:
/// capturing matters more than printing, and every capture is committed before it is printed).
fn print_above(progress: Option<&indicatif::ProgressBar>, line: &str, json: bool) {
    let print = || {
        let _ = if json {
            writeln!(std::io::stdout().lock(), "{line}")
        } else {
            writeln!(crate::output::text_stdout(), "{line}")
        };
    };
    match progress {
        Some(p) => p.suspend(print),
        None => print(),
    }
}

fn eprint_above(progress: Option<&indicatif::ProgressBar>, line: &str) {
    match progress {
        Some(p) => p.suspend(|| crate::output::eprint_line(line)),
        None => crate::output::eprint_line(line),
    }
}
