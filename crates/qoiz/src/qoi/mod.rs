//! QOI ("Quite OK Image") as written down in the public specification
//! (qoiformat.org, version 1.0): a 14-byte header, a stream of ops, an
//! 8-byte end marker.
//!
//! Oriel always writes 3-channel images (the desktop has no alpha) and reads
//! 3- or 4-channel ones.

mod decode;
mod encode;

pub use decode::decode_qoi;
pub(crate) use decode::decode_qoi_ops;
pub use encode::encode_qoi;
#[cfg(feature = "encode")]
pub(crate) use encode::encode_qoi_ops;

/// `"qoif"`, the first four bytes of every QOI image.
pub const MAGIC: [u8; 4] = *b"qoif";
/// Length of the QOI header: magic, width, height, channels, colorspace.
pub const HEADER_LEN: usize = 14;
/// Seven zero bytes and a one: the end of every QOI image.
pub const END_MARKER: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];

pub(crate) const OP_INDEX: u8 = 0b0000_0000;
pub(crate) const OP_DIFF: u8 = 0b0100_0000;
pub(crate) const OP_LUMA: u8 = 0b1000_0000;
pub(crate) const OP_RUN: u8 = 0b1100_0000;
pub(crate) const OP_RGB: u8 = 0xfe;
pub(crate) const OP_RGBA: u8 = 0xff;
/// The two high bits select the op unless the byte is OP_RGB or OP_RGBA.
pub(crate) const OP_MASK: u8 = 0b1100_0000;
/// A run op stores 1..=62; 63 and 64 would collide with OP_RGB and OP_RGBA.
pub(crate) const MAX_RUN: u8 = 62;

/// An RGBA pixel as the QOI ops see it.
pub(crate) type Rgba = [u8; 4];

/// The pixel every QOI image starts from.
pub(crate) const START_PIXEL: Rgba = [0, 0, 0, 255];

/// Position of `px` in the 64-entry table of recently seen pixels.
#[inline(always)]
pub(crate) fn index_position(px: Rgba) -> usize {
    let [r, g, b, a] = px.map(usize::from);
    (r * 3 + g * 5 + b * 7 + a * 11) % 64
}

/// Largest QOI image (header, one 5-byte RGBA op per pixel, end marker) for a
/// `width` x `height` rectangle: the most a decoder ever needs to accept.
pub fn max_qoi_len(width: u32, height: u32) -> usize {
    HEADER_LEN + width as usize * height as usize * 5 + END_MARKER.len()
}
