//! What each command asks of the control plane. The command becomes an
//! admin API request; oriel-admin carries it out, either here on the data
//! directory (on the auth host) or on the auth service over mutual TLS
//! (`--auth-server` with `--identity`). Both print the same.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use oriel_admin::client::AdminClient;
use oriel_admin::operations::{self, Settings};
use oriel_admin::proto::{self, Outcome, command::Command as Request};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::storage::StorageLocation;
use oriel_auth::store::Store;
use oriel_backend::SystemClock;

use crate::cli::{
    AccessCommand, AuthCommand, Cli, Command, DesktopsCommand, EventsCommand, Format, LocksCommand, RecordingsCommand, TokensCommand, UserArgs, UsersCommand,
};

/// Where commands run.
enum Target {
    /// The data directory, on the auth host.
    Local(Option<PathBuf>),
    /// The auth service's admin API.
    Remote { addr: String, identity: PathBuf },
}

/// Runs one command; the exit code is 0, or 1 for a denied access check.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let target = match (cli.auth_server, cli.identity) {
        (Some(addr), Some(identity)) => Target::Remote { addr, identity },
        (Some(_), None) => bail!("--auth-server needs --identity FILE (an admin identity from `orielctl auth sign` on the auth host)"),
        (None, _) => Target::Local(cli.data_dir),
    };
    if let Command::Auth(AuthCommand::Sign { out, ttl }) = &cli.command {
        let Target::Local(data_dir) = target else { bail!("`auth sign` works on the auth host's data directory: drop --auth-server") };
        return sign(data_dir, out, ttl).await;
    }
    if let Command::Recordings(RecordingsCommand::Export { id, from, out, fps }) = &cli.command {
        let (out, fps) = (out.clone(), *fps);
        let fetched = match (from, id) {
            (Some(file), _) => (file.clone(), None),
            (None, Some(id)) => {
                let id = crate::fetch::recording_id(id)?;
                // A wrong --out or --fps is said before anything is fetched.
                crate::export::check_output(&out, fps)?;
                let fetched = match target {
                    Target::Local(data_dir) => crate::fetch::from_storage(&data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir), &id, &out).await?,
                    Target::Remote { addr, identity } => {
                        let mut client = Runner::remote(&addr, &identity).await?;
                        crate::fetch::from_admin(&mut client, &id, &out).await?
                    }
                };
                (fetched.path().to_owned(), Some(fetched))
            }
            (None, None) => bail!("name a recording, or a file with --from"),
        };
        let (file, _fetched) = fetched;
        tokio::task::spawn_blocking(move || crate::export::export(&file, &out, fps)).await??;
        return Ok(ExitCode::SUCCESS);
    }
    let mut runner = Runner::new(target).await?;
    if let Command::Events(EventsCommand::Ls { since, until, types, user, session, limit, oldest_first, format }) = cli.command {
        let query = proto::ListEvents {
            since: since.unwrap_or_default(),
            until: until.unwrap_or_default(),
            types,
            user: user.unwrap_or_default(),
            session: session.unwrap_or_default(),
            limit: 0,
            oldest_first,
            page: String::new(),
        };
        let outcome = list_events(&mut runner, query, limit).await?;
        crate::output::print(format, &outcome);
        return Ok(ExitCode::SUCCESS);
    }
    let (request, format) = request(cli.command)?;
    let outcome = runner.run(request).await?;
    crate::output::print(format, &outcome);
    Ok(ExitCode::from(u8::try_from(outcome.exit_code).unwrap_or(2)))
}

/// Runs commands on the data directory, or on the auth service.
enum Runner {
    Local(ControlPlane),
    Remote(AdminClient),
}

impl Runner {
    async fn new(target: Target) -> anyhow::Result<Self> {
        Ok(match target {
            Target::Local(data_dir) => Self::Local(open(data_dir).await?),
            Target::Remote { addr, identity } => Self::Remote(Self::remote(&addr, &identity).await?),
        })
    }

    /// The admin API at `addr`, dialled as the admin identity in `identity`.
    async fn remote(addr: &str, identity: &Path) -> anyhow::Result<AdminClient> {
        let identity = oriel_admin::identity::read(identity, SystemTime::now())?;
        AdminClient::connect(addr, &identity).await.map_err(|f| anyhow::anyhow!(f.message))
    }

