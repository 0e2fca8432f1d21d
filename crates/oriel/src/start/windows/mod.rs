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

use anyhow::Context as _;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, RdpDesktop, SessionAuthority, SessionLimits, SessionProgram};
use oriel_rbac::DesktopKind;
use oriel_recorder::RecordingSpool;
use tokio::sync::watch;

use crate::config::windows::WindowsDesktopService;
use crate::registration::{Registered, Registrar};

mod discovery;

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
    if let Some(ldap) = &config.discovery {
        let found = discovery::Discovered {
            services: services.clone(),
            parts,
            sessions: discovery::sessions(ldap, discovered_accounts)?,
            host_id: service_name.clone(),
            service_addr,
            registrar,
            tunnels,
        };
        tokio::spawn(discovery::discover_forever(config.clone(), found, discovery::directory_search(ldap)?, ldap.interval));
    }
    Ok(())
}
