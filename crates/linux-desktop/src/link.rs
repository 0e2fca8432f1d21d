//! What the link to the viewer can carry, estimated from its
//! acknowledgements.
//!
//! Each frame is noted when it leaves, with its size; the viewer
//! acknowledges a frame once it has painted it. Each acknowledgement is a
//! sample: the frame's delay (leaving to acknowledged), and the bytes it
//! covers over the time they took. Samples of frames under 4 KiB say
//! nothing of bandwidth (sending them is quick on any link).
//! - A frame that **queued** behind an earlier one (sent before the
//!   previous acknowledgement) measures the link's rate alone: bytes over
//!   the time since that acknowledgement.
//! - The **path delay** is the lowest delay once each frame's own sending
//!   time (bytes over that rate) is taken off: the round trip plus the
//!   viewer's painting.
//! - A frame sent to an **idle** link measures bytes over its delay less
//!   the path delay.
//!
//! The bandwidth is the highest rate of the last 10 s: queues and a busy
//! viewer only make samples lower.
//!
//! A link is **slow** when sending a typical frame takes longer than twice
//! the path delay (and at least 50 ms): frames then wait for the link
//! rather than the link for frames, and a second frame in flight only
//! queues behind the first and is stale when painted, so the pacer keeps
//! one in flight. Sans-IO: fed times and sizes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long samples count.
const WINDOW: Duration = Duration::from_secs(10);
/// Samples kept however old: a session that went quiet still knows its link.
const KEPT_WHEN_QUIET: usize = 16;
/// Samples kept at most (one per acknowledgement).
const MAX_SAMPLES: usize = 256;
/// Frames whose acknowledgement is awaited, at most; older ones are
/// forgotten (the pacer gives up on them too).
const MAX_PENDING: usize = 64;
/// Frames smaller than this say nothing of bandwidth.
const MIN_RATE_SAMPLE_BYTES: u64 = 4 * 1024;
/// An idle-link sample needs at least this much sending time left once the
/// path delay is taken off, or it is noise.
const MIN_SENDING_TIME: Duration = Duration::from_millis(1);
/// Sending a typical frame in less than this is never slow. The browser's
/// decoding and painting count as sending (they grow with the frame too),
/// and take up to a few tens of milliseconds for a whole screen.
const SLOW_SENDING_TIME: Duration = Duration::from_millis(50);
/// Weight of a new value in the smoothed delay and frame size (1/8, as TCP).
const SMOOTHING: f64 = 0.125;

/// The link as estimated now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkEstimate {
    /// Bytes a second the link delivered at best lately; `None` before a
    /// frame large enough to tell.
    pub bandwidth: Option<f64>,
    /// Frame to acknowledgement, smoothed: what the viewer feels.
    pub delay: Duration,
    /// The round trip and the viewer's painting, without sending times.
    pub path_delay: Duration,
    /// Frames wait for the link: keep one in flight.
    pub slow: bool,
}

/// How much an estimate must move before the viewer hears of it again.
const TOLD_CHANGE: f64 = 0.2;

impl LinkEstimate {
    /// Whether the viewer, told `before`, should hear of this one: the link
    /// turned slow or fast, or its bandwidth or delay moved by a fifth.
    pub fn news_since(&self, before: &LinkEstimate) -> bool {
        let moved = |a: f64, b: f64| (a - b).abs() > TOLD_CHANGE * a.max(b);
        let bandwidth = match (self.bandwidth, before.bandwidth) {
            (Some(a), Some(b)) => moved(a, b),
            (a, b) => a.is_some() != b.is_some(),
        };
        let delay = moved(self.delay.as_secs_f64(), before.delay.as_secs_f64()) && self.delay.abs_diff(before.delay) > Duration::from_millis(5);
        self.slow != before.slow || bandwidth || delay
    }

