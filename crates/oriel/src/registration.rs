//! This host's Linux desktop and desktop service in the control plane: a
//! persistent UUID names both, and a heartbeat refreshes them so they leave
//! listings by themselves when Oriel stops.

use std::path::Path;
use std::time::{Duration, SystemTime};

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::desktop_service::DesktopService;
use oriel_auth::store::DesktopRecord;
use oriel_rbac::DesktopKind;

use crate::labels::Labels;

/// A desktop not heartbeated for this long leaves every listing.
const TTL: Duration = Duration::from_secs(300);
/// How often the desktop is refreshed.
const HEARTBEAT: Duration = Duration::from_secs(60);

/// The service's UUID, made once and kept in the data dir.
pub fn host_uuid(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("host_uuid");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(uuid) = uuid::Uuid::parse_str(text.trim())
    {
        return Ok(uuid.to_string());
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, format!("{uuid}\n"))?;
    Ok(uuid)
}

/// This host's name, for people.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map_or_else(|_| "localhost".into(), |h| h.trim().to_owned())
}

/// Registers the desktop service and its desktop now and keeps them
/// registered until the task ends: every heartbeat, and at once when a
/// label changes.
pub async fn heartbeat(plane: ControlPlane, name: String, addr: String, mut labels: Labels) {
    let hostname = hostname();
    let mut ticker = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = labels.changed() => {}
        }
        let expires = Some(SystemTime::now() + TTL);
        let service = DesktopService {
            kind: DesktopKind::Linux,
            name: name.clone(),
            hostname: hostname.clone(),
            addr: addr.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            expires,
        };
        if let Err(error) = plane.store().put_desktop_service(&service).await {
            tracing::warn!(%error, "desktop service heartbeat failed; will retry");
        }
        let record = DesktopRecord {
            kind: DesktopKind::Linux,
            name: name.clone(),
            hostname: hostname.clone(),
            addr: addr.clone(),
            labels: labels.current(),
            expires,
        };
        if let Err(error) = plane.store().put_desktop(&record).await {
            tracing::warn!(%error, "desktop heartbeat failed; will retry");
        }
    }
}
