//! Where objects go: an `s3://bucket/prefix` location and the endpoint that serves it.

use std::fmt;
use std::time::Duration;

use crate::S3Error;

/// `s3://bucket/prefix` parsed. The prefix has no leading or trailing `/` and may be empty;
/// keys given to the client are relative to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The prefix under which every key lives (joined with `/`), or empty.
    pub prefix: String,
}

impl Location {
    /// Parses `s3://bucket` or `s3://bucket/some/prefix[/]`. Bucket names follow S3's rules
    /// (3 to 63 lowercase letters, digits, `.`, `-`; `_` tolerated for older stores); the
    /// prefix may not have empty segments (`a//b`), `.` or `..` segments, or control characters.
    pub fn parse(url: &str) -> Result<Location, S3Error> {
        let invalid = |reason: &str| S3Error::InvalidLocation {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket).map_err(|r| invalid(&r))?;
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() {
            check_key(prefix).map_err(|r| invalid(&format!("the prefix {r}")))?;
        }
        Ok(Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// `s3://bucket/prefix` (`s3://bucket` when the prefix is empty).
    pub fn to_url(&self) -> String {
        self.to_string()
    }

    /// The full key of `key` (relative to the prefix).
    pub(crate) fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// `s3://bucket/prefix/key`, for messages.
    pub(crate) fn object_url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

fn check_bucket(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() {
        return Err("it names no bucket".into());
    }
    if !(3..=63).contains(&bucket.len()) {
        return Err(format!(
            "bucket name {bucket:?} must be 3 to 63 characters long"
        ));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c);
    if !bucket.chars().all(allowed) {
        return Err(format!(
            "bucket name {bucket:?} may only have lowercase letters, digits, '.', '-' and '_'"
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !alnum(bucket.chars().next()) || !alnum(bucket.chars().last()) {
        return Err(format!(
            "bucket name {bucket:?} must start and end with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a key (or prefix) relative to nothing: the reason it cannot be used, if any.
pub(crate) fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("is empty".into());
    }
    if key.len() > 1024 {
        return Err("is longer than 1024 bytes".into());
    }
    if key.chars().any(char::is_control) {
        return Err("has control characters".into());
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err("has an empty, '.' or '..' segment (or a leading or trailing '/')".into());
    }
    Ok(())
}

/// Where the store is and how hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `http(s)://host[:port]`, no path.
    pub endpoint: String,
    /// The region signed into every request (`us-east-1` for most S3-compatible stores).
    pub region: String,
    /// The bucket and prefix.
    pub location: Location,
    /// How long each step of a request (connecting, each read and write) may stall; 30 s.
    pub timeout: Duration,
    /// Attempts per request, the first included, before giving up on retryable failures; 6.
    pub max_attempts: u32,
}

impl Config {
    /// A configuration with the default timeout (30 s) and attempts (6), after checking that
    /// the endpoint is `http(s)://host[:port]` (a trailing `/` is dropped) and the region
    /// non-empty.
    pub fn new(endpoint: &str, region: &str, location: Location) -> Result<Config, S3Error> {
        let endpoint = endpoint.trim_end_matches('/');
        Endpoint::parse(endpoint)?;
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(S3Error::InvalidEndpoint {
                endpoint: endpoint.to_owned(),
                reason: format!("invalid region {region:?}"),
            });
        }
        Ok(Config {
            endpoint: endpoint.to_owned(),
            region: region.to_owned(),
            location,
            timeout: Duration::from_secs(30),
            max_attempts: 6,
        })
    }
}

/// An endpoint checked: the base URL (no trailing `/`) and the `Host` header it implies.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) base: String,
    pub(crate) host: String,
}

impl Endpoint {
    pub(crate) fn parse(endpoint: &str) -> Result<Endpoint, S3Error> {
        let invalid = |reason: &str| S3Error::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason: reason.to_owned(),
        };
        let base = endpoint.trim_end_matches('/');
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| invalid("it must be http://host[:port] or https://host[:port]"))?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return Err(invalid("the scheme must be http or https")),
        };
        if rest.is_empty() {
            return Err(invalid("it names no host"));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("it must have no path, query or fragment"));
        }
        if rest.contains('@') {
            return Err(invalid("it must have no user name or password"));
        }
        let uri: ureq::http::Uri = base.parse().map_err(|_| invalid("it is not a valid URL"))?;
        let host = uri.host().ok_or_else(|| invalid("it names no host"))?;
        if host.is_empty() {
            return Err(invalid("it names no host"));
        }
        // The Host header as ureq would send it: the port only when it is not the default.
        let host = match uri.port_u16() {
            Some(port) if port != default_port => format!("{host}:{port}"),
            _ => host.to_owned(),
        };
        Ok(Endpoint {
            base: base.to_owned(),
            host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_print() {
        let l = Location::parse("s3://bucket/a/b/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("bucket", "a/b"));
        assert_eq!(l.to_url(), "s3://bucket/a/b");
        assert_eq!(l.to_string(), "s3://bucket/a/b");
        assert_eq!(l.full_key("k/x"), "a/b/k/x");
        assert_eq!(l.object_url("k"), "s3://bucket/a/b/k");
        let l = Location::parse("s3://bucket").unwrap();
        assert_eq!(l.prefix, "");
        assert_eq!(l.to_url(), "s3://bucket");
        assert_eq!(l.full_key("k"), "k");
        assert_eq!(Location::parse("s3://bucket/").unwrap().prefix, "");
        for bad in [
            "bucket/p",
            "http://bucket/p",
            "s3://",
            "s3:///p",
            "s3://ab",
            "s3://Bucket",
            "s3://-bucket",
            "s3://bucket//p",
            "s3://bucket/a//b",
            "s3://bucket/a/../b",
            "s3://bucket/a\nb",
        ] {
            let e = Location::parse(bad).unwrap_err();
            assert!(
                e.to_string().starts_with("invalid S3 location"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn endpoints_are_checked() {
        let l = Location::parse("s3://bucket").unwrap();
        let c = Config::new("http://127.0.0.1:8333/", "us-east-1", l.clone()).unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:8333");
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_attempts, 6);
        let e = Endpoint::parse("http://127.0.0.1:8333").unwrap();
        assert_eq!(e.host, "127.0.0.1:8333");
        assert_eq!(
            Endpoint::parse("https://s3.example.com:443").unwrap().host,
            "s3.example.com"
        );
        assert_eq!(
            Endpoint::parse("http://s3.example.com").unwrap().host,
            "s3.example.com"
        );
        assert_eq!(
            Endpoint::parse("https://[::1]:9000").unwrap().host,
            "[::1]:9000"
        );
        for bad in [
            "127.0.0.1:8333",
            "ftp://host",
            "http://",
            "http://host/path",
            "http://host?x=1",
            "http://user:pw@host",
        ] {
            assert!(Config::new(bad, "us-east-1", l.clone()).is_err(), "{bad}");
        }
        assert!(Config::new("http://host", "", l.clone()).is_err());
        assert!(Config::new("http://host", "us east", l).is_err());
    }

    #[test]
    fn keys_are_checked() {
        assert!(check_key("objects/ab/cd.zst").is_ok());
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "./a",
            "a/..",
            "a\u{7f}",
            &"x".repeat(1025),
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
