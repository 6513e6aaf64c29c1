//! The archive in an S3 bucket (docs/FORMAT.md §5.1; docs/ARCHITECTURE.md "Archives on S3").
//!
//! The bucket is the truth, write-once: every file of the archive's evidence (objects, manifests
//! and signatures, checkpoints, tokens, cosignatures, the key history) is stored under its local
//! path as key, with `If-None-Match: *`, a SHA-256 checksum the server checks and, when
//! configured, Object Lock compliance retention. The log, which can not be appended to in a
//! bucket, is a chain of write-once segments ([`exhibit_core::segment`]); the latest checkpoint
//! (`log/checkpoint`) is the one object replaced, by compare-and-swap.
//!
//! Each host keeps a full local copy: the archive directory, whose catalog is its own cache.
//! A command on such an archive runs in a [`Session`]: it brings the local copy up to the bucket
//! first (pull: the segments it lacks, their records and objects, then the catalog extended by
//! them), and a command that writes holds the bucket's write [`Lease`] for its whole run and
//! pushes each batch's records before they are reported ([`crate::Batch::commit`]), then the
//! checkpoints and the latest-checkpoint pointer when it ends. Nothing here ever deletes from
//! the bucket.

pub mod check;
mod lease;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exhibit_s3::{Client, Credentials, Location, RetentionMode};
use serde::{Deserialize, Serialize};

pub use lease::{Lease, TTL as LEASE_TTL};
pub use sync::PullReport;
pub(crate) use sync::records_in as sync_records_in;

use crate::config::{Config, StoreSettings};
use crate::layout::BUCKET_IDENTITY;
use crate::{StoreError, fsutil, locks};

/// An archive's bucket, connected (no request is made until one is needed).
pub struct Remote {
    client: Client,
    settings: StoreSettings,
}

impl Remote {
    /// A client for the bucket `settings` name, with the credentials of the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, or the profile).
    pub fn connect(settings: &StoreSettings) -> Result<Remote, StoreError> {
        settings.check().map_err(|message| StoreError::Config {
            path: crate::layout::CONFIG_FILE.into(),
            message,
        })?;
        let location = Location::parse(&settings.url)?;
        let config = exhibit_s3::Config::new(&settings.endpoint, &settings.region, location)?;
        let credentials = Credentials::from_environment()?;
        Ok(Remote {
            client: Client::new(config, credentials),
            settings: settings.clone(),
        })
    }

    /// The S3 client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> String {
        self.client.location().to_string()
    }

    /// The retention to set on an object written now, when the archive has one.
    pub(crate) fn retention(&self) -> Option<exhibit_s3::Retention> {
        self.settings.retention().map(|r| exhibit_s3::Retention {
            mode: RetentionMode::Compliance,
            until: r.until(chrono::Utc::now()),
        })
    }

    /// The configured retention period.
    pub fn retention_period(&self) -> Option<crate::config::Retention> {
        self.settings.retention()
    }

    fn error(&self, key: &str, message: impl Into<String>) -> StoreError {
        StoreError::Bucket {
            what: format!("{}/{key}", self.url()),
            message: message.into(),
        }
    }
}

/// The archive's identity in the bucket (`exhibit.json`), written once by the `init` that made
/// it: what a host joining the archive must agree with.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The archive layout version (1).
    pub format: u32,
    /// The archive's origin.
    pub origin: String,
    /// Its id prefix.
    pub prefix: String,
    /// The Object Lock compliance retention every host sets on what it writes (`7y`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
}

