//! Requests waiting for the browser, sans-IO: each gets a completion id and
//! a deadline; an answer is matched to its waiter by id, and one that comes
//! after the deadline (or for an id never handed out) is refused, so a late
//! or forged answer cannot complete another request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most requests waiting at once: FUSE serves a few threads, so more means
/// something is wrong; a bound keeps a stuck browser from growing the table.
pub const MAX_PENDING: usize = 1024;

/// Why an answer or a new request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CompletionError {
    /// No request has this id (never sent, already answered, or given up on).
    #[error("no request is waiting for completion id {0}")]
    Unknown(u32),
    /// The request's deadline passed before the answer came.
    #[error("the answer to completion id {0} came after the deadline")]
    Late(u32),
    /// [`MAX_PENDING`] requests are waiting already.
    #[error("too many requests waiting for the browser")]
    Full,
    /// The table was closed (the share is going away).
    #[error("the shared directory is closed")]
    Closed,
}

struct Pending<W> {
    waiter: W,
    deadline: Instant,
}

/// The requests sent and not yet answered, each with whatever waits for the
/// answer (`W`: a channel in the service, anything in tests).
pub struct Completions<W> {
    next_id: u32,
    timeout: Duration,
    pending: HashMap<u32, Pending<W>>,
    closed: bool,
}

impl<W> Completions<W> {
    /// An empty table whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { next_id: 1, timeout, pending: HashMap::new(), closed: false }
    }

    /// Registers a request sent at `now`; returns its completion id.
    pub fn start(&mut self, waiter: W, now: Instant) -> Result<u32, CompletionError> {
        if self.closed {
            return Err(CompletionError::Closed);
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(CompletionError::Full);
        }
        // Ids wrap; one still pending is skipped so two waiters never share one.
        let mut id = self.next_id;
        while self.pending.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_id = id.wrapping_add(1);
        self.pending.insert(id, Pending { waiter, deadline: now + self.timeout });
        Ok(id)
    }

    /// The waiter for the answer `id` that arrived at `now`.
    pub fn complete(&mut self, id: u32, now: Instant) -> Result<W, CompletionError> {
        let pending = self.pending.remove(&id).ok_or(CompletionError::Unknown(id))?;
        if now > pending.deadline {
            return Err(CompletionError::Late(id));
        }
        Ok(pending.waiter)
    }

    /// Forgets `id` (its waiter gave up).
    pub fn cancel(&mut self, id: u32) {
        self.pending.remove(&id);
    }

    /// The deadline of request `id`, if it is waiting.
    pub fn deadline(&self, id: u32) -> Option<Instant> {
        self.pending.get(&id).map(|p| p.deadline)
    }

    /// Removes and returns the waiters whose deadline passed before `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<W> {
        let expired: Vec<u32> = self.pending.iter().filter(|(_, p)| now > p.deadline).map(|(id, _)| *id).collect();
        expired.into_iter().filter_map(|id| self.pending.remove(&id)).map(|p| p.waiter).collect()
    }

    /// Refuses new requests and returns every waiter, so each can be told.
    pub fn close(&mut self) -> Vec<W> {
        self.closed = true;
        self.pending.drain().map(|(_, p)| p.waiter).collect()
    }

    /// How many requests are waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no request is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[test]
    fn an_answer_finds_its_waiter_once() {
        let t0 = Instant::now();
        let mut table = Completions::new(TIMEOUT);
        let a = table.start("a", t0).unwrap();
        let b = table.start("b", t0).unwrap();
        assert_ne!(a, b);
        assert_eq!(table.complete(b, t0 + Duration::from_secs(1)), Ok("b"));
        assert_eq!(table.complete(b, t0), Err(CompletionError::Unknown(b)));
        assert_eq!(table.complete(999, t0), Err(CompletionError::Unknown(999)));
        assert_eq!(table.complete(a, t0 + TIMEOUT), Ok("a"));
        assert!(table.is_empty());
    }

    #[test]
    fn late_answers_and_expired_requests() {
        let t0 = Instant::now();
        let mut table = Completions::new(TIMEOUT);
        let a = table.start("a", t0).unwrap();
        table.start("b", t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(table.complete(a, t0 + TIMEOUT + Duration::from_millis(1)), Err(CompletionError::Late(a)));
        // "b" is still within its own deadline, then it is not.
        assert!(table.expire(t0 + TIMEOUT).is_empty());
        assert_eq!(table.expire(t0 + Duration::from_secs(16)), vec!["b"]);
        assert!(table.is_empty());
    }

    #[test]
    fn ids_wrap_around_without_reusing_a_pending_one() {
        let t0 = Instant::now();
        let mut table = Completions::new(TIMEOUT);
        table.next_id = u32::MAX;
        let last = table.start(1, t0).unwrap();
        assert_eq!(last, u32::MAX);
        table.next_id = u32::MAX;
        let next = table.start(2, t0).unwrap();
        assert_eq!(next, 0);
    }

    #[test]
    fn bounded_and_closable() {
        let t0 = Instant::now();
        let mut table = Completions::new(TIMEOUT);
        for i in 0..MAX_PENDING {
            table.start(i, t0).unwrap();
        }
        assert_eq!(table.start(0, t0), Err(CompletionError::Full));
        assert_eq!(table.close().len(), MAX_PENDING);
        assert_eq!(table.start(0, t0), Err(CompletionError::Closed));
        assert_eq!(table.len(), 0);
    }
}
