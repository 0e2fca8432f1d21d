//! The header of Xvfb's shared framebuffer, which the session's own X
//! server (running as the login) writes: any bytes give a layout whose
//! pixels lie inside them, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oriel_linux_desktop::x11::framebuffer::XwdLayout;

fuzz_target!(|segment: &[u8]| {
    if let Ok(layout) = XwdLayout::parse(segment) {
        let end = layout.pixels_at + layout.bytes_per_line * (layout.height as usize);
        assert!(end <= segment.len());
        assert!(layout.bytes_per_line >= layout.width as usize * 4);
    }
});
