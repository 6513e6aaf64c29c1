//! What a browser capture recorded (FORMAT §3.11): the environment, how long it waited and for
//! what, every response the page load used (each with its body and its connection), and the
//! rendered DOM, a full-page screenshot and a PDF print, all stored as objects.
//!
//! A browser capture is an `exhibit.capture/v2` manifest with `method` `browser`; its `http`
//! describes the main document's requests (as for a plain capture), its `content` is the main
//! document's bytes as received, and its `text` is extracted from the rendered DOM.

use serde::{Deserialize, Serialize};

use crate::connection::{Connection, ObjectRef};

/// The most responses one browser capture records; a page that makes more has the rest refused
/// by the proxy and counted in [`BrowserRecord::resources_omitted`].
pub const MAX_RESOURCES: usize = 500;

/// A viewport size in CSS pixels.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Viewport {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One response the page load used, as exhibit's proxy received it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The URL requested (without credentials).
    pub url: String,
    /// The request method.
    pub method: String,
    /// The response status; null when none arrived.
    pub status: Option<u16>,
    /// The response headers that `manifest::is_resource_header` names, as present.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body after undoing `Content-Encoding` (an object); null when none was kept.
    pub body: Option<ObjectRef>,
    /// The media type essence of the `Content-Type`, lower case; null when absent.
    pub media_type: Option<String>,
    /// The connection that carried it; null when none was made.
    pub connection: Option<Connection>,
    /// Why it failed or was refused; null when it was served.
    pub error: Option<String>,
}

/// The browser part of a browser capture.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct BrowserRecord {
    /// The exhibit that drove the browser and ran the proxy (`exhibit/0.1.0`).
    pub recorder: String,
    /// The browser's product string (`Chrome/156.0.8078.129`).
    pub product: String,
    /// The user agent it sent.
    pub user_agent: String,
    /// Its command line as it ran (the profile directory's path included).
    pub flags: Vec<String>,
    /// Whether Chromium's sandbox was on (it is off when running as root).
    pub sandboxed: bool,
    /// The viewport.
    pub viewport: Viewport,
    /// What the capture waited for, in order (`load`, `network idle 500 ms`, `selector …`).
    pub waited_for: Vec<String>,
    /// Milliseconds from navigation to the end of waiting.
    pub wait_ms: u64,
    /// Which wait ran out of time, if one did (the capture goes on: a timeout is a fact).
    pub timed_out: Option<String>,
    /// Dialogs dismissed, downloads refused, pop-ups closed, requests the browser reported
    /// failed, in order.
    pub events: Vec<String>,
    /// The rendered DOM, serialised (`text/html`, UTF-8).
    pub dom: ObjectRef,
    /// The full-page screenshot (`image/png`); null if it could not be taken.
    pub screenshot: Option<ObjectRef>,
    /// The PDF print (`application/pdf`); null if it could not be made.
    pub pdf: Option<ObjectRef>,
    /// Every response the page load used, in the order requested.
    pub resources: Vec<Resource>,
    /// Responses left out of `resources` (over [`MAX_RESOURCES`], or to keep the manifest under
    /// its size limit).
    pub resources_omitted: u64,
}

impl BrowserRecord {
    /// Checks the record's own rules (FORMAT §3.11).
    pub(crate) fn check(&self) -> Result<(), String> {
        let bad = |s: String| Err(s);
        if self.resources.len() > MAX_RESOURCES {
            return bad(format!(
                "{} browser resources, more than {MAX_RESOURCES}",
                self.resources.len()
            ));
        }
        for (i, r) in self.resources.iter().enumerate() {
            if let Some(c) = &r.connection {
                if c.url != r.url {
                    return bad(format!(
                        "browser resource {i} is {:?} but its connection is for {:?}",
                        r.url, c.url
                    ));
                }
                crate::connection::check_connection(&format!("browser resource {i}"), c, false)?;
            }
            if r.error.is_none() && r.status.is_none() {
                return bad(format!(
                    "browser resource {i} has neither a status nor an error"
                ));
            }
        }
        Ok(())
    }
}
