//! `exhibit.toml`: the archive's configuration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The name of the configuration file at the archive root (named in [`crate::layout`]).
pub use crate::layout::CONFIG_FILE;

/// The archive configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Layout version of the archive; this code reads and writes 1.
    pub format: u32,
    /// The archive's name: recorded in every manifest and used as the log's key name.
    pub origin: String,
    /// The id prefix (`EX`).
    pub prefix: String,
    /// The private signing key, relative to the archive root or absolute.
    pub key: PathBuf,
    /// Capture settings.
    #[serde(default)]
    pub capture: CaptureSettings,
    /// RFC 3161 Time-Stamp Authorities asked to timestamp every signed checkpoint, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tsa: Vec<TsaEntry>,
    /// C2SP tlog-witnesses asked to cosign every signed checkpoint, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witness: Vec<WitnessEntry>,
    /// Webhooks told of every new version this host commits (`[[notify]]`, docs/FORMAT.md
    /// "Change notifications"), in order. This host's own: not pushed to a bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyEntry>,
    /// Where the archive lives when it is in an S3 bucket (`[store]`); absent for a local
    /// archive. The directory is then this host's copy of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreSettings>,
}

/// `[store]` in `exhibit.toml`: the archive's bucket (docs/FORMAT.md §5.1).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `s3://bucket/prefix`.
    pub url: String,
    /// The S3 endpoint, `http(s)://host[:port]`.
    pub endpoint: String,
    /// The region requests are signed for.
    #[serde(default = "default_region")]
    pub region: String,
    /// S3 Object Lock compliance retention set on every object written (`7y`, `18m`, `30d`);
    /// none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// A retention period: years, months or days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Calendar months (`y` is 12 of them).
    Months(u32),
    /// Days.
    Days(u32),
}

impl Retention {
    /// Parses `7y`, `18m` or `30d` (1 to 100 years' worth).
    pub fn parse(s: &str) -> Result<Retention, String> {
        let bad =
            || format!("retention {s:?} must be a number of years, months or days: 7y, 18m, 30d");
        // ASCII only: the unit is the last byte (a split inside a multi-byte character panics).
        if !s.is_ascii() {
            return Err(bad());
        }
        let (digits, unit) = s.split_at(s.len().checked_sub(1).ok_or_else(bad)?);
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = digits.parse().map_err(|_| bad())?;
        let r = match unit {
            "y" => Retention::Months(n.saturating_mul(12)),
            "m" => Retention::Months(n),
            "d" => Retention::Days(n),
            _ => return Err(bad()),
        };
        let too_long = match r {
            Retention::Months(m) => m > 1200,
            Retention::Days(d) => d > 36_525,
        };
        if n == 0 || too_long {
            return Err(format!(
                "retention {s:?} must be between 1 day and 100 years"
            ));
        }
        Ok(r)
    }

    /// The moment a retention that starts at `from` ends.
    pub fn until(self, from: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            Retention::Months(m) => from
                .checked_add_months(chrono::Months::new(m))
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
            Retention::Days(d) => from + chrono::TimeDelta::days(i64::from(d)),
        }
    }
}

impl StoreSettings {
    /// Checks the URL, the endpoint and the retention.
    pub fn check(&self) -> Result<(), String> {
        if !self.url.starts_with("s3://") {
            return Err(format!(
                "store url {:?} must be s3://BUCKET[/PREFIX]",
                self.url
            ));
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(format!(
                "store endpoint {:?} must be an http:// or https:// URL",
                self.endpoint
            ));
        }
        if self.region.is_empty() || self.region.len() > 64 {
            return Err(format!(
                "store region {:?} must be 1 to 64 characters",
                self.region
            ));
        }
        if let Some(r) = &self.retention {
            Retention::parse(r)?;
        }
        Ok(())
    }

    /// The configured retention, if any.
    pub fn retention(&self) -> Option<Retention> {
        self.retention
            .as_deref()
            .and_then(|r| Retention::parse(r).ok())
    }
}

/// One witness (`[[witness]]` in `exhibit.toml`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WitnessEntry {
    /// A short name, unique in the archive: it names the cosignature files
    /// (`log/checkpoints/<size>.checkpoint.<name>.cosig`); the rules of a TSA name.
    pub name: String,
    /// The witness's submission prefix (http or https); requests are POSTed to
    /// `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosigner key, `name+<key ID>+base64(0x04 ‖ Ed25519 key)`: only cosignatures by this
    /// key are kept.
    pub vkey: String,
}

