//! A tab of [`super::Chromium`]: loading a page and waiting until it settles (load, network
//! idle, a selector) within a budget; dismissing what a page throws up meanwhile; reading back
//! the rendered DOM, a full-page screenshot and a PDF print.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

/// How to load a page and when it counts as loaded.
pub(crate) struct PageOptions<'a> {
    /// The whole load budget: navigation, load event, network idle and selector.
    pub(crate) timeout: Duration,
    /// The network quiet time ([`DEFAULT_IDLE`] by default).
    pub(crate) idle: Duration,
    /// A CSS selector to wait for after network idle.
    pub(crate) wait_for: Option<String>,
    /// The proxy's count of requests in flight, for network idle.
    pub(crate) in_flight: &'a dyn Fn() -> usize,
}

/// What happened while a page loaded.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageLoad {
    /// The URL the tab shows at the end (after redirects and script navigations).
    pub(crate) final_url: String,
    /// What the load waited for, in order: `load`, `network idle 500 ms`, `selector #x`.
    pub(crate) waited: Vec<String>,
    /// How long the load took.
    pub(crate) elapsed_ms: u64,
    /// The wait that ran out of time, if one did (not an error: the page is captured as it
    /// is).
    pub(crate) timed_out: Option<String>,
    /// Notable events: dialogs dismissed, downloads denied, popups closed, navigations, page
    /// errors (at most 100, each at most 1 KiB).
    pub(crate) events: Vec<String>,
    /// Requests that failed (`Network.loadingFailed`): URL and error text (at most 1,000).
    pub(crate) failed_requests: Vec<(String, String)>,
}

/// A tab (a flattened DevTools session), closed on drop.
pub(crate) struct Tab<'a> {
    pub(super) browser: &'a Chromium,
    /// The tab's own browser context, disposed with it.
    pub(super) context_id: String,
    pub(super) target_id: String,
    pub(super) session_id: String,
    pub(super) events: Mutex<Receiver<Event>>,
    pub(super) browser_events: Mutex<Receiver<Event>>,
    pub(super) main_frame: Mutex<Option<String>>,
    /// Whether [`Tab::unstick`] turned the page's scripts off (back on at the next load).
    pub(super) scripts_off: AtomicBool,
}

/// Why an evaluation failed.
enum EvalError {
    Cdp(CdpError),
    /// The expression threw.
    Threw(String),
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Cdp(e) => e.fmt(f),
            EvalError::Threw(message) => write!(f, "script error: {message}"),
        }
    }
}

impl From<CdpError> for EvalError {
    fn from(e: CdpError) -> Self {
        EvalError::Cdp(e)
    }
}

/// The text of a `Runtime` call's `exceptionDetails`.
fn exception_text(details: &Value) -> String {
    let text = details["exception"]["description"]
        .as_str()
        .or_else(|| details["text"].as_str())
        .unwrap_or("exception");
    text.lines().next().unwrap_or("").to_owned()
}

/// What [`Tab::load`] keeps track of while it waits.
struct Watch {
    target_id: String,
    session_id: String,
    load_fired: bool,
    quiet_since: Instant,
    frames: HashSet<String>,
    requests: HashMap<String, String>,
    events: Vec<String>,
    more_events: usize,
    failed: Vec<(String, String)>,
    fatal: Option<String>,
}

