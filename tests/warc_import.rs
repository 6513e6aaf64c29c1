//! `exhibit import FILE.warc[.gz]`: WARC files from wget and from exhibit itself become signed
//! captures holding exactly the served bytes; chunked and compressed payloads are undone; a
//! record whose digest lies is recorded as refused; a malformed file imports nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// The imported captures, as `exhibit --json show` gives their manifests, by URL.
fn manifest_of(archive: &Path, id: &str) -> serde_json::Value {
    json_lines(&exhibit(archive, &["--json", "show", id]))[0]["manifest"].clone()
}

/// Fetches `urls` with `wget --warc-file`, returning the .warc.gz it wrote.
fn wget_warc(dir: &Path, urls: &[String]) -> Option<PathBuf> {
    if !have("wget") {
        return None;
    }
    let out = Command::new("wget")
        .current_dir(dir)
        .args([
            "--no-verbose",
            "--tries=1",
            "--delete-after",
            "--warc-file=site",
        ])
        .args(urls)
        .output()
        .unwrap();
    // wget exits 8 when one URL answered 404; the WARC is written either way.
    assert!(
        matches!(out.status.code(), Some(0 | 8)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir.join("site.warc.gz"))
}

#[test]
fn a_wget_warc_imports_the_exact_served_bytes_and_cites_the_file() {
    let server = Server::start(policy_site);
    let (dir, archive) = new_archive();
    let urls = [
        server.url("/privacy"),
        server.url("/terms.txt"),
        server.url("/gone"),
    ];
    let Some(warc) = wget_warc(dir.path(), &urls) else {
        return;
    };
    let out = exhibit(&archive, &["import", warc.to_str().unwrap()]);
    let text = ok(&out);
    assert!(text.contains("Imported 2 capture(s)"), "{text}");
    assert!(text.contains("1 HTTP 404 responses"), "{text}");
    assert!(text.contains("request records"), "{text}");
    let file_sha = sha256_hex(&std::fs::read(&warc).unwrap());
    assert!(text.contains(&file_sha), "{text}");

    for (id, url, fixture_name) in [
        ("EX-C-000001", &urls[0], "policy-v1.html"),
        ("EX-C-000002", &urls[1], "terms.txt"),
    ] {
        let m = manifest_of(&archive, id);
        let served = std::fs::read(fixture(fixture_name)).unwrap();
        assert_eq!(m["method"], "warc-import");
        assert_eq!(m["content"]["sha256"], sha256_hex(&served).as_str(), "{m}");
        assert_eq!(m["document"]["url"], url.as_str());
        let w = &m["warc"];
        assert_eq!(w["file_sha256"], file_sha.as_str());
        assert_eq!(w["file_name"], "site.warc.gz");
        assert_eq!(w["record_type"], "response");
        assert_eq!(w["status"], 200);
        assert_eq!(w["target_uri"], url.as_str());
        // wget writes SHA-1 digests in base32; both were checked.
        assert!(
            w["block_digest"].as_str().unwrap().starts_with("sha1:"),
            "{w}"
        );
        assert!(
            w["payload_digest"].as_str().unwrap().starts_with("sha1:"),
            "{w}"
        );
        assert_eq!(w["payload_digest_over"], "as-transmitted");
        // The record really is at that offset: one gzip member holding a record with that id.
        let bytes = std::fs::read(&warc).unwrap();
        let at = w["offset"].as_u64().unwrap() as usize;
        let mut member = flate2::read::GzDecoder::new(&bytes[at..]);
        let mut head = vec![0u8; 400];
        std::io::Read::read_exact(&mut member, &mut head).unwrap();
        let head = String::from_utf8_lossy(&head);
        assert!(head.contains(w["record_id"].as_str().unwrap()), "{head}");
        // The WARC's own date is kept apart from exhibit's.
        assert!(!w["warc_date"].as_str().unwrap().is_empty());
        // `exhibit cat` gives the served bytes back.
        let cat = exhibit(&archive, &["cat", id]);
        assert!(ok_bytes(&cat) == served);
    }
    // Signed, logged and checkable like any capture.
    ok(&exhibit(&archive, &["fsck", "--full"]));
    let bundle = dir.path().join("imported.tar.zst");
    make_bundle(&archive, &bundle, &["EX-C-000001"]);
    let out = exhibit_verify(&[bundle.to_str().unwrap(), "--key", &fingerprint(&archive)]);
    let said = stdout(&out);
    assert_eq!(code(&out), 0, "{said}");
    assert!(said.contains("Imported  "), "{said}");
    assert!(said.contains("site.warc.gz"), "{said}");
    assert!(
        said.contains("for records imported from a WARC file"),
        "{said}"
    );
}

#[test]
fn an_export_imports_into_another_archive_with_the_same_content_hashes() {
    let server = Server::start(policy_site);
    let (dir, first) = new_archive();
    ok(&exhibit(&first, &["capture", &server.url("/privacy")]));
    ok(&exhibit(&first, &["capture", &server.url("/terms.txt")]));
    let warc = dir.path().join("out.warc.gz");
    ok(&export(
        &first,
        &["--all", "--warc", warc.to_str().unwrap()],
    ));
    let second = dir.path().join("second");
    ok(&exhibit(&second, &["init"]));
    let text = ok(&exhibit(&second, &["import", warc.to_str().unwrap()]));
    assert!(text.contains("Imported 2 capture(s)"), "{text}");
    // exhibit's signed records travel as metadata and are not captures of the pages.
    assert!(text.contains("metadata records"), "{text}");
    for id in ["EX-C-000001", "EX-C-000002"] {
        let a = manifest_of(&first, id);
        let b = manifest_of(&second, id);
        assert_eq!(a["content"]["sha256"], b["content"]["sha256"]);
        assert_eq!(a["document"]["url"], b["document"]["url"]);
        // exhibit writes sha256 digests in hex: checked too.
        assert!(
            b["warc"]["payload_digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        // The HTTP capture travels as the response it received, the file as a resource.
        let kind = if a["method"] == "http" {
            "response"
        } else {
            "resource"
        };
        assert_eq!(b["warc"]["record_type"], kind);
        assert_eq!(b["warc"]["warc_date"], a["captured_at"]);
    }
}

/// A WARC/1.0 response record holding `http` (status line, headers, body), its payload digest
/// `payload_digest` (or none).
fn response_record(id: &str, url: &str, http: &[u8], payload_digest: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\n\
         WARC-Date: 2024-01-02T03:04:05Z\r\nWARC-Target-URI: {url}\r\n\
         Content-Type: application/http; msgtype=response\r\n"
    );
    if let Some(d) = payload_digest {
        r.push_str(&format!("WARC-Payload-Digest: {d}\r\n"));
    }
    r.push_str(&format!("Content-Length: {}\r\n\r\n", http.len()));
    let mut out = r.into_bytes();
    out.extend_from_slice(http);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// `body` in two chunks, with a trailer.
fn chunked(body: &[u8]) -> Vec<u8> {
    let (a, b) = body.split_at(body.len() / 2);
    let mut out = format!("{:x}\r\n", a.len()).into_bytes();
    out.extend_from_slice(a);
    out.extend_from_slice(format!("\r\n{:x};ext=1\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n0\r\nX-Trailer: yes\r\n\r\n");
    out
}

#[test]
fn chunked_and_compressed_payloads_are_undone_and_a_lying_digest_is_a_recorded_refusal() {
    let (dir, archive) = new_archive();
    let html = std::fs::read(fixture("policy-v1.html")).unwrap();
    let body = chunked(&gzip(&html));
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
    let http = [&head[..], &body].concat();
    // The digest over the de-chunked bytes (the WARC spec's reading; wget and warcio differ).
    let dechunked = gzip(&html);
    let good = format!("sha256:{}", sha256_hex(&dechunked));
    let mut file = response_record(
        "00000000-0000-4000-8000-000000000001",
        "https://example.com/privacy",
        &http,
        Some(&good),
    );
    // A second record whose payload digest lies.
    let lie = format!("sha256:{}", sha256_hex(b"something else"));
    let plain = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    file.extend(response_record(
        "00000000-0000-4000-8000-000000000002",
        "https://example.com/terms",
        plain,
        Some(&lie),
    ));
    let warc = dir.path().join("made.warc");
    std::fs::write(&warc, &file).unwrap();

    let out = exhibit(&archive, &["import", warc.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    let said = all_output(&out);
    assert!(said.contains("1 refused"), "{said}");
    assert!(said.contains("record not imported"), "{said}");

    let m = manifest_of(&archive, "EX-C-000001");
    assert_eq!(m["content"]["sha256"], sha256_hex(&html).as_str(), "{m}");
    assert_eq!(m["content"]["media_type"], "text/html");
    assert_eq!(m["warc"]["decoded"], serde_json::json!(["chunked", "gzip"]));
    assert_eq!(m["warc"]["payload_digest_over"], "dechunked");
    assert_eq!(m["warc"]["warc_date"], "2024-01-02T03:04:05Z");
    assert_eq!(m["document"]["title"], "Example Corp Privacy Policy");

    let refused = manifest_of(&archive, "EX-C-000002");
    assert_eq!(refused["type"], "exhibit.capture-failure/v1");
    assert!(refused["content"].is_null());
    let error = refused["error"].as_str().unwrap();
    assert!(error.starts_with("refused: WARC-Payload-Digest"), "{error}");
    ok(&exhibit(&archive, &["fsck", "--full"]));
}

/// The number of leaves in the archive's log.
fn log_size(archive: &Path) -> u64 {
    let v = &json_lines(&exhibit(archive, &["--json", "log", "checkpoint"]))[0];
    v["size"].as_u64().unwrap_or(0)
}

#[test]
fn a_malformed_warc_is_one_line_with_its_offset_and_imports_nothing() {
    let (dir, archive) = new_archive();
    let plain = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    let one = response_record(
        "00000000-0000-4000-8000-000000000001",
        "https://a.example/",
        plain,
        None,
    );
    let two = response_record(
        "00000000-0000-4000-8000-000000000002",
        "https://b.example/",
        plain,
        None,
    );
    let good = [one.clone(), two.clone()].concat();
    let gz = [gzip(&one), gzip(&two)].concat();
    let mut long_header = one.clone();
    long_header.splice(
        9..9,
        format!("X-Long: {}\r\n", "a".repeat(200_000)).into_bytes(),
    );
    let lying_length = [
        one.clone(),
        String::from_utf8_lossy(&two)
            .replace(
                &format!("Content-Length: {}\r\n\r\nHTTP", plain.len()),
                &format!("Content-Length: {}\r\n\r\nHTTP", plain.len() + 7000),
            )
            .into_bytes(),
    ]
    .concat();
    let block_digest = [
        one.clone(),
        String::from_utf8_lossy(&two)
            .replacen(
                "WARC-Date",
                "WARC-Block-Digest: sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nWARC-Date",
                1,
            )
            .into_bytes(),
    ]
    .concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated-gzip.warc.gz",
            gz[..gz.len() - 7].to_vec(),
            "gzip",
        ),
        (
            "duplicate-id.warc",
            [one.clone(), one.clone()].concat(),
            "duplicate WARC-Record-ID",
        ),
        ("long-header.warc", long_header, "header"),
        ("wrong-length.warc", lying_length, "at byte"),
        ("lying-block-digest.warc", block_digest, "WARC-Block-Digest"),
        (
            "garbage-after.warc",
            [good.clone(), b"garbage".to_vec()].concat(),
            "at byte",
        ),
    ];
    assert_eq!(log_size(&archive), 0);
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = exhibit(&archive, &["import", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{name}: {}", all_output(&out));
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(err.contains("at byte"), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains("nothing imported"), "{name}: {err}");
        assert_eq!(log_size(&archive), 0, "{name}: something was imported");
    }
    // The same records, well formed, import.
    let path = dir.path().join("good.warc");
    std::fs::write(&path, &good).unwrap();
    ok(&exhibit(&archive, &["import", path.to_str().unwrap()]));
    assert_eq!(log_size(&archive), 2);
}
