//! Interoperability with the stock tools a third party would use: `openssl` and `ssh-keygen`.
//! Each test is skipped, with a message, when its tool is not installed.

mod common;

use std::fs;

use common::{chmod, have, run, run_ok, s};
use exhibit_sign::{Fingerprint, PublicKey, SigningKey};

#[test]
fn openssl_generated_key_loads_and_round_trips() {
    if !have("openssl", "openssl_generated_key_loads_and_round_trips") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    run_ok(
        "openssl",
        &["genpkey", "-algorithm", "ed25519", "-out", s(&key_path)],
    );
    chmod(&key_path, 0o600);
    let key = SigningKey::load(&key_path).unwrap();

    // We write back exactly what openssl wrote.
    assert_eq!(*key.to_pkcs8_pem(), fs::read_to_string(&key_path).unwrap());

    // Our public key PEM is exactly openssl's.
    let openssl_pub = run_ok("openssl", &["pkey", "-in", s(&key_path), "-pubout"]);
    assert_eq!(
        key.public_key().to_spki_pem(),
        String::from_utf8(openssl_pub.clone()).unwrap()
    );
    let pub_path = dir.path().join("pub.pem");
    fs::write(&pub_path, &openssl_pub).unwrap();
    assert_eq!(PublicKey::load_pem(&pub_path).unwrap(), key.public_key());
}

#[test]
fn openssl_reads_our_keys() {
    if !have("openssl", "openssl_reads_our_keys") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let key_path = dir.path().join("ours.pem");
    key.write_new(&key_path).unwrap();

    // `openssl pkey` parses our private key and re-emits it unchanged.
    let reemitted = run_ok("openssl", &["pkey", "-in", s(&key_path)]);
    assert_eq!(String::from_utf8(reemitted).unwrap(), *key.to_pkcs8_pem());
    let text = run_ok("openssl", &["pkey", "-in", s(&key_path), "-noout", "-text"]);
    assert!(
        String::from_utf8_lossy(&text).contains("ED25519 Private-Key"),
        "{}",
        String::from_utf8_lossy(&text)
    );

    // Our SPKI PEM equals `openssl pkey -pubout` of our private key.
    let openssl_pub = run_ok("openssl", &["pkey", "-in", s(&key_path), "-pubout"]);
    let ours = key.public_key().to_spki_pem();
    assert_eq!(ours, String::from_utf8(openssl_pub).unwrap());

    // And `openssl pkey -pubin` reads it back unchanged.
    let pub_path = dir.path().join("ours.pub.pem");
    fs::write(&pub_path, &ours).unwrap();
    let reemitted = run_ok("openssl", &["pkey", "-pubin", "-in", s(&pub_path)]);
    assert_eq!(String::from_utf8(reemitted).unwrap(), ours);
}

