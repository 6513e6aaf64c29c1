//! Key rotation and revocation (`exhibit key rotate|revoke|history`): records signed across
//! two rotations verify in one bundle pinned to the first key and to the last, a bundle made
//! before a rotation still verifies, fsck and reindex follow the history, a forged transition
//! (signed by the new key only) fails, and a revocation marks exactly the records it cannot
//! vouch for as "unverifiable: key compromised".

use std::path::{Path, PathBuf};

use crate::common::tsa::LocalTsa;
use crate::common::*;

fn capture_text(dir: &Path, archive: &Path, name: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, format!("the text of {name}\n")).unwrap();
    let out = exhibit(archive, &["capture", "--json", file.to_str().unwrap()]);
    json_lines(&out)[0]["capture_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The archive's current public key file, copied to `to` (a key a reader pins).
fn pin(archive: &Path, to: &Path) -> PathBuf {
    std::fs::copy(archive.join("keys/signing.pub.pem"), to).unwrap();
    to.to_path_buf()
}

/// The private key file `exhibit.toml` names (`key = "…"`).
fn configured_key(archive: &Path) -> String {
    let config = std::fs::read_to_string(archive.join("exhibit.toml")).unwrap();
    let line = config.lines().find(|l| l.starts_with("key = ")).unwrap();
    line["key = ".len()..].trim_matches('"').to_owned()
}

fn fingerprint_of(public_pem: &Path) -> String {
    let pem = std::fs::read_to_string(public_pem).unwrap();
    exhibit_sign::PublicKey::from_spki_pem(&pem)
        .unwrap()
        .fingerprint()
        .to_string()
}

fn verify_pinned(bundle: &Path, key: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![bundle.to_str().unwrap(), "--key", key.to_str().unwrap()];
    args.extend_from_slice(extra);
    exhibit_verify(&args)
}

#[test]
fn records_across_two_rotations_verify_pinned_to_the_first_key_and_to_the_last() {
    let (dir, archive) = new_archive();
    let first = pin(&archive, &dir.path().join("first.pub.pem"));
    let c1 = capture_text(dir.path(), &archive, "one.txt");
    let before = dir.path().join("before.tar.zst");
    make_bundle(&archive, &before, &[&c1]);
    // A citation printed in a filing before the rotation, naming the first key.
    let cited = dir.path().join("cited.txt");
    std::fs::write(&cited, ok(&exhibit(&archive, &["cite", &c1]))).unwrap();

    let rotated = ok(&exhibit(&archive, &["key", "rotate"]));
    assert!(
        rotated.contains("Rotated the signing key at log size 1"),
        "{rotated}"
    );
    let c2 = capture_text(dir.path(), &archive, "two.txt");
    ok(&exhibit(&archive, &["key", "rotate"]));
    let c3 = capture_text(dir.path(), &archive, "three.txt");
    let last = pin(&archive, &dir.path().join("last.pub.pem"));

    let history = ok(&exhibit(&archive, &["key", "history"]));
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(history.contains("log leaves 0..1"), "{history}");
    assert!(history.contains("log leaves 2.. (current)"), "{history}");
    // The three records were signed by three keys.
    let signers: std::collections::BTreeSet<String> = [&c1, &c2, &c3]
        .iter()
        .map(|id| {
            let m = std::fs::read(archive.join(format!("manifests/C/000/{id}.json"))).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&m).unwrap();
            v["signer"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(signers.len(), 3, "{signers:?}");

    let all = dir.path().join("all.tar.zst");
    make_bundle(&archive, &all, &[&c1, &c2, &c3]);
    for key in [&first, &last] {
        let out = verify_pinned(&all, key, &[]);
        assert_eq!(
            code(&out),
            0,
            "pinned {}: {}",
            key.display(),
            all_output(&out)
        );
        assert!(stdout(&out).contains("key history"), "{}", stdout(&out));
    }
    // The archive's own verifier agrees.
    assert_eq!(
        code(&exhibit(&archive, &["verify", all.to_str().unwrap()])),
        0
    );
    // The citation naming the first key's fingerprint still verifies, in the archive and
    // against the bundle.
    assert!(
        std::fs::read_to_string(&cited)
            .unwrap()
            .contains(&fingerprint_of(&first)),
        "the citation names the first key"
    );
    let out = exhibit(&archive, &["verify", "--citation", cited.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    let out = exhibit_verify(&[all.to_str().unwrap(), "--citation", cited.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    // A bundle made before the rotations still verifies with the first key.
    let out = verify_pinned(&before, &first, &[]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    // A key the history does not know is not trusted.
    let stranger = dir.path().join("stranger.pem");
    ok(&exhibit(
        &archive,
        &["key", "generate", "--out", stranger.to_str().unwrap()],
    ));
    let out = verify_pinned(&all, &dir.path().join("stranger.pub.pem"), &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));

    // fsck and reindex follow the history; every statement verifies with openssl as written.
    let fsck = ok(&exhibit(&archive, &["fsck", "--full"]));
    assert!(fsck.contains(": OK"), "{fsck}");
    ok(&exhibit(&archive, &["reindex"]));
    assert!(ok(&exhibit(&archive, &["fsck", "--full"])).contains(": OK"));
    if have("openssl") {
        check_statements_with_openssl(&archive, &first);
    }
}

/// docs/VERIFYING.md "Rotated keys", by hand: each rotation statement verifies with openssl
/// under the key it retires (`.sig`) and the key it brings in (`.new.sig`), both taken from
/// the statement itself.
fn check_statements_with_openssl(archive: &Path, first: &Path) {
    let history = archive.join("keys/history");
    let mut retiring = std::fs::read_to_string(first).unwrap();
    for n in 1..=2 {
        let json = history.join(format!("{n:06}.json"));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let new_hex = v["new_key"]["public_key"].as_str().unwrap();
        let spki = format!("302a300506032b6570032100{new_hex}");
        let der: Vec<u8> = (0..spki.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&spki[i..i + 2], 16).unwrap())
            .collect();
        let new_pem = history.join(format!("new-{n}.der"));
        std::fs::write(&new_pem, &der).unwrap();
        let old_pem = history.join(format!("old-{n}.pem"));
        std::fs::write(&old_pem, &retiring).unwrap();
        for (key, form, sig) in [
            (&old_pem, "PEM", format!("{n:06}.json.sig")),
            (&new_pem, "DER", format!("{n:06}.json.new.sig")),
        ] {
            let out = std::process::Command::new("openssl")
                .args(["pkeyutl", "-verify", "-pubin", "-keyform", form, "-inkey"])
                .arg(key)
                .args(["-rawin", "-in"])
                .arg(&json)
                .arg("-sigfile")
                .arg(history.join(&sig))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{sig}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pem = std::process::Command::new("openssl")
            .args(["pkey", "-pubin", "-inform", "DER", "-in"])
            .arg(&new_pem)
            .output()
            .unwrap();
        retiring = String::from_utf8(pem.stdout).unwrap();
        for f in [&new_pem, &old_pem] {
            std::fs::remove_file(f).unwrap();
        }
    }
}

#[test]
fn a_forged_transition_signed_by_the_new_key_only_fails() {
    use exhibit_core::key_statement::{KeyAction, KeyStatement, KeyStatementType};
    use exhibit_sign::history::key_ref;
    let (dir, archive) = new_archive();
    let first = pin(&archive, &dir.path().join("first.pub.pem"));
    let c1 = capture_text(dir.path(), &archive, "one.txt");
    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &[&c1]);
    let bag_dir = dir.path().join("x");
    let bag = extract_bag(&bundle, &bag_dir);

    // The attacker's key claims to take over from the archive's, but cannot sign as it.
    let attacker = exhibit_sign::SigningKey::generate().unwrap();
    let old = std::fs::read_to_string(&first).unwrap();
    let old = exhibit_sign::PublicKey::from_spki_pem(&old).unwrap();
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(archive.join(format!("manifests/C/000/{c1}.json"))).unwrap(),
    )
    .unwrap();
    let statement = KeyStatement {
        statement_type: KeyStatementType::V1,
        origin: v["origin"].as_str().unwrap().to_owned(),
        sequence: 1,
        previous_sha256: None,
        action: KeyAction::Rotate,
        key: key_ref(&old),
        new_key: Some(key_ref(&attacker.public_key())),
        log_size: 0,
        log_root: exhibit_core::Sha256Digest::of(b""),
        compromised_since: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        signer: old.fingerprint().to_string(),
    };
    let bytes = statement.to_canonical_bytes().unwrap();
    let history = bag.join("exhibit/keys/history");
    std::fs::create_dir_all(&history).unwrap();
    std::fs::write(history.join("000001.json"), &bytes).unwrap();
    let sig = attacker.sign(&bytes).to_bytes();
    std::fs::write(history.join("000001.json.sig"), sig).unwrap();
    std::fs::write(history.join("000001.json.new.sig"), sig).unwrap();
    let mut tags = std::fs::read_to_string(bag.join("tagmanifest-sha256.txt")).unwrap();
    for f in ["000001.json", "000001.json.sig", "000001.json.new.sig"] {
        tags.push_str(&format!("0  exhibit/keys/history/{f}\n"));
    }
    std::fs::write(bag.join("tagmanifest-sha256.txt"), tags).unwrap();
    reseal(&bag, &archive);
    let forged = dir.path().join("forged.tar.zst");
    tar_up(
        &bag_dir,
        bag.file_name().unwrap().to_str().unwrap(),
        &forged,
    );
    let out = verify_pinned(&forged, &first, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        stdout(&out).contains("its signature by the retiring key"),
        "{}",
        stdout(&out)
    );

    // The same forgery written into the archive stops it: no command signs with, or trusts,
    // a history whose statements do not verify.
    let kh = archive.join("keys/history");
    std::fs::create_dir_all(&kh).unwrap();
    for f in ["000001.json", "000001.json.sig", "000001.json.new.sig"] {
        std::fs::copy(history.join(f), kh.join(f)).unwrap();
    }
    let out = exhibit(&archive, &["key", "history"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stderr(&out).contains("retiring key"), "{}", stderr(&out));
    assert_ne!(code(&exhibit(&archive, &["fsck"])), 0);
}

#[test]
fn a_revocation_marks_exactly_the_records_nothing_proves_older_than_the_compromise() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        eprintln!("SKIP: no openssl for the local TSA");
        return;
    };
    let archive = dir.path().join("a");
    ok(&exhibit(&archive, &["init", "--tsa", &tsa.url()]));
    let first = pin(&archive, &dir.path().join("first.pub.pem"));
    let c1 = capture_text(dir.path(), &archive, "one.txt");
    let c2 = capture_text(dir.path(), &archive, "two.txt");
    // The key leaks after c1 and c2 were stamped, before c3.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let since = exhibit_core::time::format_rfc3339_seconds(chrono::Utc::now());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let c3 = capture_text(dir.path(), &archive, "three.txt");

    let out = ok(&exhibit(
        &archive,
        &["key", "revoke", "--compromised-since", &since],
    ));
    assert!(out.contains("Rotated the signing key"), "{out}");
    assert!(out.contains(&format!("compromised since {since}")), "{out}");
    let c4 = capture_text(dir.path(), &archive, "four.txt");
    let second = pin(&archive, &dir.path().join("second.pub.pem"));
    assert!(ok(&exhibit(&archive, &["key", "history"])).contains("REVOKED"));

    let ca = tsa.ca_pem();
    let tsa_ca = ["--tsa-ca", ca.to_str().unwrap()];
    // c1 and c2: their checkpoint was stamped before the compromise.
    let early = dir.path().join("early.tar.zst");
    make_bundle(&archive, &early, &[&c1, &c2]);
    let out = verify_pinned(&early, &second, &tsa_ca);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    // Without the TSA's CA nothing proves it: unverifiable, not forged.
    let out = verify_pinned(&early, &second, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        stdout(&out).contains("unverifiable: key compromised"),
        "{}",
        stdout(&out)
    );
    // c3 was signed after the compromise with the leaked key: unverifiable; c4 by the new key
    // is fine.
    let late = dir.path().join("late.tar.zst");
    make_bundle(&archive, &late, &[&c3, &c4]);
    let out = verify_pinned(&late, &second, &tsa_ca);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    let text = stdout(&out);
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("unverifiable: key compromised"))
        .collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains(&c3), "{text}");
    // All four in one bundle: its checkpoint is later than the compromise, but it carries the
    // earlier checkpoint stamped before it (an anchor, with the proof that the log extends it),
    // which covers c1 and c2. Exactly c3 is marked.
    let all = dir.path().join("all.tar.zst");
    make_bundle(&archive, &all, &[&c1, &c2, &c3, &c4]);
    let out = verify_pinned(&all, &second, &tsa_ca);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    let text = stdout(&out);
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("unverifiable: key compromised"))
        .collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains(&c3), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.contains("FAIL") && l.contains("exhibit/anchors/")),
        "{text}"
    );
    // The bag carries one anchor, an ordinary tag file that stock tools agree on.
    let bag = extract_bag(&all, &dir.path().join("all"));
    assert_eq!(
        std::fs::read_dir(bag.join("exhibit/anchors"))
            .unwrap()
            .count(),
        1
    );
    bagit_validate(&bag);
    let only_new = dir.path().join("new.tar.zst");
    make_bundle(&archive, &only_new, &[&c4]);
    assert_eq!(code(&verify_pinned(&only_new, &second, &tsa_ca)), 0);
    // A reader who pinned the revoked key does not follow its rotation: the new key could be
    // the thief's.
    let out = verify_pinned(&only_new, &first, &tsa_ca);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    // The archive itself is consistent.
    assert!(ok(&exhibit(&archive, &["fsck", "--full"])).contains(": OK"));
}

