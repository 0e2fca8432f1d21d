//! `access check`: would a user get a session, and why.

use oriel_auth::control_plane::ControlPlane;
use oriel_rbac::DesktopKind;

use crate::Failure;
use crate::proto::{self, Outcome};

/// Exit code 0 if allowed, 1 if denied.
pub(super) async fn check(plane: &ControlPlane, request: proto::AccessCheck) -> Result<Outcome, Failure> {
    let proto::AccessCheck { user, desktop_kind, desktop, login } = request;
    let kind = match desktop_kind.as_str() {
        "linux" => DesktopKind::Linux,
        "windows" => DesktopKind::Windows,
        _ => return Err(Failure::invalid("name a desktop with --linux-desktop or --windows-desktop")),
    };
    let report = plane.access_check(&user, kind, &desktop, &login).await?;
    let verdict = if report.is_allowed() { "allowed" } else { "denied" };
    let mut messages = vec![format!("{verdict}: user {user:?} as {login:?} on {} desktop {desktop:?}", kind.as_str()), format!("  roles: {}", report.decision)];
    if let Some(lock) = &report.lock {
        let message = lock.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
        messages.push(format!("  lock {:?} is in force{message}", lock.name));
    }
    messages.push(format!("  roles considered: {}", if report.roles.is_empty() { "none".into() } else { report.roles.join(", ") }));
    Ok(Outcome { messages, exit_code: if report.is_allowed() { 0 } else { 1 }, ..Outcome::default() })
}
