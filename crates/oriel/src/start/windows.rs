//! The Windows desktops this process serves (`windows_desktop_service`):
//! each static host becomes a desktop service of the Windows kind, whose
//! sessions run `oriel rdp-session` against the host, registered as a
//! `windows_desktop` with its labels and kept registered by a heartbeat.
//! Hosts LDAP discovery finds are registered as the directory lists them,
//! and served too when the configuration says how to trust and sign in to
//! them (`discovery.host_ca_file`, the credentials file's `discovered`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use oriel_auth::control_plane::ControlPlane;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, RdpDesktop, SessionLimits, SessionProgram};
use oriel_rbac::DesktopKind;
use oriel_recorder::RecordingSpool;

use crate::config::windows::{LdapCa, LdapDiscovery, WindowsDesktopService};
use crate::registration::Registered;
use oriel_auth::store::DesktopRecord;
use oriel_windows_desktop::discovery::{DesktopRules, Directory, Search, discover};

/// The Windows desktops this process serves, by name: the static hosts
/// from the start, discovered ones while the directory lists them.
#[derive(Clone, Default)]
pub struct WindowsDesktops(Arc<std::sync::RwLock<BTreeMap<String, LinuxDesktopService>>>);

impl WindowsDesktops {
    /// The service of desktop `name`, if this process serves it.
    pub fn get(&self, name: &str) -> Option<LinuxDesktopService> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(name).cloned()
    }

    fn insert(&self, name: String, service: LinuxDesktopService) {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(name, service);
    }

    fn remove(&self, name: &str) {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(name);
    }

    fn contains(&self, name: &str) -> bool {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(name)
    }
}

/// What every Windows desktop service of this process is made with.
#[derive(Clone)]
struct ServiceParts {
    plane: ControlPlane,
    runtime_dir: std::path::PathBuf,
    program: SessionProgram,
    recordings: RecordingSpool,
    disconnect_grace: std::time::Duration,
}

impl ServiceParts {
    /// The desktop service of Windows desktop `name`, reached as `rdp` says.
    fn service(&self, name: &str, rdp: RdpDesktop) -> LinuxDesktopService {
        LinuxDesktopService::new(DesktopConfig {
            desktop_name: name.to_owned(),
            kind: DesktopKind::Windows,
            rdp: Some(rdp),
            authority: Arc::new(self.plane.clone()),
            xsession_dirs: Vec::new(),
            xsession_filter: Default::default(),
            runtime_dir: self.runtime_dir.clone(),
            frames: FrameConfig::default(),
            session_program: self.program.clone(),
            limits: SessionLimits::default(),
            recordings: self.recordings.clone(),
            disconnect_grace: self.disconnect_grace,
            x_server: Default::default(),
        })
    }
}

/// How sessions reach hosts discovery finds: their CA, and the accounts.
#[derive(Clone)]
struct DiscoveredSessions {
    ca_pem: String,
    accounts: BTreeMap<String, oriel_linux_desktop::RdpAccount>,
}

/// The services of `config`'s hosts, by desktop name (none when it is off).
pub fn start(config: &WindowsDesktopService, plane: &ControlPlane, data_dir: &Path, recordings: RecordingSpool) -> anyhow::Result<WindowsDesktops> {
    let services = WindowsDesktops::default();
    if !config.enabled {
        return Ok(services);
    }
    let file = config.credentials_file.as_deref().context("windows_desktop_service.credentials_file is missing")?;
    let credentials = crate::config::windows_credentials::read(file)?;
    let (mut static_accounts, discovered_accounts) = (credentials.hosts, credentials.discovered);
    let service_name = crate::registration::host_uuid(data_dir)?;
    let parts = ServiceParts {
        plane: plane.clone(),
        runtime_dir: oriel_linux_desktop::login::runtime_dir(data_dir),
        program: SessionProgram::this_executable(&["rdp-session"])?,
        recordings,
        disconnect_grace: config.disconnect_grace,
    };
    for host in &config.static_hosts {
        let certificate_pem = std::fs::read_to_string(&host.certificate_file)
            .with_context(|| format!("reading the certificate of Windows desktop {:?} ({})", host.name, host.certificate_file.display()))?;
        if oriel_windows_desktop::PinnedCertificate::from_pem(&certificate_pem).is_none() {
            anyhow::bail!("{} is not a PEM certificate (Windows desktop {:?})", host.certificate_file.display(), host.name);
        }
        let accounts = static_accounts.remove(&host.name).unwrap_or_default();
        if accounts.is_empty() {
            tracing::warn!(desktop = %host.name, file = %file.display(), "no accounts for this Windows desktop in the credentials file: its sessions will be refused");
        }
        let rdp = RdpDesktop { addr: host.addr.clone(), server_name: host.server_name.clone(), certificate_pem, ca_pem: String::new(), accounts };
        let service = parts.service(&host.name, rdp);
        let labels = crate::labels::Labels::start(config.labels_of(host), Vec::new());
        let registered = Registered {
            kind: DesktopKind::Windows,
            name: host.name.clone(),
            service: service_name.clone(),
            addr: host.addr.clone(),
            hostname: Some(host.server_name.clone()),
        };
        tokio::spawn(crate::registration::heartbeat(Arc::new(plane.clone()), registered, labels, None));
        tracing::info!(desktop = %host.name, addr = %host.addr, "serving a Windows desktop");
        services.insert(host.name.clone(), service);
    }
    for unused in static_accounts.keys() {
        tracing::warn!(host = %unused, "the credentials file names a host that is not in static_hosts");
    }
    if let Some(discovery) = &config.discovery {
        let (directory, search) = directory_search(discovery)?;
        let sessions = match &discovery.host_ca_file {
            Some(file) => {
                let ca_pem = std::fs::read_to_string(file).with_context(|| format!("reading discovery.host_ca_file {}", file.display()))?;
                let Some(trust) = oriel_windows_desktop::HostTrust::authority_from_pem(&ca_pem) else {
                    anyhow::bail!("discovery.host_ca_file {} holds no PEM certificate", file.display());
                };
                trust.check().map_err(|e| anyhow::anyhow!("discovery.host_ca_file {}: {e}", file.display()))?;
                if discovered_accounts.is_empty() {
                    tracing::warn!(file = %file.display(), "no accounts under discovered in the credentials file: sessions to discovered hosts will be refused");
                }
                Some(DiscoveredSessions { ca_pem, accounts: discovered_accounts })
            }
            None => None,
        };
        let discovered = Discovered { services: services.clone(), parts, sessions, host_id: service_name.clone() };
        tokio::spawn(discover_forever(plane.clone(), config.clone(), discovered, directory, search, discovery.interval));
    }
    Ok(services)
}

