//! A session's life, sans-IO: who is attached, whether it still starts,
//! runs, or waits for its owner to come back, and when it must end (its
//! owner away for the grace period, the idle timeout, the certificate's
//! expiry). Participants who joined do not hold the session: it is the
//! owner's, and waits for the owner alone. Fed viewers, input and the current time; answers when to wake
//! and why to end, so every timer is tested on a virtual clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One browser connection to a session, numbered from 1.
pub type ViewerId = u64;

/// What a viewer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ViewerMode {
    /// The user who started the session: input, ending it, resuming it.
    Owner,
    /// A participant who may use the mouse and keyboard.
    Peer,
    /// A participant who only watches.
    Observer,
}

impl ViewerMode {
    /// Whether this viewer's mouse and keyboard reach the desktop.
    pub fn may_send_input(self) -> bool {
        self != Self::Observer
    }
}

/// The limits a session lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifeConfig {
    /// How long the session waits with nobody attached; zero ends it when
    /// the last viewer leaves.
    pub grace: Duration,
    /// The client idle timeout: no input for this long ends the session.
    pub idle_timeout: Option<Duration>,
    /// When the certificate the session was granted on expires.
    pub expires: Option<Instant>,
}

/// Why the session must end, as far as its life goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifeEnd {
    /// The last viewer left while nothing could be resumed (the session
    /// was still starting, or there is no grace), or the owner ended it.
    ClientLeft,
    /// Nobody came back within the grace period.
    NotResumed(Duration),
    /// No input for the idle timeout.
    Idle(Duration),
    /// The certificate the session was granted on expired.
    CertificateExpired,
}

/// Why a viewer cannot attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachRefused {
    /// Its first viewer is still choosing and starting the xsession.
    #[error("the session is still starting")]
    Starting,
    /// It has ended.
    #[error("the session has ended")]
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The first viewer's hello, the picker and the xsession's start.
    Starting,
    /// The xsession runs: viewers may come and go.
    Running,
    Ended,
}

/// The state machine; see the module documentation.
#[derive(Debug)]
pub struct SessionLife {
    config: LifeConfig,
    phase: Phase,
    viewers: BTreeMap<ViewerId, ViewerMode>,
    last_input: Instant,
    detached_at: Option<Instant>,
    next_id: ViewerId,
}

impl SessionLife {
    /// A session starting at `now`, nobody attached yet.
    pub fn new(now: Instant, config: LifeConfig) -> Self {
        Self { config, phase: Phase::Starting, viewers: BTreeMap::new(), last_input: now, detached_at: None, next_id: 1 }
    }

    /// Attaches a viewer. While starting, only the first one may.
    pub fn attach(&mut self, mode: ViewerMode) -> Result<ViewerId, AttachRefused> {
        match self.phase {
            Phase::Ended => return Err(AttachRefused::Ended),
            Phase::Starting if !self.viewers.is_empty() => return Err(AttachRefused::Starting),
            _ => {}
        }
        let id = self.next_id;
        self.next_id += 1;
        self.viewers.insert(id, mode);
        if mode == ViewerMode::Owner {
            self.detached_at = None;
        }
        Ok(id)
    }

    /// The xsession runs: from now on the session outlives its viewers.
    pub fn started(&mut self) {
        if self.phase == Phase::Starting {
            self.phase = Phase::Running;
        }
    }

    /// Whether the xsession runs (a resume can attach).
    pub fn is_running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// A viewer left. `Some` when that ends the session.
    pub fn detach(&mut self, now: Instant, id: ViewerId) -> Option<LifeEnd> {
        if self.viewers.remove(&id).is_none() || self.owner_attached() || self.phase == Phase::Ended || self.detached_at.is_some() {
            return None;
        }
        if self.phase == Phase::Starting || self.config.grace.is_zero() {
            self.phase = Phase::Ended;
            return Some(LifeEnd::ClientLeft);
        }
        self.detached_at = Some(now);
        None
    }

    /// A viewer asked to end the session (`EndSession`): only its owner may.
    pub fn end_requested(&mut self, id: ViewerId) -> Option<LifeEnd> {
        match self.viewers.get(&id) {
            Some(ViewerMode::Owner) if self.phase != Phase::Ended => {
                self.phase = Phase::Ended;
                Some(LifeEnd::ClientLeft)
            }
            _ => None,
        }
    }

