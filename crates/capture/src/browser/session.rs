//! One headless Chromium shared by the captures of a command: started on first use, one tab
//! (in a browser context of its own, behind a proxy of its own) per capture, so `--jobs N`
//! loads N pages at once in one browser.
//!
//! Chromium's parent-death signal (`setpriv --pdeathsig`) fires when the *thread* that started
//! it ends, not the process. A capture worker may finish before the others, so the browser is
//! started by a keeper thread of its own that waits until the session is dropped.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use super::{BrowserSettings, chromium, proxy};
use crate::CaptureError;

/// A running browser and the certificate its proxies present.
pub(crate) struct Session {
    /// Declared first, so dropped (closed) first; then dropping the keeper's sender lets the
    /// keeper thread end.
    pub(crate) chromium: chromium::Chromium,
    pub(crate) identity: Arc<proxy::Identity>,
    _keeper: (mpsc::Sender<()>, JoinHandle<()>),
}

impl Session {
    /// Starts Chromium (found as [`chromium::Chromium::find`] says) on a keeper thread.
    fn start(settings: &BrowserSettings) -> Result<Session, CaptureError> {
        let path = chromium::Chromium::find()?;
        let identity = Arc::new(proxy::Identity::generate()?);
        let options = chromium::BrowserOptions {
            viewport: settings.viewport,
            ..chromium::BrowserOptions::new(identity.spki_sha256_base64())
        };
        let (started_tx, started_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let keeper = std::thread::Builder::new()
            .name("exhibit-chromium".into())
            .spawn(move || {
                let launched = chromium::Chromium::launch(&path, &options);
                let ok = launched.is_ok();
                if started_tx.send(launched).is_ok() && ok {
                    // Until the session is dropped (or its sender is).
                    let _ = stop_rx.recv();
                }
            })
            .map_err(|e| CaptureError::Browser(format!("cannot start a thread: {e}")))?;
        let chromium = started_rx
            .recv()
            .map_err(|_| CaptureError::Browser("the browser's keeper thread died".into()))??;
        Ok(Session {
            chromium,
            identity,
            _keeper: (stop_tx, keeper),
        })
    }
}

/// The browser of one command: its settings, and the session started by the first capture that
/// needs it (a failure to start is kept and reported to every capture that asks).
pub(crate) struct SharedBrowser {
    pub(crate) settings: BrowserSettings,
    session: OnceLock<Result<Session, String>>,
}

impl SharedBrowser {
    /// A browser with `settings`, not started yet.
    pub(crate) fn new(settings: BrowserSettings) -> SharedBrowser {
        SharedBrowser {
            settings,
            session: OnceLock::new(),
        }
    }

    /// The running session, starting it on first use.
    pub(crate) fn session(&self) -> Result<&Session, CaptureError> {
        match self
            .session
            .get_or_init(|| Session::start(&self.settings).map_err(|e| e.to_string()))
        {
            Ok(s) => Ok(s),
            Err(e) => Err(CaptureError::Browser(e.clone())),
        }
    }
}
