//! Checks 4 and 5: the bundle's public keys, and the seal (the signature over the tag manifest
//! that, through it, covers every tag file).
//!
//! Not for whether a key is trusted: that is check 13, against the keys the caller pinned.

use std::collections::BTreeMap;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{self, SEAL};
use exhibit_sign::PublicKey;

use crate::report::Checks;

/// Check 4, the keys: it proves that each file under `exhibit/keys/` is an Ed25519 SPKI PEM
/// public key named by its own fingerprint. Returns the keys that passed, by fingerprint: only
/// they are used to check signatures.
pub(super) fn check_keys(c: &mut Checks, bag: &ReadBag) -> BTreeMap<String, PublicKey> {
    let mut keys: BTreeMap<String, PublicKey> = BTreeMap::new();
    for (path, f) in bag
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("exhibit/keys/") && !p.starts_with(layout::KEY_HISTORY_DIR))
    {
        let text = String::from_utf8_lossy(f.bytes.as_deref().unwrap_or_default()).into_owned();
        match PublicKey::from_spki_pem(&text) {
            Ok(k) => {
                let fp = k.fingerprint().to_string();
                if c.check(
                    layout::key_path(&fp) == *path,
                    path,
                    "is named by its fingerprint",
                    layout::key_path(&fp),
                    path.clone(),
                ) {
                    keys.insert(fp, k);
                }
            }
            Err(e) => c.fail(
                path,
                "is an Ed25519 SPKI PEM public key",
                "a public key",
                e.to_string(),
            ),
        }
    }
    keys
}

/// Check 5, the seal: it proves that the tag manifest (and so, by check 3, every tag file) is
/// signed by one of the bundle's keys. Returns that key's fingerprint, if one verifies.
pub(super) fn check_seal(
    c: &mut Checks,
    keys: &BTreeMap<String, PublicKey>,
    tag_manifest: &[u8],
    seal: &[u8],
) -> Option<String> {
    let mut sealed_by = None;
    for (fp, k) in keys {
        if k.verify(tag_manifest, seal).is_ok() {
            sealed_by = Some(fp.clone());
            break;
        }
    }
    match &sealed_by {
        Some(fp) => c.pass(SEAL, &format!("seal verifies (signed by {fp})")),
        None => c.fail(
            SEAL,
            "seal verifies with a key in exhibit/keys/",
            "an Ed25519 signature over tagmanifest-sha256.txt",
            "no key in the bundle verifies it",
        ),
    }
    sealed_by
}
