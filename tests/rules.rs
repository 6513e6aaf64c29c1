//! Extraction rules per document, re-extraction, and change tracking on real snapshots: the
//! page around a policy changes without a new version; the policy changing makes one.

use std::path::Path;

use crate::common::*;

const URL: &str = "https://example.com/privacy";

/// A policy page: `policy` inside <main>, a script whose content varies, and a footer inside
/// <main> (so the built-in extraction keeps it: only a rule removes it).
fn page(policy: &str, script: &str, footer: &str) -> String {
    format!(
        "<!doctype html><html><head><title>Example Privacy</title>\
         <script>window.build = \"{script}\";</script></head><body>\
         <nav><a href=\"/\">Home</a></nav><main><h1>Privacy Policy</h1><p>{policy}</p>\
         <footer class=\"site-footer\"><p>{footer}</p></footer></main></body></html>"
    )
}

fn capture_page(archive: &Path, dir: &Path, name: &str, html: &str, extra: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, html).unwrap();
    let mut args = vec!["--json", "capture", path.to_str().unwrap(), "--url", URL];
    args.extend_from_slice(extra);
    let out = exhibit(archive, &args);
    ok(&out);
    let line = &json_lines(&out)[0];
    line["version_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_removed_footer_and_script_changes_are_not_a_new_version_but_the_policy_is() {
    let (dir, archive) = new_archive();
    let d = dir.path();
    let v1 = capture_page(
        &archive,
        d,
        "a.html",
        &page(
            "We keep data for 30 days.",
            "build-111",
            "Generated 10:00 by node-7",
        ),
        &["--remove", "footer.site-footer"],
    );
    // Only the script and the removed footer differ: the same version.
    let v2 = capture_page(
        &archive,
        d,
        "b.html",
        &page(
            "We keep data for 30 days.",
            "build-222",
            "Generated 11:00 by node-3",
        ),
        &[],
    );
    assert_eq!(v1, v2, "script and footer changes must not open a version");
    let text = ok(&exhibit(&archive, &["cat", "--text", "EX-C-000002"]));
    assert!(text.contains("We keep data for 30 days."), "{text}");
    for absent in ["Generated", "node-3", "build-222", "window.build"] {
        assert!(
            !text.contains(absent),
            "{absent:?} leaked into the text:\n{text}"
        );
    }
    // The manifest names the rules in force.
    let show = json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000002"]));
    assert_eq!(
        show[0]["manifest"]["text"]["extractor"]["rules"]["remove"][0],
        "footer.site-footer"
    );
    // The policy changing is a new version.
    let v3 = capture_page(
        &archive,
        d,
        "c.html",
        &page("We keep data for 90 days.", "build-333", "Generated 12:00"),
        &[],
    );
    assert_ne!(v2, v3);
    let history = ok(&exhibit(&archive, &["history", URL]));
    assert!(history.contains(&v1) && history.contains(&v3), "{history}");
}

#[test]
fn rules_are_shown_changed_cleared_and_validated() {
    let (dir, archive) = new_archive();
    capture_page(&archive, dir.path(), "a.html", &page("P.", "s", "f"), &[]);
    let out = ok(&exhibit(&archive, &["document", "rules", URL]));
    assert!(out.contains("none"), "{out}");
    let out = ok(&exhibit(
        &archive,
        &[
            "document",
            "rules",
            "EX-D-000001",
            "--select",
            "main",
            "--remove",
            "nav",
        ],
    ));
    assert!(
        out.contains("--select \"main\"") && out.contains("Changed"),
        "{out}"
    );
    // Setting the same rules again records nothing new.
    let out = ok(&exhibit(
        &archive,
        &[
            "document",
            "rules",
            "EX-D-000001",
            "--select",
            "main",
            "--remove",
            "nav",
        ],
    ));
    assert!(out.contains("Unchanged"), "{out}");
    let j = json_lines(&exhibit(
        &archive,
        &["--json", "document", "rules", "EX-D-000001", "--clear"],
    ));
    assert_eq!(j[0]["changed"], true);
    assert_eq!(j[0]["history"].as_array().unwrap().len(), 2);
    assert_eq!(j[0]["rules"]["select"].as_array().unwrap().len(), 0);
    for bad in ["main[", "", "::nonsense("] {
        let out = exhibit(
            &archive,
            &["document", "rules", "EX-D-000001", "--select", bad],
        );
        assert_eq!(code(&out), 2, "{bad:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--select"), "{}", stderr(&out));
    }
    let f = dir.path().join("x.html");
    std::fs::write(&f, "<p>x</p>").unwrap();
    let out = exhibit(
        &archive,
        &[
            "capture",
            f.to_str().unwrap(),
            "--url",
            URL,
            "--remove",
            "div[",
        ],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        json_lines(&exhibit(&archive, &["--json", "list"])).len(),
        1,
        "a bad rule records nothing"
    );
}

