//! Single sign-on: people log in through their organisation's identity
//! provider instead of an Oriel password. OIDC connectors (`kind: oidc`,
//! `resources/oidc_connector.rs`) name the provider and map its claims to
//! roles (`resources/sso_mapping.rs`).
//!
//! - `oidc.rs`: the authorization code flow with PKCE, state and nonce,
//!   through the `openidconnect` crate: begin (a redirect to the provider),
//!   finish (the code traded for a verified ID token).
//! - `user.rs`: the Oriel user an identity becomes, made or refreshed at
//!   each login, with its roles and traits from the claims.
//!
//! A login in progress waits in memory (`crate::waiting`) under its
//! `state` for [`SSO_LOGIN_TTL`], bound to the browser that began it by a
//! cookie, so a callback link made by someone else logs nobody in.

mod oidc;
mod user;

use std::time::Duration;

pub(crate) use oidc::PendingLogins;
pub use oidc::{SsoConnector, SsoRedirect};

use crate::login::LoginError;

/// How long a person has at the identity provider.
pub const SSO_LOGIN_TTL: Duration = Duration::from_secs(600);
/// Logins in progress at once, at most.
pub const MAX_SSO_LOGINS: usize = 10_000;
/// Logins in progress at once from one client network, at most.
pub const MAX_SSO_LOGINS_PER_NETWORK: usize = 32;

/// Why a single sign-on login failed; `Display` is shown to the person.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// No connector of that name.
    #[error("there is no single sign-on connector {0:?}")]
    UnknownConnector(String),
    /// The `state` is unknown, used, expired or another browser's.
    #[error("this single sign-on login is unknown, used or expired; start again from the login page")]
    UnknownLogin,
    /// The provider cannot be reached, or answered something unusable.
    #[error("the identity provider of {connector:?} cannot be used right now: {detail}")]
    Provider {
        /// The connector.
        connector: String,
        /// What went wrong.
        detail: String,
    },
    /// The provider's answer does not verify (code, ID token, nonce).
    #[error("the identity provider's answer was refused: {0}")]
    Refused(String),
    /// The provider said no (the person cancelled, or may not use Oriel).
    #[error("the identity provider refused the login: {0}")]
    Denied(String),
    /// The claims match no `claims_to_roles` entry.
    #[error("your identity provider's claims give no Oriel role (claims_to_roles of connector {0:?})")]
    NoRoles(String),
    /// The claim that names users is missing or not a user name.
    #[error("the identity provider's {claim:?} claim (the connector's username_claim) {detail}")]
    BadUserName {
        /// The claim.
        claim: String,
        /// Why it cannot name a user.
        detail: String,
    },
    /// The name belongs to a local user, or to another provider's.
    #[error("a user named {0:?} exists who does not log in through this identity provider; ask an administrator")]
    NameTaken(String),
    /// Too many logins in progress.
    #[error("too many single sign-on logins are in progress; try again in a minute")]
    Busy,
    /// Storage, the certificate or the web session failed.
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl From<crate::store::StoreError> for SsoError {
    fn from(error: crate::store::StoreError) -> Self {
        SsoError::Login(LoginError::Unavailable(error))
    }
}
