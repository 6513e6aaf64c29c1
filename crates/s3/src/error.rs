//! What can go wrong, each as one line that names the object (`s3://bucket/prefix/key`).

use std::path::PathBuf;

/// An S3 operation failed. Every message is one line naming the object or location.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// An `s3://bucket/prefix` location that cannot be used.
    #[error("invalid S3 location {url:?}: {reason}")]
    InvalidLocation {
        /// The location as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An endpoint that is not `http(s)://host[:port]`, or an unusable region.
    #[error("invalid S3 endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key that cannot name an object.
    #[error("{url}: invalid key: {reason}")]
    InvalidKey {
        /// The object it would name.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No usable credentials.
    #[error("S3 credentials: {reason}")]
    Credentials {
        /// Where they were looked for and what was wrong.
        reason: String,
    },
    /// The store answered with an error status that is not worth retrying.
    #[error("{url}: HTTP {status} {code}: {message}")]
    Http {
        /// The object or bucket.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The S3 error code (`AccessDenied`, `NoSuchBucket`…), or the status's reason phrase
        /// when the answer had no error document.
        code: String,
        /// The store's message.
        message: String,
    },
    /// The store could not be reached or kept failing (timeouts, refused connections, 5xx,
    /// `SlowDown`) for every attempt.
    #[error("{url}: {reason} after {attempts} attempt{}", if *attempts == 1 { "" } else { "s" })]
    Unavailable {
        /// The object or bucket.
        url: String,
        /// The last failure.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A write-once key already holds different bytes.
    #[error("{url}: the store already holds different bytes under this key (write-once violated)")]
    Conflict {
        /// The object.
        url: String,
    },
    /// An object larger than the caller's limit (refused, not truncated).
    #[error("{url}: the object is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The object.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// An answer that breaks the protocol (unparsable XML, a missing ETag, a wrong length…).
    #[error("{url}: unexpected answer from the store: {reason}")]
    BadResponse {
        /// The object or bucket.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{url}: {}: {error}", path.display())]
    Io {
        /// The object being read or written.
        url: String,
        /// The local file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

impl S3Error {
    /// Whether this is a 404 from the store (no such key, upload or bucket).
    pub fn is_not_found(&self) -> bool {
        matches!(self, S3Error::Http { status: 404, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_on_one_line() {
        let e = S3Error::Http {
            url: "s3://b/p/objects/ab/c.zst".into(),
            status: 403,
            code: "AccessDenied".into(),
            message: "Access Denied".into(),
        };
        assert_eq!(
            e.to_string(),
            "s3://b/p/objects/ab/c.zst: HTTP 403 AccessDenied: Access Denied"
        );
        let e = S3Error::Unavailable {
            url: "s3://b/k".into(),
            reason: "timed out".into(),
            attempts: 6,
        };
        assert_eq!(e.to_string(), "s3://b/k: timed out after 6 attempts");
        let e = S3Error::Conflict {
            url: "s3://b/k".into(),
        };
        assert!(e.to_string().ends_with("(write-once violated)"));
        assert!(!e.is_not_found());
    }
}
