//! `exhibit reindex` end to end: the catalog is rebuilt from the signed manifests, objects and
//! log alone, and is identical, table by table, to the one that was there — on an archive with
//! HTTP and file captures, versions and changes of one document, failed captures, provisions,
//! extraction rules, a re-extraction, checkpoints and (when `openssl` is installed) RFC 3161
//! tokens; and on a few hundred real policy texts from `../shared/corpus/stress`.
//!
//! The one table compared differently is `document_rules`: its history (when rules were set,
//! and how) is kept only in the catalog. What the signed records say — the rules in force at
//! a document's latest capture with text or re-extraction — is compared instead (docs/FORMAT.md
//! §7.1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

/// Every catalog table as sorted rows of printable values, plus the schema (`sqlite_schema`
/// without page numbers), except `document_rules` (catalog-only history, compared through
/// [`current_rules`]) and the search index's FTS5 shadow tables (`documents_search_*`: their
/// bytes depend on how the index was merged, not on what it holds). The index itself is held to
/// FTS5's `integrity-check` (it indexes exactly the `documents` rows, which are compared).
pub(crate) fn dump(archive: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = rusqlite::Connection::open_with_flags(
        archive.join("catalog.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    rusqlite::Connection::open(archive.join("catalog.sqlite"))
        .unwrap()
        .execute(
            "INSERT INTO documents_search(documents_search) VALUES ('integrity-check')",
            [],
        )
        .expect("the search index holds exactly the documents table");
    let mut out = BTreeMap::new();
    let mut schema: Vec<String> = conn
        .prepare("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{} {} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    schema.sort();
    out.insert("(schema)".to_owned(), schema);
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> 'document_rules' AND name NOT LIKE 'documents\\_search\\_%' ESCAPE '\\' \
             ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut cells = Vec::with_capacity(n);
                for i in 0..n {
                    cells.push(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            format!("{:?}", String::from_utf8_lossy(t))
                        }
                        rusqlite::types::ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
                    });
                }
                Ok(cells.join("|"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.insert(table, rows);
    }
    out
}

/// Each document's rules in force (the latest `document_rules` row), by document number.
fn current_rules(archive: &Path) -> BTreeMap<i64, String> {
    let conn = rusqlite::Connection::open_with_flags(
        archive.join("catalog.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.prepare(
        "SELECT document, rules FROM document_rules r WHERE id = \
         (SELECT max(id) FROM document_rules WHERE document = r.document)",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
    .unwrap()
    .collect::<Result<BTreeMap<i64, String>, _>>()
    .unwrap()
    .into_iter()
    .filter(|(_, rules)| rules != r#"{"select":[],"remove":[]}"#)
    .collect()
}

/// Asserts two dumps are equal, naming the first table that differs and its first differing row.
fn assert_same(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "tables"
    );
    for (table, rows) in before {
        let other = &after[table];
        if rows != other {
            let diff = rows
                .iter()
                .zip(other)
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("before: {a}\nafter:  {b}"))
                .unwrap_or_else(|| format!("{} rows before, {} after", rows.len(), other.len()));
            panic!("table {table} differs after reindex:\n{diff}");
        }
    }
}

fn remove_catalog(archive: &Path) {
    for name in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(archive.join(name));
    }
    assert!(!archive.join("catalog.sqlite").exists());
}

fn reindex_json(archive: &Path) -> serde_json::Value {
    let out = exhibit(archive, &["--json", "reindex"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", stderr(&out));
    assert_eq!(lines[0]["type"], "reindex");
    lines[0]["report"].clone()
}

fn fsck_full_clean(archive: &Path) {
    let out = exhibit(archive, &["fsck", "--full"]);
    let text = ok(&out);
    assert!(!text.contains("FAIL"), "{text}");
}

fn page(revision: usize) -> String {
    format!(
        "<!doctype html><html><head><title>Terms</title></head><body><main><h1>Terms</h1>\
         <p>Revision {revision}. We keep your data for {} days.</p>\
         <footer class=\"site-footer\"><p>Footer {revision}</p></footer></main></body></html>",
        30 * revision
    )
}

fn capture_id(out: &Output) -> String {
    json_lines(out)[0]["capture_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", stderr(out)))
        .to_owned()
}

/// A varied archive: returns its path (inside `dir`) and the TSA, kept alive by the caller.
fn varied_archive(dir: &Path) -> (PathBuf, Option<tsa::LocalTsa>) {
    let archive = dir.join("archive");
    let tsa = tsa::LocalTsa::start(&dir.join("tsa"));
    let mut init = vec!["init", "--origin", "reindex.example"];
    let tsa_url = tsa.as_ref().map(|t| t.url());
    if let Some(url) = &tsa_url {
        init.extend(["--tsa", url.as_str()]);
    }
    ok(&exhibit(&archive, &init));

    let revision = Arc::new(AtomicUsize::new(1));
    let r = revision.clone();
    let server = Server::start(move |path| match path {
        "/terms" => Reply::ok("text/html", page(r.load(Ordering::SeqCst))),
        "/privacy" => Reply::ok("text/plain", "Privacy: we sell nothing.\n"),
        "/image" => Reply::ok("image/png", vec![0x89, b'P', b'N', b'G', 1, 2, 3]),
        _ => Reply::status(404, "<p>Not here</p>"),
    });
    let terms = server.url("/terms");
    // Versions and changes of one document: v1, unchanged, v2, back to v1 (a third version).
    let first = exhibit(&archive, &["--json", "capture", &terms]);
    let v1 = json_lines(&first)[0]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&exhibit(&archive, &["capture", &terms]));
    revision.store(2, Ordering::SeqCst);
    ok(&exhibit(
        &archive,
        &["capture", &terms, "--entity", "Example Corp"],
    ));
    revision.store(1, Ordering::SeqCst);
    ok(&exhibit(&archive, &["capture", &terms, "--title", "Terms"]));
    // Failed captures (a failure first, for a document's creation; and one after successes).
    let gone = exhibit(&archive, &["capture", &server.url("/gone")]);
    assert_ne!(code(&gone), 2, "{}", stderr(&gone));
    revision.store(3, Ordering::SeqCst);
    ok(&exhibit(
        &archive,
        &["capture", &server.url("/privacy"), &server.url("/image")],
    ));
    let failed_terms = Server::start(|_| Reply::status(503, "busy"));
    let _ = exhibit(
        &archive,
        &["capture", &failed_terms.url("/x"), "--url", &terms],
    );
    // Files, several in one command, and rules given with a capture.
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mut paths = Vec::new();
    for i in 0..6 {
        let p = files.join(format!("notice-{i}.txt"));
        std::fs::write(&p, format!("Notice {i}.\nWe keep your data for 30 days.\n")).unwrap();
        paths.push(p.display().to_string());
    }
    let mut args = vec!["capture"];
    args.extend(paths.iter().map(String::as_str));
    ok(&exhibit(&archive, &args));
    let html = files.join("page.html");
    std::fs::write(&html, page(7)).unwrap();
    let html = html.display().to_string();
    ok(&exhibit(
        &archive,
        &["capture", &html, "--remove", "footer"],
    ));
    // A provision, a rules change and a re-extraction (which carries the rules).
    ok(&exhibit(
        &archive,
        &["cite", &v1, "--quote", "We keep your data for 30 days."],
    ));
    ok(&exhibit(
        &archive,
        &["document", "rules", &terms, "--remove", "footer"],
    ));
    ok(&exhibit(&archive, &["reextract", &terms]));
    // After the re-extraction the document's next capture confirms the current version.
    revision.store(1, Ordering::SeqCst);
    ok(&exhibit(&archive, &["capture", &terms]));
    ok(&exhibit(&archive, &["log", "checkpoint"]));
    (archive, tsa)
}

#[test]
fn deleting_the_catalog_and_reindexing_gives_back_every_record_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, tsa) = varied_archive(dir.path());
    fsck_full_clean(&archive);
    let before = dump(&archive);
    let rules_before = current_rules(&archive);
    assert!(before["captures"].len() >= 15, "{:?}", before["captures"]);
    assert_eq!(before["provisions"].len(), 1);
    assert_eq!(before["reextractions"].len(), 1);
    assert!(before["captures"].iter().any(|r| r.contains("|0|")));
    if tsa.is_some() {
        assert!(!before["timestamps"].is_empty(), "tokens expected");
    }
    assert_eq!(rules_before.len(), 2, "{rules_before:?}");

    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["backup"], serde_json::Value::Null);
    assert_eq!(report["orphans"], serde_json::json!([]));
    assert_eq!(report["dropped_leaves"], 0);
    assert_eq!(report["rules_restored"], 2);
    assert_eq!(
        report["captures"].as_u64().unwrap() as usize,
        before["captures"].len()
    );
    let after = dump(&archive);
    assert_same(&before, &after);
    assert_eq!(current_rules(&archive), rules_before);
    fsck_full_clean(&archive);

    // A capture after reindex continues the numbering and the chains.
    let next_file = dir.path().join("next.txt");
    std::fs::write(&next_file, "Next.\n").unwrap();
    let next = exhibit(
        &archive,
        &["--json", "capture", next_file.to_str().unwrap()],
    );
    let last = before["captures"].len();
    assert_eq!(capture_id(&next), format!("EX-C-{:06}", last + 1));
    fsck_full_clean(&archive);

    // Reindexing over an existing catalog keeps it as a backup and changes nothing.
    let before = dump(&archive);
    let report = reindex_json(&archive);
    let backup = report["backup"].as_str().unwrap().to_owned();
    assert!(backup.starts_with("catalog.sqlite.bak-"), "{backup}");
    assert!(archive.join(&backup).is_file());
    assert_same(&before, &dump(&archive));
    assert_same(&before, &dump_file(&archive, &backup));
    drop(tsa);
}

