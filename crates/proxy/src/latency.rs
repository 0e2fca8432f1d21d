//! Round-trip measurement with TDPB pings, sans-IO.
//!
//! Pings never cross the proxy: each leg (proxy to browser, proxy to
//! desktop service) is measured on its own, an answer to any of our recent
//! pings is consumed here, and a ping the peer starts is answered here. A
//! forwarded ping would be echoed by the far side and come back, and the
//! two ends would bounce it between them for the rest of the session.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Pings remembered per leg: a late answer is still recognised as ours for
/// this many ping intervals.
const REMEMBERED: usize = 8;

/// Measures one leg.
#[derive(Debug, Default)]
pub struct LatencyProbe {
    pending: VecDeque<([u8; 16], Instant)>,
    last: Option<Duration>,
}

/// What to do with a Ping that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingSeen {
    /// It answered one of ours: consumed.
    Answer,
    /// The peer is measuring: answer it with the same id, forward nothing.
    Question,
}

impl LatencyProbe {
    /// An id for a new ping sent at `now`.
    pub fn ping(&mut self, now: Instant) -> [u8; 16] {
        let mut id = [0u8; 16];
        // Ids only need to be unlikely to collide with the peer's own pings.
        let _ = getrandom::fill(&mut id);
        if self.pending.len() == REMEMBERED {
            self.pending.pop_front();
        }
        self.pending.push_back((id, now));
        id
    }

    /// Classifies a Ping from the peer; an answer records its round trip.
    pub fn seen(&mut self, id: &[u8], now: Instant) -> PingSeen {
        match self.pending.iter().position(|(ours, _)| ours == id) {
            Some(i) => {
                let (_, sent) = self.pending.remove(i).expect("index from position");
                self.last = Some(now.saturating_duration_since(sent));
                PingSeen::Answer
            }
            None => PingSeen::Question,
        }
    }

    /// The latest round trip in whole milliseconds.
    pub fn last_ms(&self) -> Option<u32> {
        self.last.map(|d| d.as_millis().min(u32::MAX as u128) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_to_recent_pings_are_consumed_even_late() {
        let mut probe = LatencyProbe::default();
        let t0 = Instant::now();
        let first = probe.ping(t0);
        let _second = probe.ping(t0 + Duration::from_secs(2));
        assert_eq!(probe.seen(&first, t0 + Duration::from_millis(4500)), PingSeen::Answer, "late but ours");
        assert_eq!(probe.last_ms(), Some(4500));
        assert_eq!(probe.seen(&first, t0), PingSeen::Question, "an answer counts once");
        assert_eq!(probe.seen(&[7; 16], t0), PingSeen::Question, "the peer's own ping");
    }

    #[test]
    fn only_the_most_recent_pings_are_remembered() {
        let mut probe = LatencyProbe::default();
        let t0 = Instant::now();
        let oldest = probe.ping(t0);
        for _ in 0..REMEMBERED {
            probe.ping(t0);
        }
        assert_eq!(probe.seen(&oldest, t0), PingSeen::Question);
    }
}
