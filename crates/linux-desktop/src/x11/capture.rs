//! Finding and grabbing what changed on screen.
//!
//! DAMAGE tells that something was drawn and roughly where; XFIXES hands the
//! damaged region over as rectangles. Where Xvfb keeps its framebuffer in
//! shared memory (`framebuffer.rs`), those pixels are read in place;
//! elsewhere (Xvnc) MIT-SHM's GetImage copies them into memory shared with
//! the X server (four times faster than a core GetImage). DAMAGE
//! over-reports, so the grabbed pixels are compared tile by tile with a
//! shadow copy of what the client already has, and only changed tiles leave.

use std::os::fd::OwnedFd;

use super::X11Connection;
use memmap2::MmapMut;
use x11rb::connection::Connection;
use x11rb::protocol::damage::{self, ConnectionExt as _};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{self, ConnectionExt as _};

use super::X11Error;
use super::framebuffer::Framebuffer;
use crate::scroll::{self, Rows};
use crate::window_moves::WindowMove;

/// Side of the square tiles compared against the shadow framebuffer.
pub const TILE: u32 = 64;
/// Tallest rectangle handed out, so one encoded rectangle stays far below
/// the 16 MiB frame limit even at 8192 pixels wide.
pub const MAX_RECT_HEIGHT: u32 = 256;
/// Beyond this many damaged rectangles, grabbing their bounding box costs
/// fewer round trips than grabbing each.
const MAX_GRABS: usize = 24;

/// A rectangle in screen pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width, at least 1.
    pub width: u32,
    /// Height, at least 1.
    pub height: u32,
}

/// A region the client copies from elsewhere on its own screen: what it
/// showed at (`src_x`, `src_y`) now shows at the rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// Where the region goes.
    pub to: Rect,
    /// Left edge of where it was.
    pub src_x: u32,
    /// Top edge of where it was.
    pub src_y: u32,
}

/// What changed since the last capture: regions that moved (applied first,
/// in order), then rectangles to send as pixels.
#[derive(Debug, Default)]
pub struct Changes {
    /// Copies the client makes on its screen, in order.
    pub moves: Vec<Move>,
    /// Rectangles of the shadow to send, after the moves.
    pub rects: Vec<Rect>,
}

impl Changes {
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty() && self.rects.is_empty()
    }
}

/// What the client has on its screen, as 32-bit BGRX pixels.
#[derive(Debug)]
pub struct Shadow {
    /// Screen width in pixels.
    pub width: u32,
    /// Screen height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes, row after row.
    pub pixels: Vec<u8>,
}

impl Shadow {
    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * 4
    }
}

/// Screen capture state for one display.
pub struct Capture {
    root: xproto::Window,
    damage: damage::Damage,
    region: xfixes::Region,
    /// The X server's own framebuffer, read in place when it shares it.
    framebuffer: Option<Framebuffer>,
    /// Where GetImage puts pixels, without a shared framebuffer.
    segment: Option<Segment>,
    shadow: Shadow,
    dirty_tiles: Vec<bool>,
    /// Per dirty tile, the box of what changed in it: a typed key changes a
    /// glyph, not 64x64 pixels.
    changed_boxes: Vec<Option<Rect>>,
    /// The client can copy regions (the session codec): look for scrolls.
    moves_wanted: bool,
    moves: Vec<Move>,
    /// Rows being moved, reused from one move to the next.
    scratch: Vec<u8>,
}

struct Segment {
    id: shm::Seg,
    map: MmapMut,
    len: usize,
}

