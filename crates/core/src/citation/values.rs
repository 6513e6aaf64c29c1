//! Parsing the value of one citation field as pasted: record ids, hashes and hash prefixes,
//! URLs, key fingerprints, log positions, HTTP statuses, and dates and times in the spellings
//! filings use. Strict about what a value is (a leaf index is the whole token), lenient about
//! how it is written (Unicode dashes, wrapped spaces, ellipses).
//!
//! Not here: finding the label a value belongs to (`labels.rs`).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Precision, StatedStatus, StatedUrl};
use crate::digest::HashPrefix;
use crate::id::RecordId;

/// A record id as pasted: Unicode dashes are `-`, spaces inside are dropped.
pub(super) fn parse_id(value: &str) -> Result<RecordId, String> {
    let s: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if is_dash(c) { '-' } else { c })
        .collect();
    s.parse::<RecordId>().map_err(|e| match e {
        crate::id::IdError::UnknownKind { kind, .. } => format!(
            "unknown record kind {:?} (expected D, C, V or P)",
            crate::manifest::shorten(&kind, 10)
        ),
        _ => "not a record id (expected the form EX-C-000042)".into(),
    })
}

/// A hash or hash prefix as pasted; the second value is a warning for a short prefix.
pub(super) fn parse_hash(value: &str) -> Result<(HashPrefix, Option<String>), String> {
    let (_, body) = strip_hash_prefix(value);
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let body = trim_ellipsis(&body);
    if let Some(ch) = body.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("{ch:?} is not a hex digit"));
    }
    let n = body.len();
    if n < HashPrefix::MIN_LEN {
        return Err(format!(
            "a hash prefix needs at least {} hex digits, found {n}",
            HashPrefix::MIN_LEN
        ));
    }
    if n > 64 {
        return Err(format!("a SHA-256 has 64 hex digits, found {n}"));
    }
    let p = HashPrefix::parse(body).map_err(|e| e.to_string())?;
    let warning = (n < 16).then(|| {
        format!(
            "the SHA-256 prefix has only {n} hex digits; 16 or more are needed to identify a \
             record with confidence"
        )
    });
    Ok((p, warning))
}

/// A URL as pasted: spaces inside dropped, a trailing ellipsis marks it as cut short.
pub(super) fn parse_url(value: &str) -> Result<StatedUrl, String> {
    let mut s: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if s.starts_with('<') && s.ends_with('>') && s.len() >= 2 {
        s = s[1..s.len() - 1].to_owned();
    }
    let mut truncated = false;
    for e in ["\u{2026}", "..."] {
        if let Some(rest) = s.strip_suffix(e) {
            s = rest.to_owned();
            truncated = true;
            break;
        }
    }
    if !s.contains("://") {
        return Err("not a URL (expected e.g. https://example.org/privacy)".into());
    }
    Ok(StatedUrl { url: s, truncated })
}

/// A key fingerprint: `SHA256:` and 43 unpadded standard base64 digits.
pub(super) fn parse_fingerprint(value: &str) -> Option<String> {
    let s: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let head = s.get(..7)?;
    if !head.eq_ignore_ascii_case("sha256:") {
        return None;
    }
    let body = &s[7..];
    let ok = body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    ok.then(|| format!("SHA256:{body}"))
}

/// `leaf 41 in exhibit/1a2b3c4d`, `41`, `#41`, `index 41 of archive.example.org`,
/// `41 (log exhibit/1a2b3c4d)`. Strict: an optional word (`leaf`, `index`, `entry`,
/// `position`, `leaf index`, `#`, `no.`), then the index as a whole number (ASCII digits, no
/// sign, separator, fraction or leading zero), then nothing, `in ORIGIN`, `of ORIGIN` or
/// `(log ORIGIN)`. `2,000`, `-2`, `2.7` and `2nd` are errors, never leaf 2.
pub(super) fn parse_log_position(value: &str) -> Result<(u64, Option<String>), String> {
    const EXPECTED: &str = "expected e.g. leaf 41 in exhibit/1a2b3c4d";
    let mut rest = value.trim();
    for word in [
        "leaf index",
        "leaf no.",
        "leaf #",
        "leaf",
        "index",
        "entry",
        "position",
        "no.",
        "#",
    ] {
        if let Some(head) = rest.get(..word.len())
            && head.eq_ignore_ascii_case(word)
            && rest[word.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c.is_ascii_digit() || word.ends_with(['#', '.']))
        {
            rest = rest[word.len()..].trim_start();
            if word == "leaf" && rest.starts_with('#') {
                rest = rest[1..].trim_start();
            }
            break;
        }
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(rest.len());
    let (token, tail) = rest.split_at(end);
    if token.is_empty() {
        return Err(format!("no leaf index ({EXPECTED})"));
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{:?} is not a whole leaf index: digits only, with no sign, separator or fraction ({EXPECTED})",
            shown(token)
        ));
    }
    if token.len() > 1 && token.starts_with('0') {
        return Err(format!("{token:?} has a leading zero ({EXPECTED})"));
    }
    let index: u64 = token
        .parse()
        .map_err(|_| "the leaf index is too large".to_owned())?;
    let tail = tail.trim();
    let lower = tail.to_ascii_lowercase();
    let origin = if tail.is_empty() {
        None
    } else if lower.starts_with("in ") || lower.starts_with("of ") {
        Some(tail[3..].trim())
    } else if lower.starts_with("(log ") && tail.ends_with(')') {
        Some(tail[5..tail.len() - 1].trim())
    } else {
        return Err(format!(
            "{:?} after the leaf index is not `in ORIGIN` ({EXPECTED})",
            shown(tail)
        ));
    };
    match origin {
        Some("") => Err(format!("no log origin after `in` ({EXPECTED})")),
        o => Ok((index, o.map(str::to_owned))),
    }
}

