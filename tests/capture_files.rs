//! Capturing files and stdin: versions, signatures (checked by openssl), objects (read back by
//! zstd), look-ups by id and hash prefix, and bad input.

use std::process::Command;

use crate::common::*;

const URL: &str = "https://example.com/privacy";

fn capture_json(archive: &std::path::Path, file: &std::path::Path) -> serde_json::Value {
    let out = exhibit(
        archive,
        &[
            "--json",
            "capture",
            file.to_str().unwrap(),
            "--url",
            URL,
            "--entity",
            "Example Corp",
        ],
    );
    ok(&out);
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    lines.remove(0)
}

#[test]
fn versions_follow_the_text_not_the_bytes() {
    let (_dir, archive) = new_archive();
    let first = capture_json(&archive, &fixture("policy-v1.html"));
    assert_eq!(first["capture_id"], "EX-C-000001");
    assert_eq!(first["document_id"], "EX-D-000001");
    assert_eq!(first["version_id"], "EX-V-000001");
    assert_eq!(first["changed"], true);
    let v1 = std::fs::read(fixture("policy-v1.html")).unwrap();
    assert_eq!(first["sha256"], sha256_hex(&v1));
    assert!(first["captured_at"].as_str().unwrap().ends_with('Z'));

    // Different bytes (a rotated nonce in a script), same text: the version is confirmed.
    let noise = capture_json(&archive, &fixture("policy-v1-new-nonce.html"));
    assert_ne!(noise["sha256"], first["sha256"]);
    assert_eq!(noise["text_sha256"], first["text_sha256"]);
    assert_eq!(noise["version_id"], "EX-V-000001");
    assert_eq!(noise["changed"], false);

    // The policy text changes: a new version.
    let second = capture_json(&archive, &fixture("policy-v2.html"));
    assert_eq!(second["version_id"], "EX-V-000002");
    assert_eq!(second["changed"], true);
    assert_eq!(second["previous_version_id"], "EX-V-000001");
    assert_eq!(second["document_id"], "EX-D-000001");

    // The same again: unchanged, same version.
    let third = capture_json(&archive, &fixture("policy-v2.html"));
    assert_eq!(third["version_id"], "EX-V-000002");
    assert_eq!(third["changed"], false);
    assert_eq!(third["capture_id"], "EX-C-000004");

    let history = &json_lines(&exhibit(&archive, &["--json", "history", URL]))[0];
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["captures"], 2);
    assert_eq!(versions[1]["captures"], 2);
    assert_eq!(history["document"]["title"], "Example Corp Privacy Policy");
    assert_eq!(history["document"]["entity"], "Example Corp");
    let text = ok(&exhibit(&archive, &["history", "EX-D-000001"]));
    assert!(text.contains("EX-V-000002"), "{text}");
}

#[test]
fn manifests_chain_versions_and_captures() {
    let (_dir, archive) = new_archive();
    let a = capture_json(&archive, &fixture("policy-v1.html"));
    let b = capture_json(&archive, &fixture("policy-v2.html"));
    let c = capture_json(&archive, &fixture("policy-v2.html"));
    let read = |v: &serde_json::Value| -> serde_json::Value {
        let bytes = std::fs::read(v["manifest_path"].as_str().unwrap()).unwrap();
        assert_eq!(sha256_hex(&bytes), v["manifest_sha256"].as_str().unwrap());
        serde_json::from_slice(&bytes).unwrap()
    };
    let (ma, mb, mc) = (read(&a), read(&b), read(&c));
    assert_eq!(ma["type"], "exhibit.capture/v1");
    assert_eq!(ma["origin"], "test.example");
    assert_eq!(ma["version"]["previous"], serde_json::Value::Null);
    assert_eq!(mb["version"]["change"], "new");
    assert_eq!(mb["version"]["previous"]["id"], "EX-V-000001");
    assert_eq!(
        mb["version"]["previous"]["manifest_sha256"],
        a["manifest_sha256"]
    );
    assert_eq!(mc["version"]["change"], "unchanged");
    assert_eq!(
        mc["version"]["opened_by"]["manifest_sha256"],
        b["manifest_sha256"]
    );
    assert_eq!(
        mc["previous_capture"]["manifest_sha256"],
        b["manifest_sha256"]
    );
    assert_eq!(ma["method"], "file");
    assert!(
        ma["file"]["path"]
            .as_str()
            .unwrap()
            .ends_with("policy-v1.html")
    );
    assert_eq!(ma["content"]["media_type"], "text/html");
    assert_eq!(ma["text"]["extractor"]["name"], "exhibit-text");
}

