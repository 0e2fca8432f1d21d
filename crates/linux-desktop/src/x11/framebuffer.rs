//! Xvfb's framebuffer, read where the X server draws it.
//!
//! With `-shmem` Xvfb keeps its screen in a System V shared-memory segment
//! laid out as an XWD file: a header, the window name, a colormap, then the
//! pixels, row after row at the width Xvfb started with (RANDR changes what
//! shows, never the layout). Attached read-only, it lets a capture compare
//! damaged tiles against the shadow with no GetImage: no request, no copy by
//! the server, no capture buffer.
//!
//! The segment is written by the session's own Xvfb, which runs as the
//! login, so its header is checked like any input before a pixel is read.

use std::ptr::NonNull;

use super::capture::Rect;

/// The XWD header's size: 25 big-endian 32-bit fields.
const HEADER_FIELDS: usize = 25;
const HEADER_LEN: usize = HEADER_FIELDS * 4;
/// An XWD colormap entry: pixel (4), red, green, blue (2 each), flags, pad.
const COLOR_LEN: usize = 12;
const XWD_FILE_VERSION: u32 = 7;
const Z_PIXMAP: u32 = 2;
const LSB_FIRST: u32 = 0;

/// Why a framebuffer cannot be read in place.
#[derive(Debug, thiserror::Error)]
pub enum FramebufferError {
    /// The segment could not be attached or inspected.
    #[error("cannot attach the X server's framebuffer: {0}")]
    Attach(#[source] std::io::Error),
    /// The segment was not made by the session's X server.
    #[error("the shared framebuffer was made by process {found}, not by the X server ({expected})")]
    Creator {
        /// The X server's pid.
        expected: u32,
        /// The segment creator's pid.
        found: u32,
    },
    /// The header does not describe 32-bit BGRX pixels inside the segment.
    #[error("the shared framebuffer's header is not usable: {0}")]
    Layout(&'static str),
}

/// Where the pixels are in an XWD image of 32-bit little-endian BGRX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XwdLayout {
    /// Offset of the first pixel from the start of the segment.
    pub pixels_at: usize,
    /// Bytes from one row's start to the next.
    pub bytes_per_line: usize,
    /// Width in pixels of the whole framebuffer.
    pub width: u32,
    /// Height in rows of the whole framebuffer.
    pub height: u32,
}

impl XwdLayout {
    /// Reads the header at the start of `segment` (of `segment.len()`
    /// bytes), refusing anything but 24-bit TrueColor in 32-bit pixels whose
    /// rows all lie inside the segment.
    pub fn parse(segment: &[u8]) -> Result<Self, FramebufferError> {
        let bad = |why| Err(FramebufferError::Layout(why));
        let Some(header) = segment.get(..HEADER_LEN) else {
            return bad("shorter than an XWD header");
        };
        let field = |i: usize| u32::from_be_bytes(header[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let (header_size, version, format, depth) = (field(0), field(1), field(2), field(3));
        let (width, height, byte_order, bits_per_pixel, bytes_per_line) = (field(4), field(5), field(7), field(11), field(12));
        let (red, green, blue, ncolors) = (field(14), field(15), field(16), field(19));
        if version != XWD_FILE_VERSION || format != Z_PIXMAP {
            return bad("not an XWD version 7 ZPixmap");
        }
        if depth != 24 || bits_per_pixel != 32 || byte_order != LSB_FIRST || (red, green, blue) != (0xff_0000, 0xff00, 0xff) {
            return bad("not 24-bit colour in 32-bit little-endian pixels");
        }
        if width == 0 || height == 0 || (header_size as usize) < HEADER_LEN {
            return bad("empty screen or truncated header");
        }
        let bytes_per_line = bytes_per_line as usize;
        let pixels_at = (ncolors as usize).checked_mul(COLOR_LEN).and_then(|colors| colors.checked_add(header_size as usize));
        let end = pixels_at.and_then(|at| bytes_per_line.checked_mul(height as usize).and_then(|rows| rows.checked_add(at)));
        match (pixels_at, end) {
            (Some(pixels_at), Some(end)) if end <= segment.len() && bytes_per_line >= width as usize * 4 => {
                Ok(Self { pixels_at, bytes_per_line, width, height })
            }
            _ => bad("the pixels do not fit in the segment"),
        }
    }

    /// Where `area`'s pixels start and how many bytes reach its last pixel,
    /// or `None` when it is not inside the framebuffer.
    fn span(&self, area: Rect) -> Option<(usize, usize)> {
        let inside = area.width > 0
            && area.height > 0
            && u64::from(area.x) + u64::from(area.width) <= u64::from(self.width)
            && u64::from(area.y) + u64::from(area.height) <= u64::from(self.height);
        inside.then(|| {
            let start = self.pixels_at + area.y as usize * self.bytes_per_line + area.x as usize * 4;
            (start, (area.height as usize - 1) * self.bytes_per_line + area.width as usize * 4)
        })
    }
}

/// The X server's id of its shared framebuffer, as Xvfb reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFramebuffer {
    /// The System V segment id (in the session's IPC namespace).
    pub shmid: i32,
    /// The X server's pid: the segment's creator must be it.
    pub server_pid: u32,
}

/// Xvfb's framebuffer, attached read-only.
pub struct Framebuffer {
    base: NonNull<u8>,
    len: usize,
    layout: XwdLayout,
}

// SAFETY: the mapping is read-only and owned by this value alone; it is
// detached once, in Drop. Nothing about it is tied to a thread.
unsafe impl Send for Framebuffer {}

impl std::fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framebuffer").field("len", &self.len).field("layout", &self.layout).finish()
    }
}

