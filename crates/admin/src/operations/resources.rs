//! `create -f`, `get` and `rm` for every resource kind, as `tctl` has them.
//! `get` lists documents whose YAML `create -f` reads back, except an OIDC
//! connector's client secret, which is never shown: `create -f` refuses
//! the placeholder written in its place.

use std::time::SystemTime;

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::desktop_service::{self, DesktopService};
use oriel_auth::resources::lock::Lock;
use oriel_auth::resources::oidc_connector::OidcConnector;
use oriel_auth::resources::yaml::{ToDocument, parse_resources, rfc3339};
use oriel_auth::store::{DesktopRecord, StoreError};
use oriel_rbac::document::Node;
use oriel_rbac::{DesktopKind, RecordingMode};

use super::{Settings, invite_message};
use crate::Failure;
use crate::proto::{self, Outcome};

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
    Oidc,
    SessionRecordingConfig,
    ClusterNetworkingConfig,
    AuthPreference,
}

const KINDS: &str = "role, user, linux_desktop, windows_desktop, desktop, linux_desktop_service, windows_desktop_service, \
                     desktop_service, lock, token, oidc, session_recording_config, cluster_networking_config or \
                     cluster_auth_preference";

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
            Kind::Oidc => "oidc",
            Kind::SessionRecordingConfig => "session_recording_config",
            Kind::ClusterNetworkingConfig => "cluster_networking_config",
            Kind::AuthPreference => "cluster_auth_preference",
        }
    }

    fn kinds(of: Option<DesktopKind>) -> Vec<DesktopKind> {
        of.map_or(DesktopKind::ALL.to_vec(), |k| vec![k])
    }
}

/// `KIND` or `KIND/NAME`.
fn split_resource(resource: &str) -> Result<(Kind, Option<&str>), Failure> {
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
        "oidc" => Kind::Oidc,
        "decision" | "decisions" => {
            return Err(Failure::invalid("access decisions are audit events now: list them with `orielctl events ls --type linux.desktop.session.start`"));
        }
        "session_recording_config" => Kind::SessionRecordingConfig,
        "cluster_networking_config" => Kind::ClusterNetworkingConfig,
        "cluster_auth_preference" | "cap" => Kind::AuthPreference,
        other => return Err(Failure::invalid(format!("unknown resource kind {other:?} (expected {KINDS})"))),
    };
    Ok((kind, name.filter(|n| !n.is_empty())))
}

/// `create -f FILE`: the file's text, every document checked before
/// anything is written. `source` names the file in error messages.
pub(super) async fn create(plane: &ControlPlane, settings: &Settings, request: proto::CreateResources) -> Result<Outcome, Failure> {
    let proto::CreateResources { source, text, force } = request;
    let documents = parse_resources(&source, &text)?;
    if documents.is_empty() {
        return Err(Failure::invalid(format!("{source} holds no resources")));
    }
    let mut messages = Vec::new();
    for created in plane.create_resources(&documents, force).await? {
        messages.push(match (&created.invite, created.singleton, created.replaced) {
            (Some(link), _, _) => invite_message(settings, link),
            (None, true, _) => format!("{} has been set.", created.kind),
            (None, false, true) => format!("{} {:?} has been replaced.", created.kind, created.name),
            (None, false, false) => format!("{} {:?} has been created.", created.kind, created.name),
        });
    }
    Ok(Outcome { messages, ..Outcome::default() })
}

