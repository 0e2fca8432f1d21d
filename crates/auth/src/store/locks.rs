//! Locks in storage. An expired lock stops applying at once (the backend
//! hides expired items) and is swept later.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};
use crate::resources::lock::{Lock, LockTarget};

const KIND: &str = "lock";
const FOLDER: &str = "locks";

#[derive(Serialize, Deserialize, Default)]
struct LockJson {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    linux_desktop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    windows_desktop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_unix: Option<u64>,
}

impl From<&Lock> for LockJson {
    fn from(lock: &Lock) -> Self {
        let t = &lock.target;
        Self {
            name: lock.name.clone(),
            user: t.user.clone(),
            role: t.role.clone(),
            login: t.login.clone(),
            server_id: t.server_id.clone(),
            linux_desktop: t.linux_desktop.clone(),
            windows_desktop: t.windows_desktop.clone(),
            message: lock.message.clone(),
            expires_unix: lock.expires.map(to_unix),
        }
    }
}

impl From<LockJson> for Lock {
    fn from(j: LockJson) -> Self {
        Lock {
            name: j.name,
            target: LockTarget {
                user: j.user,
                role: j.role,
                login: j.login,
                server_id: j.server_id,
                linux_desktop: j.linux_desktop,
                windows_desktop: j.windows_desktop,
            },
            message: j.message,
            expires: j.expires_unix.map(from_unix),
        }
    }
}

impl Store {
    /// Stores a new lock.
    pub async fn create_lock(&self, lock: &Lock) -> Result<(), StoreError> {
        self.put_lock(lock, false).await
    }

    /// Stores a lock; with `force` one of the same name is replaced.
    pub async fn put_lock(&self, lock: &Lock, force: bool) -> Result<(), StoreError> {
        let mode = if force { Write::Put } else { Write::Create };
        self.write_json(KIND, FOLDER, &lock.name, &LockJson::from(lock), lock.expires, mode).await.map(drop)
    }

    /// One lock in force.
    pub async fn lock(&self, name: &str) -> Result<Lock, StoreError> {
        Ok(self.get_json::<LockJson>(KIND, FOLDER, name).await?.value.into())
    }

    /// Locks in force (expired ones are already invisible).
    pub async fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        let list: Vec<LockJson> = self.list_json(KIND, FOLDER).await?;
        Ok(list.into_iter().map(Lock::from).collect())
    }

    /// Removes a lock.
    pub async fn delete_lock(&self, name: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, name).await
    }
}
