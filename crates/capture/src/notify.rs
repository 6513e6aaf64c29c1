//! Delivering change notifications to webhooks (docs/FORMAT.md "Change notifications"): the
//! outbox and the POSTs.
//!
//! A notification is queued, crash-safely, as two files in its webhook's outbox directory
//! (`notify/outbox/<16 hex of SHA-256(url)>/`, names in [`exhibit_store::layout`]):
//! `<version id>.state` first — the `Exhibit-Signature` header value over the body, when it was
//! queued, the attempts made, when the next is due and the last error — then `<version id>.json`,
//! the exact body to POST. The body file is the notification's presence: it is created once
//! and never changed, so a retry sends the same bytes with the same signature; it is removed
//! when a webhook answered 2xx (then its state file).
//!
//! Deliveries of one archive never run at once (an exclusive lock on `notify/outbox.lock`).
//! Each webhook's queue is sent in version order and stops at the first failure, so a receiver
//! never gets a later version before an earlier one. A failed attempt is retried after a
//! backoff ([`retry_delay`]). Nothing here fails a capture: every webhook problem is an
//! outcome to report, and only a lock or an archive that cannot be read is an error.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use exhibit_core::RecordId;
use exhibit_core::time::{format_rfc3339_seconds, parse_rfc3339_seconds};
use exhibit_sign::SigningKey;
use exhibit_store::config::NotifyEntry;
use exhibit_store::layout::{
    NOTIFY_DIR, NOTIFY_LOCK, outbox_body_name, outbox_dir, outbox_mark_path, outbox_state_name,
    parse_outbox_body_name,
};
use exhibit_store::{StoreError, fsutil, locks};
use serde_json::{Value, json};

/// The longest a webhook is given to accept the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one delivery may take, from connecting to the end of the answer.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// The wait after the first failed attempt; it doubles with every further one.
pub const FIRST_RETRY: Duration = Duration::from_secs(30);
/// The longest wait between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(3600);
/// The environment variable that replaces [`FIRST_RETRY`] (in seconds; 0 retries at once).
pub const FIRST_RETRY_ENV: &str = "EXHIBIT_NOTIFY_RETRY_SECS";
/// The header that carries the signature over the body.
pub const SIGNATURE_HEADER: &str = "Exhibit-Signature";
/// The header that carries the delivery id (the new version's id).
pub const DELIVERY_HEADER: &str = "Exhibit-Delivery";
/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!("exhibit/", env!("CARGO_PKG_VERSION"));

/// The largest queued body read back (a notification is a few KiB: a 4 KiB diff and strings
/// of at most 4 KiB each).
const MAX_BODY_BYTES: u64 = 1 << 20;
/// The largest state file read back.
const MAX_STATE_BYTES: u64 = 64 * 1024;
/// The most bytes of a webhook's answer read (for the error message).
const MAX_ANSWER_BYTES: u64 = 4096;

/// The `Exhibit-Signature` header value of `body`: `ed25519 keyid=<fingerprint of key>
/// sig=<standard base64 of the 64-byte Ed25519 signature over the body>`.
pub fn signature_header(key: &SigningKey, body: &[u8]) -> String {
    format!(
        "ed25519 keyid={} sig={}",
        key.public_key().fingerprint(),
        STANDARD.encode(key.sign(body).as_bytes())
    )
}

/// A queued notification's state (its `.state` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueState {
    /// The `Exhibit-Signature` header value sent with the body.
    pub signature: String,
    /// When it was queued (RFC 3339 UTC).
    pub queued_at: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (RFC 3339 UTC); `None`: at once.
    pub next_attempt: Option<String>,
    /// Why the last attempt failed (one line, as the webhook's answer was made inert).
    pub last_error: Option<String>,
}

impl QueueState {
    /// The state file's bytes: a JSON object with these five fields.
    fn to_bytes(&self) -> Vec<u8> {
        let value = json!({
            "signature": self.signature,
            "queued_at": self.queued_at,
            "attempts": self.attempts,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
        });
        let mut bytes = value.to_string().into_bytes();
        bytes.push(b'\n');
        bytes
    }

    fn parse(bytes: &[u8]) -> Result<QueueState, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(QueueState {
            signature: text("signature").ok_or("no signature")?,
            queued_at: text("queued_at").ok_or("no queued_at")?,
            attempts: v
                .get("attempts")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("no attempts")?,
            next_attempt: text("next_attempt"),
            last_error: text("last_error"),
        })
    }

    /// Whether an attempt is due at `now`.
    fn due(&self, now: DateTime<Utc>) -> bool {
        self.next_attempt
            .as_deref()
            .and_then(parse_rfc3339_seconds)
            .is_none_or(|t| t <= now)
    }
}

