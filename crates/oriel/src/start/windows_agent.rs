//! A Windows desktop service alone on its host: it joins with a
//! `windows_desktop` token, serves its static hosts and the hosts LDAP
//! discovery finds (`windows.rs`, deciding and registering through the
//! cluster API), and is reached as a Linux desktop service is: a reverse
//! tunnel to each proxy, or its own listener. Every desktop it registers
//! names this host (`host_id`), which is how the proxy finds the service
//! of a desktop and how `orielctl lock --server-id` reaches its sessions.

use std::sync::Arc;

use oriel_auth::resources::join_token::JoinRole;
use oriel_cluster::agent::Agent;
use oriel_recorder::RecordingSpool;

use super::agent::{join, proxies_text, reach};
use super::{announce, shutdown_signal};
use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let joined = join(&config, JoinRole::WindowsDesktop).await?;
    let service_config = config.windows_desktop_service;
    let (name, data_dir, auth) = (joined.name.clone(), joined.data_dir.clone(), joined.auth.clone());
    let desktops = super::windows::WindowsDesktops::default();
    let proxies = config.proxy_servers.clone();
    let reachable = reach(
        &joined,
        Agent::serving(Arc::new(desktops.clone())),
        service_config.listen_addr,
        service_config.connection_limits,
        &proxies,
        "windows_desktop_service",
    )
    .await?;
    let listen = reachable.listen;
    super::windows::start(
        &service_config,
        super::windows::Serving {
            authority: Arc::new(auth.clone()),
            registrar: Arc::new(auth.clone()),
            recordings: RecordingSpool::open(&data_dir.join("recording-spool"), Arc::new(auth))?,
            data_dir: data_dir.clone(),
            host_id: name.clone(),
            service_addr: service_config.public_addr.clone().unwrap_or_else(|| listen.to_string()),
            tunnels: reachable.tunnels,
        },
        &desktops,
    )?;

    let auth_server = &joined.auth_server;
    tracing::info!(host = %name, %listen, auth = %auth_server, ?proxies, data_dir = %data_dir.display(), "windows desktop service started");
    let shutdown = shutdown_signal();
    announce(&format!(
        "Windows desktop service {name} is ready: auth service {auth_server}, reverse tunnel to {}, listening on {listen}.\n",
        proxies_text(&proxies)
    ));
    shutdown.await;
    tracing::info!("oriel stopped");
    Ok(())
}
