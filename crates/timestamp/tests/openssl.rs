//! Cross-checks with the real `openssl` CLI: our requests are valid TimeStampReqs, tokens made
//! for our requests pass `check_request`, and `openssl ts -verify` agrees with our verdicts.
//! Skipped (with a message) when openssl is missing, unless `EXHIBIT_REQUIRE_TOOLS` is set.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ALL, Rng, anchors, data, dir, fixture, have_openssl};
use exhibit_timestamp::{Request, TimestampError, Token, TrustAnchors, verify, verify_answer};

fn openssl(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

#[test]
fn openssl_reads_our_request() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for _ in 0..40 {
        let request = Request::new(&data()).unwrap();
        let file = tmp.path().join("req.tsq");
        std::fs::write(&file, request.to_der()).unwrap();
        let (ok, text) = openssl(&["ts", "-query", "-in", path(&file), "-text"], tmp.path());
        assert!(ok, "{text}");
        assert!(text.contains("Hash Algorithm: sha256"), "{text}");
        assert!(text.contains("Certificate required: yes"), "{text}");
        assert!(text.contains("Policy OID: unspecified"), "{text}");
        let nonce = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Nonce: 0x"))
            .unwrap_or_else(|| panic!("{text}"));
        let nonce = nonce.trim_start_matches('0').to_ascii_lowercase();
        assert_eq!(
            nonce,
            hex::encode(&request.nonce).trim_start_matches('0'),
            "{text}"
        );
    }
}

/// A `[tsa]` config with absolute paths to the fixture keys and a serial file in `tmp`.
fn tsa_config(tmp: &Path) -> std::path::PathBuf {
    let d = dir();
    let f = |n: &str| d.join(n).to_str().expect("UTF-8 fixture path").to_string();
    let serial = tmp.join("serial");
    std::fs::write(&serial, "1000\n").unwrap();
    let config = format!(
        "[tsa]\ndefault_tsa = tsa_ec\n\
         [tsa_ec]\nserial = {serial}\nsigner_cert = {ec}\nsigner_key = {eck}\n\
         signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
         ess_cert_id_alg = sha256\n\
         [tsa_rsa]\nserial = {serial}\nsigner_cert = {rsa}\ncerts = {inter}\nsigner_key = {rsak}\n\
         signer_digest = sha512\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
         ess_cert_id_alg = sha1\n",
        serial = path(&serial),
        ec = f("tsa-ec.pem"),
        eck = f("tsa-ec.key"),
        rsa = f("tsa-rsa.pem"),
        rsak = f("tsa-rsa.key"),
        inter = f("inter.pem"),
    );
    let file = tmp.join("tsa.cnf");
    std::fs::write(&file, config).unwrap();
    file
}

#[test]
fn openssl_answers_our_request() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = tsa_config(tmp.path());
    let ca = anchors("ca.pem");
    for section in ["tsa_ec", "tsa_rsa"] {
        for _ in 0..4 {
            let request = Request::new(&data()).unwrap();
            let query = tmp.path().join("req.tsq");
            let reply = tmp.path().join("resp.tsr");
            std::fs::write(&query, request.to_der()).unwrap();
            let (ok, text) = openssl(
                &[
                    "ts",
                    "-reply",
                    "-config",
                    path(&config),
                    "-section",
                    section,
                    "-queryfile",
                    path(&query),
                    "-out",
                    path(&reply),
                ],
                tmp.path(),
            );
            assert!(ok, "{text}");
            let bytes = std::fs::read(&reply).unwrap();
            let (token, chain) = verify(&bytes, &data(), Some(&ca)).unwrap();
            token.check_request(&request).unwrap();
            assert!(chain.is_some());
            // Another request's nonce does not match.
            let other = Request::new(&data()).unwrap();
            assert!(token.check_request(&other).is_err());
            // The checks a fresh answer gets before it is kept: the same, and the request's.
            verify_answer(&bytes, &request, &data(), Some(&ca)).unwrap();
            verify_answer(&bytes, &request, &data(), None).unwrap();
            assert!(matches!(
                verify_answer(&bytes, &other, &data(), Some(&ca)),
                Err(TimestampError::NonceMismatch)
            ));
            assert!(matches!(
                verify_answer(&bytes, &request, b"other data", None),
                Err(TimestampError::ImprintMismatch { .. })
            ));
        }
    }
}