#[test]
fn an_offline_root_key_replaces_a_lost_signing_key_and_readers_may_pin_it() {
    let dir = tempfile::tempdir().unwrap();
    let root_pem = dir.path().join("root.pem");
    let archive = dir.path().join("a");
    let gen_out = ok(&exhibit(
        &archive,
        &["key", "generate", "--out", root_pem.to_str().unwrap()],
    ));
    let root_fp = gen_out
        .lines()
        .find_map(|l| l.strip_prefix("Fingerprint"))
        .unwrap()
        .trim()
        .to_owned();
    ok(&exhibit(
        &archive,
        &["init", "--root-key", root_pem.to_str().unwrap()],
    ));
    let history = ok(&exhibit(&archive, &["key", "history"]));
    assert!(history.contains(&format!("root   {root_fp}")), "{history}");
    let first = pin(&archive, &dir.path().join("first.pub.pem"));
    let c1 = capture_text(dir.path(), &archive, "one.txt");

    // The signing key is lost: without the root nothing can rotate; with it, the root signs.
    std::fs::remove_file(archive.join("keys/signing.pem")).unwrap();
    assert_eq!(code(&exhibit(&archive, &["key", "rotate"])), 2);
    let other_root = dir.path().join("other.pem");
    ok(&exhibit(
        &archive,
        &["key", "generate", "--out", other_root.to_str().unwrap()],
    ));
    let out = exhibit(
        &archive,
        &["key", "rotate", "--root-key", other_root.to_str().unwrap()],
    );
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("not this archive's root key"),
        "{}",
        stderr(&out)
    );
    ok(&exhibit(
        &archive,
        &["key", "rotate", "--root-key", root_pem.to_str().unwrap()],
    ));
    let c2 = capture_text(dir.path(), &archive, "two.txt");

    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &[&c1, &c2]);
    for pinned in [root_fp.as_str(), first.to_str().unwrap()] {
        let out = exhibit_verify(&[bundle.to_str().unwrap(), "--key", pinned]);
        assert_eq!(code(&out), 0, "pinned {pinned}: {}", all_output(&out));
    }
    assert!(ok(&exhibit(&archive, &["fsck", "--full"])).contains(": OK"));
}

