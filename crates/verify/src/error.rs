//! Why a bundle could not be verified at all (exit 2): it could not be opened or read, it is
//! not an evidence bundle, or an argument naming what to trust is unusable.
//!
//! Not for checks that fail: a bundle that reads but does not match is a [`crate::Report`]
//! with a `Mismatch` verdict, not an error.

use exhibit_bundle::ReadError;

/// The bundle could not be read, or is not a bundle (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The bundle file could not be opened.
    #[error("{path}: {reason}")]
    Open {
        /// The bundle path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The tar/zstd stream is unsafe, corrupt, truncated or past a limit.
    #[error("{path}: {source}")]
    Read {
        /// The bundle path.
        path: String,
        /// The reader's reason.
        source: ReadError,
    },
    /// The bag lacks a file every bundle has, or it is unusable.
    #[error("{0}")]
    Malformed(String),
    /// A `--key` argument is unusable.
    #[error("{0}")]
    Key(String),
}
