//! The xsession's process: the account's login shell, so /etc/profile and
//! ~/.profile apply as they would after a console login, running the
//! desktop entry's `Exec=` under a session bus of its own, as the login.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;

use super::Account;
use super::sweep::{MARK_VARIABLE, SessionMark};

/// What the session adds to the login's environment.
pub struct SessionEnv {
    /// `DISPLAY`, `XAUTHORITY`, `XDG_RUNTIME_DIR` and the like.
    pub variables: Vec<(&'static str, OsString)>,
    /// PAM's variables, which override the defaults.
    pub pam: Vec<(OsString, OsString)>,
}

/// Builds the command that runs `exec` for `account`. The process starts
/// in its own process group, with only the environment given here, and
/// (when the service is root) with the account's groups, gid and uid.
pub fn xsession_command(account: &Account, exec: &str, env: SessionEnv, mark: &SessionMark, dbus: Option<&std::path::Path>) -> tokio::process::Command {
    let shell_name = account.shell.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_else(|| b"sh".to_vec());
    let mut login_name = b"-".to_vec();
    login_name.extend_from_slice(&shell_name);
    let mut command = tokio::process::Command::new(&account.shell);
    // A leading '-' in argv[0] is how a shell learns it is a login shell.
    command.arg0(std::ffi::OsStr::from_bytes(&login_name));
    // The shell runs its profile, then replaces itself with the arguments
    // after the script name: no quoting of `exec` needed.
    command.args(["-c", r#"exec "$@""#, "oriel-xsession"]);
    if let Some(dbus) = dbus {
        // Desktops such as Xfce need a session bus, which display managers
        // start for them; dbus-run-session gives each session its own.
        command.arg(dbus).arg("--");
    }
    command.args(["/bin/sh", "-c", exec]);
    command.env_clear().envs(account.environment()).envs(env.variables).envs(env.pam);
    // login(1) starts in / when the home directory is missing.
    let dir = if account.home.is_dir() { account.home.as_path() } else { std::path::Path::new("/") };
    command.env(MARK_VARIABLE, mark.value()).current_dir(dir).process_group(0);
    if super::account::service_is_root() {
        let (uid, gid) = (account.uid, account.gid);
        let groups: Vec<libc::gid_t> = account.groups.clone();
        // SAFETY: only async-signal-safe system calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Groups first, then gid, then uid: afterwards there is no
                // privilege left to change them.
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
}
