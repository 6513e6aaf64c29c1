//! `exhibit witness serve` and `exhibit witness key`: the real binary as a C2SP tlog-witness,
//! spoken to over HTTP/1.1 on loopback, with checkpoints of a real archive and of logs built
//! here (whose proofs, forks and bad signatures the tests control).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use exhibit_core::checkpoint::base64_encode;
use exhibit_core::merkle::{MemoryTree, consistency_proof, leaf_hash};
use exhibit_core::witness::{AddCheckpoint, SIZE_CONTENT_TYPE};
use exhibit_sign::SigningKey;
use exhibit_sign::cosignature::{CosignerKey, verify_cosignature};
use exhibit_sign::note::{SignedNote, sign_note, verifier_key};

use crate::common::{code, exhibit, json_lines, new_archive, ok, stderr};

const ORIGIN: &str = "log.example/test";

/// A running `exhibit witness serve`, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    vkey: CosignerKey,
}

impl Served {
    /// Starts the witness in `dir` following `logs`, and reads its first line.
    fn start(dir: &Path, logs: &[&str]) -> Served {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("exhibit"));
        cmd.args(["witness", "serve", "--listen", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .args(["--name", "witness.example/w1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for log in logs {
            cmd.args(["--log", log]);
        }
        let mut child = cmd.spawn().expect("start the witness");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the first line");
        let mut words = line.split_whitespace();
        let (Some(vkey), Some(url), None) = (words.next(), words.next(), words.next()) else {
            let _ = child.kill();
            panic!("unexpected first line {line:?}");
        };
        let addr = url
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Served {
            child,
            addr,
            vkey: CosignerKey::parse(vkey).expect("a cosigner vkey"),
        }
    }

    /// POSTs an add-checkpoint body: (status, content type, body).
    fn add(&self, body: &str) -> (u16, String, String) {
        post(self.addr, body)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request over its own connection; the answer's status, content type and body.
fn post(addr: SocketAddr, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let request = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body.to_owned())
}

/// A log built here: its key and tree.
struct Log {
    key: SigningKey,
    tree: MemoryTree,
}

impl Log {
    fn new(key: SigningKey) -> Log {
        Log {
            key,
            tree: MemoryTree::new(),
        }
    }

    fn vkey(&self) -> String {
        verifier_key(ORIGIN, &self.key.public_key())
    }

    fn grow(&mut self, n: u64, tag: &str) {
        for _ in 0..n {
            let i = self.tree.size();
            self.tree.push(leaf_hash(format!("{tag} {i}").as_bytes()));
        }
    }

    fn note(&self) -> String {
        let text = format!(
            "{ORIGIN}\n{}\n{}\n",
            self.tree.size(),
            base64_encode(&self.tree.root())
        );
        sign_note(&text, ORIGIN, &self.key).unwrap()
    }

    /// A request from `old` to the current size with a real proof.
    fn request(&self, old: u64) -> String {
        let proof = if old == 0 {
            Vec::new()
        } else {
            consistency_proof(old, self.tree.size(), &self.tree).unwrap()
        };
        AddCheckpoint {
            old,
            proof,
            note: self.note(),
        }
        .to_body()
    }
}

/// Asserts a 200 whose body is a cosignature by `vkey` over `note`.
fn assert_cosigned(answer: &(u16, String, String), note: &str, vkey: &CosignerKey) {
    assert_eq!(answer.0, 200, "{answer:?}");
    assert!(
        answer.2.starts_with("\u{2014} witness.example/w1 "),
        "{answer:?}"
    );
    let cosigned = SignedNote::parse(&format!("{note}{}", answer.2)).expect("a signed note");
    verify_cosignature(&cosigned, vkey).expect("the cosignature verifies");
}

#[test]
fn a_real_archive_s_checkpoints_are_cosigned() {
    let (dir, archive) = new_archive();
    let vkey = ok(&exhibit(&archive, &["log", "key"])).trim().to_owned();
    let witness = Served::start(&dir.path().join("witness"), &[&vkey]);

    let file = dir.path().join("a.txt");
    std::fs::write(&file, "one").unwrap();
    ok(&exhibit(&archive, &["capture", file.to_str().unwrap()]));
    let first = ok(&exhibit(&archive, &["log", "checkpoint"]));
    let request = AddCheckpoint {
        old: 0,
        proof: vec![],
        note: first.clone(),
    };
    assert_cosigned(&witness.add(&request.to_body()), &first, &witness.vkey);

    for text in ["two", "three"] {
        std::fs::write(&file, text).unwrap();
        ok(&exhibit(&archive, &["capture", file.to_str().unwrap()]));
    }
    let saved = dir.path().join("first.checkpoint");
    std::fs::write(&saved, &first).unwrap();
    let out = exhibit(
        &archive,
        &["--json", "log", "consistency", saved.to_str().unwrap()],
    );
    let report = &json_lines(&out)[0];
    let note = report["new_checkpoint"].as_str().unwrap().to_owned();
    let proof = report["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let raw = exhibit_core::checkpoint::base64_decode(h.as_str().unwrap()).unwrap();
            <[u8; 32]>::try_from(raw).unwrap()
        })
        .collect();
    let request = AddCheckpoint {
        old: report["old_size"].as_u64().unwrap(),
        proof,
        note: note.clone(),
    };
    assert_cosigned(&witness.add(&request.to_body()), &note, &witness.vkey);
    // `exhibit witness key` prints the same vkey the server printed.
    let printed = exhibit(
        &archive,
        &[
            "witness",
            "key",
            "--dir",
            dir.path().join("witness").to_str().unwrap(),
        ],
    );
    // Reading the key does not need the directory the server holds.
    assert_eq!(ok(&printed).trim(), witness.vkey.to_string());
}

#[test]
fn every_refusal_has_its_status_and_leaves_the_state_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(SigningKey::generate().unwrap());
    let witness = Served::start(&dir.path().join("w"), &[&log.vkey()]);

    log.grow(3, "leaf");
    assert_cosigned(&witness.add(&log.request(0)), &log.note(), &witness.vkey);
    log.grow(4, "leaf");
    assert_cosigned(&witness.add(&log.request(3)), &log.note(), &witness.vkey);

    // A stale old size: 409 with the latest size, as text/x.tlog.size.
    log.grow(2, "leaf");
    let stale = witness.add(&log.request(3));
    assert_eq!(
        stale,
        (409, SIZE_CONTENT_TYPE.to_owned(), "7\n".to_owned()),
        "{stale:?}"
    );

    // A fork at the cosigned size: 409 (not about the size).
    let mut fork = Log::new(log.key.clone());
    fork.grow(7, "fork");
    let same_size = AddCheckpoint {
        old: 7,
        proof: vec![],
        note: fork.note(),
    };
    let (status, content_type, why) = witness.add(&same_size.to_body());
    assert_eq!(status, 409, "{why}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    // A fork that grew: its proof cannot lead from the cosigned root. A damaged proof: same.
    fork.grow(2, "fork");
    assert_eq!(witness.add(&fork.request(7)).0, 422);
    let mut damaged = AddCheckpoint::parse(log.request(7).as_bytes()).unwrap();
    damaged.proof[0][5] ^= 0x20;
    let (status, _, why) = witness.add(&damaged.to_body());
    assert_eq!(status, 422, "{why}");
    assert_eq!(why.matches('\n').count(), 1, "{why:?}");

    // Signed by a key the witness does not trust for the origin: 403.
    let mut stranger = Log::new(SigningKey::generate().unwrap());
    stranger.grow(9, "leaf");
    assert_eq!(witness.add(&stranger.request(7)).0, 403);
    // Another origin: 404.
    let text = format!("other.example/log\n1\n{}\n", base64_encode(&[1; 32]));
    let other = AddCheckpoint {
        old: 0,
        proof: vec![],
        note: sign_note(&text, "other.example/log", &log.key).unwrap(),
    };
    assert_eq!(witness.add(&other.to_body()).0, 404);
    // Malformed, and an old size above the checkpoint's: 400.
    for body in [
        "",
        "old 7\n",
        "old 07\n\nx\n",
        "old 7\n\nnot a checkpoint\n",
    ] {
        let (status, _, why) = witness.add(body);
        assert_eq!(status, 400, "{body:?}: {why}");
    }
    let mut above = AddCheckpoint::parse(log.request(7).as_bytes()).unwrap();
    above.old = 10;
    assert_eq!(witness.add(&above.to_body()).0, 400);

    // After all that, the honest request from the cosigned state goes through.
    assert_cosigned(&witness.add(&log.request(7)), &log.note(), &witness.vkey);
}

#[test]
fn the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("w");
    let mut log = Log::new(SigningKey::generate().unwrap());
    log.grow(5, "leaf");
    let vkey = {
        let witness = Served::start(&state, &[&log.vkey()]);
        assert_cosigned(&witness.add(&log.request(0)), &log.note(), &witness.vkey);
        witness.vkey.clone()
    };
    let witness = Served::start(&state, &[&log.vkey()]);
    assert_eq!(witness.vkey, vkey, "the key is kept");
    log.grow(6, "leaf");
    let stale = witness.add(&log.request(0));
    assert_eq!((stale.0, stale.2.as_str()), (409, "5\n"), "{stale:?}");
    assert_cosigned(&witness.add(&log.request(5)), &log.note(), &vkey);
}

#[test]
fn concurrent_requests_from_one_old_size_are_cosigned_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(SigningKey::generate().unwrap());
    let witness = Served::start(&dir.path().join("w"), &[&log.vkey()]);
    log.grow(2, "leaf");
    assert_cosigned(&witness.add(&log.request(0)), &log.note(), &witness.vkey);