/// `404`, `404 Not Found`, `HTTP 404 Not Found`, `HTTP/1.1 200 OK`: a three-digit status code
/// (the whole token, 100 to 599) and an optional reason phrase.
pub(super) fn parse_status(value: &str) -> Result<StatedStatus, String> {
    const EXPECTED: &str = "expected e.g. 404 Not Found";
    let mut rest = value.trim();
    if let Some(head) = rest.get(..4)
        && head.eq_ignore_ascii_case("http")
    {
        rest = &rest[4..];
        if let Some(v) = rest.strip_prefix('/') {
            let n = v
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(v.len());
            rest = &v[n..];
        }
        rest = rest.trim_start();
    }
    let (token, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code: u16 = (token.len() == 3 && token.bytes().all(|b| b.is_ascii_digit()))
        .then(|| token.parse().ok())
        .flatten()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| format!("not an HTTP status ({EXPECTED})"))?;
    let reason = reason.trim();
    Ok(StatedStatus {
        code,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
    })
}

/// A date or date and time as pasted.
pub(super) struct When {
    /// The instant in UTC (start of the minute or day for coarser statements).
    pub(super) at: DateTime<Utc>,
    /// The calendar date as written (before any offset is applied).
    pub(super) date: NaiveDate,
    pub(super) precision: Precision,
    /// Whether a time zone or offset was given.
    pub(super) zoned: bool,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A month name, full or abbreviated to at least three letters (`Sept.` too).
pub(super) fn month(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches('.').to_ascii_lowercase();
    if t.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(t.as_str()))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// A weekday name, full or abbreviated to at least three letters: 0 for Monday.
fn weekday(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches('.').to_ascii_lowercase();
    if t.len() < 3 {
        return None;
    }
    WEEKDAYS
        .iter()
        .position(|w| w.starts_with(t.as_str()))
        .and_then(|i| u32::try_from(i).ok())
}

/// When `value` opens with a weekday that its date does not fall on, says so.
pub(super) fn weekday_conflict(value: &str) -> Option<String> {
    use chrono::Datelike as _;
    let first = value.split([' ', ',']).find(|t| !t.is_empty())?;
    let stated = weekday(first)?;
    let rest = &value[value.find(first)? + first.len()..];
    let when = parse_when(rest)?;
    let actual = when.date.weekday().num_days_from_monday();
    let name = |i: u32| {
        let w = WEEKDAYS[i as usize];
        format!("{}{}", w[..1].to_ascii_uppercase(), &w[1..])
    };
    (actual != stated).then(|| {
        format!(
            "{} is a {}, not a {}",
            when.date.format("%B %-d, %Y"),
            name(actual),
            name(stated)
        )
    })
}

/// A day of the month, perhaps with an ordinal suffix (`30th`).
fn day(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h', 'S', 'T', 'N', 'D', 'R', 'H']);
    if t.is_empty() || t.len() > 2 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok().filter(|d| (1..=31).contains(d))
}

pub(super) fn year(tok: &str) -> Option<i32> {
    (tok.len() == 4 && tok.bytes().all(|b| b.is_ascii_digit()))
        .then(|| tok.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD` (or with `/`).
pub(super) fn iso_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split(['-', '/']);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() > 2 || d.len() > 2 {
        return None;
    }
    let m: u32 = m.parse().ok()?;
    let d: u32 = d.parse().ok()?;
    NaiveDate::from_ymd_opt(year(y)?, m, d)
}

/// `+02:00`, `+0200`, `+02`, `-05:30` → seconds east of UTC.
fn offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.chars().next()? {
        '+' => (1, &s[1..]),
        '-' | '\u{2212}' => (-1, &s[s.chars().next().map_or(1, char::len_utf8)..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// A time zone token: `UTC`, `GMT`, `Z`, `UT`, an offset, or `UTC+02:00`.
fn zone(tok: &str) -> Option<i32> {
    let t = tok.trim_matches(['(', ')']);
    let upper = t.to_ascii_uppercase();
    for name in ["UTC", "GMT", "UT", "Z"] {
        if let Some(rest) = upper.strip_prefix(name) {
            if rest.is_empty() {
                return Some(0);
            }
            if name != "Z" {
                return offset(&t[name.len()..]);
            }
        }
    }
    offset(t)
}

/// Parses a date, or a date and time, in the spellings filings use.
pub(super) fn parse_when(value: &str) -> Option<When> {
    let cleaned: String = value
        .chars()
        .map(|c| if c == ',' { ' ' } else { c })
        .collect();
    let mut toks: Vec<&str> = cleaned.split_whitespace().collect();
    if toks.len() > 12 {
        return None;
    }
    let stated_weekday = toks.first().and_then(|t| weekday(t));
    if stated_weekday.is_some() {
        toks.remove(0);
    }
    let first = *toks.first()?;
    let (date, mut rest): (NaiveDate, Vec<&str>) =
        if first.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && first.len() >= 8
            && first
                .as_bytes()
                .get(4)
                .is_some_and(|b| matches!(b, b'-' | b'/'))
        {
            // ISO: `2026-04-30`, `2026-04-30T06:15:21Z`.
            let (d, t) = match first.find(['T', 't']) {
                Some(i) => (&first[..i], Some(&first[i + 1..])),
                None => (first, None),
            };
            let mut rest: Vec<&str> = t.into_iter().collect();
            rest.extend(&toks[1..]);
            (iso_date(d)?, rest)
        } else {
            let (a, b, c) = (toks.first()?, toks.get(1)?, toks.get(2)?);
            let date = if let (Some(m), Some(d)) = (month(a), day(b)) {
                NaiveDate::from_ymd_opt(year(c)?, m, d)?
            } else if let (Some(d), Some(m)) = (day(a), month(b)) {
                NaiveDate::from_ymd_opt(year(c)?, m, d)?
            } else {
                return None;
            };
            (date, toks[3..].to_vec())
        };
    // A stated weekday must be the date's.
    if stated_weekday.is_some_and(|w| {
        use chrono::Datelike as _;
        date.weekday().num_days_from_monday() != w
    }) {
        return None;
    }
    if rest.first().is_some_and(|t| t.eq_ignore_ascii_case("at")) {
        rest.remove(0);
    }
    let Some(time_tok) = rest.first().copied() else {
        let at = date.and_hms_opt(0, 0, 0)?.and_utc();
        return Some(When {
            at,
            date,
            precision: Precision::Day,
            zoned: false,
        });
    };
    // The time, perhaps with a zone glued on (`06:15:21Z`, `08:15:21+02:00`, `6:15AM`).
    let split = time_tok
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(time_tok.len());
    let (clock, glued) = time_tok.split_at(split);
    let mut parts = clock.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m_part = parts.next()?;
    if m_part.len() != 2 {
        return None;
    }
    let m: u32 = m_part.parse().ok()?;
    let s_part = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (s, precision) = match s_part {
        None => (0, Precision::Minute),
        Some(sp) => {
            let whole = sp.split('.').next()?;
            let frac = &sp[whole.len()..];
            if whole.len() != 2
                || frac.len() > 10
                || !frac.chars().skip(1).all(|c| c.is_ascii_digit())
            {
                return None;
            }
            (whole.parse::<u32>().ok()?, Precision::Second)
        }
    };
    let mut extra: Vec<&str> = Vec::new();
    if !glued.is_empty() {
        extra.push(glued);
    }
    extra.extend(&rest[1..]);
    let mut ampm: Option<bool> = None;
    let mut zone_secs: Option<i32> = None;
    for tok in extra {
        let t = tok.to_ascii_lowercase().replace('.', "");
        if ampm.is_none() && (t == "am" || t == "pm") {
            ampm = Some(t == "pm");
        } else if zone_secs.is_none()
            && let Some(z) = zone(tok)
        {
            zone_secs = Some(z);
        } else {
            return None;
        }
    }
    let h = match ampm {
        None => h,
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(pm) => h % 12 + if pm { 12 } else { 0 },
    };
    let local = date.and_hms_opt(h, m, s)?;
    let at = local.and_utc() - chrono::TimeDelta::seconds(i64::from(zone_secs.unwrap_or(0)));
    Some(When {
        at,
        date,
        precision,
        zoned: zone_secs.is_some(),
    })
}

/// Unicode dashes that stand for `-` in ids and labels.
pub(super) fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

/// Strips one trailing `…`, `...`, `..` or `.` (and the spaces before it).
pub(super) fn trim_ellipsis(s: &str) -> &str {
    let s = s.trim_end();
    for e in ["\u{2026}", "...", "..", "."] {
        if let Some(rest) = s.strip_suffix(e) {
            return rest.trim_end();
        }
    }
    s
}

/// Strips an optional `sha256:` / `sha-256:` in front of a hash; says whether there was one.
pub(super) fn strip_hash_prefix(s: &str) -> (bool, &str) {
    let t = s.trim_start();
    for p in ["sha256:", "sha-256:", "sha256\u{FF1A}", "sha-256\u{FF1A}"] {
        if let Some(head) = t.get(..p.len())
            && head.eq_ignore_ascii_case(p)
        {
            return (true, t[p.len()..].trim_start());
        }
    }
    (false, t)
}

/// The value shown in an error message: at most 60 characters.
pub(super) fn shown(value: &str) -> String {
    crate::manifest::shorten(value, 60)
}
