//! Security keys and passkeys (WebAuthn), through `webauthn-rs`: the
//! registration and authentication ceremonies, sign counters and the
//! detection of a cloned authenticator are the crate's; Oriel keeps the
//! devices with the user's credentials (`resources/webauthn_device.rs`),
//! the ceremonies in flight (`ceremonies.rs`) and the relying party each
//! page is served as (`relying_party.rs`).
//!
//! - `devices.rs`: a logged-in user registers, lists and removes devices;
//!   the last second factor cannot be removed.
//! - `invite.rs`: an invited user enrols a device instead of TOTP.
//! - `login.rs`: password plus a device, one throttled attempt like a TOTP
//!   login; and, where the cluster allows it, passwordless with a
//!   discoverable passkey.
//! - `session_mfa.rs`: a logged-in user's key answers before a desktop
//!   session that requires per-session MFA.
//!
//! A ceremony lives in this auth service's memory for [`CEREMONY_TTL`]
//! and answers once: a replayed, expired or foreign answer finds nothing.

mod ceremonies;
mod devices;
mod invite;
mod login;
mod relying_party;
mod session_mfa;

pub use ceremonies::{CEREMONY_TTL, MAX_CEREMONIES, MAX_CEREMONIES_PER_NETWORK};
pub(crate) use ceremonies::{Ceremonies, Ceremony};
pub use devices::DeviceSummary;
pub use relying_party::RelyingParty;
pub use session_mfa::MfaVerified;

use crate::control_plane::ControlPlane;
use crate::login::LoginError;
use crate::store::StoreError;

/// Why a WebAuthn step failed.
#[derive(Debug, thiserror::Error)]
pub enum WebauthnError {
    /// The challenge is unknown, answered already, expired, or another
    /// ceremony's.
    #[error("this security key challenge is unknown, used or expired; start again")]
    UnknownChallenge,
    /// The authenticator's answer does not verify (another relying party,
    /// a wrong signature, a counter gone backwards).
    #[error("the security key's answer is not valid")]
    Refused(String),
    /// The page's origin cannot be a WebAuthn relying party.
    #[error("security keys do not work at {0}")]
    Origin(String),
    /// Too many ceremonies are open.
    #[error("too many security key challenges are open; try again in a minute")]
    Busy,
    /// The user has no device to answer with.
    #[error("you have no security key or passkey; log in with your code, then add one on the Account page")]
    NoDevices,
    /// A desktop session needs a fresh answer from a key the user does
    /// not have.
    #[error(
        "this desktop asks for your security key or passkey before each session, and you have none: add one on your Account page (/web/account), then connect again"
    )]
    NoDevicesForSession,
    /// Removing it would leave the user without a second factor.
    #[error("the last second factor cannot be removed; add another first")]
    LastFactor,
    /// No device of that id.
    #[error("no such device")]
    NoSuchDevice,
    /// The device's name is not acceptable.
    #[error("{0}")]
    BadName(String),
    /// The cluster's `cluster_auth_preference` turns passwordless off.
    #[error("passwordless logins are turned off in this cluster")]
    PasswordlessOff,
    /// The login part failed (wrong password, throttled, invite, storage).
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl From<StoreError> for WebauthnError {
    fn from(error: StoreError) -> Self {
        WebauthnError::Login(LoginError::Unavailable(error))
    }
}

impl ControlPlane {
    /// Keeps `ceremony`, begun from `address`, for its answer; its id.
    pub(crate) fn open_ceremony(&self, ceremony: Ceremony, address: std::net::IpAddr) -> Result<String, WebauthnError> {
        let now = self.clock.now();
        Ok(self.ceremonies.lock().unwrap_or_else(|p| p.into_inner()).open(ceremony, address, now)?)
    }

    /// The ceremony `id`, if open; it answers once.
    pub(crate) fn take_ceremony(&self, id: &str) -> Option<Ceremony> {
        let now = self.clock.now();
        self.ceremonies.lock().unwrap_or_else(|p| p.into_inner()).take(id, now)
    }
}

/// A `webauthn-rs` verification failure: the answer, never the service.
fn refused(error: webauthn_rs::prelude::WebauthnError) -> WebauthnError {
    WebauthnError::Refused(error.to_string())
}
