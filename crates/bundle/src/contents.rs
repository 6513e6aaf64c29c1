//! What a bundle is made of: the records, keys, checkpoint and timestamps a caller hands to
//! [`crate::write_bundle`].
//!
//! Not for writing them (see `write`), nor for VERIFY.txt (see `verify_txt`): both read these
//! types, and this file reads neither.

use chrono::{DateTime, Utc};
use exhibit_core::{AnyManifest, CaptureManifest, RecordId};
use exhibit_sign::{PublicKey, SigningKey};

/// One signed record to bundle.
#[derive(Clone, Debug)]
pub struct BundleRecord {
    /// The record id.
    pub id: RecordId,
    /// The manifest bytes, exactly as stored and signed.
    pub manifest_bytes: Vec<u8>,
    /// The raw 64-byte signature.
    pub signature: Vec<u8>,
    /// The parsed manifest: a capture, or a provision (whose version's opening capture must be
    /// in the bundle too, for its text).
    pub manifest: AnyManifest,
    /// The C2SP tlog-proof of the manifest's inclusion in the archive's log, if any.
    pub tlog_proof: Option<String>,
    /// The manifest's leaf index in the log (printed in the citation), if known.
    pub log_index: Option<u64>,
}

impl BundleRecord {
    /// The capture manifest, for a capture record.
    pub fn capture(&self) -> Option<&CaptureManifest> {
        match &self.manifest {
            AnyManifest::Capture(m) => Some(m),
            AnyManifest::Provision(_) => None,
        }
    }
}

/// Everything a bundle is made of.
pub struct Bundle<'a> {
    /// The bag's top directory name (see [`crate::layout::bag_name_for`]).
    pub name: String,
    /// The archive origin (Source-Organization).
    pub origin: String,
    /// Bagging date and every entry's mtime (`SOURCE_DATE_EPOCH` makes bundles reproducible).
    pub created: DateTime<Utc>,
    /// The records, in the order given (the bag lists them sorted by id).
    pub records: Vec<BundleRecord>,
    /// Public keys of every signer of the records.
    pub public_keys: Vec<PublicKey>,
    /// The key that seals the bag.
    pub seal: &'a SigningKey,
    /// The file name the bundle is written as (quoted in VERIFY.txt).
    pub file_name: String,
    /// The signed checkpoint note that the records' log proofs refer to (written as
    /// `exhibit/checkpoint`).
    pub checkpoint: Option<String>,
    /// RFC 3161 tokens over that checkpoint note (see [`crate::layout::timestamp_paths`]).
    pub timestamps: Vec<BundleTimestamp>,
    /// Witnesses' cosignature lines on that checkpoint (each `— name base64\n`), written after
    /// it as [`crate::layout::COSIGNED_CHECKPOINT`] when there is one.
    pub cosignatures: Vec<String>,
    /// The archive's key history (docs/FORMAT.md §2.1): every statement's files, by name
    /// (`000001.json`, `000001.json.sig`, `000001.json.new.sig`), written under
    /// [`crate::layout::KEY_HISTORY_DIR`]. Empty for an archive that never rotated its key.
    pub key_history: Vec<(String, Vec<u8>)>,
    /// Earlier checkpoints, each stamped by a TSA, that prove records signed by a since-revoked
    /// key existed before its compromise ([`crate::layout::anchor_paths`]).
    pub anchors: Vec<BundleAnchor>,
    /// The evidence report: `None` for a bag without one; `Some` of its files
    /// ([`crate::layout::REPORT_PDF`], [`crate::layout::REPORT_HTML`]) for a bag with one —
    /// `Some` of nothing while it is being made from [`crate::view`] (VERIFY.txt, which the
    /// report quotes, already says the bag has one).
    pub report: Option<Vec<(String, Vec<u8>)>>,
}

/// An earlier checkpoint of the log, stamped, with the proof that the bundle's checkpoint
/// extends it.
#[derive(Clone, Debug)]
pub struct BundleAnchor {
    /// Its tree size.
    pub size: u64,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// A TSA's `TimeStampResp` over the note's bytes.
    pub token: Vec<u8>,
    /// The RFC 6962 consistency proof from it to the bundle's checkpoint.
    pub consistency: Vec<[u8; 32]>,
}

/// An RFC 3161 token over the bundle's checkpoint.
#[derive(Clone, Debug)]
pub struct BundleTimestamp {
    /// The TSA's name in the archive (names the token's directory when it is not the first).
    pub tsa: String,
    /// The DER `TimeStampResp`, exactly as the TSA sent it.
    pub response: Vec<u8>,
}