#[test]
fn openssl_verifies_a_stored_manifest_and_rejects_an_altered_one() {
    if !have("openssl") {
        return;
    }
    let (dir, archive) = new_archive();
    let c = capture_json(&archive, &fixture("policy-v1.html"));
    let manifest = std::path::PathBuf::from(c["manifest_path"].as_str().unwrap());
    let sig = manifest.with_extension("json.sig");
    assert_eq!(std::fs::metadata(&sig).unwrap().len(), 64);
    let public = archive.join("keys/signing.pub.pem");
    let verify = |m: &std::path::Path| {
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&public)
            .arg("-rawin")
            .arg("-in")
            .arg(m)
            .arg("-sigfile")
            .arg(&sig)
            .output()
            .unwrap()
    };
    let good = verify(&manifest);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("Signature Verified Successfully"));

    let altered = dir.path().join("altered.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&altered, text.replace("Example Corp", "Example Corq")).unwrap();
    assert!(!verify(&altered).status.success());

    // `exhibit show` checks the signature too and says so when it fails.
    std::fs::write(&sig, [0u8; 64]).unwrap();
    let out = exhibit(&archive, &["show", "EX-C-000001"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("INVALID"));
}

#[test]
fn stock_zstd_reads_objects_back_to_the_recorded_hash() {
    if !have("zstd") {
        return;
    }
    let (_dir, archive) = new_archive();
    let c = capture_json(&archive, &fixture("policy-v2.html"));
    for key in ["sha256", "text_sha256"] {
        let h = c[key].as_str().unwrap();
        let object = archive
            .join("objects")
            .join(&h[..2])
            .join(format!("{h}.zst"));
        let out = Command::new("zstd")
            .arg("-dc")
            .arg(&object)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sha256_hex(&out.stdout), h);
    }
}

#[test]
fn show_and_cat_by_id_and_hash_prefix() {
    let (_dir, archive) = new_archive();
    let c = capture_json(&archive, &fixture("policy-v1.html"));
    let sha = c["sha256"].as_str().unwrap();
    let bytes = std::fs::read(fixture("policy-v1.html")).unwrap();

    let shown = ok(&exhibit(&archive, &["show", &sha[..16]]));
    assert!(shown.contains("EX-C-000001"), "{shown}");
    assert!(shown.contains(sha), "{shown}");
    assert!(shown.contains("valid Ed25519 signature"), "{shown}");
    // Prefixes as filings print them.
    ok(&exhibit(&archive, &["show", &format!("{}…", &sha[..16])]));
    ok(&exhibit(
        &archive,
        &["show", &format!("{}...", &sha[..16].to_uppercase())],
    ));
    let j = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0];
    assert_eq!(j["signature_valid"], true);
    assert_eq!(j["manifest"]["id"], "EX-C-000001");

    let out = exhibit(&archive, &["cat", &sha[..16]]);
    assert_eq!(out.stdout, bytes);
    let out = exhibit(&archive, &["cat", "EX-C-000001"]);
    assert_eq!(out.stdout, bytes);
    let text = exhibit(&archive, &["cat", "EX-C-000001", "--text"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("# Privacy Policy"), "{text}");
    assert!(text.contains("We do not use your content"), "{text}");
    assert!(!text.contains("analytics"), "script leaked: {text}");
    assert_eq!(
        sha256_hex(text.as_bytes()),
        c["text_sha256"].as_str().unwrap()
    );
    // The text's own hash finds it too; a version id gives its text.
    let vt = exhibit(&archive, &["cat", "EX-V-000001"]);
    assert_eq!(vt.stdout, bytes);

    // Same bytes captured twice are one hash, not an ambiguity.
    capture_json(&archive, &fixture("policy-v1.html"));
    let shown = ok(&exhibit(&archive, &["show", &sha[..16]]));
    assert!(shown.contains("also in EX-C-000002"), "{shown}");
}

#[test]
fn same_hash_names_each_other_capture_once_and_never_the_one_shown() {
    // A plain-text capture whose text is its bytes: content and text share one SHA-256, so the
    // catalog matches each capture twice for that hash.
    let (dir, archive) = new_archive();
    let file = dir.path().join("terms.txt");
    std::fs::write(&file, "We keep your data for 30 days.\n").unwrap();
    let c = capture_json(&archive, &file);
    let sha = c["sha256"].as_str().unwrap();
    assert_eq!(c["text_sha256"].as_str(), Some(sha), "precondition: {c}");
    capture_json(&archive, &file);
    let shown = ok(&exhibit(&archive, &["show", sha]));
    let line = shown
        .lines()
        .find(|l| l.starts_with("Same hash"))
        .unwrap_or_else(|| panic!("no Same hash line: {shown}"));
    assert_eq!(line, "Same hash  also in EX-C-000002", "{shown}");
}