impl Watch {
    fn note(&mut self, text: String) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(truncate(text, MAX_EVENT_BYTES));
        } else {
            self.more_events += 1;
        }
    }

    fn fail(&mut self, url: String, error: String) {
        if self.failed.len() < MAX_FAILED {
            self.failed.push((
                truncate(url, MAX_FAILED_BYTES),
                truncate(error, MAX_FAILED_BYTES),
            ));
        }
    }

    /// Takes in an event of the tab's session.
    fn session_event(&mut self, event: Event) {
        let p = &event.params;
        match event.method.as_str() {
            "Page.loadEventFired" => self.load_fired = true,
            "Page.frameNavigated" => {
                let frame = &p["frame"];
                if let Some(id) = frame["id"].as_str() {
                    self.frames.insert(id.to_owned());
                }
                if frame["parentId"].is_null() {
                    // A new document in the main frame: its own load event is still to come.
                    self.load_fired = false;
                    let url = frame["url"].as_str().unwrap_or("");
                    self.note(format!("navigated to {url}"));
                }
            }
            "Page.frameAttached" => {
                if let Some(id) = p["frameId"].as_str() {
                    self.frames.insert(id.to_owned());
                }
            }
            "Page.javascriptDialogOpening" => {
                let kind = p["type"].as_str().unwrap_or("dialog");
                let message = p["message"].as_str().unwrap_or("");
                self.note(format!("{kind} dialog dismissed: {message}"));
            }
            "Network.requestWillBeSent" => {
                self.quiet_since = Instant::now();
                if let (Some(id), Some(url)) =
                    (p["requestId"].as_str(), p["request"]["url"].as_str())
                    && self.requests.len() < 10_000
                {
                    self.requests
                        .insert(id.to_owned(), truncate(url.to_owned(), MAX_FAILED_BYTES));
                }
            }
            "Network.loadingFailed" => {
                let url = p["requestId"]
                    .as_str()
                    .and_then(|id| self.requests.get(id))
                    .cloned()
                    .unwrap_or_else(|| "(unknown URL)".to_owned());
                let mut error = p["errorText"].as_str().unwrap_or("failed").to_owned();
                if let Some(reason) = p["blockedReason"].as_str() {
                    error.push_str(&format!(" (blocked: {reason})"));
                }
                if p["canceled"] == true {
                    error.push_str(" (canceled)");
                }
                self.fail(url, error);
            }
            "Runtime.exceptionThrown" => {
                let text = exception_text(&p["exceptionDetails"]);
                self.note(format!("page error: {text}"));
            }
            "Inspector.targetCrashed" => {
                self.fatal = Some("the page crashed its renderer".to_owned());
            }
            _ => {}
        }
    }

    /// Takes in a browser-level event.
    fn browser_event(&mut self, event: Event) {
        let p = &event.params;
        let ours = |id: &Value, own: &str| id.as_str() == Some(own);
        match event.method.as_str() {
            "Target.targetCreated" if ours(&p["targetInfo"]["openerId"], &self.target_id) => {
                let url = p["targetInfo"]["url"].as_str().unwrap_or("");
                self.note(format!("popup closed: {url}"));
            }
            "Browser.downloadWillBegin"
                if p["frameId"]
                    .as_str()
                    .is_some_and(|f| f == self.target_id || self.frames.contains(f)) =>
            {
                let url = p["url"].as_str().unwrap_or("");
                self.note(format!("download denied: {url}"));
            }
            "Target.detachedFromTarget" if ours(&p["sessionId"], &self.session_id) => {
                self.fatal = Some("the page closed its tab".to_owned());
            }
            _ => {}
        }
    }
}

