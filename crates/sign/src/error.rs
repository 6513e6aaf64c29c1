//! Error types. Every message is one line, names the file where there is one, and says what
//! is wrong.

use std::io;
use std::path::{Path, PathBuf};

/// An error reading, parsing, generating or writing a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The operating system's random number generator failed.
    #[error("cannot generate a key: the operating system random source failed: {0}")]
    Random(String),

    /// A key file could not be opened or read.
    #[error("cannot read key file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },

    /// A key file could not be written.
    #[error("cannot write key file {}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },

    /// [`SigningKey::write_new`](crate::SigningKey::write_new) found a file already there.
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },

    /// A private key file is readable or writable by group or others.
    #[error(
        "key file {} is readable by group or others (mode {mode:04o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// The permission bits of the file (`st_mode & 0o7777`).
        mode: u32,
    },

    /// A key file is not a regular file, or is larger than any key file could be.
    #[error("{}: {reason}", path.display())]
    NotAKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The text is not a PKCS#8 Ed25519 private key PEM.
    #[error("{}not a PKCS#8 Ed25519 private key PEM ({detail})", prefix(path.as_deref()))]
    InvalidPrivateKey {
        /// The file the text came from, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        detail: String,
    },

    /// The text or bytes are not an Ed25519 public key.
    #[error("{}not an SPKI Ed25519 public key PEM ({detail})", prefix(path.as_deref()))]
    InvalidPublicKey {
        /// The file the text came from, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        detail: String,
    },
}

impl KeyError {
    /// Attach a file name to a parse error that was made without one.
    pub(crate) fn at(self, file: &Path) -> KeyError {
        match self {
            KeyError::InvalidPrivateKey { path: None, detail } => KeyError::InvalidPrivateKey {
                path: Some(file.to_path_buf()),
                detail,
            },
            KeyError::InvalidPublicKey { path: None, detail } => KeyError::InvalidPublicKey {
                path: Some(file.to_path_buf()),
                detail,
            },
            other => other,
        }
    }
}

fn prefix(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

/// A signature that is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature does not have exactly 64 bytes.
    #[error("signature is {len} bytes, expected 64")]
    Length {
        /// The length that was given.
        len: usize,
    },
    /// The signature is well-formed but is not valid for this key and message.
    #[error("signature does not verify")]
    Invalid,
}

/// Text that is not a key fingerprint of the form `SHA256:` + 43 base64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid key fingerprint {input:?}: {reason} (expected `SHA256:` followed by 43 base64 characters, as `ssh-keygen -l` prints)"
)]
pub struct FingerprintError {
    /// The offending text (shortened if very long).
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}
