//! The control plane's resources in the key-value backend: typed access,
//! JSON at this edge only, and the key layout in one place.
//!
//! | key | value |
//! |---|---|
//! | `/users/<name>` | user (hashes only) |
//! | `/roles/<name>` | the role as Teleport-compatible YAML (desktop fields) |
//! | `/linux_desktops/<name>`, `/windows_desktops/<name>` | desktop (expires) |
//! | `/linux_desktop_services/<host id>`, `/windows_desktop_services/<host id>` | desktop service (expires) |
//! | `/cluster_configuration/session_recording_config`, `/cluster_configuration/cluster_networking_config` | cluster settings (absent: defaults) |
//! | `/locks/<name>` | lock (may expire) |
//! | `/connectors/oidc/<name>` | OIDC connector, client secret included (`oidc_connectors.rs`) |
//! | `/tokens/<sha256>` | join token (expires) |
//! | `/invites/<sha256>` | invite (expires) |
//! | `/web_sessions/<sha256>` | a logged-in browser and its user certificate and key (expires) |
//! | `/web_session_ids/<id>` | a web session's id, which its user certificate names: there while the session is (expires with it) |
//! | `/revocations/serial-<hex>`, `/revocations/host-<host id>` | a revoked host certificate, or every certificate of a host or admin name issued before (expires after the longest certificate life) |
//! | `/cert_authorities/<user\|host>` | a CA's certificate and private key |
//! | `/host_certificates/<host id>` | a joined host's live certificate: its role and expiry (expires with it) |
//! | `/audit/events/<ms>-<uid>`, `/audit/by_user/<hex>/<ms>-<uid>`, `/audit/by_session/<hex>/<ms>-<uid>` | an audit event, by time and again under its user and session (`events.rs`); expires after the retention |
//! | `/recordings/<sid>` | a session recording's catalog entry: who, where, when, its size and participants (`recordings.rs`; the recording itself is an object in `RecordingStorage`) |

mod cert_authorities;
mod cluster_settings;
mod desktop_services;
mod desktops;
mod events;
mod host_certificates;
mod invites;
mod locks;
mod oidc_connectors;
mod recordings;
mod revocations;
mod roles;
mod tokens;
mod users;
mod web_sessions;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_backend::{Backend, BackendError, Item, Key, NewItem, Prefix, Revision};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use cert_authorities::CertAuthorityRecord;
pub use desktops::DesktopRecord;
pub use events::{BadPage, EventPage, EventQuery, MAX_PAGE};
pub use recordings::{MAX_RECORDING_PAGE, RecordingPage, RecordingQuery, RecordingRecord};
pub use revocations::{Revocation, RevokedTarget};
pub use web_sessions::WebSession;

/// Why a store operation failed, in the control plane's terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such resource.
    #[error("{kind} {name:?} not found")]
    NotFound {
        /// Resource kind.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// Already exists and overwriting was not asked for.
    #[error("{kind} {name:?} already exists (use --force to overwrite)")]
    AlreadyExists {
        /// Resource kind.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// Someone else changed it meanwhile; reading again and retrying is safe.
    #[error("{kind} {name:?} changed concurrently; try again")]
    Conflict {
        /// Resource kind.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A stored value does not decode: never expected, reported loudly.
    #[error("stored {kind} {name:?} is unreadable: {detail}")]
    Corrupt {
        /// Resource kind.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Decoder message.
        detail: String,
    },
    /// The name cannot be a storage key.
    #[error("invalid {kind} name {name:?}")]
    InvalidName {
        /// Resource kind.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// The backend failed.
    #[error(transparent)]
    Backend(BackendError),
}

/// Typed access to the control plane's resources.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

/// A resource with the revision it was read at, for compare-and-swap.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The resource.
    pub value: T,
    /// The revision it was read at.
    pub revision: Revision,
}

const LIST_LIMIT: usize = 100_000;

impl Store {
    /// A store over `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// The backend underneath (for watches).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn key(kind: &'static str, folder: &str, name: &str) -> Result<Key, StoreError> {
        if name.is_empty() || name.contains('/') {
            return Err(StoreError::InvalidName { kind, name: name.to_owned() });
        }
        Key::from_segments([folder, name]).map_err(|_| StoreError::InvalidName { kind, name: name.to_owned() })
    }

    fn prefix(folder: &str) -> Prefix {
        Prefix::new(format!("/{folder}/")).expect("static prefix")
    }

    async fn get_json<T: DeserializeOwned>(&self, kind: &'static str, folder: &str, name: &str) -> Result<Versioned<T>, StoreError> {
        let key = Self::key(kind, folder, name)?;
        let item = self.backend.get(&key).await.map_err(|e| map_err(e, kind, name))?;
        Ok(Versioned { value: decode(kind, name, &item)?, revision: item.revision })
    }

    async fn list_json<T: DeserializeOwned>(&self, kind: &'static str, folder: &str) -> Result<Vec<T>, StoreError> {
        let items = self.backend.list(&Self::prefix(folder), LIST_LIMIT).await.map_err(StoreError::Backend)?;
        items.iter().map(|item| decode(kind, &item_name(item), item)).collect()
    }

    async fn write_json<T: Serialize>(
        &self,
        kind: &'static str,
        folder: &str,
        name: &str,
        value: &T,
        expires: Option<SystemTime>,
        mode: Write,
    ) -> Result<Revision, StoreError> {
        let key = Self::key(kind, folder, name)?;
        let bytes = serde_json::to_vec(value).expect("resource records always serialize");
        let mut item = NewItem::new(key, bytes);
        if let Some(at) = expires {
            item = item.expires_at(at);
        }
        let result = match mode {
            Write::Create => self.backend.create(item).await,
            Write::Put => self.backend.put(item).await,
            Write::Swap(revision) => self.backend.compare_and_swap(revision, item).await,
        };
        result.map_err(|e| map_err(e, kind, name))
    }

    async fn delete_key(&self, kind: &'static str, folder: &str, name: &str) -> Result<(), StoreError> {
        let key = Self::key(kind, folder, name)?;
        self.backend.delete(&key).await.map_err(|e| map_err(e, kind, name))
    }
}

#[derive(Debug, Clone, Copy)]
enum Write {
    Create,
    Put,
    Swap(Revision),
}

fn map_err(error: BackendError, kind: &'static str, name: &str) -> StoreError {
    let name = name.to_owned();
    match error {
        BackendError::NotFound(_) => StoreError::NotFound { kind, name },
        BackendError::AlreadyExists(_) => StoreError::AlreadyExists { kind, name },
        BackendError::CompareFailed(_) => StoreError::Conflict { kind, name },
        other => StoreError::Backend(other),
    }
}

fn decode<T: DeserializeOwned>(kind: &'static str, name: &str, item: &Item) -> Result<T, StoreError> {
    serde_json::from_slice(&item.value).map_err(|e| StoreError::Corrupt { kind, name: name.to_owned(), detail: e.to_string() })
}

fn item_name(item: &Item) -> String {
    item.key.as_str().rsplit('/').next().unwrap_or_default().to_owned()
}

/// Seconds since the epoch, as records store time.
pub(crate) fn to_unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The inverse of [`to_unix`].
pub(crate) fn from_unix(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}
