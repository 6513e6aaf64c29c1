//! The store's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong opening, reading or writing an archive.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory holds no archive.
    #[error("no exhibit archive at {}: {reason} (create one with `exhibit init`, or pass --archive DIR)", path.display())]
    NotAnArchive {
        /// The directory looked at.
        path: PathBuf,
        /// Why it is not an archive.
        reason: String,
    },
    /// `init` found something already there.
    #[error("{} already exists and is not empty; refusing to initialise an archive over it", path.display())]
    AlreadyExists {
        /// The directory.
        path: PathBuf,
    },
    /// `exhibit.toml` (or an option) is unusable.
    #[error("{}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The signing key could not be used.
    #[error(transparent)]
    Key(#[from] exhibit_sign::KeyError),
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The SQLite catalog failed.
    #[error("{file}: {0}", file = crate::layout::CATALOG_FILE)]
    Catalog(#[from] rusqlite::Error),
    /// No record matches.
    #[error("{0}")]
    NotFound(String),
    /// A hash prefix matches several records.
    #[error("{query} matches {} records: {}; give more digits", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// The prefix as given.
        query: String,
        /// The matching records (`EX-C-000001 (content sha256 4abc…)`).
        candidates: Vec<String>,
    },
    /// The query is neither an id nor a hash prefix.
    #[error("{0}")]
    BadQuery(String),
    /// A record could not be made (for example, its manifest would be invalid).
    #[error("{what}: {message}")]
    Rejected {
        /// The record.
        what: String,
        /// Why.
        message: String,
    },
    /// Stored data does not match what the archive recorded about it.
    #[error("{what}: {message}")]
    Corrupt {
        /// The file or record.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A request to the archive's S3 bucket failed.
    #[error(transparent)]
    S3(#[from] exhibit_s3::S3Error),
    /// The archive's bucket holds something exhibit did not expect, or another host got in the
    /// way (the write lease, the log's end).
    #[error("{what}: {message}")]
    Bucket {
        /// The key (`s3://bucket/prefix/key`).
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl StoreError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error is the user's input (a bad query, no archive, a bad key or config)
    /// rather than a record that was looked for and not found, or a failure of the machine.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::NotAnArchive { .. }
                | StoreError::AlreadyExists { .. }
                | StoreError::Config { .. }
                | StoreError::Key(_)
                | StoreError::Ambiguous { .. }
                | StoreError::BadQuery(_)
                | StoreError::S3(
                    exhibit_s3::S3Error::Credentials { .. }
                        | exhibit_s3::S3Error::InvalidLocation { .. }
                        | exhibit_s3::S3Error::InvalidEndpoint { .. }
                )
        )
    }
}
