//! The Windows desktops this process serves (`windows_desktop_service`):
//! each static host becomes a desktop service of the Windows kind, whose
//! sessions run `oriel rdp-session` against the host, registered as a
//! `windows_desktop` with its labels and kept registered by a heartbeat.
//! Hosts LDAP discovery finds are registered as the directory lists them,
//! and served too when the configuration says how to trust and sign in to
//! them (`discovery.host_ca_file`, the credentials file's `discovered`).
//! The same whether it runs in the auth service's process or on a host of
//! its own (`windows_agent.rs`): only [`Serving`]'s authority and
//! registrar differ, the control plane or the cluster API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, RdpDesktop, SessionAuthority, SessionLimits, SessionProgram};
use oriel_rbac::DesktopKind;
use oriel_recorder::RecordingSpool;
use tokio::sync::watch;

use crate::config::windows::{LdapCa, LdapDiscovery, WindowsDesktopService};
use crate::registration::{Registered, Registrar};
use oriel_windows_desktop::discovery::{DesktopRules, Directory, Search, discover};

/// Who decides and registers for this process's Windows desktops, and as
/// which service.
pub struct Serving {
    /// Decides every session (the control plane, or the cluster API).
    pub authority: Arc<dyn SessionAuthority>,
    /// Where the desktops are registered.
    pub registrar: Arc<dyn Registrar>,
    /// Where recordings go.
    pub recordings: RecordingSpool,
    /// The data dir (sessions' runtime dir, the host's id).
    pub data_dir: PathBuf,
    /// This host's id: the service's name and every desktop's `host_id`.
    pub host_id: String,
    /// Where proxies dial the service ("in-process" next to the proxy).
    pub service_addr: String,
    /// With reverse tunnels, their count: desktops are registered only
    /// while one is up, so no proxy lists a desktop it cannot reach.
    pub tunnels: Option<watch::Receiver<usize>>,
}

/// The Windows desktops this process serves, by name: the static hosts
/// from the start, discovered ones while the directory lists them.
#[derive(Clone, Default)]
pub struct WindowsDesktops(Arc<std::sync::RwLock<BTreeMap<String, LinuxDesktopService>>>);

/// What an agent on a host of its own serves.
impl oriel_cluster::agent::ServedDesktops for WindowsDesktops {
    fn service(&self, kind: DesktopKind, name: &str) -> Option<LinuxDesktopService> {
        if kind == DesktopKind::Windows { self.get(name) } else { None }
    }
}

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
    authority: Arc<dyn SessionAuthority>,
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
            authority: self.authority.clone(),
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

/// Serves `config`'s hosts: each goes into `services` under its desktop
/// name (none when it is off).
pub fn start(config: &WindowsDesktopService, serving: Serving, services: &WindowsDesktops) -> anyhow::Result<()> {
    if !config.enabled {
        return Ok(());
    }
    let file = config.credentials_file.as_deref().context("windows_desktop_service.credentials_file is missing")?;
    let credentials = crate::config::windows_credentials::read(file)?;
    let (mut static_accounts, discovered_accounts) = (credentials.hosts, credentials.discovered);
    let Serving { authority, registrar, recordings, data_dir, host_id: service_name, service_addr, tunnels } = serving;
    let parts = ServiceParts {
        authority,
        runtime_dir: oriel_linux_desktop::login::runtime_dir(&data_dir),
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
            service_addr: service_addr.clone(),
        };
        tokio::spawn(crate::registration::heartbeat(registrar.clone(), registered, labels, tunnels.clone()));
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
        let discovered = Discovered { services: services.clone(), parts, sessions, host_id: service_name.clone(), service_addr, registrar, tunnels };
        tokio::spawn(discover_forever(config.clone(), discovered, directory, search, discovery.interval));
    }
    Ok(())
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

/// What discovery registers and serves its desktops with.
struct Discovered {
    /// Where a served discovered desktop goes (and leaves).
    services: WindowsDesktops,
    parts: ServiceParts,
    /// `None`: discovered hosts are listed, and sessions to them refused.
    sessions: Option<DiscoveredSessions>,
    /// This host, which serves them.
    host_id: String,
    /// Where proxies dial this service.
    service_addr: String,
    registrar: Arc<dyn Registrar>,
    /// Registrations only while a tunnel is up (as for static hosts).
    tunnels: Option<watch::Receiver<usize>>,
}

