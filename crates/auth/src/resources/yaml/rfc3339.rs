//! RFC 3339 timestamps, as Teleport writes `expires` fields
//! (`2026-05-01T12:00:00Z`). Whole seconds: storage keeps no more.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_rbac::document::{At, Issue};

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC; instants before 1970 print as the epoch.
pub fn format(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; a fraction is dropped.
/// Instants before 1970 are refused: nothing in Oriel expires then.
pub fn parse(text: &str) -> Result<SystemTime, String> {
    let invalid = || format!("invalid time {text:?}, expected RFC 3339 such as \"2026-05-01T12:00:00Z\"");
    let b = text.as_bytes();
    // ASCII only, so every slice below is on a character boundary.
    if !text.is_ascii() || b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(invalid());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let digits = &text[range];
        if digits.bytes().all(|c| c.is_ascii_digit()) { digits.parse().map_err(|_| invalid()) } else { Err(invalid()) }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let (h, m) = (num(text.len() - 5..text.len() - 3)?, num(text.len() - 2..text.len())?);
            if h > 23 || m > 59 {
                return Err(invalid());
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(invalid()),
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    // A leap second (:60) is read as the next second, as Go does.
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] || hour > 23 || minute > 59 || second > 60 {
        return Err(invalid());
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let secs = u64::try_from(secs).map_err(|_| format!("time {text:?} is before 1970"))?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

/// A field holding an instant. The shared reader knows no times (roles have
/// none), so `expires` fields are read through this, with the same errors.
pub(crate) trait TimeField {
    /// An RFC 3339 instant, as [`parse`] reads it.
    fn time(&self) -> Result<SystemTime, Issue>;
}

impl TimeField for At<'_> {
    fn time(&self) -> Result<SystemTime, Issue> {
        parse(self.string()?).map_err(|m| self.issue(m))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn instants_read_and_write() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("2026-11-23T01:53:01Z", 1_795_398_781),
            ("2026-11-23T01:53:01.999999999Z", 1_795_398_781),
            ("2026-11-23T03:53:01+02:00", 1_795_398_781),
            ("2026-11-22T20:53:01-05:00", 1_795_398_781),
            ("2026-11-23t01:53:01z", 1_795_398_781),
        ];
        for (text, secs) in cases {
            assert_eq!(parse(text), Ok(at(secs)), "{text}");
        }
        for (secs, text) in [(0, "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (1_795_398_781, "2026-11-23T01:53:01Z")] {
            assert_eq!(format(at(secs)), text);
            assert_eq!(parse(&format(at(secs))), Ok(at(secs)));
        }
    }

    #[test]
    fn malformed_or_impossible_instants_are_refused() {
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T01:53:01",
            "2026-11-23 01:53:01 UTC",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T01:53:01.Z",
            "2026-11-23T01:53:01+2:00",
            "2026-11-23T01:53:01+24:00",
            "+026-11-23T01:53:01Z",
            "1969-12-31T23:59:59Z",
            "２026-11-23T01:53:01Z",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
