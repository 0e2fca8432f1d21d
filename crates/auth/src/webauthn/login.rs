//! Logging in with a security key or passkey.
//!
//! With a password: "begin" names the user and gets a challenge for their
//! devices; "finish" sends the password and the authenticator's answer
//! together, as one throttled attempt like a TOTP login, and one answer
//! whichever was wrong. A user without devices (or no such user) gets a
//! decoy challenge naming a credential that does not exist, so "begin"
//! tells nobody who has keys.
//!
//! Passwordless, where `cluster_auth_preference.allow_passwordless` says so:
//! the browser offers the user's discoverable passkeys, and its answer names
//! the user by the handle the passkey was registered with.

use std::net::IpAddr;
use std::sync::LazyLock;

use sha2::Digest as _;
use webauthn_rs::prelude::{AuthenticationResult, DiscoverableKey, PublicKeyCredential};

use super::devices::{passkeys, user_handle};
use super::{Ceremony, RelyingParty, WebauthnError};
use crate::control_plane::ControlPlane;
use crate::login::{Factor, LoginError, SessionCookie};
use crate::resources::user::User;
use crate::throttle::Attempt;

/// Keys the decoy credential ids of this process, so they look random and
/// stay the same for one user name while it runs.
static DECOY_KEY: LazyLock<[u8; 32]> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    // Without randomness the decoys are still unique per name, only
    // predictable; they never verify either way.
    let _ = getrandom::fill(&mut key);
    key
});

impl ControlPlane {
    /// Begins a password and security key login of `user` at `party`,
    /// asked from `address`.
    pub async fn begin_webauthn_login(&self, user: &str, party: RelyingParty, address: IpAddr) -> Result<(String, serde_json::Value), WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        let keys = match self.store.user(user).await {
            Ok(stored) => stored.value.credentials.as_ref().map(passkeys).unwrap_or_default(),
            Err(crate::store::StoreError::NotFound { .. } | crate::store::StoreError::InvalidName { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let webauthn = party.webauthn()?;
        let (options, state) = if keys.is_empty() {
            let (options, _) = webauthn.start_discoverable_authentication().map_err(super::refused)?;
            let mut options = serde_json::to_value(options).map_err(|e| WebauthnError::Refused(e.to_string()))?;
            decoy(&mut options, user);
            (options, None)
        } else {
            let (options, state) = webauthn.start_passkey_authentication(&keys).map_err(super::refused)?;
            (serde_json::to_value(options).map_err(|e| WebauthnError::Refused(e.to_string()))?, Some(state))
        };
        let id = self.open_ceremony(Ceremony::Login { user: user.to_owned(), party, state }, address)?;
        Ok((id, options))
    }

    /// Finishes a password and security key login from `address`: the
    /// password and the `answer` to `ceremony` are one attempt.
    pub async fn finish_webauthn_login(
        &self,
        user: &str,
        password: &str,
        ceremony: &str,
        answer: &serde_json::Value,
        address: IpAddr,
    ) -> Result<SessionCookie, LoginError> {
        self.require_second_factor(Factor::Webauthn).await?;
        // Taken first: an answer is good for one try, right or wrong. None
        // open: nothing to check, and no attempt counted.
        let Some(ceremony) = self.take_ceremony(ceremony) else { return Err(LoginError::StaleChallenge) };
        self.throttled_login(user, "webauthn", address, async |plane: &Self, attempt: &mut Attempt| {
            let stored = plane.check_password(attempt, user, password).await?;
            let Ceremony::Login { user: began_for, party, state: Some(state) } = ceremony else { return Err(LoginError::Rejected) };
            if began_for != user {
                return Err(LoginError::Rejected);
            }
            let verified = party
                .webauthn()
                .ok()
                .and_then(|webauthn| {
                    let answer: PublicKeyCredential = serde_json::from_value(answer.clone()).ok()?;
                    webauthn
                        .finish_passkey_authentication(&answer, &state)
                        .inspect_err(|error| tracing::info!(%user, %error, "a security key's answer was refused"))
                        .ok()
                })
                .ok_or(LoginError::Rejected)?;
            plane.used_device(&stored.value, &verified).await
        })
        .await
    }

    /// Begins a passwordless login at `party`, asked from `address`.
    pub async fn begin_passwordless_login(&self, party: RelyingParty, address: IpAddr) -> Result<(String, serde_json::Value), WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        if !self.store.auth_preference().await?.allow_passwordless {
            return Err(WebauthnError::PasswordlessOff);
        }
        let (options, state) = party.webauthn()?.start_discoverable_authentication().map_err(super::refused)?;
        let mut options = serde_json::to_value(options).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        // A login page's button asks at once, rather than in the autofill.
        if let Some(object) = options.as_object_mut() {
            object.remove("mediation");
        }
        let id = self.open_ceremony(Ceremony::Passwordless { party, state }, address)?;
        Ok((id, options))
    }

    /// Finishes a passwordless login from `address` with the `answer` to
    /// `ceremony`: the passkey names its user.
    pub async fn finish_passwordless_login(&self, ceremony: &str, answer: &serde_json::Value, address: IpAddr) -> Result<SessionCookie, WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        if !self.store.auth_preference().await?.allow_passwordless {
            return Err(WebauthnError::PasswordlessOff);
        }
        let Some(Ceremony::Passwordless { party, state }) = self.take_ceremony(ceremony) else { return Err(WebauthnError::UnknownChallenge) };
        let answer: PublicKeyCredential = serde_json::from_value(answer.clone()).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        let webauthn = party.webauthn()?;
        let (handle, credential_id) = webauthn.identify_discoverable_authentication(&answer).map_err(super::refused)?;
        let user = self.user_by_handle(handle).await?.ok_or_else(|| WebauthnError::Refused("no user has this passkey".into()))?;
        let name = user.name.as_str().to_owned();
        let key = user
            .credentials
            .as_ref()
            .map(passkeys)
            .unwrap_or_default()
            .into_iter()
            .find(|key| key.cred_id().as_slice() == credential_id)
            .ok_or_else(|| WebauthnError::Refused("this passkey is not registered".into()))?;
        let verified = match webauthn.finish_discoverable_authentication_v2(&answer, state, DiscoverableKey::from(&key)) {
            Ok(verified) => verified,
            Err(error) => {
                let refusal = super::refused(error);
                self.record_login(&name, "passwordless", address, Some(&LoginError::Rejected)).await;
                return Err(refusal);
            }
        };
        let user = self.used_device(&user, &verified).await?;
        self.record_login(&name, "passwordless", address, None).await;
        let ca = self.cert_authority().await.map_err(LoginError::Certificate)?;
        Ok(self.start_web_session(&ca, &user).await?)
    }

