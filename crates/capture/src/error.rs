//! The capture error type.

use std::path::PathBuf;

/// Why a source could not be captured (as opposed to a captured failure, which is a record).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A local file could not be read.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A URL (a source or `--url`) is malformed or unsupported.
    #[error(transparent)]
    Url(#[from] exhibit_core::url::UrlError),
    /// The source argument names nothing exhibit can read.
    #[error("{0}")]
    BadSource(String),
    /// Standard input has no URL of its own.
    #[error("capturing stdin (-) needs --url to name the document")]
    StdinNeedsUrl,
    /// A source is larger than the size cap.
    #[error("{source_name}: larger than the {limit}-byte capture limit (raise it with --max-size)")]
    TooLarge {
        /// The source.
        source_name: String,
        /// The cap.
        limit: u64,
    },
    /// The archive failed.
    #[error(transparent)]
    Store(#[from] exhibit_store::StoreError),
    /// The signing key failed.
    #[error(transparent)]
    Key(#[from] exhibit_sign::KeyError),
    /// The browser of a browser capture failed (would not start, crashed, stopped answering).
    /// Nothing is recorded: a broken browser says nothing about the document.
    #[error("browser: {0}")]
    Browser(String),
    /// A bug: something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CaptureError {
    /// Whether this is the user's input rather than a failure of the machine or archive.
    pub fn is_bad_input(&self) -> bool {
        match self {
            CaptureError::Store(e) => e.is_bad_input(),
            CaptureError::Internal(_) | CaptureError::Browser(_) => false,
            _ => true,
        }
    }
}
