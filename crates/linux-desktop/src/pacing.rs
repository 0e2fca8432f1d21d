//! When the next frame may leave: only when something changed, at most 60
//! a second, and with only a few frames unacknowledged by the client, so a
//! slow client gets fewer, fresher frames instead of a growing queue.
//!
//! Sans-IO: fed the current time and the client's acknowledgements.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Pacing parameters.
#[derive(Debug, Clone, Copy)]
pub struct PacingConfig {
    /// Shortest time between two frames (1/60 s).
    pub min_interval: Duration,
    /// Frames sent and not yet acknowledged, at most.
    pub max_in_flight: usize,
    /// A frame unacknowledged for this long no longer holds the next one
    /// back: a client that lost an ack must not freeze the screen for good.
    pub ack_timeout: Duration,
}

impl Default for PacingConfig {
    fn default() -> Self {
        Self { min_interval: Duration::from_micros(16_667), max_in_flight: 2, ack_timeout: Duration::from_secs(3) }
    }
}

/// What the frame loop should do about pending changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Capture and send a frame now.
    Now,
    /// Not before this instant (rate limit or ack timeout).
    At(Instant),
}

/// The pacing state of one session.
#[derive(Debug)]
pub struct Pacer {
    config: PacingConfig,
    in_flight: VecDeque<(u32, Instant)>,
    last_sent: Option<Instant>,
    next_id: u32,
    /// What the link allows in flight now (`link.rs`), within the config's.
    link_limit: usize,
}

impl Pacer {
    /// A pacer with nothing sent yet.
    pub fn new(config: PacingConfig) -> Self {
        Self { config, in_flight: VecDeque::new(), last_sent: None, next_id: 1, link_limit: usize::MAX }
    }

    /// Frames in flight the link allows (at least one; the config's
    /// `max_in_flight` still caps it): one on a slow link, where a second
    /// would only wait in a queue behind the first and be stale when painted.
    pub fn set_link_limit(&mut self, frames: usize) {
        self.link_limit = frames.max(1);
    }

    fn max_in_flight(&self) -> usize {
        self.config.max_in_flight.min(self.link_limit).max(1)
    }

    /// When a frame may be sent, given that something changed.
    pub fn readiness(&self, now: Instant) -> Readiness {
        let mut at = self.last_sent.map_or(now, |t| t + self.config.min_interval);
        if self.in_flight.len() >= self.max_in_flight() {
            let oldest = self.in_flight.front().map(|&(_, sent)| sent).unwrap_or(now);
            at = at.max(oldest + self.config.ack_timeout);
        }
        if at <= now { Readiness::Now } else { Readiness::At(at) }
    }

    /// Records a frame sent at `now` and returns its id.
    pub fn sent(&mut self, now: Instant) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.last_sent = Some(now);
        if self.in_flight.len() >= self.max_in_flight() {
            // Sent on ack timeout: the oldest is given up on.
            self.in_flight.pop_front();
        }
        self.in_flight.push_back((id, now));
        id
    }

    /// The client painted every frame up to and including `frame_id`.
    pub fn acked(&mut self, frame_id: u32) {
        if let Some(pos) = self.in_flight.iter().position(|&(id, _)| id == frame_id) {
            self.in_flight.drain(..=pos);
        }
    }

    /// Forgets every frame in flight: the viewer they went to is gone, and
    /// the next one starts from a keyframe.
    pub fn forget_in_flight(&mut self) {
        self.in_flight.clear();
    }

    /// Frames sent and not acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The parameters in force.
    pub fn config(&self) -> PacingConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer() -> (Pacer, Instant) {
        (Pacer::new(PacingConfig::default()), Instant::now())
    }

    #[test]
    fn first_frame_goes_at_once_then_at_most_sixty_a_second() {
        let (mut p, t0) = pacer();
        assert_eq!(p.readiness(t0), Readiness::Now);
        p.sent(t0);
        assert_eq!(p.readiness(t0), Readiness::At(t0 + Duration::from_micros(16_667)));
        assert_eq!(p.readiness(t0 + Duration::from_millis(17)), Readiness::Now);
    }

    #[test]
    fn unacknowledged_frames_hold_the_next_back() {
        let (mut p, t0) = pacer();
        let first = p.sent(t0);
        let t1 = t0 + Duration::from_millis(20);
        let second = p.sent(t1);
        let later = t1 + Duration::from_millis(100);
        assert_eq!(p.readiness(later), Readiness::At(t0 + Duration::from_secs(3)));
        p.acked(first);
        assert_eq!(p.readiness(later), Readiness::Now);
        p.acked(second);
        assert_eq!(p.in_flight(), 0);
    }

    #[test]
    fn a_slow_link_keeps_one_frame_in_flight() {
        let (mut p, t0) = pacer();
        p.set_link_limit(1);
        let first = p.sent(t0);
        let later = t0 + Duration::from_millis(100);
        assert_eq!(p.readiness(later), Readiness::At(t0 + Duration::from_secs(3)));
        p.acked(first);
        assert_eq!(p.readiness(later), Readiness::Now);
        p.set_link_limit(0);
        p.sent(later);
        assert!(matches!(p.readiness(later + Duration::from_millis(50)), Readiness::At(_)), "never fewer than one");
        p.set_link_limit(usize::MAX);
        assert_eq!(p.readiness(later + Duration::from_millis(50)), Readiness::Now, "the config's two again");
    }

    #[test]
    fn an_ack_covers_earlier_frames() {
        let (mut p, t0) = pacer();
        p.sent(t0);
        let second = p.sent(t0 + Duration::from_millis(20));
        p.acked(second);
        assert_eq!(p.in_flight(), 0);
    }

    #[test]
    fn forgetting_frames_in_flight_lets_the_next_go_at_once() {
        let (mut p, t0) = pacer();
        p.sent(t0);
        p.sent(t0 + Duration::from_millis(20));
        let later = t0 + Duration::from_millis(100);
        assert!(matches!(p.readiness(later), Readiness::At(_)));
        p.forget_in_flight();
        assert_eq!(p.readiness(later), Readiness::Now);
    }

    #[test]
    fn unknown_acks_are_ignored() {
        let (mut p, t0) = pacer();
        p.sent(t0);
        p.acked(999);
        assert_eq!(p.in_flight(), 1);
    }

    #[test]
    fn a_lost_ack_times_out_instead_of_freezing() {
        let (mut p, t0) = pacer();
        p.sent(t0);
        p.sent(t0 + Duration::from_millis(20));
        let late = t0 + Duration::from_secs(3);
        assert_eq!(p.readiness(late), Readiness::Now);
        p.sent(late);
        assert_eq!(p.in_flight(), 2);
    }
}
