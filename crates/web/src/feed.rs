//! Atom feeds (RFC 4287) of changes: the archive's, an entity's, a document's. One entry per
//! version that replaced another (a document's first version is not a change), newest first,
//! each linking to the diff and the record. Every text goes through the XML writer's escaping.

use exhibit_core::RecordId;
use exhibit_http::Response;
use exhibit_store::{Change, ChangeScope, DocumentRow, VersionRow};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use sha2::{Digest, Sha256};

use crate::documents::encode;
use crate::format::diff_href;
use crate::route::FeedScope;
use crate::{Ctx, PageError};

/// Entries per feed.
pub const ENTRIES: u64 = 50;

/// The Atom namespace.
const ATOM: &str = "http://www.w3.org/2005/Atom";

/// A feed of changes in `scope`; links are absolute under `base` (`http://host:port`).
pub fn response(ctx: &Ctx, scope: &FeedScope, base: &str) -> Result<Response, PageError> {
    let a = &ctx.archive;
    let (changes, title, self_path, page_path) = match scope {
        FeedScope::Archive => (
            a.latest_changes(ChangeScope::Archive, 0, ENTRIES)?,
            format!("Changes in {}", ctx.origin),
            "/feed.atom".to_owned(),
            "/".to_owned(),
        ),
        FeedScope::Entity(e) => (
            a.latest_changes(ChangeScope::Entity(e), 0, ENTRIES)?,
            format!("Changes of {e} in {}", ctx.origin),
            format!("/feed.atom?entity={}", encode(e)),
            format!("/?entity={}", encode(e)),
        ),
        FeedScope::Document(d) => {
            let doc = a.document_summary(d)?.document;
            (
                a.latest_changes(ChangeScope::Document(d), 0, ENTRIES)?,
                format!("Changes of {}", doc.title.as_deref().unwrap_or(&doc.url)),
                format!("/documents/{d}/feed.atom"),
                format!("/documents/{d}"),
            )
        }
    };
    let updated = changes
        .first()
        .map(|c| c.version.first_seen.clone())
        .unwrap_or_else(|| exhibit_core::time::format_rfc3339_seconds(chrono::Utc::now()));
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    let io = |e: std::io::Error| PageError {
        status: 500,
        message: format!("writing the feed: {e}"),
    };
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .map_err(io)?;
    let mut feed = BytesStart::new("feed");
    feed.push_attribute(("xmlns", ATOM));
    w.write_event(Event::Start(feed)).map_err(io)?;
    element(&mut w, "id", &urn(&[&ctx.origin, &self_path])).map_err(io)?;
    element(&mut w, "title", &title).map_err(io)?;
    element(&mut w, "updated", &updated).map_err(io)?;
    link(&mut w, "self", &format!("{base}{self_path}")).map_err(io)?;
    link(&mut w, "alternate", &format!("{base}{page_path}")).map_err(io)?;
    w.write_event(Event::Start(BytesStart::new("author")))
        .map_err(io)?;
    element(&mut w, "name", &ctx.origin).map_err(io)?;
    w.write_event(Event::End(BytesEnd::new("author")))
        .map_err(io)?;
    let mut generator = BytesStart::new("generator");
    generator.push_attribute(("version", env!("CARGO_PKG_VERSION")));
    w.write_event(Event::Start(generator)).map_err(io)?;
    w.write_event(Event::Text(BytesText::new("exhibit")))
        .map_err(io)?;
    w.write_event(Event::End(BytesEnd::new("generator")))
        .map_err(io)?;
    for c in &changes {
        entry(ctx, &mut w, c, base).map_err(io)?;
    }
    w.write_event(Event::End(BytesEnd::new("feed")))
        .map_err(io)?;
    let mut body = w.into_inner();
    body.push(b'\n');
    Ok(
        Response::new(200, "application/atom+xml; charset=utf-8", body)
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("Content-Security-Policy", crate::page::FILE_CSP),
    )
}

/// One change's entry.
fn entry(ctx: &Ctx, w: &mut Writer<Vec<u8>>, c: &Change, base: &str) -> std::io::Result<()> {
    let a = &ctx.archive;
    let doc: Option<DocumentRow> = a
        .document_summary(&c.version.document_id)
        .ok()
        .map(|s| s.document);
    let name = doc
        .as_ref()
        .map(|d| d.title.clone().unwrap_or_else(|| d.url.clone()))
        .unwrap_or_else(|| c.version.document_id.to_string());
    // The texts as the signed versions have them; a version whose record cannot be read
    // shows no counts rather than the catalog's word.
    let text = |v: &VersionRow| -> Option<String> {
        exhibit_ops::history::version_text(a, v, &ctx.keys)
            .ok()
            .and_then(Result::ok)
    };
    let size = match (text(&c.previous), text(&c.version)) {
        (Some(old), Some(new)) => Some(exhibit_ops::measure::change_size(&old, &new)),
        _ => None,
    };
    let counts = match size {
        Some(s) => format!("+{} −{} words", s.words_added, s.words_removed),
        None => "content changed".to_owned(),
    };
    w.write_event(Event::Start(BytesStart::new("entry")))?;
    element(w, "id", &urn(&[&ctx.origin, &c.version.id.to_string()]))?;
    element(w, "title", &format!("{name}: {counts}"))?;
    element(w, "updated", &c.version.first_seen)?;
    link(
        w,
        "alternate",
        &format!("{base}{}", diff_href(&c.previous.id, &c.version.id)),
    )?;
    link(w, "related", &format!("{base}/records/{}", c.version.id))?;
    let url = doc.as_ref().map(|d| d.url.as_str()).unwrap_or("");
    let mut summary = format!(
        "{} replaced {} of {} ({url}), first seen {}, opened by capture {}.",
        c.version.id,
        c.previous.id,
        c.version.document_id,
        c.version.first_seen,
        c.version.opened_by
    );
    if let Some(s) = size {
        summary.push_str(&format!(
            " {} words added and {} removed ({} lines added, {} removed).",
            s.words_added, s.words_removed, s.lines_added, s.lines_removed
        ));
    }
    let mut start = BytesStart::new("summary");
    start.push_attribute(("type", "text"));
    w.write_event(Event::Start(start))?;
    w.write_event(Event::Text(BytesText::new(&summary)))?;
    w.write_event(Event::End(BytesEnd::new("summary")))?;
    w.write_event(Event::End(BytesEnd::new("entry")))
}

fn element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn link(w: &mut Writer<Vec<u8>>, rel: &str, href: &str) -> std::io::Result<()> {
    let mut l = BytesStart::new("link");
    l.push_attribute(("rel", rel));
    l.push_attribute(("href", href));
    w.write_event(Event::Empty(l))
}

/// A stable, globally unique id for an archive's thing: a `urn:uuid:` made from the SHA-256 of
/// its parts (UUID version 8, RFC 9562), so the same change has the same id on every host.
fn urn(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(b"exhibit-feed-id");
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The id a feed entry has for `version` in the archive `origin` (for tests and readers that
/// match entries to records).
pub fn entry_id(origin: &str, version: &RecordId) -> String {
    urn(&[origin, &version.to_string()])
}
