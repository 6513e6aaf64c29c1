//! Change notifications: `exhibit notify add|remove|list|deliver` and the signed POST that
//! follows every new version — against a webhook receiver on loopback that records each
//! request and can answer 503, with every signature checked by the stock `openssl pkeyutl
//! -verify -rawin` against the archive's public key, and the payload compared with
//! `exhibit --json history` and `show`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Post {
    /// The status it answered.
    answered: u16,
    /// Its headers, names lower-cased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Post {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// A webhook receiver on 127.0.0.1: records every request, answers `status` (200 unless set).
struct Receiver {
    url: String,
    addr: std::net::SocketAddr,
    status: Arc<AtomicU16>,
    posts: Arc<Mutex<Vec<Post>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(200));
        let posts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, p, st) = (status.clone(), posts.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // One at a time: deliveries to one webhook are sequential anyway.
                    receive(stream, s.load(Ordering::SeqCst), &p);
                }
            }
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            addr,
            status,
            posts,
            stop,
            thread: Some(thread),
        }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// The POSTs it answered 2xx.
    fn delivered(&self) -> Vec<Post> {
        self.posts()
            .into_iter()
            .filter(|p| (200..300).contains(&p.answered))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive(mut stream: TcpStream, status: u16, posts: &Mutex<Vec<Post>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || !line.starts_with("POST ") {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    posts.lock().unwrap().push(Post {
        answered: status,
        headers,
        body,
    });
    let text = if status == 200 {
        "ok"
    } else {
        "down \x1b[31mfor now\x1b[0m"
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// A document server whose one page's text is set by the test.
struct Site {
    server: Server,
    text: Arc<Mutex<String>>,
}

impl Site {
    fn start(first: &str) -> Site {
        let text = Arc::new(Mutex::new(first.to_owned()));
        let t = text.clone();
        let server = Server::start(move |path| {
            if path.starts_with("/other") {
                return Reply::ok(
                    "text/html",
                    "<html><body><p>Another page.</p></body></html>",
                );
            }
            Reply::ok("text/html; charset=utf-8", t.lock().unwrap().clone())
        });
        Site { server, text }
    }

    fn set(&self, html: &str) {
        *self.text.lock().unwrap() = html.to_owned();
    }

    fn url(&self) -> String {
        self.server.url("/policy")
    }
}

fn page(title: &str, body: &str) -> String {
    format!("<html><head><title>{title}</title></head><body>{body}</body></html>")
}

/// `exhibit` with extra environment variables.
fn exhibit_env(archive: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("exhibit").expect("exhibit binary");
    cmd.arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("EXHIBIT_ARCHIVE")
        .env_remove("EXHIBIT_NOTIFY_RETRY_SECS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.timeout(Duration::from_secs(120));
    cmd.output().expect("run exhibit")
}

/// `capture --json URL`: its one JSON line (exit 0 required).
fn capture(archive: &Path, url: &str) -> (Value, Output) {
    capture_env(archive, url, &[])
}

fn capture_env(archive: &Path, url: &str, env: &[(&str, &str)]) -> (Value, Output) {
    let out = exhibit_env(archive, &["--json", "capture", url], env);
    ok(&out);
    let line = json_lines(&out).pop().expect("a capture line");
    (line, out)
}

/// Checks a delivery's signature with the stock openssl against the archive's public key
/// (`openssl pkeyutl -verify -pubin -inkey … -rawin -in body -sigfile sig`), and that its
/// key id is the archive's fingerprint. False (with a skip message) without openssl.
fn verify_with_openssl(archive: &Path, post: &Post, dir: &Path) -> bool {
    if !have("openssl") {
        return false;
    }
    let header = post.header("Exhibit-Signature");
    let mut fields = header.split(' ');
    assert_eq!(fields.next(), Some("ed25519"), "{header}");
    let keyid = fields
        .next()
        .and_then(|f| f.strip_prefix("keyid="))
        .expect("keyid=");
    let sig = fields
        .next()
        .and_then(|f| f.strip_prefix("sig="))
        .expect("sig=");
    assert_eq!(fields.next(), None, "{header}");
    assert_eq!(keyid, fingerprint(archive));
    assert_eq!(post.json()["archive"]["key"], keyid);
    let sig = exhibit_core::checkpoint::base64_decode(sig).expect("base64 signature");
    assert_eq!(sig.len(), 64);
    let id = post.header("Exhibit-Delivery");
    let body = dir.join(format!("{id}.json"));
    let sigfile = dir.join(format!("{id}.sig"));
    std::fs::write(&body, &post.body).unwrap();
    std::fs::write(&sigfile, &sig).unwrap();
    let pubkey = archive.join("keys/signing.pub.pem");
    let out = std::process::Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&pubkey)
        .arg("-rawin")
        .arg("-in")
        .arg(&body)
        .arg("-sigfile")
        .arg(&sigfile)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl refused the signature of {id}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));
    // A changed byte is refused.
    let mut bad = post.body.clone();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    std::fs::write(&body, &bad).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&pubkey)
        .args(["-rawin", "-in"])
        .arg(&body)
        .arg("-sigfile")
        .arg(&sigfile)
        .output()
        .expect("run openssl");
    assert!(!out.status.success(), "openssl accepted a changed body");
    true
}

/// The outbox file of `version` for the webhook at `url`.
fn outbox_file(archive: &Path, url: &str, version: &str) -> std::path::PathBuf {
    archive
        .join("notify/outbox")
        .join(&sha256_hex(url.as_bytes())[..16])
        .join(format!("{version}.json"))
}

#[test]
fn notify_each_new_version_once_signed_and_as_history_states_it() {
    let (dir, archive) = new_archive();
    let receiver = Receiver::start();
    let site = Site::start(&page(
        "Example Privacy Policy",
        "<p>We collect your email address.</p><p>We keep it for a year.</p><p>Contact us.</p>",
    ));
    let out = exhibit(
        &archive,
        &[
            "notify",
            "add",
            &receiver.url,
            "--links",
            "http://127.0.0.1:8080/",
        ],
    );
    ok(&out);
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["url"], receiver.url.as_str());
    assert_eq!(listed[0]["pending"], 0);

    let (first, _) = capture(&archive, &site.url());
    assert_eq!(first["changed"], true);
    site.set(&page(
        "Example Privacy Policy",
        "<p>We collect your email address and your phone number.</p><p>We keep it for a year.</p><p>Contact us.</p>",
    ));
    let (second, out) = capture(&archive, &site.url());
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    // Unchanged: no notification.
    let (same, _) = capture(&archive, &site.url());
    assert_eq!(same["changed"], false);
    site.set(&page(
        "Example Privacy Policy",
        "<p>We collect your email address and your phone number.</p><p>We keep it forever.</p><p>Contact us.</p>",
    ));
    let (third, _) = capture(&archive, &site.url());

    let posts = receiver.delivered();
    assert_eq!(
        posts.len(),
        2,
        "the first version is not a change: {posts:?}"
    );
    assert_eq!(receiver.posts().len(), 2);
    let history: Value = serde_json::from_str(&ok(&exhibit(
        &archive,
        &["--json", "history", first["document_id"].as_str().unwrap()],
    )))
    .unwrap();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    for (i, (post, capture)) in posts.iter().zip([&second, &third]).enumerate() {
        let n = post.json();
        let (old, new) = (&versions[i], &versions[i + 1]);
        assert_eq!(post.header("Content-Type"), "application/json");
        assert!(post.header("User-Agent").starts_with("exhibit/"));
        assert_eq!(post.header("Exhibit-Delivery"), new["id"].as_str().unwrap());
        assert_eq!(n["type"], "exhibit.change-notification/v1");
        assert_eq!(n["id"], new["id"]);
        assert_eq!(n["archive"]["origin"], "test.example");
        assert_eq!(n["document"]["id"], first["document_id"]);
        assert_eq!(n["document"]["url"], history["document"]["url"]);
        assert_eq!(n["document"]["title"], "Example Privacy Policy");
        for (side, v) in [("old_version", old), ("new_version", new)] {
            for field in ["id", "first_seen", "content_sha256", "text_sha256"] {
                assert_eq!(n[side][field], v[field], "{side}.{field}");
            }
        }
        for field in [
            "words_added",
            "words_removed",
            "lines_added",
            "lines_removed",
        ] {
            assert_eq!(n["change"][field], new[field], "change.{field}");
        }
        assert_eq!(n["change"]["truncated"], false);
        assert_eq!(n["capture"]["id"], capture["capture_id"]);
        assert_eq!(n["capture"]["sha256"], capture["sha256"]);
        assert_eq!(n["capture"]["captured_at"], capture["captured_at"]);
        // The capture as `show` states it: the manifest's hash and log index.
        let shown = json_lines(&exhibit(
            &archive,
            &["--json", "show", capture["capture_id"].as_str().unwrap()],
        ));
        let shown = serde_json::to_string(&shown).unwrap();
        assert!(
            shown.contains(n["capture"]["manifest_sha256"].as_str().unwrap()),
            "{shown}"
        );
        assert_eq!(n["capture"]["log_index"], capture["log_index"]);
        let links = &n["links"];
        assert_eq!(
            links["record"],
            format!(
                "http://127.0.0.1:8080/records/{}",
                capture["capture_id"].as_str().unwrap()
            )
        );
        assert_eq!(
            links["diff"],
            format!(
                "http://127.0.0.1:8080/diff?from={}&to={}",
                old["id"].as_str().unwrap(),
                new["id"].as_str().unwrap()
            )
        );
        assert_eq!(
            links["document"],
            format!(
                "http://127.0.0.1:8080/documents/{}",
                first["document_id"].as_str().unwrap()
            )
        );
        verify_with_openssl(&archive, post, dir.path());
    }
    let diff1 = posts[0].json()["change"]["diff"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(diff1.starts_with(&format!(
        "--- {}\n+++ {}\n@@ ",
        versions[0]["id"].as_str().unwrap(),
        versions[1]["id"].as_str().unwrap()
    )));
    assert!(
        diff1.contains("\n-We collect your email address.\n"),
        "{diff1}"
    );
    assert!(
        diff1.contains("\n+We collect your email address and your phone number.\n"),
        "{diff1}"
    );
    let diff2 = posts[1].json()["change"]["diff"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        diff2.contains("\n-We keep it for a year.\n") && diff2.contains("\n+We keep it forever.\n"),
        "{diff2}"
    );
    // Delivered: nothing waits.
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed[0]["pending"], 0);
    let out = exhibit(&archive, &["notify", "deliver"]);
    ok(&out);
    assert_eq!(receiver.posts().len(), 2);
    // The outbox is no trouble to fsck.
    ok(&exhibit(&archive, &["fsck"]));
}

