//! `JoinGrant`: the proof that one user may join someone else's running
//! desktop session, as an observer or a peer. As with [`SessionGrant`],
//! only the check that decides it makes one: [`ControlPlane::authorize_join`]
//! in the auth service's process, or [`JoinGrant::decided_remotely`] on a
//! desktop service of its own host, from the auth service's answer and the
//! certificate the service verified itself.
//!
//! [`SessionGrant`]: crate::control_plane::SessionGrant

use std::time::SystemTime;

use oriel_rbac::{DESKTOP_SESSIONS, DesktopKind, JoinDecision, JoinMode, RoleSet};

use crate::ca::VerifiedUser;
use crate::control_plane::{AccessDenied, ControlPlane};
use crate::grant::GrantMismatch;
use crate::resources::lock::{self, SessionSubject};
use crate::store::StoreError;

/// Proof that a user may join a session; see the module documentation.
#[derive(Debug)]
pub struct JoinGrant {
    user: String,
    mode: JoinMode,
    certificate: Vec<u8>,
    certificate_expires: SystemTime,
}

impl JoinGrant {
    /// The auth service's answer, accepted only for the certificate this
    /// service verified itself and for the mode it asked about.
    pub fn decided_remotely(user: &str, mode: JoinMode, certificate: VerifiedUser, asked: JoinMode) -> Result<Self, GrantMismatch> {
        if user != certificate.user() {
            return Err(GrantMismatch::User { granted: user.to_owned(), certificate: certificate.user().to_owned() });
        }
        if mode != asked {
            return Err(GrantMismatch::Target { granted: format!("joining as {mode}"), asked: format!("joining as {asked}") });
        }
        Ok(Self::decided(mode, &certificate))
    }

    fn decided(mode: JoinMode, certificate: &VerifiedUser) -> Self {
        Self { user: certificate.user().to_owned(), mode, certificate: certificate.certificate().to_vec(), certificate_expires: certificate.expires() }
    }

    /// The user who joins.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// How.
    pub fn mode(&self) -> JoinMode {
        self.mode
    }

    /// The certificate it was decided on (DER): decided again from it while the participant stays.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// When that certificate expires: the participant leaves then.
    pub fn certificate_expires(&self) -> SystemTime {
        self.certificate_expires
    }
}

impl ControlPlane {
    /// Decides whether the holder of `cert_der` may join, in `mode`, the
    /// running session on `desktop` whose owner holds `owner_roles`: the
    /// certificate must be this cluster's and still speak for its user, no
    /// lock may apply to that user on this desktop, and one of the user's
    /// current roles must allow it (`join_sessions`). Whether the owner
    /// invited them is the session's business.
    pub async fn authorize_join(
        &self,
        cert_der: &[u8],
        kind: DesktopKind,
        desktop: &str,
        owner_roles: &[String],
        mode: JoinMode,
    ) -> Result<JoinGrant, AccessDenied> {
        let verified = self.verify_user_cert(cert_der).await?;
        self.check_identity(&verified).await?;
        let user = match self.store.user(verified.user()).await {
            Ok(user) => user.value,
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => {
                return Err(AccessDenied::Unknown(format!("user {:?} not found", verified.user())));
            }
            Err(e) => return Err(AccessDenied::Unavailable(e.to_string())),
        };
        let roles = self.roles_of(&user).await.map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
        // A lock on the host that serves the desktop keeps joiners out too.
        let server_id = match self.store.desktop(kind, desktop).await {
            Ok(record) => record.server_id().to_owned(),
            // The desktop left the listings while its session runs: its
            // host is unknown, so a lock on any host would be missed.
            Err(StoreError::NotFound { .. }) => return Err(AccessDenied::Unknown(format!("{kind} desktop {desktop:?} is no longer registered"))),
            Err(e) => return Err(AccessDenied::Unavailable(e.to_string())),
        };
        let subject = SessionSubject { user: user.name.as_str(), roles: &user.roles, login: "", server_id: &server_id, desktop_kind: kind, desktop };
        let locks = self.store.locks().await.map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
        if let Some(lock) = lock::find(&locks, &subject, self.clock.now()) {
            return Err(AccessDenied::Locked(lock.message.clone()));
        }
        match RoleSet::new(&roles, &user.traits).check_join(owner_roles, DESKTOP_SESSIONS, mode) {
            JoinDecision::Allowed { .. } => Ok(JoinGrant::decided(mode, &verified)),
            JoinDecision::Denied { reason } => Err(AccessDenied::Roles(reason)),
        }
    }
}
