//! Fitting the X screen to the client's window with RANDR.
//!
//! Xvfb starts at the host's cap ([`MaxScreen`]) and only shrinks. `xrandr` run from a shell
//! cannot do it; creating a mode, adding it to the output, pointing the CRTC
//! at it and setting the screen size from one connection can.

use super::X11Connection;
use x11rb::connection::Connection;
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::protocol::xproto;

use super::X11Error;

/// DPI at 100% scale; higher scales raise it so text keeps its physical size.
const BASE_DPI: f64 = 96.0;

/// The screen size a client asked for, fitted to what X can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenSize {
    /// Pixels.
    pub width: u16,
    /// Pixels.
    pub height: u16,
    /// Percent; 100 is 96 DPI.
    pub scale: u32,
}

impl ScreenSize {
    /// Smallest side Oriel sets, so a collapsed browser window cannot make
    /// the desktop unusable.
    pub const MIN_SIDE: u16 = 64;

    /// The client's request clamped to 64..=8192 a side and 50..=400 percent.
    pub fn fit(width: u32, height: u32, scale: u32) -> Self {
        let side = |v: u32| v.clamp(Self::MIN_SIDE.into(), crate::xvfb::MAX_SIDE.into()) as u16;
        let scale = if scale == 0 { 100 } else { scale.clamp(50, 400) };
        Self { width: side(width), height: side(height), scale }
    }

    /// This size, no larger than `max` on either side (the host's cap,
    /// which Xvfb starts at).
    pub fn within(self, max: MaxScreen) -> Self {
        Self { width: self.width.min(max.width), height: self.height.min(max.height), ..self }
    }

    fn millimetres(self, pixels: u16) -> u32 {
        let dpi = BASE_DPI * f64::from(self.scale) / 100.0;
        (f64::from(pixels) * 25.4 / dpi).round().max(1.0) as u32
    }
}

/// The largest screen a session may have: Xvfb starts at this size (its
/// framebuffer is allocated whole, width × height × 4 bytes, for the
/// session's life) and RANDR shrinks it to the browser's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxScreen {
    /// Pixels, at most 8192.
    pub width: u16,
    /// Pixels, at most 8192.
    pub height: u16,
}

impl Default for MaxScreen {
    /// 7680x4320: an 8K screen, or two 4K screens side by side, in device
    /// pixels. 127 MiB of framebuffer, where 8192x8192 took 256 MiB.
    fn default() -> Self {
        Self { width: 7680, height: 4320 }
    }
}

impl MaxScreen {
    /// `width` x `height`, each clamped to 64..=8192.
    pub fn new(width: u32, height: u32) -> Self {
        let side = |v: u32| v.clamp(ScreenSize::MIN_SIDE.into(), crate::xvfb::MAX_SIDE.into()) as u16;
        Self { width: side(width), height: side(height) }
    }

    /// The largest screen of a session that starts at `first` on a client
    /// whose whole monitor is `monitor` (in device pixels), under the
    /// host's cap (`self`). A browser window cannot grow past its monitor,
    /// so that is the most the session is likely ever to show, and Xvfb,
    /// which holds its whole framebuffer from the start, pays for no more:
    /// 8 MiB on a 1920x1080 monitor where the cap (7680x4320) costs 127.
    /// A client that does not say gets the cap.
    pub fn for_monitor(self, first: ScreenSize, monitor: Option<(u32, u32)>) -> Self {
        let Some((width, height)) = monitor else { return self };
        let side = |monitor: u32, first: u16, cap: u16| (monitor.min(cap.into()) as u16).max(first).clamp(ScreenSize::MIN_SIDE, cap);
        Self { width: side(width, first.width, self.width), height: side(height, first.height, self.height) }
    }
}

/// Changes the size of the display's first screen. Remembers the mode it
/// created last so modes do not pile up over many resizes.
#[derive(Debug, Default)]
pub struct Screen {
    our_mode: Option<randr::Mode>,
    current: Option<ScreenSize>,
}

impl Screen {
    /// The size last set.
    pub fn current(&self) -> Option<ScreenSize> {
        self.current
    }

    /// Resizes the screen to `size`.
    pub fn resize(&mut self, conn: &X11Connection, size: ScreenSize) -> Result<(), X11Error> {
        if self.current == Some(size) {
            return Ok(());
        }
        let root = conn.setup().roots[0].root;
        let resources = conn.randr_get_screen_resources_current(root)?.reply()?;
        let (Some(&crtc), Some(&output)) = (resources.crtcs.first(), resources.outputs.first()) else {
            return Err(X11Error::MissingExtension("RANDR output"));
        };
        let name = format!("oriel-{}x{}", size.width, size.height);
        let mode_info = randr::ModeInfo {
            id: 0,
            width: size.width,
            height: size.height,
            dot_clock: u32::from(size.width) * u32::from(size.height) * 60,
            hsync_start: size.width,
            hsync_end: size.width,
            htotal: size.width,
            hskew: 0,
            vsync_start: size.height,
            vsync_end: size.height,
            vtotal: size.height,
            name_len: name.len() as u16,
            mode_flags: randr::ModeFlag::default(),
        };
        let mode = conn.randr_create_mode(root, mode_info, name.as_bytes())?.reply()?.mode;
        conn.randr_add_output_mode(output, mode)?;
        // Switch the CRTC off so the screen may shrink below its current mode.
        conn.randr_set_crtc_config(crtc, x11rb::CURRENT_TIME, resources.config_timestamp, 0, 0, 0, randr::Rotation::ROTATE0, &[])?.reply()?;
        conn.randr_set_screen_size(root, size.width, size.height, size.millimetres(size.width), size.millimetres(size.height))?;
        let reply =
            conn.randr_set_crtc_config(crtc, x11rb::CURRENT_TIME, resources.config_timestamp, 0, 0, mode, randr::Rotation::ROTATE0, &[output])?.reply()?;
        if reply.status != randr::SetConfig::SUCCESS {
            return Err(X11Error::Connect(format!("RANDR refused {}x{}: {:?}", size.width, size.height, reply.status)));
        }
        if let Some(old) = self.our_mode.replace(mode) {
            conn.randr_delete_output_mode(output, old)?;
            conn.randr_destroy_mode(old)?;
        }
        conn.flush()?;
        self.current = Some(size);
        Ok(())
    }
}

/// The root window's current size as X reports it.
pub fn root_size(conn: &X11Connection) -> Result<(u16, u16), X11Error> {
    use xproto::ConnectionExt as _;
    let root = conn.setup().roots[0].root;
    let geometry = conn.get_geometry(root)?.reply()?;
    Ok((geometry.width, geometry.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_screen_is_the_monitor_within_the_cap_and_never_below_the_first() {
        let cap = MaxScreen::default();
        let first = ScreenSize::fit(1600, 900, 100);
        assert_eq!(cap.for_monitor(first, Some((1920, 1080))), MaxScreen { width: 1920, height: 1080 });
        // A client that does not say gets the cap.
        assert_eq!(cap.for_monitor(first, None), cap);
        // A monitor past the cap stops at it.
        assert_eq!(cap.for_monitor(first, Some((8192, 8192))), cap);
        // A window said to be larger than its monitor keeps its size.
        assert_eq!(cap.for_monitor(first, Some((1280, 1200))), MaxScreen { width: 1600, height: 1200 });
        // A cap smaller than the monitor wins over both.
        let small = MaxScreen::new(1024, 768);
        assert_eq!(small.for_monitor(first.within(small), Some((1920, 1080))), small);
    }
}
