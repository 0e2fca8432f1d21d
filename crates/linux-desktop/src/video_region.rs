//! The frame loop's lossy path: a region of the screen in motion
//! (`motion.rs`) goes out as VP8 frames (`oriel-video`) while it moves, and
//! is repainted exactly once it stops. Only for a client that decodes VP8,
//! when the roles and the cluster allow it (`desktop_lossy`).

use std::time::{Duration, Instant};

use oriel_tdpb::pb::{self, Codec};
use oriel_video::{Vp8Encoder, Vp8Settings};

use crate::link::LinkEstimate;
use crate::motion::{self, Motion, RegionChange};
use crate::x11::capture::{Rect, Shadow};

/// A slow link sends video from this cost per exact pixel, half the usual.
const SLOW_LINK_COST_FACTOR: f64 = 0.5;
/// Share of the estimated bandwidth a video stream may take on a slow link.
const SLOW_LINK_SHARE: f64 = 0.6;
/// The lowest bitrate a stream is given, kbit/s.
const MIN_BITRATE_KBPS: f64 = 150.0;
/// Video frames at most 30 a second: a player draws a frame in several
/// updates, and each need not be a frame of its own.
const VIDEO_FRAME_INTERVAL: Duration = Duration::from_micros(33_333);

struct Stream {
    region: Rect,
    encoder: Vp8Encoder,
    started: Instant,
    last: Option<Instant>,
    /// The next frame is a key frame (a keyframe of the screen, a new viewer).
    key_next: bool,
}

/// The video region of one session's screen.
pub(crate) struct VideoRegion {
    motion: Motion,
    stream: Option<Stream>,
    link: Option<LinkEstimate>,
    /// The region changed and was not sent yet: its next frame is due.
    pending: bool,
}

impl VideoRegion {
    /// No region yet on a `width`x`height` screen.
    pub(crate) fn new(width: u32, height: u32) -> Self {
        Self { motion: Motion::new(width, height), stream: None, link: None, pending: false }
    }

    /// The screen changed size: motion starts over.
    pub(crate) fn resize(&mut self, width: u32, height: u32) {
        self.motion = Motion::new(width, height);
        self.stream = None;
        self.pending = false;
    }

    /// A keyframe repaints everything exactly: the region is forgotten, and
    /// a next one starts with a key frame.
    pub(crate) fn reset(&mut self) {
        self.motion.reset();
        self.stream = None;
        self.pending = false;
    }

    /// The region's next video frame is a key frame, which decodes alone:
    /// for a keyframe of the screen (a new viewer, a seek point, a decoder
    /// that failed).
    pub(crate) fn key_next(&mut self) {
        if let Some(stream) = &mut self.stream {
            stream.key_next = true;
        }
    }

    /// Whether the region's next video frame must wait, its last being too
    /// recent: it is then [`pending`](Self::pending).
    pub(crate) fn hold(&mut self, now: Instant) -> bool {
        let region = self.active();
        let hold = self.stream.as_ref().is_some_and(|s| Some(s.region) == region && s.last.is_some_and(|last| now < last + VIDEO_FRAME_INTERVAL));
        self.pending |= hold;
        hold
    }

    /// The region changed since its last video frame, which was too recent
    /// to send another: a frame is due at [`wake_at`](Self::wake_at).
    pub(crate) fn pending(&self) -> bool {
        self.pending && self.active().is_some()
    }

    /// The region sent as video now.
    pub(crate) fn active(&self) -> Option<Rect> {
        self.motion.region()
    }

    /// What the link carries, for the next stream's bitrate and for how
    /// readily motion becomes video.
    pub(crate) fn follow_link(&mut self, estimate: LinkEstimate) {
        self.link = Some(estimate);
        self.motion.set_cost_factor(if estimate.slow { SLOW_LINK_COST_FACTOR } else { 1.0 });
    }

