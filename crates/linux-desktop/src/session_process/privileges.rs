//! Becoming the login: what the unprivileged part of a session process does
//! right after it is forked, before anything of the session runs.

use std::io;

use super::pb;

/// Drops to `account`'s groups, gid and uid (when running as root), then
/// forbids gaining privileges again (`no_new_privs`: setuid binaries such as
/// fusermount3 or su run without them) and makes the process undumpable, so
/// nothing of the login can ptrace it or read its memory through /proc.
///
/// Called in a freshly forked, single-threaded child only.
pub fn become_login(account: &pb::Account) -> io::Result<()> {
    if rustix::process::geteuid().is_root() {
        let groups: Vec<libc::gid_t> = account.groups.clone();
        // SAFETY: plain system calls on values owned here.
        unsafe {
            // Groups first, then gid, then uid: afterwards there is no
            // privilege left to change any of them.
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setresgid(account.gid, account.gid, account.gid) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setresuid(account.uid, account.uid, account.uid) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Proof that it worked: root is out of reach now.
            if libc::setuid(0) == 0 || libc::getuid() != account.uid || libc::geteuid() != account.uid {
                return Err(io::Error::other("the session process could not drop root privileges"));
            }
        }
    }
    rustix::thread::set_no_new_privs(true)?;
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// Sets the audit login uid (`/proc/self/loginuid`) to the login's, as
/// pam_loginuid does for a console login, so the kernel's audit records of
/// everything the session does name the person's account. Hosts without
/// audit support have no such file; containers may refuse the write.
pub fn set_login_uid(uid: u32) {
    let path = std::path::Path::new("/proc/self/loginuid");
    if !path.exists() {
        return;
    }
    if let Err(error) = std::fs::write(path, uid.to_string()) {
        tracing::debug!(%error, "the audit login uid was not set");
    }
}