/// [`dump`] of a catalog file other than `catalog.sqlite` (copied into a scratch archive dir).
fn dump_file(archive: &Path, name: &str) -> BTreeMap<String, Vec<String>> {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::copy(archive.join(name), scratch.path().join("catalog.sqlite")).unwrap();
    dump(scratch.path())
}

/// A small archive of file captures, for the failure cases.
fn small_archive(dir: &Path) -> PathBuf {
    let archive = dir.join("archive");
    ok(&exhibit(&archive, &["init", "--origin", "small.example"]));
    for i in 0..4 {
        let p = dir.join(format!("doc-{}.txt", i % 2));
        std::fs::write(&p, format!("Document {} revision {i}.\n", i % 2)).unwrap();
        ok(&exhibit(&archive, &["capture", p.to_str().unwrap()]));
    }
    archive
}

/// How many entries of the archive root have `part` in their name.
fn names_containing(archive: &Path, part: &str) -> usize {
    std::fs::read_dir(archive)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(part)
        })
        .count()
}

fn catalog_bytes(archive: &Path) -> Vec<u8> {
    std::fs::read(archive.join("catalog.sqlite")).unwrap()
}

#[test]
fn a_tampered_manifest_fails_reindex_naming_the_file_and_leaves_the_catalog_alone() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    let rel = "manifests/C/000/EX-C-000002.json";
    let path = archive.join(rel);
    let original = std::fs::read(&path).unwrap();
    // One changed character (the capture time), bytes still canonical JSON.
    let text = String::from_utf8(original.clone()).unwrap();
    let i = text.find("\"captured_at\":\"").unwrap() + 15;
    let mut tampered = text.into_bytes();
    tampered[i + 3] = if tampered[i + 3] == b'0' { b'1' } else { b'0' };
    std::fs::write(&path, &tampered).unwrap();

    let catalog = catalog_bytes(&archive);
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(rel), "{err}");
    assert_eq!(catalog_bytes(&archive), catalog, "catalog untouched");
    assert_eq!(names_containing(&archive, ".bak-"), 0, "no backup made");

    // Same with the catalog gone: it stays gone, and nothing half-built is left.
    remove_catalog(&archive);
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains(rel), "{}", stderr(&out));
    assert!(!archive.join("catalog.sqlite").exists());
    assert_eq!(
        names_containing(&archive, ".tmp-"),
        0,
        "temporary catalog removed"
    );

    // A bad signature on an intact manifest is named too.
    std::fs::write(&path, &original).unwrap();
    let sig = path.with_extension("json.sig");
    let mut bad = std::fs::read(&sig).unwrap();
    bad[0] ^= 1;
    std::fs::write(&sig, &bad).unwrap();
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains(rel) && stderr(&out).contains("signature"),
        "{}",
        stderr(&out)
    );
    bad[0] ^= 1;
    std::fs::write(&sig, &bad).unwrap();
    let report = reindex_json(&archive);
    assert_eq!(report["captures"], 4);
}

