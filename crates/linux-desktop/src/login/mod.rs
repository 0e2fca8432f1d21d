//! Who a desktop session runs as: the login's account on this host, made
//! when the roles allow it, opened through PAM, recorded in utmp and wtmp,
//! and every process it starts found again when it ends.
//!
//! A session never runs as root, and never as the service's own user on
//! behalf of someone else: a service that is not root can only start
//! sessions for its own login.

mod account;
mod command;
mod host_user;
pub(crate) mod pam;
mod sweep;
pub(crate) mod utmp;

pub use account::{Account, service_is_root};
pub use command::{SessionEnv, xsession_command};
pub use sweep::{SessionMark, sweep_orphans};

use std::sync::Arc;

use crate::session::SessionError;

/// Why a login cannot have a desktop session here.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No such account, and the roles do not allow creating it.
    #[error("there is no user {0:?} on this host (ask an administrator to create it, or to turn on create_desktop_user in your role)")]
    Unknown(String),
    /// uid 0.
    #[error("desktop sessions never run as root: pick another login")]
    Root,
    /// A service without root privileges can only be its own user.
    #[error("this desktop service runs as {service:?} without root privileges, so it can only start sessions for {service:?}, not {login:?}")]
    NotServiceUser {
        /// The service's login.
        service: String,
        /// The login asked for.
        login: String,
    },
    /// The account's shell refuses logins.
    #[error("user {login:?} may not log in (its shell is {shell})")]
    NoLoginShell {
        /// The login.
        login: String,
        /// Its shell.
        shell: String,
    },
    /// Creating the account failed.
    #[error("cannot create user {login:?} on this host: {reason}")]
    Create {
        /// The login.
        login: String,
        /// What useradd or groupadd said.
        reason: String,
    },
    /// PAM refused the account or the session.
    #[error("the host refused a session for {login:?} ({stage}: {reason})")]
    Pam {
        /// The login.
        login: String,
        /// `account` or `session`.
        stage: &'static str,
        /// PAM's message.
        reason: String,
    },
    /// Reading the user database failed.
    #[error("cannot read the accounts of this host: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a service keeps its sessions' directories: the data dir's
/// `sessions`, or, for a root service whose sessions run as other logins,
/// `/run/oriel`, which they can reach (a data dir under /root they cannot).
pub fn runtime_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    if service_is_root() { "/run/oriel".into() } else { data_dir.join("sessions") }
}

/// What a session needs of its login before anything starts: the account
/// (created when allowed), checked to be a real, non-root login this
/// service may become.
pub async fn resolve(login: &str, options: &oriel_rbac::SessionOptions) -> Result<Arc<Account>, SessionError> {
    let login = login.to_owned();
    let (may_create, groups) = (options.create_host_user, options.host_groups.clone());
    tokio::task::spawn_blocking(move || -> Result<Arc<Account>, LoginError> {
        let account = match Account::lookup(&login)? {
            // An account Oriel created follows the roles' groups at each session.
            Some(account) if account::service_is_root() => host_user::sync_groups(account, &groups)?,
            Some(account) => account,
            None if account::service_is_root() && may_create => host_user::create(&login, &groups)?,
            None => return Err(LoginError::Unknown(login)),
        };
        account.check_may_start()?;
        Ok(Arc::new(account))
    })
    .await
    .map_err(|e| SessionError::Internal(format!("looking up the login failed: {e}")))?
    .map_err(SessionError::Login)
}
