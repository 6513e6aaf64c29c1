//! The site's own files: its stylesheet and the copy button's script, compiled in.

use exhibit_http::Response;

/// A file served under `/static/`.
#[derive(Debug)]
pub struct Asset {
    /// Its name.
    pub name: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// Every asset.
const ASSETS: &[Asset] = &[
    Asset {
        name: "exhibit.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("assets/exhibit.css"),
    },
    Asset {
        name: "copy.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/copy.js"),
    },
];

/// The asset called `name`.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// An asset's response.
pub fn response(asset: &Asset) -> Response {
    Response::new(200, asset.content_type, asset.bytes)
        .with_header("X-Content-Type-Options", "nosniff")
}
