//! `oriel.yaml`: which services a process runs and how. One
//! parse-and-validate step turns the file into [`Config`]; everything after
//! it works with typed, checked values. Unknown keys and bad values are
//! errors that name the key's path, line and column.

mod fields;
mod sample;
#[cfg(test)]
mod tests;
pub mod windows;
pub mod windows_credentials;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use oriel_linux_desktop::xsession::XsessionFilter;
use oriel_proxy::ConnectionLimits;
use oriel_rbac::ParseError;
use oriel_rbac::document::Node;

use fields::{At, boolean, count, host_port, mapping, period, regex, socket_addr, string, strings};
pub use sample::SAMPLE;

/// A whole configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where state is kept (defaults to the usual data dir).
    pub data_dir: Option<PathBuf>,
    /// The auth service to join, for a process that does not run it.
    pub auth_server: Option<String>,
    /// The proxies a desktop service keeps a reverse tunnel to (their
    /// tunnel addresses); the key takes one address or a list.
    pub proxy_servers: Vec<String>,
    /// The pin of the cluster's host CA (`sha256:…`, from `orielctl tokens
    /// add`): a joining host refuses an auth server whose CA differs.
    pub ca_pin: Option<String>,
    /// Join without `ca_pin`, trusting the CA the auth server shows first
    /// (`insecure_no_ca_pin: true`, or `oriel start --insecure-no-ca-pin`).
    pub insecure_no_ca_pin: bool,
    /// The join token, for a process that does not run the auth service.
    pub join_token: Option<JoinToken>,
    /// The control plane.
    pub auth_service: AuthService,
    /// The web proxy.
    pub proxy_service: ProxyService,
    /// This host's Linux desktops.
    pub linux_desktop_service: LinuxDesktopService,
    /// Windows desktops reached over RDP.
    pub windows_desktop_service: windows::WindowsDesktopService,
}

/// A join token from the file: a secret, so never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken(pub String);

impl std::fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinToken(<secret>)")
    }
}

/// `auth_service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthService {
    /// Runs in this process.
    pub enabled: bool,
    /// The mutual-TLS API for services and `orielctl`.
    pub listen_addr: SocketAddr,
    /// `sqlite` or a postgres:// URL: a unix socket, or TCP with verified
    /// TLS (`oriel start --storage`).
    pub storage: Option<String>,
    /// Open connections to the API, per client address and in total.
    pub connection_limits: oriel_proxy::ConnectionLimits,
    /// How long audit events are kept.
    pub audit_retention: Duration,
    /// Where session recordings are kept: `file:///path` (default: the
    /// data dir's `recordings`), checked when the service starts.
    pub audit_sessions_uri: Option<String>,
}

/// `proxy_service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyService {
    /// Runs in this process.
    pub enabled: bool,
    /// The HTTPS web UI and API.
    pub web_listen_addr: SocketAddr,
    /// Where desktop services' reverse tunnels arrive.
    pub tunnel_listen_addr: SocketAddr,
    /// The address people and agents use, when it differs (behind a load balancer).
    pub public_addr: Option<String>,
    /// Open connections to the web listener, per client address and in total.
    pub connection_limits: oriel_proxy::ConnectionLimits,
    /// Open connections to the tunnel listener, likewise.
    pub tunnel_connection_limits: oriel_proxy::ConnectionLimits,
}

