//! exhibit-core: the pure vocabulary of exhibit.
//!
//! Digests and hash prefixes, record identifiers, document URL normalisation and the signed
//! capture manifest with its canonical (RFC 8785) byte form. Nothing here touches files, the
//! network or the clock, so every other crate — including the standalone verifier — can share
//! exactly one definition of what a record *is*.

pub mod browser;
pub mod chain;
pub mod checkpoint;
pub mod citation;
pub mod connection;
pub mod digest;
pub mod http_status;
pub mod id;
pub mod inert;
pub mod jcs;
pub mod key_statement;
pub mod manifest;
pub mod merkle;
pub mod provision;
pub mod quote;
pub mod reextraction;
pub mod segment;
pub mod time;
pub mod url;
pub mod warc_source;
pub mod witness;

pub use digest::{Blake3Digest, DualHasher, HashPrefix, Sha256Digest};
pub use id::{IdPrefix, RecordId, RecordKind};
pub use inert::{Inert, inert};
pub use manifest::{CaptureManifest, ManifestError, ManifestType};
pub use provision::{AnyManifest, OpeningMismatch, ProvisionManifest};
