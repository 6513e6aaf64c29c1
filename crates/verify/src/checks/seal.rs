//! Checks 4 and 5: the bundle's public keys, and the seal (the signature over the tag manifest
//! that, through it, covers every tag file).
//!
//! Not for whether a key is trusted: that is check 13, against the keys the caller pinned.

use std::collections::BTreeMap;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{self, SEAL};
use exhibit_sign::PublicKey;
use exhibit_sign::history::KeyHistory;

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

/// Check 4 (continued), the key history: it proves that the statements under
/// `exhibit/keys/history/`, when the bundle has them, form one valid chain (docs/FORMAT.md
/// §2.1): each names the one before by its SHA-256, and each rotation is signed by the key it
/// retires and by the key it brings in, each revocation by the key current then. Returns the
/// followed history; `None` when the bundle has none (one key signed everything) or it fails.
pub(super) fn check_key_history(c: &mut Checks, bag: &ReadBag) -> Option<KeyHistory> {
    use exhibit_core::key_statement::{new_key_signature_file, signature_file, statement_file};
    use exhibit_sign::history::StoredStatement;
    let files: Vec<(&str, &[u8])> = bag
        .files
        .iter()
        .filter_map(|(p, f)| {
            let name = p.strip_prefix(layout::KEY_HISTORY_DIR)?;
            Some((name, f.bytes.as_deref().unwrap_or_default()))
        })
        .collect();
    if files.is_empty() {
        return None;
    }
    let get = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
    let count = files.iter().filter(|(n, _)| n.ends_with(".json")).count();
    let names: Vec<String> = (1..=count as u64)
        .map(|n| format!("{}{}", layout::KEY_HISTORY_DIR, statement_file(n)))
        .collect();
    let mut stored = Vec::with_capacity(count);
    for (i, name) in names.iter().enumerate() {
        let n = i as u64 + 1;
        let (Some(bytes), Some(signature)) = (get(&statement_file(n)), get(&signature_file(n)))
        else {
            c.fail(
                name,
                "is a statement of the key history with its signature",
                "statements numbered from 000001.json without a gap, each with its .sig",
                "missing",
            );
            return None;
        };
        stored.push(StoredStatement {
            name,
            bytes,
            signature,
            new_key_signature: get(&new_key_signature_file(n)),
        });
    }
    let what = "is one valid key history (each statement signed, chained, and a rotation signed by both keys)";
    match KeyHistory::follow(&bag_origin(bag), None, &stored) {
        Ok(h) => {
            c.pass(layout::KEY_HISTORY_DIR, what);
            Some(h)
        }
        Err(e) => {
            c.fail(
                layout::KEY_HISTORY_DIR,
                what,
                "a valid key history",
                e.to_string(),
            );
            None
        }
    }
}

/// The origin the bag's records state (the first manifest's; every record is checked to be
/// of it by check 7).
fn bag_origin(bag: &ReadBag) -> String {
    bag.files
        .iter()
        .filter(|(p, _)| p.starts_with("exhibit/manifests/") && p.ends_with(".json"))
        .find_map(|(_, f)| exhibit_core::AnyManifest::parse(f.bytes.as_deref()?).ok())
        .map(|m| m.origin().to_owned())
        .unwrap_or_default()
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
