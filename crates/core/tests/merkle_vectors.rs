//! Merkle tree tests: the transparency-dev/merkle RFC 6962 vectors, property tests against a
//! naive MTH and an independent (RFC-recursion) model of which claims a proof can satisfy,
//! large sparse trees, and a count of node reads at a million leaves.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use exhibit_core::merkle::{
    Hash, MemoryTree, NodeSource, append, consistency_proof, empty_root, inclusion_proof,
    leaf_hash, node_hash, range_hash, root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

// ---------------------------------------------------------------------------------------------
// Vectors
// ---------------------------------------------------------------------------------------------

/// Standard base64 (RFC 4648 §4) with optional padding; `None` on any other character.
fn b64(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[test]
fn base64_decoder() {
    assert_eq!(
        b64("ZG9uJ3QgY2FyZSAx").as_deref(),
        Some(&b"don't care 1"[..])
    );
    assert_eq!(b64("").as_deref(), Some(&b""[..]));
    assert_eq!(b64("YQ==").as_deref(), Some(&b"a"[..]));
    assert_eq!(b64("YWI=").as_deref(), Some(&b"ab"[..]));
    assert_eq!(
        b64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").map(hex::encode),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string())
    );
    assert_eq!(b64("a-b"), None);
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/merkle")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn load(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn field_u64(v: &serde_json::Value, name: &str, path: &Path) -> u64 {
    v.get(name)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("{}: missing integer {name}", path.display()))
}

fn field_bytes(v: &serde_json::Value, name: &str, path: &Path) -> Vec<u8> {
    let s = v
        .get(name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("{}: missing string {name}", path.display()));
    b64(s).unwrap_or_else(|| panic!("{}: {name} is not base64", path.display()))
}

/// The proof hashes as given (`null` is an empty proof), each as a [`Hash`] by [`as_hash`],
/// and whether every one of them was 32 bytes.
fn field_proof(v: &serde_json::Value, path: &Path) -> (Vec<Hash>, bool) {
    let items = match v.get("proof") {
        None | Some(serde_json::Value::Null) => return (Vec::new(), true),
        Some(serde_json::Value::Array(items)) => items,
        Some(other) => panic!("{}: proof is {other}", path.display()),
    };
    let mut well_formed = true;
    let hashes = items
        .iter()
        .map(|item| {
            let s = item
                .as_str()
                .unwrap_or_else(|| panic!("{}: proof item {item}", path.display()));
            let bytes =
                b64(s).unwrap_or_else(|| panic!("{}: proof item not base64", path.display()));
            well_formed &= bytes.len() == 32;
            as_hash(&bytes)
        })
        .collect();
    (hashes, well_formed)
}

fn want_err(v: &serde_json::Value, path: &Path) -> bool {
    v.get("wantErr")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or_else(|| panic!("{}: missing wantErr", path.display()))
}

