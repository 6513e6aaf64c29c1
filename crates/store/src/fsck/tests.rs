//! Unit tests of fsck (the root `tests/fsck.rs` checks it through the CLI).

use super::load::par_map;
use super::objects::object_rel;
use super::*;
use crate::{InitOptions, PendingCapture};
use exhibit_core::manifest::{ContentInfo, FileSource, Method};

/// An archive with four captures of one file-sourced document ("one", "one", "two",
/// "three": three versions) and a signed checkpoint.
fn archive() -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a");
    let mut archive = Archive::init(
        &root,
        InitOptions {
            origin: Some("test.example".into()),
            ..InitOptions::default()
        },
    )
    .unwrap();
    let key = archive.signing_key().unwrap();
    for text in ["one", "one", "two", "three"] {
        let bytes = format!("policy {text}\n");
        let obj = archive.objects().put(bytes.as_bytes()).unwrap();
        commit_file_capture(&mut archive, &key, "/policy.txt", &obj);
    }
    archive.sign_checkpoint(&key).unwrap();
    (dir, archive)
}

/// Commits a successful file capture of `path` whose content is `obj`.
fn commit_file_capture(
    archive: &mut Archive,
    key: &exhibit_sign::SigningKey,
    path: &str,
    obj: &crate::StoredObject,
) {
    let p = PendingCapture {
        document_url: format!("file://{path}"),
        entity: None,
        title: None,
        title_hint: None,
        captured_at: chrono::Utc::now(),
        method: Method::File,
        http: None,
        file: Some(FileSource { path: path.into() }),
        content: Some(ContentInfo {
            sha256: obj.sha256,
            blake3: obj.blake3,
            size: obj.size,
            media_type: "text/plain".into(),
        }),
        text: None,
        text_omitted: None,
        error: None,
        rules_change: None,
    };
    let mut batch = archive.begin(key).unwrap();
    batch.add(p).unwrap();
    batch.commit().unwrap();
}

fn run(archive: &Archive, full: bool) -> FsckReport {
    let options = FsckOptions {
        full,
        workers: 2,
        ..FsckOptions::default()
    };
    archive.fsck(&options).unwrap()
}

fn checks(r: &FsckReport) -> Vec<&'static str> {
    r.problems.iter().map(|p| p.check).collect()
}

fn numbered_lines(n: usize, edit: &str) -> String {
    crate::delta::sample_policy(n, edit)
}

#[test]
fn fsck_a_reference_no_record_names_is_needed_not_an_orphan() {
    // What a crash can leave: a delta object that a later capture deduplicated against,
    // whose reference no committed record names.
    let (_dir, mut archive) = archive();
    let key = archive.signing_key().unwrap();
    let base = numbered_lines(400, "");
    let edited = numbered_lines(400, "A new clause.\n");
    let reference = archive.objects().put(base.as_bytes()).unwrap();
    let obj = archive.objects().put(edited.as_bytes()).unwrap();
    assert_eq!(
        archive.objects().reference_of(&obj.sha256).unwrap(),
        Some(reference.sha256)
    );
    commit_file_capture(&mut archive, &key, "/other.txt", &obj);
    for full in [false, true] {
        let r = run(&archive, full);
        assert!(r.is_clean(), "{:#?}", r.problems);
        assert!(r.notes.is_empty(), "{:#?}", r.notes);
    }
    archive.repair().unwrap();
    assert!(archive.objects().path_of(&reference.sha256).is_file());
    assert!(run(&archive, true).is_clean());
}

