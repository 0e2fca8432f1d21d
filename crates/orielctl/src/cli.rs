//! The command tree, in the shape of Teleport's `tctl`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Oriel's admin tool.
#[derive(Debug, Parser)]
#[command(name = "orielctl", version, about = "Administer an Oriel cluster: users, roles, desktops, locks, tokens")]
pub struct Cli {
    /// The auth service's data directory (when run on the auth host).
    #[arg(long, global = true, env = "ORIEL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The auth service's admin API, HOST:PORT (e.g. 127.0.0.1:3025): work
    /// through it instead of a data directory. Needs --identity.
    #[arg(long, global = true, env = "ORIEL_AUTH_SERVER")]
    pub auth_server: Option<String>,
    /// An admin identity file from `orielctl auth sign`, for --auth-server.
    #[arg(long, global = true, env = "ORIEL_IDENTITY")]
    pub identity: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats of listing commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Text,
    /// JSON, one document.
    Json,
    /// YAML, documents separated by `---`.
    Yaml,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Create resources from a YAML file: roles, users, locks, tokens,
    /// desktops, OIDC connectors and cluster settings, documents separated
    /// by `---`. Every document is checked before anything is written.
    Create {
        /// The file (`-` for standard input).
        #[arg(short, long)]
        file: PathBuf,
        /// Overwrite resources that already exist (cluster settings are
        /// always replaced).
        #[arg(long)]
        force: bool,
    },
    /// Show resources: `get roles`, `get role/NAME`, `get linux_desktop/UUID`,
    /// `get desktop_services`, `get oidc`, `get session_recording_config`.
    /// With `--format yaml` the output loads again with `create -f` (an
    /// OIDC connector once its client secret replaces the placeholder).
    Get {
        /// KIND or KIND/NAME.
        resource: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove a resource: `rm role/NAME`, `rm linux_desktop/UUID`; `rm
    /// cluster_networking_config` resets a cluster setting to its defaults.
    Rm {
        /// KIND/NAME, or KIND for a cluster setting.
        resource: String,
    },
    /// Linux and Windows desktops together.
    #[command(subcommand)]
    Desktops(DesktopsCommand),
    /// Linux desktops.
    #[command(name = "linux_desktops", subcommand)]
    LinuxDesktops(DesktopsCommand),
    /// Windows desktops.
    #[command(name = "windows_desktops", subcommand)]
    WindowsDesktops(DesktopsCommand),
    /// Lock a user, role, login, desktop or desktop service out.
    Lock(LockArgs),
    /// Manage locks.
    #[command(subcommand)]
    Locks(LocksCommand),
    /// Remove a lock by name.
    Unlock {
        /// The lock's name.
        name: String,
    },
    /// Manage join tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Explain an access decision.
    #[command(subcommand)]
    Access(AccessCommand),
    /// Admin identities for working off the auth host.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// The audit log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Session recordings.
    #[command(subcommand)]
    Recordings(RecordingsCommand),
}

/// `orielctl recordings …`
#[derive(Debug, Subcommand)]
pub enum RecordingsCommand {
    /// List session recordings, newest first.
    Ls {
        /// Started from this time: RFC 3339 or a duration back from now (24h).
        #[arg(long)]
        since: Option<String>,
        /// Started before this time, in the same forms.
        #[arg(long)]
        until: Option<String>,
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
        /// Only this desktop's sessions.
        #[arg(long)]
        desktop: Option<String>,
        /// At most this many (up to 500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Export a recording to a video (with Debian's ffmpeg): FILE.mp4
    /// (H.264) or FILE.webm (VP9). The recording comes from wherever the
    /// auth service keeps it (its data directory or S3 bucket; through the
    /// admin API with --auth-server), or from a file downloaded from the
    /// web UI (--from).
    Export {
        /// The recording's id (its session's), as `recordings ls` lists it.
        #[arg(required_unless_present = "from")]
        id: Option<String>,
        /// A recording file (.orec) to export instead.
        #[arg(long, conflicts_with = "id")]
        from: Option<std::path::PathBuf>,
        /// The video to write: .mp4 or .webm.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Frames a second (1 to 60).
        #[arg(long, default_value_t = 30)]
        fps: u32,
    },
}

/// `orielctl events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List audit events, newest first: `--format json` prints one event a
    /// line (JSON lines, for a SIEM).
    Ls {
        /// From this time: RFC 3339 (2026-12-06T10:00:00Z) or a duration back from now (24h).
        #[arg(long)]
        since: Option<String>,
        /// Before this time, in the same forms.
        #[arg(long)]
        until: Option<String>,
        /// Only these event types (user.login, linux.desktop.session.start, …); repeat or separate with commas.
        #[arg(long = "type")]
        types: Vec<String>,
        /// Only this user's events.
        #[arg(long)]
        user: Option<String>,
        /// Only this desktop session's events.
        #[arg(long)]
        session: Option<String>,
        /// At most this many events (0: all).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Oldest first.
        #[arg(long)]
        oldest_first: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `orielctl auth …`
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign an admin identity with the cluster's host CA (on the auth host,
    /// from its data directory) and write it to a file readable only by you:
    /// the certificate, its private key and the host CA certificate.
    Sign {
        /// Where to write the identity.
        #[arg(long)]
        out: PathBuf,
        /// How long it is valid (e.g. 12h, 30m; at most 720h).
        #[arg(long, default_value = "12h")]
        ttl: String,
    },
    /// Revoke a host certificate or admin identity: the admin API, the
    /// cluster API and the proxies' and desktop services' listeners refuse
    /// it from their next call or connection.
    Revoke {
        /// Every certificate of this host id or admin identity name
        /// (`admin@HOST`, as `auth sign` prints it) issued until now.
        #[arg(required_unless_present = "serial", conflicts_with = "serial")]
        name: Option<String>,
        /// One certificate, by its serial number in hex (as `auth sign`
        /// prints it, or `openssl x509 -serial`).
        #[arg(long)]
        serial: Option<String>,
        /// Why, shown to whoever is refused.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `orielctl users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user and print a one-time invite link.
    Add(UserArgs),
    /// Change a user's roles or logins.
    Update(UserArgs),
    /// List users.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove a user: every web session, invite and certificate of theirs
    /// stops working, and their desktop sessions end.
    Rm {
        /// The user's name.
        name: String,
    },
    /// Reset a user's password and second factor: every session of theirs
    /// ends, and a new invite link sets new ones.
    Reset {
        /// The user's name.
        name: String,
    },
}

/// A user's roles and login traits.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// The user's name.
    pub name: String,
    /// Roles, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Linux logins (the `linux_logins` trait), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub linux_logins: Vec<String>,
    /// Windows logins (the `windows_logins` trait), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub windows_logins: Vec<String>,
}

/// `orielctl desktops ls`
#[derive(Debug, Subcommand)]
pub enum DesktopsCommand {
    /// List desktops.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `orielctl lock …`: at least one target.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(true)
    .args(["user", "role", "login", "linux_desktop", "windows_desktop", "server_id"])))]
