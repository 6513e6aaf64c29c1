//! The error of an operation: the store's, or a named failure saying whether the input was
//! at fault (the command line maps it to an exit status). Not for warnings: operations return
//! those as data.

use exhibit_store::StoreError;

/// Why an operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The store failed (its own [`StoreError::is_bad_input`] says whose fault).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The input was malformed or does not make sense (the user's to fix).
    #[error("{0}")]
    BadInput(String),
    /// Something did not match, was not found or could not be done.
    #[error("{0}")]
    Failed(String),
}

impl OpsError {
    /// Whether the input was at fault rather than the archive or the machine.
    pub fn is_bad_input(&self) -> bool {
        match self {
            OpsError::Store(e) => e.is_bad_input(),
            OpsError::BadInput(_) => true,
            OpsError::Failed(_) => false,
        }
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        OpsError::Failed(message.into())
    }

    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        OpsError::BadInput(message.into())
    }
}
