//! The one timestamp form used in manifests: RFC 3339, UTC, whole seconds (`2026-04-30T06:15:21Z`).

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

/// Formats a time as it appears in manifests, dropping sub-second precision.
pub fn format_rfc3339_seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses the manifest time form strictly: `YYYY-MM-DDTHH:MM:SSZ`, nothing else. Seconds are
/// 00–59: chrono would take `:60` in any minute as a leap second, which no clock exhibit reads
/// ever shows and which a citation could not state.
pub fn parse_rfc3339_seconds(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    (t.nanosecond() < 1_000_000_000 && format_rfc3339_seconds(t) == s).then_some(t)
}

/// The human form citations print: `2026-04-30 06:15:21 UTC`.
pub fn format_human(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_round_trip() {
        let t = parse_rfc3339_seconds("2026-04-30T06:15:21Z").unwrap();
        assert_eq!(format_rfc3339_seconds(t), "2026-04-30T06:15:21Z");
        assert_eq!(format_human(t), "2026-04-30 06:15:21 UTC");
        assert!(parse_rfc3339_seconds("2026-04-30T06:15:21.5Z").is_none());
        assert!(parse_rfc3339_seconds("2026-04-30T08:15:21+02:00").is_none());
        assert!(parse_rfc3339_seconds("yesterday").is_none());
        // Leap seconds (chrono accepts `:60` in any minute): found by fuzzing.
        assert!(parse_rfc3339_seconds("2026-11-23T03:53:60Z").is_none());
        assert!(parse_rfc3339_seconds("2016-12-31T23:59:60Z").is_none());
        assert!(parse_rfc3339_seconds("2016-12-31T23:59:59Z").is_some());
    }
}
