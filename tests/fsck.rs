//! `exhibit fsck [--full] [--json]` end to end on real archives: a clean one (HTTP captures of a
//! changing document, an unchanged capture, a failed capture, a file, a provision, a
//! re-extraction) passes both modes; single changes to an object, a manifest, a signature or
//! `log/leaves` fail the mode that can see them, naming the file; crash leftovers (orphan
//! manifests and objects, temporary files) are notes with exit 0.
//!
//! Quick mode does not open objects: a flipped byte inside an object passes it (as documented
//! in `exhibit_store::fsck`, and asserted below); a missing object fails both modes.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

const QUOTE: &str = "We keep your data for 30 days.";

fn page(revision: usize) -> String {
    format!(
        "<!doctype html><html><head><title>Terms</title></head><body><main><h1>Terms</h1>\
         <p>Revision {revision}. {}</p><p>We keep your data for {} days.</p>\
         <footer class=\"site-footer\"><p>Footer {revision}</p></footer></main></body></html>",
        if revision == 1 { "First." } else { "Changed." },
        30 * revision
    )
}

/// A clean archive, built once and copied for each test.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fsck-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let archive = base.join("archive");
        ok(&exhibit(&archive, &["init", "--origin", "test.example"]));
        let revision = Arc::new(AtomicUsize::new(1));
        let r = revision.clone();
        let server = Server::start(move |path| match path {
            "/terms" => Reply::ok("text/html", page(r.load(Ordering::SeqCst))),
            _ => Reply::status(404, "<p>Not here</p>"),
        });
        let terms = server.url("/terms");
        let version = |out: &Output| {
            json_lines(out)[0]["version_id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let v1 = version(&exhibit(&archive, &["--json", "capture", &terms]));
        ok(&exhibit(&archive, &["capture", &terms])); // unchanged
        revision.store(2, Ordering::SeqCst);
        let v2 = version(&exhibit(&archive, &["--json", "capture", &terms]));
        assert_ne!(v1, v2);
        // A failed capture is a record too.
        let failed = exhibit(&archive, &["capture", &server.url("/gone")]);
        assert_ne!(code(&failed), 2, "{}", stderr(&failed));
        let file = base.join("notice.txt");
        std::fs::write(&file, "Notice.\nWe keep your data for 30 days.\n").unwrap();
        ok(&exhibit(&archive, &["capture", file.to_str().unwrap()]));
        ok(&exhibit(&archive, &["cite", &v1, "--quote", QUOTE]));
        ok(&exhibit(
            &archive,
            &["document", "rules", &terms, "--remove", "footer"],
        ));
        ok(&exhibit(&archive, &["reextract", &terms]));
        archive
    })
}

/// A fresh copy of the clean archive.
fn archive() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("archive");
    copy_dir(template(), &to);
    (dir, to)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fsck(archive: &Path, full: bool) -> Output {
    let mut args = vec!["fsck"];
    if full {
        args.push("--full");
    }
    exhibit(archive, &args)
}

fn fsck_json(archive: &Path, full: bool) -> (i32, Vec<serde_json::Value>) {
    let mut args = vec!["--json", "fsck"];
    if full {
        args.push("--full");
    }
    let out = exhibit(archive, &args);
    (code(&out), json_lines(&out))
}

/// Asserts exit 1 with a `FAIL <path>: …` line for `path`; returns that line.
fn fails_naming(out: &Output, path: &str) -> String {
    let text = stdout(out);
    assert_eq!(code(out), 1, "{text}\n{}", stderr(out));
    let prefix = format!("FAIL {path}");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no FAIL line for {path}:\n{text}"));
    assert!(
        text.lines().last().unwrap().contains("problem"),
        "summary last: {text}"
    );
    line.to_owned()
}

fn passes(out: &Output) -> String {
    let text = ok(out);
    assert!(!text.contains("FAIL"), "{text}");
    assert!(
        text.lines().last().unwrap().ends_with(": OK"),
        "summary: {text}"
    );
    text
}

fn rel(archive: &Path, p: &Path) -> String {
    p.strip_prefix(archive).unwrap().display().to_string()
}

/// The content object of the first capture (its manifest's `content.sha256`).
fn first_content_object(archive: &Path) -> PathBuf {
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(archive.join("manifests/C/000/EX-C-000001.json")).unwrap(),
    )
    .unwrap();
    let sha = m["content"]["sha256"].as_str().unwrap();
    archive.join(format!("objects/{}/{sha}.zst", &sha[..2]))
}

#[test]
fn a_clean_archive_passes_both_modes_with_counts_and_json() {
    let (_dir, archive) = archive();
    for full in [false, true] {
        let text = passes(&fsck(&archive, full));
        // 5 captures, 1 provision, 1 re-extraction: 7 records, 7 leaves.
        assert!(
            text.starts_with("fsck: 7 records, ") && text.contains("log of 7 leaves: OK"),
            "{text}"
        );
        let (code, lines) = fsck_json(&archive, full);
        assert_eq!(code, 0);
        assert_eq!(lines.len(), 1, "only the summary: {lines:?}");
        let s = &lines[0];
        assert_eq!(s["type"], "summary");
        assert_eq!(s["ok"], true);
        assert_eq!(s["mode"], if full { "full" } else { "quick" });
        assert_eq!(s["captures"], 5);
        assert_eq!(s["provisions"], 1);
        assert_eq!(s["reextractions"], 1);
        assert_eq!(s["log_size"], 7);
    }
}

#[test]
fn a_flipped_byte_in_an_object_fails_full_but_not_quick() {
    let (_dir, archive) = archive();
    let object = first_content_object(&archive);
    let mut bytes = std::fs::read(&object).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&object, &bytes).unwrap();
    // Quick mode does not open objects: documented, and asserted here.
    passes(&fsck(&archive, false));
    let line = fails_naming(&fsck(&archive, true), &rel(&archive, &object));
    assert!(line.contains("EX-C-000001"), "{line}");

    // Valid zstd of other bytes: the hashes, not the decompressor, catch it.
    let forged = zstd::encode_all(&b"forged"[..], 3).unwrap();
    std::fs::write(&object, forged).unwrap();
    let line = fails_naming(&fsck(&archive, true), &rel(&archive, &object));
    assert!(line.contains("bytes"), "{line}");
}

