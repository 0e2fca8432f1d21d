//! Who decides whether a session may start and go on: the control plane in
//! this process, or the auth service over the cluster API when the desktop
//! service runs on its own host. The session asks through this one
//! interface either way, so the rules it enforces cannot differ.

pub use oriel_auth::access_feed::AccessChanges;
use oriel_auth::audit::AuditEvent;
use oriel_auth::control_plane::{AccessDenied, ControlPlane, GrantMismatch, SessionGrant, SessionTarget};
use oriel_auth::join_grant::JoinGrant;
use oriel_rbac::{DesktopKind, JoinMode};
use oriel_recorder::{DeliveryError, RecordingDestination};
use tokio::sync::watch;

pub use oriel_recorder::BoxFuture;

/// A lock in force on a running session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// The lock's message for the people it disconnects.
    pub message: Option<String>,
}

/// Why a running session may not go on, found by re-authorizing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// A lock is in force on it.
    Locked {
        /// The lock's message for the people it disconnects.
        message: Option<String>,
    },
    /// The user, their roles, traits or web session no longer allow it
    /// (removed, a role edited or taken away, a password reset, a logout).
    Access {
        /// Why, in words for the person whose session ends.
        reason: String,
    },
}

impl Revoked {
    /// The decision's refusal as a revocation.
    pub fn from_denied(denied: AccessDenied) -> Self {
        match denied {
            AccessDenied::Locked(message) => Self::Locked { message },
            other => {
                let text = other.to_string();
                Self::Access { reason: text.strip_prefix("access denied: ").map(str::to_owned).unwrap_or(text) }
            }
        }
    }
}

/// Which side of a call to the deciding service failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedSide {
    /// The network between this service and the auth service.
    Network,
    /// The auth service or its storage (the control plane in this process
    /// included).
    AuthService,
    /// This service: what it sent or what it is (its certificate) was refused.
    ThisService,
}

/// Why a question to the deciding service got no answer. Each says which
/// side failed and whether asking again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// The auth service could not be reached or did not answer in time.
    /// Retrying helps once it is back.
    #[error("the auth service at {addr} is unreachable: {reason}")]
    Unreachable {
        /// Where it was called.
        addr: String,
        /// What failed on the way, every cause in one line.
        reason: String,
    },
    /// The auth service (or the control plane's storage) answered that it
    /// cannot do it now. Retrying helps.
    #[error("the auth service cannot answer now: {0}")]
    Unavailable(String),
    /// The auth service refused the call: this host's certificate or its
    /// request. Retrying the same call does not help.
    #[error("the auth service refused the call: {0}")]
    Refused(String),
    /// The answer cannot be understood (another version, a bug).
    /// Retrying does not help.
    #[error("the auth service's answer is not understood: {0}")]
    Malformed(String),
}

impl AuthorityError {
    /// Whether asking again later can succeed.
    pub fn retry_helps(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Unavailable(_))
    }

    /// Which side failed.
    pub fn side(&self) -> FailedSide {
        match self {
            Self::Unreachable { .. } => FailedSide::Network,
            Self::Unavailable(_) | Self::Malformed(_) => FailedSide::AuthService,
            Self::Refused(_) => FailedSide::ThisService,
        }
    }
}

