//! A small, synchronous S3 client for S3-compatible stores (AWS, SeaweedFS, moto): just what an
//! evidence archive needs to keep its objects off-site.
//!
//! - **Write-once objects**: [`Client::put_once`] and [`Client::put_file_once`] write with
//!   `If-None-Match: *` and a SHA-256 checksum the server checks; a key that already holds the
//!   same bytes is [`Put::AlreadyThere`] (a retried write that had landed), different bytes are
//!   [`S3Error::Conflict`], an alarm. Large files go as multipart uploads in bounded memory.
//! - **One mutable pointer**: [`Client::put_if`] is a compare-and-swap on the ETag.
//! - **Object Lock**: [`Retention`] puts new objects under Compliance or Governance retention.
//! - Reads ([`Client::get`], [`Client::get_to_file`], [`Client::head`]) are bounded, listings
//!   ([`Client::list`]) follow every page.
//!
//! Requests are signed with AWS Signature Version 4 (header form), addressed path-style
//! (`{endpoint}/{bucket}/{key}`), and retried with exponential backoff and jitter on timeouts,
//! connection failures, 5xx, 429 and `SlowDown`. No async runtime: one blocking call per
//! request, and a [`Client`] is cheap to clone and share between threads.
//!
//! ```no_run
//! use exhibit_s3::{Client, Config, Credentials, Location, Put};
//!
//! let location = Location::parse("s3://evidence/archive-1")?;
//! let config = Config::new("http://127.0.0.1:8333", "us-east-1", location)?;
//! let client = Client::new(config, Credentials::from_environment()?);
//! match client.put_once("objects/ab/cdef.zst", b"bytes", None)? {
//!     Put::Created => println!("stored"),
//!     Put::AlreadyThere => println!("already stored"),
//! }
//! # Ok::<(), exhibit_s3::S3Error>(())
//! ```

mod client;
mod credentials;
mod error;
mod location;
mod multipart;
mod sigv4;
mod xml;

pub use client::Client;
pub use credentials::Credentials;
pub use error::S3Error;
pub use location::{Config, Location};

/// Files larger than this go to [`Client::put_file_once`]'s multipart upload (16 MiB); smaller
/// ones are read into memory and sent in one `PUT`.
pub const MULTIPART_THRESHOLD: u64 = 16 << 20;

/// The size of each part of a multipart upload (8 MiB), unless the file is so large that
/// 10,000 parts (S3's limit) would not hold it; then parts grow to fit.
pub const MULTIPART_PART_SIZE: u64 = 8 << 20;

/// Object Lock retention for new objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Compliance (nobody can shorten it or delete the object) or Governance.
    pub mode: RetentionMode,
    /// The object version cannot be deleted or overwritten before this instant.
    pub until: chrono::DateTime<chrono::Utc>,
}

/// The two Object Lock retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionMode {
    /// No user, not even the account's root, can delete the version or shorten its retention.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` can lift it.
    Governance,
}

impl RetentionMode {
    /// The header value: `COMPLIANCE` or `GOVERNANCE`.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionMode::Compliance => "COMPLIANCE",
            RetentionMode::Governance => "GOVERNANCE",
        }
    }
}

/// What a write-once put found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The object was written.
    Created,
    /// The key already held exactly these bytes (the store answered 412 and the stored bytes
    /// were compared): nothing was written.
    AlreadyThere,
}

/// An object's metadata, from `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its length in bytes.
    pub size: u64,
    /// Its ETag, without the quotes (`-N` suffixed for a multipart upload of N parts).
    pub etag: String,
    /// `COMPLIANCE` or `GOVERNANCE` when the version is under Object Lock retention.
    pub retention_mode: Option<String>,
    /// The end of its retention.
    pub retain_until: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was written.
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key, relative to the location's prefix.
    pub key: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its ETag, without the quotes.
    pub etag: String,
}

/// A conditional write lost: the object's ETag was no longer the one expected (or the object
/// appeared, when none was expected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precondition;