#[test]
fn a_rotation_stopped_after_its_statement_is_named_and_finished() {
    let (dir, archive) = new_archive();
    let c1 = capture_text(dir.path(), &archive, "one.txt");
    let config_before = std::fs::read(archive.join("exhibit.toml")).unwrap();
    let pub_before = std::fs::read(archive.join("keys/signing.pub.pem")).unwrap();
    ok(&exhibit(&archive, &["key", "rotate"]));
    // What a crash after the statement (the commit point) leaves: the old public key file and
    // configuration.
    std::fs::write(archive.join("keys/signing.pub.pem"), &pub_before).unwrap();
    std::fs::write(archive.join("exhibit.toml"), &config_before).unwrap();
    let out = exhibit(
        &archive,
        &["capture", dir.path().join("one.txt").to_str().unwrap()],
    );
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("key rotate --finish"),
        "{}",
        stderr(&out)
    );
    // Reading goes on: the signed history, not the pointer file, says which keys are the
    // archive's.
    assert!(!ok(&exhibit(&archive, &["show", &c1])).is_empty());
    assert_ne!(code(&exhibit(&archive, &["fsck"])), 0);
    let finished = ok(&exhibit(&archive, &["key", "rotate", "--finish"]));
    assert!(finished.contains("signing key is"), "{finished}");
    let c2 = capture_text(dir.path(), &archive, "two.txt");
    assert!(ok(&exhibit(&archive, &["fsck", "--full"])).contains(": OK"));
    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &[&c1, &c2]);
    assert_eq!(
        code(&exhibit(&archive, &["verify", bundle.to_str().unwrap()])),
        0
    );
    // A rotation is never taken back: the history is append-only, and a second finish is a
    // no-op.
    ok(&exhibit(&archive, &["key", "rotate", "--finish"]));
}

