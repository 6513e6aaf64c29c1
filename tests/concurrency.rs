//! Several `exhibit capture` processes writing into one archive at once.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use common::*;

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
