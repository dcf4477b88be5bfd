//! Dates without a date library: Unix seconds ↔ ISO 8601 (UTC), and the relative forms the CLI
//! accepts (`30d`, `2w`, `2024-03-01`).

use serde::{Serialize, Serializer};

/// Seconds since the Unix epoch, UTC. Serialises as an ISO 8601 string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_iso(self.0))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_iso(self.0))
    }
}

pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2024-03-01T12:00:00Z`.
pub fn format_iso(ts: i64) -> String {
    let (y, mo, d) = civil_from_days(ts.div_euclid(DAY));
    let secs = ts.rem_euclid(DAY);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `Fri, 01 Mar 2024 12:00:00 +0000`: an RFC 5322 date, in UTC.
pub fn format_rfc5322(ts: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = ts.div_euclid(DAY);
    let (y, mo, d) = civil_from_days(days);
    let secs = ts.rem_euclid(DAY);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(mo as usize).saturating_sub(1) % 12],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `2024-03-01`.
pub fn format_date(ts: i64) -> String {
    let (y, mo, d) = civil_from_days(ts.div_euclid(DAY));
    format!("{y:04}-{mo:02}-{d:02}")
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ`, or a span back from `now` (`30d`, `2w`, `6m`,
/// `1y`, `12h`). Years 0–9999 and real clock times only: anything else (a server's garbage
/// included) is `None`, never an overflow.
pub fn parse_when(s: &str, now: i64) -> Option<i64> {
    let s = s.trim();
    if let Some(span) = parse_span(s) {
        return now.checked_sub(span);
    }
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim_end_matches('Z'))),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * DAY;
    if let Some(t) = time {
        let mut hms = t.split(':');
        let h: i64 = hms.next()?.parse().ok()?;
        let mi: i64 = hms.next().unwrap_or("0").parse().ok()?;
        let se: i64 = hms.next().unwrap_or("0").parse().ok()?;
        if !(0..=23).contains(&h) || !(0..=59).contains(&mi) || !(0..=60).contains(&se) {
            return None;
        }
        secs += h * 3600 + mi * 60 + se;
    }
    Some(secs)
}

/// `30d` → seconds. Units: h, d, w, m (30 days), y (365 days).
pub fn parse_span(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let mult = match unit {
        'h' => 3600,
        'd' => DAY,
        'w' => 7 * DAY,
        'm' => 30 * DAY,
        'y' => 365 * DAY,
        _ => return None,
    };
    n.checked_mul(mult).filter(|_| n >= 0)
}

/// "3 days", "5 hours", "2 months": a short human age.
pub fn human_age(secs: i64) -> String {
    let secs = secs.max(0);
    let (n, unit) = if secs < 3600 {
        (secs / 60, "minute")
    } else if secs < DAY {
        (secs / 3600, "hour")
    } else if secs < 60 * DAY {
        (secs / DAY, "day")
    } else if secs < 730 * DAY {
        (secs / (30 * DAY), "month")
    } else {
        (secs / (365 * DAY), "year")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The current time in seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5322_dates() {
        assert_eq!(format_rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            format_rfc5322(1_709_294_400),
            "Fri, 01 Mar 2024 12:00:00 +0000"
        );
        assert_eq!(format_rfc5322(-86_400), "Wed, 31 Dec 1969 00:00:00 +0000");
    }

    #[test]
    fn iso_round_trip() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso(1_699_952_400), "2023-11-14T09:00:00Z");
        assert_eq!(format_iso(951_782_400), "2000-02-29T00:00:00Z");
        for ts in [0, 951_782_400, 1_699_952_400, 4_102_444_800] {
            assert_eq!(parse_when(&format_iso(ts), 0), Some(ts));
        }
        assert_eq!(parse_when("2000-02-29", 0), Some(951_782_400));
    }

    #[test]
    fn spans() {
        assert_eq!(parse_when("30d", 100 * DAY), Some(70 * DAY));
        assert_eq!(parse_span("2w"), Some(14 * DAY));
        assert_eq!(parse_span("x"), None);
        assert_eq!(parse_when("2024-13-01", 0), None);
        // A server's garbage is None, not an overflow (found by fuzzing Graph's sentDateTime).
        assert_eq!(
            parse_when("0000005189541784447760068-03-01T1:22:00Z", 0),
            None
        );
        assert_eq!(parse_when("2024-03-01T25:00:00Z", 0), None);
        assert_eq!(parse_when("9223372036854775807d", 0), None);
        assert_eq!(parse_when("1000000000000000y", 0), None);
        assert_eq!(human_age(3 * DAY + 5), "3 days");
        assert_eq!(human_age(3600), "1 hour");
    }
}
