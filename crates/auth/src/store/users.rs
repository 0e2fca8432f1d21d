//! Users in storage.

use std::collections::BTreeMap;

use oriel_backend::Revision;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Versioned, Write};
use crate::password::PasswordHashString;
use crate::resources::user::{Credentials, Traits, User, UserName};
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
}

#[derive(Serialize, Deserialize)]
struct CredentialsRecord {
    password_hash: String,
    totp_secret_hex: String,
    totp_last_step: Option<u64>,
}

impl From<&User> for UserRecord {
    fn from(user: &User) -> Self {
        Self {
            name: user.name.as_str().to_owned(),
            roles: user.roles.clone(),
            traits: user.traits.as_map().clone(),
            credentials: user.credentials.as_ref().map(|c| CredentialsRecord {
                password_hash: c.password.as_str().to_owned(),
                totp_secret_hex: hex::encode(c.totp.secret()),
                totp_last_step: c.totp.last_step(),
            }),
            id: user.id.clone(),
        }
    }
}

impl UserRecord {
    fn into_user(self) -> Result<User, String> {
        let name = UserName::parse(&self.name).map_err(|e| e.to_string())?;
        let traits = self.traits.into_iter().fold(Traits::new(), |traits, (k, v)| traits.with(k, v));
        let credentials = match self.credentials {
            None => None,
            Some(c) => Some(Credentials {
                password: PasswordHashString::from_stored(c.password_hash).map_err(|e| e.to_string())?,
                totp: TotpDevice::from_parts(hex::decode(c.totp_secret_hex).map_err(|e| e.to_string())?, c.totp_last_step),
            }),
        };
        Ok(User { name, roles: self.roles, traits, credentials, id: self.id })
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