/// A hash field given as bytes, as a [`Hash`]. A value of another length is mapped to a tagged
/// digest of its bytes: equal inputs stay equal, distinct inputs stay distinct, and none equals
/// a real tree hash (short of a SHA-256 collision). That is all the reference implementation
/// can do with such a root (it compares roots byte for byte), and it lets the verifier itself
/// judge the cases with a malformed leaf or proof hash, which the harness then also rejects.
fn as_hash(bytes: &[u8]) -> Hash {
    match Hash::try_from(bytes) {
        Ok(h) => h,
        Err(_) => {
            let mut d = Sha256::new();
            d.update(b"exhibit test: value that is not 32 bytes\0");
            d.update(bytes);
            d.finalize().into()
        }
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    valid: usize,
    /// Cases with a proof hash that is not 32 bytes: failed by the harness, after checking that
    /// the verifier rejects them on its own too.
    malformed: usize,
    /// Inclusion cases with a leaf hash that is not 32 bytes: failed by the harness alone.
    bad_leaf: usize,
}

#[test]
fn transparency_dev_vectors() {
    let dir = vectors_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIP: Merkle vectors not found at {} (see ../shared/vectors/README.md)",
            dir.display()
        );
        return;
    }

    let mut files = Vec::new();
    json_files(&dir.join("inclusion"), &mut files);
    let mut inc = Tally::default();
    let mut failures = Vec::new();
    for path in &files {
        let v = load(path);
        let index = field_u64(&v, "leafIdx", path);
        let size = field_u64(&v, "treeSize", path);
        let root_bytes = field_bytes(&v, "root", path);
        let leaf_bytes = field_bytes(&v, "leafHash", path);
        let want_err = want_err(&v, path);
        let (proof, proof_ok) = field_proof(&v, path);
        let verdict = match Hash::try_from(leaf_bytes.as_slice()) {
            // The reference rejects a leaf hash that is not 32 bytes before anything else; the
            // type of `verify_inclusion` cannot even express one.
            Err(_) => {
                inc.bad_leaf += 1;
                false
            }
            Ok(leaf) => {
                let ok =
                    verify_inclusion(&leaf, index, size, &proof, &as_hash(&root_bytes)).is_ok();
                if !proof_ok {
                    assert!(!ok, "{}: verifier accepts a malformed hash", path.display());
                    inc.malformed += 1;
                }
                ok && proof_ok
            }
        };
        inc.cases += 1;
        inc.valid += usize::from(verdict);
        if verdict == want_err {
            failures.push(format!("{}: verdict {verdict}", path.display()));
        }
    }

    let mut files = Vec::new();
    json_files(&dir.join("consistency"), &mut files);
    let mut con = Tally::default();
    for path in &files {
        let v = load(path);
        let size1 = field_u64(&v, "size1", path);
        let size2 = field_u64(&v, "size2", path);
        let root1 = as_hash(&field_bytes(&v, "root1", path));
        let root2 = as_hash(&field_bytes(&v, "root2", path));
        let want_err = want_err(&v, path);
        let (proof, proof_ok) = field_proof(&v, path);
        let ok = verify_consistency(size1, size2, &root1, &root2, &proof).is_ok();
        if !proof_ok {
            assert!(!ok, "{}: verifier accepts a malformed hash", path.display());
            con.malformed += 1;
        }
        let verdict = ok && proof_ok;
        con.cases += 1;
        con.valid += usize::from(verdict);
        if verdict == want_err {
            failures.push(format!("{}: verdict {verdict}", path.display()));
        }
    }

    eprintln!(
        "merkle vectors: inclusion {} cases ({} valid, {} with a malformed proof hash, {} with \
         a leaf hash that is not 32 bytes), consistency {} cases ({} valid, {} with a malformed \
         proof hash)",
        inc.cases, inc.valid, inc.malformed, inc.bad_leaf, con.cases, con.valid, con.malformed
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(inc.cases, 98, "inclusion vector count");
    assert_eq!(con.cases, 98, "consistency vector count");
    assert_eq!(inc.valid, 6, "valid inclusion vectors");
    assert_eq!(con.valid, 6, "valid consistency vectors");
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

/// RFC 6962 §2.1 MTH, straight from the definition.
fn naive_mth(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let mut k = 1;
            while k * 2 < leaves.len() {
                k *= 2;
            }
            let (l, r) = leaves.split_at(k);
            node_hash(&naive_mth(l), &naive_mth(r))
        }
    }
}

fn largest_pow2_below(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The shape of the RFC 6962 §2.1.1 PATH(index, D[size]), bottom-up: for each proof hash,
/// whether it sits to the left of the running hash. A verifier's computation is fixed by this
/// shape, so (short of a collision) a proof verifies for another (index, size) exactly when the
/// shapes agree.
fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
    if index >= size {
        return None;
    }
    let (mut lo, mut hi) = (0, size);
    let mut shape = Vec::new();
    while hi - lo > 1 {
        let k = largest_pow2_below(hi - lo);
        if index - lo < k {
            shape.push(false);
            hi = lo + k;
        } else {
            shape.push(true);
            lo += k;
        }
    }
    shape.reverse();
    Some(shape)
}

