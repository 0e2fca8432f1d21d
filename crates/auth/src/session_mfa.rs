//! Per-session MFA for desktops, as Teleport does it: when a role that
//! allows the login, or the cluster's `cluster_auth_preference`, says
//! `require_session_mfa`, a login certificate alone no longer starts a
//! session. The proxy asks [`ControlPlane::session_mfa_requirement`], has
//! the user's key answer a fresh challenge (`webauthn/session_mfa.rs`,
//! which makes the [`MfaVerified`] proof), and trades the proof for a
//! certificate ([`ControlPlane::issue_session_mfa_certificate`]) whose
//! `session_mfa` scope names that one desktop and login and a start window
//! of [`SESSION_MFA_START_WINDOW`].
//!
//! The scope is checked in every decision ([`mfa_of`]): at the start, a
//! certificate for another desktop or login, or past its window, starts
//! nothing; while the session runs, re-authorization keeps the session's
//! MFA (the check was done when it started), and the session lasts as long
//! as the login it came from (the certificate's validity), as Teleport's do.

use std::time::{Duration, SystemTime};

use oriel_rbac::{Decision, DenyReason, SessionMfa};

use crate::ca::{IssuedCert, SessionMfaScope, UserIdentity};
use crate::control_plane::{AccessDenied, ControlPlane, SessionTarget};
pub use crate::webauthn::MfaVerified;

/// How long after the MFA check the session must start (Teleport's
/// per-session certificates live one minute).
pub const SESSION_MFA_START_WINDOW: Duration = Duration::from_secs(60);

/// When a decision is made: whether an MFA scope's start window applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPhase {
    /// A session is about to start.
    Start,
    /// A running session is checked again.
    Running,
}

/// Whether a session needs an MFA check first, and who says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaRequirement {
    /// No: the login certificate is enough (or the roles refuse anyway,
    /// which the desktop service will say).
    No,
    /// Yes, because of this role; `None`: the cluster's preference.
    Yes {
        /// The first role that allows the login and requires it.
        role: Option<String>,
    },
}

impl ControlPlane {
    /// Whether the holder of the login certificate `cert_der` must pass
    /// an MFA check before a session at `target`.
    pub async fn session_mfa_requirement(&self, cert_der: &[u8], target: SessionTarget<'_>) -> Result<MfaRequirement, AccessDenied> {
        let verified = self.verify_user_cert(cert_der).await?;
        match self.decide(&verified, target, SessionPhase::Start).await {
            Ok(_) => Ok(MfaRequirement::No),
            Err(AccessDenied::Roles(_)) => {
                // The decision's reason, typed: only the roles' answer says MFA.
                let report = self
                    .access_check(verified.user(), target.kind, target.desktop, target.login)
                    .await
                    .map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
                Ok(match report.decision {
                    Decision::Denied(denied) => match denied.reason {
                        DenyReason::MfaRequired { role } => MfaRequirement::Yes { role },
                        _ => MfaRequirement::No,
                    },
                    Decision::Allowed(_) => MfaRequirement::No,
                })
            }
            Err(_) => Ok(MfaRequirement::No),
        }
    }

    /// A certificate that starts one session at `target`, for the holder of
    /// the login certificate `cert_der` who just passed the MFA check
    /// `proof`: the login's identity, with the `session_mfa` scope, valid
    /// as long as the login's certificate.
    pub async fn issue_session_mfa_certificate(&self, cert_der: &[u8], target: SessionTarget<'_>, proof: MfaVerified) -> Result<IssuedCert, AccessDenied> {
        let verified = self.verify_user_cert(cert_der).await?;
        if proof.user() != verified.user() {
            return Err(AccessDenied::Unknown(format!("the MFA check was {:?}'s, not {:?}'s", proof.user(), verified.user())));
        }
        if verified.identity().session_mfa.is_some() {
            return Err(AccessDenied::Unknown("a per-session MFA certificate cannot be traded for another".into()));
        }
        let now = self.clock.now();
        let ttl = verified.expires().duration_since(now).map_err(|_| AccessDenied::Unknown("your login has expired; log in again".into()))?;
        let mut identity: UserIdentity = verified.identity().clone();
        identity.session_mfa = Some(SessionMfaScope {
            kind: target.kind,
            desktop: target.desktop.to_owned(),
            login: target.login.to_owned(),
            start_by: now + SESSION_MFA_START_WINDOW,
        });
        let ca = self.cert_authority().await.map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
        ca.issue_user(&identity, ttl, now).map_err(|e| AccessDenied::Unavailable(e.to_string()))
    }
}

