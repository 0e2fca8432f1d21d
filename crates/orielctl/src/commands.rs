//! What each command does, through the control plane.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::resources::join_token::JoinRole;
use oriel_auth::resources::lock::{Lock, LockTarget};
use oriel_auth::store::{DesktopRecord, Store};
use oriel_backend::{Options, SqliteBackend, SystemClock};
use oriel_rbac::{DesktopKind, IdleTimeout};
use serde::Serialize;

use crate::cli::{AccessCommand, Cli, Command, DesktopsCommand, Format, LocksCommand, TokensCommand, UsersCommand};
use crate::output::print;


async fn open(data_dir: Option<PathBuf>) -> anyhow::Result<ControlPlane> {
    let dir = data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir);
    let path = oriel_auth::data_dir::database(&dir);
    if !path.exists() {
        bail!("no Oriel data in {} (start Oriel there first, or pass --data-dir)", dir.display());
    }
    let backend = SqliteBackend::open(&path, Options::default()).await.with_context(|| format!("opening {}", path.display()))?;
    Ok(ControlPlane::new(Store::new(Arc::new(backend)), Arc::new(SystemClock)))
}

/// Runs one command; the exit code is 0, or 1 for a denied access check.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let plane = open(cli.data_dir).await?;
    match cli.command {
        Command::Users(command) => users(&plane, command).await?,
        Command::Create { file, force } => create(&plane, &file, force).await?,
        Command::Get { resource, format } => get(&plane, &resource, format).await?,
        Command::Rm { resource } => rm(&plane, &resource).await?,
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
            println!(
                "User {:?} has been created but has no password yet. Share this link with them to finish\nsetting up; it works once, for {} minutes:\n\n{}/web/invite/{}\n",
                link.user,
                oriel_auth::control_plane::INVITE_TTL.as_secs() / 60,
                proxy_url(),
                link.secret
            );
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

async fn create(plane: &ControlPlane, file: &PathBuf, force: bool) -> anyhow::Result<()> {
    let (source, text) = if file.as_os_str() == "-" {
        ("stdin".to_owned(), std::io::read_to_string(std::io::stdin())?)
    } else {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        (name, text)
    };
    // Every document is checked before anything is written.
    let roles = oriel_rbac::parse_roles(&source, &text)?;
    plane.create_roles(&roles, force).await?;
    for role in &roles {
        println!("role {:?} has been {}.", role.name, if force { "created or replaced" } else { "created" });
    }
    Ok(())
}

/// `KIND` or `KIND/NAME`, with Teleport's singular and plural kind names.
fn split_resource(resource: &str) -> anyhow::Result<(&'static str, Option<&str>)> {
    let (kind, name) = match resource.split_once('/') {
        Some((kind, name)) => (kind, Some(name)),
        None => (resource, None),
    };
    let kind = match kind {
        "role" | "roles" => "role",
        "user" | "users" => "user",
        "linux_desktop" | "linux_desktops" => "linux_desktop",
        "windows_desktop" | "windows_desktops" => "windows_desktop",
        "lock" | "locks" => "lock",
        "token" | "tokens" => "token",
        "decision" | "decisions" => "decision",
        other => bail!("unknown resource kind {other:?} (expected role, user, linux_desktop, windows_desktop, lock, token or decisions)"),
    };
    Ok((kind, name.filter(|n| !n.is_empty())))
}

async fn get(plane: &ControlPlane, resource: &str, format: Format) -> anyhow::Result<()> {
    let (kind, name) = split_resource(resource)?;
    match kind {
        "role" => {
            let roles = match name {
                Some(name) => vec![plane.store().role(name).await?],
                None => plane.store().roles().await?,
            };
            match format {
                Format::Yaml => print!("{}", oriel_rbac::roles_to_yaml(&roles)),
                _ => {
                    let rows = roles.iter().map(|r| vec![r.name.clone(), r.version.as_str().to_owned()]).collect();
                    print(format, &["Role", "Version"], rows, &roles);
                }
            }
        }
        "linux_desktop" | "windows_desktop" => {
            let kind = if kind == "linux_desktop" { DesktopKind::Linux } else { DesktopKind::Windows };
            let desktops = match name {
                Some(name) => vec![plane.store().desktop(kind, name).await?],
                None => plane.store().desktops(kind).await?,
            };
            print_desktops(&desktops, format);
        }
        "user" => {
            let users = plane.store().users().await?;
            let users: Vec<_> = users.into_iter().filter(|u| name.is_none_or(|n| u.name.as_str() == n)).collect();
            if let (Some(name), true) = (name, users.is_empty()) {
                bail!("user {name:?} not found");
            }
            users_output(&users, format);
        }
        "lock" => {
            let locks: Vec<_> = plane.store().locks().await?.into_iter().filter(|l| name.is_none_or(|n| l.name == n)).collect();
            if let (Some(name), true) = (name, locks.is_empty()) {
                bail!("lock {name:?} not found");
            }
            print_locks(&locks, format);
        }
        "token" => tokens(plane, TokensCommand::Ls { format }).await?,
        "decision" => {
            let decisions = plane.store().decisions().await?;
            let rows = decisions
                .iter()
                .map(|d| {
                    vec![
                        utc(d.time_ms),
                        d.event.clone(),
                        d.user.clone(),
                        d.login.clone(),
                        d.desktop.clone(),
                        if d.allowed { "allowed".into() } else { "denied".into() },
                        d.reason.clone(),
                    ]
                })
                .collect();
            print(format, &["Time (UTC)", "Event", "User", "Login", "Desktop", "Result", "Reason"], rows, &decisions);
        }
        _ => unreachable!("kinds come from split_resource"),
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for milliseconds since the epoch (proleptic Gregorian).
fn utc(ms: u64) -> String {
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

fn users_output(users: &[oriel_auth::resources::user::User], format: Format) {
    #[derive(Serialize)]
    struct UserView<'a> {
        kind: &'static str,
        name: &'a str,
        roles: &'a [String],
        traits: &'a std::collections::BTreeMap<String, Vec<String>>,
    }
    let views: Vec<_> =
        users.iter().map(|u| UserView { kind: "user", name: u.name.as_str(), roles: &u.roles, traits: u.traits.as_map() }).collect();
    let rows = users.iter().map(|u| vec![u.name.to_string(), u.roles.join(",")]).collect();
    print(format, &["User", "Roles"], rows, &views);
}

async fn rm(plane: &ControlPlane, resource: &str) -> anyhow::Result<()> {
    let (kind, name) = split_resource(resource)?;
    let Some(name) = name else { bail!("name the resource to remove: {kind}/NAME") };
    match kind {
        "role" => plane.store().delete_role(name).await?,
        "user" => plane.remove_user(name).await?,
        "linux_desktop" => plane.store().delete_desktop(DesktopKind::Linux, name).await?,
        "windows_desktop" => plane.store().delete_desktop(DesktopKind::Windows, name).await?,
        "lock" => plane.store().delete_lock(name).await?,
        "token" => plane.store().delete_token(&token_hash(name)).await?,
        "decision" => bail!("decisions are a record and cannot be removed"),
        _ => unreachable!("kinds come from split_resource"),
    }
    println!("{kind} {name:?} has been deleted.");
    Ok(())
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

fn describe(target: &LockTarget) -> String {
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
            let full = plane.store().tokens().await?.into_iter().find(|t| t.secret_hash == token_hash(&token) || t.secret_hash.starts_with(&token));
            let Some(found) = full.filter(|_| token.len() >= 16) else { bail!("token not found") };
            plane.store().delete_token(&found.secret_hash).await?;
            println!("Token {} has been deleted.", &found.secret_hash[..16]);
        }
    }
    Ok(())
}

/// Accepts the token itself (64 hex digits) or the hash `tokens ls` shows.
fn token_hash(token: &str) -> String {
    if token.len() == 64 { oriel_auth::bearer::hash(token) } else { token.to_owned() }
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