#[test]
fn notify_survives_a_receiver_outage_and_a_restart_exactly_once() {
    let (dir, archive) = new_archive();
    let receiver = Receiver::start();
    receiver.answer(503);
    let site = Site::start(&page("Terms", "<p>Version one of the terms.</p>"));
    ok(&exhibit(&archive, &["notify", "add", &receiver.url]));
    capture(&archive, &site.url());
    site.set(&page("Terms", "<p>Version two of the terms, changed.</p>"));
    let (second, out) = capture(&archive, &site.url());
    let version = second["version_id"].as_str().unwrap().to_owned();
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("not delivered") && err.contains("HTTP 503"),
        "{err}"
    );
    // The receiver's answer is printed inert.
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(receiver.delivered().is_empty());
    assert_eq!(receiver.posts().len(), 1);
    let queued = outbox_file(&archive, &receiver.url, &version);
    assert!(queued.is_file(), "{} is not queued", queued.display());
    let queued_body = std::fs::read(&queued).unwrap();
    assert_eq!(queued_body, receiver.posts()[0].body);
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed[0]["pending"], 1);
    assert_eq!(listed[0]["oldest_pending"], version.as_str());
    assert_eq!(listed[0]["attempts"], 1);
    assert!(listed[0]["last_error"].as_str().unwrap().contains("503"));
    // Still down: `notify deliver` tries, fails, exits 1.
    let out = exhibit(&archive, &["notify", "deliver"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stdout(&out).contains("NOT delivered"), "{}", stdout(&out));
    assert_eq!(receiver.posts().len(), 2);
    // fsck has nothing to say about the outbox.
    ok(&exhibit(&archive, &["fsck"]));

    // The receiver is back; a new process delivers it, once.
    receiver.answer(200);
    let out = exhibit(&archive, &["notify", "deliver"]);
    ok(&out);
    assert!(
        stdout(&out).contains(&format!(
            "{version} → {}: delivered (HTTP 200)",
            receiver.url
        )),
        "{}",
        stdout(&out)
    );
    let out = exhibit(&archive, &["--json", "notify", "deliver"]);
    ok(&out);
    assert!(json_lines(&out).is_empty());
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].header("Exhibit-Delivery"), version);
    assert_eq!(
        receiver.posts().len(),
        3,
        "two failed attempts and one delivery"
    );
    // A retry sends the same bytes with the same signature.
    let posts = receiver.posts();
    assert!(posts.iter().all(|p| p.body == posts[0].body));
    assert!(
        posts
            .iter()
            .all(|p| p.header("Exhibit-Signature") == posts[0].header("Exhibit-Signature"))
    );
    verify_with_openssl(&archive, &delivered[0], dir.path());
    assert!(!queued.exists());
    assert!(!queued.with_extension("state").exists());
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed[0]["pending"], 0);
}

