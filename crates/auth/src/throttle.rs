//! Slowing down password guessing without handing strangers a way to lock
//! people out. Sans-IO: the caller passes the time.
//!
//! Every attempt is reserved before the password is hashed ([`LoginThrottle::begin`]):
//! the reservation counts as a failure at once, so a thousand attempts
//! arriving together cannot all pass the check before the first failure is
//! counted. A success, or an attempt that checked nothing (the service was
//! busy, storage failed), takes its reservation back ([`LoginThrottle::settle`]);
//! an attempt whose future is dropped keeps it, so hanging up mid-hash does
//! not buy a free guess.
//!
//! Three kinds of sliding window:
//!
//! - **per client network** (an IPv4 address, an IPv6 /64, see
//!   [`ClientNetwork`]): one source guessing at many users;
//! - **per user and client network**: one source guessing one user's
//!   password. This is the bucket a wrong password fills, so guesses made
//!   from elsewhere never refuse the user's own logins;
//! - **per user**, counting only attempts whose password was right but whose
//!   second factor was wrong or replayed ([`LoginThrottle::password_verified`]):
//!   the TOTP code is six digits, so it must be limited per user wherever
//!   the guesses come from (RFC 6238 §5.2), and only someone who has the
//!   password can fill this bucket.
//!
//! Why not lock a user after N wrong passwords, as many products do: that
//! lets anyone who knows a user name lock them out at will, from anywhere,
//! for as long as they keep guessing. A wrong password alone is worth
//! little to an attacker here: a login also needs the code, and the answer
//! is the same whichever of the two was wrong, so a right password is
//! never confirmed. Limiting wrong passwords per (user, network) and per
//! network bounds the guessing a source can do; passwords of 12 characters
//! or more, hashed with argon2id, make the guesses a network of sources can
//! make together useless. (Microsoft's smart lockout and Okta's known-device
//! exemption make the same trade: the lockout hits the attacker's location,
//! not the account.)
//!
//! A network that logged someone in lately is remembered as known
//! ([`Attempt::from_known_network`]): its attempts have a hashing lane of
//! their own (`hashing.rs`), so a flood from fresh addresses, which the
//! per-network windows cannot slow because every source is new, cannot
//! crowd out the people who use the service every day.

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

/// The limits of each kind of bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures from one client network, whatever the user.
    pub per_network: Limit,
    /// Failures for one user from one client network.
    pub per_user_network: Limit,
    /// Second-factor failures for one user (the password was right).
    pub per_user_second_factor: Limit,
}

impl Default for Limits {
    /// In 15 minutes: 20 failures per network, 5 per user and network, 5
    /// wrong codes per user (about two years, on average, to guess a code).
    fn default() -> Self {
        let window = Duration::from_secs(900);
        Self {
            per_network: Limit { failures: 20, window },
            per_user_network: Limit { failures: 5, window },
            per_user_second_factor: Limit { failures: 5, window },
        }
    }
}

/// Refused: too many recent failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; try again in {} seconds", retry_after.as_secs().max(1))]
pub struct Throttled {
    /// When the next attempt may be made.
    pub retry_after: Duration,
}

/// The unit one client is counted by: an IPv4 address, or the /64 of an
/// IPv6 address (one host usually holds a whole /64, so counting single
/// IPv6 addresses would give it 2^64 buckets). An IPv4-mapped IPv6 address
/// (`::ffff:192.0.2.1`, as a dual-stack socket shows an IPv4 client) is the
/// IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientNetwork(IpAddr);

impl ClientNetwork {
    /// The network `address` is counted in.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())),
            },
        }
    }
}

impl std::fmt::Display for ClientNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// One login attempt, reserved in the throttle until it is settled. Not
/// `Clone`: each reservation is taken back at most once.
#[derive(Debug)]
#[must_use = "an attempt that is never settled counts as a failure"]
pub struct Attempt {
    user: String,
    network: ClientNetwork,
    at: Instant,
    /// When the password verified: the per-user second-factor slot taken then.
    second_factor: Option<Instant>,
    /// Someone logged in from this network within [`KNOWN_FOR`].
    known: bool,
}