/// How long a discovered desktop stays registered without being found
/// again (Teleport's: three times its announce interval of 10 minutes); a
/// directory that cannot be searched meanwhile does not empty the list.
const DISCOVERED_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The directory and search `discovery` describes, its secrets read now.
fn directory_search(discovery: &LdapDiscovery) -> anyhow::Result<(Directory, Search)> {
    let password = crate::config::windows_credentials::read_secret(&discovery.password_file)?;
    let ca_pem = match &discovery.ca_pem {
        LdapCa::Inline(pem) => pem.clone(),
        LdapCa::File(file) => std::fs::read_to_string(file).with_context(|| format!("reading ldap_ca_file {}", file.display()))?,
    };
    let scheme = if discovery.start_tls { "ldap" } else { "ldaps" };
    let directory = Directory {
        url: format!("{scheme}://{}", discovery.addr),
        start_tls: discovery.start_tls,
        ca_pem,
        bind_dn: discovery.username.clone(),
        password,
        timeout: std::time::Duration::from_secs(30),
    };
    let rules = DesktopRules {
        rdp_port: discovery.rdp_port,
        domain: discovery.domain.clone(),
        label_attributes: discovery.label_attributes.clone(),
        base_labels: BTreeMap::new(),
    };
    Ok((directory, Search { base_dn: discovery.base_dn.clone(), filters: discovery.filters.clone(), rules }))
}

/// Searches the directory every `interval`: registers each computer found
/// as a `windows_desktop` (the `host_labels` that match, then Teleport's
/// labels), and removes the ones the directory no longer has.
/// What discovery registers and serves its desktops with.
struct Discovered {
    /// Where a served discovered desktop goes (and leaves).
    services: WindowsDesktops,
    parts: ServiceParts,
    /// `None`: discovered hosts are listed, and sessions to them refused.
    sessions: Option<DiscoveredSessions>,
    /// This host, which serves them.
    host_id: String,
}

async fn discover_forever(
    plane: ControlPlane,
    config: WindowsDesktopService,
    discovered: Discovered,
    directory: Directory,
    search: Search,
    interval: std::time::Duration,
) {
    let mut registered = std::collections::BTreeSet::new();
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let found = match discover(&directory, &search).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "LDAP discovery failed; desktops found before stay until they expire");
                continue;
            }
        };
        // Registered for three intervals at least, so a long interval does
        // not leave gaps in the listings.
        let expires = Some(std::time::SystemTime::now() + DISCOVERED_TTL.max(interval * 3));
        let mut now = std::collections::BTreeSet::new();
        for desktop in found {
            // A static host's record is the configuration's, never the directory's.
            if config.static_hosts.iter().any(|host| host.name == desktop.name) {
                tracing::warn!(desktop = %desktop.name, "the directory has a computer named as a static host: the static host's settings stand");
                continue;
            }
            // Present in the directory, registered or not this time: not removed.
            now.insert(desktop.name.clone());
            let mut labels = config.host_labels_for(&desktop.name, &desktop.addr);
            labels.extend(desktop.labels);
            let record = DesktopRecord {
                kind: DesktopKind::Windows,
                name: desktop.name.clone(),
                hostname: desktop.hostname,
                addr: desktop.addr,
                labels,
                expires,
                host_id: Some(discovered.host_id.clone()),
            };
            if let Some(sessions) = &discovered.sessions
                && !discovered.services.contains(&record.name)
            {
                // Its certificate is checked against the domain's CA, for
                // the DNS name the directory gives it.
                let rdp = RdpDesktop {
                    addr: record.addr.clone(),
                    server_name: record.hostname.clone(),
                    certificate_pem: String::new(),
                    ca_pem: sessions.ca_pem.clone(),
                    accounts: sessions.accounts.clone(),
                };
                discovered.services.insert(record.name.clone(), discovered.parts.service(&record.name, rdp));
                tracing::info!(desktop = %record.name, addr = %record.addr, "serving a discovered Windows desktop");
            }
            if let Err(error) = plane.store().put_desktop(&record).await {
                tracing::warn!(desktop = %desktop.name, %error, "cannot register a discovered Windows desktop; trying again next time");
            }
        }
        for gone in registered.difference(&now) {
            // No new sessions; those running go on until they end.
            discovered.services.remove(gone);
            match plane.store().delete_desktop(DesktopKind::Windows, gone).await {
                Ok(()) => tracing::info!(desktop = %gone, "the directory no longer has this Windows desktop: removed"),
                Err(error) => tracing::warn!(desktop = %gone, %error, "cannot remove a Windows desktop the directory dropped; it expires"),
            }
        }
        tracing::info!(desktops = now.len(), "LDAP discovery found Windows desktops");
        registered = now;
    }
}
