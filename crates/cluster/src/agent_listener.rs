//! A desktop service's own listener (`listen_addr`), for a proxy that
//! dials it directly. Mutual TLS: the service shows its host certificate
//! and accepts only proxies of its cluster.

use std::sync::Arc;

use oriel_auth::ca::HostRole;
use rustls::ServerConfig;

use crate::agent::Agent;

/// Serves `agent` to proxies that dial `listener`, until the task is
/// dropped. Each proxy's certificate is checked with `revocations` (the
/// auth service, through `RemoteAuth`) before anything is served, and
/// connections past `limits` are closed before TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    agent: Agent,
    config: Arc<ServerConfig>,
    host_ca_pem: String,
    revocations: Arc<dyn crate::accept::PeerCheck>,
    limits: oriel_auth::connections::ConnectionLimits,
) {
    crate::accept::accept(listener, config, host_ca_pem, (&[HostRole::Proxy], "proxy", "connection"), revocations, limits, move |tls, _proxy, peer| {
        let agent = agent.clone();
        async move {
            if let Err(error) = agent.serve_connection(tls).await {
                tracing::debug!(%peer, %error, "proxy connection ended");
            }
        }
    })
    .await;
}
