//! What the caller asks the verifier to trust: pinned signing keys (`--key`), trusted TSA CA
//! certificates (`--tsa-ca`) and the reading limits.
//!
//! Not for the checks themselves (see `checks`), nor for what they found (see `report`).

use std::path::Path;

use exhibit_bundle::Limits;
use exhibit_sign::{Fingerprint, PublicKey};

use crate::error::VerifyError;

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

/// The witnesses the caller trusts (`--witness VKEY`, `--witness-quorum K`).
#[derive(Clone, Debug, Default)]
pub struct WitnessPolicy {
    /// Their cosigner keys; empty means no witness is required.
    pub keys: Vec<exhibit_sign::cosignature::CosignerKey>,
    /// How many of them must have cosigned the checkpoint; all of them when `None`.
    pub quorum: Option<usize>,
}

impl WitnessPolicy {
    /// Parses `--witness` vkeys and `--witness-quorum`: a quorum of 1 to the number of keys.
    pub fn from_args(
        vkeys: &[String],
        quorum: Option<usize>,
    ) -> Result<WitnessPolicy, VerifyError> {
        let mut keys = Vec::with_capacity(vkeys.len());
        for v in vkeys {
            let key = exhibit_sign::cosignature::CosignerKey::parse(v)
                .map_err(|e| VerifyError::Key(format!("--witness {v}: {e}")))?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if let Some(q) = quorum
            && (q == 0 || q > keys.len())
        {
            return Err(VerifyError::Key(format!(
                "--witness-quorum {q}: must be 1 to the number of --witness keys ({})",
                keys.len()
            )));
        }
        Ok(WitnessPolicy { keys, quorum })
    }

    /// How many cosignatures are required.
    pub fn quorum(&self) -> usize {
        self.quorum.unwrap_or(self.keys.len())
    }
}

/// What to check against.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Pinned keys; empty means "check everything, but nothing is pinned" (exit 3).
    pub trusted: Vec<TrustedKey>,
    /// Reading limits.
    pub limits: Limits,
    /// Trusted TSA CA certificates (`--tsa-ca`): when given, every time-stamp token must chain
    /// to one, and a bundle without a token fails.
    pub tsa_anchors: Option<exhibit_timestamp::TrustAnchors>,
    /// The witnesses required to have cosigned the checkpoint (check 16).
    pub witnesses: WitnessPolicy,
}

/// Reads trusted TSA CA certificates from PEM files (`--tsa-ca`, repeatable): `None` when no
/// file is given. Each file is at most 4 MiB and must hold at least one certificate.
pub fn load_tsa_anchors(
    paths: &[std::path::PathBuf],
) -> Result<Option<exhibit_timestamp::TrustAnchors>, VerifyError> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut pem = Vec::new();
    for path in paths {
        let bad =
            |reason: String| VerifyError::Key(format!("--tsa-ca {}: {reason}", path.display()));
        let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(file, (4 << 20) + 1), &mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        if bytes.len() > 4 << 20 {
            return Err(bad("larger than 4 MiB".into()));
        }
        exhibit_timestamp::TrustAnchors::from_pem(&bytes).map_err(|e| bad(e.to_string()))?;
        pem.extend_from_slice(&bytes);
        pem.push(b'\n');
    }
    exhibit_timestamp::TrustAnchors::from_pem(&pem)
        .map(Some)
        .map_err(|e| VerifyError::Key(format!("--tsa-ca: {e}")))
}
