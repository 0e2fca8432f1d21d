//! Times and durations as commands take and show them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_rbac::IdleTimeout;

use crate::Failure;

/// `YYYY-MM-DDTHH:MM:SSZ` for milliseconds since the epoch (proleptic Gregorian).
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// A duration as typed: `30m`, `1h`, `1h30m`.
pub fn duration(text: &str) -> Result<Duration, Failure> {
    IdleTimeout::parse(text).map(|d| d.duration()).map_err(|e| Failure::invalid(format!("invalid duration {text:?}: {e} (e.g. 30m, 1h, 1h30m)")))
}

pub fn humantime(d: Duration) -> String {
    let (h, m) = (d.as_secs() / 3600, d.as_secs() % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

pub(super) fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_795_398_781_999), "2026-11-23T01:53:01Z");
    }
}
