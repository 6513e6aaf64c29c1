//! The Merkle log at a million leaves: appending a leaf (the nodes a commit writes), an
//! inclusion proof (what `bundle` and `verify` read) and its verification.
//!
//! `cargo bench -p exhibit-core --bench merkle`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use exhibit_core::merkle::{self, MemoryTree};

const LEAVES: u64 = 1 << 20;

fn merkle(c: &mut Criterion) {
    let mut tree = MemoryTree::new();
    for i in 0..LEAVES - 1 {
        tree.push(merkle::leaf_hash(&i.to_le_bytes()));
    }
    let manifest = vec![b'x'; 2048];
    let mut group = c.benchmark_group("merkle");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("leaf_hash/2KiB-manifest", |b| {
        b.iter(|| merkle::leaf_hash(black_box(&manifest)))
    });
    // Leaf 2^20 - 1 completes 20 subtrees: the most nodes one append reads and writes.
    group.bench_function("append/worst-case-at-1M", |b| {
        let leaf = merkle::leaf_hash(b"last");
        b.iter(|| merkle::append(black_box(LEAVES - 1), leaf, &tree).unwrap())
    });
    tree.push(merkle::leaf_hash(b"last"));
    let root = tree.root();
    let index: u64 = 123_457;
    let leaf = merkle::leaf_hash(&index.to_le_bytes());
    group.bench_function("inclusion_proof/1M", |b| {
        b.iter(|| merkle::inclusion_proof(black_box(index), LEAVES, &tree).unwrap())
    });
    let proof = merkle::inclusion_proof(index, LEAVES, &tree).unwrap();
    group.bench_function("verify_inclusion/1M", |b| {
        b.iter(|| merkle::verify_inclusion(&leaf, black_box(index), LEAVES, &proof, &root).unwrap())
    });
    group.finish();
}

criterion_group!(benches, merkle);
criterion_main!(benches);