/// The decisions a desktop service needs. Every session start is
/// authorized from the user certificate alone; the service never takes a
/// user name on trust. The same service takes the session's recording.
pub trait SessionAuthority: RecordingDestination + std::fmt::Debug + Send + Sync + 'static {
    /// Verifies `certificate` (a user certificate, DER) and decides whether
    /// its user may open a session as `login` on the desktop `desktop` of
    /// `kind`. Call [`SessionAuthority::grant`], which also checks the
    /// grant is for that session.
    fn authorize<'a>(&'a self, certificate: &'a [u8], kind: DesktopKind, desktop: &'a str, login: &'a str)
    -> BoxFuture<'a, Result<SessionGrant, AccessDenied>>;

    /// The lock now in force on a granted session (on the grant's own
    /// desktop), if any. `Err` means it cannot be told now; see
    /// [`AuthorityError::retry_helps`].
    fn lock_on<'a>(&'a self, grant: &'a SessionGrant) -> BoxFuture<'a, Result<Option<Locked>, AuthorityError>>;

    /// Decides again whether a running session may go on, from the
    /// certificate it was granted on and the current user record, roles,
    /// traits, locks and web session. `Ok(Some)` ends it; `Err` means it
    /// cannot be told now (see [`AuthorityError::retry_helps`]).
    fn still_allowed<'a>(&'a self, grant: &'a SessionGrant) -> BoxFuture<'a, Result<Option<Revoked>, AuthorityError>>;

    /// Moves whenever something changed that may end running sessions:
    /// they call [`SessionAuthority::still_allowed`] then. While it is not
    /// `live` (or once its sender is gone) they poll instead.
    fn access_changes(&self) -> watch::Receiver<AccessChanges>;

    /// Writes audit events about this service's own sessions. It does not
    /// fail: what cannot be written is logged.
    fn record_events(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, ()>;

    /// Verifies `certificate` and decides whether its user may join, as
    /// `mode`, a session on the desktop `desktop` whose owner holds
    /// `owner_roles` (`join_sessions`, locks). Asked when a participant
    /// joins and again while it stays.
    fn authorize_join<'a>(
        &'a self,
        certificate: &'a [u8],
        kind: DesktopKind,
        desktop: &'a str,
        owner_roles: &'a [String],
        mode: JoinMode,
    ) -> BoxFuture<'a, Result<JoinGrant, AccessDenied>>;

    /// The user `certificate` (DER) speaks for, if this cluster's user CA
    /// signed it and it is valid now: who may see their running sessions.
    /// Nothing is decided: resuming one is authorized as a start is.
    fn verify_user<'a>(&'a self, certificate: &'a [u8]) -> BoxFuture<'a, Result<String, AccessDenied>>;

    /// [`SessionAuthority::authorize`], then the check that the grant is
    /// for this desktop (`kind`, `desktop`) and this `login`: a grant for
    /// anything else is refused.
    fn grant<'a>(&'a self, certificate: &'a [u8], kind: DesktopKind, desktop: &'a str, login: &'a str) -> BoxFuture<'a, Result<SessionGrant, AccessDenied>> {
        Box::pin(async move {
            let grant = self.authorize(certificate, kind, desktop, login).await?;
            let asked = SessionTarget { kind, desktop, login };
            if !grant.is_for(&asked) {
                return Err(GrantMismatch::Target { granted: grant.target().to_string(), asked: asked.to_string() }.into());
            }
            Ok(grant)
        })
    }
}

impl SessionAuthority for ControlPlane {
    fn authorize_join<'a>(
        &'a self,
        certificate: &'a [u8],
        kind: DesktopKind,
        desktop: &'a str,
        owner_roles: &'a [String],
        mode: JoinMode,
    ) -> BoxFuture<'a, Result<JoinGrant, AccessDenied>> {
        Box::pin(ControlPlane::authorize_join(self, certificate, kind, desktop, owner_roles, mode))
    }

    fn verify_user<'a>(&'a self, certificate: &'a [u8]) -> BoxFuture<'a, Result<String, AccessDenied>> {
        Box::pin(async move { Ok(self.verify_user_cert(certificate).await?.user().to_owned()) })
    }

    fn authorize<'a>(
        &'a self,
        certificate: &'a [u8],
        kind: DesktopKind,
        desktop: &'a str,
        login: &'a str,
    ) -> BoxFuture<'a, Result<SessionGrant, AccessDenied>> {
        Box::pin(self.authorize_certificate(certificate, kind, desktop, login))
    }

    fn lock_on<'a>(&'a self, grant: &'a SessionGrant) -> BoxFuture<'a, Result<Option<Locked>, AuthorityError>> {
        Box::pin(async move {
            match ControlPlane::lock_on(self, grant.session()).await {
                Ok(lock) => Ok(lock.map(|lock| Locked { message: lock.message })),
                Err(error) => Err(AuthorityError::Unavailable(error.to_string())),
            }
        })
    }

    fn still_allowed<'a>(&'a self, grant: &'a SessionGrant) -> BoxFuture<'a, Result<Option<Revoked>, AuthorityError>> {
        Box::pin(async move {
            match self.reauthorize(grant).await {
                Ok(()) => Ok(None),
                Err(AccessDenied::Unavailable(error)) => Err(AuthorityError::Unavailable(error)),
                Err(denied) => Ok(Some(Revoked::from_denied(denied))),
            }
        })
    }

    fn access_changes(&self) -> watch::Receiver<AccessChanges> {
        ControlPlane::access_changes(self)
    }

    fn record_events(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for event in events {
                self.emit(event).await;
            }
        })
    }
}

impl From<AuthorityError> for DeliveryError {
    fn from(error: AuthorityError) -> Self {
        DeliveryError { retry_helps: error.retry_helps(), message: error.to_string() }
    }
}
