//! Parsing and verifying real tokens made by `openssl ts -reply` (see `tests/fixtures/make.sh`).

mod common;

use common::{ALL, GOOD, Rng, anchors, data, find, fixture, tlv};
use exhibit_timestamp::{
    Accuracy, MAX_RESPONSE_BYTES, Request, TimestampError, Token, TrustAnchors, verify,
};
use sha2::{Digest, Sha256, Sha384};

fn parse(name: &str) -> Token {
    Token::parse_response(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sha256(message: &[u8]) -> [u8; 32] {
    Sha256::digest(message).into()
}

const EC_TSA: &str = "CN=Exhibit Test TSA (EC),O=Exhibit Test,C=XX";
const ROOT: &str = "CN=Exhibit Test Root CA,O=Exhibit Test,C=XX";

#[test]
fn ec_token_parses_and_verifies() {
    let token = parse("ec.tsr");
    let info = token.info();
    assert_eq!(info.hash_algorithm, "sha256");
    assert_eq!(info.imprint, sha256(&data()));
    assert_eq!(info.policy, "1.2.3.4.1");
    assert_eq!(info.tsa_name.as_deref(), Some(EC_TSA));
    assert_eq!(info.signer, EC_TSA);
    assert_eq!(
        info.accuracy,
        Some(Accuracy {
            seconds: 1,
            millis: 500,
            micros: 100
        })
    );
    assert!(
        info.nonce
            .as_ref()
            .is_some_and(|n| !n.is_empty() && n[0] != 0)
    );
    assert!(!info.serial.is_empty());
    assert_eq!(token.status(), 0);
    token.check_message(&data()).unwrap();
    token.verify_signature().unwrap();
    let chain = token.verify_chain(&anchors("ca.pem")).unwrap();
    assert_eq!(chain.anchor, ROOT);
    assert_eq!(chain.length, 2);
    assert!(
        token
            .signer_certificate_pem()
            .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
    );
    assert_eq!(token.response_der(), fixture("ec.tsr"));
}

#[test]
fn gen_time_has_the_fraction_and_matches_unix_seconds() {
    // clock_precision_digits = 3 in tsa.cnf: a fraction of up to 3 digits (trailing zeros are
    // dropped by OpenSSL, and a whole second has no fraction at all).
    let info = parse("ec.tsr").info().clone();
    let t = &info.gen_time;
    let bytes = t.as_bytes();
    assert!(t.len() >= 20 && t.len() <= 24 && t.ends_with('Z'), "{t}");
    assert_eq!(
        (bytes[4], bytes[7], bytes[10], bytes[13], bytes[16]),
        (b'-', b'-', b'T', b':', b':')
    );
    let num = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, mo, d, h, mi, s) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    );
    // Days from civil (independent of the crate's implementation: count the days).
    let mut days = 0i64;
    for year in 1970..y {
        days += if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
            366
        } else {
            365
        };
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += months[..(mo - 1) as usize].iter().sum::<i64>() + d - 1;
    assert_eq!(info.gen_time_unix, days * 86400 + h * 3600 + mi * 60 + s);
    // Made by make.sh: after 2025, before the certificates expire.
    assert!(info.gen_time_unix > 1_735_689_600);
    // No fraction in the RSA section (clock_precision_digits unset).
    let rsa = parse("rsa.tsr");
    assert_eq!(rsa.info().gen_time.len(), 20, "{}", rsa.info().gen_time);
}

#[test]
fn rsa_token_chains_through_the_intermediate() {
    let token = parse("rsa.tsr");
    assert_eq!(
        token.info().signer,
        "CN=Exhibit Test TSA (RSA),O=Exhibit Test,C=XX"
    );
    assert_eq!(
        token.info().accuracy.map(|a| a.to_string()).as_deref(),
        Some("±0.25 s")
    );
    let (_, chain) = verify(&fixture("rsa.tsr"), &data(), Some(&anchors("ca.pem"))).unwrap();
    let chain = chain.unwrap();
    assert_eq!((chain.anchor.as_str(), chain.length), (ROOT, 3));
    assert_eq!(token.certificates_pem().len(), 2);
}

