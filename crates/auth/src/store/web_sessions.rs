//! Web sessions in storage, by the hash of the cookie's secret, with the
//! user certificate issued at login and its key (as Teleport keeps them):
//! the proxy shows the certificate to desktop services on the user's behalf.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};
use crate::ca::IssuedCert;

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
    /// The user certificate issued at login, valid as long as the session
    /// (`None` for sessions from before certificates: log in again).
    pub certificate: Option<IssuedCert>,
}

#[derive(Serialize, Deserialize)]
struct WebSessionJson {
    user: String,
    expires_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cert_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cert_expires_unix: Option<u64>,
}

impl Store {
    /// Stores a new session; it disappears when it expires.
    pub async fn create_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        let certificate = session.certificate.as_ref();
        let json = WebSessionJson {
            user: session.user.clone(),
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
        Ok(WebSession { secret_hash: secret_hash.to_owned(), user: json.user, expires: from_unix(json.expires_unix), certificate })
    }

    /// Ends a session (logout).
    pub async fn delete_web_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, secret_hash).await
    }
}
