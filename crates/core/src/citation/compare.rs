//! Comparing: what a [`Citation`] states, field by field, against what a record's
//! [`RecordFacts`] say. Pure: the caller has already verified the record (its signature, its
//! log inclusion); choosing which record a citation means and the verdict are not here
//! (`exhibit_verify::citation`).

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Citation, FieldCheck, FieldStatus, Precision, RecordFacts, SHOWN_CHARS, StatedExcerpt,
    StatedStatus, StatedTime, StatedUrl, one_line,
};
use crate::digest::{HashPrefix, Sha256Digest};
use crate::id::{RecordId, RecordKind};

/// Compares what `citation` states with `facts`, one [`FieldCheck`] per field in render
/// order. `text`, when given, is the extracted text of the record's version: a stated excerpt
/// is looked for in it (after whitespace normalisation).
///
/// The fields, in order: Record ID, Entity, Document, Captured, SHA-256, URL, Accessed,
/// Document ID, Version ID, Capture ID, Provision ID, Text SHA-256, Excerpt, Excerpt SHA-256,
/// Manifest SHA-256, Capture-Failed, HTTP Status, Signed-By, Log Position. A field the record has but the
/// citation does not state is [`FieldStatus::NotStated`]; a field neither has is left out.
/// (`Capture ID` and `Provision ID` count as "had" only when they are not the record id itself,
/// `Text SHA-256` only for versions and provisions, as in [`render`](fn@super::render), and
/// `Manifest SHA-256` and `HTTP Status` never, since they are not rendered.)
///
/// A URL matches only the same URL component by component (user and password, host, port,
/// path, query, fragment), its host written in canonical form and with no backslash. `HTTP
/// Status` is the capture's final status, and a stated reason phrase must be the code's.
///
/// A hash field matches only its own hash: a `SHA-256` that is the text's or the manifest's
/// hash DIFFERS, and the report says which hash it is. `Accessed` is the citer's own date and
/// is not checked, except that a date more than a day before the record was made (the day
/// allows for time zones) DIFFERS. Labelled lines that name no field are not compared here:
/// they are in [`Citation::unchecked`].
pub fn compare(citation: &Citation, facts: &RecordFacts, text: Option<&str>) -> Vec<FieldCheck> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, has: bool, status: Option<FieldStatus>| match status {
        Some(status) => out.push(FieldCheck { field, status }),
        None if has => out.push(FieldCheck {
            field,
            status: FieldStatus::NotStated,
        }),
        None => {}
    };

    push(
        "Record ID",
        true,
        citation
            .record_id
            .as_ref()
            .map(|s| compare_id(s, &facts.id)),
    );
    let entity = facts
        .entity
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    push(
        "Entity",
        entity.is_some(),
        citation
            .entity
            .as_deref()
            .map(|s| compare_name(s, entity.as_deref())),
    );
    let title = facts
        .title
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    push(
        "Document",
        title.is_some(),
        citation
            .title
            .as_deref()
            .map(|s| compare_name(s, title.as_deref())),
    );
    push(
        "Captured",
        true,
        citation
            .captured
            .as_ref()
            .map(|s| compare_time(s, facts.captured_at)),
    );
    push(
        "SHA-256",
        facts.sha256.is_some(),
        citation
            .sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Content, facts)),
    );
    push(
        "URL",
        true,
        citation.url.as_ref().map(|u| compare_url(u, facts)),
    );
    push(
        "Accessed",
        true,
        citation.accessed.map(|d| compare_accessed(d, facts)),
    );
    push(
        "Document ID",
        true,
        citation
            .document_id
            .as_ref()
            .map(|s| compare_id(s, &facts.document_id)),
    );
    push(
        "Version ID",
        facts.version_id.is_some(),
        citation
            .version_id
            .as_ref()
            .map(|s| compare_optional_id(s, facts.version_id.as_ref())),
    );
    push(
        "Capture ID",
        facts.capture_id != facts.id,
        citation
            .capture_id
            .as_ref()
            .map(|s| compare_id(s, &facts.capture_id)),
    );
    push(
        "Provision ID",
        facts.provision_id.as_ref().is_some_and(|p| *p != facts.id),
        citation
            .provision_id
            .as_ref()
            .map(|s| compare_optional_id(s, facts.provision_id.as_ref())),
    );
    push(
        "Text SHA-256",
        facts.text_sha256.is_some()
            && matches!(facts.kind(), RecordKind::Version | RecordKind::Provision),
        citation
            .text_sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Text, facts)),
    );
    push(
        "Excerpt",
        facts.excerpt.is_some(),
        citation
            .excerpt
            .as_ref()
            .map(|e| compare_excerpt(e, facts, text)),
    );
    push(
        "Excerpt SHA-256",
        facts.excerpt_sha256.is_some(),
        citation
            .excerpt_sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Excerpt, facts)),
    );
    push(
        "Manifest SHA-256",
        false,
        citation
            .manifest_sha256
            .as_ref()
            .map(|p| compare_hash(p, Hash::Manifest, facts)),
    );
    let error = facts
        .error
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    push(
        "Capture-Failed",
        error.is_some(),
        citation.capture_failed.as_deref().map(|s| match &error {
            Some(e) => compare_name(s, Some(e)),
            None => differs(s, "none (the capture succeeded)"),
        }),
    );
    push(
        "HTTP Status",
        false,
        citation
            .http_status
            .as_ref()
            .map(|st| compare_status(st, facts)),
    );
    push(
        "Signed-By",
        !facts.signer.is_empty(),
        citation.signer.as_deref().map(|s| {
            if s == facts.signer {
                FieldStatus::Matches { note: None }
            } else {
                differs(s, &facts.signer)
            }
        }),
    );
    let stated_log = citation
        .log_index
        .map(|i| (i, citation.log_origin.as_deref()));
    push(
        "Log Position",
        facts.log_index.is_some(),
        stated_log.map(|(i, origin)| compare_log(i, origin, facts)),
    );
    out
}

