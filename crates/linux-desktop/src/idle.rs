//! The client idle timeout: a session with no keyboard or mouse input for
//! the smallest non-zero of the cluster's `client_idle_timeout` and the
//! roles' `options.client_idle_timeout` ends, so an unattended browser tab
//! does not keep a desktop open.

use std::time::Duration;

use oriel_tdpb::Payload;

/// Whether a client message is a person's doing. Frame acks and pings are
/// sent by the client on its own and keep nothing alive.
pub(crate) fn is_activity(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::KeyboardButton(_) | Payload::KeyboardText(_) | Payload::MouseMove(_) | Payload::MouseButton(_) | Payload::MouseWheel(_) | Payload::SyncKeys(_)
    )
}

/// `1h30m`, `90s`: how long, as the alert tells the user.
pub(crate) fn describe(timeout: Duration) -> String {
    let secs = timeout.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut text = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            text.push_str(&format!("{value}{unit}"));
        }
    }
    if text.is_empty() { format!("{}ms", timeout.as_millis()) } else { text }
}

#[cfg(test)]
mod tests {
    use oriel_tdpb::pb;

    use super::*;

    #[test]
    fn input_is_activity_and_housekeeping_is_not() {
        assert!(is_activity(&Payload::MouseMove(pb::MouseMove { x: 1, y: 2 })));
        assert!(is_activity(&Payload::KeyboardButton(pb::KeyboardButton::default())));
        assert!(is_activity(&Payload::KeyboardText(pb::KeyboardText { text: "é".into() })));
        assert!(!is_activity(&Payload::FrameAck(pb::FrameAck::default())));
        assert!(!is_activity(&Payload::Ping(pb::Ping::default())));
        assert!(!is_activity(&Payload::ClientScreenSpec(pb::ClientScreenSpec::default())));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(describe(Duration::from_secs(5400)), "1h30m");
        assert_eq!(describe(Duration::from_secs(90)), "1m30s");
        assert_eq!(describe(Duration::from_secs(3600)), "1h");
        assert_eq!(describe(Duration::from_millis(500)), "500ms");
    }
}
