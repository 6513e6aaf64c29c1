//! The S3 client (`exhibit-s3`) against real stores on loopback, SeaweedFS (`weed mini`) and
//! moto, each check run on both (SKIP without the virtualenv in `EXHIBIT_S3_VENV`). What the
//! client wrote is read back with boto3, an independent client.
//!
//! The stores differ on features the archive's design relies on; [`Features`] records what
//! each does, and the checks assert it, so a store that changes shows up here.

use std::path::Path;
use std::sync::{Arc, Barrier};

use chrono::{DurationRound, TimeDelta, Utc};
use exhibit_s3::{MULTIPART_THRESHOLD, Precondition, Put, Retention, RetentionMode, S3Error};
use sha2::{Digest, Sha256};

use crate::common::s3::S3Server;

/// What a store does with the features the archive relies on.
struct Features {
    /// It verifies `x-amz-checksum-sha256` against the body (moto stores the value unchecked).
    checks_checksums: bool,
    /// It verifies signatures (moto accepts any).
    checks_signatures: bool,
    /// Object Lock headers on CreateMultipartUpload reach the object (moto drops them).
    locks_multipart_uploads: bool,
    /// Concurrent CompleteMultipartUpload calls with `If-None-Match: *` on one key: exactly one
    /// succeeds (AWS). SeaweedFS 4.48 lets several succeed, the last replacing the others; so
    /// does moto when the parts are large (its check and its write are not one step).
    atomic_multipart_completion: bool,
}

const SEAWEEDFS: Features = Features {
    checks_checksums: true,
    checks_signatures: true,
    locks_multipart_uploads: true,
    atomic_multipart_completion: false,
};

const MOTO: Features = Features {
    checks_checksums: false,
    checks_signatures: false,
    locks_multipart_uploads: false,
    atomic_multipart_completion: false,
};

/// Runs each check as two tests, `check::seaweedfs` and `check::moto`, each on its own server.
macro_rules! on_both_stores {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[test]
            fn seaweedfs() {
                if let Some(server) = crate::common::s3::S3Server::seaweedfs() {
                    super::$check(&server, &super::SEAWEEDFS);
                }
            }
            #[test]
            fn moto() {
                if let Some(server) = crate::common::s3::S3Server::moto() {
                    super::$check(&server, &super::MOTO);
                }
            }
        }
    )*};
}

on_both_stores!(
    round_trip,
    pagination,
    checksums,
    compare_and_swap,
    object_lock,
    multipart,
    torn_multipart,
);

fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// `len` bytes that do not repeat (so that a misplaced part shows).
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(counter.to_le_bytes());
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// A retention a day long, on a whole second (what the stores keep).
fn one_day() -> Retention {
    let until = (Utc::now() + TimeDelta::days(1))
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap();
    Retention {
        mode: RetentionMode::Compliance,
        until,
    }
}

