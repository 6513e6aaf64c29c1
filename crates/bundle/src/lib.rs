//! exhibit-bundle: evidence bundles — one `.tar.zst` holding one BagIt 1.0 bag (RFC 8493).
//!
//! ```text
//! <bag>/
//!   VERIFY.txt                      how to verify with stock tools, step by step
//!   bag-info.txt  bagit.txt  manifest-sha256.txt  tagmanifest-sha256.txt
//!   tagmanifest-sha256.txt.sig      raw Ed25519 signature over the tag manifest (the seal)
//!   data/content/<sha256>.<ext>     captured bytes, exactly as captured
//!   data/text/<sha256>.txt          extracted texts
//!   exhibit/manifests/<id>.json     signed manifests, byte for byte as in the archive
//!   exhibit/manifests/<id>.json.sig
//!   exhibit/keys/<fingerprint>.pem  signer public keys
//!   exhibit/citation.txt            citation records
//!   exhibit/report.pdf  report.html the evidence report (rebuilt from the records by the verifier)
//!   exhibit/proofs/<id>.tlog-proof  log inclusion proofs (C2SP tlog-proof)
//!   exhibit/checkpoint              the signed checkpoint the proofs refer to
//!   exhibit/checkpoint.tsr          an RFC 3161 token over it (more in exhibit/timestamps/<tsa>/)
//! ```
//!
//! [`write_bundle`] streams: payload bytes flow from the archive's objects through a hash check
//! into the tar, so a bundle of gigabytes never sits in memory, and the output is deterministic
//! (sorted entries, fixed owner and modes, one given mtime). [`read_bundle`] treats its input
//! as hostile: it streams the tar once, writes nothing anywhere, hashes every payload file on the
//! way and keeps only size-capped tag files in memory.

mod contents;
mod error;
pub mod layout;
mod read;
mod ustar;
mod verify_txt;
mod write;

pub use contents::{Bundle, BundleAnchor, BundleRecord, BundleTimestamp};
pub use error::{BundleError, ReadError};
pub use read::{BagFile, Limits, ReadBag, read_bundle, read_tar_stream};
pub use write::{WriteSummary, view, write_bundle};
