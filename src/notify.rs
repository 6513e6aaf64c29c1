//! `exhibit notify add|remove|list|deliver`, and the change notifications that follow a
//! capture: webhooks told of every new version this host commits (docs/FORMAT.md "Change
//! notifications").
//!
//! The notification is `exhibit_ops::notify`'s, the outbox and its delivery are
//! `exhibit_capture::notify`'s; this module decides when they run and what is said about it.
//! Like the TSAs and witnesses (`vouch`), a webhook is asked after the commit, a failure is a
//! warning, and nothing about a webhook ever fails a capture.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use exhibit_capture::notify::{
    Delivery, Outcome, Round, Which, deliver, drop_outbox, enqueue, queued, read_mark,
    signature_header, write_mark,
};
use exhibit_ops::notify::ChangeNotification;
use exhibit_sign::SigningKey;
use exhibit_sign::history::KeyHistory;
use exhibit_store::config::{Config, NotifyEntry};
use exhibit_store::{Archive, CommittedCapture, StoreError};
use serde_json::json;

use crate::cli::NotifyCommand;
use crate::output::{eprint_line, json_line, text_stdout};
use crate::{EXIT_FAILED, EXIT_OK, Failure};

/// `exhibit notify …`.
pub fn notify(root: &Path, cmd: NotifyCommand, json: bool) -> Result<u8, Failure> {
    match cmd {
        NotifyCommand::Add { url, links } => add(root, url, links, json),
        NotifyCommand::Remove { url } => remove(root, &url, json),
        NotifyCommand::List => list(root, json),
        NotifyCommand::Deliver => deliver_now(root, json),
    }
}

/// A configuration refused for what the user gave: exit 2, the message alone.
fn config_error(e: StoreError) -> Failure {
    match e {
        StoreError::Config { message, .. } => Failure::bad_input(message),
        other => other.into(),
    }
}

fn add(root: &Path, url: String, links: Option<String>, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let entry = NotifyEntry { url, links };
    entry.check().map_err(Failure::bad_input)?;
    if archive.config().notify.iter().any(|n| n.url == entry.url) {
        return Err(Failure::bad_input(format!(
            "webhook {} is already configured",
            entry.url
        )));
    }
    // An outbox left by an earlier registration of this URL (a crash during `remove`) holds
    // versions from before this `add`: only later ones are notified.
    drop_outbox(root, &entry.url)?;
    // Versions up to the newest one now are not this webhook's: its mark starts there.
    write_mark(root, &entry.url, archive.last_version_number()?)?;
    let added = entry.clone();
    Config::update_notify(root, move |list| {
        if list.iter().any(|n| n.url == added.url) {
            return Err(format!("webhook {} is already configured", added.url));
        }
        list.push(added);
        Ok(())
    })
    .map_err(config_error)?;
    let key = archive.keys()?.current().fingerprint.clone();
    if json {
        json_line(&json!({ "added": entry.url, "links": entry.links, "key": key }))?;
    } else {
        writeln!(
            text_stdout(),
            "Added webhook {}: every new version committed from now on is POSTed to it, signed by \
             {key} (the archive's public key, `exhibit key show`, verifies it){}",
            entry.url,
            entry
                .links
                .as_ref()
                .map(|l| format!(", with links under {l}"))
                .unwrap_or_default()
        )?;
    }
    Ok(EXIT_OK)
}

fn remove(root: &Path, url: &str, json: bool) -> Result<u8, Failure> {
    Archive::open(root)?;
    Config::update_notify(root, |list| {
        let at = list.iter().position(|n| n.url == url).ok_or_else(|| {
            format!("no webhook {url:?} is configured (`exhibit notify list` shows them)")
        })?;
        list.remove(at);
        Ok(())
    })
    .map_err(config_error)?;
    let dropped = queued(root, url)?.len();
    drop_outbox(root, url)?;
    if json {
        json_line(&json!({ "removed": url, "dropped": dropped }))?;
    } else {
        writeln!(
            text_stdout(),
            "Removed webhook {url}; {dropped} queued notification(s) dropped"
        )?;
    }
    Ok(EXIT_OK)
}

