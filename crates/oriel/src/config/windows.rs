//! `windows_desktop_service`, in Teleport's shape: `enabled`, `static_hosts`
//! (`name`, `addr`, `labels`, `ad`), `host_labels` (`match`, `labels`).
//! Oriel adds what signing in without a domain needs: each host's
//! certificate (`certificate_file`, pinned) and the file of accounts per
//! RBAC login (`credentials_file`, root-only; `windows_credentials.rs`).
//! `ldap` and `discovery` are Teleport's too. `listen_addr`, `public_addr`
//! and `connection_limits` matter on a host of its own (joined with a
//! `windows_desktop` token), where proxies may dial the service.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oriel_rbac::document::Node;

use super::fields::{At, boolean, host_port, host_port_text, mapping, regex, string};
use super::{ParseError, labels};

/// RDP's port, when a host's `addr` names none.
const RDP_PORT: u16 = 3389;

/// `windows_desktop_service`.
#[derive(Debug, Clone)]
pub struct WindowsDesktopService {
    /// Whether this process serves Windows desktops.
    pub enabled: bool,
    /// The hosts it serves, as written.
    pub static_hosts: Vec<StaticHost>,
    /// Labels for hosts whose name or address matches.
    pub host_labels: Vec<HostLabels>,
    /// The accounts each login signs in with, per host.
    pub credentials_file: Option<PathBuf>,
    /// How long a session waits for its browser to come back (as for Linux desktops).
    pub disconnect_grace: std::time::Duration,
    /// The directory to discover hosts in, and how.
    pub discovery: Option<LdapDiscovery>,
    /// On a host of its own: where proxies may dial the service directly.
    pub listen_addr: std::net::SocketAddr,
    /// The address to advertise, when it differs.
    pub public_addr: Option<String>,
    /// Open connections to `listen_addr`, per client address and in total.
    pub connection_limits: oriel_proxy::ConnectionLimits,
}

/// Teleport's default for a Windows desktop service's listener.
const LISTEN: &str = "0.0.0.0:3028";

/// `ldap` and `discovery`: where Windows hosts are looked up, in Teleport's keys.
#[derive(Debug, Clone)]
pub struct LdapDiscovery {
    /// The directory server, `host:port` (LDAPS unless `start_tls`).
    pub addr: String,
    /// Upgrade a plain LDAP connection (port 389) with StartTLS instead.
    pub start_tls: bool,
    /// The domain, for `teleport.dev/windows_domain`.
    pub domain: String,
    /// The DN (or `user@domain`) to bind as.
    pub username: String,
    /// A file only its owner may read, holding the bind password.
    pub password_file: PathBuf,
    /// The CAs the directory's certificate must chain to (PEM).
    pub ca_pem: LdapCa,
    /// Where computers are searched (`discovery.base_dn`).
    pub base_dn: String,
    /// LDAP filters every computer must also match.
    pub filters: Vec<String>,
    /// Attributes copied into `ldap/<attribute>` labels.
    pub label_attributes: Vec<String>,
    /// The RDP port of discovered hosts.
    pub rdp_port: u16,
    /// `discovery.host_ca_file`: the CA that issues discovered hosts' RDP
    /// certificates (the domain's), PEM. Without it sessions to them are
    /// refused: a certificate nobody vouches for proves nothing.
    pub host_ca_file: Option<PathBuf>,
    /// How often the directory is searched again.
    pub interval: std::time::Duration,
}

/// Where the directory's CA certificates come from.
#[derive(Debug, Clone)]
pub enum LdapCa {
    /// `ldap_ca_cert`: PEM in the file itself, as Teleport takes it.
    Inline(String),
    /// `ldap_ca_file`: a PEM file.
    File(PathBuf),
}

/// One host of `static_hosts`.
#[derive(Debug, Clone)]
pub struct StaticHost {
    /// The desktop's resource name.
    pub name: String,
    /// `host:port`.
    pub addr: String,
    /// Its own labels.
    pub labels: BTreeMap<String, String>,
    /// The host's TLS certificate, PEM: the one it must present.
    pub certificate_file: PathBuf,
    /// The name its certificate and CredSSP are checked for: the host part
    /// of `addr` unless given.
    pub server_name: String,
}