/// `linux_desktop_service`, as seed 001 defines it.
#[derive(Debug, Clone)]
pub struct LinuxDesktopService {
    /// Runs in this process (off unless the file says so, as in the seed).
    pub enabled: bool,
    /// Where the proxy may dial the service directly.
    pub listen_addr: SocketAddr,
    /// The address to advertise, when it differs.
    pub public_addr: Option<String>,
    /// Which xsessions are offered.
    pub xsessions: XsessionFilter,
    /// Static labels of this host's desktop.
    pub labels: BTreeMap<String, String>,
    /// Labels whose value a command prints, refreshed every period.
    pub commands: Vec<LabelCommand>,
    /// Caps on sessions, shared directories and screen size.
    pub limits: oriel_linux_desktop::SessionLimits,
    /// Open connections to `listen_addr`, per client address and in total.
    pub connection_limits: oriel_proxy::ConnectionLimits,
    /// How long a session whose browser left waits to be resumed.
    pub disconnect_grace: Duration,
    /// `x_server`: each session's virtual X server.
    pub x_server: oriel_linux_desktop::xvfb::XServer,
}

/// The longest `disconnect_grace`: a session nobody watches holds a host's
/// memory, so it cannot wait for ever.
const MAX_DISCONNECT_GRACE: Duration = Duration::from_secs(24 * 3600);

/// A dynamic label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCommand {
    /// The label's name.
    pub name: String,
    /// Program and arguments, run without a shell.
    pub command: Vec<String>,
    /// How often it runs.
    pub period: Duration,
}

/// Default ports, as Teleport's: auth 3025, web 3080, tunnel 3024, Linux desktop 3029.
const AUTH_LISTEN: &str = oriel_admin::DEFAULT_AUTH_LISTEN;
const WEB_LISTEN: &str = "127.0.0.1:3080";
const TUNNEL_LISTEN: &str = "127.0.0.1:3024";
const DESKTOP_LISTEN: &str = "0.0.0.0:3029";

impl Default for Config {
    /// What `oriel start` runs without a file: everything in one process.
    fn default() -> Self {
        Self {
            data_dir: None,
            auth_server: None,
            proxy_servers: Vec::new(),
            ca_pin: None,
            insecure_no_ca_pin: false,
            join_token: None,
            auth_service: AuthService {
                enabled: true,
                listen_addr: AUTH_LISTEN.parse().expect("static"),
                storage: None,
                connection_limits: oriel_proxy::ConnectionLimits::SERVICES,
                audit_retention: oriel_auth::audit::DEFAULT_RETENTION,
                audit_sessions_uri: None,
            },
            proxy_service: ProxyService {
                enabled: true,
                web_listen_addr: WEB_LISTEN.parse().expect("static"),
                tunnel_listen_addr: TUNNEL_LISTEN.parse().expect("static"),
                public_addr: None,
                connection_limits: oriel_proxy::ConnectionLimits::default(),
                tunnel_connection_limits: oriel_proxy::ConnectionLimits::SERVICES,
            },
            linux_desktop_service: LinuxDesktopService {
                enabled: true,
                listen_addr: DESKTOP_LISTEN.parse().expect("static"),
                public_addr: None,
                xsessions: XsessionFilter::default(),
                labels: BTreeMap::new(),
                commands: Vec::new(),
                limits: oriel_linux_desktop::SessionLimits::default(),
                connection_limits: oriel_proxy::ConnectionLimits::SERVICES,
                disconnect_grace: oriel_linux_desktop::session::DEFAULT_DISCONNECT_GRACE,
                x_server: oriel_linux_desktop::xvfb::XServer::default(),
            },
            windows_desktop_service: windows::WindowsDesktopService::default(),
        }
    }
}

