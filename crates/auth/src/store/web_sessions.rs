//! Web sessions in storage, by the hash of the cookie's secret, with the
//! user certificate issued at login and its key (as Teleport keeps them):
//! the proxy shows the certificate to desktop services on the user's behalf.
//!
//! Each session also has a random id, kept under `/web_session_ids/<id>`
//! for as long as the session: the user certificate names the id (never
//! the cookie's hash), and a desktop session started with that certificate
//! goes on only while the record is there. Logout, a password reset and the
//! user's removal delete both.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};
use crate::ca::IssuedCert;

const KIND: &str = "web session";
const FOLDER: &str = "web_sessions";
const ID_KIND: &str = "web session id";
const ID_FOLDER: &str = "web_session_ids";

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Hex SHA-256 of the cookie's secret.
    pub secret_hash: String,
    /// Who logged in.
    pub user: String,
    /// The session's id, which its user certificate names (not a secret;
    /// empty for sessions from before ids).
    pub id: String,
    /// The id of the user record it was made for (`User::id`).
    pub user_id: String,
    /// When the cookie stops working.
    pub expires: SystemTime,
    /// The user certificate issued at login, valid as long as the session
    /// (`None` for sessions from before certificates: log in again).
    pub certificate: Option<IssuedCert>,
}

/// What `/web_session_ids/<id>` holds.
#[derive(Serialize, Deserialize)]
struct WebSessionIdJson {
    user: String,
}

#[derive(Serialize, Deserialize)]
struct WebSessionJson {
    user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    user_id: String,
    expires_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cert_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cert_expires_unix: Option<u64>,
}

impl Store {
    /// Stores a new session; it disappears when it expires. Its id is
    /// stored first, so a certificate naming it never outlives it because
    /// of a failed write.
    pub async fn create_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        if !session.id.is_empty() {
            let id = WebSessionIdJson { user: session.user.clone() };
            self.write_json(ID_KIND, ID_FOLDER, &session.id, &id, Some(session.expires), Write::Create).await?;
        }
        let certificate = session.certificate.as_ref();
        let json = WebSessionJson {
            user: session.user.clone(),
            id: session.id.clone(),
            user_id: session.user_id.clone(),
            expires_unix: to_unix(session.expires),
            cert_pem: certificate.map(|c| c.cert_pem.clone()),
            key_pem: certificate.map(|c| c.key_pem.clone()),
            cert_expires_unix: certificate.map(|c| to_unix(c.expires)),
        };
        self.write_json(KIND, FOLDER, &session.secret_hash, &json, Some(session.expires), Write::Create).await.map(drop)
    }

    /// A session by the hash of its secret (expired ones are not found).
    pub async fn web_session(&self, secret_hash: &str) -> Result<WebSession, StoreError> {
        let json = self.get_json::<WebSessionJson>(KIND, FOLDER, secret_hash).await?.value;
        web_session(secret_hash, json)
    }

    /// Whether the web session with this id is still live (not logged
    /// out, not ended by a reset or the user's removal, not expired).
    pub async fn web_session_live(&self, id: &str) -> Result<bool, StoreError> {
        match self.get_json::<WebSessionIdJson>(ID_KIND, ID_FOLDER, id).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every live web session of `user`, by name.
    pub async fn web_sessions_of(&self, user: &str) -> Result<Vec<WebSession>, StoreError> {
        let items = self.backend.list(&Self::prefix(FOLDER), super::LIST_LIMIT).await.map_err(StoreError::Backend)?;
        let mut sessions = Vec::new();
        for item in &items {
            let hash = super::item_name(item);
            let json: WebSessionJson = super::decode(KIND, &hash, item)?;
            if json.user == user {
                sessions.push(web_session(&hash, json)?);
            }
        }
        Ok(sessions)
    }

    /// Ends a session (logout): its id first, which ends the desktop
    /// sessions started from it, then the cookie's record.
    pub async fn delete_web_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        // A failed read must not leave the id behind (the desktop sessions
        // would go on): only a session that is not there has no id to end.
        let session = self.web_session(secret_hash).await?;
        if !session.id.is_empty() {
            match self.delete_key(ID_KIND, ID_FOLDER, &session.id).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.delete_key(KIND, FOLDER, secret_hash).await
    }
}

fn web_session(secret_hash: &str, json: WebSessionJson) -> Result<WebSession, StoreError> {
    let certificate = match (json.cert_pem, json.key_pem, json.cert_expires_unix) {
        (Some(cert_pem), Some(key_pem), Some(expires)) => {
            let cert_der = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
                .map_err(|e| StoreError::Corrupt { kind: KIND, name: secret_hash.to_owned(), detail: format!("certificate: {e}") })?
                .1
                .contents;
            Some(IssuedCert { cert_pem, key_pem, cert_der, expires: from_unix(expires) })
        }
        _ => None,
    };
    Ok(WebSession {
        secret_hash: secret_hash.to_owned(),
        user: json.user,
        id: json.id,
        user_id: json.user_id,
        expires: from_unix(json.expires_unix),
        certificate,
    })
}