#[test]
fn a_deleted_object_fails_both_modes() {
    let (_dir, archive) = archive();
    let object = first_content_object(&archive);
    std::fs::remove_file(&object).unwrap();
    for full in [false, true] {
        let line = fails_naming(&fsck(&archive, full), &rel(&archive, &object));
        assert!(line.contains("missing"), "{line}");
    }
    let (code, lines) = fsck_json(&archive, false);
    assert_eq!(code, 1);
    let problem = lines.iter().find(|l| l["type"] == "problem").unwrap();
    assert_eq!(problem["path"], rel(&archive, &object));
    assert_eq!(problem["check"], "object");
    assert!(problem["message"].as_str().unwrap().contains("missing"));
    let summary = lines.last().unwrap();
    assert_eq!(
        (summary["type"].as_str(), summary["ok"].as_bool()),
        (Some("summary"), Some(false))
    );
    assert_eq!(summary["problems"], 1);
}

#[test]
fn a_modified_manifest_fails_both_modes() {
    let (_dir, archive) = archive();
    let path = archive.join("manifests/C/000/EX-C-000002.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("test.example", "test.examplf", 1)).unwrap();
    for full in [false, true] {
        let line = fails_naming(&fsck(&archive, full), "manifests/C/000/EX-C-000002.json");
        assert!(line.contains("EX-C-000002"), "{line}");
    }
}

#[test]
fn a_modified_signature_fails_full_only() {
    let (_dir, archive) = archive();
    let path = archive.join("manifests/P/000/EX-P-000001.json.sig");
    let mut sig = std::fs::read(&path).unwrap();
    sig[10] ^= 1;
    std::fs::write(&path, sig).unwrap();
    passes(&fsck(&archive, false));
    let line = fails_naming(
        &fsck(&archive, true),
        "manifests/P/000/EX-P-000001.json.sig",
    );
    assert!(line.contains("does not verify"), "{line}");
    // A missing signature is seen by both.
    std::fs::remove_file(&path).unwrap();
    for full in [false, true] {
        fails_naming(
            &fsck(&archive, full),
            "manifests/P/000/EX-P-000001.json.sig",
        );
    }
}

#[test]
fn a_truncated_leaves_file_fails_both_modes() {
    let (_dir, archive) = archive();
    let leaves = archive.join("log/leaves");
    let len = std::fs::metadata(&leaves).unwrap().len();
    assert_eq!(len, 7 * 32);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&leaves)
        .unwrap();
    f.set_len(len - 32).unwrap();
    drop(f);
    for full in [false, true] {
        let line = fails_naming(&fsck(&archive, full), "log/leaves");
        assert!(line.contains("truncated"), "{line}");
    }
    // A leaf changed in place: the manifest it should hash no longer matches.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&leaves)
        .unwrap();
    f.set_len(len).unwrap();
    drop(f);
    let line = fails_naming(&fsck(&archive, false), "log/leaves");
    assert!(line.contains("leaf 6"), "{line}");
}

