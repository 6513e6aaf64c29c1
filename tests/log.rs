//! The tamper-evident log, checked from outside: checkpoint signatures with openssl, inclusion
//! and consistency proofs with tools/tlog.py (an independent RFC 9162 implementation in plain
//! Python), old checkpoints against today's log, and proofs inside bundles.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn tlog_py() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/tlog.py")
}

/// Captures `n` distinct small documents in one command.
fn capture_n(dir: &Path, archive: &Path, start: usize, n: usize) {
    let mut paths = Vec::new();
    for i in start..start + n {
        let f = dir.join(format!("doc{i}.txt"));
        std::fs::write(&f, format!("Policy number {i}.\n")).unwrap();
        paths.push(f.display().to_string());
    }
    let mut args = vec!["capture"];
    args.extend(paths.iter().map(String::as_str));
    ok(&exhibit(archive, &args));
}

/// Verifies a signed checkpoint note with openssl alone (split text / signature, skip the
/// 4-byte key hash), as docs/VERIFYING.md shows.
fn openssl_verifies_note(note: &str, origin: &str, public: &Path, dir: &Path) -> bool {
    let (text, sigs) = note.split_once("\n\n").unwrap();
    let line = sigs
        .lines()
        .find(|l| l.starts_with(&format!("— {origin} ")))
        .expect("a signature line for the origin");
    let blob = base64_decode(line.rsplit(' ').next().unwrap());
    assert_eq!(blob.len(), 68, "4-byte key hash + 64-byte signature");
    let text_file = dir.join("cp.txt");
    let sig_file = dir.join("cp.sig");
    std::fs::write(&text_file, format!("{text}\n")).unwrap();
    std::fs::write(&sig_file, &blob[4..]).unwrap();
    Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(public)
        .arg("-rawin")
        .arg("-in")
        .arg(&text_file)
        .arg("-sigfile")
        .arg(&sig_file)
        .output()
        .unwrap()
        .status
        .success()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .args(["-c", "import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1], validate=True))", s])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn checkpoints_are_signed_notes_that_openssl_verifies() {
    if !have("openssl") || !have("python3") {
        return;
    }
    let (dir, archive) = new_archive();
    capture_n(dir.path(), &archive, 0, 7);
    let note = ok(&exhibit(&archive, &["log", "checkpoint"]));
    let mut lines = note.lines();
    assert_eq!(lines.next(), Some("test.example"), "{note}");
    let size: u64 = lines.next().unwrap().parse().unwrap();
    assert!(size >= 7, "{note}");
    let public = archive.join("keys/signing.pub.pem");
    assert!(openssl_verifies_note(
        &note,
        "test.example",
        &public,
        dir.path()
    ));
    // A checkpoint file is kept, and the latest one is the one printed.
    assert_eq!(
        std::fs::read_to_string(archive.join("log/checkpoint")).unwrap(),
        note
    );
    // The verifier key names the origin and the same key (hash = SHA-256(name \n 0x01 key)[:4]).
    let vkey = ok(&exhibit(&archive, &["log", "key"]));
    let parts: Vec<&str> = vkey.trim().splitn(3, '+').collect();
    assert_eq!(parts[0], "test.example");
    assert_eq!(parts.len(), 3, "{vkey}");
    let raw = base64_decode(parts[2]);
    assert_eq!(raw[0], 0x01);
    let check = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()+b'\\n'+bytes.fromhex(sys.argv[2])).hexdigest()[:8])",
            "test.example",
            &hex::encode(&raw),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), parts[1]);
    // The signature line carries the same key hash.
    let sig_line = note.lines().last().unwrap();
    let blob = base64_decode(sig_line.rsplit(' ').next().unwrap());
    assert_eq!(hex::encode(&blob[..4]), parts[1]);
    // One checkpoint per capture command, not per leaf.
    let files = std::fs::read_dir(archive.join("log/checkpoints"))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}

