//! The cluster's certificate authorities in storage: each CA's certificate
//! and private key, by kind. Written once, with create, so that of two
//! processes making the first CA at the same moment one wins and the other
//! reads the winner.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};
use crate::ca::CaKind;

const KIND: &str = "certificate authority";
const FOLDER: &str = "cert_authorities";

/// One CA as stored. The key is as secret as anything in the store: it is
/// never logged, and `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertAuthorityRecord {
    /// Which CA.
    pub kind: CaKind,
    /// Its self-signed certificate, PEM.
    pub cert_pem: String,
    /// Its PKCS#8 private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for CertAuthorityRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAuthorityRecord").field("kind", &self.kind).field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

impl Store {
    /// Stores a new CA; fails with `AlreadyExists` if one of its kind exists.
    pub async fn create_cert_authority(&self, record: &CertAuthorityRecord) -> Result<(), StoreError> {
        self.write_json(KIND, FOLDER, record.kind.as_str(), record, None, Write::Create).await.map(drop)
    }

    /// The CA of `kind`.
    pub async fn cert_authority(&self, kind: CaKind) -> Result<CertAuthorityRecord, StoreError> {
        let record: CertAuthorityRecord = self.get_json(KIND, FOLDER, kind.as_str()).await?.value;
        if record.kind != kind {
            let detail = format!("holds a {} CA", record.kind.as_str());
            return Err(StoreError::Corrupt { kind: KIND, name: kind.as_str().to_owned(), detail });
        }
        Ok(record)
    }
}
