//! The client idle timeout: a session with no keyboard or mouse input for
//! the smallest non-zero of the cluster's `client_idle_timeout` and the
//! roles' `options.client_idle_timeout` ends, so an unattended browser tab
//! does not keep a desktop open.

use std::time::Duration;

#[cfg(test)]
use oriel_tdpb::Payload;

/// Whether a client message is a person's doing. Frame acks and pings are
/// sent by the client on its own and keep nothing alive.
#[cfg(test)]
pub(crate) fn is_activity(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::KeyboardButton(_) | Payload::KeyboardText(_) | Payload::MouseMove(_) | Payload::MouseButton(_) | Payload::MouseWheel(_) | Payload::SyncKeys(_)
    )
}

/// Whether a client frame (header included, not decoded) is a person's
/// doing: the same messages as [`is_activity`], told by their field number.
pub(crate) fn is_activity_frame(frame: &[u8]) -> bool {
    use oriel_tdpb::PayloadKind;
    // sync_keys 6, mouse_move 7, mouse_button 8, keyboard_button 9,
    // mouse_wheel 12, keyboard_text 103 (proto/tdpb.proto).
    matches!(oriel_tdpb::peek_kind(frame), Some(PayloadKind::Other(6 | 7 | 8 | 9 | 12 | 103)))
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

    #[test]
    fn frames_and_payloads_agree_on_what_is_activity() {
        let payloads = [
            oriel_tdpb::Payload::KeyboardButton(pb::KeyboardButton::default()),
            oriel_tdpb::Payload::KeyboardText(pb::KeyboardText { text: "a".into() }),
            oriel_tdpb::Payload::MouseMove(pb::MouseMove::default()),
            oriel_tdpb::Payload::MouseButton(pb::MouseButton::default()),
            oriel_tdpb::Payload::MouseWheel(pb::MouseWheel::default()),
            oriel_tdpb::Payload::SyncKeys(pb::SyncKeys::default()),
            oriel_tdpb::Payload::FrameAck(pb::FrameAck::default()),
            oriel_tdpb::Payload::Ping(pb::Ping::default()),
            oriel_tdpb::Payload::ClientScreenSpec(pb::ClientScreenSpec::default()),
        ];
        for payload in payloads {
            let frame = oriel_tdpb::encode_frame(payload.clone());
            assert_eq!(super::is_activity_frame(&frame), super::is_activity(&payload), "{payload:?}");
        }
    }

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
