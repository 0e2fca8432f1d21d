//! Host user creation: a login the roles allow but the host lacks is made
//! with useradd, as Teleport's host user creation does in its "keep" mode.
//! The account stays after the session; it has no password, so only Oriel
//! (or root) can start sessions for it. At each session its supplementary
//! groups are brought in line with what the roles allowing that session
//! name ([`sync_groups`]), so a group taken out of a role is left too;
//! accounts Oriel did not create are never changed.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use super::{Account, LoginError};

/// Every account Oriel created is in this group, so an administrator can
/// list them (`getent group oriel-users`).
pub const CREATED_GROUP: &str = "oriel-users";

/// useradd and groupadd exit with this while another program holds the
/// user database's lock.
const LOCKED: i32 = 10;
/// useradd: the name is taken (another session created it just now).
const NAME_IN_USE: i32 = 9;

/// Creates `login` with a home directory, its own primary group, bash as
/// its shell (sh where bash is missing), and `groups` plus [`CREATED_GROUP`]
/// as supplementary groups, creating groups that do not exist yet.
pub fn create(login: &str, groups: &[String]) -> Result<Account, LoginError> {
    // Two sessions of one new login must not both run useradd.
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(account) = Account::lookup(login)? {
        return Ok(account);
    }
    let failed = |reason: String| LoginError::Create { login: login.to_owned(), reason };
    let all_groups: Vec<String> = wanted_groups(login, groups).into_iter().collect();
    add_missing_groups(&all_groups).map_err(failed)?;
    let shell = if std::path::Path::new("/bin/bash").exists() { "/bin/bash" } else { "/bin/sh" };
    let mut useradd = Command::new("useradd");
    useradd
        .args(["--create-home", "--user-group", "--shell", shell])
        .args(["--comment", "desktop login created by Oriel"])
        .args(["--groups", &all_groups.join(",")])
        .arg("--")
        .arg(login);
    run(&mut useradd, &[NAME_IN_USE]).map_err(failed)?;
    tracing::info!(login, groups = %all_groups.join(","), "created host user");
    Account::lookup(login)?.ok_or_else(|| failed("useradd succeeded but the account cannot be found".into()))
}

/// Account tools run one at a time: two sessions of one login must not
/// both run useradd or usermod.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Brings the supplementary groups of `account` in line with `groups` plus
/// [`CREATED_GROUP`] (usermod -G), when Oriel created it (it is in
/// [`CREATED_GROUP`]); any other account is returned as it is. Groups that
/// do not exist yet are created.
pub fn sync_groups(account: Account, groups: &[String]) -> Result<Account, LoginError> {
    let Some(marker) = uzers::get_group_by_name(CREATED_GROUP) else { return Ok(account) };
    if !account.groups.contains(&marker.gid()) {
        return Ok(account);
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let wanted = wanted_groups(&account.name, groups);
    let current: BTreeSet<String> = account
        .groups
        .iter()
        .filter(|&&gid| gid != account.gid)
        .filter_map(|&gid| uzers::get_group_by_gid(gid))
        .map(|group| group.name().to_string_lossy().into_owned())
        .collect();
    if current == wanted {
        return Ok(account);
    }
    let failed = |reason: String| LoginError::Create { login: account.name.clone(), reason };
    let list: Vec<String> = wanted.iter().cloned().collect();
    add_missing_groups(&list).map_err(failed)?;
    run(Command::new("usermod").args(["--groups", &list.join(",")]).arg("--").arg(&account.name), &[]).map_err(|e| failed(format!("usermod: {e}")))?;
    tracing::info!(login = %account.name, groups = %list.join(","), was = %current.into_iter().collect::<Vec<_>>().join(","), "brought the host user's groups in line with the roles");
    Account::lookup(&account.name)?.ok_or_else(|| failed("the account went away while its groups were set".into()))
}

/// [`CREATED_GROUP`] and the Linux group names among `groups`.
fn wanted_groups(login: &str, groups: &[String]) -> BTreeSet<String> {
    let mut wanted = BTreeSet::from([CREATED_GROUP.to_owned()]);
    for group in groups {
        // Roles shared with Windows desktops name Windows groups too.
        if linux_group_name(group) {
            wanted.insert(group.clone());
        } else {
            tracing::warn!(login, group, "not a Linux group name: the host user does not join it");
        }
    }
    wanted
}

fn add_missing_groups(groups: &[String]) -> Result<(), String> {
    for group in groups {
        if uzers::get_group_by_name(group).is_none() {
            run(Command::new("groupadd").arg(group), &[NAME_IN_USE]).map_err(|e| format!("groupadd {group}: {e}"))?;
        }
    }
    Ok(())
}

/// What groupadd accepts (Debian's default NAME_REGEX, at most 32 bytes).
fn linux_group_name(name: &str) -> bool {
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let rest_fine = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    starts_well && rest_fine && name.len() <= 32
}

/// Runs an account tool, waiting out the user database's lock a few times;
/// an exit code in `fine` counts as success.
fn run(command: &mut Command, fine: &[i32]) -> Result<(), String> {
    for attempt in 0.. {
        let output = command.output().map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
        match output.status.code() {
            Some(0) => return Ok(()),
            Some(code) if fine.contains(&code) => return Ok(()),
            Some(LOCKED) if attempt < 20 => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
                return Err(if said.is_empty() { output.status.to_string() } else { said });
            }
        }
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_groups_are_not_linux_groups() {
        assert!(super::linux_group_name("audio") && super::linux_group_name("_ssh") && super::linux_group_name("oriel-users"));
        assert!(!super::linux_group_name("Administrators") && !super::linux_group_name("Remote Desktop Users") && !super::linux_group_name("-x"));
    }
}
