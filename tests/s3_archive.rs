//! Archives in an S3 bucket (`init --store`), against real S3 servers started by the tests:
//! SeaweedFS (`weed mini`, the reference) and moto's server. What exhibit wrote is read back with
//! boto3, an independent client, and checked against the signed manifests.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::s3::S3Server;
use crate::common::*;

/// Runs `exhibit` against `archive` with the server's credentials.
fn ex(server: &S3Server, archive: &Path, args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("exhibit").expect("exhibit binary");
    cmd.arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("EXHIBIT_ARCHIVE")
        .envs(server.env())
        .timeout(std::time::Duration::from_secs(300));
    cmd.output().expect("run exhibit")
}

/// A new archive in `bucket` on `server` (made with Object Lock when `locked`), at `dir/name`.
fn bucket_archive(
    server: &S3Server,
    dir: &Path,
    name: &str,
    bucket: &str,
    extra: &[&str],
) -> PathBuf {
    let archive = dir.join(name);
    let url = format!("s3://{bucket}/archive");
    let endpoint = server.endpoint();
    let mut args = vec!["init", "--store", &url, "--endpoint", &endpoint];
    args.extend_from_slice(extra);
    ok(&ex(server, &archive, &args));
    archive
}

/// A host joining the archive in `bucket` at `dir/name`, with the signing key of the host whose
/// copy is at `from` (copied there by its operator).
fn join(server: &S3Server, dir: &Path, name: &str, bucket: &str, from: &Path) -> PathBuf {
    let key = from.join("keys/signing.pem");
    bucket_archive(server, dir, name, bucket, &["--key", key.to_str().unwrap()])
}

/// `n` small text files, distinct, in `dir`.
fn files(dir: &Path, tag: &str, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("{tag}-{i}.txt"));
            std::fs::write(
                &p,
                format!("Privacy policy {tag} number {i}.\nWe keep your data.\n"),
            )
            .unwrap();
            p
        })
        .collect()
}