impl Remote {
    /// The identity of the archive in the bucket, if there is one.
    pub fn identity(&self) -> Result<Option<Identity>, StoreError> {
        let Some((bytes, _)) = self.client.get(BUCKET_IDENTITY, 64 << 10)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| self.error(BUCKET_IDENTITY, format!("is not an archive identity: {e}")))
    }

    /// Claims the bucket prefix for a new archive (write-once: fails when another archive got
    /// there first).
    pub fn claim(&self, identity: &Identity) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(identity)
            .map_err(|e| self.error(BUCKET_IDENTITY, e.to_string()))?;
        match self
            .client
            .put_once(BUCKET_IDENTITY, &bytes, self.retention().as_ref())
        {
            Ok(_) => Ok(()),
            Err(exhibit_s3::S3Error::Conflict { .. }) => Err(self.error(
                BUCKET_IDENTITY,
                "another archive is already stored under this prefix",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// What a command does with the archive: [`Access::Read`] brings the local copy up to the
/// bucket; [`Access::Write`] also holds the bucket's write lease until the command ends and
/// pushes what it committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads (the local copy is brought up to date first).
    Read,
    /// Writes (under the write lease).
    Write,
}

/// How long a writer waits for another host's lease (`EXHIBIT_LEASE_WAIT` seconds, default 600).
fn lease_wait() -> Duration {
    let secs = std::env::var("EXHIBIT_LEASE_WAIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// A command's run on a bucket archive ([`Session::start`] … [`Session::finish`]).
pub struct Session {
    writing: Option<Arc<Writing>>,
    /// What the first pull found.
    pub pulled: PullReport,
}

/// The state of this process's write session, which [`crate::Batch::commit`] pushes through.
pub(crate) struct Writing {
    pub(crate) root: PathBuf,
    pub(crate) remote: Remote,
    lease: Mutex<Option<Lease>>,
    /// The bucket's `log/checkpoint` as read at the start: its ETag and size.
    head: Mutex<sync::Head>,
    /// This host's lock on the local copy ([`crate::layout::REMOTE_LOCK`]).
    _lock: std::fs::File,
}

/// The write session of this process, if any (one archive at a time).
static WRITING: Mutex<Option<Arc<Writing>>> = Mutex::new(None);

/// The write session on the archive at `root`, when this process holds one.
pub(crate) fn writing_for(root: &Path) -> Option<Arc<Writing>> {
    let w = WRITING.lock().ok()?.clone()?;
    (w.root == root).then_some(w)
}

impl Writing {
    /// Fails when the lease was lost.
    pub(crate) fn check_lease(&self) -> Result<(), StoreError> {
        match self.lease.lock() {
            Ok(l) => l.as_ref().map_or(Ok(()), Lease::check),
            Err(_) => Err(self
                .remote
                .error(crate::layout::BUCKET_LEASE, "lease state unusable")),
        }
    }

    /// Pushes the records of the log positions `records` names (a batch's, just committed
    /// locally) as one segment.
    pub(crate) fn push_records(
        &self,
        records: &[(u64, exhibit_core::RecordId)],
    ) -> Result<(), StoreError> {
        self.check_lease()?;
        let mut head = self.head.lock().map_err(|_| {
            self.remote
                .error(crate::layout::LATEST_CHECKPOINT, "state unusable")
        })?;
        sync::push_records(&self.root, &self.remote, &mut head, records)
    }
}

impl Session {
    /// Starts a command's run on the archive at `root`: `None` for a local archive. For a bucket
    /// archive: takes this host's lock on the local copy, the bucket's write lease for
    /// [`Access::Write`], and brings the local copy up to the bucket (pushing first what this
    /// host committed and could not push before, when writing).
    pub fn start(root: &Path, access: Access) -> Result<Option<Session>, StoreError> {
        let Some((config, settings)) = bucket_config(root)? else {
            return Ok(None);
        };
        let root = std::path::absolute(root).map_err(|e| StoreError::io(root, e))?;
        let Some(lock) = lock_local_copy(&root, access)? else {
            // A writer of this host holds the copy and brings it up to date itself: a reader
            // reads it as it is rather than wait for the writer's whole command.
            return Ok(Some(Session {
                writing: None,
                pulled: PullReport::default(),
            }));
        };
        let started = Remote::connect(&settings).and_then(|remote| {
            let lease = match access {
                Access::Write => Some(Lease::acquire(remote.client(), lease_wait())?),
                Access::Read => None,
            };
            match sync::bring_up_to_date(&root, &remote, &config, access == Access::Write) {
                Ok((head, pulled)) => Ok((remote, lease, head, pulled)),
                Err(e) => {
                    if let Some(lease) = lease {
                        let _ = lease.release();
                    }
                    Err(e)
                }
            }
        });
        let (remote, lease, head, pulled) = match started {
            Ok(s) => s,
            // A reader goes on with the copy it has when the bucket can not be reached (offline,
            // no credentials): the copy is the evidence as this host last saw it.
            Err(e @ StoreError::S3(_)) if access == Access::Read => {
                eprintln!(
                    "exhibit: warning: this copy was not brought up to {} ({e}); reading it as it is",
                    settings.url
                );
                return Ok(Some(Session {
                    writing: None,
                    pulled: PullReport::default(),
                }));
            }
            Err(e) => return Err(e),
        };
        let writing = match access {
            Access::Read => None,
            Access::Write => {
                let w = Arc::new(Writing {
                    root: root.clone(),
                    remote,
                    lease: Mutex::new(lease),
                    head: Mutex::new(head),
                    _lock: lock,
                });
                if let Ok(mut slot) = WRITING.lock() {
                    *slot = Some(w.clone());
                }
                Some(w)
            }
        };
        Ok(Some(Session { writing, pulled }))
    }

    /// Ends the run: a writer pushes the checkpoints, tokens, cosignatures and key statements
    /// it made, moves `log/checkpoint` forward (compare-and-swap), and gives the lease up.
    pub fn finish(mut self) -> Result<(), StoreError> {
        let Some(w) = self.writing.take() else {
            return Ok(());
        };
        if let Ok(mut slot) = WRITING.lock() {
            *slot = None;
        }
        let pushed = (|| {
            w.check_lease()?;
            let mut head = w.head.lock().map_err(|_| {
                w.remote
                    .error(crate::layout::LATEST_CHECKPOINT, "state unusable")
            })?;
            sync::push_rest(&w.root, &w.remote, &mut head)
        })();
        let lease = w.lease.lock().ok().and_then(|mut l| l.take());
        let released = lease.map_or(Ok(()), Lease::release);
        pushed.and(released)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.writing.is_some()
            && let Ok(mut slot) = WRITING.lock()
        {
            *slot = None;
        }
    }
}

/// The archive's configuration and its `[store]` when it lives in a bucket.
fn bucket_config(root: &Path) -> Result<Option<(Config, StoreSettings)>, StoreError> {
    if !root.join(crate::layout::CONFIG_FILE).is_file() {
        return Ok(None);
    }
    let config = Config::load(root)?;
    Ok(config.store.clone().map(|s| (config, s)))
}

/// Takes this host's lock on the local copy of a bucket archive: a writer waits for it; a reader
/// gets `None` when it is held (by a writer, which keeps the copy up to date itself).
fn lock_local_copy(root: &Path, access: Access) -> Result<Option<std::fs::File>, StoreError> {
    let path = root.join(crate::layout::REMOTE_LOCK);
    fsutil::ensure_dir(fsutil::parent_dir(&path))?;
    let file = locks::open_lock_file(&path).map_err(|e| StoreError::io(&path, e))?;
    match access {
        Access::Write => file.lock().map_err(|e| StoreError::io(&path, e))?,
        Access::Read => match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
        },
    }
    Ok(Some(file))
}

/// Brings the local copy of the bucket archive at `root` up to the bucket, without the write
/// lease (what `reindex` and a new host's `init` do): `None` for a local archive.
pub fn pull(root: &Path) -> Result<Option<PullReport>, StoreError> {
    Ok(Session::start(root, Access::Read)?.map(|s| s.pulled.clone()))
}
