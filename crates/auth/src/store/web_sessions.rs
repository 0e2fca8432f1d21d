//! Web sessions in storage, by the hash of the cookie's secret.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};

const KIND: &str = "web session";
const FOLDER: &str = "web_sessions";

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Hex SHA-256 of the cookie's secret.
    pub secret_hash: String,
    /// Who logged in.
    pub user: String,
    /// When the cookie stops working.
    pub expires: SystemTime,
}

#[derive(Serialize, Deserialize)]
struct WebSessionJson {
    user: String,
    expires_unix: u64,
}

impl Store {
    /// Stores a new session; it disappears when it expires.
    pub async fn create_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        let json = WebSessionJson { user: session.user.clone(), expires_unix: to_unix(session.expires) };
        self.write_json(KIND, FOLDER, &session.secret_hash, &json, Some(session.expires), Write::Create).await.map(drop)
    }

    /// A session by the hash of its secret (expired ones are not found).
    pub async fn web_session(&self, secret_hash: &str) -> Result<WebSession, StoreError> {
        let json = self.get_json::<WebSessionJson>(KIND, FOLDER, secret_hash).await?.value;
        Ok(WebSession { secret_hash: secret_hash.to_owned(), user: json.user, expires: from_unix(json.expires_unix) })
    }

    /// Ends a session (logout).
    pub async fn delete_web_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, secret_hash).await
    }
}
