//! Accepting mutual-TLS connections from hosts of one role: the proxy's
//! tunnel listener and a desktop service's own listener work the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use oriel_auth::ca::{HostIdentity, HostRole};
use oriel_auth::connections::{ConnectionLimits, OpenConnections};
use oriel_auth::control_plane::{AccessDenied, ControlPlane};
use oriel_linux_desktop::authority::{AccessChanges, BoxFuture};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;

/// A TLS handshake must finish within this, so a silent client cannot hold
/// a connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a peer's certificate was not accepted by a [`PeerCheck`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerRefusal {
    /// It must be refused: revoked, or not this cluster's.
    #[error("{0}")]
    Refused(String),
    /// It cannot be checked now (the auth service or its storage is
    /// away). A new connection is refused; one already up goes on, since
    /// every session over it is re-authorized on its own.
    #[error("cannot be checked now: {0}")]
    Unavailable(String),
}

/// Whether a peer's certificate, past the handshake and the role check,
/// is still good: not revoked (`orielctl auth revoke`). It is asked when a
/// connection comes, and again whenever [`PeerCheck::changes`] moves (or,
/// while that feed is down, every [`PEER_RECHECK_POLL`]) for as long as the
/// connection lasts: a revocation closes the connections already up.
pub trait PeerCheck: Send + Sync + 'static {
    /// `Err` with the reason if `cert_der` (the certificate of `host`) must
    /// be refused, or cannot be checked now.
    fn check<'a>(&'a self, cert_der: &'a [u8], host: &'a HostIdentity) -> BoxFuture<'a, Result<(), PeerRefusal>>;

    /// Moves at every change that may revoke a certificate (the control
    /// plane's access feed, which watches revocations).
    fn changes(&self) -> watch::Receiver<AccessChanges>;
}

/// The proxy's check, in the auth service's process: the control plane
/// verifies the certificate again, revocations included.
impl PeerCheck for ControlPlane {
    fn check<'a>(&'a self, cert_der: &'a [u8], _host: &'a HostIdentity) -> BoxFuture<'a, Result<(), PeerRefusal>> {
        Box::pin(async move {
            match self.verify_host_cert(cert_der).await {
                Ok(_) => Ok(()),
                Err(AccessDenied::Unavailable(error)) => Err(PeerRefusal::Unavailable(error)),
                Err(denied) => Err(PeerRefusal::Refused(denied.to_string())),
            }
        })
    }

    fn changes(&self) -> watch::Receiver<AccessChanges> {
        self.access_changes()
    }
}

/// How often a connection's peer is checked again while the feed of
/// changes is down.
pub const PEER_RECHECK_POLL: Duration = Duration::from_secs(1);
/// How often it is checked anyway while the feed is up.
const PEER_RECHECK_SAFETY: Duration = Duration::from_secs(30);

/// Returns once `check` refuses `cert_der` (the certificate of `host`), with
/// the reason: asked at every move of `changes`, and by a poll while the
/// feed is down. A check that cannot be made keeps the connection.
async fn refused_later(check: &dyn PeerCheck, mut changes: watch::Receiver<AccessChanges>, cert_der: &[u8], host: &HostIdentity) -> String {
    let mut feed_open = true;
    let mut poll = tokio::time::interval(PEER_RECHECK_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::select! {
            changed = changes.changed(), if feed_open => {
                if changed.is_err() {
                    feed_open = false;
                    continue;
                }
            }
            _ = poll.tick() => {
                let live = feed_open && changes.borrow().live;
                if live && last.elapsed() < PEER_RECHECK_SAFETY {
                    continue;
                }
            }
        }
        last = tokio::time::Instant::now();
        match check.check(cert_der, host).await {
            Ok(()) => {}
            Err(PeerRefusal::Refused(reason)) => return reason,
            Err(PeerRefusal::Unavailable(error)) => tracing::debug!(host = %host.host_id, %error, "cannot check a connected peer again yet"),
        }
    }
}

/// Accepts connections on `listener` until the task is dropped. A
/// connection past `limits` (per client network, in total) is closed before
/// TLS. Each other gets its own task: the TLS handshake (the client's certificate must chain to
/// the host CA), then the check that it is a host of one of `roles` and that `check`
/// accepts it (not revoked), then `serve`, cut short if `check` refuses the
/// peer later. Refusals are logged as "refused a `what`: not a `who` of
/// this cluster" or "refused a `what`: revoked or not checkable", a cut as
/// "closed a `what`: revoked".
pub async fn accept<F, Fut>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    host_ca_pem: String,
    (roles, who, what): (&'static [HostRole], &'static str, &'static str),
    check: Arc<dyn PeerCheck>,
    limits: ConnectionLimits,
    serve: F,
) where
    F: Fn(TlsStream<TcpStream>, HostIdentity, SocketAddr) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let connections = OpenConnections::new(limits);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, what, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let admitted = match connections.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refused) => {
                connections.log_refusal(&refused);
                continue;
            }
        };
        let (acceptor, host_ca_pem, serve, check) = (acceptor.clone(), host_ca_pem.clone(), serve.clone(), check.clone());
        tokio::spawn(async move {
            let _admitted = admitted;
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => return tracing::warn!(%peer, %error, "refused a {what}: TLS"),
                Err(_) => return tracing::warn!(%peer, "refused a {what}: the TLS handshake timed out"),
            };
            let host = match crate::tls::peer_host(tls.get_ref().1.peer_certificates(), &host_ca_pem, roles) {
                Ok(host) => host,
                Err(error) => return tracing::warn!(%peer, %error, "refused a {what}: not a {who} of this cluster"),
            };
            let cert = tls.get_ref().1.peer_certificates().and_then(<[_]>::first).map(|c| c.as_ref().to_vec()).unwrap_or_default();
            // Subscribed before the first check, so a revocation between the
            // two is not missed.
            let mut changes = check.changes();
            changes.borrow_and_update();
            if let Err(error) = check.check(&cert, &host).await {
                return tracing::warn!(%peer, host = %host.host_id, %error, "refused a {what}: revoked or not checkable");
            }
            // A second handle on the socket, to cut the connection however
            // `serve` holds it once the peer is revoked.
            let cut = match tls.get_ref().0.as_fd().try_clone_to_owned() {
                Ok(fd) => std::net::TcpStream::from(fd),
                Err(error) => return tracing::warn!(%peer, %error, "refused a {what}: cannot watch it for revocation"),
            };
            let serving = serve(tls, host.clone(), peer);
            tokio::pin!(serving);
            tokio::select! {
                () = &mut serving => return,
                reason = refused_later(&*check, changes, &cert, &host) => {
                    tracing::warn!(%peer, host = %host.host_id, %reason, "closed a {what}: revoked");
                    let _ = cut.shutdown(std::net::Shutdown::Both);
                }
            }
            // `serve` sees the connection end and cleans up.
            serving.await
        });
    }
}