#[test]
fn orphans_and_temporary_files_are_notes_with_exit_0() {
    let (_dir, archive) = archive();
    // What a crash between writing a manifest and committing leaves: a signed manifest under a
    // number the catalog never committed, an object no record references, temporary files,
    // leaves past the log's end, a checkpoint and a token the catalog does not list.
    let mut leftovers = leave_leftovers(&archive);
    leftovers.push(leave_unrecorded_checkpoint(&archive));
    for full in [false, true] {
        let text = passes(&fsck(&archive, full));
        assert!(
            text.contains("signed checkpoints not in the catalog: `fsck --repair` records them"),
            "{text}"
        );
        for p in &leftovers {
            assert!(text.contains(&format!("  {p}\n")), "{p} listed:\n{text}");
        }
        assert!(text.contains("note: 2 manifest files"), "{text}");
        assert!(text.contains("note: 1 objects no record"), "{text}");
        let (code, lines) = fsck_json(&archive, full);
        assert_eq!(code, 0);
        let kinds: Vec<&str> = lines
            .iter()
            .filter(|l| l["type"] == "note")
            .map(|l| l["kind"].as_str().unwrap())
            .collect();
        for k in [
            "orphan_manifest",
            "orphan_object",
            "temp_file",
            "uncommitted_leaves",
            "orphan_checkpoint",
        ] {
            assert!(kinds.contains(&k), "{k}: {lines:?}");
        }
        let m = lines
            .iter()
            .find(|l| l["kind"] == "orphan_manifest")
            .unwrap();
        assert_eq!(m["count"], 2);
        assert_eq!(lines.last().unwrap()["ok"], true);
    }
    // A checkpoint file no crash can have left (not signed by the archive key: checkpoint
    // files are written whole, then renamed) is a problem, and repair removes nothing.
    let forged = "log/checkpoints/000000000998.checkpoint";
    std::fs::write(archive.join(forged), b"test.example\n998\nforged\n").unwrap();
    let line = fails_naming(&fsck(&archive, false), forged);
    assert!(line.contains("not left by a crash"), "{line}");
    let out = exhibit(&archive, &["fsck", "--repair"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    for p in leftovers.iter().map(String::as_str).chain([forged]) {
        assert!(archive.join(p).exists(), "{p} kept");
    }
}

#[test]
fn not_an_archive_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = exhibit(&dir.path().join("nothing"), &["fsck"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // A damaged catalog is a problem found (1), not bad input, and never a panic.
    let (_d, archive) = archive();
    std::fs::write(archive.join("catalog.sqlite"), b"not a database").unwrap();
    for p in ["catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(archive.join(p));
    }
    let out = fsck(&archive, true);
    let line = fails_naming(&out, "catalog.sqlite");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(line.contains("cannot open"), "{line}");
}

#[test]
fn timestamps_are_checked_against_their_checkpoint_in_full_mode() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = tsa::LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = dir.path().join("archive");
    ok(&exhibit(
        &archive,
        &["init", "--origin", "test.example", "--tsa", &tsa.url()],
    ));
    let f = dir.path().join("doc.txt");
    std::fs::write(&f, "Terms.\n").unwrap();
    ok(&exhibit(&archive, &["capture", f.to_str().unwrap()]));
    let tokens: Vec<PathBuf> = std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsr"))
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    passes(&fsck(&archive, true));
    // The token of another checkpoint in its place: its imprint no longer matches.
    let other = tsa.stamp(b"some other checkpoint");
    std::fs::write(&tokens[0], other).unwrap();
    passes(&fsck(&archive, false));
    let line = fails_naming(&fsck(&archive, true), &rel(&archive, &tokens[0]));
    assert!(line.contains("does not stamp"), "{line}");
}

/// Leaves one of every kind of leftover an interrupted write can leave (FORMAT §8); returns
/// their paths relative to the archive.
fn leave_leftovers(archive: &Path) -> Vec<String> {
    let dir = archive.join("manifests/C/000");
    std::fs::copy(dir.join("EX-C-000005.json"), dir.join("EX-C-000099.json")).unwrap();
    std::fs::copy(
        dir.join("EX-C-000005.json.sig"),
        dir.join("EX-C-000099.json.sig"),
    )
    .unwrap();
    std::fs::write(dir.join(".tmp-manifest"), b"half a manifest").unwrap();
    let orphan = b"an object no record references";
    let sha = sha256_hex(orphan);
    let object = archive.join(format!("objects/{}/{sha}.zst", &sha[..2]));
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::write(&object, zstd::encode_all(&orphan[..], 3).unwrap()).unwrap();
    std::fs::write(archive.join("objects/.tmp-crashed.zst"), b"partial").unwrap();
    std::fs::write(archive.join("log/.tmp-checkpoint"), b"partial").unwrap();
    // Two leaves of a batch that never committed.
    let mut leaves = std::fs::OpenOptions::new()
        .append(true)
        .open(archive.join("log/leaves"))
        .unwrap();
    std::io::Write::write_all(&mut leaves, &[7u8; 64]).unwrap();
    vec![
        "manifests/C/000/EX-C-000099.json".into(),
        "manifests/C/000/EX-C-000099.json.sig".into(),
        "manifests/C/000/.tmp-manifest".into(),
        rel(archive, &object),
        "objects/.tmp-crashed.zst".into(),
        "log/.tmp-checkpoint".into(),
    ]
}

/// What a crash between writing the latest checkpoint file (and `log/checkpoint`) and
/// committing its row leaves: a signed checkpoint the catalog does not list. Not removed but
/// recorded by repair (issue 17). Returns its path relative to the archive.
fn leave_unrecorded_checkpoint(archive: &Path) -> String {
    let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    let size: i64 = db
        .query_row("SELECT max(size) FROM checkpoints", [], |r| r.get(0))
        .unwrap();
    db.execute("DELETE FROM checkpoints WHERE size = ?1", [size])
        .unwrap();
    format!("log/checkpoints/{size:012}.checkpoint")
}

fn repair_json(archive: &Path) -> (i32, Vec<serde_json::Value>) {
    let out = exhibit(archive, &["--json", "fsck", "--repair"]);
    (code(&out), json_lines(&out))
}

fn paths_of<'a>(lines: &'a [serde_json::Value], t: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l["type"] == t)
        .filter_map(|l| l["path"].as_str())
        .collect()
}

#[test]
fn repair_removes_every_kind_of_leftover_and_nothing_else() {
    let (_dir, archive) = archive();
    let leftovers = leave_leftovers(&archive);
    let checkpoint = leave_unrecorded_checkpoint(&archive);
    // A young temporary file at the root (a configuration being rewritten) is kept.
    std::fs::write(archive.join(".tmp-config"), b"[capture]").unwrap();
    let leaves_len = std::fs::metadata(archive.join("log/leaves")).unwrap().len();
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    let removed = paths_of(&lines, "removed");
    for p in &leftovers {
        assert!(removed.contains(&p.as_str()), "{p} removed: {lines:#?}");
        assert!(!archive.join(p).exists(), "{p} is gone");
    }
    // The signed checkpoint is committed evidence: recorded, never removed.
    assert_eq!(paths_of(&lines, "recorded"), [checkpoint.as_str()]);
    assert!(archive.join(&checkpoint).exists());
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "removed" && l["kind"] == "uncommitted_leaves"),
        "{lines:#?}"
    );
    assert_eq!(
        std::fs::metadata(archive.join("log/leaves")).unwrap().len(),
        leaves_len - 64
    );
    assert_eq!(paths_of(&lines, "kept"), [".tmp-config"]);
    assert!(archive.join(".tmp-config").exists());
    // Everything committed is intact, and only the kept file is still a note.
    let (code, lines) = fsck_json(&archive, true);
    assert_eq!(code, 0, "{lines:#?}");
    let notes: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "note")
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["temp_file"]);
    // The removed orphan's number stays used, even in a catalog rebuilt from the files: repair
    // recorded it in manifests/retired.txt (without it, reindex would hand out EX-C-000006).
    assert_eq!(
        std::fs::read_to_string(archive.join("manifests/retired.txt")).unwrap(),
        "EX-C-000099\n"
    );
    for f in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(archive.join(f));
    }
    ok(&exhibit(&archive, &["reindex"]));
    // The next capture is EX-C-000100, not 099.
    let f = archive.parent().unwrap().join("next.txt");
    std::fs::write(&f, "next\n").unwrap();
    let out = exhibit(&archive, &["--json", "capture", f.to_str().unwrap()]);
    assert_eq!(json_lines(&out)[0]["capture_id"], "EX-C-000100");
    passes(&fsck(&archive, true));
    // Text output names each removal.
    leave_leftovers(&archive);
    let text = ok(&exhibit(&archive, &["fsck", "--repair"]));
    assert!(
        text.contains("removed orphan_manifest manifests/C/000/EX-C-000099.json\n"),
        "{text}"
    );
    assert!(text.lines().last().unwrap().ends_with(": OK"), "{text}");
}

