//! `oriel start`: everything in one process, on loopback, behind a token.

use std::future::Future;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService};
use oriel_proxy::{AccessToken, DesktopDialer, DesktopStream, ProxyConfig};

/// Options of `oriel start`.
#[derive(clap::Args)]
pub struct StartArgs {
    /// Address of the HTTPS listener. Loopback only until logins exist.
    #[arg(long, default_value = "127.0.0.1:3080")]
    listen: SocketAddr,
    /// Where Oriel keeps its state (TLS certificate, session files).
    #[arg(long, env = "ORIEL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The built web client (defaults to web/dist of the source tree).
    #[arg(long, env = "ORIEL_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Directories of xsession .desktop entries, in order of preference.
    #[arg(long = "xsessions-dir", default_value = oriel_linux_desktop::xsession::SYSTEM_XSESSIONS)]
    xsessions_dirs: Vec<PathBuf>,
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(args: StartArgs) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "refusing to listen on {}: until users and logins exist, Oriel serves loopback only (use 127.0.0.1)",
            args.listen
        );
    }
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    let web_dir = args.web_dir.unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/dist")));
    if !web_dir.join("index.html").exists() {
        bail!("the web client is not built in {}: run `npm --prefix web ci && npm --prefix web run build`", web_dir.display());
    }
    let sessions = oriel_linux_desktop::xsession::list(&args.xsessions_dirs);
    if sessions.is_empty() {
        tracing::warn!(dirs = ?args.xsessions_dirs, "no xsessions found: sessions will be refused until a desktop is installed");
    }

    let identity = oriel_proxy::tls::load_or_create(&data_dir.join("tls"), &["localhost".into(), "127.0.0.1".into(), "::1".into()])
        .context("preparing the TLS certificate")?;
    let tls = oriel_proxy::tls::server_config(identity)?;
    let desktop = LinuxDesktopService::new(DesktopConfig {
        xsession_dirs: args.xsessions_dirs,
        runtime_dir: data_dir.join("sessions"),
        frames: FrameConfig::default(),
    });
    let token = AccessToken::random()?;
    let listener = TcpListener::bind(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    // With port 0 the system picks one; print the real address.
    let listen = listener.local_addr()?;
    let url = format!("https://{listen}/#token={}", token.expose());
    let router = oriel_proxy::router(ProxyConfig { web_dir, token }, Arc::new(InProcess(desktop)));

    tracing::info!(%listen, data_dir = %data_dir.display(), "oriel started");
    // The URL carries the token: it goes to stdout for the person who
    // started Oriel, never into the log.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "Oriel is ready. Open this URL in Chromium (the certificate is self-signed):\n  {url}")?;
    stdout.flush()?;

    oriel_proxy::serve(listener, tls, router, shutdown_signal()).await?;
    tracing::info!("oriel stopped");
    Ok(())
}

/// Dials the desktop service living in this same process: a pipe whose far
/// end the service serves like any other transport.
struct InProcess(LinuxDesktopService);

impl DesktopDialer for InProcess {
    fn dial(&self) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>> {
        Box::pin(async move {
            let (proxy_end, service_end) = tokio::io::duplex(1 << 20);
            let service = self.0.clone();
            tokio::spawn(async move {
                match service.serve(service_end).await {
                    Ok(end) => tracing::info!(?end, "desktop session ended"),
                    Err(error) => tracing::warn!(%error, "desktop session failed"),
                }
            });
            Ok(Box::pin(proxy_end) as DesktopStream)
        })
    }
}

fn default_data_dir() -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME").or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share").into())) {
        Some(base) => PathBuf::from(base).join("oriel"),
        None => PathBuf::from("/var/lib/oriel"),
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
