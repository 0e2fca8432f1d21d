//! Revoked host certificates (admin identities included), checked at every
//! mutual-TLS hop: `/revocations/serial-<hex>` revokes one certificate,
//! `/revocations/host-<host id>` every certificate of that host (or admin
//! name) issued before the revocation. Each is kept longer than the
//! certificates it can match live, then expires by itself.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};

const KIND: &str = "revocation";
const FOLDER: &str = "revocations";

/// What a revocation matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokedTarget {
    /// One certificate, by its serial number (lowercase hex, no separators).
    Serial(String),
    /// Every certificate of this host id or admin identity name issued
    /// before the revocation.
    Host(String),
}

impl RevokedTarget {
    fn key(&self) -> String {
        match self {
            Self::Serial(serial) => format!("serial-{serial}"),
            Self::Host(host) => format!("host-{host}"),
        }
    }
}

impl std::fmt::Display for RevokedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serial(serial) => write!(f, "certificate serial {serial}"),
            Self::Host(host) => write!(f, "every certificate of {host:?} issued before it"),
        }
    }
}

/// A revocation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// What it matches.
    pub target: RevokedTarget,
    /// When it was made (certificates of a host issued before this match).
    pub revoked_at: SystemTime,
    /// When it goes (after the longest life a matching certificate has).
    pub expires: SystemTime,
    /// Why, for the refusal message.
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RevocationJson {
    revoked_at_unix: u64,
    expires_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Store {
    /// Stores a revocation (a second one of the same target replaces it).
    pub async fn put_revocation(&self, revocation: &Revocation) -> Result<(), StoreError> {
        let json =
            RevocationJson { revoked_at_unix: to_unix(revocation.revoked_at), expires_unix: to_unix(revocation.expires), reason: revocation.reason.clone() };
        self.write_json(KIND, FOLDER, &revocation.target.key(), &json, Some(revocation.expires), Write::Put).await.map(drop)
    }

    /// The revocation of `target`, if one is in force.
    pub async fn revocation(&self, target: &RevokedTarget) -> Result<Option<Revocation>, StoreError> {
        match self.get_json::<RevocationJson>(KIND, FOLDER, &target.key()).await {
            Ok(json) => Ok(Some(Revocation {
                target: target.clone(),
                revoked_at: from_unix(json.value.revoked_at_unix),
                expires: from_unix(json.value.expires_unix),
                reason: json.value.reason,
            })),
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
