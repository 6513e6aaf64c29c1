//! Small pieces of pages used by several: times, counts, hashes, links to records.

use exhibit_core::RecordId;
use maud::{Markup, html};

/// An RFC 3339 time as people read it: `2026-04-30 06:15:21 UTC` (as stored when it does
/// not parse).
pub fn time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// A link to a record's page.
pub fn record_link(id: &RecordId) -> Markup {
    html! { a.id href={ "/records/" (id) } { (id) } }
}

/// A link to a document's timeline.
pub fn document_link(id: &RecordId) -> Markup {
    html! { a.id href={ "/documents/" (id) } { (id) } }
}

/// The link to the diff of two versions.
pub fn diff_href(from: &RecordId, to: &RecordId) -> String {
    format!("/diff?from={from}&to={to}")
}

/// A count of words, or a dash when unknown.
pub fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "—".to_owned(), |n| n.to_string())
}
