//! Credentials from the environment, or from the shared credentials file's profile, as the AWS
//! CLI finds them (static keys only: no SSO, no instance metadata, no `credential_process`).

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::S3Error;

/// An access key, its secret, and the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA…` (or `ASIA…` for temporary credentials).
    pub access_key_id: String,
    /// The secret that signs requests; never printed.
    pub secret_access_key: String,
    /// The session token of temporary credentials (sent as `x-amz-security-token`).
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Credentials {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, else the profile
    /// (`AWS_PROFILE` or `default`) in `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`
    /// (INI: `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`).
    pub fn from_environment() -> Result<Credentials, S3Error> {
        from_lookup(&|name| std::env::var_os(name))
    }
}

/// [`Credentials::from_environment`] with the environment read through `var`.
pub(crate) fn from_lookup(var: &dyn Fn(&str) -> Option<OsString>) -> Result<Credentials, S3Error> {
    let text = |name: &str| -> Result<Option<String>, S3Error> {
        match var(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v.into_string().map(Some).map_err(|_| S3Error::Credentials {
                reason: format!("{name} is not valid UTF-8"),
            }),
        }
    };
    let id = text("AWS_ACCESS_KEY_ID")?;
    let secret = text("AWS_SECRET_ACCESS_KEY")?;
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Credentials {
                access_key_id,
                secret_access_key,
                session_token: text("AWS_SESSION_TOKEN")?,
            });
        }
        (Some(_), None) => {
            return Err(S3Error::Credentials {
                reason: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            });
        }
        (None, Some(_)) => {
            return Err(S3Error::Credentials {
                reason: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
            });
        }
        (None, None) => {}
    }
    let profile = text("AWS_PROFILE")?.unwrap_or_else(|| "default".to_owned());
    let path = match var("AWS_SHARED_CREDENTIALS_FILE").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => match var("HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home).join(".aws").join("credentials"),
            None => {
                return Err(S3Error::Credentials {
                    reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and \
                             there is no HOME to find ~/.aws/credentials in"
                        .into(),
                });
            }
        },
    };
    let content = std::fs::read_to_string(&path).map_err(|e| S3Error::Credentials {
        reason: format!(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and {} cannot be read: {e}",
            path.display()
        ),
    })?;
    profile_credentials(&content, &profile).map_err(|reason| S3Error::Credentials {
        reason: format!("{}: {reason}", path.display()),
    })
}

/// The credentials of `[profile]` in an INI credentials file.
fn profile_credentials(content: &str, profile: &str) -> Result<Credentials, String> {
    let mut in_profile = false;
    let mut found = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in content.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section.trim() == profile;
            found |= in_profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => id = Some(value),
            "aws_secret_access_key" => secret = Some(value),
            "aws_session_token" | "aws_security_token" => token = Some(value),
            _ => {}
        }
    }
    if !found {
        return Err(format!("no profile [{profile}]"));
    }
    match (
        id.filter(|v| !v.is_empty()),
        secret.filter(|v| !v.is_empty()),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: token.filter(|t| !t.is_empty()),
        }),
        _ => Err(format!(
            "profile [{profile}] lacks aws_access_key_id or aws_secret_access_key"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_variables_come_first() {
        let c = from_lookup(&lookup(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_SESSION_TOKEN", "TOKEN"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ]))
        .unwrap();
        assert_eq!(c.access_key_id, "AKID");
        assert_eq!(c.secret_access_key, "SECRET");
        assert_eq!(c.session_token.as_deref(), Some("TOKEN"));
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("SECRET") && !printed.contains("TOKEN"),
            "{printed}"
        );

        let e = from_lookup(&lookup(&[("AWS_ACCESS_KEY_ID", "AKID")])).unwrap_err();
        assert!(
            e.to_string().contains("AWS_SECRET_ACCESS_KEY is not"),
            "{e}"
        );
    }

    #[test]
    fn profiles_come_from_the_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "# comment\n[default]\naws_access_key_id = DEF\naws_secret_access_key=DEFSECRET\n\n\
             [ci]\n; another\naws_access_key_id = CI\naws_secret_access_key = CISECRET\n\
             aws_session_token = CITOKEN\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let c = from_lookup(&lookup(&[("AWS_SHARED_CREDENTIALS_FILE", path)])).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token), ("DEF", None));
        let c = from_lookup(&lookup(&[
            ("AWS_SHARED_CREDENTIALS_FILE", path),
            ("AWS_PROFILE", "ci"),
        ]))
        .unwrap();
        assert_eq!(c.secret_access_key, "CISECRET");
        assert_eq!(c.session_token.as_deref(), Some("CITOKEN"));

        let e = from_lookup(&lookup(&[
            ("AWS_SHARED_CREDENTIALS_FILE", path),
            ("AWS_PROFILE", "nope"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("no profile [nope]"), "{e}");

        // ~/.aws/credentials under HOME.
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::copy(&file, dir.path().join(".aws/credentials")).unwrap();
        let home = dir.path().to_str().unwrap();
        let c = from_lookup(&lookup(&[("HOME", home)])).unwrap();
        assert_eq!(c.access_key_id, "DEF");

        let e = from_lookup(&lookup(&[("HOME", "/nonexistent")])).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }
}
