//! Users in storage.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_backend::Revision;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Versioned, Write};
use crate::audit::millis;
use crate::password::PasswordHashString;
use crate::resources::user::{Credentials, SsoOrigin, Traits, User, UserName};
use crate::resources::webauthn_device::WebauthnDevice;
use crate::second_factor::TotpDevice;

const KIND: &str = "user";
const FOLDER: &str = "users";

#[derive(Serialize, Deserialize)]
struct UserRecord {
    name: String,
    roles: Vec<String>,
    traits: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<CredentialsRecord>,
    /// Absent in records from before ids existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    /// Only for single sign-on users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sso: Option<SsoRecord>,
}

#[derive(Serialize, Deserialize)]
struct SsoRecord {
    kind: String,
    connector: String,
    subject: String,
}

#[derive(Serialize, Deserialize)]
struct CredentialsRecord {
    password_hash: String,
    /// Absent for a user with WebAuthn devices only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_secret_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_last_step: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    webauthn: Vec<WebauthnDeviceRecord>,
}

#[derive(Serialize, Deserialize)]
struct WebauthnDeviceRecord {
    id: String,
    name: String,
    added_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_ms: Option<u64>,
    credential: String,
}

impl From<&WebauthnDevice> for WebauthnDeviceRecord {
    fn from(device: &WebauthnDevice) -> Self {
        Self {
            id: device.id.clone(),
            name: device.name.clone(),
            added_ms: millis(device.added),
            last_used_ms: device.last_used.map(millis),
            credential: device.credential.clone(),
        }
    }
}

impl From<WebauthnDeviceRecord> for WebauthnDevice {
    fn from(record: WebauthnDeviceRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            added: at_millis(record.added_ms),
            last_used: record.last_used_ms.map(at_millis),
            credential: record.credential,
        }
    }
}

fn at_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl From<&User> for UserRecord {
    fn from(user: &User) -> Self {
        Self {
            name: user.name.as_str().to_owned(),
            roles: user.roles.clone(),
            traits: user.traits.as_map().clone(),
            credentials: user.credentials.as_ref().map(|c| CredentialsRecord {
                password_hash: c.password.as_str().to_owned(),
                totp_secret_hex: c.totp.as_ref().map(|t| hex::encode(t.secret())),
                totp_last_step: c.totp.as_ref().and_then(TotpDevice::last_step),
                webauthn: c.webauthn.iter().map(WebauthnDeviceRecord::from).collect(),
            }),
            id: user.id.clone(),
            sso: user.sso.as_ref().map(|sso| SsoRecord { kind: sso.kind.clone(), connector: sso.connector.clone(), subject: sso.subject.clone() }),
        }
    }
}

impl UserRecord {
    fn into_user(self) -> Result<User, String> {
        let name = UserName::parse(&self.name).map_err(|e| e.to_string())?;
        let traits = self.traits.into_iter().fold(Traits::new(), |traits, (k, v)| traits.with(k, v));
        let credentials = match self.credentials {
            None => None,
            Some(c) => {
                let totp = match c.totp_secret_hex {
                    Some(secret) => Some(TotpDevice::from_parts(hex::decode(secret).map_err(|e| e.to_string())?, c.totp_last_step)),
                    None => None,
                };
                let credentials = Credentials {
                    password: PasswordHashString::from_stored(c.password_hash).map_err(|e| e.to_string())?,
                    totp,
                    webauthn: c.webauthn.into_iter().map(WebauthnDevice::from).collect(),
                };
                if credentials.second_factors() == 0 {
                    return Err("the credentials have no second factor".into());
                }
                Some(credentials)
            }
        };
        let sso = self.sso.map(|sso| SsoOrigin { kind: sso.kind, connector: sso.connector, subject: sso.subject });
        Ok(User { name, roles: self.roles, traits, credentials, id: self.id, sso })
    }
}

impl Store {
    /// Adds a user; fails if the name is taken. The user gets a fresh id
    /// (whatever `user.id` says): a name used before is another user now.
    pub async fn create_user(&self, user: &User) -> Result<Revision, StoreError> {
        let mut record = UserRecord::from(user);
        record.id = new_user_id()?;
        self.write_json(KIND, FOLDER, user.name.as_str(), &record, None, Write::Create).await
    }

    /// Replaces a user read at `revision`; fails with `Conflict` if it
    /// changed since. The id stays the stored one's, whatever `user.id` says.
    pub async fn swap_user(&self, user: &User, revision: Revision) -> Result<Revision, StoreError> {
        let current: super::Versioned<UserRecord> = self.get_json(KIND, FOLDER, user.name.as_str()).await?;
        if current.revision != revision {
            return Err(StoreError::Conflict { kind: KIND, name: user.name.as_str().to_owned() });
        }
        let mut record = UserRecord::from(user);
        record.id = current.value.id;
        self.write_json(KIND, FOLDER, user.name.as_str(), &record, None, Write::Swap(revision)).await
    }

    /// Reads a user.
    pub async fn user(&self, name: &str) -> Result<Versioned<User>, StoreError> {
        let record: Versioned<UserRecord> = self.get_json(KIND, FOLDER, name).await?;
        let value = record.value.into_user().map_err(|detail| StoreError::Corrupt { kind: KIND, name: name.to_owned(), detail })?;
        Ok(Versioned { value, revision: record.revision })
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let records: Vec<UserRecord> = self.list_json(KIND, FOLDER).await?;
        records
            .into_iter()
            .map(|r| {
                let name = r.name.clone();
                r.into_user().map_err(|detail| StoreError::Corrupt { kind: KIND, name, detail })
            })
            .collect()
    }

    /// Removes a user.
    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, name).await
    }
}

/// 128 random bits in hex: a user's id.
fn new_user_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend(oriel_backend::BackendError::Unavailable(Box::new(std::io::Error::other(e.to_string())))))?;
    Ok(hex::encode(bytes))
}
