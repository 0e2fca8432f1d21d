//! Takes test fixtures from a running X server (`$DISPLAY`, e.g. Xvfb).
//!
//! ```text
//! capture shot OUT.qoi                      # the root window, as QOI
//! capture sequence OUT.seq.zst FRAMES MS    # FRAMES shots MS milliseconds apart
//! ```
//!
//! A sequence file is one zstd frame (level 19) holding, per shot, a 4-byte
//! little-endian length and a QOI image: consecutive shots share most bytes,
//! so this stays small. `benches/codec.rs` and the tests read both formats.

use std::time::Duration;

use oriel_qoiz::{BgrxView, encode_qoi};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, ImageOrder};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (conn, screen_num) = x11rb::connect(None)?;
    if conn.setup().image_byte_order != ImageOrder::LSB_FIRST {
        return Err("the X server is big-endian; fixtures are BGRX".into());
    }
    let screen = &conn.setup().roots[screen_num];
    let (width, height) = (screen.width_in_pixels, screen.height_in_pixels);
    let shot = || -> Result<Vec<u8>, Error> {
        let reply = conn
            .get_image(ImageFormat::Z_PIXMAP, screen.root, 0, 0, width, height, !0)?
            .reply()?;
        if reply.depth != 24 || reply.data.len() != usize::from(width) * usize::from(height) * 4 {
            return Err(
                format!("want a depth-24, 32-bpp screen, got depth {}", reply.depth).into(),
            );
        }
        let view = BgrxView::new(
            &reply.data,
            usize::from(width) * 4,
            width.into(),
            height.into(),
        )?;
        let mut qoi = Vec::new();
        encode_qoi(&view, &mut qoi)?;
        Ok(qoi)
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["shot", out] => std::fs::write(out, shot()?)?,
        ["sequence", out, frames, ms] => {
            let (frames, ms): (usize, u64) = (frames.parse()?, ms.parse()?);
            let mut records = Vec::new();
            for i in 0..frames {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                let qoi = shot()?;
                records.extend_from_slice(&u32::try_from(qoi.len())?.to_le_bytes());
                records.extend_from_slice(&qoi);
            }
            std::fs::write(out, zstd::bulk::compress(&records, 19)?)?;
        }
        _ => return Err("usage: capture shot OUT.qoi | capture sequence OUT FRAMES MS".into()),
    }
    Ok(())
}