fn capture(server: &S3Server, archive: &Path, paths: &[PathBuf]) -> Vec<serde_json::Value> {
    let mut args: Vec<&str> = vec!["--json", "capture"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = ex(server, archive, &args);
    ok(&out);
    json_lines(&out)
}

/// The boto3 check: every segment's leaves are the SHA-256 of 0x00 ‖ the manifest the bucket
/// holds under that record's key, and every object a capture manifest names decompresses (zstd)
/// to bytes with the digest it claims. Prints the number of records and objects checked.
const BOTO3_CHECK: &str = r#"
import json, subprocess
bucket, prefix = sys.argv[1], sys.argv[2]
def get(key):
    return s3.get_object(Bucket=bucket, Key=prefix + "/" + key)["Body"].read()
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/log/segments/"):
    keys += [o["Key"] for o in page.get("Contents", [])]
records = objects = 0
expected = 0
for key in sorted(keys):
    for line in get(key[len(prefix) + 1:]).decode().splitlines():
        index, rid, leaf = line.split(" ")
        assert int(index) == expected, (key, index, expected)
        expected += 1
        kind, num = rid.split("-")[1], int(rid.split("-")[2])
        path = "manifests/%s/%03d/%s.json" % (kind, num // 1000, rid)
        manifest = get(path)
        assert hashlib.sha256(b"\0" + manifest).hexdigest() == leaf, (rid, "leaf")
        assert len(get(path + ".sig")) == 64
        m = json.loads(manifest)
        for part in ("content", "text"):
            o = m.get(part)
            if not o:
                continue
            sha = o["sha256"]
            stored = get("objects/%s/%s.zst" % (sha[:2], sha))
            raw = subprocess.run(["zstd", "-dc"], input=stored, capture_output=True, check=True).stdout
            assert hashlib.sha256(raw).hexdigest() == sha, (rid, part)
            objects += 1
        records += 1
print(records, objects)
"#;

fn boto3_check(server: &S3Server, bucket: &str) -> (u64, u64) {
    let out = server.boto3(&format!(
        "import sys; sys.argv = ['check', '{bucket}', 'archive']\n{BOTO3_CHECK}"
    ));
    let text = ok(&out);
    let mut it = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

fn round_trip(server: &S3Server, locked: bool) {
    let dir = tempfile::tempdir().unwrap();
    server.create_bucket("evidence", locked);
    let extra: &[&str] = if locked { &["--retention", "1d"] } else { &[] };
    let a = bucket_archive(server, dir.path(), "a", "evidence", extra);
    let captured = capture(server, &a, &files(&dir.path().join("in"), "a", 3));
    assert_eq!(captured.len(), 3);
    // Read back by boto3 and checked against the signed manifests.
    assert_eq!(boto3_check(server, "evidence"), (3, 6));
    // A second host joins with the signing key and sees the same records, which verify.
    let b = join(server, dir.path(), "b", "evidence", &a);
    let id = captured[0]["capture_id"].as_str().unwrap().to_owned();
    let shown = ok(&ex(server, &b, &["show", &id]));
    assert!(shown.contains(&id), "{shown}");
    // The log commands on the joined host.
    let proof = ok(&ex(server, &b, &["log", "prove", &id]));
    assert!(proof.contains("c2sp.org/tlog-proof@v1"), "{proof}");
    // The hash a filing would cite, checked on the joined host.
    let sha = captured[0]["sha256"].as_str().unwrap();
    let verified = ok(&ex(server, &b, &["verify", "--hash", &sha[..16]]));
    assert!(verified.contains(&id), "{verified}");
    // Its capture goes after a's, and a sees it.
    let more = capture(server, &b, &files(&dir.path().join("in2"), "b", 2));
    assert_eq!(more.len(), 2);
    let listed = ok(&ex(server, &a, &["--json", "list"]));
    assert_eq!(listed.lines().count(), 5, "{listed}");
    ok(&ex(server, &a, &["fsck", "--full"]));
    // Without credentials a host still reads its copy (with a warning), and writes nothing.
    let offline = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("exhibit")
            .unwrap()
            .arg("--archive")
            .arg(&a)
            .args(args)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap()
    };
    let out = offline(&["--json", "list"]);
    assert_eq!(ok(&out).lines().count(), 5);
    assert!(
        stderr(&out).contains("warning: this copy was not brought up to"),
        "{}",
        stderr(&out)
    );
    let extra = files(&dir.path().join("offline"), "offline", 1);
    let out = offline(&["capture", extra[0].to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(stderr(&out).contains("S3 credentials"), "{}", stderr(&out));
    // A bundle made on b verifies offline with exhibit-verify.
    let bundle = dir.path().join("b.tar.zst");
    let ids: Vec<String> = captured
        .iter()
        .chain(&more)
        .map(|c| c["capture_id"].as_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["bundle", "--out", bundle.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));
    ok(&ex(server, &b, &args));
    let public = a.join("keys/signing.pub.pem");
    ok(&exhibit_verify(&[
        bundle.to_str().unwrap(),
        "--key",
        public.to_str().unwrap(),
    ]));
    assert_eq!(boto3_check(server, "evidence"), (5, 10));
    if locked {
        locked_objects_stay(server, &a);
    }
    key_rotation_reaches_the_other_host(server, dir.path(), &a, &b);
}

/// One host rotates the key; the other learns it from the bucket, refuses to sign with the
/// retired key, and takes the new one with `key rotate --finish --new-key`.
fn key_rotation_reaches_the_other_host(server: &S3Server, dir: &Path, a: &Path, b: &Path) {
    ok(&ex(server, a, &["key", "rotate"]));
    let history = ok(&ex(server, b, &["key", "history"]));
    assert!(history.contains("key 2"), "{history}");
    let paths = files(&dir.join("rotated"), "rotated", 1);
    let out = ex(server, b, &["capture", paths[0].to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(stderr(&out).contains("rotated its key"), "{}", stderr(&out));
    let new_key = std::fs::read_dir(a.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("signing-2-"))
        .unwrap();
    let copied = dir.join("copied-signing-2.pem");
    std::fs::copy(&new_key, &copied).unwrap();
    std::fs::set_permissions(&copied, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    ok(&ex(
        server,
        b,
        &[
            "key",
            "rotate",
            "--finish",
            "--new-key",
            copied.to_str().unwrap(),
        ],
    ));
    capture(server, b, &paths);
    ok(&ex(server, a, &["fsck", "--full"]));
    ok(&ex(server, b, &["fsck", "--full"]));
}

/// In a bucket with Object Lock: a write-once key refuses a second write and keeps its bytes,
/// a version under compliance retention can not be deleted, and `fsck --full` reports objects
/// whose retention is shorter than the archive's configuration asks for.
fn locked_objects_stay(server: &S3Server, archive: &Path) {
    let out = server.boto3_ok(
        r#"
key = "archive/manifests/C/000/EX-C-000001.json"
old = s3.get_object(Bucket="evidence", Key=key)["Body"].read()
try:
    s3.put_object(Bucket="evidence", Key=key, Body=b"forged", IfNoneMatch="*")
    print("overwritten")
except botocore.exceptions.ClientError as e:
    print("overwrite refused", error_code(e))
assert s3.get_object(Bucket="evidence", Key=key)["Body"].read() == old
h = s3.head_object(Bucket="evidence", Key=key)
print("mode", h.get("ObjectLockMode"))
try:
    s3.delete_object(Bucket="evidence", Key=key, VersionId=h["VersionId"])
    print("deleted")
except botocore.exceptions.ClientError as e:
    print("delete refused", error_code(e))
assert s3.get_object(Bucket="evidence", Key=key)["Body"].read() == old
"#,
    );
    assert!(out.contains("overwrite refused"), "{out}");
    assert!(out.contains("mode COMPLIANCE"), "{out}");
    assert!(out.contains("delete refused"), "{out}");
    // Objects kept 1 day; the archive now asks for 30: fsck --full says which fall short.
    let config = archive.join("exhibit.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("retention = \"1d\"", "retention = \"30d\""),
    )
    .unwrap();
    let out = ex(server, archive, &["fsck", "--full"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        stdout(&out).contains("is shorter than the configured 30d compliance retention"),
        "{}",
        all_output(&out)
    );
    std::fs::write(&config, text).unwrap();
    ok(&ex(server, archive, &["fsck", "--full"]));
}

#[test]
fn an_archive_in_seaweedfs_round_trips_and_a_second_host_joins_it() {
    let Some(server) = S3Server::seaweedfs() else {
        return;
    };
    round_trip(&server, true);
}

#[test]
fn an_archive_in_moto_round_trips_and_a_second_host_joins_it() {
    let Some(server) = S3Server::moto() else {
        return;
    };
    round_trip(&server, false);
}

#[test]
fn two_hosts_capturing_at_once_make_one_log_that_a_third_rebuilds_from_the_bucket() {
    let Some(server) = S3Server::seaweedfs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    server.create_bucket("race", true);
    let a = bucket_archive(&server, dir.path(), "a", "race", &["--retention", "1d"]);
    let b = join(&server, dir.path(), "b", "race", &a);
    // Two writer processes with their own catalogs, 20 commands of 10 captures each.
    std::thread::scope(|s| {
        for (archive, tag) in [(&a, "a"), (&b, "b")] {
            let (server, dir) = (&server, dir.path());
            s.spawn(move || {
                for round in 0..20 {
                    let paths = files(&dir.join(format!("in-{tag}-{round}")), tag, 10);
                    let paths: Vec<PathBuf> = paths
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| {
                            // Distinct documents per round.
                            let q = p.with_file_name(format!("{tag}-{round}-{i}.txt"));
                            std::fs::rename(&p, &q).unwrap();
                            q
                        })
                        .collect();
                    assert_eq!(capture(server, archive, &paths).len(), 10);
                }
            });
        }
    });
    // A third host, from the bucket alone: 400 captures, 400 distinct ids, one log.
    let c = join(&server, dir.path(), "c", "race", &a);
    ok(&ex(&server, &c, &["reindex"]));
    let listed = json_lines(&ex(&server, &c, &["--json", "list", "--limit", "1000"]));
    let ids: std::collections::BTreeSet<String> = listed
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!((listed.len(), ids.len()), (400, 400));
    // The two hosts really raced: in log order, one got in while the other still had commands
    // to run (a writer that waits is queued for the lease; two turns or more).
    let mut order: Vec<(String, bool)> = listed
        .iter()
        .map(|r| {
            let url = r["url"].as_str().unwrap();
            (r["id"].as_str().unwrap().to_owned(), url.contains("/in-a-"))
        })
        .collect();
    order.sort();
    let turns = order.windows(2).filter(|w| w[0].1 != w[1].1).count();
    assert!(turns >= 2, "the hosts took {turns} turns");
    let fsck = ok(&ex(&server, &c, &["fsck", "--full"]));
    assert!(fsck.contains("log of 400 leaves: OK"), "{fsck}");
    // The writers' catalogs, each its own captures as written plus the other's as pulled (the
    // catalog extended, not rebuilt), are row for row the one c rebuilt from the bucket.
    for host in [&a, &b] {
        ok(&ex(&server, host, &["list"]));
        assert!(
            crate::reindex::dump(host) == crate::reindex::dump(&c),
            "{} differs from the rebuilt catalog",
            host.display()
        );
    }
    for host in [&a, &b] {
        ok(&ex(&server, host, &["fsck", "--full"]));
    }
    assert_eq!(boto3_check(&server, "race").0, 400);
}

/// A loopback proxy in front of an S3 server that misbehaves on a schedule: of every request
/// `n` (counted from 0), when `n % fail == fail - 1` it answers 503 SlowDown without forwarding;
/// when `n % lose == lose - 1` it forwards the request (the write lands) and then closes the
/// connection without an answer; when `n % delay == delay - 1` it waits 300 ms first. A request
/// (method and target) that was failed or lost is passed through the next time it comes, so a
/// client that retries always gets through. One request per connection (`Connection: close`
/// upstream).
struct FaultProxy {
    port: u16,
    failed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    lost: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FaultProxy {
    fn start(upstream: &str, fail: u64, lose: u64, delay: u64) -> FaultProxy {
        use std::io::{Read, Write};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (count, failed, lost) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let (f2, l2) = (failed.clone(), lost.clone());
        let faulted = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let (upstream, count, failed, lost, faulted) = (
                    upstream.clone(),
                    count.clone(),
                    f2.clone(),
                    l2.clone(),
                    faulted.clone(),
                );
                std::thread::spawn(move || {
                    // The request head, then its body (Content-Length).
                    let mut buf = Vec::new();
                    let mut byte = [0u8; 1];
                    while !buf.ends_with(b"\r\n\r\n") {
                        match client.read(&mut byte) {
                            Ok(1) => buf.push(byte[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    if client.read_exact(&mut body).is_err() {
                        return;
                    }
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    let target = head.lines().next().unwrap_or_default().to_owned();
                    // A retry of a request that was just faulted goes through.
                    let retry = faulted.lock().unwrap().remove(&target);
                    let (fails, loses) = if retry {
                        (false, false)
                    } else {
                        (n % fail == fail - 1, n % lose == lose - 1)
                    };
                    if fails || loses {
                        faulted.lock().unwrap().insert(target);
                    }
                    if n % delay == delay - 1 {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    if fails {
                        failed.fetch_add(1, Ordering::SeqCst);
                        let doc = "<Error><Code>SlowDown</Code><Message>injected</Message></Error>";
                        let _ = write!(
                            client,
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{doc}",
                            doc.len()
                        );
                        return;
                    }
                    let mut forwarded: Vec<u8> = head
                        .split("\r\n")
                        .filter(|l| {
                            !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:")
                        })
                        .flat_map(|l| format!("{l}\r\n").into_bytes())
                        .collect();
                    forwarded.extend_from_slice(b"Connection: close\r\n\r\n");
                    forwarded.extend_from_slice(&body);
                    let Ok(mut up) = std::net::TcpStream::connect(&upstream) else {
                        return;
                    };
                    let mut answer = Vec::new();
                    if up.write_all(&forwarded).is_err() || up.read_to_end(&mut answer).is_err() {
                        return;
                    }
                    if loses {
                        lost.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    let _ = client.write_all(&answer);
                });
            }
        });
        FaultProxy { port, failed, lost }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[test]
fn failed_and_lost_requests_to_the_bucket_lose_nothing() {
    let Some(server) = S3Server::seaweedfs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    server.create_bucket("faults", true);
    let proxy = FaultProxy::start(&server.endpoint(), 5, 7, 11);
    let a = dir.path().join("a");
    let endpoint = proxy.endpoint();
    ok(&ex(
        &server,
        &a,
        &[
            "init",
            "--store",
            "s3://faults/archive",
            "--endpoint",
            &endpoint,
            "--retention",
            "1d",
        ],
    ));
    let mut ids = Vec::new();
    for round in 0..5 {
        let paths = files(
            &dir.path().join(format!("in-{round}")),
            &format!("r{round}"),
            8,
        );
        for c in capture(&server, &a, &paths) {
            ids.push(c["capture_id"].as_str().unwrap().to_owned());
        }
    }
    let (failed, lost) = (
        proxy.failed.load(std::sync::atomic::Ordering::SeqCst),
        proxy.lost.load(std::sync::atomic::Ordering::SeqCst),
    );
    assert!(
        failed > 5 && lost > 5,
        "faults injected: {failed} failed, {lost} lost"
    );
    assert_eq!(ids.len(), 40);
    // Everything reported is in the bucket, whole: read straight from the server by boto3 and
    // by a host that does not go through the proxy.
    assert_eq!(boto3_check(&server, "faults").0, 40);
    let b = join(&server, dir.path(), "b", "faults", &a);
    let fsck = ok(&ex(&server, &b, &["fsck", "--full"]));
    assert!(fsck.contains("log of 40 leaves: OK"), "{fsck}");
    ok(&ex(&server, &a, &["fsck", "--full"]));
}

/// `exhibit --json capture` killed with SIGKILL after `delay`: the capture ids it reported.
fn capture_killed_after(
    server: &S3Server,
    archive: &Path,
    paths: &[PathBuf],
    delay: std::time::Duration,
) -> Vec<String> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(archive)
        .args(["--json", "capture"])
        .args(paths)
        .env_remove("EXHIBIT_ARCHIVE")
        .envs(server.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut ids = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(id) = v["capture_id"].as_str()
            {
                ids.push(id.to_owned());
            }
        }
        ids
    });
    let start = std::time::Instant::now();
    while start.elapsed() < delay && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn captures_killed_while_they_push_lose_nothing_they_reported() {
    let Some(server) = S3Server::seaweedfs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    server.create_bucket("killed", true);
    let a = bucket_archive(&server, dir.path(), "a", "killed", &["--retention", "1d"]);
    let mut reported = Vec::new();
    let mut seed = u64::from(std::process::id());
    for trial in 0..16 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = std::time::Duration::from_millis((seed >> 33) % 400);
        let paths = files(
            &dir.path().join(format!("in-{trial}")),
            &format!("k{trial}"),
            6,
        );
        reported.extend(capture_killed_after(&server, &a, &paths, delay));
    }
    // The next command pushes what a killed one committed but did not push, and goes on.
    let after = files(&dir.path().join("after"), "after", 2);
    capture(&server, &a, &after);
    // A host that joins now finds every capture that was reported, and a log fsck accepts.
    let c = join(&server, dir.path(), "c", "killed", &a);
    for id in &reported {
        ok(&ex(&server, &c, &["show", id]));
    }
    ok(&ex(&server, &c, &["fsck", "--full"]));
    ok(&ex(&server, &a, &["fsck", "--full"]));
    assert!(!reported.is_empty());
}

#[test]
fn a_large_capture_goes_up_in_parts_and_comes_back_whole() {
    let Some(server) = S3Server::seaweedfs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    server.create_bucket("large", true);
    let a = bucket_archive(&server, dir.path(), "a", "large", &["--retention", "1d"]);
    // 40 MiB that zstd can not shrink: the object is over the multipart threshold.
    let big = dir.path().join("big.bin");
    let mut bytes = vec![0u8; 40 << 20];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for chunk in bytes.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(&big, &bytes).unwrap();
    let captured = capture(&server, &a, std::slice::from_ref(&big));
    let sha = captured[0]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, sha256_hex(&bytes));
    let etag = server.boto3_ok(&format!(
        "print(s3.head_object(Bucket='large', Key='archive/objects/{}/{sha}.zst')['ETag'])",
        &sha[..2]
    ));
    assert!(
        etag.trim_matches('"').contains('-'),
        "not a multipart ETag: {etag}"
    );
    let b = join(&server, dir.path(), "b", "large", &a);
    let fsck = ok(&ex(&server, &b, &["fsck", "--full"]));
    assert!(fsck.contains("OK"), "{fsck}");
    let id = captured[0]["capture_id"].as_str().unwrap();
    let out = ex(&server, &b, &["cat", id]);
    assert!(
        out.status.success() && out.stdout == bytes,
        "the bytes came back different"
    );
}

/// `GET path` from a server at `addr` (`host:port`): the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

/// `exhibit serve` on one host of a bucket archive shows what another host captures (it
/// fetches from the bucket every --refresh seconds), with every check of the record page made
/// on the records it fetched.
#[test]
fn a_host_serving_a_bucket_archive_shows_what_another_host_captures() {
    let Some(server) = S3Server::seaweedfs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    server.create_bucket("served", false);
    let a = bucket_archive(&server, dir.path(), "a", "served", &[]);
    capture(&server, &a, &files(&dir.path().join("first"), "first", 1));
    let b = join(&server, dir.path(), "b", "served", &a);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .arg("--archive")
        .arg(&b)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--refresh",
            "1",
            "--no-notify",
        ])
        .env_remove("EXHIBIT_ARCHIVE")
        .envs(server.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|t| t.strip_prefix("http://"))
        .map(|t| t.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let (status, page) = http_get(&addr, "/");
    assert_eq!(status, 200);
    assert_eq!(page.matches("data-document=").count(), 1, "{page}");
    // Another host captures; the served host's pages show it once fetched.
    let second = capture(&server, &a, &files(&dir.path().join("second"), "second", 1));
    let id = second[0]["capture_id"].as_str().unwrap().to_owned();
    let mut shown = false;
    for _ in 0..100 {
        let (_, page) = http_get(&addr, "/");
        if page.matches("data-document=").count() == 2 {
            shown = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (status, record) = http_get(&addr, &format!("/records/{id}"));
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        shown,
        "the served host never showed the other host's capture"
    );
    assert_eq!(status, 200, "{record}");
    for check in ["stored", "hash", "signature", "log"] {
        assert!(
            record.contains(&format!("<li class=\"check ok\" data-check=\"{check}\">")),
            "{check}: {record}"
        );
    }
}
