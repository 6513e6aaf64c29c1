//! RFC 6962 / RFC 9162 Merkle tree math: hashing, roots, audit paths and consistency proofs.
//!
//! The tree over leaves `D[0..n)` is the Merkle Tree Hash (MTH) of RFC 6962 §2.1: a leaf hash is
//! SHA-256(0x00 ‖ data), an interior node SHA-256(0x01 ‖ left ‖ right), and a range of `n > 1`
//! leaves is split after the largest power of two strictly below `n`. Every node of such a tree
//! is either a *complete* (perfect, power-of-two sized and aligned) subtree or a right-border
//! node made of complete subtrees, so a store only ever keeps complete subtrees (see
//! [`NodeSource`]) and computes the rest on demand with O(log n) reads.
//!
//! Proof generation ([`inclusion_proof`], [`consistency_proof`]) reads from a [`NodeSource`];
//! verification ([`verify_inclusion`], [`verify_consistency`]) follows RFC 9162 §2.1.3.2 and
//! §2.1.4.2 and needs no source. Nothing here panics on any input.

use sha2::{Digest as _, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// SHA-256(0x00 || data): the RFC 6962 hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256(0x01 || left || right): the RFC 6962 hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string
/// (`e3b0c442…7852b855`).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where proofs get hashes from.
///
/// `node(level, index)` is the hash of the *complete* (perfect) subtree at `level` whose leaves
/// are `[index << level, (index + 1) << level)`. Level 0 are leaf hashes. Implementations (a
/// SQLite table, an in-memory vector) only ever store complete subtrees, and the functions of
/// this module only ask for subtrees that are complete in the tree they work on.
pub trait NodeSource {
    /// Why a node could not be read (missing, storage failure).
    type Error;

    /// The hash of the complete subtree at `level` and `index`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// Errors from building proofs: bad arguments, or the source failed.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
    /// The arguments do not describe a valid range, leaf or pair of tree sizes.
    #[error("invalid Merkle tree range: {0}")]
    Range(String),
    /// The node source could not provide a complete subtree.
    #[error("Merkle node source failed: {0}")]
    Source(E),
}

/// Why a proof does not verify. Every message is a single line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The inclusion proof has the wrong number of hashes for the index and size.
    #[error("inclusion proof has {got} hashes, expected {expected}")]
    InclusionProofLength {
        /// The number of hashes in the proof.
        got: usize,
        /// The number the index and tree size call for.
        expected: usize,
    },
    /// The consistency proof has the wrong number of hashes for the two sizes.
    #[error("consistency proof from size {size1} to {size2} has {got} hashes, expected {expected}")]
    ConsistencyProofLength {
        /// The earlier tree size.
        size1: u64,
        /// The later tree size.
        size2: u64,
        /// The number of hashes in the proof.
        got: usize,
        /// The number the two sizes call for.
        expected: usize,
    },
    /// The root computed from the proof differs from the expected (later) root.
    #[error(
        "computed root {} does not match {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root the proof was checked against.
        expected: Hash,
    },
    /// The earlier root computed from a consistency proof differs from the given one.
    #[error(
        "computed earlier root {} does not match {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    OldRootMismatch {
        /// The earlier root the proof leads to.
        computed: Hash,
        /// The earlier root the proof was checked against.
        expected: Hash,
    },
    /// Two trees of the same size with different roots: not consistent.
    #[error(
        "trees of equal size {size} have different roots {} and {}",
        hex::encode(.root1),
        hex::encode(.root2)
    )]
    EqualSizeRootsDiffer {
        /// The common tree size.
        size: u64,
        /// The earlier root.
        root1: Hash,
        /// The later root.
        root2: Hash,
    },
    /// A consistency proof starting from the empty tree.
    #[error("consistency from size 0 is not defined")]
    ConsistencyFromEmpty,
    /// The later tree is smaller than the earlier one.
    #[error("tree size {size2} is smaller than the earlier size {size1}")]
    SizeDecreased {
        /// The earlier tree size.
        size1: u64,
        /// The later tree size.
        size2: u64,
    },
}

