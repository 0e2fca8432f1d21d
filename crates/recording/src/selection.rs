//! What a recording keeps of a session's messages: a list of what is kept,
//! so a message added to the protocol later is left out until someone
//! decides it belongs in recordings. Keyboard input never does (passwords).

use crate::Source;

/// Field numbers in `proto/tdpb.proto`.
const SERVER_HELLO: u32 = 2;
const MOUSE_MOVE: u32 = 7;
const MOUSE_BUTTON: u32 = 8;
const CLIENT_SCREEN_SPEC: u32 = 10;
const ALERT: u32 = 11;
const FRAME_RECT: u32 = 100;
const CURSOR_IMAGE: u32 = 102;
const SESSION_PARTICIPANTS: u32 = 105;

/// Whether a message with payload field `field`, going from `source`, is
/// recorded.
pub fn recorded(field: u32, source: Source) -> bool {
    match source {
        // Who was in the session, and when, is part of what happened.
        Source::Desktop => matches!(
            field,
            SERVER_HELLO | ALERT | FRAME_RECT | CURSOR_IMAGE | SESSION_PARTICIPANTS
        ),
        Source::Browser => matches!(field, MOUSE_MOVE | MOUSE_BUTTON | CLIENT_SCREEN_SPEC),
    }
}

/// Whether `record` sets the screen's size (`ServerHello`,
/// `ClientScreenSpec`), found without decoding it.
pub fn is_screen_size(record: &crate::Record<'_>) -> bool {
    matches!(
        payload_field(record.envelope),
        Some(SERVER_HELLO | CLIENT_SCREEN_SPEC)
    )
}

/// The payload field number of an envelope (its first key), if it has one.
pub(crate) fn payload_field(envelope: &[u8]) -> Option<u32> {
    let mut key: u64 = 0;
    for (i, byte) in envelope.iter().take(5).enumerate() {
        key |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (key & 0x7 == 2)
                .then(|| u32::try_from(key >> 3).ok())
                .flatten();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyboard_clipboard_and_directories_are_never_recorded() {
        // KeyboardButton 9, KeyboardText 103, SyncKeys 6, wheel 12,
        // clipboard 13, shared directories 15..18 and 21, ping 20.
        for field in [6, 9, 12, 13, 15, 16, 17, 18, 20, 21, 103] {
            assert!(
                !recorded(field, Source::Browser),
                "{field} from the browser"
            );
            assert!(
                !recorded(field, Source::Desktop),
                "{field} from the desktop"
            );
        }
        assert!(recorded(FRAME_RECT, Source::Desktop));
        assert!(recorded(MOUSE_MOVE, Source::Browser));
        // A frame rectangle from the browser is not the picture.
        assert!(!recorded(FRAME_RECT, Source::Browser));
    }

    #[test]
    fn the_payload_field_is_the_first_key() {
        // Field 100, wire type 2: key 802 = 0xa2 0x06.
        assert_eq!(payload_field(&[0xa2, 0x06, 0x00]), Some(100));
        assert_eq!(payload_field(&[0x3a, 0x00]), Some(7));
        // Wire type 0 is not a message.
        assert_eq!(payload_field(&[0x38, 0x01]), None);
        assert_eq!(payload_field(&[]), None);
    }
}
