//! QOI in, RGBA out, into a buffer the caller owns.

use super::{
    END_MARKER, HEADER_LEN, MAGIC, OP_DIFF, OP_INDEX, OP_LUMA, OP_MASK, OP_RGB, OP_RGBA, OP_RUN,
    Rgba, START_PIXEL, index_position,
};
use crate::{DecodeError, check_size};

/// Decodes a whole QOI image into `out_rgba`, which must be exactly
/// `width * height * 4` bytes. The header must announce `width` x `height`;
/// 3- and 4-channel images are accepted, and every output pixel is opaque
/// (alpha 255) because the desktop has no transparency.
///
/// `data` must end with the end marker: missing bytes and trailing bytes are
/// both errors. Nothing is allocated.
pub fn decode_qoi(
    data: &[u8],
    width: u32,
    height: u32,
    out_rgba: &mut [u8],
) -> Result<(), DecodeError> {
    check_size(width, height)?;
    let expected = width as usize * height as usize * 4;
    if out_rgba.len() != expected {
        return Err(DecodeError::OutputLength {
            expected,
            len: out_rgba.len(),
        });
    }
    let body = check_header(data, width, height)?;

    let pos = decode_qoi_ops(body, out_rgba)?;
    match &body[pos..] {
        rest if rest == END_MARKER => Ok(()),
        rest if rest.len() < END_MARKER.len() && END_MARKER.starts_with(rest) => {
            Err(DecodeError::QoiTruncated)
        }
        rest if rest.starts_with(&END_MARKER) => Err(DecodeError::QoiTrailingBytes {
            extra: rest.len() - END_MARKER.len(),
        }),
        _ => Err(DecodeError::QoiBadEndMarker),
    }
}

/// Decodes QOI ops (no header) from the start of `body` until `out_rgba` is
/// full, and returns how many bytes of `body` they took. Every pixel is
/// written opaque. Nothing is allocated.
pub(crate) fn decode_qoi_ops(body: &[u8], out_rgba: &mut [u8]) -> Result<usize, DecodeError> {
    let expected = out_rgba.len();
    let mut index = [[0u8; 4]; 64];
    let mut px: Rgba = START_PIXEL;
    let mut pos = 0;
    let mut written = 0;
    while written < expected {
        let op = *body.get(pos).ok_or(DecodeError::QoiTruncated)?;
        pos += 1;
        let mut run = 1;
        match op {
            OP_RGB => {
                let rgb = body.get(pos..pos + 3).ok_or(DecodeError::QoiTruncated)?;
                px = [rgb[0], rgb[1], rgb[2], px[3]];
                pos += 3;
            }
            OP_RGBA => {
                let rgba = body.get(pos..pos + 4).ok_or(DecodeError::QoiTruncated)?;
                px = [rgba[0], rgba[1], rgba[2], rgba[3]];
                pos += 4;
            }
            _ => match op & OP_MASK {
                OP_INDEX => px = index[usize::from(op)],
                OP_DIFF => {
                    px[0] = px[0].wrapping_add((op >> 4) & 3).wrapping_sub(2);
                    px[1] = px[1].wrapping_add((op >> 2) & 3).wrapping_sub(2);
                    px[2] = px[2].wrapping_add(op & 3).wrapping_sub(2);
                }
                OP_LUMA => {
                    let second = *body.get(pos).ok_or(DecodeError::QoiTruncated)?;
                    pos += 1;
                    let dg = (op & 0x3f).wrapping_sub(32);
                    px[0] = px[0]
                        .wrapping_add(dg)
                        .wrapping_add(second >> 4)
                        .wrapping_sub(8);
                    px[1] = px[1].wrapping_add(dg);
                    px[2] = px[2]
                        .wrapping_add(dg)
                        .wrapping_add(second & 0x0f)
                        .wrapping_sub(8);
                }
                _ => {
                    debug_assert_eq!(op & OP_MASK, OP_RUN);
                    run = usize::from(op & 0x3f) + 1;
                }
            },
        }
        // The reference decoder updates the table after every op, runs and
        // index hits included; encoders rely on that.
        index[index_position(px)] = px;

        let end = written + run * 4;
        let dst = out_rgba
            .get_mut(written..end)
            .ok_or(DecodeError::QoiRunOverflow)?;
        let opaque = [px[0], px[1], px[2], 255];
        for chunk in dst.chunks_exact_mut(4) {
            chunk.copy_from_slice(&opaque);
        }
        written = end;
    }

    Ok(pos)
}

/// Checks the header against the size the caller expects and returns the
/// bytes after it.
fn check_header(data: &[u8], width: u32, height: u32) -> Result<&[u8], DecodeError> {
    let Some((header, body)) = data.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::QoiTruncated);
    };
    // Header fields, in order:
    let magic = &header[0..4];
    let found_width = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let found_height = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    let channels = header[12];
    let colorspace = header[13];

    if magic != MAGIC {
        return Err(DecodeError::QoiBadMagic);
    }
    if (found_width, found_height) != (width, height) {
        return Err(DecodeError::QoiSizeMismatch {
            width,
            height,
            found_width,
            found_height,
        });
    }
    if channels != 3 && channels != 4 {
        return Err(DecodeError::QoiBadChannels(channels));
    }
    if colorspace > 1 {
        return Err(DecodeError::QoiBadColorspace(colorspace));
    }
    Ok(body)
}
