//! Who decides whether a session may start and go on: the control plane in
//! this process, or the auth service over the cluster API when the desktop
//! service runs on its own host. The session asks through this one
//! interface either way, so the rules it enforces cannot differ.

use std::future::Future;
use std::pin::Pin;

use oriel_auth::control_plane::{AccessDenied, ControlPlane, SessionGrant};
use oriel_rbac::DesktopKind;

/// A boxed future: the trait is used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A lock in force on a running session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// The lock's message for the people it disconnects.
    pub message: Option<String>,
}

/// The decisions a desktop service needs. Every session start is
/// authorized from the user certificate alone; the service never takes a
/// user name on trust.
pub trait SessionAuthority: std::fmt::Debug + Send + Sync + 'static {
    /// Verifies `certificate` (a user certificate, DER) and decides whether
    /// its user may open a session as `login` on `desktop`.
    fn authorize<'a>(&'a self, certificate: &'a [u8], desktop: &'a str, login: &'a str) -> BoxFuture<'a, Result<SessionGrant, AccessDenied>>;

    /// The lock now in force on a granted session, if any. `Err` means it
    /// cannot be told now (the caller keeps the session and asks again).
    fn lock_on<'a>(&'a self, grant: &'a SessionGrant, desktop: &'a str) -> BoxFuture<'a, Result<Option<Locked>, String>>;

    /// Records that the service ended a session for `reason`.
    fn record_disconnect<'a>(&'a self, grant: &'a SessionGrant, desktop: &'a str, reason: &'a str) -> BoxFuture<'a, ()>;
}

impl SessionAuthority for ControlPlane {
    fn authorize<'a>(&'a self, certificate: &'a [u8], desktop: &'a str, login: &'a str) -> BoxFuture<'a, Result<SessionGrant, AccessDenied>> {
        Box::pin(self.authorize_certificate(certificate, DesktopKind::Linux, desktop, login))
    }

    fn lock_on<'a>(&'a self, grant: &'a SessionGrant, desktop: &'a str) -> BoxFuture<'a, Result<Option<Locked>, String>> {
        Box::pin(async move {
            match ControlPlane::lock_on(self, grant, DesktopKind::Linux, desktop).await {
                Ok(lock) => Ok(lock.map(|lock| Locked { message: lock.message })),
                Err(error) => Err(error.to_string()),
            }
        })
    }

    fn record_disconnect<'a>(&'a self, grant: &'a SessionGrant, desktop: &'a str, reason: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(ControlPlane::record_disconnect(self, grant, DesktopKind::Linux, desktop, reason))
    }
}
