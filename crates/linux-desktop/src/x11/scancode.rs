//! PC set-1 scancodes (what TDPB carries) to X keycodes.
//!
//! Xvfb's default keymap follows the evdev rules, where an X keycode is the
//! Linux evdev key code plus 8. Plain set-1 scancodes below 0x59 are the
//! evdev codes themselves; the rest, and every 0xE0-prefixed key, need a table.

/// The X keycode for a set-1 scancode (extended keys as 0xE0xx), if the key exists.
pub fn keycode(scancode: u32) -> Option<u8> {
    evdev_code(scancode).map(|code| (code + 8) as u8)
}

/// Every X keycode some scancode maps to: keys a client can press, which
/// must keep their symbols.
pub fn keycodes() -> impl Iterator<Item = u8> {
    (0x00..=0xff).chain(0xe000..=0xe0ff).chain([0xe11d45]).filter_map(keycode)
}

fn evdev_code(scancode: u32) -> Option<u16> {
    Some(match scancode {
        0x01..=0x58 => scancode as u16,
        0x59 => 117,                                   // keypad =
        0x64..=0x6e => 183 + (scancode as u16 - 0x64), // F13..F23
        0x76 => 194,                                   // F24
        0x70 => 93,                                    // KatakanaHiragana
        0x73 => 89,                                    // Ro (IntlRo)
        0x79 => 92,                                    // Henkan (Convert)
        0x7b => 94,                                    // Muhenkan (NonConvert)
        0x7d => 124,                                   // Yen (IntlYen)
        0x7e => 121,                                   // keypad , (NumpadComma)
        0xe010 => 165,                                 // previous track
        0xe019 => 163,                                 // next track
        0xe01c => 96,                                  // keypad Enter
        0xe01d => 97,                                  // right Ctrl
        0xe020 => 113,                                 // mute
        0xe022 => 164,                                 // play/pause
        0xe024 => 166,                                 // stop
        0xe02e => 114,                                 // volume down
        0xe030 => 115,                                 // volume up
        0xe035 => 98,                                  // keypad /
        0xe037 => 99,                                  // Print Screen / SysRq
        0xe038 => 100,                                 // right Alt (AltGr)
        0xe046 => 119,                                 // Ctrl+Break: Pause
        0xe047 => 102,                                 // Home
        0xe048 => 103,                                 // Up
        0xe049 => 104,                                 // Page Up
        0xe04b => 105,                                 // Left
        0xe04d => 106,                                 // Right
        0xe04f => 107,                                 // End
        0xe050 => 108,                                 // Down
        0xe051 => 109,                                 // Page Down
        0xe052 => 110,                                 // Insert
        0xe053 => 111,                                 // Delete
        0xe05b => 125,                                 // left Meta
        0xe05c => 126,                                 // right Meta
        0xe05d => 127,                                 // Menu (Compose)
        0xe05e => 116,                                 // power
        0xe05f => 142,                                 // sleep
        0xe063 => 143,                                 // wake up
        0xe11d45 | 0xe045 => 119,                      // Pause
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::keycode;

    #[test]
    fn plain_and_extended_keys() {
        assert_eq!(keycode(0x01), Some(9), "Escape");
        assert_eq!(keycode(0x1e), Some(38), "A");
        assert_eq!(keycode(0x1c), Some(36), "Return");
        assert_eq!(keycode(0xe01c), Some(104), "keypad Enter");
        assert_eq!(keycode(0xe048), Some(111), "Up");
        assert_eq!(keycode(0xe038), Some(108), "right Alt");
        assert_eq!(keycode(0x00), None);
        assert_eq!(keycode(0xe0ff), None);
        assert_eq!(keycode(0x56), Some(94), "the ISO key left of Z (IntlBackslash): < > | on de and fr");
        assert_eq!(keycode(0x29), Some(49), "the key left of 1 (Backquote): ^ on de, ² on fr");
        assert_eq!(keycode(0x28), Some(48), "Quote: ä on de, ù on fr");
        assert_eq!(keycode(0x2b), Some(51), "Backslash: # on de, * on fr");
    }

    #[test]
    fn the_keys_clients_can_press_are_listed() {
        let keycodes: Vec<u8> = super::keycodes().collect();
        assert!(keycodes.contains(&108), "right Alt");
        assert!(keycodes.contains(&94), "the ISO key");
        assert!(!keycodes.contains(&248), "no scancode maps to keycode 248");
    }
}
