//! Witnesses from the archive's side: `exhibit witness add`, the cosigning that follows every
//! checkpoint, `exhibit log witness` retrying after an outage, a forked log refused, and
//! bundles whose cosigned checkpoint `exhibit-verify --witness` checks — against exhibit's own
//! witness (`exhibit witness serve`) on loopback, with the cosignature also checked by an
//! independent implementation in Python (`cryptography`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::*;

fn base64_decode(s: &str) -> Vec<u8> {
    exhibit_core::checkpoint::base64_decode(s).expect("base64")
}

fn base64_encode(b: &[u8]) -> String {
    exhibit_core::checkpoint::base64_encode(b)
}

/// `exhibit witness serve` on 127.0.0.1, killed when dropped.
struct Witness {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
    /// Its cosigner key.
    vkey: String,
}

impl Witness {
    /// Starts a witness keeping its key and state in `dir`, following the logs `vkeys`.
    fn start(dir: &Path, vkeys: &[&str]) -> Witness {
        Witness::start_at(dir, vkeys, "127.0.0.1:0")
    }

    fn start_at(dir: &Path, vkeys: &[&str], listen: &str) -> Witness {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exhibit"));
        cmd.args(["witness", "serve", "--listen", listen, "--dir"])
            .arg(dir)
            .args(["--name", "witness.test/w1"]);
        for v in vkeys {
            cmd.args(["--log", v]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run exhibit witness serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let vkey = line
            .split_whitespace()
            .find(|t| t.matches('+').count() >= 2)
            .unwrap_or_else(|| panic!("no vkey in {line:?}"))
            .to_owned();
        let addr = line
            .split_whitespace()
            .map(|t| t.trim_start_matches("http://").trim_end_matches('/'))
            .find(|t| t.parse::<std::net::SocketAddr>().is_ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Witness {
            child,
            url: format!("http://{addr}"),
            vkey,
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_key(archive: &Path) -> String {
    ok(&exhibit(archive, &["log", "key"])).trim().to_owned()
}

fn verify(bundle: &Path, archive: &Path, extra: &[&str]) -> std::process::Output {
    let fp = fingerprint(archive);
    let mut args = vec![bundle.to_str().unwrap(), "--key", fp.as_str()];
    args.extend_from_slice(extra);
    exhibit_verify(&args)
}

#[test]
fn checkpoints_are_cosigned_and_bundles_carry_what_exhibit_verify_checks() {
    let server = Server::start(policy_site);
    let (dir, archive) = new_archive();
    let wdir = dir.path().join("witness");
    let witness = Witness::start(&wdir, &[&log_key(&archive)]);
    let said = ok(&exhibit(
        &archive,
        &[
            "witness",
            "add",
            &witness.url,
            "--vkey",
            &witness.vkey,
            "--name",
            "w1",
        ],
    ));
    assert!(said.contains("Added witness w1"), "{said}");

    // Each capture's checkpoint is sent to the witness: first with old size 0, then with a
    // consistency proof from the size it cosigned.
    ok(&exhibit(&archive, &["capture", &server.url("/privacy")]));
    ok(&exhibit(&archive, &["capture", &server.url("/terms.txt")]));
    let cosigs: Vec<PathBuf> = std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".w1.cosig"))
        .collect();
    assert_eq!(cosigs.len(), 2, "{cosigs:?}");
    let list = ok(&exhibit(&archive, &["witness", "list"]));
    assert!(list.contains("w1") && list.contains("cosigned"), "{list}");
    // The cosignature files are the archive's own: fsck knows them and checks each against its
    // witness's key; a damaged one is a problem, named.
    ok(&exhibit(&archive, &["fsck", "--full"]));
    let first = cosigs.iter().min().unwrap();
    let good = std::fs::read_to_string(first).unwrap();
    let mut bad = good.clone().into_bytes();
    let at = bad.len() - 10;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(first, &bad).unwrap();
    let out = exhibit(&archive, &["fsck"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        all_output(&out).contains("not a cosignature by witness w1"),
        "{}",
        all_output(&out)
    );
    std::fs::write(first, &good).unwrap();
    ok(&exhibit(&archive, &["fsck"]));
    // A cosignature lost here (the witness has it, the archive does not) is asked for again
    // with the witness's own size, and the same tree is cosigned anew — not called a fork.
    let mut latest = cosigs.clone();
    latest.sort();
    std::fs::remove_file(latest.last().unwrap()).unwrap();
    let again = ok(&exhibit(&archive, &["log", "witness"]));
    assert!(again.contains("checkpoint 2 cosigned"), "{again}");
    assert!(latest.last().unwrap().exists());
    // Nothing left to do: already cosigned.
    let again = ok(&exhibit(&archive, &["log", "witness"]));
    assert!(again.contains("already cosigned"), "{again}");

    // The bundle carries the cosigned checkpoint: the checkpoint's bytes, then the line.
    let bundle = dir.path().join("w.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001", "EX-C-000002"]);
    let bag = dir.path().join("bag");
    std::fs::create_dir(&bag).unwrap();
    untar(&bundle, &bag);
    let bag = bag.join("w");
    let checkpoint = std::fs::read_to_string(bag.join("exhibit/checkpoint")).unwrap();
    let cosigned = std::fs::read_to_string(bag.join("exhibit/checkpoint.cosigned")).unwrap();
    assert!(cosigned.starts_with(&checkpoint), "{cosigned}");
    assert!(cosigned[checkpoint.len()..].starts_with("— witness.test/w1 "));

    // exhibit-verify: required and present; a quorum of one of two; an unknown witness alone.
    let out = verify(&bundle, &archive, &["--witness", &witness.vkey]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(text.contains("Witness  witness.test/w1"), "{text}");
    assert!(text.contains("that the log showed one history"), "{text}");
    let stranger = {
        let other = Witness::start(&dir.path().join("other"), &[&log_key(&archive)]);
        other.vkey.clone()
    };
    let out = verify(
        &bundle,
        &archive,
        &["--witness", &witness.vkey, "--witness", &stranger],
    );
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("cosigned by at least 2 of the 2"),
        "{}",
        stdout(&out)
    );
    let out = verify(
        &bundle,
        &archive,
        &[
            "--witness",
            &witness.vkey,
            "--witness",
            &stranger,
            "--witness-quorum",
            "1",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = verify(&bundle, &archive, &["--witness", "not-a-vkey"]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    // Without --witness the cosignature is listed, not checked.
    let out = verify(&bundle, &archive, &[]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("NOT CHECKED"), "{}", stdout(&out));

    // The operator holds the archive key, not the witness's: a cosignature forged, dropped or
    // moved to another checkpoint, in a bag resealed with the archive key, fails check 16.
    let line = &cosigned[checkpoint.len()..];
    let b64 = line.trim_end().rsplit(' ').next().unwrap();
    let mut raw = base64_decode(b64);
    raw[20] ^= 1;
    let forged = format!("{checkpoint}— witness.test/w1 {}\n", base64_encode(&raw));
    let other_root = checkpoint.replacen(
        checkpoint.lines().nth(2).unwrap(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        1,
    );
    for (name, text, expected) in [
        ("forged", forged, "verifies over the checkpoint"),
        (
            "dropped",
            checkpoint.clone(),
            "cosigned by at least 1 of the 1",
        ),
        (
            "moved",
            format!("{other_root}{line}"),
            "begins with exhibit/checkpoint",
        ),
    ] {
        std::fs::write(bag.join("exhibit/checkpoint.cosigned"), text).unwrap();
        reseal(&bag, &archive);
        let out_file = dir.path().join(format!("{name}.tar.zst"));
        tar_up(bag.parent().unwrap(), "w", &out_file);
        let out = verify(&out_file, &archive, &["--witness", &witness.vkey]);
        assert_eq!(code(&out), 1, "{name}: {}", stdout(&out));
        assert!(stdout(&out).contains(expected), "{name}: {}", stdout(&out));
        assert!(
            !stdout(&out).contains("that the log showed one history"),
            "{name}"
        );
    }
    std::fs::write(bag.join("exhibit/checkpoint.cosigned"), &cosigned).unwrap();

    // docs/VERIFYING.md "Witnesses", by hand, run as written: openssl and coreutils alone.
    if have("openssl") && have("od") {
        let script = r#"set -e
vkey="$1"
{ printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'
  key=${vkey#*+}; printf '%s' "${key#*+}" | openssl base64 -d -A | tail -c 32; } > w.der
openssl pkey -pubin -inform DER -in w.der -out witness.pem
cmp -n "$(wc -c < exhibit/checkpoint)" exhibit/checkpoint exhibit/checkpoint.cosigned
line=$(grep '^— witness.test/w1 ' exhibit/checkpoint.cosigned)
printf '%s' "${line##* }" | openssl base64 -d -A > cosig.raw
head -c 4 cosig.raw | od -An -tx1 | tr -d ' \n'; echo
T=$(od -An -tu8 --endian=big -j4 -N8 cosig.raw | tr -d ' ')
{ printf 'cosignature/v1\ntime %s\n' "$T"; sed '/^$/,$d' exhibit/checkpoint; } > cosigned.msg
tail -c 64 cosig.raw > cosig.sig
openssl pkeyutl -verify -pubin -inkey witness.pem -rawin -in cosigned.msg -sigfile cosig.sig"#;
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("bash")
            .arg(&witness.vkey)
            .current_dir(&bag)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key_id = witness.vkey.split('+').nth(1).unwrap();
        assert!(said.starts_with(key_id), "{said}");
        assert!(said.contains("Signature Verified Successfully"), "{said}");
    }

    // An independent check of the cosignature/v1 format, in Python.
    if let Some(python) = venv_tool("EXHIBIT_WEBARCHIVE_VENV", "python") {
        let script = r#"
import base64, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
note = open(sys.argv[1], encoding="utf-8").read()
name, keyid, key = sys.argv[2].split("+", 2)
raw = base64.b64decode(key)
assert raw[0] == 4, "not a cosignature/v1 key"
pub = Ed25519PublicKey.from_public_bytes(raw[1:])
text, sigs = note[: note.rindex("\n\n") + 1], note[note.rindex("\n\n") + 2 :]
import hashlib
want = hashlib.sha256(name.encode() + b"\n" + b"\x04" + raw[1:]).digest()[:4]
assert want.hex() == keyid, "key id"
found = 0
for line in sigs.splitlines():
    n, b64 = line[2:].split(" ")
    sig = base64.b64decode(b64)
    if n != name or sig[:4] != want:
        continue
    ts = int.from_bytes(sig[4:12], "big")
    pub.verify(sig[12:], b"cosignature/v1\ntime %d\n" % ts + text.encode())
    found += 1
assert found == 1, found
print("ok", ts)
"#;
        let out = Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(bag.join("exhibit/checkpoint.cosigned"))
            .arg(&witness.vkey)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok "));
    }
}

#[test]
fn a_witness_that_is_down_never_fails_a_capture_and_is_retried() {
    let server = Server::start(policy_site);
    let (dir, archive) = new_archive();
    let wdir = dir.path().join("witness");
    // Learn the witness's key and a free port, then stop it.
    let (url, vkey) = {
        let w = Witness::start(&wdir, &[&log_key(&archive)]);
        (w.url.clone(), w.vkey.clone())
    };
    ok(&exhibit(
        &archive,
        &["witness", "add", &url, "--vkey", &vkey],
    ));
    let out = exhibit(&archive, &["capture", &server.url("/privacy")]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(
        stderr(&out).contains("not yet cosigned by witness"),
        "{}",
        stderr(&out)
    );
    let out = exhibit(&archive, &["log", "witness"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stdout(&out).contains("NOT cosigned"), "{}", stdout(&out));

    // Back on the same port (and the same key and state): the retry cosigns.
    let addr = url.trim_start_matches("http://");
    let _w = Witness::start_at(&wdir, &[&log_key(&archive)], addr);
    let out = exhibit(&archive, &["log", "witness"]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("cosigned"), "{}", stdout(&out));
}

#[test]
fn a_forked_log_is_refused_by_the_witness_and_reported_as_a_fork() {
    let server = Server::start(policy_site);
    let dir = tempfile::tempdir().unwrap();
    // Two archives with one key and one origin: the operator showing two histories.
    let key = dir.path().join("signing.pem");
    ok(&exhibit(
        dir.path(),
        &["key", "generate", "--out", key.to_str().unwrap()],
    ));
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for archive in [&a, &b] {
        ok(&exhibit(
            archive,
            &[
                "init",
                "--origin",
                "fork.test",
                "--key",
                key.to_str().unwrap(),
            ],
        ));
    }
    let witness = Witness::start(&dir.path().join("witness"), &[&log_key(&a)]);
    for archive in [&a, &b] {
        ok(&exhibit(
            archive,
            &["witness", "add", &witness.url, "--vkey", &witness.vkey],
        ));
    }
    ok(&exhibit(&a, &["capture", &server.url("/privacy")]));
    let out = exhibit(&b, &["capture", &server.url("/terms.txt")]);
    assert_eq!(code(&out), 0, "a refusing witness never fails a capture");
    let out = exhibit(&b, &["log", "witness"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stdout(&out).contains("fork"), "{}", stdout(&out));
    // The honest history goes on being cosigned: the witness kept its state.
    ok(&exhibit(&a, &["capture", &server.url("/terms.txt")]));
    let out = exhibit(&a, &["log", "witness"]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
}

#[test]
fn a_witness_killed_at_any_moment_keeps_a_state_it_can_go_on_from() {
    let server = Server::start(|path| Reply::ok("text/plain", format!("Terms at {path}.\n")));
    let (dir, archive) = new_archive();
    let wdir = dir.path().join("witness");
    let vkey_log = log_key(&archive);
    let mut witness = Witness::start(&wdir, &[&vkey_log]);
    let addr = witness.url.trim_start_matches("http://").to_owned();
    ok(&exhibit(
        &archive,
        &["witness", "add", &witness.url, "--vkey", &witness.vkey],
    ));
    // Each round: a capture (whose checkpoint is sent to the witness) while the witness is
    // killed with SIGKILL a few milliseconds in, then restarted from its directory.
    for round in 0..12u64 {
        let url = server.url(&format!("/terms/{round}"));
        let capture = Command::new(env!("CARGO_BIN_EXE_exhibit"))
            .args(["--archive", archive.to_str().unwrap(), "capture", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(round * 3 % 17));
        drop(witness);
        let out = capture.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a witness killed mid-request failed a capture: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        witness = Witness::start_at(&wdir, &[&vkey_log], &addr);
    }
    // Whatever moment it died at, its state is one it wrote whole: the latest checkpoint is
    // cosigned (from the size it kept), and the archive is whole.
    let out = exhibit(&archive, &["log", "witness"]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    ok(&exhibit(&archive, &["fsck", "--full"]));
    let logs: Vec<_> = std::fs::read_dir(wdir.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        logs.len(),
        1,
        "only the state file, no temporary left: {logs:?}"
    );
}
