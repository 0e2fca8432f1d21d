//! What each command does, through the control plane.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use oriel_auth::control_plane::{ControlPlane, InviteLink, UserSpec};
use oriel_auth::resources::join_token::JoinRole;
use oriel_auth::resources::lock::{Lock, LockTarget};
use oriel_auth::store::{DesktopRecord, Store};
use oriel_auth::storage::StorageLocation;
use oriel_backend::SystemClock;
use oriel_rbac::{DesktopKind, IdleTimeout};
use serde::Serialize;

use crate::cli::{AccessCommand, Cli, Command, DesktopsCommand, Format, LocksCommand, TokensCommand, UsersCommand};
use crate::output::print;


async fn open(data_dir: Option<PathBuf>) -> anyhow::Result<ControlPlane> {
    let dir = data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir);
    let backend = StorageLocation::recorded(&dir)?.open().await?;
    Ok(ControlPlane::new(Store::new(backend), Arc::new(SystemClock)))
}

/// Runs one command; the exit code is 0, or 1 for a denied access check.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let plane = open(cli.data_dir).await?;
    match cli.command {
        Command::Users(command) => users(&plane, command).await?,
        Command::Create { file, force } => crate::resources::create(&plane, &file, force).await?,
        Command::Get { resource, format } => crate::resources::get(&plane, &resource, format).await?,
        Command::Rm { resource } => crate::resources::rm(&plane, &resource).await?,
        Command::Desktops(DesktopsCommand::Ls { format }) => desktops(&plane, &DesktopKind::ALL, format).await?,
        Command::LinuxDesktops(DesktopsCommand::Ls { format }) => desktops(&plane, &[DesktopKind::Linux], format).await?,
        Command::WindowsDesktops(DesktopsCommand::Ls { format }) => desktops(&plane, &[DesktopKind::Windows], format).await?,
        Command::Lock(args) => {
            let ttl = args.ttl.as_deref().map(duration).transpose()?;
            let target = LockTarget {
                user: args.user,
                role: args.role,
                login: args.login,
                server_id: args.server_id,
                linux_desktop: args.linux_desktop,
                windows_desktop: args.windows_desktop,
            };
            let lock = plane.lock(target, ttl, args.message).await?;
            println!("Created a lock with name {:?}.", lock.name);
        }
        Command::Locks(LocksCommand::Ls { format }) => locks(&plane, format).await?,
        Command::Unlock { name } => {
            plane.store().delete_lock(&name).await?;
            println!("Lock {name:?} has been removed.");
        }
        Command::Tokens(command) => tokens(&plane, command).await?,
        Command::Access(AccessCommand::Check { user, linux_desktop, windows_desktop, login }) => {
            let (kind, desktop) = match (linux_desktop, windows_desktop) {
                (Some(d), _) => (DesktopKind::Linux, d),
                (None, Some(d)) => (DesktopKind::Windows, d),
                (None, None) => bail!("name a desktop with --linux-desktop or --windows-desktop"),
            };
            let report = plane.access_check(&user, kind, &desktop, &login).await?;
            let verdict = if report.is_allowed() { "allowed" } else { "denied" };
            println!("{verdict}: user {user:?} as {login:?} on {} desktop {desktop:?}", kind.as_str());
            println!("  roles: {}", report.decision);
            if let Some(lock) = &report.lock {
                let message = lock.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                println!("  lock {:?} is in force{message}", lock.name);
            }
            println!("  roles considered: {}", if report.roles.is_empty() { "none".into() } else { report.roles.join(", ") });
            return Ok(if report.is_allowed() { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn users(plane: &ControlPlane, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Add(args) => {
            let spec = UserSpec { name: args.name, roles: args.roles, linux_logins: args.linux_logins, windows_logins: args.windows_logins };
            let link = plane.add_user(&spec).await?;
            print!("{}", invite_message(&link));
        }
        UsersCommand::Update(args) => {
            let spec = UserSpec { name: args.name.clone(), roles: args.roles, linux_logins: args.linux_logins, windows_logins: args.windows_logins };
            plane.update_user(&spec).await?;
            println!("User {:?} has been updated.", args.name);
        }
        UsersCommand::Ls { format } => {
            #[derive(Serialize)]
            struct UserView {
                name: String,
                roles: Vec<String>,
                traits: std::collections::BTreeMap<String, Vec<String>>,
                enrolled: bool,
            }
            let users = plane.store().users().await?;
            let views: Vec<UserView> = users
                .iter()
                .map(|u| UserView {
                    name: u.name.to_string(),
                    roles: u.roles.clone(),
                    traits: u.traits.as_map().clone(),
                    enrolled: u.credentials.is_some(),
                })
                .collect();
            let rows = views
                .iter()
                .map(|v| vec![v.name.clone(), v.roles.join(","), if v.enrolled { "yes".into() } else { "invited".into() }])
                .collect();
            print(format, &["User", "Roles", "Enrolled"], rows, &views);
        }
        UsersCommand::Rm { name } => {
            plane.remove_user(&name).await?;
            println!("User {name:?} has been deleted.");
        }
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for milliseconds since the epoch (proleptic Gregorian).
pub(crate) fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

async fn desktops(plane: &ControlPlane, kinds: &[DesktopKind], format: Format) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for &kind in kinds {
        all.extend(plane.store().desktops(kind).await?);
    }
    print_desktops(&all, format);
    Ok(())
}

fn print_desktops(desktops: &[DesktopRecord], format: Format) {
    #[derive(Serialize)]
    struct DesktopView<'a> {
        kind: String,
        name: &'a str,
        hostname: &'a str,
        addr: &'a str,
        labels: &'a std::collections::BTreeMap<String, String>,
    }
    let views: Vec<_> = desktops
        .iter()
        .map(|d| DesktopView {
            kind: format!("{}_desktop", d.kind.as_str()),
            name: &d.name,
            hostname: &d.hostname,
            addr: &d.addr,
            labels: &d.labels,
        })
        .collect();
    let rows = desktops
        .iter()
        .map(|d| {
            let labels = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            vec![d.kind.as_str().to_owned(), d.name.clone(), d.hostname.clone(), d.addr.clone(), labels]
        })
        .collect();
    print(format, &["Type", "Name", "Hostname", "Address", "Labels"], rows, &views);
}

async fn locks(plane: &ControlPlane, format: Format) -> anyhow::Result<()> {
    print_locks(&plane.store().locks().await?, format);
    Ok(())
}

fn print_locks(locks: &[Lock], format: Format) {
    #[derive(Serialize)]
    struct LockView<'a> {
        name: &'a str,
        target: String,
        message: Option<&'a str>,
        expires: Option<u64>,
    }
    let views: Vec<_> = locks
        .iter()
        .map(|l| LockView { name: &l.name, target: describe(&l.target), message: l.message.as_deref(), expires: l.expires.map(unix) })
        .collect();
    let rows = views
        .iter()
        .map(|v| vec![v.name.to_owned(), v.target.clone(), v.message.unwrap_or("").to_owned(), v.expires.map_or("never".into(), |e| e.to_string())])
        .collect();
    print(format, &["Name", "Target", "Message", "Expires (unix)"], rows, &views);
}

pub(crate) fn describe(target: &LockTarget) -> String {
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

async fn tokens(plane: &ControlPlane, command: TokensCommand) -> anyhow::Result<()> {
    match command {
        TokensCommand::Add { kind, ttl, reusable } => {
            let role: JoinRole = kind.parse()?;
            let ttl = duration(&ttl)?;
            let (secret, token) = plane.add_token(role, ttl, !reusable).await?;
            println!(
                "The join token is shown only now; it expires in {} and is for {}{}:\n\n{secret}\n",
                humantime(ttl),
                role.as_str(),
                if token.one_time { ", one use" } else { "" }
            );
        }
        TokensCommand::Ls { format } => {
            #[derive(Serialize)]
            struct TokenView {
                hash: String,
                roles: Vec<&'static str>,
                expires: u64,
                one_time: bool,
                used: bool,
            }
            let views: Vec<_> = plane
                .store()
                .tokens()
                .await?
                .into_iter()
                .map(|t| TokenView {
                    hash: t.secret_hash[..16].to_owned(),
                    roles: t.roles.iter().map(|r| r.as_str()).collect(),
                    expires: unix(t.expires),
                    one_time: t.one_time,
                    used: t.used,
                })
                .collect();
            let rows = views
                .iter()
                .map(|v| vec![v.hash.clone(), v.roles.join(","), v.expires.to_string(), if v.one_time { "one-time".into() } else { "reusable".into() }])
                .collect();
            print(format, &["Hash", "Type", "Expires (unix)", "Use"], rows, &views);
        }
        TokensCommand::Rm { token } => {
            let found = crate::resources::find_token(plane, &token).await?;
            plane.store().delete_token(&found.secret_hash).await?;
            println!("Token {} has been deleted.", &found.secret_hash[..16]);
        }
    }
    Ok(())
}

fn duration(text: &str) -> anyhow::Result<Duration> {
    IdleTimeout::parse(text).map(|d| d.duration()).map_err(|e| anyhow::anyhow!("invalid duration {text:?}: {e} (e.g. 30m, 1h, 1h30m)"))
}

fn humantime(d: Duration) -> String {
    let (h, m) = (d.as_secs() / 3600, d.as_secs() % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What `users add` and `create -f` print for a new user: the invite link, once.
pub(crate) fn invite_message(link: &InviteLink) -> String {
    format!(
        "User {:?} has been created but has no password yet. Share this link with them to finish\nsetting up; it works once, for {} minutes:\n\n{}/web/invite/{}\n\n",
        link.user,
        oriel_auth::control_plane::INVITE_TTL.as_secs() / 60,
        proxy_url(),
        link.secret
    )
}

fn proxy_url() -> String {
    std::env::var("ORIEL_PROXY_URL").unwrap_or_else(|_| "https://127.0.0.1:3080".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_795_398_781_999), "2026-11-23T01:53:01Z");
    }
}
