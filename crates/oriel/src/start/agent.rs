//! A Linux desktop service alone on its host: it joins the cluster with a
//! token (once; its credentials stay in the data dir and are renewed),
//! asks the auth service for every decision, keeps a reverse tunnel to each
//! proxy, and serves proxies that dial its listen_addr too.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use oriel_cluster::HostCredentials;
use oriel_cluster::agent::Agent;
use oriel_cluster::remote_auth::RemoteAuth;
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, SessionProgram};
use oriel_recorder::RecordingSpool;

use super::{StartArgs, announce, check_xsessions, shutdown_signal};
use crate::config::Config;

pub async fn run(config: Config, args: StartArgs) -> anyhow::Result<()> {
    let trust = config.ca_trust().map_err(anyhow::Error::msg)?;
    let desktop_config = config.linux_desktop_service;
    let auth_server = config.auth_server.context("set auth_server to join a cluster")?;
    if trust == oriel_cluster::join::CaTrust::InsecureFirstUse {
        tracing::warn!("insecure_no_ca_pin: this host will trust the CA the auth server shows first when it joins; set ca_pin instead");
    }
    let data_dir = config.data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir);
    check_xsessions(&args.xsessions_dirs, &desktop_config.xsessions);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let name = crate::registration::host_uuid(&data_dir)?;

    let kept = HostCredentials::load(&data_dir).with_context(|| format!("reading this host's credentials in {}", data_dir.display()))?;
    let usable = kept.filter(|c| c.expires().is_some_and(|at| at > SystemTime::now()));
    let credentials = match (usable, &config.join_token) {
        (Some(credentials), _) => credentials,
        (None, None) => bail!(
            "this host has not joined a cluster (or its certificate expired): set join_token to a token from \
             `orielctl tokens add --type=linux_desktop` on the auth host"
        ),
        (None, Some(token)) => {
            let credentials = oriel_cluster::join::join(&auth_server, &token.0, &name, &trust).await?;
            credentials.save(&data_dir).with_context(|| format!("keeping this host's credentials in {}", data_dir.display()))?;
            tracing::info!(host = %name, auth = %auth_server, "joined the cluster");
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
    let agent = Agent::new(service);
    let host_ca_pem = credentials.host_ca_pem.clone();

    let listener = tokio::net::TcpListener::bind(desktop_config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {} (linux_desktop_service.listen_addr)", desktop_config.listen_addr))?;
    let listen = listener.local_addr()?;
    let server_tls = oriel_cluster::tls::server_config(&host_ca_pem, identity.clone())?;
    tokio::spawn(oriel_cluster::agent_listener::serve(
        listener,
        agent.clone(),
        server_tls,
        host_ca_pem.clone(),
        Arc::new(auth.clone()),
        desktop_config.connection_limits,
    ));

    let proxies = config.proxy_servers.clone();
    let tunnels = if proxies.is_empty() {
        tracing::warn!("no proxy_server: proxies must dial this service at its listen_addr");
        None
    } else {
        let client_tls = oriel_cluster::tls::client_config(&host_ca_pem, identity)?;
        Some(oriel_cluster::agent_tunnel::start(agent, proxies.clone(), client_tls, host_ca_pem))
    };
    let addr = desktop_config.public_addr.unwrap_or_else(|| listen.to_string());
    let labels = crate::labels::Labels::start(desktop_config.labels, desktop_config.commands);
    tokio::spawn(crate::registration::heartbeat(Arc::new(auth), crate::registration::Registered::linux(&name, &addr), labels, tunnels));

    tracing::info!(host = %name, %listen, auth = %auth_server, ?proxies, data_dir = %data_dir.display(), "linux desktop service started");
    let shutdown = shutdown_signal();
    announce(&format!(
        "Linux desktop service {name} is ready: auth service {auth_server}, reverse tunnel to {}, listening on {listen}.\n",
        if proxies.is_empty() { "no proxy".to_owned() } else { proxies.join(", ") }
    ));
    shutdown.await;
    tracing::info!("oriel stopped");
    Ok(())
}
