//! Characters to X keysyms, for typing text that no key of the layout makes.

/// `XK_Return`.
pub const RETURN: u32 = 0xff0d;
/// `XK_Tab`.
pub const TAB: u32 = 0xff09;
/// Keysyms from here on are Unicode code points plus this (X11 protocol, appendix A).
const UNICODE_OFFSET: u32 = 0x0100_0000;

/// The keysym that types `c`: Latin-1 characters are their own keysyms, any
/// other character is `0x01000000 + code point`, which Xlib and xkbcommon
/// turn back into the character. A line break is Return and a tab is Tab;
/// other control characters type nothing.
pub fn for_char(c: char) -> Option<u32> {
    let code = u32::from(c);
    match c {
        '\n' | '\r' => Some(RETURN),
        '\t' => Some(TAB),
        ' '..='~' | '\u{a0}'..='\u{ff}' => Some(code),
        c if c.is_control() => None,
        _ => Some(UNICODE_OFFSET + code),
    }
}

#[cfg(test)]
mod tests {
    use super::for_char;

    #[test]
    fn latin1_is_direct_and_the_rest_is_unicode() {
        let cases = [
            ('a', Some(0x61)),
            ('@', Some(0x40)),
            (' ', Some(0x20)),
            ('~', Some(0x7e)),
            ('\u{a0}', Some(0xa0)), // no-break space
            ('ä', Some(0xe4)),      // XK_adiaeresis
            ('ÿ', Some(0xff)),      // XK_ydiaeresis
            ('€', Some(0x0100_20ac)),
            ('→', Some(0x0100_2192)),
            ('中', Some(0x0100_4e2d)),
            ('ő', Some(0x0100_0151)),
            ('😀', Some(0x0101_f600)),
            ('\n', Some(0xff0d)),
            ('\r', Some(0xff0d)),
            ('\t', Some(0xff09)),
            ('\u{7}', None),
            ('\u{7f}', None),
            ('\u{85}', None),
        ];
        for (c, keysym) in cases {
            assert_eq!(for_char(c), keysym, "{c:?}");
        }
    }
}