#[test]
fn a_removed_manifest_under_a_signed_checkpoint_fails_reindex() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    let rel = "manifests/C/000/EX-C-000003.json";
    std::fs::remove_file(archive.join(rel)).unwrap();
    std::fs::remove_file(archive.join(format!("{rel}.sig"))).unwrap();
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("log/leaves") && err.contains("leaf 2"),
        "{err}"
    );
}

/// Undoes the catalog and log side of the latest capture command, as a crash before COMMIT
/// would have left them: the manifest stays, signed, but nothing names it.
fn crash_before_commit(archive: &Path, run: impl FnOnce()) {
    let saved: Vec<(PathBuf, Option<Vec<u8>>)> = [
        "catalog.sqlite",
        "catalog.sqlite-wal",
        "catalog.sqlite-shm",
        "log/leaves",
        "log/checkpoint",
    ]
    .iter()
    .map(|n| (archive.join(n), std::fs::read(archive.join(n)).ok()))
    .collect();
    let checkpoints: Vec<_> = std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    run();
    for (path, bytes) in saved {
        match bytes {
            Some(b) => std::fs::write(&path, b).unwrap(),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    for e in std::fs::read_dir(archive.join("log/checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if !checkpoints.contains(&p) {
            std::fs::remove_file(p).unwrap();
        }
    }
}

#[test]
fn an_orphan_manifest_is_skipped_and_reported_and_its_number_stays_used() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    let extra = dir.path().join("extra.txt");
    std::fs::write(&extra, "Never committed.\n").unwrap();
    crash_before_commit(&archive, || {
        ok(&exhibit(&archive, &["capture", extra.to_str().unwrap()]));
    });
    let orphan = "manifests/C/000/EX-C-000005.json";
    assert!(archive.join(orphan).is_file());
    let before = dump(&archive);
    remove_catalog(&archive);
    let report = reindex_json(&archive);
    let orphans = report["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{report}");
    assert!(
        orphans[0].as_str().unwrap().starts_with(orphan),
        "{orphans:?}"
    );
    assert_eq!(report["captures"], 4);
    assert_same(&before, &dump(&archive));
    // The text output names it too.
    let out = exhibit(&archive, &["reindex"]);
    assert!(
        ok(&out).contains(&format!("orphan (skipped) {orphan}")),
        "{}",
        stdout(&out)
    );
    // The orphan's number is never given out again.
    let next = exhibit(&archive, &["--json", "capture", extra.to_str().unwrap()]);
    assert_eq!(capture_id(&next), "EX-C-000006");
    fsck_full_clean(&archive);
}

#[test]
fn leaves_committed_after_the_last_signed_checkpoint_are_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    // A capture whose checkpoint was never signed (a crash between COMMIT and signing): the
    // catalog and leaves keep it; the checkpoint files are those of before.
    let cp = std::fs::read(archive.join("log/checkpoint")).unwrap();
    let listed: Vec<_> = std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let extra = dir.path().join("late.txt");
    std::fs::write(&extra, "Committed, not yet checkpointed.\n").unwrap();
    ok(&exhibit(&archive, &["capture", extra.to_str().unwrap()]));
    std::fs::write(archive.join("log/checkpoint"), cp).unwrap();
    for e in std::fs::read_dir(archive.join("log/checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if !listed.contains(&p) {
            std::fs::remove_file(p).unwrap();
        }
    }
    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["captures"], 5, "{report}");
    assert_eq!(report["checkpoint_size"], 4);
    assert_eq!(report["beyond_checkpoint"], 1);
    // The next checkpoint extends the last signed one.
    ok(&exhibit(&archive, &["log", "checkpoint"]));
    fsck_full_clean(&archive);
}

