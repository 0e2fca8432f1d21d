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
mod pam;
mod sweep;
mod utmp;

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
    .map_err(|e| SessionError::Transport(std::io::Error::other(e)))?
    .map_err(SessionError::Login)
}

/// A login's open session on this host: its PAM session and its utmp
/// record, both closed when this is dropped.
pub struct HostSession {
    // A Mutex only to be Sync: PAM handles are not, and sessions are
    // shared across await points.
    pam: Option<std::sync::Mutex<pam::PamSession>>,
    utmp: Option<utmp::Record>,
}

impl HostSession {
    /// Runs PAM's account and session stages for `account` on X display
    /// `display` (`:N`), when this service is root; a service running as
    /// its own user has no PAM session to open (PAM would refuse it).
    pub async fn open(account: Arc<Account>, display: String) -> Result<Self, SessionError> {
        if !account::service_is_root() {
            return Ok(Self { pam: None, utmp: None });
        }
        tokio::task::spawn_blocking(move || pam::PamSession::open(&account.name, &display))
            .await
            .map_err(|e| SessionError::Transport(std::io::Error::other(e)))?
            .map(|pam| Self { pam: Some(std::sync::Mutex::new(pam)), utmp: None })
            .map_err(SessionError::Login)
    }

    /// The environment PAM's modules set (pam_env, pam_systemd…).
    pub fn environment(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        let Some(pam) = &self.pam else { return Vec::new() };
        pam.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).environment()
    }

    /// Records the login in utmp and wtmp, as `who` and `last` show it,
    /// once the session's first process has a pid.
    pub fn record_login(&mut self, account: &Account, display: &str, pid: u32) {
        if account::service_is_root() {
            self.utmp = Some(utmp::Record::login(&account.name, display, pid));
        }
    }
}