/// `floor(log2(n))` for `n > 0`.
fn floor_log2(n: u64) -> u32 {
    63u32.saturating_sub(n.leading_zeros())
}

/// The largest power of two strictly below `n`, for `n >= 2`.
fn split_point(n: u64) -> u64 {
    let p = 1u64 << floor_log2(n);
    if p == n { p >> 1 } else { p }
}

fn source<E>(e: E) -> ProofError<E> {
    ProofError::Source(e)
}

/// Hash of the leaf range `[start, end)` (the MTH over that range), computed from complete
/// subtrees via the source: one node read per set bit of `end - start`, so at most 64.
///
/// `start == end` gives [`empty_root`]. The range must be one that complete subtrees can build
/// without descending below them: `start` must be a multiple of the largest power of two not
/// above `end - start`. This holds for `start == 0` and for every node of a tree rooted at leaf
/// 0, which is all that roots and proofs need; other ranges are a [`ProofError::Range`] (their
/// hash would cost far more than O(log n) reads).
pub fn range_hash<S: NodeSource>(
    start: u64,
    end: u64,
    src: &S,
) -> Result<Hash, ProofError<S::Error>> {
    if start > end {
        return Err(ProofError::Range(format!(
            "range start {start} is after its end {end}"
        )));
    }
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    let top = floor_log2(n);
    if start != 0 && start.trailing_zeros() < top {
        return Err(ProofError::Range(format!(
            "range [{start}, {end}) is not aligned to complete subtrees of {} leaves",
            1u64 << top
        )));
    }
    // The MTH of n leaves is the right fold of the complete subtrees given by the set bits of
    // n, largest (leftmost) first.
    let mut pieces: Vec<Hash> = Vec::with_capacity(n.count_ones() as usize);
    let mut pos = start;
    for level in (0..=top).rev() {
        if n & (1u64 << level) != 0 {
            // `level <= 63`, so the cast is lossless.
            pieces.push(src.node(level as u8, pos >> level).map_err(source)?);
            pos += 1u64 << level;
        }
    }
    let mut acc: Option<Hash> = None;
    for piece in pieces.iter().rev() {
        acc = Some(match acc {
            None => *piece,
            Some(right) => node_hash(piece, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// Root of the tree of `size` leaves ([`empty_root`] for 0): at most 64 node reads.
pub fn root<S: NodeSource>(size: u64, src: &S) -> Result<Hash, ProofError<S::Error>> {
    range_hash(0, size, src)
}

/// RFC 6962 §2.1.1 audit path for leaf `index` in a tree of `size` (`index < size`), the leaf's
/// sibling first. At most about 2·log2(size) node reads.
pub fn inclusion_proof<S: NodeSource>(
    index: u64,
    size: u64,
    src: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::Range(format!(
            "leaf index {index} is not below tree size {size}"
        )));
    }
    // PATH(m, D[lo:hi]) walked top-down; the hashes come out root-first.
    let (mut lo, mut hi) = (0u64, size);
    let mut path = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            path.push(range_hash(lo + k, hi, src)?);
            hi = lo + k;
        } else {
            path.push(range_hash(lo, lo + k, src)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 6962 §2.1.2 consistency proof from `size1` to `size2` (`0 < size1 <= size2`; empty when
/// equal). At most about 2·log2(size2) node reads.
pub fn consistency_proof<S: NodeSource>(
    size1: u64,
    size2: u64,
    src: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if size1 == 0 {
        return Err(ProofError::Range(
            "consistency from size 0 is not defined".to_string(),
        ));
    }
    if size1 > size2 {
        return Err(ProofError::Range(format!(
            "tree size {size2} is smaller than the earlier size {size1}"
        )));
    }
    // SUBPROOF(m, D[lo:hi], b) walked top-down; `lo < size1 <= hi` throughout.
    let (mut lo, mut hi) = (0u64, size2);
    let mut complete = true;
    let mut path = Vec::new();
    while size1 != hi {
        let k = split_point(hi - lo);
        if size1 - lo <= k {
            path.push(range_hash(lo + k, hi, src)?);
            hi = lo + k;
        } else {
            path.push(range_hash(lo, lo + k, src)?);
            lo += k;
            complete = false;
        }
    }
    if !complete {
        path.push(range_hash(lo, hi, src)?);
    }
    path.reverse();
    Ok(path)
}

/// Lengths of the two parts of an inclusion proof for `index` in a tree of `size`
/// (`index < size`): the levels below the point where the paths to `index` and `size - 1`
/// diverge, and the left-border hashes above it.
fn decompose(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

/// Hashes `seed` (at position `index` on its level) up through `proof`, taking left/right from
/// the bits of `index`.
fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 0 {
            seed = node_hash(&seed, h);
        } else {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

/// Like [`chain_inner`], but only uses the hashes to the left of the path: the result is the
/// hash of the earlier version of the subtree.
fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

/// Chains `seed` with left-border hashes (all to its left).
fn chain_border_right(mut seed: Hash, proof: &[Hash]) -> Hash {
    for h in proof {
        seed = node_hash(h, &seed);
    }
    seed
}

/// RFC 9162 §2.1.3.2 verification that `leaf` (a leaf *hash*) is leaf `index` of the tree of
/// `size` leaves whose root is `root`, by the audit path `proof`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose(index, size);
    let expected = (inner + border) as usize;
    if proof.len() != expected {
        return Err(MerkleError::InclusionProofLength {
            got: proof.len(),
            expected,
        });
    }
    let (inner_part, border_part) = proof.split_at(inner as usize);
    let computed = chain_border_right(chain_inner(*leaf, inner_part, index), border_part);
    if computed != *root {
        return Err(MerkleError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 verification that the tree of `size2` leaves with root `root2` extends the
/// tree of `size1` leaves with root `root1`, by the consistency proof `proof`.
///
/// `size1 == size2` requires an empty proof and equal roots; `size1 == 0` is an error (as in
/// the reference implementation), even when `size2` is 0 too.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if size1 == 0 {
        return Err(MerkleError::ConsistencyFromEmpty);
    }
    if size2 < size1 {
        return Err(MerkleError::SizeDecreased { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(MerkleError::ConsistencyProofLength {
                size1,
                size2,
                got: proof.len(),
                expected: 0,
            });
        }
        if root1 != root2 {
            return Err(MerkleError::EqualSizeRootsDiffer {
                size: size1,
                root1: *root1,
                root2: *root2,
            });
        }
        return Ok(());
    }

    // Now 0 < size1 < size2. The proof is a suffix of the inclusion proof of leaf size1 - 1 in
    // the tree of size2, starting at level `shift`, preceded by the hash of the complete
    // subtree of 2^shift leaves ending at size1 unless that subtree is the whole earlier tree.
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros();
    // shift < inner because size1 < size2.
    let inner = inner.saturating_sub(shift) as usize;
    let border = border as usize;
    let seed_from_root1 = size1 == 1u64 << shift;
    let start = usize::from(!seed_from_root1);
    let expected = start + inner + border;
    if proof.len() != expected {
        return Err(MerkleError::ConsistencyProofLength {
            size1,
            size2,
            got: proof.len(),
            expected,
        });
    }
    let (seed, rest) = match (seed_from_root1, proof.split_first()) {
        (true, _) => (*root1, proof),
        (false, Some((first, rest))) => (*first, rest),
        // Unreachable: `expected >= 1` here, and the length matched.
        (false, None) => {
            return Err(MerkleError::ConsistencyProofLength {
                size1,
                size2,
                got: 0,
                expected,
            });
        }
    };
    let (inner_part, border_part) = rest.split_at(inner);
    let mask = (size1 - 1) >> shift;

    let hash1 = chain_border_right(chain_inner_right(seed, inner_part, mask), border_part);
    if hash1 != *root1 {
        return Err(MerkleError::OldRootMismatch {
            computed: hash1,
            expected: *root1,
        });
    }
    let hash2 = chain_border_right(chain_inner(seed, inner_part, mask), border_part);
    if hash2 != *root2 {
        return Err(MerkleError::RootMismatch {
            computed: hash2,
            expected: *root2,
        });
    }
    Ok(())
}

/// A complete subtree as `(level, index, hash)`: the subtree of leaves
/// `[index << level, (index + 1) << level)`, as [`NodeSource::node`] addresses it.
pub type SubtreeNode = (u8, u64, Hash);

/// The complete subtrees that appending leaf number `index` (0-based, = old tree size) creates,
/// bottom-up, starting with `(0, index, leaf)`: each `(level, index, hash)`.
///
/// `src` must already hold every complete subtree of the tree of `index` leaves; this reads one
/// node per trailing one bit of `index`. Used by the store to keep nodes.
pub fn append<S: NodeSource>(
    index: u64,
    leaf: Hash,
    src: &S,
) -> Result<Vec<SubtreeNode>, ProofError<S::Error>> {
    if index == u64::MAX {
        return Err(ProofError::Range(format!(
            "cannot append leaf {index}: the tree would exceed 2^64 - 1 leaves"
        )));
    }
    let mut out = vec![(0u8, index, leaf)];
    let (mut level, mut idx, mut hash) = (0u8, index, leaf);
    while idx & 1 == 1 {
        let left = src.node(level, idx - 1).map_err(source)?;
        hash = node_hash(&left, &hash);
        level += 1;
        idx >>= 1;
        out.push((level, idx, hash));
    }
    Ok(out)
}

/// A complete subtree a [`MemoryTree`] was asked for but does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index} in a tree of {size} leaves")]
pub struct MissingNode {
    /// The requested level.
    pub level: u8,
    /// The requested index on that level.
    pub index: u64,
    /// The number of leaves in the tree.
    pub size: u64,
}

/// An in-memory tree of complete subtrees (for tests, verification and rebuilding).
///
/// Holds every complete subtree hash: `levels[l][i]` is the subtree at level `l`, index `i`.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf *hash* (see [`leaf_hash`]) and the complete subtrees it completes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(hash);
            if row.len() % 2 == 1 {
                return;
            }
            let pair = row.len().checked_sub(2).and_then(|i| row.get(i..));
            match pair {
                Some([left, right]) => hash = node_hash(left, right),
                _ => return,
            }
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |row| row.len() as u64)
    }

    /// The root hash ([`empty_root`] when empty).
    pub fn root(&self) -> Hash {
        let size = self.size();
        let mut acc: Option<Hash> = None;
        for (level, row) in self.levels.iter().enumerate() {
            if (size >> level) & 1 == 1
                && let Some(piece) = row.last()
            {
                acc = Some(match acc {
                    None => *piece,
                    Some(right) => node_hash(piece, &right),
                });
            }
        }
        acc.unwrap_or_else(empty_root)
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(MissingNode {
                level,
                index,
                size: self.size(),
            })
    }
}

/// The root of a growing sequence of leaves, in O(log n) memory: the roots of the complete
/// subtrees covering the leaves so far, largest (leftmost) first.
///
/// Where a [`MemoryTree`] keeps every complete subtree (O(n) memory, any proof), a `Frontier`
/// keeps only what the next root needs: for recomputing a tree from a stream of leaves (`fsck`
/// reads `log/leaves` this way) and checking each complete subtree as it is made.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    /// An empty frontier (its root is [`empty_root`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf *hash* (see [`leaf_hash`]); `on_node(level, hash)` sees every complete
    /// subtree it completes, the leaf itself (level 0) first, up to the largest.
    pub fn push(&mut self, leaf: Hash, mut on_node: impl FnMut(u32, &Hash)) {
        let mut hash = leaf;
        let mut level = 0u32;
        on_node(level, &hash);
        while let Some(&(l, left)) = self.stack.last() {
            if l != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            on_node(level, &hash);
        }
        self.stack.push((level, hash));
    }

    /// The root of the leaves pushed so far ([`empty_root`] when none).
    pub fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for (_, piece) in self.stack.iter().rev() {
            acc = Some(match acc {
                None => *piece,
                Some(right) => node_hash(piece, &right),
            });
        }
        acc.unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).expect("test hex");
        out
    }

    /// The 8 leaves of the RFC 6962 / certificate-transparency test tree.
    fn test_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60u8..=0x6f).collect(),
        ]
    }

    /// Roots of the test tree for sizes 1..=8 (transparency-dev/merkle testonly, CT's
    /// merkle_tree_test).
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn test_tree(n: usize) -> MemoryTree {
        let mut t = MemoryTree::new();
        for d in test_leaves().iter().take(n) {
            t.push(leaf_hash(d));
        }
        t
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(MemoryTree::new().root(), empty_root());
        assert_eq!(root(0, &MemoryTree::new()).ok(), Some(empty_root()));
    }

    #[test]
    fn leaf_and_node_hashes() {
        // SHA-256(0x00) and the first RFC 6962 test leaf.
        assert_eq!(
            leaf_hash(b""),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(&[0x00]),
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")
        );
        let l0 = leaf_hash(b"");
        let l1 = leaf_hash(&[0x00]);
        assert_eq!(node_hash(&l0, &l1), h(ROOTS[1]));
        assert_ne!(node_hash(&l1, &l0), h(ROOTS[1]));
    }

    #[test]
    fn rfc6962_test_tree_roots() {
        for (i, want) in ROOTS.iter().enumerate() {
            let n = i + 1;
            let t = test_tree(n);
            assert_eq!(t.size(), n as u64);
            assert_eq!(t.root(), h(want), "MemoryTree root of size {n}");
            let full = test_tree(8);
            assert_eq!(
                root(n as u64, &full).ok(),
                Some(h(want)),
                "root({n}) from the 8-leaf tree"
            );
        }
    }

    #[test]
    fn rfc6962_test_tree_inclusion_proofs() {
        let t = test_tree(8);
        // Known audit paths (transparency-dev/merkle testonly).
        let cases: [(u64, u64, &[&str]); 4] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
        ];
        for (index, size, want) in cases {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            let got = inclusion_proof(index, size, &t).expect("proof");
            assert_eq!(got, want, "inclusion proof {index} in {size}");
            let leaf = leaf_hash(&test_leaves()[index as usize]);
            assert_eq!(
                verify_inclusion(&leaf, index, size, &got, &h(ROOTS[size as usize - 1])),
                Ok(())
            );
        }
    }

    #[test]
    fn rfc6962_test_tree_consistency_proofs() {
        let t = test_tree(8);
        let cases: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (size1, size2, want) in cases {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            let got = consistency_proof(size1, size2, &t).expect("proof");
            assert_eq!(got, want, "consistency proof {size1} -> {size2}");
            let r1 = h(ROOTS[size1 as usize - 1]);
            let r2 = h(ROOTS[size2 as usize - 1]);
            assert_eq!(verify_consistency(size1, size2, &r1, &r2, &got), Ok(()));
        }
    }

    #[test]
    fn argument_errors() {
        let t = test_tree(8);
        assert!(matches!(
            inclusion_proof(8, 8, &t),
            Err(ProofError::Range(_))
        ));
        assert!(matches!(
            consistency_proof(0, 8, &t),
            Err(ProofError::Range(_))
        ));
        assert!(matches!(
            consistency_proof(5, 4, &t),
            Err(ProofError::Range(_))
        ));
        assert!(matches!(range_hash(5, 4, &t), Err(ProofError::Range(_))));
        assert!(matches!(range_hash(1, 3, &t), Err(ProofError::Range(_))));
        assert!(matches!(root(9, &t), Err(ProofError::Source(_))));
        assert_eq!(
            root(9, &t).map_err(|e| e.to_string()).err().as_deref(),
            Some(
                "Merkle node source failed: no complete subtree at level 0, index 8 in a tree \
                 of 8 leaves"
            )
        );
        assert!(matches!(
            append(u64::MAX, [0; 32], &t),
            Err(ProofError::Range(_))
        ));
        assert_eq!(
            t.node(3, 1),
            Err(MissingNode {
                level: 3,
                index: 1,
                size: 8
            })
        );
        assert!(t.node(200, u64::MAX).is_err());
    }

    #[test]
    fn verification_messages() {
        let leaf = leaf_hash(b"");
        let r = h(ROOTS[7]);
        assert_eq!(
            verify_inclusion(&leaf, 7, 7, &[], &r)
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("leaf index 7 is not below tree size 7")
        );
        assert_eq!(
            verify_inclusion(&leaf, 0, 8, &[r; 2], &r)
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("inclusion proof has 2 hashes, expected 3")
        );
        assert_eq!(
            verify_consistency(0, 0, &r, &r, &[])
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("consistency from size 0 is not defined")
        );
        let msg = verify_inclusion(&leaf, 0, 1, &[], &r)
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(msg.starts_with("computed root 6e340b9c"), "{msg}");
        assert!(!msg.contains('\n'));
        assert!(verify_consistency(4, 3, &r, &r, &[]).is_err());
        assert!(verify_consistency(3, 3, &r, &leaf, &[]).is_err());
        assert!(verify_consistency(3, 3, &r, &r, &[r]).is_err());
        assert_eq!(verify_consistency(3, 3, &r, &r, &[]), Ok(()));
        assert!(verify_consistency(3, 4, &r, &r, &[]).is_err());
    }

    #[test]
    fn append_matches_memory_tree() {
        let mut t = MemoryTree::new();
        for (i, d) in test_leaves().iter().enumerate() {
            let leaf = leaf_hash(d);
            let nodes = append(i as u64, leaf, &t).expect("append");
            t.push(leaf);
            assert_eq!(nodes.first().copied(), Some((0, i as u64, leaf)));
            for (level, index, hash) in &nodes {
                assert_eq!(t.node(*level, *index), Ok(*hash));
            }
            // One node per trailing one of i, plus the leaf.
            assert_eq!(nodes.len(), (i as u64).trailing_ones() as usize + 1);
        }
    }

    #[test]
    fn frontier_root_matches_memory_tree_at_every_size() {
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), empty_root());
        assert_eq!(frontier.root(), tree.root());
        for i in 0u32..300 {
            let leaf = leaf_hash(&i.to_be_bytes());
            tree.push(leaf);
            let n = u64::from(i);
            frontier.push(leaf, |level, hash| {
                assert_eq!(tree.node(level as u8, n >> level).ok().as_ref(), Some(hash));
            });
            assert_eq!(frontier.root(), tree.root(), "size {}", i + 1);
        }
        // The sizes of the RFC 6962 test vectors and a little past, built afresh each time.
        for size in 0..=70u32 {
            let mut tree = MemoryTree::new();
            let mut frontier = Frontier::new();
            for i in 0..size {
                let leaf = leaf_hash(&i.to_le_bytes());
                tree.push(leaf);
                frontier.push(leaf, |_, _| {});
            }
            assert_eq!(frontier.root(), tree.root(), "size {size}");
        }
    }
}
