//! gRPC channels over connections made here: a TLS dial that checks the
//! peer's host role, or one connection that already exists (a reverse
//! tunnel the proxy accepted).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use oriel_auth::ca::HostRole;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::tls::TlsError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a TCP connect and TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings find a dead peer (a host that vanished without closing)
/// within about interval + timeout.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// See [`KEEPALIVE_INTERVAL`].
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 flow-control windows large enough for full-screen frames (a
/// keyframe can be a few MiB), so a session is not throttled to the
/// default 64 KiB per round trip.
pub const STREAM_WINDOW: u32 = 2 << 20;
/// See [`STREAM_WINDOW`].
pub const CONNECTION_WINDOW: u32 = 8 << 20;

fn endpoint(authority: &str) -> Result<Endpoint, TlsError> {
    let uri: Uri = format!("http://{authority}").parse().map_err(|e| TlsError::Config(format!("invalid address {authority:?}: {e}")))?;
    Ok(Endpoint::from(uri)
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW))
}

/// Dials `addr` over TLS with `config`, checks the certificate is for
/// `server_name` (rustls) and of a `role` host of the CA `host_ca_pem`.
pub async fn dial_tls(
    addr: &str,
    config: Arc<ClientConfig>,
    server_name: &str,
    host_ca_pem: &str,
    role: HostRole,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, BoxError> {
    let name = ServerName::try_from(server_name.to_owned())?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        tokio_rustls::TlsConnector::from(config).connect(name, tcp).await
    };
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connect).await.map_err(|_| format!("connecting to {addr} timed out"))??;
    crate::tls::peer_host(tls.get_ref().1.peer_certificates(), host_ca_pem, &[role])?;
    Ok(tls)
}

/// A channel to `addr` that dials again whenever it needs a connection, so
/// calls work again by themselves once a restarted peer is back.
pub fn tls_channel(addr: String, config: Arc<ClientConfig>, server_name: String, host_ca_pem: String, role: HostRole) -> Result<Channel, TlsError> {
    let connector = tower::service_fn(move |_: Uri| {
        let (addr, config, server_name, host_ca_pem) = (addr.clone(), config.clone(), server_name.clone(), host_ca_pem.clone());
        async move { dial_tls(&addr, config, &server_name, &host_ca_pem, role).await.map(TokioIo::new) }
    });
    Ok(endpoint("oriel.cluster.local")?.connect_with_connector_lazy(connector))
}

/// A channel over one connection that already exists. When it closes the
/// channel fails its calls; it never dials.
pub async fn channel_over<S>(io: S) -> Result<Channel, BoxError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let slot = Arc::new(Mutex::new(Some(io)));
    let connector = tower::service_fn(move |_: Uri| {
        let io = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        async move { io.map(TokioIo::new).ok_or_else(|| BoxError::from("the tunnel closed")) }
    });
    Ok(endpoint("tunnel.oriel.cluster.local")?.connect_with_connector(connector).await?)
}
