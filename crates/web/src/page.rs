//! The frame of every page — head, navigation, footer — and the headers every answer of the
//! site carries: the one home of the site's Content-Security-Policies.

use exhibit_http::Response;
use maud::{DOCTYPE, Markup, html};

/// exhibit's own pages: nothing but the site's stylesheet, script, images and frames; no
/// inline script or style, no plug-ins, no forms posting elsewhere, never framed.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
    img-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// Captured bytes (downloads, texts, screenshots): a sandbox of their own, scripts off.
pub const FILE_CSP: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// A captured page in the record page's frame: sandboxed (no scripts, an opaque origin, no
/// navigation of the page around it), fetching nothing, framed only by the site itself.
pub const CAPTURE_CSP: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; \
    img-src data:; frame-ancestors 'self'";

/// The media type of exhibit's pages.
const HTML: &str = "text/html; charset=utf-8";

/// The headers of one of exhibit's own pages.
pub fn own(response: Response) -> Response {
    response
        .with_header("Content-Security-Policy", PAGE_CSP)
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("X-Frame-Options", "DENY")
}

/// A page: `title` (for the tab and the heading) and its body, in the site's frame.
pub fn page(origin: &str, title: &str, body: Markup) -> Response {
    page_with_status(200, origin, title, body, None)
}

/// A page with a feed link in its head.
pub fn page_with_feed(origin: &str, title: &str, body: Markup, feed: &str) -> Response {
    page_with_status(200, origin, title, body, Some(feed))
}

fn page_with_status(
    status: u16,
    origin: &str,
    title: &str,
    body: Markup,
    feed: Option<&str>,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — " (origin) }
                link rel="stylesheet" href="/static/exhibit.css";
                @if let Some(feed) = feed {
                    link rel="alternate" type="application/atom+xml" title="Changes" href=(feed);
                }
                script src="/static/copy.js" defer {}
            }
            body {
                header.site {
                    a.brand href="/" { "exhibit" }
                    span.origin { (origin) }
                    nav {
                        a href="/" { "Documents" }
                        a href="/feed.atom" { "Changes (Atom)" }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
                footer.site {
                    "Served read-only by exhibit " (env!("CARGO_PKG_VERSION")) ". "
                    "Every check on these pages is made from the signed records and the stored "
                    "bytes when the page is served; times are as claimed by the signer unless a "
                    "timestamp says more. Verify independently with "
                    code { "exhibit verify" } " or a bundle and " code { "exhibit-verify" } "."
                }
            }
        }
    };
    own(Response::new(status, HTML, markup.into_string()))
}

/// An error page: the status and one line.
pub fn error(status: u16, message: &str) -> Response {
    let title = match status {
        400 => "Bad request",
        404 => "Not found",
        _ => "Error",
    };
    page_with_status(
        status,
        "exhibit",
        title,
        html! { p.error { (message) } p { a href="/" { "All documents" } } },
        None,
    )
    .with_summary(message.to_owned())
}
