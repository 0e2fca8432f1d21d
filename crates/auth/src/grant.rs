//! `SessionGrant`: the proof that one user may open one session, as one
//! login, on one desktop. Nothing starts a desktop without one, so the only
//! ways to make one are the checks that decide it:
//!
//! - in the auth service's process, [`ControlPlane::authorize_session`]
//!   (from a [`VerifiedUser`], the current roles and locks);
//! - on a desktop service on its own host, [`SessionGrant::decided_remotely`],
//!   which takes what the auth service sent together with the
//!   [`VerifiedUser`] the service got by checking the certificate itself
//!   (`verify_user_with_root`): the grant must name that user, and the
//!   desktop, kind and login the service asked about.
//!
//! A `VerifiedUser` has no public constructor, so neither path can be
//! skipped by accident. (Rust visibility cannot stop code in the same
//! binary from verifying a certificate against a CA it made up; it stops
//! code from building a grant without verifying anything.)
//!
//! [`ControlPlane::authorize_session`]: crate::control_plane::ControlPlane::authorize_session

use std::time::SystemTime;

use oriel_rbac::{DesktopKind, RecordingMode, SessionOptions};

use crate::ca::VerifiedUser;

/// Who a granted session is for and where: what locks are matched against
/// and disconnects are recorded with. Plain data (it proves nothing); a
/// [`SessionGrant`] holds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedSession {
    /// The Oriel user.
    pub user: String,
    /// The desktop login.
    pub login: String,
    /// The user's roles (locks may target them).
    pub roles: Vec<String>,
    /// The kind of the desktop.
    pub desktop_kind: DesktopKind,
    /// The desktop's name (a desktop service's host id).
    pub desktop: String,
    /// What a lock's `server_id` names for it: the host whose desktop
    /// service serves the desktop (a Linux desktop's own name).
    pub server_id: String,
}

/// Proof that a session may start; see the module documentation.
#[derive(Debug)]
pub struct SessionGrant {
    session: GrantedSession,
    options: SessionOptions,
    recording_mode: RecordingMode,
    certificate_expires: SystemTime,
    /// The verified certificate (DER) it was granted on: the session is
    /// re-authorized from it while it runs.
    certificate: Vec<u8>,
}

impl SessionGrant {
    /// Made by the in-process decision only.
    pub(crate) fn decided(session: GrantedSession, options: SessionOptions, recording_mode: RecordingMode, certificate: &VerifiedUser) -> Self {
        Self { session, options, recording_mode, certificate_expires: certificate.expires(), certificate: certificate.certificate().to_vec() }
    }

    /// The grant the auth service decided and sent over the cluster API,
    /// accepted only for the certificate this service verified itself and
    /// only for the session it asked about (`asked`): the user, the
    /// desktop, its kind and the login must all match, else
    /// [`GrantMismatch`]. The session ends when the verified certificate
    /// expires, whatever the message said.
    pub fn decided_remotely(parts: GrantParts, certificate: VerifiedUser, asked: &SessionTarget<'_>) -> Result<Self, GrantMismatch> {
        if parts.session.user != certificate.user() {
            return Err(GrantMismatch::User { granted: parts.session.user, certificate: certificate.user().to_owned() });
        }
        let target = SessionTarget { kind: parts.session.desktop_kind, desktop: &parts.session.desktop, login: &parts.session.login };
        if target != *asked {
            return Err(GrantMismatch::Target { granted: target.to_string(), asked: asked.to_string() });
        }
        Ok(Self {
            session: parts.session,
            options: parts.options,
            recording_mode: parts.recording_mode,
            certificate_expires: certificate.expires(),
            certificate: certificate.certificate().to_vec(),
        })
    }

    /// Whether this grant is for `target`. Code that starts or keeps a
    /// session checks it against what it was asked for.
    pub fn is_for(&self, target: &SessionTarget<'_>) -> bool {
        self.target() == *target
    }

