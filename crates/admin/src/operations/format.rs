//! Times and durations as commands take and show them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_auth::resources::yaml::rfc3339;
use oriel_rbac::IdleTimeout;

use crate::Failure;

/// `YYYY-MM-DDTHH:MM:SSZ` for milliseconds since the epoch, as every
/// resource document writes times.
pub fn utc(ms: u64) -> String {
    rfc3339::format(UNIX_EPOCH + Duration::from_millis(ms))
}

/// When something expires, for tables.
pub(super) fn expires(at: Option<SystemTime>) -> String {
    at.map_or_else(|| "never".to_owned(), rfc3339::format)
}

/// A duration as typed: `30m`, `1h`, `1h30m`.
pub fn duration(text: &str) -> Result<Duration, Failure> {
    IdleTimeout::parse(text).map(|d| d.duration()).map_err(|e| Failure::invalid(format!("invalid duration {text:?}: {e} (e.g. 30m, 1h, 1h30m)")))
}

/// A duration as hours and minutes (`1h30m`, `45m`, `2h`).
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