/// Matches with no note.
const MATCHES: FieldStatus = FieldStatus::Matches { note: None };

fn matches_with(note: impl Into<String>) -> FieldStatus {
    FieldStatus::Matches {
        note: Some(note.into()),
    }
}

fn differs(stated: &str, found: &str) -> FieldStatus {
    FieldStatus::Differs {
        stated: crate::manifest::shorten(stated, SHOWN_CHARS),
        found: crate::manifest::shorten(found, SHOWN_CHARS),
    }
}

fn compare_id(stated: &RecordId, found: &RecordId) -> FieldStatus {
    if stated == found {
        MATCHES
    } else {
        differs(&stated.to_string(), &found.to_string())
    }
}

fn compare_optional_id(stated: &RecordId, found: Option<&RecordId>) -> FieldStatus {
    match found {
        Some(f) => compare_id(stated, f),
        None => differs(&stated.to_string(), "none"),
    }
}

fn compare_name(stated: &str, found: Option<&str>) -> FieldStatus {
    let Some(found) = found else {
        return differs(stated, "none");
    };
    let (a, b) = (
        crate::quote::match_form(stated),
        crate::quote::match_form(found),
    );
    // A citation printed by `cite` shows control characters escaped (`\u{1b}`).
    if a == b || a == crate::quote::match_form(&crate::inert::inert(found)) {
        MATCHES
    } else if a.to_lowercase() == b.to_lowercase() {
        matches_with("differs only in letter case")
    } else {
        differs(stated, found)
    }
}

fn compare_time(stated: &StatedTime, found: DateTime<Utc>) -> FieldStatus {
    let same = match stated.precision {
        Precision::Second => stated.at == found,
        Precision::Minute => {
            stated.at.timestamp().div_euclid(60) == found.timestamp().div_euclid(60)
        }
        Precision::Day => stated.at.date_naive() == found.date_naive(),
    };
    match (same, stated.precision) {
        (true, Precision::Second) => MATCHES,
        (true, Precision::Minute) => matches_with("stated to the minute"),
        (true, Precision::Day) => matches_with("stated as a date only"),
        (false, _) => differs(&stated.text, &crate::time::format_human(found)),
    }
}

fn compare_prefix(stated: &HashPrefix, found: Option<&Sha256Digest>) -> FieldStatus {
    match found {
        Some(d) if stated.matches(&d.to_hex()) => {
            if stated.is_full() {
                MATCHES
            } else {
                matches_with(format!("first {} of 64 hex digits", stated.as_str().len()))
            }
        }
        Some(d) => differs(stated.as_str(), &d.to_hex()),
        None => differs(stated.as_str(), "none"),
    }
}

/// The hashes a record has, as a citation names them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Content,
    Text,
    Excerpt,
    Manifest,
}

