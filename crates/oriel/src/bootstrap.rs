//! First start: sensible default roles and an administrator, so a newcomer
//! is working in a minute.

use oriel_auth::control_plane::{ControlPlane, InviteLink, UserSpec};

/// The role every new cluster gets: any desktop, as the logins the user's
/// traits list (`orielctl users add --linux-logins=…`), and the recordings
/// of the sessions the user took part in.
const ACCESS_ROLE: &str = "kind: role
version: v7
metadata:
  name: access
  description: Desktops with the logins listed on the user
spec:
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
    windows_desktop_logins: ['{{internal.windows_logins}}']
    windows_desktop_labels:
      '*': '*'
    rules:
      - resources: [session]
        verbs: [list, read]
        where: contains(session.participants, user.metadata.name)
";

/// The role the first user also gets when this host has no login for
/// them: the desktop service creates the login at their first session.
/// Host options count only from roles that allow the session (as in
/// Teleport), so it allows the user's own logins on every desktop too.
const CREATE_LOGIN_ROLE: &str = "kind: role
version: v7
metadata:
  name: create-desktop-user
  description: Create a missing desktop login on the host at the first session
spec:
  options:
    create_desktop_user: true
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
";

/// The preset role that reads the audit log and watches every session
/// recording, as Teleport's `auditor`. No desktop logins.
const AUDITOR_ROLE: &str = "kind: role
version: v7
metadata:
  name: auditor
  description: Read the audit log and watch every session recording
spec:
  allow:
    rules:
      - resources: [event, session]
        verbs: [list, read]
";

/// The preset `auditor` before it watched recordings: a role that is still
/// exactly this is brought up to date; one an administrator changed is kept.
const AUDITOR_BEFORE_RECORDINGS: &str = "kind: role
version: v7
metadata:
  name: auditor
  description: Read the audit log
spec:
  allow:
    rules:
      - resources: [event]
        verbs: [list, read]
";

/// The first user's name.
pub const ADMIN: &str = "admin";

/// The desktop login the first user gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstLogin {
    /// The login name.
    pub name: String,
    /// The host has no such account yet: it is created at the first session.
    pub created_at_first_session: bool,
}

impl FirstLogin {
    /// A login sessions may run as: the service's own when it is not root
    /// (the only one it can start); as root, the user who ran sudo, or else
    /// `admin`, created on this host at the first session. Never root.
    pub fn choose() -> FirstLogin {
        let non_root = |name: Option<String>| name.filter(|n| !n.is_empty() && n != "root");
        if !oriel_linux_desktop::login::service_is_root() {
            let own = std::env::var("USER").ok().or_else(|| uzers::get_current_username().map(|n| n.to_string_lossy().into_owned()));
            return FirstLogin { name: own.unwrap_or_else(|| ADMIN.into()), created_at_first_session: false };
        }
        match non_root(std::env::var("SUDO_USER").ok()) {
            Some(name) => FirstLogin { name, created_at_first_session: false },
            None => FirstLogin { name: ADMIN.into(), created_at_first_session: oriel_linux_desktop::login::Account::lookup(ADMIN).ok().flatten().is_none() },
        }
    }
}

/// Creates the default role when there are no roles, and the `admin` user
/// when there are no users. Returns an invite link while `admin` has not
/// set a password yet (a fresh one on every start until then).
pub async fn bootstrap(plane: &ControlPlane, login: &FirstLogin) -> anyhow::Result<Option<InviteLink>> {
    let store = plane.store();
    let mut roles = vec!["access".to_owned(), "auditor".to_owned()];
    // The preset auditor comes back at every start unless a role of that
    // name exists (an administrator's own version is kept).
    let preset = oriel_rbac::parse_roles("preset auditor role", AUDITOR_ROLE)?;
    let before_recordings = oriel_rbac::roles_to_yaml(&oriel_rbac::parse_roles("earlier preset auditor role", AUDITOR_BEFORE_RECORDINGS)?);
    match store.role("auditor").await {
        // The preset of clusters made before recordings existed, untouched:
        // it becomes today's, which also watches recordings.
        Ok(role) if oriel_rbac::roles_to_yaml(std::slice::from_ref(&role)) == before_recordings => {
            plane.create_roles(&preset, true).await?;
            tracing::info!("updated the preset role \"auditor\": it also watches session recordings");
        }
        Ok(_) => {}
        Err(oriel_auth::store::StoreError::NotFound { .. }) => {
            plane.create_roles(&preset, false).await?;
            tracing::info!("created the preset role \"auditor\"");
        }
        Err(error) => return Err(error.into()),
    }
    if store.roles().await?.iter().all(|role| role.name == "auditor") {
        plane.create_roles(&oriel_rbac::parse_roles("default access role", ACCESS_ROLE)?, false).await?;
        tracing::info!("created the default role \"access\"");
        if login.created_at_first_session {
            plane.create_roles(&oriel_rbac::parse_roles("default login creation role", CREATE_LOGIN_ROLE)?, false).await?;
            roles.push("create-desktop-user".into());
        }
    }
    let users = store.users().await?;
    if users.is_empty() {
        let login = login.name.as_str();
        let spec = UserSpec { name: ADMIN.into(), roles, linux_logins: vec![login.into()], ..Default::default() };
        let link = plane.add_user(&spec).await?;
        tracing::info!(login, "created the first user \"admin\"");
        return Ok(Some(link));
    }
    match users.iter().find(|u| u.name.as_str() == ADMIN) {
        Some(admin) if admin.credentials.is_none() => Ok(Some(plane.invite(ADMIN).await?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use oriel_auth::store::Store;
    use oriel_backend::{Options, SqliteBackend, SystemClock};

    use super::*;

    async fn open_plane(dir: &std::path::Path) -> ControlPlane {
        let backend = SqliteBackend::open(dir.join("oriel.db"), Options::default()).await.unwrap();
        ControlPlane::new(Store::new(Arc::new(backend)), Arc::new(SystemClock))
    }

    fn login() -> FirstLogin {
        FirstLogin { name: "alice".into(), created_at_first_session: false }
    }

    async fn auditor_watches_recordings(plane: &ControlPlane) -> bool {
        let role = plane.store().role("auditor").await.unwrap();
        oriel_rbac::RoleSet::new(&[role], &Default::default()).check_rules("session", &["list", "read"]).is_allowed()
    }

    #[tokio::test]
    async fn the_earlier_preset_auditor_comes_up_to_date_and_an_edited_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let plane = open_plane(dir.path()).await;
        plane.create_roles(&oriel_rbac::parse_roles("old", AUDITOR_BEFORE_RECORDINGS).unwrap(), false).await.unwrap();
        bootstrap(&plane, &login()).await.unwrap();
        assert!(auditor_watches_recordings(&plane).await, "the untouched earlier preset is updated");

        let dir = tempfile::tempdir().unwrap();
        let plane = open_plane(dir.path()).await;
        let edited = AUDITOR_BEFORE_RECORDINGS.replace("Read the audit log", "Our auditors");
        plane.create_roles(&oriel_rbac::parse_roles("edited", &edited).unwrap(), false).await.unwrap();
        bootstrap(&plane, &login()).await.unwrap();
        assert!(!auditor_watches_recordings(&plane).await, "an administrator's own auditor is kept as it is");
        assert_eq!(plane.store().role("auditor").await.unwrap().description.as_deref(), Some("Our auditors"));
    }
}
