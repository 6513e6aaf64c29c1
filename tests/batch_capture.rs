//! Batch capture: `exhibit capture --list FILE --jobs N` against a real HTTP server on
//! 127.0.0.1 — list syntax, parallel preparation with one writer, versions in acquisition order
//! for a document listed many times, bad lines skipped (exit 2) without losing the others, JSON
//! printed per committed capture, and objects that are published and readable afterwards.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

fn page(title: &str, body: &str) -> String {
    format!(
        "<html><head><title>{title}</title></head><body><main><p>{body}</p></main></body></html>"
    )
}

/// A server with 40 distinct policies at /doc/<n> and one page at /changing whose text changes
/// every second request (v0, v0, v1, v1, v2, …), counting requests.
fn server() -> (Server, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let server = Server::start(move |path| {
        if path == "/changing" {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            return Reply::ok(
                "text/html; charset=utf-8",
                page("Changing", &format!("Clause version {}", n / 2)),
            );
        }
        match path.strip_prefix("/doc/") {
            Some(n) => Reply::ok(
                "text/html; charset=utf-8",
                page(
                    &format!("Policy {n}"),
                    &format!("Policy number {n} says hello."),
                ),
            ),
            None => Reply::status(404, "not here"),
        }
    });
    (server, hits)
}

#[test]
fn a_list_is_captured_in_parallel_and_every_capture_is_reported_once() {
    let (server, _) = server();
    let (dir, archive) = new_archive();
    let mut list = String::from("# policies to capture\n\n");
    for n in 0..40 {
        if n % 3 == 0 {
            list.push_str(&format!(
                "{}\t\tEntity {n}\tTitle {n}\n",
                server.url(&format!("/doc/{n}"))
            ));
        } else {
            list.push_str(&format!("   {}  \r\n", server.url(&format!("/doc/{n}"))));
        }
        if n == 20 {
            list.push_str("   # an indented comment\n\t\n");
        }
    }
    let path = dir.path().join("list.tsv");
    std::fs::write(&path, list).unwrap();
    let out = capture_list(&archive, &path, "3");
    ok(&out);
    assert!(
        stderr(&out).trim().is_empty(),
        "no progress bar or noise when stderr is not a terminal: {}",
        stderr(&out)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 40);
    let ids: BTreeSet<String> = lines.iter().map(|l| l["capture_id"].to_string()).collect();
    assert_eq!(ids.len(), 40, "unique capture ids");
    let urls: BTreeSet<_> = lines
        .iter()
        .map(|l| l["url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(urls.len(), 40, "each listed URL once");
    for l in &lines {
        assert_eq!(l["changed"], true);
        assert_eq!(l["ok"], true);
    }
    // Entity and title from the tab-separated fields reached the signed manifests.
    let doc0 = lines
        .iter()
        .find(|l| l["url"].as_str().unwrap().ends_with("/doc/0"))
        .unwrap();
    let shown = ok(&exhibit(
        &archive,
        &["--json", "show", doc0["capture_id"].as_str().unwrap()],
    ));
    assert!(
        shown.contains("Entity 0") && shown.contains("Title 0"),
        "{shown}"
    );
    // Every object was published (no staged temporary file left) and reads back verified.
    let leftovers: Vec<_> = walk_files(&archive.join("objects"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    for l in lines.iter().take(5) {
        let bytes = exhibit(&archive, &["cat", l["capture_id"].as_str().unwrap()]);
        assert_eq!(sha256_hex(&ok_bytes(&bytes)), l["sha256"].as_str().unwrap());
    }
    // One checkpoint covers the whole command, and the log holds every capture.
    let cp = ok(&exhibit(&archive, &["log", "checkpoint"]));
    assert!(cp.lines().nth(1) == Some("40"), "{cp}");
}

#[test]
fn a_document_listed_many_times_is_versioned_in_acquisition_order() {
    let (server, hits) = server();
    let (dir, archive) = new_archive();
    let url = server.url("/changing");
    let list: String = (0..6).map(|_| format!("{url}\n")).collect();
    let path = dir.path().join("list.txt");
    std::fs::write(&path, list).unwrap();
    let out = capture_list(&archive, &path, "4");
    ok(&out);
    assert_eq!(hits.load(Ordering::SeqCst), 6);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6);
    // The server's text changes every second request; the document lock makes acquisition and
    // recording happen in the same order, so versions open exactly at captures 1, 3 and 5.
    let changed: Vec<bool> = lines.iter().map(|l| l["changed"] == true).collect();
    assert_eq!(
        changed,
        [true, false, true, false, true, false],
        "{lines:?}"
    );
    let history: serde_json::Value =
        serde_json::from_str(&ok(&exhibit(&archive, &["--json", "history", &url]))).unwrap();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{history}");
    let opened: Vec<_> = versions.iter().map(|v| v["opened_by"].clone()).collect();
    assert_eq!(opened, ["EX-C-000001", "EX-C-000003", "EX-C-000005"]);
}

#[test]
fn bad_lines_are_reported_with_their_line_and_the_rest_is_captured() {
    let (server, _) = server();
    let (dir, archive) = new_archive();
    let missing = dir.path().join("no-such-file.html");
    let list = format!(
        "{}\n{}\nftp://example.com/x\n{}\ta\tb\tc\td\n{}\n",
        server.url("/doc/1"),
        missing.display(),
        server.url("/doc/2"),
        server.url("/doc/3"),
    );
    let path = dir.path().join("list.tsv");
    std::fs::write(&path, list).unwrap();
    let out = capture_list(&archive, &path, "2");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    for line in [":2:", ":3:", ":4:"] {
        assert!(err.contains(&format!("list.tsv{line}")), "{line} in {err}");
    }
    assert!(err.contains("the others were captured"), "{err}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "doc/1 and doc/3 were captured");
    // A failing server is evidence, not bad input: a signed failure record, exit 1.
    let list2 = dir.path().join("list2.txt");
    std::fs::write(&list2, format!("{}\n", server.url("/gone"))).unwrap();
    let out = exhibit(&archive, &["capture", "--list", list2.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("capture failed"), "{}", stderr(&out));
}

#[test]
fn a_list_can_come_from_stdin_and_mix_with_arguments() {
    let (server, _) = server();
    let (_dir, archive) = new_archive();
    let list = format!("{}\n{}\n", server.url("/doc/7"), server.url("/doc/8"));
    let out = exhibit_stdin(
        &archive,
        &[
            "--json",
            "capture",
            &server.url("/doc/9"),
            "--list",
            "-",
            "--entity",
            "Default Entity",
        ],
        Some(list.as_bytes()),
    );
    ok(&out);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    let shown = ok(&exhibit(
        &archive,
        &["show", lines[2]["capture_id"].as_str().unwrap()],
    ));
    assert!(shown.contains("Default Entity"), "{shown}");
    // stdin cannot be both the list and a source; --url names one document, not a list.
    let out = exhibit(&archive, &["capture", "-", "--list", "-"]);
    assert_eq!(code(&out), 2);
    let out = exhibit(
        &archive,
        &["capture", "--list", "-", "--url", "https://example.com/"],
    );
    assert_eq!(code(&out), 2);
}

/// `exhibit --json capture --list PATH --jobs JOBS`.
fn capture_list(
    archive: &std::path::Path,
    path: &std::path::Path,
    jobs: &str,
) -> std::process::Output {
    exhibit(
        archive,
        &[
            "--json",
            "capture",
            "--list",
            path.to_str().unwrap(),
            "--jobs",
            jobs,
        ],
    )
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
