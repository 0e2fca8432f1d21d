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
        Ok(User { name, roles: self.roles, traits, credentials })
    }
}

impl Store {
    /// Adds a user; fails if the name is taken.
    pub async fn create_user(&self, user: &User) -> Result<Revision, StoreError> {
        self.write_json(KIND, FOLDER, user.name.as_str(), &UserRecord::from(user), None, Write::Create).await
    }

    /// Replaces a user read at `revision`; fails with `Conflict` if it changed since.
    pub async fn swap_user(&self, user: &User, revision: Revision) -> Result<Revision, StoreError> {
        self.write_json(KIND, FOLDER, user.name.as_str(), &UserRecord::from(user), None, Write::Swap(revision)).await
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
