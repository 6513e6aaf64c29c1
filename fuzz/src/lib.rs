//! Shared pieces of exhibit's fuzz targets: the fuzz-only signing key the seed corpus is made
//! with (so that mutated seeds reach the code behind signature checks), and reference
//! implementations that the targets compare the library with.
//!
//! See `docs/FUZZING.md`.

use exhibit_sign::{PublicKey, SigningKey};

/// The log origin (and key name) of the archive `seeds.sh` builds.
pub const ORIGIN: &str = "fuzz.exhibit.invalid";

/// The fuzz-only Ed25519 key that signs every seed (PKCS#8 PEM). It protects nothing.
pub const KEY_PEM: &str = include_str!("../key.pem");

/// The signing key of [`KEY_PEM`].
pub fn signing_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(KEY_PEM).expect("fuzz/key.pem is a PKCS#8 Ed25519 key")
}

/// The public key of [`KEY_PEM`].
pub fn public_key() -> PublicKey {
    signing_key().public_key()
}

/// The root that `proof` leads to from `leaf` at `index` in a tree of `size` leaves, or `None`
/// if the path has the wrong length for that position: RFC 9162 §2.1.3.2 transcribed literally
/// from the RFC's pseudo-code (a deliberately different shape from
/// `exhibit_core::merkle::verify_inclusion`, which splits the path into inner and border parts).
/// The proof verifies iff this is `Some(root)`.
pub fn reference_root(
    leaf: &[u8; 32],
    index: u64,
    size: u64,
    proof: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = exhibit_core::merkle::node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = exhibit_core::merkle::node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}