impl Framebuffer {
    /// Attaches the segment read-only after checking that the X server made
    /// it, and marks it for removal: it goes when Xvfb and this capture have
    /// both let go, even if Xvfb is killed.
    pub fn attach(shared: SharedFramebuffer) -> Result<Self, FramebufferError> {
        // SAFETY: shmid_ds is plain data; IPC_STAT only fills it in.
        let mut stat: libc::shmid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a shmid_ds owned here.
        if unsafe { libc::shmctl(shared.shmid, libc::IPC_STAT, &mut stat) } != 0 {
            return Err(FramebufferError::Attach(std::io::Error::last_os_error()));
        }
        if stat.shm_cpid as u32 != shared.server_pid {
            return Err(FramebufferError::Creator { expected: shared.server_pid, found: stat.shm_cpid as u32 });
        }
        // SAFETY: a read-only attachment at an address the kernel picks.
        let address = unsafe { libc::shmat(shared.shmid, std::ptr::null(), libc::SHM_RDONLY) };
        if address as isize == -1 {
            return Err(FramebufferError::Attach(std::io::Error::last_os_error()));
        }
        let base = NonNull::new(address.cast::<u8>()).ok_or(FramebufferError::Layout("attached at address 0"))?;
        let mut attached = Self { base, len: stat.shm_segsz, layout: XwdLayout { pixels_at: 0, bytes_per_line: 0, width: 0, height: 0 } };
        // Removal waits for the last detach; a session whose Xvfb dies
        // leaves no segment behind.
        // SAFETY: IPC_RMID takes no buffer.
        unsafe { libc::shmctl(shared.shmid, libc::IPC_RMID, std::ptr::null_mut()) };
        attached.layout = XwdLayout::parse(attached.bytes())?;
        Ok(attached)
    }

    /// The framebuffer's layout.
    pub fn layout(&self) -> XwdLayout {
        self.layout
    }

    /// `area`'s pixels, from its top-left pixel to its bottom-right one,
    /// rows [`XwdLayout::bytes_per_line`] apart; `None` when `area` is not
    /// inside the framebuffer.
    pub fn area(&self, area: Rect) -> Option<&[u8]> {
        let (start, len) = self.layout.span(area)?;
        self.bytes().get(start..start + len)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes from `base` stay mapped until Drop. The X
        // server writes them as it draws: a read may see a drawing half
        // done, which DAMAGE reports again, so the next capture repaints it.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}

impl Drop for Framebuffer {
    fn drop(&mut self) {
        // SAFETY: `base` came from shmat and is detached only here.
        unsafe { libc::shmdt(self.base.as_ptr().cast()) };
    }
}

#[cfg(test)]
mod tests {
    use super::{Rect, XwdLayout};

    /// An XWD header as Xvfb writes it for a `width`x`height` 24-bit screen.
    fn header(width: u32, height: u32, bytes_per_line: u32) -> Vec<u8> {
        let mut fields = [0u32; 25];
        fields[0] = 160; // header, then a 60-byte window name
        fields[1] = 7;
        fields[2] = 2;
        fields[3] = 24;
        fields[4] = width;
        fields[5] = height;
        fields[8] = 32;
        fields[10] = 32;
        fields[11] = 32;
        fields[12] = bytes_per_line;
        fields[13] = 4;
        fields[14] = 0xff_0000;
        fields[15] = 0xff00;
        fields[16] = 0xff;
        fields[17] = 8;
        fields[18] = 256;
        fields[19] = 256;
        fields.iter().flat_map(|f| f.to_be_bytes()).collect()
    }

    fn segment(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = header(width, height, width * 4);
        bytes.resize(160 + 256 * 12 + (width * height * 4) as usize, 0);
        bytes
    }

    #[test]
    fn xvfb_headers_give_where_each_row_starts() {
        // What Xvfb 21 wrote for a 1920x1080 screen (`-shmem`): 8297632 bytes.
        let bytes = segment(1920, 1080);
        assert_eq!(bytes.len(), 8_297_632);
        let layout = XwdLayout::parse(&bytes).unwrap();
        assert_eq!(layout, XwdLayout { pixels_at: 3232, bytes_per_line: 7680, width: 1920, height: 1080 });
        let area = Rect { x: 10, y: 2, width: 3, height: 2 };
        assert_eq!(layout.span(area), Some((3232 + 2 * 7680 + 40, 7680 + 12)));
        assert_eq!(layout.span(Rect { x: 1918, y: 0, width: 3, height: 1 }), None, "past the right edge");
        assert_eq!(layout.span(Rect { x: 0, y: 1080, width: 1, height: 1 }), None, "past the bottom");
    }

    #[test]
    fn headers_that_do_not_fit_the_segment_are_refused() {
        let mut bytes = segment(64, 64);
        bytes.pop();
        assert!(XwdLayout::parse(&bytes).is_err(), "one byte short");
        let mut narrow = segment(64, 64);
        narrow[48..52].copy_from_slice(&200u32.to_be_bytes());
        assert!(XwdLayout::parse(&narrow).is_err(), "rows narrower than the screen");
        let mut huge = segment(64, 64);
        huge[76..80].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(XwdLayout::parse(&huge).is_err(), "a colormap past the end");
        let mut paletted = segment(64, 64);
        paletted[12..16].copy_from_slice(&8u32.to_be_bytes());
        assert!(XwdLayout::parse(&paletted).is_err(), "8-bit screens");
        assert!(XwdLayout::parse(&bytes[..99]).is_err(), "a short header");
    }
}
