//! The browser's input as RDP input events, sans-IO: TDPB's keys (PC set-1
//! scancodes, which RDP takes as they are), text no key makes (RDP's
//! Unicode keyboard events), mouse moves, buttons and the wheel on both
//! axes. IronRDP's input database remembers what is held down, so a
//! session that ends or loses its browser lets go of every key and button.

use ironrdp_input::{Database, MouseButton, MousePosition, Operation, Scancode, WheelRotations};
use ironrdp_pdu::input::fast_path::FastPathInputEvent;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{MouseButtonType, MouseWheelAxis};

/// One notch of a wheel, in RDP's (and TDPB's) units.
const NOTCH: i32 = 120;

/// What the browser holds down on the host.
pub struct InputState {
    database: Database,
    /// The host's screen, which mouse positions are kept inside.
    width: u16,
    height: u16,
}

impl std::fmt::Debug for InputState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputState").field("width", &self.width).field("height", &self.height).finish_non_exhaustive()
    }
}

impl InputState {
    /// Nothing held, on a screen of `width` by `height`.
    pub fn new(width: u16, height: u16) -> Self {
        Self { database: Database::new(), width, height }
    }

    /// The host's screen has a new size.
    pub fn resized(&mut self, width: u16, height: u16) {
        (self.width, self.height) = (width, height);
    }

    /// The RDP events for `payload`, if it is input (else none).
    pub fn events(&mut self, payload: &Payload) -> Vec<FastPathInputEvent> {
        let operations = match payload {
            Payload::MouseMove(moved) => {
                let x = moved.x.min(u32::from(self.width.saturating_sub(1))) as u16;
                let y = moved.y.min(u32::from(self.height.saturating_sub(1))) as u16;
                vec![Operation::MouseMove(MousePosition { x, y })]
            }
            Payload::MouseButton(button) => {
                let Some(which) = mouse_button(button.button()) else { return Vec::new() };
                vec![if button.pressed { Operation::MouseButtonPressed(which) } else { Operation::MouseButtonReleased(which) }]
            }
            Payload::MouseWheel(wheel) => wheel_rotations(wheel.axis(), wheel.delta),
            Payload::KeyboardButton(key) => {
                let Some(scancode) = scancode(key.key_code) else { return Vec::new() };
                vec![if key.pressed { Operation::KeyPressed(scancode) } else { Operation::KeyReleased(scancode) }]
            }
            Payload::KeyboardText(text) => text.text.chars().flat_map(|c| [Operation::UnicodeKeyPressed(c), Operation::UnicodeKeyReleased(c)]).collect(),
            Payload::SyncKeys(keys) => return vec![ironrdp_input::synchronize_event(keys.scroll_lock, keys.num_lock, keys.caps_lock, keys.kana_lock)],
            _ => return Vec::new(),
        };
        self.database.apply(operations).into_vec()
    }

    /// Lets go of every key and button held down.
    pub fn release_all(&mut self) -> Vec<FastPathInputEvent> {
        self.database.release_all().into_vec()
    }
}

fn mouse_button(button: MouseButtonType) -> Option<MouseButton> {
    match button {
        MouseButtonType::MouseButtonLeft => Some(MouseButton::Left),
        MouseButtonType::MouseButtonMiddle => Some(MouseButton::Middle),
        MouseButtonType::MouseButtonRight => Some(MouseButton::Right),
        MouseButtonType::MouseButtonBack => Some(MouseButton::X1),
        MouseButtonType::MouseButtonForward => Some(MouseButton::X2),
        MouseButtonType::MouseButtonUnspecified => None,
    }
}

/// A TDPB key code (set-1, `0xE0xx` for extended keys) as RDP's, if it is one.
fn scancode(code: u32) -> Option<Scancode> {
    match code {
        0x01..=0x7F => Some(Scancode::from_u8(false, code as u8)),
        0xE001..=0xE07F => Some(Scancode::from_u8(true, (code & 0xFF) as u8)),
        _ => None,
    }
}