#[test]
fn reindex_refuses_while_another_process_has_the_catalog_open() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    // Another process holding the catalog open (as a running capture does).
    if !have("python3") {
        return;
    }
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             c.execute('select count(*) from captures').fetchall(); \
             print('ready', flush=True); sys.stdin.read()",
        )
        .arg(archive.join("catalog.sqlite"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
    }
    let catalog = catalog_bytes(&archive);
    let out = exhibit(&archive, &["reindex"]);
    drop(holder.stdin.take());
    holder.wait().unwrap();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("another exhibit process"),
        "{}",
        stderr(&out)
    );
    assert_eq!(catalog_bytes(&archive), catalog);
    // Alone again, it runs.
    assert_eq!(reindex_json(&archive)["captures"], 4);
}

#[test]
fn a_few_hundred_real_policy_texts_reindex_identically() {
    let Some(corpus) = corpus() else { return };
    let stress = corpus.join("stress");
    if !stress.is_dir() {
        eprintln!("skipping: {} is absent", stress.display());
        return;
    }
    // Documents in name order, their files oldest first, until about 300 files.
    let mut list = String::new();
    let mut files = 0;
    let mut services: Vec<PathBuf> = std::fs::read_dir(&stress)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    services.sort();
    'outer: for service in services {
        let mut types: Vec<PathBuf> = std::fs::read_dir(&service)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        types.sort();
        for ty in types {
            let mut versions: Vec<PathBuf> = std::fs::read_dir(&ty)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            versions.sort();
            let url = format!(
                "https://stress.example/{}/{}",
                service.file_name().unwrap().to_string_lossy(),
                ty.file_name().unwrap().to_string_lossy()
            );
            for v in versions {
                list.push_str(&format!("{}\t{url}\n", v.display()));
                files += 1;
            }
            if files >= 300 {
                break 'outer;
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    ok(&exhibit(&archive, &["init"]));
    let list_file = dir.path().join("list.tsv");
    std::fs::write(&list_file, list).unwrap();
    ok(&exhibit(
        &archive,
        &[
            "capture",
            "--list",
            list_file.to_str().unwrap(),
            "--jobs",
            "2",
        ],
    ));
    let before = dump(&archive);
    assert_eq!(before["captures"].len(), files);
    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["captures"].as_u64().unwrap() as usize, files);
    assert_same(&before, &dump(&archive));
    fsck_full_clean(&archive);
}

/// Runs `run` (a capture command) and then puts the checkpoint files back as they were: the
/// captures it committed are left beyond the latest signed checkpoint, as after a kill.
fn without_new_checkpoint(archive: &Path, run: impl FnOnce()) {
    let cp = std::fs::read(archive.join("log/checkpoint")).unwrap();
    let listed: Vec<_> = std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    run();
    std::fs::write(archive.join("log/checkpoint"), cp).unwrap();
    for e in std::fs::read_dir(archive.join("log/checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if !listed.contains(&p) {
            std::fs::remove_file(p).unwrap();
        }
    }
}

/// The object file of a capture's content, from its manifest.
fn content_object(archive: &Path, id: &str) -> PathBuf {
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(archive.join(format!("manifests/C/000/{id}.json"))).unwrap(),
    )
    .unwrap();
    let sha = m["content"]["sha256"].as_str().unwrap();
    archive.join(format!("objects/{}/{sha}.zst", &sha[..2]))
}

