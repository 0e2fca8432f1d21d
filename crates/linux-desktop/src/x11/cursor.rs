//! The pointer's shape, from XFIXES, as an RGBA image the browser can show.

use super::X11Connection;
use oriel_tdpb::limits::MAX_CURSOR_SIDE;
use oriel_tdpb::pb;
use x11rb::protocol::xfixes::ConnectionExt as _;

use super::X11Error;

/// Fetches the current cursor. `None` when it is the same image as last time
/// (XFIXES notifies on every change of cursor, also back to the same one).
pub fn fetch(conn: &X11Connection, last_serial: &mut Option<u32>) -> Result<Option<pb::CursorImage>, X11Error> {
    let image = conn.xfixes_get_cursor_image()?.reply()?;
    if *last_serial == Some(image.cursor_serial) {
        return Ok(None);
    }
    *last_serial = Some(image.cursor_serial);
    Ok(Some(to_rgba(u32::from(image.width), u32::from(image.height), u32::from(image.xhot), u32::from(image.yhot), &image.cursor_image)))
}

/// Converts XFIXES pixels (premultiplied ARGB, one u32 each) to straight RGBA.
/// Cursors larger than the protocol allows are cropped around the hotspot's corner.
pub fn to_rgba(width: u32, height: u32, hot_x: u32, hot_y: u32, argb: &[u32]) -> pb::CursorImage {
    let (w, h) = (width.min(MAX_CURSOR_SIDE), height.min(MAX_CURSOR_SIDE));
    if argb.len() < (width * height) as usize {
        return pb::CursorImage::default();
    }
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let p = argb[(y * width + x) as usize];
            let a = (p >> 24) as u8;
            let unpremultiply = |c: u32| -> u8 {
                let c = (c & 0xff) as u16;
                if a == 0 { 0 } else { ((c * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8 }
            };
            rgba.extend_from_slice(&[unpremultiply(p >> 16), unpremultiply(p >> 8), unpremultiply(p), a]);
        }
    }
    pb::CursorImage { width: w, height: h, hotspot_x: hot_x.min(w.saturating_sub(1)), hotspot_y: hot_y.min(h.saturating_sub(1)), rgba }
}

#[cfg(test)]
mod tests {
    use super::to_rgba;

    #[test]
    fn premultiplied_argb_becomes_straight_rgba() {
        // Opaque red, half-transparent white (premultiplied 0x80), fully transparent.
        let image = to_rgba(3, 1, 1, 0, &[0xffff0000, 0x80808080, 0x00000000]);
        assert_eq!(image.rgba, [255, 0, 0, 255, 255, 255, 255, 128, 0, 0, 0, 0]);
        assert_eq!((image.width, image.height, image.hotspot_x, image.hotspot_y), (3, 1, 1, 0));
    }

    #[test]
    fn short_pixel_data_gives_an_empty_cursor() {
        assert_eq!(to_rgba(2, 2, 0, 0, &[0; 3]).width, 0);
    }
}
