//! Where a provision's clause stands in every version of its document: the versions that hold
//! it verbatim (after whitespace normalisation), and the first one after the quoted version
//! that no longer does. Not for recording or verifying provisions ([`crate::citation`],
//! [`crate::audit`]).

use exhibit_core::RecordId;
use exhibit_store::{Archive, ClauseInVersion, VersionRow};

use crate::OpsError;

/// A clause's history across the versions of its document.
pub struct Stability {
    /// Every version of the document, oldest first, with how often it holds the clause.
    pub history: Vec<ClauseInVersion>,
    /// The first version that holds the clause.
    pub first_seen: Option<VersionRow>,
    /// The last version, from the quoted one on, that still holds it (before any that does
    /// not).
    pub last_seen: Option<VersionRow>,
    /// The first version after the quoted one that does not hold it.
    pub changed_in: Option<VersionRow>,
}

/// The stability of `passage` in the versions of `document`, quoted in `quoted`.
pub fn stability(
    archive: &Archive,
    document: &RecordId,
    quoted: &RecordId,
    passage: &str,
) -> Result<Stability, OpsError> {
    let history = archive.clause_history(document, passage)?;
    // Stability: versions after the quoted one that still hold the clause, until the first
    // that does not.
    let quoted_at = history.iter().position(|h| h.version.id == *quoted);
    let mut last_seen = None;
    let mut changed_in = None;
    if let Some(q) = quoted_at {
        for h in &history[q..] {
            if h.occurrences.unwrap_or(0) > 0 {
                last_seen = Some(h.version.clone());
            } else {
                changed_in = Some(h.version.clone());
                break;
            }
        }
    }
    let first_seen = history
        .iter()
        .find(|h| h.occurrences.unwrap_or(0) > 0)
        .map(|h| h.version.clone());
    Ok(Stability {
        history,
        first_seen,
        last_seen,
        changed_in,
    })
}