#[test]
fn repair_removes_nothing_from_a_damaged_archive() {
    let (_dir, archive) = archive();
    let leftovers = leave_leftovers(&archive);
    std::fs::remove_file(first_content_object(&archive)).unwrap();
    let out = exhibit(&archive, &["fsck", "--repair"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("nothing removed"), "{}", stderr(&out));
    for p in &leftovers {
        assert!(archive.join(p).exists(), "{p} kept");
    }
}

#[test]
fn repair_keeps_objects_while_another_process_writes_them() {
    let (_dir, archive) = archive();
    let leftovers = leave_leftovers(&archive);
    // A live writer holds the writers lock shared (as `capture` does from its first object).
    std::fs::create_dir_all(archive.join("locks")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(archive.join("locks/writers.lock"))
        .unwrap();
    lock.lock_shared().unwrap(); // released on drop, or when the process dies
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    let kept = paths_of(&lines, "kept");
    let removed = paths_of(&lines, "removed");
    for p in &leftovers {
        let in_objects = p.starts_with("objects/");
        assert_eq!(kept.contains(&p.as_str()), in_objects, "{p}: {lines:#?}");
        assert_eq!(
            removed.contains(&p.as_str()),
            !in_objects,
            "{p}: {lines:#?}"
        );
        assert_eq!(archive.join(p).exists(), in_objects, "{p}");
    }
    // Once the writer is gone, they go too.
    drop(lock);
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0);
    assert!(paths_of(&lines, "kept").is_empty(), "{lines:#?}");
    for p in leftovers.iter().filter(|p| p.starts_with("objects/")) {
        assert!(!archive.join(p).exists(), "{p}");
    }
    passes(&fsck(&archive, true));
}

/// Captures a small file; returns its capture id, or the failed output.
fn capture_file(archive: &Path, text: &str) -> Result<String, Output> {
    let f = archive.parent().unwrap().join("next.txt");
    std::fs::write(&f, text).unwrap();
    let out = exhibit(archive, &["--json", "capture", f.to_str().unwrap()]);
    if code(&out) != 0 {
        return Err(out);
    }
    Ok(json_lines(&out)[0]["capture_id"]
        .as_str()
        .unwrap()
        .to_owned())
}

#[test]
fn repair_keeps_an_orphan_numbered_far_past_the_counter_and_capturing_goes_on() {
    let (_dir, archive) = archive();
    // One stray file at the largest number used to raise the counter to i64::MAX (every
    // later capture then failed) and be recorded in retired.txt (so reindex did it again).
    let dir = archive.join("manifests/C/9223372036854775");
    std::fs::create_dir_all(&dir).unwrap();
    let stray = dir.join("EX-C-9223372036854775807.json");
    std::fs::write(&stray, "{}\n").unwrap();
    // Just past the bound is kept too, even with an orphan at the bound (removed: it could be
    // a crash's) before it: the counter it is judged against is the one before repair.
    let dir2 = archive.join("manifests/C/1000");
    std::fs::create_dir_all(&dir2).unwrap();
    std::fs::write(dir2.join("EX-C-1000005.json"), "{}\n").unwrap();
    std::fs::write(dir2.join("EX-C-1000006.json"), "{}\n").unwrap();
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(
        paths_of(&lines, "removed"),
        ["manifests/C/1000/EX-C-1000005.json"]
    );
    let kept: Vec<_> = lines.iter().filter(|l| l["type"] == "kept").collect();
    assert_eq!(kept.len(), 2, "{lines:#?}");
    for k in kept {
        assert_eq!(k["kind"], "orphan_manifest");
        let reason = k["reason"].as_str().unwrap();
        assert!(reason.contains("past the C counter (5)"), "{reason}");
    }
    assert!(stray.exists());
    assert!(dir2.join("EX-C-1000006.json").exists());
    assert_eq!(
        std::fs::read_to_string(archive.join("manifests/retired.txt")).unwrap(),
        "EX-C-1000005\n"
    );
    assert_eq!(capture_file(&archive, "next\n").unwrap(), "EX-C-1000007");
    ok(&exhibit(&archive, &["reindex"]));
    assert_eq!(capture_file(&archive, "after\n").unwrap(), "EX-C-1000008");
    passes(&fsck(&archive, true));
}

#[test]
fn a_counter_at_its_largest_value_is_a_one_line_error() {
    let (_dir, archive) = archive();
    let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    db.execute(
        "UPDATE counters SET last = 9223372036854775807 WHERE kind = 'C'",
        [],
    )
    .unwrap();
    drop(db);
    let out = capture_file(&archive, "x\n").unwrap_err();
    let err = stderr(&out);
    assert_ne!(code(&out), 0);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("largest value"), "{err}");
    assert!(!err.contains("REAL"), "{err}");
}