impl Capture {
    /// Starts following damage on the root window of a `width`x`height`
    /// screen, reading pixels from the server's `framebuffer` when it shares
    /// one, with GetImage otherwise.
    pub fn new(conn: &X11Connection, width: u32, height: u32, framebuffer: Option<Framebuffer>) -> Result<Self, X11Error> {
        conn.damage_query_version(1, 1)?.reply()?;
        conn.xfixes_query_version(5, 0)?.reply()?;
        conn.shm_query_version()?.reply()?;
        let root = conn.setup().roots[0].root;
        let damage = conn.generate_id()?;
        conn.damage_create(damage, root, damage::ReportLevel::NON_EMPTY)?;
        let region = conn.generate_id()?;
        conn.xfixes_create_region(region, &[])?;
        conn.xfixes_select_cursor_input(root, xfixes::CursorNotifyMask::DISPLAY_CURSOR)?;
        // Top-level windows' new places (ConfigureNotify), so a window that
        // moved is copied rather than sent again (`window_moves.rs`).
        conn.change_window_attributes(root, &xproto::ChangeWindowAttributesAux::new().event_mask(xproto::EventMask::SUBSTRUCTURE_NOTIFY))?;
        conn.flush()?;
        let mut capture = Self {
            root,
            damage,
            region,
            framebuffer,
            segment: None,
            shadow: Shadow { width: 0, height: 0, pixels: Vec::new() },
            dirty_tiles: Vec::new(),
            changed_boxes: Vec::new(),
            moves_wanted: false,
            moves: Vec::new(),
            scratch: Vec::new(),
        };
        capture.resize(conn, width, height)?;
        Ok(capture)
    }

    /// Whether to look for regions that moved, which only a client that
    /// can copy regions (`CODEC_QOIZ_SESSION`) can take.
    pub fn find_moves(&mut self, wanted: bool) {
        self.moves_wanted = wanted;
    }

    /// The client's view of the screen after the last [`Capture::changes`].
    pub fn shadow(&self) -> &Shadow {
        &self.shadow
    }

    /// Follows a new screen size: the shadow starts black (a keyframe follows).
    pub fn resize(&mut self, conn: &X11Connection, width: u32, height: u32) -> Result<(), X11Error> {
        self.shadow = Shadow { width, height, pixels: vec![0; width as usize * height as usize * 4] };
        self.dirty_tiles = vec![false; (width.div_ceil(TILE) * height.div_ceil(TILE)) as usize];
        self.changed_boxes = vec![None; self.dirty_tiles.len()];
        let screen = Rect { x: 0, y: 0, width, height };
        if self.framebuffer.as_ref().is_some_and(|fb| fb.area(screen).is_none()) {
            tracing::warn!(width, height, "the screen outgrew the shared framebuffer; capturing with GetImage");
            self.framebuffer = None;
        }
        if self.framebuffer.is_some() {
            return Ok(());
        }
        let needed = self.shadow.pixels.len();
        if self.segment.as_ref().is_none_or(|s| s.len < needed) {
            if let Some(old) = self.segment.take() {
                conn.shm_detach(old.id)?;
            }
            self.segment = Some(Segment::attach(conn, needed)?);
        }
        Ok(())
    }

    /// Sends `area` again with the next changes, whatever the client is
    /// thought to have there: it showed it lossily (`video_region.rs`).
    pub fn repaint(&mut self, area: Rect) {
        let screen = Rect { x: 0, y: 0, width: self.shadow.width, height: self.shadow.height };
        // The tiles `area` touches, within the screen.
        let (x1, y1) = ((area.x.saturating_add(area.width)).min(screen.width), (area.y.saturating_add(area.height)).min(screen.height));
        let tiles_x = self.shadow.width.div_ceil(TILE);
        for ty in area.y / TILE..y1.div_ceil(TILE) {
            for tx in area.x / TILE..x1.div_ceil(TILE) {
                let tile = Rect { x: tx * TILE, y: ty * TILE, width: TILE.min(screen.width - tx * TILE), height: TILE.min(screen.height - ty * TILE) };
                let at = (ty * tiles_x + tx) as usize;
                self.dirty_tiles[at] = true;
                self.changed_boxes[at] = Some(self.changed_boxes[at].map_or(tile, |before| union(before, tile)));
            }
        }
    }

    /// The root window: whose children are the top-level windows.
    pub fn root(&self) -> xproto::Window {
        self.root
    }

