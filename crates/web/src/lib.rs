//! `exhibit serve`: an archive as read-only web pages and Atom feeds, for the people who read
//! captured policies rather than terminals.
//!
//! - [`Site`] is an [`exhibit_http::Handler`]: each request opens the archive afresh (a
//!   short-lived read of the catalog, so captures committed by other processes show at once and
//!   `reindex` is never blocked for long), routes ([`route`]) and renders one page.
//! - Pages: the documents list with entity filter and search ([`documents`]), a document's
//!   timeline with its provisions ([`timeline`]), a record with its evidence panel
//!   ([`record`]), a diff of two versions ([`diff`]), feeds of changes ([`feed`]), the
//!   captured files themselves ([`files`]).
//! - Every check on a record page is made when the page is served, from the signed manifest
//!   and the stored bytes, exactly as `exhibit verify` makes it (`exhibit_ops::audit`): nothing
//!   is cached, and the catalog only finds records.
//! - Captured content is hostile: strings from captures reach pages only through maud's
//!   escaping; captured bytes are served only as downloads or, for the sandboxed frame, with
//!   `Content-Security-Policy: sandbox` (no scripts, an opaque origin, nothing fetched); exhibit's
//!   own pages carry a strict CSP ([`page::PAGE_CSP`]); no path reaches a file by name.

use std::path::{Path, PathBuf};

use exhibit_http::{Handler, Head, Request, Response};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, StoreError};

mod assets;
pub mod diff;
pub mod documents;
pub mod feed;
pub mod files;
mod format;
pub mod page;
pub mod record;
pub mod route;
pub mod timeline;

pub use route::Route;

/// Why a page could not be served: an HTTP status and one line for the reader.
#[derive(Debug)]
pub struct PageError {
    /// The status.
    pub status: u16,
    /// What is wrong, in one line.
    pub message: String,
}

impl PageError {
    /// A `400 Bad Request`.
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError {
            status: 400,
            message: message.into(),
        }
    }

    /// A `404 Not Found`.
    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: 404,
            message: message.into(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound(_) => 404,
            StoreError::BadQuery(_) | StoreError::Ambiguous { .. } => 400,
            _ => 500,
        };
        PageError {
            status,
            message: exhibit_core::inert(&e.to_string()).into_owned(),
        }
    }
}

impl From<exhibit_ops::OpsError> for PageError {
    fn from(e: exhibit_ops::OpsError) -> Self {
        match e {
            exhibit_ops::OpsError::Store(e) => e.into(),
            e => PageError {
                status: if e.is_bad_input() { 400 } else { 500 },
                message: exhibit_core::inert(&e.to_string()).into_owned(),
            },
        }
    }
}

/// What a page is rendered from: the archive as opened for this request, its key history and
/// its name.
pub struct Ctx {
    /// The archive.
    pub archive: Archive,
    /// Its keys (for every signature check).
    pub keys: KeyHistory,
    /// Its name (`origin`).
    pub origin: String,
}

impl Ctx {
    /// A message for a page: inert, and with the archive's own path left out (file names are
    /// shown relative to the archive; the server's directories are nobody's business).
    pub fn message(&self, text: &str) -> String {
        let root = format!("{}/", self.archive.root().display());
        exhibit_core::inert(&text.replace(&root, "")).into_owned()
    }

    /// Opens the archive at `root` for one request.
    pub fn open(root: &Path) -> Result<Ctx, PageError> {
        let archive = Archive::open(root)?;
        let keys = archive.keys()?;
        let origin = archive.config().origin.clone();
        Ok(Ctx {
            archive,
            keys,
            origin,
        })
    }
}

/// The web interface of one archive.
pub struct Site {
    root: PathBuf,
}

impl Site {
    /// The site of the archive at `root` (opened once here, so that a wrong path fails now).
    pub fn new(root: &Path) -> Result<Site, StoreError> {
        Archive::open(root)?;
        Ok(Site {
            root: root.to_path_buf(),
        })
    }

    fn answer(&self, request: &Request) -> Result<Response, PageError> {
        let route = route::route(request)?;
        if let Route::Static(asset) = route {
            return Ok(assets::response(asset));
        }
        let ctx = Ctx::open(&self.root)?;
        match route {
            Route::Documents(query) => documents::page(&ctx, &query),
            Route::Document { id, before } => timeline::page(&ctx, &id, before),
            Route::Record(id) => record::page(&ctx, &id),
            Route::File(id, kind) => files::response(&ctx, &id, kind),
            Route::Diff(query) => diff::page(&ctx, &query),
            Route::Feed(scope) => feed::response(&ctx, &scope, &base_url(request)),
            Route::Static(asset) => Ok(assets::response(asset)),
        }
    }
}

/// The site's address as the client named it (`http://` and its `Host`), for the absolute
/// links a feed needs; a `Host` that is not a plain host and port is not echoed.
fn base_url(request: &Request) -> String {
    let host = request.head.header("host").unwrap_or("");
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if plain {
        format!("http://{host}")
    } else {
        "http://localhost".to_owned()
    }
}

impl Handler for Site {
    fn accept(&self, head: &Head) -> Result<usize, Response> {
        if head.method != "GET" && head.method != "HEAD" {
            return Err(Response::text(
                405,
                "only GET and HEAD are allowed: the archive is served read-only",
            )
            .with_header("Allow", "GET, HEAD"));
        }
        if head.transfer_encoding || head.content_length.is_some_and(|n| n > 0) {
            return Err(Response::text(400, "a GET request has no body"));
        }
        Ok(0)
    }

    fn handle(&self, request: &Request) -> Response {
        match self.answer(request) {
            Ok(r) => r,
            Err(e) => page::error(e.status, &e.message),
        }
    }
}
