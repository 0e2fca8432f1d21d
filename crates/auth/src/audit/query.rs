//! What people type to ask for events, read the same way by `orielctl
//! events ls` and the web UI's audit log.

use std::time::{Duration, SystemTime};

use super::{EventType, parse_rfc3339};

/// Event types by name (`user.login`), each text possibly a comma-separated
/// list; an unknown name is an error that lists the known ones.
pub fn parse_types(texts: &[String]) -> Result<Vec<EventType>, String> {
    let mut types = Vec::new();
    for name in texts.iter().flat_map(|t| t.split(',')).map(str::trim).filter(|t| !t.is_empty()) {
        let Some(event) = EventType::from_name(name) else {
            let known = EventType::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
            return Err(format!("unknown event type {name:?} (known: {known})"));
        };
        types.push(event);
    }
    Ok(types)
}

/// A time bound (`since`, `until`): RFC 3339, or a duration back from
/// `now` (`24h`, `30m`); `None` when empty.
pub fn time_bound(name: &str, text: &str, now: SystemTime) -> Result<Option<SystemTime>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = parse_rfc3339(text) {
        return Ok(Some(at));
    }
    let back: Duration = oriel_rbac::IdleTimeout::parse(text)
        .map_err(|_| format!("{name} {text:?} is neither an RFC 3339 time (2026-12-06T10:00:00Z) nor a duration back from now (24h, 30m)"))?
        .duration();
    Ok(Some(now.checked_sub(back).unwrap_or(SystemTime::UNIX_EPOCH)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_times_as_typed() {
        assert_eq!(parse_types(&["user.login, role.created".into(), "lock.deleted".into()]).unwrap().len(), 3);
        assert!(parse_types(&["user.logn".into()]).unwrap_err().contains("known: linux.desktop.session.start"));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100_000);
        assert_eq!(time_bound("since", "1h", now).unwrap(), Some(now - Duration::from_secs(3600)));
        assert_eq!(time_bound("since", "", now).unwrap(), None);
        assert!(time_bound("since", "1970-01-01T00:00:10Z", now).unwrap().is_some());
        assert!(time_bound("until", "yesterday", now).unwrap_err().starts_with("until \"yesterday\" is neither"));
    }
}