/// The shape of the RFC 6962 §2.1.2 PROOF(size1, D[size2]): whether the old root is the seed,
/// and bottom-up for each further hash whether it is to the left (part of the old tree). See
/// [`inclusion_shape`].
fn consistency_shape(size1: u64, size2: u64) -> Option<(bool, Vec<bool>)> {
    if size1 == 0 || size1 > size2 {
        return None;
    }
    let (mut lo, mut hi) = (0, size2);
    let mut complete = true;
    let mut shape = Vec::new();
    while size1 != hi {
        let k = largest_pow2_below(hi - lo);
        if size1 - lo <= k {
            shape.push(false);
            hi = lo + k;
        } else {
            shape.push(true);
            lo += k;
            complete = false;
        }
    }
    shape.reverse();
    Some((complete, shape))
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut out = *h;
    out[(bit / 8) % 32] ^= 1 << (bit % 8);
    out
}

/// Distinct leaf hashes (the index is part of the data), with random content.
fn build(data: &[Vec<u8>]) -> (MemoryTree, Vec<Hash>) {
    let mut tree = MemoryTree::new();
    let mut leaves = Vec::new();
    for (i, d) in data.iter().enumerate() {
        let mut bytes = (i as u64).to_be_bytes().to_vec();
        bytes.extend_from_slice(d);
        let leaf = leaf_hash(&bytes);
        leaves.push(leaf);
        tree.push(leaf);
    }
    (tree, leaves)
}

fn tree_root(size: u64, tree: &MemoryTree) -> Hash {
    root(size, tree).expect("root of a held size")
}

/// Checks one inclusion proof and its mutations.
fn check_inclusion(tree: &MemoryTree, leaves: &[Hash], index: u64, size: u64, bits: &[usize]) {
    let proof = inclusion_proof(index, size, tree).expect("inclusion proof");
    let r = tree_root(size, tree);
    let leaf = leaves[index as usize];
    assert_eq!(
        proof.len(),
        inclusion_shape(index, size).map_or(0, |s| s.len())
    );
    assert_eq!(verify_inclusion(&leaf, index, size, &proof, &r), Ok(()));

    // A flipped bit anywhere must fail.
    for (j, p) in proof.iter().enumerate() {
        for &bit in bits {
            let mut bad = proof.clone();
            bad[j] = flip(p, bit);
            assert!(verify_inclusion(&leaf, index, size, &bad, &r).is_err());
        }
    }
    for &bit in bits {
        assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&r, bit)).is_err());
        assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &r).is_err());
    }
    // Truncated and extended proofs fail.
    if let Some((_, shorter)) = proof.split_last() {
        assert!(verify_inclusion(&leaf, index, size, shorter, &r).is_err());
    }
    let mut longer = proof.clone();
    longer.push(r);
    assert!(verify_inclusion(&leaf, index, size, &longer, &r).is_err());

    // Another index or size verifies exactly when the verifier would do the same computation.
    let base = inclusion_shape(index, size);
    let claims = [
        (index.wrapping_add(1), size),
        (index.wrapping_sub(1), size),
        (index, size + 1),
        (index, size - 1),
    ];
    for (i2, s2) in claims {
        let ok = verify_inclusion(&leaf, i2, s2, &proof, &r).is_ok();
        assert_eq!(
            ok,
            inclusion_shape(i2, s2) == base,
            "proof for {index}/{size} checked as {i2}/{s2}"
        );
    }
}

