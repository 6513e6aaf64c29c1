//! Canonical JSON (RFC 8785) of a capture manifest: what the single writer does for every
//! capture and every verifier for every manifest it checks (the canonical form is part of the
//! check). The hand-written canonicaliser against the `serde_json_canonicalizer` crate it
//! replaced, and plain (unsorted) `serde_json` as the floor.
//!
//! `cargo bench -p exhibit-core --bench canonical`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use exhibit_core::manifest::CaptureManifest;

/// A manifest as `exhibit capture` writes it for a Markdown file.
const MANIFEST: &str = r#"{"captured_at":"2026-11-23T09:39:51Z","content":{"blake3":"19ccfef0335727ee7e19c63e34159f45cfe47f73e604894ea22960a4adf2cf05","media_type":"text/markdown","sha256":"4826dfb48d4acf41a42dc6c473e4c5d8296700f4e66165e9468bdc3b6f49ef1a","size":25555},"document":{"entity":null,"id":"EX-D-000001","title":null,"url":"file:///srv/policies/example/privacy-policy.md"},"error":null,"file":{"path":"/srv/policies/example/privacy-policy.md"},"http":null,"id":"EX-C-000001","method":"file","origin":"bench.example","previous_capture":null,"signer":"SHA256:f65rdiJE6wVaMs/PcQbIgHsEModHw2mDVl/16Z+g6yA","text":{"blake3":"88e77d1147d13a0412e05b6ed8bc09c8f5109586483f3aa13f4f5f766e83e3e7","charset":"UTF-8","extractor":{"name":"exhibit-text","version":"2"},"sha256":"836adbf03b16ee634e8535db5dfcb1b3676da0bec832fa98980f7d21d7a2fde2","size":25426},"text_omitted":null,"type":"exhibit.capture/v1","version":{"change":"new","id":"EX-V-000001","opened_by":null,"previous":null}}"#;

fn canonical(c: &mut Criterion) {
    let manifest = CaptureManifest::parse(MANIFEST.as_bytes()).expect("a canonical manifest");
    let mut group = c.benchmark_group("canonical");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("exhibit-jcs/capture-manifest", |b| {
        b.iter(|| exhibit_core::jcs::to_vec(black_box(&manifest)))
    });
    group.bench_function("serde_json_canonicalizer/capture-manifest", |b| {
        b.iter(|| serde_json_canonicalizer::to_vec(black_box(&manifest)))
    });
    group.bench_function("serde_json-unsorted/capture-manifest", |b| {
        b.iter(|| serde_json::to_vec(black_box(&manifest)))
    });
    group.finish();
}

criterion_group!(benches, canonical);
criterion_main!(benches);