/// A `host_labels` rule: hosts whose name or address the regular
/// expression matches get these labels (every matching rule's, combined).
#[derive(Debug, Clone)]
pub struct HostLabels {
    /// Matched against the host's name and its address.
    pub matcher: regex::Regex,
    /// What it adds.
    pub labels: BTreeMap<String, String>,
}

impl Default for WindowsDesktopService {
    fn default() -> Self {
        Self {
            enabled: false,
            static_hosts: Vec::new(),
            host_labels: Vec::new(),
            credentials_file: None,
            disconnect_grace: oriel_linux_desktop::session::DEFAULT_DISCONNECT_GRACE,
            discovery: None,
            listen_addr: LISTEN.parse().expect("static"),
            public_addr: None,
            connection_limits: oriel_proxy::ConnectionLimits::SERVICES,
        }
    }
}

impl WindowsDesktopService {
    /// `host`'s labels: the `host_labels` rules that match its name or
    /// address, in order, then its own (which win).
    pub fn labels_of(&self, host: &StaticHost) -> BTreeMap<String, String> {
        let mut labels = self.host_labels_for(&host.name, &host.addr);
        labels.extend(host.labels.clone());
        labels
    }

    /// The labels of every `host_labels` rule that matches `name` or the
    /// host part of `addr`, in order (a later rule's value wins).
    pub fn host_labels_for(&self, name: &str, addr: &str) -> BTreeMap<String, String> {
        let address = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let mut labels = BTreeMap::new();
        for rule in &self.host_labels {
            if rule.matcher.is_match(name) || rule.matcher.is_match(address) {
                labels.extend(rule.labels.clone());
            }
        }
        labels
    }
}

