//! RFC 3161 time-stamp responses: `Token::parse_response`, the imprint, the CMS signature and
//! the certificate path, as `exhibit-verify --tsa-ca` checks a bundle's `.tsr` files.
//!
//! Properties: never panics; a parsed response keeps exactly the bytes it was given and
//! parses again from them; `timestamp::verify` agrees with the steps done one by one.
#![no_main]

use std::sync::OnceLock;

use exhibit_timestamp::{Token, TrustAnchors};
use libfuzzer_sys::fuzz_target;

/// The message the fixture tokens stamp.
const DATA: &[u8] = include_bytes!("../../crates/timestamp/tests/fixtures/data.txt");

fn anchors() -> &'static TrustAnchors {
    static ANCHORS: OnceLock<TrustAnchors> = OnceLock::new();
    ANCHORS.get_or_init(|| {
        let mut pem = Vec::new();
        for f in [
            &include_bytes!("../../crates/timestamp/tests/fixtures/ca.pem")[..],
            include_bytes!("../../crates/timestamp/tests/fixtures/rsa-ca.pem"),
            include_bytes!("../../crates/timestamp/tests/fixtures/anchors.pem"),
        ] {
            pem.extend_from_slice(f);
            pem.push(b'\n');
        }
        TrustAnchors::from_pem(&pem).expect("fixture CA certificates parse")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = Token::parse_response(data) else {
        let r = exhibit_timestamp::verify(data, DATA, Some(anchors()));
        assert!(r.is_err(), "verify accepts what parse_response refuses");
        return;
    };
    assert_eq!(token.response_der(), data);
    assert!(Token::parse_response(token.response_der()).is_ok());
    let _ = token.info();
    let _ = token.status();
    let _ = token.token_der();
    let _ = token.tst_info_der();
    let _ = token.signer_certificate_pem();
    let _ = token.certificates_pem();
    let imprint = token.check_message(DATA);
    let signature = token.verify_signature();
    let chain = token.verify_chain(anchors());
    let all = exhibit_timestamp::verify(data, DATA, Some(anchors()));
    assert_eq!(
        all.is_ok(),
        imprint.is_ok() && signature.is_ok() && chain.is_ok(),
        "timestamp::verify disagrees with its steps"
    );
});
