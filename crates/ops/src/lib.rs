//! The operations of the `exhibit` tool over an archive: what a command *does*, between the
//! store (which reads and writes the archive) and the command line (which parses arguments and
//! renders results).
//!
//! Each module is one job and returns typed results; none of them prints anything. Text and
//! JSON rendering, exit codes and terminal handling stay in the `exhibit` binary.
//!
//! - [`bundle`]: which records an export takes, the checkpoint their proofs refer to, the
//!   tokens that go with it, and writing the bundle.
//! - [`log`]: a checkpoint to show or prove against, inclusion proofs, and checking that the log
//!   extends an old checkpoint.
//! - [`audit`]: verifying a record of the archive as evidence (signature, log inclusion, time
//!   order, stored bytes, a provision's quoted passage), as a citation candidate.
//! - [`citation`]: citing a record, and checking citations, hashes and local files against
//!   the archive.
//! - [`records`]: which signed record `show` and `cat` state, and a re-extraction's signature.
//! - [`measure`]: how a change between two texts is measured, and the diff behind it.
//! - [`history`]: a document's timeline of versions, with the size of each change.
//! - [`clause`]: where a provision's clause stands in every version of its document.
//! - [`rules`]: setting a document's extraction rules, and the record a re-extraction dry run
//!   previews.
//! - [`fsck`]: the token check `fsck` plugs into the store's checker, and the report for an
//!   archive too damaged to open.
//! - [`timestamps`]: checking RFC 3161 tokens and CA bundles for the archive.
//! - [`notify`]: the change notification of a new version, as signed and sent to webhooks.

pub mod audit;
pub mod bundle;
pub mod citation;
pub mod clause;
mod error;
pub mod export;
pub mod fsck;
pub mod history;
pub mod log;
pub mod measure;
pub mod notify;
pub mod records;
pub mod rules;
pub mod timestamps;
pub mod tls;
pub mod wacz;

pub use error::OpsError;
