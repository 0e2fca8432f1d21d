//! Join tokens in storage, by the hash of their secret.

use oriel_backend::Revision;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Versioned, Write, from_unix, to_unix};
use crate::resources::join_token::{JoinRole, JoinToken};

const KIND: &str = "token";
const FOLDER: &str = "tokens";

#[derive(Serialize, Deserialize)]
struct TokenJson {
    secret_hash: String,
    roles: Vec<String>,
    expires_unix: u64,
    one_time: bool,
    used: bool,
}

impl From<&JoinToken> for TokenJson {
    fn from(t: &JoinToken) -> Self {
        Self {
            secret_hash: t.secret_hash.clone(),
            roles: t.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            expires_unix: to_unix(t.expires),
            one_time: t.one_time,
            used: t.used,
        }
    }
}

impl TokenJson {
    fn into_token(self) -> Result<JoinToken, StoreError> {
        let roles = self.roles.iter().map(|r| r.parse::<JoinRole>()).collect::<Result<Vec<_>, _>>().map_err(|e| StoreError::Corrupt {
            kind: KIND,
            name: self.secret_hash.clone(),
            detail: e.to_string(),
        })?;
        Ok(JoinToken { secret_hash: self.secret_hash, roles, expires: from_unix(self.expires_unix), one_time: self.one_time, used: self.used })
    }
}

impl Store {
    /// Stores a new token; it disappears from storage when it expires.
    pub async fn create_token(&self, token: &JoinToken) -> Result<(), StoreError> {
        self.put_token(token, false).await
    }

    /// Stores a token; with `force` one with the same secret is replaced.
    pub async fn put_token(&self, token: &JoinToken, force: bool) -> Result<(), StoreError> {
        let json = TokenJson::from(token);
        let mode = if force { Write::Put } else { Write::Create };
        self.write_json(KIND, FOLDER, &token.secret_hash, &json, Some(token.expires), mode).await.map(drop)
    }

    /// A token by the hash of its secret.
    pub async fn token(&self, secret_hash: &str) -> Result<Versioned<JoinToken>, StoreError> {
        let json = self.get_json::<TokenJson>(KIND, FOLDER, secret_hash).await?;
        Ok(Versioned { value: json.value.into_token()?, revision: json.revision })
    }

    /// Marks a one-time token used, if nobody else did first.
    pub async fn use_token(&self, token: &JoinToken, revision: Revision) -> Result<(), StoreError> {
        let used = JoinToken { used: true, ..token.clone() };
        let json = TokenJson::from(&used);
        self.write_json(KIND, FOLDER, &token.secret_hash, &json, Some(token.expires), Write::Swap(revision)).await.map(drop)
    }

    /// Tokens that have not expired.
    pub async fn tokens(&self) -> Result<Vec<JoinToken>, StoreError> {
        let list: Vec<TokenJson> = self.list_json(KIND, FOLDER).await?;
        list.into_iter().map(TokenJson::into_token).collect()
    }

    /// Removes a token.
    pub async fn delete_token(&self, secret_hash: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, secret_hash).await
    }
}