    /// Grabs what changed since the last call (everything when `full`), updates
    /// the shadow and returns what the client must do to match it.
    /// `window_moves` are the top-level windows that moved since the last
    /// call: copied first, in the shadow as at the client.
    pub fn changes(&mut self, conn: &X11Connection, full: bool, window_moves: &[WindowMove]) -> Result<Changes, X11Error> {
        // Take the damage so far and re-arm the NonEmpty notification.
        conn.damage_subtract(self.damage, x11rb::NONE, self.region)?;
        let fetched = conn.xfixes_fetch_region(self.region)?.reply()?;
        let screen = Rect { x: 0, y: 0, width: self.shadow.width, height: self.shadow.height };
        let mut copied = Vec::new();
        if self.moves_wanted && !full {
            for step in window_moves {
                if let Some(to) = self.move_window(step) {
                    copied.push(to);
                }
            }
        }
        let areas: Vec<Rect> = if full {
            vec![screen]
        } else if fetched.rectangles.len() > MAX_GRABS {
            clip(&fetched.extents, screen).into_iter().collect()
        } else {
            fetched.rectangles.iter().filter_map(|r| clip(r, screen)).collect()
        };
        // Where a copy went is compared too, whatever DAMAGE said: the
        // copy is a guess, and the comparison repaints what it got wrong.
        for area in areas.into_iter().chain(copied) {
            self.grab(conn, align(area, screen), full)?;
        }
        Ok(Changes { moves: std::mem::take(&mut self.moves), rects: self.take_dirty_rects() })
    }

    /// Copies a moved window's pixels in the shadow, the part where both its
    /// old and new places are on the screen, and notes the copy. Returns
    /// where they went.
    fn move_window(&mut self, step: &WindowMove) -> Option<Rect> {
        let (w, h) = (i64::from(self.shadow.width), i64::from(self.shadow.height));
        let (from, to) = (step.from, step.to);
        // Clip the destination so that it, and the source the same offset
        // away, stay on the screen.
        let (dx, dy) = (i64::from(to.x) - i64::from(from.x), i64::from(to.y) - i64::from(from.y));
        let x0 = i64::from(to.x).max(0).max(dx);
        let y0 = i64::from(to.y).max(0).max(dy);
        let x1 = (i64::from(to.x) + i64::from(to.width)).min(w).min(w + dx);
        let y1 = (i64::from(to.y) + i64::from(to.height)).min(h).min(h + dy);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let dest = Rect { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 };
        let (src_x, src_y) = ((x0 - dx) as u32, (y0 - dy) as u32);
        copy_region(&mut self.shadow, dest, src_x, src_y, &mut self.scratch);
        self.moves.push(Move { to: dest, src_x, src_y });
        Some(dest)
    }

    fn grab(&mut self, conn: &X11Connection, area: Rect, full: bool) -> Result<(), X11Error> {
        let (grabbed, grabbed_stride) = match &self.framebuffer {
            Some(framebuffer) => {
                let pixels = framebuffer.area(area).ok_or_else(|| X11Error::SharedMemory(std::io::Error::other("capture outside the framebuffer")))?;
                (pixels, framebuffer.layout().bytes_per_line)
            }
            None => {
                let segment = self.segment.as_ref().expect("segment allocated with the shadow");
                conn.shm_get_image(
                    self.root,
                    area.x as i16,
                    area.y as i16,
                    area.width as u16,
                    area.height as u16,
                    !0,
                    xproto::ImageFormat::Z_PIXMAP.into(),
                    segment.id,
                    0,
                )?
                .reply()?;
                (&segment.map[..area.width as usize * area.height as usize * 4], area.width as usize * 4)
            }
        };
        if self.moves_wanted && !full {
            let new = Rows { pixels: grabbed, stride: grabbed_stride, width: area.width, height: area.height };
            find_moves(&mut self.shadow, &self.dirty_tiles, area, new, &mut self.moves);
        }
        let stride = self.shadow.stride();
        let tiles_x = self.shadow.width.div_ceil(TILE);
        for ty in (area.y / TILE)..(area.y + area.height).div_ceil(TILE) {
            for tx in (area.x / TILE)..(area.x + area.width).div_ceil(TILE) {
                let x0 = tx * TILE;
                let x1 = (x0 + TILE).min(area.x + area.width);
                let y0 = ty * TILE;
                let y1 = (y0 + TILE).min(area.y + area.height);
                let row_bytes = (x1 - x0) as usize * 4;
                let src_row = |y: u32| (y - area.y) as usize * grabbed_stride + (x0 - area.x) as usize * 4;
                let dst_row = |y: u32| y as usize * stride + x0 as usize * 4;
                let tile = Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
                let changed = if full {
                    Some(tile)
                } else {
                    changed_box(tile, |y| &grabbed[src_row(y)..src_row(y) + row_bytes], |y| &self.shadow.pixels[dst_row(y)..dst_row(y) + row_bytes])
                };
                if let Some(changed) = changed {
                    // Only the changed box goes into the shadow, as only it is
                    // sent. Read in place, the framebuffer may have changed
                    // since the comparison: a pixel drawn meanwhile outside the
                    // box must not reach the shadow unsent, or the next capture
                    // (which its damage triggers) would find nothing to send.
                    let (skip, box_bytes) = ((changed.x - x0) as usize * 4, changed.width as usize * 4);
                    for y in changed.y..changed.y + changed.height {
                        let (src, dst) = (src_row(y) + skip, dst_row(y) + skip);
                        self.shadow.pixels[dst..dst + box_bytes].copy_from_slice(&grabbed[src..src + box_bytes]);
                    }
                    let at = (ty * tiles_x + tx) as usize;
                    self.dirty_tiles[at] = true;
                    self.changed_boxes[at] = Some(self.changed_boxes[at].map_or(changed, |before| union(before, changed)));
                }
            }
        }
        Ok(())
    }

