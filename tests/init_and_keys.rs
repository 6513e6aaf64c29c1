//! `exhibit init` and `exhibit key`: archive creation, key files, fingerprints, permissions.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

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
