//! Hashing throughput: every stored byte goes through `DualHasher` (SHA-256 and BLAKE3 in one
//! pass); SHA-256 and BLAKE3 alone show what each half costs.
//!
//! `cargo bench -p exhibit-core --bench hashing`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exhibit_core::DualHasher;
use sha2::Digest as _;

/// Deterministic bytes that no hash can shortcut.
fn bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("hashing");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (label, size) in [("64KiB", 64 << 10), ("16MiB", 16 << 20)] {
        let data = bytes(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("dual", label), &data, |b, data| {
            b.iter(|| {
                let mut h = DualHasher::new();
                h.update(black_box(data));
                h.finish()
            })
        });
        group.bench_with_input(BenchmarkId::new("sha256", label), &data, |b, data| {
            b.iter(|| sha2::Sha256::digest(black_box(data)))
        });
        group.bench_with_input(BenchmarkId::new("blake3", label), &data, |b, data| {
            b.iter(|| blake3::hash(black_box(data)))
        });
    }
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
