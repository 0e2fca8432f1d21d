//! Who a certificate speaks for: a user with their roles and traits, or a
//! host with its role in the cluster.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// A person, as a user certificate carries them. The roles and traits are
/// those the user had when the certificate was issued; the desktop service
/// still reads the current ones before it grants a session, so a role
/// removed since grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserIdentity {
    /// The Oriel user name (the certificate's common name).
    pub user: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Login traits, e.g. `linux_logins`.
    pub traits: BTreeMap<String, Vec<String>>,
    /// The id of the user record it was issued for (`User::id`): a user
    /// removed and made again under the same name has another id, so the
    /// old user's certificates speak for nobody. `None` only in
    /// certificates of users stored before ids existed.
    pub user_id: Option<String>,
    /// The web session it was issued with (`WebSession::id`), when it came
    /// from a login: it speaks for the user only while that session lasts
    /// (logout, a password reset or the user's removal ends it).
    pub web_session: Option<String>,
    /// Set in a certificate issued after a per-session MFA check: the one
    /// desktop session it may start, and until when.
    pub session_mfa: Option<SessionMfaScope>,
}

/// What a per-session MFA certificate is good for: starting a session as
/// `login` on one desktop before `start_by` (a minute after the check).
/// The session it starts then lasts as long as the login it came from
/// (the certificate's validity), like any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionMfaScope {
    /// The desktop's kind.
    pub kind: oriel_rbac::DesktopKind,
    /// The desktop's name.
    pub desktop: String,
    /// The login.
    pub login: String,
    /// The session must start before this.
    pub start_by: SystemTime,
}

impl From<&crate::resources::user::User> for UserIdentity {
    fn from(user: &crate::resources::user::User) -> Self {
        Self {
            user: user.name.as_str().to_owned(),
            roles: user.roles.clone(),
            traits: user.traits.as_map().clone(),
            user_id: Some(user.id.clone()).filter(|id| !id.is_empty()),
            web_session: None,
            session_mfa: None,
        }
    }
}

/// A user certificate that passed every check: signed by the user CA it was
/// checked against, a user certificate for client authentication, valid at
/// the time given. Only [`crate::ca::CertAuthority::verify_user`] and
/// [`crate::ca::verify_user_with_root`] make one (its fields are private
/// and it has no public constructor), so code that takes a `VerifiedUser`
/// cannot be reached without a verification. A remote session grant is
/// built from one ([`crate::control_plane::SessionGrant::decided_remotely`]).
#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedUser {
    identity: UserIdentity,
    expires: SystemTime,
    certificate: Vec<u8>,
}

impl VerifiedUser {
    pub(crate) fn new(identity: UserIdentity, expires: SystemTime, certificate: &[u8]) -> Self {
        Self { identity, expires, certificate: certificate.to_vec() }
    }

    /// The certificate (DER) that was verified: a session granted on it is
    /// re-authorized from it, so the check can be made again exactly.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// Who the certificate speaks for.
    pub fn identity(&self) -> &UserIdentity {
        &self.identity
    }

    /// The Oriel user name.
    pub fn user(&self) -> &str {
        &self.identity.user
    }

    /// When the certificate stops being valid.
    pub fn expires(&self) -> SystemTime {
        self.expires
    }
}

/// What a host does in the cluster, as its certificate says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    /// The control plane.
    Auth,
    /// The web proxy.
    Proxy,
    /// A Linux desktop service.
    LinuxDesktop,
    /// A Windows desktop service: it serves the Windows desktops whose
    /// records name it as their `host_id`.
    WindowsDesktop,
    /// An administrator's tool (`orielctl`) with full rights on the control
    /// plane, like Teleport's built-in Admin identity. Only someone who can
    /// open the auth host's data dir can have one signed
    /// (`orielctl auth sign`).
    Admin,
}

impl HostRole {
    /// The role as certificates and logs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Proxy => "proxy",
            Self::LinuxDesktop => "linux_desktop",
            Self::WindowsDesktop => "windows_desktop",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for HostRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host, as a host certificate carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    /// The host's persistent id (the certificate's common name).
    pub host_id: String,
    /// What it does.
    pub role: HostRole,
    /// DNS names it answers to (subject alternative names).
    pub dns_names: Vec<String>,
    /// Addresses it answers on (subject alternative names).
    pub ips: Vec<IpAddr>,
}
