//! The client against a scripted HTTP server on loopback: retries, credential reloads,
//! conditional writes, bounds. (The real stores are exercised by the workspace's integration
//! tests, `tests/s3_client.rs`.)

use super::*;
use crate::sigv4::sha256_hex;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A scripted answer.
enum Reply {
    /// Status, headers, body.
    Full(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Read the request, then say nothing for this long.
    Stall(Duration),
}

fn reply(status: u16, body: &str) -> Reply {
    Reply::Full(status, Vec::new(), body.as_bytes().to_vec())
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    reply(
        status,
        &format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
    )
}

struct Fake {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `replies` in order, one per request, each on its own connection.
fn serve(replies: Vec<Reply>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
            let len: usize = headers
                .get("content-length")
                .map_or(0, |l| l.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            seen2.lock().unwrap().push(Seen {
                method: method.clone(),
                target,
                headers,
                body,
            });
            let mut out = stream;
            match reply {
                Reply::Full(status, headers, body) => {
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = out.write_all(head.as_bytes());
                    if method != "HEAD" {
                        let _ = out.write_all(&body);
                    }
                }
                Reply::Stall(d) => std::thread::sleep(d),
            }
        }
    });
    Fake { port, seen }
}

impl Fake {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn credentials(id: &str) -> Credentials {
    Credentials {
        access_key_id: id.into(),
        secret_access_key: "secret".into(),
        session_token: None,
    }
}

fn client_for(port: u16, prefix: &str) -> Client {
    let location = Location::parse(&format!("s3://bucket/{prefix}")).unwrap();
    let mut config =
        Config::new(&format!("http://127.0.0.1:{port}"), "us-east-1", location).unwrap();
    config.max_attempts = 3;
    config.timeout = Duration::from_secs(5);
    Client::with_reloader(
        config,
        credentials("AKID"),
        Box::new(|| Ok(credentials("AKID"))),
    )
}

#[test]
fn put_once_sends_a_signed_conditional_put_with_its_checksum_and_retries_slowdown() {
    let fake = serve(vec![
        error(503, "SlowDown", "Please reduce your request rate."),
        reply(200, ""),
    ]);
    let client = client_for(fake.port, "p");
    let retention = Retention {
        mode: crate::RetentionMode::Compliance,
        until: DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc),
    };
    let put = client
        .put_once("objects/a b+c.zst", b"hello", Some(&retention))
        .unwrap();
    assert_eq!(put, Put::Created);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    let r = &seen[1];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.target, "/bucket/p/objects/a%20b%2Bc.zst");
    assert_eq!(r.body, b"hello");
    assert_eq!(r.headers["if-none-match"], "*");
    assert_eq!(
        r.headers["x-amz-checksum-sha256"],
        STANDARD.encode(Sha256::digest(b"hello"))
    );
    assert_eq!(r.headers["x-amz-content-sha256"], sha256_hex(b"hello"));
    assert_eq!(r.headers["x-amz-object-lock-mode"], "COMPLIANCE");
    assert_eq!(
        r.headers["x-amz-object-lock-retain-until-date"],
        "2030-01-02T03:04:05Z"
    );
    assert_eq!(r.headers["host"], format!("127.0.0.1:{}", fake.port));
    let auth = &r.headers["authorization"];
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
        "{auth}"
    );
    assert!(
        auth.contains(
            "SignedHeaders=content-type;host;if-none-match;x-amz-checksum-sha256;\
             x-amz-content-sha256;x-amz-date;x-amz-object-lock-mode;\
             x-amz-object-lock-retain-until-date;x-amz-sdk-checksum-algorithm,"
        ),
        "{auth}"
    );
}

#[test]
fn client_errors_are_not_retried_and_name_the_object() {
    let fake = serve(vec![error(403, "AccessDenied", "Access Denied")]);
    let client = client_for(fake.port, "p");
    let e = client.put_once("k", b"x", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "s3://bucket/p/k: HTTP 403 AccessDenied: Access Denied"
    );
    assert_eq!(fake.seen().len(), 1);
}