    /// The dirty tiles as few rectangles, each shrunk to the box of what
    /// changed inside it.
    fn take_dirty_rects(&mut self) -> Vec<Rect> {
        let tiles_x = self.shadow.width.div_ceil(TILE);
        let mut rects = dirty_rects(&mut self.dirty_tiles, self.shadow.width, self.shadow.height);
        for rect in &mut rects {
            let mut inside: Option<Rect> = None;
            for ty in rect.y / TILE..(rect.y + rect.height).div_ceil(TILE) {
                for tx in rect.x / TILE..(rect.x + rect.width).div_ceil(TILE) {
                    if let Some(changed) = self.changed_boxes[(ty * tiles_x + tx) as usize].take() {
                        inside = Some(inside.map_or(changed, |before| union(before, changed)));
                    }
                }
            }
            if let Some(inside) = inside {
                *rect = inside;
            }
        }
        rects
    }
}

/// Finds the bands of `area` that scrolled (`new` is its content now),
/// moves them in the shadow as the client will, and notes the moves. A
/// band whose source touches a tile already changed in this capture is
/// left to the pixels: the client does not have that tile's new content
/// when it copies.
fn find_moves(shadow: &mut Shadow, dirty_tiles: &[bool], area: Rect, new: Rows<'_>, moves: &mut Vec<Move>) {
    let stride = shadow.stride();
    let start = area.y as usize * stride + area.x as usize * 4;
    let old = Rows { pixels: &shadow.pixels[start..], stride, width: area.width, height: area.height };
    let mut shifts = scroll::find_shifts(old, new);
    // Content going down is copied bottom band first, so no band reads rows
    // another has already overwritten.
    if shifts.first().is_some_and(|s| s.dy < 0) {
        shifts.reverse();
    }
    let tiles_x = shadow.width.div_ceil(TILE);
    for shift in shifts {
        let to = Rect { x: area.x, y: area.y + shift.y, width: area.width, height: shift.height };
        let src_y = (i64::from(to.y) + i64::from(shift.dy)) as u32;
        let touches_dirty = (src_y / TILE..(src_y + to.height).div_ceil(TILE))
            .any(|ty| (to.x / TILE..(to.x + to.width).div_ceil(TILE)).any(|tx| dirty_tiles[(ty * tiles_x + tx) as usize]));
        if touches_dirty {
            continue;
        }
        let row_bytes = to.width as usize * 4;
        let rows: Box<dyn Iterator<Item = u32>> = if shift.dy > 0 { Box::new(0..to.height) } else { Box::new((0..to.height).rev()) };
        for row in rows {
            let from = (src_y + row) as usize * stride + to.x as usize * 4;
            let dest = (to.y + row) as usize * stride + to.x as usize * 4;
            shadow.pixels.copy_within(from..from + row_bytes, dest);
        }
        moves.push(Move { to, src_x: to.x, src_y });
    }
}

