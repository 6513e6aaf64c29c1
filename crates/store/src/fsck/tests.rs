//! Unit tests of fsck (the root `tests/fsck.rs` checks it through the CLI).

use super::load::par_map;
use super::*;
use crate::layout::object_path as object_rel;
use crate::{InitOptions, PendingCapture};
use exhibit_core::manifest::{CaptureManifest, ContentInfo, FileSource, Method};

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
        browser: None,
        warc: None,
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

/// Every problem as `check path: message`, in the order fsck reports them, with each manifest
/// hash named: `sha(EX-C-000001)` for the hash of that manifest file, `catalog(EX-C-000001)`
/// for a different one the catalog records for it.
fn findings(archive: &Archive, r: &FsckReport) -> Vec<String> {
    let mut names = Vec::new();
    for (kind, table) in [
        (RecordKind::Capture, "captures"),
        (RecordKind::Provision, "provisions"),
    ] {
        let mut stmt = archive
            .conn
            .prepare(&format!("SELECT num, manifest_sha256 FROM {table}"))
            .unwrap();
        let rows: Vec<(i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (num, catalog) in rows {
            let id = RecordId::new(&archive.prefix, kind, num as u64);
            let file = std::fs::read(archive.root.join(crate::layout::manifest_path(&id))).unwrap();
            names.push((Sha256Digest::of(&file).to_string(), format!("sha({id})")));
            names.push((catalog, format!("catalog({id})")));
        }
    }
    r.problems
        .iter()
        .map(|p| {
            let mut line = format!("{} {}: {}", p.check, p.path, p.message);
            for (hex, name) in &names {
                line = line.replace(hex, name);
            }
            line
        })
        .collect()
}

/// The problems fsck finds in the four-capture archive (plus a fifth capture, "three" again:
/// `unchanged`) after `sql` changed its catalog (foreign keys off, as a damaged catalog has them).
fn chain_findings(sql: &str) -> Vec<String> {
    let (_dir, mut archive) = archive();
    let key = archive.signing_key().unwrap();
    let obj = archive.objects().put(b"policy three\n").unwrap();
    commit_file_capture(&mut archive, &key, "/policy.txt", &obj);
    archive
        .conn
        .execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}"))
        .unwrap();
    findings(&archive, &run(&archive, false))
}

/// A manifest hash the catalog gets wrong for capture `n`: its manifest is then unusable, and
/// the chain follows the catalog past it.
fn break_manifest_sha(n: u64) -> String {
    format!(
        "UPDATE captures SET manifest_sha256 = \
         (CASE substr(manifest_sha256, 1, 1) WHEN 'a' THEN 'b' ELSE 'a' END) \
         || substr(manifest_sha256, 2) WHERE num = {n};"
    )
}

