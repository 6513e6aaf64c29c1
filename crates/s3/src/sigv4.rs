//! AWS Signature Version 4, header form, for S3: the canonical request, the string to sign,
//! the signing key and the `Authorization` header
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>).
//!
//! S3 differs from other services in two ways that matter here: the path is URI-encoded once
//! (not twice), and `x-amz-content-sha256` (the payload's hash) is a required, signed header.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::Credentials;

/// The SHA-256 of nothing: the payload hash of a request without a body.
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// URI-encodes per SigV4: unreserved characters (`A-Za-z0-9-_.~`) stay, every other byte is
/// `%XX` (uppercase hex); `/` stays when `keep_slash` (object paths), else it is `%2F`.
pub(crate) fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical query string of `pairs` (raw names and values): each encoded, sorted by name
/// then value, `name=value` joined by `&`. It is also what the request sends, so that what is
/// signed is exactly what goes on the wire.
pub(crate) fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A request to sign: every header in `headers` (lowercase names) is signed and must be sent
/// as is; [`sign`] adds its own.
pub(crate) struct Request<'a> {
    /// `GET`, `PUT`…
    pub method: &'a str,
    /// The URI-encoded path, as sent.
    pub path: &'a str,
    /// The canonical query string, as sent ([`canonical_query`]).
    pub query: &'a str,
    /// Hex SHA-256 of the body (or [`EMPTY_SHA256`]).
    pub payload_sha256: &'a str,
}

/// Signs `request` at `now`: adds `x-amz-date`, `x-amz-content-sha256`,
/// `x-amz-security-token` (with a session token) and `authorization` to `headers`, which must
/// already hold `host` and every other header to sign.
pub(crate) fn sign(
    request: &Request<'_>,
    headers: &mut BTreeMap<String, String>,
    credentials: &Credentials,
    region: &str,
    now: DateTime<Utc>,
) {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    headers.insert("x-amz-date".into(), amz_date.clone());
    headers.insert(
        "x-amz-content-sha256".into(),
        request.payload_sha256.to_owned(),
    );
    if let Some(token) = &credentials.session_token {
        headers.insert("x-amz-security-token".into(), token.clone());
    }
    headers.remove("authorization");

    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let mut canonical = format!("{}\n{}\n{}\n", request.method, request.path, request.query);
    for (name, value) in headers.iter() {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(&collapse_spaces(value.trim()));
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers);
    canonical.push('\n');
    canonical.push_str(request.payload_sha256);

    let scope = format!("{date}/{region}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = signing_key(&credentials.secret_access_key, date, region);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    headers.insert(
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed_headers},\
             Signature={signature}",
            credentials.access_key_id
        ),
    );
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "s3"), "aws4_request")`.
fn signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: new_from_slice cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Sequential spaces in a header value become one, as the canonical form requires.
fn collapse_spaces(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars() {
        if c == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn example_credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// The S3 documentation's example "GET Object" (Signature Version 4, header form):
    /// `GET /test.txt` on examplebucket.s3.amazonaws.com with `Range: bytes=0-9` at
    /// 20130524T000000Z, us-east-1.
    #[test]
    fn the_aws_documented_get_object_example() {
        let mut headers = BTreeMap::new();
        headers.insert(
            "host".to_string(),
            "examplebucket.s3.amazonaws.com".to_string(),
        );
        headers.insert("range".to_string(), "bytes=0-9".to_string());
        let request = Request {
            method: "GET",
            path: "/test.txt",
            query: "",
            payload_sha256: EMPTY_SHA256,
        };
        let now = Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap();
        sign(
            &request,
            &mut headers,
            &example_credentials(),
            "us-east-1",
            now,
        );
        assert_eq!(
            headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(headers["x-amz-date"], "20130524T000000Z");
        assert_eq!(headers["x-amz-content-sha256"], EMPTY_SHA256);
    }

    /// A PUT with a query, a key that needs encoding, a session token and padded header
    /// values, cross-checked against botocore 1.44.18's `S3SigV4Auth` on the same request.
    #[test]
    fn matches_botocore_on_a_put_with_query_and_token() {
        let credentials = Credentials {
            session_token: Some("TOKEN/abc=".into()),
            ..example_credentials()
        };
        let body = b"hello world";
        let path = format!("/bucket/{}", uri_encode("dir/a key+é.txt", true));
        assert_eq!(path, "/bucket/dir/a%20key%2B%C3%A9.txt");
        let query = canonical_query(&[
            ("uploadId".into(), "a/b+c".into()),
            ("partNumber".into(), "2".into()),
        ]);
        assert_eq!(query, "partNumber=2&uploadId=a%2Fb%2Bc");
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), "127.0.0.1:9000".to_string());
        headers.insert(
            "content-type".to_string(),
            "application/octet-stream".to_string(),
        );
        headers.insert("if-none-match".to_string(), "*".to_string());
        headers.insert("x-amz-meta-note".to_string(), "  two  spaces ".to_string());
        let payload = sha256_hex(body);
        let request = Request {
            method: "PUT",
            path: &path,
            query: &query,
            payload_sha256: &payload,
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        sign(&request, &mut headers, &credentials, "eu-west-3", now);
        assert_eq!(headers["x-amz-security-token"], "TOKEN/abc=");
        assert_eq!(
            headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260102/eu-west-3/s3/aws4_request,\
             SignedHeaders=content-type;host;if-none-match;x-amz-content-sha256;x-amz-date;\
             x-amz-meta-note;x-amz-security-token,\
             Signature=8d8af12ba7460864edc94e60b169fb037d8fcad468a076e98f6d3e011304cd30"
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(uri_encode("AZaz09-_.~", false), "AZaz09-_.~");
        assert_eq!(uri_encode("a/b c*", false), "a%2Fb%20c%2A");
        assert_eq!(uri_encode("a/b c*", true), "a/b%20c%2A");
        assert_eq!(canonical_query(&[]), "");
        assert_eq!(
            canonical_query(&[("uploads".into(), String::new())]),
            "uploads="
        );
        assert_eq!(collapse_spaces("a  b   c"), "a b c");
    }
}
