//! A logged-in user's devices: register one (begin, then finish with the
//! authenticator's answer), list them, remove one. What registration and
//! login share is here too: the user handle, the passkeys a user holds,
//! and a device made from a verified registration.

use std::net::IpAddr;
use std::time::SystemTime;

use sha2::Digest as _;
use webauthn_rs::prelude::{CreationChallengeResponse, Passkey, RegisterPublicKeyCredential, Uuid};

use super::{Ceremony, RelyingParty, WebauthnError, refused};
use crate::audit::{AuditEvent, EventType};
use crate::control_plane::ControlPlane;
use crate::login::Factor;
use crate::resources::user::{Credentials, User};
use crate::resources::webauthn_device::{WebauthnDevice, device_name};
use crate::store::StoreError;

/// A device as the Account page lists it: never its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// The device's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was registered.
    pub added: SystemTime,
    /// When it last answered.
    pub last_used: Option<SystemTime>,
}

impl From<&WebauthnDevice> for DeviceSummary {
    fn from(device: &WebauthnDevice) -> Self {
        Self { id: device.id.clone(), name: device.name.clone(), added: device.added, last_used: device.last_used }
    }
}

impl ControlPlane {
    /// `user`'s devices, and whether they also have a TOTP authenticator.
    pub async fn webauthn_devices(&self, user: &str) -> Result<(Vec<DeviceSummary>, bool), WebauthnError> {
        let user = self.store.user(user).await?.value;
        let credentials = user.credentials.as_ref().ok_or(WebauthnError::NoDevices)?;
        Ok((credentials.webauthn.iter().map(DeviceSummary::from).collect(), credentials.totp.is_some()))
    }

    /// Begins adding a device for `user` at `party`, asked from `address`:
    /// the options for the browser's `navigator.credentials.create`, and
    /// the ceremony's id.
    pub async fn begin_device_registration(&self, user: &str, party: RelyingParty, address: IpAddr) -> Result<(String, serde_json::Value), WebauthnError> {
        self.require_second_factor(Factor::Webauthn).await?;
        let user = self.store.user(user).await?.value;
        let credentials = user.credentials.as_ref().ok_or(WebauthnError::NoDevices)?;
        let (options, state) = self.registration_options(&user, &passkeys(credentials), &party).await?;
        let id = self.open_ceremony(Ceremony::Register { user: user.name.as_str().to_owned(), party, state }, address)?;
        Ok((id, options))
    }

    /// Finishes the registration `ceremony` of `user` with the browser's
    /// `answer`, naming the device `name`.
    pub async fn finish_device_registration(&self, user: &str, ceremony: &str, name: &str, answer: &serde_json::Value) -> Result<DeviceSummary, WebauthnError> {
        let name = device_name(name).map_err(WebauthnError::BadName)?;
        let Some(Ceremony::Register { user: began_for, party, state }) = self.take_ceremony(ceremony) else { return Err(WebauthnError::UnknownChallenge) };
        if began_for != user {
            return Err(WebauthnError::UnknownChallenge);
        }
        let answer: RegisterPublicKeyCredential = serde_json::from_value(answer.clone()).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        let passkey = party.webauthn()?.finish_passkey_registration(&answer, &state).map_err(refused)?;
        let device = new_device(&passkey, name, self.clock.now())?;
        let summary = DeviceSummary::from(&device);
        self.change_credentials(user, |credentials| {
            // Registered twice (two tabs): one device is enough.
            if credentials.webauthn.iter().any(|d| d.credential_id() == device.credential_id()) {
                return Err(WebauthnError::Refused("this device is registered already".into()));
            }
            credentials.webauthn.push(device.clone());
            Ok(())
        })
        .await?;
        self.emit(device_event(EventType::MfaAdd, user, &summary, self.clock.now())).await;
        Ok(summary)
    }

    /// Removes `user`'s device `id`, unless it is their last second factor.
    pub async fn remove_device(&self, user: &str, id: &str) -> Result<(), WebauthnError> {
        let mut removed = None;
        self.change_credentials(user, |credentials| {
            let index = credentials.webauthn.iter().position(|d| d.id == id).ok_or(WebauthnError::NoSuchDevice)?;
            if credentials.second_factors() <= 1 {
                return Err(WebauthnError::LastFactor);
            }
            removed = Some(DeviceSummary::from(&credentials.webauthn.remove(index)));
            Ok(())
        })
        .await?;
        if let Some(summary) = removed {
            self.emit(device_event(EventType::MfaDelete, user, &summary, self.clock.now())).await;
        }
        Ok(())
    }

