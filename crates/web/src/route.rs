//! Which page a request asks for: the one place paths and query parameters are read. A path
//! names records by id only (never a file), so no request can reach anything outside what the
//! pages show.

use exhibit_core::{RecordId, RecordKind};
use exhibit_http::Request;

use crate::PageError;
use crate::assets::Asset;

/// The longest query text accepted (a search, an entity name).
pub const MAX_QUERY_TEXT: usize = 512;

/// A page or file of the site.
#[derive(Debug)]
pub enum Route {
    /// `/`: the documents list.
    Documents(DocumentsQuery),
    /// `/documents/ID`: a document's timeline, versions numbered below `before` (0: the
    /// newest).
    Document {
        /// The document.
        id: RecordId,
        /// Paging.
        before: u64,
    },
    /// `/records/ID`: a record and its evidence.
    Record(RecordId),
    /// `/records/ID/<file>`: one of a capture's files.
    File(RecordId, FileKind),
    /// `/diff?from=V&to=V`.
    Diff(DiffQuery),
    /// `/feed.atom`, `/feed.atom?entity=E`, `/documents/ID/feed.atom`.
    Feed(FeedScope),
    /// `/static/…`.
    Static(&'static Asset),
}

/// The documents list's parameters.
#[derive(Debug, Default)]
pub struct DocumentsQuery {
    /// Only this entity's documents.
    pub entity: Option<String>,
    /// A search: URL or title text, a record id or a hash prefix.
    pub q: Option<String>,
    /// Paging: documents numbered above this.
    pub after: u64,
}

/// A capture's files served as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The exact bytes, as a download.
    Content,
    /// The exact bytes of an HTML capture for the sandboxed frame.
    View,
    /// The extracted text.
    Text,
    /// A browser capture's screenshot.
    Screenshot,
    /// A signed evidence bundle of the record (made for the request).
    Bundle,
    /// The evidence report of the record (the PDF its bundle carries).
    Report,
}

/// How a diff is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffView {
    /// One column, removals and additions in place.
    #[default]
    Inline,
    /// Old on the left, new on the right.
    Side,
}

/// What a diff compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffUnit {
    /// Words inside changed lines.
    #[default]
    Words,
    /// Whole lines.
    Lines,
}

/// The diff page's parameters.
#[derive(Debug)]
pub struct DiffQuery {
    /// The old version.
    pub from: RecordId,
    /// The new version.
    pub to: RecordId,
    /// Inline or side by side.
    pub view: DiffView,
    /// Words or lines.
    pub unit: DiffUnit,
}

/// Whose changes a feed lists.
#[derive(Debug)]
pub enum FeedScope {
    /// The archive's.
    Archive,
    /// An entity's.
    Entity(String),
    /// A document's.
    Document(RecordId),
}

/// The route of `request`, or why there is none (400 or 404).
pub fn route(request: &Request) -> Result<Route, PageError> {
    let path = request
        .decoded_path()
        .ok_or_else(|| PageError::bad_request("the path is not valid UTF-8"))?;
    let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(&path).split('/').collect();
    let text = |name: &str| -> Result<Option<String>, PageError> {
        match request.query(name) {
            Some(v) if v.len() > MAX_QUERY_TEXT => Err(PageError::bad_request(format!(
                "{name} is longer than {MAX_QUERY_TEXT} bytes"
            ))),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => Ok(Some(v.trim().to_owned())),
            None => Ok(None),
        }
    };
    let number = |name: &str| -> Result<u64, PageError> {
        match request.query(name) {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| PageError::bad_request(format!("{name} must be a number"))),
        }
    };
    Ok(match parts.as_slice() {
        [""] => Route::Documents(DocumentsQuery {
            entity: text("entity")?,
            q: text("q")?,
            after: number("after")?,
        }),
        ["documents", id] => Route::Document {
            id: id_of(id, &[RecordKind::Document])?,
            before: number("before")?,
        },
        ["documents", id, "feed.atom"] => {
            Route::Feed(FeedScope::Document(id_of(id, &[RecordKind::Document])?))
        }
        ["records", id] => Route::Record(id_of(
            id,
            &[
                RecordKind::Capture,
                RecordKind::Version,
                RecordKind::Provision,
            ],
        )?),
        ["records", id, file] => {
            let kind = match *file {
                "content" => FileKind::Content,
                "view" => FileKind::View,
                "text" => FileKind::Text,
                "screenshot.png" => FileKind::Screenshot,
                "bundle.tar.zst" => FileKind::Bundle,
                "report.pdf" => FileKind::Report,
                _ => return Err(PageError::not_found("no such file of a record")),
            };
            let kinds: &[RecordKind] = match kind {
                FileKind::Bundle | FileKind::Report => &[
                    RecordKind::Capture,
                    RecordKind::Version,
                    RecordKind::Provision,
                ],
                _ => &[RecordKind::Capture, RecordKind::Version],
            };
            Route::File(id_of(id, kinds)?, kind)
        }
        ["diff"] => {
            let version = |name: &str| -> Result<RecordId, PageError> {
                let v = text(name)?.ok_or_else(|| {
                    PageError::bad_request(format!("{name}= names a version (EX-V-…)"))
                })?;
                id_of(&v, &[RecordKind::Version])
            };
            Route::Diff(DiffQuery {
                from: version("from")?,
                to: version("to")?,
                view: match text("view")?.as_deref() {
                    None | Some("inline") => DiffView::Inline,
                    Some("side") => DiffView::Side,
                    Some(_) => return Err(PageError::bad_request("view= is inline or side")),
                },
                unit: match text("unit")?.as_deref() {
                    None | Some("words") => DiffUnit::Words,
                    Some("lines") => DiffUnit::Lines,
                    Some(_) => return Err(PageError::bad_request("unit= is words or lines")),
                },
            })
        }
        ["feed.atom"] => Route::Feed(match text("entity")? {
            Some(e) => FeedScope::Entity(e),
            None => FeedScope::Archive,
        }),
        ["static", name] => Route::Static(
            crate::assets::find(name).ok_or_else(|| PageError::not_found("no such file"))?,
        ),
        _ => return Err(PageError::not_found("no such page")),
    })
}