/// A wheel turn as RDP rotations: TDPB's positive is up or left, RDP's is
/// up or right. A fast turn goes as several events a notch each, since one
/// event holds only a little over two notches.
fn wheel_rotations(axis: MouseWheelAxis, delta: i32) -> Vec<Operation> {
    let (is_vertical, mut left) = match axis {
        MouseWheelAxis::Vertical => (true, delta),
        MouseWheelAxis::Horizontal => (false, delta.saturating_neg()),
        MouseWheelAxis::Unspecified => return Vec::new(),
    };
    // At most 100 notches from one message.
    left = left.clamp(-100 * NOTCH, 100 * NOTCH);
    let mut operations = Vec::new();
    while left != 0 {
        let step = left.clamp(-NOTCH, NOTCH);
        operations.push(Operation::WheelRotations(WheelRotations { is_vertical, rotation_units: step as i16 }));
        left -= step;
    }
    operations
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironrdp_pdu::input::fast_path::KeyboardFlags;
    use ironrdp_pdu::input::mouse::PointerFlags;
    use oriel_tdpb::pb;

    fn key(code: u32, pressed: bool) -> Payload {
        Payload::KeyboardButton(pb::KeyboardButton { key_code: code, pressed })
    }

    #[test]
    fn keys_go_as_their_scancodes_and_extended_keys_say_so() {
        let mut input = InputState::new(800, 600);
        assert!(matches!(input.events(&key(0x1E, true))[..], [FastPathInputEvent::KeyboardEvent(flags, 0x1E)] if !flags.contains(KeyboardFlags::RELEASE)));
        assert!(matches!(input.events(&key(0xE048, true))[..], [FastPathInputEvent::KeyboardEvent(flags, 0x48)] if flags.contains(KeyboardFlags::EXTENDED)));
        assert!(matches!(input.events(&key(0x1E, false))[..], [FastPathInputEvent::KeyboardEvent(flags, 0x1E)] if flags.contains(KeyboardFlags::RELEASE)));
        assert!(input.events(&key(0x1234, true)).is_empty(), "not a scancode");
        // Ending the session lets go of what is still held: Up.
        assert!(matches!(input.release_all()[..], [FastPathInputEvent::KeyboardEvent(flags, 0x48)] if flags.contains(KeyboardFlags::RELEASE)));
    }

    #[test]
    fn the_mouse_stays_on_the_screen_and_its_buttons_are_held_until_released() {
        let mut input = InputState::new(800, 600);
        let moved = input.events(&Payload::MouseMove(pb::MouseMove { x: 5000, y: 10 }));
        assert!(matches!(moved[..], [FastPathInputEvent::MouseEvent(ref m)] if m.x_position == 799 && m.y_position == 10));
        let pressed = input.events(&Payload::MouseButton(pb::MouseButton { button: MouseButtonType::MouseButtonRight as i32, pressed: true }));
        assert!(matches!(pressed[..], [FastPathInputEvent::MouseEvent(ref m)] if m.flags.contains(PointerFlags::RIGHT_BUTTON | PointerFlags::DOWN)));
        assert_eq!(input.release_all().len(), 1);
    }

    #[test]
    fn the_wheel_turns_a_notch_an_event_on_both_axes() {
        let mut input = InputState::new(800, 600);
        let up = input.events(&Payload::MouseWheel(pb::MouseWheel { axis: MouseWheelAxis::Vertical as i32, delta: 360 }));
        assert_eq!(up.len(), 3);
        assert!(up.iter().all(
            |e| matches!(e, FastPathInputEvent::MouseEvent(m) if m.flags.contains(PointerFlags::VERTICAL_WHEEL) && m.number_of_wheel_rotation_units == 120)
        ));
        // TDPB's left is RDP's negative.
        let left = input.events(&Payload::MouseWheel(pb::MouseWheel { axis: MouseWheelAxis::Horizontal as i32, delta: 60 }));
        assert!(
            matches!(left[..], [FastPathInputEvent::MouseEvent(ref m)] if m.flags.contains(PointerFlags::HORIZONTAL_WHEEL) && m.number_of_wheel_rotation_units == -60)
        );
        let flood = input.events(&Payload::MouseWheel(pb::MouseWheel { axis: MouseWheelAxis::Vertical as i32, delta: i32::MIN }));
        assert_eq!(flood.len(), 100, "bounded");
    }

    #[test]
    fn text_no_key_makes_goes_as_unicode_and_leaves_nothing_held() {
        let mut input = InputState::new(800, 600);
        let typed = input.events(&Payload::KeyboardText(pb::KeyboardText { text: "é€".into() }));
        assert_eq!(typed.len(), 4, "each character pressed and released");
        assert!(matches!(typed[0], FastPathInputEvent::UnicodeKeyboardEvent(_, 0xE9)));
        assert!(input.release_all().is_empty(), "nothing left held");
    }
}
