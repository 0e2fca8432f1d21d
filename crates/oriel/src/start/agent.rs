//! A desktop service alone on its host: it joins the cluster with a token
//! (once; its credentials stay in the data dir and are renewed), asks the
//! auth service for every decision, keeps a reverse tunnel to each proxy,
//! and serves proxies that dial its listen_addr too. `run` is the Linux
//! desktop service; `windows_agent.rs` the Windows one, on the same parts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use oriel_auth::resources::join_token::JoinRole;
use oriel_cluster::HostCredentials;
use oriel_cluster::agent::Agent;
use oriel_cluster::remote_auth::RemoteAuth;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, SessionProgram};
use oriel_recorder::RecordingSpool;
use tokio::sync::watch;

use super::{StartArgs, announce, check_xsessions, shutdown_signal};
use crate::config::Config;

/// A host that has joined: its id, data dir, credentials and connection
/// to the auth service.
pub(super) struct Joined {
    pub name: String,
    pub data_dir: PathBuf,
    pub auth_server: String,
    pub credentials: HostCredentials,
    pub identity: Arc<oriel_cluster::LiveIdentity>,
    pub auth: RemoteAuth,
}

/// Joins the cluster as a `role` service (or finds this host's credentials
/// from an earlier join), and connects to the auth service.
pub(super) async fn join(config: &Config, role: JoinRole) -> anyhow::Result<Joined> {
    let trust = config.ca_trust().map_err(anyhow::Error::msg)?;
    let auth_server = config.auth_server.clone().context("set auth_server to join a cluster")?;
    if trust == oriel_cluster::join::CaTrust::InsecureFirstUse {
        tracing::warn!("insecure_no_ca_pin: this host will trust the CA the auth server shows first when it joins; set ca_pin instead");
    }
    let data_dir = config.data_dir.clone().unwrap_or_else(oriel_auth::data_dir::default_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let name = crate::registration::host_uuid(&data_dir)?;

    let kept = HostCredentials::load(&data_dir).with_context(|| format!("reading this host's credentials in {}", data_dir.display()))?;
    let usable = kept.filter(|c| c.expires().is_some_and(|at| at > SystemTime::now()));
    let credentials = match (usable, &config.join_token) {
        (Some(credentials), _) => credentials,
        (None, None) => bail!(
            "this host has not joined a cluster (or its certificate expired): set join_token to a token from \
             `orielctl tokens add --type={}` on the auth host",
            role.as_str()
        ),
        (None, Some(token)) => {
            let credentials = oriel_cluster::join::join_as(&auth_server, &token.0, &name, role, &trust).await?;
            credentials.save(&data_dir).with_context(|| format!("keeping this host's credentials in {}", data_dir.display()))?;
            tracing::info!(host = %name, auth = %auth_server, role = role.as_str(), "joined the cluster");
            credentials
        }
    };
    let identity = oriel_cluster::LiveIdentity::new(&credentials)?;
    // Audit events wait on disk while the auth service is away, and what a
    // previous run could not send goes first.
    let spool_dir = data_dir.join("audit-spool");
    let spool = oriel_cluster::event_spool::EventSpool::open(&spool_dir).with_context(|| format!("opening the audit spool {}", spool_dir.display()))?;
    let auth = RemoteAuth::new(&auth_server, &credentials, identity.clone())?.with_spool(spool);
    tokio::spawn(oriel_cluster::renewal::keep_renewed(auth.clone(), identity.clone(), credentials.clone(), data_dir.clone()));
    Ok(Joined { name, data_dir, auth_server, credentials, identity, auth })
}

/// Where proxies reach a joined service.
pub(super) struct Reachable {
    /// The address its listener is bound to.
    pub listen: SocketAddr,
    /// The reverse tunnels' count, when it dials proxies.
    pub tunnels: Option<watch::Receiver<usize>>,
}

/// Serves `agent` on `listen_addr` (mutual TLS, proxies only) and over a
/// reverse tunnel to each of the configured proxies.
pub(super) async fn reach(
    joined: &Joined,
    agent: Agent,
    listen_addr: SocketAddr,
    limits: oriel_auth::connections::ConnectionLimits,
    proxies: &[String],
    section: &str,
) -> anyhow::Result<Reachable> {
    let host_ca_pem = joined.credentials.host_ca_pem.clone();
    let listener = tokio::net::TcpListener::bind(listen_addr).await.with_context(|| format!("cannot listen on {listen_addr} ({section}.listen_addr)"))?;
    let listen = listener.local_addr()?;
    let server_tls = oriel_cluster::tls::server_config(&host_ca_pem, joined.identity.clone())?;
    tokio::spawn(oriel_cluster::agent_listener::serve(listener, agent.clone(), server_tls, host_ca_pem.clone(), Arc::new(joined.auth.clone()), limits));
    let tunnels = if proxies.is_empty() {
        tracing::warn!("no proxy_server: proxies must dial this service at its listen_addr");
        None
    } else {
        let client_tls = oriel_cluster::tls::client_config(&host_ca_pem, joined.identity.clone())?;
        Some(oriel_cluster::agent_tunnel::start(agent, proxies.to_vec(), client_tls, host_ca_pem))
    };
    Ok(Reachable { listen, tunnels })
}

/// The proxies, for the announcement.
pub(super) fn proxies_text(proxies: &[String]) -> String {
    if proxies.is_empty() { "no proxy".to_owned() } else { proxies.join(", ") }
}

/// A Linux desktop service alone on its host.
pub async fn run(config: Config, args: StartArgs) -> anyhow::Result<()> {
    check_xsessions(&args.xsessions_dirs, &config.linux_desktop_service.xsessions);
    let joined = join(&config, JoinRole::LinuxDesktop).await?;
    let desktop_config = config.linux_desktop_service;
    let (name, data_dir, auth) = (joined.name.clone(), joined.data_dir.clone(), joined.auth.clone());
    let service = LinuxDesktopService::new(DesktopConfig {
        desktop_name: name.clone(),
        kind: oriel_rbac::DesktopKind::Linux,
        rdp: None,
        authority: Arc::new(auth.clone()),
        xsession_dirs: args.xsessions_dirs,
        xsession_filter: desktop_config.xsessions,
        runtime_dir: oriel_linux_desktop::login::runtime_dir(&data_dir),
        frames: FrameConfig::default(),
        session_program: SessionProgram::this_executable(&["session"])?,
        limits: desktop_config.limits,
        recordings: RecordingSpool::open(&data_dir.join("recording-spool"), Arc::new(auth.clone()))?,
        disconnect_grace: desktop_config.disconnect_grace,
        x_server: desktop_config.x_server,
    });
    let proxies = config.proxy_servers.clone();
    let reachable =
        reach(&joined, Agent::new(service), desktop_config.listen_addr, desktop_config.connection_limits, &proxies, "linux_desktop_service").await?;
    let listen = reachable.listen;
    let addr = desktop_config.public_addr.unwrap_or_else(|| listen.to_string());
    let labels = crate::labels::Labels::start(desktop_config.labels, desktop_config.commands);
    tokio::spawn(crate::registration::heartbeat(Arc::new(auth), crate::registration::Registered::linux(&name, &addr), labels, reachable.tunnels));

    let auth_server = &joined.auth_server;
    tracing::info!(host = %name, %listen, auth = %auth_server, ?proxies, data_dir = %data_dir.display(), "linux desktop service started");
    let shutdown = shutdown_signal();
    announce(&format!(
        "Linux desktop service {name} is ready: auth service {auth_server}, reverse tunnel to {}, listening on {listen}.\n",
        proxies_text(&proxies)
    ));
    shutdown.await;
    tracing::info!("oriel stopped");
    Ok(())
}