impl WitnessEntry {
    /// The cosigner key.
    pub fn key(&self) -> Result<exhibit_sign::cosignature::CosignerKey, String> {
        exhibit_sign::cosignature::CosignerKey::parse(&self.vkey)
            .map_err(|e| format!("witness {:?} vkey: {e}", self.name))
    }

    /// Checks the name, URL and key.
    pub fn check(&self) -> Result<(), String> {
        if !crate::layout::is_tsa_name(&self.name) {
            return Err(format!(
                "witness name {:?} must be 1 to 64 ASCII letters, digits, '.' or '-', not starting with '.' or '-'",
                self.name
            ));
        }
        check_tsa_url(&self.url).map_err(|e| e.replacen("tsa url", "witness url", 1))?;
        self.key().map(|_| ())
    }
}

/// One webhook (`[[notify]]` in `exhibit.toml`): every new version of a document that this host
/// commits is POSTed to it as a signed change notification (docs/FORMAT.md "Change
/// notifications").
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifyEntry {
    /// The webhook's URL (http or https), unique in the archive.
    pub url: String,
    /// The base URL of `exhibit serve` for this archive: notifications then link to the record,
    /// diff and document pages under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<String>,
}

impl NotifyEntry {
    /// Checks the URL and the links base.
    pub fn check(&self) -> Result<(), String> {
        check_http_url("notify url", &self.url)?;
        if let Some(links) = &self.links {
            check_http_url("notify links", links)?;
        }
        Ok(())
    }
}

/// Checks an http(s) URL the archive is configured with (`what` names it in the error):
/// `http://` or `https://`, a host (letters, digits, `.`, `-`, `_`, or an `[IPv6]` literal)
/// with an optional port of 1 to 65535, at most 2048 bytes, printable ASCII without spaces.
pub fn check_http_url(what: &str, url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| format!("{what} {url:?} must start with http:// or https://"))?;
    if url.len() > 2048 {
        return Err(format!("{what} is longer than 2048 bytes"));
    }
    if url.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err(format!(
            "{what} {url:?} must be printable ASCII without spaces (percent-encode the rest)"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{what} {url:?}: an IPv6 host needs its closing ]"))?;
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(format!("{what} {url:?}: {addr:?} is not an IPv6 address"));
            }
            match after {
                "" => (addr, None),
                p => (
                    addr,
                    Some(p.strip_prefix(':').ok_or_else(|| {
                        format!("{what} {url:?}: unexpected {p:?} after the host")
                    })?),
                ),
            }
        }
        None => match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
    {
        return Err(format!("{what} {url:?} needs a host name or address"));
    }
    if let Some(p) = port
        && !(!p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n)))
    {
        return Err(format!("{what} {url:?}: port {p:?} must be 1 to 65535"));
    }
    Ok(())
}

/// Largest TSA CA bundle read, in bytes.
pub const MAX_CA_BYTES: u64 = 4 << 20;

/// One Time-Stamp Authority (`[[tsa]]` in `exhibit.toml`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TsaEntry {
    /// A short name, unique in the archive: it names the token files
    /// (`log/checkpoints/<size>.checkpoint.<name>.tsr`).
    pub name: String,
    /// The TSA's URL (http or https); requests are POSTed as `application/timestamp-query`.
    pub url: String,
    /// A PEM bundle of CA certificates that the TSA's answers must chain to before a token is
    /// kept (relative to the archive root or absolute). Without it, a token is kept when its
    /// signature and certificate are valid, whoever issued the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
}

