//! Time stamps in the two text forms the fake has to write.
//!
//! Ollama is written in Go, and two of its time formats reach the wire:
//!
//! * `created_at` on every chat chunk is `time.Now().UTC()` encoded by
//!   `encoding/json`, i.e. RFC 3339 with up to nine fractional digits and the
//!   **trailing zeros of the fraction cut** (`.41205Z`, `.5107Z`, or no fraction
//!   at all when it is exactly zero). Clients have to parse that leniently, so the
//!   fake must produce the short forms too.
//! * the `Date` response header, which Go's `net/http` writes in the IMF-fixdate
//!   form of RFC 9110 (`Sat, 22 Aug 2026 10:15:03 GMT`).
//!
//! Both are small enough to write by hand from [`SystemTime`], which keeps a date
//! library out of the dependency tree. The calendar arithmetic is Howard
//! Hinnant's `civil_from_days`, valid for every date we can meet.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Splits a time into whole seconds since the Unix epoch and the nanoseconds
/// past that second. Times before 1970 do not occur here; they clamp to 0.
fn unix_parts(t: SystemTime) -> (i64, u32) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    (since.as_secs() as i64, since.subsec_nanos())
}

/// Converts a count of days since 1970-01-01 into (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year, March-based
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe as i64 + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats `t` the way Go's `encoding/json` writes a UTC `time.Time`:
/// `2026-08-22T10:15:03.41205Z`.
pub(crate) fn rfc3339_utc(t: SystemTime) -> String {
    let (secs, nanos) = unix_parts(t);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Formats `t` as an HTTP `Date` header value: `Sat, 22 Aug 2026 10:15:03 GMT`.
pub(crate) fn http_date(t: SystemTime) -> String {
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (secs, _) = unix_parts(t);
    let days = secs.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sod = secs.rem_euclid(86_400);
    // 1970-01-01 was a Thursday (index 4 when Sunday is 0).
    let weekday = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    format!(
        "{weekday}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        MONTHS[month as usize - 1],
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    // 2026-08-22T10:15:03Z, the time stamp of the reference transcripts.
    const TRANSCRIPT_SECS: u64 = 1_787_393_703;

    #[test]
    fn created_at_cuts_trailing_zeros_of_the_fraction() {
        assert_eq!(
            rfc3339_utc(at(TRANSCRIPT_SECS, 412_050_000)),
            "2026-08-22T10:15:03.41205Z"
        );
        assert_eq!(
            rfc3339_utc(at(TRANSCRIPT_SECS, 510_700_000)),
            "2026-08-22T10:15:03.5107Z"
        );
        assert_eq!(
            rfc3339_utc(at(TRANSCRIPT_SECS, 1)),
            "2026-08-22T10:15:03.000000001Z"
        );
        assert_eq!(rfc3339_utc(at(TRANSCRIPT_SECS, 0)), "2026-08-22T10:15:03Z");
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(rfc3339_utc(at(0, 0)), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day in a century year divisible by 400).
        assert_eq!(rfc3339_utc(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        // 2024-12-31T23:59:59Z, the last second of a leap year.
        assert_eq!(rfc3339_utc(at(1_735_689_599, 0)), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn http_date_is_imf_fixdate() {
        assert_eq!(
            http_date(at(TRANSCRIPT_SECS, 999)),
            "Sat, 22 Aug 2026 10:15:03 GMT"
        );
        assert_eq!(http_date(at(0, 0)), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
