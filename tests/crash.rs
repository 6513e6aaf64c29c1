//! Crash safety: real write commands killed with SIGKILL at random moments (`capture`,
//! `bundle --out`, `log checkpoint`, `document rules`, `key rotate`).
//!
//! Each trial runs `exhibit --json capture --list FILE --jobs 2` (or a plain multi-argument
//! capture) over a few hundred small real files the test writes (plus some of
//! `../shared/corpus/stress` when present), reads its stdout line by line and kills it after a
//! random delay. Then every promise of docs/FORMAT.md §8 is checked: `fsck` exits 0 with no
//! problem (notes allowed), every capture printed before the kill is listed and its bytes read
//! back verified (`show`, `cat`), `fsck --full` is clean, a new capture succeeds at once (no
//! stale lock), `fsck --repair` removes the leftovers (after which `fsck` has no such notes)
//! and the removed orphan manifests' ids are never given out again.
//!
//! Trials: 6 by default, `EXHIBIT_CRASH_TRIALS=N` for more; the random seed is printed and
//! `EXHIBIT_CRASH_SEED=S` replays one run.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

/// xorshift64*: small, seeded, good enough for delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn seed() -> u64 {
    let seed = std::env::var("EXHIBIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        | 1;
    eprintln!("crash test seed: {seed} (replay with EXHIBIT_CRASH_SEED={seed})");
    seed
}

fn trials() -> usize {
    std::env::var("EXHIBIT_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
}

/// Small texts written per run: enough for a `--jobs 2` capture to commit several batches
/// (one per 0.5 s) before it ends.
const FILES: usize = 1200;

/// Writes the source files: [`FILES`] small texts (every 10th a copy of another, so objects are
/// deduplicated) and up to 40 files of the stress corpus. Returns their paths.
fn write_sources(dir: &Path) -> Vec<PathBuf> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut paths = Vec::new();
    for i in 0..FILES {
        let path = src.join(format!("doc-{i:03}.txt"));
        let n = if i % 10 == 9 { i - 5 } else { i };
        let body = format!(
            "Document {n}.\n{}\n",
            "Some clause text. ".repeat(1 + n % 40)
        );
        std::fs::write(&path, body).unwrap();
        paths.push(path);
    }
    if let Some(corpus) = corpus() {
        let mut stack = vec![corpus.join("stress")];
        let mut found = Vec::new();
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(t) if t.is_file() && e.metadata().is_ok_and(|m| m.len() <= 1 << 20) => {
                        found.push(p)
                    }
                    _ => {}
                }
            }
        }
        found.sort();
        paths.extend(found.into_iter().step_by(5).take(40));
    }
    paths
}

/// A running command whose complete stdout lines are collected as they are printed.
struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

fn spawn(archive: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("EXHIBIT_ARCHIVE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn exhibit");
    let stdout = child.stdout.take().expect("stdout");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                // Only complete lines were printed: a partial one at the kill is not a report.
                Ok(n) if n > 0 && line.ends_with('\n') => sink.lock().unwrap().push(line),
                _ => break,
            }
        }
    });
    Running {
        child,
        lines,
        reader,
    }
}

impl Running {
    /// SIGKILLs the process after `delay` (unless it has ended); returns its complete lines
    /// and whether it was killed before it finished.
    fn kill_after(self, delay: Duration) -> (Vec<String>, bool) {
        self.kill(delay, false)
    }

    /// Like [`Running::kill_after`], counting the delay from the first line printed (the
    /// first batch committed): the kill then lands while the next batches are prepared and
    /// committed.
    fn kill_after_first_line(self, delay: Duration) -> (Vec<String>, bool) {
        self.kill(delay, true)
    }

    fn kill(mut self, delay: Duration, from_first_line: bool) -> (Vec<String>, bool) {
        let mut start = Instant::now();
        let mut waiting = from_first_line;
        let mut killed = false;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            if waiting && !self.lines.lock().unwrap().is_empty() {
                waiting = false;
                start = Instant::now();
            }
            if !waiting && start.elapsed() >= delay {
                self.child.kill().unwrap(); // SIGKILL
                killed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2).min(delay));
        }
        self.child.wait().unwrap();
        self.reader.join().unwrap();
        let lines = self.lines.lock().unwrap().clone();
        (lines, killed)
    }
}

