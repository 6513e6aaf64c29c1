//! Recording a browser capture: the proxy, the browser and the manifest record together.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use exhibit_core::browser::{BrowserRecord, MAX_RESOURCES, Resource, Viewport};
use exhibit_core::connection::{Connection, ObjectRef};
use exhibit_core::manifest::{
    ContentInfo, HttpExchange, MAX_MANIFEST_BYTES, MAX_RECORDED_STRING, Method, Redirect,
    cap_string,
};
use exhibit_store::ObjectStore;
use exhibit_store::config::CaptureSettings;

use super::session::SharedBrowser;
use super::{BrowserAcquired, chromium, proxy};
use crate::CaptureError;
use crate::acquire::Acquired;
use crate::connector::HttpClient;

/// Loads `url` in a tab of the command's browser, behind a proxy of its own, and records it.
pub(crate) fn capture(
    url: &url::Url,
    http: &HttpClient,
    settings: &CaptureSettings,
    shared: &SharedBrowser,
    objects: &Arc<ObjectStore>,
) -> Result<BrowserAcquired, CaptureError> {
    let browser = &shared.settings;
    let session = shared.session()?;
    let chromium = &session.chromium;
    let timeout = Duration::from_secs(settings.timeout_secs.max(1));
    let proxy = proxy::Proxy::start_as(
        &session.identity,
        http.clone(),
        objects.clone(),
        proxy::ProxyLimits {
            max_response_bytes: browser.max_response_bytes.min(settings.max_bytes),
            max_total_bytes: browser.max_page_bytes,
            max_exchanges: MAX_RESOURCES,
            timeout,
        },
    )?;
    // The added roots are evidence of what was trusted: stored like the chains.
    for der in &http.tls.added {
        objects.put(der)?;
    }
    let tab = chromium.new_tab(proxy.addr())?;
    let in_flight = || proxy.in_flight();
    let load = tab.load(
        url.as_str(),
        &chromium::PageOptions {
            timeout,
            idle: browser.idle,
            wait_for: browser.wait_for.clone(),
            in_flight: &in_flight,
        },
    )?;
    let captured_at = Utc::now();
    let mut events = load.events.clone();
    if !chromium.parent_death_signal() {
        events.push("setpriv not found: the browser was not tied to exhibit's life".into());
    }
    let dom = tab.dom(browser.max_dom_bytes)?;
    let screenshot = match tab.screenshot(browser.max_screenshot_height) {
        Ok(png) => Some(png),
        Err(e) => {
            events.push(cap_string(&format!("no screenshot: {e}"), 1024));
            None
        }
    };
    let pdf = match tab.pdf() {
        Ok(pdf) => Some(pdf),
        Err(e) => {
            events.push(cap_string(&format!("no PDF: {e}"), 1024));
            None
        }
    };
    for (url, error) in &load.failed_requests {
        events.push(cap_string(
            &format!("request failed in the browser: {url}: {error}"),
            1024,
        ));
    }
    events.truncate(100);
    tab.close();
    let product = chromium.version().to_owned();
    let user_agent = chromium.user_agent().to_owned();
    // The real argv (Debian's wrapper script adds flags of its own), else the flags exhibit gave.
    let flags = chromium
        .command_line()
        .unwrap_or_else(|| chromium.flags())
        .iter()
        .map(|f| cap_string(f, 1024))
        .collect::<Vec<_>>();
    let sandboxed = chromium.sandboxed();
    let exchanges = proxy.take_exchanges();
    if let Some(e) = proxy.take_store_error() {
        return Err(e);
    }
    drop(proxy);

    let store = |bytes: &[u8]| -> Result<ObjectRef, CaptureError> {
        let o = objects.put(bytes)?;
        Ok(ObjectRef {
            sha256: o.sha256,
            blake3: o.blake3,
            size: o.size,
        })
    };
    let dom_ref = store(&dom)?;
    let screenshot = screenshot.as_deref().map(store).transpose()?;
    let pdf = pdf.as_deref().map(store).transpose()?;
    let mut resources: Vec<Resource> = exchanges.iter().map(resource).collect();
    let mut omitted = resources.len().saturating_sub(MAX_RESOURCES) as u64;
    resources.truncate(MAX_RESOURCES);
    let mut main = main_document(url, &exchanges, settings.max_redirects);
    // The page may have navigated itself (a script, a meta refresh, a reload after a challenge)
    // or the browser may have upgraded http to https (HSTS): the rendered page is then another
    // document than the one the first request answered, and its own request is the record.
    if let Some(shown) = shown_url(&load.final_url)
        && crate::acquire::recorded(&shown) != main.final_url
    {
        let other = main_document(&shown, &exchanges, settings.max_redirects);
        if other.answer.is_some() {
            events.push(cap_string(
                &format!(
                    "the page shown is {}, not {}: recorded from its own request",
                    crate::acquire::recorded(&shown),
                    main.final_url
                ),
                1024,
            ));
            events.truncate(100);
            main = other;
        }
    }
    let record = |resources: Vec<Resource>, omitted: u64| BrowserRecord {
        recorder: concat!("exhibit/", env!("CARGO_PKG_VERSION")).to_owned(),
        product: product.clone(),
        user_agent: cap_string(&user_agent, MAX_RECORDED_STRING),
        flags: flags.clone(),
        sandboxed,
        viewport: Viewport {
            width: browser.viewport.0,
            height: browser.viewport.1,
        },
        waited_for: load.waited.clone(),
        wait_ms: load.elapsed_ms,
        timed_out: load.timed_out.clone(),
        events: events.clone(),
        dom: dom_ref,
        screenshot,
        pdf,
        resources,
        resources_omitted: omitted,
    };
    let exchange = HttpExchange {
        request_url: crate::acquire::recorded(url),
        final_url: main.final_url.clone(),
        redirects: main.redirects.clone(),
        status: main.answer.and_then(|i| exchanges[i].status),
        headers: main
            .answer
            .map(|i| {
                headers_of(&exchanges[i], &|n| {
                    exhibit_core::manifest::RECORDED_HEADERS.contains(&n)
                })
            })
            .unwrap_or_default(),
        connections: Some(main.connections.clone()),
        trust_roots: Some(http.tls.record.clone()),
    };
    let answer = main.answer.map(|i| &exchanges[i]);
    let content = answer.and_then(|e| {
        e.body.as_ref().map(|b| ContentInfo {
            sha256: b.sha256,
            blake3: b.blake3,
            size: b.size,
            media_type: e
                .media_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        })
    });
    let error = match answer {
        None => Some(format!(
            "the browser's request for {} was not answered: {}",
            exchange.final_url,
            main.problem.as_deref().unwrap_or("no response")
        )),
        Some(e) => match (e.status, &e.error) {
            (_, Some(err)) => Some(err.clone()),
            (Some(s), None) if !(200..300).contains(&s) => Some(format!("HTTP {s}")),
            (None, None) => Some("no response".into()),
            _ if content.is_none() => Some("the main document's body was not kept".into()),
            // Answered, but not shown: a download, an aborted navigation. The empty DOM is
            // not the document's text, so no version may come of it.
            _ if !rendered_page(&load.final_url) => Some(format!(
                "the browser rendered no page (it shows {}){}",
                load.final_url,
                ["download", "navigation failed"]
                    .iter()
                    .find_map(|what| load.events.iter().find(|e| e.starts_with(what)))
                    .map_or(String::new(), |e| format!(": {e}"))
            )),
            _ => None,
        },
    }
    .map(|e| cap_string(&e, MAX_RECORDED_STRING));
    // Keep the manifest under its size limit: subresources past the budget are counted, not
    // listed (their bodies stay unreferenced objects, which fsck --repair may remove).
    let budget = MAX_MANIFEST_BYTES * 3 / 4;
    while !resources.is_empty() && estimate(&record(resources.clone(), omitted)) > budget {
        let cut = resources.len().div_ceil(8);
        resources.truncate(resources.len() - cut);
        omitted += cut as u64;
    }
    let record = record(resources, omitted);
    Ok(BrowserAcquired {
        acquired: Acquired {
            captured_at,
            method: Method::Browser,
            http: Some(exchange),
            file: None,
            content,
            charset: Some("UTF-8".into()),
            retained: Vec::new(),
            retained_all: false,
            error,
            warc: None,
        },
        record,
        dom,
    })
}