impl Attempt {
    /// Whether someone logged in from this attempt's network lately: such
    /// attempts hash in a lane that strangers cannot fill.
    pub fn from_known_network(&self) -> bool {
        self.known
    }

    /// Whether the password was verified (and the second factor is what counts now).
    pub fn password_verified(&self) -> bool {
        self.second_factor.is_some()
    }
}

/// How an attempt ended, for [`LoginThrottle::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in: the reservation is taken back and the user's failures
    /// (from this network, and their wrong codes) are forgotten.
    Succeeded,
    /// A wrong user name, password or code: the reservation stays.
    Failed,
    /// Nothing was decided (the service was busy or failed): the
    /// reservation is taken back.
    NotChecked,
}

/// Most keys tracked per kind; beyond it the stalest are forgotten, so a
/// flood of invented usernames cannot grow memory without bound.
const MAX_TRACKED: usize = 100_000;

/// How long a network stays known after a successful login from it: a week
/// covers people who log in on workdays.
pub const KNOWN_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Failure counters for client networks and users.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: Limits,
    networks: Failures<ClientNetwork>,
    user_networks: Failures<(String, ClientNetwork)>,
    second_factor: Failures<String>,
    /// When someone last logged in from each network.
    known: HashMap<ClientNetwork, Instant>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl LoginThrottle {
    /// A throttle with the given limits.
    pub fn new(limits: Limits) -> Self {
        Self { limits, networks: Failures::default(), user_networks: Failures::default(), second_factor: Failures::default(), known: HashMap::new() }
    }

    /// Reserves an attempt by `user` from `address`, before anything is
    /// hashed, or refuses it. The reservation counts as a failure until
    /// [`Self::settle`] says otherwise.
    pub fn begin(&mut self, user: &str, address: IpAddr, now: Instant) -> Result<Attempt, Throttled> {
        let network = ClientNetwork::of(address);
        let key = (user.to_owned(), network);
        let waits = [
            self.networks.wait(&network, self.limits.per_network, now),
            self.user_networks.wait(&key, self.limits.per_user_network, now),
            // Someone who has the password and guesses codes: refused here
            // too, before any hashing, wherever they come from.
            self.second_factor.wait(user, self.limits.per_user_second_factor, now),
        ];
        if let Some(retry_after) = waits.into_iter().flatten().max() {
            return Err(Throttled { retry_after });
        }
        self.networks.record(network, self.limits.per_network, now);
        self.user_networks.record(key, self.limits.per_user_network, now);
        let known = self.known.get(&network).is_some_and(|&at| now.saturating_duration_since(at) < KNOWN_FOR);
        Ok(Attempt { user: user.to_owned(), network, at: now, second_factor: None, known })
    }

    /// The password of `attempt` was right: reserves a try of the user's
    /// second factor, or refuses it when the user has had too many wrong
    /// codes (attempts that passed [`Self::begin`] together cannot all try).
    pub fn password_verified(&mut self, attempt: &mut Attempt, now: Instant) -> Result<(), Throttled> {
        let limit = self.limits.per_user_second_factor;
        if let Some(retry_after) = self.second_factor.wait(attempt.user.as_str(), limit, now) {
            return Err(Throttled { retry_after });
        }
        self.second_factor.record(attempt.user.clone(), limit, now);
        attempt.second_factor = Some(now);
        Ok(())
    }

    /// Ends `attempt`: a failure keeps its reservations, anything else
    /// takes them back.
    pub fn settle(&mut self, attempt: Attempt, outcome: Outcome) {
        let Attempt { user, network, at, second_factor, known: _ } = attempt;
        if outcome == Outcome::Failed {
            return;
        }
        self.networks.take_back(&network, at);
        let key = (user, network);
        self.user_networks.take_back(&key, at);
        if let Some(at) = second_factor {
            self.second_factor.take_back(key.0.as_str(), at);
        }
        if outcome == Outcome::Succeeded {
            // Not the network's: one good account must not launder guesses at others.
            self.user_networks.by_key.remove(&key);
            self.second_factor.by_key.remove(key.0.as_str());
            if self.known.len() >= MAX_TRACKED
                && !self.known.contains_key(&network)
                && let Some(stalest) = self.known.iter().min_by_key(|(_, at)| **at).map(|(network, _)| *network)
            {
                self.known.remove(&stalest);
            }
            self.known.insert(network, at);
        }
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

    /// Removes one entry made at `at`, if it is still there.
    fn take_back<Q>(&mut self, key: &Q, at: Instant)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(times) = self.by_key.get_mut(key) else {
            return;
        };
        if let Some(index) = times.iter().rposition(|&t| t == at) {
            times.remove(index);
        }
        if times.is_empty() {
            self.by_key.remove(key);
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
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    const MINUTE: Duration = Duration::from_secs(60);

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(Limits {
            per_network: Limit { failures: 5, window: MINUTE },
            per_user_network: Limit { failures: 3, window: MINUTE },
            per_user_second_factor: Limit { failures: 2, window: MINUTE },
        })
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// An attempt that fails at the password.
    fn wrong_password(t: &mut LoginThrottle, user: &str, address: IpAddr, now: Instant) -> Result<(), Throttled> {
        let attempt = t.begin(user, address, now)?;
        t.settle(attempt, Outcome::Failed);
        Ok(())
    }

    /// An attempt with the right password and a wrong code.
    fn wrong_code(t: &mut LoginThrottle, user: &str, address: IpAddr, now: Instant) -> Result<(), Throttled> {
        let mut attempt = t.begin(user, address, now)?;
        t.password_verified(&mut attempt, now)?;
        t.settle(attempt, Outcome::Failed);
        Ok(())
    }

    #[test]
    fn attempts_are_counted_when_they_begin_not_when_they_fail() {
        let (mut t, t0) = (throttle(), Instant::now());
        // Three hashes in flight at once: the fourth is refused before hashing.
        let in_flight: Vec<_> = (0..3).map(|_| t.begin("alice", A, t0).unwrap()).collect();
        let refused = t.begin("alice", A, t0 + secs(1)).unwrap_err();
        assert_eq!(refused.retry_after, secs(59));
        assert_eq!(refused.to_string(), "too many failed logins; try again in 59 seconds");
        for attempt in in_flight {
            t.settle(attempt, Outcome::NotChecked);
        }
        assert!(t.begin("alice", A, t0 + secs(1)).is_ok(), "attempts that checked nothing are taken back");
    }

    #[test]
    fn wrong_passwords_from_elsewhere_never_refuse_the_user() {
        let (mut t, t0) = (throttle(), Instant::now());
        for i in 0..3 {
            wrong_password(&mut t, "alice", A, t0 + secs(i)).unwrap();
        }
        assert!(t.begin("alice", A, t0 + secs(10)).is_err(), "the guessing network is refused");
        let attempt = t.begin("alice", B, t0 + secs(10)).expect("the user, from another network, is not");
        t.settle(attempt, Outcome::Succeeded);
        assert!(t.begin("alice", A, t0 + secs(60)).is_ok(), "the first failure aged out");
    }

    #[test]
    fn a_network_guessing_many_users_is_refused() {
        let (mut t, t0) = (throttle(), Instant::now());
        for user in ["a", "b", "c", "d", "e"] {
            wrong_password(&mut t, user, A, t0).unwrap();
        }
        assert!(t.begin("f", A, t0).is_err());
        assert!(t.begin("f", B, t0).is_ok());
    }

    #[test]
    fn wrong_codes_count_for_the_user_wherever_they_come_from() {
        let (mut t, t0) = (throttle(), Instant::now());
        wrong_code(&mut t, "alice", A, t0).unwrap();
        wrong_code(&mut t, "alice", B, t0 + secs(1)).unwrap();
        let c = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        let refused = t.begin("alice", c, t0 + secs(2)).unwrap_err();
        assert_eq!(refused.retry_after, secs(58), "before hashing, from a third network");
        assert!(t.begin("bob", c, t0 + secs(2)).is_ok(), "other users are unaffected");
        assert!(t.begin("alice", c, t0 + secs(60)).is_ok(), "the window slides");
    }

    #[test]
    fn concurrent_attempts_with_the_password_cannot_all_try_a_code() {
        let (mut t, t0) = (throttle(), Instant::now());
        let mut attempts: Vec<_> = [A, B, A].iter().map(|&a| t.begin("alice", a, t0).unwrap()).collect();
        assert!(t.password_verified(&mut attempts[0], t0).is_ok());
        assert!(t.password_verified(&mut attempts[1], t0).is_ok());
        assert!(t.password_verified(&mut attempts[2], t0).is_err(), "two codes in flight is the limit");
        assert!(attempts[0].password_verified() && !attempts[2].password_verified());
    }

    #[test]
    fn success_forgets_the_users_failures_but_not_the_networks() {
        let (mut t, t0) = (throttle(), Instant::now());
        wrong_code(&mut t, "x", A, t0).unwrap();
        wrong_password(&mut t, "x", A, t0).unwrap();
        wrong_password(&mut t, "y", A, t0).unwrap();
        wrong_password(&mut t, "y", A, t0).unwrap();
        let mut attempt = t.begin("x", A, t0).unwrap();
        t.password_verified(&mut attempt, t0).unwrap();
        t.settle(attempt, Outcome::Succeeded);
        // x's wrong code is forgotten: two more may fail before x is refused.
        wrong_code(&mut t, "x", B, t0).unwrap();
        wrong_code(&mut t, "x", B, t0).unwrap();
        assert!(t.begin("x", B, t0).is_err());
        // A keeps its 4 failures, x's among them: one more attempt, then none.
        drop(t.begin("z", A, t0).unwrap());
        assert!(t.begin("z", A, t0).is_err());
    }

    #[test]
    fn ipv6_is_counted_by_its_64_and_mapped_ipv4_as_ipv4() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let next_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientNetwork::of(one), ClientNetwork::of(same_64));
        assert_ne!(ClientNetwork::of(one), ClientNetwork::of(next_64));
        assert_eq!(ClientNetwork::of(one).to_string(), "2001:db8:1:2::/64");
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(ClientNetwork::of(mapped), ClientNetwork::of(A));
        assert_eq!(ClientNetwork::of(mapped).to_string(), "192.0.2.1");
        assert_ne!(ClientNetwork::of(IpAddr::V6(Ipv6Addr::LOCALHOST)), ClientNetwork::of(A));

        let (mut t, t0) = (throttle(), Instant::now());
        for _ in 0..3 {
            wrong_password(&mut t, "alice", one, t0).unwrap();
        }
        assert!(t.begin("alice", same_64, t0).is_err(), "a new address in the same /64 is the same client");
        assert!(t.begin("alice", next_64, t0).is_ok());
    }

    #[test]
    fn a_network_is_known_for_a_week_after_someone_logged_in_from_it() {
        let mut t = throttle();
        let now = Instant::now();
        let first = t.begin("alice", A, now).unwrap();
        assert!(!first.from_known_network(), "nobody has logged in from A yet");
        t.settle(first, Outcome::Failed);
        let failed_again = t.begin("alice", A, now).unwrap();
        assert!(!failed_again.from_known_network(), "a failure does not make a network known");
        t.settle(failed_again, Outcome::Succeeded);
        let later = t.begin("bob", A, now + MINUTE).unwrap();
        assert!(later.from_known_network(), "after a login, anyone's attempts from A are");
        t.settle(later, Outcome::NotChecked);
        let elsewhere = t.begin("alice", B, now + MINUTE).unwrap();
        assert!(!elsewhere.from_known_network(), "only the network the login came from");
        t.settle(elsewhere, Outcome::NotChecked);
        let week_on = t.begin("alice", A, now + KNOWN_FOR).unwrap();
        assert!(!week_on.from_known_network(), "forgotten a week later");
        t.settle(week_on, Outcome::NotChecked);
    }

    #[test]
    fn an_attempt_dropped_mid_hash_still_counts() {
        let (mut t, t0) = (throttle(), Instant::now());
        for _ in 0..3 {
            drop(t.begin("alice", A, t0).unwrap());
        }
        assert!(t.begin("alice", A, t0).is_err());
    }
}