/// A record id of one of `kinds`, or a 400 naming what was expected.
fn id_of(s: &str, kinds: &[RecordKind]) -> Result<RecordId, PageError> {
    let expected = || {
        kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let id: RecordId = s.parse().map_err(|_| {
        PageError::bad_request(format!(
            "{:?} is not a record id (expected a {} id such as EX-C-000001)",
            exhibit_core::manifest::shorten(s, 40),
            expected()
        ))
    })?;
    if !kinds.contains(&id.kind()) {
        return Err(PageError::bad_request(format!(
            "{id} is not a {} id",
            expected()
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exhibit_http::Head;

    fn get(target: &str) -> Result<Route, PageError> {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (target, None),
        };
        route(&Request {
            head: Head {
                method: "GET".into(),
                path: path.into(),
                query,
                content_length: None,
                transfer_encoding: false,
                keep_alive: false,
                expect_continue: false,
                headers: Vec::new(),
            },
            body: Vec::new(),
            peer: "test".into(),
        })
    }

    fn status(target: &str) -> u16 {
        match get(target) {
            Ok(_) => 200,
            Err(e) => e.status,
        }
    }

    #[test]
    fn pages_are_found_by_id_and_nothing_else() {
        assert!(matches!(get("/"), Ok(Route::Documents(q)) if q.q.is_none() && q.after == 0));
        assert!(matches!(
            get("/?q=+privacy+&entity=&after=7"),
            Ok(Route::Documents(q)) if q.q.as_deref() == Some("privacy") && q.entity.is_none() && q.after == 7
        ));
        assert!(matches!(
            get("/documents/EX-D-000001?before=9"),
            Ok(Route::Document { before: 9, .. })
        ));
        assert!(matches!(get("/records/EX-V-000002"), Ok(Route::Record(_))));
        assert!(matches!(
            get("/records/EX-C-000002/content"),
            Ok(Route::File(_, FileKind::Content))
        ));
        assert!(matches!(
            get("/diff?from=EX-V-000001&to=EX-V-000002&view=side&unit=lines"),
            Ok(Route::Diff(DiffQuery {
                view: DiffView::Side,
                unit: DiffUnit::Lines,
                ..
            }))
        ));
        assert!(
            matches!(get("/feed.atom?entity=Example%20Corp"), Ok(Route::Feed(FeedScope::Entity(e))) if e == "Example Corp")
        );
        assert!(matches!(
            get("/documents/EX-D-000001/feed.atom"),
            Ok(Route::Feed(FeedScope::Document(_)))
        ));
        assert!(matches!(get("/static/exhibit.css"), Ok(Route::Static(_))));
        for (target, want) in [
            ("/records/EX-D-000001", 400),
            ("/records/nope", 400),
            ("/records/EX-P-000001/content", 400),
            ("/documents/EX-C-000001", 400),
            ("/records/EX-C-000001/../../exhibit.toml", 404),
            ("/records/%2e%2e%2fexhibit.toml", 404),
            ("/static/../exhibit.toml", 404),
            ("/static/exhibit.toml", 404),
            ("/exhibit.toml", 404),
            ("/records/EX-C-000001/other", 404),
            ("/diff?from=EX-V-000001", 400),
            ("/diff?from=EX-V-000001&to=EX-C-000002", 400),
            ("/diff?from=EX-V-000001&to=EX-V-000002&view=x", 400),
            ("/?after=-1", 400),
            ("/%ff", 400),
        ] {
            assert_eq!(status(target), want, "{target}");
        }
        let long = format!("/?q={}", "a".repeat(MAX_QUERY_TEXT + 1));
        assert_eq!(status(&long), 400);
    }
}
