//! Several `exhibit capture` processes writing into one archive at once.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn concurrent_capture_processes_all_succeed_with_distinct_ids() {
    let (dir, archive) = new_archive();
    let bin = assert_cmd::cargo::cargo_bin("exhibit");
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
        children.push(
            Command::new(&bin)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let mut ids = BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for c in json_lines(&out) {
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