pub struct LockArgs {
    /// An Oriel user.
    #[arg(long)]
    pub user: Option<String>,
    /// Everyone with this role.
    #[arg(long)]
    pub role: Option<String>,
    /// A desktop login.
    #[arg(long)]
    pub login: Option<String>,
    /// A Linux desktop, by name.
    #[arg(long)]
    pub linux_desktop: Option<String>,
    /// A Windows desktop, by name.
    #[arg(long)]
    pub windows_desktop: Option<String>,
    /// A desktop service, by host id.
    #[arg(long)]
    pub server_id: Option<String>,
    /// How long the lock lasts (e.g. 30m, 2h); forever if absent.
    #[arg(long)]
    pub ttl: Option<String>,
    /// Shown to the people it disconnects.
    #[arg(long)]
    pub message: Option<String>,
}

/// `orielctl locks ls`
#[derive(Debug, Subcommand)]
pub enum LocksCommand {
    /// List locks in force.
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `orielctl tokens …`
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a join token and print it once.
    Add {
        /// What the token lets a process join as.
        #[arg(long = "type", value_parser = ["linux_desktop", "windows_desktop", "proxy"])]
        kind: String,
        /// How long it is valid (default 30m).
        #[arg(long, default_value = "30m")]
        ttl: String,
        /// Allow more than one use.
        #[arg(long)]
        reusable: bool,
    },
    /// List tokens (by hash; secrets are never stored).
    Ls {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove a token.
    Rm {
        /// The token, or its hash as `tokens ls` shows it.
        token: String,
    },
}

/// `orielctl access …`
#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Would USER be allowed LOGIN on a desktop? Exit 0 if allowed, 1 if denied.
    Check {
        /// The user.
        #[arg(long)]
        user: String,
        /// A Linux desktop, by name.
        #[arg(long, conflicts_with = "windows_desktop", required_unless_present = "windows_desktop")]
        linux_desktop: Option<String>,
        /// A Windows desktop, by name.
        #[arg(long)]
        windows_desktop: Option<String>,
        /// The desktop login.
        #[arg(long)]
        login: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn tctl_shaped_invocations_parse() {
        let parse = |args: &[&str]| Cli::try_parse_from(std::iter::once("orielctl").chain(args.iter().copied()));
        assert!(parse(&["users", "add", "alice", "--roles=access,editor", "--linux-logins=alice,root"]).is_ok());
        assert!(parse(&["get", "role/access", "--format", "yaml"]).is_ok());
        assert!(parse(&["linux_desktops", "ls"]).is_ok());
        assert!(parse(&["lock", "--user", "alice", "--ttl", "1h", "--message", "incident"]).is_ok());
        assert!(parse(&["tokens", "add", "--type=linux_desktop", "--ttl=1h"]).is_ok());
        assert!(parse(&["access", "check", "--user", "alice", "--linux-desktop", "d1", "--login", "bob"]).is_ok());
        let no_target = parse(&["lock"]).unwrap_err().to_string();
        assert!(no_target.contains("required"), "{no_target}");
        assert!(parse(&["tokens", "add", "--type=node"]).is_err());
        assert!(parse(&["auth", "sign", "--out", "admin.pem", "--ttl", "1h"]).is_ok());
        assert!(parse(&["--auth-server", "127.0.0.1:3025", "--identity", "admin.pem", "users", "ls"]).is_ok());
    }
}