impl Config {
    /// Parses and validates a configuration file's text. `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Config, ParseError> {
        let documents = oriel_rbac::document::load_documents(source, text)?;
        let root = match documents.as_slice() {
            [root] => root,
            [] => return Err(ParseError { source_name: source.into(), position: None, path: String::new(), message: "the file is empty".into() }),
            [_, second, ..] => return Err(At::root(source, second).error("one document expected; this file has several")),
        };
        let at = At::root(source, root);
        let mut config = Config::default();
        // In a file, auth and the proxy run where their section is (unless
        // it says `enabled: no`); the desktop service only where it says
        // `enabled: yes` (seed 001). A service without a section is off.
        config.auth_service.enabled = false;
        config.proxy_service.enabled = false;
        config.linux_desktop_service.enabled = false;
        let known = [
            "version",
            "data_dir",
            "auth_server",
            "proxy_server",
            "ca_pin",
            "insecure_no_ca_pin",
            "join_token",
            "auth_service",
            "proxy_service",
            "linux_desktop_service",
            "windows_desktop_service",
        ];
        for entry in mapping(&at, root, &known)? {
            let at = at.key(entry);
            let value = &entry.value;
            match entry.key.as_str() {
                "version" => {
                    let version = string(&at, value)?;
                    if version != "v1" {
                        return Err(at.error(format!("unsupported version {version:?} (this Oriel reads v1)")));
                    }
                }
                "data_dir" => config.data_dir = Some(PathBuf::from(string(&at, value)?)),
                "auth_server" => config.auth_server = Some(host_port(&at, value)?),
                "proxy_server" => config.proxy_servers = one_or_many(&at, value, host_port)?,
                "ca_pin" => config.ca_pin = Some(ca_pin(&at, value)?),
                "insecure_no_ca_pin" => config.insecure_no_ca_pin = boolean(&at, value)?,
                "join_token" => config.join_token = Some(JoinToken(string(&at, value)?)),
                "auth_service" => config.auth_service = auth_service(&at, value)?,
                "proxy_service" => config.proxy_service = proxy_service(&at, value)?,
                "linux_desktop_service" => config.linux_desktop_service = linux_desktop_service(&at, value)?,
                "windows_desktop_service" => config.windows_desktop_service = windows::windows_desktop_service(&at, value)?,
                _ => unreachable!("mapping refuses unknown keys"),
            }
        }
        config.validate(&at)?;
        Ok(config)
    }

    /// The services this file enables, as people name them.
    pub fn services(&self) -> Vec<&'static str> {
        [
            (self.auth_service.enabled, "auth_service"),
            (self.proxy_service.enabled, "proxy_service"),
            (self.linux_desktop_service.enabled, "linux_desktop_service"),
            (self.windows_desktop_service.enabled, "windows_desktop_service"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// How a desktop-only host trusts the auth server when it joins: the
    /// pinned CA, or (only when asked for) the first it meets. Checked when
    /// `oriel start` runs, after its flags are applied.
    pub fn ca_trust(&self) -> Result<oriel_cluster::join::CaTrust, String> {
        match (&self.ca_pin, self.insecure_no_ca_pin) {
            (Some(pin), _) => Ok(oriel_cluster::join::CaTrust::Pinned(pin.clone())),
            (None, true) => Ok(oriel_cluster::join::CaTrust::InsecureFirstUse),
            (None, false) => Err("set ca_pin to the pin `orielctl tokens add` prints (sha256:…), so this host joins only the cluster it \
                 is meant for; to trust the auth server's CA on first use instead, set insecure_no_ca_pin: true or run \
                 `oriel start --insecure-no-ca-pin`"
                .to_owned()),
        }
    }

    /// Rules across sections.
    fn validate(&self, at: &At) -> Result<(), ParseError> {
        if !(self.auth_service.enabled || self.proxy_service.enabled || self.linux_desktop_service.enabled || self.windows_desktop_service.enabled) {
            return Err(at.error("no service is enabled: enable auth_service, proxy_service, linux_desktop_service or windows_desktop_service"));
        }
        if self.auth_service.enabled != self.proxy_service.enabled {
            return Err(at.error(
                "Oriel runs auth_service and proxy_service together in one process (a proxy on a host of its own is not built yet); \
                 enable both, or only a desktop service (linux or windows) on a host that joins them",
            ));
        }
        if self.windows_desktop_service.enabled && self.linux_desktop_service.enabled && !self.auth_service.enabled {
            return Err(at.error(
                "a host that joins a cluster runs one desktop service per oriel process (each joins with a token of its own type): \
                 run linux_desktop_service and windows_desktop_service in two processes with their own data_dir",
            ));
        }
        // The join token is needed only until the host has joined (its
        // credentials are then in the data dir), so `oriel start` asks for it.
        if !self.auth_service.enabled && self.auth_server.is_none() {
            return Err(at.error("without auth_service here, set auth_server (the auth service's address, port 3025) to join a cluster"));
        }
        Ok(())
    }
}

/// One value, or a list of them.
fn one_or_many<T>(at: &At, node: &Node, read: fn(&At, &Node) -> Result<T, ParseError>) -> Result<Vec<T>, ParseError> {
    match &node.value {
        oriel_rbac::document::Value::Seq(items) => items.iter().enumerate().map(|(i, item)| read(&at.item(i, item), item)).collect(),
        _ => Ok(vec![read(at, node)?]),
    }
}

fn ca_pin(at: &At, node: &Node) -> Result<String, ParseError> {
    let pin = string(at, node)?;
    let hex = pin.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(at.error("expected sha256: and 64 hex digits, as `orielctl tokens add` prints it"));
    }
    Ok(pin)
}

