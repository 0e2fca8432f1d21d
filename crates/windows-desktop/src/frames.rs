//! The host's screen as Oriel frames, with the Linux path's codec and
//! pacing: the rectangles the host redrew gather until the pacer lets a
//! frame go (at most 60 a second, a few unacknowledged), then only they
//! are copied from the RDP picture into the session's BGRX shadow and
//! encoded, so the browser's decoder, recording and viewers see the same
//! frames as from a Linux desktop. Sans-IO: fed rectangles, the picture,
//! acknowledgements and the time.

use std::time::{Duration, Instant};

use oriel_linux_desktop::encoder::RectEncoder;
use oriel_linux_desktop::pacing::{Pacer, PacingConfig, Readiness};
use oriel_linux_desktop::x11::capture::{Changes, Rect, Shadow};
use oriel_qoiz::EncodeError;
use oriel_tdpb::pb;

/// Past this many rectangles waiting, they are sent as the box around them:
/// one larger rectangle costs less than hundreds of tiny ones.
const MAX_RECTS: usize = 128;

/// What is due to the browser from the host's screen.
pub struct FrameSource {
    encoder: RectEncoder,
    pacer: Pacer,
    shadow: Shadow,
    dirty: Vec<Rect>,
    keyframe_due: bool,
    last_keyframe: Option<Instant>,
    keyframe_interval: Duration,
    paused: bool,
}

impl FrameSource {
    /// Frames of a `width` by `height` screen in `encoder`'s codec; a
    /// keyframe first.
    pub fn new(encoder: RectEncoder, pacing: PacingConfig, keyframe_interval: Duration, width: u16, height: u16) -> Self {
        Self {
            encoder,
            pacer: Pacer::new(pacing),
            shadow: shadow(width, height),
            dirty: Vec::new(),
            keyframe_due: true,
            last_keyframe: None,
            keyframe_interval,
            paused: false,
        }
    }

    /// The host redrew `rects` (left, top, width, height), clipped here to the screen.
    pub fn damaged(&mut self, rects: &[(u16, u16, u16, u16)]) {
        let (width, height) = (self.shadow.width, self.shadow.height);
        for &(x, y, w, h) in rects {
            let (x, y) = (u32::from(x), u32::from(y));
            if x >= width || y >= height || w == 0 || h == 0 {
                continue;
            }
            let rect = Rect { x, y, width: u32::from(w).min(width - x), height: u32::from(h).min(height - y) };
            if !self.dirty.iter().any(|d| contains(d, &rect)) {
                self.dirty.push(rect);
            }
        }
        if self.dirty.len() > MAX_RECTS {
            let bounds = self.dirty.iter().copied().reduce(union).expect("not empty");
            self.dirty = vec![bounds];
        }
    }

    /// The screen has a new size: the next frame is a keyframe of it.
    pub fn resized(&mut self, width: u16, height: u16) {
        self.shadow = shadow(width, height);
        self.dirty.clear();
        self.keyframe_due = true;
    }

    /// The browser asked for the whole screen (it could not decode, or a
    /// viewer joined).
    pub fn keyframe_requested(&mut self) {
        self.keyframe_due = true;
        self.pacer.forget_in_flight();
    }