#[test]
fn an_orphan_manifest_whose_signature_does_not_verify_is_a_problem_and_never_removed() {
    let (_dir, archive) = archive();
    let dir = archive.join("manifests/C/000");
    // A complete manifest and a complete signature that does not verify over it: not what a
    // crash leaves (possibly tampering). And an edited copy under its original signature.
    let bytes = std::fs::read(dir.join("EX-C-000005.json")).unwrap();
    let mut sig = std::fs::read(dir.join("EX-C-000005.json.sig")).unwrap();
    std::fs::write(dir.join("EX-C-000098.json"), &bytes).unwrap();
    std::fs::write(dir.join("EX-C-000098.json.sig"), &sig).unwrap(); // verifies: a crash's
    std::fs::write(dir.join("EX-C-000099.json"), &bytes).unwrap();
    sig[5] ^= 1;
    std::fs::write(dir.join("EX-C-000099.json.sig"), &sig).unwrap();
    let edited =
        String::from_utf8(bytes.clone())
            .unwrap()
            .replacen("test.example", "test.examplf", 1);
    std::fs::write(dir.join("EX-C-000100.json"), edited).unwrap();
    std::fs::copy(
        dir.join("EX-C-000005.json.sig"),
        dir.join("EX-C-000100.json.sig"),
    )
    .unwrap();
    for full in [false, true] {
        let out = fsck(&archive, full);
        for id in ["EX-C-000099", "EX-C-000100"] {
            let line = fails_naming(&out, &format!("manifests/C/000/{id}.json"));
            assert!(
                line.contains("does not verify with the archive key")
                    && line.contains("not left by a crash"),
                "{line}"
            );
        }
        let text = stdout(&out);
        assert!(text.contains("2 problems"), "{text}");
        assert!(
            text.contains("  manifests/C/000/EX-C-000098.json\n"),
            "{text}"
        );
    }
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 1, "{lines:#?}");
    assert!(paths_of(&lines, "removed").is_empty(), "{lines:#?}");
    for f in [
        "EX-C-000098.json",
        "EX-C-000099.json",
        "EX-C-000099.json.sig",
        "EX-C-000100.json",
        "EX-C-000100.json.sig",
    ] {
        assert!(dir.join(f).exists(), "{f} kept");
    }
    // Once the suspicious files are moved out, the crash leftover is removed as usual.
    for f in ["EX-C-000099", "EX-C-000100"] {
        for ext in ["json", "json.sig"] {
            std::fs::remove_file(dir.join(format!("{f}.{ext}"))).unwrap();
        }
    }
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(
        paths_of(&lines, "removed"),
        [
            "manifests/C/000/EX-C-000098.json.sig",
            "manifests/C/000/EX-C-000098.json"
        ]
    );
}

