//! Typing characters through their keysyms: text an input method composed,
//! or a character no key of the layout makes.
//!
//! A character a key makes without modifiers is typed with that key. Any
//! other is bound to a spare keycode (one with no symbols that no scancode
//! reaches) with ChangeKeyboardMapping, then pressed and released through
//! XTEST, as xdotool does. Bindings are not undone at once: an X client
//! reads a key's symbols from its copy of the keymap when it reads the
//! event, so undoing (or rebinding) a keycode right after the press can make
//! a client that is behind type the wrong symbol. A binding stays until its
//! keycode is the least recently used one and another character needs it,
//! and a keycode used in one call is never rebound in that same call. Spare
//! keycodes are no key a person can press, so the bindings change nothing
//! else; they go with the session's X server.

use std::collections::BTreeSet;

use super::X11Connection;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _, KeyButMask};
use x11rb::protocol::xtest::ConnectionExt as _;

use super::X11Error;
use super::scancode;

/// `NoSymbol`.
const NO_SYMBOL: u32 = 0;

/// Spare keycodes and what they are bound to.
#[derive(Debug, Default)]
pub struct Typist {
    slots: Vec<Slot>,
    /// Counts keys typed through slots, for least-recently-used order.
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    keycode: u8,
    bound: Option<u32>,
    used: u64,
}

/// The X keyboard mapping, one row of symbols per keycode.
struct Keymap {
    min: u8,
    per: usize,
    keysyms: Vec<u32>,
}

impl Keymap {
    fn symbols(&self, keycode: u8) -> &[u32] {
        let start = usize::from(keycode - self.min) * self.per;
        &self.keysyms[start..start + self.per]
    }

    fn keycodes(&self) -> impl Iterator<Item = u8> + '_ {
        let count = self.keysyms.len() / self.per.max(1);
        (0..count).map(|i| self.min + i as u8)
    }
}

impl Typist {
    /// Types `keysyms` from the start. Returns how many it used up: all of
    /// them, unless it stopped where the next one needs a keycode it already
    /// used in this call; the caller pauses before passing the rest, so
    /// clients catch up with the keymap. Keysyms that no key makes while no
    /// spare keycode exists are skipped. `held` are keycodes the client holds
    /// down, which are not pressed for text.
    pub fn type_keysyms(&mut self, conn: &X11Connection, root: xproto::Window, keysyms: &[u32], held: &BTreeSet<u8>) -> Result<usize, X11Error> {
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let reply = conn.get_keyboard_mapping(min, max - min + 1)?.reply()?;
        let keymap = Keymap { min, per: usize::from(reply.keysyms_per_keycode), keysyms: reply.keysyms };
        self.find_slots(&keymap);
        // Modifiers (Shift, Caps Lock, AltGr, a group) held on the desktop
        // would change what an ordinary key types; a slot types its symbol
        // on every level.
        let state = conn.query_pointer(root)?.reply()?.mask;
        let ignored = KeyButMask::MOD2 | KeyButMask::BUTTON1 | KeyButMask::BUTTON2 | KeyButMask::BUTTON3 | KeyButMask::BUTTON4 | KeyButMask::BUTTON5;
        let plain = u16::from(state) & !u16::from(ignored) == 0;

        let call_start = self.clock;
        let mut consumed = 0;
        for &keysym in keysyms {
            let direct = || keymap.keycodes().find(|&k| !held.contains(&k) && keymap.symbols(k).first() == Some(&keysym));
            let keycode = if let Some(slot) = self.slots.iter_mut().find(|s| s.bound == Some(keysym)) {
                self.clock += 1;
                slot.used = self.clock;
                slot.keycode
            } else if let Some(keycode) = plain.then(direct).flatten() {
                keycode
            } else if self.slots.is_empty() {
                tracing::debug!(keysym = format_args!("{keysym:#x}"), "no key types this and no spare keycode is left");
                consumed += 1;
                continue;
            } else {
                let slot = self.slots.iter_mut().min_by_key(|s| s.used).expect("slots exist");
                if slot.used > call_start {
                    // Every slot typed something in this call: rebinding one now could race its press.
                    break;
                }
                conn.change_keyboard_mapping(1, slot.keycode, 2, &[keysym, keysym])?;
                self.clock += 1;
                *slot = Slot { keycode: slot.keycode, bound: Some(keysym), used: self.clock };
                slot.keycode
            };
            conn.xtest_fake_input(xproto::KEY_PRESS_EVENT, keycode, x11rb::CURRENT_TIME, root, 0, 0, 0)?;
            conn.xtest_fake_input(xproto::KEY_RELEASE_EVENT, keycode, x11rb::CURRENT_TIME, root, 0, 0, 0)?;
            consumed += 1;
        }
        conn.flush()?;
        Ok(consumed)
    }

    /// Keeps the slots whose binding the keymap still has, and adds keycodes
    /// that have no symbols and that no scancode reaches. A new layout
    /// replaces the whole keymap, bindings included.
    fn find_slots(&mut self, keymap: &Keymap) {
        let empty = |k: u8| keymap.symbols(k).iter().all(|&s| s == NO_SYMBOL);
        self.slots.retain_mut(|slot| match slot.bound {
            Some(keysym) if keymap.symbols(slot.keycode).first() == Some(&keysym) => true,
            _ if empty(slot.keycode) => {
                slot.bound = None;
                true
            }
            _ => false,
        });
        let reachable: BTreeSet<u8> = scancode::keycodes().collect();
        for keycode in keymap.keycodes() {
            if empty(keycode) && !reachable.contains(&keycode) && !self.slots.iter().any(|s| s.keycode == keycode) {
                self.slots.push(Slot { keycode, bound: None, used: 0 });
            }
        }
    }
}