#[test]
fn notify_a_capture_retries_what_is_due_before_it_starts() {
    let (_dir, archive) = new_archive();
    let receiver = Receiver::start();
    receiver.answer(503);
    let site = Site::start(&page("Policy", "<p>First words.</p>"));
    ok(&exhibit(&archive, &["notify", "add", &receiver.url]));
    capture(&archive, &site.url());
    site.set(&page("Policy", "<p>Second words.</p>"));
    let (second, _) = capture(&archive, &site.url());
    assert_eq!(receiver.posts().len(), 1);
    receiver.answer(200);
    // Not due yet (the first retry waits 30 s): a capture leaves it alone.
    capture(&archive, &site.server.url("/other-1"));
    assert_eq!(receiver.posts().len(), 1);
    ok(&exhibit(&archive, &["notify", "deliver"]));
    assert_eq!(receiver.delivered().len(), 1);

    // Down again when the next change is captured, with no wait before a retry…
    receiver.answer(503);
    site.set(&page("Policy", "<p>Third words.</p>"));
    let (third, _) = capture_env(&archive, &site.url(), &[("EXHIBIT_NOTIFY_RETRY_SECS", "0")]);
    assert_eq!(receiver.delivered().len(), 1);
    let version = third["version_id"].as_str().unwrap();
    assert!(outbox_file(&archive, &receiver.url, version).exists());
    // …and back for the capture of an unrelated document, which delivers it before it starts.
    receiver.answer(200);
    let (other, _) = capture(&archive, &site.server.url("/other-2"));
    assert_eq!(other["changed"], true);
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(
        delivered[0].header("Exhibit-Delivery"),
        second["version_id"].as_str().unwrap()
    );
    assert_eq!(delivered[1].header("Exhibit-Delivery"), version);
    assert!(!outbox_file(&archive, &receiver.url, version).exists());
}