fn round_trip(server: &S3Server, features: &Features) {
    server.create_bucket("roundtrip", false);
    let client = server.client("s3://roundtrip/archive/one");
    assert_eq!(client.location().to_url(), "s3://roundtrip/archive/one");
    let key = "objects/ab/a b+c&d=é.zst";
    let data = pseudo_random(100_000, 1);

    assert_eq!(client.put_once(key, &data, None).unwrap(), Put::Created);
    // The same bytes again: a retried write that had landed.
    assert_eq!(
        client.put_once(key, &data, None).unwrap(),
        Put::AlreadyThere
    );
    // Different bytes: an alarm, and the old bytes stay.
    let e = client.put_once(key, b"other bytes", None).unwrap_err();
    assert!(matches!(e, S3Error::Conflict { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "s3://roundtrip/archive/one/{key}: the store already holds different bytes under \
             this key (write-once violated)"
        )
    );
    let stored = server.boto3_ok(&format!(
        "body = s3.get_object(Bucket='roundtrip', Key={:?})['Body'].read()\n\
         print(hashlib.sha256(body).hexdigest(), len(body))",
        format!("archive/one/{key}")
    ));
    assert_eq!(
        stored,
        format!("{} {}", hex::encode(sha256(&data)), data.len())
    );

    let (got, etag) = client.get(key, 1 << 20).unwrap().unwrap();
    assert_eq!(got, data);
    let info = client.head(key).unwrap().unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(info.etag, etag);
    assert!(!etag.starts_with('"') && !etag.contains('-'), "{etag}");
    assert_eq!(info.retention_mode, None);
    let age = Utc::now() - info.last_modified.unwrap();
    assert!(age.num_seconds().abs() < 300, "{:?}", info.last_modified);

    // Bounded reads refuse, not truncate.
    let e = client.get(key, 99_999).unwrap_err();
    assert!(matches!(e, S3Error::TooLarge { limit: 99_999, .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.zst");
    assert!(client.get_to_file(key, &file, 1 << 20).unwrap());
    assert_eq!(std::fs::read(&file).unwrap(), data);
    assert!(
        client
            .get_to_file(key, &dir.path().join("small"), 10)
            .is_err()
    );
    assert!(!dir.path().join("small").exists());

    // Absent keys.
    assert_eq!(client.get("objects/none", 10).unwrap(), None);
    assert_eq!(client.head("objects/none").unwrap(), None);
    assert!(!client.get_to_file("objects/none", &file, 10).unwrap());
    // A missing bucket is an error, not an absent key.
    let e = server
        .client("s3://no-such-bucket")
        .get("k", 10)
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");

    // Listing: relative keys, sorted, only under the prefix (not "archive/one2").
    client.put_once("objects/cd/x", b"x", None).unwrap();
    client.put_once("log/1", b"1", None).unwrap();
    server.boto3_ok(
        "s3.put_object(Bucket='roundtrip', Key='archive/one2/objects/zz', Body=b'z')\n\
         s3.put_object(Bucket='roundtrip', Key='archive/other', Body=b'z')",
    );
    let keys = |l: Vec<exhibit_s3::Listed>| l.into_iter().map(|l| l.key).collect::<Vec<_>>();
    assert_eq!(
        keys(client.list("", None).unwrap()),
        ["log/1", "objects/ab/a b+c&d=é.zst", "objects/cd/x"]
    );
    assert_eq!(
        keys(client.list("objects/", Some("objects/ab/z")).unwrap()),
        ["objects/cd/x"]
    );
    let listed = client.list("log/", None).unwrap();
    assert_eq!((listed[0].size, listed[0].etag.len()), (1, 32));
    assert!(client.list("nothing/", None).unwrap().is_empty());
    // A client at the bucket's root sees every key.
    let root = server.client("s3://roundtrip");
    assert_eq!(root.list("", None).unwrap().len(), 5);

    // Credentials the store does not accept.
    let location = exhibit_s3::Location::parse("s3://roundtrip/archive/one").unwrap();
    let config = exhibit_s3::Config::new(&server.endpoint(), "us-east-1", location).unwrap();
    let mut wrong = server.credentials();
    wrong.secret_access_key.push('x');
    let result = exhibit_s3::Client::new(config, wrong).put_once("objects/wrong", b"x", None);
    if features.checks_signatures {
        let e = result.unwrap_err();
        assert!(
            e.to_string().contains("HTTP 403 SignatureDoesNotMatch"),
            "{e}"
        );
    } else {
        assert_eq!(result.unwrap(), Put::Created);
    }
}

/// More than one page of ListObjectsV2 (1,000 keys a page).
fn pagination(server: &S3Server, _: &Features) {
    server.create_bucket("pages", false);
    let client = server.client("s3://pages/p");
    let n = 1_005;
    let threads = 4;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let client = client.clone();
            scope.spawn(move || {
                for i in (t..n).step_by(threads) {
                    let key = format!("k/{i:05}");
                    assert_eq!(
                        client.put_once(&key, key.as_bytes(), None).unwrap(),
                        Put::Created
                    );
                }
            });
        }
    });
    let listed = client.list("k/", None).unwrap();
    assert_eq!(listed.len(), n);
    for (i, l) in listed.iter().enumerate() {
        assert_eq!(l.key, format!("k/{i:05}"));
        assert_eq!(l.size, 7);
    }
    let after = client.list("k/", Some("k/00999")).unwrap();
    assert_eq!(after.len(), 5);
    assert_eq!(after[0].key, "k/01000");
}

/// The store checks `x-amz-checksum-sha256` (or not), and the client's reaches it.
fn checksums(server: &S3Server, features: &Features) {
    server.create_bucket("sums", false);
    let out = server.boto3_ok(
        "wrong = base64.b64encode(hashlib.sha256(b'other').digest()).decode()\n\
         try:\n\
         \x20   s3.put_object(Bucket='sums', Key='p/bad', Body=b'data', ChecksumSHA256=wrong)\n\
         \x20   print('ACCEPTED')\n\
         except botocore.exceptions.ClientError as e:\n\
         \x20   print('REFUSED', error_code(e))",
    );
    if features.checks_checksums {
        assert_eq!(out, "REFUSED BadDigest");
        let client = server.client("s3://sums/p");
        assert_eq!(client.head("bad").unwrap(), None);
    } else {
        assert_eq!(
            out, "ACCEPTED",
            "this store now checks checksums: update Features"
        );
    }

    // What the client sends is what the store keeps as the object's checksum: the base64
    // SHA-256 of the bytes, as boto3 computes it.
    let client = server.client("s3://sums/p");
    let data = pseudo_random(5000, 2);
    client.put_once("good", &data, None).unwrap();
    client
        .put_if("pointer", &data, None, None)
        .unwrap()
        .unwrap();
    for key in ["p/good", "p/pointer"] {
        let out = server.boto3_ok(&format!(
            "h = s3.get_object(Bucket='sums', Key='{key}', ChecksumMode='ENABLED')\n\
             body = h['Body'].read()\n\
             print(h.get('ChecksumSHA256') == base64.b64encode(hashlib.sha256(body).digest()).decode(), len(body))"
        ));
        assert_eq!(out, "True 5000", "{key}");
    }
}

/// `put_if`: one writer wins each round, the others get `Precondition`.
fn compare_and_swap(server: &S3Server, _: &Features) {
    server.create_bucket("cas", false);
    let client = server.client("s3://cas/p");
    let first = client.put_if("HEAD", b"v0", None, None).unwrap().unwrap();
    assert_eq!(
        client.put_if("HEAD", b"again", None, None).unwrap(),
        Err(Precondition)
    );
    assert_eq!(client.get("HEAD", 100).unwrap().unwrap().1, first);

    let writers = 4;
    let mut etag = first;
    for round in 0..10 {
        let barrier = Arc::new(Barrier::new(writers));
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..writers)
                .map(|w| {
                    let (client, barrier, etag) = (client.clone(), barrier.clone(), etag.clone());
                    scope.spawn(move || {
                        let body = format!("round {round} writer {w}");
                        barrier.wait();
                        let r = client.put_if("HEAD", body.as_bytes(), Some(&etag), None);
                        (body, r.unwrap())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let (body, new_etag) = winners[0];
        let (stored, stored_etag) = client.get("HEAD", 100).unwrap().unwrap();
        assert_eq!(stored, body.as_bytes(), "round {round}");
        assert_eq!(&Ok(stored_etag.clone()), new_etag);
        etag = stored_etag;
    }
    // A stale ETag loses; so does an expected object that is not there.
    assert_eq!(
        client
            .put_if(
                "HEAD",
                b"late",
                Some("0123456789abcdef0123456789abcdef"),
                None
            )
            .unwrap(),
        Err(Precondition)
    );
    assert_eq!(
        client.put_if("NONE", b"x", Some(&etag), None).unwrap(),
        Err(Precondition)
    );
}

/// Objects under Compliance retention: not deletable, retention visible.
fn object_lock(server: &S3Server, _: &Features) {
    server.create_bucket("locked", true);
    let client = server.client("s3://locked/p");
    let retention = one_day();
    let data = pseudo_random(2000, 3);
    assert_eq!(
        client
            .put_once("evidence", &data, Some(&retention))
            .unwrap(),
        Put::Created
    );
    let info = client.head("evidence").unwrap().unwrap();
    assert_eq!(info.retention_mode.as_deref(), Some("COMPLIANCE"));
    assert_eq!(info.retain_until, Some(retention.until));

    // Deleting the version is refused; the bytes stay.
    let out = server.boto3_ok(
        "v = s3.head_object(Bucket='locked', Key='p/evidence')['VersionId']\n\
         try:\n\
         \x20   s3.delete_object(Bucket='locked', Key='p/evidence', VersionId=v)\n\
         \x20   print('DELETED')\n\
         except botocore.exceptions.ClientError as e:\n\
         \x20   print('REFUSED', error_code(e))\n\
         body = s3.get_object(Bucket='locked', Key='p/evidence', VersionId=v)['Body'].read()\n\
         print(hashlib.sha256(body).hexdigest())",
    );
    assert_eq!(
        out,
        format!("REFUSED AccessDenied\n{}", hex::encode(sha256(&data)))
    );
    // Write-once holds in a versioned bucket too.
    assert_eq!(
        client
            .put_once("evidence", &data, Some(&retention))
            .unwrap(),
        Put::AlreadyThere
    );
    let e = client
        .put_once("evidence", b"x", Some(&retention))
        .unwrap_err();
    assert!(matches!(e, S3Error::Conflict { .. }), "{e}");

    // Retention in a bucket without Object Lock is refused, not silently dropped.
    server.create_bucket("unlocked", false);
    let e = server
        .client("s3://unlocked/p")
        .put_once("evidence", &data, Some(&retention))
        .unwrap_err();
    assert!(matches!(e, S3Error::Http { status: 400, .. }), "{e}");
}

/// Files over the threshold go as multipart uploads, streamed.
fn multipart(server: &S3Server, features: &Features) {
    server.create_bucket("multi", false);
    let client = server.client("s3://multi/p");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    };
    let big = pseudo_random(40 << 20, 4);
    let big_path = write("big.bin", &big);
    assert!(big.len() as u64 > MULTIPART_THRESHOLD);
    assert_eq!(
        client.put_file_once("big.bin", &big_path, None).unwrap(),
        Put::Created
    );
    // Five parts of 8 MiB: the multipart ETag says so.
    let info = client.head("big.bin").unwrap().unwrap();
    assert_eq!(info.size, 40 << 20);
    assert!(info.etag.ends_with("-5"), "{}", info.etag);
    let out = server.boto3_ok(
        "h = s3.head_object(Bucket='multi', Key='p/big.bin', PartNumber=1)\n\
         print(h['PartsCount'], h['ContentLength'])\n\
         body = s3.get_object(Bucket='multi', Key='p/big.bin')['Body'].read()\n\
         print(hashlib.sha256(body).hexdigest())\n\
         print(len(s3.list_multipart_uploads(Bucket='multi').get('Uploads', [])))",
    );
    assert_eq!(
        out,
        format!("5 {}\n{}\n0", 8 << 20, hex::encode(sha256(&big)))
    );
    let copy = dir.path().join("copy.bin");
    assert!(client.get_to_file("big.bin", &copy, 40 << 20).unwrap());
    assert!(std::fs::read(&copy).unwrap() == big);

    // Again: already there; different bytes of the same size: a conflict.
    assert_eq!(
        client.put_file_once("big.bin", &big_path, None).unwrap(),
        Put::AlreadyThere
    );
    let mut other = big.clone();
    other[30 << 20] ^= 1;
    let other_path = write("other.bin", &other);
    let e = client
        .put_file_once("big.bin", &other_path, None)
        .unwrap_err();
    assert!(matches!(e, S3Error::Conflict { .. }), "{e}");

    // Small files go in one PUT.
    let small = pseudo_random(1 << 20, 5);
    let small_path = write("small.bin", &small);
    assert_eq!(
        client
            .put_file_once("small.bin", &small_path, None)
            .unwrap(),
        Put::Created
    );
    assert!(
        !client
            .head("small.bin")
            .unwrap()
            .unwrap()
            .etag
            .contains('-')
    );
    assert_eq!(
        client
            .put_file_once("small.bin", &small_path, None)
            .unwrap(),
        Put::AlreadyThere
    );
    let e = client.put_file_once("missing", Path::new("/nonexistent/file"), None);
    assert!(matches!(e, Err(S3Error::Io { .. })));

    // Two uploaders of one key at once: one whole object, never a mix. Where the store
    // serialises conditional completions, the other uploader finds the object (identical
    // bytes) or refuses (different bytes). Where it does not (both stores here), both may
    // "succeed"; the client then only promises that whoever's bytes are stored was told
    // Created, and that an uploader who sees its object replaced says Conflict.
    for (second, same) in [(&big_path, true), (&other_path, false)] {
        let key = format!("race-{same}.bin");
        let barrier = Barrier::new(2);
        let paths = [&big_path, second];
        let results: Vec<Result<Put, S3Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = paths
                .into_iter()
                .map(|path| {
                    let (client, barrier, key) = (client.clone(), &barrier, &key);
                    scope.spawn(move || {
                        barrier.wait();
                        client.put_file_once(key, path, None)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        eprintln!("{:?}, two uploads of {key}: {results:?}", server.kind);
        let stored = client.get(&key, 40 << 20).unwrap().unwrap().0;
        assert!(stored == big || stored == other, "a mix of both uploads");
        let created = results
            .iter()
            .filter(|r| matches!(r, Ok(Put::Created)))
            .count();
        if same {
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            assert!(created >= 1, "{results:?}");
            if features.atomic_multipart_completion {
                assert_eq!(created, 1, "{results:?}");
            }
        } else {
            let winner = if stored == big { 0 } else { 1 };
            assert!(matches!(results[winner], Ok(Put::Created)), "{results:?}");
            let loser = &results[1 - winner];
            if features.atomic_multipart_completion {
                assert!(
                    matches!(loser, Err(S3Error::Conflict { .. })),
                    "{results:?}"
                );
            } else {
                assert!(
                    matches!(loser, Ok(Put::Created) | Err(S3Error::Conflict { .. })),
                    "{results:?}"
                );
            }
        }
    }
    let open =
        server.boto3_ok("print(len(s3.list_multipart_uploads(Bucket='multi').get('Uploads', [])))");
    assert_eq!(open, "0");

    // With Object Lock: the retention goes on CreateMultipartUpload.
    server.create_bucket("multi-locked", true);
    let locked = server.client("s3://multi-locked/p");
    let retention = one_day();
    assert_eq!(
        locked
            .put_file_once("big.bin", &big_path, Some(&retention))
            .unwrap(),
        Put::Created
    );
    let info = locked.head("big.bin").unwrap().unwrap();
    assert!(info.etag.ends_with("-5"), "{}", info.etag);
    if features.locks_multipart_uploads {
        assert_eq!(info.retention_mode.as_deref(), Some("COMPLIANCE"));
        assert_eq!(info.retain_until, Some(retention.until));
    } else {
        assert_eq!(
            info.retention_mode, None,
            "this store now locks multipart uploads: update Features"
        );
    }
}

/// A multipart upload that is never completed is not an object.
fn torn_multipart(server: &S3Server, _: &Features) {
    server.create_bucket("torn", false);
    let out = server.boto3_ok(
        "u = s3.create_multipart_upload(Bucket='torn', Key='p/torn.bin')['UploadId']\n\
         s3.upload_part(Bucket='torn', Key='p/torn.bin', UploadId=u, PartNumber=1, Body=b'x' * (5 << 20))\n\
         print(len(s3.list_multipart_uploads(Bucket='torn')['Uploads']))",
    );
    assert_eq!(out, "1");
    let client = server.client("s3://torn/p");
    assert_eq!(client.head("torn.bin").unwrap(), None);
    // What put_file_once relies on: completing an upload over an existing key with
    // If-None-Match: * is refused, and the old bytes stay.
    let out = server.boto3_ok(
        "s3.put_object(Bucket='torn', Key='p/taken', Body=b'old')\n\
         u = s3.create_multipart_upload(Bucket='torn', Key='p/taken')['UploadId']\n\
         e = s3.upload_part(Bucket='torn', Key='p/taken', UploadId=u, PartNumber=1, Body=b'new')['ETag']\n\
         try:\n\
         \x20   s3.complete_multipart_upload(Bucket='torn', Key='p/taken', UploadId=u, IfNoneMatch='*',\n\
         \x20       MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': e}]})\n\
         \x20   print('COMPLETED')\n\
         except botocore.exceptions.ClientError as err:\n\
         \x20   print('REFUSED', error_code(err))\n\
         s3.abort_multipart_upload(Bucket='torn', Key='p/taken', UploadId=u)\n\
         print(s3.get_object(Bucket='torn', Key='p/taken')['Body'].read().decode())",
    );
    assert_eq!(out, "REFUSED PreconditionFailed\nold");
    assert_eq!(client.list("", None).unwrap().len(), 1);
    server.boto3_ok("s3.delete_object(Bucket='torn', Key='p/taken')");
    assert_eq!(client.get("torn.bin", 10 << 20).unwrap(), None);
    assert!(client.list("", None).unwrap().is_empty());
    // The key is free for a write-once put.
    assert_eq!(
        client.put_once("torn.bin", b"whole", None).unwrap(),
        Put::Created
    );
    assert_eq!(
        client.get("torn.bin", 100).unwrap().unwrap().0,
        b"whole".to_vec()
    );
}