/// Copies the region at (`src_x`, `src_y`) of `dest`'s size to `dest` in
/// the shadow, as a browser's canvas does: through a copy of the source, so
/// overlapping places come out right.
fn copy_region(shadow: &mut Shadow, dest: Rect, src_x: u32, src_y: u32, scratch: &mut Vec<u8>) {
    let stride = shadow.stride();
    let row_bytes = dest.width as usize * 4;
    scratch.clear();
    for row in 0..dest.height as usize {
        let from = (src_y as usize + row) * stride + src_x as usize * 4;
        scratch.extend_from_slice(&shadow.pixels[from..from + row_bytes]);
    }
    for row in 0..dest.height as usize {
        let to = (dest.y as usize + row) * stride + dest.x as usize * 4;
        shadow.pixels[to..to + row_bytes].copy_from_slice(&scratch[row * row_bytes..][..row_bytes]);
    }
}

/// The box of the pixels of `tile` that differ between `now` and `before`
/// (each gives a row of the tile by its screen row), or `None`.
fn changed_box<'a>(tile: Rect, now: impl Fn(u32) -> &'a [u8], before: impl Fn(u32) -> &'a [u8]) -> Option<Rect> {
    let rows = tile.y..tile.y + tile.height;
    let top = rows.clone().find(|&y| now(y) != before(y))?;
    let bottom = rows.rev().find(|&y| now(y) != before(y)).unwrap_or(top);
    let (mut left, mut right) = (tile.width, 0);
    for y in top..=bottom {
        let (a, b) = (now(y), before(y));
        if a == b {
            continue;
        }
        let differs = |i: &u32| a[*i as usize * 4..*i as usize * 4 + 4] != b[*i as usize * 4..*i as usize * 4 + 4];
        if let Some(first) = (0..left).find(differs) {
            left = first;
        }
        if let Some(last) = (right..tile.width).rev().find(differs) {
            right = last;
        }
    }
    let right = right.max(left);
    Some(Rect { x: tile.x + left, y: top, width: right - left + 1, height: bottom - top + 1 })
}

/// The smallest rectangle holding both.
fn union(a: Rect, b: Rect) -> Rect {
    let (x0, y0) = (a.x.min(b.x), a.y.min(b.y));
    let (x1, y1) = ((a.x + a.width).max(b.x + b.width), (a.y + a.height).max(b.y + b.height));
    Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
}

/// Turns dirty tiles into few rectangles, clearing them: runs along each
/// tile row, then runs of equal span merged downwards up to [`MAX_RECT_HEIGHT`].
fn dirty_rects(dirty_tiles: &mut [bool], width: u32, height: u32) -> Vec<Rect> {
    {
        let tiles_x = width.div_ceil(TILE);
        let mut rects: Vec<Rect> = Vec::new();
        let mut open: Vec<usize> = Vec::new(); // indices into rects ending at the previous tile row
        for ty in 0..height.div_ceil(TILE) {
            let y = ty * TILE;
            let h = TILE.min(height - y);
            let mut next_open = Vec::new();
            let mut tx = 0;
            while tx < tiles_x {
                if !std::mem::take(&mut dirty_tiles[(ty * tiles_x + tx) as usize]) {
                    tx += 1;
                    continue;
                }
                let start = tx;
                tx += 1;
                while tx < tiles_x && std::mem::take(&mut dirty_tiles[(ty * tiles_x + tx) as usize]) {
                    tx += 1;
                }
                let x = start * TILE;
                let w = (tx * TILE).min(width) - x;
                let extend = open.iter().copied().find(|&i| {
                    let r = &rects[i];
                    r.x == x && r.width == w && r.y + r.height == y && r.height + h <= MAX_RECT_HEIGHT
                });
                match extend {
                    Some(i) => {
                        rects[i].height += h;
                        next_open.push(i);
                    }
                    None => {
                        rects.push(Rect { x, y, width: w, height: h });
                        next_open.push(rects.len() - 1);
                    }
                }
            }
            open = next_open;
        }
        rects
    }
}

