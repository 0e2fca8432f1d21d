//! Enrolling a security key or passkey with the invite, instead of a TOTP
//! authenticator: begin with the invite link, finish with the password
//! and the authenticator's answer, which uses the invite up and logs in.

use std::net::IpAddr;

use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::devices::new_device;
use super::{Ceremony, RelyingParty, WebauthnError, refused};
use crate::bearer;
use crate::control_plane::ControlPlane;
use crate::hashing::Lane;
use crate::login::{Factor, LoginError, SessionCookie};
use crate::resources::invite::Invite;
use crate::resources::user::Credentials;
use crate::resources::webauthn_device::device_name;
use crate::store::StoreError;

impl ControlPlane {
    /// Begins enrolling a device for the user invited by `invite_secret`,
    /// asked from `address`.
    pub async fn begin_invite_registration(
        &self,
        invite_secret: &str,
        party: RelyingParty,
        address: IpAddr,
    ) -> Result<(String, serde_json::Value), WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        let invite_hash = bearer::hash(invite_secret);
        let invite = self.live_invite(&invite_hash).await?;
        let user = self.store.user(&invite.user).await.map_err(|_| LoginError::BadInvite)?.value;
        if user.id != invite.user_id {
            return Err(LoginError::BadInvite.into());
        }
        let (options, state) = self.registration_options(&user, &[], &party).await?;
        let id = self.open_ceremony(Ceremony::Enrol { invite_hash, party, state }, address)?;
        Ok((id, options))
    }

    /// Sets the invited user's password and their device `name` from the
    /// registration `ceremony`'s `answer`, uses the invite up and logs in.
    pub async fn accept_invite_with_device(
        &self,
        invite_secret: &str,
        password: &str,
        ceremony: &str,
        name: &str,
        answer: &serde_json::Value,
    ) -> Result<SessionCookie, WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        // Refused before the ceremony is used up: a short password must not
        // cost the person another key touch.
        crate::password::check_rules(password).map_err(LoginError::from)?;
        let name = device_name(name).map_err(WebauthnError::BadName)?;
        let invite_hash = bearer::hash(invite_secret);
        let Some(Ceremony::Enrol { invite_hash: began_for, party, state }) = self.take_ceremony(ceremony) else { return Err(WebauthnError::UnknownChallenge) };
        if began_for != invite_hash {
            return Err(WebauthnError::UnknownChallenge);
        }
        let invite = self.live_invite(&invite_hash).await?;
        // Before the invite is used up: without a CA no session can follow.
        let ca = self.cert_authority().await.map_err(LoginError::Certificate)?;
        let answer: RegisterPublicKeyCredential = serde_json::from_value(answer.clone()).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        let passkey = party.webauthn()?.finish_passkey_registration(&answer, &state).map_err(refused)?;
        let password = self.hashing.hash(Lane::Anyone, password).await.map_err(LoginError::from)?.map_err(LoginError::from)?;
        let device = new_device(&passkey, name, self.clock.now())?;
        Ok(self.complete_invite(&invite_hash, &invite, &ca, Credentials::with_webauthn(password, device)).await?)
    }

    async fn live_invite(&self, hash: &str) -> Result<Invite, LoginError> {
        match self.store.invite(hash).await {
            Ok(invite) => Ok(invite.value),
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => Err(LoginError::BadInvite),
            Err(e) => Err(LoginError::Unavailable(e)),
        }
    }
}
