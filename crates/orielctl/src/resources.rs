//! `create -f`, `get` and `rm` for every resource kind, as `tctl` has them.
//! `get --format yaml` writes documents that `create -f` reads back.

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::cluster_settings::recording_is_synchronous;
use oriel_auth::resources::desktop_service::{self, DesktopService};
use oriel_auth::resources::join_token::JoinToken;
use oriel_auth::resources::lock::Lock;
use oriel_auth::resources::yaml::{ToDocument, parse_resources, rfc3339};
use oriel_auth::store::{DesktopRecord, StoreError};
use oriel_rbac::document::Node;
use oriel_rbac::{DesktopKind, RecordingMode};

use crate::cli::Format;
use crate::output::{print, print_documents};

/// What `get` and `rm` name, with Teleport's singular and plural spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Role,
    User,
    /// One kind, or both for `desktops`.
    Desktop(Option<DesktopKind>),
    /// One kind, or both for `desktop_services`.
    DesktopService(Option<DesktopKind>),
    Lock,
    Token,
    Decision,
    SessionRecordingConfig,
    ClusterNetworkingConfig,
}

const KINDS: &str = "role, user, linux_desktop, windows_desktop, desktop, linux_desktop_service, windows_desktop_service, \
                     desktop_service, lock, token, session_recording_config, cluster_networking_config or decision";

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::Desktop(Some(DesktopKind::Linux)) => "linux_desktop",
            Kind::Desktop(Some(DesktopKind::Windows)) => "windows_desktop",
            Kind::Desktop(None) => "desktop",
            Kind::DesktopService(Some(kind)) => desktop_service::kind_name(kind),
            Kind::DesktopService(None) => "desktop_service",
            Kind::Lock => "lock",
            Kind::Token => "token",
            Kind::Decision => "decision",
            Kind::SessionRecordingConfig => "session_recording_config",
            Kind::ClusterNetworkingConfig => "cluster_networking_config",
        }
    }

    fn kinds(of: Option<DesktopKind>) -> Vec<DesktopKind> {
        of.map_or(DesktopKind::ALL.to_vec(), |k| vec![k])
    }
}

/// `KIND` or `KIND/NAME`.
fn split_resource(resource: &str) -> anyhow::Result<(Kind, Option<&str>)> {
    let (kind, name) = match resource.split_once('/') {
        Some((kind, name)) => (kind, Some(name)),
        None => (resource, None),
    };
    let kind = match kind {
        "role" | "roles" => Kind::Role,
        "user" | "users" => Kind::User,
        "linux_desktop" | "linux_desktops" => Kind::Desktop(Some(DesktopKind::Linux)),
        "windows_desktop" | "windows_desktops" => Kind::Desktop(Some(DesktopKind::Windows)),
        "desktop" | "desktops" => Kind::Desktop(None),
        "linux_desktop_service" | "linux_desktop_services" => Kind::DesktopService(Some(DesktopKind::Linux)),
        "windows_desktop_service" | "windows_desktop_services" => Kind::DesktopService(Some(DesktopKind::Windows)),
        "desktop_service" | "desktop_services" => Kind::DesktopService(None),
        "lock" | "locks" => Kind::Lock,
        "token" | "tokens" => Kind::Token,
        "decision" | "decisions" => Kind::Decision,
        "session_recording_config" => Kind::SessionRecordingConfig,
        "cluster_networking_config" => Kind::ClusterNetworkingConfig,
        other => bail!("unknown resource kind {other:?} (expected {KINDS})"),
    };
    Ok((kind, name.filter(|n| !n.is_empty())))
}

/// `create -f FILE`: every document is checked before anything is written.
pub async fn create(plane: &ControlPlane, file: &Path, force: bool) -> anyhow::Result<()> {
    let (source, text) = if file.as_os_str() == "-" {
        ("stdin".to_owned(), std::io::read_to_string(std::io::stdin())?)
    } else {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        (name, text)
    };
    let documents = parse_resources(&source, &text)?;
    if documents.is_empty() {
        bail!("{source} holds no resources");
    }
    for created in plane.create_resources(&documents, force).await? {
        match (&created.invite, created.singleton, created.replaced) {
            (Some(link), _, _) => print!("{}", crate::commands::invite_message(link)),
            (None, true, _) => println!("{} has been set.", created.kind),
            (None, false, true) => println!("{} {:?} has been replaced.", created.kind, created.name),
            (None, false, false) => println!("{} {:?} has been created.", created.kind, created.name),
        }
    }
    Ok(())
}

