//! A small picture of a session's screen, for the list of sessions its
//! owner may resume. Sans-IO: the screen's BGRX pixels in, a box-filtered
//! RGBA thumbnail out, at most `MAX_SIDE` wide or high, keeping the aspect.

/// The thumbnail's longest side, in pixels: enough to tell two desktops
/// apart, small enough (at most 160x160x4 bytes) to list many.
pub const MAX_SIDE: u32 = 160;

/// A thumbnail: straight RGBA, row after row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl Thumbnail {
    /// Whether the sizes and the pixels agree and stay within `MAX_SIDE`:
    /// what the daemon checks before it keeps one a session process sent.
    pub fn is_valid(&self) -> bool {
        valid(self.width, self.height, self.rgba.len())
    }
}

/// Whether a `width`x`height` thumbnail of `len` bytes of RGBA is one.
pub fn valid(width: u32, height: u32, len: usize) -> bool {
    (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height) && len == width as usize * height as usize * 4
}

/// The thumbnail of a `width`x`height` screen of BGRX `pixels` (`stride`
/// bytes a row); `None` for an empty screen. Each thumbnail pixel is the
/// mean of the screen pixels it covers.
pub fn thumbnail(pixels: &[u8], stride: usize, width: u32, height: u32) -> Option<Thumbnail> {
    if width == 0 || height == 0 || pixels.len() < stride * (height as usize - 1) + width as usize * 4 {
        return None;
    }
    let scale = (width.max(height) as f64 / MAX_SIDE as f64).max(1.0);
    let (out_w, out_h) = (((width as f64 / scale).round() as u32).max(1), ((height as f64 / scale).round() as u32).max(1));
    let mut rgba = Vec::with_capacity(out_w as usize * out_h as usize * 4);
    for ty in 0..out_h {
        let (y0, y1) = span(ty, out_h, height);
        for tx in 0..out_w {
            let (x0, x1) = span(tx, out_w, width);
            let mut sum = [0u64; 3];
            for y in y0..y1 {
                let row = &pixels[y as usize * stride..];
                for x in x0..x1 {
                    let p = &row[x as usize * 4..x as usize * 4 + 4];
                    // BGRX in, RGB summed.
                    sum[0] += u64::from(p[2]);
                    sum[1] += u64::from(p[1]);
                    sum[2] += u64::from(p[0]);
                }
            }
            let count = u64::from((y1 - y0) * (x1 - x0));
            rgba.extend([(sum[0] / count) as u8, (sum[1] / count) as u8, (sum[2] / count) as u8, 255]);
        }
    }
    Some(Thumbnail { width: out_w, height: out_h, rgba })
}

/// The screen rows (or columns) thumbnail row `i` of `n` covers, of `size`; never empty.
fn span(i: u32, n: u32, size: u32) -> (u32, u32) {
    let start = (u64::from(i) * u64::from(size) / u64::from(n)) as u32;
    let end = (u64::from(i + 1) * u64::from(size) / u64::from(n)) as u32;
    (start, end.max(start + 1).min(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(width: u32, height: u32, bgrx: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let mut pixels = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height {
            for x in 0..width {
                pixels.extend(bgrx(x, y));
            }
        }
        pixels
    }

    #[test]
    fn a_wide_screen_keeps_its_aspect_and_its_colours() {
        // Left half blue, right half red, BGRX.
        let pixels = screen(1600, 900, |x, _| if x < 800 { [255, 0, 0, 0] } else { [0, 0, 255, 0] });
        let thumb = thumbnail(&pixels, 1600 * 4, 1600, 900).unwrap();
        assert_eq!((thumb.width, thumb.height), (160, 90));
        assert!(thumb.is_valid());
        assert_eq!(&thumb.rgba[..4], &[0, 0, 255, 255], "blue on the left, as RGBA");
        let last = thumb.rgba.len() - 4;
        assert_eq!(&thumb.rgba[last..], &[255, 0, 0, 255], "red on the right");
    }

    #[test]
    fn pixels_are_averaged_and_small_screens_are_not_enlarged() {
        // A 2x1 screen of black and white stays 2x1; a 320x1 one averages pairs.
        let pixels = screen(2, 1, |x, _| if x == 0 { [0; 4] } else { [255, 255, 255, 0] });
        assert_eq!(thumbnail(&pixels, 8, 2, 1).unwrap().rgba, [0, 0, 0, 255, 255, 255, 255, 255]);
        let pixels = screen(320, 1, |x, _| if x % 2 == 0 { [0; 4] } else { [200, 200, 200, 0] });
        let thumb = thumbnail(&pixels, 320 * 4, 320, 1).unwrap();
        assert_eq!((thumb.width, thumb.height), (160, 1));
        assert_eq!(&thumb.rgba[..4], &[100, 100, 100, 255]);
    }

    #[test]
    fn an_empty_or_short_screen_makes_none_and_bad_sizes_are_refused() {
        assert_eq!(thumbnail(&[], 0, 0, 0), None);
        assert_eq!(thumbnail(&[0; 8], 8, 4, 4), None, "fewer bytes than the screen");
        assert!(!Thumbnail { width: 161, height: 1, rgba: vec![0; 161 * 4] }.is_valid());
        assert!(!Thumbnail { width: 2, height: 2, rgba: vec![0; 4] }.is_valid());
    }
}