pub(super) fn windows_desktop_service(at: &At, node: &Node) -> Result<WindowsDesktopService, ParseError> {
    let mut service = WindowsDesktopService::default();
    let (mut ldap, mut discovery, mut interval) = (None, None, None);
    for entry in mapping(
        at,
        node,
        &[
            "enabled",
            "static_hosts",
            "host_labels",
            "credentials_file",
            "disconnect_grace",
            "ldap",
            "discovery",
            "discovery_interval",
            "listen_addr",
            "public_addr",
            "connection_limits",
        ],
    )? {
        let at = at.key(entry);
        let value = &entry.value;
        match entry.key.as_str() {
            "enabled" => service.enabled = boolean(&at, value)?,
            "static_hosts" => service.static_hosts = items(&at, value, static_host)?,
            "host_labels" => service.host_labels = items(&at, value, host_labels)?,
            "credentials_file" => service.credentials_file = Some(PathBuf::from(string(&at, value)?)),
            "disconnect_grace" => service.disconnect_grace = super::disconnect_grace(&at, value)?,
            "ldap" => ldap = Some((at.clone(), value)),
            "discovery" => discovery = Some((at.clone(), value)),
            "discovery_interval" => interval = Some(super::fields::period(&at, value)?),
            "listen_addr" => service.listen_addr = super::fields::socket_addr(&at, value)?,
            "public_addr" => service.public_addr = Some(host_port(&at, value)?),
            "connection_limits" => {
                service.connection_limits = super::connection_limits(&at, value, oriel_proxy::ConnectionLimits::SERVICES)?;
            }
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    service.discovery = match (ldap, discovery) {
        (Some((ldap_at, ldap)), Some((discovery_at, discovery))) => {
            Some(ldap_discovery(&ldap_at, ldap, &discovery_at, discovery, interval.unwrap_or(DEFAULT_DISCOVERY_INTERVAL))?)
        }
        (None, None) => None,
        (Some(_), None) => return Err(at.error("ldap is set but discovery is not: add discovery with base_dn to find hosts in the directory")),
        (None, Some(_)) => return Err(at.error("discovery needs ldap: the directory's addr, username, password_file and CA")),
    };
    let mut names = std::collections::BTreeSet::new();
    for (i, host) in service.static_hosts.iter().enumerate() {
        if !names.insert(host.name.as_str()) {
            return Err(at.error(format!("static_hosts[{i}]: the name {:?} is used twice", host.name)));
        }
    }
    if service.enabled && service.credentials_file.is_none() {
        return Err(at.error("credentials_file is missing: the accounts each login signs in to these hosts with (see docs/windows.md)"));
    }
    Ok(service)
}

fn items<T>(at: &At, node: &Node, read: fn(&At, &Node) -> Result<T, ParseError>) -> Result<Vec<T>, ParseError> {
    match &node.value {
        oriel_rbac::document::Value::Seq(items) => items.iter().enumerate().map(|(i, item)| read(&at.item(i, item), item)).collect(),
        oriel_rbac::document::Value::Null => Ok(Vec::new()),
        other => Err(at.error(format!("expected a list, found {}", other.type_name()))),
    }
}

fn static_host(at: &At, node: &Node) -> Result<StaticHost, ParseError> {
    let (mut name, mut addr, mut host_labels, mut certificate, mut server_name) = (None, None, BTreeMap::new(), None, None);
    for entry in mapping(at, node, &["name", "addr", "labels", "ad", "certificate_file", "server_name"])? {
        let at = at.key(entry);
        let value = &entry.value;
        match entry.key.as_str() {
            "name" => name = Some(desktop_name(&at, &string(&at, value)?)?),
            "addr" => {
                let text = string(&at, value)?;
                let text = if text.contains(':') { text } else { format!("{text}:{RDP_PORT}") };
                addr = Some(host_port_text(&at, text)?);
            }
            "labels" => host_labels = labels(&at, value)?,
            "ad" => {
                if boolean(&at, value)? {
                    return Err(at.error(
                        "ad: true signs in with smart-card certificates from an Active Directory certificate service, which Oriel cannot do yet; \
                         use ad: false with accounts in credentials_file",
                    ));
                }
            }
            "certificate_file" => certificate = Some(PathBuf::from(string(&at, value)?)),
            "server_name" => server_name = Some(string(&at, value)?),
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    let Some(addr) = addr else { return Err(at.error("addr is missing (the host's address, host:port)")) };
    let name = match name {
        Some(name) => name,
        // Teleport names a static host after its address.
        None => addr.replace([':', '.'], "-"),
    };
    let Some(certificate_file) = certificate else {
        return Err(at.error("certificate_file is missing: the host's TLS certificate (PEM), the only one Oriel will accept from it"));
    };
    let server_name = server_name.unwrap_or_else(|| addr.rsplit_once(':').map_or(addr.clone(), |(host, _)| host.trim_matches(['[', ']']).to_owned()));
    Ok(StaticHost { name, addr, labels: host_labels, certificate_file, server_name })
}

fn host_labels(at: &At, node: &Node) -> Result<HostLabels, ParseError> {
    let (mut matcher, mut rule_labels) = (None, None);
    for entry in mapping(at, node, &["match", "labels"])? {
        let at = at.key(entry);
        match entry.key.as_str() {
            "match" => matcher = Some(regex(&at, &entry.value)?),
            "labels" => rule_labels = Some(labels(&at, &entry.value)?),
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    let Some(matcher) = matcher else { return Err(at.error("match is missing (a regular expression for host names or addresses)")) };
    Ok(HostLabels { matcher, labels: rule_labels.unwrap_or_default() })
}

/// Desktop names as resource names go: letters, digits, `-`, `_`, `.`.
fn desktop_name(at: &At, name: &str) -> Result<String, ParseError> {
    let valid = name.len() <= 253 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid { Ok(name.to_owned()) } else { Err(at.error(format!("{name:?} is not a desktop name (letters, digits, - _ .)"))) }
}

/// How often the directory is searched unless `discovery_interval` says
/// otherwise (Teleport's default).
const DEFAULT_DISCOVERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

fn ldap_discovery(at: &At, ldap: &Node, discovery_at: &At, discovery: &Node, interval: std::time::Duration) -> Result<LdapDiscovery, ParseError> {
    let (mut addr, mut start_tls, mut domain, mut username, mut password_file, mut ca) = (None, false, String::new(), None, None, None);
    for entry in mapping(
        at,
        ldap,
        &["addr", "domain", "username", "password_file", "ldap_ca_cert", "ldap_ca_file", "start_tls", "insecure_skip_verify", "server_name", "sid"],
    )? {
        let at = at.key(entry);
        let value = &entry.value;
        match entry.key.as_str() {
            "addr" => addr = Some(host_port(&at, value)?),
            "start_tls" => start_tls = boolean(&at, value)?,
            "domain" => domain = string(&at, value)?,
            "username" => username = Some(string(&at, value)?),
            "password_file" => password_file = Some(PathBuf::from(string(&at, value)?)),
            "ldap_ca_cert" => ca = Some(LdapCa::Inline(string(&at, value)?)),
            "ldap_ca_file" => ca = Some(LdapCa::File(PathBuf::from(string(&at, value)?))),
            "insecure_skip_verify" => {
                if boolean(&at, value)? {
                    return Err(at.error("Oriel always checks the directory's certificate: give its CA in ldap_ca_cert or ldap_ca_file"));
                }
            }
            // Teleport's, for its certificate sign-in; nothing here uses them.
            "server_name" | "sid" => {}
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    let Some(addr) = addr else { return Err(at.error("addr is missing (the directory server, host:636 for LDAPS)")) };
    let Some(username) = username else { return Err(at.error("username is missing (the DN to bind as)")) };
    let Some(password_file) = password_file else { return Err(at.error("password_file is missing (a file only its owner may read, with the bind password)")) };
    let Some(ca_pem) = ca else { return Err(at.error("ldap_ca_cert or ldap_ca_file is missing: the CA the directory's certificate must chain to")) };
    let (mut base_dn, mut filters, mut label_attributes, mut rdp_port, mut host_ca_file) = (None, Vec::new(), Vec::new(), 3389, None);
    for entry in mapping(discovery_at, discovery, &["base_dn", "filters", "label_attributes", "rdp_port", "host_ca_file"])? {
        let at = discovery_at.key(entry);
        let value = &entry.value;
        match entry.key.as_str() {
            "base_dn" => base_dn = Some(string(&at, value)?),
            "filters" => filters = super::fields::strings(&at, value)?,
            "label_attributes" => label_attributes = super::fields::strings(&at, value)?,
            "rdp_port" => rdp_port = super::fields::count(&at, value, 1, 65535)? as u16,
            "host_ca_file" => host_ca_file = Some(PathBuf::from(string(&at, value)?)),
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    let Some(base_dn) = base_dn else { return Err(discovery_at.error("base_dn is missing (where in the directory to look for computers)")) };
    // Served discovered hosts all get the same accounts, and any domain
    // user may add a computer the domain's CA then certifies: the
    // administrator says which computers are trusted with them.
    if host_ca_file.is_some() && filters.is_empty() {
        return Err(discovery_at.error(
            "host_ca_file serves every computer the search finds with the credentials file's discovered accounts: \
             add filters that select only the computers trusted with them (an OU, a group)",
        ));
    }
    if base_dn == "*" && domain.is_empty() {
        return Err(discovery_at.error("base_dn: '*' means the domain's own DN: set ldap.domain"));
    }
    let base_dn = match base_dn.as_str() {
        "*" => domain.split('.').map(|part| format!("DC={part}")).collect::<Vec<_>>().join(","),
        _ => base_dn,
    };
    Ok(LdapDiscovery { addr, start_tls, domain, username, password_file, ca_pem, base_dn, filters, label_attributes, rdp_port, host_ca_file, interval })
}
