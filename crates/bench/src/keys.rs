//! PC set-1 scancodes (what TDPB carries) of the keys the benchmarks type.

pub const RETURN: u32 = 0x1c;
pub const LEFT_CTRL: u32 = 0x1d;
pub const U: u32 = 0x16;

/// The scancode of the key that types `c` without Shift on a US layout.
pub fn scancode(c: char) -> Option<u32> {
    const ROWS: [(&str, u32); 4] = [("1234567890-=", 0x02), ("qwertyuiop[]", 0x10), ("asdfghjkl;'", 0x1e), ("zxcvbnm,./", 0x2c)];
    match c {
        ' ' => Some(0x39),
        '\n' => Some(RETURN),
        _ => ROWS.iter().find_map(|(row, first)| row.find(c).map(|i| first + i as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::scancode;

    #[test]
    fn letters_follow_the_keyboard_rows() {
        assert_eq!(scancode('a'), Some(0x1e));
        assert_eq!(scancode('q'), Some(0x10));
        assert_eq!(scancode('m'), Some(0x32));
        assert_eq!(scancode('0'), Some(0x0b));
        assert_eq!(scancode('A'), None);
    }
}
