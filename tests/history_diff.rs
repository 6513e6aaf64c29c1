//! Change tracking end to end: `history`, `documents` and `diff` on real captures of the
//! policy fixtures (v1, v1 with a new script nonce — the same text — and v2).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;
use serde_json::Value;

const PRIVACY: &str = "https://example.com/privacy";
const TERMS: &str = "https://example.com/terms";

/// The changed sentences, as `exhibit cat --text` shows them.
const OLD_TRAINING: &str = "We do not use your content to train our models.";
const NEW_TRAINING: &str =
    "By using the Services, you grant us a licence to use your content to train our models.";
const OLD_UPDATED: &str = "Last updated: March 3, 2026";
const NEW_UPDATED: &str = "Last updated: April 30, 2026";

fn capture(archive: &Path, file: &Path, url: &str) {
    ok(&exhibit(
        archive,
        &[
            "capture",
            file.to_str().unwrap(),
            "--url",
            url,
            "--entity",
            "Example Corp",
        ],
    ));
}

/// The privacy policy captured three times (two versions: V1 seen twice, then V2), then the
/// terms (V3) as a second document.
fn policy_archive() -> (tempfile::TempDir, PathBuf) {
    let (dir, archive) = new_archive();
    for f in [
        "policy-v1.html",
        "policy-v1-new-nonce.html",
        "policy-v2.html",
    ] {
        capture(&archive, &fixture(f), PRIVACY);
    }
    capture(&archive, &fixture("terms.txt"), TERMS);
    (dir, archive)
}

fn one_json(out: &Output) -> Value {
    ok(out);
    let mut lines = json_lines(out);
    assert_eq!(lines.len(), 1, "{}", stdout(out));
    lines.remove(0)
}

/// A small PNG (signature and header chunk): stored bytes without extracted text.
fn png(dir: &Path) -> PathBuf {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend_from_slice(&[0x1f, 0x15, 0xc4, 0x89]);
    let path = dir.join("pixel.png");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_fixtures_differ_in_the_sentences_the_diff_tests_look_for() {
    let (_dir, archive) = policy_archive();
    let v1 = ok(&exhibit(&archive, &["cat", "--text", "EX-V-000001"]));
    let v2 = ok(&exhibit(&archive, &["cat", "--text", "EX-V-000002"]));
    assert!(
        v1.contains(OLD_TRAINING) && v1.contains(OLD_UPDATED),
        "{v1}"
    );
    assert!(
        v2.contains(NEW_TRAINING) && v2.contains(NEW_UPDATED),
        "{v2}"
    );
}

#[test]
fn history_shows_each_version_with_its_captures_and_the_size_of_the_change() {
    let (_dir, archive) = policy_archive();
    let text = ok(&exhibit(&archive, &["history", PRIVACY]));
    assert!(text.contains("Document     EX-D-000001"), "{text}");
    assert!(
        text.contains(PRIVACY) && text.contains("Example Corp"),
        "{text}"
    );
    assert!(text.contains("Captures     3 (0 failed)"), "{text}");
    assert!(text.contains("Versions     2"), "{text}");
    let row = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no {id} row: {text}"))
            .to_owned()
    };
    let v1 = row("EX-V-000001");
    let v2 = row("EX-V-000002");
    assert!(
        !text.contains("EX-V-000003"),
        "the terms are another document: {text}"
    );
    // VERSION, FIRST SEEN (3 words), LAST SEEN (3 words), CAPTURES, OPENED BY, CHANGE.
    let captures = |row: &str| row.split_whitespace().nth(7).unwrap().to_owned();
    let opened_by = |row: &str| row.split_whitespace().nth(8).unwrap().to_owned();
    assert_eq!(captures(&v1), "2", "{v1}");
    assert_eq!(captures(&v2), "1", "{v2}");
    assert_eq!(opened_by(&v1), "EX-C-000001");
    assert_eq!(opened_by(&v2), "EX-C-000003");
    assert!(v1.contains("first version"), "{v1}");
    // "We do not" and "March 3," went; "By using the Services, you grant us a licence to"
    // and "April 30," came.
    assert!(v2.contains("+12 -5 words"), "{v2}");
    assert!(
        text.contains("exhibit diff EX-V-000001 EX-V-000002"),
        "{text}"
    );

    // Any record of the document names it; `show DOCUMENT` prints the same timeline.
    for q in ["EX-D-000001", "EX-C-000002", "EX-V-000002"] {
        assert_eq!(ok(&exhibit(&archive, &["history", q])), text, "history {q}");
    }
    assert_eq!(ok(&exhibit(&archive, &["show", "EX-D-000001"])), text);
}

