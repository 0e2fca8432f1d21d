//! Byte-exact QOI vectors, written by hand from the QOI specification.

use oriel_qoiz::{BgrxView, decode_qoi, encode_qoi};

/// A 3x2 image whose six pixels use every op a 3-channel encoder writes.
/// RGB values per pixel:
///   row 0: (0,0,0)    (10,20,30)  (11,21,29)
///   row 1: (20,30,35) (10,20,30)  (10,20,30)
const TINY_RGB: [[u8; 3]; 6] = [
    [0, 0, 0],
    [10, 20, 30],
    [11, 21, 29],
    [20, 30, 35],
    [10, 20, 30],
    [10, 20, 30],
];

#[rustfmt::skip]
const TINY_QOI: [u8; 32] = [
    b'q', b'o', b'i', b'f', // magic
    0x00, 0x00, 0x00, 0x03, // width 3, big-endian
    0x00, 0x00, 0x00, 0x02, // height 2, big-endian
    0x03,                   // channels: RGB
    0x00,                   // colorspace: sRGB
    0xc0,                   // RUN of 1: (0,0,0) equals the start pixel (0,0,0,255)
    0xfe, 0x0a, 0x14, 0x1e, // RGB (10,20,30): too far for DIFF or LUMA; goes to index 9
    0x7d,                   // DIFF 01|11|11|01: dr +1, dg +1, db -1 -> (11,21,29)
    0xa9, 0x85,             // LUMA dg 41-32 = +9; dr-dg 8-8 = 0; db-dg 5-8 = -3 -> (20,30,35)
    0x09,                   // INDEX 9: (10,20,30) again
    0xc0,                   // RUN of 1: the last pixel repeats the previous one
    0, 0, 0, 0, 0, 0, 0, 1, // end marker
];

/// 2x1, 4 channels: an RGBA op with alpha 128, then an RGB op that keeps it.
/// Oriel ignores alpha on output.
#[rustfmt::skip]
const RGBA_QOI: [u8; 31] = [
    b'q', b'o', b'i', b'f', // magic
    0, 0, 0, 2,             // width 2
    0, 0, 0, 1,             // height 1
    0x04,                   // channels: RGBA
    0x01,                   // colorspace: linear
    0xff, 1, 2, 3, 128,     // RGBA (1,2,3,128)
    0xfe, 4, 5, 6,          // RGB (4,5,6), alpha stays 128
    0, 0, 0, 0, 0, 0, 0, 1, // end marker
];

fn bgrx(rgb: &[[u8; 3]]) -> Vec<u8> {
    rgb.iter().flat_map(|&[r, g, b]| [b, g, r, 0x77]).collect()
}

#[test]
fn tiny_image_encodes_to_the_vector() {
    let pixels = bgrx(&TINY_RGB);
    let view = BgrxView::new(&pixels, 12, 3, 2).unwrap();
    let mut qoi = Vec::new();
    encode_qoi(&view, &mut qoi).unwrap();
    assert_eq!(hex::encode(&qoi), hex::encode(TINY_QOI));
}

#[test]
fn tiny_vector_decodes_to_the_image() {
    let mut rgba = vec![0; 3 * 2 * 4];
    decode_qoi(&TINY_QOI, 3, 2, &mut rgba).unwrap();
    let expected: Vec<u8> = TINY_RGB
        .iter()
        .flat_map(|&[r, g, b]| [r, g, b, 255])
        .collect();
    assert_eq!(rgba, expected);
}

#[test]
fn rgba_ops_decode_opaque() {
    let mut rgba = vec![0; 2 * 4];
    decode_qoi(&RGBA_QOI, 2, 1, &mut rgba).unwrap();
    assert_eq!(rgba, [1, 2, 3, 255, 4, 5, 6, 255]);
}

#[test]
fn stride_skips_padding_and_neighbours() {
    // The same image inside a 5-pixel-wide framebuffer, at x = 1.
    let mut framebuffer = [0xeeu8; 5 * 4 * 2];
    for (y, row) in TINY_RGB.chunks(3).enumerate() {
        let start = y * 20 + 4;
        framebuffer[start..start + 12].copy_from_slice(&bgrx(row));
    }
    let view = BgrxView::new(&framebuffer[4..], 20, 3, 2).unwrap();
    let mut qoi = Vec::new();
    encode_qoi(&view, &mut qoi).unwrap();
    assert_eq!(qoi, TINY_QOI);
}
