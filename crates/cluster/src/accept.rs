//! Accepting mutual-TLS connections from hosts of one role: the proxy's
//! tunnel listener and a desktop service's own listener work the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oriel_auth::ca::{HostIdentity, HostRole};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// A TLS handshake must finish within this, so a silent client cannot hold
/// a connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until the task is dropped. Each gets
/// its own task: the TLS handshake (the client's certificate must chain to
/// the host CA), then the check that it is a `role` host, then `serve`.
/// Refusals are logged as "refused a `what`: not a `who` of this cluster".
pub async fn accept<F, Fut>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    host_ca_pem: String,
    (role, who): (HostRole, &'static str),
    what: &'static str,
    serve: F,
) where
    F: Fn(TlsStream<TcpStream>, HostIdentity, SocketAddr) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, what, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, host_ca_pem, serve) = (acceptor.clone(), host_ca_pem.clone(), serve.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => return tracing::warn!(%peer, %error, "refused a {what}: TLS"),
                Err(_) => return tracing::warn!(%peer, "refused a {what}: the TLS handshake timed out"),
            };
            match crate::tls::peer_host(tls.get_ref().1.peer_certificates(), &host_ca_pem, role) {
                Ok(host) => serve(tls, host, peer).await,
                Err(error) => tracing::warn!(%peer, %error, "refused a {what}: not a {who} of this cluster"),
            }
        });
    }
}