    /// Nobody watches (`true`): nothing is sent until a keyframe is asked for.
    pub fn pause(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// The browser painted frames up to `frame_id`.
    pub fn acked(&mut self, frame_id: u32) {
        self.pacer.acked(frame_id);
    }

    /// When the next frame may go: `None` when nothing waits.
    pub fn due(&self, now: Instant) -> Option<Instant> {
        if self.paused || (self.dirty.is_empty() && !self.keyframe_due) {
            return None;
        }
        match self.pacer.readiness(now) {
            Readiness::Now => Some(now),
            Readiness::At(at) => Some(at),
        }
    }

    /// The frame due at `now` from `bgra` (the host's picture, the
    /// shadow's size), as the messages to send; empty when none is due.
    pub fn frame(&mut self, bgra: &[u8], now: Instant) -> Result<Vec<pb::FrameRect>, EncodeError> {
        if self.due(now).is_none_or(|at| at > now) {
            return Ok(Vec::new());
        }
        let (width, height) = (self.shadow.width, self.shadow.height);
        if bgra.len() != self.shadow.pixels.len() {
            // The picture and the shadow disagree only between a resize
            // and its first update: wait for the picture.
            return Ok(Vec::new());
        }
        // A seek in a recording replays at most an interval of frames.
        let periodic = self.last_keyframe.is_some_and(|at| now.duration_since(at) >= self.keyframe_interval);
        let keyframe = self.keyframe_due || periodic;
        let rects = match keyframe {
            true => vec![Rect { x: 0, y: 0, width, height }],
            false => std::mem::take(&mut self.dirty),
        };
        for rect in &rects {
            copy_rect(bgra, &mut self.shadow, rect);
        }
        self.dirty.clear();
        let changes = Changes { moves: Vec::new(), rects };
        let frame_id = self.pacer.sent(now);
        let messages = self.encoder.encode_frame(frame_id, &changes, &self.shadow, keyframe)?;
        if keyframe {
            self.keyframe_due = false;
            self.last_keyframe = Some(now);
        }
        Ok(messages)
    }
}

fn shadow(width: u16, height: u16) -> Shadow {
    let (width, height) = (u32::from(width), u32::from(height));
    Shadow { width, height, pixels: vec![0; width as usize * height as usize * 4] }
}

/// Copies `rect` of the picture into the shadow, row by row: both are
/// BGRX-shaped, the same size.
fn copy_rect(bgra: &[u8], shadow: &mut Shadow, rect: &Rect) {
    let stride = shadow.stride();
    for row in rect.y..rect.y + rect.height {
        let start = row as usize * stride + rect.x as usize * 4;
        let end = start + rect.width as usize * 4;
        shadow.pixels[start..end].copy_from_slice(&bgra[start..end]);
    }
}

fn contains(outer: &Rect, inner: &Rect) -> bool {
    outer.x <= inner.x && outer.y <= inner.y && outer.x + outer.width >= inner.x + inner.width && outer.y + outer.height >= inner.y + inner.height
}

fn union(a: Rect, b: Rect) -> Rect {
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    let (right, bottom) = ((a.x + a.width).max(b.x + b.width), (a.y + a.height).max(b.y + b.height));
    Rect { x, y, width: right - x, height: bottom - y }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oriel_qoiz::Canvas;

    fn source() -> FrameSource {
        let encoder = RectEncoder::new(pb::Codec::QoizSession).unwrap().unwrap();
        FrameSource::new(encoder, PacingConfig::default(), Duration::from_secs(60), 8, 4)
    }

    /// An 8x4 picture of one colour, as the host's screen holds it (B, G, R, A).
    fn picture(rgb: [u8; 3]) -> Vec<u8> {
        [rgb[2], rgb[1], rgb[0], 255].repeat(32)
    }

    /// A B, G, R, A picture as R, G, B, A, as a canvas holds it.
    fn rgba(bgra: &[u8]) -> Vec<u8> {
        bgra.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0], p[3]]).collect()
    }

    fn paint(canvas: &mut Canvas, messages: &[pb::FrameRect]) {
        for m in messages {
            canvas.paint(m.codec as u32, m.reset_context, &m.data, m.x, m.y, m.width, m.height).unwrap();
        }
    }

    #[test]
    fn a_keyframe_first_then_only_what_the_host_redrew_paced_by_acks() {
        let mut frames = source();
        let mut canvas = Canvas::new();
        canvas.resize(8, 4);
        let t0 = Instant::now();
        let first = frames.frame(&picture([200, 10, 10]), t0).unwrap();
        assert!(first[0].keyframe && first.last().unwrap().end_of_frame);
        paint(&mut canvas, &first);
        assert_eq!(&canvas.rgba()[..4], [200, 10, 10, 255]);
        assert_eq!(frames.due(t0), None, "nothing changed since");

        // The host redraws one pixel's rectangle: only it is sent.
        let mut next = picture([200, 10, 10]);
        next[4 * 9..4 * 9 + 4].copy_from_slice(&[3, 2, 1, 255]);
        frames.damaged(&[(1, 1, 1, 1), (100, 100, 5, 5)]);
        let t1 = t0 + Duration::from_millis(20);
        let second = frames.frame(&next, t1).unwrap();
        assert!(!second[0].keyframe);
        paint(&mut canvas, &second);
        assert_eq!(canvas.rgba(), &rgba(&next)[..]);

        // Two frames unacknowledged hold the third back until an ack.
        frames.damaged(&[(0, 0, 1, 1)]);
        let t2 = t1 + Duration::from_millis(20);
        assert!(frames.due(t2).unwrap() > t2);
        assert!(frames.frame(&next, t2).unwrap().is_empty());
        frames.acked(second[0].frame_id);
        assert_eq!(frames.due(t2), Some(t2));
    }

    #[test]
    fn a_resize_or_a_request_brings_a_keyframe_and_a_pause_holds_frames() {
        let mut frames = source();
        let t0 = Instant::now();
        let first = frames.frame(&picture([0, 0, 0]), t0).unwrap();
        frames.acked(first[0].frame_id);
        frames.pause(true);
        frames.damaged(&[(0, 0, 2, 2)]);
        assert_eq!(frames.due(t0 + Duration::from_secs(1)), None);
        frames.pause(false);
        frames.keyframe_requested();
        let t1 = t0 + Duration::from_secs(1);
        assert!(frames.frame(&picture([0, 0, 0]), t1).unwrap()[0].keyframe);
        frames.resized(4, 2);
        let t2 = t1 + Duration::from_secs(1);
        assert!(frames.frame(&picture([0, 0, 0]), t2).unwrap().is_empty(), "the old picture's size: wait for the new one");
        let small = [9, 9, 9, 255].repeat(8);
        let resized = frames.frame(&small, t2).unwrap();
        assert!(resized[0].keyframe);
        let mut canvas = Canvas::new();
        canvas.resize(4, 2);
        paint(&mut canvas, &resized);
        assert_eq!(canvas.rgba(), &rgba(&small)[..]);
    }

    #[test]
    fn many_small_rectangles_become_the_box_around_them() {
        let encoder = RectEncoder::new(pb::Codec::QoizSession).unwrap().unwrap();
        let mut frames = FrameSource::new(encoder, PacingConfig::default(), Duration::from_secs(60), 64, 64);
        let rects: Vec<_> = (0..100).map(|i| ((i % 50) as u16 + 2, (i / 50) as u16 + 2, 1, 1)).collect();
        frames.damaged(&rects);
        frames.damaged(&rects[..10]);
        assert_eq!(frames.dirty.len(), 100, "a rectangle already waiting is not added twice");
        frames.damaged(&[(0, 60, 1, 1), (1, 61, 1, 1), (2, 62, 1, 1), (3, 63, 1, 1)]);
        frames.damaged(&(0..30).map(|i| (i, 10, 1, 1)).collect::<Vec<_>>());
        assert_eq!(frames.dirty.len(), 1);
        assert_eq!(frames.dirty[0], Rect { x: 0, y: 2, width: 52, height: 62 });
        frames.damaged(&[(10, 10, 5, 5), (70, 0, 5, 5)]);
        assert_eq!(frames.dirty.len(), 1, "inside the box, or off the screen");
        frames.damaged(&[(60, 0, 500, 500)]);
        assert_eq!(frames.dirty[1], Rect { x: 60, y: 0, width: 4, height: 64 }, "clipped to the screen");
    }
}
