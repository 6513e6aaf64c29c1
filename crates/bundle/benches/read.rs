//! Bundles: reading one safely (`read_bundle`: zstd, tar, hashing every payload file in one
//! streaming pass) and writing one (`write_bundle`), in memory, with a capture of a few MiB.
//! The bundle is built here, without an archive, as the verifier's tests do.
//!
//! `cargo bench -p exhibit-bundle --bench read`

use std::hint::black_box;
use std::io::Read;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exhibit_bundle::{Bundle, BundleRecord, Limits, layout, read_bundle, write_bundle};
use exhibit_core::manifest::{
    CaptureManifest, Change, ContentInfo, DocumentRef, FileSource, ManifestType, Method,
    VersionLink,
};
use exhibit_core::{AnyManifest, Blake3Digest, IdPrefix, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::SigningKey;

const PAYLOAD: usize = 4 << 20;

/// A PDF-like payload: half text, half bytes that do not compress.
fn payload() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(PAYLOAD);
    while out.len() < PAYLOAD {
        out.extend_from_slice(b"BT /F1 12 Tf (The user agrees to the terms of service.) Tj ET\n");
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(x as u8);
        }
    }
    out.truncate(PAYLOAD);
    out
}

fn bundle_bytes(key: &SigningKey, body: &[u8]) -> Vec<u8> {
    let p = IdPrefix::default();
    let manifest = CaptureManifest {
        manifest_type: ManifestType::Capture,
        origin: "bench.example".into(),
        id: RecordId::new(&p, RecordKind::Capture, 1),
        document: DocumentRef {
            id: RecordId::new(&p, RecordKind::Document, 1),
            url: "https://example.com/terms.pdf".into(),
            entity: None,
            title: None,
        },
        captured_at: "2026-04-30T06:15:21Z".into(),
        method: Method::File,
        http: None,
        file: Some(FileSource {
            path: "/tmp/terms.pdf".into(),
        }),
        content: Some(ContentInfo {
            sha256: Sha256Digest::of(body),
            blake3: Blake3Digest::of(body),
            size: body.len() as u64,
            media_type: "application/pdf".into(),
        }),
        text: None,
        text_omitted: None,
        version: Some(VersionLink {
            id: RecordId::new(&p, RecordKind::Version, 1),
            change: Change::New,
            previous: None,
            opened_by: None,
        }),
        previous_capture: None,
        error: None,
        signer: key.public_key().fingerprint().to_string(),
        browser: None,
        warc: None,
    };
    let bytes = manifest.to_canonical_bytes().expect("manifest");
    let record = BundleRecord {
        id: manifest.id.clone(),
        signature: key.sign(&bytes).as_bytes().to_vec(),
        manifest_bytes: bytes,
        manifest: AnyManifest::Capture(manifest),
        tlog_proof: None,
        log_index: None,
    };
    let bundle = Bundle {
        name: layout::bag_name_for("bench.tar.zst"),
        origin: "bench.example".into(),
        created: chrono::DateTime::from_timestamp(1_777_529_721, 0).expect("time"),
        records: vec![record],
        public_keys: vec![key.public_key()],
        seal: key,
        file_name: "bench.tar.zst".into(),
        checkpoint: None,
        timestamps: Vec::new(),
        cosignatures: Vec::new(),
        key_history: Vec::new(),
        anchors: Vec::new(),
        report: None,
    };
    let body = body.to_vec();
    let open = move |_: &Sha256Digest| -> std::io::Result<Box<dyn Read>> {
        Ok(Box::new(std::io::Cursor::new(body.clone())))
    };
    let mut out = Vec::new();
    write_bundle(&mut out, &bundle, &open).expect("write bundle");
    out
}

fn bundles(c: &mut Criterion) {
    let key = SigningKey::generate().expect("key");
    let body = payload();
    let bytes = bundle_bytes(&key, &body);
    let mut group = c.benchmark_group("bundle");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes(PAYLOAD as u64));
    group.bench_function("read_bundle/4MiB", |b| {
        b.iter(|| read_bundle(black_box(&bytes[..]), &Limits::default()).expect("read"))
    });
    group.bench_function("write_bundle/4MiB", |b| {
        b.iter(|| bundle_bytes(&key, black_box(&body)))
    });
    group.finish();
}

criterion_group!(benches, bundles);
criterion_main!(benches);