#[test]
fn a_killed_batch_beyond_the_checkpoint_whose_object_is_missing_ends_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    // Two captures in one batch beyond the signed checkpoint (4); the first one's content
    // object is missing, as when a batch is killed before its staged objects are renamed to
    // their addresses (FORMAT §8).
    let files: Vec<String> = (0..2)
        .map(|i| {
            let p = dir.path().join(format!("killed-{i}.txt"));
            std::fs::write(&p, format!("Killed batch, file {i}.\n")).unwrap();
            p.display().to_string()
        })
        .collect();
    without_new_checkpoint(&archive, || {
        ok(&exhibit(&archive, &["capture", &files[0], &files[1]]));
    });
    let object = content_object(&archive, "EX-C-000005");
    std::fs::remove_file(&object).unwrap();

    // A complete signature that does not verify is still tampering, beyond S too.
    let sig = archive.join("manifests/C/000/EX-C-000005.json.sig");
    let good = std::fs::read(&sig).unwrap();
    let mut bad = good.clone();
    bad[5] ^= 1;
    std::fs::write(&sig, &bad).unwrap();
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("EX-C-000005.json") && stderr(&out).contains("signature"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&sig, &good).unwrap();

    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["captures"], 4, "{report}");
    assert_eq!(report["log_size"], 4);
    assert_eq!(report["checkpoint_size"], 4);
    assert_eq!(report["beyond_checkpoint"], 0);
    assert_eq!(report["dropped_leaves"], 2);
    let orphans: Vec<&str> = report["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(orphans.len(), 2, "{orphans:?}");
    assert!(
        orphans[0].starts_with("manifests/C/000/EX-C-000005.json")
            && orphans[0].contains("is missing"),
        "{orphans:?}"
    );
    assert!(
        orphans[1].starts_with("manifests/C/000/EX-C-000006.json"),
        "{orphans:?}"
    );
    fsck_full_clean(&archive);
    // Their numbers stay used; the archive takes captures as before.
    let next = dir.path().join("next.txt");
    std::fs::write(&next, "After the rebuild.\n").unwrap();
    let out = exhibit(&archive, &["--json", "capture", next.to_str().unwrap()]);
    assert_eq!(capture_id(&out), "EX-C-000007");
    fsck_full_clean(&archive);
}