#[test]
fn history_json_is_one_object_with_every_version() {
    let (_dir, archive) = policy_archive();
    let h = one_json(&exhibit(&archive, &["--json", "history", PRIVACY]));
    assert_eq!(h["document"]["id"], "EX-D-000001");
    assert_eq!(h["document"]["url"], PRIVACY);
    assert_eq!(h["document"]["entity"], "Example Corp");
    assert_eq!(h["captures"], 3);
    assert_eq!(h["failed_captures"], 0);
    let versions = h["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let (v1, v2) = (&versions[0], &versions[1]);
    for (v, id, captures, opened_by) in [
        (v1, "EX-V-000001", 2, "EX-C-000001"),
        (v2, "EX-V-000002", 1, "EX-C-000003"),
    ] {
        assert_eq!(v["id"], id);
        assert_eq!(v["captures"], captures);
        assert_eq!(v["opened_by"], opened_by);
        assert_eq!(v["text_sha256"].as_str().unwrap().len(), 64);
        assert!(v["first_seen"].as_str().unwrap().ends_with('Z'), "{v}");
        assert!(v["first_seen"].as_str() <= v["last_seen"].as_str(), "{v}");
        assert!(v["words"].as_u64().unwrap() > 0, "{v}");
    }
    assert_eq!(v1["change"], "first");
    assert_eq!(v1["words_added"], Value::Null);
    assert_eq!(v1["words_removed"], Value::Null);
    assert_eq!(v2["change"], "text");
    assert_eq!(v2["words_added"], 12);
    assert_eq!(v2["words_removed"], 5);
    assert_eq!(
        v2["words"].as_u64().unwrap(),
        v1["words"].as_u64().unwrap() + 12 - 5
    );
    // The text hash is the one `cat --text` prints.
    let text = exhibit(&archive, &["cat", "--text", "EX-V-000002"]);
    assert_eq!(v2["text_sha256"], sha256_hex(&text.stdout));

    // The same counts as `diff --stat`.
    let d = one_json(&exhibit(
        &archive,
        &["--json", "diff", "EX-V-000001", "EX-V-000002", "--stat"],
    ));
    assert_eq!(d["words_added"], v2["words_added"]);
    assert_eq!(d["words_removed"], v2["words_removed"]);
}

#[test]
fn history_counts_failed_captures_and_says_when_a_version_has_no_text() {
    let server = Server::start(|_| Reply::status(404, "<h1>Not here</h1>"));
    let (dir, archive) = new_archive();
    capture(&archive, &fixture("policy-v1.html"), PRIVACY);
    let out = exhibit(
        &archive,
        &["capture", &server.url("/gone"), "--url", PRIVACY],
    );
    assert_eq!(
        code(&out),
        1,
        "a failed capture is recorded: {}",
        stderr(&out)
    );
    capture(&archive, &png(dir.path()), PRIVACY);

    let text = ok(&exhibit(&archive, &["history", PRIVACY]));
    assert!(text.contains("Captures     3 (1 failed)"), "{text}");
    let v2 = text
        .lines()
        .find(|l| l.starts_with("EX-V-000002"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(v2.contains("no text (image/png)"), "{v2}");
    let png_sha = sha256_hex(&std::fs::read(dir.path().join("pixel.png")).unwrap());
    assert!(v2.contains(&png_sha[..12]), "content hashes compared: {v2}");

    let h = one_json(&exhibit(&archive, &["--json", "history", PRIVACY]));
    assert_eq!(h["failed_captures"], 1);
    let v = &h["versions"][1];
    assert_eq!(v["change"], "content");
    assert_eq!(v["text_sha256"], Value::Null);
    assert_eq!(v["words"], Value::Null);
    assert_eq!(v["words_added"], Value::Null);
    assert_eq!(v["content_sha256"], png_sha);
    assert_eq!(v["media_type"], "image/png");

    // `documents` says when the latest capture failed.
    let docs = ok(&exhibit(&archive, &["documents"]));
    assert!(!docs.contains("FAILED"), "{docs}");
    let out = exhibit(
        &archive,
        &["capture", &server.url("/gone"), "--url", PRIVACY],
    );
    assert_eq!(code(&out), 1);
    let docs = ok(&exhibit(&archive, &["documents"]));
    assert!(docs.contains("[last capture FAILED]"), "{docs}");
    let d = one_json(&exhibit(&archive, &["--json", "documents"]));
    assert_eq!(d["last_capture_ok"], false);
    assert_eq!(d["last_capture"], "EX-C-000004");
    assert_eq!(d["current_version"], "EX-V-000002");
    assert_eq!(d["captures"], 4);
    assert_eq!(d["versions"], 2);
}

#[test]
fn documents_lists_each_document_with_its_counts_and_pages_by_id() {
    let (_dir, archive) = policy_archive();
    let text = ok(&exhibit(&archive, &["documents"]));
    let row = text
        .lines()
        .find(|l| l.starts_with("EX-D-000001"))
        .unwrap_or_else(|| panic!("{text}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // ID, CURRENT, VERSIONS, CAPTURES, LAST CAPTURE, LAST CAPTURED (3 words), URL …
    assert_eq!(
        &cols[..5],
        ["EX-D-000001", "EX-V-000002", "2", "3", "EX-C-000003"]
    );
    assert!(
        row.contains(PRIVACY) && row.contains("Example Corp"),
        "{row}"
    );
    assert!(
        text.contains("EX-D-000002") && text.contains(TERMS),
        "{text}"
    );
    assert!(!text.contains("more:"), "everything fit: {text}");

    let rows = json_lines(&exhibit(&archive, &["--json", "documents"]));
    assert_eq!(rows.len(), 2);
    let d = &rows[0];
    assert_eq!(d["id"], "EX-D-000001");
    assert_eq!(d["url"], PRIVACY);
    assert_eq!(d["entity"], "Example Corp");
    assert_eq!(d["current_version"], "EX-V-000002");
    assert_eq!(d["last_capture"], "EX-C-000003");
    assert_eq!(d["last_capture_ok"], true);
    assert!(d["last_captured_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d["versions"], 2);
    assert_eq!(d["captures"], 3);
    assert_eq!(rows[1]["id"], "EX-D-000002");
    assert_eq!(rows[1]["versions"], 1);
    assert_eq!(rows[1]["captures"], 1);

    // Paging: one at a time, following the printed hint.
    let first = ok(&exhibit(&archive, &["documents", "--limit", "1"]));
    assert!(
        first.contains("EX-D-000001") && !first.contains("EX-D-000002"),
        "{first}"
    );
    let hint = first
        .lines()
        .find_map(|l| l.strip_prefix("… more: exhibit "))
        .unwrap_or_else(|| panic!("no paging hint: {first}"));
    assert_eq!(hint, "documents --limit 1 --after EX-D-000001");
    let args: Vec<&str> = hint.split(' ').collect();
    let second = ok(&exhibit(&archive, &args));
    assert!(
        second.contains("EX-D-000002") && !second.contains("EX-D-000001"),
        "{second}"
    );
    assert!(!second.contains("more:"), "the last page: {second}");
    let page = json_lines(&exhibit(
        &archive,
        &[
            "--json",
            "documents",
            "--limit",
            "1",
            "--after",
            "EX-D-000001",
        ],
    ));
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["id"], "EX-D-000002");
    let rest = ok(&exhibit(&archive, &["documents", "--after", "EX-D-000002"]));
    assert!(!rest.contains("EX-D-"), "{rest}");

    // --after takes a document id.
    let out = exhibit(&archive, &["documents", "--after", "EX-C-000001"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    let (_empty_dir, empty) = new_archive();
    assert!(ok(&exhibit(&empty, &["documents"])).contains("No documents"));
    assert!(json_lines(&exhibit(&empty, &["--json", "documents"])).is_empty());
}

#[test]
fn diff_is_a_unified_diff_of_the_texts() {
    let (_dir, archive) = policy_archive();
    let out = exhibit(&archive, &["diff", "EX-V-000001", "EX-V-000002"]);
    let text = ok(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("--- EX-V-000001 (first seen "),
        "{text}"
    );
    assert!(
        lines[1].starts_with("+++ EX-V-000002 (first seen "),
        "{text}"
    );
    assert!(lines[2].starts_with("@@ -"), "{text}");
    for want in [
        format!("-{OLD_TRAINING}"),
        format!("+{NEW_TRAINING}"),
        format!("-{OLD_UPDATED}"),
        format!("+{NEW_UPDATED}"),
        " # Privacy Policy".to_owned(),
    ] {
        assert!(lines.contains(&want.as_str()), "no {want:?} in\n{text}");
    }
    // Only the changed lines carry a sign.
    let signed = lines[2..]
        .iter()
        .filter(|l| l.starts_with('-') || l.starts_with('+'))
        .count();
    assert_eq!(signed, 4, "{text}");
    assert!(!text.contains('\x1b'), "no colour when piped: {text:?}");

    // Captures, the document (its current version) and hash prefixes name versions too.
    let h = one_json(&exhibit(&archive, &["--json", "history", PRIVACY]));
    let v1_text = h["versions"][0]["text_sha256"].as_str().unwrap()[..12].to_owned();
    for (a, b) in [
        ("EX-C-000002", PRIVACY),
        (v1_text.as_str(), "EX-D-000001"),
        ("EX-C-000001", "EX-C-000003"),
    ] {
        assert_eq!(
            ok(&exhibit(&archive, &["diff", a, b])),
            text,
            "diff {a} {b}"
        );
    }

    // Less context: each change is its own hunk.
    let tight = ok(&exhibit(
        &archive,
        &["diff", "EX-V-000001", "EX-V-000002", "--context", "0"],
    ));
    let hunks: Vec<&str> = tight.lines().filter(|l| l.starts_with("@@")).collect();
    assert_eq!(hunks.len(), 2, "{tight}");
    assert!(!tight.contains(" # Privacy Policy"), "{tight}");
}

#[test]
fn diff_word_marks_the_changed_words() {
    let (_dir, archive) = policy_archive();
    let text = ok(&exhibit(
        &archive,
        &["diff", "EX-V-000001", "EX-V-000002", "--word"],
    ));
    assert!(
        text.contains("Last updated: [-March 3,-]{+April 30,+} 2026"),
        "{text}"
    );
    assert!(
        text.contains(
            "[-We do not-]{+By using the Services, you grant us a licence to+} use your content \
             to train our models."
        ),
        "{text}"
    );
    assert!(!text.contains(&format!("-{OLD_TRAINING}")), "{text}");
    assert!(text.starts_with("--- EX-V-000001"), "{text}");

    let d = one_json(&exhibit(
        &archive,
        &["--json", "diff", "EX-V-000001", "EX-V-000002", "--word"],
    ));
    let words: Vec<(String, String)> = d["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["words"].as_array().unwrap().clone())
        .map(|w| {
            (
                w["tag"].as_str().unwrap().to_owned(),
                w["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        words.contains(&("delete".into(), "We do not".into())),
        "{words:?}"
    );
    assert!(
        words.contains(&(
            "insert".into(),
            "By using the Services, you grant us a licence to".into()
        )),
        "{words:?}"
    );
}

#[test]
fn diff_stat_counts_lines_and_words() {
    let (_dir, archive) = policy_archive();
    let text = ok(&exhibit(
        &archive,
        &["diff", "EX-V-000001", "EX-V-000002", "--stat"],
    ));
    assert_eq!(
        text.trim(),
        "EX-V-000001 → EX-V-000002: 2 lines added, 2 lines removed; 12 words added, 5 words removed"
    );
    let d = one_json(&exhibit(
        &archive,
        &["--json", "diff", "EX-V-000001", "EX-V-000002", "--stat"],
    ));
    assert_eq!(d["identical"], false);
    assert_eq!(d["lines_added"], 2);
    assert_eq!(d["lines_removed"], 2);
    assert_eq!(d["words_added"], 12);
    assert_eq!(d["words_removed"], 5);
    assert!(d.get("hunks").is_none(), "--stat has no hunks: {d}");
}

#[test]
fn diff_json_has_the_hunks_and_their_lines() {
    let (_dir, archive) = policy_archive();
    let d = one_json(&exhibit(
        &archive,
        &[
            "--json",
            "diff",
            "EX-V-000001",
            "EX-V-000002",
            "--context",
            "1",
        ],
    ));
    assert_eq!(d["from"], "EX-V-000001");
    assert_eq!(d["to"], "EX-V-000002");
    assert_eq!(d["identical"], false);
    let hunks = d["hunks"].as_array().unwrap();
    assert_eq!(hunks.len(), 2, "{d}");
    for h in hunks {
        let lines = h["lines"].as_array().unwrap();
        let count = |tags: &[&str]| {
            lines
                .iter()
                .filter(|l| tags.contains(&l["tag"].as_str().unwrap()))
                .count() as u64
        };
        assert_eq!(h["old_len"].as_u64().unwrap(), count(&["equal", "delete"]));
        assert_eq!(h["new_len"].as_u64().unwrap(), count(&["equal", "insert"]));
        assert!(h["old_start"].as_u64().unwrap() >= 1);
    }
    let tagged = |tag: &str| -> Vec<String> {
        hunks
            .iter()
            .flat_map(|h| h["lines"].as_array().unwrap().clone())
            .filter(|l| l["tag"] == tag)
            .map(|l| l["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(tagged("delete"), [OLD_UPDATED, OLD_TRAINING]);
    assert_eq!(tagged("insert"), [NEW_UPDATED, NEW_TRAINING]);
    // The first change is on line 3 of both texts; one line of context before it.
    assert_eq!(hunks[0]["old_start"], 2);
    assert_eq!(hunks[0]["new_start"], 2);
}

#[test]
fn diff_colours_only_when_asked_or_on_a_terminal() {
    let (_dir, archive) = policy_archive();
    let base = ["diff", "EX-V-000001", "EX-V-000002"];
    let run = |extra: &[&str], no_color: bool| -> String {
        let mut cmd = assert_cmd::Command::cargo_bin("exhibit").unwrap();
        cmd.arg("--archive")
            .arg(&archive)
            .args(base)
            .args(extra)
            .env_remove("EXHIBIT_ARCHIVE")
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        ok(&cmd.output().unwrap())
    };
    let always = run(&["--color", "always"], false);
    assert!(
        always.contains(&format!("\x1b[31m-{OLD_TRAINING}")),
        "{always:?}"
    );
    assert!(
        always.contains(&format!("\x1b[32m+{NEW_TRAINING}")),
        "{always:?}"
    );
    // An explicit --color always wins over NO_COLOR (as no-color.org asks).
    assert_eq!(run(&["--color", "always"], true), always);
    let words = run(&["--color", "always", "--word"], false);
    assert!(words.contains("\x1b[31mMarch 3,\x1b[0m"), "{words:?}");
    assert!(words.contains("\x1b[32mApril 30,\x1b[0m"), "{words:?}");
    assert!(
        !words.contains("[-"),
        "colour replaces the markers: {words:?}"
    );
    for (extra, no_color) in [
        (&["--color", "never"][..], false),
        (&["--color", "auto"][..], false),
        (&[][..], true),
        (&["--color", "never", "--word"][..], false),
    ] {
        let plain = run(extra, no_color);
        assert!(!plain.contains('\x1b'), "{extra:?}: {plain:?}");
    }
    let bad = exhibit(
        &archive,
        &["diff", "EX-V-000001", "EX-V-000002", "--color", "pink"],
    );
    assert_eq!(code(&bad), 2);
}

#[test]
fn the_same_text_is_no_difference_and_exits_0() {
    let (_dir, archive) = policy_archive();
    for (a, b) in [
        ("EX-V-000001", "EX-V-000001"),
        // Two captures of V1 (the second differs only in a script nonce).
        ("EX-C-000001", "EX-C-000002"),
    ] {
        let out = exhibit(&archive, &["diff", a, b]);
        let text = ok(&out);
        assert!(text.starts_with("No differences: "), "{text}");
        assert!(text.contains("have the same text"), "{text}");
        let stat = ok(&exhibit(&archive, &["diff", a, b, "--stat"]));
        assert!(stat.starts_with("No differences: "), "{stat}");
        let d = one_json(&exhibit(&archive, &["--json", "diff", a, b]));
        assert_eq!(d["identical"], true);
        assert_eq!(d["words_added"], 0);
        assert_eq!(d["hunks"], serde_json::json!([]));
    }
}

#[test]
fn diff_needs_two_versions_with_text() {
    let (dir, archive) = policy_archive();
    capture(&archive, &png(dir.path()), "https://example.com/img");
    let img = one_json(&exhibit(
        &archive,
        &["--json", "history", "https://example.com/img"],
    ));
    let img_version = img["versions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(img["versions"][0]["media_type"], "image/png");

    for (a, b) in [
        ("EX-V-000001", img_version.as_str()),
        (img_version.as_str(), "EX-V-000001"),
        ("EX-V-000001", "https://example.com/img"),
    ] {
        let out = exhibit(&archive, &["diff", a, b]);
        assert_eq!(code(&out), 2, "diff {a} {b}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no extracted text"),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }

    // Unknown records: as the store says (not found 1, malformed 2).
    let out = exhibit(&archive, &["diff", "EX-V-000001", "EX-V-000099"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("EX-V-000099"), "{}", stderr(&out));
    let out = exhibit(&archive, &["diff", "EX-V-000001", "not-a-record"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = exhibit(
        &archive,
        &["diff", "EX-V-000001", "https://example.com/never"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

#[test]
fn versions_of_different_documents_are_compared_with_a_note() {
    let (_dir, archive) = policy_archive();
    let out = exhibit(&archive, &["diff", "EX-V-000002", TERMS]);
    let text = ok(&out);
    assert!(
        stderr(&out).contains("note") && stderr(&out).contains("EX-D-000002"),
        "{}",
        stderr(&out)
    );
    assert!(
        text.starts_with("--- EX-V-000002 (EX-D-000001, first seen"),
        "{text}"
    );
    assert!(
        text.contains("+++ EX-V-000003 (EX-D-000002, first seen"),
        "{text}"
    );
    assert!(text.contains("+Example Corp Terms"), "{text}");
    let d = one_json(&exhibit(
        &archive,
        &["--json", "diff", "EX-V-000002", TERMS],
    ));
    assert_eq!(d["from_document"], "EX-D-000001");
    assert_eq!(d["to_document"], "EX-D-000002");
}

/// Runs SQL on the archive's catalog, as someone with write access to the directory could.
fn tamper_catalog(archive: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn capture_json(archive: &Path, id: &str) -> Value {
    one_json(&exhibit(archive, &["--json", "show", id]))["capture"].clone()
}

#[test]
fn cat_show_diff_and_history_take_their_facts_from_the_signed_manifests_not_the_catalog() {
    let (_dir, archive) = policy_archive();
    let genuine = ok(&exhibit(&archive, &["cat", "EX-C-000001"]));
    assert_eq!(
        genuine.as_bytes(),
        std::fs::read(fixture("policy-v1.html")).unwrap()
    );
    let genuine_text = ok(&exhibit(&archive, &["cat", "--text", "EX-C-000001"]));
    let terms = capture_json(&archive, "EX-C-000004");
    let terms_sha = terms["sha256"].as_str().unwrap().to_owned();
    // Point capture 1's row at the terms' bytes and text, and version 1 at the terms' text.
    tamper_catalog(
        &archive,
        "UPDATE captures SET (sha256, blake3, size, media_type, text_sha256, text_blake3, text_size) = \
           (SELECT sha256, blake3, size, media_type, text_sha256, text_blake3, text_size FROM captures WHERE num = 4) \
         WHERE num = 1; \
         UPDATE versions SET text_sha256 = (SELECT text_sha256 FROM captures WHERE num = 4) WHERE num = 1;",
    );
    let conn = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    let lie: String = conn
        .query_row("SELECT sha256 FROM captures WHERE num = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(lie, terms_sha, "the catalog now lies");

    // `show` and `list` state nothing the signed manifest does not say.
    for args in [
        vec!["show", "EX-C-000001"],
        vec!["--json", "show", "EX-C-000001"],
        vec!["list"],
        vec!["--json", "list"],
    ] {
        let out = exhibit(&archive, &args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stdout(&out));
        assert!(
            !stdout(&out).contains(&terms_sha[..16]),
            "{args:?}: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("EX-C-000001: the catalog's content sha256 differs"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    // `cat` writes the bytes the signed manifest names, whatever the catalog says.
    let out = exhibit(&archive, &["cat", "EX-C-000001"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), genuine, "cat printed another capture's bytes");
    let out = exhibit(&archive, &["cat", "--text", "EX-C-000001"]);
    assert_eq!(stdout(&out), genuine_text);
    // A version's text is its opening capture's signed text.
    assert_eq!(
        stdout(&exhibit(&archive, &["cat", "--text", "EX-V-000001"])),
        genuine_text
    );

    // `show` by the terms' hash shows the capture whose signed manifest carries it, and says
    // the catalog is wrong about the other.
    let out = exhibit(&archive, &["show", &terms_sha[..16]]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Capture EX-C-000004"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("EX-C-000001"), "{}", stdout(&out));
    assert!(stderr(&out).contains("catalog"), "{}", stderr(&out));
    // By a hash no signed manifest carries for it, nothing is shown.
    let out = exhibit(&archive, &["cat", &terms_sha[..16]]);
    assert_eq!(
        stdout(&out).as_bytes(),
        std::fs::read(fixture("terms.txt")).unwrap()
    );

    // diff and history read texts through the signed text hashes: the catalog's wrong text
    // hash for V1 is an error (exit 1), not a diff of the wrong text.
    for args in [
        vec!["diff", "EX-V-000001", "EX-V-000002"],
        vec!["history", PRIVACY],
    ] {
        let out = exhibit(&archive, &args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains("signed manifest"), "{}", stderr(&out));
        assert!(
            !stdout(&out).contains("Terms"),
            "{args:?} printed the terms: {}",
            stdout(&out)
        );
    }
}

/// Writes a valid zstd object of `bytes` where the object `sha` is stored.
fn replace_object(archive: &Path, sha: &str, bytes: &[u8]) {
    let path = archive
        .join("objects")
        .join(&sha[..2])
        .join(format!("{sha}.zst"));
    assert!(path.is_file(), "{}", path.display());
    std::fs::write(&path, zstd::encode_all(bytes, 3).unwrap()).unwrap();
}

/// Pseudo-random bytes (xorshift), so that they do not compress away.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}

#[test]
fn cat_writes_not_one_byte_of_a_damaged_object() {
    let (dir, archive) = policy_archive();
    // Small (checked in memory) and large (checked through a temporary file).
    let big = dir.path().join("big.bin");
    std::fs::write(&big, noise(17 << 20, 7)).unwrap();
    capture(&archive, &big, "https://example.com/big.bin");
    let big_sha = capture_json(&archive, "EX-C-000005")["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = exhibit(&archive, &["cat", "EX-C-000005"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        out.stdout == std::fs::read(&big).unwrap(),
        "the large object round-trips"
    );

    let small_sha = capture_json(&archive, "EX-C-000004")["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    replace_object(
        &archive,
        &small_sha,
        b"Terms: we may change anything at any time.\n",
    );
    replace_object(&archive, &big_sha, &noise(17 << 20, 8));
    for id in ["EX-C-000004", "EX-C-000005"] {
        let out = exhibit(&archive, &["cat", id]);
        assert_eq!(code(&out), 1, "{id}: {}", stderr(&out));
        assert!(
            out.stdout.is_empty(),
            "{id}: {} bytes of a damaged object reached stdout",
            out.stdout.len()
        );
        assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    }
}

/// Class 6, document level (found by attacking the fixed build): a document's entity, title,
/// counts and versions' first and last sightings shown by `history`, `show` and `documents`
/// are what the signed manifests of its captures state, walked along their hash chain; a
/// catalog that says otherwise fails the command (exit 1) and is never shown.
#[test]
fn document_facts_come_from_the_signed_capture_chain_not_the_catalog() {
    let (_dir, archive) = policy_archive();
    let commands: [&[&str]; 8] = [
        &["history", PRIVACY],
        &["--json", "history", PRIVACY],
        &["show", "EX-D-000001"],
        &["show", "EX-V-000001"],
        &["--json", "show", "EX-V-000001"],
        &["documents"],
        &["--json", "documents"],
        &["show", "EX-V-000002"],
    ];
    for args in commands {
        ok(&exhibit(&archive, args));
    }
    for (what, sql) in [
        (
            "entity",
            "UPDATE documents SET entity = 'Evil Corp', title = 'Evil Corp' WHERE num = 1",
        ),
        (
            "first seen",
            "UPDATE versions SET first_seen = '2019-01-01T00:00:00Z' WHERE num = 1",
        ),
        (
            "last seen",
            "UPDATE versions SET last_seen = '2031-01-01T00:00:00Z' WHERE num = 1",
        ),
        ("captures", "UPDATE versions SET captures = 7 WHERE num = 1"),
    ] {
        let (_copy_dir, copy) = copy_archive(&archive);
        tamper_catalog(&copy, sql);
        for args in commands {
            let out = exhibit(&copy, args);
            assert_eq!(code(&out), 1, "{what}: {args:?}: {}", stdout(&out));
            for lie in ["Evil Corp", "2019-01-01", "2031-01-01"] {
                assert!(
                    !stdout(&out).contains(lie),
                    "{what}: {args:?} showed {lie}: {}",
                    stdout(&out)
                );
            }
            assert!(
                stderr(&out).contains("differs from what the signed manifests"),
                "{what}: {args:?}: {}",
                stderr(&out)
            );
        }
    }
}

/// A copy of an archive in a directory of its own.
fn copy_archive(archive: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("archive");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(archive)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    (dir, copy)
}
