//! Finding a region of the screen in motion (a video, an animation) that
//! is cheaper as lossy video than as exact pixels, and noticing when it
//! stops. Sans-IO: fed each frame's changed rectangles, what their exact
//! encoding cost, and the time.
//!
//! A 64x64 tile is **moving** when it changed again and again: at least
//! [`MIN_CHANGES`] times over at least [`MIN_MOTION`], never more than
//! [`MAX_GAP`] apart. The moving tiles' bounding box becomes the **video
//! region** when it is large ([`MIN_REGION_TILES`]), mostly moving
//! ([`MIN_FILL`]), and costly as exact pixels: the frames that changed it
//! cost at least [`MIN_BYTES_PER_PIXEL`] of what they painted. Text that
//! scrolls or is typed compresses to a few hundredths of a byte a pixel;
//! a video to a byte or more, so text stays exact.
//!
//! The region ends when none of it changed for [`QUIET`], or when motion
//! outside it calls for another; the caller then repaints it exactly.

use std::time::{Duration, Instant};

use crate::x11::capture::{Rect, TILE};

/// Changes of a tile, in one run, to call it moving.
pub const MIN_CHANGES: u32 = 8;
/// How long a tile keeps changing to be moving.
pub const MIN_MOTION: Duration = Duration::from_millis(400);
/// A run of changes ends when a tile rests this long (a 30 fps video
/// changes every 33 ms; frames of other changes can fall in between).
pub const MAX_GAP: Duration = Duration::from_millis(200);
/// Tiles a region covers at least: 4x3 tiles, 256x192 pixels.
pub const MIN_REGION_TILES: u32 = 12;
/// Share of the region's tiles that move.
pub const MIN_FILL: f64 = 0.5;
/// Exact bytes per painted pixel, smoothed, from which video pays.
pub const MIN_BYTES_PER_PIXEL: f64 = 0.4;
/// A region whose pixels rest this long is over.
pub const QUIET: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, Default)]
struct TileRun {
    first: Option<Instant>,
    last: Option<Instant>,
    changes: u32,
}

impl TileRun {
    fn changed(&mut self, now: Instant) {
        let continues = self.last.is_some_and(|last| now.saturating_duration_since(last) <= MAX_GAP);
        if !continues {
            self.first = Some(now);
            self.changes = 0;
        }
        self.changes += 1;
        self.last = Some(now);
    }

    fn moving(&self, now: Instant) -> bool {
        match (self.first, self.last) {
            (Some(first), Some(last)) => {
                self.changes >= MIN_CHANGES && last.saturating_duration_since(first) >= MIN_MOTION && now.saturating_duration_since(last) <= MAX_GAP
            }
            _ => false,
        }
    }
}

/// What the frame loop should do with the video region after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionChange {
    /// Nothing new.
    Same,
    /// A region starts (or replaces the one before, which the caller
    /// repaints exactly): a new video stream of this size.
    Started(Rect),
    /// The region is over: the caller repaints it exactly.
    Ended(Rect),
}

/// The motion tracker of one screen.
#[derive(Debug)]
pub struct Motion {
    width: u32,
    height: u32,
    tiles_x: u32,
    runs: Vec<TileRun>,
    /// Exact bytes per painted pixel of recent frames, smoothed.
    cost: Option<f64>,
    region: Option<Rect>,
    /// When a pixel of the region last changed.
    region_changed: Option<Instant>,
    /// [`MIN_BYTES_PER_PIXEL`] is multiplied by this: lower on a slow link,
    /// where exact pixels cost the most.
    cost_factor: f64,
}

impl Motion {
    /// A tracker for a `width`x`height` screen.
    pub fn new(width: u32, height: u32) -> Self {
        let tiles_x = width.div_ceil(TILE);
        Self {
            width,
            height,
            tiles_x,
            runs: vec![TileRun::default(); (tiles_x * height.div_ceil(TILE)) as usize],
            cost: None,
            region: None,
            region_changed: None,
            cost_factor: 1.0,
        }
    }

