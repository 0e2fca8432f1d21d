//! This host's Linux desktop and desktop service in the control plane: a
//! persistent UUID names both, and a heartbeat refreshes them so they leave
//! listings by themselves when the service stops or loses its tunnels.
//! In the auth service's process it writes the store itself; elsewhere it
//! goes through the cluster API, which names the desktop after the host's
//! certificate.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::desktop_service::DesktopService;
use oriel_auth::store::DesktopRecord;
use oriel_cluster::remote_auth::RemoteAuth;
use oriel_linux_desktop::AuthorityError;
use oriel_rbac::DesktopKind;
use tokio::sync::watch;

use crate::labels::Labels;

/// How often the desktop is refreshed unless `ORIEL_HEARTBEAT_INTERVAL_MS`
/// says otherwise (tests shorten it to see expiry quickly).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// A desktop not heartbeated for this many intervals leaves every listing.
const MISSED_BEATS: u32 = 3;

/// The heartbeat interval.
pub fn interval() -> Duration {
    std::env::var("ORIEL_HEARTBEAT_INTERVAL_MS").ok().and_then(|ms| ms.parse().ok()).map_or(HEARTBEAT, Duration::from_millis)
}

/// How long one heartbeat keeps a desktop listed.
pub fn ttl() -> Duration {
    interval() * MISSED_BEATS
}

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

/// One registration: the desktop and its service, until `now + ttl`.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// Which kind of desktop.
    pub kind: DesktopKind,
    /// The host's UUID (a Windows desktop's configured name).
    pub name: String,
    /// For people.
    pub hostname: String,
    /// Where a proxy may dial the service.
    pub addr: String,
    /// Static and command labels.
    pub labels: BTreeMap<String, String>,
    /// How long the registration holds without another beat.
    pub ttl: Duration,
    /// The service's name (a Linux desktop's own; the host's UUID for the
    /// Windows desktops it serves).
    pub service: String,
    /// Where a proxy dials the service (a Windows desktop's `addr` is its
    /// RDP host's).
    pub service_addr: String,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A desktop a heartbeat keeps registered.
#[derive(Debug, Clone)]
pub struct Registered {
    /// Which kind.
    pub kind: DesktopKind,
    /// The desktop's name.
    pub name: String,
    /// The service that serves it.
    pub service: String,
    /// Where a proxy reaches the service.
    pub addr: String,
    /// How people know the desktop's host, when it is not this host (a
    /// Windows desktop's own name).
    pub hostname: Option<String>,
    /// Where a proxy dials the service.
    pub service_addr: String,
}

impl Registered {
    /// This host's Linux desktop, named by its UUID as its service is.
    pub fn linux(name: &str, addr: &str) -> Self {
        Self { kind: DesktopKind::Linux, name: name.to_owned(), service: name.to_owned(), addr: addr.to_owned(), hostname: None, service_addr: addr.to_owned() }
    }

    /// Its registration now, with `labels`, for `ttl`.
    pub fn beat(&self, labels: BTreeMap<String, String>, ttl: Duration) -> Heartbeat {
        Heartbeat {
            kind: self.kind,
            name: self.name.clone(),
            hostname: self.hostname.clone().unwrap_or_else(hostname),
            addr: self.addr.clone(),
            labels,
            ttl,
            service: self.service.clone(),
            service_addr: self.service_addr.clone(),
        }
    }
}

/// Where heartbeats go.
pub trait Registrar: Send + Sync + 'static {
    /// Registers the desktop of `beat`.
    fn register<'a>(&'a self, beat: &'a Heartbeat) -> BoxFuture<'a, Result<(), AuthorityError>>;

    /// Removes Windows desktop `name`, which this service served (the
    /// directory dropped it).
    fn unregister<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthorityError>>;
}

/// The store in this process failed: the deciding side, and worth retrying.
fn unavailable(error: oriel_auth::store::StoreError) -> AuthorityError {
    AuthorityError::Unavailable(error.to_string())
}

