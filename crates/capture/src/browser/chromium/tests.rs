//! Tests of `chromium.rs`.

use super::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

/// A page whose text is inserted by a script after a 300 ms timer.
const TIMER_PAGE: &str = "<!DOCTYPE html><html><head><title>t</title></head><body>\
    <p id=static>static text</p><script>setTimeout(() => { \
    const p = document.createElement('p'); p.id = 'late'; \
    p.textContent = 'inserted by the timer'; document.body.appendChild(p); }, 300);\
    </script></body></html>";

/// A page that never goes quiet: an alert, then a fetch every 100 ms forever.
const ENDLESS_PAGE: &str = "<!DOCTYPE html><html><body><p>endless</p><script>\
    alert('hello from the page'); let n = 0; \
    setInterval(() => { fetch('/ping?' + (n++)).catch(() => {}); }, 100);\
    window.open('http://popup.test/');\
    </script></body></html>";

/// A tiny HTTP proxy: answers absolute-form requests with fixed pages, counting requests
/// in flight.
struct TestProxy {
    address: SocketAddr,
    in_flight: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TestProxy {
    fn start() -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, log) = (Arc::clone(&in_flight), Arc::clone(&requests));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (count, log) = (Arc::clone(&count), Arc::clone(&log));
                thread::spawn(move || serve(stream, &count, &log));
            }
        });
        TestProxy {
            address,
            in_flight,
            requests,
        }
    }
}

fn serve(stream: TcpStream, in_flight: &AtomicUsize, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        in_flight.fetch_add(1, Ordering::SeqCst);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        log.lock().unwrap().push(target.clone());
        let (kind, body) = if target.contains("/download") {
            (
                "application/zip\r\nContent-Disposition: attachment; filename=x.zip",
                "PK",
            )
        } else if target.contains("/endless") {
            ("text/html", ENDLESS_PAGE)
        } else if target.contains("/ping") {
            ("text/plain", "pong")
        } else {
            ("text/html", TIMER_PAGE)
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\n\r\n{body}",
            body.len()
        );
        let written = stream.write_all(response.as_bytes());
        in_flight.fetch_sub(1, Ordering::SeqCst);
        if written.is_err() {
            return;
        }
    }
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

fn page_options<'a>(in_flight: &'a dyn Fn() -> usize, timeout: Duration) -> PageOptions<'a> {
    PageOptions {
        timeout,
        idle: DEFAULT_IDLE,
        wait_for: None,
        in_flight,
    }
}

#[test]
fn captures_a_page_through_the_proxy() {
    let Ok(path) = Chromium::find() else {
        println!("SKIP: chromium not found");
        return;
    };
    let proxy = TestProxy::start();
    let mut options = BrowserOptions::new("AAAA".to_owned());
    options.viewport = (1024, 700);
    let started = Instant::now();
    let browser = Chromium::launch(&path, &options).unwrap();
    println!(
        "launched {} ({}) in {} ms; sandboxed: {}; pdeathsig: {}; user agent: {}",
        browser.version(),
        path.display(),
        started.elapsed().as_millis(),
        browser.sandboxed(),
        browser.parent_death_signal(),
        browser.user_agent()
    );
    println!("flags: {:?}", browser.flags());
    println!("command line: {:?}", browser.command_line());
    let profile = browser
        .flags()
        .iter()
        .find_map(|f| f.strip_prefix("--user-data-dir="))
        .unwrap()
        .to_owned();
    assert!(!processes_mentioning(&profile).is_empty());

    let in_flight = Arc::clone(&proxy.in_flight);
    let count = move || in_flight.load(Ordering::SeqCst);
    {
        let tab = browser.new_tab(proxy.address).unwrap();
        let mut opts = page_options(&count, Duration::from_secs(20));
        opts.wait_for = Some("#late".to_owned());
        // A loopback URL: it goes through the proxy too (nothing listens on it).
        let load = tab.load("http://127.0.0.1:8099/page", &opts).unwrap();
        println!("load: {load:?}");
        assert_eq!(load.timed_out, None);
        assert_eq!(load.final_url, "http://127.0.0.1:8099/page");
        assert_eq!(
            load.waited,
            [
                "navigation",
                "load",
                "network idle 500 ms",
                "selector #late"
            ]
        );
        let dom = String::from_utf8(tab.dom(1 << 20).unwrap()).unwrap();
        assert!(dom.starts_with("<!DOCTYPE html>\n<html>"), "{dom}");
        assert!(dom.contains("inserted by the timer"), "{dom}");
        assert!(matches!(tab.dom(100), Err(CaptureError::TooLarge { .. })));

        let t = Instant::now();
        let png = tab.screenshot(DEFAULT_MAX_SCREENSHOT_HEIGHT).unwrap();
        println!(
            "screenshot: {} bytes in {} ms",
            png.len(),
            t.elapsed().as_millis()
        );
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (1024, 700));

        let t = Instant::now();
        let pdf = tab.pdf().unwrap();
        println!("pdf: {} bytes in {} ms", pdf.len(), t.elapsed().as_millis());
        assert!(pdf.starts_with(b"%PDF-"));

        let bad = page_options(&count, Duration::from_secs(5));
        let bad = PageOptions {
            wait_for: Some("p[".to_owned()),
            ..bad
        };
        assert!(matches!(
            tab.load("http://example.test/", &bad),
            Err(CaptureError::BadSource(_))
        ));
        let t = Instant::now();
        let download = tab
            .load(
                "http://example.test/download",
                &page_options(&count, Duration::from_secs(10)),
            )
            .unwrap();
        println!("download: {download:?} in {} ms", t.elapsed().as_millis());
        assert!(
            download
                .events
                .iter()
                .any(|e| e.starts_with("download denied")),
            "{download:?}"
        );
        assert_eq!(download.timed_out, None);
        tab.close();
    }
    assert!(
        proxy
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r == "http://127.0.0.1:8099/page"),
        "{:?}",
        proxy.requests.lock().unwrap()
    );

    // A tall page, from a data: URL (which does not use the proxy).
    {
        let tab = browser.new_tab(proxy.address).unwrap();
        let zero = || 0;
        let load = tab
            .load(
                "data:text/html,<body style='margin:0'><div style='height:3000px'>tall</div>",
                &page_options(&zero, Duration::from_secs(10)),
            )
            .unwrap();
        assert_eq!(load.timed_out, None);
        let png = tab.screenshot(2000).unwrap();
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!(height, 2000);

        // A popup (opened with a user gesture, which the popup blocker lets through) is
        // closed at once.
        tab.call(
            "Runtime.evaluate",
            json!({ "expression": "window.open('data:text/html,popup'), 1", "userGesture": true }),
            CALL_TIMEOUT,
        )
        .unwrap();
        let popups = || {
            let targets = browser
                .browser_call("Target.getTargets", json!({}))
                .unwrap();
            targets["targetInfos"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["openerId"].is_string())
                .count()
        };
        let until = Instant::now() + Duration::from_secs(5);
        while popups() > 0 && Instant::now() < until {
            thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(popups(), 0);
    }

    let t = Instant::now();
    drop(browser);
    println!("closed in {} ms", t.elapsed().as_millis());
    let left = processes_mentioning(&profile);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!Path::new(&profile).exists());
}

