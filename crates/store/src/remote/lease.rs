//! The write lease: one object in the bucket, `locks/writer`, naming the process that may append
//! to the archive's log and until when, and the process waiting next. It is only ever replaced by
//! compare-and-swap (`If-Match` on the ETag read, `If-None-Match: *` when there is none), so two
//! processes can never both believe they took it from the same state. A background thread
//! renews it while the holder works; a holder that stops renewing (killed, frozen, cut off)
//! loses it when it expires — at once, when it was a process of this machine that is gone.
//!
//! Fairness: a process that finds the lease held writes itself in as `next` (unless another
//! waiter is there); a released lease with a fresh `next` is left to that waiter, so a host that
//! runs one command after another can not starve the others.
//!
//! The lease orders writers; it is not what keeps the log whole. That is the write-once segment
//! (`If-None-Match: *` on `log/segments/<first index>`): a holder that lost its lease without
//! knowing it can not write a leaf at an index someone else already holds.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use exhibit_s3::Client;
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::layout::BUCKET_LEASE;

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(60);
/// How often the holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(15);
/// How long a waiter's place as `next` lasts without being refreshed.
const NEXT_TTL: i64 = 10;
/// The longest pause between two looks at a held lease.
const MAX_PAUSE: Duration = Duration::from_millis(250);
/// Largest lease object read.
const MAX_LEASE_BYTES: u64 = 4096;
/// Compare-and-swap attempts for one change before giving up.
const CAS_ATTEMPTS: u32 = 8;

/// The lease object's JSON.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
struct LeaseBody {
    /// Who holds it (`host/pid/nonce`), empty when released.
    holder: String,
    /// When it ends, in Unix seconds.
    until: i64,
    /// The process waiting for it, if any.
    #[serde(default)]
    next: String,
    /// When that waiter's place ends, in Unix seconds.
    #[serde(default)]
    next_until: i64,
}

impl LeaseBody {
    fn held(&self) -> bool {
        !self.holder.is_empty() && self.until > now() && !holder_is_dead_here(&self.holder)
    }

    fn queued(&self) -> Option<&str> {
        (!self.next.is_empty() && self.next_until > now()).then_some(self.next.as_str())
    }
}

/// What the holder knows of its lease.
struct State {
    until: i64,
    lost: Option<String>,
}