/// `get KIND[/NAME]`: a table, or documents that `create -f` reads back.
pub async fn get(plane: &ControlPlane, resource: &str, format: Format) -> anyhow::Result<()> {
    let (kind, name) = split_resource(resource)?;
    let store = plane.store();
    match kind {
        Kind::Role => {
            let roles = match name {
                Some(name) => vec![store.role(name).await?],
                None => store.roles().await?,
            };
            let rows = roles.iter().map(|r| vec![r.name.clone(), r.version.as_str().to_owned(), r.description.clone().unwrap_or_default()]).collect();
            print_documents(format, &["Role", "Version", "Description"], rows, &documents(&roles));
        }
        Kind::User => {
            let mut users = match name {
                Some(name) => vec![store.user(name).await?.value],
                None => store.users().await?,
            };
            let rows = users
                .iter()
                .map(|u| vec![u.name.to_string(), u.roles.join(","), if u.credentials.is_some() { "yes".into() } else { "invited".into() }])
                .collect();
            // Credentials never leave the store.
            users.iter_mut().for_each(|u| u.credentials = None);
            print_documents(format, &["User", "Roles", "Enrolled"], rows, &documents(&users));
        }
        Kind::Desktop(of) => {
            let mut desktops = Vec::new();
            for kind in Kind::kinds(of) {
                match name {
                    Some(name) => desktops.extend(optional(store.desktop(kind, name).await)?),
                    None => desktops.extend(store.desktops(kind).await?),
                }
            }
            if let (Some(name), true) = (name, desktops.is_empty()) {
                bail!("{} {name:?} not found", kind.name());
            }
            print_documents(format, &["Type", "Name", "Hostname", "Address", "Labels", "Expires"], desktop_rows(&desktops), &documents(&desktops));
        }
        Kind::DesktopService(of) => {
            let mut services = Vec::new();
            for kind in Kind::kinds(of) {
                match name {
                    Some(name) => services.extend(optional(store.desktop_service(kind, name).await)?),
                    None => services.extend(store.desktop_services(kind).await?),
                }
            }
            if let (Some(name), true) = (name, services.is_empty()) {
                bail!("{} {name:?} not found", kind.name());
            }
            print_documents(format, &["Type", "Name", "Hostname", "Address", "Version", "Expires"], service_rows(&services), &documents(&services));
        }
        Kind::Lock => {
            let locks = match name {
                Some(name) => vec![store.lock(name).await?],
                None => store.locks().await?,
            };
            print_documents(format, &["Name", "Target", "Message", "Expires"], lock_rows(&locks), &documents(&locks));
        }
        Kind::Token => {
            let tokens = match name {
                Some(name) => vec![find_token(plane, name).await?],
                None => store.tokens().await?,
            };
            let rows = tokens
                .iter()
                .map(|t| {
                    let roles = t.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                    let usage = match (t.one_time, t.used) {
                        (false, _) => "reusable",
                        (true, false) => "one-time",
                        (true, true) => "used",
                    };
                    vec![t.secret_hash[..16].to_owned(), roles, rfc3339::format(t.expires), usage.to_owned()]
                })
                .collect();
            print_documents(format, &["Hash", "Type", "Expires", "Use"], rows, &documents(&tokens));
        }
        Kind::Decision => {
            let decisions = store.decisions().await?;
            let rows = decisions
                .iter()
                .map(|d| {
                    vec![
                        crate::commands::utc(d.time_ms),
                        d.event.clone(),
                        d.user.clone(),
                        d.login.clone(),
                        d.desktop.clone(),
                        if d.allowed { "allowed".into() } else { "denied".into() },
                        d.reason.clone(),
                    ]
                })
                .collect();
            print(format, &["Time (UTC)", "Event", "User", "Login", "Desktop", "Result", "Reason"], rows, &decisions);
        }
        Kind::SessionRecordingConfig => {
            let config = store.session_recording_config().await?;
            let rows = vec![vec![config.mode.as_str().to_owned(), recording_meaning(config.mode).to_owned()]];
            print_documents(format, &["Mode", "Desktop sessions"], rows, &[config.to_document()]);
        }
        Kind::ClusterNetworkingConfig => {
            let config = store.cluster_networking_config().await?;
            let timeout = match (&config.client_idle_timeout, config.idle_timeout()) {
                (Some(raw), Some(_)) => raw.as_str().to_owned(),
                _ => "none".to_owned(),
            };
            print_documents(format, &["Client idle timeout"], vec![vec![timeout]], &[config.to_document()]);
        }
    }
    Ok(())
}