impl TsaEntry {
    /// The default name for a TSA at `url`: host, `-port` when explicit, then the path, with
    /// anything but ASCII letters, digits, `.` and `-` written as `-` (at most 64 characters).
    pub fn default_name(url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let mut name = String::new();
        for c in rest.chars() {
            let c = if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            };
            if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
                name.push(c);
            }
        }
        let name: String = name.trim_matches(['-', '.']).chars().take(64).collect();
        let name = name.trim_matches(['-', '.']).to_owned();
        if name.is_empty() {
            "tsa".to_owned()
        } else {
            name
        }
    }

    /// Checks the name and URL.
    pub fn check(&self) -> Result<(), String> {
        let n = &self.name;
        if !crate::layout::is_tsa_name(n) {
            return Err(format!(
                "tsa name {n:?} must be 1 to 64 ASCII letters, digits, '.' or '-', not starting with '.' or '-'"
            ));
        }
        check_tsa_url(&self.url)
    }

    /// The PEM bytes of the CA bundle, if one is configured (at most [`MAX_CA_BYTES`]). A bundle
    /// inside the archive (a relative `ca`, as `tsa add --ca` imports it) is an archive file:
    /// read without following a link or opening a FIFO. An absolute path is the user's own
    /// file and is read as named.
    pub fn read_ca(&self, root: &Path) -> Option<Result<Vec<u8>, StoreError>> {
        let path = self.ca_path(root)?;
        Some(match self.ca.as_ref().is_some_and(|ca| ca.is_relative()) {
            true => crate::fsutil::read_in_archive(&path, MAX_CA_BYTES),
            false => crate::fsutil::read_limited(&path, MAX_CA_BYTES),
        })
    }

    /// The CA bundle path resolved against the archive root.
    pub fn ca_path(&self, root: &Path) -> Option<PathBuf> {
        self.ca.as_ref().map(|ca| {
            if ca.is_absolute() {
                ca.clone()
            } else {
                root.join(ca)
            }
        })
    }
}

/// `base`, or the first of `base-2`, `base-3`… that `taken` does not refuse.
fn unused_name(base: String, taken: impl Fn(&str) -> bool) -> String {
    let mut name = base.clone();
    let mut k = 2;
    while taken(&name) {
        name = format!("{base}-{k}");
        k += 1;
    }
    name
}

/// Checks a TSA URL: `http://` or `https://` with a host, at most 2048 bytes, no spaces.
pub fn check_tsa_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| format!("tsa url {url:?} must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') || url.len() > 2048 {
        return Err(format!("tsa url {url:?} needs a host"));
    }
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(format!(
            "tsa url {url:?} must not contain spaces or control characters"
        ));
    }
    Ok(())
}

/// Settings for acquiring documents.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSettings {
    /// Seconds allowed to connect, and then between any two reads of a response.
    pub timeout_secs: u64,
    /// The most bytes kept from one capture (after undoing Content-Encoding).
    pub max_bytes: u64,
    /// The most bytes of a document that text is extracted from; larger ones keep their bytes
    /// and are versioned by content hash, with the reason recorded.
    pub max_text_bytes: u64,
    /// The most redirects followed.
    pub max_redirects: u32,
    /// The User-Agent header sent.
    pub user_agent: String,
    /// Documents (their URLs) captured in headless Chromium by default, as if `capture
    /// --browser` were given for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub browser: Vec<String>,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        CaptureSettings {
            timeout_secs: 30,
            max_bytes: 1 << 30,
            max_text_bytes: 64 << 20,
            max_redirects: 10,
            user_agent: concat!("exhibit/", env!("CARGO_PKG_VERSION"), " (evidence capture)")
                .to_owned(),
            browser: Vec::new(),
        }
    }
}

/// The largest size a manifest can record: JSON numbers are exact up to 2^53 − 1 (RFC 8785
/// serialises them as IEEE 754 doubles).
pub const MAX_EXACT_SIZE: u64 = (1 << 53) - 1;

/// Checks an origin name. It is a C2SP signed-note key name (no spaces, no `+`) and it is
/// quoted in shell commands (VERIFY.txt), so it is kept to a conservative alphabet: ASCII
/// letters, digits and `. _ - : /`, like a host name with a path (`archive.example.org/log`).
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin.is_empty() || origin.len() > 200 {
        return Err(format!("origin {origin:?} must be 1 to 200 characters"));
    }
    if let Some(c) = origin
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-:/".contains(*c)))
    {
        return Err(format!(
            "origin {origin:?} must not contain {c:?} (use ASCII letters, digits and . _ - : /)"
        ));
    }
    Ok(())
}

