//! `users add/update/ls/rm`.

use std::collections::BTreeMap;

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use serde::Serialize;

use super::{Settings, invite_message};
use crate::Failure;
use crate::proto::{self, Outcome};

fn spec(request: proto::UserSpec) -> UserSpec {
    UserSpec { name: request.name, roles: request.roles, linux_logins: request.linux_logins, windows_logins: request.windows_logins }
}

pub(super) async fn add(plane: &ControlPlane, settings: &Settings, request: proto::UserSpec) -> Result<Outcome, Failure> {
    let link = plane.add_user(&spec(request)).await?;
    Ok(Outcome::message(invite_message(settings, &link)))
}

pub(super) async fn update(plane: &ControlPlane, request: proto::UserSpec) -> Result<Outcome, Failure> {
    let spec = spec(request);
    plane.update_user(&spec).await?;
    Ok(Outcome::message(format!("User {:?} has been updated.", spec.name)))
}

pub(super) async fn list(plane: &ControlPlane) -> Result<Outcome, Failure> {
    #[derive(Serialize)]
    struct UserView {
        name: String,
        roles: Vec<String>,
        traits: BTreeMap<String, Vec<String>>,
        enrolled: bool,
    }
    let users = plane.store().users().await?;
    let views: Vec<UserView> = users
        .iter()
        .map(|u| UserView { name: u.name.to_string(), roles: u.roles.clone(), traits: u.traits.as_map().clone(), enrolled: u.credentials.is_some() })
        .collect();
    let rows = views.iter().map(|v| vec![v.name.clone(), v.roles.join(","), if v.enrolled { "yes".into() } else { "invited".into() }]).collect();
    Ok(Outcome::records(&["User", "Roles", "Enrolled"], rows, &views))
}

pub(super) async fn reset(plane: &ControlPlane, settings: &Settings, name: &str) -> Result<Outcome, Failure> {
    let link = plane.reset_user(name).await?;
    Ok(Outcome::message(format!(
        "User {name:?} has been reset: their password and second factor are cleared and every session of theirs has ended.\n{}",
        invite_message(settings, &link)
    )))
}

pub(super) async fn remove(plane: &ControlPlane, name: &str) -> Result<Outcome, Failure> {
    plane.remove_user(name).await?;
    Ok(Outcome::message(format!("User {name:?} has been deleted.")))
}
