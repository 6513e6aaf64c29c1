//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use exhibit_timestamp::TrustAnchors;

/// The fixtures directory (see `tests/fixtures/make.sh`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `data.txt`, the stamped message.
pub fn data() -> Vec<u8> {
    fixture("data.txt")
}

/// Trust anchors from a fixture PEM file.
pub fn anchors(name: &str) -> TrustAnchors {
    TrustAnchors::from_pem(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every granted `.tsr` fixture whose token fully verifies against `anchors.pem`.
pub const GOOD: [&str; 6] = [
    "ec.tsr",
    "rsa.tsr",
    "ec-essv1.tsr",
    "nononce.tsr",
    "pss.tsr",
    "pss-cert.tsr",
];

/// Every `.tsr` fixture.
pub const ALL: [&str; 9] = [
    "ec.tsr",
    "rsa.tsr",
    "ec-essv1.tsr",
    "nononce.tsr",
    "pss.tsr",
    "pss-cert.tsr",
    "nocert.tsr",
    "noncrit.tsr",
    "rejected.tsr",
];

/// Whether the `openssl` CLI can be used. Without it the calling test is skipped with a message,
/// unless `EXHIBIT_REQUIRE_TOOLS` is set, in which case it fails.
pub fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("EXHIBIT_REQUIRE_TOOLS").is_some() {
            panic!("openssl is required (EXHIBIT_REQUIRE_TOOLS is set) but cannot be run");
        }
        eprintln!("skipped: the openssl CLI is not available");
    }
    ok
}

/// A DER TLV (lengths up to 64 KiB).
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
