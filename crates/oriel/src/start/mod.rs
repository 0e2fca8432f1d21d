//! `oriel start`: the services a host runs. Without a file, everything in
//! one process (the control plane on embedded SQLite or PostgreSQL on this
//! machine, the proxy, and this host's Linux desktop service). With
//! `--config`, what the file enables: the auth service and the proxy
//! together (with or without a desktop service), or a Linux desktop service
//! alone that joins a cluster and dials its proxies.

mod agent;
mod control;
mod in_process;
mod open_files;
mod windows;
mod windows_agent;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

use crate::config::Config;

/// The cluster's name until clusters can be named.
const CLUSTER: &str = "oriel";

/// Options of `oriel start`.
#[derive(clap::Args)]
pub struct StartArgs {
    /// An oriel.yaml (see `oriel configure`). Options given here win over it.
    #[arg(long, env = "ORIEL_CONFIG")]
    config: Option<PathBuf>,
    /// Address of the HTTPS listener (default 127.0.0.1:3080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address of the auth service's API (gRPC over TLS: the admin API for
    /// `orielctl --auth-server`, and the cluster API; default 127.0.0.1:3025).
    #[arg(long)]
    auth_listen: Option<SocketAddr>,
    /// Address of the reverse tunnel listener desktop services on other
    /// hosts dial (mutual TLS; default 127.0.0.1:3024).
    #[arg(long)]
    tunnel_listen: Option<SocketAddr>,
    /// Where Oriel keeps its state (TLS certificate, session files).
    #[arg(long, env = "ORIEL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The built web client (defaults to web/dist of the source tree).
    #[arg(long, env = "ORIEL_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Directories of xsession .desktop entries, in order of preference.
    #[arg(long = "xsessions-dir", default_value = oriel_linux_desktop::xsession::SYSTEM_XSESSIONS)]
    xsessions_dirs: Vec<PathBuf>,
    /// The control plane's store: `sqlite` (a file in the data dir) or a
    /// postgres:// URL of a server on this machine. Remembered in the data
    /// dir for later starts and for `orielctl`.
    #[arg(long, env = "ORIEL_STORAGE", hide_env_values = true)]
    storage: Option<String>,
    /// On a desktop-only host, join without ca_pin: trust the CA the auth
    /// server shows first (logged as a warning). Prefer ca_pin.
    #[arg(long)]
    insecure_no_ca_pin: bool,
}

/// The file's settings, or the defaults, with the command line's on top.
fn settings(args: &StartArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        None => Config::default(),
        Some(file) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            Config::parse(&file.display().to_string(), &text)?
        }
    };
    if let Some(listen) = args.listen {
        config.proxy_service.web_listen_addr = listen;
    }
    if let Some(listen) = args.auth_listen {
        config.auth_service.listen_addr = listen;
    }
    if let Some(listen) = args.tunnel_listen {
        config.proxy_service.tunnel_listen_addr = listen;
    }
    if args.data_dir.is_some() {
        config.data_dir.clone_from(&args.data_dir);
    }
    if args.storage.is_some() {
        config.auth_service.storage.clone_from(&args.storage);
    }
    config.insecure_no_ca_pin |= args.insecure_no_ca_pin;
    Ok(config)
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(args: StartArgs) -> anyhow::Result<()> {
    let config = settings(&args)?;
    let open_file_limit = open_files::raise_limit();
    let mut max_connections = 0;
    if config.auth_service.enabled {
        max_connections += config.auth_service.connection_limits.total;
    }
    if config.proxy_service.enabled {
        max_connections += config.proxy_service.connection_limits.total + config.proxy_service.tunnel_connection_limits.total;
    }
    // A desktop service listens on its own only on a host of its own; next
    // to the proxy it is reached in process.
    if config.linux_desktop_service.enabled && !config.proxy_service.enabled {
        max_connections += config.linux_desktop_service.connection_limits.total;
    }
    if config.windows_desktop_service.enabled && !config.proxy_service.enabled {
        max_connections += config.windows_desktop_service.connection_limits.total;
    }
    open_files::check_room(open_file_limit, max_connections);
    let (auth, proxy) = (config.auth_service.enabled, config.proxy_service.enabled);
    let (linux, windows) = (config.linux_desktop_service.enabled, config.windows_desktop_service.enabled);
    match (auth, proxy, linux, windows) {
        (true, true, _, _) => control::run(config, args).await,
        (false, false, true, false) => agent::run(config, args).await,
        (false, false, false, true) => windows_agent::run(config).await,
        _ => bail!(
            "this process would run {}: Oriel runs auth_service and proxy_service together (with or without desktop \
             services), or one desktop service (linux_desktop_service or windows_desktop_service) alone on a host that joins them",
            config.services().join(", ")
        ),
    }
}

/// Warns when no xsession is offered: sessions are refused until one is.
fn check_xsessions(dirs: &[PathBuf], filter: &oriel_linux_desktop::xsession::XsessionFilter) {
    let offered = oriel_linux_desktop::xsession::list(dirs).iter().filter(|s| filter.offers(&s.name)).count();
    if offered == 0 {
        tracing::warn!(?dirs, "no xsessions found (or none the xsessions filter offers): sessions will be refused until a desktop is installed");
    }
}

/// Prints `text` for the person who started Oriel. A closed stdout (a
/// supervisor that does not read it) must not stop a running service.
fn announce(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout();
    if let Err(error) = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        tracing::warn!(%error, "cannot write the start-up announcement to stdout; Oriel keeps running");
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is
/// called, not when it is first awaited: call it before saying Oriel is
/// ready, so a supervisor that stops it right away stops it gracefully
/// rather than by the signal's default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
    }
}