#[test]
fn notify_one_webhook_down_does_not_hold_up_another() {
    let (_dir, archive) = new_archive();
    let up = Receiver::start();
    // A port nothing listens on: connection refused.
    let down = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let site = Site::start(&page("Policy", "<p>Alpha.</p>"));
    ok(&exhibit(&archive, &["notify", "add", &down]));
    ok(&exhibit(&archive, &["notify", "add", &up.url]));
    capture(&archive, &site.url());
    site.set(&page("Policy", "<p>Beta.</p>"));
    let (second, out) = capture(&archive, &site.url());
    assert!(
        stderr(&out).contains("connection refused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(up.delivered().len(), 1);
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    let of = |url: &str| listed.iter().find(|l| l["url"] == url).unwrap().clone();
    assert_eq!(of(&down)["pending"], 1);
    assert_eq!(of(&down)["oldest_pending"], second["version_id"]);
    assert_eq!(of(&up.url)["pending"], 0);
    // Removing the webhook drops its outbox.
    let out = exhibit(&archive, &["notify", "remove", &down]);
    ok(&out);
    assert!(
        stdout(&out).contains("1 queued notification(s) dropped"),
        "{}",
        stdout(&out)
    );
    assert!(!outbox_file(&archive, &down, second["version_id"].as_str().unwrap()).exists());
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed.len(), 1);
}

#[test]
fn notify_refuses_bad_webhooks_in_one_line() {
    let (_dir, archive) = new_archive();
    for args in [
        vec!["notify", "add", "ftp://x"],
        vec!["notify", "add", "not a url"],
        vec!["notify", "add", "http://"],
        vec!["notify", "add", "http://127.0.0.1:99999/hook"],
        vec![
            "notify",
            "add",
            "http://127.0.0.1/hook",
            "--links",
            "javascript:alert(1)",
        ],
        vec!["notify", "remove", "http://127.0.0.1:9/unknown"],
    ] {
        let out = exhibit(&archive, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", all_output(&out));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("exhibit: "), "{err}");
    }
    ok(&exhibit(
        &archive,
        &["notify", "add", "https://hooks.example/x"],
    ));
    let out = exhibit(&archive, &["notify", "add", "https://hooks.example/x"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("already configured"),
        "{}",
        stderr(&out)
    );
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed.len(), 1);
    // Nothing is configured by a refused add; the archive still opens.
    ok(&exhibit(&archive, &["list"]));
}

#[test]
fn notify_a_hostile_title_and_url_are_escaped_and_signed() {
    let (dir, archive) = new_archive();
    let receiver = Receiver::start();
    let title = "\"</script><script>alert(1)</script>\u{1}\u{7f}\u{1b}[31m\u{202e}";
    let site = Site::start(&page(title, "<p>One.</p>"));
    ok(&exhibit(&archive, &["notify", "add", &receiver.url]));
    let url = site.server.url("/policy?q=%22%3C/script%3E&x='\"");
    capture(&archive, &url);
    site.set(&page(title, "<p>Two \u{1b}[2J.</p>"));
    capture(&archive, &url);
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 1);
    let n = delivered[0].json();
    let got = n["document"]["title"].as_str().unwrap();
    assert!(
        got.contains("</script><script>alert(1)</script>"),
        "{got:?}"
    );
    assert!(
        n["document"]["url"]
            .as_str()
            .unwrap()
            .contains("/policy?q=")
    );
    // The body is JSON whose strings carry no raw control character.
    assert!(
        delivered[0].body.iter().all(|&b| b >= 0x20),
        "a raw control byte in the body"
    );
    verify_with_openssl(&archive, &delivered[0], dir.path());
}

#[test]
fn notify_versions_imported_from_a_warc_file_too() {
    let (dir, first) = new_archive();
    let site = Site::start(&page("Policy", "<p>Imported one.</p>"));
    capture(&first, &site.url());
    site.set(&page("Policy", "<p>Imported two.</p>"));
    capture(&first, &site.url());
    let warc = dir.path().join("out.warc.gz");
    ok(&export(
        &first,
        &["--all", "--warc", warc.to_str().unwrap()],
    ));
    let second = dir.path().join("second");
    ok(&exhibit(&second, &["init"]));
    let receiver = Receiver::start();
    ok(&exhibit(&second, &["notify", "add", &receiver.url]));
    ok(&exhibit(&second, &["import", warc.to_str().unwrap()]));
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let n = delivered[0].json();
    assert_eq!(n["old_version"]["id"], "EX-V-000001");
    assert_eq!(n["new_version"]["id"], "EX-V-000002");
    assert!(
        n["change"]["diff"]
            .as_str()
            .unwrap()
            .contains("+Imported two.")
    );
    verify_with_openssl(&second, &delivered[0], dir.path());
}

/// `exhibit serve` delivers what an outage left in the outbox as soon as it starts, and a
/// second `serve` after it (a restart) delivers nothing again: one notification per version.
#[test]
fn notify_exhibit_serve_delivers_the_outbox_once_across_restarts() {
    let (dir, archive) = new_archive();
    let receiver = Receiver::start();
    receiver.answer(503);
    let site = Site::start(&page("Terms", "<p>Version one of the terms.</p>"));
    ok(&exhibit(&archive, &["notify", "add", &receiver.url]));
    capture(&archive, &site.url());
    site.set(&page("Terms", "<p>Version two of the terms, changed.</p>"));
    // Failed attempts are due again at once (the first retry wait is 0 s).
    let retry_now = [("EXHIBIT_NOTIFY_RETRY_SECS", "0")];
    let (second, _) = capture_env(&archive, &site.url(), &retry_now);
    let version = second["version_id"].as_str().unwrap().to_owned();
    assert!(receiver.delivered().is_empty());
    receiver.answer(200);
    let serve = |archive: &Path| {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
            .arg("--archive")
            .arg(archive)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("EXHIBIT_ARCHIVE")
            .env("EXHIBIT_NOTIFY_RETRY_SECS", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start exhibit serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("http://127.0.0.1:"), "{line}");
        child
    };
    let mut first = serve(&archive);
    for _ in 0..200 {
        if !receiver.delivered().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let delivered = receiver.delivered();
    assert_eq!(
        delivered.len(),
        1,
        "serve delivered the queued notification"
    );
    assert_eq!(delivered[0].header("Exhibit-Delivery"), version);
    verify_with_openssl(&archive, &delivered[0], dir.path());
    // A restart: nothing is left to deliver, nothing is sent twice.
    let mut second = serve(&archive);
    std::thread::sleep(Duration::from_millis(1500));
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(receiver.delivered().len(), 1);
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed[0]["pending"], 0);
}

/// Capture commands SIGKILLed at moments spread over their run (before, during and after the
/// commit, during delivery) lose no notification: every version that replaced another is
/// delivered (each delivery's signature checked), none that does not exist, and a later
/// `notify deliver` leaves nothing queued. (A kill after a receiver answered but before the
/// outbox file went may send one twice — at least once, deduplicated on `Exhibit-Delivery`.)
#[test]
fn notify_killed_captures_lose_no_notification() {
    let (dir, archive) = new_archive();
    let receiver = Receiver::start();
    let site = Site::start(&page("Terms", "<p>Terms, version 0.</p>"));
    ok(&exhibit(&archive, &["notify", "add", &receiver.url]));
    let (first, _) = capture(&archive, &site.url());
    let document = first["document_id"].as_str().unwrap().to_owned();
    for i in 1..=14u64 {
        site.set(&page(
            "Terms",
            &format!("<p>Terms, version {i}, changed.</p>"),
        ));
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
            .arg("--archive")
            .arg(&archive)
            .args(["capture", &site.url()])
            .env_remove("EXHIBIT_ARCHIVE")
            .env_remove("EXHIBIT_NOTIFY_RETRY_SECS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // 0, 7, 14, … 91 ms: from before the fetch to after the delivery.
        std::thread::sleep(Duration::from_millis((i - 1) * 7));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Whatever the kills left: the next round queues and delivers it.
    ok(&exhibit(&archive, &["fsck", "--repair"]));
    ok(&exhibit(&archive, &["notify", "deliver"]));
    let history = json_lines(&exhibit(&archive, &["--json", "history", &document]));
    let changes: std::collections::BTreeSet<String> = history[0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["change"] != "first")
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    let delivered = receiver.delivered();
    let notified: std::collections::BTreeSet<String> = delivered
        .iter()
        .map(|p| p.header("Exhibit-Delivery").to_owned())
        .collect();
    assert!(!changes.is_empty());
    assert_eq!(notified, changes, "every change notified, nothing else");
    for p in &delivered {
        verify_with_openssl(&archive, p, dir.path());
    }
    let listed = json_lines(&exhibit(&archive, &["--json", "notify", "list"]));
    assert_eq!(listed[0]["pending"], 0);
    println!("{} changes, {} deliveries", changes.len(), delivered.len());
}