fn list(root: &Path, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let mut out = text_stdout();
    if archive.config().notify.is_empty() && !json {
        writeln!(
            out,
            "No webhook is configured (add one with `exhibit notify add URL`)"
        )?;
    }
    for n in &archive.config().notify {
        let waiting = queued(root, &n.url)?;
        let oldest = waiting.first();
        let state = oldest.and_then(|q| q.state.as_ref().ok());
        if json {
            json_line(&json!({
                "url": n.url,
                "links": n.links,
                "pending": waiting.len(),
                "oldest_pending": oldest.map(|q| q.version.to_string()),
                "oldest_queued_at": state.map(|s| s.queued_at.as_str()),
                "attempts": state.map(|s| s.attempts),
                "next_attempt": state.and_then(|s| s.next_attempt.as_deref()),
                "last_error": state.and_then(|s| s.last_error.as_deref()),
            }))?;
            continue;
        }
        let links = n
            .links
            .as_ref()
            .map(|l| format!("  links {l}"))
            .unwrap_or_default();
        let pending = match (oldest, state) {
            (None, _) => "nothing pending".to_owned(),
            (Some(q), None) => format!(
                "{} pending, oldest {} (its state file cannot be read)",
                waiting.len(),
                q.version
            ),
            (Some(q), Some(s)) => format!(
                "{} pending, oldest {} queued {}{}",
                waiting.len(),
                q.version,
                s.queued_at,
                match (&s.next_attempt, &s.last_error) {
                    (Some(next), Some(why)) => format!(
                        "; {} failed attempt(s), next at {next}: {}",
                        s.attempts,
                        exhibit_core::Inert(why)
                    ),
                    _ => String::new(),
                }
            ),
        };
        writeln!(out, "{}{links}  {pending}", n.url)?;
    }
    Ok(EXIT_OK)
}

/// `exhibit notify deliver`: every queued notification now, whatever its backoff (waiting for
/// a delivery running elsewhere to end first); exit 1 when any is still queued.
fn deliver_now(root: &Path, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let webhooks = archive.config().notify.clone();
    let round = deliver(root, &webhooks, Which::All, true, &mut || {
        catch_up(root, &webhooks)
    })?
    .unwrap_or_default();
    let mut out = text_stdout();
    for d in &round.deliveries {
        if json {
            json_line(&delivery_json(d))?;
        } else {
            writeln!(out, "{}", describe(d))?;
        }
    }
    // Queued for a webhook removed since: not this command's business.
    if round.deliveries.is_empty() && !json {
        writeln!(out, "Nothing to deliver: the outbox is empty")?;
    }
    if round.anything_left() {
        if !json {
            let left: usize = round.left.iter().map(|(_, n)| n).sum();
            eprint_line(&format!(
                "exhibit: {left} change notification(s) not delivered (see above); they stay in the outbox"
            ));
        }
        return Ok(EXIT_FAILED);
    }
    Ok(EXIT_OK)
}

fn delivery_json(d: &Delivery) -> serde_json::Value {
    let (status, http, error, attempts, retry_at) = match &d.outcome {
        Outcome::Delivered(code) => ("delivered", Some(*code), None, None, None),
        Outcome::Failed {
            why,
            attempts,
            retry_at,
        } => (
            "failed",
            None,
            Some(why.as_str()),
            Some(*attempts),
            Some(retry_at.as_str()),
        ),
        Outcome::NotDue { retry_at } => ("waiting", None, None, None, Some(retry_at.as_str())),
    };
    json!({
        "url": d.url,
        "version": d.version,
        "status": status,
        "http_status": http,
        "error": error,
        "attempts": attempts,
        "retry_at": retry_at,
    })
}

/// One delivery in words (one line; the caller makes it inert).
fn describe(d: &Delivery) -> String {
    match &d.outcome {
        Outcome::Delivered(code) => {
            format!("{} → {}: delivered (HTTP {code})", d.version, d.url)
        }
        Outcome::Failed {
            why,
            attempts,
            retry_at,
        } => format!(
            "{} → {}: NOT delivered: {why} (attempt {attempts}; next retry at {retry_at})",
            d.version, d.url
        ),
        Outcome::NotDue { retry_at } => format!(
            "{} → {}: waiting for its retry at {retry_at}",
            d.version, d.url
        ),
    }
}

