//! Which desktops a desktop service on a host of its own may speak for.
//!
//! A Linux desktop service serves one desktop, its host's, named by its host
//! id. A Windows desktop service serves the Windows desktops whose records
//! name its host id (`host_id`, Teleport's key): the auth service writes
//! that id from the service's certificate when the service registers them,
//! and only for a desktop no other live service holds. Every call of the
//! cluster API that is about a desktop, and every event and recording a
//! service sends, is checked here first.

use oriel_rbac::DesktopKind;

use crate::ca::{HostIdentity, HostRole};
use crate::control_plane::ControlPlane;
use crate::store::{DesktopRecord, StoreError};

/// Why a host may not speak for a desktop, or why that cannot be told now.
#[derive(Debug, thiserror::Error)]
pub enum NotServed {
    /// The desktop is not this host's.
    #[error("{0}")]
    NotYours(String),
    /// The store failed: ask again later.
    #[error("cannot tell which desktops host serves: {0}")]
    Unavailable(#[from] StoreError),
}

/// The kind of desktop a service of `role` serves, if it serves any.
pub fn kind_served_by(role: HostRole) -> Option<DesktopKind> {
    match role {
        HostRole::LinuxDesktop => Some(DesktopKind::Linux),
        HostRole::WindowsDesktop => Some(DesktopKind::Windows),
        HostRole::Auth | HostRole::Proxy | HostRole::Admin => None,
    }
}

impl ControlPlane {
    /// `Ok` when `host` serves the `kind` desktop `desktop`.
    pub async fn check_served(&self, host: &HostIdentity, kind: DesktopKind, desktop: &str) -> Result<(), NotServed> {
        let not_yours = || NotServed::NotYours(format!("host {:?} does not serve {kind} desktop {desktop:?}", host.host_id));
        if kind_served_by(host.role) != Some(kind) {
            return Err(not_yours());
        }
        match kind {
            DesktopKind::Linux if desktop == host.host_id => Ok(()),
            DesktopKind::Linux => Err(not_yours()),
            DesktopKind::Windows => match self.store().desktop(DesktopKind::Windows, desktop).await {
                Ok(record) if record.host_id.as_deref() == Some(host.host_id.as_str()) => Ok(()),
                Ok(_) | Err(StoreError::NotFound { .. }) => Err(not_yours()),
                Err(error) => Err(error.into()),
            },
        }
    }

    /// Registers `record`, a Windows desktop, as served by `host`: refused
    /// while another service's registration of that name is live, so one
    /// host cannot take another's desktop (or one an administrator made).
    /// The write is a compare-and-swap on what was read, so of two
    /// services registering one new name at once, one gets it.
    pub async fn register_windows_desktop(&self, host: &HostIdentity, record: &DesktopRecord) -> Result<(), NotServed> {
        if host.role != HostRole::WindowsDesktop || record.kind != DesktopKind::Windows || record.host_id.as_deref() != Some(host.host_id.as_str()) {
            return Err(NotServed::NotYours(format!("host {:?} cannot register {} desktop {:?}", host.host_id, record.kind, record.name)));
        }
        let seen = match self.store().desktop_versioned(DesktopKind::Windows, &record.name).await {
            Ok(existing) if existing.value.host_id != record.host_id => {
                let holder = existing.value.host_id.map_or_else(|| "an administrator's resource".to_owned(), |id| format!("host {id:?}"));
                return Err(NotServed::NotYours(format!("Windows desktop {:?} is already served by {holder}", record.name)));
            }
            Ok(existing) => Some(existing.revision),
            Err(StoreError::NotFound { .. }) => None,
            Err(error) => return Err(error.into()),
        };
        match self.store().swap_desktop(record, seen).await {
            Ok(()) => Ok(()),
            // Another write came between: whoever it was, the next
            // heartbeat reads it and decides again.
            Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
                Err(NotServed::NotYours(format!("Windows desktop {:?} was registered by another writer meanwhile", record.name)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Removes Windows desktop `name` if `host` serves it (the directory
    /// dropped it); one that is not registered is already gone.
    pub async fn unregister_windows_desktop(&self, host: &HostIdentity, name: &str) -> Result<(), NotServed> {
        match self.check_served(host, DesktopKind::Windows, name).await {
            Ok(()) => Ok(self.store().delete_desktop(DesktopKind::Windows, name).await?),
            Err(NotServed::NotYours(_)) if matches!(self.store().desktop(DesktopKind::Windows, name).await, Err(StoreError::NotFound { .. })) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