/// The per-session MFA a certificate of `identity` brings to a decision at
/// `target`: verified for its own target (at the start, only inside its
/// window); refused for any other target; none, without a scope, at the
/// start. A running session is not asked again: MFA is a condition of
/// starting, so turning `require_session_mfa` on leaves sessions that
/// started before alone (everything else that ends sessions still does).
pub(crate) fn mfa_of(identity: &UserIdentity, target: &SessionTarget<'_>, phase: SessionPhase, now: SystemTime) -> Result<SessionMfa, AccessDenied> {
    let Some(scope) = &identity.session_mfa else {
        return Ok(match phase {
            SessionPhase::Start => SessionMfa::NotVerified,
            SessionPhase::Running => SessionMfa::Verified,
        });
    };
    let scoped = SessionTarget { kind: scope.kind, desktop: &scope.desktop, login: &scope.login };
    if scoped != *target {
        return Err(AccessDenied::Unknown(format!("this per-session MFA certificate is for {scoped} only")));
    }
    if phase == SessionPhase::Start && now > scope.start_by {
        return Err(AccessDenied::Unknown("the per-session MFA check was more than a minute ago; connect again to answer a new one".into()));
    }
    Ok(SessionMfa::Verified)
}

#[cfg(test)]
mod tests {
    use oriel_rbac::DesktopKind;

    use super::*;

    fn scoped(start_by: SystemTime) -> UserIdentity {
        UserIdentity {
            user: "alice".into(),
            session_mfa: Some(SessionMfaScope { kind: DesktopKind::Linux, desktop: "dev".into(), login: "alice".into(), start_by }),
            ..UserIdentity::default()
        }
    }

    #[test]
    fn a_scope_verifies_its_own_target_only_and_starts_only_in_its_window() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let identity = scoped(now + SESSION_MFA_START_WINDOW);
        let dev = SessionTarget { kind: DesktopKind::Linux, desktop: "dev", login: "alice" };
        assert_eq!(mfa_of(&identity, &dev, SessionPhase::Start, now).unwrap(), SessionMfa::Verified);
        for other in [
            SessionTarget { kind: DesktopKind::Linux, desktop: "prod", login: "alice" },
            SessionTarget { kind: DesktopKind::Linux, desktop: "dev", login: "root2" },
            SessionTarget { kind: DesktopKind::Windows, desktop: "dev", login: "alice" },
        ] {
            let refused = mfa_of(&identity, &other, SessionPhase::Start, now).unwrap_err().to_string();
            assert!(refused.contains("for login \"alice\" on linux desktop \"dev\" only"), "{refused}");
            assert!(mfa_of(&identity, &other, SessionPhase::Running, now).is_err(), "not while running either");
        }
        let late = now + SESSION_MFA_START_WINDOW + Duration::from_secs(1);
        assert!(mfa_of(&identity, &dev, SessionPhase::Start, late).unwrap_err().to_string().contains("more than a minute ago"));
        assert_eq!(mfa_of(&identity, &dev, SessionPhase::Running, late).unwrap(), SessionMfa::Verified, "a started session keeps its MFA");
        let plain = UserIdentity { user: "alice".into(), ..UserIdentity::default() };
        assert_eq!(mfa_of(&plain, &dev, SessionPhase::Start, now).unwrap(), SessionMfa::NotVerified);
        assert_eq!(mfa_of(&plain, &dev, SessionPhase::Running, now).unwrap(), SessionMfa::Verified, "a running session is not asked again");
    }
}