/// The wait before the next attempt after `attempts` failed ones: [`FIRST_RETRY`] (or
/// [`FIRST_RETRY_ENV`]) doubled for every failure after the first, at most [`MAX_RETRY`].
pub fn retry_delay(attempts: u32) -> Duration {
    let first = std::env::var(FIRST_RETRY_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(FIRST_RETRY, Duration::from_secs);
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    first.saturating_mul(factor).min(MAX_RETRY)
}

/// Queues the notification of `version` for the webhook at `url`: its state (with `signature`,
/// the [`signature_header`] of `body`), then `body` itself, each written to a temporary file,
/// fsynced, renamed into place and its directory fsynced. Returns `false`, writing nothing,
/// when it is queued already.
pub fn enqueue(
    root: &Path,
    url: &str,
    version: &RecordId,
    body: &[u8],
    signature: &str,
    queued_at: &str,
) -> Result<bool, StoreError> {
    let dir = root.join(outbox_dir(url));
    let created = fsutil::create_dirs(&dir)?;
    let body_path = dir.join(outbox_body_name(version));
    if std::fs::symlink_metadata(&body_path).is_ok() {
        return Ok(false);
    }
    let state = QueueState {
        signature: signature.to_owned(),
        queued_at: queued_at.to_owned(),
        attempts: 0,
        next_attempt: None,
        last_error: None,
    };
    fsutil::write_atomic(&dir.join(outbox_state_name(version)), &state.to_bytes())?;
    match fsutil::write_atomic_new(&body_path, body) {
        Ok(()) => {}
        Err(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            return Ok(false);
        }
        Err(e) => return Err(e),
    }
    fsutil::sync_dir(&dir)?;
    for d in created {
        fsutil::sync_dir(&d)?;
    }
    Ok(true)
}

/// One notification waiting in a webhook's outbox.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The new version it is about (its delivery id).
    pub version: RecordId,
    /// Its state, or why the state file cannot be read.
    pub state: Result<QueueState, String>,
}

/// The notifications waiting for the webhook at `url`, in version order (none when its outbox
/// does not exist).
pub fn queued(root: &Path, url: &str) -> Result<Vec<Queued>, StoreError> {
    let dir = root.join(outbox_dir(url));
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&dir, e)),
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
        if let Some(version) = entry.file_name().to_str().and_then(parse_outbox_body_name) {
            versions.push(version);
        }
    }
    versions.sort_by_key(|v| (v.number(), v.to_string()));
    Ok(versions
        .into_iter()
        .map(|version| {
            let state = read_state(&dir, &version);
            Queued { version, state }
        })
        .collect())
}

fn read_state(dir: &Path, version: &RecordId) -> Result<QueueState, String> {
    let path = dir.join(outbox_state_name(version));
    let bytes = fsutil::read_in_archive(&path, MAX_STATE_BYTES).map_err(|e| e.to_string())?;
    QueueState::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The longest mark file read.
const MAX_MARK_BYTES: u64 = 64;

/// The webhook's mark: the highest version number whose notification was queued, if it was a
/// change (`None` before the first catch-up or `notify add`).
pub fn read_mark(root: &Path, url: &str) -> Result<Option<u64>, StoreError> {
    let path = root.join(outbox_mark_path(url));
    let bytes = match fsutil::read_in_archive(&path, MAX_MARK_BYTES) {
        Ok(b) => b,
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| t.trim_end().parse().ok())
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt {
            what: path.display().to_string(),
            message: "is not a version number".into(),
        })
}

/// Moves the webhook's mark to `through`, crash-safely (after what it covers was queued).
pub fn write_mark(root: &Path, url: &str, through: u64) -> Result<(), StoreError> {
    let path = root.join(outbox_mark_path(url));
    let dir = fsutil::parent_dir(&path).to_path_buf();
    let created = fsutil::create_dirs(&dir)?;
    fsutil::write_atomic(&path, format!("{through}\n").as_bytes())?;
    fsutil::sync_dir(&dir)?;
    for d in created {
        fsutil::sync_dir(&d)?;
    }
    Ok(())
}

/// Removes the outbox of the webhook at `url` (waiting for a delivery that is running).
pub fn drop_outbox(root: &Path, url: &str) -> Result<(), StoreError> {
    let _lock = lock_outbox(root, true)?;
    let dir = root.join(outbox_dir(url));
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => fsutil::sync_dir(fsutil::parent_dir(&dir)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(&dir, e)),
    }
}