/// The ids of the captures a `--json capture` printed.
fn reported_ids(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some((
                v["capture_id"].as_str()?.to_owned(),
                v["sha256"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn fsck_json(archive: &Path, args: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut all = vec!["--json", "fsck"];
    all.extend_from_slice(args);
    let out = exhibit(archive, &all);
    (code(&out), json_lines(&out))
}

fn of_type<'a>(lines: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

/// Copies the directory tree `from` to `to` (files and directories only).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&e.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The catalog of a copy of the killed archive is deleted and rebuilt with `reindex` (FORMAT
/// §7.1): it must succeed whatever the kill left, keep every reported capture, and pass fsck.
fn check_reindex_after_kill(
    dir: &Path,
    archive: &Path,
    reported: &[(String, String)],
    context: &str,
) {
    let copy = dir.join("reindexed");
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(archive, &copy);
    for name in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(copy.join(name));
    }
    let out = exhibit(&copy, &["--json", "reindex"]);
    assert_eq!(
        code(&out),
        0,
        "{context}: reindex after the kill: {}",
        stderr(&out)
    );
    let listed = json_lines(&exhibit(&copy, &["--json", "list", "--limit", "100000"]));
    let listed: BTreeSet<String> = listed
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    for (id, _) in reported {
        assert!(
            listed.contains(id),
            "{context}: reported {id} is not in the reindexed catalog"
        );
    }
    let (code1, lines) = fsck_json(&copy, &["--full"]);
    assert_eq!(
        code1,
        0,
        "{context}: fsck --full after reindex: {:#?}",
        of_type(&lines, "problem")
    );
    std::fs::remove_dir_all(&copy).unwrap();
}

/// Every promise of FORMAT §8 after a kill; `context` names the trial for messages.
fn check_after_kill(dir: &Path, archive: &Path, reported: &[(String, String)], context: &str) {
    // 0. Rebuilding the catalog from the files the kill left keeps every reported capture.
    check_reindex_after_kill(dir, archive, reported, context);

    // 1. Quick fsck: exit 0, no problems (notes are allowed).
    let (code1, lines) = fsck_json(archive, &[]);
    assert_eq!(
        code1,
        0,
        "{context}: fsck after the kill: {:#?}",
        of_type(&lines, "problem")
    );
    assert!(of_type(&lines, "problem").is_empty(), "{context}");

    // 2. Every capture reported before the kill is there, and reads back verified.
    let listed = json_lines(&exhibit(archive, &["--json", "list", "--limit", "100000"]));
    let listed: BTreeSet<String> = listed
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let mut seen = BTreeSet::new();
    for (i, (id, sha)) in reported.iter().enumerate() {
        assert!(seen.insert(id.clone()), "{context}: {id} reported twice");
        assert!(
            listed.contains(id),
            "{context}: reported {id} is not listed"
        );
        // show and cat every few (each is a process start).
        if i % 100 == 0 || i + 1 == reported.len() {
            ok(&exhibit(archive, &["show", id]));
            let bytes = exhibit(archive, &["cat", id]);
            assert_eq!(&sha256_hex(&ok_bytes(&bytes)), sha, "{context}: cat {id}");
        }
    }

    // 3. Full fsck: every object hashed, every signature and the log.
    let (code2, lines) = fsck_json(archive, &["--full"]);
    assert_eq!(
        code2,
        0,
        "{context}: fsck --full: {:#?}",
        of_type(&lines, "problem")
    );

    // 4. A new capture succeeds at once: no stale lock.
    let fresh = dir.join(format!("fresh-{}.txt", listed.len()));
    std::fs::write(&fresh, format!("fresh after {context}\n")).unwrap();
    let t = Instant::now();
    let out = exhibit(archive, &["--json", "capture", fresh.to_str().unwrap()]);
    ok(&out);
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "{context}: capture after the kill took {:?}",
        t.elapsed()
    );

    // 5. --repair removes the leftovers; their kinds are then gone from the notes.
    let (code3, lines) = fsck_json(archive, &["--repair"]);
    assert_eq!(code3, 0, "{context}: fsck --repair: {lines:#?}");
    let orphan_ids: BTreeSet<String> = of_type(&lines, "removed")
        .iter()
        .filter(|r| r["kind"] == "orphan_manifest")
        .filter_map(|r| r["path"].as_str())
        .filter_map(|p| p.rsplit('/').next())
        .filter_map(|n| n.split(".json").next())
        .map(str::to_owned)
        .collect();
    assert!(
        of_type(&lines, "kept").is_empty(),
        "{context}: kept {lines:#?}"
    );
    let (code4, lines) = fsck_json(archive, &[]);
    assert_eq!(code4, 0, "{context}");
    let notes: Vec<_> = of_type(&lines, "note")
        .into_iter()
        .filter(|n| n["kind"] != "unexpected_file")
        .collect();
    assert!(notes.is_empty(), "{context}: after --repair: {notes:#?}");

    // 6. The removed orphans' ids are never given out again.
    let again = dir.join(format!("again-{}.txt", listed.len()));
    std::fs::write(&again, format!("again after {context}\n")).unwrap();
    let out = exhibit(archive, &["--json", "capture", again.to_str().unwrap()]);
    for c in json_lines(&out) {
        let id = c["capture_id"].as_str().unwrap_or_default();
        assert!(
            !orphan_ids.contains(id),
            "{context}: {id} reused after its orphan was removed"
        );
        assert!(!listed.contains(id), "{context}: {id} reused");
    }
    let (code5, lines) = fsck_json(archive, &["--full"]);
    assert_eq!(code5, 0, "{context}: final fsck --full: {lines:#?}");
}

fn list_file(dir: &Path, sources: &[PathBuf]) -> PathBuf {
    let list = dir.join("list.txt");
    let text: String = sources
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    std::fs::write(&list, text).unwrap();
    list
}

#[test]
fn killed_captures_leave_a_clean_archive_with_every_reported_capture() {
    let dir = tempfile::tempdir().unwrap();
    let sources = write_sources(dir.path());
    let list = list_file(dir.path(), &sources);
    let list_s = list.to_str().unwrap();
    let mut rng = Rng(seed());

    // Calibration: how long a whole run takes here (and that it reports every capture).
    let archive = dir.path().join("calibration");
    ok(&exhibit(&archive, &["init", "--origin", "crash.example"]));
    let t = Instant::now();
    let (lines, killed) = spawn(
        &archive,
        &["--json", "capture", "--list", list_s, "--jobs", "2"],
    )
    .kill_after(Duration::from_secs(300));
    let whole = t.elapsed();
    assert!(!killed);
    assert_eq!(reported_ids(&lines).len(), sources.len());
    eprintln!("a whole run of {} captures: {whole:?}", sources.len());

    let mut kills = 0;
    for trial in 0..trials() {
        let archive = dir.path().join(format!("trial-{trial}"));
        ok(&exhibit(&archive, &["init", "--origin", "crash.example"]));
        // Some trials start with captures already in the archive (and capture the same files
        // again: unchanged versions, deduplicated objects).
        if trial % 3 == 2 {
            ok(&exhibit(
                &archive,
                &["capture", "--list", list_s, "--jobs", "2"],
            ));
        }
        let plain = trial % 4 == 3;
        let mut args: Vec<String> = vec!["--json".into(), "capture".into()];
        if plain {
            // A plain multi-argument capture of a random slice.
            let from = rng.below(sources.len() as u64 - 60) as usize;
            args.extend(
                sources[from..from + 60]
                    .iter()
                    .map(|p| p.display().to_string()),
            );
        } else {
            args.extend(["--list".into(), list_s.into(), "--jobs".into(), "2".into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Up to a little more than a whole run takes (a plain capture of 60 files: a quarter).
        let span = whole.as_micros() as u64 * if plain { 3 } else { 11 } / 10;
        let delay = Duration::from_micros(rng.below(span + 1));
        let after_first = trial % 5 == 1;
        let running = spawn(&archive, &args);
        let (lines, killed) = if after_first {
            running.kill_after_first_line(delay / 4)
        } else {
            running.kill_after(delay)
        };
        kills += usize::from(killed);
        let reported = reported_ids(&lines);
        let context = format!(
            "trial {trial} (killed={killed} after {}{delay:?}, {} reported{})",
            if after_first {
                "the first line + 1/4 × "
            } else {
                ""
            },
            reported.len(),
            if plain { ", plain capture" } else { "" }
        );
        eprintln!("{context}");
        check_after_kill(dir.path(), &archive, &reported, &context);
        std::fs::remove_dir_all(&archive).unwrap();
    }
    eprintln!("{kills} of {} trials killed mid-run", trials());
    // Otherwise the trials tested nothing but whole runs.
    if trials() >= 6 {
        assert!(kills >= 1, "no trial killed the capture mid-run");
    }
}

#[test]
fn killed_bundle_and_checkpoint_writes_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sources = write_sources(dir.path());
    let archive = dir.path().join("archive");
    ok(&exhibit(&archive, &["init", "--origin", "crash.example"]));
    let list = list_file(dir.path(), &sources[..80]);
    let out = exhibit(
        &archive,
        &[
            "--json",
            "capture",
            "--list",
            list.to_str().unwrap(),
            "--jobs",
            "2",
        ],
    );
    let ids: Vec<String> = reported_ids(
        &json_lines(&out)
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>(),
    )
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    assert_eq!(ids.len(), 80);
    let mut rng = Rng(seed());

    // Calibrate the bundle.
    let whole_out = dir.path().join("whole.tar.zst");
    let mut bundle_args: Vec<&str> = vec!["bundle", "--out", whole_out.to_str().unwrap()];
    bundle_args.extend(ids.iter().map(String::as_str));
    let t = Instant::now();
    ok(&exhibit(&archive, &bundle_args));
    let whole = t.elapsed();

    for trial in 0..trials() {
        // A bundle killed at a random moment: no file, or a complete one that verifies.
        let out = dir.path().join(format!("b{trial}.tar.zst"));
        let mut args: Vec<&str> = vec!["bundle", "--out", out.to_str().unwrap()];
        args.extend(ids.iter().map(String::as_str));
        let delay = Duration::from_micros(rng.below(whole.as_micros() as u64 + 1));
        let (_, killed) = spawn(&archive, &args).kill_after(delay);
        if out.exists() {
            let v = exhibit(&archive, &["verify", out.to_str().unwrap()]);
            assert!(
                v.status.success(),
                "trial {trial} (killed={killed} after {delay:?}): the bundle left behind does not verify: {}",
                String::from_utf8_lossy(&v.stdout)
            );
        }
        // A capture and then `log checkpoint`, killed: the log stays consistent.
        let f = dir.path().join(format!("cp-{trial}.txt"));
        std::fs::write(&f, format!("checkpoint trial {trial}\n")).unwrap();
        let delay = Duration::from_micros(rng.below(60_000));
        spawn(&archive, &["capture", f.to_str().unwrap()]).kill_after(delay);
        let delay = Duration::from_micros(rng.below(60_000));
        let (lines, _) = spawn(&archive, &["log", "checkpoint"]).kill_after(delay);
        // A change of a document's extraction rules, killed: one transaction, all or nothing.
        let rule = format!("div.t{trial}");
        let delay = Duration::from_micros(rng.below(60_000));
        spawn(
            &archive,
            &["document", "rules", "EX-D-000001", "--remove", &rule],
        )
        .kill_after(delay);
        let (c, report) = fsck_json(&archive, &["--full"]);
        assert_eq!(
            c,
            0,
            "trial {trial}: after killed checkpoint ({} lines printed): {:#?}",
            lines.len(),
            of_type(&report, "problem")
        );
    }
    // Whatever was left, the log still signs and proves, and --repair leaves no leftovers.
    ok(&exhibit(&archive, &["log", "checkpoint"]));
    let (c, lines) = fsck_json(&archive, &["--repair"]);
    assert_eq!(c, 0, "{lines:#?}");
    let (c, lines) = fsck_json(&archive, &["--full"]);
    assert_eq!(c, 0);
    let notes: Vec<_> = of_type(&lines, "note")
        .into_iter()
        .filter(|n| n["kind"] != "unexpected_file")
        .collect();
    assert!(notes.is_empty(), "{notes:#?}");
}

#[test]
fn killed_key_rotations_leave_one_history_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    ok(&exhibit(&archive, &["init", "--origin", "crash.example"]));
    std::fs::copy(
        archive.join("keys/signing.pub.pem"),
        dir.path().join("first.pub.pem"),
    )
    .unwrap();
    let mut rng = Rng(seed());
    // Calibrate: one rotation, whole.
    let t = Instant::now();
    ok(&exhibit(&archive, &["key", "rotate"]));
    let whole = t.elapsed();
    let mut ids = Vec::new();
    for trial in 0..trials() * 2 {
        let f = dir.path().join(format!("r-{trial}.txt"));
        std::fs::write(&f, format!("rotation trial {trial}\n")).unwrap();
        let out = exhibit(&archive, &["--json", "capture", f.to_str().unwrap()]);
        ids.push(
            json_lines(&out)[0]["capture_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let delay = Duration::from_micros(rng.below(2 * whole.as_micros() as u64 + 1));
        let (_, killed) = spawn(&archive, &["key", "rotate"]).kill_after(delay);
        // Either nothing happened, or the rotation committed (its statement written) and
        // `--finish` completes what the kill cut short; never a third state.
        let finish = exhibit(&archive, &["key", "rotate", "--finish"]);
        assert!(
            finish.status.success(),
            "trial {trial} (killed={killed} after {delay:?}): {}",
            all_output(&finish)
        );
        let (c, report) = fsck_json(&archive, &["--full"]);
        assert_eq!(
            c,
            0,
            "trial {trial} (killed={killed} after {delay:?}): {:#?}",
            of_type(&report, "problem")
        );
    }
    // Every record, across every rotation that committed, verifies pinned to the first key.
    let bundle = dir.path().join("all.tar.zst");
    let mut args: Vec<&str> = vec!["bundle", "--out", bundle.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));
    ok(&exhibit(&archive, &args));
    let out = exhibit_verify(&[
        bundle.to_str().unwrap(),
        "--key",
        dir.path().join("first.pub.pem").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
}