fn check_consistency(tree: &MemoryTree, size1: u64, size2: u64, bits: &[usize]) {
    let proof = consistency_proof(size1, size2, tree).expect("consistency proof");
    let r1 = tree_root(size1, tree);
    let r2 = tree_root(size2, tree);
    assert_eq!(verify_consistency(size1, size2, &r1, &r2, &proof), Ok(()));
    if size1 == size2 {
        assert!(proof.is_empty());
    } else {
        assert!(verify_consistency(size1, size2, &r2, &r1, &proof).is_err());
        assert!(verify_consistency(size1, size2, &r1, &r2, &[]).is_err());
    }

    for (j, p) in proof.iter().enumerate() {
        for &bit in bits {
            let mut bad = proof.clone();
            bad[j] = flip(p, bit);
            assert!(verify_consistency(size1, size2, &r1, &r2, &bad).is_err());
        }
    }
    for &bit in bits {
        assert!(verify_consistency(size1, size2, &flip(&r1, bit), &r2, &proof).is_err());
        assert!(verify_consistency(size1, size2, &r1, &flip(&r2, bit), &proof).is_err());
    }
    if let Some((_, shorter)) = proof.split_last() {
        assert!(verify_consistency(size1, size2, &r1, &r2, shorter).is_err());
    }
    let mut longer = proof.clone();
    longer.push(r1);
    assert!(verify_consistency(size1, size2, &r1, &r2, &longer).is_err());

    let base = consistency_shape(size1, size2);
    let claims = [
        (size1 + 1, size2),
        (size1 - 1, size2),
        (size1, size2 + 1),
        (size1, size2 - 1),
    ];
    for (m, n) in claims {
        let ok = verify_consistency(m, n, &r1, &r2, &proof).is_ok();
        assert_eq!(
            ok,
            consistency_shape(m, n) == base,
            "proof for {size1}->{size2} checked as {m}->{n}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

fn leaf_data(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..=max)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Integration tests have no lib.rs next to them to persist failures by; a failure
        // prints its minimal input anyway.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]
    #[test]
    fn roots_match_naive_mth_and_append_matches_tree(
        data in leaf_data(300),
        picks in prop::collection::vec(any::<u64>(), 6),
    ) {
        let mut tree = MemoryTree::new();
        let mut leaves = Vec::new();
        let mut made: BTreeMap<(u8, u64), Hash> = BTreeMap::new();
        for (i, d) in data.iter().enumerate() {
            let leaf = leaf_hash(d);
            let nodes = append(i as u64, leaf, &tree).expect("append");
            prop_assert_eq!(nodes.first().copied(), Some((0u8, i as u64, leaf)));
            for (level, index, hash) in nodes {
                prop_assert!(made.insert((level, index), hash).is_none());
            }
            tree.push(leaf);
            leaves.push(leaf);
        }
        let n = tree.size();
        prop_assert_eq!(n, data.len() as u64);
        // Exactly the complete subtrees of an n-leaf tree, and the same hashes.
        let mut expected = 0usize;
        for level in 0u8..=9 {
            let count = n >> level;
            expected += count as usize;
            for index in 0..count {
                prop_assert_eq!(made.get(&(level, index)), Some(&tree.node(level, index).expect("held")));
            }
            prop_assert!(tree.node(level, count).is_err());
        }
        prop_assert_eq!(made.len(), expected);

        prop_assert_eq!(tree.root(), naive_mth(&leaves));
        prop_assert_eq!(tree_root(n, &tree), naive_mth(&leaves));
        for p in picks {
            let s = p % (n + 1);
            prop_assert_eq!(tree_root(s, &tree), naive_mth(&leaves[..s as usize]));
        }
    }

    #[test]
    fn inclusion_proofs_verify_and_mutations_fail(
        data in leaf_data(300),
        pairs in prop::collection::vec((any::<u64>(), any::<u64>()), 4),
        bits in prop::collection::vec(0usize..256, 3),
    ) {
        let (tree, leaves) = build(&data);
        let n = tree.size();
        for (a, b) in pairs {
            let size = 1 + a % n;
            let index = b % size;
            check_inclusion(&tree, &leaves, index, size, &bits);
        }
        // The edges: first and last leaf of the whole tree.
        check_inclusion(&tree, &leaves, 0, n, &bits);
        check_inclusion(&tree, &leaves, n - 1, n, &bits);
    }

    #[test]
    fn consistency_proofs_verify_and_mutations_fail(
        data in leaf_data(300),
        pairs in prop::collection::vec((any::<u64>(), any::<u64>()), 4),
        bits in prop::collection::vec(0usize..256, 3),
    ) {
        let (tree, _) = build(&data);
        let n = tree.size();
        for (a, b) in pairs {
            let size2 = 1 + a % n;
            let size1 = 1 + b % size2;
            check_consistency(&tree, size1, size2, &bits);
        }
        check_consistency(&tree, 1, n, &bits);
        check_consistency(&tree, n, n, &bits);
    }
}

/// Every pair in small trees, and every bit of every hash in the smallest ones.
#[test]
fn exhaustive_small_trees() {
    let data: Vec<Vec<u8>> = (0u8..64).map(|i| vec![i; usize::from(i % 5)]).collect();
    let (tree, leaves) = build(&data);
    let all_bits: Vec<usize> = (0..256).collect();
    let few_bits = [0, 77, 255];
    for size in 1..=64u64 {
        let bits: &[usize] = if size <= 12 { &all_bits } else { &few_bits };
        for index in 0..size {
            check_inclusion(&tree, &leaves, index, size, bits);
        }
        for size1 in 1..=size {
            check_consistency(&tree, size1, size, bits);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Large sparse trees
// ---------------------------------------------------------------------------------------------

/// A consistent source for an astronomically large tree: every leaf is `blank` except a few
/// marked ones, so a subtree without marks has a per-level constant hash.
struct Sparse {
    marked: BTreeMap<u64, Hash>,
    blank: Vec<Hash>,
}

impl Sparse {
    fn new(marks: &[u64]) -> Self {
        let mut blank = vec![leaf_hash(b"blank")];
        for level in 1..64 {
            let below = blank[level - 1];
            blank.push(node_hash(&below, &below));
        }
        let marked = marks
            .iter()
            .map(|&i| (i, leaf_hash(&i.to_be_bytes())))
            .collect();
        Self { marked, blank }
    }

    fn leaf(&self, index: u64) -> Hash {
        self.marked.get(&index).copied().unwrap_or(self.blank[0])
    }
}

impl NodeSource for Sparse {
    type Error = std::convert::Infallible;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let start = index << level;
        let end = start.saturating_add((1u64 << level) - 1);
        if self.marked.range(start..=end).next().is_none() {
            return Ok(self.blank[usize::from(level)]);
        }
        if level == 0 {
            return Ok(self.leaf(index));
        }
        let l = self.node(level - 1, 2 * index)?;
        let r = self.node(level - 1, 2 * index + 1)?;
        Ok(node_hash(&l, &r))
    }
}

proptest! {
    #![proptest_config(config(64))]
    #[test]
    fn large_sparse_trees(
        size2 in (1u64 << 20)..(1u64 << 62),
        fracs in prop::collection::vec(any::<u64>(), 4),
        bit in 0usize..256,
    ) {
        let marks: Vec<u64> = fracs.iter().map(|f| f % size2).collect();
        let src = Sparse::new(&marks);
        let r2 = root(size2, &src).expect("root");
        for (&index, f) in marks.iter().zip(&fracs) {
            let proof = inclusion_proof(index, size2, &src).expect("proof");
            prop_assert!(proof.len() <= 64);
            let leaf = src.leaf(index);
            prop_assert_eq!(verify_inclusion(&leaf, index, size2, &proof, &r2), Ok(()));
            for j in 0..proof.len() {
                let mut bad = proof.clone();
                bad[j] = flip(&bad[j], bit);
                prop_assert!(verify_inclusion(&leaf, index, size2, &bad, &r2).is_err());
            }
            prop_assert!(verify_inclusion(&leaf, index, size2, &proof, &flip(&r2, bit)).is_err());

            let size1 = 1 + f.rotate_left(17) % size2;
            let r1 = root(size1, &src).expect("root");
            let proof = consistency_proof(size1, size2, &src).expect("proof");
            prop_assert_eq!(verify_consistency(size1, size2, &r1, &r2, &proof), Ok(()));
            for j in 0..proof.len() {
                let mut bad = proof.clone();
                bad[j] = flip(&bad[j], bit);
                prop_assert!(verify_consistency(size1, size2, &r1, &r2, &bad).is_err());
            }
            prop_assert!(verify_consistency(size1, size2, &flip(&r1, bit), &r2, &proof).is_err());
        }
    }
}

/// The sparse source agrees with a materialised tree where both are feasible.
#[test]
fn sparse_source_matches_memory_tree() {
    let marks = [3u64, 700, 701, 1023, 1500];
    let src = Sparse::new(&marks);
    let mut tree = MemoryTree::new();
    for i in 0..2000u64 {
        tree.push(src.leaf(i));
        let n = i + 1;
        if n % 97 == 0 || n.is_power_of_two() || n == 2000 {
            assert_eq!(root(n, &src).expect("sparse root"), tree.root(), "size {n}");
        }
    }
    for (level, index) in [(0u8, 3u64), (5, 21), (10, 0), (3, 100)] {
        assert_eq!(
            src.node(level, index),
            Ok(tree.node(level, index).expect("held"))
        );
    }
    assert!(
        range_hash(1, 3, &src).is_err(),
        "unaligned ranges are refused"
    );
}

// ---------------------------------------------------------------------------------------------
// Cost
// ---------------------------------------------------------------------------------------------

/// Counts node reads; the hashes are synthetic (not a consistent tree).
struct Counting {
    reads: Cell<u64>,
}

impl NodeSource for Counting {
    type Error = std::convert::Infallible;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        self.reads.set(self.reads.get() + 1);
        let mut d = Sha256::new();
        d.update([level]);
        d.update(index.to_be_bytes());
        Ok(d.finalize().into())
    }
}

impl Counting {
    fn take(&self) -> u64 {
        self.reads.replace(0)
    }
}

#[test]
fn node_reads_are_logarithmic() {
    const N: u64 = 1_000_000;
    let src = Counting {
        reads: Cell::new(0),
    };
    let log2 = (N as f64).log2();
    let brief_bound = (2.0 * log2 * log2) as u64;
    // Depth of the tree plus the pieces of one incomplete right border (plus one).
    let depth = u64::from(64 - (N - 1).leading_zeros());
    let tight_bound = depth + u64::from(N.count_ones()) + 1;

    let indices: Vec<u64> = (0..N)
        .step_by(997)
        .chain([0, 1, N / 2, N - 2, N - 1])
        .collect();
    let (mut inc_max, mut inc_sum) = (0, 0);
    for &i in &indices {
        let p = inclusion_proof(i, N, &src).expect("proof");
        assert!(!p.is_empty());
        let reads = src.take();
        inc_max = inc_max.max(reads);
        inc_sum += reads;
    }
    let (mut con_max, mut con_sum) = (0, 0);
    let olds: Vec<u64> = (1..N).step_by(997).chain([1, 2, N / 2, N - 1]).collect();
    for &m in &olds {
        consistency_proof(m, N, &src).expect("proof");
        let reads = src.take();
        con_max = con_max.max(reads);
        con_sum += reads;
    }
    root(N, &src).expect("root");
    let root_reads = src.take();

    eprintln!(
        "node reads at n = {N}: root {root_reads}; inclusion max {inc_max}, mean {:.1} over {} \
         indices; consistency max {con_max}, mean {:.1} over {} old sizes; bounds: tight \
         {tight_bound}, brief {brief_bound}",
        inc_sum as f64 / indices.len() as f64,
        indices.len(),
        con_sum as f64 / olds.len() as f64,
        olds.len(),
    );
    assert_eq!(root_reads, u64::from(N.count_ones()));
    assert!(inc_max <= brief_bound && con_max <= brief_bound);
    assert!(
        inc_max <= tight_bound,
        "inclusion reads {inc_max} > {tight_bound}"
    );
    assert!(
        con_max <= tight_bound,
        "consistency reads {con_max} > {tight_bound}"
    );

    // And at 2^60 + something, still a handful of reads.
    let big = (1u64 << 60) + 123_456_789;
    inclusion_proof(big / 3, big, &src).expect("proof");
    let inc_big = src.take();
    consistency_proof(big / 3, big, &src).expect("proof");
    let con_big = src.take();
    eprintln!("node reads at n = {big}: inclusion {inc_big}, consistency {con_big}");
    assert!(inc_big <= 130 && con_big <= 130);
}
