//! Re-authorizing a running session: when it is due, and how long it may
//! go on while the answer cannot be had.

use std::time::Duration;

use oriel_auth::control_plane::SessionGrant;

use super::SessionError;
use crate::authority::{AuthorityError, Revoked, SessionAuthority};

/// How often a running session is re-authorized while the feed of access
/// changes is down: a revocation ends it within this (plus one round trip).
/// While the feed is up, a change wakes it at once instead.
pub(super) const RECHECK_POLL: Duration = Duration::from_secs(1);
/// How often a session is re-authorized anyway while the feed is up, for
/// what the feed does not watch (a desktop's labels).
pub(super) const RECHECK_SAFETY: Duration = Duration::from_secs(10);
/// How long a session goes on while it cannot be re-authorized (the auth
/// service or its storage unreachable): long enough for a restart or a
/// network blip, short enough that access taken away meanwhile does not
/// last. After it the session ends: nothing runs that cannot be checked.
pub(super) const AUTHORITY_GRACE: Duration = Duration::from_secs(30);
/// A re-authorization that has not answered in this long has failed (the
/// grace runs): a store or auth service that hangs must not hold a session
/// open past the grace.
pub(super) const RECHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// A running session's re-authorization: when it is due, and how long it
/// has failed.
#[derive(Debug)]
pub(super) struct Recheck {
    last: tokio::time::Instant,
    failing_since: Option<tokio::time::Instant>,
}

impl Default for Recheck {
    fn default() -> Self {
        Self { last: tokio::time::Instant::now(), failing_since: None }
    }
}

impl Recheck {
    /// Whether the poll should ask now: every tick while the feed is down
    /// or the last answer failed, else only as the safety net.
    pub(super) fn due(&self, feed_live: bool) -> bool {
        !feed_live || self.failing_since.is_some() || self.last.elapsed() >= RECHECK_SAFETY
    }

    /// Asks; `Some` is why the session must end.
    pub(super) async fn check(&mut self, authority: &dyn SessionAuthority, grant: &SessionGrant) -> Option<SessionError> {
        self.last = tokio::time::Instant::now();
        let answer = match tokio::time::timeout(RECHECK_TIMEOUT, authority.still_allowed(grant)).await {
            Ok(answer) => answer,
            Err(_) => Err(AuthorityError::Unavailable(format!("no answer in {}s", RECHECK_TIMEOUT.as_secs()))),
        };
        match answer {
            Ok(None) => {
                self.failing_since = None;
                None
            }
            Ok(Some(revoked)) => Some(revoked_error(revoked)),
            Err(error) => {
                let since = *self.failing_since.get_or_insert(self.last);
                // An answer that asking again cannot change (this host
                // refused, an answer not understood) ends it at once.
                if !error.retry_helps() || since.elapsed() >= AUTHORITY_GRACE {
                    tracing::warn!(%error, "access cannot be checked; ending the session");
                    return Some(SessionError::Unverifiable(error));
                }
                // A short outage does not end sessions; each tick asks again.
                tracing::warn!(%error, "cannot re-authorize the session yet");
                None
            }
        }
    }
}

/// Why a running session ends, from what re-authorizing it found.
pub(super) fn revoked_error(revoked: Revoked) -> SessionError {
    match revoked {
        Revoked::Locked { message } => SessionError::Locked(message),
        Revoked::Access { reason } => SessionError::Revoked(reason),
    }
}
