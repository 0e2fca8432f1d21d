//! The Windows desktops this process serves (`windows_desktop_service`):
//! each static host becomes a desktop service of the Windows kind, whose
//! sessions run `oriel rdp-session` against the host, registered as a
//! `windows_desktop` with its labels and kept registered by a heartbeat.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use oriel_auth::control_plane::ControlPlane;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, RdpDesktop, SessionLimits, SessionProgram};
use oriel_rbac::DesktopKind;
use oriel_recorder::RecordingSpool;

use crate::config::windows::WindowsDesktopService;
use crate::registration::Registered;

/// The services of `config`'s hosts, by desktop name (none when it is off).
pub fn start(
    config: &WindowsDesktopService,
    plane: &ControlPlane,
    data_dir: &Path,
    recordings: RecordingSpool,
) -> anyhow::Result<BTreeMap<String, LinuxDesktopService>> {
    let mut services = BTreeMap::new();
    if !config.enabled {
        return Ok(services);
    }
    let file = config.credentials_file.as_deref().context("windows_desktop_service.credentials_file is missing")?;
    let mut credentials = crate::config::windows_credentials::read(file)?;
    let service_name = crate::registration::host_uuid(data_dir)?;
    for host in &config.static_hosts {
        let certificate_pem = std::fs::read_to_string(&host.certificate_file)
            .with_context(|| format!("reading the certificate of Windows desktop {:?} ({})", host.name, host.certificate_file.display()))?;
        if oriel_windows_desktop::PinnedCertificate::from_pem(&certificate_pem).is_none() {
            anyhow::bail!("{} is not a PEM certificate (Windows desktop {:?})", host.certificate_file.display(), host.name);
        }
        let accounts = credentials.remove(&host.name).unwrap_or_default();
        if accounts.is_empty() {
            tracing::warn!(desktop = %host.name, file = %file.display(), "no accounts for this Windows desktop in the credentials file: its sessions will be refused");
        }
        let rdp = RdpDesktop { addr: host.addr.clone(), server_name: host.server_name.clone(), certificate_pem, accounts };
        let service = LinuxDesktopService::new(DesktopConfig {
            desktop_name: host.name.clone(),
            kind: DesktopKind::Windows,
            rdp: Some(rdp),
            authority: Arc::new(plane.clone()),
            xsession_dirs: Vec::new(),
            xsession_filter: Default::default(),
            runtime_dir: oriel_linux_desktop::login::runtime_dir(data_dir),
            frames: FrameConfig::default(),
            session_program: SessionProgram::this_executable(&["rdp-session"])?,
            limits: SessionLimits::default(),
            recordings: recordings.clone(),
            disconnect_grace: config.disconnect_grace,
            x_server: Default::default(),
        });
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
    for unused in credentials.keys() {
        tracing::warn!(host = %unused, "the credentials file names a host that is not in static_hosts");
    }
    Ok(services)
}
