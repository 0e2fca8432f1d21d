//! The frame body: what the session stream inflates to, and what a decoded
//! message hands to its painter.
//!
//! On the wire (inside zstd): the length of what follows (LEB128 u32), then
//! operations back to back until the message ends:
//!
//! ```text
//! 0x00 PAINT  x y width height (LEB128 u32 each), then QOI ops (no header,
//!             no end marker, state fresh per rectangle) for exactly
//!             width * height pixels
//! 0x01 COPY   x y width height src_x src_y: the region at (x, y) becomes
//!             what the picture held at (src_x, src_y) just before this op
//! ```
//!
//! Operations apply in order. Every region lies inside the largest screen
//! (8192 x 8192); a painter clips to its own screen.
//!
//! Decoded ([`FrameOps`]), as little-endian u32 fields, back to back:
//! paint = `0, x, y, width, height` then `width * height * 4` RGBA bytes;
//! copy = `1, x, y, width, height, src_x, src_y`. The browser's worker reads
//! that layout directly (`web/src/frame-ops.ts`).

use crate::{DecodeError, MAX_DIMENSION};

/// Tag of a paint op in the frame body.
pub(crate) const TAG_PAINT: u8 = 0;
/// Tag of a copy op in the frame body.
pub(crate) const TAG_COPY: u8 = 1;

/// `kind` of a decoded paint.
pub const OP_KIND_PAINT: u32 = 0;
/// `kind` of a decoded copy.
pub const OP_KIND_COPY: u32 = 1;

/// Most bytes one message's frame body may inflate to. The encoder sends a
/// large frame in several messages well below this.
pub const MAX_MESSAGE_BODY: usize = 16 << 20;

/// Most pixels one message may paint (64 MiB of RGBA): the bound on what a
/// message that is small on the wire can make a decoder allocate.
pub const MAX_MESSAGE_AREA: u64 = 16 << 20;

/// A region of the screen: position and size, inside the largest screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Region {
    /// Checks the size is 1..=8192 on both sides and the region stays on
    /// the largest screen.
    pub(crate) fn check(self, offset: usize) -> Result<Self, DecodeError> {
        let Region {
            x,
            y,
            width,
            height,
        } = self;
        let fits = |at: u32, len: u32| {
            len >= 1 && u64::from(at) + u64::from(len) <= u64::from(MAX_DIMENSION)
        };
        if fits(x, width) && fits(y, height) {
            Ok(self)
        } else {
            Err(DecodeError::OpOutside {
                offset,
                x,
                y,
                width,
                height,
            })
        }
    }

    pub(crate) fn area(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Appends `value` as LEB128.
#[cfg(any(test, feature = "encode"))]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a LEB128 u32 at `*pos`; at most 5 bytes, nothing past `u32::MAX`.
pub(crate) fn get_varint(body: &[u8], pos: &mut usize) -> Result<u32, DecodeError> {
    let start = *pos;
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *body
            .get(*pos)
            .ok_or(DecodeError::OpTruncated { offset: start })?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).map_err(|_| DecodeError::BadVarint { offset: start });
        }
    }
    Err(DecodeError::BadVarint { offset: start })
}

/// Reads a region's four fields at `*pos`.
pub(crate) fn get_region(body: &[u8], pos: &mut usize) -> Result<Region, DecodeError> {
    let offset = *pos;
    let region = Region {
        x: get_varint(body, pos)?,
        y: get_varint(body, pos)?,
        width: get_varint(body, pos)?,
        height: get_varint(body, pos)?,
    };
    region.check(offset)
}

/// Writes a region's four fields.
#[cfg(feature = "encode")]
pub(crate) fn put_region(out: &mut Vec<u8>, region: Region) {
    for value in [region.x, region.y, region.width, region.height] {
        put_varint(out, value);
    }
}

/// One decoded message's operations, in the layout the module comment
/// gives, to be applied in order.
#[derive(Debug, Default, Clone)]
pub struct FrameOps {
    pub(crate) bytes: Vec<u8>,
}

