//! Which host ids hold a live host certificate: written when a host joins
//! (created, so of two hosts joining with one id only one gets it) and
//! when it renews, and gone by itself when the certificate expires. A join
//! with an id that holds one is refused, so nobody takes over a desktop by
//! joining under its id.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};

const KIND: &str = "host certificate";
const FOLDER: &str = "host_certificates";

#[derive(Serialize, Deserialize)]
struct HostCertificateJson {
    role: String,
    expires_unix: u64,
}

impl Store {
    /// Claims `host_id` for a certificate of `role` valid until `expires`;
    /// [`StoreError::AlreadyExists`] when a live certificate holds it.
    pub async fn claim_host_id(&self, host_id: &str, role: &str, expires: SystemTime) -> Result<(), StoreError> {
        let json = HostCertificateJson { role: role.to_owned(), expires_unix: to_unix(expires) };
        self.write_json(KIND, FOLDER, host_id, &json, Some(expires), Write::Create).await.map(drop)
    }

    /// Records a renewed certificate for `host_id`, valid until `expires`.
    pub async fn renew_host_id(&self, host_id: &str, role: &str, expires: SystemTime) -> Result<(), StoreError> {
        let json = HostCertificateJson { role: role.to_owned(), expires_unix: to_unix(expires) };
        self.write_json(KIND, FOLDER, host_id, &json, Some(expires), Write::Put).await.map(drop)
    }

    /// Gives up a claim that was not used (the join failed after it).
    pub async fn release_host_id(&self, host_id: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, host_id).await
    }

    /// When the live certificate of `host_id` expires, if it holds one.
    pub async fn host_certificate_expiry(&self, host_id: &str) -> Result<Option<SystemTime>, StoreError> {
        match self.get_json::<HostCertificateJson>(KIND, FOLDER, host_id).await {
            Ok(json) => Ok(Some(from_unix(json.value.expires_unix))),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
