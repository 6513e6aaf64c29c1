//! `genTime` parsing: GeneralizedTime `YYYYMMDDHHMMSS[.f+]Z` (RFC 3161 §2.4.2: UTC, no
//! trailing zeros in the fraction, which is not enforced).

/// The most fraction digits accepted (nanoseconds).
const MAX_FRACTION_DIGITS: usize = 9;

/// A parsed genTime: RFC 3339 text (fraction kept as written) and Unix seconds (floor).
pub(crate) fn parse_gen_time(raw: &[u8]) -> Result<(String, i64), String> {
    let text = std::str::from_utf8(raw).map_err(|_| "genTime is not ASCII".to_string())?;
    let bad = || format!("genTime {text:?} is not YYYYMMDDHHMMSS[.fff]Z");
    let body = text.strip_suffix('Z').ok_or_else(bad)?;
    let (main, fraction) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if let Some(f) = fraction
        && (f.is_empty() || f.len() > MAX_FRACTION_DIGITS || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<i64, String> {
        main.get(from..to)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(8, 10)?, num(10, 12)?, num(12, 14)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(format!("genTime {text:?} is not a valid date and time"));
    }
    let unix = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let frac = fraction.map(|f| format!(".{f}")).unwrap_or_default();
    let rfc3339 = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}Z");
    Ok((rfc3339, unix))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_gen_time;

    #[test]
    fn parses_whole_and_fractional_seconds() {
        assert_eq!(
            parse_gen_time(b"20261123004829Z").ok(),
            Some(("2026-11-23T00:48:29Z".to_string(), 1_795_394_909))
        );
        assert_eq!(
            parse_gen_time(b"20261123004829.52Z").ok(),
            Some(("2026-11-23T00:48:29.52Z".to_string(), 1_795_394_909))
        );
        assert_eq!(
            parse_gen_time(b"19700101000000Z").ok().map(|t| t.1),
            Some(0)
        );
        assert_eq!(
            parse_gen_time(b"20000229235959Z").ok().map(|t| t.1),
            Some(951_868_799)
        );
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            &b""[..],
            b"Z",
            b"20261123004829",
            b"20261123004829+0100",
            b"2026112300482Z",
            b"20261323004829Z",
            b"20260230004829Z",
            b"20261123244829Z",
            b"20261123004860Z",
            b"20261123004829.Z",
            b"20261123004829.1234567890Z",
            b"2026112300482\xffZ",
            b"+0261123004829Z",
        ] {
            assert!(parse_gen_time(bad).is_err(), "{bad:?}");
        }
    }
}
