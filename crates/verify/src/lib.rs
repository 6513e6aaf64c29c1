//! exhibit-verify: checks an evidence bundle offline, trusting nothing but the keys you pin.
//!
//! [`verify_bundle`] reads a `.tar.zst` bundle with [`exhibit_bundle::read_bundle`] (one
//! streaming pass, nothing written) and checks, in order: the bag declaration; every payload
//! file against `manifest-sha256.txt` and the bag's completeness; every tag file against
//! `tagmanifest-sha256.txt`; the keys; the seal (the signature over the tag manifest); every
//! signed capture manifest and the content and text files it describes (SHA-256, BLAKE3, size);
//! and finally whether every signer is a key the caller pinned.
//!
//! The outcome maps to the exit codes of both command-line tools: [`Verdict::Verified`] 0,
//! [`Verdict::Mismatch`] 1, unreadable or malformed input ([`VerifyError`]) 2,
//! [`Verdict::Unpinned`] 3.

mod checks;
mod report;

use std::path::Path;

use exhibit_bundle::{Limits, ReadError};
use exhibit_sign::{Fingerprint, PublicKey};

pub use checks::verify_bag;
pub use report::{Check, Outcome, RecordSummary, Report, Verdict};

/// A key the verifier trusts, given by the user through an independent channel.
#[derive(Clone, Debug)]
pub enum TrustedKey {
    /// A public key (its fingerprint is what is compared).
    Key(PublicKey),
    /// A fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    Fingerprint(Fingerprint),
}

impl TrustedKey {
    /// The fingerprint to compare signers with.
    pub fn fingerprint(&self) -> Fingerprint {
        match self {
            TrustedKey::Key(k) => k.fingerprint(),
            TrustedKey::Fingerprint(f) => *f,
        }
    }

    /// Parses a `--key` argument: `SHA256:…` is a fingerprint, anything else a path to an SPKI
    /// PEM public key file.
    pub fn from_arg(arg: &str) -> Result<TrustedKey, VerifyError> {
        if arg.starts_with("SHA256:") {
            return arg
                .parse::<Fingerprint>()
                .map(TrustedKey::Fingerprint)
                .map_err(|e| VerifyError::Key(format!("--key {arg}: {e}")));
        }
        PublicKey::load_pem(Path::new(arg))
            .map(TrustedKey::Key)
            .map_err(|e| VerifyError::Key(format!("--key: {e}")))
    }
}

/// What to check against.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Pinned keys; empty means "check everything, but nothing is pinned" (exit 3).
    pub trusted: Vec<TrustedKey>,
    /// Reading limits.
    pub limits: Limits,
}

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

/// Reads and verifies the bundle at `path`.
pub fn verify_bundle(path: &Path, options: &Options) -> Result<Report, VerifyError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| VerifyError::Open {
        path: shown.clone(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            _ => e.to_string(),
        },
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(VerifyError::Open {
            path: shown,
            reason: "is a directory, not a bundle file".into(),
        });
    }
    let bag = exhibit_bundle::read_bundle(std::io::BufReader::new(file), &options.limits).map_err(
        |source| VerifyError::Read {
            path: shown.clone(),
            source,
        },
    )?;
    let mut report = verify_bag(&bag, &options.trusted)?;
    report.bundle = shown;
    Ok(report)
}