impl Hash {
    /// The digest of `facts` this hash is, if the record has it.
    fn of(self, facts: &RecordFacts) -> Option<&Sha256Digest> {
        match self {
            Hash::Content => facts.sha256.as_ref(),
            Hash::Text => facts.text_sha256.as_ref(),
            Hash::Excerpt => facts.excerpt_sha256.as_ref(),
            Hash::Manifest => Some(&facts.manifest_sha256),
        }
    }

    /// What it is the hash of, for a report.
    fn name(self) -> &'static str {
        match self {
            Hash::Content => "captured content",
            Hash::Text => "extracted text",
            Hash::Excerpt => "excerpt",
            Hash::Manifest => "signed manifest",
        }
    }
}

/// Compares a stated hash with the record's hash `which`. Another of the record's hashes is
/// not a match: the report names it.
fn compare_hash(stated: &HashPrefix, which: Hash, facts: &RecordFacts) -> FieldStatus {
    let own = which.of(facts);
    if own.is_some_and(|d| stated.matches(&d.to_hex())) {
        return compare_prefix(stated, own);
    }
    let found = own.map_or_else(|| "none".to_owned(), Sha256Digest::to_hex);
    for other in [Hash::Content, Hash::Text, Hash::Excerpt, Hash::Manifest] {
        if other != which && other.of(facts).is_some_and(|d| stated.matches(&d.to_hex())) {
            return FieldStatus::Differs {
                stated: stated.as_str().to_owned(),
                found: format!(
                    "{found}; the stated digits are its {} SHA-256, not its {} SHA-256",
                    other.name(),
                    which.name()
                ),
            };
        }
    }
    differs(stated.as_str(), &found)
}

/// `Accessed` is the citer's own date: unchecked, unless it is more than a day before the
/// record was made.
fn compare_accessed(stated: NaiveDate, facts: &RecordFacts) -> FieldStatus {
    if facts
        .accessed
        .pred_opt()
        .is_some_and(|day_before| stated < day_before)
    {
        return FieldStatus::Differs {
            stated: stated.format("%B %-d, %Y").to_string(),
            found: format!(
                "made on {}; it cannot have been accessed before",
                facts.accessed.format("%B %-d, %Y")
            ),
        };
    }
    FieldStatus::Noted {
        note: "the citer's own access date; the record cannot confirm it".to_owned(),
    }
}

/// `HTTP Status` is the capture's final HTTP status; a stated reason phrase must be the code's
/// standard one or the one the recorded error gives (`HTTP 404 Not Found`).
fn compare_status(stated: &StatedStatus, facts: &RecordFacts) -> FieldStatus {
    let shown_stated = match &stated.reason {
        Some(r) => format!("{} {r}", stated.code),
        None => stated.code.to_string(),
    };
    let Some(code) = facts.http_status else {
        return differs(&shown_stated, "none (no HTTP response was recorded)");
    };
    let standard = crate::http_status::reason_phrase(code);
    let shown_found = match standard {
        Some(r) => format!("{code} {r}"),
        None => code.to_string(),
    };
    if stated.code != code {
        return differs(&shown_stated, &shown_found);
    }
    let Some(reason) = &stated.reason else {
        return MATCHES;
    };
    let folded = |s: &str| crate::quote::match_form(s).to_lowercase();
    let said = folded(reason);
    let in_error = facts
        .error
        .as_deref()
        .is_some_and(|e| folded(e) == format!("http {code} {said}"));
    if standard.is_some_and(|r| folded(r) == said) || in_error {
        MATCHES
    } else {
        differs(&shown_stated, &shown_found)
    }
}

/// The normalised form of a URL, or the URL itself when it does not normalise.
fn normal_url(u: &str) -> String {
    crate::url::normalize_document_url(u).map_or_else(|_| u.trim().to_owned(), |n| n.to_string())
}

/// The authority of a URL as written (between `://` and the next `/`, `?`, `#` or `\`).
fn written_authority(u: &str) -> Option<&str> {
    let (_, rest) = u.split_once("://")?;
    Some(&rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())])
}

