//! Slowing down password guessing: failed logins are counted per user and
//! per client address over a sliding window; past the limit, further
//! attempts are refused until the oldest failure leaves the window. Sans-IO:
//! the caller passes the time.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How many failures a window tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed within `window`.
    pub failures: usize,
    /// The sliding window.
    pub window: Duration,
}

/// Refused: too many recent failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; try again in {} seconds", retry_after.as_secs().max(1))]
pub struct Throttled {
    /// When the next attempt may be made.
    pub retry_after: Duration,
}

/// Most keys tracked per kind; beyond it the stalest are forgotten, so a
/// flood of invented usernames cannot grow memory without bound.
const MAX_TRACKED: usize = 100_000;

/// Failure counters for users and addresses.
#[derive(Debug)]
pub struct LoginThrottle {
    per_user: Limit,
    per_address: Limit,
    users: Failures<String>,
    addresses: Failures<IpAddr>,
}

impl Default for LoginThrottle {
    /// 5 failures per user and 20 per address in 15 minutes.
    fn default() -> Self {
        Self::new(Limit { failures: 5, window: Duration::from_secs(900) }, Limit { failures: 20, window: Duration::from_secs(900) })
    }
}

impl LoginThrottle {
    /// A throttle with the given limits.
    pub fn new(per_user: Limit, per_address: Limit) -> Self {
        Self { per_user, per_address, users: Failures::default(), addresses: Failures::default() }
    }

    /// Whether `user` may try to log in from `address` now. Checked before
    /// the password is even hashed.
    pub fn check(&mut self, user: &str, address: IpAddr, now: Instant) -> Result<(), Throttled> {
        let user_wait = self.users.wait(user, self.per_user, now);
        let address_wait = self.addresses.wait(&address, self.per_address, now);
        match user_wait.max(address_wait) {
            Some(retry_after) => Err(Throttled { retry_after }),
            None => Ok(()),
        }
    }

    /// Records a failed attempt (wrong password, wrong or replayed code).
    pub fn failed(&mut self, user: &str, address: IpAddr, now: Instant) {
        self.users.record(user.to_owned(), self.per_user, now);
        self.addresses.record(address, self.per_address, now);
    }

    /// A successful login clears the user's failures (not the address's:
    /// one good account must not launder guesses at others).
    pub fn succeeded(&mut self, user: &str) {
        self.users.by_key.remove(user);
    }
}

#[derive(Debug)]
struct Failures<K> {
    by_key: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for Failures<K> {
    fn default() -> Self {
        Self { by_key: HashMap::new() }
    }
}

impl<K: Hash + Eq + Clone> Failures<K> {
    fn wait<Q>(&mut self, key: &Q, limit: Limit, now: Instant) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let times = self.by_key.get_mut(key)?;
        while times.front().is_some_and(|&t| now.saturating_duration_since(t) >= limit.window) {
            times.pop_front();
        }
        if times.len() < limit.failures {
            return None;
        }
        let oldest = *times.front()?;
        Some((oldest + limit.window).saturating_duration_since(now))
    }

    fn record(&mut self, key: K, limit: Limit, now: Instant) {
        if self.by_key.len() >= MAX_TRACKED && !self.by_key.contains_key(&key) {
            self.forget_stalest();
        }
        let times = self.by_key.entry(key).or_default();
        times.push_back(now);
        while times.len() > limit.failures {
            times.pop_front();
        }
    }

    fn forget_stalest(&mut self) {
        let stalest = self.by_key.iter().min_by_key(|(_, t)| t.back().copied()).map(|(k, _)| k.clone());
        if let Some(key) = stalest {
            self.by_key.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(Limit { failures: 3, window: Duration::from_secs(60) }, Limit { failures: 5, window: Duration::from_secs(60) })
    }

    #[test]
    fn a_user_is_throttled_after_the_limit_until_the_window_slides() {
        let (mut t, t0) = (throttle(), Instant::now());
        for i in 0..3 {
            assert_eq!(t.check("alice", A, t0), Ok(()));
            t.failed("alice", A, t0 + Duration::from_secs(i));
        }
        let refused = t.check("alice", B, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(50), "from another address too");
        assert_eq!(refused.to_string(), "too many failed logins; try again in 50 seconds");
        assert_eq!(t.check("bob", B, t0 + Duration::from_secs(10)), Ok(()), "other users are unaffected");
        assert_eq!(t.check("alice", A, t0 + Duration::from_secs(60)), Ok(()), "the first failure aged out");
    }

    #[test]
    fn an_address_guessing_many_users_is_throttled() {
        let (mut t, t0) = (throttle(), Instant::now());
        for user in ["a", "b", "c", "d", "e"] {
            t.failed(user, A, t0);
        }
        assert!(t.check("f", A, t0).is_err());
        assert_eq!(t.check("f", B, t0), Ok(()));
    }

    #[test]
    fn success_clears_the_user_but_not_the_address() {
        let (mut t, t0) = (throttle(), Instant::now());
        for user in ["x", "x", "y", "y", "z"] {
            t.failed(user, A, t0);
        }
        t.succeeded("x");
        assert!(t.check("x", B, t0).is_ok());
        assert!(t.check("x", A, t0).is_err(), "the address still counts 5");
    }
}
