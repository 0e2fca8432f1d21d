//! Desktops in storage. Desktop services heartbeat them; a desktop whose
//! service stopped expires and leaves every listing by itself.

use std::collections::BTreeMap;
use std::time::SystemTime;

use oriel_rbac::{Desktop, DesktopKind};
use serde::{Deserialize, Serialize};

use oriel_backend::Revision;

use super::{Store, StoreError, Versioned, Write, from_unix, to_unix};

/// A Linux or Windows desktop as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopRecord {
    /// Linux or Windows.
    pub kind: DesktopKind,
    /// The resource name (a Linux desktop service's UUID).
    pub name: String,
    /// The host's name, for people.
    pub hostname: String,
    /// Where the desktop service listens.
    pub addr: String,
    /// Static and dynamic labels.
    pub labels: BTreeMap<String, String>,
    /// When it leaves listings unless heartbeated again.
    pub expires: Option<SystemTime>,
    /// The host whose desktop service serves it, which a lock's
    /// `server_id` names (Teleport's `host_id`): a Windows desktop's
    /// service. `None` names the desktop itself, as for a Linux desktop
    /// (its service's host id).
    pub host_id: Option<String>,
}

impl DesktopRecord {
    /// The desktop as RBAC sees it.
    pub fn to_rbac(&self) -> Desktop {
        self.labels.iter().fold(Desktop::new(self.kind, &self.name), |d, (k, v)| d.with_label(k, v))
    }

    /// What a lock's `server_id` must name to lock this desktop.
    pub fn server_id(&self) -> &str {
        self.host_id.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Serialize, Deserialize)]
struct DesktopJson {
    name: String,
    hostname: String,
    addr: String,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    expires_unix: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host_id: Option<String>,
}

fn folder(kind: DesktopKind) -> (&'static str, &'static str) {
    match kind {
        DesktopKind::Linux => ("linux_desktop", "linux_desktops"),
        DesktopKind::Windows => ("windows_desktop", "windows_desktops"),
    }
}

impl Store {
    /// Registers or refreshes a desktop (a heartbeat).
    pub async fn put_desktop(&self, desktop: &DesktopRecord) -> Result<(), StoreError> {
        self.write_desktop(desktop, Write::Put).await
    }

    /// Registers a desktop by hand (`orielctl create -f`); without `force`
    /// one that exists is an error.
    pub async fn create_desktop(&self, desktop: &DesktopRecord, force: bool) -> Result<(), StoreError> {
        self.write_desktop(desktop, if force { Write::Put } else { Write::Create }).await
    }

    async fn write_desktop(&self, desktop: &DesktopRecord, mode: Write) -> Result<(), StoreError> {
        let (kind, folder) = folder(desktop.kind);
        let json = DesktopJson {
            name: desktop.name.clone(),
            hostname: desktop.hostname.clone(),
            addr: desktop.addr.clone(),
            labels: desktop.labels.clone(),
            expires_unix: desktop.expires.map(to_unix),
            host_id: desktop.host_id.clone(),
        };
        self.write_json(kind, folder, &desktop.name, &json, desktop.expires, mode).await.map(drop)
    }

    /// One desktop, with the revision it was read at.
    pub async fn desktop_versioned(&self, kind: DesktopKind, name: &str) -> Result<Versioned<DesktopRecord>, StoreError> {
        let (what, folder) = folder(kind);
        let read = self.get_json::<DesktopJson>(what, folder, name).await?;
        Ok(Versioned { value: record(kind, read.value), revision: read.revision })
    }

    /// Writes `desktop` only if the stored one is still at `seen`, or, with
    /// `None`, only if there is none: `Conflict` or `AlreadyExists` when
    /// another writer came first.
    pub async fn swap_desktop(&self, desktop: &DesktopRecord, seen: Option<Revision>) -> Result<(), StoreError> {
        self.write_desktop(desktop, seen.map_or(Write::Create, Write::Swap)).await
    }

    /// One desktop.
    pub async fn desktop(&self, kind: DesktopKind, name: &str) -> Result<DesktopRecord, StoreError> {
        let (what, folder) = folder(kind);
        let json = self.get_json::<DesktopJson>(what, folder, name).await?.value;
        Ok(record(kind, json))
    }

    /// Every desktop of `kind` that has not expired, by name.
    pub async fn desktops(&self, kind: DesktopKind) -> Result<Vec<DesktopRecord>, StoreError> {
        let (what, folder) = folder(kind);
        let list: Vec<DesktopJson> = self.list_json(what, folder).await?;
        Ok(list.into_iter().map(|json| record(kind, json)).collect())
    }

    /// Removes a desktop.
    pub async fn delete_desktop(&self, kind: DesktopKind, name: &str) -> Result<(), StoreError> {
        let (what, folder) = folder(kind);
        self.delete_key(what, folder, name).await
    }
}

fn record(kind: DesktopKind, json: DesktopJson) -> DesktopRecord {
    DesktopRecord {
        kind,
        name: json.name,
        hostname: json.hostname,
        addr: json.addr,
        labels: json.labels,
        expires: json.expires_unix.map(from_unix),
        host_id: json.host_id,
    }
}
