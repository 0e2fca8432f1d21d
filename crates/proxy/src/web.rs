//! Routes: the web client's files, and the websocket that carries a desktop session.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument as _;

use crate::access::AccessToken;
use crate::relay;

/// A byte stream to a desktop service carrying TDPB.
pub type DesktopStream = Pin<Box<dyn DuplexStream>>;

/// Anything readable and writable that may move between threads.
pub trait DuplexStream: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> DuplexStream for T {}

/// Opens desktop sessions: in-process, or over the network.
pub trait DesktopDialer: Send + Sync + 'static {
    /// A new stream to a desktop service, for one session.
    fn dial(&self) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>>;
}

/// Settings of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The built web client (`web/dist`).
    pub web_dir: PathBuf,
    /// The token every websocket must present.
    pub token: AccessToken,
}

#[derive(Clone)]
struct AppState {
    config: Arc<ProxyConfig>,
    dialer: Arc<dyn DesktopDialer>,
    next_session: Arc<AtomicU64>,
}

/// Largest websocket message accepted: above the TDPB limit, so that a
/// too-long frame is refused with a TDPB alert rather than a bare close.
const MAX_WS_MESSAGE: usize = 2 * oriel_tdpb::Limits::FROM_CLIENT.max_frame_len;

/// The proxy's routes.
pub fn router(config: ProxyConfig, dialer: Arc<dyn DesktopDialer>) -> Router {
    let index = config.web_dir.join("index.html");
    // Unknown paths (SPA routes like /web/cluster/...) get the client's index.
    let files = ServeDir::new(&config.web_dir).fallback(ServeFile::new(index));
    let state = AppState { config: Arc::new(config), dialer, next_session: Arc::new(AtomicU64::new(1)) };
    Router::new()
        .route("/api/desktop/ws", get(desktop_socket))
        .fallback_service(files)
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
}

#[derive(serde::Deserialize)]
struct SocketQuery {
    token: Option<String>,
}

async fn desktop_socket(State(state): State<AppState>, Query(query): Query<SocketQuery>, upgrade: WebSocketUpgrade) -> Response {
    if !query.token.is_some_and(|t| state.config.token.matches(&t)) {
        tracing::warn!("websocket refused: missing or wrong token");
        return (StatusCode::UNAUTHORIZED, "a valid token is required\n").into_response();
    }
    let session = state.next_session.fetch_add(1, Ordering::Relaxed);
    upgrade
        .max_message_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| {
            async move {
                match state.dialer.dial().await {
                    Ok(desktop) => relay::relay(socket, desktop).await,
                    Err(error) => {
                        tracing::error!(%error, "cannot reach the desktop service");
                        relay::refuse(socket, &format!("the desktop service is unreachable: {error}")).await;
                    }
                }
            }
            .instrument(tracing::info_span!("session", id = session))
        })
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then
/// lets open connections finish for a few seconds.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    // TCP_NODELAY: input events and acks are tiny; Nagle would hold each
    // back until the previous one is acknowledged (40 ms with delayed ACKs).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(axum_server::tls_rustls::RustlsConfig::from_config(tls))
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    axum_server::from_tcp(listener)?
        .acceptor(acceptor)
        .handle(handle)
        .serve(router.into_make_service())
        .await
}