impl Config {
    /// Reads and checks `exhibit.toml` under `root`.
    pub fn load(root: &Path) -> Result<Config, StoreError> {
        let path = root.join(CONFIG_FILE);
        let bytes = crate::fsutil::read_in_archive(&path, 1 << 20)?;
        let text = String::from_utf8(bytes).map_err(|_| StoreError::Config {
            path: path.clone(),
            message: "not UTF-8".into(),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| {
                let upto = &text.as_bytes()[..s.start.min(text.len())];
                upto.iter().filter(|&&b| b == b'\n').count() + 1
            });
            StoreError::Config {
                path: path.clone(),
                message: match line {
                    Some(n) => format!("line {n}: {}", e.message().trim()),
                    None => e.message().trim().to_owned(),
                },
            }
        })?;
        let bad = |message: String| StoreError::Config {
            path: path.clone(),
            message,
        };
        if config.format != 1 {
            return Err(bad(format!(
                "archive format {} is not supported by this exhibit (it reads format 1)",
                config.format
            )));
        }
        check_origin(&config.origin).map_err(bad)?;
        let ua = &config.capture.user_agent;
        if ua.is_empty() || ua.len() > 256 || !ua.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(bad(format!(
                "capture.user_agent must be 1 to 256 printable ASCII characters, got {ua:?}"
            )));
        }
        if !(1..=86_400).contains(&config.capture.timeout_secs) {
            return Err(bad(format!(
                "capture.timeout_secs must be 1 to 86400, got {}",
                config.capture.timeout_secs
            )));
        }
        if config.capture.max_bytes > MAX_EXACT_SIZE {
            return Err(bad(format!(
                "capture.max_bytes {} is above {MAX_EXACT_SIZE}, the largest size a manifest records exactly",
                config.capture.max_bytes
            )));
        }
        exhibit_core::IdPrefix::new(&config.prefix).map_err(|e| bad(e.to_string()))?;
        let mut names = std::collections::BTreeSet::new();
        for t in &config.tsa {
            t.check().map_err(bad)?;
            if !names.insert(t.name.as_str()) {
                return Err(bad(format!("two [[tsa]] entries are named {:?}", t.name)));
            }
        }
        if let Some(store) = &config.store {
            store.check().map_err(bad)?;
        }
        let mut names = std::collections::BTreeSet::new();
        for w in &config.witness {
            w.check().map_err(bad)?;
            if !names.insert(w.name.as_str()) {
                return Err(bad(format!(
                    "two [[witness]] entries are named {:?}",
                    w.name
                )));
            }
        }
        let mut urls = std::collections::BTreeSet::new();
        for n in &config.notify {
            n.check().map_err(bad)?;
            if !urls.insert(n.url.as_str()) {
                return Err(bad(format!(
                    "two [[notify]] entries have the url {:?}",
                    n.url
                )));
            }
        }
        Ok(config)
    }

    /// Edits the `[[notify]]` list of the archive's `exhibit.toml` at `root` with `change`
    /// (an `Err` is the one-line reason nothing was written), under the configuration lock
    /// that [`crate::Archive::update_config`] takes; everything else in the file stays as it
    /// is, byte for byte. The file is written only when it reads back as the configuration
    /// meant, and atomically. Returns the new configuration.
    pub fn update_notify(
        root: &Path,
        change: impl FnOnce(&mut Vec<NotifyEntry>) -> Result<(), String>,
    ) -> Result<Config, StoreError> {
        let path = root.join(CONFIG_FILE);
        let bad = |message: String| StoreError::Config {
            path: path.clone(),
            message,
        };
        let _lock = crate::locks::DocumentLocks::for_archive(root)
            .lock(crate::locks::CONFIGURATION_LOCK)?;
        let mut config = Config::load(root)?;
        change(&mut config.notify).map_err(&bad)?;
        for n in &config.notify {
            n.check().map_err(&bad)?;
        }
        let text = String::from_utf8(crate::fsutil::read_in_archive(&path, 1 << 20)?)
            .map_err(|_| bad("not UTF-8".into()))?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| bad(e.message().to_owned()))?;
        if config.notify.is_empty() {
            doc.remove("notify");
        } else {
            let mut tables = toml_edit::ArrayOfTables::new();
            for n in &config.notify {
                let mut table = toml_edit::Table::new();
                table["url"] = toml_edit::value(n.url.as_str());
                if let Some(links) = &n.links {
                    table["links"] = toml_edit::value(links.as_str());
                }
                tables.push(table);
            }
            doc["notify"] = toml_edit::Item::ArrayOfTables(tables);
        }
        let text = doc.to_string();
        // Checked as Config::load would, so that an invalid file is never written.
        let check: Config = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
        if check != config {
            return Err(bad(
                "internal: the edited file does not read back as the intended configuration".into(),
            ));
        }
        crate::fsutil::write_atomic_durable(&path, text.as_bytes())?;
        Ok(config)
    }

    /// The serialised form, with a header comment.
    pub fn to_toml(&self) -> Result<String, StoreError> {
        let body = toml::to_string_pretty(self).map_err(|e| StoreError::Config {
            path: CONFIG_FILE.into(),
            message: e.to_string(),
        })?;
        Ok(format!(
            "# exhibit archive configuration (docs/FORMAT.md)\n{body}"
        ))
    }

    /// Adds a TSA (a name is derived from the URL when `name` is `None`, made unique with `-2`,
    /// `-3`…). Refuses a URL or name already configured.
    pub fn add_tsa(
        &mut self,
        url: &str,
        name: Option<&str>,
        ca: Option<PathBuf>,
    ) -> Result<TsaEntry, String> {
        check_tsa_url(url)?;
        if let Some(t) = self.tsa.iter().find(|t| t.url == url) {
            return Err(format!("tsa {url} is already configured (as {:?})", t.name));
        }
        let name = match name {
            Some(n) => {
                if self.tsa.iter().any(|t| t.name == n) {
                    return Err(format!("a tsa named {n:?} is already configured"));
                }
                n.to_owned()
            }
            None => unused_name(TsaEntry::default_name(url), |n| {
                self.tsa.iter().any(|t| t.name == n)
            }),
        };
        let entry = TsaEntry {
            name,
            url: url.to_owned(),
            ca,
        };
        entry.check()?;
        self.tsa.push(entry.clone());
        Ok(entry)
    }

    /// Adds a witness (a name is derived from the URL when `name` is `None`, made unique with
    /// `-2`, `-3`…). Refuses a URL, name or key already configured.
    pub fn add_witness(
        &mut self,
        url: &str,
        vkey: &str,
        name: Option<&str>,
    ) -> Result<WitnessEntry, String> {
        let taken = |n: &str| self.witness.iter().any(|w| w.name == n);
        if let Some(w) = self.witness.iter().find(|w| w.url == url || w.vkey == vkey) {
            return Err(format!(
                "witness {url} or its key is already configured (as {:?})",
                w.name
            ));
        }
        let name = match name {
            Some(n) if taken(n) => {
                return Err(format!("a witness named {n:?} is already configured"));
            }
            Some(n) => n.to_owned(),
            None => unused_name(TsaEntry::default_name(url), taken),
        };
        let entry = WitnessEntry {
            name,
            url: url.to_owned(),
            vkey: vkey.to_owned(),
        };
        entry.check()?;
        self.witness.push(entry.clone());
        Ok(entry)
    }

    /// The key path resolved against the archive root.
    pub fn key_path(&self, root: &Path) -> PathBuf {
        if self.key.is_absolute() {
            self.key.clone()
        } else {
            root.join(&self.key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Retention, check_http_url};

    #[test]
    fn notify_urls_are_http_with_a_host_and_nothing_else() {
        for good in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.org",
            "https://user:token@hooks.example.org/a?b=c#d",
            "http://[::1]:9/x",
            "HTTPS://Hooks.Example/",
        ] {
            assert_eq!(check_http_url("notify url", good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x",
            "not a url",
            "http://",
            "http:///path",
            "http://host:0/",
            "http://host:99999/",
            "http://host:/",
            "http://[::1/",
            "http://ho st/",
            "http://h\u{e9}te/",
            "javascript:alert(1)",
            "http://host/\x1b[31m",
        ] {
            assert!(check_http_url("notify url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retention_periods_parse_and_anything_else_is_one_line_error() {
        assert_eq!(Retention::parse("7y"), Ok(Retention::Months(84)));
        assert_eq!(Retention::parse("18m"), Ok(Retention::Months(18)));
        assert_eq!(Retention::parse("30d"), Ok(Retention::Days(30)));
        for bad in [
            "", "y", "7", "7w", "0d", "101y", "7é", "é", "７y", "-1d", "1 d", "123456d",
        ] {
            assert!(Retention::parse(bad).is_err(), "{bad:?}");
        }
    }
}