#[test]
fn an_endless_page_ends_within_the_timeout() {
    let Ok(path) = Chromium::find() else {
        println!("SKIP: chromium not found");
        return;
    };
    let proxy = TestProxy::start();
    let browser = Chromium::launch(&path, &BrowserOptions::new("AAAA".to_owned())).unwrap();
    let in_flight = Arc::clone(&proxy.in_flight);
    let count = move || in_flight.load(Ordering::SeqCst);
    let tab = browser.new_tab(proxy.address).unwrap();
    let started = Instant::now();
    let load = tab
        .load(
            "http://endless.test/endless",
            &page_options(&count, Duration::from_secs(4)),
        )
        .unwrap();
    let elapsed = started.elapsed();
    println!("endless load in {} ms: {load:?}", elapsed.as_millis());
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert_eq!(load.timed_out.as_deref(), Some("network idle 500 ms"));
    assert!(
        load.events
            .iter()
            .any(|e| e.contains("hello from the page")),
        "{:?}",
        load.events
    );
    let dom = String::from_utf8(tab.dom(1 << 20).unwrap()).unwrap();
    assert!(dom.contains("endless"));
    let png = tab.screenshot(DEFAULT_MAX_SCREENSHOT_HEIGHT).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // A page stuck in an endless loop: its scripts are stopped, so that it can be captured.
    let busy = tab
        .load(
            "data:text/html,<p>busy</p><script>setInterval(() => { while (true) {} }, 200)</script>",
            &page_options(&count, Duration::from_secs(3)),
        )
        .unwrap();
    println!("busy load: {busy:?}");
    assert!(
        busy.events
            .iter()
            .any(|e| e.starts_with("page scripts stopped"))
    );
    let dom = String::from_utf8(tab.dom(1 << 20).unwrap()).unwrap();
    assert!(dom.contains("<p>busy</p>"), "{dom}");
    // The same tab, next load: scripts are on again.
    let zero = || 0;
    let mut opts = page_options(&zero, Duration::from_secs(10));
    opts.wait_for = Some("#js".to_owned());
    let again = tab
        .load(
            "data:text/html,<script>document.write('<p id=js>js</p>')</script>",
            &opts,
        )
        .unwrap();
    assert_eq!(again.timed_out, None, "{again:?}");

    // Two tabs from two threads at once.
    thread::scope(|scope| {
        for n in 0..2 {
            let browser = &browser;
            scope.spawn(move || {
                let tab = browser.new_tab(proxy.address).unwrap();
                let zero = || 0;
                let url = format!("data:text/html,<p>tab {n}</p>");
                let load = tab
                    .load(&url, &page_options(&zero, Duration::from_secs(10)))
                    .unwrap();
                assert_eq!(load.timed_out, None);
                let dom = String::from_utf8(tab.dom(1 << 20).unwrap()).unwrap();
                assert!(dom.contains(&format!("tab {n}")), "{dom}");
            });
        }
    });
    drop(tab);
    let (dropped, malformed) = browser.connection.dropped();
    println!("events dropped: {dropped}; malformed messages: {malformed}");
}

#[test]
fn browser_and_tabs_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Chromium>();
    send_sync::<Tab<'_>>();
}

#[test]
fn executables_are_found_on_path() {
    let missing = Path::new("/nonexistent/chromium-for-exhibit-tests");
    assert!(!is_executable(missing));
    assert!(find_on_path("sh").is_some());
}