    /// Scales the cost from which motion becomes video (1 is the usual).
    pub fn set_cost_factor(&mut self, factor: f64) {
        self.cost_factor = factor;
    }

    /// The video region, if one is active.
    pub fn region(&self) -> Option<Rect> {
        self.region
    }

    /// Forgets the region (a keyframe, a new viewer, a resize): the next
    /// one starts from scratch, its stream with a key frame.
    pub fn reset(&mut self) {
        self.region = None;
        self.region_changed = None;
    }

    /// A frame at `now` changed `rects` (exactly, outside the region) and
    /// `region_changed` (inside it); the exact part cost `exact_bytes`.
    pub fn frame(&mut self, now: Instant, rects: &[Rect], region_changed: bool, exact_bytes: usize) -> RegionChange {
        let painted: u64 = rects.iter().map(|r| u64::from(r.width) * u64::from(r.height)).sum();
        if painted > 0 {
            let cost = exact_bytes as f64 / painted as f64;
            self.cost = Some(self.cost.map_or(cost, |c| c + 0.25 * (cost - c)));
        }
        // The region's tiles keep moving while it changes, so a region that
        // grows (a player resized) is seen whole, not as its new edges.
        let region = self.region.filter(|_| region_changed);
        for rect in rects.iter().chain(region.as_ref()) {
            for ty in rect.y / TILE..(rect.y + rect.height).div_ceil(TILE) {
                for tx in rect.x / TILE..(rect.x + rect.width).div_ceil(TILE) {
                    if let Some(run) = self.runs.get_mut((ty * self.tiles_x + tx) as usize) {
                        run.changed(now);
                    }
                }
            }
        }
        if region_changed {
            self.region_changed = Some(now);
        }
        if let Some(region) = self.region {
            let quiet = self.region_changed.is_none_or(|at| now.saturating_duration_since(at) >= QUIET);
            let elsewhere = self.candidate(now).filter(|c| !contains(region, *c));
            if let Some(next) = elsewhere {
                self.start(next, now);
                return RegionChange::Started(next);
            }
            if quiet {
                self.reset();
                return RegionChange::Ended(region);
            }
            return RegionChange::Same;
        }
        match self.candidate(now) {
            Some(region) if self.cost.is_some_and(|c| c >= MIN_BYTES_PER_PIXEL * self.cost_factor) => {
                self.start(region, now);
                RegionChange::Started(region)
            }
            _ => RegionChange::Same,
        }
    }

    /// Whether the region, if any, has rested long enough to end: checked
    /// when no frame comes (nothing changed), so a stopped video is
    /// repainted without waiting for other changes.
    pub fn quiet_until(&self) -> Option<Instant> {
        self.region.and(self.region_changed).map(|at| at + QUIET)
    }

    fn start(&mut self, region: Rect, now: Instant) {
        self.region = Some(region);
        self.region_changed = Some(now);
    }

    /// The bounding box of the moving tiles, when it qualifies; even-sized.
    fn candidate(&self, now: Instant) -> Option<Rect> {
        let (mut x0, mut y0, mut x1, mut y1, mut moving) = (u32::MAX, u32::MAX, 0, 0, 0u32);
        for (i, run) in self.runs.iter().enumerate() {
            if run.moving(now) {
                let (tx, ty) = (i as u32 % self.tiles_x, i as u32 / self.tiles_x);
                (x0, y0, x1, y1) = (x0.min(tx), y0.min(ty), x1.max(tx + 1), y1.max(ty + 1));
                moving += 1;
            }
        }
        if moving == 0 {
            return None;
        }
        let tiles = (x1 - x0) * (y1 - y0);
        if tiles < MIN_REGION_TILES || f64::from(moving) < MIN_FILL * f64::from(tiles) {
            return None;
        }
        let x = x0 * TILE;
        let y = y0 * TILE;
        // VP8 wants even sides; a screen of odd size loses its last column or row.
        let width = ((x1 * TILE).min(self.width) - x) & !1;
        let height = ((y1 * TILE).min(self.height) - y) & !1;
        (width > 0 && height > 0).then_some(Rect { x, y, width, height })
    }
}

