//! `exhibit report` and the report every bundle carries: what a person reads (pdftotext finds
//! every id, full hash and the key's fingerprint; qpdf accepts the PDF; the HTML fetches
//! nothing and runs nothing), that it is reproducible, signed, and that `exhibit-verify` fails
//! a bundle whose report says anything the records do not — even one re-sealed by the key
//! holder.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::tls::{Pki, TlsServer};
use crate::common::*;

const EPOCH: &str = "1777529721";

fn policy(path: &str) -> Reply {
    match path {
        "/v1" => Reply::ok(
            "text/html; charset=utf-8",
            std::fs::read(fixture("policy-v1.html")).unwrap(),
        ),
        "/v2" => Reply::ok(
            "text/html; charset=utf-8",
            std::fs::read(fixture("policy-v2.html")).unwrap(),
        ),
        _ => Reply::status(404, "not here"),
    }
}

/// Runs exhibit with `SOURCE_DATE_EPOCH` set.
fn exhibit_at(archive: &Path, args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .arg("--archive")
        .arg(archive)
        .args(args)
        .output()
        .expect("run exhibit")
}

/// An archive with two versions of one document captured over HTTPS from a private PKI (the
/// page changes between the captures) and a provision quoting the first. Returns (dir,
/// archive, server, pki).
fn two_versions_and_a_provision() -> (tempfile::TempDir, PathBuf, TlsServer, Pki) {
    let pki = Pki::new("Report");
    let changed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = changed.clone();
    let server = TlsServer::start(&pki, move |path| {
        let v2 = flag.load(std::sync::atomic::Ordering::SeqCst);
        policy(if path == "/policy" && v2 {
            "/v2"
        } else if path == "/policy" {
            "/v1"
        } else {
            path
        })
    });
    let (dir, archive) = new_archive();
    let root = pki.root_pem.to_str().unwrap().to_owned();
    let url = server.url("/policy");
    ok(&exhibit(
        &archive,
        &[
            "capture",
            &url,
            "--ca-cert",
            &root,
            "--title",
            "Privacy Policy",
            "--entity",
            "Example Corp",
        ],
    ));
    changed.store(true, std::sync::atomic::Ordering::SeqCst);
    ok(&exhibit(&archive, &["capture", &url, "--ca-cert", &root]));
    let quoted = ok(&exhibit(
        &archive,
        &[
            "cite",
            "EX-V-000001",
            "--quote",
            "We do not use your content to train our models.",
        ],
    ));
    assert!(quoted.contains("EX-P-000001"), "{quoted}");
    (dir, archive, server, pki)
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn manifest_json(dir: &Path, id: &str) -> serde_json::Value {
    let path = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap()
        .join(format!("exhibit/manifests/{id}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// An edit of an extracted bag.
type Edit<'a> = Box<dyn Fn(&Path) + 'a>;

#[test]
fn a_report_states_every_id_and_hash_is_reproducible_signed_and_checked() {
    if !(have("pdftotext") && have("qpdf")) {
        return;
    }
    let (dir, archive, _server, _pki) = two_versions_and_a_provision();
    let fp = fingerprint(&archive);

    // `exhibit report` twice, in two places: byte-identical PDF and HTML, each signed.
    let mut made = Vec::new();
    for sub in ["a", "b"] {
        let d = dir.path().join(sub);
        std::fs::create_dir(&d).unwrap();
        let pdf = d.join("report.pdf");
        let html = d.join("report.html");
        let out = exhibit_at(
            &archive,
            &[
                "report",
                "EX-D-000001",
                "EX-P-000001",
                "--out",
                pdf.to_str().unwrap(),
                "--html",
                html.to_str().unwrap(),
            ],
        );
        let text = ok(&out);
        assert!(text.contains("Wrote report R-"), "{text}");
        made.push((std::fs::read(&pdf).unwrap(), std::fs::read(&html).unwrap()));
        // The detached signatures verify with openssl and the archive's public key.
        for f in [&pdf, &html] {
            let sig = PathBuf::from(format!("{}.sig", f.display()));
            openssl(
                &d,
                &[
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    archive.join("keys/signing.pub.pem").to_str().unwrap(),
                    "-rawin",
                    "-in",
                    f.to_str().unwrap(),
                    "-sigfile",
                    sig.to_str().unwrap(),
                ],
            );
        }
    }
    assert!(made[0] == made[1], "two builds of the same report differ");
    let pdf = dir.path().join("a/report.pdf");
    // An existing report is never replaced.
    let again = exhibit_at(
        &archive,
        &["report", "EX-C-000001", "--out", pdf.to_str().unwrap()],
    );
    assert_eq!(code(&again), 2, "{}", all_output(&again));
    // One file for both formats is refused before anything is written.
    let same = dir.path().join("same.pdf");
    let s = same.to_str().unwrap();
    let both = exhibit_at(
        &archive,
        &["report", "EX-C-000001", "--out", s, "--html", s],
    );
    assert_eq!(code(&both), 2, "{}", all_output(&both));
    assert!(!same.exists());

    // The report of the second capture alone shows what changed: the capture that opened the
    // previous version comes with it.
    let single = dir.path().join("single.pdf");
    ok(&exhibit_at(
        &archive,
        &["report", "EX-C-000002", "--out", single.to_str().unwrap()],
    ));
    let single = pdftotext(&single);
    assert!(
        single.contains("Compared with version EX-V-000001"),
        "{single}"
    );
    assert!(single.contains("+ By using the Services"), "{single}");
    assert!(single.contains("- We do not use your content"), "{single}");

    // qpdf finds nothing wrong; pdfinfo sees our title and embedded fonts only.
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let fonts = Command::new("pdffonts").arg(&pdf).output().unwrap();
    let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
    for line in fonts.lines().skip(2) {
        assert!(
            line.contains(" yes "),
            "a font is not embedded: {line}\n{fonts}"
        );
    }

    // The facts ride inside both files, the same bytes: pdfdetach gets them out of the PDF.
    if have("pdfdetach") {
        let det = dir.path().join("detached");
        std::fs::create_dir(&det).unwrap();
        let r = Command::new("pdfdetach")
            .arg("-saveall")
            .arg(&pdf)
            .current_dir(&det)
            .status()
            .unwrap();
        assert!(r.success());
        let json = std::fs::read_to_string(det.join("exhibit-report.json")).unwrap();
        let facts: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(facts["type"], "exhibit.report/v1");
        let html = String::from_utf8(made[0].1.clone()).unwrap();
        let escaped = json
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(
            html.contains(&escaped),
            "the HTML carries other facts than the PDF"
        );
    }

    // pdftotext finds every id, every full hash and the key's fingerprint, each on one line.
    let text = pdftotext(&pdf);
    let bundle = dir.path().join("evidence.tar.zst");
    let b = exhibit_at(
        &archive,
        &[
            "bundle",
            "EX-D-000001",
            "EX-P-000001",
            "--out",
            bundle.to_str().unwrap(),
        ],
    );
    ok(&b);
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let c1 = manifest_json(&x, "EX-C-000001");
    let c2 = manifest_json(&x, "EX-C-000002");
    let p1 = manifest_json(&x, "EX-P-000001");
    let mut wanted: Vec<String> = vec![
        "EX-C-000001".into(),
        "EX-C-000002".into(),
        "EX-P-000001".into(),
        "EX-V-000001".into(),
        fp.clone(),
    ];
    for m in [&c1, &c2] {
        wanted.push(m["content"]["sha256"].as_str().unwrap().into());
        wanted.push(m["content"]["blake3"].as_str().unwrap().into());
        wanted.push(m["text"]["sha256"].as_str().unwrap().into());
        let remote = m["http"]["connections"][0]["remote"].as_str().unwrap();
        wanted.push(remote.into());
        let leaf = m["http"]["connections"][0]["tls"]["chain"][0]["sha256"]
            .as_str()
            .unwrap();
        wanted.push(leaf.into());
    }
    wanted.push(p1["quote"]["sha256"].as_str().unwrap().into());
    for id in ["EX-C-000001", "EX-C-000002", "EX-P-000001"] {
        let bytes = std::fs::read(
            std::fs::read_dir(&x)
                .unwrap()
                .flatten()
                .next()
                .unwrap()
                .path()
                .join(format!("exhibit/manifests/{id}.json")),
        )
        .unwrap();
        wanted.push(sha256_hex(&bytes));
    }
    for w in &wanted {
        assert!(text.contains(w.as_str()), "pdftotext lacks {w}");
    }
    for needed in [
        "Page 1 of",
        "claimed by the signer",
        "902(13)",
        "902(14)",
        "28 U.S.C. § 1746",
        "Statement of truth",
        "Limitations",
        "Chain of custody",
        "sha256sum -c manifest-sha256.txt",
        "We do not use your content to train our models.",
    ] {
        assert!(text.contains(needed), "pdftotext lacks {needed:?}");
    }

    // The bundle's report is the same report (same records, same time, same bag name).
    let bag = std::fs::read_dir(&x)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let html = std::fs::read_to_string(bag.join("exhibit/report.html")).unwrap();
    // Nothing in the HTML fetches or runs anything.
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "url(",
        "@import",
        "http-equiv=\"refresh",
        " on",
    ] {
        if banned == " on" {
            assert!(
                !lower.contains(" onload=") && !lower.contains(" onerror="),
                "event handler in the HTML"
            );
            continue;
        }
        assert!(!lower.contains(banned), "the HTML report holds {banned:?}");
    }
    for (i, _) in lower.match_indices("src=") {
        assert!(
            lower[i..].starts_with("src=\"data:"),
            "an external src: {}",
            &lower[i..i + 60]
        );
    }
    assert!(!lower.contains("href="), "a link in the HTML report");
    assert!(lower.contains("content-security-policy"), "no CSP");

    // exhibit-verify rebuilds the report and finds it identical.
    let v = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fp]);
    let out = ok(&v);
    assert!(out.contains("Report  R-"), "{out}");
    assert!(out.contains("rebuilt from the records, identical"), "{out}");

    // Tampering, re-sealed by the key holder: every edit of what the report states fails
    // check 14 (exit 1), in the HTML's visible text, its facts, or the PDF.
    let content_sha = c2["content"]["sha256"].as_str().unwrap().to_owned();
    let mut forged = content_sha.clone();
    forged.replace_range(
        0..1,
        if content_sha.starts_with('0') {
            "1"
        } else {
            "0"
        },
    );
    let visible = format!("<code>{content_sha}</code>");
    assert!(
        html.contains(&visible),
        "the HTML shows the hash in a <code>"
    );
    let cases: Vec<(&str, Edit)> = vec![
        (
            "an edited hash in the HTML's text",
            Box::new(|bag: &Path| {
                let p = bag.join("exhibit/report.html");
                let h = std::fs::read_to_string(&p).unwrap();
                std::fs::write(
                    &p,
                    h.replacen(&visible, &format!("<code>{forged}</code>"), 1),
                )
                .unwrap();
            }),
        ),
        (
            "an edited hash in the HTML's facts",
            Box::new(|bag: &Path| {
                let p = bag.join("exhibit/report.html");
                let h = std::fs::read_to_string(&p).unwrap();
                let at = h.find("exhibit-report-facts").unwrap();
                let (head, tail) = h.split_at(at);
                std::fs::write(
                    &p,
                    format!("{head}{}", tail.replacen(&content_sha, &forged, 1)),
                )
                .unwrap();
            }),
        ),
        (
            "another maker named in the facts",
            Box::new(|bag: &Path| {
                let p = bag.join("exhibit/report.html");
                let h = std::fs::read_to_string(&p).unwrap();
                let named = format!(
                    "&quot;generator&quot;: &quot;exhibit {}&quot;",
                    env!("CARGO_PKG_VERSION")
                );
                assert!(h.contains(&named), "no generator in the facts");
                std::fs::write(
                    &p,
                    h.replacen(
                        &named,
                        "&quot;generator&quot;: &quot;FBI Digital Evidence Laboratory&quot;",
                        1,
                    ),
                )
                .unwrap();
            }),
        ),
        (
            "an edited byte in the PDF",
            Box::new(|bag: &Path| {
                let p = bag.join("exhibit/report.pdf");
                let mut pdf = std::fs::read(&p).unwrap();
                let at = pdf
                    .windows(15)
                    .position(|w| w == b"Evidence report")
                    .unwrap();
                pdf[at] = b'e';
                std::fs::write(&p, pdf).unwrap();
            }),
        ),
        (
            "a report removed from one format",
            Box::new(|bag: &Path| {
                let p = bag.join("exhibit/report.html");
                std::fs::write(&p, b"").unwrap();
            }),
        ),
    ];
    for (what, edit) in cases {
        let t = tempfile::tempdir().unwrap();
        untar(&bundle, t.path());
        let bag = std::fs::read_dir(t.path())
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let name = bag.file_name().unwrap().to_str().unwrap().to_owned();
        edit(&bag);
        reseal(&bag, &archive);
        let repacked = t.path().join("forged.tar.zst");
        tar_up(t.path(), &name, &repacked);
        let v = exhibit_verify(&[repacked.to_str().unwrap(), "--key", &fp]);
        assert_eq!(code(&v), 1, "{what}: {}", all_output(&v));
        let out = all_output(&v);
        assert!(
            out.contains("exhibit/report.pdf, exhibit/report.html"),
            "{what}: {out}"
        );
        assert!(out.contains("FAIL"), "{what}: {out}");
    }
}

#[test]
fn a_browser_capture_report_shows_its_screenshot_scaled_to_the_page() {
    if !(have("pdftotext") && have("pdfimages") && have("pdftoppm")) {
        return;
    }
    if !crate::capture_browser::chromium() {
        return;
    }
    let server = Server::start(policy);
    let (dir, archive) = new_archive();
    let url = server.url("/v2");
    ok(&exhibit(&archive, &["capture", &url, "--browser"]));
    let pdf = dir.path().join("browser.pdf");
    ok(&exhibit_at(
        &archive,
        &["report", "EX-C-000001", "--out", pdf.to_str().unwrap()],
    ));
    let text = pdftotext(&pdf);
    assert!(text.contains("Screenshot of"), "{text}");
    assert!(text.contains("User agent"), "{text}");
    let m: serde_json::Value =
        serde_json::from_str(&ok(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))).unwrap();
    let manifest = &m["manifest"];
    for wanted in [
        "EX-C-000001".to_owned(),
        fingerprint(&archive),
        manifest["content"]["sha256"].as_str().unwrap().to_owned(),
        manifest["browser"]["screenshot"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned(),
        manifest["browser"]["dom"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned(),
    ] {
        assert!(text.contains(&wanted), "pdftotext lacks {wanted}");
    }
    // The screenshot is in the PDF once, scaled into the page (pdfimages lists it).
    let list = Command::new("pdfimages")
        .arg("-list")
        .arg(&pdf)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.lines().count() >= 3, "no image in the report: {list}");
    // Every page renders.
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let r = Command::new("pdftoppm")
        .args(["-r", "30", "-png"])
        .arg(&pdf)
        .arg(pages.join("p"))
        .status()
        .unwrap();
    assert!(r.success());
    // The bundle of the capture verifies, report included.
    let bundle = dir.path().join("b.tar.zst");
    ok(&exhibit_at(
        &archive,
        &["bundle", "EX-C-000001", "--out", bundle.to_str().unwrap()],
    ));
    let fp = fingerprint(&archive);
    let v = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fp]);
    assert!(ok(&v).contains("rebuilt from the records, identical"));
}