#[test]
fn server_errors_are_retried_up_to_max_attempts() {
    let fake = serve(vec![
        error(500, "InternalError", "oops"),
        reply(502, "<html>bad gateway</html>"),
        error(500, "InternalError", "oops"),
    ]);
    let client = client_for(fake.port, "");
    let e = client.head("k").unwrap_err();
    assert!(matches!(e, S3Error::Unavailable { attempts: 3, .. }), "{e}");
    assert!(e.to_string().ends_with("after 3 attempts"), "{e}");
    assert_eq!(fake.seen().len(), 3);
}

#[test]
fn expired_credentials_are_reloaded_once() {
    let fake = serve(vec![
        error(403, "ExpiredToken", "The provided token has expired."),
        reply(200, ""),
    ]);
    let location = Location::parse("s3://bucket").unwrap();
    let config = Config::new(
        &format!("http://127.0.0.1:{}", fake.port),
        "us-east-1",
        location,
    )
    .unwrap();
    let reloads = Arc::new(AtomicUsize::new(0));
    let r = reloads.clone();
    let client = Client::with_reloader(
        config,
        credentials("OLD"),
        Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(credentials("NEW"))
        }),
    );
    let other = client.clone();
    assert_eq!(client.put_once("k", b"x", None).unwrap(), Put::Created);
    let seen = fake.seen();
    assert!(seen[0].headers["authorization"].contains("Credential=OLD/"));
    assert!(seen[1].headers["authorization"].contains("Credential=NEW/"));
    assert_eq!(reloads.load(Ordering::SeqCst), 1);
    // Clones share the fresh credentials.
    assert_eq!(other.credentials.read().unwrap().access_key_id, "NEW");

    // Unchanged credentials: the 403 stands.
    let fake = serve(vec![
        error(403, "InvalidAccessKeyId", "no such key id"),
        reply(200, ""),
    ]);
    let client = client_for(fake.port, "");
    let e = client.put_once("k", b"x", None).unwrap_err();
    assert!(e.to_string().contains("HTTP 403 InvalidAccessKeyId"), "{e}");
    assert_eq!(fake.seen().len(), 1);
}

