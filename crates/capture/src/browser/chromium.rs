//! Launching headless Chromium and driving its tabs over the DevTools protocol.
//!
//! The browser runs with `--remote-debugging-pipe`: it reads commands on its descriptor 3 and
//! writes answers on its descriptor 4. Without unsafe code there is no `pre_exec` to arrange
//! those descriptors, so a shell does it: `sh -c 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2'`
//! moves our stdin pipe to descriptor 3 and our stdout pipe to descriptor 4, and then executes
//! `setpriv --pdeathsig KILL -- chromium <flags>` (util-linux) so that the kernel kills the
//! browser when exhibit dies, even by `kill -9`. The browser gets its own process group, which
//! [`Chromium`]'s `Drop` kills as a whole after asking the browser to close.
//!
//! Every page the browser loads goes through exhibit's proxy (`--proxy-server`, with loopback
//! addresses included). Each [`Tab`] is a flattened DevTools session; the CDP client
//! ([`super::cdp`]) routes events by session, so several tabs can be used from several threads
//! at once. JavaScript dialogs are dismissed and popups closed by the client's reader thread
//! the moment they appear, whether or not a load is being watched.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::cdp::{CdpError, Connection, Event, Reply};
use crate::CaptureError;

/// The viewport when none is given (CSS pixels).
pub(crate) const DEFAULT_VIEWPORT: (u32, u32) = (1280, 800);
/// The network quiet time when none is given.
pub(crate) const DEFAULT_IDLE: Duration = Duration::from_millis(500);
/// The tallest full-page screenshot when none is given (pixels).
pub(crate) const DEFAULT_MAX_SCREENSHOT_HEIGHT: u32 = 16_384;

/// How long the browser has to answer `Browser.getVersion` after it is started.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);
/// The deadline of an ordinary command.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The deadline of a screenshot or a PDF print (a long page takes a while to paint).
const RENDER_TIMEOUT: Duration = Duration::from_secs(90);
/// How long `Browser.close` and a tab's close may take before they are given up.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the browser has to exit after `Browser.close` before its group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);
/// How much of the browser's stderr is kept for error messages.
const STDERR_TAIL: usize = 8 * 1024;
/// The most events and the longest event text a [`PageLoad`] keeps.
const MAX_EVENTS: usize = 100;
const MAX_EVENT_BYTES: usize = 1024;
/// The most failed requests a [`PageLoad`] keeps, and the longest URL or error text in one.
const MAX_FAILED: usize = 1000;
const MAX_FAILED_BYTES: usize = 2048;
/// The largest PDF print kept.
const MAX_PDF: usize = 256 << 20;
/// The UTF-16 code units of DOM text fetched per message.
const DOM_CHUNK: usize = 4 << 20;
/// How long the page's main thread may take to answer before its scripts are stopped.
const UNSTICK_PROBE: Duration = Duration::from_secs(1);
/// The name of the isolated JavaScript world exhibit evaluates in (page scripts cannot see it
/// or change the built-ins it uses).
const WORLD: &str = "exhibit";

/// The shell line that gives the browser its pipe on descriptors 3 and 4.
const FD_SHIM: &str = r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#;

/// The flags every launch uses (the rest depend on the options).
const FIXED_FLAGS: &[&str] = &[
    "--headless=new",
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-quic",
    "--disable-gpu",
    "--hide-scrollbars",
    "--mute-audio",
    "--metrics-recording-only",
    // Every byte the page uses must come through exhibit's proxy: no WebRTC over UDP around it,
    // and no silent http→https upgrade that would make the request exhibit was asked for vanish.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=HttpsUpgrades",
];

/// The browser-level events a tab watches.
const TAB_BROWSER_EVENTS: &[&str] = &[
    "Target.targetCreated",
    "Target.detachedFromTarget",
    "Browser.downloadWillBegin",
];

/// How to launch the browser.
#[derive(Debug, Clone)]
pub(crate) struct BrowserOptions {
    /// The base64 SHA-256 of the proxy certificate's SubjectPublicKeyInfo, which the browser
    /// trusts (`--ignore-certificate-errors-spki-list`).
    pub(crate) proxy_spki: String,
    /// The viewport, width × height in CSS pixels ([`DEFAULT_VIEWPORT`] by default).
    pub(crate) viewport: (u32, u32),
    /// A user agent instead of the browser's own.
    pub(crate) user_agent: Option<String>,
}