/// `get KIND[/NAME]`: a table, or documents that `create -f` reads back.
pub(super) async fn get(plane: &ControlPlane, resource: &str) -> Result<Outcome, Failure> {
    let (kind, name) = split_resource(resource)?;
    let store = plane.store();
    let outcome = match kind {
        Kind::Role => {
            let roles = match name {
                Some(name) => vec![store.role(name).await?],
                None => store.roles().await?,
            };
            let rows = roles.iter().map(|r| vec![r.name.clone(), r.version.as_str().to_owned(), r.description.clone().unwrap_or_default()]).collect();
            Outcome::documents(&["Role", "Version", "Description"], rows, &documents(&roles))
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
            Outcome::documents(&["User", "Roles", "Enrolled"], rows, &documents(&users))
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
                return Err(Failure::not_found(format!("{} {name:?} not found", kind.name())));
            }
            Outcome::documents(&["Type", "Name", "Hostname", "Address", "Labels", "Expires"], desktop_rows(&desktops), &documents(&desktops))
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
                return Err(Failure::not_found(format!("{} {name:?} not found", kind.name())));
            }
            Outcome::documents(&["Type", "Name", "Hostname", "Address", "Version", "Expires"], service_rows(&services), &documents(&services))
        }
        Kind::Lock => {
            let locks = match name {
                Some(name) => vec![store.lock(name).await?],
                None => store.locks().await?,
            };
            Outcome::documents(&["Name", "Target", "Message", "Expires"], lock_rows(&locks), &documents(&locks))
        }
        Kind::Token => {
            let tokens = match name {
                Some(name) => vec![super::tokens::find(plane, name).await?],
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
            Outcome::documents(&["Hash", "Type", "Expires", "Use"], rows, &documents(&tokens))
        }
        Kind::Oidc => {
            let connectors = match name {
                Some(name) => vec![store.oidc_connector(name).await?],
                None => store.oidc_connectors().await?,
            };
            // The documents hold a placeholder for the client secret.
            Outcome::documents(&["Name", "Display", "Issuer", "Client ID", "Redirect URL", "Mappings"], oidc_rows(&connectors), &documents(&connectors))
        }
        Kind::SessionRecordingConfig => {
            let config = store.session_recording_config().await?;
            let rows = vec![vec![config.mode.as_str().to_owned(), recording_meaning(config.mode).to_owned()]];
            Outcome::documents(&["Mode", "Desktop sessions"], rows, &[config.to_document()])
        }
        Kind::ClusterNetworkingConfig => {
            let config = store.cluster_networking_config().await?;
            let timeout = match (&config.client_idle_timeout, config.idle_timeout()) {
                (Some(raw), Some(_)) => raw.as_str().to_owned(),
                _ => "none".to_owned(),
            };
            let lossy = if config.desktop_lossy == Some(false) { "forbidden" } else { "allowed" };
            Outcome::documents(&["Client idle timeout", "Lossy video"], vec![vec![timeout, lossy.to_owned()]], &[config.to_document()])
        }
        Kind::AuthPreference => {
            let preference = store.auth_preference().await?;
            let rp_id = preference.webauthn_rp_id.clone().unwrap_or_else(|| "the proxy's host name".into());
            let row = vec![
                preference.auth_type.as_str().to_owned(),
                preference.second_factor.as_str().to_owned(),
                rp_id,
                preference.allow_passwordless.to_string(),
                preference.require_session_mfa.to_string(),
            ];
            Outcome::documents(&["Type", "Second factor", "WebAuthn RP ID", "Passwordless", "Session MFA"], vec![row], &[preference.to_document()])
        }
    };
    Ok(outcome)
}

/// `rm KIND/NAME`, or `rm KIND` for a cluster setting, which resets it.
pub(super) async fn remove(plane: &ControlPlane, resource: &str) -> Result<Outcome, Failure> {
    let (kind, name) = split_resource(resource)?;
    let store = plane.store();
    match kind {
        Kind::SessionRecordingConfig => store.reset_session_recording_config().await?,
        Kind::ClusterNetworkingConfig => store.reset_cluster_networking_config().await?,
        Kind::AuthPreference => store.reset_auth_preference().await?,
        _ => {}
    }
    if matches!(kind, Kind::SessionRecordingConfig | Kind::ClusterNetworkingConfig | Kind::AuthPreference) {
        return Ok(Outcome::message(format!("{} has been reset to its defaults.", kind.name())));
    }
    let Some(name) = name else { return Err(Failure::invalid(format!("name the resource to remove: {}/NAME", kind.name()))) };
    match kind {
        Kind::Role => plane.remove_role(name).await?,
        Kind::User => plane.remove_user(name).await?,
        Kind::Desktop(of) => {
            let mut deleted = false;
            for kind in Kind::kinds(of) {
                deleted |= optional(store.delete_desktop(kind, name).await)?.is_some();
            }
            if !deleted {
                return Err(Failure::not_found(format!("{} {name:?} not found", kind.name())));
            }
        }
        Kind::DesktopService(of) => {
            let mut deleted = false;
            for kind in Kind::kinds(of) {
                deleted |= optional(store.delete_desktop_service(kind, name).await)?.is_some();
            }
            if !deleted {
                return Err(Failure::not_found(format!("{} {name:?} not found", kind.name())));
            }
        }
        Kind::Lock => plane.unlock(name).await?,
        Kind::Oidc => plane.remove_oidc_connector(name).await?,
        Kind::Token => {
            let token = super::tokens::find(plane, name).await?;
            store.delete_token(&token.secret_hash).await?;
            return Ok(Outcome::message(format!("token {:?} has been deleted.", &token.secret_hash[..16])));
        }
        Kind::SessionRecordingConfig | Kind::ClusterNetworkingConfig | Kind::AuthPreference => unreachable!("handled above"),
    }
    Ok(Outcome::message(format!("{} {name:?} has been deleted.", kind.name())))
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
        mode if mode.is_sync() => "recorded if any of the user's roles records (the default); a session ends if recording fails",
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

fn oidc_rows(connectors: &[OidcConnector]) -> Vec<Vec<String>> {
    connectors
        .iter()
        .map(|c| {
            let display = c.display_name().to_owned();
            vec![c.name.clone(), display, c.issuer_url.clone(), c.client_id.clone(), c.redirect_url.clone(), c.claims_to_roles.len().to_string()]
        })
        .collect()
}

fn lock_rows(locks: &[Lock]) -> Vec<Vec<String>> {
    locks.iter().map(|l| vec![l.name.clone(), super::locks::describe(&l.target), l.message.clone().unwrap_or_default(), expires(l.expires)]).collect()
}