    /// The estimate as the browser reads it.
    pub fn to_message(self) -> oriel_tdpb::pb::LinkEstimate {
        oriel_tdpb::pb::LinkEstimate {
            bandwidth_kbps: self.bandwidth.map_or(0, |rate| (rate * 8.0 / 1000.0).round().clamp(1.0, f64::from(u32::MAX)) as u32),
            delay_ms: u32::try_from(self.delay.as_millis()).unwrap_or(u32::MAX),
            slow: self.slow,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u32,
    sent: Instant,
    bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    /// Bytes the acknowledgement covered.
    bytes: u64,
    /// The acknowledged frame's delay.
    delay: Duration,
    /// From the later of sending and the previous acknowledgement.
    interval: Duration,
    /// The frame was sent before the previous acknowledgement came.
    queued: bool,
}

/// The estimator of one session's link.
#[derive(Debug, Default)]
pub struct Link {
    pending: VecDeque<Pending>,
    last_ack: Option<Instant>,
    samples: VecDeque<Sample>,
    smoothed_delay: Option<Duration>,
    typical_frame: Option<f64>,
}

impl Link {
    /// A link nothing is known of yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frame `id` of `bytes` left at `now`.
    pub fn sent(&mut self, id: u32, bytes: u64, now: Instant) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(Pending { id, sent: now, bytes });
        let bytes = bytes as f64;
        self.typical_frame = Some(self.typical_frame.map_or(bytes, |t| t + SMOOTHING * (bytes - t)));
    }

    /// The viewer acknowledged frame `id` (and every earlier one) at `now`.
    pub fn acked(&mut self, id: u32, now: Instant) {
        let Some(position) = self.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let covered: Vec<Pending> = self.pending.drain(..=position).collect();
        let (first, last) = (covered[0], covered[covered.len() - 1]);
        let delay = now.saturating_duration_since(last.sent);
        self.smoothed_delay = Some(self.smoothed_delay.map_or(delay, |s| s.mul_f64(1.0 - SMOOTHING) + delay.mul_f64(SMOOTHING)));
        let queued = self.last_ack.is_some_and(|ack| ack > first.sent);
        let since = if queued { self.last_ack.unwrap_or(first.sent) } else { first.sent };
        let bytes = covered.iter().map(|p| p.bytes).sum();
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { at: now, bytes, delay, interval: now.saturating_duration_since(since), queued });
        self.last_ack = Some(now);
    }

    /// Forgets frames in flight (their viewer is gone); what was learnt of
    /// the link stays.
    pub fn forget_in_flight(&mut self) {
        self.pending.clear();
        self.last_ack = None;
    }