/// The URL the tab shows without its fragment (as a request for it is made), if it is a web
/// page.
fn shown_url(final_url: &str) -> Option<url::Url> {
    let mut u = url::Url::parse(final_url).ok()?;
    u.set_fragment(None);
    rendered_page(u.as_str()).then_some(u)
}

/// Whether the tab ended on a web page (rather than `about:blank` after a refused download, or
/// Chromium's error page).
fn rendered_page(final_url: &str) -> bool {
    final_url.starts_with("http://") || final_url.starts_with("https://")
}

/// The size of a record's JSON (close to its canonical size).
fn estimate(record: &BrowserRecord) -> usize {
    serde_json::to_vec(record).map_or(usize::MAX, |v| v.len())
}

/// A proxied exchange as a manifest resource.
fn resource(e: &proxy::ProxiedExchange) -> Resource {
    let url = cap_string(&e.url, MAX_RECORDED_STRING);
    // The connection names the resource's URL as recorded (FORMAT §3.11), cut the same way.
    let connection = e.connection.clone().map(|mut c| {
        c.url = url.clone();
        c
    });
    Resource {
        url,
        method: cap_string(&e.method, 32),
        status: e.status,
        headers: headers_of(e, &exhibit_core::manifest::is_resource_header),
        body: e.body.as_ref().map(|b| ObjectRef {
            sha256: b.sha256,
            blake3: b.blake3,
            size: b.size,
        }),
        media_type: e.media_type.as_ref().map(|m| cap_string(m, 256)),
        connection,
        error: e.error.as_ref().map(|m| cap_string(m, 1024)),
    }
}