/// Whether a stated URL names the same resource as a recorded one, component by component:
/// scheme, user name and password, host, port (a default port is the same as none), path,
/// query and fragment, after WHATWG parsing (which lower-cases scheme and host and punycodes
/// an internationalised host). The host must be written in its canonical form (no
/// percent-escapes, no numeric shorthand such as `2130706433` for `127.0.0.1`), and a URL with
/// a backslash or a control character never matches another spelling: parsers disagree
/// about both.
fn same_url(stated: &str, recorded: &str) -> bool {
    if stated == recorded {
        return true;
    }
    if stated.contains('\\') || stated.chars().any(char::is_control) {
        return false;
    }
    let (Ok(a), Ok(b)) = (::url::Url::parse(stated), ::url::Url::parse(recorded)) else {
        return false;
    };
    if a != b {
        return false;
    }
    // The host as written is the host parsed (up to letter case and IDNA).
    let Some(auth) = written_authority(stated) else {
        return false;
    };
    let host_port = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port, |i| &host_port[..=i])
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    !host.is_ascii() || a.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// A URL with its scheme and authority in lower case (the rest as written).
fn lower_authority(u: &str) -> String {
    match u.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                rest[..end].to_ascii_lowercase(),
                &rest[end..]
            )
        }
        None => u.to_owned(),
    }
}

fn compare_url(stated: &StatedUrl, facts: &RecordFacts) -> FieldStatus {
    let recorded = std::iter::once(&facts.url).chain(&facts.other_urls);
    if stated.truncated {
        // A cut URL claims something only once it names a host: `https://…` matches nothing.
        // It is compared as written (scheme and authority in any case): a user part, a
        // backslash or a port the recorded URLs do not have is not theirs.
        let auth = written_authority(&stated.url);
        let names_host = auth.is_some_and(|a| !a.is_empty());
        let odd = auth.is_some_and(|a| a.contains('@'))
            || stated.url.contains('\\')
            || stated.url.chars().any(char::is_control);
        let cut = lower_authority(&stated.url);
        let starts = |u: &str| {
            u.starts_with(stated.url.as_str())
                || (!odd
                    && (lower_authority(u).starts_with(&cut)
                        || lower_authority(&normal_url(u)).starts_with(&cut)))
        };
        let mut recorded = recorded;
        if names_host && recorded.any(|u| starts(u)) {
            return matches_with("the citation shortens the URL");
        }
        return differs(&format!("{}\u{2026}", stated.url), &facts.url);
    }
    if same_url(&stated.url, &facts.url) {
        return MATCHES;
    }
    if facts.other_urls.iter().any(|u| same_url(&stated.url, u)) {
        return matches_with("another URL the capture recorded (request or final URL)");
    }
    differs(&stated.url, &facts.url)
}

fn compare_excerpt(stated: &StatedExcerpt, facts: &RecordFacts, text: Option<&str>) -> FieldStatus {
    let cited = crate::quote::match_form(&stated.text);
    if let Some(excerpt) = &facts.excerpt {
        let found = crate::quote::match_form(excerpt);
        let ok = cited == found
            || (!cited.is_empty()
                && match (stated.truncated_start, stated.truncated_end) {
                    (false, false) => false,
                    (false, true) => found.starts_with(&cited),
                    (true, false) => found.ends_with(&cited),
                    (true, true) => found.contains(&cited),
                });
        return if ok {
            MATCHES
        } else {
            differs(&stated.text, &one_line(excerpt))
        };
    }
    let Some(text) = text else {
        return FieldStatus::Noted {
            note: "no text to check it against".into(),
        };
    };
    match crate::quote::find(text, &stated.text).len() {
        0 => {
            let found = match crate::quote::closest(text, &stated.text) {
                Some(c) => format!(
                    "not in the version's text; closest: \u{201C}{}\u{201D}",
                    crate::manifest::shorten(&c.passage, SHOWN_CHARS)
                ),
                None => "not in the version's text".to_owned(),
            };
            FieldStatus::Differs {
                stated: crate::manifest::shorten(&stated.text, SHOWN_CHARS),
                found,
            }
        }
        1 => matches_with("appears in the version's text (once)"),
        n => matches_with(format!("appears in the version's text ({n} times)")),
    }
}

fn compare_log(index: u64, origin: Option<&str>, facts: &RecordFacts) -> FieldStatus {
    let Some(found) = facts.log_index else {
        return FieldStatus::Noted {
            note: "no verified log position".into(),
        };
    };
    let found_origin = one_line(&facts.log_origin);
    let shown_found = if found_origin.is_empty() {
        format!("leaf {found}")
    } else {
        format!("leaf {found} in {found_origin}")
    };
    let shown_stated = match origin {
        Some(o) => format!("leaf {index} in {o}"),
        None => format!("leaf {index}"),
    };
    if index != found || origin.is_some_and(|o| one_line(o) != found_origin) {
        return differs(&shown_stated, &shown_found);
    }
    MATCHES
}
