//! BGRX rows in, 3-channel QOI out.

use super::{
    END_MARKER, HEADER_LEN, MAGIC, MAX_RUN, OP_DIFF, OP_INDEX, OP_LUMA, OP_RGB, OP_RUN, Rgba,
    START_PIXEL, index_position,
};
use crate::{BgrxView, ViewError};

/// Encodes `view` as a 3-channel, sRGB (colorspace 0) QOI image into `out`,
/// replacing its contents. Reusing `out` across calls avoids allocations.
pub fn encode_qoi(view: &BgrxView<'_>, out: &mut Vec<u8>) -> Result<(), ViewError> {
    view.validate()?;
    let (width, height) = (view.width as usize, view.height as usize);
    out.clear();
    // An RGB op is the longest a 3-channel encoder writes.
    out.reserve(HEADER_LEN + width * height * 4 + END_MARKER.len());

    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&view.width.to_be_bytes());
    out.extend_from_slice(&view.height.to_be_bytes());
    out.push(3); // channels
    out.push(0); // colorspace: sRGB with linear alpha

    push_ops(view, out);
    out.extend_from_slice(&END_MARKER);
    Ok(())
}

/// Appends the QOI ops of `view` to `out`: no header, no end marker. The
/// session codec frames them itself, and reads exactly `width * height`
/// pixels back.
#[cfg(feature = "encode")]
pub(crate) fn encode_qoi_ops(view: &BgrxView<'_>, out: &mut Vec<u8>) -> Result<(), ViewError> {
    view.validate()?;
    out.reserve(view.width as usize * view.height as usize * 4);
    push_ops(view, out);
    Ok(())
}

/// The op stream of a validated view, `out` already reserved.
fn push_ops(view: &BgrxView<'_>, out: &mut Vec<u8>) {
    let mut index = [[0u8; 4]; 64];
    let mut prev = START_PIXEL;
    let mut run: u8 = 0;
    for y in 0..view.height as usize {
        for bgrx in view.row(y).chunks_exact(4) {
            let px: Rgba = [bgrx[2], bgrx[1], bgrx[0], 255];
            if px == prev {
                run += 1;
                if run == MAX_RUN {
                    out.push(OP_RUN | (run - 1));
                    run = 0;
                }
                continue;
            }
            if run > 0 {
                out.push(OP_RUN | (run - 1));
                run = 0;
            }
            let pos = index_position(px);
            if index[pos] == px {
                out.push(OP_INDEX | pos as u8);
            } else {
                index[pos] = px;
                push_color(out, prev, px);
            }
            prev = px;
        }
    }
    if run > 0 {
        out.push(OP_RUN | (run - 1));
    }
}

/// Writes the shortest of DIFF, LUMA and RGB that turns `prev` into `px`
/// (both opaque).
#[inline(always)]
fn push_color(out: &mut Vec<u8>, prev: Rgba, px: Rgba) {
    let dr = px[0].wrapping_sub(prev[0]) as i8;
    let dg = px[1].wrapping_sub(prev[1]) as i8;
    let db = px[2].wrapping_sub(prev[2]) as i8;
    let dr_dg = dr.wrapping_sub(dg);
    let db_dg = db.wrapping_sub(dg);
    let small = |d: i8| (-2..=1).contains(&d);
    if small(dr) && small(dg) && small(db) {
        out.push(OP_DIFF | ((dr + 2) as u8) << 4 | ((dg + 2) as u8) << 2 | (db + 2) as u8);
    } else if (-32..=31).contains(&dg) && (-8..=7).contains(&dr_dg) && (-8..=7).contains(&db_dg) {
        out.push(OP_LUMA | (dg + 32) as u8);
        out.push(((dr_dg + 8) as u8) << 4 | (db_dg + 8) as u8);
    } else {
        out.extend_from_slice(&[OP_RGB, px[0], px[1], px[2]]);
    }
}