/// `rm KIND/NAME`, or `rm KIND` for a cluster setting, which resets it.
pub async fn rm(plane: &ControlPlane, resource: &str) -> anyhow::Result<()> {
    let (kind, name) = split_resource(resource)?;
    let store = plane.store();
    match kind {
        Kind::SessionRecordingConfig => store.reset_session_recording_config().await?,
        Kind::ClusterNetworkingConfig => store.reset_cluster_networking_config().await?,
        Kind::Decision => bail!("decisions are a record and cannot be removed"),
        _ => {}
    }
    if matches!(kind, Kind::SessionRecordingConfig | Kind::ClusterNetworkingConfig) {
        println!("{} has been reset to its defaults.", kind.name());
        return Ok(());
    }
    let Some(name) = name else { bail!("name the resource to remove: {}/NAME", kind.name()) };
    match kind {
        Kind::Role => store.delete_role(name).await?,
        Kind::User => plane.remove_user(name).await?,
        Kind::Desktop(of) => {
            let mut deleted = false;
            for kind in Kind::kinds(of) {
                deleted |= optional(store.delete_desktop(kind, name).await)?.is_some();
            }
            if !deleted {
                bail!("{} {name:?} not found", kind.name());
            }
        }
        Kind::DesktopService(of) => {
            let mut deleted = false;
            for kind in Kind::kinds(of) {
                deleted |= optional(store.delete_desktop_service(kind, name).await)?.is_some();
            }
            if !deleted {
                bail!("{} {name:?} not found", kind.name());
            }
        }
        Kind::Lock => store.delete_lock(name).await?,
        Kind::Token => {
            let token = find_token(plane, name).await?;
            store.delete_token(&token.secret_hash).await?;
            println!("token {:?} has been deleted.", &token.secret_hash[..16]);
            return Ok(());
        }
        Kind::Decision | Kind::SessionRecordingConfig | Kind::ClusterNetworkingConfig => unreachable!("handled above"),
    }
    println!("{} {name:?} has been deleted.", kind.name());
    Ok(())
}

/// A token by the secret itself, `sha256:<hash>` as `get` writes it, or a
/// prefix of its hash of at least 16 hex digits as `tokens ls` shows it.
pub async fn find_token(plane: &ControlPlane, name: &str) -> anyhow::Result<JoinToken> {
    let secret_hash = oriel_auth::bearer::hash(name);
    let prefix = name.strip_prefix("sha256:").unwrap_or(name);
    let tokens = plane.store().tokens().await?;
    let found = tokens.into_iter().find(|t| t.secret_hash == secret_hash || (prefix.len() >= 16 && t.secret_hash.starts_with(prefix)));
    // The name may be the secret: it is not repeated.
    found.context("token not found")
}

/// `Ok(None)` for a resource that is not there.
fn optional<T>(result: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn documents<T: ToDocument>(resources: &[T]) -> Vec<Node> {
    resources.iter().map(ToDocument::to_document).collect()
}

fn expires(at: Option<SystemTime>) -> String {
    at.map_or_else(|| "never".to_owned(), rfc3339::format)
}

fn recording_meaning(mode: RecordingMode) -> &'static str {
    match mode {
        RecordingMode::Off => "not recorded",
        mode if recording_is_synchronous(mode) => "recorded if any of the user's roles records (the default); a session ends if recording fails",
        _ => "recorded if any of the user's roles records (the default)",
    }
}

fn desktop_rows(desktops: &[DesktopRecord]) -> Vec<Vec<String>> {
    desktops
        .iter()
        .map(|d| {
            let labels = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            vec![d.kind.as_str().to_owned(), d.name.clone(), d.hostname.clone(), d.addr.clone(), labels, expires(d.expires)]
        })
        .collect()
}

fn service_rows(services: &[DesktopService]) -> Vec<Vec<String>> {
    services
        .iter()
        .map(|s| vec![s.kind.as_str().to_owned(), s.name.clone(), s.hostname.clone(), s.addr.clone(), s.version.clone(), expires(s.expires)])
        .collect()
}

fn lock_rows(locks: &[Lock]) -> Vec<Vec<String>> {
    locks
        .iter()
        .map(|l| vec![l.name.clone(), crate::commands::describe(&l.target), l.message.clone().unwrap_or_default(), expires(l.expires)])
        .collect()
}
