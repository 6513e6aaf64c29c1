//! Several `exhibit capture` processes writing into one archive at once.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use crate::common::*;

/// Starts `exhibit ARGS` with its output captured.
fn spawn_capture(args: &[String]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for every child, asserting success; their JSON lines.
fn outputs(children: Vec<std::process::Child>) -> Vec<Vec<serde_json::Value>> {
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            json_lines(&out)
        })
        .collect()
}

#[test]
fn concurrent_capture_processes_all_succeed_with_distinct_ids() {
    let (dir, archive) = new_archive();
    const PROCS: usize = 4;
    const FILES: usize = 10;
    let mut children = Vec::new();
    for p in 0..PROCS {
        let mut args = vec!["--archive".to_owned(), archive.display().to_string()];
        args.extend(["--json".into(), "capture".into()]);
        for f in 0..FILES {
            let path = dir.path().join(format!("p{p}-f{f}.txt"));
            std::fs::write(&path, format!("process {p} file {f}\n")).unwrap();
            args.push(path.display().to_string());
        }
        children.push(spawn_capture(&args));
    }
    let mut ids = BTreeSet::new();
    for lines in outputs(children) {
        for c in lines {
            assert!(
                ids.insert(c["capture_id"].as_str().unwrap().to_owned()),
                "duplicate id {c}"
            );
        }
    }
    assert_eq!(ids.len(), PROCS * FILES);
    // The catalog agrees: every capture is listed once, numbered 1..=40 without gaps.
    let listed = json_lines(&exhibit(&archive, &["--json", "list", "--limit", "1000"]));
    let listed: BTreeSet<String> = listed
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ids);
    let expected: BTreeSet<String> = (1..=PROCS * FILES)
        .map(|n| format!("EX-C-{n:06}"))
        .collect();
    assert_eq!(ids, expected);
}

/// Runs two `exhibit --json capture` processes at once, each over its own 200 files (through
/// `--list` when `list`, else as 200 arguments); returns every capture id they printed.
fn two_writers_of_200(dir: &std::path::Path, archive: &std::path::Path, list: bool) -> Vec<String> {
    let children: Vec<_> = (0..2)
        .map(|p| {
            let mut args = vec!["--archive".to_owned(), archive.display().to_string()];
            args.extend(["--json".into(), "capture".into()]);
            let mut paths = Vec::new();
            for f in 0..200 {
                let path = dir.join(format!("{list}-w{p}-f{f}.txt"));
                // Some bytes shared between the writers: objects deduplicated across processes.
                let body = if f % 7 == 0 {
                    format!("shared file {f}\n")
                } else {
                    format!("writer {p} file {f}\n")
                };
                std::fs::write(&path, body).unwrap();
                paths.push(path.display().to_string());
            }
            if list {
                let list = dir.join(format!("list-{p}.txt"));
                std::fs::write(&list, paths.join("\n")).unwrap();
                args.extend(["--list".into(), list.display().to_string()]);
                args.extend(["--jobs".into(), "2".into()]);
            } else {
                args.extend(paths);
            }
            spawn_capture(&args)
        })
        .collect();
    let mut ids = Vec::new();
    for lines in outputs(children) {
        assert_eq!(lines.len(), 200, "one line per capture");
        ids.extend(
            lines
                .iter()
                .map(|c| c["capture_id"].as_str().unwrap().to_owned()),
        );
    }
    ids
}

#[test]
fn two_processes_of_200_captures_each_share_one_consistent_log() {
    let (dir, archive) = new_archive();
    let mut ids = two_writers_of_200(dir.path(), &archive, true);
    ids.extend(two_writers_of_200(dir.path(), &archive, false));
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(distinct.len(), 800, "every id distinct");
    let expected: BTreeSet<String> = (1..=800).map(|n| format!("EX-C-{n:06}")).collect();
    assert_eq!(distinct, expected, "numbered 1..=800 without gaps");
    // One log with every capture in it, and a full check finds nothing wrong.
    let out = exhibit(&archive, &["--json", "fsck", "--full"]);
    let lines = json_lines(&out);
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    assert_eq!(code(&out), 0, "{lines:#?}");
    assert_eq!(summary["captures"], 800);
    assert_eq!(summary["log_size"], 800);
    assert!(
        !lines.iter().any(|l| l["type"] == "note"),
        "no leftovers: {lines:#?}"
    );
    ok(&exhibit(&archive, &["log", "checkpoint"]));
}

