//! `exhibit key rotate`, `exhibit key revoke` and `exhibit key history`: the archive's key
//! history (docs/FORMAT.md §2.1; the store's `key_history` does the work).

use std::io::Write;
use std::path::{Path, PathBuf};

use exhibit_store::Archive;
use exhibit_store::key_history::{KeyChange, NewKey};
use serde_json::json;

use crate::output::{json_line, text_stdout};
use crate::{EXIT_OK, Failure};

/// `exhibit key rotate [--new-key FILE] [--finish] [--root-key FILE]`.
pub fn rotate(
    root: &Path,
    new_key: Option<PathBuf>,
    finish: bool,
    root_key: Option<PathBuf>,
    json: bool,
) -> Result<u8, Failure> {
    let root_key = load_root(root_key)?;
    let mut archive = Archive::open(root)?;
    if finish {
        let current = archive.finish_rotation(new_key)?;
        if json {
            json_line(&json!({"current_key": current}))?;
        } else {
            writeln!(text_stdout(), "The archive's signing key is {current}.")?;
        }
        return Ok(EXIT_OK);
    }
    let change = archive.rotate_key(new_key_of(new_key), chrono::Utc::now(), root_key.as_ref())?;
    // The checkpoint the rotation is bound to is timestamped and witnessed like any other.
    crate::vouch::after_signing(&mut archive)?;
    print_change(&change, json)?;
    Ok(EXIT_OK)
}

/// `exhibit key revoke --compromised-since TIME [--key FP] [--new-key FILE]`.
pub fn revoke(
    root: &Path,
    since: &str,
    (key, new_key, root_key): (Option<String>, Option<PathBuf>, Option<PathBuf>),
    json: bool,
) -> Result<u8, Failure> {
    let root_key = load_root(root_key)?;
    let since = chrono::DateTime::parse_from_rfc3339(since.trim())
        .map_err(|e| {
            Failure::bad_input(format!(
                "--compromised-since {:?}: not an RFC 3339 time ({e}); e.g. 2026-12-01T00:00:00Z",
                exhibit_core::inert(since)
            ))
        })?
        .with_timezone(&chrono::Utc);
    let now = chrono::Utc::now();
    if since > now {
        return Err(Failure::bad_input(
            "--compromised-since is in the future: a key is revoked from when it was exposed",
        ));
    }
    let mut archive = Archive::open(root)?;
    let mut changes = Vec::new();
    let target = match key {
        Some(fp) => fp,
        None => {
            // The current key: hand signing to a new key first, so that a key that is not
            // compromised signs the revocation.
            let rotated = archive.rotate_key(new_key_of(new_key), now, root_key.as_ref())?;
            let old = rotated.key.clone();
            changes.push(rotated);
            old
        }
    };
    changes.push(archive.revoke_key(&target, since, now, root_key.as_ref())?);
    crate::vouch::after_signing(&mut archive)?;
    for c in &changes {
        print_change(c, json)?;
    }
    Ok(EXIT_OK)
}

/// `exhibit key history`.
pub fn history(root: &Path, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let keys = archive.keys()?;
    let eras: Vec<serde_json::Value> = keys
        .eras()
        .iter()
        .map(|e| {
            json!({
                "fingerprint": e.fingerprint,
                "first_leaf": e.first_leaf,
                "end_leaf": e.end_leaf,
                "compromised_since": e.compromised_since.map(exhibit_core::time::format_rfc3339_seconds),
            })
        })
        .collect();
    if json {
        json_line(&json!({
            "keys": eras,
            "root": keys.root_fingerprint(),
            "statements": keys.statements().len(),
        }))?;
        return Ok(EXIT_OK);
    }
    let mut out = text_stdout();
    for (i, e) in keys.eras().iter().enumerate() {
        let span = match e.end_leaf {
            Some(end) => format!("log leaves {}..{end}", e.first_leaf),
            None => format!("log leaves {}.. (current)", e.first_leaf),
        };
        let status = match e.compromised_since {
            Some(t) => format!(
                "  REVOKED: compromised since {}",
                exhibit_core::time::format_rfc3339_seconds(t)
            ),
            None => String::new(),
        };
        writeln!(out, "key {}  {}  {span}{status}", i + 1, e.fingerprint)?;
    }
    if let Some(root) = keys.root_fingerprint() {
        writeln!(
            out,
            "root   {root}  (offline; certifies the keys it brought in)"
        )?;
    }
    if keys.statements().is_empty() {
        writeln!(
            out,
            "(one key since the archive was made; no key statements)"
        )?;
    }
    Ok(EXIT_OK)
}

/// The root key a `--root-key FILE` names (exit 2 if it does not load).
fn load_root(file: Option<PathBuf>) -> Result<Option<exhibit_sign::SigningKey>, Failure> {
    file.map(|f| exhibit_sign::SigningKey::load(&f))
        .transpose()
        .map_err(|e| Failure::bad_input(format!("--root-key: {e}")))
}

fn new_key_of(file: Option<PathBuf>) -> NewKey {
    file.map_or(NewKey::Generate, NewKey::File)
}

fn print_change(c: &KeyChange, json: bool) -> Result<(), Failure> {
    if json {
        return json_line(c);
    }
    let mut out = text_stdout();
    match c.action {
        "rotate" => {
            writeln!(
                out,
                "Rotated the signing key at log size {}: {} -> {} ({}).",
                c.log_size,
                c.key,
                c.new_key.as_deref().unwrap_or_default(),
                c.statement
            )?;
            if let Some(f) = &c.new_key_file {
                writeln!(out, "  new private key  {}", f.display())?;
            }
            writeln!(
                out,
                "  Readers who pinned the old key accept the new one through this statement; \
                 give witnesses the new log key (`exhibit log key`)."
            )?;
        }
        _ => writeln!(
            out,
            "Revoked {}: compromised since {} ({}).",
            c.key,
            c.compromised_since.as_deref().unwrap_or_default(),
            c.statement
        )?,
    }
    Ok(())
}
