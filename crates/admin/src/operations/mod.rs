//! What each `orielctl` command does to the control plane, once for both
//! ways of reaching it: in-process on the auth host, and behind the admin
//! API. Each returns an [`Outcome`] to print, or a [`Failure`].

mod access;
mod desktops;
mod events;
mod format;

pub use format::{duration, humantime, utc};
mod locks;
mod recordings;
mod resources;
mod revoke;
mod tokens;
mod users;

use oriel_auth::control_plane::ControlPlane;

use crate::Failure;
use crate::proto::command::Command;
use crate::proto::{self, Outcome};

/// What operations need besides the control plane.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The proxy's public address, the base of invite links
    /// (e.g. `https://127.0.0.1:3080`).
    pub proxy_url: String,
}

impl Settings {
    /// The proxy address from `ORIEL_PROXY_URL`, or `fallback`.
    pub fn from_env(fallback: &str) -> Self {
        Self { proxy_url: std::env::var("ORIEL_PROXY_URL").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| fallback.to_owned()) }
    }
}

/// Runs one command.
pub async fn run(plane: &ControlPlane, settings: &Settings, command: proto::Command) -> Result<Outcome, Failure> {
    let Some(command) = command.command else { return Err(Failure::invalid("the request names no command")) };
    match command {
        Command::AddUser(spec) => users::add(plane, settings, spec).await,
        Command::UpdateUser(spec) => users::update(plane, spec).await,
        Command::ListUsers(_) => users::list(plane).await,
        Command::RemoveUser(proto::Name { name }) => users::remove(plane, &name).await,
        Command::Create(request) => resources::create(plane, settings, request).await,
        Command::Get(proto::Resource { resource }) => resources::get(plane, &resource).await,
        Command::Remove(proto::Resource { resource }) => resources::remove(plane, &resource).await,
        Command::ListDesktops(proto::ListDesktops { kind }) => desktops::list(plane, &kind).await,
        Command::ListEvents(request) => events::list(plane, request).await,
        Command::ListRecordings(request) => recordings::list(plane, request).await,
        Command::Lock(request) => locks::lock(plane, request).await,
        Command::ListLocks(_) => locks::list(plane).await,
        Command::Unlock(proto::Name { name }) => locks::unlock(plane, &name).await,
        Command::AddToken(request) => tokens::add(plane, request).await,
        Command::ListTokens(_) => tokens::list(plane).await,
        Command::RemoveToken(proto::Name { name }) => tokens::remove(plane, &name).await,
        Command::AccessCheck(request) => access::check(plane, request).await,
        Command::ResetUser(proto::Name { name }) => users::reset(plane, settings, &name).await,
        Command::Revoke(request) => revoke::revoke(plane, request).await,
    }
}

/// What `users add` and `create -f` say for a new user: the invite link, once.
fn invite_message(settings: &Settings, link: &oriel_auth::control_plane::InviteLink) -> String {
    format!(
        "User {:?} has been created but has no password yet. Share this link with them to finish\nsetting up; it works once, for {} minutes:\n\n{}/web/invite/{}\n",
        link.user,
        oriel_auth::control_plane::INVITE_TTL.as_secs() / 60,
        settings.proxy_url,
        link.secret
    )
}