/// One operation of [`FrameOps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOp<'a> {
    /// Put these pixels at (x, y).
    Paint {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width * height * 4` bytes of RGBA, alpha 255.
        rgba: &'a [u8],
    },
    /// The region at (x, y) becomes what was at (src_x, src_y) before.
    Copy {
        /// Left edge of the destination.
        x: u32,
        /// Top edge of the destination.
        y: u32,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Left edge of the source.
        src_x: u32,
        /// Top edge of the source.
        src_y: u32,
    },
}

impl FrameOps {
    /// The flat buffer, as handed to the browser.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when the message held no operation.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The operations in order. The buffer was built by the decoder, so
    /// its layout holds.
    pub fn iter(&self) -> impl Iterator<Item = FrameOp<'_>> {
        let mut rest: &[u8] = &self.bytes;
        std::iter::from_fn(move || {
            let field = |bytes: &[u8], i: usize| {
                u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
            };
            if rest.is_empty() {
                return None;
            }
            let (x, y, width, height) = (
                field(rest, 1),
                field(rest, 2),
                field(rest, 3),
                field(rest, 4),
            );
            if field(rest, 0) == OP_KIND_PAINT {
                let len = width as usize * height as usize * 4;
                let rgba = &rest[20..20 + len];
                rest = &rest[20 + len..];
                Some(FrameOp::Paint {
                    x,
                    y,
                    width,
                    height,
                    rgba,
                })
            } else {
                let (src_x, src_y) = (field(rest, 5), field(rest, 6));
                rest = &rest[28..];
                Some(FrameOp::Copy {
                    x,
                    y,
                    width,
                    height,
                    src_x,
                    src_y,
                })
            }
        })
    }

    /// Applies the operations, in order, to an RGBA picture of `width` x
    /// `height` pixels (what is off it is clipped): the reference painter,
    /// which recordings' exports and the tests use.
    pub fn apply(&self, picture: &mut [u8], width: u32, height: u32) {
        let (w, h) = (width as usize, height as usize);
        assert_eq!(
            picture.len(),
            w * h * 4,
            "picture is not width * height * 4 bytes"
        );
        let mut source = Vec::new();
        for op in self.iter() {
            match op {
                FrameOp::Paint {
                    x,
                    y,
                    width: pw,
                    height: ph,
                    rgba,
                } => {
                    let (x, y, pw, ph) = (x as usize, y as usize, pw as usize, ph as usize);
                    let cols = pw.min(w.saturating_sub(x));
                    for row in 0..ph.min(h.saturating_sub(y)) {
                        let from = &rgba[row * pw * 4..][..cols * 4];
                        picture[((y + row) * w + x) * 4..][..cols * 4].copy_from_slice(from);
                    }
                }
                FrameOp::Copy {
                    x,
                    y,
                    width: cw,
                    height: ch,
                    src_x,
                    src_y,
                } => {
                    let (x, y, sx, sy) = (x as usize, y as usize, src_x as usize, src_y as usize);
                    // Clip to where both source and destination are on the picture.
                    let cols = (cw as usize)
                        .min(w.saturating_sub(x))
                        .min(w.saturating_sub(sx));
                    let rows = (ch as usize)
                        .min(h.saturating_sub(y))
                        .min(h.saturating_sub(sy));
                    // Through a copy of the source: the regions may overlap.
                    source.clear();
                    for row in 0..rows {
                        source.extend_from_slice(&picture[((sy + row) * w + sx) * 4..][..cols * 4]);
                    }
                    for row in 0..rows {
                        picture[((y + row) * w + x) * 4..][..cols * 4]
                            .copy_from_slice(&source[row * cols * 4..][..cols * 4]);
                    }
                }
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Appends a paint header and room for its pixels, and returns the room.
    pub(crate) fn push_paint(&mut self, region: Region) -> &mut [u8] {
        for value in [
            OP_KIND_PAINT,
            region.x,
            region.y,
            region.width,
            region.height,
        ] {
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
        let start = self.bytes.len();
        self.bytes.resize(start + region.area() as usize * 4, 0);
        &mut self.bytes[start..]
    }

    pub(crate) fn push_copy(&mut self, region: Region, src_x: u32, src_y: u32) {
        for value in [
            OP_KIND_COPY,
            region.x,
            region.y,
            region.width,
            region.height,
            src_x,
            src_y,
        ] {
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_overlong_ones_fail() {
        for value in [0, 1, 127, 128, 8191, 16_384, u32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            let mut pos = 0;
            assert_eq!(get_varint(&out, &mut pos), Ok(value));
            assert_eq!(pos, out.len());
        }
        let mut pos = 0;
        assert_eq!(
            get_varint(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut pos),
            Err(DecodeError::BadVarint { offset: 0 })
        );
        let mut pos = 0;
        assert_eq!(
            get_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], &mut pos),
            Err(DecodeError::BadVarint { offset: 0 })
        );
        let mut pos = 0;
        assert_eq!(
            get_varint(&[0x80], &mut pos),
            Err(DecodeError::OpTruncated { offset: 0 })
        );
    }

    #[test]
    fn regions_off_the_largest_screen_or_empty_are_refused() {
        let region = |x, y, width, height| Region {
            x,
            y,
            width,
            height,
        };
        assert!(region(0, 0, 8192, 8192).check(0).is_ok());
        assert!(region(8191, 0, 2, 1).check(0).is_err());
        assert!(region(0, 0, 0, 1).check(0).is_err());
        assert!(region(u32::MAX, 0, 1, 1).check(0).is_err());
    }
}
