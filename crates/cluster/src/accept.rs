//! Accepting mutual-TLS connections from hosts of one role: the proxy's
//! tunnel listener and a desktop service's own listener work the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oriel_auth::ca::{HostIdentity, HostRole};
use oriel_auth::control_plane::ControlPlane;
use oriel_linux_desktop::authority::BoxFuture;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// A TLS handshake must finish within this, so a silent client cannot hold
/// a connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a peer's certificate, past the handshake and the role check,
/// is still good: not revoked (`orielctl auth revoke`).
pub trait PeerCheck: Send + Sync + 'static {
    /// `Err` with the reason if `cert_der` (the certificate of `host`) must
    /// be refused, or cannot be checked now.
    fn check<'a>(&'a self, cert_der: &'a [u8], host: &'a HostIdentity) -> BoxFuture<'a, Result<(), String>>;
}

/// The proxy's check, in the auth service's process: the control plane
/// verifies the certificate again, revocations included.
impl PeerCheck for ControlPlane {
    fn check<'a>(&'a self, cert_der: &'a [u8], _host: &'a HostIdentity) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.verify_host_cert(cert_der).await.map(drop).map_err(|e| e.to_string()) })
    }
}

/// Accepts connections on `listener` until the task is dropped. Each gets
/// its own task: the TLS handshake (the client's certificate must chain to
/// the host CA), then the check that it is a `role` host and that `check`
/// accepts it (not revoked), then `serve`. Refusals are logged as "refused
/// a `what`: not a `who` of this cluster" or "refused a `what`: revoked".
pub async fn accept<F, Fut>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    host_ca_pem: String,
    (role, who): (HostRole, &'static str),
    what: &'static str,
    check: Arc<dyn PeerCheck>,
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
        let (acceptor, host_ca_pem, serve, check) = (acceptor.clone(), host_ca_pem.clone(), serve.clone(), check.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => return tracing::warn!(%peer, %error, "refused a {what}: TLS"),
                Err(_) => return tracing::warn!(%peer, "refused a {what}: the TLS handshake timed out"),
            };
            let host = match crate::tls::peer_host(tls.get_ref().1.peer_certificates(), &host_ca_pem, role) {
                Ok(host) => host,
                Err(error) => return tracing::warn!(%peer, %error, "refused a {what}: not a {who} of this cluster"),
            };
            let cert = tls.get_ref().1.peer_certificates().and_then(<[_]>::first).map(|c| c.as_ref().to_vec()).unwrap_or_default();
            if let Err(error) = check.check(&cert, &host).await {
                return tracing::warn!(%peer, host = %host.host_id, %error, "refused a {what}: revoked or not checkable");
            }
            serve(tls, host, peer).await
        });
    }
}
