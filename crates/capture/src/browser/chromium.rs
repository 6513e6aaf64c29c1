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

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

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

mod tab;

pub(crate) use tab::{PageOptions, Tab};

#[cfg(test)]
mod tests;