#[test]
fn a_412_is_resolved_by_comparing_the_stored_bytes() {
    let etag = vec![("ETag", "\"e\"".to_string())];
    let fake = serve(vec![
        error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions",
        ),
        Reply::Full(200, etag.clone(), b"same".to_vec()),
        error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions",
        ),
        Reply::Full(200, etag.clone(), b"diff".to_vec()),
        error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions",
        ),
        Reply::Full(200, etag, b"longer".to_vec()),
    ]);
    let client = client_for(fake.port, "p");
    assert_eq!(
        client.put_once("k", b"same", None).unwrap(),
        Put::AlreadyThere
    );
    let e = client.put_once("k", b"same", None).unwrap_err();
    assert!(matches!(e, S3Error::Conflict { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "s3://bucket/p/k: the store already holds different bytes under this key \
         (write-once violated)"
    );
    let e = client.put_once("k", b"same", None).unwrap_err();
    assert!(matches!(e, S3Error::Conflict { .. }), "{e}");
    let seen = fake.seen();
    assert_eq!(seen[1].method, "GET");
    assert_eq!(seen[1].target, "/bucket/p/k");
}

#[test]
fn put_if_reports_lost_races() {
    let fake = serve(vec![
        Reply::Full(200, vec![("ETag", "\"new\"".into())], Vec::new()),
        error(412, "PreconditionFailed", "x"),
        error(409, "ConditionalRequestConflict", "x"),
        error(404, "NoSuchKey", "x"),
        error(400, "InvalidRequest", "x"),
    ]);
    let client = client_for(fake.port, "");
    assert_eq!(
        client.put_if("head", b"1", Some("\"old\""), None).unwrap(),
        Ok("new".to_string())
    );
    assert_eq!(
        client.put_if("head", b"1", Some("old"), None).unwrap(),
        Err(Precondition)
    );
    assert_eq!(
        client.put_if("head", b"1", None, None).unwrap(),
        Err(Precondition)
    );
    assert_eq!(
        client.put_if("head", b"1", Some("old"), None).unwrap(),
        Err(Precondition)
    );
    assert!(client.put_if("head", b"1", None, None).is_err());
    let seen = fake.seen();
    assert_eq!(seen[0].headers["if-match"], "\"old\"");
    assert_eq!(seen[1].headers["if-match"], "\"old\"");
    assert_eq!(seen[2].headers["if-none-match"], "*");
}

#[test]
fn gets_are_bounded_and_checked() {
    let sha = STANDARD.encode(Sha256::digest(b"0123456789"));
    let fake = serve(vec![
        Reply::Full(200, vec![("ETag", "\"e\"".into())], b"0123456789".to_vec()),
        Reply::Full(200, vec![("ETag", "\"e\"".into())], b"0123456789".to_vec()),
        error(404, "NoSuchKey", "The specified key does not exist."),
        error(404, "NoSuchBucket", "The specified bucket does not exist"),
        Reply::Full(
            200,
            vec![
                ("ETag", "\"e\"".into()),
                ("x-amz-checksum-sha256", sha.clone()),
            ],
            b"0123456789".to_vec(),
        ),
        Reply::Full(
            200,
            vec![
                ("ETag", "\"e\"".into()),
                ("x-amz-checksum-sha256", sha.clone()),
            ],
            b"0123456780".to_vec(),
        ),
        Reply::Full(
            200,
            vec![("ETag", "\"e\"".into()), ("x-amz-checksum-sha256", sha)],
            b"0123456780".to_vec(),
        ),
    ]);
    let mut client = client_for(fake.port, "");
    let e = client.get("k", 9).unwrap_err();
    assert!(matches!(e, S3Error::TooLarge { limit: 9, .. }), "{e}");
    assert_eq!(
        client.get("k", 10).unwrap(),
        Some((b"0123456789".to_vec(), "e".to_string()))
    );
    assert_eq!(client.get("k", 10).unwrap(), None);
    let e = client.get("k", 10).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(client.get("k", 10).unwrap().is_some());
    Arc::get_mut(&mut client.shared)
        .unwrap()
        .config
        .max_attempts = 2;
    let e = client.get("k", 10).unwrap_err();
    assert!(
        e.to_string()
            .contains("do not match the object's stored SHA-256 checksum after 2 attempts"),
        "{e}"
    );
    assert_eq!(fake.seen()[0].headers["x-amz-checksum-mode"], "ENABLED");
}

#[test]
fn get_to_file_writes_whole_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let fake = serve(vec![
        Reply::Full(200, vec![("ETag", "\"e\"".into())], b"content".to_vec()),
        error(404, "NoSuchKey", "x"),
        Reply::Full(200, vec![("ETag", "\"e\"".into())], vec![b'x'; 100]),
    ]);
    let client = client_for(fake.port, "");
    assert!(client.get_to_file("k", &path, 100).unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), b"content");
    let other = dir.path().join("missing.bin");
    assert!(!client.get_to_file("k", &other, 100).unwrap());
    assert!(!other.exists());
    assert!(client.get_to_file("k", &other, 99).is_err());
    assert!(!other.exists());
    // Only the one file: no temporary files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn head_reads_retention() {
    let fake = serve(vec![Reply::Full(
        200,
        vec![
            ("ETag", "\"abc-3\"".into()),
            ("Last-Modified", "Mon, 07 Dec 2026 07:26:08 GMT".into()),
            ("x-amz-object-lock-mode", "COMPLIANCE".into()),
            (
                "x-amz-object-lock-retain-until-date",
                "2026-12-08T07:26:49.000Z".into(),
            ),
        ],
        b"12345".to_vec(),
    )]);
    let client = client_for(fake.port, "");
    let info = client.head("k").unwrap().unwrap();
    assert_eq!(info.size, 5);
    assert_eq!(info.etag, "abc-3");
    assert_eq!(info.retention_mode.as_deref(), Some("COMPLIANCE"));
    assert_eq!(
        info.retain_until.unwrap().to_rfc3339(),
        "2026-12-08T07:26:49+00:00"
    );
    assert_eq!(
        info.last_modified.unwrap().to_rfc3339(),
        "2026-12-07T07:26:08+00:00"
    );
}