#[test]
fn fsck_repair_removes_an_orphan_delta_before_its_orphan_reference() {
    // A crash leftover: a delta and its reference, neither named by a record. A repair
    // stopped between the two removals (killed, an I/O error) must not leave the delta
    // without its reference, for a later capture of the same bytes to deduplicate against.
    let (dir, archive) = archive();
    let base = numbered_lines(400, "");
    // An edit whose object sorts after the reference (removal in name order would take the
    // reference first).
    let edited = (0..)
        .map(|i| numbered_lines(400, &format!("Clause {i} is new.\n")))
        .find(|e| Sha256Digest::of(e.as_bytes()) > Sha256Digest::of(base.as_bytes()))
        .unwrap();
    let reference = archive.objects().put(base.as_bytes()).unwrap().sha256;
    let delta = archive.objects().put(edited.as_bytes()).unwrap().sha256;
    assert_eq!(
        archive.objects().reference_of(&delta).unwrap(),
        Some(reference)
    );
    // This process announced itself as a writer: repair from a fresh handle.
    drop(archive);
    let report = Archive::open(&dir.path().join("a"))
        .unwrap()
        .repair()
        .unwrap();
    let removed: Vec<&str> = report
        .removed
        .iter()
        .filter(|r| r.kind == "orphan_object")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(removed, [object_rel(&delta), object_rel(&reference)]);
}

#[test]
fn fsck_a_clean_archive_has_no_problems_in_either_mode() {
    let (_dir, archive) = archive();
    for full in [false, true] {
        let r = run(&archive, full);
        assert!(r.is_clean(), "{:#?}", r.problems);
        assert!(r.notes.is_empty(), "{:#?}", r.notes);
        assert_eq!((r.captures, r.log_size, r.objects), (4, 4, 3));
        assert_eq!(r.checkpoints, 1);
    }
}

#[test]
fn fsck_a_catalog_row_that_contradicts_its_manifest_is_a_problem() {
    let (_dir, archive) = archive();
    archive
        .conn
        .execute("UPDATE captures SET size = size + 1 WHERE num = 2", [])
        .unwrap();
    let r = run(&archive, false);
    assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
    let m = &r.problems[0].message;
    assert!(m.contains("EX-C-000002") && m.contains("size"), "{m}");
}

#[test]
fn fsck_objects_are_judged_by_the_manifests_not_the_catalog() {
    let (_dir, archive) = archive();
    // The catalog understates an object's size: hashing starts from the catalog's list,
    // stops early, and the object is hashed again against what the manifest says.
    archive
        .conn
        .execute("UPDATE captures SET size = 1 WHERE num = 3", [])
        .unwrap();
    let r = run(&archive, true);
    assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
    // A hash the catalog gets wrong: the object is still checked, against the manifest.
    archive
        .conn
        .execute(
            "UPDATE captures SET size = 11, sha256 = 'ab' || substr(sha256, 3) WHERE num = 3",
            [],
        )
        .unwrap();
    let r = run(&archive, true);
    assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
}

#[test]
fn fsck_a_capture_removed_from_the_catalog_breaks_the_chain_and_the_log() {
    let (_dir, archive) = archive();
    archive
        .conn
        .execute("DELETE FROM captures WHERE num = 2", [])
        .unwrap();
    let r = run(&archive, false);
    let c = checks(&r);
    assert!(
        c.contains(&"chain") && c.contains(&"log"),
        "{:#?}",
        r.problems
    );
    let chain = r.problems.iter().find(|p| p.check == "chain").unwrap();
    assert_eq!(chain.path, "manifests/C/000/EX-C-000003.json");
    assert!(chain.message.contains("EX-C-000002"), "{}", chain.message);
    let log = r.problems.iter().find(|p| p.check == "log").unwrap();
    assert!(log.message.contains("leaf 1 "), "{}", log.message);
    // Its files are now orphans: noted, not problems of their own.
    let orphans = r
        .notes
        .iter()
        .find(|n| n.kind == "orphan_manifest")
        .unwrap();
    assert_eq!(orphans.count, 2, "{orphans:?}");
}