impl Registrar for ControlPlane {
    fn register<'a>(&'a self, beat: &'a Heartbeat) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async move {
            let expires = Some(SystemTime::now() + beat.ttl);
            let service = DesktopService {
                kind: beat.kind,
                name: beat.service.clone(),
                // The service runs here, whichever host its desktop is.
                hostname: hostname(),
                addr: beat.service_addr.clone(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                expires,
            };
            self.store().put_desktop_service(&service).await.map_err(unavailable)?;
            let record = DesktopRecord {
                kind: beat.kind,
                name: beat.name.clone(),
                hostname: beat.hostname.clone(),
                addr: beat.addr.clone(),
                labels: beat.labels.clone(),
                expires,
                // The service's host: a lock on it ends this desktop's sessions.
                host_id: (beat.service != beat.name).then(|| beat.service.clone()),
            };
            self.store().put_desktop(&record).await.map_err(unavailable)
        })
    }

    fn unregister<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async move { self.store().delete_desktop(DesktopKind::Windows, name).await.map_err(unavailable) })
    }
}

/// A heartbeat as the cluster API carries it: a Linux desktop is the
/// caller's own; a Windows desktop is named.
fn heartbeat_message(beat: &Heartbeat) -> oriel_cluster::proto::DesktopHeartbeat {
    let (desktop_kind, desktop) = match beat.kind {
        DesktopKind::Linux => (String::new(), String::new()),
        DesktopKind::Windows => (beat.kind.as_str().to_owned(), beat.name.clone()),
    };
    oriel_cluster::proto::DesktopHeartbeat {
        hostname: beat.hostname.clone(),
        addr: beat.addr.clone(),
        labels: beat.labels.clone().into_iter().collect(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        expires_after_ms: u64::try_from(beat.ttl.as_millis()).unwrap_or(u64::MAX),
        desktop_kind,
        desktop,
        service_addr: beat.service_addr.clone(),
        removed: false,
        service_hostname: hostname(),
    }
}

impl Registrar for RemoteAuth {
    fn register<'a>(&'a self, beat: &'a Heartbeat) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(self.heartbeat(heartbeat_message(beat)))
    }

    fn unregister<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthorityError>> {
        let message = oriel_cluster::proto::DesktopHeartbeat {
            desktop_kind: DesktopKind::Windows.as_str().to_owned(),
            desktop: name.to_owned(),
            removed: true,
            ..Default::default()
        };
        Box::pin(self.heartbeat(message))
    }
}

/// Registers the desktop now and keeps it registered until the task ends:
/// every interval, and at once when a label changes. With `tunnels`, it
/// beats only while at least one reverse tunnel is up, so a service no
/// proxy can reach leaves the listings.
pub async fn heartbeat(registrar: Arc<dyn Registrar>, desktop: Registered, mut labels: Labels, mut tunnels: Option<watch::Receiver<usize>>) {
    let every = interval();
    let mut ticker = tokio::time::interval(every);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = labels.changed() => {}
            Ok(()) = async { match tunnels.as_mut() { Some(t) => t.changed().await, None => std::future::pending().await } } => {}
        }
        if tunnels.as_ref().is_some_and(|t| *t.borrow() == 0) {
            continue;
        }
        let beat = desktop.beat(labels.current(), ttl());
        match registrar.register(&beat).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("desktop heartbeat works again");
            }
            Ok(()) => {}
            // Every beat is tried anyway (the host's certificate may be
            // renewed meanwhile); the log says whether waiting can help.
            Err(error) if error.retry_helps() => {
                failing = true;
                tracing::warn!(%error, "desktop heartbeat failed; will retry");
            }
            Err(error) => {
                failing = true;
                tracing::error!(%error, side = ?error.side(), "desktop heartbeat refused; trying again will not help until this is fixed");
            }
        }
    }
}