#[test]
fn ambiguous_prefixes_list_candidates_and_fail() {
    // Find two payloads whose SHA-256s share the first 8 hex digits (a birthday search over
    // ~2^16 candidates), capture both, and look them up by that prefix.
    let mut seen = std::collections::HashMap::new();
    let (a, b) = (0u64..)
        .find_map(|i| {
            let body = format!("policy body {i}\n");
            let h = sha256_hex(body.as_bytes());
            seen.insert(h[..8].to_owned(), body.clone())
                .map(|prev| (prev, body))
        })
        .unwrap();
    let (dir, archive) = new_archive();
    for (i, body) in [a, b].iter().enumerate() {
        let f = dir.path().join(format!("{i}.txt"));
        std::fs::write(&f, body).unwrap();
        ok(&exhibit(&archive, &["capture", f.to_str().unwrap()]));
    }
    let prefix = &sha256_hex(std::fs::read(dir.path().join("0.txt")).unwrap().as_slice())[..8];
    let out = exhibit(&archive, &["show", prefix]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("EX-C-000001") && err.contains("EX-C-000002"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1);
    let out = exhibit(&archive, &["cat", prefix]);
    assert_eq!(code(&out), 2);
}

#[test]
fn bad_lookups_say_what_is_wrong() {
    let (_dir, archive) = new_archive();
    for (query, want_code, want) in [
        ("4abc7ff", 2, "8 to 64"),
        ("EX-C-000009", 1, "no such capture"),
        ("XY-C-000001", 1, "start with EX-"),
        ("EX-Q-000001", 2, "unknown record kind"),
        ("4abc7ff0d7779bee", 1, "no record"),
        ("not-a-thing!", 2, "record id"),
    ] {
        let out = exhibit(&archive, &["show", query]);
        assert_eq!(code(&out), want_code, "{query}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{query}: {}", stderr(&out));
    }
}

#[test]
fn stdin_needs_a_url_and_then_captures_exactly_its_bytes() {
    let (_dir, archive) = new_archive();
    let data = b"Plain terms.\r\nLine two.\n";
    let out = exhibit_stdin(&archive, &["capture", "-"], Some(data));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--url"), "{}", stderr(&out));
    let out = exhibit_stdin(
        &archive,
        &[
            "--json",
            "capture",
            "-",
            "--url",
            "HTTPS://Example.COM/terms#top",
        ],
        Some(data),
    );
    let c = &json_lines(&out)[0];
    assert_eq!(c["sha256"], sha256_hex(data));
    assert_eq!(c["url"], "https://example.com/terms");
    let cat = exhibit(&archive, &["cat", "EX-C-000001"]);
    assert_eq!(cat.stdout, data);
    let text = exhibit(&archive, &["cat", "EX-C-000001", "--text"]);
    assert_eq!(text.stdout, b"Plain terms.\nLine two.\n");
}

#[test]
fn missing_files_and_bad_urls_exit_2_and_record_nothing() {
    let (dir, archive) = new_archive();
    let missing = dir.path().join("missing.html");
    let out = exhibit(&archive, &["capture", missing.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("missing.html") && err.contains("no such file"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let f = fixture("terms.txt");
    for args in [
        vec!["capture", f.to_str().unwrap(), "--url", "not a url"],
        vec!["capture", "ftp://example.com/x"],
        vec!["capture", "http://"],
        vec!["capture", dir.path().to_str().unwrap()],
    ] {
        let out = exhibit(&archive, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    assert!(
        ok(&exhibit(&archive, &["--json", "list"]))
            .trim()
            .is_empty()
    );
}

#[test]
fn a_bad_source_among_good_ones_is_reported_and_the_rest_captured() {
    let (dir, archive) = new_archive();
    let missing = dir.path().join("missing.html");
    let f = fixture("terms.txt");
    let out = exhibit(
        &archive,
        &[
            "--json",
            "capture",
            f.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json_lines(&out).len(), 1);
    assert!(stderr(&out).contains("missing.html"));
}

#[test]
fn file_url_defaults_to_the_absolute_path() {
    let (_dir, archive) = new_archive();
    let f = fixture("terms.txt");
    let c = &json_lines(&exhibit(
        &archive,
        &["--json", "capture", f.to_str().unwrap()],
    ))[0];
    let url = c["url"].as_str().unwrap();
    assert!(
        url.starts_with("file:///") && url.ends_with("tests/fixtures/terms.txt"),
        "{url}"
    );
    let list = ok(&exhibit(&archive, &["list"]));
    assert!(list.contains("EX-C-000001"), "{list}");
}

#[test]
fn list_pages_and_offers_more_only_when_there_is_more() {
    let (_dir, archive) = new_archive();
    let f = fixture("terms.txt");
    for _ in 0..3 {
        ok(&exhibit(
            &archive,
            &[
                "capture",
                f.to_str().unwrap(),
                "--url",
                "https://example.com/t",
            ],
        ));
    }
    let page = ok(&exhibit(&archive, &["list", "--limit", "2"]));
    assert!(
        page.contains("EX-C-000003") && page.contains("EX-C-000002"),
        "{page}"
    );
    assert!(page.contains("exhibit list --before EX-C-000002"), "{page}");
    let last = ok(&exhibit(
        &archive,
        &["list", "--limit", "1", "--before", "EX-C-000002"],
    ));
    assert!(last.contains("EX-C-000001"), "{last}");
    assert!(
        !last.contains("more:"),
        "the last page offers no more: {last}"
    );
    let exact = ok(&exhibit(&archive, &["list", "--limit", "3"]));
    assert!(!exact.contains("more:"), "{exact}");
    assert_eq!(
        json_lines(&exhibit(&archive, &["--json", "list", "--limit", "2"])).len(),
        2
    );
}
