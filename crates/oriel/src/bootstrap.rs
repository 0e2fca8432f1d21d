//! First start: sensible default roles and an administrator, so a newcomer
//! is working in a minute.

use oriel_auth::control_plane::{ControlPlane, InviteLink, UserSpec};

/// The role every new cluster gets: any desktop, as the logins the user's
/// traits list (`orielctl users add --linux-logins=…`).
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
";

/// The first user's name.
pub const ADMIN: &str = "admin";

/// Creates the default role when there are no roles, and the `admin` user
/// when there are no users. Returns an invite link while `admin` has not
/// set a password yet (a fresh one on every start until then).
pub async fn bootstrap(plane: &ControlPlane, login: &str) -> anyhow::Result<Option<InviteLink>> {
    let store = plane.store();
    if store.roles().await?.is_empty() {
        plane.create_roles(&oriel_rbac::parse_roles("default access role", ACCESS_ROLE)?, false).await?;
        tracing::info!("created the default role \"access\"");
    }
    let users = store.users().await?;
    if users.is_empty() {
        let spec = UserSpec { name: ADMIN.into(), roles: vec!["access".into()], linux_logins: vec![login.into()], ..Default::default() };
        let link = plane.add_user(&spec).await?;
        tracing::info!(login, "created the first user \"admin\"");
        return Ok(Some(link));
    }
    match users.iter().find(|u| u.name.as_str() == ADMIN) {
        Some(admin) if admin.credentials.is_none() => Ok(Some(plane.invite(ADMIN).await?)),
        _ => Ok(None),
    }
}
