//! `/`: the tracked documents, filtered by entity or searched by URL, title, record id or hash
//! prefix, a page at a time.

use exhibit_http::Response;
use exhibit_store::{DocumentSummary, Match};
use maud::{Markup, html};

use crate::format::{document_link, record_link, time};
use crate::route::DocumentsQuery;
use crate::{Ctx, PageError, page};

/// Documents per page.
pub const PAGE: u64 = 50;

/// The shortest hash prefix searched for (as everywhere in exhibit).
const MIN_HASH_PREFIX: usize = 8;

/// Whether `q` asks for records by id or hash prefix rather than by text.
fn names_records(q: &str) -> bool {
    q.parse::<exhibit_core::RecordId>().is_ok()
        || (q.len() >= MIN_HASH_PREFIX && q.len() <= 64 && q.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The documents page.
pub fn page(ctx: &Ctx, query: &DocumentsQuery) -> Result<Response, PageError> {
    let a = &ctx.archive;
    let matches: Vec<Match> = match query.q.as_deref() {
        Some(q) if names_records(q) && query.after == 0 => match a.resolve(q) {
            Ok(m) => m,
            Err(exhibit_store::StoreError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        _ => Vec::new(),
    };
    let mut docs: Vec<DocumentSummary> = match (query.q.as_deref(), query.entity.as_deref()) {
        (Some(q), _) => a.search_documents(q, query.after, PAGE)?,
        (None, Some(entity)) => a.documents_of_entity(entity, query.after, PAGE)?,
        (None, None) => a.document_summaries(PAGE, query.after)?,
    };
    let full = docs.len() as u64 == PAGE;
    let last = docs.last().map(|d| d.document.id.number());
    if let (Some(_), Some(entity)) = (&query.q, &query.entity) {
        docs.retain(|d| d.document.entity.as_deref() == Some(entity));
    }
    let next = match (full, last) {
        (true, Some(last)) => Some(next_href(query, last)),
        _ => None,
    };
    let title = match (&query.q, &query.entity) {
        (Some(q), _) => format!("Search: {q}"),
        (None, Some(e)) => format!("Documents of {e}"),
        (None, None) => "Documents".to_owned(),
    };
    let feed = match &query.entity {
        Some(e) => format!("/feed.atom?entity={}", encode(e)),
        None => "/feed.atom".to_owned(),
    };
    let body = html! {
        (search_form(query))
        @if !matches.is_empty() {
            section #matches-section {
                h2 { "Records" }
                ul #matches {
                    @for m in &matches {
                        li {
                            (record_link(&m.id))
                            @if !m.hash.is_empty() { " — " (m.field) " " code.hash { (m.hash) } }
                        }
                    }
                }
            }
        }
        @if let Some(e) = &query.entity {
            p { "Changes of " (e) ": " a href=(feed) { "Atom feed" } }
        }
        (table(&docs))
        @if docs.is_empty() && matches.is_empty() {
            p.empty { "No documents." }
        }
        @if let Some(next) = next {
            p.paging { a rel="next" href=(next) { "Next page →" } }
        }
    };
    Ok(page::page_with_feed(&ctx.origin, &title, body, &feed))
}

fn search_form(query: &DocumentsQuery) -> Markup {
    html! {
        form.search method="get" action="/" {
            label {
                "Search "
                input type="search" name="q" value=[query.q.as_deref()]
                    placeholder="URL, title, record id or hash prefix (8+ hex)";
            }
            label {
                "Entity "
                input type="text" name="entity" value=[query.entity.as_deref()];
            }
            button type="submit" { "Find" }
        }
    }
}

fn table(docs: &[DocumentSummary]) -> Markup {
    html! {
        @if !docs.is_empty() {
            table #documents {
                thead { tr {
                    th { "Document" } th { "Entity" } th { "Title and URL" }
                    th.num { "Versions" } th { "Last capture" }
                } }
                tbody {
                    @for d in docs {
                        tr data-document=(d.document.id) {
                            td { (document_link(&d.document.id)) }
                            td {
                                @if let Some(e) = &d.document.entity {
                                    a href={ "/?entity=" (encode(e)) } { (e) }
                                }
                            }
                            td {
                                a href={ "/documents/" (d.document.id) } {
                                    (d.document.title.as_deref().unwrap_or("(untitled)"))
                                }
                                br;
                                code.url { (d.document.url) }
                            }
                            td.num { (d.versions) }
                            td {
                                @if let Some(at) = &d.last_captured_at { (time(at)) }
                                @if d.last_capture_ok == Some(false) { " " span.fail { "failed" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The link to the page after the document numbered `last`, keeping the filters.
fn next_href(query: &DocumentsQuery, last: u64) -> String {
    let mut href = format!("/?after={last}");
    if let Some(q) = &query.q {
        href.push_str(&format!("&q={}", encode(q)));
    }
    if let Some(e) = &query.entity {
        href.push_str(&format!("&entity={}", encode(e)));
    }
    href
}

/// What a query value leaves as it is: RFC 3986's unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `s` as a query value.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}