impl BrowserOptions {
    /// Options with the default viewport and the browser's own user agent.
    pub(crate) fn new(proxy_spki: String) -> BrowserOptions {
        BrowserOptions {
            proxy_spki,
            viewport: DEFAULT_VIEWPORT,
            user_agent: None,
        }
    }
}

/// A running headless Chromium, closed (and its process group killed, and its profile
/// removed) on drop.
pub(crate) struct Chromium {
    connection: Connection,
    child: Child,
    profile: Option<TempDir>,
    version: String,
    user_agent: String,
    flags: Vec<String>,
    command_line: Option<Vec<String>>,
    sandboxed: bool,
    parent_death_signal: bool,
    viewport: (u32, u32),
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A browser failure as a capture error.
fn browser_error(context: &str, error: impl std::fmt::Display) -> CaptureError {
    CaptureError::Browser(format!("chromium: {context}: {error}"))
}

/// Whether `path` is an executable regular file.
fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first executable `name` on `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether exhibit runs as root (the browser's sandbox refuses to start as root).
fn running_as_root() -> bool {
    #[cfg(target_os = "linux")]
    {
        rustix::process::geteuid().is_root()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Answers, on the CDP reader thread, the events that must not wait for anyone: a JavaScript
/// dialog is dismissed at once (a page blocked on `alert()` would stall every later command),
/// and a page opened by another page (a popup) is closed.
fn respond(event: &Event) -> Option<Reply> {
    match event.method.as_str() {
        "Page.javascriptDialogOpening" => Some(Reply {
            session: event.session.clone(),
            method: "Page.handleJavaScriptDialog",
            params: json!({ "accept": false }),
        }),
        "Target.targetCreated" if event.session.is_none() => {
            let info = &event.params["targetInfo"];
            let opener = info["openerId"].as_str().unwrap_or("");
            (info["type"] == "page" && !opener.is_empty()).then(|| Reply {
                session: None,
                method: "Target.closeTarget",
                params: json!({ "targetId": info["targetId"] }),
            })
        }
        _ => None,
    }
}

/// Cuts `text` to at most `max` bytes (at a character boundary), marking the cut.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub(3);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

impl Chromium {
    /// The browser to run: `EXHIBIT_CHROMIUM` (a path, or a name looked up on `PATH`), else the
    /// first of `chromium`, `chromium-browser`, `google-chrome-stable` and `google-chrome` on
    /// `PATH`.
    pub(crate) fn find() -> Result<PathBuf, CaptureError> {
        if let Some(chosen) = std::env::var_os("EXHIBIT_CHROMIUM").filter(|v| !v.is_empty()) {
            let path = PathBuf::from(&chosen);
            let found = if path.components().count() > 1 {
                is_executable(&path).then_some(path)
            } else {
                chosen.to_str().and_then(find_on_path)
            };
            return found.ok_or_else(|| {
                CaptureError::BadSource(format!(
                    "EXHIBIT_CHROMIUM={}: not an executable file",
                    chosen.to_string_lossy()
                ))
            });
        }
        [
            "chromium",
            "chromium-browser",
            "google-chrome-stable",
            "google-chrome",
        ]
        .into_iter()
        .find_map(find_on_path)
        .ok_or_else(|| {
            CaptureError::BadSource(
                "browser capture needs Chromium: none of chromium, chromium-browser, \
                     google-chrome-stable, google-chrome is on PATH (install one or set \
                     EXHIBIT_CHROMIUM to its path)"
                    .to_owned(),
            )
        })
    }

    /// Starts the browser at `path` with a fresh profile and waits (at most 20 s) for it to
    /// answer `Browser.getVersion`.
    ///
    /// Call this from a thread that outlives the browser: the kernel's parent-death signal
    /// (`setpriv --pdeathsig`) fires when the *thread* that started the browser exits, not the
    /// process, so a short-lived spawning thread would take the browser down with it.
    pub(crate) fn launch(path: &Path, opts: &BrowserOptions) -> Result<Chromium, CaptureError> {
        let (width, height) = opts.viewport;
        if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
            return Err(CaptureError::BadSource(format!(
                "viewport {width}x{height}: each side must be 1 to 16384 pixels"
            )));
        }
        sweep_abandoned_profiles();
        let profile = tempfile::Builder::new()
            .prefix(PROFILE_PREFIX)
            .tempdir()
            .map_err(|e| browser_error("cannot create a profile directory", e))?;
        // Who owns it: a later run removes it if this process is killed before it can.
        let _ = std::fs::write(
            profile.path().join(PROFILE_OWNER),
            std::process::id().to_string(),
        );
        let profile_path = profile
            .path()
            .to_str()
            .ok_or_else(|| browser_error("profile directory", "path is not UTF-8"))?
            .to_owned();
        let sandboxed = !running_as_root();
        let mut flags: Vec<String> = FIXED_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        flags.push(format!("--user-data-dir={profile_path}"));
        // The browser's own traffic (update checks, sign-in, a start page) goes to a proxy on a
        // port Chromium refuses to use, so none of it leaves the machine or enters the record;
        // each tab gets its own browser context whose proxy is exhibit's (`new_tab`).
        flags.push(format!("--proxy-server=http://{BLACKHOLE_PROXY}"));
        flags.push("--proxy-bypass-list=<-loopback>".to_owned());
        flags.push(format!(
            "--ignore-certificate-errors-spki-list={}",
            opts.proxy_spki
        ));
        flags.push(format!("--window-size={width},{height}"));
        if !sandboxed {
            flags.push("--no-sandbox".to_owned());
        }
        if let Some(agent) = &opts.user_agent {
            flags.push(format!("--user-agent={agent}"));
        }

        // A blank first tab: no start page is loaded.
        flags.push("about:blank".to_owned());
        let setpriv = find_on_path("setpriv");
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(FD_SHIM);
        if let Some(setpriv) = &setpriv {
            command
                .arg(setpriv)
                .args(["--pdeathsig", "KILL", "--"])
                .arg(path);
        } else {
            command.arg(path);
        }
        command
            .args(&flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| browser_error(&format!("cannot start {}", path.display()), e))?;
        let (Some(to_browser), Some(from_browser), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill(&mut child);
            return Err(browser_error("start", "no pipes to the browser"));
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        let collector = thread::Builder::new()
            .name("chromium-stderr".into())
            .spawn(move || collect_stderr(stderr, &tail));
        let connection =
            match collector.and_then(|_| Connection::start(from_browser, to_browser, respond)) {
                Ok(connection) => connection,
                Err(e) => {
                    kill(&mut child);
                    return Err(browser_error("cannot start the protocol threads", e));
                }
            };
        let mut browser = Chromium {
            connection,
            child,
            profile: Some(profile),
            version: String::new(),
            user_agent: String::new(),
            flags,
            command_line: None,
            sandboxed,
            parent_death_signal: setpriv.is_some(),
            viewport: opts.viewport,
            stderr: stderr_tail,
        };
        // From here on, dropping `browser` closes and kills it.
        let version =
            match browser
                .connection
                .call(None, "Browser.getVersion", json!({}), LAUNCH_TIMEOUT)
            {
                Ok(version) => version,
                Err(e) => {
                    let status = match browser.child.try_wait() {
                        Ok(Some(status)) => format!(" ({status})"),
                        _ => String::new(),
                    };
                    let stderr = browser.stderr_tail();
                    let stderr = if stderr.is_empty() {
                        String::new()
                    } else {
                        format!("; its stderr ends: {stderr}")
                    };
                    return Err(browser_error(
                        &format!("{} did not start{status}", path.display()),
                        format!("{e}{stderr}"),
                    ));
                }
            };
        browser.command_line = std::fs::read(format!("/proc/{}/cmdline", browser.child.id()))
            .ok()
            .map(|bytes| {
                bytes
                    .split(|&b| b == 0)
                    .filter(|arg| !arg.is_empty())
                    .map(|arg| String::from_utf8_lossy(arg).into_owned())
                    .collect()
            });
        browser.version = version["product"].as_str().unwrap_or("").to_owned();
        browser.user_agent = version["userAgent"].as_str().unwrap_or("").to_owned();
        browser
            .browser_call("Target.setDiscoverTargets", json!({ "discover": true }))
            .map_err(|e| browser_error("watching for popups", e))?;
        browser
            .browser_call(
                "Browser.setDownloadBehavior",
                json!({ "behavior": "deny", "eventsEnabled": true }),
            )
            .map_err(|e| browser_error("denying downloads", e))?;
        Ok(browser)
    }

    /// The browser's product and version, e.g. `HeadlessChrome/156.0.8078.129`.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// The user agent the browser sends.
    pub(crate) fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The flags the browser was started with, exactly (after the executable; note that a
    /// distribution's wrapper script, such as Debian's `/usr/bin/chromium`, may add its own).
    pub(crate) fn flags(&self) -> &[String] {
        &self.flags
    }

    /// The command line the browser process actually runs with, read from `/proc` once it
    /// answered (Linux; `None` elsewhere or if unreadable): the executable a wrapper script
    /// ends in, the wrapper's own flags and [`Chromium::flags`].
    pub(crate) fn command_line(&self) -> Option<&[String]> {
        self.command_line.as_deref()
    }

    /// Whether the browser's sandbox is on (it is off, `--no-sandbox`, when exhibit runs as
    /// root).
    pub(crate) fn sandboxed(&self) -> bool {
        self.sandboxed
    }

    /// Whether the kernel kills the browser when exhibit dies (`setpriv --pdeathsig KILL`;
    /// false when `setpriv` is not on `PATH`).
    pub(crate) fn parent_death_signal(&self) -> bool {
        self.parent_death_signal
    }

    /// The last few kilobytes the browser wrote to stderr (lossy UTF-8).
    pub(crate) fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr);
        let (a, b) = tail.as_slices();
        let mut bytes = a.to_vec();
        bytes.extend_from_slice(b);
        String::from_utf8_lossy(&bytes).trim().to_owned()
    }

    fn browser_call(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.connection.call(None, method, params, CALL_TIMEOUT)
    }

    /// Opens a blank tab with the browser's viewport, in a browser context of its own whose
    /// requests all go through the proxy at `proxy`.
    pub(crate) fn new_tab(&self, proxy: SocketAddr) -> Result<Tab<'_>, CaptureError> {
        let browser_events = self.connection.subscribe_browser(TAB_BROWSER_EVENTS);
        // A browser context of its own (its own cookies and cache), whose requests — loopback
        // ones too — go through exhibit's proxy.
        let context = self
            .browser_call(
                "Target.createBrowserContext",
                json!({
                    "proxyServer": format!("http://{proxy}"),
                    "proxyBypassList": "<-loopback>",
                    "disposeOnDetach": true,
                }),
            )
            .map_err(|e| browser_error("creating a browser context", e))?;
        let context_id = context["browserContextId"]
            .as_str()
            .ok_or_else(|| browser_error("creating a browser context", "no browserContextId"))?
            .to_owned();
        // Downloads are refused in this context too (the launch-time setting covers only the
        // default context).
        self.browser_call(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "deny", "browserContextId": context_id, "eventsEnabled": true }),
        )
        .map_err(|e| browser_error("denying downloads", e))?;
        let created = self
            .browser_call(
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": context_id }),
            )
            .map_err(|e| browser_error("opening a tab", e))?;
        let target_id = created["targetId"]
            .as_str()
            .ok_or_else(|| browser_error("opening a tab", "no targetId"))?
            .to_owned();
        let attached = self
            .browser_call(
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .map_err(|e| browser_error("attaching to a tab", e));
        let session_id = match attached.and_then(|a| {
            a["sessionId"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| browser_error("attaching to a tab", "no sessionId"))
        }) {
            Ok(session_id) => session_id,
            Err(e) => {
                self.connection.notify(
                    None,
                    "Target.closeTarget",
                    json!({ "targetId": target_id }),
                );
                return Err(e);
            }
        };
        let events = self.connection.subscribe_session(&session_id);
        let tab = Tab {
            browser: self,
            context_id,
            target_id,
            session_id,
            events: Mutex::new(events),
            browser_events: Mutex::new(browser_events),
            main_frame: Mutex::new(None),
            scripts_off: AtomicBool::new(false),
        };
        tab.set_viewport(self.viewport.1)
            .map_err(|e| browser_error("setting the viewport", e))?;
        // Page events on from the start, so that dialogs are dismissed whenever they open.
        tab.call("Page.enable", json!({}), CALL_TIMEOUT)
            .map_err(|e| browser_error("enabling page events", e))?;
        tab.main_frame(CALL_TIMEOUT)
            .map_err(|e| browser_error("reading the frame tree", e))?;
        Ok(tab)
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if self.connection.closed().is_none() {
            let _ = self
                .connection
                .call(None, "Browser.close", json!({}), CLOSE_TIMEOUT);
        }
        let grace = Instant::now() + EXIT_GRACE;
        while Instant::now() < grace {
            match self.child.try_wait() {
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        kill(&mut self.child);
        if let Some(profile) = self.profile.take() {
            let path = profile.path().to_owned();
            for _ in 0..10 {
                match std::fs::remove_dir_all(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        thread::sleep(Duration::from_millis(50));
                    }
                    _ => break,
                }
            }
            drop(profile);
        }
    }
}

/// Kills the browser's process group, reaps the browser and waits (at most 2 s) until no live
/// process is left in its group.
fn kill(child: &mut Child) {
    #[cfg(target_os = "linux")]
    let group = rustix::process::Pid::from_child(child);
    #[cfg(target_os = "linux")]
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
    #[cfg(target_os = "linux")]
    {
        let pgid = group.as_raw_nonzero().get();
        let deadline = Instant::now() + Duration::from_secs(2);
        while group_alive(pgid) && Instant::now() < deadline {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether a process other than a zombie is in process group `pgid` (Linux: read from /proc).
#[cfg(target_os = "linux")]
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        if !entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp ...", where comm may hold anything, parentheses too.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        pgrp == Some(pgid) && state != Some("Z") && state != Some("X")
    })
}

/// Keeps the last [`STDERR_TAIL`] bytes the browser writes to stderr.
fn collect_stderr(mut stderr: impl Read, tail: &Mutex<VecDeque<u8>>) {
    let mut buffer = [0u8; 4096];
    loop {
        match stderr.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                let mut tail = lock(tail);
                tail.extend(&buffer[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL);
                tail.drain(..excess);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

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
    browser: &'a Chromium,
    /// The tab's own browser context, disposed with it.
    context_id: String,
    target_id: String,
    session_id: String,
    events: Mutex<Receiver<Event>>,
    browser_events: Mutex<Receiver<Event>>,
    main_frame: Mutex<Option<String>>,
    /// Whether [`Tab::unstick`] turned the page's scripts off (back on at the next load).
    scripts_off: AtomicBool,
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
    fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value, CdpError> {
        self.browser
            .connection
            .call(Some(&self.session_id), method, params, timeout)
    }

    /// Sets the viewport to the browser's width and `height`.
    fn set_viewport(&self, height: u32) -> Result<Value, CdpError> {
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
    fn main_frame(&self, timeout: Duration) -> Result<String, CdpError> {
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
        self.drain();
        if self.scripts_off.swap(false, Ordering::SeqCst) {
            self.call(
                "Emulation.setScriptExecutionDisabled",
                json!({ "value": false }),
                CALL_TIMEOUT,
            )
            .map_err(|e| browser_error("turning scripts back on", e))?;
        }
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

/// The name of every profile directory exhibit makes (in the temporary directory).
const PROFILE_PREFIX: &str = "exhibit-chromium-";
/// The file in a profile directory naming the exhibit process that made it.
const PROFILE_OWNER: &str = "exhibit-owner.pid";

/// Removes the profile directories of exhibit processes that are gone (killed before they could
/// remove their own: a profile holds the pages' cookies and cache). A directory without an owner
/// file, or whose owner is alive, is left alone. Best effort.
fn sweep_abandoned_profiles() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PROFILE_PREFIX)
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let owner = std::fs::read_to_string(entry.path().join(PROFILE_OWNER)).ok();
        let Some(pid) = owner.and_then(|o| o.trim().parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Where the browser's own (non-page) requests are sent: port 1 is on Chromium's list of
/// restricted ports, so such a request fails at once, before any connection.
const BLACKHOLE_PROXY: &str = "127.0.0.1:1";

#[cfg(test)]
mod tests;
