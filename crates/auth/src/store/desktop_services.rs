//! Desktop services in storage, heartbeated like their desktops: one that
//! stopped expires and leaves every listing by itself.

use oriel_rbac::DesktopKind;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write, from_unix, to_unix};
use crate::resources::desktop_service::{DesktopService, kind_name};

#[derive(Serialize, Deserialize)]
struct ServiceJson {
    name: String,
    hostname: String,
    addr: String,
    version: String,
    #[serde(default)]
    expires_unix: Option<u64>,
}

fn folder(kind: DesktopKind) -> &'static str {
    match kind {
        DesktopKind::Linux => "linux_desktop_services",
        DesktopKind::Windows => "windows_desktop_services",
    }
}

impl Store {
    /// Registers or refreshes a desktop service (a heartbeat).
    pub async fn put_desktop_service(&self, service: &DesktopService) -> Result<(), StoreError> {
        let json = ServiceJson {
            name: service.name.clone(),
            hostname: service.hostname.clone(),
            addr: service.addr.clone(),
            version: service.version.clone(),
            expires_unix: service.expires.map(to_unix),
        };
        self.write_json(kind_name(service.kind), folder(service.kind), &service.name, &json, service.expires, Write::Put).await.map(drop)
    }

    /// One desktop service.
    pub async fn desktop_service(&self, kind: DesktopKind, name: &str) -> Result<DesktopService, StoreError> {
        let json = self.get_json::<ServiceJson>(kind_name(kind), folder(kind), name).await?.value;
        Ok(service(kind, json))
    }

    /// Every desktop service of `kind` that has not expired, by name.
    pub async fn desktop_services(&self, kind: DesktopKind) -> Result<Vec<DesktopService>, StoreError> {
        let list: Vec<ServiceJson> = self.list_json(kind_name(kind), folder(kind)).await?;
        Ok(list.into_iter().map(|json| service(kind, json)).collect())
    }

    /// Removes a desktop service (it comes back with its next heartbeat).
    pub async fn delete_desktop_service(&self, kind: DesktopKind, name: &str) -> Result<(), StoreError> {
        self.delete_key(kind_name(kind), folder(kind), name).await
    }
}

fn service(kind: DesktopKind, json: ServiceJson) -> DesktopService {
    DesktopService { kind, name: json.name, hostname: json.hostname, addr: json.addr, version: json.version, expires: json.expires_unix.map(from_unix) }
}