    /// The estimate at `now`, or `None` before the first acknowledgement.
    pub fn estimate(&mut self, now: Instant) -> Option<LinkEstimate> {
        // The latest samples stay: a quiet session keeps what it knew.
        while self.samples.len() > KEPT_WHEN_QUIET && self.samples.front().is_some_and(|s| now.saturating_duration_since(s.at) > WINDOW) {
            self.samples.pop_front();
        }
        let delay = self.smoothed_delay?;
        let rated = || self.samples.iter().filter(|s| s.bytes >= MIN_RATE_SAMPLE_BYTES);
        let queued_rate = rated().filter(|s| s.queued && !s.interval.is_zero()).map(|s| s.bytes as f64 / s.interval.as_secs_f64()).reduce(f64::max);
        let sending = |bytes: u64, rate: Option<f64>| rate.map_or(Duration::ZERO, |r| Duration::from_secs_f64(bytes as f64 / r));
        let path_delay = self.samples.iter().map(|s| s.delay.saturating_sub(sending(s.bytes, queued_rate))).min().unwrap_or(delay);
        let idle_rate = rated()
            .filter(|s| !s.queued)
            .filter_map(|s| {
                let time = s.interval.saturating_sub(path_delay);
                (time >= MIN_SENDING_TIME).then(|| s.bytes as f64 / time.as_secs_f64())
            })
            .reduce(f64::max);
        let bandwidth = match (queued_rate, idle_rate) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let slow = match (bandwidth, self.typical_frame) {
            (Some(rate), Some(frame)) => {
                let time = Duration::from_secs_f64(frame / rate);
                time >= SLOW_SENDING_TIME && time > path_delay * 2
            }
            _ => false,
        };
        Some(LinkEstimate { bandwidth, delay, path_delay, slow })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Frames of `bytes` sent back to back over a link of `rate` bytes a
    /// second and `delay` round trip, each sent when the previous one is
    /// acknowledged (one in flight).
    fn run(link: &mut Link, t0: Instant, frames: u32, bytes: u64, rate: f64, delay: Duration) -> Instant {
        let mut now = t0;
        for id in 1..=frames {
            link.sent(id, bytes, now);
            now += Duration::from_secs_f64(bytes as f64 / rate) + delay;
            link.acked(id, now);
        }
        now
    }

    #[test]
    fn nothing_is_known_before_an_acknowledgement() {
        let mut link = Link::new();
        let t0 = Instant::now();
        link.sent(1, 50_000, t0);
        assert_eq!(link.estimate(t0 + MS), None);
    }

    #[test]
    fn a_fast_short_link_is_not_slow() {
        let mut link = Link::new();
        let t0 = Instant::now();
        // 100 Mbit/s, 2 ms round trip, 30 KB frames: 2.4 ms to send one.
        let now = run(&mut link, t0, 20, 30_000, 12.5e6, 2 * MS);
        let estimate = link.estimate(now).unwrap();
        assert!(!estimate.slow, "{estimate:?}");
        assert_eq!(estimate.delay, Duration::from_secs_f64(30_000.0 / 12.5e6) + 2 * MS);
    }

    #[test]
    fn a_narrow_link_is_slow_and_its_rate_is_found_while_frames_queue() {
        let mut link = Link::new();
        let t0 = Instant::now();
        // 1 Mbit/s (125 KB/s), 20 ms round trip, 60 KB frames: 480 ms each.
        // Two in flight: the second queues behind the first, and its
        // acknowledgement measures the link's rate alone.
        link.sent(1, 60_000, t0);
        link.sent(2, 60_000, t0 + MS);
        let first = t0 + Duration::from_millis(480) + 20 * MS;
        link.acked(1, first);
        link.acked(2, first + Duration::from_millis(480));
        let estimate = link.estimate(first + Duration::from_millis(480)).unwrap();
        let rate = estimate.bandwidth.unwrap();
        assert!((rate - 125_000.0).abs() < 1.0, "{rate}");
        assert_eq!(estimate.path_delay, 20 * MS);
        assert!(estimate.slow, "{estimate:?}");
    }

    #[test]
    fn a_long_fast_link_is_not_slow_though_each_frame_waits_for_its_acknowledgement() {
        let mut link = Link::new();
        let t0 = Instant::now();
        // 80 Mbit/s (10 MB/s) across an ocean: 100 ms round trip. Small
        // updates give the path delay; 30 KB frames, one in flight, take
        // 3 ms each to send.
        let now = run(&mut link, t0, 3, 300, 10e6, 100 * MS);
        let now = run(&mut link, now, 10, 30_000, 10e6, 100 * MS);
        let estimate = link.estimate(now).unwrap();
        let rate = estimate.bandwidth.unwrap();
        assert!((rate - 10e6).abs() / 10e6 < 0.02, "{rate}");
        assert!(!estimate.slow, "{estimate:?}");
    }

    #[test]
    fn small_frames_say_nothing_of_bandwidth_and_a_quiet_link_keeps_its_estimate() {
        let mut link = Link::new();
        let t0 = Instant::now();
        let now = run(&mut link, t0, 5, 200, 125_000.0, 20 * MS);
        let estimate = link.estimate(now).unwrap();
        assert_eq!(estimate.bandwidth, None);
        assert!(!estimate.slow);
        let now = run(&mut link, now, 3, 60_000, 125_000.0, 20 * MS);
        let later = now + Duration::from_secs(60);
        let estimate = link.estimate(later).unwrap();
        assert!(estimate.bandwidth.is_some() && estimate.slow, "a minute of quiet forgets nothing: {estimate:?}");
    }

    #[test]
    fn the_viewer_hears_of_a_turn_or_a_fifth_moved() {
        let base = LinkEstimate { bandwidth: Some(125_000.0), delay: 100 * MS, path_delay: 20 * MS, slow: true };
        assert!(!base.news_since(&base));
        assert!(!LinkEstimate { bandwidth: Some(140_000.0), ..base }.news_since(&base));
        assert!(LinkEstimate { bandwidth: Some(160_000.0), ..base }.news_since(&base));
        assert!(LinkEstimate { slow: false, ..base }.news_since(&base));
        assert!(LinkEstimate { delay: 130 * MS, ..base }.news_since(&base));
        let fast = LinkEstimate { bandwidth: None, delay: 2 * MS, path_delay: 2 * MS, slow: false };
        assert!(!LinkEstimate { delay: 4 * MS, ..fast }.news_since(&fast), "a few ms are not news");
        assert_eq!(base.to_message(), oriel_tdpb::pb::LinkEstimate { bandwidth_kbps: 1000, delay_ms: 100, slow: true });
        assert_eq!(fast.to_message().bandwidth_kbps, 0, "not known yet");
    }

    #[test]
    fn unknown_and_repeated_acknowledgements_are_ignored() {
        let mut link = Link::new();
        let t0 = Instant::now();
        link.sent(1, 10_000, t0);
        link.acked(7, t0 + MS);
        assert_eq!(link.estimate(t0 + MS), None);
        link.acked(1, t0 + 10 * MS);
        link.acked(1, t0 + 50 * MS);
        assert_eq!(link.estimate(t0 + 50 * MS).unwrap().delay, 10 * MS);
    }
}