/// Before a capture: deliver, quietly, the notifications whose retry is due (a receiver that
/// was down gets what it missed), unless another process is delivering now.
pub fn deliver_quietly(archive: &Archive) {
    let webhooks = &archive.config().notify;
    if !webhooks.is_empty() {
        let root = archive.root();
        let _ = deliver(root, webhooks, Which::Due, false, &mut || {
            catch_up(root, webhooks)
        });
    }
}

/// `exhibit serve`'s delivery: a thread that every `every` (at least a second) delivers the
/// notifications that are due, reading the webhooks from `exhibit.toml` each time, and logs
/// one line to stderr per delivery and per failure (`exhibit serve: notify: …`). It runs for
/// the life of the process and never panics out: a round that fails is logged and the next
/// one runs on time.
pub fn spawn_delivery(root: PathBuf, every: Duration) -> std::thread::JoinHandle<()> {
    let every = every.max(Duration::from_secs(1));
    std::thread::spawn(move || {
        loop {
            let round = std::panic::catch_unwind(|| serve_round(&root));
            match round {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    eprint_line(&format!("exhibit serve: notify: error: {message}"));
                }
                Err(_) => {
                    eprint_line("exhibit serve: notify: a delivery round failed unexpectedly")
                }
            }
            std::thread::sleep(every);
        }
    })
}

fn serve_round(root: &Path) -> Result<(), String> {
    let config = Config::load(root).map_err(|e| e.to_string())?;
    if config.notify.is_empty() {
        return Ok(());
    }
    let Some(round) = deliver(root, &config.notify, Which::Due, false, &mut || {
        catch_up(root, &config.notify)
    })
    .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    for d in &round.deliveries {
        if !matches!(d.outcome, Outcome::NotDue { .. }) {
            eprint_line(&format!("exhibit serve: notify: {}", describe(d)));
        }
    }
    Ok(())
}

/// The change notifications of one capturing command (`capture`, `import`): after the
/// command's checkpoint is signed, a delivery round queues every change committed since each
/// webhook's mark ([`catch_up`]) and delivers what is due ([`Hook::deliver`]). Queueing from the
/// catalog rather than as each capture is reported means a command killed between a commit and
/// its notification loses nothing: the next round (any later capture, `exhibit serve`, `exhibit
/// notify deliver`) queues it. Problems are warnings, never failures: the captures are
/// committed and signed already.
pub struct Hook {
    root: PathBuf,
    webhooks: Vec<NotifyEntry>,
    /// How many of this command's captures opened a version of a document that had one.
    changes: usize,
}

impl Hook {
    /// The hook for a command on `archive` (inert when no webhook is configured).
    pub fn new(archive: &Archive) -> Hook {
        Hook {
            root: archive.root().to_path_buf(),
            webhooks: archive.config().notify.clone(),
            changes: 0,
        }
    }

    /// Counts what `c` committed, if it opened a new version of a document that had one.
    pub fn committed(&mut self, c: &CommittedCapture) {
        if c.changed && c.previous_version_id.is_some() {
            self.changes += 1;
        }
    }

    /// Queues and delivers (every webhook's notifications that are due), warning about each
    /// that failed and about each webhook where this command's changes still wait.
    pub fn deliver(self) {
        if self.webhooks.is_empty() || self.changes == 0 {
            return;
        }
        let (root, webhooks) = (&self.root, &self.webhooks);
        match deliver(root, webhooks, Which::Due, false, &mut || {
            catch_up(root, webhooks)
        }) {
            Ok(Some(round)) => warn_about(&round, webhooks, &vec![self.changes; webhooks.len()]),
            Ok(None) => eprint_line(
                "exhibit: note: another exhibit process is delivering change notifications; \
                 this command's are queued and sent by it or the next delivery (`exhibit notify \
                 deliver` sends them now)",
            ),
            Err(e) => eprint_line(&format!(
                "exhibit: warning: change notifications not delivered: {e}; the next capture, \
                 `exhibit serve` or `exhibit notify deliver` queues and retries them"
            )),
        }
    }
}