/// The bag of an extracted bundle (its one top directory).
fn the_bag(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
}

#[test]
fn the_report_reads_only_signed_records_so_unsigned_names_and_files_do_not_change_it() {
    if !have("pdftotext") {
        return;
    }
    let (dir, archive, _server, _pki) = two_versions_and_a_provision();
    let fp = fingerprint(&archive);
    let bundle = dir.path().join("evidence.tar.zst");
    ok(&exhibit_at(
        &archive,
        &["bundle", "EX-D-000001", "--out", bundle.to_str().unwrap()],
    ));

    // The bag's directory is named by no signature: renamed, the bundle still verifies.
    let t = tempfile::tempdir().unwrap();
    untar(&bundle, t.path());
    std::fs::rename(the_bag(t.path()), t.path().join("renamed")).unwrap();
    let renamed = t.path().join("renamed.tar.zst");
    tar_up(t.path(), "renamed", &renamed);
    let v = exhibit_verify(&[renamed.to_str().unwrap(), "--key", &fp]);
    assert_eq!(code(&v), 0, "{}", all_output(&v));

    // VERIFY.txt (sealed, but written by the bundler, not signed record by record) rewritten by
    // the key holder: the report, made from the records alone, does not carry the words.
    let t = tempfile::tempdir().unwrap();
    untar(&bundle, t.path());
    let bag = the_bag(t.path());
    let name = bag.file_name().unwrap().to_str().unwrap().to_owned();
    let planted = "INDEPENDENT EXPERT CONCLUSION: the true SHA-256 is 000";
    let mut verify_txt = std::fs::read_to_string(bag.join("VERIFY.txt")).unwrap();
    verify_txt.push_str(planted);
    std::fs::write(bag.join("VERIFY.txt"), verify_txt).unwrap();
    reseal(&bag, &archive);
    let edited = t.path().join("edited.tar.zst");
    tar_up(t.path(), &name, &edited);
    let v = exhibit_verify(&[edited.to_str().unwrap(), "--key", &fp]);
    assert_eq!(code(&v), 0, "{}", all_output(&v));
    let text = pdftotext(&bag.join("exhibit/report.pdf"));
    assert!(!text.contains(planted));
    assert!(text.contains("sha256sum -c manifest-sha256.txt"), "{text}");
}

#[test]
fn a_timestamp_is_not_called_proven_until_its_tsa_is_checked() {
    if !have("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = crate::common::tsa::LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = dir.path().join("archive");
    ok(&exhibit(
        &archive,
        &["init", "--origin", "test.example", "--tsa", &tsa.url()],
    ));
    let f = dir.path().join("terms.txt");
    std::fs::write(&f, "Terms of service.\n").unwrap();
    ok(&exhibit(&archive, &["capture", f.to_str().unwrap()]));
    ok(&exhibit(&archive, &["log", "timestamp"]));
    let pdf = dir.path().join("r.pdf");
    ok(&exhibit_at(
        &archive,
        &["report", "EX-C-000001", "--out", pdf.to_str().unwrap()],
    ));
    let text = pdftotext(&pdf);
    let limitations = &text[text.rfind("Limitations").unwrap()..];
    let proven = &limitations[..limitations.find("Not proven by them").unwrap()];
    assert!(!proven.contains("existed no later than"), "{proven}");
    assert!(
        limitations.contains("not checked against a TSA CA you trust"),
        "{limitations}"
    );
    assert!(text.contains("TSA (as it names"), "{text}");
    assert!(text.contains("CN=Exhibit Test TSA"), "{text}");
}
