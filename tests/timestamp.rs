//! RFC 3161 timestamps on the log's checkpoints, end to end against a real TSA on loopback
//! (`openssl ts -reply` behind a hand-rolled HTTP server, tests/common/tsa.rs): tokens stored
//! beside the checkpoint they stamp and checked by `openssl ts -verify`, outages and
//! misbehaving TSAs that never lose a capture, retries, TSA configuration, bundles carrying
//! each token beside the exact file it stamps, and both verifiers with and without `--tsa-ca`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::tsa::{
    LocalTsa, Mode, openssl_ts_text, openssl_ts_verify, other_ca, pem_bundle,
};
use crate::common::*;

const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";

// --- helpers ---------------------------------------------------------------------------------

/// A new archive at `<dir>/archive` created with `init --origin test.example` and `extra`.
fn init_with(dir: &Path, extra: &[&str]) -> PathBuf {
    let archive = dir.join("archive");
    let mut args = vec!["init", "--origin", "test.example"];
    args.extend_from_slice(extra);
    ok(&exhibit(&archive, &args));
    archive
}

/// Captures a small distinct local file; returns the command's output (not asserted).
fn capture_doc(dir: &Path, archive: &Path, i: usize) -> Output {
    let f = dir.join(format!("doc{i}.txt"));
    std::fs::write(&f, format!("Terms of service, revision {i}.\n")).unwrap();
    exhibit(archive, &["capture", f.to_str().unwrap()])
}

/// Every signed checkpoint note file of the archive, oldest first.
fn checkpoints(archive: &Path) -> Vec<PathBuf> {
    files_in(&archive.join("log/checkpoints"), |n| {
        n.ends_with(".checkpoint")
    })
}

/// Every stored token of the archive, sorted.
fn tokens(archive: &Path) -> Vec<PathBuf> {
    files_in(&archive.join("log/checkpoints"), |n| n.ends_with(".tsr"))
}

/// The tokens stored for one checkpoint note file.
fn tokens_of(checkpoint: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}.", file_name(checkpoint));
    files_in(checkpoint.parent().unwrap(), |n| {
        n.starts_with(&prefix) && n.ends_with(".tsr")
    })
}

fn latest_checkpoint(archive: &Path) -> PathBuf {
    checkpoints(archive)
        .pop()
        .expect("the archive has a signed checkpoint")
}

/// `X.checkpoint.NAME.tsr` → `X.checkpoint`.
fn stamped_by(token: &Path) -> PathBuf {
    let name = file_name(token);
    let at = name.find(".checkpoint.").expect("a token file name") + ".checkpoint".len();
    token.with_file_name(&name[..at])
}

fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && keep(&file_name(p)))
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Every file under `dir` whose name ends with `suffix`, recursively, sorted.
fn walk(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if file_name(&p).ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts a capture committed although its checkpoint could not be timestamped.
fn assert_committed_unstamped(out: &Output, what: &str) {
    assert_eq!(
        code(out),
        0,
        "{what}: a TSA failure must not fail the capture\n{}",
        show(out)
    );
    assert!(
        stderr(out).contains("not yet timestamped"),
        "{what}: warns that the checkpoint is not yet timestamped\n{}",
        show(out)
    );
}

/// Today's date (UTC), read before and after `f` runs (a test may straddle midnight).
fn today_utc() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn assert_mentions_today(text: &str, before: &str) {
    let after = today_utc();
    assert!(
        text.contains(before) || text.contains(&after),
        "reports the token's genTime date ({before}): {text}"
    );
}

fn port_of(url: &str) -> String {
    url.rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

/// The default name the archive gives a TSA at `url` (`http://127.0.0.1:P/tsr`).
fn default_name(url: &str) -> String {
    format!("127.0.0.1-{}-tsr", port_of(url))
}

/// Runs both verifiers on `bundle` with `extra` arguments: the standalone `exhibit-verify`
/// (pinned to the archive's key) and `exhibit verify` (which trusts the archive's key).
fn verifiers(archive: &Path, bundle: &Path, extra: &[&str]) -> Vec<(&'static str, Output)> {
    let b = bundle.to_str().unwrap();
    let key = archive.join("keys/signing.pub.pem");
    let mut standalone = vec![b, "--key", key.to_str().unwrap()];
    standalone.extend_from_slice(extra);
    let mut main = vec!["verify", b];
    main.extend_from_slice(extra);
    vec![
        ("exhibit-verify", exhibit_verify(&standalone)),
        ("exhibit verify", exhibit(archive, &main)),
    ]
}

fn tools_for_bundles() -> bool {
    have("openssl") && have("tar") && have("zstd")
}

/// Asserts every `F.tsr` in the extracted bag has `F` beside it and `openssl ts -verify -data F
/// -in F.tsr -CAfile ca` accepts it; returns the tokens.
fn openssl_accepts_every_token(bag: &Path, ca: &Path) -> Vec<PathBuf> {
    let found = walk(bag, ".tsr");
    for tsr in &found {
        let data = tsr.with_file_name(file_name(tsr).strip_suffix(".tsr").unwrap());
        assert!(
            data.is_file(),
            "{} sits beside the file it stamps ({})",
            tsr.display(),
            data.display()
        );
        if let Err(e) = openssl_ts_verify(&data, tsr, ca) {
            panic!(
                "openssl ts -verify -data {} -in {}: {e}",
                data.display(),
                tsr.display()
            );
        }
    }
    found
}

// --- capture time ----------------------------------------------------------------------------

#[test]
fn a_capture_stores_a_token_beside_its_checkpoint_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    let config = std::fs::read_to_string(archive.join("exhibit.toml")).unwrap();
    assert!(config.contains("[[tsa]]"), "{config}");
    assert!(config.contains(&tsa.url()), "{config}");

    ok(&capture_doc(dir.path(), &archive, 0));
    let checkpoint = latest_checkpoint(&archive);
    let stamped = tokens_of(&checkpoint);
    assert_eq!(
        stamped.len(),
        1,
        "one token for the new checkpoint: {stamped:?}"
    );
    let token = &stamped[0];
    assert_eq!(
        file_name(token),
        format!(
            "{}.{}.tsr",
            file_name(&checkpoint),
            default_name(&tsa.url())
        ),
        "named <size>.checkpoint.<tsa>.tsr with the name made from the URL"
    );
    assert_eq!(stamped_by(token), checkpoint);
    let text = openssl_ts_verify(&checkpoint, token, &tsa.ca_pem()).unwrap();
    assert!(text.contains("Verification: OK"));
    assert!(openssl_ts_text(token).contains("Status: Granted."));

    // The query: POST application/timestamp-query, SHA-256 of the note's exact bytes, a nonce,
    // certReq.
    let q = tsa.last_query().expect("the TSA was asked");
    assert_eq!(q.method, "POST");
    assert_eq!(q.content_type, "application/timestamp-query");
    assert_eq!(q.hash_oid, SHA256_OID);
    assert_eq!(
        hex::encode(&q.imprint),
        sha256_hex(&std::fs::read(&checkpoint).unwrap())
    );
    let nonce = q.nonce.clone().expect("the query carries a nonce");
    assert!(nonce.len() >= 8, "a nonce of 64 bits or more: {nonce:?}");
    assert!(
        q.cert_req,
        "certReq is true (the TSA's certificate comes with the token)"
    );

    // Another capture: another checkpoint, another token, a fresh nonce.
    ok(&capture_doc(dir.path(), &archive, 1));
    let second = latest_checkpoint(&archive);
    assert_ne!(second, checkpoint);
    let stamped2 = tokens_of(&second);
    assert_eq!(stamped2.len(), 1, "{stamped2:?}");
    openssl_ts_verify(&second, &stamped2[0], &tsa.ca_pem()).unwrap();
    assert_ne!(
        tsa.last_query().unwrap().nonce,
        Some(nonce),
        "nonces are random"
    );
    // The token over the first checkpoint does not verify over the second.
    assert!(openssl_ts_verify(&second, token, &tsa.ca_pem()).is_err());

    // Every token the archive holds sits beside its note and verifies.
    for t in tokens(&archive) {
        openssl_ts_verify(&stamped_by(&t), &t, &tsa.ca_pem()).unwrap();
    }

    // Nothing is missing: `log timestamp` has nothing to do and succeeds.
    let asked = tsa.requests();
    let out = exhibit(&archive, &["log", "timestamp"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(tsa.requests(), asked, "a held token is not asked for again");
    let out = exhibit(&archive, &["--json", "log", "timestamp"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(!json_lines(&out).is_empty(), "{}", show(&out));
}

#[test]
fn with_the_tsa_down_a_capture_commits_and_log_timestamp_retries_later() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let before = tokens(&archive);
    assert_eq!(before.len(), 1);

    tsa.set_mode(Mode::Down);
    let out = capture_doc(dir.path(), &archive, 1);
    assert_committed_unstamped(&out, "TSA down");
    let listed = ok(&exhibit(&archive, &["list"]));
    assert!(
        listed.contains("EX-C-000002"),
        "the capture is kept: {listed}"
    );
    let unstamped = latest_checkpoint(&archive);
    assert!(tokens_of(&unstamped).is_empty());
    assert_eq!(tokens(&archive), before, "no token stored");

    // Still down: `log timestamp` fails, naming the TSA.
    let out = exhibit(&archive, &["log", "timestamp"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let text = all_output(&out);
    assert!(
        text.contains(&default_name(&tsa.url())) || text.contains(&tsa.url()),
        "names the TSA that failed: {text}"
    );
    assert!(tokens_of(&unstamped).is_empty());

    // Back on the same port: `log timestamp` gets the token.
    tsa.set_mode(Mode::Normal);
    let out = exhibit(&archive, &["log", "timestamp"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let got = tokens_of(&unstamped);
    assert_eq!(got.len(), 1, "the retry stored a token: {got:?}");
    openssl_ts_verify(&unstamped, &got[0], &tsa.ca_pem()).unwrap();
    assert_eq!(
        latest_checkpoint(&archive),
        unstamped,
        "no new checkpoint was signed"
    );

    // A second run has nothing left to do.
    let asked = tsa.requests();
    assert_eq!(code(&exhibit(&archive, &["log", "timestamp"])), 0);
    assert_eq!(tsa.requests(), asked);

    // --json reports per TSA.
    tsa.set_mode(Mode::Down);
    assert_committed_unstamped(&capture_doc(dir.path(), &archive, 2), "TSA down again");
    let out = exhibit(&archive, &["--json", "log", "timestamp"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let lines = json_lines(&out);
    assert!(!lines.is_empty(), "{}", show(&out));
}

#[test]
fn the_next_capture_retries_a_checkpoint_left_unstamped_by_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    tsa.set_mode(Mode::Down);
    assert_committed_unstamped(&capture_doc(dir.path(), &archive, 0), "TSA down");
    let missed = latest_checkpoint(&archive);
    assert!(tokens_of(&missed).is_empty());
    assert!(tokens(&archive).is_empty());

    tsa.set_mode(Mode::Normal);
    let out = capture_doc(dir.path(), &archive, 1);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(
        !stderr(&out).contains("not yet timestamped"),
        "everything is stamped now: {}",
        show(&out)
    );
    let retried = tokens_of(&missed);
    assert_eq!(
        retried.len(),
        1,
        "the capture first retried the missed checkpoint"
    );
    openssl_ts_verify(&missed, &retried[0], &tsa.ca_pem()).unwrap();
    let latest = latest_checkpoint(&archive);
    assert_ne!(latest, missed);
    let stamped = tokens_of(&latest);
    assert_eq!(stamped.len(), 1, "and then stamped its own checkpoint");
    openssl_ts_verify(&latest, &stamped[0], &tsa.ca_pem()).unwrap();
}

#[test]
fn a_misbehaving_tsa_never_loses_a_capture_and_no_bad_token_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    let modes = [
        Mode::Garbage,
        Mode::HttpError,
        Mode::WrongNonce,
        Mode::WrongImprint,
        Mode::Hangup,
    ];
    for (i, mode) in modes.into_iter().enumerate() {
        tsa.set_mode(mode);
        let asked = tsa.requests();
        let out = capture_doc(dir.path(), &archive, i);
        assert_committed_unstamped(&out, &format!("{mode:?}"));
        assert!(tsa.requests() > asked, "{mode:?}: the TSA was asked");
        assert!(
            tokens(&archive).is_empty(),
            "{mode:?}: no token stored: {:?}",
            tokens(&archive)
        );
        if mode == Mode::WrongNonce {
            assert!(
                tsa.last_query().unwrap().nonce.is_some(),
                "the query has a nonce for the TSA to get wrong"
            );
        }
        let out = exhibit(&archive, &["log", "timestamp"]);
        assert_eq!(
            code(&out),
            1,
            "{mode:?}: log timestamp fails\n{}",
            show(&out)
        );
        assert!(tokens(&archive).is_empty(), "{mode:?}");
    }
    let listed = ok(&exhibit(&archive, &["list"]));
    assert!(
        listed.contains(&format!("EX-C-{:06}", modes.len())),
        "{listed}"
    );

    tsa.set_mode(Mode::Normal);
    ok(&exhibit(&archive, &["log", "timestamp"]));
    let latest = latest_checkpoint(&archive);
    let stamped = tokens_of(&latest);
    assert_eq!(stamped.len(), 1);
    openssl_ts_verify(&latest, &stamped[0], &tsa.ca_pem()).unwrap();
    assert_eq!(tokens(&archive).len(), 1, "only good tokens are kept");
}

#[test]
fn a_tsa_ca_given_at_init_rejects_answers_that_do_not_chain_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let wrong = other_ca(&dir.path().join("other"), "other-ca");

    let wrong_dir = dir.path().join("wrong");
    std::fs::create_dir_all(&wrong_dir).unwrap();
    let archive = init_with(
        &wrong_dir,
        &["--tsa", &tsa.url(), "--tsa-ca", wrong.to_str().unwrap()],
    );
    let out = capture_doc(dir.path(), &archive, 0);
    assert_committed_unstamped(&out, "untrusted TSA");
    assert!(tsa.issued() > 0, "the TSA did answer with a token");
    assert!(tokens(&archive).is_empty(), "{:?}", tokens(&archive));
    let out = exhibit(&archive, &["log", "timestamp"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(tokens(&archive).is_empty());

    // The CA is copied into the archive: moving the original changes nothing.
    std::fs::remove_file(&wrong).unwrap();
    assert_eq!(code(&exhibit(&archive, &["log", "timestamp"])), 1);

    let right_dir = dir.path().join("right");
    std::fs::create_dir_all(&right_dir).unwrap();
    let archive = init_with(
        &right_dir,
        &[
            "--tsa",
            &tsa.url(),
            "--tsa-ca",
            tsa.ca_pem().to_str().unwrap(),
        ],
    );
    let out = capture_doc(dir.path(), &archive, 0);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(
        !stderr(&out).contains("not yet timestamped"),
        "{}",
        show(&out)
    );
    let latest = latest_checkpoint(&archive);
    let stamped = tokens_of(&latest);
    assert_eq!(stamped.len(), 1);
    openssl_ts_verify(&latest, &stamped[0], &tsa.ca_pem()).unwrap();
}

#[test]
fn tsa_add_list_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa1) = LocalTsa::start(&dir.path().join("tsa1")) else {
        return;
    };
    let tsa2 = LocalTsa::start(&dir.path().join("tsa2")).unwrap();
    let archive = init_with(dir.path(), &[]);

    // No TSA: nothing to do, said so, success; captures do not warn.
    let out = exhibit(&archive, &["log", "timestamp"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(!all_output(&out).trim().is_empty(), "says there is no TSA");
    assert_eq!(code(&exhibit(&archive, &["tsa", "list"])), 0);
    assert!(json_lines(&exhibit(&archive, &["--json", "tsa", "list"])).is_empty());
    let out = capture_doc(dir.path(), &archive, 0);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(
        !stderr(&out).contains("not yet timestamped"),
        "{}",
        show(&out)
    );
    assert!(tokens(&archive).is_empty());

    ok(&exhibit(&archive, &["tsa", "add", &tsa1.url()]));
    ok(&exhibit(
        &archive,
        &[
            "tsa",
            "add",
            &tsa2.url(),
            "--name",
            "second",
            "--ca",
            tsa2.ca_pem().to_str().unwrap(),
        ],
    ));
    let config = std::fs::read_to_string(archive.join("exhibit.toml")).unwrap();
    assert_eq!(config.matches("[[tsa]]").count(), 2, "{config}");
    assert!(
        config.contains(&tsa1.url()) && config.contains(&tsa2.url()),
        "{config}"
    );
    assert!(config.contains("name = \"second\""), "{config}");
    let ca_line = config
        .lines()
        .find(|l| l.trim_start().starts_with("ca ="))
        .unwrap_or_else(|| panic!("a ca = line: {config}"));
    let ca_rel = ca_line.split('"').nth(1).unwrap();
    assert!(
        !Path::new(ca_rel).is_absolute(),
        "ca is relative to the archive: {ca_line}"
    );
    assert_eq!(
        std::fs::read(archive.join(ca_rel)).unwrap(),
        std::fs::read(tsa2.ca_pem()).unwrap(),
        "the CA bundle is copied into the archive"
    );

    let listed = ok(&exhibit(&archive, &["tsa", "list"]));
    assert!(listed.contains(&default_name(&tsa1.url())), "{listed}");
    assert!(
        listed.contains("second") && listed.contains(&tsa2.url()),
        "{listed}"
    );
    let lines = json_lines(&exhibit(&archive, &["--json", "tsa", "list"]));
    assert_eq!(lines.len(), 2, "{lines:?}");
    let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&default_name(&tsa1.url()).as_str()),
        "{names:?}"
    );
    assert!(names.contains(&"second"), "{names:?}");
    assert!(lines.iter().any(|l| l["url"] == tsa2.url()), "{lines:?}");

    // A capture now gets a token from each, named by the TSA.
    ok(&capture_doc(dir.path(), &archive, 1));
    let latest = latest_checkpoint(&archive);
    let stamped = tokens_of(&latest);
    assert_eq!(stamped.len(), 2, "{stamped:?}");
    let by1 = latest.with_file_name(format!(
        "{}.{}.tsr",
        file_name(&latest),
        default_name(&tsa1.url())
    ));
    let by2 = latest.with_file_name(format!("{}.second.tsr", file_name(&latest)));
    openssl_ts_verify(&latest, &by1, &tsa1.ca_pem()).unwrap();
    openssl_ts_verify(&latest, &by2, &tsa2.ca_pem()).unwrap();
    assert!(openssl_ts_verify(&latest, &by2, &tsa1.ca_pem()).is_err());

    // Remove by name, then by URL; tokens already issued are kept.
    ok(&exhibit(&archive, &["tsa", "remove", "second"]));
    let lines = json_lines(&exhibit(&archive, &["--json", "tsa", "list"]));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["url"], tsa1.url());
    ok(&exhibit(&archive, &["tsa", "remove", &tsa1.url()]));
    assert!(json_lines(&exhibit(&archive, &["--json", "tsa", "list"])).is_empty());
    let config = std::fs::read_to_string(archive.join("exhibit.toml")).unwrap();
    assert!(!config.contains("[[tsa]]"), "{config}");
    assert!(by1.is_file() && by2.is_file(), "issued tokens are kept");

    let kept = tokens(&archive);
    let (a1, a2) = (tsa1.requests(), tsa2.requests());
    let out = capture_doc(dir.path(), &archive, 2);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(
        !stderr(&out).contains("not yet timestamped"),
        "{}",
        show(&out)
    );
    assert_eq!(tokens(&archive), kept);
    assert_eq!(
        (tsa1.requests(), tsa2.requests()),
        (a1, a2),
        "removed TSAs are not asked"
    );

    let out = exhibit(&archive, &["tsa", "remove", "no-such-tsa"]);
    assert_ne!(
        code(&out),
        0,
        "removing an unknown TSA is an error\n{}",
        show(&out)
    );
}

// --- bundles and verifiers -------------------------------------------------------------------

#[test]
fn a_bundle_carries_the_token_beside_the_checkpoint_and_both_verifiers_check_it() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let today = today_utc();
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    ok(&capture_doc(dir.path(), &archive, 1));
    let bundle = dir.path().join("evidence.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001", "EX-C-000002"]);

    let bag = extract_bag(&bundle, &dir.path().join("x"));
    let checkpoint = bag.join("exhibit/checkpoint");
    let token = bag.join("exhibit/checkpoint.tsr");
    assert!(checkpoint.is_file() && token.is_file());
    let found = openssl_accepts_every_token(&bag, &tsa.ca_pem());
    assert_eq!(found, vec![token.clone()]);

    // The bundled checkpoint is the archive's (stamped) note, and the proofs refer to it.
    let note = std::fs::read(&checkpoint).unwrap();
    let latest = latest_checkpoint(&archive);
    assert_eq!(note, std::fs::read(&latest).unwrap());
    assert_eq!(
        std::fs::read(&token).unwrap(),
        std::fs::read(&tokens_of(&latest)[0]).unwrap(),
        "the stored token, byte for byte"
    );
    let note_text = String::from_utf8(note).unwrap();
    for proof in walk(&bag.join("exhibit/proofs"), ".tlog-proof") {
        let p = std::fs::read_to_string(&proof).unwrap();
        assert!(
            p.contains(&note_text),
            "{} refers to exhibit/checkpoint",
            proof.display()
        );
    }

    let verify_txt = std::fs::read_to_string(bag.join("VERIFY.txt")).unwrap();
    assert!(verify_txt.contains("openssl ts -verify"), "{verify_txt}");
    assert!(
        verify_txt.contains("-data exhibit/checkpoint -in exhibit/checkpoint.tsr"),
        "{verify_txt}"
    );
    // VERIFY.txt, run as written, with the TSA's CA saved as tsa-ca.pem beside the bundle.
    std::fs::copy(tsa.ca_pem(), dir.path().join("tsa-ca.pem")).unwrap();
    let mut steps: Vec<&str> = verify_txt
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .collect();
    if !crate::common::have("bagit.py") {
        steps.retain(|c| !c.starts_with("bagit.py"));
    }
    let run = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -e\n{}\n", steps.join("\n")))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "VERIFY.txt failed:\n{said}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(said.contains("Verification: OK"), "{said}");
    assert!(said.contains("Time stamp:"), "{said}");

    let ca = tsa.ca_pem();
    let ca = ca.to_str().unwrap();
    for (tool, out) in verifiers(&archive, &bundle, &["--tsa-ca", ca]) {
        assert_eq!(code(&out), 0, "{tool} --tsa-ca\n{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_mentions_today(&text, &today);
        assert!(
            text.to_lowercase().contains("existed no later than"),
            "{tool}: {text}"
        );
    }
    for (tool, out) in verifiers(&archive, &bundle, &["--tsa-ca", ca, "--json"]) {
        assert_eq!(code(&out), 0, "{tool} --json\n{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{tool}: bad JSON {line}: {e}"));
        }
        assert_mentions_today(&text, &today);
    }

    let other = other_ca(&dir.path().join("other"), "other-ca");
    for (tool, out) in verifiers(&archive, &bundle, &["--tsa-ca", other.to_str().unwrap()]) {
        assert_eq!(code(&out), 1, "{tool} with an unrelated CA\n{}", show(&out));
    }

    for (tool, out) in verifiers(&archive, &bundle, &[]) {
        assert_eq!(code(&out), 0, "{tool} without --tsa-ca\n{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(
            text.contains("not checked") || text.contains("unchecked"),
            "{tool}: says the timestamp is unchecked: {text}"
        );
    }
}

#[test]
fn a_token_over_other_data_fails_even_in_a_resealed_bundle() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let bundle = dir.path().join("evidence.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let ca = tsa.ca_pem();
    let ca = ca.to_str().unwrap();

    // A genuine token from the same trusted TSA, but over other bytes.
    let forged_token = tsa.stamp(b"some other checkpoint\n");
    let x = dir.path().join("x");
    let bag = extract_bag(&bundle, &x);
    let bag_name = file_name(&bag);
    std::fs::write(bag.join("exhibit/checkpoint.tsr"), &forged_token).unwrap();

    // Unsealed: the tag manifest no longer matches.
    let tampered = dir.path().join("tampered.tar.zst");
    tar_up(&x, &bag_name, &tampered);
    for (tool, out) in verifiers(&archive, &tampered, &["--tsa-ca", ca]) {
        assert_ne!(code(&out), 0, "{tool}: swapped token\n{}", show(&out));
    }

    // Resealed with the archive's own key (a signer backdating its own log): the bag and seal
    // are consistent, only the token is wrong.
    let tag_manifest = bag.join("tagmanifest-sha256.txt");
    let listed = std::fs::read_to_string(&tag_manifest).unwrap();
    let new_hash = sha256_hex(&forged_token);
    let relisted: String = listed
        .lines()
        .map(|l| {
            if l.ends_with("  exhibit/checkpoint.tsr") {
                format!("{new_hash}  exhibit/checkpoint.tsr\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(relisted, listed, "the tag manifest lists the token");
    std::fs::write(&tag_manifest, &relisted).unwrap();
    let sealed = Command::new("openssl")
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(archive.join("keys/signing.pem"))
        .arg("-in")
        .arg(&tag_manifest)
        .arg("-out")
        .arg(bag.join("tagmanifest-sha256.txt.sig"))
        .output()
        .unwrap();
    assert!(sealed.status.success());
    let resealed = dir.path().join("resealed.tar.zst");
    tar_up(&x, &bag_name, &resealed);
    assert!(
        openssl_ts_verify(
            &bag.join("exhibit/checkpoint"),
            &bag.join("exhibit/checkpoint.tsr"),
            &tsa.ca_pem()
        )
        .is_err(),
        "openssl rejects it too"
    );
    for extra in [vec!["--tsa-ca", ca], vec![]] {
        for (tool, out) in verifiers(&archive, &resealed, &extra) {
            assert_eq!(
                code(&out),
                1,
                "{tool} {extra:?}: token over other data\n{}",
                show(&out)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("checkpoint.tsr"),
                "{tool}: names the token\n{}",
                show(&out)
            );
        }
    }
}

#[test]
fn two_tsas_give_two_tokens_and_the_bundle_keeps_each_beside_its_own_copy() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa_a) = LocalTsa::start(&dir.path().join("tsa-a")) else {
        return;
    };
    let tsa_b = LocalTsa::start(&dir.path().join("tsa-b")).unwrap();
    let today = today_utc();
    let archive = init_with(dir.path(), &["--tsa", &tsa_a.url(), "--tsa", &tsa_b.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let latest = latest_checkpoint(&archive);
    let stamped = tokens_of(&latest);
    assert_eq!(stamped.len(), 2, "{stamped:?}");

    // The first TSA by name goes to exhibit/checkpoint.tsr; the other to
    // exhibit/timestamps/<name>/.
    let mut by_name = [
        (default_name(&tsa_a.url()), &tsa_a),
        (default_name(&tsa_b.url()), &tsa_b),
    ];
    by_name.sort_by(|x, y| x.0.cmp(&y.0));
    let [(_, first), (second_name, second)] = by_name;

    let bundle = dir.path().join("evidence.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let bag = extract_bag(&bundle, &dir.path().join("x"));
    let both = pem_bundle(
        &dir.path().join("both.pem"),
        &[&tsa_a.ca_pem(), &tsa_b.ca_pem()],
    );
    let found = openssl_accepts_every_token(&bag, &both);
    let main = bag.join("exhibit/checkpoint.tsr");
    let copy_dir = bag.join("exhibit/timestamps").join(&second_name);
    assert_eq!(
        found,
        vec![main.clone(), copy_dir.join("checkpoint.tsr")],
        "one token per TSA"
    );
    assert_eq!(
        std::fs::read(copy_dir.join("checkpoint")).unwrap(),
        std::fs::read(bag.join("exhibit/checkpoint")).unwrap(),
        "a byte-identical copy of the checkpoint"
    );
    openssl_ts_verify(&bag.join("exhibit/checkpoint"), &main, &first.ca_pem()).unwrap();
    openssl_ts_verify(
        &copy_dir.join("checkpoint"),
        &copy_dir.join("checkpoint.tsr"),
        &second.ca_pem(),
    )
    .unwrap();
    assert!(openssl_ts_verify(&bag.join("exhibit/checkpoint"), &main, &second.ca_pem()).is_err());

    let (ca_a, ca_b) = (tsa_a.ca_pem(), tsa_b.ca_pem());
    let (ca_a, ca_b) = (ca_a.to_str().unwrap(), ca_b.to_str().unwrap());
    for extra in [
        vec!["--tsa-ca", both.to_str().unwrap()],
        vec!["--tsa-ca", ca_a, "--tsa-ca", ca_b],
    ] {
        for (tool, out) in verifiers(&archive, &bundle, &extra) {
            assert_eq!(code(&out), 0, "{tool} {extra:?}\n{}", show(&out));
            assert_mentions_today(&String::from_utf8_lossy(&out.stdout), &today);
        }
    }
    for only in [ca_a, ca_b] {
        for (tool, out) in verifiers(&archive, &bundle, &["--tsa-ca", only]) {
            assert_eq!(code(&out), 1, "{tool} trusting only {only}\n{}", show(&out));
        }
    }
}

#[test]
fn a_bundle_uses_the_earliest_timestamped_checkpoint_that_covers_its_records() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(mut tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let today = today_utc();
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    let ca = tsa.ca_pem();
    let ca = ca.to_str().unwrap();

    ok(&capture_doc(dir.path(), &archive, 0)); // EX-C-000001, stamped
    let stamped = latest_checkpoint(&archive);
    assert_eq!(tokens_of(&stamped).len(), 1);
    tsa.set_mode(Mode::Down);
    assert_committed_unstamped(&capture_doc(dir.path(), &archive, 1), "TSA down"); // EX-C-000002
    let unstamped = latest_checkpoint(&archive);
    assert_ne!(unstamped, stamped);
    assert!(tokens_of(&unstamped).is_empty());

    // A: the stamped checkpoint covers it, though a later one exists.
    let bundle_a = dir.path().join("a.tar.zst");
    make_bundle(&archive, &bundle_a, &["EX-C-000001"]);
    let bag = extract_bag(&bundle_a, &dir.path().join("xa"));
    let note = std::fs::read(bag.join("exhibit/checkpoint")).unwrap();
    assert_eq!(
        note,
        std::fs::read(&stamped).unwrap(),
        "the timestamped checkpoint"
    );
    assert_ne!(note, std::fs::read(&unstamped).unwrap());
    let note_text = String::from_utf8(note).unwrap();
    let proof = std::fs::read_to_string(bag.join("exhibit/proofs/EX-C-000001.tlog-proof")).unwrap();
    assert!(
        proof.contains(&note_text),
        "the proof refers to it: {proof}"
    );
    assert_eq!(openssl_accepts_every_token(&bag, &tsa.ca_pem()).len(), 1);
    for (tool, out) in verifiers(&archive, &bundle_a, &["--tsa-ca", ca]) {
        assert_eq!(code(&out), 0, "{tool} bundle A\n{}", show(&out));
        assert_mentions_today(&String::from_utf8_lossy(&out.stdout), &today);
    }

    // B, and A with B: only the unstamped checkpoint covers them.
    for (name, ids) in [
        ("b", vec!["EX-C-000002"]),
        ("ab", vec!["EX-C-000001", "EX-C-000002"]),
    ] {
        let bundle = dir.path().join(format!("{name}.tar.zst"));
        make_bundle(&archive, &bundle, &ids);
        let bag = extract_bag(&bundle, &dir.path().join(format!("x{name}")));
        assert!(walk(&bag, ".tsr").is_empty(), "{name}: no token to carry");
        assert_eq!(
            std::fs::read(bag.join("exhibit/checkpoint")).unwrap(),
            std::fs::read(&unstamped).unwrap(),
            "{name}: falls back to the latest checkpoint"
        );
        for (tool, out) in verifiers(&archive, &bundle, &[]) {
            assert_eq!(code(&out), 0, "{tool} bundle {name}\n{}", show(&out));
            let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
            assert!(
                !text.contains("existed no later than") && text.contains("timestamp"),
                "{tool} bundle {name}: says there is no timestamp, claims none: {text}"
            );
        }
    }

    // Once the later checkpoint is stamped, B's bundle carries its token; A keeps the earlier.
    tsa.set_mode(Mode::Normal);
    ok(&exhibit(&archive, &["log", "timestamp"]));
    assert_eq!(tokens_of(&unstamped).len(), 1);
    let bundle_b = dir.path().join("b2.tar.zst");
    make_bundle(&archive, &bundle_b, &["EX-C-000002"]);
    let bag = extract_bag(&bundle_b, &dir.path().join("xb2"));
    assert_eq!(openssl_accepts_every_token(&bag, &tsa.ca_pem()).len(), 1);
    for (tool, out) in verifiers(&archive, &bundle_b, &["--tsa-ca", ca]) {
        assert_eq!(
            code(&out),
            0,
            "{tool} bundle B after the retry\n{}",
            show(&out)
        );
    }
    let bundle_a2 = dir.path().join("a2.tar.zst");
    make_bundle(&archive, &bundle_a2, &["EX-C-000001"]);
    let bag = extract_bag(&bundle_a2, &dir.path().join("xa2"));
    assert_eq!(
        std::fs::read(bag.join("exhibit/checkpoint")).unwrap(),
        std::fs::read(&stamped).unwrap(),
        "still the earliest timestamped checkpoint"
    );
}

/// The contract as briefed: a bundle without any token, verified with `--tsa-ca`, still passes
/// (exit 0) and says it has no timestamp. (If `--tsa-ca` is meant to demand a token, flip the
/// expected exit code to 1 here.)
#[test]
fn a_bundle_without_a_token_fails_when_a_trusted_timestamp_is_demanded() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(mut tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    tsa.set_mode(Mode::Down);
    assert_committed_unstamped(&capture_doc(dir.path(), &archive, 0), "TSA down");
    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let bag = extract_bag(&bundle, &dir.path().join("x"));
    assert!(walk(&bag, ".tsr").is_empty());
    let ca = tsa.ca_pem();
    // Asking for a trusted timestamp (--tsa-ca) of a bundle that has none is a failed check:
    // "VERIFIED" must never be read as "timestamped".
    for (tool, out) in verifiers(&archive, &bundle, &["--tsa-ca", ca.to_str().unwrap()]) {
        assert_eq!(code(&out), 1, "{tool}: no token, --tsa-ca\n{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(!text.contains("existed no later than"), "{tool}: {text}");
        assert!(text.contains("none in this bundle"), "{tool}: {text}");
    }
    // Without --tsa-ca the same bundle verifies, and makes no timestamp claim.
    for (tool, out) in verifiers(&archive, &bundle, &[]) {
        assert_eq!(
            code(&out),
            0,
            "{tool}: no token, no --tsa-ca\n{}",
            show(&out)
        );
    }
}

// --- the harness itself ----------------------------------------------------------------------

/// POSTs a DER query to `url` over plain HTTP/1.1; (status, body), or None if refused/cut off.
fn post_query(url: &str, query: &[u8]) -> Option<(u16, Vec<u8>)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).ok()?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/timestamp-query\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        query.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(query).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = std::str::from_utf8(&resp[9..12]).ok()?.parse().ok()?;
    Some((status, resp[end + 4..].to_vec()))
}

/// The misbehaving modes really misbehave (so the tests above that expect no token are
/// meaningful): `openssl ts -verify -queryfile` accepts Normal's answer and rejects the others.
#[test]
fn the_local_tsa_misbehaves_as_told() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let d = dir.path();
    std::fs::write(d.join("data"), b"checkpoint bytes\n").unwrap();
    let q = d.join("q.tsq");
    let made = Command::new("openssl")
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(d.join("data"))
        .arg("-out")
        .arg(&q)
        .output()
        .unwrap();
    assert!(made.status.success());
    let query = std::fs::read(&q).unwrap();
    let ca = tsa.ca_pem();
    let check = |body: &[u8]| {
        let r = d.join("r.tsr");
        std::fs::write(&r, body).unwrap();
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-queryfile"])
            .arg(&q)
            .arg("-in")
            .arg(&r)
            .arg("-CAfile")
            .arg(&ca)
            .output()
            .unwrap();
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
    };

    let (status, body) = post_query(&tsa.url(), &query).unwrap();
    assert_eq!(status, 200);
    assert!(check(&body), "Normal: a good token");
    assert!(openssl_ts_verify(&d.join("data"), &d.join("r.tsr"), &tsa.ca_pem()).is_ok());
    let seen = tsa.last_query().unwrap();
    assert_eq!(seen.der, query);
    assert!(seen.nonce.is_some() && seen.cert_req && seen.hash_oid == SHA256_OID);
    assert_eq!(
        hex::encode(&seen.imprint),
        sha256_hex(b"checkpoint bytes\n")
    );

    for mode in [Mode::WrongNonce, Mode::WrongImprint, Mode::Garbage] {
        tsa.set_mode(mode);
        let (status, body) = post_query(&tsa.url(), &query).unwrap();
        assert_eq!(status, 200, "{mode:?}");
        assert!(!check(&body), "{mode:?}: openssl rejects the answer");
    }
    tsa.set_mode(Mode::HttpError);
    assert_eq!(post_query(&tsa.url(), &query).unwrap().0, 503);
    tsa.set_mode(Mode::Hangup);
    assert!(post_query(&tsa.url(), &query).is_none());
    tsa.set_mode(Mode::Down);
    // Refused — or, rarely, a TCP self-connection (the client's ephemeral port happened to be
    // the closed port), which is not the TSA answering either.
    match std::net::TcpStream::connect(tsa.url()[7..].split('/').next().unwrap()) {
        Err(_) => {}
        Ok(s) => assert_eq!(
            s.local_addr().unwrap(),
            s.peer_addr().unwrap(),
            "still listening"
        ),
    }
    tsa.set_mode(Mode::Normal);
    let (status, body) = post_query(&tsa.url(), &query).unwrap();
    assert_eq!(status, 200, "back on the same port");
    assert!(check(&body));
    assert_eq!(tsa.issued(), 4, "Normal twice, WrongNonce, WrongImprint");
}

/// Kills the child (by its own handle) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// tools/tsa-server.py, the same TSA for humans, serves tokens the archive keeps.
#[test]
fn the_python_tsa_server_works_with_exhibit() {
    if !have("python3") || !have("openssl") {
        return;
    }
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/tsa-server.py");
    let mut child = Child(
        Command::new("python3")
            .arg(&script)
            .arg("--dir")
            .arg(dir.path().join("tsa"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let url_line = lines.next().unwrap().unwrap();
    let ca_line = lines.next().unwrap().unwrap();
    let url = url_line
        .strip_prefix("TSA URL: ")
        .expect(&url_line)
        .trim()
        .to_owned();
    let ca = PathBuf::from(ca_line.strip_prefix("CA:").expect(&ca_line).trim());
    assert!(ca.is_file(), "{}", ca.display());

    let archive = init_with(
        dir.path(),
        &["--tsa", &url, "--tsa-ca", ca.to_str().unwrap()],
    );
    let out = capture_doc(dir.path(), &archive, 0);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let latest = latest_checkpoint(&archive);
    let stamped = tokens_of(&latest);
    assert_eq!(stamped.len(), 1, "{}", show(&out));
    openssl_ts_verify(&latest, &stamped[0], &ca).unwrap();
}

// --- review findings ---------------------------------------------------------------------------

/// The verifier's bound is the TSA's time plus its stated accuracy (the local TSA states ±1 s),
/// in the report and in the JSON.
#[test]
fn existed_no_later_than_includes_the_stated_accuracy() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let ca = tsa.ca_pem();
    let out = exhibit_verify(&[
        bundle.to_str().unwrap(),
        "--tsa-ca",
        ca.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &report["timestamps"][0];
    let secs = |s: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    assert_eq!(t["accuracy"], "±1 s", "{t}");
    assert_eq!(secs(&t["no_later_than"]) - secs(&t["gen_time"]), 1, "{t}");
}

/// Tokens of a TSA that was removed from the configuration are not bundled when a configured
/// TSA stamped a covering checkpoint: the bundle verifies with the configured TSA's CA alone.
#[test]
fn a_bundle_carries_tokens_of_the_configured_tsas() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (Some(a), Some(b)) = (
        LocalTsa::start(&dir.path().join("a")),
        LocalTsa::start(&dir.path().join("b")),
    ) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &a.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    ok(&exhibit(&archive, &["tsa", "remove", &a.url()]));
    ok(&exhibit(
        &archive,
        &["tsa", "add", &b.url(), "--name", "bee"],
    ));
    ok(&capture_doc(dir.path(), &archive, 1));
    let bundle = dir.path().join("b.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let bag = extract_bag(&bundle, &dir.path().join("x"));
    assert_eq!(walk(&bag, ".tsr").len(), 1, "only bee's token");
    let ca = b.ca_pem();
    for (tool, out) in verifiers(&archive, &bundle, &["--tsa-ca", ca.to_str().unwrap()]) {
        assert_eq!(code(&out), 0, "{tool}\n{}", show(&out));
    }
}

/// A token file already on disk (left by a run that crashed before recording it, or by a
/// concurrent process) is the one kept, and the catalog records *its* genTime.
#[test]
fn a_token_left_on_disk_is_kept_and_its_own_time_recorded() {
    if !have("openssl") || !have("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let token = tokens(&archive).pop().unwrap();
    let before = std::fs::read(&token).unwrap();
    // The state a crash between writing the file and recording it leaves.
    let forget = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM timestamps'); c.commit()",
            archive.join("catalog.sqlite").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        forget.status.success(),
        "{}",
        String::from_utf8_lossy(&forget.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&exhibit(&archive, &["log", "timestamp"]));
    assert_eq!(
        std::fs::read(&token).unwrap(),
        before,
        "the file on disk is kept"
    );
    let listed = json_lines(&exhibit(&archive, &["--json", "tsa", "list"]));
    let recorded = listed[0]["latest_gen_time"].as_str().unwrap().to_owned();
    let text = openssl_ts_text(&token);
    let time_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Time stamp:"))
        .unwrap()
        .to_owned();
    let parsed = chrono::NaiveDateTime::parse_from_str(
        time_line
            .split_once(':')
            .unwrap()
            .1
            .trim()
            .trim_end_matches(" GMT"),
        "%b %e %H:%M:%S %Y",
    )
    .unwrap();
    assert_eq!(
        recorded,
        parsed.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "{time_line}"
    );
}

/// `tsa add` from several processes at once loses nothing, and comments in exhibit.toml survive.
#[test]
fn concurrent_tsa_edits_lose_nothing_and_keep_comments() {
    let dir = tempfile::tempdir().unwrap();
    let archive = init_with(dir.path(), &[]);
    let config = archive.join("exhibit.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n# Operator's note: keep this comment.\n");
    std::fs::write(&config, text).unwrap();
    let children: Vec<_> = (0..6)
        .map(|i| {
            Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
                .args(["--archive", archive.to_str().unwrap(), "tsa", "add"])
                .arg(format!("http://127.0.0.1:{}/tsr", 9000 + i))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed = json_lines(&exhibit(&archive, &["--json", "tsa", "list"]));
    assert_eq!(listed.len(), 6, "{listed:?}");
    ok(&exhibit(&archive, &["tsa", "remove", "127.0.0.1-9003-tsr"]));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("# Operator's note: keep this comment."),
        "{text}"
    );
    assert_eq!(text.matches("[[tsa]]").count(), 5, "{text}");
}

/// Rewrites the one-capture bundle `bundle` as its signer could: the manifest's `captured_at`
/// set to `captured_at`, re-signed with the archive's key, a new one-leaf checkpoint signed
/// by it, a genuine token from `tsa` over that checkpoint, and the bag resealed. Returns the
/// new bundle.
fn resign_with_capture_time(
    archive: &Path,
    tsa: &LocalTsa,
    bundle: &Path,
    work: &Path,
    captured_at: &str,
) -> PathBuf {
    let key = exhibit_sign::SigningKey::load(&archive.join("keys/signing.pem")).unwrap();
    let x = work.join(format!("x-{captured_at}"));
    let bag = extract_bag(bundle, &x);
    let m_path = bag.join("exhibit/manifests/EX-C-000001.json");
    let text = std::fs::read_to_string(&m_path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let old = manifest["captured_at"].as_str().unwrap().to_owned();
    assert_eq!(old.len(), captured_at.len(), "{old} → {captured_at}");
    let text = text.replace(&format!("\"{old}\""), &format!("\"{captured_at}\""));
    manifest = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["captured_at"], captured_at);
    std::fs::write(&m_path, &text).unwrap();
    std::fs::write(
        bag.join("exhibit/manifests/EX-C-000001.json.sig"),
        key.sign(text.as_bytes()).to_bytes(),
    )
    .unwrap();
    let origin = manifest["origin"].as_str().unwrap();
    let checkpoint = exhibit_core::checkpoint::Checkpoint {
        origin: origin.to_owned(),
        size: 1,
        root: exhibit_core::merkle::leaf_hash(text.as_bytes()),
        extensions: Vec::new(),
    };
    let note = exhibit_sign::note::sign_note(&checkpoint.to_text(), origin, &key).unwrap();
    let proof = exhibit_core::checkpoint::TlogProof {
        extra: None,
        index: 0,
        proof: Vec::new(),
        checkpoint: note.clone(),
    };
    std::fs::write(
        bag.join("exhibit/proofs/EX-C-000001.tlog-proof"),
        proof.to_text(),
    )
    .unwrap();
    std::fs::write(bag.join("exhibit/checkpoint"), &note).unwrap();
    std::fs::write(
        bag.join("exhibit/checkpoint.tsr"),
        tsa.stamp(note.as_bytes()),
    )
    .unwrap();
    // The report states the old records: a forger who re-signs them drops it (a report that
    // no longer matches its records fails check 14, which is not what this test is about).
    for report in ["exhibit/report.pdf", "exhibit/report.html"] {
        std::fs::remove_file(bag.join(report)).unwrap();
    }
    // Reseal: every tag file listed with its new hash, the list signed.
    let tag_manifest = bag.join("tagmanifest-sha256.txt");
    let listed: String = std::fs::read_to_string(&tag_manifest)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with("  exhibit/report.pdf") && !l.ends_with("  exhibit/report.html"))
        .map(|l| {
            let (_, path) = l.split_once("  ").unwrap();
            let bytes = std::fs::read(bag.join(path)).unwrap();
            format!("{}  {path}\n", sha256_hex(&bytes))
        })
        .collect();
    std::fs::write(&tag_manifest, &listed).unwrap();
    std::fs::write(
        bag.join("tagmanifest-sha256.txt.sig"),
        key.sign(listed.as_bytes()).to_bytes(),
    )
    .unwrap();
    let out = work.join(format!("resigned-{}.tar.zst", &captured_at[..4]));
    tar_up(&x, &file_name(&bag), &out);
    out
}

#[test]
fn a_capture_time_later_than_a_trusted_timestamp_over_its_checkpoint_fails() {
    if !tools_for_bundles() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &["--tsa", &tsa.url()]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let bundle = dir.path().join("evidence.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let ca = tsa.ca_pem();
    let ca = ca.to_str().unwrap();

    // The control: re-signed with its true capture time, the bundle verifies, so what fails
    // below is the time and nothing else.
    let m = json_lines(&exhibit(&archive, &["--json", "show", "EX-C-000001"]))[0]["manifest"]
        ["captured_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let honest = resign_with_capture_time(&archive, &tsa, &bundle, dir.path(), &m);
    for (tool, out) in verifiers(&archive, &honest, &["--tsa-ca", ca]) {
        assert_eq!(code(&out), 0, "{tool}: control\n{}", show(&out));
    }

    // The signer claims 2030; the TSA says the checkpoint holding the record existed in 2026.
    let future = format!("2030{}", &m[4..]);
    let forged = resign_with_capture_time(&archive, &tsa, &bundle, dir.path(), &future);
    for (tool, out) in verifiers(&archive, &forged, &["--tsa-ca", ca]) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            code(&out),
            1,
            "{tool}: a capture after its timestamp\n{}",
            show(&out)
        );
        assert!(
            text.contains("FAIL  EX-C-000001") && text.contains("claimed at 2030"),
            "{tool}: says which record and why\n{text}"
        );
    }
}

/// A clock four years fast for one command: an `LD_PRELOAD` shim (compiled here with `cc`)
/// that adds `FAKE_OFFSET` seconds to the real-time clock. It lets a test make the archive
/// sign a capture time the TSA later contradicts, as a dishonest or misconfigured host would.
fn fast_clock(dir: &Path) -> Option<PathBuf> {
    if !have("cc") {
        return None;
    }
    let src = dir.join("fast_clock.c");
    std::fs::write(
        &src,
        r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
static long offset(void) { const char *s = getenv("FAKE_OFFSET"); return s ? atol(s) : 0; }
int clock_gettime(clockid_t c, struct timespec *ts) {
  static int (*real)(clockid_t, struct timespec *) = 0;
  if (!real) real = dlsym(RTLD_NEXT, "clock_gettime");
  int r = real(c, ts);
  if (r == 0 && (c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE)) ts->tv_sec += offset();
  return r;
}
time_t time(time_t *t) {
  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); if (t) *t = ts.tv_sec; return ts.tv_sec;
}
int gettimeofday(struct timeval *tv, void *tz) {
  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
  if (tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
  return 0;
}
"#,
    )
    .unwrap();
    let so = dir.join("fast_clock.so");
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src)
        .arg("-ldl")
        .status()
        .unwrap();
    assert!(status.success(), "cc could not build the clock shim");
    Some(so)
}

/// Time order on the archive side (found by attacking the fixed build; the bundle side is
/// `a_capture_time_later_than_a_trusted_timestamp_over_its_checkpoint_fails`): a capture that
/// claims 2030, in a checkpoint the archive's own TSA (with its CA configured) stamped in 2026,
/// fails `exhibit verify --citation`, and the report says why.
#[test]
fn a_citation_of_a_capture_claimed_after_its_trusted_timestamp_fails_against_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let Some(shim) = fast_clock(dir.path()) else {
        return;
    };
    let Some(tsa) = LocalTsa::start(&dir.path().join("tsa")) else {
        return;
    };
    let archive = init_with(dir.path(), &[]);
    ok(&capture_doc(dir.path(), &archive, 0));
    let f = dir.path().join("doc1.txt");
    std::fs::write(&f, "Terms of service, revision 1.\n").unwrap();
    let fast = assert_cmd::Command::cargo_bin("exhibit")
        .unwrap()
        .arg("--archive")
        .arg(&archive)
        .args(["capture", f.to_str().unwrap()])
        .env("LD_PRELOAD", &shim)
        .env("FAKE_OFFSET", (4 * 365 * 86_400).to_string())
        .output()
        .unwrap();
    ok(&fast);
    ok(&capture_doc(dir.path(), &archive, 2));
    let ca = tsa.ca_pem();
    ok(&exhibit(
        &archive,
        &["tsa", "add", &tsa.url(), "--ca", ca.to_str().unwrap()],
    ));
    ok(&exhibit(&archive, &["log", "timestamp"]));
    // `cite` refuses to render a citation of a record whose claimed time is false.
    let out = exhibit(&archive, &["cite", "EX-C-000002"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(
        all_output(&out).contains("Time order"),
        "cite says why\n{}",
        show(&out)
    );
    // A citation as a filing would state it, checked against the archive.
    for (id, want) in [("EX-C-000001", 3), ("EX-C-000003", 3), ("EX-C-000002", 1)] {
        let m = json_lines(&exhibit(&archive, &["--json", "show", id]))[0]["manifest"].clone();
        let citation = dir.path().join(format!("{id}.txt"));
        std::fs::write(
            &citation,
            format!(
                "Record ID: {id}\nCaptured: {}\nSHA-256: {}\n",
                m["captured_at"].as_str().unwrap(),
                m["content"]["sha256"].as_str().unwrap()
            ),
        )
        .unwrap();
        let out = exhibit(
            &archive,
            &["verify", "--citation", citation.to_str().unwrap()],
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // 3: every check holds but the citation pins no key; 1: the time order fails.
        assert_eq!(code(&out), want, "{id}\n{}", show(&out));
        assert!(
            text.contains("Time order"),
            "{id}: the check is listed\n{text}"
        );
        if want == 1 {
            assert!(
                text.contains("after the checkpoint of size 3 that includes it existed"),
                "{id}: says why\n{text}"
            );
        }
    }
}
