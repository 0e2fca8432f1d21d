//! The cluster's singleton settings in storage. An unset setting reads as
//! its default, and removing one resets it.

use oriel_rbac::{IdleTimeout, RecordingMode};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};
use crate::resources::auth_preference::{AuthPreference, UnsupportedPreference};
use crate::resources::cluster_settings::{ClusterNetworkingConfig, SessionRecordingConfig};

const FOLDER: &str = "cluster_configuration";
const RECORDING: &str = "session_recording_config";
const NETWORKING: &str = "cluster_networking_config";
const AUTHENTICATION: &str = "cluster_auth_preference";

#[derive(Serialize, Deserialize)]
struct RecordingJson {
    mode: String,
}

#[derive(Serialize, Deserialize)]
struct NetworkingJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desktop_lossy: Option<bool>,
}

#[derive(Serialize, Deserialize)]
struct AuthPreferenceJson {
    #[serde(rename = "type")]
    auth_type: String,
    second_factor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webauthn_rp_id: Option<String>,
    allow_passwordless: bool,
    require_session_mfa: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connector_name: Option<String>,
    #[serde(default = "yes")]
    allow_local_auth: bool,
}

fn yes() -> bool {
    true
}

impl Store {
    /// The session recording settings; the defaults when never set.
    pub async fn session_recording_config(&self) -> Result<SessionRecordingConfig, StoreError> {
        let Some(json) = self.singleton::<RecordingJson>(RECORDING).await? else { return Ok(SessionRecordingConfig::default()) };
        let mode = json.mode.parse::<RecordingMode>().map_err(|e| corrupt(RECORDING, e.to_string()))?;
        Ok(SessionRecordingConfig { mode })
    }

    /// Replaces the session recording settings.
    pub async fn put_session_recording_config(&self, config: &SessionRecordingConfig) -> Result<(), StoreError> {
        let json = RecordingJson { mode: config.mode.as_str().to_owned() };
        self.write_json(RECORDING, FOLDER, RECORDING, &json, None, Write::Put).await.map(drop)
    }

    /// The networking settings; the defaults when never set.
    pub async fn cluster_networking_config(&self) -> Result<ClusterNetworkingConfig, StoreError> {
        let Some(json) = self.singleton::<NetworkingJson>(NETWORKING).await? else { return Ok(ClusterNetworkingConfig::default()) };
        let client_idle_timeout = json.client_idle_timeout.as_deref().map(IdleTimeout::parse).transpose().map_err(|e| corrupt(NETWORKING, e))?;
        Ok(ClusterNetworkingConfig { client_idle_timeout, desktop_lossy: json.desktop_lossy })
    }

    /// Replaces the networking settings.
    pub async fn put_cluster_networking_config(&self, config: &ClusterNetworkingConfig) -> Result<(), StoreError> {
        let json =
            NetworkingJson { client_idle_timeout: config.client_idle_timeout.as_ref().map(|t| t.as_str().to_owned()), desktop_lossy: config.desktop_lossy };
        self.write_json(NETWORKING, FOLDER, NETWORKING, &json, None, Write::Put).await.map(drop)
    }

    /// The authentication preference; the defaults when never set.
    pub async fn auth_preference(&self) -> Result<AuthPreference, StoreError> {
        let Some(json) = self.singleton::<AuthPreferenceJson>(AUTHENTICATION).await? else { return Ok(AuthPreference::default()) };
        let broken = |e: UnsupportedPreference| corrupt(AUTHENTICATION, e.to_string());
        Ok(AuthPreference {
            auth_type: json.auth_type.parse().map_err(broken)?,
            second_factor: json.second_factor.parse().map_err(broken)?,
            webauthn_rp_id: json.webauthn_rp_id,
            allow_passwordless: json.allow_passwordless,
            require_session_mfa: json.require_session_mfa,
            connector_name: json.connector_name,
            allow_local_auth: json.allow_local_auth,
        })
    }

    /// Replaces the authentication preference.
    pub async fn put_auth_preference(&self, preference: &AuthPreference) -> Result<(), StoreError> {
        let json = AuthPreferenceJson {
            auth_type: preference.auth_type.as_str().to_owned(),
            second_factor: preference.second_factor.as_str().to_owned(),
            webauthn_rp_id: preference.webauthn_rp_id.clone(),
            allow_passwordless: preference.allow_passwordless,
            require_session_mfa: preference.require_session_mfa,
            connector_name: preference.connector_name.clone(),
            allow_local_auth: preference.allow_local_auth,
        };
        self.write_json(AUTHENTICATION, FOLDER, AUTHENTICATION, &json, None, Write::Put).await.map(drop)
    }

    /// Resets the authentication preference to its defaults.
    pub async fn reset_auth_preference(&self) -> Result<(), StoreError> {
        self.reset(AUTHENTICATION).await
    }

    /// Resets the session recording settings to their defaults.
    pub async fn reset_session_recording_config(&self) -> Result<(), StoreError> {
        self.reset(RECORDING).await
    }

    /// Resets the networking settings to their defaults.
    pub async fn reset_cluster_networking_config(&self) -> Result<(), StoreError> {
        self.reset(NETWORKING).await
    }

    async fn singleton<T: serde::de::DeserializeOwned>(&self, kind: &'static str) -> Result<Option<T>, StoreError> {
        match self.get_json::<T>(kind, FOLDER, kind).await {
            Ok(found) => Ok(Some(found.value)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn reset(&self, kind: &'static str) -> Result<(), StoreError> {
        match self.delete_key(kind, FOLDER, kind).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn corrupt(kind: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { kind, name: kind.to_owned(), detail }
}
