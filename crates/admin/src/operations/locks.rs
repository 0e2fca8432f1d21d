//! `lock`, `locks ls`, `unlock`.

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::lock::LockTarget;
use serde::Serialize;

use super::format::{duration, expires, unix};
use crate::Failure;
use crate::proto::{self, Outcome};

pub(super) async fn lock(plane: &ControlPlane, request: proto::Lock) -> Result<Outcome, Failure> {
    let ttl = request.ttl.as_deref().map(duration).transpose()?;
    let target = LockTarget {
        user: request.user,
        role: request.role,
        login: request.login,
        server_id: request.server_id,
        linux_desktop: request.linux_desktop,
        windows_desktop: request.windows_desktop,
    };
    if describe(&target).is_empty() {
        return Err(Failure::invalid("a lock needs a target: --user, --role, --login, --linux-desktop, --windows-desktop or --server-id"));
    }
    let lock = plane.lock(target, ttl, request.message).await?;
    Ok(Outcome::message(format!("Created a lock with name {:?}.", lock.name)))
}

pub(super) async fn list(plane: &ControlPlane) -> Result<Outcome, Failure> {
    #[derive(Serialize)]
    struct LockView<'a> {
        name: &'a str,
        target: String,
        message: Option<&'a str>,
        expires: Option<u64>,
    }
    let locks = plane.store().locks().await?;
    let views: Vec<_> =
        locks.iter().map(|l| LockView { name: &l.name, target: describe(&l.target), message: l.message.as_deref(), expires: l.expires.map(unix) }).collect();
    let rows = locks.iter().map(|l| vec![l.name.clone(), describe(&l.target), l.message.clone().unwrap_or_default(), expires(l.expires)]).collect();
    Ok(Outcome::records(&["Name", "Target", "Message", "Expires"], rows, &views))
}

pub(super) async fn unlock(plane: &ControlPlane, name: &str) -> Result<Outcome, Failure> {
    plane.unlock(name).await?;
    Ok(Outcome::message(format!("Lock {name:?} has been removed.")))
}

/// `user=alice,login=root`: what a lock targets.
pub(super) fn describe(target: &LockTarget) -> String {
    [
        ("user", &target.user),
        ("role", &target.role),
        ("login", &target.login),
        ("server_id", &target.server_id),
        ("linux_desktop", &target.linux_desktop),
        ("windows_desktop", &target.windows_desktop),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect::<Vec<_>>()
    .join(",")
}
