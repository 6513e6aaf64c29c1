//! Browser captures: headless Chromium, driven over the DevTools protocol, loading a page
//! through exhibit's own intercepting proxy, so that every response the page used and every
//! upstream TLS handshake are exhibit's record (FORMAT §3.11).

mod cdp;
mod chromium;
mod proxy;
mod record;
mod session;

pub(crate) use record::capture;
pub(crate) use session::SharedBrowser;

/// The Chromium a browser capture would run (`EXHIBIT_CHROMIUM`, else `chromium` and its usual
/// names on `PATH`), so that a command can refuse `--browser` before capturing anything.
pub fn find_browser() -> Result<std::path::PathBuf, crate::CaptureError> {
    chromium::Chromium::find()
}

use std::time::Duration;

use exhibit_core::browser::BrowserRecord;

use crate::acquire::Acquired;

/// How a browser capture runs (`capture --browser`).
#[derive(Debug, Clone)]
pub struct BrowserSettings {
    /// Also wait until an element matches this CSS selector (Open Terms Archive's model).
    pub wait_for: Option<String>,
    /// The viewport, in CSS pixels.
    pub viewport: (u32, u32),
    /// Network quiet time that counts as "settled".
    pub idle: Duration,
    /// The most bytes of one response; larger ones are refused (502) and recorded.
    pub max_response_bytes: u64,
    /// The most bytes of all responses of one page together.
    pub max_page_bytes: u64,
    /// The largest rendered DOM kept.
    pub max_dom_bytes: usize,
    /// The tallest full-page screenshot, in CSS pixels.
    pub max_screenshot_height: u32,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        BrowserSettings {
            wait_for: None,
            viewport: chromium::DEFAULT_VIEWPORT,
            idle: chromium::DEFAULT_IDLE,
            max_response_bytes: 64 << 20,
            max_page_bytes: 256 << 20,
            max_dom_bytes: 32 << 20,
            max_screenshot_height: chromium::DEFAULT_MAX_SCREENSHOT_HEIGHT,
        }
    }
}

/// A browser capture's acquisition: what a plain capture acquires (with the main document's
/// bytes as the content), the browser record, and the rendered DOM that text is extracted from.
pub(crate) struct BrowserAcquired {
    pub(crate) acquired: Acquired,
    pub(crate) record: BrowserRecord,
    pub(crate) dom: Vec<u8>,
}