#[test]
fn repair_removes_the_orphans_a_crash_mid_write_leaves() {
    let (_dir, archive) = archive();
    let dir = archive.join("manifests/C/000");
    let bytes = std::fs::read(dir.join("EX-C-000005.json")).unwrap();
    let sig = std::fs::read(dir.join("EX-C-000005.json.sig")).unwrap();
    let other = {
        let mut s = sig.clone();
        s[0] ^= 1;
        s
    };
    // No signature yet.
    std::fs::write(dir.join("EX-C-000095.json"), &bytes[..bytes.len() - 1]).unwrap();
    // A signature cut short.
    std::fs::write(dir.join("EX-C-000096.json"), b"{\"other\":1}").unwrap();
    std::fs::write(dir.join("EX-C-000096.json.sig"), &other[..10]).unwrap();
    // Empty and NUL-filled manifests (unsynced writes after a power cut).
    std::fs::write(dir.join("EX-C-000097.json"), b"").unwrap();
    std::fs::write(dir.join("EX-C-000097.json.sig"), &other).unwrap();
    std::fs::write(dir.join("EX-C-000098.json"), [0u8; 300]).unwrap();
    std::fs::write(dir.join("EX-C-000098.json.sig"), &other).unwrap();
    // A truncated manifest.
    std::fs::write(dir.join("EX-C-000099.json"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(dir.join("EX-C-000099.json.sig"), &other).unwrap();
    passes(&fsck(&archive, true));
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(paths_of(&lines, "kept").is_empty(), "{lines:#?}");
    assert_eq!(paths_of(&lines, "removed").len(), 9, "{lines:#?}");
    assert_eq!(
        std::fs::read_to_string(archive.join("manifests/retired.txt")).unwrap(),
        "EX-C-000095\nEX-C-000096\nEX-C-000097\nEX-C-000098\nEX-C-000099\n"
    );
    assert_eq!(capture_file(&archive, "next\n").unwrap(), "EX-C-000100");
    passes(&fsck(&archive, true));
}

#[test]
fn retired_ids_must_be_canonical_ids_of_this_archive() {
    for bad in [
        "EX-C-99",
        " EX-C-000099",
        "EX-C-000099\r",
        "XX-C-000099",
        "EX-D-000001",
        "EX-V-000001",
        "EX-C-1000000000001",
        "EX-C-9223372036854775807",
        "",
        "nonsense",
    ] {
        let (_dir, archive) = archive();
        let text = format!("EX-C-000050\n{bad}\n");
        std::fs::write(archive.join("manifests/retired.txt"), text).unwrap();
        let line = fails_naming(&fsck(&archive, false), "manifests/retired.txt");
        assert!(line.contains("line 2"), "{bad:?}: {line}");
        assert_eq!(
            stdout(&fsck(&archive, false))
                .lines()
                .filter(|l| l.starts_with("FAIL"))
                .count(),
            1,
            "{bad:?}"
        );
        let out = exhibit(&archive, &["reindex"]);
        assert_ne!(code(&out), 0, "{bad:?}");
        let err = stderr(&out);
        assert!(
            err.contains("manifests/retired.txt") && err.contains("line 2"),
            "{bad:?}: {err}"
        );
        // Repair does nothing to an archive with a problem.
        let out = exhibit(&archive, &["fsck", "--repair"]);
        assert_eq!(code(&out), 1, "{bad:?}");
    }
    // The canonical ids of this archive's three numbered record kinds are fine.
    let (_dir, archive) = archive();
    std::fs::write(
        archive.join("manifests/retired.txt"),
        "EX-C-000050\nEX-P-000007\nEX-R-1000000000000\n",
    )
    .unwrap();
    passes(&fsck(&archive, false));
}

#[test]
fn repair_never_removes_under_a_symbolic_link() {
    // Two archives sharing one objects directory: each one's objects are the other's orphans.
    let (dir, a) = archive();
    let shared = dir.path().join("shared");
    std::fs::rename(a.join("objects"), &shared).unwrap();
    std::os::unix::fs::symlink("../shared", a.join("objects")).unwrap();
    let b = dir.path().join("b");
    ok(&exhibit(&b, &["init", "--origin", "other.example"]));
    std::fs::remove_dir_all(b.join("objects")).unwrap();
    std::os::unix::fs::symlink("../shared", b.join("objects")).unwrap();
    let (code, lines) = repair_json(&b);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(paths_of(&lines, "removed").is_empty(), "{lines:#?}");
    let kept: Vec<_> = lines.iter().filter(|l| l["type"] == "kept").collect();
    assert!(!kept.is_empty(), "{lines:#?}");
    for k in kept {
        assert_eq!(k["kind"], "orphan_object");
        assert_eq!(
            k["reason"], "under a symbolic link (objects): not removed",
            "{k}"
        );
    }
    passes(&fsck(&a, true));

    // A checkpoint directory that points out of the archive.
    let (dir, archive) = archive();
    let victim = dir.path().join("victim");
    std::fs::rename(archive.join("log/checkpoints"), &victim).unwrap();
    std::os::unix::fs::symlink("../../victim", archive.join("log/checkpoints")).unwrap();
    // (A checkpoint file that is not a signed checkpoint of the archive is a problem, and
    // repair removes nothing then: one that looks like a crash's leftover is needed here.
    // Such a one is recorded, not removed, in a directory of the archive's own.)
    let unrecorded = leave_unrecorded_checkpoint(&archive);
    std::fs::write(victim.join(".tmp-x"), b"someone else's").unwrap();
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(paths_of(&lines, "removed").is_empty(), "{lines:#?}");
    let mut kept = paths_of(&lines, "kept");
    kept.sort();
    assert_eq!(kept, ["log/checkpoints/.tmp-x", unrecorded.as_str()]);
    for l in lines.iter().filter(|l| l["type"] == "kept") {
        assert_eq!(
            l["reason"], "under a symbolic link (log/checkpoints): not removed",
            "{l}"
        );
    }
    assert!(archive.join(&unrecorded).exists());
    assert!(victim.join(".tmp-x").exists());
}

#[test]
fn file_names_cannot_forge_output_lines() {
    let (_dir, archive) = archive();
    let name = ".tmp-x\nFAIL catalog.sqlite: forged\u{1b}[2K";
    std::fs::write(archive.join("manifests/C/000").join(name), b"x").unwrap();
    let escaped = "manifests/C/000/.tmp-x\\nFAIL catalog.sqlite: forged\\u{1b}[2K";
    let text = ok(&fsck(&archive, false));
    assert!(!text.lines().any(|l| l.starts_with("FAIL")), "{text}");
    assert!(text.ends_with(": OK\n"), "{text}");
    assert!(text.contains(&format!("  {escaped}\n")), "{text}");
    let text = ok(&exhibit(&archive, &["fsck", "--repair"]));
    assert!(!text.lines().any(|l| l.starts_with("FAIL")), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(
        text.contains(&format!("removed temp_file {escaped}\n")),
        "{text}"
    );
    // JSON keeps the name as it is.
    std::fs::write(archive.join("manifests/C/000").join(name), b"x").unwrap();
    let (_, lines) = fsck_json(&archive, false);
    let note = lines.iter().find(|l| l["kind"] == "temp_file").unwrap();
    assert_eq!(note["paths"][0], format!("manifests/C/000/{name}"));
}

/// Runs `exhibit --archive ARCHIVE ARGS…`, killing it after 20 s: a command that hangs (on a
/// FIFO, say) fails the test instead of hanging the suite.
fn exhibit_or_hang(archive: &Path, args: &[&str]) -> Output {
    use std::io::Read;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("EXHIBIT_ARCHIVE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`exhibit {}` hung (killed after 20 s)", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(ok.success(), "mkfifo {}", path.display());
}

/// Finding 8 (issue 17): a FIFO at an object or manifest path, or a symbolic link to one,
/// hung `fsck`, `fsck --full`, `cat`, `show` and `bundle` for ever. Now each fails (or
/// reports) at once, and fsck names the file.
#[test]
fn a_fifo_in_the_archive_hangs_no_command_and_fsck_reports_it() {
    // At an object's path.
    {
        let (dir, archive) = archive();
        let object = first_content_object(&archive);
        std::fs::remove_file(&object).unwrap();
        mkfifo(&object);
        let object_rel = rel(&archive, &object);
        for full in [false, true] {
            let mut args = vec!["fsck"];
            if full {
                args.push("--full");
            }
            fails_naming(&exhibit_or_hang(&archive, &args), &object_rel);
        }
        let out = exhibit_or_hang(&archive, &["cat", "EX-C-000001"]);
        assert_ne!(code(&out), 0, "{}", stderr(&out));
        let bundle = dir.path().join("b.tar.zst");
        let out = exhibit_or_hang(
            &archive,
            &["bundle", "EX-C-000001", "--out", bundle.to_str().unwrap()],
        );
        assert_ne!(code(&out), 0, "{}", stderr(&out));
        let out = exhibit_or_hang(&archive, &["fsck", "--repair"]);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
    }

    // At a manifest's path, directly and through a symbolic link; and a FIFO where no file
    // is expected at all.
    for link in [false, true] {
        let (dir, archive) = archive();
        let manifest = archive.join("manifests/C/000/EX-C-000001.json");
        std::fs::remove_file(&manifest).unwrap();
        if link {
            let fifo = dir.path().join("fifo");
            mkfifo(&fifo);
            std::os::unix::fs::symlink(&fifo, &manifest).unwrap();
        } else {
            mkfifo(&manifest);
        }
        mkfifo(&archive.join("log/stray"));
        let manifest_rel = "manifests/C/000/EX-C-000001.json";
        for full in [false, true] {
            let mut args = vec!["fsck"];
            if full {
                args.push("--full");
            }
            let out = exhibit_or_hang(&archive, &args);
            fails_naming(&out, manifest_rel);
            if !link {
                fails_naming(&out, "log/stray");
            }
        }
        for args in [
            vec!["show", "EX-C-000001"],
            vec!["cat", "EX-C-000001"],
            vec!["fsck", "--repair"],
        ] {
            let out = exhibit_or_hang(&archive, &args);
            assert_ne!(code(&out), 0, "{args:?}: {}", stderr(&out));
        }
        let bundle = dir.path().join("b.tar.zst");
        let out = exhibit_or_hang(
            &archive,
            &["bundle", "EX-C-000001", "--out", bundle.to_str().unwrap()],
        );
        assert_ne!(code(&out), 0, "{}", stderr(&out));
    }
}

/// Finding 5 (issue 17): `--repair` followed a symbolic link at `log/leaves` and truncated
/// the file outside the archive. A link where a file should be is reported, never followed.
#[test]
fn repair_never_truncates_a_leaves_file_behind_a_symbolic_link() {
    let (dir, archive) = archive();
    let outside = dir.path().join("victim");
    let mut bytes = std::fs::read(archive.join("log/leaves")).unwrap();
    bytes.extend_from_slice(&[7u8; 64]); // looks like two uncommitted leaves
    std::fs::write(&outside, &bytes).unwrap();
    std::fs::remove_file(archive.join("log/leaves")).unwrap();
    std::os::unix::fs::symlink(&outside, archive.join("log/leaves")).unwrap();
    let line = fails_naming(&fsck(&archive, false), "log/leaves");
    assert!(line.contains("symbolic link"), "{line}");
    let out = exhibit(&archive, &["fsck", "--repair"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        bytes,
        "the outside file is intact"
    );
    // Capturing does not write through it either.
    assert!(capture_file(&archive, "more\n").is_err());
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        bytes,
        "the outside file is intact"
    );
}

/// Finding 4 (issue 17): restoring a nightly backup of `catalog.sqlite` and `log/checkpoint`
/// after one more capture made `fsck --full` say OK and `--repair` delete the new capture's
/// manifest, signature, objects, signed checkpoint and token, and truncate `log/leaves`.
/// A catalog behind the signed log is a problem now, repair removes nothing, capturing
/// refuses, and `reindex` brings the catalog back.
#[test]
fn a_restored_catalog_behind_the_signed_log_is_a_problem_and_repair_removes_nothing() {
    let (dir, archive) = archive();
    let backup = dir.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    for f in ["catalog.sqlite", "log/checkpoint"] {
        std::fs::copy(archive.join(f), backup.join(f.replace('/', "_"))).unwrap();
    }
    assert!(!archive.join("catalog.sqlite-wal").exists());
    let id = capture_file(&archive, "Captured after the backup.\n").unwrap();
    let manifest = archive.join(format!("manifests/C/000/{id}.json"));
    let checkpoint = archive.join("log/checkpoints/000000000008.checkpoint");
    assert!(manifest.exists() && checkpoint.exists());
    let leaves = std::fs::read(archive.join("log/leaves")).unwrap();
    // The restore.
    for f in ["catalog.sqlite", "log/checkpoint"] {
        std::fs::copy(backup.join(f.replace('/', "_")), archive.join(f)).unwrap();
    }
    for f in ["catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(archive.join(f));
    }
    for full in [false, true] {
        let line = fails_naming(&fsck(&archive, full), "catalog.sqlite");
        assert!(line.contains("catalog older than the log"), "{line}");
        assert!(line.contains("exhibit reindex"), "{line}");
    }
    let out = exhibit(&archive, &["fsck", "--repair"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("nothing removed"), "{}", stderr(&out));
    assert!(manifest.exists() && manifest.with_extension("json.sig").exists());
    assert!(checkpoint.exists());
    assert_eq!(std::fs::read(archive.join("log/leaves")).unwrap(), leaves);
    assert!(!archive.join("manifests/retired.txt").exists());
    // A capture into the restored catalog would cut the signed leaves: refused.
    let err = capture_file(&archive, "Another.\n").unwrap_err();
    assert!(
        stderr(&err).contains("catalog older than the log"),
        "{}",
        stderr(&err)
    );
    assert_eq!(std::fs::read(archive.join("log/leaves")).unwrap(), leaves);
    // The advice works.
    ok(&exhibit(&archive, &["reindex"]));
    passes(&fsck(&archive, true));
    ok(&exhibit(&archive, &["show", &id]));
    assert_eq!(capture_file(&archive, "Another.\n").unwrap(), "EX-C-000007");
    passes(&fsck(&archive, true));
}

/// Issue 17 (H3): a FIFO at `catalog.sqlite-journal` hung every command for ever — `fsck`,
/// `fsck --full`, `--repair`, `reindex`, `capture` — because SQLite opens the rollback journal
/// itself, blocking. Now the catalog and every SQLite side file (`-journal`, `-wal`, `-shm`)
/// must be absent or a regular file before SQLite opens the catalog (for readers, writers and
/// reindex): anything else — a FIFO, a link — is a one-line error naming the file, and a
/// `catalog` problem for fsck. Nothing hangs, and the file is left where it is.
#[test]
fn a_fifo_or_link_beside_the_catalog_hangs_no_command_and_fsck_reports_it() {
    for side in [
        "catalog.sqlite-journal",
        "catalog.sqlite-wal",
        "catalog.sqlite-shm",
    ] {
        for fifo in [true, false] {
            let (dir, archive) = archive();
            let path = archive.join(side);
            let _ = std::fs::remove_file(&path);
            let elsewhere = dir.path().join("elsewhere");
            std::fs::write(&elsewhere, b"").unwrap();
            let what = if fifo {
                mkfifo(&path);
                "a FIFO"
            } else {
                std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
                "a symbolic link"
            };
            let case = format!("{side} as {what}");
            for args in [&["fsck"][..], &["fsck", "--full"], &["fsck", "--repair"]] {
                let out = exhibit_or_hang(&archive, args);
                let line = fails_naming(&out, side);
                assert!(line.contains(what), "{case}: {line}");
            }
            let f = dir.path().join("doc.txt");
            std::fs::write(&f, "A document.\n").unwrap();
            for args in [
                &["list"][..],
                &["show", "EX-C-000001"],
                &["reindex"],
                &["capture", f.to_str().unwrap()],
            ] {
                let out = exhibit_or_hang(&archive, args);
                let err = stderr(&out);
                assert_eq!(code(&out), 1, "{case}: {args:?}: {err}");
                assert!(
                    err.contains(side) && err.contains(what) && err.trim().lines().count() == 1,
                    "{case}: {args:?}: {err}"
                );
            }
            // Left for the user to examine; the link's target untouched.
            let m = std::fs::symlink_metadata(&path).unwrap();
            assert_eq!(m.file_type().is_symlink(), !fifo, "{case}");
            assert_eq!(std::fs::read(&elsewhere).unwrap(), b"", "{case}");
        }
    }
    // reindex looks at the catalog itself without following a link too.
    let (dir, archive) = archive();
    let moved = dir.path().join("catalog.sqlite");
    std::fs::rename(archive.join("catalog.sqlite"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, archive.join("catalog.sqlite")).unwrap();
    let out = exhibit_or_hang(&archive, &["reindex"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("catalog.sqlite"), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(archive.join("catalog.sqlite"))
            .unwrap()
            .is_symlink()
    );
}

/// The checkpoint and token files in `log/checkpoints/`, with their bytes.
fn checkpoint_files(archive: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (rel(archive, &p), std::fs::read(&p).unwrap()))
        .collect()
}

/// Issue 17 (H5): with the catalog's `checkpoints` and `timestamps` rows deleted, `fsck
/// --full` said OK and `--repair` removed the signed checkpoints the catalog no longer listed
/// (older than, and consistent with, the latest) and the RFC 3161 token over the latest; and
/// `reindex` could not bring them back. A checkpoint file signed by the archive key whose root
/// is the log's at its size is never a crash leftover: fsck notes it and repair records it in
/// the catalog, with the tokens over it. Also: a crash between writing the latest checkpoint
/// (and `log/checkpoint`) and recording it left a checkpoint that repair removed, after which
/// `reindex` failed (`log/checkpoint` matched no checkpoint file); now it is recorded.
#[test]
fn repair_records_the_signed_checkpoints_and_tokens_the_catalog_lost() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = tsa::LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = dir.path().join("archive");
    ok(&exhibit(
        &archive,
        &["init", "--origin", "test.example", "--tsa", &tsa.url()],
    ));
    for i in 1..=3 {
        capture_file(&archive, &format!("Terms, revision {i}.\n")).unwrap();
    }
    let files = checkpoint_files(&archive);
    let tokens = files.keys().filter(|f| f.ends_with(".tsr")).count();
    assert_eq!((files.len(), tokens), (6, 3), "{:?}", files.keys());
    passes(&fsck(&archive, true));
    let rows = |archive: &Path| -> (i64, i64) {
        let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
        let n = |t: &str| {
            db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        };
        (n("checkpoints"), n("timestamps"))
    };
    assert_eq!(rows(&archive), (3, 3));
    let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    db.execute_batch("DELETE FROM timestamps; DELETE FROM checkpoints;")
        .unwrap();
    drop(db);
    for full in [false, true] {
        let text = passes(&fsck(&archive, full));
        assert!(
            text.contains(
                "note: 3 signed checkpoints not in the catalog: `fsck --repair` records them"
            ),
            "{text}"
        );
    }
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(paths_of(&lines, "removed").is_empty(), "{lines:#?}");
    assert_eq!(paths_of(&lines, "recorded").len(), 6, "{lines:#?}");
    assert_eq!(
        checkpoint_files(&archive),
        files,
        "every file kept, byte for byte"
    );
    assert_eq!(rows(&archive), (3, 3));
    let (code, lines) = fsck_json(&archive, true);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(!lines.iter().any(|l| l["type"] == "note"), "{lines:#?}");

    // The crash between writing the latest checkpoint file and recording it.
    let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    db.execute_batch(
        "DELETE FROM timestamps WHERE size = 3; DELETE FROM checkpoints WHERE size = 3;",
    )
    .unwrap();
    drop(db);
    let text = ok(&exhibit(&archive, &["fsck", "--repair"]));
    assert!(
        text.contains("recorded orphan_checkpoint log/checkpoints/000000000003.checkpoint\n"),
        "{text}"
    );
    assert!(text.lines().last().unwrap().ends_with(": OK"), "{text}");
    assert_eq!(checkpoint_files(&archive), files);
    ok(&exhibit(&archive, &["reindex"]));
    assert_eq!(rows(&archive), (3, 3));
    passes(&fsck(&archive, true));

    // A token that does not stamp its checkpoint is kept (`log timestamp` replaces it), not
    // recorded; one whose checkpoint is not in the archive at all is kept too.
    let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    db.execute_batch("DELETE FROM timestamps WHERE size = 2;")
        .unwrap();
    drop(db);
    let token2 = files
        .keys()
        .find(|f| f.contains("000000000002.checkpoint."))
        .unwrap();
    std::fs::write(archive.join(token2), tsa.stamp(b"another checkpoint")).unwrap();
    let stray = "log/checkpoints/000000000009.checkpoint.other.tsr";
    std::fs::write(archive.join(stray), tsa.stamp(b"no such checkpoint")).unwrap();
    let (code, lines) = repair_json(&archive);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(paths_of(&lines, "removed").is_empty(), "{lines:#?}");
    let mut kept = paths_of(&lines, "kept");
    kept.sort();
    assert_eq!(kept, [token2.as_str(), stray], "{lines:#?}");
    assert!(archive.join(token2).exists() && archive.join(stray).exists());
}
