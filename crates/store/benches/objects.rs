//! The object store: writing an object (hash with SHA-256 and BLAKE3, compress with zstd level
//! 3, write a temporary file, fsync it, rename it to its address) and reading one back
//! verified (decompress and hash again).
//!
//! Inputs: a 64 KiB HTML-like page (compressible text) and a 16 MiB PDF-like file (bytes that
//! do not compress). The write includes the per-object fsync of the default mode, so it
//! measures the disk too; run on the disk the archive lives on.
//!
//! `cargo bench -p exhibit-store --bench objects`

use std::hint::black_box;
use std::io::Write as _;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exhibit_store::ObjectStore;

/// A page of markup and words, like a captured HTML document.
fn html(n: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "terms",
        "service",
        "user",
        "agrees",
        "data",
        "provider",
        "shall",
        "content",
        "liability",
        "privacy",
        "rights",
        "license",
        "termination",
        "including",
        "applicable",
        "consent",
    ];
    let mut out = b"<!doctype html><html><head><title>Terms</title></head><body>".to_vec();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while out.len() < n {
        out.extend_from_slice(b"<p class=\"clause\">");
        for _ in 0..24 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(WORDS[(x % WORDS.len() as u64) as usize].as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(b"</p>\n");
    }
    out.truncate(n);
    out
}

/// Bytes that do not compress, like a PDF's compressed streams.
fn noise(n: usize) -> Vec<u8> {
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

fn objects(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ObjectStore::new(dir.path().join("objects"));
    std::fs::create_dir_all(dir.path().join("objects")).expect("objects dir");
    let inputs = [
        ("html-64KiB", html(64 << 10)),
        ("pdf-16MiB", noise(16 << 20)),
    ];

    let mut group = c.benchmark_group("objects");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (label, data) in &inputs {
        group.throughput(Throughput::Bytes(data.len() as u64));
        // Each write stores new bytes (a counter in the first 8), and the object is removed
        // outside the timed part, so that every iteration takes the full path, not the "already
        // stored" one, and the disk does not fill up.
        group.bench_with_input(BenchmarkId::new("write", label), data, |b, data| {
            let mut data = data.clone();
            let mut counter = 0u64;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    data[..8].copy_from_slice(&counter.to_le_bytes());
                    let start = Instant::now();
                    let mut w = store.writer().expect("writer");
                    w.write_all(&data).expect("write");
                    let stored = w.finish().expect("finish");
                    total += start.elapsed();
                    std::fs::remove_file(store.path_of(&stored.sha256)).expect("remove");
                }
                total
            })
        });
        let stored = store.put(data).expect("put");
        group.bench_with_input(BenchmarkId::new("copy_verified", label), &stored, |b, o| {
            b.iter(|| {
                store
                    .copy_verified(&o.sha256, Some(&o.blake3), &mut std::io::sink())
                    .expect("read")
            })
        });
        group.bench_with_input(BenchmarkId::new("read_verified", label), &stored, |b, o| {
            b.iter(|| black_box(store.read_verified(&o.sha256, 64 << 20).expect("read")))
        });
    }
    group.finish();
}

criterion_group!(benches, objects);
criterion_main!(benches);
