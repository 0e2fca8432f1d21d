//! Pixel generators shared by the property tests.
#![allow(dead_code)]

use proptest::prelude::*;

/// A BGRX rectangle with its own stride, owned by the test.
#[derive(Debug, Clone)]
pub struct Image {
    pub pixels: Vec<u8>,
    pub stride: usize,
    pub width: u32,
    pub height: u32,
}

impl Image {
    pub fn view(&self) -> oriel_qoiz::BgrxView<'_> {
        oriel_qoiz::BgrxView::new(&self.pixels, self.stride, self.width, self.height).unwrap()
    }

    /// What a decoder must produce: RGBA, alpha 255.
    pub fn rgba(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..self.height as usize {
            let row = &self.pixels[y * self.stride..][..self.width as usize * 4];
            for px in row.chunks_exact(4) {
                out.extend_from_slice(&[px[2], px[1], px[0], 255]);
            }
        }
        out
    }
}

/// Small xorshift so that one seed gives one image.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Builds an image: `style` 0 is noise, 1 a few colours (runs and index
/// hits), 2 a gradient with jitter (DIFF and LUMA), 3 text-like rows.
pub fn make_image(width: u32, height: u32, pad: usize, style: u8, seed: u64) -> Image {
    let stride = width as usize * 4 + pad;
    // The last row needs no padding: check that views accept that.
    let len = stride * (height as usize - 1) + width as usize * 4;
    let mut pixels = vec![0u8; len];
    let mut state = seed | 1;
    let palette: Vec<[u8; 3]> = (0..4)
        .map(|_| {
            let v = next(&mut state);
            [v as u8, (v >> 8) as u8, (v >> 16) as u8]
        })
        .collect();
    for y in 0..height as usize {
        for x in 0..width as usize {
            let r = next(&mut state);
            let rgb = match style % 4 {
                0 => [r as u8, (r >> 8) as u8, (r >> 16) as u8],
                1 => palette[(r % 4) as usize * usize::from(r % 7 == 0)],
                2 => {
                    let j = (r % 3) as u8;
                    [(x * 2) as u8 + j, (y * 3 + x) as u8, (x + y) as u8 ^ j]
                }
                _ => {
                    if (y / 3 + x / 2) % 5 == 0 && r % 3 != 0 {
                        palette[1]
                    } else {
                        palette[0]
                    }
                }
            };
            let at = y * stride + x * 4;
            pixels[at..at + 4].copy_from_slice(&[rgb[2], rgb[1], rgb[0], (r >> 24) as u8]);
        }
        if y + 1 < height as usize {
            // Garbage in the padding must not leak into the output.
            for b in &mut pixels[y * stride + width as usize * 4..(y + 1) * stride] {
                *b = next(&mut state) as u8;
            }
        }
    }
    Image {
        pixels,
        stride,
        width,
        height,
    }
}

/// Any image from 1x1 up to 48x48, any style, strides padded by 0..=7 bytes.
pub fn image() -> impl Strategy<Value = Image> {
    (1u32..=48, 1u32..=48, 0usize..=7, 0u8..4, any::<u64>())
        .prop_map(|(w, h, pad, style, seed)| make_image(w, h, pad, style, seed))
}