fn contains(outer: Rect, inner: Rect) -> bool {
    inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height
}

/// `rect` less `region`: the parts of `rect` outside it, as up to four
/// rectangles (above, below, left, right).
pub fn outside(rect: Rect, region: Rect) -> Vec<Rect> {
    let (rx0, ry0, rx1, ry1) = (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height);
    let (gx0, gy0, gx1, gy1) = (region.x, region.y, region.x + region.width, region.y + region.height);
    if rx1 <= gx0 || gx1 <= rx0 || ry1 <= gy0 || gy1 <= ry0 {
        return vec![rect];
    }
    let mut parts = Vec::new();
    let mut push = |x0: u32, y0: u32, x1: u32, y1: u32| {
        if x1 > x0 && y1 > y0 {
            parts.push(Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
        }
    };
    let (my0, my1) = (ry0.max(gy0), ry1.min(gy1));
    push(rx0, ry0, rx1, my0);
    push(rx0, my1, rx1, ry1);
    push(rx0, my0, rx0.max(gx0).min(rx1), my1);
    push(rx1.min(gx1).max(rx0), my0, rx1, my1);
    parts
}

/// Whether `rect` and `region` share a pixel.
pub fn overlaps(rect: Rect, region: Rect) -> bool {
    rect.x < region.x + region.width && region.x < rect.x + rect.width && rect.y < region.y + region.height && region.y < rect.y + rect.height
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(33);

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect { x, y, width, height }
    }

    /// A 320x240 video at (128, 64) playing at 30 fps for `frames` frames,
    /// painted at `cost` bytes a pixel; returns the time after and what the
    /// last frame decided.
    fn play(motion: &mut Motion, t0: Instant, frames: u32, cost: f64) -> (Instant, Vec<RegionChange>) {
        let video = rect(128, 64, 320, 240);
        let mut decided = Vec::new();
        let mut now = t0;
        for _ in 0..frames {
            now += FRAME;
            let inside = motion.region().is_some();
            let rects = if inside { Vec::new() } else { vec![video] };
            let bytes = (f64::from(video.width * video.height) * cost) as usize;
            decided.push(motion.frame(now, &rects, inside, if inside { 0 } else { bytes }));
        }
        (now, decided)
    }

    #[test]
    fn a_playing_video_becomes_a_region_and_a_stopped_one_ends() {
        let mut motion = Motion::new(1280, 720);
        let t0 = Instant::now();
        let (now, decided) = play(&mut motion, t0, 30, 1.2);
        let started: Vec<_> = decided.iter().filter(|d| matches!(d, RegionChange::Started(_))).collect();
        assert_eq!(started, [&RegionChange::Started(rect(128, 64, 320, 256))], "once, tile-aligned (the video ends mid-tile)");
        // Half a second in, not before: a few changes are not motion.
        let first = decided.iter().position(|d| matches!(d, RegionChange::Started(_))).unwrap();
        assert!(first as u32 * 33 >= MIN_MOTION.as_millis() as u32, "started after {first} frames");
        assert_eq!(motion.quiet_until(), Some(now + QUIET));
        // The video stops: nothing changes; a frame elsewhere (a clock) comes later.
        let later = now + QUIET;
        assert_eq!(motion.frame(later, &[rect(1200, 10, 40, 20)], false, 100), RegionChange::Ended(rect(128, 64, 320, 256)));
        assert_eq!(motion.region(), None);
    }

    #[test]
    fn a_region_that_grows_is_replaced_by_the_whole_of_it() {
        let mut motion = Motion::new(1280, 720);
        let (mut now, _) = play(&mut motion, Instant::now(), 30, 1.2);
        assert_eq!(motion.region(), Some(rect(128, 64, 320, 256)));
        // The player grows to 640x480: the region keeps changing, and so
        // does what is outside it.
        let mut replaced = None;
        for _ in 0..30 {
            now += FRAME;
            let outside_parts = outside(rect(128, 64, 640, 480), motion.region().unwrap());
            if let RegionChange::Started(region) = motion.frame(now, &outside_parts, true, 200_000) {
                replaced = Some(region);
                break;
            }
        }
        assert_eq!(replaced, Some(rect(128, 64, 640, 512)));
    }

    #[test]
    fn text_that_changes_all_the_time_stays_exact() {
        // A terminal printing fast: the same tiles change every frame, but
        // as text they cost a few hundredths of a byte a pixel.
        let mut motion = Motion::new(1280, 720);
        let (_, decided) = play(&mut motion, Instant::now(), 60, 0.05);
        assert!(decided.iter().all(|d| *d == RegionChange::Same));
        // On a slow link the bar is lower, though not down to text's cost.
        motion.set_cost_factor(0.5);
        let (_, decided) = play(&mut motion, Instant::now(), 60, 0.05);
        assert!(decided.iter().all(|d| *d == RegionChange::Same));
        let (_, decided) = play(&mut Motion::new(1280, 720), Instant::now(), 30, 0.3);
        assert!(decided.iter().all(|d| *d == RegionChange::Same), "0.3 bytes a pixel is not worth video on a good link");
        let mut slow = Motion::new(1280, 720);
        slow.set_cost_factor(0.5);
        let (_, decided) = play(&mut slow, Instant::now(), 30, 0.3);
        assert!(decided.iter().any(|d| matches!(d, RegionChange::Started(_))), "but is on a slow one");
    }

    #[test]
    fn small_or_brief_motion_is_not_video() {
        let mut motion = Motion::new(1280, 720);
        let t0 = Instant::now();
        let mut now = t0;
        // A 64x64 spinner, all the time, costly: too small.
        for _ in 0..60 {
            now += FRAME;
            assert_eq!(motion.frame(now, &[rect(0, 0, 64, 64)], false, 64 * 64 * 2), RegionChange::Same);
        }
        // A large change, every 300 ms (a slideshow): never a run.
        for _ in 0..10 {
            now += Duration::from_millis(300);
            assert_eq!(motion.frame(now, &[rect(0, 0, 640, 480)], false, 640 * 480 * 2), RegionChange::Same);
        }
    }

    #[test]
    fn regions_are_even_inside_an_odd_screen() {
        let mut motion = Motion::new(641, 479);
        let mut now = Instant::now();
        let mut started = None;
        for _ in 0..30 {
            now += FRAME;
            let rects = if started.is_some() { Vec::new() } else { vec![rect(384, 256, 257, 223)] };
            if let RegionChange::Started(region) = motion.frame(now, &rects, started.is_some(), 257 * 223) {
                started = Some(region);
            }
        }
        assert_eq!(started, Some(rect(384, 256, 256, 222)));
    }

    #[test]
    fn outside_cuts_the_region_out() {
        let region = rect(100, 100, 100, 100);
        assert_eq!(outside(rect(0, 0, 50, 50), region), [rect(0, 0, 50, 50)], "apart");
        assert_eq!(outside(rect(120, 120, 10, 10), region), [], "inside");
        let parts = outside(rect(50, 150, 200, 100), region);
        assert_eq!(parts, [rect(50, 200, 200, 50), rect(50, 150, 50, 50), rect(200, 150, 50, 50)]);
        let area: u32 = parts.iter().map(|r| r.width * r.height).sum();
        assert_eq!(area, 200 * 100 - 100 * 50);
        assert!(overlaps(rect(150, 150, 10, 10), region) && !overlaps(rect(200, 100, 5, 5), region));
    }
}
