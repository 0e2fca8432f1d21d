//! `oriel start`: everything in one process, on loopback: the control plane
//! (embedded SQLite, or PostgreSQL on this machine), the proxy, and this
//! host's Linux desktop service.

use std::future::Future;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::Store;
use oriel_auth::storage::StorageLocation;
use oriel_backend::SystemClock;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, SessionRequest};
use oriel_proxy::{DesktopDialer, DesktopRequest, DesktopStream, ProxyConfig};

use crate::config::Config;

/// The cluster's name until clusters can be named.
const CLUSTER: &str = "oriel";

/// Options of `oriel start`.
#[derive(clap::Args)]
pub struct StartArgs {
    /// An oriel.yaml (see `oriel configure`). Options given here win over it.
    #[arg(long, env = "ORIEL_CONFIG")]
    config: Option<PathBuf>,
    /// Address of the HTTPS listener (default 127.0.0.1:3080). Loopback only for now.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address of the admin API (gRPC over mutual TLS, for `orielctl
    /// --auth-server`; default 127.0.0.1:3025). Loopback only for now.
    #[arg(long)]
    auth_listen: Option<SocketAddr>,
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
}

/// The file's settings, or the defaults, with the command line's on top.
fn settings(args: &StartArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        None => Config::default(),
        Some(file) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let config = Config::parse(&file.display().to_string(), &text)?;
            if config.services().len() < 3 {
                bail!(
                    "{} enables {}: running services on separate hosts needs joining over the network and the reverse tunnel, \
                     which are not built yet; enable auth_service, proxy_service and linux_desktop_service together for now",
                    file.display(),
                    config.services().join(", ")
                );
            }
            config
        }
    };
    if let Some(listen) = args.listen {
        config.proxy_service.web_listen_addr = listen;
    }
    if let Some(listen) = args.auth_listen {
        config.auth_service.listen_addr = listen;
    }
    if args.data_dir.is_some() {
        config.data_dir.clone_from(&args.data_dir);
    }
    if args.storage.is_some() {
        config.auth_service.storage.clone_from(&args.storage);
    }
    Ok(config)
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(args: StartArgs) -> anyhow::Result<()> {
    let config = settings(&args)?;
    let desktop_config = config.linux_desktop_service;
    let (listen_addr, auth_listen_addr) = (config.proxy_service.web_listen_addr, config.auth_service.listen_addr);
    for addr in [listen_addr, auth_listen_addr] {
        if !addr.ip().is_loopback() {
            bail!("refusing to listen on {addr}: until services talk over mutual TLS, Oriel serves loopback only (use 127.0.0.1)");
        }
    }
    let data_dir = config.data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir);
    let web_dir = args.web_dir.unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/dist")));
    if !web_dir.join("index.html").exists() {
        bail!("the web client is not built in {}: run `npm --prefix web ci && npm --prefix web run build`", web_dir.display());
    }
    let offered = oriel_linux_desktop::xsession::list(&args.xsessions_dirs).iter().filter(|s| desktop_config.xsessions.offers(&s.name)).count();
    if offered == 0 {
        tracing::warn!(dirs = ?args.xsessions_dirs, "no xsessions found (or none the xsessions filter offers): sessions will be refused until a desktop is installed");
    }

    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let storage = StorageLocation::choose(config.auth_service.storage.as_deref(), &data_dir)?;
    let backend = storage.open().await?;
    storage.record(&data_dir)?;
    tracing::info!(%storage, "control plane store open");
    let plane = ControlPlane::new(Store::new(backend), Arc::new(SystemClock));
    let login = std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "root".into());
    let invite = crate::bootstrap::bootstrap(&plane, &login).await.context("creating the default role and user")?;
    let desktop_name = crate::registration::host_uuid(&data_dir)?;

    let identity = oriel_proxy::tls::load_or_create(&data_dir.join("tls"), &["localhost".into(), "127.0.0.1".into(), "::1".into()])
        .context("preparing the TLS certificate")?;
    let tls = oriel_proxy::tls::server_config(identity)?;
    let desktop = LinuxDesktopService::new(DesktopConfig {
        desktop_name: desktop_name.clone(),
        control_plane: plane.clone(),
        xsession_dirs: args.xsessions_dirs,
        xsession_filter: desktop_config.xsessions,
        runtime_dir: data_dir.join("sessions"),
        frames: FrameConfig::default(),
    });
    let listener = TcpListener::bind(listen_addr).with_context(|| format!("cannot listen on {listen_addr}"))?;
    let listen = listener.local_addr()?;
    let labels = crate::labels::Labels::start(desktop_config.labels, desktop_config.commands);
    tokio::spawn(crate::registration::heartbeat(plane.clone(), desktop_name.clone(), "in-process".into(), labels));
    let dialer = InProcess { service: desktop, name: desktop_name };
    let auth_listener = TcpListener::bind(auth_listen_addr).with_context(|| format!("cannot listen on {auth_listen_addr}"))?;
    let auth_listen = auth_listener.local_addr()?;
    auth_listener.set_nonblocking(true)?;
    let admin_tls = oriel_admin::server::tls_config(&plane).await.context("preparing the admin API")?;
    let admin_settings = oriel_admin::operations::Settings::from_env(&format!("https://{listen}"));
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut admin = tokio::spawn(oriel_admin::server::serve(
        tokio::net::TcpListener::from_std(auth_listener)?,
        admin_tls,
        plane.clone(),
        admin_settings,
        async move {
            let _ = admin_stopped.await;
        },
    ));
    let router = oriel_proxy::router(ProxyConfig { web_dir, cluster: CLUSTER.into() }, plane, Arc::new(dialer));

    tracing::info!(%listen, %auth_listen, data_dir = %data_dir.display(), "oriel started");
    // Invite links are secrets: they go to stdout, for the person who
    // started Oriel, never into the log. A closed stdout (a supervisor that
    // does not read it) must not stop a running cluster; until the admin
    // enrolls, every start prints a fresh invite.
    let mut announcement = format!(
        "Admin API at {auth_listen} (mutual TLS; `orielctl auth sign` makes an identity).\n\
         Oriel is ready at https://{listen}/web (the certificate is self-signed).\n"
    );
    if let Some(link) = invite {
        announcement.push_str(&format!(
            "Set up the first user, {:?} (desktop login {login:?}), within an hour:\n  https://{listen}/web/invite/{}\n",
            link.user, link.secret
        ));
    }
    let mut stdout = std::io::stdout();
    if let Err(error) = stdout.write_all(announcement.as_bytes()).and_then(|()| stdout.flush()) {
        tracing::warn!(%error, "cannot write the start-up announcement to stdout; Oriel keeps running");
    }

    // The admin API failing stops Oriel too, rather than leave it half up.
    let served = tokio::select! {
        served = oriel_proxy::serve(listener, tls, router, shutdown_signal()) => served,
        ended = &mut admin => {
            ended.context("the admin API task")??;
            bail!("the admin API stopped");
        }
    };
    let _ = stop_admin.send(());
    served?;
    admin.await.context("the admin API task")??;
    tracing::info!("oriel stopped");
    Ok(())
}

/// Dials the desktop service living in this same process: a pipe whose far
/// end the service serves like any other transport.
struct InProcess {
    service: LinuxDesktopService,
    name: String,
}

impl DesktopDialer for InProcess {
    fn dial(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>> {
        Box::pin(async move {
            if request.kind != "linux" || request.desktop != self.name {
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("no {} desktop {:?} here", request.kind, request.desktop)));
            }
            let (proxy_end, service_end) = tokio::io::duplex(1 << 20);
            let service = self.service.clone();
            let session = SessionRequest { certificate: request.certificate, login: request.login };
            tokio::spawn(async move {
                match service.serve(service_end, session).await {
                    Ok(end) => tracing::info!(?end, "desktop session ended"),
                    Err(error) => tracing::warn!(%error, "desktop session failed"),
                }
            });
            Ok(Box::pin(proxy_end) as DesktopStream)
        })
    }
}


async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
