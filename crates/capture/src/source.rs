//! Capture sources: a URL, a file path or `-` for stdin.

use std::path::{Path, PathBuf};

use crate::CaptureError;

/// Where a capture's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An `http://` or `https://` URL.
    Http(url::Url),
    /// A local file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Source {
    /// Interprets a command-line source: `-`, an http(s) URL, or a file path. Other URL schemes
    /// are refused rather than mistaken for file names.
    pub fn parse(arg: &str) -> Result<Source, CaptureError> {
        if arg == "-" {
            return Ok(Source::Stdin);
        }
        if let Some((scheme, _)) = arg.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "http" || scheme == "https" {
                let url = url::Url::parse(arg).map_err(|e| {
                    CaptureError::Url(exhibit_core::url::UrlError::Invalid {
                        input: arg.to_owned(),
                        reason: e.to_string(),
                    })
                })?;
                if arg.len() > exhibit_core::manifest::MAX_RECORDED_STRING {
                    return Err(CaptureError::BadSource(format!(
                        "URL longer than {} bytes",
                        exhibit_core::manifest::MAX_RECORDED_STRING
                    )));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(CaptureError::BadSource(format!("{arg}: URL has no host")));
                }
                return Ok(Source::Http(url));
            }
            if scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return Err(CaptureError::BadSource(format!(
                    "{arg}: unsupported source scheme {scheme:?} (give an http(s) URL, a file path or -)"
                )));
            }
        }
        if arg.is_empty() {
            return Err(CaptureError::BadSource("empty source argument".into()));
        }
        Ok(Source::File(PathBuf::from(arg)))
    }

    /// How the source is named in messages.
    pub fn display_name(&self) -> String {
        match self {
            Source::Http(u) => u.to_string(),
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "<stdin>".into(),
        }
    }
}

/// The `file://` URL of a file's absolute path.
pub(crate) fn file_url(path: &Path) -> Result<String, CaptureError> {
    let abs = std::path::absolute(path).map_err(|e| CaptureError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    url::Url::from_file_path(&abs)
        .map(|u| u.to_string())
        .map_err(|()| CaptureError::File {
            path: path.to_path_buf(),
            reason: "cannot be expressed as a file:// URL".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(Source::parse("-").unwrap(), Source::Stdin);
        assert!(matches!(
            Source::parse("https://Example.org/p").unwrap(),
            Source::Http(_)
        ));
        assert_eq!(
            Source::parse("dir/policy.html").unwrap(),
            Source::File(PathBuf::from("dir/policy.html"))
        );
        assert!(Source::parse("ftp://example.org/x").is_err());
        assert!(Source::parse("http://").is_err());
        assert!(Source::parse("").is_err());
    }
}