    /// Notes that `user`'s device answered `verified`: its sign counter and
    /// when it was last used. The user as stored after.
    pub(super) async fn used_device(&self, user: &User, verified: &AuthenticationResult) -> Result<User, LoginError> {
        let now = self.clock.now();
        let changed = self
            .change_credentials(user.name.as_str(), |credentials| {
                for device in &mut credentials.webauthn {
                    let Some(mut key) = device.passkey() else { continue };
                    if key.update_credential(verified).is_some() {
                        device.credential = serde_json::to_string(&key).map_err(|e| WebauthnError::Refused(e.to_string()))?;
                        device.last_used = Some(now);
                    }
                }
                Ok(())
            })
            .await;
        match changed {
            Ok(()) => self.store.user(user.name.as_str()).await.map(|stored| stored.value).map_err(LoginError::Unavailable),
            // A concurrent change of the user (another login): the counter
            // is kept by whichever write won, and this login stands.
            Err(WebauthnError::Refused(_)) => Ok(user.clone()),
            Err(WebauthnError::Login(error)) => Err(error),
            Err(other) => {
                Err(LoginError::Unavailable(crate::store::StoreError::Corrupt { kind: "user", name: user.name.as_str().to_owned(), detail: other.to_string() }))
            }
        }
    }

    /// The user whose WebAuthn handle is `handle`.
    async fn user_by_handle(&self, handle: webauthn_rs::prelude::Uuid) -> Result<Option<User>, WebauthnError> {
        Ok(self.store.users().await?.into_iter().find(|user| user_handle(user) == handle))
    }
}

/// Makes `options` a challenge for one credential that exists nowhere,
/// the same for `user` each time: what a user without devices is sent.
fn decoy(options: &mut serde_json::Value, user: &str) {
    use base64::Engine as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(*DECOY_KEY);
    hasher.update(user.as_bytes());
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hasher.finalize()[..]);
    if let Some(object) = options.as_object_mut() {
        object.remove("mediation");
    }
    if let Some(public_key) = options.get_mut("publicKey").and_then(|key| key.as_object_mut()) {
        public_key.insert("allowCredentials".into(), serde_json::json!([{ "type": "public-key", "id": id }]));
    }
}