#[test]
fn signatures_verify_both_ways_with_openssl() {
    if !have("openssl", "signatures_verify_both_ways_with_openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let key_path = dir.path().join("key.pem");
    let pub_path = dir.path().join("pub.pem");
    key.write_new(&key_path).unwrap();
    fs::write(&pub_path, key.public_key().to_spki_pem()).unwrap();

    let messages: [&[u8]; 4] = [
        b"",
        b"x",
        br#"{"content":{"sha256":"00"},"type":"exhibit.capture/v1"}"#,
        &[0xffu8; 5000],
    ];
    for (i, msg) in messages.iter().enumerate() {
        let msg_path = dir.path().join(format!("m{i}.json"));
        let sig_path = dir.path().join(format!("m{i}.json.sig"));
        fs::write(&msg_path, msg).unwrap();

        let sig = key.sign(msg);
        if msg.is_empty() {
            // OpenSSL 3.0's `pkeyutl -rawin` fails on an empty input file ("Could not allocate
            // 0 bytes for oneshot sign/verify buffer"); manifests are never empty.
            key.public_key().verify(msg, sig.as_bytes()).unwrap();
            continue;
        }

        // Ours -> openssl.
        fs::write(&sig_path, sig.as_bytes()).unwrap();
        let verify = [
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            s(&pub_path),
            "-rawin",
            "-in",
            s(&msg_path),
            "-sigfile",
            s(&sig_path),
        ];
        run_ok("openssl", &verify);

        // A tampered signature is rejected by openssl too (the check above is meaningful).
        let mut bad = sig.to_bytes();
        bad[40] ^= 1;
        fs::write(&sig_path, bad).unwrap();
        assert!(!run("openssl", &verify).status.success());

        // openssl -> ours. Ed25519 is deterministic, so the signatures are identical.
        let theirs_path = dir.path().join(format!("m{i}.openssl.sig"));
        run_ok(
            "openssl",
            &[
                "pkeyutl",
                "-sign",
                "-inkey",
                s(&key_path),
                "-rawin",
                "-in",
                s(&msg_path),
                "-out",
                s(&theirs_path),
            ],
        );
        let theirs = fs::read(&theirs_path).unwrap();
        assert_eq!(theirs.len(), 64);
        key.public_key().verify(msg, &theirs).unwrap();
        assert_eq!(theirs, sig.as_bytes());
    }
}

#[test]
fn ssh_keygen_prints_our_fingerprint() {
    if !have("ssh-keygen", "ssh_keygen_prints_our_fingerprint") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let public = SigningKey::generate().unwrap().public_key();
        let path = dir.path().join(format!("key{i}.pub"));
        fs::write(&path, format!("{}\n", public.to_openssh())).unwrap();
        let out = run_ok("ssh-keygen", &["-l", "-f", s(&path)]);
        let out = String::from_utf8(out).unwrap();
        // "256 SHA256:... no comment (ED25519)"
        let fields: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(fields.first(), Some(&"256"), "{out}");
        assert_eq!(
            fields.get(1).copied(),
            Some(&*public.fingerprint().to_string()),
            "{out}"
        );
        assert!(out.trim_end().ends_with("(ED25519)"), "{out}");
        let parsed: Fingerprint = fields[1].parse().unwrap();
        assert_eq!(parsed, public.fingerprint());
    }
}

#[test]
fn ssh_keygen_fingerprints_an_openssl_key_like_we_do() {
    if !have(
        "ssh-keygen",
        "ssh_keygen_fingerprints_an_openssl_key_like_we_do",
    ) || !have(
        "openssl",
        "ssh_keygen_fingerprints_an_openssl_key_like_we_do",
    ) {
        return;
    }
    // The whole chain a third party would follow: openssl makes the key, ssh-keygen converts
    // its SPKI PEM to OpenSSH form itself, and fingerprints that.
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    let pub_path = dir.path().join("pub.pem");
    run_ok(
        "openssl",
        &["genpkey", "-algorithm", "ed25519", "-out", s(&key_path)],
    );
    run_ok(
        "openssl",
        &["pkey", "-in", s(&key_path), "-pubout", "-out", s(&pub_path)],
    );
    let public = PublicKey::load_pem(&pub_path).unwrap();
    let import = run("ssh-keygen", &["-i", "-m", "PKCS8", "-f", s(&pub_path)]);
    if !import.status.success() {
        eprintln!(
            "SKIP part of ssh_keygen_fingerprints_an_openssl_key_like_we_do: this ssh-keygen cannot import Ed25519 PKCS8 keys: {}",
            String::from_utf8_lossy(&import.stderr).trim()
        );
    } else {
        let line = String::from_utf8(import.stdout).unwrap();
        assert_eq!(line.trim_end(), public.to_openssh());
    }
    let ssh_pub = dir.path().join("key.pub");
    fs::write(
        &ssh_pub,
        format!("{} signer@example\n", public.to_openssh()),
    )
    .unwrap();
    let out = String::from_utf8(run_ok("ssh-keygen", &["-l", "-f", s(&ssh_pub)])).unwrap();
    assert_eq!(
        out.split_whitespace().nth(1),
        Some(&*public.fingerprint().to_string())
    );
}