#[test]
fn consistency_with_an_old_checkpoint_and_with_a_forged_one() {
    if !have("python3") {
        return;
    }
    let (dir, archive) = new_archive();
    capture_n(dir.path(), &archive, 0, 7);
    let old = dir.path().join("old.checkpoint");
    std::fs::write(&old, ok(&exhibit(&archive, &["log", "checkpoint"]))).unwrap();
    capture_n(dir.path(), &archive, 7, 3);
    let out = exhibit(
        &archive,
        &["--json", "log", "consistency", old.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let j = &json_lines(&out)[0];
    assert_eq!(j["old_size"], 7);
    assert_eq!(j["new_size"], 10);
    // An independent implementation accepts the proof.
    let new = dir.path().join("new.checkpoint");
    std::fs::write(&new, j["new_checkpoint"].as_str().unwrap()).unwrap();
    let hashes = dir.path().join("proof.txt");
    let lines: Vec<&str> = j["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    std::fs::write(&hashes, lines.join("\n")).unwrap();
    let py = Command::new("python3")
        .arg(tlog_py())
        .arg("consistency")
        .args([&old, &new, &hashes])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stdout)
    );

    // One bit of the root flipped: the signature no longer holds, exit 1 with a reason.
    let text = std::fs::read_to_string(&old).unwrap();
    let root_line = text.lines().nth(2).unwrap().to_owned();
    let mut root = base64_decode(&root_line);
    root[5] ^= 0x01;
    let flipped_root = Command::new("python3")
        .args([
            "-c",
            "import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())",
            &hex::encode(&root),
        ])
        .output()
        .unwrap();
    let forged = dir.path().join("forged.checkpoint");
    std::fs::write(
        &forged,
        text.replacen(
            &root_line,
            String::from_utf8_lossy(&flipped_root.stdout).trim(),
            1,
        ),
    )
    .unwrap();
    let out = exhibit(&archive, &["log", "consistency", forged.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not signed by this archive"),
        "{}",
        stderr(&out)
    );

    // A validly signed checkpoint of a different history (another archive, same origin name
    // but another key) is refused too; garbage is exit 2.
    let (_d2, other) = new_archive();
    capture_n(dir.path(), &other, 100, 2);
    let foreign = dir.path().join("foreign.checkpoint");
    std::fs::write(&foreign, ok(&exhibit(&other, &["log", "checkpoint"]))).unwrap();
    assert_eq!(
        code(&exhibit(
            &archive,
            &["log", "consistency", foreign.to_str().unwrap()]
        )),
        1
    );
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "not a checkpoint").unwrap();
    let out = exhibit(&archive, &["log", "consistency", junk.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert_eq!(stderr(&out).trim().lines().count(), 1);
}

#[test]
fn log_prove_gives_a_tlog_proof_an_independent_verifier_accepts() {
    if !have("python3") {
        return;
    }
    let (dir, archive) = new_archive();
    capture_n(dir.path(), &archive, 0, 5);
    capture_n(dir.path(), &archive, 5, 4);
    for n in 1..=9 {
        let id = format!("EX-C-{n:06}");
        let proof = ok(&exhibit(&archive, &["log", "prove", &id]));
        assert!(
            proof.starts_with("c2sp.org/tlog-proof@v1\nindex "),
            "{proof}"
        );
        let proof_file = dir.path().join(format!("{id}.tlog-proof"));
        std::fs::write(&proof_file, &proof).unwrap();
        let manifest = archive.join(format!("manifests/C/000/{id}.json"));
        let py = Command::new("python3")
            .arg(tlog_py())
            .arg("inclusion")
            .args([&proof_file, &manifest])
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&py.stdout)
        );
        // The proof is not for any other manifest.
        let other = archive.join(format!("manifests/C/000/EX-C-{:06}.json", n % 9 + 1));
        let py = Command::new("python3")
            .arg(tlog_py())
            .arg("inclusion")
            .args([&proof_file, &other])
            .output()
            .unwrap();
        assert_eq!(py.status.code(), Some(1));
    }
    // The leaves file holds exactly the leaves, in order.
    assert_eq!(
        std::fs::metadata(archive.join("log/leaves")).unwrap().len(),
        9 * 32
    );
}

#[test]
fn bundles_carry_proofs_that_both_verifiers_and_tlog_py_accept() {
    if !have("python3") || !have("tar") {
        return;
    }
    let (dir, archive) = new_archive();
    capture_n(dir.path(), &archive, 0, 6);
    let bundle = dir.path().join("two.tar.zst");
    ok(&exhibit(
        &archive,
        &[
            "bundle",
            "EX-C-000002",
            "EX-C-000005",
            "--out",
            bundle.to_str().unwrap(),
        ],
    ));
    let fp = json_lines(&exhibit(&archive, &["--json", "key", "show"]))[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fp, "--json"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let report = &json_lines(&out)[0];
    let records = report["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["log_index"], 1);
    assert_eq!(records[1]["log_index"], 4);
    assert_eq!(records[0]["tree_size"], 6);
    let text =
        String::from_utf8_lossy(&exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fp]).stdout)
            .into_owned();
    assert!(text.contains("leaf 1 of 6"), "{text}");

    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let bag = x.join("two");
    for id in ["EX-C-000002", "EX-C-000005"] {
        let py = Command::new("python3")
            .arg(tlog_py())
            .arg("inclusion")
            .arg(bag.join(format!("exhibit/proofs/{id}.tlog-proof")))
            .arg(bag.join(format!("exhibit/manifests/{id}.json")))
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&py.stdout)
        );
    }

    // A proof pointing at the wrong index is a named mismatch.
    let proof_path = bag.join("exhibit/proofs/EX-C-000002.tlog-proof");
    let proof = std::fs::read_to_string(&proof_path).unwrap();
    std::fs::write(&proof_path, proof.replacen("index 1\n", "index 0\n", 1)).unwrap();
    // Keep the bag's own manifests consistent so only the proof check can fail.
    let sha = crate::common::sha256_hex(&std::fs::read(&proof_path).unwrap());
    let tm = bag.join("tagmanifest-sha256.txt");
    let tags = std::fs::read_to_string(&tm).unwrap();
    let old_line = tags
        .lines()
        .find(|l| l.ends_with("exhibit/proofs/EX-C-000002.tlog-proof"))
        .unwrap()
        .to_owned();
    std::fs::write(
        &tm,
        tags.replace(
            &old_line,
            &format!("{sha}  exhibit/proofs/EX-C-000002.tlog-proof"),
        ),
    )
    .unwrap();
    let tampered = dir.path().join("tampered.tar.zst");
    tar_up(&x, "two", &tampered);
    let out = exhibit_verify(&[tampered.to_str().unwrap(), "--key", &fp]);
    assert_eq!(code(&out), 1);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("EX-C-000002.tlog-proof"), "{report}");
}