#[test]
fn fsck_refuses_a_validly_signed_statement_bound_to_another_log() {
    use exhibit_core::key_statement::{KeyAction, KeyStatement, KeyStatementType};
    use exhibit_sign::history::key_ref;
    let (dir, archive) = new_archive();
    capture_text(dir.path(), &archive, "one.txt");
    ok(&exhibit(&archive, &["key", "rotate"]));
    capture_text(dir.path(), &archive, "two.txt");
    // The key holder signs a second rotation naming a tree this log never had.
    let current = exhibit_sign::SigningKey::load(&archive.join(configured_key(&archive))).unwrap();
    let next = exhibit_sign::SigningKey::generate().unwrap();
    let first = std::fs::read(archive.join("keys/history/000001.json")).unwrap();
    let origin: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let statement = KeyStatement {
        statement_type: KeyStatementType::V1,
        origin: origin["origin"].as_str().unwrap().to_owned(),
        sequence: 2,
        previous_sha256: Some(exhibit_core::Sha256Digest::of(&first)),
        action: KeyAction::Rotate,
        key: key_ref(&current.public_key()),
        new_key: Some(key_ref(&next.public_key())),
        log_size: 2,
        log_root: exhibit_core::Sha256Digest([9; 32]),
        compromised_since: None,
        created_at: "2026-12-07T00:00:00Z".into(),
        signer: current.public_key().fingerprint().to_string(),
    };
    let bytes = statement.to_canonical_bytes().unwrap();
    let h = archive.join("keys/history");
    std::fs::write(h.join("000002.json.sig"), current.sign(&bytes).to_bytes()).unwrap();
    std::fs::write(h.join("000002.json.new.sig"), next.sign(&bytes).to_bytes()).unwrap();
    std::fs::write(h.join("000002.json"), &bytes).unwrap();
    let out = exhibit(&archive, &["fsck"]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        stdout(&out).contains("hands over another history"),
        "{}",
        stdout(&out)
    );
}