impl Segment {
    fn attach(conn: &X11Connection, len: usize) -> Result<Self, X11Error> {
        let fd: OwnedFd = rustix::fs::memfd_create("oriel-capture", rustix::fs::MemfdFlags::CLOEXEC).map_err(|e| X11Error::SharedMemory(e.into()))?;
        rustix::fs::ftruncate(&fd, len as u64).map_err(|e| X11Error::SharedMemory(e.into()))?;
        let file = std::fs::File::from(fd);
        // SAFETY: the memfd is ours alone; only the X server writes into it,
        // and only while we wait for its GetImage reply.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(X11Error::SharedMemory)?;
        let id = conn.generate_id()?;
        let server_fd: OwnedFd = file.try_clone().map_err(X11Error::SharedMemory)?.into();
        conn.shm_attach_fd(id, server_fd, false)?.check()?;
        Ok(Self { id, map, len })
    }
}

fn clip(r: &xproto::Rectangle, screen: Rect) -> Option<Rect> {
    let x0 = i64::from(r.x).max(0);
    let y0 = i64::from(r.y).max(0);
    let x1 = (i64::from(r.x) + i64::from(r.width)).min(i64::from(screen.width));
    let y1 = (i64::from(r.y) + i64::from(r.height)).min(i64::from(screen.height));
    (x1 > x0 && y1 > y0).then(|| Rect { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 })
}

/// Widens `r` to whole tiles, within the screen.
fn align(r: Rect, screen: Rect) -> Rect {
    let x0 = r.x / TILE * TILE;
    let y0 = r.y / TILE * TILE;
    let x1 = ((r.x + r.width).div_ceil(TILE) * TILE).min(screen.width);
    let y1 = ((r.y + r.height).div_ceil(TILE) * TILE).min(screen.height);
    Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
}

#[cfg(test)]
mod tests {
    use super::{Rect, align, changed_box, dirty_rects, union};

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect { x, y, width, height }
    }

    #[test]
    fn a_changed_tile_is_sent_as_the_box_of_what_changed() {
        // An 8x8 tile at (64, 128); two pixels differ: (66, 130) and (69, 133).
        let before = vec![0u8; 8 * 8 * 4];
        let mut now = before.clone();
        for (x, y) in [(2usize, 2usize), (5, 5)] {
            now[(y * 8 + x) * 4] = 9;
        }
        let tile = Rect { x: 64, y: 128, width: 8, height: 8 };
        let row = |pixels: &Vec<u8>, y: u32| -> Vec<u8> { pixels[(y as usize - 128) * 32..][..32].to_vec() };
        let (now_rows, before_rows): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (128..136).map(|y| (row(&now, y), row(&before, y))).unzip();
        let changed = changed_box(tile, |y| &now_rows[(y - 128) as usize], |y| &before_rows[(y - 128) as usize]);
        assert_eq!(changed, Some(rect(66, 130, 4, 4)));
        assert_eq!(changed_box(tile, |y| &before_rows[(y - 128) as usize], |y| &before_rows[(y - 128) as usize]), None);
        assert_eq!(union(rect(0, 0, 2, 2), rect(5, 1, 1, 4)), rect(0, 0, 6, 5));
    }

    #[test]
    fn dirty_tiles_become_runs_merged_downwards() {
        // 200x150 screen: 4x3 tiles, the last column 8 px wide, the last row 22 px high.
        let mut tiles = vec![
            true, true, false, true, //
            true, true, false, false, //
            false, false, false, true,
        ];
        let rects = dirty_rects(&mut tiles, 200, 150);
        assert_eq!(rects, [rect(0, 0, 128, 128), rect(192, 0, 8, 64), rect(192, 128, 8, 22)]);
        assert!(tiles.iter().all(|t| !t), "tiles are cleared");
    }

    #[test]
    fn tall_runs_are_split_to_bound_the_message_size() {
        let mut tiles = vec![true; 6];
        assert_eq!(dirty_rects(&mut tiles, 64, 384), [rect(0, 0, 64, 256), rect(0, 256, 64, 128)]);
    }

    #[test]
    fn align_widens_to_tiles_inside_the_screen() {
        let screen = Rect { x: 0, y: 0, width: 100, height: 70 };
        assert_eq!(align(Rect { x: 70, y: 10, width: 5, height: 5 }, screen), Rect { x: 64, y: 0, width: 36, height: 64 });
        assert_eq!(align(Rect { x: 0, y: 63, width: 1, height: 2 }, screen), Rect { x: 0, y: 0, width: 64, height: 70 });
    }
}
