//! Error types.

use std::io;

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Writing the output failed.
    #[error("writing the bundle: {0}")]
    Io(#[from] io::Error),
    /// An object could not be read from the archive.
    #[error("object {sha256}: {source}")]
    Object {
        /// The object.
        sha256: String,
        /// The error.
        source: io::Error,
    },
    /// An object's bytes do not match the manifest that names them.
    #[error("object {sha256} is damaged: {message}; the bundle was not written")]
    Damaged {
        /// The object.
        sha256: String,
        /// What differs.
        message: String,
    },
    /// The bundle would be malformed (e.g. no records).
    #[error("{0}")]
    Invalid(String),
}

/// Why a bundle could not be read: it is unreadable, malformed or hostile. Every message is one
/// line naming the entry (when there is one) and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("{0}")]
    Open(String),
    /// The zstd or tar stream is cut short or corrupt.
    #[error("truncated or corrupt bundle: {0}")]
    Corrupt(String),
    /// An entry that must never be in a bundle (unsafe path, link, device, duplicate…).
    #[error("unsafe entry {entry:?}: {reason}")]
    Unsafe {
        /// The entry name as it appears in the tar.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A documented size or count limit was exceeded.
    #[error("{0}")]
    Limit(String),
    /// The tar holds no bag, or more than one.
    #[error("{0}")]
    NotABag(String),
}