#[test]
fn an_empty_manifest_and_signature_beyond_the_checkpoint_are_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    let extra = dir.path().join("extra.txt");
    std::fs::write(&extra, "Written, then lost to a crash.\n").unwrap();
    without_new_checkpoint(&archive, || {
        ok(&exhibit(&archive, &["capture", extra.to_str().unwrap()]));
    });
    // What a power loss before the batch's files were synced can leave.
    let rel = "manifests/C/000/EX-C-000005.json";
    std::fs::write(archive.join(rel), b"").unwrap();
    std::fs::write(archive.join(format!("{rel}.sig")), b"").unwrap();
    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["captures"], 4, "{report}");
    assert_eq!(report["dropped_leaves"], 1);
    let orphans = report["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{report}");
    assert!(orphans[0].as_str().unwrap().starts_with(rel), "{orphans:?}");

    // A truncated manifest with a short signature, and one with no signature: orphans too.
    let full = std::fs::read(archive.join("manifests/C/000/EX-C-000004.json")).unwrap();
    std::fs::write(archive.join(rel), &full[..full.len() / 2]).unwrap();
    std::fs::write(archive.join(format!("{rel}.sig")), [7u8; 20]).unwrap();
    assert_eq!(reindex_json(&archive)["captures"], 4);
    std::fs::remove_file(archive.join(format!("{rel}.sig"))).unwrap();
    assert_eq!(reindex_json(&archive)["captures"], 4);
    let out = exhibit(&archive, &["--json", "capture", extra.to_str().unwrap()]);
    assert_eq!(capture_id(&out), "EX-C-000006");
    fsck_full_clean(&archive);
}

#[test]
fn a_missing_signature_beyond_the_checkpoint_ends_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    let extra = dir.path().join("extra.txt");
    std::fs::write(&extra, "Manifest written, signature not.\n").unwrap();
    without_new_checkpoint(&archive, || {
        ok(&exhibit(&archive, &["capture", extra.to_str().unwrap()]));
    });
    let rel = "manifests/C/000/EX-C-000005.json";
    std::fs::write(archive.join(format!("{rel}.sig")), [1u8; 10]).unwrap();
    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["captures"], 4, "{report}");
    assert_eq!(report["dropped_leaves"], 1);
    let orphan = report["orphans"][0].as_str().unwrap();
    assert!(
        orphan.starts_with(rel) && orphan.contains("signature"),
        "{orphan}"
    );
    // Below the signed checkpoint the same is an error.
    let below = "manifests/C/000/EX-C-000002.json";
    std::fs::remove_file(archive.join(format!("{below}.sig"))).unwrap();
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains(below), "{}", stderr(&out));
}

#[test]
fn two_reindexes_within_one_second_keep_two_backups() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    let mut backups = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let report = reindex_json(&archive);
        assert!(backups.insert(report["backup"].as_str().unwrap().to_owned()));
    }
    assert_eq!(names_containing(&archive, ".bak-"), 3, "{backups:?}");
    fsck_full_clean(&archive);
}

#[test]
fn a_catalog_that_is_a_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    remove_catalog(&archive);
    std::fs::create_dir(archive.join("catalog.sqlite")).unwrap();
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("catalog.sqlite") && err.contains("is not a file") && !err.contains(".bak-"),
        "{err}"
    );
    assert!(archive.join("catalog.sqlite").is_dir());
    assert_eq!(names_containing(&archive, ".bak-"), 0);
}