/// A desktop the directory listed, and when it last did.
struct Found {
    registered: Registered,
    labels: BTreeMap<String, String>,
    seen: Instant,
}

/// Searches the directory every `interval` and keeps what it found
/// registered with a heartbeat (each desktop the `host_labels` that match,
/// then Teleport's labels) for as long as the directory lists it, or
/// [`DISCOVERED_TTL`] while it cannot be searched; one the directory
/// dropped is removed at once.
async fn discover_forever(config: WindowsDesktopService, discovered: Discovered, directory: Directory, search: Search, interval: Duration) {
    let mut known: BTreeMap<String, Found> = BTreeMap::new();
    let mut searches = tokio::time::interval(interval);
    let mut beats = tokio::time::interval(crate::registration::interval());
    loop {
        tokio::select! {
            _ = searches.tick() => search_once(&config, &discovered, &directory, &search, &mut known).await,
            _ = beats.tick() => {}
        }
        // Kept while found within the TTL (three searches at least, so a
        // long interval leaves no gaps in the listings).
        let stale = DISCOVERED_TTL.max(interval * 3);
        known.retain(|name, found| {
            let fresh = found.seen.elapsed() < stale;
            if !fresh {
                discovered.services.remove(name);
                tracing::info!(desktop = %name, "the directory has not been searched for too long: this Windows desktop expires");
            }
            fresh
        });
        if discovered.tunnels.as_ref().is_some_and(|t| *t.borrow() == 0) {
            continue;
        }
        for (name, found) in &known {
            if let Err(error) = discovered.registrar.register(&found.registered.beat(found.labels.clone(), crate::registration::ttl())).await {
                tracing::warn!(desktop = %name, %error, "cannot register a discovered Windows desktop; trying again");
            }
        }
    }
}

/// One search: what it found goes into `known` (and is served, when
/// discovered hosts may be), what the directory dropped is removed.
async fn search_once(config: &WindowsDesktopService, discovered: &Discovered, directory: &Directory, search: &Search, known: &mut BTreeMap<String, Found>) {
    let found = match discover(directory, search).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(%error, "LDAP discovery failed; desktops found before stay until they expire");
            return;
        }
    };
    let mut now = std::collections::BTreeSet::new();
    for desktop in found {
        // A static host's record is the configuration's, never the directory's.
        if config.static_hosts.iter().any(|host| host.name == desktop.name) {
            tracing::warn!(desktop = %desktop.name, "the directory has a computer named as a static host: the static host's settings stand");
            continue;
        }
        now.insert(desktop.name.clone());
        let mut labels = config.host_labels_for(&desktop.name, &desktop.addr);
        labels.extend(desktop.labels);
        if let Some(sessions) = &discovered.sessions
            && !discovered.services.contains(&desktop.name)
        {
            // Its certificate is checked against the domain's CA, for
            // the DNS name the directory gives it.
            let rdp = RdpDesktop {
                addr: desktop.addr.clone(),
                server_name: desktop.hostname.clone(),
                certificate_pem: String::new(),
                ca_pem: sessions.ca_pem.clone(),
                accounts: sessions.accounts.clone(),
            };
            discovered.services.insert(desktop.name.clone(), discovered.parts.service(&desktop.name, rdp));
            tracing::info!(desktop = %desktop.name, addr = %desktop.addr, "serving a discovered Windows desktop");
        }
        let registered = Registered {
            kind: DesktopKind::Windows,
            name: desktop.name.clone(),
            service: discovered.host_id.clone(),
            addr: desktop.addr,
            hostname: Some(desktop.hostname),
            service_addr: discovered.service_addr.clone(),
        };
        known.insert(desktop.name, Found { registered, labels, seen: Instant::now() });
    }
    let gone: Vec<String> = known.keys().filter(|name| !now.contains(*name)).cloned().collect();
    for name in gone {
        // No new sessions; those running go on until they end.
        known.remove(&name);
        discovered.services.remove(&name);
        match discovered.registrar.unregister(&name, &discovered.host_id).await {
            Ok(()) => tracing::info!(desktop = %name, "the directory no longer has this Windows desktop: removed"),
            Err(error) => tracing::warn!(desktop = %name, %error, "cannot remove a Windows desktop the directory dropped; it expires"),
        }
    }
    tracing::info!(desktops = now.len(), "LDAP discovery found Windows desktops");
}
