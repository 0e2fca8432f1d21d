//! Finding what scrolled, sans-IO: rows of a region hashed before and
//! after a change, as Xpra does, so a terminal or a page that scrolled is
//! sent as a copy of what the viewer already has plus the few new rows,
//! not as pixels again.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

/// Fewest rows a copy must cover to be worth one: about a line of text.
pub const MIN_RUN: u32 = 12;

/// Fewest rows that must agree on a shift before it is believed: a single
/// matching row says little (two identical lines somewhere).
const MIN_VOTES: u32 = 3;

/// Rows of the old picture one content may have and still vote: a line of
/// text has a few identical rows, a background has many.
const MAX_PLACES: usize = 16;

/// Rows of one region, 32-bit pixels: `pixels` starts at its top-left
/// pixel, `stride` bytes apart.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    /// Pixel bytes from the region's top-left pixel on.
    pub pixels: &'a [u8],
    /// Bytes from one row's start to the next.
    pub stride: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
}

impl<'a> Rows<'a> {
    fn row(&self, y: u32) -> &'a [u8] {
        let start = y as usize * self.stride;
        &self.pixels[start..start + self.width as usize * 4]
    }
}

/// A band of rows that moved: rows `y..y + height` of the new picture are
/// rows `y + dy..y + dy + height` of the old one (`dy` > 0: the content went
/// up, as when a terminal scrolls on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// First row of the band in the new picture.
    pub y: u32,
    /// Rows in the band.
    pub height: u32,
    /// Where the band was, relative to where it is.
    pub dy: i32,
}

/// The bands of `new` that are rows of `old` moved up or down by the one
/// shift most rows agree on, each at least [`MIN_RUN`] rows high. `old` and
/// `new` are the same region before and after.
pub fn find_shifts(old: Rows<'_>, new: Rows<'_>) -> Vec<Shift> {
    debug_assert_eq!((old.width, old.height), (new.width, new.height));
    let height = new.height;
    if height < MIN_RUN * 2 {
        return Vec::new();
    }
    let old_hashes: Vec<u64> = (0..height).map(|y| xxh3_64(old.row(y))).collect();
    let new_hashes: Vec<u64> = (0..height).map(|y| xxh3_64(new.row(y))).collect();
    let Some(dy) = likeliest_shift(&old_hashes, &new_hashes) else {
        return Vec::new();
    };
    // Bands where every row matches, checked byte for byte (a hash
    // collision must not paint a wrong row). Rows that did not change may
    // be part of a band (the gap between two lines of text), but a band
    // must hold changed rows, or copying it does nothing.
    let mut shifts = Vec::new();
    let mut run: Option<(u32, u32)> = None; // start, changed rows in it
    for y in 0..=height {
        let source = i64::from(y) + i64::from(dy);
        let moved = y < height
            && (0..i64::from(height)).contains(&source)
            && new_hashes[y as usize] == old_hashes[source as usize]
            && new.row(y) == old.row(source as u32);
        if moved {
            let changed = u32::from(new_hashes[y as usize] != old_hashes[y as usize]);
            let (start, count) = run.unwrap_or((y, 0));
            run = Some((start, count + changed));
        } else if let Some((start, changed)) = run.take()
            && y - start >= MIN_RUN
            && changed >= MIN_VOTES
        {
            shifts.push(Shift { y: start, height: y - start, dy });
        }
    }
    shifts
}

/// The shift most changed rows vote for. A row votes for every place its
/// content had in the old picture, unless that content is common (more
/// than [`MAX_PLACES`] rows: blank lines, a flat background), which would
/// vote for every shift and say nothing.
fn likeliest_shift(old: &[u64], new: &[u64]) -> Option<i32> {
    let mut places: HashMap<u64, Vec<u32>> = HashMap::with_capacity(old.len());
    for (y, &hash) in old.iter().enumerate() {
        places.entry(hash).or_default().push(y as u32);
    }
    let mut votes: HashMap<i32, u32> = HashMap::new();
    for (y, &hash) in new.iter().enumerate() {
        if hash == old[y] {
            continue;
        }
        match places.get(&hash) {
            Some(from) if from.len() <= MAX_PLACES => {
                for &at in from {
                    *votes.entry(at as i32 - y as i32).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    votes.into_iter().filter(|&(_, n)| n >= MIN_VOTES).max_by_key(|&(dy, n)| (n, -dy.abs())).map(|(dy, _)| dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture of `height` rows, 4 pixels wide, row `y` filled with `line(y)`.
    fn picture(height: u32, line: impl Fn(u32) -> u8) -> Vec<u8> {
        (0..height).flat_map(|y| [line(y); 16]).collect()
    }

    fn rows(pixels: &[u8]) -> Rows<'_> {
        Rows { pixels, stride: 16, width: 4, height: (pixels.len() / 16) as u32 }
    }

    /// Text-like lines: distinct content, with blank rows between lines.
    fn text(y: u32) -> u8 {
        if y % 4 == 3 { 0 } else { (y * 7 % 251) as u8 + 1 }
    }

    #[test]
    fn a_terminal_that_scrolled_by_three_rows_is_one_band() {
        let old = picture(100, text);
        // Scrolled on by 3: row y shows old row y + 3; 3 new rows at the bottom.
        let new = picture(100, |y| if y < 97 { text(y + 3) } else { 200 });
        assert_eq!(find_shifts(rows(&old), rows(&new)), [Shift { y: 0, height: 97, dy: 3 }]);
    }

    #[test]
    fn scrolling_back_moves_content_down() {
        let old = picture(60, text);
        let new = picture(60, |y| if y >= 5 { text(y - 5) } else { 250 });
        assert_eq!(find_shifts(rows(&old), rows(&new)), [Shift { y: 5, height: 55, dy: -5 }]);
    }

    #[test]
    fn unchanged_or_rewritten_pictures_have_no_band() {
        let old = picture(60, text);
        assert!(find_shifts(rows(&old), rows(&old)).is_empty());
        let new = picture(60, |y| (y * 13 % 7) as u8 + 100);
        assert!(find_shifts(rows(&old), rows(&new)).is_empty());
        // A blank picture that gained one line: blank rows match anywhere but vote for nothing.
        let blank = picture(60, |_| 0);
        let one_line = picture(60, |y| if y == 30 { 9 } else { 0 });
        assert!(find_shifts(rows(&blank), rows(&one_line)).is_empty());
    }

    #[test]
    fn a_short_band_is_not_worth_a_copy() {
        let old = picture(40, text);
        // Only rows 10..20 moved (by 2); the rest changed otherwise.
        let new = picture(40, |y| if (10..20).contains(&y) { text(y + 2) } else { 240 - y as u8 });
        assert!(find_shifts(rows(&old), rows(&new)).is_empty());
    }
}