#[test]
fn the_independent_verifier_agrees_with_the_rfc6962_vectors() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/merkle");
    if !vectors.is_dir() {
        eprintln!("SKIP: ../shared/vectors/merkle is absent");
        return;
    }
    if !have("python3") {
        return;
    }
    let script = r#"
import json, glob, base64, importlib.util, sys
spec = importlib.util.spec_from_file_location("tlog", sys.argv[1]); t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t)
bad = n = 0; d = base64.b64decode
for f in glob.glob(sys.argv[2] + "/inclusion/**/*.json", recursive=True):
    c = json.load(open(f)); n += 1
    try: ok = len(d(c["leafHash"])) == 32 and t.verify_inclusion(d(c["leafHash"]), c["leafIdx"], c["treeSize"], [d(p) for p in (c["proof"] or [])], d(c["root"]))
    except Exception: ok = False
    bad += ok == c["wantErr"]
for f in glob.glob(sys.argv[2] + "/consistency/**/*.json", recursive=True):
    c = json.load(open(f)); n += 1
    try: ok = t.verify_consistency(c["size1"], c["size2"], d(c["root1"]), d(c["root2"]), [d(p) for p in (c["proof"] or [])])
    except Exception: ok = False
    bad += ok == c["wantErr"]
print(n, bad)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(tlog_py())
        .arg(&vectors)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "196 0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bundle_whose_proofs_name_two_checkpoints_is_refused() {
    if !have("openssl") || !have("tar") {
        return;
    }
    let (dir, archive) = new_archive();
    capture_n(dir.path(), &archive, 0, 3);
    let bundle = dir.path().join("b.tar.zst");
    ok(&exhibit(
        &archive,
        &[
            "bundle",
            "EX-C-000001",
            "EX-C-000002",
            "--out",
            bundle.to_str().unwrap(),
        ],
    ));
    // The log grows; a fresh, individually valid proof for one record names a newer checkpoint.
    capture_n(dir.path(), &archive, 3, 2);
    let newer = ok(&exhibit(&archive, &["log", "prove", "EX-C-000002"]));
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let bag = x.join("b");
    let proof = bag.join("exhibit/proofs/EX-C-000002.tlog-proof");
    std::fs::write(&proof, &newer).unwrap();
    // Re-list and re-seal with the archive's own key, as a dishonest operator could.
    let tm = bag.join("tagmanifest-sha256.txt");
    let tags = std::fs::read_to_string(&tm).unwrap();
    let line = tags
        .lines()
        .find(|l| l.ends_with("EX-C-000002.tlog-proof"))
        .unwrap()
        .to_owned();
    let fixed = format!(
        "{}  exhibit/proofs/EX-C-000002.tlog-proof",
        sha256_hex(newer.as_bytes())
    );
    std::fs::write(&tm, tags.replace(&line, &fixed)).unwrap();
    let sealed = Command::new("openssl")
        .args(["pkeyutl", "-sign", "-inkey"])
        .arg(archive.join("keys/signing.pem"))
        .arg("-rawin")
        .arg("-in")
        .arg(&tm)
        .arg("-out")
        .arg(bag.join("tagmanifest-sha256.txt.sig"))
        .status()
        .unwrap();
    assert!(sealed.success());
    let forged = dir.path().join("forged.tar.zst");
    tar_up(&x, "b", &forged);
    let fp = json_lines(&exhibit(&archive, &["--json", "key", "show"]))[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = exhibit_verify(&[forged.to_str().unwrap(), "--key", &fp]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("all proofs refer to one signed checkpoint")
    );
}

