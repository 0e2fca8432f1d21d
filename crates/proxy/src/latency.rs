//! Round-trip measurement with TDPB pings, sans-IO: the relay asks for a
//! ping to send, and hands back every Ping it sees; those that answer ours
//! become a round-trip time and are not forwarded.

use std::time::{Duration, Instant};

/// Measures one leg (proxy to browser, or proxy to desktop service).
#[derive(Debug, Default)]
pub struct LatencyProbe {
    pending: Option<([u8; 16], Instant)>,
    last: Option<Duration>,
}

impl LatencyProbe {
    /// An id for a new ping sent at `now`. An unanswered earlier ping is
    /// forgotten: its answer, if it comes, is then forwarded like any other.
    pub fn ping(&mut self, now: Instant) -> [u8; 16] {
        let mut id = [0u8; 16];
        // Ids only need to be unlikely to collide with the peer's own pings.
        let _ = getrandom::fill(&mut id);
        self.pending = Some((id, now));
        id
    }

    /// Whether `id` answers our pending ping; if so the round trip is recorded.
    pub fn answer(&mut self, id: &[u8], now: Instant) -> bool {
        match self.pending {
            Some((ours, sent)) if ours == id => {
                self.pending = None;
                self.last = Some(now.saturating_duration_since(sent));
                true
            }
            _ => false,
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
    fn only_our_pending_ping_is_an_answer() {
        let mut probe = LatencyProbe::default();
        let t0 = Instant::now();
        assert!(!probe.answer(&[0; 16], t0));
        let id = probe.ping(t0);
        assert!(!probe.answer(&[1; 16], t0));
        assert!(probe.answer(&id, t0 + Duration::from_millis(42)));
        assert_eq!(probe.last_ms(), Some(42));
        assert!(!probe.answer(&id, t0), "an answer counts once");
    }
}
