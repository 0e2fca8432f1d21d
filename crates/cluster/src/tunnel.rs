//! The proxy's end of the reverse tunnels: it accepts desktop services'
//! connections on `tunnel_listen_addr` (mutual TLS; Linux and Windows
//! desktop host certificates of this cluster only), and keeps, per host, a
//! gRPC channel over the newest one for opening sessions. A tunnel leaves
//! the registry when its connection closes.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use oriel_auth::ca::HostRole;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// Each host's tunnels, oldest first, with the id each was registered
/// under and the role its certificate names.
type Tunnels = HashMap<String, Vec<(u64, HostRole, Channel)>>;

/// The tunnels up now, by host id.
#[derive(Debug, Clone, Default)]
pub struct TunnelRegistry {
    tunnels: Arc<Mutex<Tunnels>>,
    next: Arc<AtomicU64>,
}

impl TunnelRegistry {
    /// A channel over the newest tunnel from `host_id`, a `role` host, if
    /// one is up.
    pub fn channel(&self, host_id: &str, role: HostRole) -> Option<Channel> {
        let tunnels = self.lock();
        tunnels.get(host_id)?.iter().rev().find(|(_, of, _)| *of == role).map(|(_, _, channel)| channel.clone())
    }

    /// The hosts with a tunnel up.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.lock().keys().cloned().collect();
        hosts.sort();
        hosts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tunnels> {
        self.tunnels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(&self, host_id: &str, role: HostRole, channel: Channel) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(host_id.to_owned()).or_default().push((id, role, channel));
        id
    }

    fn remove(&self, host_id: &str, id: u64) {
        let mut tunnels = self.lock();
        if let Some(list) = tunnels.get_mut(host_id) {
            list.retain(|(other, _, _)| *other != id);
            if list.is_empty() {
                tunnels.remove(host_id);
            }
        }
    }
}

/// Accepts tunnels on `listener` into `registry` until the task is dropped;
/// a revoked host's certificate is refused (`revocations`, the control
/// plane in the auth service's process), and connections past `limits`
/// are closed before TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: TunnelRegistry,
    config: Arc<ServerConfig>,
    host_ca_pem: String,
    revocations: Arc<dyn crate::accept::PeerCheck>,
    limits: oriel_auth::connections::ConnectionLimits,
) {
    let desktop_services: (&'static [HostRole], _, _) = (&[HostRole::LinuxDesktop, HostRole::WindowsDesktop], "desktop service", "reverse tunnel");
    crate::accept::accept(listener, config, host_ca_pem, desktop_services, revocations, limits, move |tls, host, peer| {
        let registry = registry.clone();
        async move {
            let (closed_tx, closed) = oneshot::channel();
            let channel = match crate::connect::channel_over(Watched { inner: tls, _closed: closed_tx }).await {
                Ok(channel) => channel,
                Err(error) => return tracing::warn!(%peer, host = %host.host_id, %error, "reverse tunnel failed to start"),
            };
            let id = registry.insert(&host.host_id, host.role, channel);
            tracing::info!(%peer, host = %host.host_id, "reverse tunnel up");
            let _ = closed.await;
            registry.remove(&host.host_id, id);
            tracing::info!(%peer, host = %host.host_id, "reverse tunnel closed");
        }
    })
    .await;
}

/// A connection that tells, by dropping `_closed`, when the HTTP/2 client
/// over it lets go of it: the tunnel is gone.
struct Watched<S> {
    inner: S,
    _closed: oneshot::Sender<()>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