/// The files a forged provision replaces: its manifest, its signature and `log/leaves`.
struct ProvisionFiles {
    manifest: PathBuf,
    signature: PathBuf,
    leaves: PathBuf,
}

impl ProvisionFiles {
    fn of(archive: &Path, id: &str) -> ProvisionFiles {
        ProvisionFiles {
            manifest: archive.join(format!("manifests/P/000/{id}.json")),
            signature: archive.join(format!("manifests/P/000/{id}.json.sig")),
            leaves: archive.join("log/leaves"),
        }
    }

    fn read(&self) -> [Vec<u8>; 3] {
        [&self.manifest, &self.signature, &self.leaves].map(|p| std::fs::read(p).unwrap())
    }

    fn write(&self, [manifest, signature, leaves]: &[Vec<u8>; 3]) {
        std::fs::write(&self.manifest, manifest).unwrap();
        std::fs::write(&self.signature, signature).unwrap();
        std::fs::write(&self.leaves, leaves).unwrap();
    }

    /// Replaces the provision (the log's last leaf, beyond the signed checkpoint) by `forged`
    /// as only the holder of the archive key could: signed with `keys/signing.pem`, and its
    /// leaf hash in `log/leaves` in place of the genuine one.
    fn forge(&self, archive: &Path, forged: &str) {
        let key = exhibit_sign::SigningKey::load(&archive.join("keys/signing.pem")).unwrap();
        let mut leaves = std::fs::read(&self.leaves).unwrap();
        let last = leaves.len() - 32;
        leaves[last..].copy_from_slice(&exhibit_core::merkle::leaf_hash(forged.as_bytes()));
        self.write(&[
            forged.as_bytes().to_vec(),
            key.sign(forged.as_bytes()).to_bytes().to_vec(),
            leaves,
        ]);
    }
}

#[test]
fn a_signed_provision_that_misquotes_its_opening_capture_fails_reindex() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path());
    // EX-V-000001 is opened by EX-C-000001 ("Document 0 revision 0.\n"); the provision is the
    // last leaf, beyond the signed checkpoint, so only the log's leaf hashes vouch for it.
    without_new_checkpoint(&archive, || {
        let out = exhibit(&archive, &["cite", "EX-V-000001", "--quote", "revision 0"]);
        assert!(ok(&out).contains("Recorded provision EX-P-000001"));
    });
    let files = ProvisionFiles::of(&archive, "EX-P-000001");
    let genuine = files.read();
    let text = String::from_utf8(genuine[0].clone()).unwrap();
    let size = format!("\"size\":{}}}", "Document 0 revision 0.\n".len());
    assert_eq!(text.matches(&size).count(), 1, "{text}");
    assert_eq!(text.matches("\"title\":null").count(), 1, "{text}");

    // A forgery that still agrees with its opening capture is indexed (the key holder could
    // re-sign a record; what it says must still be what the log holds).
    let later = text.replacen("\"created_at\":\"20", "\"created_at\":\"21", 1);
    assert_ne!(later, text);
    files.forge(&archive, &later);
    remove_catalog(&archive);
    let report = reindex_json(&archive);
    assert_eq!(report["provisions"], 1, "{report}");
    files.write(&genuine);

    for (what, forged) in [
        ("a text size", text.replacen(&size, "\"size\":24}", 1)),
        (
            "a document title",
            text.replacen("\"title\":null", "\"title\":\"Another document\"", 1),
        ),
    ] {
        assert_ne!(forged, text, "{what}");
        files.forge(&archive, &forged);
        let catalog = catalog_bytes(&archive);
        let out = exhibit(&archive, &["reindex"]);
        assert_eq!(code(&out), 1, "{what}: {}", all_output(&out));
        let err = stderr(&out);
        assert!(
            err.contains("EX-P-000001.json")
                && err.contains("quotes EX-V-000001 of EX-D-000001 through EX-C-000001")
                && err.contains("which the log does not hold as such"),
            "{what}: {err}"
        );
        assert_eq!(
            catalog_bytes(&archive),
            catalog,
            "{what}: the catalog was replaced"
        );
        files.write(&genuine);
    }
    remove_catalog(&archive);
    assert_eq!(reindex_json(&archive)["provisions"], 1);
    fsck_full_clean(&archive);
}
