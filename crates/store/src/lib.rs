//! exhibit-store: the archive on disk.
//!
//! An archive is a directory holding the configuration (`exhibit.toml`), the signing keys,
//! content-addressed zstd objects, signed manifests and a SQLite catalog that indexes them:
//!
//! ```text
//! exhibit-archive/
//!   exhibit.toml
//!   keys/signing.pem  keys/signing.pub.pem
//!   objects/ab/<sha256>.zst
//!   manifests/C/000/EX-C-000042.json  (+ .json.sig; P/ for provisions)
//!   log/leaves  log/checkpoint  log/checkpoints/<size>.checkpoint  (+ .<tsa>.tsr tokens)
//!   tsa/<name>.ca.pem                  (CA bundles that TSA answers must chain to)
//!   catalog.sqlite
//! ```
//!
//! The signed manifests and the objects are the truth; the catalog is an index, which
//! [`reindex`] rebuilds from them and the log. Every file is
//! written crash-safely (temporary file, fsync, rename, fsync of the directory), and a capture
//! becomes visible only when the catalog transaction that records it commits. Writes are grouped
//! in a [`Batch`]: one catalog transaction and one round of directory fsyncs for many captures.

mod archive;
mod batch;
mod browse;
mod catalog;
mod checked_copy;
pub mod config;
pub mod cosignatures;
pub mod delta;
mod error;
pub mod fsck;
pub mod fsutil;
mod history;
pub mod key_history;
pub mod key_statements;
pub mod layout;
pub mod locks;
pub mod log;
pub mod objects;
mod orphans;
mod provisions;
mod queries;
mod record_files;
mod reindex;
pub mod remote;
pub mod repair;
mod rules;
mod signed;
pub mod timestamps;

pub use archive::{Archive, CatalogReader, InitOptions};
pub use batch::{Batch, CommittedCapture, PendingCapture};
pub use browse::{Change, ChangeScope, MIN_INDEXED_SEARCH};
pub use catalog::optimize_search;
pub use config::Config;
pub use cosignatures::StoredCosignature;
pub use error::StoreError;
pub use fsck::{FsckOptions, FsckReport, Note, Phase, Problem, Progress};
pub use history::{DocumentCounts, DocumentSummary};
pub use locks::{DocumentLock, DocumentLocks};
pub use log::SignedCheckpoint;
pub use objects::{ObjectStore, ObjectWriter, StoredObject};
pub use provisions::{
    ClauseInVersion, CommittedProvision, MAX_TEXT_READ, ProvisionDraft, ProvisionRow, QuoteProblem,
};
pub use queries::{CaptureRow, DocumentRow, Match, VersionRow};
pub use reindex::{RULES_FROM_REINDEX, ReindexReport, reindex};
pub use repair::{RepairReport, Repaired};
pub use rules::{CommittedReextraction, ReextractionDraft, ReextractionRow, RulesChange};
pub use signed::{Signature, SignedCapture};
pub use timestamps::StoredTimestamp;
