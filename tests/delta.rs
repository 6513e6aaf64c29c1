//! Delta objects (docs/FORMAT.md §6): a new version stored against a similar earlier object,
//! read back exactly by exhibit and by the stock `zstd -D`, and checked by `fsck`.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A policy of `n` numbered sections (≈90 bytes each, with a pseudo-random reference number
/// so that it does not compress to nothing on its own).
fn policy(n: usize, edit: &str) -> String {
    let mut s = String::from("# Privacy policy\n\n");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        s.push_str(&format!(
            "Section {i}. We process your data for purpose {seed:016x}, lawfully.\n"
        ));
        if i == n / 2 {
            s.push_str(edit);
            s.push('\n');
        }
    }
    s
}

/// The object file of `sha` (hex).
fn object_path(archive: &Path, sha: &str) -> PathBuf {
    archive
        .join("objects")
        .join(&sha[..2])
        .join(format!("{sha}.zst"))
}

/// The reference a delta object's header names, if it is one.
fn reference_of(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).expect("read object");
    if bytes.len() < 98 || bytes[..4] != [0x5e, 0x2a, 0x4d, 0x18] {
        return None;
    }
    let payload = std::str::from_utf8(&bytes[8..98]).expect("ASCII header");
    let hex = payload
        .strip_prefix("exhibit-reference sha256:")
        .and_then(|p| p.strip_suffix('\n'))
        .expect("reference header");
    Some(hex.to_owned())
}

/// Captures two versions of a policy as two files; returns (dir, archive, v1, v2, their
/// content hashes).
fn two_versions() -> (tempfile::TempDir, PathBuf, String, String) {
    let (dir, archive) = new_archive();
    let v1 = policy(300, "");
    let v2 = policy(300, "Section 150a. A new clause about cookies.");
    let f1 = dir.path().join("v1.md");
    let f2 = dir.path().join("v2.md");
    std::fs::write(&f1, &v1).unwrap();
    std::fs::write(&f2, &v2).unwrap();
    ok(&exhibit(
        &archive,
        &["capture", f1.to_str().unwrap(), f2.to_str().unwrap()],
    ));
    (
        dir,
        archive,
        sha256_hex(v1.as_bytes()),
        sha256_hex(v2.as_bytes()),
    )
}

#[test]
fn a_similar_version_is_stored_as_a_delta_and_reads_back_exactly() {
    let (dir, archive, sha1, sha2) = two_versions();
    let p1 = object_path(&archive, &sha1);
    let p2 = object_path(&archive, &sha2);
    assert_eq!(
        reference_of(&p1),
        None,
        "the first version is a full object"
    );
    assert_eq!(reference_of(&p2).as_deref(), Some(sha1.as_str()));
    // Much smaller than a full frame of the same bytes.
    let full = zstd::encode_all(&std::fs::read(dir.path().join("v2.md")).unwrap()[..], 3).unwrap();
    let delta_len = std::fs::metadata(&p2).unwrap().len() as usize;
    assert!(delta_len * 4 < full.len(), "{delta_len} vs {}", full.len());

    let out = exhibit(&archive, &["cat", &sha2]);
    assert_eq!(sha256_hex(&out.stdout), sha2, "{}", stderr(&out));
    ok(&exhibit(&archive, &["fsck", "--full"]));

    // The stock tool decodes it with the reference's bytes as the dictionary.
    if have("zstd") {
        let reference = dir.path().join("reference.bin");
        std::fs::write(&reference, exhibit(&archive, &["cat", &sha1]).stdout).unwrap();
        let out = std::process::Command::new("zstd")
            .arg("-dc")
            .arg("-D")
            .arg(&reference)
            .arg(&p2)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sha256_hex(&out.stdout), sha2);
        // Without it, zstd refuses: the frame needs its dictionary.
        let out = std::process::Command::new("zstd")
            .arg("-dc")
            .arg(&p2)
            .output()
            .unwrap();
        assert!(!out.status.success() || sha256_hex(&out.stdout) != sha2);
    }

    // A bundle carries the plain bytes, verified by the standalone verifier.
    let bundle = dir.path().join("b.tar.zst");
    ok(&exhibit(
        &archive,
        &["bundle", &sha2, "--out", bundle.to_str().unwrap()],
    ));
    let public = archive.join("keys/signing.pub.pem");
    let out = exhibit_verify(&[bundle.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_missing_reference_is_a_problem_named_in_one_line() {
    let (_dir, archive, sha1, sha2) = two_versions();
    // The reference is also the first capture's content; remove it anyway.
    std::fs::remove_file(object_path(&archive, &sha1)).unwrap();
    let out = exhibit(&archive, &["fsck"]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("missing (the reference of a delta object)"),
        "{text}"
    );
    let out = exhibit(&archive, &["cat", &sha2]);
    assert_ne!(code(&out), 0);
    let err = stderr(&out);
    assert!(err.contains(&format!("reference object {sha1}")), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_reference_that_is_itself_a_delta_or_damaged_is_refused() {
    let (_dir, archive, sha1, sha2) = two_versions();
    let p1 = object_path(&archive, &sha1);
    let p2 = object_path(&archive, &sha2);
    // Make the reference a delta of the second object: a cycle, refused without looping.
    let mut header = std::fs::read(&p2).unwrap()[..98].to_vec();
    header[8 + 25..8 + 25 + 64].copy_from_slice(sha2.as_bytes());
    let mut forged = header;
    forged.extend_from_slice(&std::fs::read(&p1).unwrap());
    std::fs::write(&p1, &forged).unwrap();
    let out = exhibit(&archive, &["fsck", "--full"]);
    assert_eq!(code(&out), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("is itself a delta object"), "{text}");
    let out = exhibit(&archive, &["cat", &sha2]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("itself a delta"), "{}", stderr(&out));

    // A reference header that does not parse.
    let mut bad = std::fs::read(&p2).unwrap();
    bad[40] = b'Z';
    std::fs::write(&p2, &bad).unwrap();
    let out = exhibit(&archive, &["fsck"]);
    assert_eq!(code(&out), 1);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not name a SHA-256"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_later_capture_of_a_changed_document_is_stored_against_its_previous_version() {
    // Two processes: the second knows the first's object only through the catalog.
    let (dir, archive) = new_archive();
    let file = dir.path().join("policy.md");
    let v1 = policy(300, "");
    let v2 = policy(300, "Section 150a. Cookies, again.");
    std::fs::write(&file, &v1).unwrap();
    ok(&exhibit(&archive, &["capture", file.to_str().unwrap()]));
    std::fs::write(&file, &v2).unwrap();
    ok(&exhibit(&archive, &["capture", file.to_str().unwrap()]));
    let (sha1, sha2) = (sha256_hex(v1.as_bytes()), sha256_hex(v2.as_bytes()));
    assert_eq!(
        reference_of(&object_path(&archive, &sha2)).as_deref(),
        Some(sha1.as_str())
    );
    // And in a batch too (`capture --list`), through the catalog reader of a worker.
    let v3 = policy(300, "Section 150b. And data brokers.");
    std::fs::write(&file, &v3).unwrap();
    let list = dir.path().join("list");
    std::fs::write(&list, format!("{}\n", file.display())).unwrap();
    ok(&exhibit(
        &archive,
        &["capture", "--list", list.to_str().unwrap()],
    ));
    let sha3 = sha256_hex(v3.as_bytes());
    assert_eq!(
        reference_of(&object_path(&archive, &sha3)).as_deref(),
        Some(sha1.as_str()),
        "a delta's reference is the full object its previous version was stored against"
    );
    ok(&exhibit(&archive, &["fsck", "--full"]));
}
