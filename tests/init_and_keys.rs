//! `exhibit init` and `exhibit key`: archive creation, key files, fingerprints, permissions.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn init_creates_a_complete_archive_with_a_private_key_only_the_owner_reads() {
    let (_dir, archive) = new_archive();
    for f in [
        "exhibit.toml",
        "catalog.sqlite",
        "keys/signing.pem",
        "keys/signing.pub.pem",
    ] {
        assert!(archive.join(f).is_file(), "{f} missing");
    }
    let mode = std::fs::metadata(archive.join("keys/signing.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let config = std::fs::read_to_string(archive.join("exhibit.toml")).unwrap();
    assert!(config.contains("origin = \"test.example\""), "{config}");
    assert!(config.contains("prefix = \"EX\""), "{config}");
    // No staging directory is left beside it.
    let siblings: Vec<_> = std::fs::read_dir(archive.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings.len(), 1, "{siblings:?}");
}

#[test]
fn init_refuses_an_existing_archive_and_bad_options() {
    let (_dir, archive) = new_archive();
    let out = exhibit(&archive, &["init"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let out = exhibit(&a, &["init", "--prefix", "E-X"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("prefix"), "{}", stderr(&out));
    for origin in ["has space", "evil'$(touch x)", "a+b", "tab\there", ""] {
        let out = exhibit(&a, &["init", "--origin", origin]);
        assert_eq!(code(&out), 2, "{origin:?}");
        assert!(
            stderr(&out).contains("origin"),
            "{origin:?}: {}",
            stderr(&out)
        );
    }
    assert!(!a.exists(), "a failed init left {a:?} behind");
}

#[test]
fn init_with_prefix_and_existing_key_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let gen_out = exhibit(
        dir.path(),
        &["--json", "key", "generate", "--out", key.to_str().unwrap()],
    );
    let generated = &json_lines(&gen_out)[0];
    assert!(dir.path().join("k.pub.pem").is_file());
    let archive = dir.path().join("archive");
    ok(&exhibit(
        &archive,
        &["init", "--prefix", "ca", "--key", key.to_str().unwrap()],
    ));
    assert!(!archive.join("keys/signing.pem").exists());
    let shown = json_lines(&exhibit(&archive, &["--json", "key", "show"]));
    assert_eq!(shown[0]["fingerprint"], generated["fingerprint"]);
    let f = fixture("terms.txt");
    let out = exhibit(&archive, &["--json", "capture", f.to_str().unwrap()]);
    assert_eq!(json_lines(&out)[0]["capture_id"], "CA-C-000001");
}

#[test]
fn key_generate_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    ok(&exhibit(
        dir.path(),
        &["key", "generate", "--out", key.to_str().unwrap()],
    ));
    let before = std::fs::read(&key).unwrap();
    let out = exhibit(
        dir.path(),
        &["key", "generate", "--out", key.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn key_show_fingerprint_equals_ssh_keygen() {
    if !have("ssh-keygen") {
        return;
    }
    let (dir, archive) = new_archive();
    let shown = &json_lines(&exhibit(&archive, &["--json", "key", "show"]))[0];
    let pubfile = dir.path().join("key.pub");
    std::fs::write(
        &pubfile,
        format!("{}\n", shown["openssh"].as_str().unwrap()),
    )
    .unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&pubfile)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let ssh_fp = line.split_whitespace().nth(1).unwrap_or_default();
    assert_eq!(ssh_fp, shown["fingerprint"].as_str().unwrap(), "{line}");
    assert_eq!(shown["origin"], "test.example");
    // Showing the private key file gives the same fingerprint.
    let private = archive.join("keys/signing.pem");
    let again = &json_lines(&exhibit(
        &archive,
        &["--json", "key", "show", private.to_str().unwrap()],
    ))[0];
    assert_eq!(again["fingerprint"], shown["fingerprint"]);
}

#[test]
fn public_key_is_readable_by_openssl() {
    if !have("openssl") {
        return;
    }
    let (_dir, archive) = new_archive();
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubin", "-noout", "-text", "-in"])
        .arg(archive.join("keys/signing.pub.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ED25519"));
}

#[test]
fn a_key_readable_by_others_is_refused_with_the_fix() {
    let (_dir, archive) = new_archive();
    let key = archive.join("keys/signing.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let f = fixture("terms.txt");
    let out = exhibit(&archive, &["capture", f.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("chmod 600"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Nothing was recorded.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(
        ok(&exhibit(&archive, &["--json", "list"]))
            .trim()
            .is_empty()
    );
}

#[test]
fn commands_without_an_archive_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for args in [
        vec!["list"],
        vec!["show", "EX-C-000001"],
        vec!["capture", "x.html"],
        vec!["key", "show"],
    ] {
        let out = exhibit(&missing, &args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("no exhibit archive"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"));
    }
    assert!(!missing.exists());
}

/// docs/VERIFYING.md step 1, run as written: the fingerprint from openssl and coreutils alone.
#[test]
fn fingerprint_can_be_computed_with_stock_tools_as_documented() {
    if !have("openssl") || !have("base64") {
        return;
    }
    let (dir, archive) = new_archive();
    let shown = &json_lines(&exhibit(&archive, &["--json", "key", "show"]))[0];
    let script = r#"set -e
openssl pkey -pubin -in "$1" -outform DER | tail -c 32 > key.raw
{ printf '\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20'; cat key.raw; } > key.wire
echo "SHA256:$(openssl dgst -sha256 -binary key.wire | base64 | tr -d '=')""#;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(archive.join("keys/signing.pub.pem"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        shown["fingerprint"].as_str().unwrap()
    );
}

#[test]
fn key_generate_writes_beside_a_bare_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("exhibit")
        .unwrap()
        .current_dir(dir.path())
        .args(["key", "generate", "--out", "bare.pem"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("bare.pem").is_file());
    assert!(dir.path().join("bare.pub.pem").is_file());
}

/// Finding 9 (issue 17): a private key that does not match `keys/signing.pub.pem` (or the key
/// that signed the log) signed silently, and `fsck --full` said OK. Now opening the archive
/// for writing refuses it (exit 2, nothing written) and fsck reports it.
#[test]
fn a_private_key_that_is_not_the_archive_key_signs_nothing() {
    let (dir, archive) = new_archive();
    let f = fixture("terms.txt");
    ok(&exhibit(&archive, &["capture", f.to_str().unwrap()]));
    let leaves = std::fs::read(archive.join("log/leaves")).unwrap();
    let other = dir.path().join("other.pem");
    ok(&exhibit(
        dir.path(),
        &["key", "generate", "--out", other.to_str().unwrap()],
    ));
    let key = archive.join("keys/signing.pem");
    let original = std::fs::read(&key).unwrap();
    let original_pub = std::fs::read(archive.join("keys/signing.pub.pem")).unwrap();
    std::fs::write(&key, std::fs::read(&other).unwrap()).unwrap();
    let fixture2 = dir.path().join("second.txt");
    std::fs::write(&fixture2, "A second document.\n").unwrap();
    let out = exhibit(&archive, &["capture", fixture2.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("keys/signing.pub.pem"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(archive.join("log/leaves")).unwrap(), leaves);
    assert!(!archive.join("manifests/C/000/EX-C-000002.json").exists());
    for args in [vec!["fsck"], vec!["fsck", "--full"]] {
        let out = exhibit(&archive, &args);
        assert_eq!(
            code(&out),
            1,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("FAIL keys/signing.pem") && l.contains("does not match")),
            "{text}"
        );
    }
    // A matching public key beside it does not help: the log was signed by the old key.
    std::fs::copy(
        dir.path().join("other.pub.pem"),
        archive.join("keys/signing.pub.pem"),
    )
    .unwrap();
    let out = exhibit(&archive, &["capture", fixture2.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("log"), "{}", stderr(&out));
    assert_eq!(std::fs::read(archive.join("log/leaves")).unwrap(), leaves);
    // The right keys again: capturing goes on.
    std::fs::write(&key, original).unwrap();
    std::fs::write(archive.join("keys/signing.pub.pem"), original_pub).unwrap();
    ok(&exhibit(&archive, &["capture", fixture2.to_str().unwrap()]));
    ok(&exhibit(&archive, &["fsck", "--full"]));
}

/// Low finding (issue 17): `fsck` said OK with a private key readable by group or others.
#[test]
fn fsck_fails_on_a_private_key_readable_by_others() {
    let (_dir, archive) = new_archive();
    let key = archive.join("keys/signing.pem");
    ok(&exhibit(&archive, &["fsck"]));
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = exhibit(&archive, &["fsck"]);
        assert_eq!(code(&out), 1, "{mode:o}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("FAIL keys/signing.pem") && l.contains("chmod 600")),
            "{text}"
        );
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&exhibit(&archive, &["fsck", "--full"]));
}
