//! The `exhibit-verify` binary on its own: a bundle written with the bundle library from a
//! manifest signed here (no archive, no `exhibit` binary), verified through the real binary.

use std::path::Path;
use std::process::{Command, Output};

use exhibit_bundle::{Bundle, BundleRecord, layout, write_bundle};
use exhibit_core::checkpoint::{Checkpoint, TlogProof};
use exhibit_core::manifest::{
    CaptureManifest, Change, ContentInfo, DocumentRef, FileSource, ManifestType, Method,
    VersionLink,
};
use exhibit_core::{Blake3Digest, IdPrefix, RecordId, RecordKind, Sha256Digest, merkle};
use exhibit_sign::SigningKey;

const BODY: &[u8] = b"Terms: you agree.\n";

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exhibit-verify"))
        .args(args)
        .output()
        .expect("run exhibit-verify")
}

/// Writes a one-record bundle signed by `key` into `dir`; returns its path.
fn make_bundle(dir: &Path, key: &SigningKey) -> std::path::PathBuf {
    make_bundle_with(dir, key, None)
}

/// [`make_bundle`]; with `response`, the record is an HTTP capture whose connection names
/// those bytes as the response it received (FORMAT §3.10).
fn make_bundle_with(
    dir: &Path,
    key: &SigningKey,
    response: Option<&'static [u8]>,
) -> std::path::PathBuf {
    let p = IdPrefix::default();
    let id = RecordId::new(&p, RecordKind::Capture, 1);
    let signer = key.public_key().fingerprint().to_string();
    let manifest = CaptureManifest {
        manifest_type: ManifestType::Capture,
        origin: "cli-test.example".into(),
        id: id.clone(),
        document: DocumentRef {
            id: RecordId::new(&p, RecordKind::Document, 1),
            url: "https://example.com/terms".into(),
            entity: None,
            title: None,
        },
        captured_at: "2026-04-30T06:15:21Z".into(),
        method: Method::File,
        http: None,
        file: Some(FileSource {
            path: "/tmp/terms.txt".into(),
        }),
        content: Some(ContentInfo {
            sha256: Sha256Digest::of(BODY),
            blake3: Blake3Digest::of(BODY),
            size: BODY.len() as u64,
            media_type: "text/plain".into(),
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
        signer,
        browser: None,
        warc: None,
    };
    let mut manifest = manifest;
    if let Some(raw) = response {
        use exhibit_core::connection::{Connection, ObjectRef, TrustRoots};
        let url = "http://example.com/terms".to_owned();
        manifest.manifest_type = ManifestType::CaptureV2;
        manifest.method = Method::Http;
        manifest.file = None;
        manifest.document.url = url.clone();
        manifest.http = Some(exhibit_core::manifest::HttpExchange {
            request_url: url.clone(),
            final_url: url.clone(),
            redirects: Vec::new(),
            status: Some(200),
            headers: Default::default(),
            connections: Some(vec![Connection {
                url,
                remote: "192.0.2.7:80".into(),
                connected_at: "2026-04-30T06:15:21Z".into(),
                tls: None,
                response: Some(ObjectRef::of(raw)),
            }]),
            trust_roots: Some(TrustRoots {
                bundled: "webpki-roots (Mozilla); 1 anchors; sha256:00".into(),
                added: Vec::new(),
            }),
        });
    }
    let bytes = manifest.to_canonical_bytes().unwrap();
    // A one-leaf log: the leaf hash is the root, the audit path is empty.
    let root = merkle::leaf_hash(&bytes);
    let checkpoint = Checkpoint {
        origin: "cli-test.example".into(),
        size: 1,
        root,
        extensions: Vec::new(),
    };
    let note =
        exhibit_sign::note::sign_note(&checkpoint.to_text(), "cli-test.example", key).unwrap();
    let proof = TlogProof {
        extra: None,
        index: 0,
        proof: Vec::new(),
        checkpoint: note,
    };
    let record = BundleRecord {
        id,
        signature: key.sign(&bytes).as_bytes().to_vec(),
        manifest_bytes: bytes,
        manifest: exhibit_core::AnyManifest::Capture(manifest),
        tlog_proof: Some(proof.to_text()),
        log_index: Some(0),
    };
    let bundle = Bundle {
        name: layout::bag_name_for("cli.tar.zst"),
        origin: "cli-test.example".into(),
        created: chrono::DateTime::from_timestamp(1_777_529_721, 0).unwrap(),
        records: vec![record],
        public_keys: vec![key.public_key()],
        seal: key,
        file_name: "cli.tar.zst".into(),
        checkpoint: Some(proof.checkpoint.clone()),
        timestamps: Vec::new(),
        cosignatures: Vec::new(),
        key_history: Vec::new(),
        anchors: Vec::new(),
        report: None,
    };
    let path = dir.join("cli.tar.zst");
    let mut out = std::fs::File::create(&path).unwrap();
    let open = |sha: &Sha256Digest| -> std::io::Result<Box<dyn std::io::Read>> {
        match response {
            Some(raw) if *sha == Sha256Digest::of(raw) => Ok(Box::new(raw)),
            _ => Ok(Box::new(BODY)),
        }
    };
    write_bundle(&mut out, &bundle, &open).unwrap();
    path
}

#[test]
fn exit_codes_of_the_standalone_binary() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let bundle = make_bundle(dir.path(), &key);
    let b = bundle.to_str().unwrap();
    let fp = key.public_key().fingerprint().to_string();

    let out = verify(&[b]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&fp));

    let out = verify(&[b, "--key", &fp]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("leaf 0 of 1"));

    let pem = dir.path().join("pub.pem");
    std::fs::write(&pem, key.public_key().to_spki_pem()).unwrap();
    assert_eq!(
        verify(&[b, "--key", pem.to_str().unwrap()]).status.code(),
        Some(0)
    );

    let other = SigningKey::generate()
        .unwrap()
        .public_key()
        .fingerprint()
        .to_string();
    assert_eq!(verify(&[b, "--key", &other]).status.code(), Some(1));

    let out = verify(&[b, "--json", "--key", &fp]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "verified");

    for args in [
        vec!["/nonexistent.tar.zst"],
        vec![b, "--key", "SHA256:short"],
        vec![],
    ] {
        let out = verify(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(verify(&["--help"]).status.code(), Some(0));
}

#[test]
fn a_kept_response_is_re_read_as_http() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let fp = key.public_key().fingerprint().to_string();
    let whole: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nTerms: you agree.\n";
    let cut: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nTerms: you agree.\n";
    for (name, raw, code) in [("whole", whole, 0), ("cut", cut, 1)] {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        let b = make_bundle_with(&d, &key, Some(raw));
        let out = verify(&[b.to_str().unwrap(), "--key", &fp]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{name}: {said}");
        if code == 1 {
            assert!(said.contains("is one complete HTTP/1.x response"), "{said}");
            assert!(said.contains("Content-Length says 99"), "{said}");
        }
    }
}
