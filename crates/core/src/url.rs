//! Document URLs: the key that says two captures are of the same document.

/// Errors from normalising a document URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The text is not an absolute URL.
    #[error("{input:?} is not a valid URL: {reason}")]
    Invalid {
        /// The URL as given.
        input: String,
        /// What the parser objected to.
        reason: String,
    },
    /// The scheme is not one exhibit can name a document by.
    #[error("{input:?}: unsupported URL scheme {scheme:?} (use http, https or file)")]
    Scheme {
        /// The URL as given.
        input: String,
        /// The scheme found.
        scheme: String,
    },
}

/// Normalises a document URL: parsed per the WHATWG URL standard (so scheme and host are
/// lower-cased, default ports and dot segments removed, IDNs punycoded) with the fragment and
/// any credentials (`user:password@`) dropped.
/// Only `http`, `https` and `file` URLs name documents.
pub fn normalize_document_url(input: &str) -> Result<::url::Url, UrlError> {
    let mut url = ::url::Url::parse(input.trim()).map_err(|e| UrlError::Invalid {
        input: input.to_owned(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" => {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(UrlError::Invalid {
                    input: input.to_owned(),
                    reason: "no host".to_owned(),
                });
            }
        }
        "file" => {}
        other => {
            return Err(UrlError::Scheme {
                input: input.to_owned(),
                scheme: other.to_owned(),
            });
        }
    }
    url.set_fragment(None);
    // Credentials are never part of a document's identity, nor of signed evidence.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_fragment_and_default_port() {
        let u =
            normalize_document_url("HTTPS://WWW.AI21.com:443/privacy-policy#section-2").unwrap();
        assert_eq!(u.as_str(), "https://www.ai21.com/privacy-policy");
        // Paths and queries are case-sensitive and kept.
        let u = normalize_document_url("http://Example.org/A/./b/../Terms?Lang=EN").unwrap();
        assert_eq!(u.as_str(), "http://example.org/A/Terms?Lang=EN");
        let u = normalize_document_url("https://alice:s3cret@example.org/p").unwrap();
        assert_eq!(u.as_str(), "https://example.org/p");
        let u = normalize_document_url("file:///tmp/a/../b.html").unwrap();
        assert_eq!(u.as_str(), "file:///tmp/b.html");
    }

    #[test]
    fn rejects_other_schemes_and_garbage() {
        assert!(matches!(
            normalize_document_url("ftp://example.org/x"),
            Err(UrlError::Scheme { .. })
        ));
        assert!(normalize_document_url("not a url").is_err());
        assert!(normalize_document_url("https://").is_err());
        assert!(normalize_document_url("file:///tmp/x.html").is_ok());
    }
}