#[test]
fn ess_v1_and_sha512_imprint() {
    let token = parse("ec-essv1.tsr");
    assert_eq!(token.info().hash_algorithm, "sha512");
    assert_eq!(token.info().imprint.len(), 64);
    assert_eq!(token.info().tsa_name, None);
    assert_eq!(
        token.info().accuracy.map(|a| a.to_string()).as_deref(),
        Some("±2 s")
    );
    token.check_message(&data()).unwrap();
    token.verify_signature().unwrap();
    // check_request wants SHA-256.
    let request = Request {
        imprint: sha256(&data()),
        nonce: token.info().nonce.clone().unwrap(),
    };
    assert!(matches!(
        token.check_request(&request),
        Err(TimestampError::ImprintMismatch { .. })
    ));
}

#[test]
fn rsa_pss_token_signature_and_pss_signed_certificate() {
    verify(&fixture("pss.tsr"), &data(), Some(&anchors("ca.pem"))).unwrap();
    let (token, chain) = verify(
        &fixture("pss-cert.tsr"),
        &data(),
        Some(&anchors("anchors.pem")),
    )
    .unwrap();
    assert_eq!(
        chain.unwrap().anchor,
        "CN=Exhibit Test RSA Root CA,O=Exhibit Test,C=XX"
    );
    // The RSA root alone is not enough for the EC root's tokens, and vice versa.
    assert!(matches!(
        token.verify_chain(&anchors("ca.pem")),
        Err(TimestampError::Untrusted(_))
    ));
    assert!(matches!(
        parse("ec.tsr").verify_chain(&anchors("rsa-ca.pem")),
        Err(TimestampError::Untrusted(_))
    ));
}