    async fn run(&mut self, request: proto::Command) -> anyhow::Result<Outcome> {
        match self {
            Self::Local(plane) => operations::run(plane, &Settings::from_env("https://127.0.0.1:3080"), request).await.map_err(|f| anyhow::anyhow!(f.message)),
            Self::Remote(client) => client.run(request).await.map_err(|f| anyhow::anyhow!(f.message)),
        }
    }
}

/// `events ls`: pages of up to 1000 until `limit` events (0: all), as one listing.
async fn list_events(runner: &mut Runner, mut query: proto::ListEvents, limit: usize) -> anyhow::Result<Outcome> {
    const PAGE: usize = 1000;
    let mut all: Option<Outcome> = None;
    let mut listed = 0;
    loop {
        query.limit = if limit == 0 { PAGE } else { (limit - listed).min(PAGE) } as u32;
        let page = runner.run(proto::Command { command: Some(Request::ListEvents(query.clone())) }).await?;
        listed += page.table.as_ref().map_or(0, |t| t.rows.len());
        let next = page.next_page.clone();
        all = Some(match all {
            None => page,
            Some(mut all) => {
                if let (Some(table), Some(more)) = (&mut all.table, page.table) {
                    table.rows.extend(more.rows);
                }
                for (whole, part, separator) in [(&mut all.json, page.json, "\n"), (&mut all.yaml, page.yaml, "---\n")] {
                    if !part.is_empty() {
                        if !whole.is_empty() {
                            whole.push_str(separator);
                        }
                        whole.push_str(&part);
                    }
                }
                all
            }
        });
        if next.is_empty() || (limit != 0 && listed >= limit) {
            break;
        }
        query.page = next;
    }
    let mut outcome = all.unwrap_or_default();
    outcome.next_page.clear();
    Ok(outcome)
}

async fn open(data_dir: Option<PathBuf>) -> anyhow::Result<ControlPlane> {
    let dir = data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir);
    let backend = StorageLocation::recorded(&dir)?.open().await?;
    // Run on the auth host's data directory: the changes are recorded as
    // the doing of the OS user who ran orielctl.
    let who = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
    Ok(ControlPlane::new(Store::new(backend), Arc::new(SystemClock)).acting_as(&format!("{who}@orielctl")))
}