/// Takes [`NOTIFY_LOCK`] exclusively: waiting for it with `wait`, else `None` when another
/// process or thread holds it.
fn lock_outbox(root: &Path, wait: bool) -> Result<Option<File>, StoreError> {
    fsutil::ensure_dir(&root.join(NOTIFY_DIR))?;
    let path = root.join(NOTIFY_LOCK);
    let file = locks::open_lock_file(&path).map_err(|e| StoreError::io(&path, e))?;
    if wait {
        file.lock().map_err(|e| StoreError::io(&path, e))?;
        return Ok(Some(file));
    }
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
    }
}

/// Which notifications a delivery round sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Those whose next attempt is due (a queue waits behind its first one that is not).
    Due,
    /// All of them, whatever their backoff (`exhibit notify deliver`).
    All,
}

/// What happened to one notification in a round.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The webhook answered 2xx with this status; the notification left the outbox.
    Delivered(u16),
    /// It was sent (or could not be) and failed: why (one line), the attempts so far and when
    /// the next is due. The rest of the webhook's queue waits for this one.
    Failed {
        /// Why, in one line.
        why: String,
        /// Failed attempts so far.
        attempts: u32,
        /// When the next attempt is due (RFC 3339 UTC).
        retry_at: String,
    },
    /// Not sent: its next attempt is not due yet (the rest of the queue waits for it).
    NotDue {
        /// When it is due.
        retry_at: String,
    },
}

/// One notification's outcome in a round.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The webhook's URL.
    pub url: String,
    /// The version it is about.
    pub version: RecordId,
    /// What happened.
    pub outcome: Outcome,
}

/// What a round did, per webhook.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Each notification attempted or found not due, webhook by webhook, in version order.
    pub deliveries: Vec<Delivery>,
    /// For each webhook, how many notifications are still queued after the round.
    pub left: Vec<(String, usize)>,
}

impl Round {
    /// Whether any notification is still queued.
    pub fn anything_left(&self) -> bool {
        self.left.iter().any(|(_, n)| *n > 0)
    }
}

/// Delivers the queued notifications of `webhooks` (all at once, each webhook's in version
/// order, stopping at its first failure): [`Which::Due`] ones or all. With `wait`, waits for a
/// delivery running elsewhere to end; without, returns `None` when one is running. Only the
/// lock and the outbox's directories being unreadable are errors; a webhook's failure is an
/// [`Outcome`].
///
/// `catch_up` runs first, under the lock: it queues what was committed since each webhook's
/// mark ([`read_mark`]) and moves the mark. Only notifications at or below a webhook's mark are
/// sent, so one that was delivered (and left the outbox) is never queued again by a catch-up.
pub fn deliver(
    root: &Path,
    webhooks: &[NotifyEntry],
    which: Which,
    wait: bool,
    catch_up: &mut dyn FnMut() -> Result<(), StoreError>,
) -> Result<Option<Round>, StoreError> {
    if webhooks.is_empty() {
        return Ok(Some(Round::default()));
    }
    let Some(_lock) = lock_outbox(root, wait)? else {
        return Ok(None);
    };
    catch_up()?;
    let agent = agent();
    let per_webhook: Vec<Result<(Vec<Delivery>, usize), StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = webhooks
            .iter()
            .map(|w| s.spawn(|| deliver_queue(root, &agent, &w.url, which)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::Corrupt {
                        what: NOTIFY_DIR.into(),
                        message: "a delivery failed unexpectedly".into(),
                    })
                })
            })
            .collect()
    });
    let mut round = Round::default();
    for (w, result) in webhooks.iter().zip(per_webhook) {
        let (deliveries, left) = result?;
        round.deliveries.extend(deliveries);
        round.left.push((w.url.clone(), left));
    }
    Ok(Some(round))
}

/// One webhook's queue: its deliveries and how many stay queued.
fn deliver_queue(
    root: &Path,
    agent: &ureq::Agent,
    url: &str,
    which: Which,
) -> Result<(Vec<Delivery>, usize), StoreError> {
    let dir = root.join(outbox_dir(url));
    let mark = read_mark(root, url)?;
    let items: Vec<Queued> = queued(root, url)?
        .into_iter()
        .filter(|q| mark.is_none_or(|m| q.version.number() <= m))
        .collect();
    let mut left = items.len();
    let mut out = Vec::new();
    for item in items {
        let now = Utc::now();
        let outcome = match &item.state {
            Ok(state) if which == Which::Due && !state.due(now) => Outcome::NotDue {
                retry_at: state.next_attempt.clone().unwrap_or_default(),
            },
            Ok(state) => match send(agent, &dir, url, &item.version, state) {
                Ok(status) => {
                    remove_delivered(&dir, &item.version)?;
                    left -= 1;
                    Outcome::Delivered(status)
                }
                Err(why) => failed(&dir, &item.version, state, why)?,
            },
            Err(why) => Outcome::Failed {
                why: format!(
                    "its state file cannot be read ({why}); `exhibit notify remove` and `add` the webhook to start afresh"
                ),
                attempts: 0,
                retry_at: format_rfc3339_seconds(now),
            },
        };
        let stop = !matches!(outcome, Outcome::Delivered(_));
        out.push(Delivery {
            url: url.to_owned(),
            version: item.version,
            outcome,
        });
        if stop {
            break;
        }
    }
    Ok((out, left))
}