#[test]
fn reextract_reports_merges_records_a_signed_view_and_never_rewrites_history() {
    let (dir, archive) = new_archive();
    let d = dir.path();
    // Without rules the footer changes make three versions.
    let a = capture_page(
        &archive,
        d,
        "a.html",
        &page("Same.", "1", "Footer one"),
        &[],
    );
    let b = capture_page(
        &archive,
        d,
        "b.html",
        &page("Same.", "2", "Footer two"),
        &[],
    );
    let c = capture_page(
        &archive,
        d,
        "c.html",
        &page("Same.", "3", "Footer three"),
        &[],
    );
    assert!(a != b && b != c, "{a} {b} {c}");
    let manifest = archive.join("manifests/C/000/EX-C-000002.json");
    let before = std::fs::read(&manifest).unwrap();

    ok(&exhibit(
        &archive,
        &["document", "rules", URL, "--remove", "footer"],
    ));
    let dry = ok(&exhibit(&archive, &["reextract", URL, "--dry-run"]));
    assert!(dry.contains("MERGE") && dry.contains("Dry run"), "{dry}");
    let out = exhibit(&archive, &["show", "EX-R-000001"]);
    assert_ne!(code(&out), 0, "a dry run records nothing");

    let j = json_lines(&exhibit(&archive, &["--json", "reextract", URL]));
    let r = &j[0]["reextraction"];
    assert_eq!(r["versions"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        r["versions"][0]["old_versions"].as_array().unwrap().len(),
        3
    );
    assert_eq!(r["captures"].as_array().unwrap().len(), 3);
    assert_eq!(j[0]["record"]["id"], "EX-R-000001");
    // Signed history is untouched; the record is signed and logged.
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    let show = ok(&exhibit(&archive, &["show", "EX-R-000001"]));
    assert!(show.contains("valid Ed25519 signature"), "{show}");
    ok(&exhibit(&archive, &["log", "prove", "EX-R-000001"]));
    if have("openssl") {
        let path = archive.join("manifests/R/000/EX-R-000001.json");
        let status = std::process::Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(archive.join("keys/signing.pub.pem"))
            .args(["-rawin", "-in"])
            .arg(&path)
            .arg("-sigfile")
            .arg(path.with_extension("json.sig"))
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
    }
    // Later captures compare with the re-extracted text: the same policy with yet another
    // footer confirms the current version.
    let e = capture_page(
        &archive,
        d,
        "e.html",
        &page("Same.", "4", "Footer four"),
        &[],
    );
    assert_eq!(e, c, "the current version is confirmed under the new rules");
}

/// Six real snapshots of one policy, captured in date order: at least two versions, and a
/// diff of two of them shows changed lines.
#[test]
fn real_snapshots_give_a_history_and_a_diff() {
    let Some(corpus) = corpus() else {
        eprintln!("SKIP: ../shared/corpus is absent");
        return;
    };
    let index = std::fs::read_to_string(corpus.join("INDEX.tsv")).unwrap();
    let mut by_doc: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() > 5 && f[0] == "html" {
            by_doc
                .entry(format!("{}/{}", f[1], f[2]))
                .or_default()
                .push((f[3].to_owned(), f[5].to_owned()));
        }
    }
    let (name, mut snaps) = by_doc
        .into_iter()
        .max_by_key(|(_, v)| v.len())
        .expect("the corpus has html snapshots");
    snaps.sort();
    snaps.truncate(6);
    assert!(snaps.len() >= 2, "{name}");
    let (_dir, archive) = new_archive();
    for (_, path) in &snaps {
        let p = corpus.join(path);
        ok(&exhibit(
            &archive,
            &[
                "capture",
                p.to_str().unwrap(),
                "--url",
                "https://policy.example/real",
                "--entity",
                &name,
            ],
        ));
    }
    let j = json_lines(&exhibit(
        &archive,
        &["--json", "history", "https://policy.example/real"],
    ));
    let versions = j[0]["versions"].as_array().unwrap();
    assert!(versions.len() >= 2, "{name}: {}", j[0]);
    let (first, last) = (
        versions[0]["id"].as_str().unwrap(),
        versions[versions.len() - 1]["id"].as_str().unwrap(),
    );
    let diff = ok(&exhibit(
        &archive,
        &["diff", first, last, "--color", "never"],
    ));
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && !l.starts_with("+++"))
            || diff
                .lines()
                .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "{name}: {diff}"
    );
}

/// The same bytes captured twice in one batch are extracted once — but only under the same
/// rules: a document with its own rules gets its own text, even right after another document
/// with the same bytes.
#[test]
fn one_batch_extracts_the_same_bytes_again_under_other_rules() {
    let (dir, archive) = new_archive();
    let d = dir.path();
    let path = d.join("page.html");
    let html = page(
        "We keep data for 30 days.",
        "build-1",
        "Generated by node-7",
    );
    std::fs::write(&path, &html).unwrap();
    let file = path.to_str().unwrap();
    let (plain, ruled) = ("https://example.com/a", "https://example.com/b");
    ok(&exhibit(&archive, &["capture", file, "--url", plain]));
    let args = [
        "capture",
        file,
        "--url",
        ruled,
        "--remove",
        "footer.site-footer",
    ];
    ok(&exhibit(&archive, &args));
    let list = d.join("list.tsv");
    std::fs::write(
        &list,
        format!("{file}\t{plain}\n{file}\t{ruled}\n{file}\t{plain}\n"),
    )
    .unwrap();
    let out = capture_list_in_order(&archive, &list);
    assert_eq!(out.len(), 3);
    let text_of = |id: &str| ok(&exhibit(&archive, &["cat", "--text", id]));
    let ids: Vec<&str> = out
        .iter()
        .map(|c| c["capture_id"].as_str().unwrap())
        .collect();
    assert!(text_of(ids[0]).contains("Generated by node-7"));
    assert!(
        !text_of(ids[1]).contains("Generated by node-7"),
        "the rule applies"
    );
    assert_eq!(text_of(ids[2]), text_of(ids[0]));
    let text_sha = |id: &str| {
        let show = json_lines(&exhibit(&archive, &["--json", "show", id]));
        show[0]["manifest"]["text"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(text_sha(ids[0]), text_sha(ids[1]));
    assert_eq!(text_sha(ids[0]), text_sha(ids[2]));
    ok(&exhibit(&archive, &["fsck", "--full"]));
}