/// A held write lease; released on [`Lease::release`] or drop.
pub struct Lease {
    client: Client,
    holder: String,
    state: Arc<Mutex<State>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn lease_error(client: &Client, message: String) -> StoreError {
    StoreError::Bucket {
        what: format!("{}/{BUCKET_LEASE}", client.location()),
        message,
    }
}

/// The lease as stored (a body that is not a lease reads as a released one) and its ETag.
fn read(client: &Client) -> Result<Option<(LeaseBody, String)>, StoreError> {
    Ok(client
        .get(BUCKET_LEASE, MAX_LEASE_BYTES)?
        .map(|(bytes, etag)| (serde_json::from_slice(&bytes).unwrap_or_default(), etag)))
}

/// Writes `body` if the lease still has `etag` (or does not exist, for `None`): the new ETag,
/// or `None` when someone changed it first.
fn swap(
    client: &Client,
    body: &LeaseBody,
    etag: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let bytes = serde_json::to_vec(body).map_err(|e| lease_error(client, e.to_string()))?;
    Ok(client.put_if(BUCKET_LEASE, &bytes, etag, None)?.ok())
}

impl Lease {
    /// Takes the lease, waiting up to `wait` while another process holds it.
    pub fn acquire(client: &Client, wait: Duration) -> Result<Lease, StoreError> {
        let holder = holder_name();
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let current = read(client)?;
            let (body, etag) = match &current {
                Some((b, e)) => (b.clone(), Some(e.as_str())),
                None => (LeaseBody::default(), None),
            };
            if body.holder == holder && body.until > now() {
                // Ours: an earlier attempt's write landed but its answer was lost.
                return Ok(Lease::start(client.clone(), holder, body.until));
            }
            let someone_queued = body.queued().is_some_and(|n| n != holder);
            if !body.held() && !someone_queued {
                let until = now() + TTL.as_secs() as i64;
                let mine = LeaseBody {
                    holder: holder.clone(),
                    until,
                    ..LeaseBody::default()
                };
                if swap(client, &mine, etag)?.is_some() {
                    return Ok(Lease::start(client.clone(), holder, until));
                }
                // Someone else changed it between our read and write: look again.
                continue;
            }
            if body.held()
                && (body.queued().is_none() || body.next == holder)
                && body.next_until - now() < NEXT_TTL / 2
            {
                // Take (or keep) the place as next; a failed swap only means another look.
                let queued = LeaseBody {
                    next: holder.clone(),
                    next_until: now() + NEXT_TTL,
                    ..body.clone()
                };
                swap(client, &queued, etag)?;
            }
            if started.elapsed() >= wait {
                let until = chrono::DateTime::from_timestamp(body.until, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                return Err(lease_error(
                    client,
                    format!(
                        "another process ({}) holds the archive's write lease until {until}; gave up after {} s",
                        exhibit_core::Inert(&body.holder),
                        wait.as_secs()
                    ),
                ));
            }
            std::thread::sleep(pause + jitter(pause));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    fn start(client: Client, holder: String, until: i64) -> Lease {
        let state = Arc::new(Mutex::new(State { until, lost: None }));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let renewer = {
            let (client, holder, state, stop) =
                (client.clone(), holder.clone(), state.clone(), stop.clone());
            std::thread::spawn(move || renew_until_stopped(&client, &holder, &state, &stop))
        };
        Lease {
            client,
            holder,
            state,
            stop,
            renewer: Some(renewer),
        }
    }

    /// `Err` when the lease was lost (taken by another process after it expired, or expired
    /// while this one could not reach the bucket): nothing more may be appended under it.
    pub fn check(&self) -> Result<(), StoreError> {
        let state = self
            .state
            .lock()
            .map_err(|_| lease_error(&self.client, "the lease's state is unusable".into()))?;
        if let Some(why) = &state.lost {
            return Err(lease_error(&self.client, why.clone()));
        }
        if state.until <= now() {
            return Err(lease_error(
                &self.client,
                "this process's write lease expired before its work was done".into(),
            ));
        }
        Ok(())
    }

    fn stop_renewing(&mut self) {
        if let Ok(mut stopped) = self.stop.0.lock() {
            *stopped = true;
            self.stop.1.notify_all();
        }
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
    }

    /// Gives the lease up (keeping the waiter's place), so the next process need not wait for
    /// it to expire.
    pub fn release(mut self) -> Result<(), StoreError> {
        self.stop_renewing();
        if self.state.lock().map_or(true, |s| s.lost.is_some()) {
            return Ok(());
        }
        let holder = self.holder.clone();
        change(&self.client, &holder, |b| LeaseBody {
            holder: String::new(),
            until: 0,
            ..b.clone()
        })
        .map(|_| ())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop_renewing();
    }
}

/// Replaces the lease held by `holder` with `f(lease)`, by compare-and-swap, re-reading when a
/// waiter changed it meanwhile. `Ok(None)` when `holder` no longer holds it.
fn change(
    client: &Client,
    holder: &str,
    f: impl Fn(&LeaseBody) -> LeaseBody,
) -> Result<Option<(String, i64)>, StoreError> {
    for _ in 0..CAS_ATTEMPTS {
        let Some((body, etag)) = read(client)? else {
            return Ok(None);
        };
        if body.holder != holder {
            return Ok(None);
        }
        let new = f(&body);
        if let Some(etag) = swap(client, &new, Some(&etag))? {
            return Ok(Some((etag, new.until)));
        }
    }
    Err(lease_error(
        client,
        format!("the lease kept changing; gave up after {CAS_ATTEMPTS} attempts"),
    ))
}

fn renew_until_stopped(
    client: &Client,
    holder: &str,
    state: &Mutex<State>,
    stop: &(Mutex<bool>, Condvar),
) {
    loop {
        {
            let Ok(stopped) = stop.0.lock() else { return };
            let Ok((stopped, _)) = stop.1.wait_timeout_while(stopped, RENEW_EVERY, |s| !*s) else {
                return;
            };
            if *stopped {
                return;
            }
        }
        let outcome = change(client, holder, |b| LeaseBody {
            until: now() + TTL.as_secs() as i64,
            ..b.clone()
        });
        let Ok(mut s) = state.lock() else { return };
        match outcome {
            Ok(Some((_, until))) => {
                s.until = until;
            }
            Ok(None) => {
                s.lost = Some(
                    "another process took the archive's write lease from this one (it had expired)"
                        .into(),
                );
                return;
            }
            // Unreachable for now: try again at the next tick; `check` fails once it expires.
            Err(_) => {}
        }
    }
}

/// This machine's name, as lease holders name it.
fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "host".into())
}

/// `hostname/pid/nonce`: unique among the lease's holders.
fn holder_name() -> String {
    let nonce = chrono::Utc::now().timestamp_subsec_nanos();
    format!("{}/{}/{nonce:08x}", host_name(), std::process::id())
}

/// Whether `holder` names a process of this machine that no longer runs. (A process id reused
/// since is taken as alive: the lease then simply runs out.)
fn holder_is_dead_here(holder: &str) -> bool {
    let mut parts = holder.split('/');
    let (Some(host), Some(pid), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    host == host_name()
        && pid.parse::<u32>().is_ok_and(|p| p != std::process::id())
        && !Path::new(&format!("/proc/{pid}")).exists()
}

fn jitter(d: Duration) -> Duration {
    let n = u64::from(chrono::Utc::now().timestamp_subsec_nanos());
    Duration::from_millis(n % (d.as_millis() as u64 + 1))
}