#[test]
fn an_empty_log_checkpoint_is_trivially_consistent_and_the_json_form_checks_independently() {
    if !have("python3") {
        return;
    }
    let (dir, archive) = new_archive();
    let empty = dir.path().join("empty.checkpoint");
    std::fs::write(&empty, ok(&exhibit(&archive, &["log", "checkpoint"]))).unwrap();
    assert!(
        std::fs::read_to_string(&empty)
            .unwrap()
            .starts_with("test.example\n0\n")
    );
    capture_n(dir.path(), &archive, 0, 2);
    let out = ok(&exhibit(
        &archive,
        &["log", "consistency", empty.to_str().unwrap()],
    ));
    assert!(out.contains("Trivially consistent"), "{out}");
    let old = dir.path().join("old.checkpoint");
    std::fs::write(&old, ok(&exhibit(&archive, &["log", "checkpoint"]))).unwrap();
    capture_n(dir.path(), &archive, 2, 3);
    let report = dir.path().join("c.json");
    std::fs::write(
        &report,
        ok(&exhibit(
            &archive,
            &["--json", "log", "consistency", old.to_str().unwrap()],
        )),
    )
    .unwrap();
    let py = Command::new("python3")
        .arg(tlog_py())
        .arg("consistency")
        .arg(&old)
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}{}",
        String::from_utf8_lossy(&py.stdout),
        String::from_utf8_lossy(&py.stderr)
    );
}

#[test]
fn leaves_of_an_uncommitted_batch_are_cut_before_the_next() {
    let (dir, archive) = new_archive();
    capture_n(dir.path(), &archive, 0, 2);
    let leaves = archive.join("log/leaves");
    // A crash after writing a leaf but before the commit leaves a tail.
    let mut bytes = std::fs::read(&leaves).unwrap();
    bytes.extend_from_slice(&[0xAB; 32]);
    std::fs::write(&leaves, &bytes).unwrap();
    capture_n(dir.path(), &archive, 2, 1);
    let after = std::fs::read(&leaves).unwrap();
    assert_eq!(after.len(), 3 * 32);
    assert!(!after.windows(32).any(|w| w == [0xAB; 32]));
}