#[test]
fn fsck_a_cut_reference_header_is_named_once_by_its_relative_path() {
    let (dir, archive) = archive();
    let sha = Sha256Digest::of(b"policy two\n");
    let header = crate::delta::header(&Sha256Digest::of(b"policy one\n"));
    std::fs::write(archive.objects().path_of(&sha), &header[..50]).unwrap();
    let r = run(&archive, false);
    assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
    assert_eq!(r.problems[0].path, object_rel(&sha));
    assert_eq!(
        r.problems[0].message, "the reference header is cut short",
        "the path is not repeated, and not absolute"
    );
    assert!(
        !r.problems[0]
            .message
            .contains(&*dir.path().to_string_lossy())
    );
}

#[test]
fn fsck_a_damaged_object_is_found_only_in_full_mode() {
    let (_dir, archive) = archive();
    let sha = Sha256Digest::of(b"policy two\n");
    let forged = zstd::encode_all(&b"policy t0o\n"[..], 3).unwrap();
    std::fs::write(archive.objects().path_of(&sha), forged).unwrap();
    assert!(run(&archive, false).is_clean());
    let r = run(&archive, true);
    assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
    assert!(r.problems[0].path.ends_with(&format!("{sha}.zst")));
    assert!(
        r.problems[0].message.contains("EX-C-000003"),
        "{:?}",
        r.problems[0]
    );
    // Truncated: the zstd frame is cut.
    let good = zstd::encode_all(&b"policy two\n"[..], 3).unwrap();
    std::fs::write(archive.objects().path_of(&sha), &good[..good.len() - 3]).unwrap();
    let r = run(&archive, true);
    assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
    assert!(
        r.problems[0].message.contains("cut short"),
        "{:?}",
        r.problems
    );
    // Something after the frame that is not a frame.
    let mut long = good.clone();
    long.extend_from_slice(b"junk");
    std::fs::write(archive.objects().path_of(&sha), &long).unwrap();
    let r = run(&archive, true);
    assert!(
        r.problems[0].message.contains("decompression fails"),
        "{:?}",
        r.problems
    );
    // Frames that decode to other bytes (the right bytes plus more): damaged too.
    let mut extended = good.clone();
    extended.extend_from_slice(&zstd::encode_all(&b"\n"[..], 3).unwrap());
    std::fs::write(archive.objects().path_of(&sha), &extended).unwrap();
    let r = run(&archive, true);
    assert_eq!(checks(&r), ["object"], "{:#?}", r.problems);
    // The right bytes split over two frames (how an extended text object is stored): clean.
    let mut split = zstd::encode_all(&b"policy two"[..], 3).unwrap();
    split.extend_from_slice(&zstd::encode_all(&b"\n"[..], 3).unwrap());
    std::fs::write(archive.objects().path_of(&sha), &split).unwrap();
    assert!(run(&archive, true).is_clean());
    // Intact again: clean.
    std::fs::write(archive.objects().path_of(&sha), &good).unwrap();
    assert!(run(&archive, true).is_clean());
}

#[test]
fn fsck_a_rewritten_log_contradicts_the_signed_checkpoint() {
    let (_dir, archive) = archive();
    // An inner node no checkpoint root uses: only the full recomputation sees it.
    archive
        .conn
        .execute(
            "UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0",
            [],
        )
        .unwrap();
    assert!(run(&archive, false).is_clean());
    let r = run(&archive, true);
    assert_eq!(checks(&r), ["catalog"], "{:#?}", r.problems);
    assert!(
        r.problems[0].message.contains("level 1, index 0"),
        "{:?}",
        r.problems
    );
    // The root of the signed tree: the quick check sees it too.
    archive
        .conn
        .execute(
            "UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0",
            [],
        )
        .unwrap();
    let r = run(&archive, false);
    assert!(checks(&r).contains(&"checkpoint"), "{:#?}", r.problems);
}

#[test]
fn fsck_par_map_keeps_order() {
    let items: Vec<u32> = (0..1000).collect();
    let out = par_map(&items, 3, &|x| x * 2);
    assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
}
