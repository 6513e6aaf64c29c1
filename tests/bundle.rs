//! Evidence bundles end to end: `exhibit bundle`, both verifiers and their exit codes, the
//! stock tools (tar, zstd, sha256sum, openssl, bagit.py), VERIFY.txt run as written, and
//! reproducible output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const PRIVACY: &str = "https://example.com/privacy";

/// An archive with three captures: two versions of a privacy policy and a plain-text terms.
fn three_captures() -> (tempfile::TempDir, PathBuf) {
    let (dir, archive) = new_archive();
    let v1 = fixture("policy-v1.html");
    let v2 = fixture("policy-v2.html");
    ok(&exhibit(
        &archive,
        &[
            "capture",
            v1.to_str().unwrap(),
            v2.to_str().unwrap(),
            "--url",
            PRIVACY,
            "--entity",
            "Example Corp",
        ],
    ));
    let t = fixture("terms.txt");
    ok(&exhibit(
        &archive,
        &[
            "capture",
            t.to_str().unwrap(),
            "--url",
            "https://example.com/terms",
        ],
    ));
    (dir, archive)
}

#[test]
fn exit_codes_unpinned_pinned_and_wrong_key() {
    let (dir, archive) = three_captures();
    let bundle = dir.path().join("evidence.tar.zst");
    make_bundle(
        &archive,
        &bundle,
        &["EX-C-000001", "EX-C-000002", "EX-C-000003"],
    );
    let b = bundle.to_str().unwrap();
    let public = archive.join("keys/signing.pub.pem");

    let out = exhibit_verify(&[b]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&fingerprint(&archive)), "{text}");
    assert!(text.contains("--key"), "says how to pin: {text}");

    assert_eq!(
        code(&exhibit_verify(&[b, "--key", public.to_str().unwrap()])),
        0
    );
    let out = exhibit_verify(&[b, "--key", &fingerprint(&archive)]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("VERIFIED"));

    let other = dir.path().join("other.pem");
    ok(&exhibit(
        &archive,
        &["key", "generate", "--out", other.to_str().unwrap()],
    ));
    let out = exhibit_verify(&[
        b,
        "--key",
        dir.path().join("other.pub.pem").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("is a pinned key"));

    // The main binary trusts the archive's own key.
    assert_eq!(code(&exhibit(&archive, &["verify", b])), 0);
    let j = &json_lines(&exhibit_verify(&[
        b,
        "--json",
        "--key",
        &fingerprint(&archive),
    ]))[0];
    assert_eq!(j["verdict"], "verified");
    assert_eq!(j["records"].as_array().unwrap().len(), 3);

    // Unreadable input and a bad --key are exit 2 with one line.
    for args in [
        vec!["/nonexistent/bundle.tar.zst"],
        vec![b, "--key", "SHA256:nope"],
        vec![b, "--key", "/nonexistent.pem"],
    ] {
        let out = exhibit_verify(&args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert_eq!(
            stderr(&out).trim().lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn one_changed_content_byte_is_named() {
    let (dir, archive) = three_captures();
    let bundle = dir.path().join("e.tar.zst");
    make_bundle(&archive, &bundle, &["EX-D-000001"]);
    // Re-pack with one byte of one captured file changed.
    let extracted = dir.path().join("x");
    std::fs::create_dir(&extracted).unwrap();
    untar(&bundle, &extracted);
    let content = std::fs::read_dir(extracted.join("e/data/content"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&content).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&content, bytes).unwrap();
    let tampered = dir.path().join("tampered.tar.zst");
    tar_up(&extracted, "e", &tampered);
    let out = exhibit_verify(&[tampered.to_str().unwrap(), "--key", &fingerprint(&archive)]);
    assert_eq!(code(&out), 1);
    let name = content.file_name().unwrap().to_str().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains(name) && report.contains("FAIL"), "{report}");
    // The bag's report is not rebuilt from records that failed, and the output says so.
    assert!(
        report.contains("Report  not rebuilt: an earlier check failed"),
        "{report}"
    );
}

#[test]
fn stock_tools_alone_verify_a_bundle() {
    for tool in ["tar", "zstd", "sha256sum", "openssl"] {
        if !have(tool) {
            return;
        }
    }
    let (dir, archive) = three_captures();
    let bundle = dir.path().join("evidence.tar.zst");
    make_bundle(&archive, &bundle, &["EX-D-000001", "EX-C-000003"]);
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(Command::new("tar")
        .arg("--zstd")
        .arg("-xf")
        .arg(&bundle)
        .arg("-C")
        .arg(&x));
    let bag = x.join("evidence");
    let checked = run(Command::new("sha256sum")
        .args(["-c", "manifest-sha256.txt"])
        .current_dir(&bag));
    assert_eq!(
        checked.lines().filter(|l| l.ends_with(": OK")).count(),
        6,
        "{checked}"
    );
    run(Command::new("sha256sum")
        .args(["-c", "tagmanifest-sha256.txt"])
        .current_dir(&bag));
    let key = std::fs::read_dir(bag.join("exhibit/keys"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut signed = vec![bag.join("tagmanifest-sha256.txt")];
    for e in std::fs::read_dir(bag.join("exhibit/manifests")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            signed.push(p);
        }
    }
    assert_eq!(signed.len(), 4);
    for f in &signed {
        let sig = PathBuf::from(format!("{}.sig", f.display()));
        let out = run(Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&key)
            .arg("-rawin")
            .arg("-in")
            .arg(f)
            .arg("-sigfile")
            .arg(&sig));
        assert!(
            out.contains("Signature Verified Successfully"),
            "{}",
            f.display()
        );
    }
    if have("bagit.py") {
        run(Command::new("bagit.py").arg("--validate").arg(&bag));
    }
    let info = std::fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    assert!(info.contains("Source-Organization: test.example"), "{info}");
    assert!(info.contains("External-Identifier: EX-C-000003"), "{info}");
    assert!(
        info.contains(&format!("Exhibit-Signer: {}", fingerprint(&archive))),
        "{info}"
    );
    let citation = std::fs::read_to_string(bag.join("exhibit/citation.txt")).unwrap();
    assert_eq!(citation.matches("Citation Record").count(), 3, "{citation}");
    assert!(citation.contains("Entity: Example Corp"), "{citation}");
}

#[test]
fn verify_txt_runs_as_written() {
    for tool in ["tar", "zstd", "sha256sum", "openssl", "base64"] {
        if !have(tool) {
            return;
        }
    }
    let (dir, archive) = three_captures();
    let work = dir.path().join("recipient");
    std::fs::create_dir(&work).unwrap();
    // A file name a shell would misread unless every command quotes it.
    let bundle = work.join("Jane's evidence $(touch PWNED) (1).tar.zst");
    make_bundle(&archive, &bundle, &["EX-D-000001", "EX-C-000003"]);
    let bag = "Jane-s-evidence---touch-PWNED---1";
    let out = Command::new("tar")
        .arg("--zstd")
        .arg("-xOf")
        .arg(&bundle)
        .arg(format!("{bag}/VERIFY.txt"))
        .output()
        .unwrap();
    let recipe = String::from_utf8(out.stdout).unwrap();
    assert!(recipe.contains("openssl pkeyutl -verify"), "{recipe}");
    let mut commands: Vec<&str> = recipe
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .collect();
    if !have("bagit.py") {
        commands.retain(|c| !c.starts_with("bagit.py"));
    }
    assert!(commands.len() >= 12, "{commands:?}");
    let script = format!("set -e\n{}\n", commands.join("\n"));
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "VERIFY.txt failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Step 3 prints the fingerprint that the recipe says to expect.
    let fp = fingerprint(&archive);
    assert!(
        stdout.contains(fp.trim_start_matches("SHA256:")),
        "{stdout}"
    );
    // The seal, three manifests and the log checkpoint.
    assert_eq!(
        stdout.matches("Signature Verified Successfully").count(),
        5,
        "{stdout}"
    );

    // The same recipe fails on a forged manifest.
    assert!(
        !work.join("PWNED").exists(),
        "a VERIFY.txt command ran part of the file name"
    );
    let bag_dir = work.join(format!("{bag}-check/{bag}"));
    let m = bag_dir.join("exhibit/manifests/EX-C-000001.json");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, text.replace("Example Corp", "Example Corq")).unwrap();
    let forged: Vec<&str> = commands
        .iter()
        .copied()
        .filter(|c| c.contains("EX-C-000001.json -sigfile"))
        .collect();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e\ncd {bag}-check/{bag}\n{}",
            forged.join("\n")
        ))
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn bundles_are_byte_identical_under_source_date_epoch() {
    let (dir, archive) = three_captures();
    let mut outputs = Vec::new();
    for sub in ["a", "b"] {
        let d = dir.path().join(sub);
        std::fs::create_dir(&d).unwrap();
        let out = d.join("evidence.tar.zst");
        let mut cmd = assert_cmd::Command::cargo_bin("exhibit").unwrap();
        let result = cmd
            .env("SOURCE_DATE_EPOCH", "1777529721")
            .args([
                "--archive",
                archive.to_str().unwrap(),
                "bundle",
                "EX-D-000001",
                "EX-C-000003",
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    // The date is the one given.
    let listing = Command::new("tar")
        .arg("--zstd")
        .arg("-tvf")
        .arg(dir.path().join("a/evidence.tar.zst"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listing.stdout).contains("2026-04-30"),
        "{}",
        String::from_utf8_lossy(&listing.stdout)
    );
    let bad = assert_cmd::Command::cargo_bin("exhibit")
        .unwrap()
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .args([
            "--archive",
            archive.to_str().unwrap(),
            "bundle",
            "EX-C-000001",
            "--out",
        ])
        .arg(dir.path().join("c.tar.zst"))
        .output()
        .unwrap();
    assert_eq!(code(&bad), 2);
}

#[test]
fn records_are_selected_by_document_version_url_and_hash_prefix() {
    let (dir, archive) = three_captures();
    let sha =
        json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000002"]))[0]["capture"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
    for (i, (query, want)) in [
        ("EX-D-000001", vec!["EX-C-000001", "EX-C-000002"]),
        (PRIVACY, vec!["EX-C-000001", "EX-C-000002"]),
        // A capture that opened a version brings the one that opened the version before it,
        // so that the report shows the change.
        ("EX-V-000002", vec!["EX-C-000001", "EX-C-000002"]),
        (&sha[..16], vec!["EX-C-000001", "EX-C-000002"]),
        ("EX-V-000001", vec!["EX-C-000001"]),
        ("EX-C-000003", vec!["EX-C-000003"]),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("s{i}.tar.zst"));
        make_bundle(&archive, &out, &[query]);
        let j = &json_lines(&exhibit_verify(&[out.to_str().unwrap(), "--json"]))[0];
        let ids: Vec<&str> = j["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, want, "{query}");
    }
}

#[test]
fn bundle_refuses_to_replace_a_file_and_leaves_nothing_on_failure() {
    let (dir, archive) = three_captures();
    let out = dir.path().join("exists.tar.zst");
    std::fs::write(&out, b"keep me").unwrap();
    let r = exhibit(
        &archive,
        &["bundle", "EX-C-000001", "--out", out.to_str().unwrap()],
    );
    assert_ne!(code(&r), 0);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");

    // A damaged object aborts the bundle: no output, no temporary file.
    let c = &json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000003"]))[0]["capture"];
    let sha = c["sha256"].as_str().unwrap();
    let object = archive
        .join("objects")
        .join(&sha[..2])
        .join(format!("{sha}.zst"));
    std::fs::write(&object, zstd::encode_all(&b"forged terms"[..], 3).unwrap()).unwrap();
    let target = dir.path().join("fresh");
    std::fs::create_dir(&target).unwrap();
    let out = target.join("damaged.tar.zst");
    let r = exhibit(
        &archive,
        &["bundle", "EX-C-000003", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code(&r), 1, "{}", stderr(&r));
    assert!(stderr(&r).contains("damaged"), "{}", stderr(&r));
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    let r = exhibit(
        &archive,
        &["bundle", "EX-C-000404", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code(&r), 1);
}

#[test]
fn real_corpus_captures_bundle_and_verify() {
    let Some(corpus) = corpus() else { return };
    let (dir, archive) = new_archive();
    let docs = corpus.join("html/claude-ai/commercial-terms");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut args = vec![
        "capture",
        "--url",
        "https://www.anthropic.com/legal/commercial-terms",
        "--entity",
        "Anthropic",
    ];
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    ok(&exhibit(&archive, &args));
    let out = dir.path().join("anthropic.tar.zst");
    make_bundle(
        &archive,
        &out,
        &["https://www.anthropic.com/legal/commercial-terms"],
    );
    let r = exhibit_verify(&[
        out.to_str().unwrap(),
        "--key",
        archive.join("keys/signing.pub.pem").to_str().unwrap(),
    ]);
    assert_eq!(code(&r), 0, "{}", String::from_utf8_lossy(&r.stdout));
}

/// Standard base64, with padding unless `pad` is false.
fn b64(data: &[u8], pad: bool) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            s.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    s
}

fn sha256(data: &[u8]) -> Vec<u8> {
    hex::decode(sha256_hex(data)).unwrap()
}

/// The files of an extracted bag, relative to it, except the payload.
fn tag_files(bag: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            tag_files(bag, &p, out);
        } else {
            out.push(p.strip_prefix(bag).unwrap().to_str().unwrap().to_owned());
        }
    }
}

#[test]
fn a_bundle_signed_by_the_small_order_identity_key_is_refused() {
    // The identity point as a public key: R = identity, S = 0 "verifies" every message, so a
    // forger needs no secret at all. Re-sign a genuine bundle's manifest, log checkpoint and
    // seal that way.
    let (dir, archive) = new_archive();
    ok(&exhibit(
        &archive,
        &[
            "capture",
            fixture("terms.txt").to_str().unwrap(),
            "--url",
            "https://example.com/terms",
        ],
    ));
    let bundle = dir.path().join("genuine.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let bag_name = std::fs::read_dir(&x)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let bag = x.join(&bag_name);

    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut forged_sig = vec![0u8; 64];
    forged_sig[0] = 1;
    let mut wire = Vec::new();
    for part in [&b"ssh-ed25519"[..], &identity[..]] {
        wire.extend_from_slice(&(part.len() as u32).to_be_bytes());
        wire.extend_from_slice(part);
    }
    let fp = format!("SHA256:{}", b64(&sha256(&wire), false));
    let real = fingerprint(&archive);
    assert_eq!(fp.len(), real.len());

    // The manifest, now naming the identity key as signer (same length: still canonical).
    let m_path = bag.join("exhibit/manifests/EX-C-000001.json");
    let manifest = std::fs::read_to_string(&m_path)
        .unwrap()
        .replace(&real, &fp);
    std::fs::write(&m_path, &manifest).unwrap();
    std::fs::write(
        bag.join("exhibit/manifests/EX-C-000001.json.sig"),
        &forged_sig,
    )
    .unwrap();
    // The key.
    for e in std::fs::read_dir(bag.join("exhibit/keys")).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(&identity);
    std::fs::write(
        bag.join(exhibit_bundle::layout::key_path(&fp)),
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            b64(&der, true)
        ),
    )
    .unwrap();
    // A one-leaf log: the checkpoint's root is the manifest's leaf hash.
    let origin = serde_json::from_str::<serde_json::Value>(&manifest).unwrap()["origin"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(manifest.as_bytes());
    let body = format!("{origin}\n1\n{}\n", b64(&sha256(&leaf), true));
    let mut kh = format!("{origin}\n").into_bytes();
    kh.push(1);
    kh.extend_from_slice(&identity);
    let mut note_sig = sha256(&kh)[..4].to_vec();
    note_sig.extend_from_slice(&forged_sig);
    let note = format!("{body}\n\u{2014} {origin} {}\n", b64(&note_sig, true));
    std::fs::write(bag.join("exhibit/checkpoint"), &note).unwrap();
    std::fs::write(
        bag.join("exhibit/proofs/EX-C-000001.tlog-proof"),
        format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{note}"),
    )
    .unwrap();
    // The tag manifest over every tag file, and the seal.
    let mut tags = Vec::new();
    tag_files(&bag, &bag, &mut tags);
    tags.retain(|t| {
        !t.starts_with("data/")
            && t != "tagmanifest-sha256.txt"
            && t != "tagmanifest-sha256.txt.sig"
    });
    tags.sort();
    let listed: String = tags
        .iter()
        .map(|t| {
            format!(
                "{}  {t}\n",
                sha256_hex(&std::fs::read(bag.join(t)).unwrap())
            )
        })
        .collect();
    std::fs::write(bag.join("tagmanifest-sha256.txt"), listed).unwrap();
    std::fs::write(bag.join("tagmanifest-sha256.txt.sig"), &forged_sig).unwrap();
    let forged = dir.path().join("forged.tar.zst");
    tar_up(&x, bag_name.to_str().unwrap(), &forged);
    let f = forged.to_str().unwrap();

    for (what, out) in [
        ("exhibit-verify", exhibit_verify(&[f])),
        ("exhibit-verify --key", exhibit_verify(&[f, "--key", &fp])),
        (
            "exhibit verify --key",
            exhibit(&archive, &["verify", f, "--key", &fp]),
        ),
    ] {
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            code(&out),
            1,
            "{what}: the identity key is refused\n{text}{}",
            stderr(&out)
        );
        assert!(text.contains("small order"), "{what}: says why\n{text}");
        assert!(!text.contains("VERIFIED"), "{what}\n{text}");
    }
    // Pinning it as a key file is refused outright.
    let pem = dir.path().join("identity.pub.pem");
    std::fs::copy(bag.join(exhibit_bundle::layout::key_path(&fp)), &pem).unwrap();
    let out = exhibit_verify(&[f, "--key", pem.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("small order"), "{}", stderr(&out));
}