    /// A viewer's mouse or keyboard input: whether it may reach the desktop
    /// (it counts against the idle timeout only then).
    pub fn input(&mut self, now: Instant, id: ViewerId) -> bool {
        let allowed = self.viewers.get(&id).is_some_and(|mode| mode.may_send_input());
        if allowed {
            self.last_input = now;
        }
        allowed
    }

    /// The owner came back with a new certificate: the session now lasts
    /// as long as that one.
    pub fn renew(&mut self, expires: Option<Instant>) {
        self.config.expires = expires;
    }

    /// When `poll` must next be called, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        if self.phase == Phase::Ended {
            return None;
        }
        let idle = self.config.idle_timeout.map(|timeout| self.last_input + timeout);
        let grace = self.detached_at.map(|at| at + self.config.grace);
        [idle, grace, self.config.expires].into_iter().flatten().min()
    }

    /// Why the session must end at `now`, if it must.
    pub fn poll(&mut self, now: Instant) -> Option<LifeEnd> {
        if self.phase == Phase::Ended {
            return None;
        }
        let end = if self.config.expires.is_some_and(|at| now >= at) {
            LifeEnd::CertificateExpired
        } else if let Some(timeout) = self.config.idle_timeout.filter(|timeout| now >= self.last_input + *timeout) {
            LifeEnd::Idle(timeout)
        } else if self.detached_at.is_some_and(|at| now >= at + self.config.grace) {
            LifeEnd::NotResumed(self.config.grace)
        } else {
            return None;
        };
        self.phase = Phase::Ended;
        Some(end)
    }

    /// The viewer whose acknowledgements pace the frames: the owner, else
    /// the longest attached peer, else observer. The others get frames as
    /// fast as they take them, and a keyframe when they fall behind.
    pub fn pacing_viewer(&self) -> Option<ViewerId> {
        self.viewers.iter().min_by_key(|(id, mode)| (**mode, **id)).map(|(id, _)| *id)
    }

    /// The viewer's mode, if attached.
    pub fn mode(&self, id: ViewerId) -> Option<ViewerMode> {
        self.viewers.get(&id).copied()
    }

    /// Whether nobody is attached.
    pub fn is_detached(&self) -> bool {
        self.viewers.is_empty()
    }

    /// Whether the owner is attached (in some window).
    pub fn owner_attached(&self) -> bool {
        self.viewers.values().any(|mode| *mode == ViewerMode::Owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn life(grace: Duration, idle_timeout: Option<Duration>, expires_in: Option<Duration>) -> (SessionLife, Instant) {
        let t0 = Instant::now();
        (SessionLife::new(t0, LifeConfig { grace, idle_timeout, expires: expires_in.map(|d| t0 + d) }), t0)
    }

    fn running(grace: Duration) -> (SessionLife, Instant, ViewerId) {
        let (mut life, t0) = life(grace, None, None);
        let owner = life.attach(ViewerMode::Owner).unwrap();
        life.started();
        (life, t0, owner)
    }

    #[test]
    fn a_running_session_waits_for_the_grace_period_then_ends() {
        let (mut life, t0, owner) = running(10 * MINUTE);
        assert_eq!(life.detach(t0 + MINUTE, owner), None);
        assert!(life.is_detached());
        assert_eq!(life.deadline(), Some(t0 + 11 * MINUTE));
        assert_eq!(life.poll(t0 + 11 * MINUTE - Duration::from_millis(1)), None);
        assert_eq!(life.poll(t0 + 11 * MINUTE), Some(LifeEnd::NotResumed(10 * MINUTE)));
        assert_eq!(life.attach(ViewerMode::Owner), Err(AttachRefused::Ended));
        assert_eq!(life.deadline(), None);
    }

    #[test]
    fn coming_back_within_the_grace_keeps_it() {
        let (mut life, t0, owner) = running(10 * MINUTE);
        life.detach(t0, owner);
        let again = life.attach(ViewerMode::Owner).unwrap();
        assert_ne!(again, owner);
        assert_eq!(life.deadline(), None);
        assert_eq!(life.poll(t0 + 60 * MINUTE), None);
        // Leaving again starts a new grace period.
        life.detach(t0 + 60 * MINUTE, again);
        assert_eq!(life.deadline(), Some(t0 + 70 * MINUTE));
    }

    #[test]
    fn without_grace_the_last_viewer_leaving_ends_it() {
        let (mut life, t0, owner) = running(Duration::ZERO);
        assert_eq!(life.detach(t0, owner), Some(LifeEnd::ClientLeft));
        assert_eq!(life.poll(t0 + MINUTE), None);
    }

    #[test]
    fn leaving_before_the_xsession_runs_ends_it_whatever_the_grace() {
        let (mut life, t0) = life(10 * MINUTE, None, None);
        let owner = life.attach(ViewerMode::Owner).unwrap();
        assert_eq!(life.attach(ViewerMode::Owner), Err(AttachRefused::Starting));
        assert!(!life.is_running());
        assert_eq!(life.detach(t0, owner), Some(LifeEnd::ClientLeft));
    }

    #[test]
    fn the_idle_timeout_runs_while_detached_and_input_resets_it() {
        let (mut life, t0) = life(30 * MINUTE, Some(5 * MINUTE), None);
        let owner = life.attach(ViewerMode::Owner).unwrap();
        life.started();
        assert!(life.input(t0 + 2 * MINUTE, owner));
        assert_eq!(life.deadline(), Some(t0 + 7 * MINUTE));
        life.detach(t0 + 3 * MINUTE, owner);
        // The idle deadline comes before the grace's end.
        assert_eq!(life.deadline(), Some(t0 + 7 * MINUTE));
        assert_eq!(life.poll(t0 + 7 * MINUTE), Some(LifeEnd::Idle(5 * MINUTE)));
    }

    #[test]
    fn the_certificate_expiry_ends_it_attached_or_not_and_a_resume_renews_it() {
        let (mut life, t0) = life(30 * MINUTE, None, Some(10 * MINUTE));
        let owner = life.attach(ViewerMode::Owner).unwrap();
        life.started();
        life.detach(t0 + MINUTE, owner);
        let again = life.attach(ViewerMode::Owner).unwrap();
        life.renew(Some(t0 + 60 * MINUTE));
        assert_eq!(life.poll(t0 + 10 * MINUTE), None);
        assert_eq!(life.deadline(), Some(t0 + 60 * MINUTE));
        life.detach(t0 + 55 * MINUTE, again);
        assert_eq!(life.poll(t0 + 60 * MINUTE), Some(LifeEnd::CertificateExpired));
    }

    #[test]
    fn observers_send_no_input_and_cannot_end_the_session() {
        let (mut life, t0, owner) = running(10 * MINUTE);
        let observer = life.attach(ViewerMode::Observer).unwrap();
        let peer = life.attach(ViewerMode::Peer).unwrap();
        assert!(!life.input(t0, observer));
        assert!(life.input(t0, peer));
        assert_eq!(life.end_requested(observer), None);
        assert_eq!(life.end_requested(peer), None);
        // The owner paces; without it the peer, then the observer.
        assert_eq!(life.pacing_viewer(), Some(owner));
        assert_eq!(life.detach(t0, owner), None);
        assert_eq!(life.pacing_viewer(), Some(peer));
        life.detach(t0, peer);
        assert_eq!(life.pacing_viewer(), Some(observer));
        // Participants do not hold the owner's session: the grace runs.
        assert_eq!(life.deadline(), Some(t0 + 10 * MINUTE));
        assert!(!life.is_detached(), "someone still watches");
        // Another participant coming stops nothing; the owner coming back does.
        life.attach(ViewerMode::Observer).unwrap();
        assert_eq!(life.deadline(), Some(t0 + 10 * MINUTE));
        life.attach(ViewerMode::Owner).unwrap();
        assert_eq!(life.deadline(), None);
    }

    #[test]
    fn without_grace_the_owner_leaving_ends_it_for_the_participants_too() {
        let (mut life, t0, owner) = running(Duration::ZERO);
        life.attach(ViewerMode::Peer).unwrap();
        assert_eq!(life.detach(t0, owner), Some(LifeEnd::ClientLeft));
    }

    #[test]
    fn the_owner_ends_it_at_once() {
        let (mut life, t0, owner) = running(10 * MINUTE);
        assert_eq!(life.end_requested(owner), Some(LifeEnd::ClientLeft));
        assert_eq!(life.detach(t0, owner), None);
        assert_eq!(life.poll(t0 + 60 * MINUTE), None);
    }
}