impl Tab<'_> {
    pub(super) fn call(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        self.browser
            .connection
            .call(Some(&self.session_id), method, params, timeout)
    }

    /// Sets the viewport to the browser's width and `height`.
    pub(super) fn set_viewport(&self, height: u32) -> Result<Value, CdpError> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": self.browser.viewport.0,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": false,
            }),
            CALL_TIMEOUT,
        )
    }

    /// Receives events for at most `wait` and hands them to `watch`.
    fn pump(&self, watch: &mut Watch, wait: Duration) {
        let events = lock(&self.events);
        match events.recv_timeout(wait) {
            Ok(event) => watch.session_event(event),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if watch.fatal.is_none() {
                    watch.fatal = Some(
                        self.browser
                            .connection
                            .closed()
                            .unwrap_or_else(|| "the tab's session ended".to_owned()),
                    );
                }
                thread::sleep(wait);
            }
        }
        while let Ok(event) = events.try_recv() {
            watch.session_event(event);
        }
        drop(events);
        let browser_events = lock(&self.browser_events);
        while let Ok(event) = browser_events.try_recv() {
            watch.browser_event(event);
        }
    }

    /// Throws away queued events.
    fn drain(&self) {
        while lock(&self.events).try_recv().is_ok() {}
        while lock(&self.browser_events).try_recv().is_ok() {}
    }

    /// The id of the tab's main frame.
    pub(super) fn main_frame(&self, timeout: Duration) -> Result<String, CdpError> {
        if let Some(id) = lock(&self.main_frame).as_ref() {
            return Ok(id.clone());
        }
        let tree = self.call("Page.getFrameTree", json!({}), timeout)?;
        let id = tree["frameTree"]["frame"]["id"]
            .as_str()
            .unwrap_or(&self.target_id)
            .to_owned();
        *lock(&self.main_frame) = Some(id.clone());
        Ok(id)
    }

    /// Evaluates `expression` in exhibit's isolated world of the main frame (same DOM as the
    /// page, but its own JavaScript globals) and returns the result's `RemoteObject`.
    fn evaluate(
        &self,
        expression: &str,
        by_value: bool,
        timeout: Duration,
    ) -> Result<Value, EvalError> {
        let world = self.call(
            "Page.createIsolatedWorld",
            json!({ "frameId": self.main_frame(timeout)?, "worldName": WORLD }),
            timeout,
        )?;
        let context = world["executionContextId"].clone();
        let mut result = self.call(
            "Runtime.evaluate",
            json!({
                "expression": expression,
                "contextId": context,
                "returnByValue": by_value,
                "objectGroup": WORLD,
            }),
            timeout,
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            return Err(EvalError::Threw(exception_text(details)));
        }
        Ok(result["result"].take())
    }

    /// Evaluates `expression` and returns its value.
    fn evaluate_value(&self, expression: &str, timeout: Duration) -> Result<Value, EvalError> {
        Ok(self.evaluate(expression, true, timeout)?["value"].take())
    }

    /// Makes sure the page can be captured: if its main thread does not answer within a
    /// second (a script in an endless loop), turns its scripts off and stops the running one.
    /// Returns what it did, if anything.
    fn unstick(&self) -> Option<String> {
        let probe = self.call(
            "Runtime.evaluate",
            json!({ "expression": "0", "returnByValue": true }),
            UNSTICK_PROBE,
        );
        if !matches!(probe, Err(CdpError::Timeout { .. })) {
            return None;
        }
        // Turning scripts off first keeps a timer from starting the loop again.
        self.scripts_off.store(true, Ordering::SeqCst);
        let _ = self.call(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": true }),
            UNSTICK_PROBE,
        );
        let _ = self.call("Runtime.terminateExecution", json!({}), UNSTICK_PROBE);
        Some(format!(
            "page scripts stopped: a script kept the page busy for over {} ms",
            UNSTICK_PROBE.as_millis()
        ))
    }

    /// The URL the tab shows.
    fn current_url(&self) -> Option<String> {
        if let Ok(Value::String(url)) = self.evaluate_value("location.href", Duration::from_secs(2))
        {
            return Some(url);
        }
        let info = self
            .browser
            .connection
            .call(
                None,
                "Target.getTargetInfo",
                json!({ "targetId": self.target_id }),
                Duration::from_secs(1),
            )
            .ok()?;
        info["targetInfo"]["url"].as_str().map(str::to_owned)
    }

    /// Loads `url` and waits for the navigation, the load event, then network idle
    /// (`opts.in_flight()` is 0 and the page started no request for `opts.idle`; a new
    /// document in the main frame waits for its own load event), then for `opts.wait_for` if
    /// given — all within `opts.timeout`. Running out of time is recorded in
    /// [`PageLoad::timed_out`] (and loading is stopped), not an error, and so is a navigation
    /// that fails (in `events` and `failed_requests`): the page is captured as it is. A page
    /// whose scripts keep its main thread busy has them stopped (recorded in `events`). Errors: an invalid URL or
    /// selector ([`CaptureError::BadSource`]), a browser that stops answering, a renderer that
    /// crashes.
    pub(crate) fn load(&self, url: &str, opts: &PageOptions<'_>) -> Result<PageLoad, CaptureError> {
        let started = Instant::now();
        let deadline = started + opts.timeout;
        let remaining = || deadline.saturating_duration_since(Instant::now());
        let step = |limit: Duration| remaining().min(limit);
        if self.scripts_off.swap(false, Ordering::SeqCst) {
            // The page whose script looped is still the tab's: leave it while its scripts are
            // still off, or its timers start the loop again once they are back on.
            self.call(
                "Page.navigate",
                json!({ "url": "about:blank" }),
                CALL_TIMEOUT,
            )
            .map_err(|e| browser_error("leaving the page whose scripts were stopped", e))?;
            self.call(
                "Emulation.setScriptExecutionDisabled",
                json!({ "value": false }),
                CALL_TIMEOUT,
            )
            .map_err(|e| browser_error("turning scripts back on", e))?;
        }
        self.drain();
        for domain in ["Page.enable", "Network.enable", "Runtime.enable"] {
            self.call(domain, json!({}), CALL_TIMEOUT)
                .map_err(|e| browser_error(domain, e))?;
        }
        if let Some(selector) = &opts.wait_for {
            let check = format!(
                "document.querySelector({}), true",
                Value::from(selector.as_str())
            );
            match self.evaluate_value(&check, CALL_TIMEOUT) {
                Ok(_) => {}
                Err(EvalError::Threw(_)) => {
                    return Err(CaptureError::BadSource(format!(
                        "{selector:?}: not a valid CSS selector"
                    )));
                }
                Err(EvalError::Cdp(e)) => return Err(browser_error("checking the selector", e)),
            }
        }

        let mut watch = Watch {
            target_id: self.target_id.clone(),
            session_id: self.session_id.clone(),
            load_fired: false,
            quiet_since: Instant::now(),
            frames: HashSet::new(),
            requests: HashMap::new(),
            events: Vec::new(),
            more_events: 0,
            failed: Vec::new(),
            fatal: None,
        };
        let mut load = PageLoad::default();
        let poll = Duration::from_millis(50);
        let idle_label = format!("network idle {} ms", opts.idle.as_millis());

        let mut download = false;
        load.waited.push("navigation".to_owned());
        match self.call("Page.navigate", json!({ "url": url }), remaining()) {
            Ok(navigated) => {
                if let Some(frame) = navigated["frameId"].as_str() {
                    watch.frames.insert(frame.to_owned());
                }
                let error = navigated["errorText"].as_str().unwrap_or("");
                // (The failed request itself is in Network.loadingFailed, and a denied
                // download in Browser.downloadWillBegin: noted once, from there.)
                download = navigated["isDownload"] == true;
                if !error.is_empty() {
                    watch.note(format!("navigation failed: {error}"));
                }
                // No loader: a same-document navigation, which has no load event; an error:
                // no new document either.
                if navigated["loaderId"].as_str().is_none_or(str::is_empty) || !error.is_empty() {
                    watch.load_fired = true;
                }
            }
            Err(CdpError::Timeout { .. }) => load.timed_out = Some("navigation".to_owned()),
            Err(CdpError::Protocol { message, .. }) => {
                return Err(CaptureError::BadSource(format!("{url}: {message}")));
            }
            Err(e) => return Err(browser_error("navigating", e)),
        }

        if load.timed_out.is_none() {
            load.waited.push("load".to_owned());
            let mut idle_noted = false;
            loop {
                self.pump(&mut watch, step(poll));
                if let Some(fatal) = watch.fatal.take() {
                    return Err(browser_error("loading the page", fatal));
                }
                let now = Instant::now();
                if (opts.in_flight)() > 0 {
                    watch.quiet_since = now;
                }
                if watch.load_fired && !idle_noted {
                    load.waited.push(idle_label.clone());
                    idle_noted = true;
                }
                if watch.load_fired && now.duration_since(watch.quiet_since) >= opts.idle {
                    break;
                }
                if now >= deadline {
                    load.timed_out = Some(if watch.load_fired {
                        idle_label.clone()
                    } else {
                        "load".to_owned()
                    });
                    break;
                }
            }
        }

        if let (Some(selector), None) = (&opts.wait_for, &load.timed_out) {
            let label = format!("selector {selector}");
            load.waited.push(label.clone());
            let check = format!(
                "document.querySelector({}) !== null",
                Value::from(selector.as_str())
            );
            loop {
                if let Ok(Value::Bool(true)) =
                    self.evaluate_value(&check, step(Duration::from_secs(5)))
                {
                    break;
                }
                if Instant::now() >= deadline {
                    load.timed_out = Some(label);
                    break;
                }
                self.pump(&mut watch, step(Duration::from_millis(100)));
                if let Some(fatal) = watch.fatal.take() {
                    return Err(browser_error("loading the page", fatal));
                }
            }
        }

        if load.timed_out.is_some() {
            // Out of time: what has not arrived yet will not be part of the capture (like
            // pressing Escape; scripts keep running).
            self.browser
                .connection
                .notify(Some(&self.session_id), "Page.stopLoading", json!({}));
        }
        // What arrived meanwhile (a last dialog, a failed request).
        self.pump(&mut watch, Duration::ZERO);
        if download
            && !watch
                .events
                .iter()
                .any(|e| e.starts_with("download denied"))
        {
            watch.note(format!("download denied: {url}"));
        }
        if let Some(stopped) = self.unstick() {
            watch.note(stopped);
        }
        load.final_url = self.current_url().unwrap_or_else(|| url.to_owned());
        // Quiet the tab: the page may go on fetching and logging while it is captured.
        for domain in ["Network.disable", "Runtime.disable"] {
            self.browser
                .connection
                .notify(Some(&self.session_id), domain, json!({}));
        }
        if watch.more_events > 0 {
            watch.events.pop();
            let more = watch.more_events + 1;
            watch
                .events
                .push(format!("({more} more events not recorded)"));
        }
        load.events = watch.events;
        load.failed_requests = watch.failed;
        load.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(load)
    }

    /// The rendered DOM: `document.documentElement.outerHTML`, after the `<!DOCTYPE …>` line
    /// if the document has one, as UTF-8 (lone surrogates replaced). An error, without
    /// fetching it, if it is larger than `max` bytes.
    pub(crate) fn dom(&self, max: usize) -> Result<Vec<u8>, CaptureError> {
        self.drain();
        self.unstick();
        let holder = self
            .evaluate(
                "(() => { \
                   const d = document.doctype \
                     ? new XMLSerializer().serializeToString(document.doctype) + '\\n' : ''; \
                   const e = document.documentElement; \
                   return { s: (d + (e ? e.outerHTML : '')).toWellFormed() }; \
                 })()",
                false,
                CALL_TIMEOUT,
            )
            .map_err(|e| browser_error("reading the DOM", e))?;
        let object = holder["objectId"]
            .as_str()
            .ok_or_else(|| browser_error("reading the DOM", "no object"))?
            .to_owned();
        let result = self.read_string(&object, max);
        self.browser.connection.notify(
            Some(&self.session_id),
            "Runtime.releaseObjectGroup",
            json!({ "objectGroup": WORLD }),
        );
        result
    }

    /// Reads the string `s` of the object `object` in chunks.
    fn read_string(&self, object: &str, max: usize) -> Result<Vec<u8>, CaptureError> {
        let call = |function: &str, arguments: Value| {
            let mut result = self.call(
                "Runtime.callFunctionOn",
                json!({
                    "objectId": object,
                    "functionDeclaration": function,
                    "arguments": arguments,
                    "returnByValue": true,
                }),
                CALL_TIMEOUT,
            )?;
            if let Some(details) = result.get("exceptionDetails") {
                return Err(EvalError::Threw(exception_text(details)));
            }
            Ok(result["result"]["value"].take())
        };
        let length = call("function() { return this.s.length; }", json!([]))
            .map_err(|e| browser_error("reading the DOM", e))?
            .as_u64()
            .ok_or_else(|| browser_error("reading the DOM", "no length"))?;
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        // Every UTF-16 code unit is at least one byte of UTF-8.
        let too_large = || CaptureError::TooLarge {
            source_name: "the rendered DOM".to_owned(),
            limit: u64::try_from(max).unwrap_or(u64::MAX),
        };
        if length > max {
            return Err(too_large());
        }
        let mut dom = Vec::with_capacity(length.min(max));
        let mut at = 0usize;
        while at < length {
            // A chunk never ends between the two halves of a surrogate pair.
            let chunk = call(
                "function(a, n) { \
                   let b = Math.min(a + n, this.s.length); \
                   if (b < this.s.length) { \
                     const c = this.s.charCodeAt(b - 1); \
                     if (c >= 0xD800 && c <= 0xDBFF) b--; \
                   } \
                   return [b, this.s.slice(a, b)]; \
                 }",
                json!([{ "value": at }, { "value": DOM_CHUNK }]),
            )
            .map_err(|e| browser_error("reading the DOM", e))?;
            let (Some(end), Some(text)) = (chunk[0].as_u64(), chunk[1].as_str()) else {
                return Err(browser_error("reading the DOM", "malformed chunk"));
            };
            let end = usize::try_from(end).unwrap_or(usize::MAX);
            if end <= at {
                return Err(browser_error("reading the DOM", "no progress"));
            }
            dom.extend_from_slice(text.as_bytes());
            if dom.len() > max {
                return Err(too_large());
            }
            at = end;
        }
        Ok(dom)
    }

    /// A full-page PNG screenshot: the viewport's width and the page's height (at least the
    /// viewport's, at most `max_height` pixels).
    pub(crate) fn screenshot(&self, max_height: u32) -> Result<Vec<u8>, CaptureError> {
        self.drain();
        self.unstick();
        let metrics = self
            .call("Page.getLayoutMetrics", json!({}), CALL_TIMEOUT)
            .map_err(|e| browser_error("measuring the page", e))?;
        let content = if metrics["cssContentSize"].is_object() {
            &metrics["cssContentSize"]
        } else {
            &metrics["contentSize"]
        };
        let content_height = content["height"].as_f64().unwrap_or(0.0).ceil();
        let viewport_height = self.browser.viewport.1;
        let height = if content_height > f64::from(viewport_height) {
            // Saturating float-to-int: a huge or NaN height becomes u32::MAX or 0.
            (content_height as u32).max(viewport_height)
        } else {
            viewport_height
        }
        .min(max_height.max(1));
        let shot = self.set_viewport(height).and_then(|_| {
            self.call(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": self.browser.viewport.0,
                        "height": height,
                        "scale": 1,
                    },
                }),
                RENDER_TIMEOUT,
            )
        });
        let restored = self.set_viewport(viewport_height);
        let shot = shot.map_err(|e| browser_error("taking the screenshot", e))?;
        restored.map_err(|e| browser_error("restoring the viewport", e))?;
        let data = shot["data"]
            .as_str()
            .ok_or_else(|| browser_error("taking the screenshot", "no data"))?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| browser_error("taking the screenshot", e))
    }

    /// The page printed to PDF, backgrounds included (streamed from the browser in chunks).
    pub(crate) fn pdf(&self) -> Result<Vec<u8>, CaptureError> {
        self.drain();
        self.unstick();
        let printed = self
            .call(
                "Page.printToPDF",
                json!({ "printBackground": true, "transferMode": "ReturnAsStream" }),
                RENDER_TIMEOUT,
            )
            .map_err(|e| browser_error("printing to PDF", e))?;
        let Some(stream) = printed["stream"].as_str() else {
            // A browser that ignores the transfer mode answers with the data itself.
            let data = printed["data"]
                .as_str()
                .ok_or_else(|| browser_error("printing to PDF", "no data"))?;
            return base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| browser_error("printing to PDF", e));
        };
        let result = self.read_stream(stream);
        self.browser.connection.notify(
            Some(&self.session_id),
            "IO.close",
            json!({ "handle": stream }),
        );
        result
    }

    /// Reads a protocol stream to its end.
    fn read_stream(&self, stream: &str) -> Result<Vec<u8>, CaptureError> {
        let mut pdf = Vec::new();
        loop {
            let chunk = self
                .call(
                    "IO.read",
                    json!({ "handle": stream, "size": 8 << 20 }),
                    CALL_TIMEOUT,
                )
                .map_err(|e| browser_error("reading the PDF", e))?;
            let data = chunk["data"].as_str().unwrap_or("");
            if chunk["base64Encoded"] == true {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| browser_error("reading the PDF", e))?;
                pdf.extend_from_slice(&bytes);
            } else {
                pdf.extend_from_slice(data.as_bytes());
            }
            if pdf.len() > MAX_PDF {
                return Err(CaptureError::TooLarge {
                    source_name: "the PDF print".to_owned(),
                    limit: MAX_PDF as u64,
                });
            }
            if chunk["eof"] == true || chunk["eof"].is_null() && data.is_empty() {
                return Ok(pdf);
            }
        }
    }

    /// Closes the tab.
    pub(crate) fn close(self) {
        drop(self);
    }
}

impl Drop for Tab<'_> {
    fn drop(&mut self) {
        let connection = &self.browser.connection;
        connection.unsubscribe_session(&self.session_id);
        if connection.closed().is_none() {
            let _ = connection.call(
                None,
                "Target.closeTarget",
                json!({ "targetId": self.target_id }),
                CLOSE_TIMEOUT,
            );
            let _ = connection.call(
                None,
                "Target.disposeBrowserContext",
                json!({ "browserContextId": self.context_id }),
                CLOSE_TIMEOUT,
            );
        }
    }
}