#[test]
fn fsck_chain_findings_name_what_the_chain_expected() {
    // Each case: the catalog damage, then the `chain` problems, worded as fsck always has.
    let cases: [(String, &[&str]); 8] = [
        (
            "DELETE FROM captures WHERE num = 1;".to_owned(),
            &[
                "manifests/C/000/EX-C-000002.json: EX-C-000002: previous_capture is EX-C-000001, but the catalog has no earlier capture of EX-D-000001",
                "manifests/C/000/EX-C-000002.json: EX-C-000002: confirms EX-V-000001 unchanged, but the document has no earlier version",
                "manifests/C/000/EX-C-000003.json: EX-C-000003: version.previous is EX-V-000001, but EX-V-000002 is the document's first version",
            ],
        ),
        (
            break_manifest_sha(1),
            &[
                "manifests/C/000/EX-C-000002.json: EX-C-000002: previous_capture pins EX-C-000001 as sha(EX-C-000001), but its manifest is catalog(EX-C-000001)",
                "manifests/C/000/EX-C-000002.json: EX-C-000002: version.opened_by pins EX-C-000001 as sha(EX-C-000001), but its manifest is catalog(EX-C-000001)",
                "manifests/C/000/EX-C-000003.json: EX-C-000003: version.previous pins EX-V-000001 as sha(EX-C-000001), but the manifest that opened it is catalog(EX-C-000001)",
            ],
        ),
        (
            break_manifest_sha(2),
            &[
                "manifests/C/000/EX-C-000003.json: EX-C-000003: previous_capture pins EX-C-000002 as sha(EX-C-000002), but its manifest is catalog(EX-C-000002)",
            ],
        ),
        (
            break_manifest_sha(2) + &break_manifest_sha(3),
            &[
                "manifests/C/000/EX-C-000004.json: EX-C-000004: previous_capture pins EX-C-000003 as sha(EX-C-000003), but its manifest is catalog(EX-C-000003)",
                "manifests/C/000/EX-C-000004.json: EX-C-000004: version.previous pins EX-V-000002 as sha(EX-C-000003), but the manifest that opened it is catalog(EX-C-000003)",
            ],
        ),
        (
            "UPDATE captures SET document = 2 WHERE num = 3;".to_owned(),
            &[
                "manifests/C/000/EX-C-000004.json: EX-C-000004: previous_capture is EX-C-000003, but the document's previous capture is EX-C-000002",
                "manifests/C/000/EX-C-000004.json: EX-C-000004: version.previous is EX-V-000002, but the document's version before EX-V-000003 is EX-V-000001",
                "manifests/C/000/EX-C-000003.json: EX-C-000003: previous_capture is EX-C-000002, but the catalog has no earlier capture of EX-D-000001",
                "manifests/C/000/EX-C-000003.json: EX-C-000003: version.previous is EX-V-000001, but EX-V-000002 is the document's first version",
            ],
        ),
        (
            // The unusable manifest's version was opened by another capture: the chain
            // follows the catalog's versions row.
            "UPDATE versions SET opened_by = 1 WHERE num = 2;".to_owned() + &break_manifest_sha(3),
            &[
                "manifests/C/000/EX-C-000004.json: EX-C-000004: previous_capture pins EX-C-000003 as sha(EX-C-000003), but its manifest is catalog(EX-C-000003)",
            ],
        ),
        (
            "UPDATE captures SET version = 2 WHERE num = 4;".to_owned() + &break_manifest_sha(4),
            &[
                "manifests/C/000/EX-C-000005.json: EX-C-000005: previous_capture pins EX-C-000004 as sha(EX-C-000004), but its manifest is catalog(EX-C-000004)",
                "manifests/C/000/EX-C-000005.json: EX-C-000005: confirms EX-V-000003 unchanged, but the document's current version is EX-V-000002",
            ],
        ),
        (
            "UPDATE versions SET opened_by = 3 WHERE num = 3;".to_owned() + &break_manifest_sha(4),
            &[
                "manifests/C/000/EX-C-000005.json: EX-C-000005: previous_capture pins EX-C-000004 as sha(EX-C-000004), but its manifest is catalog(EX-C-000004)",
                "manifests/C/000/EX-C-000005.json: EX-C-000005: version.opened_by is EX-C-000004, but EX-V-000003 was opened by EX-C-000003",
            ],
        ),
    ];
    for (sql, chain) in cases {
        assert_eq!(chain_problems(&chain_findings(&sql)), chain, "{sql}");
    }
}

/// The `chain` problems among `findings`, without the check's name.
fn chain_problems(findings: &[String]) -> Vec<&str> {
    findings
        .iter()
        .filter_map(|f| f.strip_prefix("chain "))
        .collect()
}

/// The problems fsck finds in the four-capture archive plus a capture with a text (EX-C-000005,
/// opening EX-V-000004 of EX-D-000002) and a provision quoting it, after `sql` changed the
/// catalog.
/// `edit` then rewrites EX-C-000005's manifest (unsigned, but in the catalog: the manifest in
/// hand).
fn provision_findings(sql: &str, edit: impl FnOnce(&mut CaptureManifest)) -> Vec<String> {
    let (_dir, mut archive) = archive();
    let key = archive.signing_key().unwrap();
    let bytes = b"Notice.\nWe keep your data for 30 days.\n";
    let obj = archive.objects().put(bytes).unwrap();
    let mut batch = archive.begin(&key).unwrap();
    batch
        .add(PendingCapture {
            document_url: "file:///notice.txt".into(),
            entity: None,
            title: None,
            title_hint: None,
            captured_at: chrono::Utc::now(),
            method: Method::File,
            http: None,
            file: Some(FileSource {
                path: "/notice.txt".into(),
            }),
            content: Some(ContentInfo {
                sha256: obj.sha256,
                blake3: obj.blake3,
                size: obj.size,
                media_type: "text/plain".into(),
            }),
            text: Some(exhibit_core::manifest::TextInfo {
                sha256: obj.sha256,
                blake3: obj.blake3,
                size: obj.size,
                charset: "utf-8".into(),
                extractor: exhibit_core::manifest::Extractor {
                    name: "plain".into(),
                    version: "1".into(),
                    rules: None,
                },
            }),
            text_omitted: None,
            error: None,
            rules_change: None,
            browser: None,
            warc: None,
        })
        .unwrap();
    batch.commit().unwrap();
    let version = archive.version(4).unwrap();
    let draft = archive
        .draft_provision(&version, "30 days", None, chrono::Utc::now())
        .unwrap()
        .unwrap();
    let mut batch = archive.begin(&key).unwrap();
    batch.add_provision(draft).unwrap();
    batch.commit().unwrap();
    let id = RecordId::new(&archive.prefix, RecordKind::Capture, 5);
    let path = archive.root.join(crate::layout::manifest_path(&id));
    let mut m = CaptureManifest::parse(&std::fs::read(&path).unwrap()).unwrap();
    let before = m.clone();
    edit(&mut m);
    if m != before {
        let bytes = m.to_canonical_bytes().unwrap();
        std::fs::write(&path, &bytes).unwrap();
        archive
            .conn
            .execute(
                "UPDATE captures SET manifest_sha256 = ?1 WHERE num = 5",
                [Sha256Digest::of(&bytes).to_string()],
            )
            .unwrap();
    }
    archive
        .conn
        .execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}"))
        .unwrap();
    findings(&archive, &run(&archive, false))
}

