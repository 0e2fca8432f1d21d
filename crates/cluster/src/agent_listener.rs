//! A desktop service's own listener (`listen_addr`), for a proxy that
//! dials it directly. Mutual TLS: the service shows its host certificate
//! and accepts only proxies of its cluster.

use std::sync::Arc;
use std::time::Duration;

use oriel_auth::ca::HostRole;
use rustls::ServerConfig;

use crate::agent::Agent;

/// A TLS handshake must finish within this, so a silent client cannot hold
/// a connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `agent` to proxies that dial `listener`, until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, agent: Agent, config: Arc<ServerConfig>, host_ca_pem: String) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, agent, host_ca_pem) = (acceptor.clone(), agent.clone(), host_ca_pem.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => return tracing::warn!(%peer, %error, "refused a connection: TLS"),
                Err(_) => return tracing::warn!(%peer, "refused a connection: the TLS handshake timed out"),
            };
            if let Err(error) = crate::tls::peer_host(tls.get_ref().1.peer_certificates(), &host_ca_pem, HostRole::Proxy) {
                return tracing::warn!(%peer, %error, "refused a connection: not a proxy of this cluster");
            }
            if let Err(error) = agent.serve_connection(tls).await {
                tracing::debug!(%peer, %error, "proxy connection ended");
            }
        });
    }
}