#[test]
fn fsck_repair_running_during_captures_removes_nothing_they_need() {
    let (dir, archive) = new_archive();
    // `fsck --repair` in a loop while two writers capture: what a live writer has staged or
    // published but not yet committed must never be taken for an orphan.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let repairs = {
        let (stop, archive) = (stop.clone(), archive.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let out = exhibit(&archive, &["--json", "fsck", "--repair"]);
                assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
                n += 1;
            }
            n
        })
    };
    let ids = two_writers_of_200(dir.path(), &archive, true);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let runs = repairs.join().unwrap();
    assert!(runs > 0);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 400);
    let out = exhibit(&archive, &["--json", "fsck", "--full"]);
    assert_eq!(
        code(&out),
        0,
        "after {runs} repairs: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn reindex_running_during_captures_loses_no_reported_capture() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let (dir, archive) = new_archive();
    // Capture processes one after another (with short pauses, so reindex gets its turns) in two
    // threads while `reindex` runs in a loop for ~10 s: a reindex either refuses (a capture has the archive open) or replaces the catalog
    // while no capture has it open, and a capture started meanwhile waits for it. Every
    // capture printed must be in the final catalog with its manifest.
    let stop = Arc::new(AtomicBool::new(false));
    let reindexes = {
        let (stop, archive) = (stop.clone(), archive.clone());
        std::thread::spawn(move || {
            let (mut done, mut refused) = (0, 0);
            while !stop.load(Ordering::SeqCst) {
                let out = exhibit(&archive, &["reindex"]);
                match code(&out) {
                    0 => done += 1,
                    _ if stderr(&out).contains("another exhibit process has the archive open") => {
                        refused += 1
                    }
                    _ => panic!("reindex failed: {}", stderr(&out)),
                }
            }
            (done, refused)
        })
    };
    let start = Instant::now();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (dir, archive) = (dir.path().to_owned(), archive.clone());
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut i = 0;
                while start.elapsed() < Duration::from_secs(10) {
                    // Both writers pause during the first 150 ms of every second, so that
                    // reindex gets its turns even on a slow machine; captures started at the
                    // end of a pause race with the reindex then running.
                    let ms = (start.elapsed().as_millis() % 1000) as u64;
                    if ms < 150 {
                        std::thread::sleep(Duration::from_millis(150 - ms));
                    }
                    let path = dir.join(format!("w{w}-{i}.txt"));
                    std::fs::write(&path, format!("writer {w} capture {i}\n")).unwrap();
                    let out = exhibit(&archive, &["--json", "capture", path.to_str().unwrap()]);
                    ids.extend(
                        json_lines(ok_out(&out))
                            .iter()
                            .map(|c| c["capture_id"].as_str().unwrap().to_owned()),
                    );
                    i += 1;
                    std::thread::sleep(Duration::from_millis(((i + w) % 4) * 12));
                }
                ids
            })
        })
        .collect();
    let ids: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::SeqCst);
    let (done, refused) = reindexes.join().unwrap();
    eprintln!(
        "{} captures, {done} reindexes done, {refused} refused",
        ids.len()
    );
    assert!(done > 0, "no reindex ran ({refused} refused)");
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "every id distinct");
    let listed = json_lines(&exhibit(&archive, &["--json", "list", "--limit", "100000"]));
    let listed: BTreeSet<String> = listed
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        assert!(listed.contains(id), "reported {id} is not in the catalog");
        assert!(
            archive
                .join(format!(
                    "manifests/C/{:03}/{id}.json",
                    id[5..].parse::<u64>().unwrap() / 1000
                ))
                .is_file(),
            "{id}: manifest missing"
        );
    }
    let out = exhibit(&archive, &["--json", "fsck", "--full"]);
    assert_eq!(
        code(&out),
        0,
        "after {done} reindexes: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // One more reindex agrees.
    ok(&exhibit(&archive, &["reindex"]));
    ok(&exhibit(&archive, &["fsck", "--full"]));
}

/// `out`, after asserting it succeeded.
fn ok_out(out: &std::process::Output) -> &std::process::Output {
    ok(out);
    out
}

#[test]
fn the_catalog_lock_orders_reindex_and_every_process_that_opens_the_archive() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let (dir, archive) = new_archive();
    let first = dir.path().join("first.txt");
    std::fs::write(&first, "first\n").unwrap();
    ok(&exhibit(&archive, &["capture", first.to_str().unwrap()]));
    let lock_path = archive.join("locks/catalog.lock");
    assert!(lock_path.is_file(), "created by the first open");

    // A process with the archive open (here: a capture reading its list from stdin) holds the
    // lock shared: reindex refuses at once, whatever the state of SQLite's own files.
    let mut holder = Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .args([
            "--archive",
            archive.to_str().unwrap(),
            "--json",
            "capture",
            "--list",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let file = std::fs::File::open(&lock_path).unwrap();
    let t = Instant::now();
    // Wait until the holder has opened the archive (its shared lock excludes ours).
    while let Ok(()) = file.try_lock() {
        file.unlock().unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "holder never opened the archive"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = exhibit(&archive, &["reindex"]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("another exhibit process has the archive open"),
        "{err}"
    );
    let second = dir.path().join("second.txt");
    std::fs::write(&second, "second\n").unwrap();
    writeln!(holder.stdin.take().unwrap(), "{}", second.display()).unwrap();
    let held = holder.wait_with_output().unwrap();
    assert!(
        held.status.success(),
        "{}",
        String::from_utf8_lossy(&held.stderr)
    );

    // While reindex holds it exclusively (here: the test, as reindex does from before it reads
    // anything until the new catalog is in place), a capture waits instead of opening the
    // catalog about to be replaced, and commits once it is released.
    file.lock().unwrap();
    let third = dir.path().join("third.txt");
    std::fs::write(&third, "third\n").unwrap();
    let mut waiting = Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .args(["--archive", archive.to_str().unwrap(), "--json", "capture"])
        .arg(&third)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "the capture did not wait for the exclusive catalog lock"
    );
    file.unlock().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out)[0]["capture_id"], "EX-C-000003");
    ok(&exhibit(&archive, &["fsck", "--full"]));
}