/// The headers of `e` that `keep` names (lower case), several values joined with `, `, in name
/// order.
fn headers_of(
    e: &proxy::ProxiedExchange,
    keep: &dyn Fn(&str) -> bool,
) -> std::collections::BTreeMap<String, String> {
    let mut out: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (name, value) in &e.headers {
        let name = name.to_ascii_lowercase();
        if !keep(&name) {
            continue;
        }
        out.entry(name)
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    for v in out.values_mut() {
        *v = cap_string(v, MAX_RECORDED_STRING);
    }
    out
}

/// The main document's requests among a page load's exchanges: the navigation's first
/// request, then each redirect it followed.
struct MainDocument {
    final_url: String,
    redirects: Vec<Redirect>,
    connections: Vec<Connection>,
    /// The exchange that answered (not a redirect), if any.
    answer: Option<usize>,
    /// Why there is no answer.
    problem: Option<String>,
}

fn main_document(
    start: &url::Url,
    exchanges: &[proxy::ProxiedExchange],
    max_redirects: u32,
) -> MainDocument {
    let mut current = start.clone();
    // Browsers never send the fragment.
    current.set_fragment(None);
    let mut doc = MainDocument {
        final_url: crate::acquire::recorded(start),
        redirects: Vec::new(),
        connections: Vec::new(),
        answer: None,
        problem: None,
    };
    let mut from = 0;
    loop {
        let wanted = crate::acquire::recorded(&current);
        doc.final_url = wanted.clone();
        let Some(i) = (from..exchanges.len())
            .find(|&i| exchanges[i].url == wanted && exchanges[i].method == "GET")
        else {
            doc.problem = Some("the browser made no request for it".into());
            return doc;
        };
        let e = &exchanges[i];
        from = i + 1;
        if let Some(c) = &e.connection {
            doc.connections.push(c.clone());
        }
        let location = e
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim().to_owned());
        match (e.status, location) {
            // As for plain captures: a Location too long to record ends the chain (the 3xx is
            // the answer, so the capture fails).
            (Some(status @ (301 | 302 | 303 | 307 | 308)), Some(location))
                if doc.redirects.len() < max_redirects as usize
                    && location.len() <= MAX_RECORDED_STRING =>
            {
                let Ok(next) = current.join(&location) else {
                    doc.answer = Some(i);
                    return doc;
                };
                doc.redirects.push(Redirect {
                    url: wanted,
                    status,
                    location: crate::acquire::recorded(&next),
                });
                current = next;
                current.set_fragment(None);
            }
            _ => {
                if e.connection.is_none() && e.status.is_none() {
                    // No connection was made: the failure is the request's, recorded as such.
                    doc.problem = e.error.clone();
                }
                doc.answer = Some(i);
                return doc;
            }
        }
    }
}
