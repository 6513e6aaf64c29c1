//! `fsck` as the command runs it, around `exhibit_store::Archive::fsck`: the RFC 3161 token
//! check it plugs into the store's checker, and the report for an archive too damaged to open.
//! Not for the checks themselves (the store's `fsck`) nor for printing the report.

use std::path::Path;

use exhibit_store::{FsckReport, Problem, StoreError};

/// What `fsck` checks of a stored token: it is over `data` and its signature verifies (its
/// chain is the verifier's matter: trust is the reader's choice).
pub fn check_token(response: &[u8], data: &[u8]) -> Result<(), String> {
    let t = exhibit_timestamp::Token::parse_response(response).map_err(|e| e.to_string())?;
    t.check_message(data).map_err(|e| e.to_string())?;
    t.verify_signature().map_err(|e| e.to_string())
}

/// The report for an archive at `root` that could not be opened (no catalog, not SQLite, …):
/// a finding, not an error. It is named by the file that stopped it when that is one of the
/// catalog's (a FIFO at `catalog.sqlite-journal`, say), relative to the archive.
pub fn unopenable(root: &Path, e: &StoreError, full: bool) -> FsckReport {
    let path = match e {
        StoreError::Corrupt { what, .. } => Path::new(what)
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.to_str())
            .filter(|p| p.starts_with("catalog.sqlite"))
            .map(str::to_owned),
        _ => None,
    };
    FsckReport {
        full,
        problems: vec![Problem {
            path: path.unwrap_or_else(|| "catalog.sqlite".into()),
            check: "catalog",
            message: format!("cannot open the archive: {e}"),
        }],
        ..FsckReport::default()
    }
}