#[test]
fn listings_follow_every_page() {
    let page1 = r#"<ListBucketResult><IsTruncated>true</IsTruncated>
<Contents><Key>p/b</Key><Size>2</Size><ETag>"e2"</ETag></Contents>
<Contents><Key>p/a</Key><Size>1</Size><ETag>"e1"</ETag></Contents>
<NextContinuationToken>t/1+</NextContinuationToken></ListBucketResult>"#;
    let page2 = r#"<ListBucketResult><IsTruncated>false</IsTruncated>
<Contents><Key>p/c</Key><Size>3</Size><ETag>"e3"</ETag></Contents></ListBucketResult>"#;
    let fake = serve(vec![reply(200, page1), reply(200, page2)]);
    let client = client_for(fake.port, "p");
    let listed = client.list("", Some("0")).unwrap();
    let keys: Vec<_> = listed.iter().map(|l| (l.key.as_str(), l.size)).collect();
    assert_eq!(keys, [("a", 1), ("b", 2), ("c", 3)]);
    assert_eq!(listed[0].etag, "e1");
    let seen = fake.seen();
    assert_eq!(
        seen[0].target,
        "/bucket?list-type=2&max-keys=1000&prefix=p%2F&start-after=p%2F0"
    );
    assert_eq!(
        seen[1].target,
        "/bucket?continuation-token=t%2F1%2B&list-type=2&max-keys=1000&prefix=p%2F"
    );
}

#[test]
fn unreachable_stores_are_retried_then_reported() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut client = client_for(port, "");
    Arc::get_mut(&mut client.shared)
        .unwrap()
        .config
        .max_attempts = 2;
    let e = client.get("k", 10).unwrap_err();
    assert_eq!(
        e.to_string(),
        "s3://bucket/k: connection refused after 2 attempts"
    );

    let fake = serve(vec![
        Reply::Stall(Duration::from_secs(2)),
        Reply::Stall(Duration::from_secs(2)),
    ]);
    let location = Location::parse("s3://bucket").unwrap();
    let mut config = Config::new(
        &format!("http://127.0.0.1:{}", fake.port),
        "us-east-1",
        location,
    )
    .unwrap();
    config.timeout = Duration::from_millis(300);
    config.max_attempts = 2;
    let client = Client::new(config, credentials("AKID"));
    let e = client.get("k", 10).unwrap_err();
    assert!(e.to_string().starts_with("s3://bucket/k: timed out"), "{e}");
    assert!(e.to_string().ends_with("after 2 attempts"), "{e}");
}

#[test]
fn clients_are_shared_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    fn sendable<T: Send + Sync + 'static>() {}
    shareable::<Client>();
    sendable::<S3Error>();
}

#[test]
fn bad_keys_are_refused_before_sending() {
    let client = client_for(1, "p");
    for key in ["", "/k", "k/", "a//b", "a/../b", "a\nb"] {
        let e = client.put_once(key, b"x", None).unwrap_err();
        assert!(matches!(e, S3Error::InvalidKey { .. }), "{key:?}: {e}");
    }
}

/// A 17 MiB file: three parts (8 + 8 + 1 MiB).
fn big_file(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..(17u32 << 20)).map(|i| (i % 251) as u8).collect();
    let path = dir.join("big.bin");
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

fn initiated() -> Reply {
    reply(
        200,
        "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key>\
         <UploadId>up/1</UploadId></InitiateMultipartUploadResult>",
    )
}

fn part_ok(n: u32) -> Reply {
    Reply::Full(200, vec![("ETag", format!("\"part{n}\""))], Vec::new())
}