/// `openssl ts -verify` on `response` with `ca_file`; the verdict.
fn openssl_verdict(tmp: &Path, response: &[u8], ca_file: &str) -> (bool, String) {
    let file = tmp.join("x.tsr");
    std::fs::write(&file, response).unwrap();
    let ca = dir().join(ca_file);
    let data = dir().join("data.txt");
    openssl(
        &[
            "ts",
            "-verify",
            "-data",
            path(&data),
            "-in",
            path(&file),
            "-CAfile",
            path(&ca),
        ],
        tmp,
    )
}

fn our_verdict(response: &[u8], anchors: &TrustAnchors) -> Result<(), String> {
    verify(response, &data(), Some(anchors))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks that are ours only: where `openssl ts -verify` accepts and we refuse, our reason must
/// be one of these. OpenSSL ignores the SignerInfo's signatureAlgorithm for EC keys (it goes by
/// the key type and the digestAlgorithm); we require a supported, consistent one.
const STRICTER: [&str; 2] = ["unsupported signature algorithm", "unexpected parameters"];

/// Our verdict on `response` against `ca_file` agrees with openssl's: we never accept what
/// openssl refuses, and refuse what it accepts only for a reason in [`STRICTER`]. Returns
/// whether we were stricter.
fn agree(tmp: &Path, what: &str, response: &[u8], ca_file: &str) -> bool {
    let ours = our_verdict(response, &anchors(ca_file));
    let (theirs, text) = openssl_verdict(tmp, response, ca_file);
    match (&ours, theirs) {
        (Ok(()), true) | (Err(_), false) => false,
        (Err(why), true) if STRICTER.iter().any(|s| why.contains(s)) => true,
        _ => panic!("{what} against {ca_file}: ours {ours:?}, openssl: {text}"),
    }
}

#[test]
fn openssl_ts_verify_agrees_on_the_fixtures() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // OpenSSL 3.0's PKCS#7 code (behind `ts -verify`) cannot verify RSA-PSS signatures, which
    // pss.tsr uses: its signature is cross-checked with `openssl cms` below. inter.pem is not
    // used as an anchor here: we accept an intermediate as trust anchor, `ts -verify` (no
    // -partial_chain) wants a self-signed root.
    for name in ALL {
        if name == "pss.tsr" {
            continue;
        }
        for ca in [
            "ca.pem",
            "other-ca.pem",
            "anchors.pem",
            "rsa-ca.pem",
            "ca-expired.pem",
        ] {
            assert!(!agree(tmp.path(), name, &fixture(name), ca), "{name} {ca}");
        }
    }
}

#[test]
fn openssl_ts_verify_agrees_on_tampered_tokens() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let mut accepted = 0;
    let mut stricter = 0;
    for name in ["ec.tsr", "rsa.tsr", "ec-essv1.tsr"] {
        let original = fixture(name);
        let token = Token::parse_response(&original).unwrap();
        // Flips inside the signed content and the SignerInfo (the tail of the response).
        let tst_at = common::find(&original, token.tst_info_der()).unwrap();
        for i in 0..40 {
            let mut bytes = original.clone();
            let at = if i % 2 == 0 {
                tst_at + rng.below(token.tst_info_der().len())
            } else {
                original.len() - 1 - rng.below(200)
            };
            bytes[at] ^= 1 << rng.below(8);
            if our_verdict(&bytes, &anchors("anchors.pem")).is_ok() {
                accepted += 1;
            }
            if agree(
                tmp.path(),
                &format!("{name} flipped at {at}"),
                &bytes,
                "anchors.pem",
            ) {
                stricter += 1;
            }
        }
    }
    assert!(accepted < 10, "{accepted} tampered tokens verified");
    eprintln!("{accepted} flips accepted by both, {stricter} refused only by us");
}

#[test]
fn openssl_cms_agrees_on_the_rsa_pss_signature() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let token = Token::parse_response(&fixture("pss.tsr")).unwrap();
    let file = tmp.path().join("token.p7");
    std::fs::write(&file, token.token_der()).unwrap();
    let ca = dir().join("ca.pem");
    let (ok, text) = openssl(
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            path(&file),
            "-CAfile",
            path(&ca),
            "-purpose",
            "any",
            "-binary",
            "-out",
            path(&tmp.path().join("tst.der")),
        ],
        tmp.path(),
    );
    assert!(ok, "{text}");
    assert_eq!(
        std::fs::read(tmp.path().join("tst.der")).unwrap(),
        token.tst_info_der()
    );
    token.verify_signature().unwrap();
}