#[test]
fn fsck_provision_findings_name_the_opening_capture() {
    let p = "manifests/P/000/EX-P-000001.json: EX-P-000001";
    let cases: [(String, Vec<String>); 5] = [
        (String::new(), vec![]),
        (
            break_manifest_sha(5),
            vec![format!(
                "{p}: pins EX-C-000005 as sha(EX-C-000005), but its manifest is catalog(EX-C-000005)"
            )],
        ),
        // A captures row that contradicts its manifest is the catalog's problem: the
        // provision is checked against the signed manifest it pins. (Moved to document 1,
        // capture 5 breaks that document's chain.)
        (
            "UPDATE captures SET text_size = 1, version = 3, document = 1 WHERE num = 5;".to_owned(),
            vec![
                "manifests/C/000/EX-C-000005.json: EX-C-000005: previous_capture is null, but EX-C-000004 is an earlier capture of EX-D-000002".to_owned(),
                "manifests/C/000/EX-C-000005.json: EX-C-000005: version.previous is null, but the document's current version was EX-V-000003".to_owned(),
            ],
        ),
        (
            "UPDATE versions SET opened_by = 4 WHERE num = 4;".to_owned(),
            vec![format!(
                "{p}: names EX-C-000005 as the capture that opened EX-V-000004, but 4 opened it"
            )],
        ),
        (
            "DELETE FROM captures WHERE num = 5;".to_owned(),
            vec![format!("{p}: quotes EX-C-000005, which is not in the catalog")],
        ),
    ];
    for (sql, chain) in cases {
        assert_eq!(
            chain_problems(&provision_findings(&sql, |_| {})),
            chain,
            "{sql}"
        );
    }
    // An opening manifest (re-hashed into the catalog, so that it is the one in hand) that
    // states another text, version and document title than the provision quotes.
    let found = provision_findings("", |m| {
        // Another text object: the same SHA-256 with another size is refused by the parser
        // (one SHA-256, one object), and the content shares this text's bytes.
        let text = m.text.as_mut().unwrap();
        text.sha256 = Sha256Digest::of(b"another text");
        text.size += 1;
        m.version.as_mut().unwrap().id = RecordId::new(
            &exhibit_core::IdPrefix::new("EX").unwrap(),
            RecordKind::Version,
            5,
        );
        m.document.title = Some("Other".into());
    });
    let chain = chain_problems(&found);
    assert_eq!(chain.len(), 4, "{found:#?}");
    assert!(
        chain[0].starts_with(&format!("{p}: pins EX-C-000005 as "))
            && chain[0].ends_with(", but its manifest is sha(EX-C-000005)"),
        "{}",
        chain[0]
    );
    assert_eq!(
        chain[1],
        format!("{p}: quotes EX-V-000004 but EX-C-000005 belongs to version 5")
    );
    assert!(
        chain[2].starts_with(&format!("{p}: quotes the text "))
            && chain[2].contains(" (39 bytes), but EX-C-000005's text is ")
            && chain[2].ends_with(" (40 bytes)"),
        "{}",
        chain[2]
    );
    assert_eq!(
        chain[3],
        format!(
            "{p}: names EX-D-000002 as EX-C-000005 does not: their URL, entity or title differ"
        )
    );
}