    /// The session this grant is for.
    pub fn target(&self) -> SessionTarget<'_> {
        SessionTarget { kind: self.session.desktop_kind, desktop: &self.session.desktop, login: &self.session.login }
    }

    /// Who and where, for locks and records.
    pub fn session(&self) -> &GrantedSession {
        &self.session
    }
    /// The Oriel user.
    pub fn user(&self) -> &str {
        &self.session.user
    }
    /// The desktop login.
    pub fn login(&self) -> &str {
        &self.session.login
    }
    /// The desktop the grant is for.
    pub fn desktop(&self) -> &str {
        &self.session.desktop
    }
    /// The kind of that desktop.
    pub fn desktop_kind(&self) -> DesktopKind {
        self.session.desktop_kind
    }
    /// The user's roles (locks may target them).
    pub fn roles(&self) -> &[String] {
        &self.session.roles
    }
    /// Clipboard, directory sharing, recording, idle timeout, host user
    /// creation and per-session MFA, from the roles that allow this login
    /// on this desktop.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }
    /// The cluster's recording mode at the grant. With `options().record`,
    /// a `*-sync` mode means the session must end if recording fails.
    pub fn recording_mode(&self) -> RecordingMode {
        self.recording_mode
    }
    /// When the user certificate the session was granted on expires: the
    /// session ends then, as the login it came from has ended. Always
    /// known (a grant is made from a verified certificate).
    pub fn certificate_expires(&self) -> Option<SystemTime> {
        Some(self.certificate_expires)
    }

    /// The user certificate (DER) the grant was made on, verified: a
    /// re-authorization decides again from it.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// What the roles in force (`now`, the options a new decision for this
    /// session gives) no longer allow of what this running session was
    /// given and cannot give back: the clipboard and directory sharing,
    /// which its process holds from its start, and lossy video, which it
    /// agreed with the browser at its start (a reconnection gets exact
    /// pixels). `None` when nothing was withdrawn.
    pub fn withdrawn_by(&self, now: &SessionOptions) -> Option<String> {
        let mut withdrawn = Vec::new();
        if self.options.clipboard && !now.clipboard {
            withdrawn.push("the clipboard");
        }
        if self.options.directory_sharing && !now.directory_sharing {
            withdrawn.push("directory sharing");
        }
        if self.options.lossy && !now.lossy {
            withdrawn.push("lossy video");
        }
        (!withdrawn.is_empty()).then(|| format!("the roles no longer allow {} in this session", withdrawn.join(" or ")))
    }

    /// The grant's contents, to send to a desktop service in another process.
    pub fn to_parts(&self) -> GrantParts {
        GrantParts {
            session: self.session.clone(),
            options: self.options.clone(),
            recording_mode: self.recording_mode,
            certificate_expires: Some(self.certificate_expires),
        }
    }
}

/// A session asked for: a login on a desktop of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTarget<'a> {
    /// The kind of the desktop.
    pub kind: DesktopKind,
    /// The desktop's name.
    pub desktop: &'a str,
    /// The login.
    pub login: &'a str,
}

impl std::fmt::Display for SessionTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "login {:?} on {} desktop {:?}", self.login, self.kind, self.desktop)
    }
}

/// A [`SessionGrant`]'s contents as the cluster API carries them. Plain
/// data: a desktop service turns it into a grant only with
/// [`SessionGrant::decided_remotely`].
#[derive(Debug, Clone, PartialEq)]
pub struct GrantParts {
    /// Who and where.
    pub session: GrantedSession,
    /// The session's options (`session_mfa` included).
    pub options: SessionOptions,
    /// The cluster's recording mode.
    pub recording_mode: RecordingMode,
    /// When the user certificate expires, as the auth service read it.
    pub certificate_expires: Option<SystemTime>,
}

/// Why a grant from the auth service was not accepted: it does not match
/// what this desktop service asked and verified. An internal fault on the
/// auth service's side (or a tampered answer); retrying will not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantMismatch {
    /// The grant names another user than the certificate.
    #[error("the auth service granted the session to {granted:?}, but the certificate names {certificate:?}")]
    User {
        /// The user in the grant.
        granted: String,
        /// The user the verified certificate names.
        certificate: String,
    },
    /// The grant is for another desktop, kind or login.
    #[error("the auth service granted {granted}, but this service asked for {asked}")]
    Target {
        /// What the grant is for.
        granted: String,
        /// What was asked.
        asked: String,
    },
}
