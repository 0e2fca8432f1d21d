//! Keyboard and mouse input through XTEST.

use std::collections::BTreeSet;

use super::X11Connection;
use oriel_tdpb::pb::{self, MouseButtonType, MouseWheelAxis};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::protocol::xtest::ConnectionExt as _;

use super::X11Error;
use super::scancode;
use super::text::Typist;

/// One wheel notch in TDPB's delta units.
const NOTCH: i32 = 120;

/// Injects a client's input into the display and remembers what is held
/// down, so nothing stays pressed when the client goes away.
#[derive(Debug)]
pub struct Input {
    root: xproto::Window,
    keys_down: BTreeSet<u8>,
    buttons_down: BTreeSet<u8>,
    wheel: [i32; 2],
    typist: Typist,
}

impl Input {
    /// Input for the display's first screen. Turns the server's key
    /// autorepeat off: the browser repeats held keys itself (as RDP clients
    /// do), and two sources of repeats would double every repeated character.
    pub fn new(conn: &X11Connection) -> Result<Self, X11Error> {
        let root = conn.setup().roots[0].root;
        let no_repeat = xproto::ChangeKeyboardControlAux::new().auto_repeat_mode(xproto::AutoRepeatMode::OFF);
        conn.change_keyboard_control(&no_repeat)?;
        conn.flush()?;
        Ok(Self { root, keys_down: BTreeSet::new(), buttons_down: BTreeSet::new(), wheel: [0; 2], typist: Typist::default() })
    }

    /// A key by set-1 scancode. Unknown scancodes are ignored (logged by the caller).
    pub fn key(&mut self, conn: &X11Connection, key: &pb::KeyboardButton) -> Result<bool, X11Error> {
        let Some(keycode) = scancode::keycode(key.key_code) else {
            return Ok(false);
        };
        if key.pressed {
            self.keys_down.insert(keycode);
        } else if !self.keys_down.remove(&keycode) {
            // A release of a key X never saw pressed (pressed before focus).
            return Ok(true);
        }
        let kind = if key.pressed { xproto::KEY_PRESS_EVENT } else { xproto::KEY_RELEASE_EVENT };
        conn.xtest_fake_input(kind, keycode, x11rb::CURRENT_TIME, self.root, 0, 0, 0)?;
        conn.flush()?;
        Ok(true)
    }

    /// Types keysyms from the start of `keysyms` (see [`Typist::type_keysyms`]);
    /// returns how many it used up.
    pub fn text(&mut self, conn: &X11Connection, keysyms: &[u32]) -> Result<usize, X11Error> {
        self.typist.type_keysyms(conn, self.root, keysyms, &self.keys_down)
    }

    /// Moves the pointer; X keeps it on the screen.
    pub fn motion(&mut self, conn: &X11Connection, x: u32, y: u32) -> Result<(), X11Error> {
        let (x, y) = (x.min(i16::MAX as u32) as i16, y.min(i16::MAX as u32) as i16);
        conn.xtest_fake_input(xproto::MOTION_NOTIFY_EVENT, 0, x11rb::CURRENT_TIME, self.root, x, y, 0)?;
        conn.flush()?;
        Ok(())
    }

    /// Presses or releases a mouse button.
    pub fn button(&mut self, conn: &X11Connection, button: &pb::MouseButton) -> Result<(), X11Error> {
        let detail = match button.button() {
            MouseButtonType::MouseButtonLeft => 1,
            MouseButtonType::MouseButtonMiddle => 2,
            MouseButtonType::MouseButtonRight => 3,
            MouseButtonType::MouseButtonBack => 8,
            MouseButtonType::MouseButtonForward => 9,
            MouseButtonType::MouseButtonUnspecified => return Ok(()),
        };
        if button.pressed {
            self.buttons_down.insert(detail);
        } else if !self.buttons_down.remove(&detail) {
            return Ok(());
        }
        let kind = if button.pressed { xproto::BUTTON_PRESS_EVENT } else { xproto::BUTTON_RELEASE_EVENT };
        conn.xtest_fake_input(kind, detail, x11rb::CURRENT_TIME, self.root, 0, 0, 0)?;
        conn.flush()?;
        Ok(())
    }

    /// Scrolls: X has no wheel axis, only buttons 4/5 (vertical) and 6/7
    /// (horizontal), one click a notch. Partial notches accumulate.
    pub fn wheel(&mut self, conn: &X11Connection, wheel: &pb::MouseWheel) -> Result<(), X11Error> {
        let (slot, toward, away) = match wheel.axis() {
            MouseWheelAxis::Vertical => (0, 4, 5),
            MouseWheelAxis::Horizontal => (1, 6, 7),
            MouseWheelAxis::Unspecified => return Ok(()),
        };
        let total = self.wheel[slot].saturating_add(wheel.delta);
        let notches = total / NOTCH;
        self.wheel[slot] = total % NOTCH;
        let detail = if notches > 0 { toward } else { away };
        // A hostile client cannot make us click forever.
        for _ in 0..notches.unsigned_abs().min(64) {
            conn.xtest_fake_input(xproto::BUTTON_PRESS_EVENT, detail, x11rb::CURRENT_TIME, self.root, 0, 0, 0)?;
            conn.xtest_fake_input(xproto::BUTTON_RELEASE_EVENT, detail, x11rb::CURRENT_TIME, self.root, 0, 0, 0)?;
        }
        conn.flush()?;
        Ok(())
    }

    /// Brings Caps Lock and Num Lock to the client's state by tapping them.
    pub fn sync_locks(&mut self, conn: &X11Connection, keys: &pb::SyncKeys) -> Result<(), X11Error> {
        let state = conn.query_pointer(self.root)?.reply()?.mask;
        for (wanted, mask, scancode) in [(keys.caps_lock, xproto::KeyButMask::LOCK, 0x3a), (keys.num_lock, xproto::KeyButMask::MOD2, 0x45)] {
            if state.contains(mask) != wanted {
                for pressed in [true, false] {
                    self.key(conn, &pb::KeyboardButton { key_code: scancode, pressed })?;
                }
            }
        }
        Ok(())
    }

    /// Releases every key and button the client left pressed.
    pub fn release_all(&mut self, conn: &X11Connection) -> Result<(), X11Error> {
        for keycode in std::mem::take(&mut self.keys_down) {
            conn.xtest_fake_input(xproto::KEY_RELEASE_EVENT, keycode, x11rb::CURRENT_TIME, self.root, 0, 0, 0)?;
        }
        for button in std::mem::take(&mut self.buttons_down) {
            conn.xtest_fake_input(xproto::BUTTON_RELEASE_EVENT, button, x11rb::CURRENT_TIME, self.root, 0, 0, 0)?;
        }
        conn.flush()?;
        Ok(())
    }
}
