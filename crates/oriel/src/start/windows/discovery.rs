//! LDAP discovery's side of a Windows desktop service: the directory is
//! searched every interval, what it lists is registered (and served, when
//! `discovery.host_ca_file` says how to trust the hosts) and kept
//! registered by a heartbeat, and what it drops is removed at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use oriel_linux_desktop::RdpDesktop;
use oriel_rbac::DesktopKind;
use oriel_windows_desktop::discovery::{DesktopRules, Directory, Search, discover};
use tokio::sync::watch;

use super::{ServiceParts, WindowsDesktops};
use crate::config::windows::{LdapCa, LdapDiscovery, WindowsDesktopService};
use crate::registration::{Registered, Registrar};

/// How sessions reach the hosts discovery finds (`discovery.host_ca_file`
/// and the credentials file's `discovered` accounts), or `None`: they are
/// listed, and sessions to them refused.
pub(super) fn sessions(discovery: &LdapDiscovery, accounts: BTreeMap<String, oriel_linux_desktop::RdpAccount>) -> anyhow::Result<Option<DiscoveredSessions>> {
    let Some(file) = &discovery.host_ca_file else { return Ok(None) };
    let ca_pem = std::fs::read_to_string(file).with_context(|| format!("reading discovery.host_ca_file {}", file.display()))?;
    let Some(trust) = oriel_windows_desktop::HostTrust::authority_from_pem(&ca_pem) else {
        anyhow::bail!("discovery.host_ca_file {} holds no PEM certificate", file.display());
    };
    trust.check().map_err(|e| anyhow::anyhow!("discovery.host_ca_file {}: {e}", file.display()))?;
    if accounts.is_empty() {
        tracing::warn!(file = %file.display(), "no accounts under discovered in the credentials file: sessions to discovered hosts will be refused");
    }
    Ok(Some(DiscoveredSessions { ca_pem, accounts }))
}

/// How sessions reach hosts discovery finds: their CA, and the accounts.
#[derive(Clone)]
pub(super) struct DiscoveredSessions {
    ca_pem: String,
    accounts: BTreeMap<String, oriel_linux_desktop::RdpAccount>,
}

/// How long a discovered desktop stays registered without being found
/// again (Teleport's: three times its announce interval of 10 minutes); a
/// directory that cannot be searched meanwhile does not empty the list.
const DISCOVERED_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The directory and search `discovery` describes, its secrets read now.
pub(super) fn directory_search(discovery: &LdapDiscovery) -> anyhow::Result<(Directory, Search)> {
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
pub(super) struct Discovered {
    /// Where a served discovered desktop goes (and leaves).
    pub services: WindowsDesktops,
    pub parts: ServiceParts,
    /// `None`: discovered hosts are listed, and sessions to them refused.
    pub sessions: Option<DiscoveredSessions>,
    /// This host, which serves them.
    pub host_id: String,
    /// Where proxies dial this service.
    pub service_addr: String,
    pub registrar: Arc<dyn Registrar>,
    /// Registrations only while a tunnel is up (as for static hosts).
    pub tunnels: Option<watch::Receiver<usize>>,
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
pub(super) async fn discover_forever(config: WindowsDesktopService, discovered: Discovered, (directory, search): (Directory, Search), interval: Duration) {
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
        match discovered.registrar.unregister(&name).await {
            Ok(()) => tracing::info!(desktop = %name, "the directory no longer has this Windows desktop: removed"),
            Err(error) => tracing::warn!(desktop = %name, %error, "cannot remove a Windows desktop the directory dropped; it expires"),
        }
    }
    tracing::info!(desktops = now.len(), "LDAP discovery found Windows desktops");
}