/// The request for a command, and the format to print its listing in.
fn request(command: Command) -> anyhow::Result<(proto::Command, Format)> {
    let mut format = Format::Text;
    let request = match command {
        Command::Users(UsersCommand::Add(args)) => Request::AddUser(user(args)),
        Command::Users(UsersCommand::Update(args)) => Request::UpdateUser(user(args)),
        Command::Users(UsersCommand::Ls { format: f }) => {
            format = f;
            Request::ListUsers(proto::Empty {})
        }
        Command::Users(UsersCommand::Rm { name }) => Request::RemoveUser(proto::Name { name }),
        Command::Users(UsersCommand::Reset { name }) => Request::ResetUser(proto::Name { name }),
        Command::Auth(AuthCommand::Revoke { name, serial, reason }) => {
            Request::Revoke(proto::Revoke { serial: serial.unwrap_or_default(), name: name.unwrap_or_default(), reason })
        }
        Command::Create { file, force } => {
            let (source, text) = read_resources(&file)?;
            Request::Create(proto::CreateResources { source, text, force })
        }
        Command::Get { resource, format: f } => {
            format = f;
            Request::Get(proto::Resource { resource })
        }
        Command::Rm { resource } => Request::Remove(proto::Resource { resource }),
        Command::Desktops(DesktopsCommand::Ls { format: f }) => {
            format = f;
            Request::ListDesktops(proto::ListDesktops { kind: String::new() })
        }
        Command::LinuxDesktops(DesktopsCommand::Ls { format: f }) => {
            format = f;
            Request::ListDesktops(proto::ListDesktops { kind: "linux".into() })
        }
        Command::WindowsDesktops(DesktopsCommand::Ls { format: f }) => {
            format = f;
            Request::ListDesktops(proto::ListDesktops { kind: "windows".into() })
        }
        Command::Lock(args) => Request::Lock(proto::Lock {
            user: args.user,
            role: args.role,
            login: args.login,
            linux_desktop: args.linux_desktop,
            windows_desktop: args.windows_desktop,
            server_id: args.server_id,
            ttl: args.ttl,
            message: args.message,
        }),
        Command::Locks(LocksCommand::Ls { format: f }) => {
            format = f;
            Request::ListLocks(proto::Empty {})
        }
        Command::Unlock { name } => Request::Unlock(proto::Name { name }),
        Command::Events(_) => bail!("events are listed page by page, not in one request"),
        Command::Recordings(RecordingsCommand::Export { .. }) => unreachable!("export runs locally, before any request"),
        Command::Recordings(RecordingsCommand::Ls { since, until, user, desktop, limit, format: f }) => {
            format = f;
            Request::ListRecordings(proto::ListRecordings {
                since: since.unwrap_or_default(),
                until: until.unwrap_or_default(),
                user: user.unwrap_or_default(),
                desktop: desktop.unwrap_or_default(),
                limit,
            })
        }
        Command::Tokens(TokensCommand::Add { kind, ttl, reusable }) => Request::AddToken(proto::AddToken { kind, ttl, reusable }),
        Command::Tokens(TokensCommand::Ls { format: f }) => {
            format = f;
            Request::ListTokens(proto::Empty {})
        }
        Command::Tokens(TokensCommand::Rm { token }) => Request::RemoveToken(proto::Name { name: token }),
        Command::Access(AccessCommand::Check { user, linux_desktop, windows_desktop, login }) => {
            let (desktop_kind, desktop) = match (linux_desktop, windows_desktop) {
                (Some(d), _) => ("linux", d),
                (None, Some(d)) => ("windows", d),
                (None, None) => bail!("name a desktop with --linux-desktop or --windows-desktop"),
            };
            Request::AccessCheck(proto::AccessCheck { user, desktop_kind: desktop_kind.into(), desktop, login })
        }
        Command::Auth(AuthCommand::Sign { .. }) => unreachable!("auth sign runs locally, before any request"),
    };
    Ok((proto::Command { command: Some(request) }, format))
}

fn user(args: UserArgs) -> proto::UserSpec {
    proto::UserSpec { name: args.name, roles: args.roles, linux_logins: args.linux_logins, windows_logins: args.windows_logins }
}

/// The text of a `create -f` file and the name its errors use.
fn read_resources(file: &Path) -> anyhow::Result<(String, String)> {
    if file.as_os_str() == "-" {
        return Ok(("stdin".to_owned(), std::io::read_to_string(std::io::stdin())?));
    }
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
    Ok((name, text))
}

/// `auth sign`: an admin identity from the data directory's host CA.
async fn sign(data_dir: Option<PathBuf>, out: &Path, ttl: &str) -> anyhow::Result<ExitCode> {
    let ttl = operations::duration(ttl).map_err(|f| anyhow::anyhow!(f.message))?;
    let plane = open(data_dir).await?;
    let (text, issued) = oriel_admin::identity::sign(&plane, ttl, SystemTime::now()).await.map_err(|f| anyhow::anyhow!(f.message))?;
    oriel_admin::identity::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    let until = issued.expires.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let serial = oriel_auth::revocation::serial_and_start(&issued.cert_der).map(|(serial, _)| serial).unwrap_or_default();
    println!(
        "Wrote an admin identity to {}, valid for {} (until {}). Keep it secret: it has full control of the cluster.\nUse it with: orielctl --auth-server HOST:3025 --identity {} …\nIts serial number is {serial}: `orielctl auth revoke --serial {serial}` revokes it.",
        out.display(),
        operations::humantime(ttl),
        operations::utc(until),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn commands_become_requests_with_their_format() {
        let cli = Cli::try_parse_from(["orielctl", "get", "role/dev", "--format", "yaml"]).unwrap();
        let (get, format) = request(cli.command).unwrap();
        assert_eq!(format, Format::Yaml);
        assert_eq!(get.command, Some(Request::Get(proto::Resource { resource: "role/dev".into() })));
        let cli = Cli::try_parse_from(["orielctl", "access", "check", "--user", "a", "--windows-desktop", "dc", "--login", "b"]).unwrap();
        let Some(Request::AccessCheck(check)) = request(cli.command).unwrap().0.command else { panic!("an access check") };
        assert_eq!(check.desktop_kind, "windows");
    }
}
