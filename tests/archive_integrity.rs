//! An archive stays consistent: its identity cannot drift, look-ups by full hashes work, output
//! failures never cost captures, and bad configuration is refused without a panic.

use crate::common::*;

#[test]
fn changing_prefix_or_origin_of_an_existing_archive_is_refused() {
    let (_dir, archive) = new_archive();
    let f = fixture("terms.txt");
    ok(&exhibit(&archive, &["capture", f.to_str().unwrap()]));
    let config = archive.join("exhibit.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    for (from, to) in [
        ("prefix = \"EX\"", "prefix = \"ZZ\""),
        ("origin = \"test.example\"", "origin = \"other.example\""),
    ] {
        std::fs::write(&config, original.replace(from, to)).unwrap();
        let out = exhibit(&archive, &["list"]);
        assert_eq!(code(&out), 2, "{to}");
        assert!(stderr(&out).contains("cannot change"), "{}", stderr(&out));
    }
    std::fs::write(&config, original).unwrap();
    ok(&exhibit(&archive, &["list"]));
}

#[test]
fn bad_configuration_is_refused_with_its_line() {
    let (_dir, archive) = new_archive();
    let config = archive.join("exhibit.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    for (edit, want) in [
        (
            original.replace("user_agent = \"", "user_agent = \"evil\\r\\nX-Injected: 1 "),
            "user_agent",
        ),
        (
            original.replace("timeout_secs = 30", "timeout_secs = 0"),
            "timeout_secs",
        ),
        (format!("{original}\nbogus = 1\n"), "line"),
        (original.replace("format = 1", "format = 2"), "format"),
    ] {
        std::fs::write(&config, edit).unwrap();
        let f = fixture("terms.txt");
        let out = exhibit(&archive, &["capture", f.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{want}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{want}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
        assert_eq!(stderr(&out).trim().lines().count(), 1);
    }
}

#[test]
fn the_full_hash_of_a_plain_text_capture_finds_it() {
    // For plain text already in normal form, the content and text hashes are one value.
    let (dir, archive) = new_archive();
    let f = dir.path().join("plain.txt");
    std::fs::write(&f, "Plain terms.\n").unwrap();
    let c = &json_lines(&exhibit(
        &archive,
        &["--json", "capture", f.to_str().unwrap()],
    ))[0];
    assert_eq!(c["sha256"], c["text_sha256"]);
    let full = c["sha256"].as_str().unwrap();
    let shown = ok(&exhibit(&archive, &["show", full]));
    assert!(shown.contains("EX-C-000001"), "{shown}");
}

#[test]
fn a_closed_output_pipe_never_costs_a_capture() {
    let (dir, archive) = new_archive();
    let mut files = Vec::new();
    for i in 0..3 {
        let f = dir.path().join(format!("{i}.txt"));
        std::fs::write(&f, format!("doc {i}\n")).unwrap();
        files.push(f.display().to_string());
    }
    let bin = assert_cmd::cargo::cargo_bin("exhibit");
    let script = format!(
        "'{}' --archive '{}' capture {} | true",
        bin.display(),
        archive.display(),
        files
            .iter()
            .map(|f| format!("'{f}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = json_lines(&exhibit(&archive, &["--json", "list"]));
    assert_eq!(listed.len(), 3);
}

#[test]
fn an_orphan_manifest_from_a_crash_is_never_overwritten_or_its_id_reused() {
    let (_dir, archive) = new_archive();
    // Simulate a batch that wrote its signed manifest and crashed before committing.
    let orphan = archive.join("manifests/C/000/EX-C-000001.json");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"{\"orphan\":true}").unwrap();
    let f = fixture("terms.txt");
    let c = &json_lines(&exhibit(
        &archive,
        &["--json", "capture", f.to_str().unwrap()],
    ))[0];
    assert_eq!(c["capture_id"], "EX-C-000002");
    assert_eq!(std::fs::read(&orphan).unwrap(), b"{\"orphan\":true}");
}

#[test]
fn a_batch_skips_every_leftover_name_a_manifest_or_a_lone_signature() {
    let (dir, archive) = new_archive();
    let shard = archive.join("manifests/C/000");
    std::fs::create_dir_all(&shard).unwrap();
    // A crash left a manifest at number 1 and only a signature at number 3.
    let leftovers = [
        (shard.join("EX-C-000001.json"), &b"{\"orphan\":1}"[..]),
        (shard.join("EX-C-000003.json.sig"), &[7u8; 64][..]),
    ];
    for (path, bytes) in &leftovers {
        std::fs::write(path, bytes).unwrap();
    }
    let list = dir.path().join("list");
    let mut lines = String::new();
    for i in 0..4 {
        let f = dir.path().join(format!("doc-{i}.txt"));
        std::fs::write(&f, format!("document {i}\n")).unwrap();
        lines.push_str(&format!("{}\n", f.display()));
    }
    std::fs::write(&list, lines).unwrap();
    let ids: Vec<String> = capture_list_in_order(&archive, &list)
        .iter()
        .map(|c| c["capture_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["EX-C-000002", "EX-C-000004", "EX-C-000005", "EX-C-000006"]
    );
    for (path, bytes) in &leftovers {
        assert_eq!(
            &std::fs::read(path).unwrap()[..],
            *bytes,
            "{}",
            path.display()
        );
    }
}

#[test]
fn file_urls_name_one_document_however_the_path_is_spelled() {
    let (dir, archive) = new_archive();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let f = dir.path().join("s.txt");
    std::fs::write(&f, "x\n").unwrap();
    let odd = dir.path().join("sub/../s.txt");
    let out = exhibit(
        &archive,
        &[
            "--json",
            "capture",
            f.to_str().unwrap(),
            odd.to_str().unwrap(),
        ],
    );
    let lines = json_lines(&out);
    assert_eq!(lines[0]["document_id"], lines[1]["document_id"]);
}
