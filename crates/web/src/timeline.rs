//! `/documents/ID`: a document's versions, newest first, each with when it was first and last
//! seen, how many captures confirm it and how many words it added and removed; and the
//! provisions recorded on it, with the versions that still hold each.

use exhibit_core::RecordId;
use exhibit_http::Response;
use exhibit_ops::measure::change_size;
use exhibit_store::{ProvisionRow, VersionRow};
use maud::{Markup, html};

use crate::format::{count, diff_href, record_link, time};
use crate::{Ctx, PageError, page};

/// Versions per page (each compared with the one before it).
pub const PAGE: u64 = 20;

/// Provisions listed.
const PROVISIONS: u64 = 50;

/// The versions whose texts are searched for the provisions' passages (the newest).
const PROVISION_VERSIONS: u64 = 200;

/// A version with its change from the one before.
struct Row {
    version: VersionRow,
    previous: Option<RecordId>,
    added: Option<u64>,
    removed: Option<u64>,
}

/// The timeline page.
pub fn page(ctx: &Ctx, id: &RecordId, before: u64) -> Result<Response, PageError> {
    let a = &ctx.archive;
    let summary = a.document_summary(id)?;
    let d = &summary.document;
    // One more than the page, for the change of its oldest version.
    let mut versions = a.versions_before(id, before, PAGE + 1)?;
    let more = versions.len() as u64 > PAGE;
    let older = if more { versions.pop() } else { None };
    let older = match older {
        Some(v) => Some(v),
        None => match versions.last() {
            Some(oldest) => a.previous_version(oldest)?,
            None => None,
        },
    };
    let text = |v: &VersionRow| -> Result<Option<String>, PageError> {
        Ok(exhibit_ops::history::version_text(a, v, &ctx.keys)?.ok())
    };
    let mut rows = Vec::with_capacity(versions.len());
    let mut newer_text: Option<Option<String>> = None;
    for (i, v) in versions.iter().enumerate() {
        let this = match newer_text.take() {
            Some(t) => t,
            None => text(v)?,
        };
        let prev = versions.get(i + 1).or(older.as_ref());
        let prev_text = match prev {
            Some(p) => text(p)?,
            None => None,
        };
        let size = match (&this, &prev_text) {
            (Some(new), Some(old)) => Some(change_size(old, new)),
            _ => None,
        };
        rows.push(Row {
            version: v.clone(),
            previous: prev.map(|p| p.id.clone()),
            added: size.map(|s| s.words_added),
            removed: size.map(|s| s.words_removed),
        });
        newer_text = Some(prev_text);
    }
    let next = match (more, versions.last()) {
        (true, Some(last)) => Some(format!("/documents/{id}?before={}", last.id.number())),
        _ => None,
    };
    let title = d.title.clone().unwrap_or_else(|| d.url.clone());
    let feed = format!("/documents/{id}/feed.atom");
    let provisions = provisions(ctx, id)?;
    let body = html! {
        dl.facts {
            dt { "Document" } dd { (id) }
            dt { "URL" } dd { code.url { (d.url) } }
            @if let Some(e) = &d.entity { dt { "Entity" } dd { a href={ "/?entity=" (crate::documents::encode(e)) } { (e) } } }
            dt { "Versions" } dd { (summary.versions) " (" (summary.captures) " captures)" }
            @if let Some(at) = &summary.last_captured_at { dt { "Last capture" } dd { (time(at)) } }
            dt { "Changes" } dd { a href=(feed) { "Atom feed" } }
        }
        h2 { "Versions" }
        table #versions {
            thead { tr {
                th { "Version" } th { "First seen" } th { "Last seen" } th.num { "Captures" }
                th.num { "Words added" } th.num { "Words removed" } th { "Change" }
            } }
            tbody {
                @for r in &rows {
                    tr data-version=(r.version.id) {
                        td { (record_link(&r.version.id)) }
                        td { (time(&r.version.first_seen)) }
                        td { (time(&r.version.last_seen)) }
                        td.num { (r.version.captures) }
                        td.num.added { (count(r.added)) }
                        td.num.removed { (count(r.removed)) }
                        td {
                            @match &r.previous {
                                Some(p) => a href=(diff_href(p, &r.version.id)) { "diff with " (p) },
                                None => span.note { "first version" },
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            p.paging { a rel="next" href=(next) { "Older versions →" } }
        }
        (provisions)
    };
    Ok(page::page_with_feed(&ctx.origin, &title, body, &feed))
}

/// The provisions of a document, each with the versions (of the newest
/// [`PROVISION_VERSIONS`]) whose text still holds its passage. Each text is read once.
fn provisions(ctx: &Ctx, document: &RecordId) -> Result<Markup, PageError> {
    let a = &ctx.archive;
    let rows: Vec<ProvisionRow> = a.provisions_of_document(document, PROVISIONS)?;
    if rows.is_empty() {
        return Ok(html! {
            section #provisions { h2 { "Provisions" } p.note { "No provision (quoted passage) is recorded on this document: " code { "exhibit cite VERSION --quote TEXT" } " records one." } }
        });
    }
    let mut passages = Vec::with_capacity(rows.len());
    for p in &rows {
        let (bytes, _) = a.read_provision_manifest(p)?;
        let m = exhibit_core::ProvisionManifest::parse(&bytes).map_err(|e| PageError {
            status: 500,
            message: format!("{}: {e}", p.id),
        })?;
        passages.push(m.quote.text);
    }
    let versions = a.versions_before(document, 0, PROVISION_VERSIONS)?;
    // holds[i][j]: version i's text holds passage j.
    let mut holds: Vec<(RecordId, Vec<bool>)> = Vec::with_capacity(versions.len());
    for v in versions.iter().rev() {
        let text = exhibit_ops::history::version_text(a, v, &ctx.keys)?.ok();
        let row = passages
            .iter()
            .map(|q| {
                text.as_deref()
                    .is_some_and(|t| !exhibit_core::quote::find(t, q).is_empty())
            })
            .collect();
        holds.push((v.id.clone(), row));
    }
    Ok(html! {
        section #provisions {
            h2 { "Provisions" }
            @for (j, p) in rows.iter().enumerate() {
                article.provision data-provision=(p.id) {
                    h3 { (record_link(&p.id)) " quoted from " (record_link(&p.version_id)) }
                    blockquote { (passages[j]) }
                    p {
                        "Still in: "
                        @let inside: Vec<&RecordId> = holds.iter().filter(|(_, h)| h[j]).map(|(v, _)| v).collect();
                        @if inside.is_empty() { span.fail { "no version" } }
                        @for (k, v) in inside.iter().enumerate() {
                            @if k > 0 { ", " }
                            (record_link(v))
                        }
                        @if let Some((latest, h)) = holds.last() {
                            @if !h[j] { " — " span.fail { "not in the current version " (latest) } }
                        }
                    }
                }
            }
        }
    })
}