/// Queues, for each webhook, the notification of every version committed since its mark that
/// replaced another (a document's first version is not a change), then moves the mark past
/// them: the one place notifications are queued. Runs under the outbox lock (as `deliver`'s
/// catch-up), so no two processes queue at once. Each notification is made once (its diff is
/// the work) and queued for every webhook whose mark is below it. A webhook without a mark
/// (configured before marks existed) starts at the newest version. A version whose
/// notification cannot be made (a damaged record) is skipped with a warning.
fn catch_up(root: &Path, webhooks: &[NotifyEntry]) -> Result<(), StoreError> {
    /// Versions read from the catalog at a time.
    const PAGE: u64 = 256;
    let archive = Archive::open(root)?;
    let last = archive.last_version_number()?;
    let mut marks = Vec::with_capacity(webhooks.len());
    for w in webhooks {
        marks.push(match read_mark(root, &w.url)? {
            Some(m) => m,
            None => {
                write_mark(root, &w.url, last)?;
                last
            }
        });
    }
    let Some(mut through) = marks.iter().copied().min().filter(|&m| m < last) else {
        return Ok(());
    };
    let public = archive.keys()?;
    let key = archive.signing_key()?;
    let key_id = key.public_key().fingerprint().to_string();
    while through < last {
        let page = archive.versions_after(through, PAGE)?;
        let Some(end) = page.last().map(|v| v.id.number()) else {
            break;
        };
        for v in &page {
            let waiting: Vec<&NotifyEntry> = webhooks
                .iter()
                .zip(&marks)
                .filter(|&(_, &m)| m < v.id.number())
                .map(|(w, _)| w)
                .collect();
            if waiting.is_empty() {
                continue;
            }
            if let Some(previous) = archive.previous_version(v)? {
                queue(&archive, &public, (&key, &key_id), &waiting, v, &previous)?;
            }
        }
        for (w, m) in webhooks.iter().zip(&mut marks) {
            if *m < end {
                write_mark(root, &w.url, end)?;
                *m = end;
            }
        }
        through = end;
    }
    Ok(())
}

/// Queues the notification of `v` (which replaced `previous`) for each of `webhooks`.
fn queue(
    archive: &Archive,
    public: &KeyHistory,
    (key, key_id): (&SigningKey, &str),
    webhooks: &[&NotifyEntry],
    v: &exhibit_store::VersionRow,
    previous: &exhibit_store::VersionRow,
) -> Result<(), StoreError> {
    let created_at = exhibit_core::time::format_rfc3339_seconds(chrono::Utc::now());
    let mut n =
        match ChangeNotification::of_version(archive, public, v, previous, key_id, &created_at) {
            Ok(n) => n,
            Err(e) => {
                eprint_line(&format!(
                    "exhibit: warning: the change notification of {} cannot be made: {e}; skipped",
                    v.id
                ));
                return Ok(());
            }
        };
    for w in webhooks {
        n.set_links(w.links.as_deref());
        let body = match n.body() {
            Ok(body) => body,
            Err(e) => {
                eprint_line(&format!(
                    "exhibit: warning: the change notification of {} for {} cannot be made: {e}; \
                     skipped",
                    v.id, w.url
                ));
                continue;
            }
        };
        let signature = signature_header(key, &body);
        enqueue(
            archive.root(),
            &w.url,
            &n.id,
            &body,
            &signature,
            &created_at,
        )?;
    }
    Ok(())
}

/// The warnings after a command's delivery round: per webhook, the notification that failed
/// (with how many wait in its outbox), or, where what this command queued waits behind one
/// whose retry is not due, how many wait.
fn warn_about(round: &Round, webhooks: &[NotifyEntry], queued: &[usize]) {
    for ((w, mine), (_, left)) in webhooks.iter().zip(queued).zip(&round.left) {
        let head = round.deliveries.iter().find_map(|d| match &d.outcome {
            Outcome::Delivered(_) => None,
            _ if d.url != w.url => None,
            other => Some((d, other)),
        });
        let waiting = match left {
            1 => String::new(),
            n => format!("; {n} notifications wait in its outbox"),
        };
        match head {
            Some((d, Outcome::Failed { why, retry_at, .. })) => eprint_line(&format!(
                "exhibit: warning: change notification {} not delivered to {}: {why}; it stays \
                 in the outbox and is retried after {retry_at}{waiting} (`exhibit notify deliver` \
                 retries now)",
                d.version, w.url
            )),
            Some((_, Outcome::NotDue { retry_at })) if *mine > 0 => eprint_line(&format!(
                "exhibit: warning: {left} change notification(s) wait in the outbox of {} behind \
                 one whose retry is due at {retry_at} (`exhibit notify deliver` sends them now)",
                w.url
            )),
            _ => {}
        }
    }
}