    // Eight checkpoints of different sizes, each with a proof from size 2.
    let mut bodies = Vec::new();
    for _ in 0..8 {
        log.grow(1, "leaf");
        bodies.push((log.tree.size(), log.request(2)));
    }
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let addr = witness.addr;
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|(size, body)| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (size, post(addr, &body))
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let winners: Vec<u64> = answers
        .iter()
        .filter(|(_, a)| a.0 == 200)
        .map(|(size, _)| *size)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let latest = format!("{}\n", winners[0]);
    for (size, answer) in &answers {
        if *size != winners[0] {
            assert_eq!(answer.0, 409, "{answers:?}");
            assert_eq!(answer.2, latest, "{answers:?}");
        }
    }
}

#[test]
fn serve_refuses_bad_arguments_with_one_line() {
    let (dir, archive) = new_archive();
    let vkey = ok(&exhibit(&archive, &["log", "key"])).trim().to_owned();
    let w = dir.path().join("w");
    let w = w.to_str().unwrap();
    let cases: [(&[&str], &str); 2] = [
        (&["--listen", "0.0.0.0:0", "--log", &vkey], "--public"),
        (
            &["--listen", "127.0.0.1:0", "--log", "nope"],
            "verifier key",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["witness", "serve", "--dir", w];
        args.extend_from_slice(extra);
        let out = exhibit(&archive, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let e = stderr(&out);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.contains(says), "{e}");
    }
    // The name is fixed on first use.
    ok(&exhibit(
        &archive,
        &["witness", "key", "--dir", w, "--name", "a.example/w"],
    ));
    let out = exhibit(
        &archive,
        &["witness", "key", "--dir", w, "--name", "b.example/w"],
    );
    assert_eq!(code(&out), 2);
    let e = stderr(&out);
    assert!(
        e.contains("a.example/w") && e.contains("b.example/w"),
        "{e}"
    );
}