#[test]
fn every_good_fixture_verifies_against_the_bundle() {
    let bundle = anchors("anchors.pem");
    for name in GOOD {
        verify(&fixture(name), &data(), Some(&bundle)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn wrong_message_is_an_imprint_mismatch() {
    let err = verify(&fixture("ec.tsr"), b"some other data\n", None).unwrap_err();
    match err {
        TimestampError::ImprintMismatch {
            algorithm,
            expected,
            found,
        } => {
            assert_eq!(algorithm, "sha256");
            assert_eq!(expected, hex::encode(sha256(b"some other data\n")));
            assert_eq!(found, hex::encode(sha256(&data())));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unrelated_ca_is_untrusted() {
    for name in GOOD {
        let err = parse(name)
            .verify_chain(&anchors("other-ca.pem"))
            .unwrap_err();
        match err {
            TimestampError::Untrusted(why) => {
                assert!(why.contains("CN="), "{name}: {why}");
                assert!(!why.contains('\n'), "{name}: {why}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn an_anchor_expired_at_gen_time_is_untrusted() {
    // Same subject and key as ca.pem, valid only in 2000.
    match parse("ec.tsr").verify_chain(&anchors("ca-expired.pem")) {
        Err(TimestampError::Untrusted(why)) => {
            assert!(why.contains("expired at genTime"), "{why}");
            assert!(why.contains("CN=Exhibit Test Root CA"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // With the valid one next to it, the path is found.
    let mut pem = fixture("ca-expired.pem");
    pem.extend(fixture("ca.pem"));
    let chain = parse("ec.tsr")
        .verify_chain(&TrustAnchors::from_pem(&pem).unwrap())
        .unwrap();
    assert_eq!(chain.length, 2);
}

#[test]
fn untrusted_messages_name_the_certificate() {
    match parse("rsa.tsr").verify_chain(&anchors("other-ca.pem")) {
        Err(TimestampError::Untrusted(why)) => assert_eq!(
            why,
            "CN=Exhibit Test Intermediate CA,O=Exhibit Test,C=XX: no issuer certificate \
             (CN=Exhibit Test Root CA,O=Exhibit Test,C=XX) among the token's certificates and \
             the trust anchors"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_tsa_certificate_itself_can_be_the_anchor() {
    let token = parse("ec.tsr");
    let pem = token.signer_certificate_pem().unwrap();
    let chain = token
        .verify_chain(&TrustAnchors::from_pem(pem.as_bytes()).unwrap())
        .unwrap();
    assert_eq!((chain.anchor.as_str(), chain.length), (EC_TSA, 1));
}

#[test]
fn an_intermediate_as_anchor_is_enough() {
    let chain = parse("rsa.tsr")
        .verify_chain(&anchors("inter.pem"))
        .unwrap();
    assert_eq!(chain.length, 2);
    assert_eq!(
        chain.anchor,
        "CN=Exhibit Test Intermediate CA,O=Exhibit Test,C=XX"
    );
}

#[test]
fn a_non_ca_certificate_cannot_issue() {
    // tsa-ec.pem as anchor for the RSA TSA's chain: wrong issuer name, so no path.
    let err = parse("rsa.tsr")
        .verify_chain(&anchors("tsa-ec.pem"))
        .unwrap_err();
    assert!(matches!(err, TimestampError::Untrusted(_)), "{err:?}");
}

#[test]
fn token_without_certificates_fails_clearly() {
    let token = parse("nocert.tsr");
    token.check_message(&data()).unwrap();
    assert!(
        token
            .info()
            .signer
            .starts_with("(certificate not in token; issuer CN=Exhibit Test Root CA")
    );
    match token.verify_signature() {
        Err(TimestampError::BadSignature(why)) => {
            assert!(
                why.contains("does not carry the signer's certificate"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        token.verify_chain(&anchors("ca.pem")),
        Err(TimestampError::Untrusted(_))
    ));
}

#[test]
fn non_critical_eku_is_not_a_tsa_certificate() {
    let token = parse("noncrit.tsr");
    token.check_message(&data()).unwrap();
    match token.verify_signature() {
        Err(TimestampError::NotTimestampingCert(why)) => assert!(why.contains("critical"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejection_is_not_granted() {
    match Token::parse_response(&fixture("rejected.tsr")) {
        Err(TimestampError::NotGranted { status, text }) => {
            assert_eq!(status, 2);
            assert!(text.unwrap().contains("digest"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_request_compares_imprint_and_nonce_values() {
    let token = parse("ec.tsr");
    let nonce = token.info().nonce.clone().unwrap();
    let mut request = Request {
        imprint: sha256(&data()),
        nonce: nonce.clone(),
    };
    token.check_request(&request).unwrap();
    // Our request, byte for byte what `openssl ts -query -sha256 -cert` sent.
    assert_eq!(request.to_der(), fixture("query.tsq"));
    // Leading zeros do not change the value.
    request.nonce.insert(0, 0);
    token.check_request(&request).unwrap();
    let mut other = nonce.clone();
    *other.last_mut().unwrap() ^= 1;
    request.nonce = other;
    assert!(matches!(
        token.check_request(&request),
        Err(TimestampError::NonceMismatch)
    ));
    request.nonce = nonce;
    request.imprint[0] ^= 1;
    assert!(matches!(
        token.check_request(&request),
        Err(TimestampError::ImprintMismatch { .. })
    ));
    // No nonce in the token.
    let request = Request {
        imprint: sha256(&data()),
        nonce: vec![1],
    };
    assert!(matches!(
        parse("nononce.tsr").check_request(&request),
        Err(TimestampError::NonceMismatch)
    ));
}

#[test]
fn requests_are_fresh_and_well_formed() {
    let a = Request::new(b"x").unwrap();
    let b = Request::new(b"x").unwrap();
    assert_eq!(a.imprint, b.imprint);
    assert_ne!(a.nonce, b.nonce);
    for _ in 0..200 {
        let r = Request::new(b"x").unwrap();
        assert!(!r.nonce.is_empty() && r.nonce.len() <= 8 && r.nonce[0] != 0);
        let der = r.to_der();
        // Same layout as openssl's query: only the nonce differs.
        let query = fixture("query.tsq");
        assert_eq!(der[2..21], query[2..21]);
        assert_eq!(&der[der.len() - 3..], &[0x01, 0x01, 0xff]);
    }
}

#[test]
fn accuracy_display() {
    let a = |seconds, millis, micros| {
        Accuracy {
            seconds,
            millis,
            micros,
        }
        .to_string()
    };
    assert_eq!(a(1, 0, 0), "±1 s");
    assert_eq!(a(0, 500, 0), "±0.5 s");
    assert_eq!(a(1, 250, 0), "±1.25 s");
    assert_eq!(a(1, 500, 100), "±1.5001 s");
    assert_eq!(a(0, 0, 1), "±0.000001 s");
    assert_eq!(a(0, 0, 0), "±0 s");
}

#[test]
fn trust_anchor_bundles() {
    let bundle = anchors("anchors.pem");
    assert_eq!(
        bundle.subjects(),
        vec![
            ROOT.to_string(),
            "CN=Exhibit Test RSA Root CA,O=Exhibit Test,C=XX".to_string()
        ]
    );
    assert_eq!(bundle.len(), 2);
    for bad in [
        &b""[..],
        b"subject=CN=x\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        assert!(matches!(
            TrustAnchors::from_pem(bad),
            Err(TimestampError::Malformed(_))
        ));
    }
    // A block without its END line.
    let mut pem = fixture("ca.pem");
    pem.truncate(pem.len() - 10);
    assert!(TrustAnchors::from_pem(&pem).is_err());
    // A private key is not a certificate and is skipped; the certificate after it is read.
    let mut mixed = fixture("ca.key");
    mixed.extend(fixture("other-ca.pem"));
    assert_eq!(TrustAnchors::from_pem(&mixed).unwrap().len(), 1);
}

#[test]
fn garbage_is_malformed() {
    let big = vec![0x30; MAX_RESPONSE_BYTES + 1];
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"hello".to_vec(),
        vec![0x30, 0x00],
        vec![0x30, 0x80, 0x00, 0x00],
        fixture("query.tsq"),
        fixture("ca.pem"),
        fixture("data.txt"),
        big,
    ];
    for input in inputs {
        match Token::parse_response(&input) {
            Err(TimestampError::Malformed(_)) => {}
            other => panic!("{:?}: {other:?}", &input[..input.len().min(16)]),
        }
    }
    // Trailing bytes.
    let mut trailing = fixture("ec.tsr");
    trailing.push(0);
    assert!(matches!(
        Token::parse_response(&trailing),
        Err(TimestampError::Malformed(_))
    ));
}

#[test]
fn a_granted_status_without_a_token_or_with_a_bad_status() {
    let status = |n: u8| tlv(0x30, &[0x02, 0x01, n]);
    assert!(matches!(
        Token::parse_response(&tlv(0x30, &status(0))),
        Err(TimestampError::Malformed(_))
    ));
    assert!(matches!(
        Token::parse_response(&tlv(0x30, &status(5))),
        Err(TimestampError::NotGranted {
            status: 5,
            text: None
        })
    ));
    // Negative status.
    assert!(matches!(
        Token::parse_response(&tlv(0x30, &status(0xff))),
        Err(TimestampError::Malformed(_))
    ));
}

#[test]
fn every_truncation_is_malformed() {
    for name in ALL {
        let bytes = fixture(name);
        for len in 0..bytes.len() {
            match Token::parse_response(&bytes[..len]) {
                Err(TimestampError::Malformed(_)) => {}
                other => panic!("{name} cut at {len}: {other:?}"),
            }
        }
    }
}

/// Runs every check on `bytes`; returns whether all passed.
fn verifies(bytes: &[u8], bundle: &TrustAnchors) -> Option<Token> {
    let token = Token::parse_response(bytes).ok()?;
    let _ = token.info().to_owned();
    let _ = token.check_request(&Request {
        imprint: [0; 32],
        nonce: vec![1],
    });
    token.check_message(&data()).ok()?;
    token.verify_signature().ok()?;
    token.verify_chain(bundle).ok()?;
    Some(token)
}

#[test]
fn tampering_is_detected() {
    let bundle = anchors("anchors.pem");
    for name in ["ec.tsr", "rsa.tsr", "pss.tsr"] {
        let original = fixture(name);
        let token = parse(name);
        let tst = token.tst_info_der().to_vec();
        let tst_at = find(&original, &tst).unwrap();
        // genTime is at the same offset in every TSTInfo of this shape; flip a digit of it,
        // and a byte of the imprint.
        let gen_at = find(&tst, &[0x18]).unwrap();
        for offset in [tst_at + gen_at + 5, tst_at + tst.len() - 1, tst_at + 40] {
            let mut bad = original.clone();
            bad[offset] ^= 0x01;
            assert!(
                verifies(&bad, &bundle).is_none(),
                "{name}: TSTInfo byte {offset}"
            );
        }
        // The message-digest attribute's value (SHA-256 for EC and PSS, SHA-384 for RSA).
        let digests = [Sha256::digest(&tst).to_vec(), Sha384::digest(&tst).to_vec()];
        let at = digests.iter().find_map(|d| find(&original, d)).unwrap();
        let mut bad = original.clone();
        bad[at + 3] ^= 0x80;
        assert!(verifies(&bad, &bundle).is_none(), "{name}: message digest");
        // Another signed attribute: the ESS certificate hash (SHA-256 of the signer cert).
        let cert = token.signer_certificate_der().unwrap();
        let at = find(&original, &Sha256::digest(&cert)).unwrap();
        let mut bad = original.clone();
        bad[at] ^= 0x01;
        match Token::parse_response(&bad).and_then(|t| t.verify_signature()) {
            Err(TimestampError::BadSignature(why)) => {
                assert!(why.contains("signing-certificate"), "{why}")
            }
            other => panic!("{name}: ESS hash: {other:?}"),
        }
        // The signature: the SignerInfo is last, and its signature last in it.
        let mut bad = original.clone();
        let last = bad.len() - 2;
        bad[last] ^= 0x10;
        let err = Token::parse_response(&bad)
            .and_then(|t| t.verify_signature())
            .unwrap_err();
        assert!(
            matches!(err, TimestampError::BadSignature(_)),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn random_byte_flips_never_panic_and_never_change_the_signed_content() {
    let bundle = anchors("anchors.pem");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for name in ALL {
        let original = fixture(name);
        let reference = Token::parse_response(&original).ok();
        for _ in 0..600 {
            let mut bytes = original.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            if let Some(token) = verifies(&bytes, &bundle) {
                // Only unsigned parts may have changed.
                let reference = reference.as_ref().expect("a verifying flip of a bad token");
                assert!(GOOD.contains(&name), "{name} verified after a flip");
                assert_eq!(token.tst_info_der(), reference.tst_info_der(), "{name}");
                assert_eq!(token.info().signer, reference.info().signer, "{name}");
            }
        }
    }
}

#[test]
fn structural_mutations_never_panic() {
    // Lengths made huge, tags swapped, bytes deleted and inserted.
    let bundle = anchors("anchors.pem");
    let mut rng = Rng(42);
    for name in ALL {
        let original = fixture(name);
        for _ in 0..300 {
            let mut bytes = original.clone();
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, rng.next() as u8),
                2 => bytes[at] = [0x80, 0x84, 0xff, 0x00, 0x30, 0x31, 0xa0][rng.below(7)],
                _ => bytes.truncate(at),
            }
            let _ = verifies(&bytes, &bundle);
        }
    }
}

/// Review finding: a token may carry, in its (unsigned) certificate set, a self-made copy of
/// the trust anchor — same subject and key, other validity dates, signed by anyone. It must not
/// stand in for the anchor: here the real root expired in 2021, before the token's genTime, so
/// both the token that carries the real root and the ones carrying a forged copy (made by a TSA
/// configured with it, or swapped in after the fact) are untrusted. Fixtures from
/// `anchor-copy/` (made by the reviewer with openssl; the keys are not kept).
#[test]
fn a_forged_copy_of_the_anchor_in_the_token_does_not_replace_the_anchor() {
    let data = fixture("anchor-copy/data.txt");
    let root = anchors("anchor-copy/root.pem");
    for name in ["tok-root.tsr", "tok-fake.tsr", "tok-swapped.tsr"] {
        let token = parse(&format!("anchor-copy/{name}"));
        token.check_message(&data).unwrap();
        token.verify_signature().unwrap();
        let e = token.verify_chain(&root).unwrap_err().to_string();
        assert!(e.starts_with("untrusted:"), "{name}: {e}");
        if name == "tok-root.tsr" {
            assert!(e.contains("expired at genTime"), "{name}: {e}");
        }
    }
    // Trusting the forged copy itself is the user's choice, and then it is the anchor.
    let fake = anchors("anchor-copy/fakeroot.pem");
    parse("anchor-copy/tok-fake.tsr")
        .verify_chain(&fake)
        .unwrap();
}