#[test]
fn a_failed_multipart_upload_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = big_file(dir.path());
    let fake = serve(vec![
        Reply::Full(404, Vec::new(), Vec::new()),
        initiated(),
        part_ok(1),
        error(400, "InvalidArgument", "bad part"),
        Reply::Full(204, Vec::new(), Vec::new()),
    ]);
    let client = client_for(fake.port, "p");
    let e = client.put_file_once("k", &path, None).unwrap_err();
    assert!(e.to_string().contains("HTTP 400 InvalidArgument"), "{e}");
    let seen = fake.seen();
    assert_eq!(seen[0].method, "HEAD");
    assert_eq!(
        (seen[1].method.as_str(), seen[1].target.as_str()),
        ("POST", "/bucket/p/k?uploads=")
    );
    assert_eq!(seen[1].headers["x-amz-checksum-algorithm"], "SHA256");
    assert_eq!(seen[2].target, "/bucket/p/k?partNumber=1&uploadId=up%2F1");
    assert_eq!(seen[2].body, &data[..8 << 20]);
    assert_eq!(
        seen[2].headers["x-amz-checksum-sha256"],
        STANDARD.encode(Sha256::digest(&data[..8 << 20]))
    );
    assert_eq!(
        seen[2].headers["x-amz-content-sha256"],
        sha256_hex(&data[..8 << 20])
    );
    assert_eq!(
        (seen[4].method.as_str(), seen[4].target.as_str()),
        ("DELETE", "/bucket/p/k?uploadId=up%2F1")
    );
}

#[test]
fn a_multipart_upload_completes_once_and_compares_on_412() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = big_file(dir.path());
    let done =
        "<CompleteMultipartUploadResult><ETag>\"abc-3\"</ETag></CompleteMultipartUploadResult>";
    let fake = serve(vec![
        // First upload: an error inside a 200 is retried, then it completes.
        Reply::Full(404, Vec::new(), Vec::new()),
        initiated(),
        part_ok(1),
        part_ok(2),
        part_ok(3),
        reply(
            200,
            "<Error><Code>InternalError</Code><Message>try again</Message></Error>",
        ),
        reply(200, done),
        Reply::Full(200, vec![("ETag", "\"abc-3\"".into())], Vec::new()),
        // Second: someone else completed first (412): abort, then compare.
        Reply::Full(404, Vec::new(), Vec::new()),
        initiated(),
        part_ok(1),
        part_ok(2),
        part_ok(3),
        error(412, "PreconditionFailed", "x"),
        Reply::Full(204, Vec::new(), Vec::new()),
        Reply::Full(200, vec![("ETag", "\"abc-3\"".into())], data.clone()),
    ]);
    let client = client_for(fake.port, "p");
    assert_eq!(
        client.put_file_once("k", &path, None).unwrap(),
        Put::Created
    );
    assert_eq!(
        client.put_file_once("k", &path, None).unwrap(),
        Put::AlreadyThere
    );
    let seen = fake.seen();
    let complete = &seen[6];
    assert_eq!(complete.method, "POST");
    assert_eq!(complete.target, "/bucket/p/k?uploadId=up%2F1");
    assert_eq!(complete.headers["if-none-match"], "*");
    let body = String::from_utf8(complete.body.clone()).unwrap();
    assert!(
        body.contains("<PartNumber>3</PartNumber><ETag>&quot;part3&quot;</ETag>"),
        "{body}"
    );
    let last = STANDARD.encode(Sha256::digest(&data[16 << 20..]));
    assert!(
        body.contains(&format!("<ChecksumSHA256>{last}</ChecksumSHA256>")),
        "{body}"
    );
    assert_eq!(seen[7].method, "HEAD");
    assert_eq!(seen[12].body.len(), 1 << 20);
    assert_eq!(seen[14].method, "DELETE");
    assert_eq!(seen[15].method, "GET");
    assert_eq!(seen.len(), 16);
}

/// A store that lets two conditional completions both succeed: the one replaced finds out.
#[test]
fn a_multipart_upload_replaced_right_after_completing_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = big_file(dir.path());
    let done =
        "<CompleteMultipartUploadResult><ETag>\"abc-3\"</ETag></CompleteMultipartUploadResult>";
    let mut other = data.clone();
    other[5] ^= 1;
    let fake = serve(vec![
        Reply::Full(404, Vec::new(), Vec::new()),
        initiated(),
        part_ok(1),
        part_ok(2),
        part_ok(3),
        reply(200, done),
        Reply::Full(200, vec![("ETag", "\"def-3\"".into())], vec![0; 17 << 20]),
        Reply::Full(200, vec![("ETag", "\"def-3\"".into())], other),
    ]);
    let client = client_for(fake.port, "p");
    let e = client.put_file_once("k", &path, None).unwrap_err();
    assert!(matches!(e, S3Error::Conflict { .. }), "{e}");
}
