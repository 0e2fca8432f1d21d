//! A login's account in the host's user database.

use std::ffi::OsStr;
use std::path::PathBuf;

use uzers::os::unix::UserExt;

use super::LoginError;

/// Shells that exist to refuse a login.
const NO_LOGIN_SHELLS: [&str; 4] = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"];

/// What the session's processes run as, and with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// Its user id.
    pub uid: u32,
    /// Its primary group.
    pub gid: u32,
    /// Every group it is in, the primary one included (initgroups).
    pub groups: Vec<u32>,
    /// `HOME`.
    pub home: PathBuf,
    /// `SHELL`, run as a login shell.
    pub shell: PathBuf,
}

impl Account {
    /// The account called `login`, if the host has one (NSS: /etc/passwd,
    /// LDAP, …).
    pub fn lookup(login: &str) -> Result<Option<Account>, LoginError> {
        let Some(user) = uzers::get_user_by_name(login) else {
            return Ok(None);
        };
        let gid = user.primary_group_id();
        let mut groups: Vec<u32> = uzers::get_user_groups(login, gid).unwrap_or_default().iter().map(|g| g.gid()).collect();
        if !groups.contains(&gid) {
            groups.insert(0, gid);
        }
        let shell = user.shell();
        let shell = if shell.as_os_str().is_empty() { PathBuf::from("/bin/sh") } else { shell.to_owned() };
        Ok(Some(Account { name: login.to_owned(), uid: user.uid(), gid, groups, home: user.home_dir().to_owned(), shell }))
    }

    /// Refuses root, logins whose shell refuses logins, and, for a service
    /// without root privileges, every login but its own.
    pub fn check_may_start(&self) -> Result<(), LoginError> {
        if self.uid == 0 {
            return Err(LoginError::Root);
        }
        if NO_LOGIN_SHELLS.iter().any(|s| self.shell == OsStr::new(s)) {
            return Err(LoginError::NoLoginShell { login: self.name.clone(), shell: self.shell.display().to_string() });
        }
        let own_uid = rustix::process::geteuid();
        if !own_uid.is_root() && own_uid.as_raw() != self.uid {
            let service = uzers::get_current_username().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| own_uid.as_raw().to_string());
            return Err(LoginError::NotServiceUser { service, login: self.name.clone() });
        }
        Ok(())
    }

    /// The environment of a login shell, before PAM's and the session's own.
    pub fn environment(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("HOME", self.home.clone().into_os_string()),
            ("USER", self.name.clone().into()),
            ("LOGNAME", self.name.clone().into()),
            ("SHELL", self.shell.clone().into_os_string()),
            // login(1)'s ENV_PATH on Debian; the login shell's profile may extend it.
            ("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games".into()),
        ]
    }
}

/// Whether this service may become other users.
pub fn service_is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uid: u32, shell: &str) -> Account {
        Account { name: "someone".into(), uid, gid: uid, groups: vec![uid], home: "/home/someone".into(), shell: shell.into() }
    }

    #[test]
    fn root_and_nologin_accounts_are_refused() {
        assert!(matches!(account(0, "/bin/bash").check_may_start(), Err(LoginError::Root)));
        let refused = account(4242, "/usr/sbin/nologin").check_may_start().unwrap_err();
        assert_eq!(refused.to_string(), "user \"someone\" may not log in (its shell is /usr/sbin/nologin)");
    }

    #[test]
    fn the_host_database_knows_root_and_not_a_made_up_login() {
        let root = Account::lookup("root").unwrap().expect("root is in /etc/passwd");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        assert_eq!(Account::lookup("no-such-login-oriel").unwrap(), None);
    }
}
