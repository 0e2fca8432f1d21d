//! This host's Linux desktop in the control plane: a persistent UUID as its
//! name, refreshed by a heartbeat so it leaves listings by itself when
//! Oriel stops.

use std::path::Path;
use std::time::{Duration, SystemTime};

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::DesktopRecord;
use oriel_rbac::DesktopKind;

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

/// Registers the desktop now and keeps it registered until the task ends.
pub async fn heartbeat(plane: ControlPlane, name: String, addr: String) {
    let hostname = hostname();
    let mut ticker = tokio::time::interval(HEARTBEAT);
    loop {
        ticker.tick().await;
        let record = DesktopRecord {
            kind: DesktopKind::Linux,
            name: name.clone(),
            hostname: hostname.clone(),
            addr: addr.clone(),
            labels: Default::default(),
            expires: Some(SystemTime::now() + TTL),
        };
        if let Err(error) = plane.store().put_desktop(&record).await {
            tracing::warn!(%error, "desktop heartbeat failed; will retry");
        }
    }
}