    /// `rects` less the region, and whether any touched it.
    pub(crate) fn split(&self, rects: Vec<Rect>) -> (Vec<Rect>, bool) {
        let Some(region) = self.active() else {
            return (rects, false);
        };
        let mut exact = Vec::with_capacity(rects.len());
        let mut touched = false;
        for rect in rects {
            if motion::overlaps(rect, region) {
                touched = true;
                exact.extend(motion::outside(rect, region));
            } else {
                exact.push(rect);
            }
        }
        (exact, touched)
    }

    /// The region's pixels in `shadow` as a VP8 frame of frame `frame_id`,
    /// at `now`. `None` when there is no region, or the last video frame
    /// is too recent (the region is then [`pending`](Self::pending)). When
    /// its encoder fails the region is dropped: `Err` gives it back, to
    /// repaint exactly.
    pub(crate) fn encode(&mut self, frame_id: u32, shadow: &Shadow, now: Instant) -> Result<Option<pb::FrameRect>, Rect> {
        let Some(region) = self.active() else {
            return Ok(None);
        };
        if self.hold(now) {
            return Ok(None);
        }
        self.pending = false;
        if self.stream.as_ref().is_none_or(|s| s.region != region) {
            match Vp8Encoder::new(region.width, region.height, self.settings(region)) {
                Ok(encoder) => self.stream = Some(Stream { region, encoder, started: now, last: None, key_next: false }),
                Err(error) => {
                    tracing::warn!(%error, "no video for a region in motion");
                    self.reset();
                    return Err(region);
                }
            }
        }
        let stream = self.stream.as_mut().expect("made above");
        let stride = shadow.stride();
        let start = region.y as usize * stride + region.x as usize * 4;
        stream.last = Some(now);
        let key = std::mem::take(&mut stream.key_next);
        match stream.encoder.encode(&shadow.pixels[start..], stride, now.saturating_duration_since(stream.started), key) {
            Ok(frame) => Ok(Some(pb::FrameRect {
                frame_id,
                x: region.x,
                y: region.y,
                width: region.width,
                height: region.height,
                codec: Codec::Vp8 as i32,
                data: frame.data,
                reset_context: frame.key,
                end_of_frame: true,
                keyframe: false,
            })),
            Err(error) => {
                tracing::warn!(%error, "a video frame did not encode");
                self.reset();
                Err(region)
            }
        }
    }

    /// After a frame at `now` that changed `exact` rectangles (costing
    /// `exact_bytes`) and, when `region_changed`, the region: a region that
    /// ended or was replaced, to repaint exactly.
    pub(crate) fn after_frame(&mut self, now: Instant, exact: &[Rect], region_changed: bool, exact_bytes: usize) -> Option<Rect> {
        let before = self.active();
        match self.motion.frame(now, exact, region_changed, exact_bytes) {
            RegionChange::Same => None,
            RegionChange::Started(region) => {
                tracing::debug!(?region, "a region in motion goes as video");
                before
            }
            RegionChange::Ended(region) => {
                tracing::debug!(?region, "the region in motion stopped; repainted exactly");
                self.stream = None;
                Some(region)
            }
        }
    }

    /// When the loop must look again though nothing changed: the region's
    /// pending frame is due, or it will have rested long enough to end.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        let due = self.stream.as_ref().and_then(|s| s.last).filter(|_| self.pending()).map(|last| last + VIDEO_FRAME_INTERVAL);
        match (due, self.motion.quiet_until()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn settings(&self, region: Rect) -> Vp8Settings {
        let mut settings = Vp8Settings::for_size(region.width, region.height);
        if let Some(LinkEstimate { slow: true, bandwidth: Some(bytes_per_second), .. }) = self.link {
            let share = (bytes_per_second * 8.0 / 1000.0 * SLOW_LINK_SHARE).max(MIN_BITRATE_KBPS);
            settings.bitrate_kbps = settings.bitrate_kbps.min(share as u32);
        }
        settings
    }
}