fn auth_service(at: &At, node: &Node) -> Result<AuthService, ParseError> {
    let mut service = Config::default().auth_service;
    for entry in mapping(at, node, &["enabled", "listen_addr", "storage", "connection_limits", "audit_retention", "audit_sessions_uri"])? {
        let at = at.key(entry);
        match entry.key.as_str() {
            "enabled" => service.enabled = boolean(&at, &entry.value)?,
            "listen_addr" => service.listen_addr = socket_addr(&at, &entry.value)?,
            "storage" => {
                let storage = string(&at, &entry.value)?;
                let dir = std::path::Path::new("");
                oriel_auth::storage::StorageLocation::parse(Some(&storage), dir).map_err(|e| at.error(e.to_string()))?;
                service.storage = Some(storage);
            }
            "connection_limits" => service.connection_limits = connection_limits(&at, &entry.value, ConnectionLimits::SERVICES)?,
            "audit_retention" => {
                let retention = period(&at, &entry.value)?;
                if retention < MIN_AUDIT_RETENTION {
                    return Err(at.error("keep audit events at least 1h"));
                }
                service.audit_retention = retention;
            }
            "audit_sessions_uri" => service.audit_sessions_uri = Some(string(&at, &entry.value)?),
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    Ok(service)
}

fn proxy_service(at: &At, node: &Node) -> Result<ProxyService, ParseError> {
    let mut service = Config::default().proxy_service;
    for entry in mapping(at, node, &["enabled", "web_listen_addr", "tunnel_listen_addr", "public_addr", "connection_limits", "tunnel_connection_limits"])? {
        let at = at.key(entry);
        match entry.key.as_str() {
            "enabled" => service.enabled = boolean(&at, &entry.value)?,
            "web_listen_addr" => service.web_listen_addr = socket_addr(&at, &entry.value)?,
            "tunnel_listen_addr" => service.tunnel_listen_addr = socket_addr(&at, &entry.value)?,
            "public_addr" => service.public_addr = Some(host_port(&at, &entry.value)?),
            "connection_limits" => service.connection_limits = connection_limits(&at, &entry.value, ConnectionLimits::default())?,
            "tunnel_connection_limits" => service.tunnel_connection_limits = connection_limits(&at, &entry.value, ConnectionLimits::SERVICES)?,
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    Ok(service)
}

/// Most sessions a desktop service may be told to run: far above what one
/// host's memory holds (BENCHMARKS.md), low enough to catch a typo.
const MAX_SESSIONS: usize = 10_000;

fn session_limits(at: &At, node: &Node) -> Result<oriel_linux_desktop::SessionLimits, ParseError> {
    let mut limits = oriel_linux_desktop::SessionLimits::default();
    for entry in mapping(at, node, &["max_sessions", "max_sessions_per_user", "max_shared_directories", "max_screen"])? {
        let at = at.key(entry);
        match entry.key.as_str() {
            "max_sessions" => limits.max_sessions = count(&at, &entry.value, 1, MAX_SESSIONS)?,
            "max_sessions_per_user" => limits.max_sessions_per_user = count(&at, &entry.value, 1, MAX_SESSIONS)?,
            "max_shared_directories" => limits.max_shared_directories = count(&at, &entry.value, 0, 1_000)?,
            "max_screen" => limits.max_screen = screen_size(&at, &entry.value)?,
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    if limits.max_sessions_per_user > limits.max_sessions {
        return Err(at.error(format!("max_sessions_per_user ({}) is more than max_sessions ({})", limits.max_sessions_per_user, limits.max_sessions)));
    }
    Ok(limits)
}

/// `WIDTHxHEIGHT`, each side 640 to 8192 pixels.
fn screen_size(at: &At, node: &Node) -> Result<oriel_linux_desktop::x11::screen::MaxScreen, ParseError> {
    let text = string(at, node)?;
    let sides = text.split_once('x').and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match sides {
        Some((w, h)) if (640..=8192).contains(&w) && (640..=8192).contains(&h) => Ok(oriel_linux_desktop::x11::screen::MaxScreen::new(w, h)),
        _ => Err(at.error(format!("{text:?} is not a screen size: write WIDTHxHEIGHT, each side 640 to 8192 pixels, such as 7680x4320"))),
    }
}

/// The shortest audit retention: less would lose events before anyone
/// could read them.
const MIN_AUDIT_RETENTION: Duration = Duration::from_secs(3600);

/// Most connections a listener may be told to keep open: far above what one
/// process serves, low enough to catch a typo of a few extra digits.
const MAX_CONNECTIONS: usize = 1_000_000;

fn connection_limits(at: &At, node: &Node, defaults: ConnectionLimits) -> Result<ConnectionLimits, ParseError> {
    let mut limits = defaults;
    for entry in mapping(at, node, &["max_per_address", "max_total"])? {
        let at = at.key(entry);
        match entry.key.as_str() {
            "max_per_address" => limits.per_address = count(&at, &entry.value, 1, MAX_CONNECTIONS)?,
            "max_total" => limits.total = count(&at, &entry.value, 1, MAX_CONNECTIONS)?,
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    if limits.per_address > limits.total {
        return Err(
            at.error(format!("max_per_address ({}) is more than max_total ({}): one address could take every connection", limits.per_address, limits.total))
        );
    }
    Ok(limits)
}

fn linux_desktop_service(at: &At, node: &Node) -> Result<LinuxDesktopService, ParseError> {
    let mut service = Config::default().linux_desktop_service;
    service.enabled = false;
    for entry in mapping(
        at,
        node,
        &["enabled", "listen_addr", "public_addr", "xsessions", "labels", "commands", "limits", "connection_limits", "disconnect_grace", "x_server"],
    )? {
        let at = at.key(entry);
        let value = &entry.value;
        match entry.key.as_str() {
            "enabled" => service.enabled = boolean(&at, value)?,
            "listen_addr" => service.listen_addr = socket_addr(&at, value)?,
            "public_addr" => service.public_addr = Some(host_port(&at, value)?),
            "xsessions" => {
                for entry in mapping(&at, value, &["included", "excluded"])? {
                    let at = at.key(entry);
                    match entry.key.as_str() {
                        "included" => service.xsessions.included = regex(&at, &entry.value)?,
                        "excluded" => service.xsessions.excluded = Some(regex(&at, &entry.value)?),
                        _ => unreachable!("mapping refuses unknown keys"),
                    }
                }
            }
            "labels" => service.labels = labels(&at, value)?,
            "commands" => service.commands = label_commands(&at, value)?,
            "limits" => service.limits = session_limits(&at, value)?,
            "connection_limits" => service.connection_limits = connection_limits(&at, value, ConnectionLimits::SERVICES)?,
            "x_server" => {
                let text = string(&at, value)?;
                service.x_server = oriel_linux_desktop::xvfb::XServer::from_name(&text)
                    .filter(|_| !text.is_empty())
                    .ok_or_else(|| at.error(format!("{text:?} is neither xvfb nor xvnc")))?;
            }
            "disconnect_grace" => service.disconnect_grace = disconnect_grace(&at, value)?,
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    for command in &service.commands {
        if service.labels.contains_key(&command.name) {
            return Err(at.error(format!("label {:?} is both static (labels) and dynamic (commands)", command.name)));
        }
    }
    Ok(service)
}

/// `disconnect_grace`: `0`, or a duration up to a day.
fn disconnect_grace(at: &At, node: &Node) -> Result<Duration, ParseError> {
    let text = string(at, node)?;
    let grace = match text.as_str() {
        "0" => Duration::ZERO,
        text => oriel_rbac::IdleTimeout::parse(text).map_err(|e| at.error(e))?.duration(),
    };
    if grace > MAX_DISCONNECT_GRACE {
        return Err(at.error("at most 24h: a session nobody watches holds the host's memory"));
    }
    Ok(grace)
}

fn label_commands(at: &At, node: &Node) -> Result<Vec<LabelCommand>, ParseError> {
    let oriel_rbac::document::Value::Seq(items) = &node.value else {
        return Err(at.error(format!("expected a list of commands, found {}", node.value.type_name())));
    };
    let mut commands: Vec<LabelCommand> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = at.item(i, item);
        let (mut name, mut command, mut every) = (None, None, None);
        for entry in mapping(&at, item, &["name", "command", "period"])? {
            let at = at.key(entry);
            match entry.key.as_str() {
                "name" => name = Some((label_name(&at, &string(&at, &entry.value)?)?, at)),
                "command" => {
                    let argv = strings(&at, &entry.value)?;
                    if argv.is_empty() {
                        return Err(at.error("must name a program, such as [uname, -p]"));
                    }
                    command = Some(argv);
                }
                "period" => every = Some(period(&at, &entry.value)?),
                _ => unreachable!("mapping refuses unknown keys"),
            }
        }
        let Some((name, name_at)) = name else { return Err(at.error("name is missing")) };
        let Some(command) = command else { return Err(at.error("command is missing")) };
        let Some(period) = every else { return Err(at.error("period is missing (such as 1h0m0s)")) };
        if commands.iter().any(|c| c.name == name) {
            return Err(name_at.error(format!("label {name:?} has two commands")));
        }
        commands.push(LabelCommand { name, command, period });
    }
    Ok(commands)
}

/// A map of label names to values.
fn labels(at: &At, node: &Node) -> Result<BTreeMap<String, String>, ParseError> {
    let mut labels = BTreeMap::new();
    for entry in mapping_any(at, node)? {
        let at = at.key(entry);
        label_name(&at, &entry.key)?;
        labels.insert(entry.key.clone(), string(&at, &entry.value)?);
    }
    Ok(labels)
}

/// Any keys: for label maps.
fn mapping_any<'n>(at: &At, node: &'n Node) -> Result<&'n [oriel_rbac::document::Entry], ParseError> {
    match &node.value {
        oriel_rbac::document::Value::Map(entries) => Ok(entries),
        oriel_rbac::document::Value::Null => Ok(&[]),
        other => Err(at.error(format!("expected a mapping of label names to values, found {}", other.type_name()))),
    }
}

/// Label names as Teleport allows them.
fn label_name(at: &At, name: &str) -> Result<String, ParseError> {
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "/._:*-".contains(c));
    if valid { Ok(name.to_owned()) } else { Err(at.error(format!("{name:?} is not a label name (letters, digits and / . _ : * -)"))) }
}