    /// Creation options for `user` (their existing `keys` excluded), and
    /// the state to check the answer with. Where the cluster allows
    /// passwordless logins the authenticator is asked for a discoverable
    /// credential (a passkey) when it can make one.
    pub(super) async fn registration_options(
        &self,
        user: &User,
        keys: &[Passkey],
        party: &RelyingParty,
    ) -> Result<(serde_json::Value, webauthn_rs::prelude::PasskeyRegistration), WebauthnError> {
        let preference = self.store.auth_preference().await?;
        let exclude = Some(keys.iter().map(|key| key.cred_id().clone()).collect());
        let name = user.name.as_str();
        let (options, state): (CreationChallengeResponse, _) =
            party.webauthn()?.start_passkey_registration(user_handle(user), name, name, exclude).map_err(refused)?;
        let mut options = serde_json::to_value(options).map_err(|e| WebauthnError::Refused(e.to_string()))?;
        if preference.allow_passwordless
            && let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(|s| s.as_object_mut())
        {
            selection.insert("residentKey".into(), "preferred".into());
        }
        Ok((options, state))
    }

    /// Applies `change` to `user`'s credentials and stores them, read and
    /// written with compare-and-swap (a conflicting write refuses, rather
    /// than losing either).
    pub(super) async fn change_credentials(&self, user: &str, change: impl FnOnce(&mut Credentials) -> Result<(), WebauthnError>) -> Result<(), WebauthnError> {
        let mut stored = self.store.user(user).await?;
        let credentials = stored.value.credentials.as_mut().ok_or(WebauthnError::NoDevices)?;
        change(credentials)?;
        match self.store.swap_user(&stored.value, stored.revision).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(WebauthnError::Refused("your account changed meanwhile; try again".into())),
            Err(e) => Err(e.into()),
        }
    }
}

/// The WebAuthn user handle: the user's random id (16 bytes), so a passkey
/// names the user without their name; for a record from before ids, a hash
/// of the name.
pub(super) fn user_handle(user: &User) -> Uuid {
    match hex::decode(&user.id).ok().and_then(|bytes| Uuid::from_slice(&bytes).ok()) {
        Some(handle) => handle,
        None => {
            let digest = sha2::Sha256::digest(user.name.as_str().as_bytes());
            Uuid::from_slice(&digest[..16]).expect("16 bytes")
        }
    }
}

/// The passkeys of `credentials`; a device whose credential cannot be read
/// is skipped (and logged): it cannot answer.
pub(super) fn passkeys(credentials: &Credentials) -> Vec<Passkey> {
    credentials.webauthn.iter().filter_map(|device| device.passkey()).collect()
}

/// A device from a verified registration.
pub(super) fn new_device(passkey: &Passkey, name: String, now: SystemTime) -> Result<WebauthnDevice, WebauthnError> {
    let credential = serde_json::to_string(passkey).map_err(|e| WebauthnError::Refused(e.to_string()))?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|_| WebauthnError::Busy)?;
    Ok(WebauthnDevice { id: hex::encode(id), name, added: now, last_used: None, credential })
}

fn device_event(event: EventType, user: &str, device: &DeviceSummary, now: SystemTime) -> AuditEvent {
    AuditEvent::new(event, true, user, now)
        .with("mfa_device_name", device.name.as_str())
        .with("mfa_device_uuid", device.id.as_str())
        .with("mfa_device_type", "WebAuthn")
}

impl WebauthnDevice {
    /// The credential, as `webauthn-rs` reads it.
    pub(crate) fn passkey(&self) -> Option<Passkey> {
        match serde_json::from_str(&self.credential) {
            Ok(passkey) => Some(passkey),
            Err(error) => {
                tracing::error!(device = %self.id, %error, "a stored WebAuthn credential cannot be read; the device cannot answer");
                None
            }
        }
    }

    /// The authenticator's id for the credential, to tell devices apart.
    pub(crate) fn credential_id(&self) -> Option<Vec<u8>> {
        self.passkey().map(|key| key.cred_id().to_vec())
    }
}
