//! The WebAuthn challenge of a per-session MFA check (see
//! `crate::session_mfa`): the logged-in user's own keys only, never a
//! decoy (they are logged in: there is nobody to hide from), and a proof,
//! [`MfaVerified`], that only a verified answer makes.

use std::net::IpAddr;

use webauthn_rs::prelude::PublicKeyCredential;

use super::devices::passkeys;
use super::{Ceremony, RelyingParty, WebauthnError, refused};
use crate::control_plane::ControlPlane;
use crate::login::Factor;

/// Proof that a user's key just answered a per-session MFA challenge. Its
/// field is private and only [`ControlPlane::finish_session_mfa`] makes
/// one, so a per-session certificate cannot be asked for without the check.
#[derive(Debug)]
pub struct MfaVerified {
    user: String,
}

impl MfaVerified {
    /// Whose key answered.
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl ControlPlane {
    /// A challenge for `user`'s keys at `party`, asked from `address`: the
    /// ceremony's id and the options for `navigator.credentials.get`.
    /// [`WebauthnError::NoDevicesForSession`] when the user has no key.
    pub async fn begin_session_mfa(&self, user: &str, party: RelyingParty, address: IpAddr) -> Result<(String, serde_json::Value), WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        let stored = self.store.user(user).await?.value;
        let keys = stored.credentials.as_ref().map(passkeys).unwrap_or_default();
        if keys.is_empty() {
            return Err(WebauthnError::NoDevicesForSession);
        }
        let (options, state) = party.webauthn()?.start_passkey_authentication(&keys).map_err(refused)?;
        let mut options = serde_json::to_value(options).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        // A prompt asks at once.
        if let Some(object) = options.as_object_mut() {
            object.remove("mediation");
        }
        let id = self.open_ceremony(Ceremony::SessionMfa { user: user.to_owned(), party, state }, address)?;
        Ok((id, options))
    }

    /// Checks `user`'s `answer` to `ceremony`: a proof on success. The
    /// ceremony answers once, so a replayed answer finds nothing.
    pub async fn finish_session_mfa(&self, user: &str, ceremony: &str, answer: &serde_json::Value) -> Result<MfaVerified, WebauthnError> {
        let Some(Ceremony::SessionMfa { user: began_for, party, state }) = self.take_ceremony(ceremony) else {
            return Err(WebauthnError::UnknownChallenge);
        };
        if began_for != user {
            return Err(WebauthnError::UnknownChallenge);
        }
        let answer: PublicKeyCredential = serde_json::from_value(answer.clone()).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        let verified = party.webauthn()?.finish_passkey_authentication(&answer, &state).map_err(refused)?;
        let stored = self.store.user(user).await?.value;
        self.used_device(&stored, &verified).await?;
        Ok(MfaVerified { user: user.to_owned() })
    }
}