/// Removes a delivered notification: its body (from then on it is not queued), then its state.
fn remove_delivered(dir: &Path, version: &RecordId) -> Result<(), StoreError> {
    for name in [outbox_body_name(version), outbox_state_name(version)] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&path, e)),
        }
    }
    fsutil::sync_dir(dir)
}

/// Records a failed attempt in the state file and says when the next is due.
fn failed(
    dir: &Path,
    version: &RecordId,
    state: &QueueState,
    why: String,
) -> Result<Outcome, StoreError> {
    let attempts = state.attempts.saturating_add(1);
    let delay = chrono::TimeDelta::from_std(retry_delay(attempts)).unwrap_or_default();
    let retry_at = format_rfc3339_seconds(Utc::now() + delay);
    let next = QueueState {
        attempts,
        next_attempt: Some(retry_at.clone()),
        last_error: Some(why.clone()),
        ..state.clone()
    };
    fsutil::write_atomic_durable(&dir.join(outbox_state_name(version)), &next.to_bytes())?;
    Ok(Outcome::Failed {
        why,
        attempts,
        retry_at,
    })
}

/// The agent every delivery uses: [`CONNECT_TIMEOUT`], [`TOTAL_TIMEOUT`], no redirects
/// followed (a redirect is a failure), every status returned as an answer.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .build()
        .new_agent()
}

/// POSTs one queued notification; the 2xx status, or why not (one line, the answer made
/// inert).
fn send(
    agent: &ureq::Agent,
    dir: &Path,
    url: &str,
    version: &RecordId,
    state: &QueueState,
) -> Result<u16, String> {
    let body = fsutil::read_in_archive(&dir.join(outbox_body_name(version)), MAX_BODY_BYTES)
        .map_err(|e| e.to_string())?;
    let response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, &state.signature)
        .header(DELIVERY_HEADER, version.to_string())
        .send(&body[..])
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", TOTAL_TIMEOUT.as_secs()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".into()
            }
            other => exhibit_core::Inert(&other.to_string()).to_string(),
        })?;
    let status = response.status().as_u16();
    let mut answer = Vec::new();
    // The answer only explains a failure; a 2xx is a delivery however its body ends.
    let _ = response
        .into_body()
        .into_reader()
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer);
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let said = String::from_utf8_lossy(&answer);
    let said = exhibit_core::Inert(said.lines().next().unwrap_or("").trim()).to_string();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(": {}", exhibit_core::manifest::shorten(&said, 200))
    };
    Err(match status {
        300..=399 => format!("HTTP {status}{said} (redirects are not followed)"),
        408 | 429 => format!("HTTP {status}{said}"),
        400..=499 => format!(
            "HTTP {status}{said} (the receiver refused it; retried all the same: check the webhook)"
        ),
        _ => format!("HTTP {status}{said}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_state_round_trips() {
        let state = QueueState {
            signature: "ed25519 keyid=SHA256:x sig=y==".into(),
            queued_at: "2026-01-01T00:00:00Z".into(),
            attempts: 3,
            next_attempt: Some("2026-01-01T00:04:00Z".into()),
            last_error: Some("HTTP 503: \"down\"".into()),
        };
        assert_eq!(QueueState::parse(&state.to_bytes()), Ok(state.clone()));
        let fresh = QueueState {
            attempts: 0,
            next_attempt: None,
            last_error: None,
            ..state
        };
        assert_eq!(QueueState::parse(&fresh.to_bytes()), Ok(fresh.clone()));
        assert!(fresh.due(Utc::now()));
    }

    #[test]
    fn notify_backoff_doubles_and_is_capped() {
        if std::env::var_os(FIRST_RETRY_ENV).is_some() {
            return;
        }
        assert_eq!(retry_delay(1), Duration::from_secs(30));
        assert_eq!(retry_delay(2), Duration::from_secs(60));
        assert_eq!(retry_delay(4), Duration::from_secs(240));
        assert_eq!(retry_delay(8), MAX_RETRY);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }
}
