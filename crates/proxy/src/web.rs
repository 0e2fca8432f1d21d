//! Routes: the web client's files, and the websocket that carries a desktop session.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::io::{AsyncRead, AsyncWrite};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument as _;

use crate::connections::{ConnectionLimits, CountingAcceptor, OpenConnections};
use crate::origin::OriginPolicy;
use crate::proxy_recording::ProxyRecording;
use crate::{api, relay, session_mfa, sso_api, webauthn_api};

/// A byte stream to a desktop service carrying TDPB.
pub type DesktopStream = Pin<Box<dyn DuplexStream>>;

/// Anything readable and writable that may move between threads.
pub trait DuplexStream: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> DuplexStream for T {}

/// What the browser asked for, with the certificate of who the proxy
/// authenticated. The desktop service verifies the certificate, takes the
/// user from it, and decides whether the session is allowed; the proxy does
/// not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopRequest {
    /// The logged-in Oriel user, for the proxy's log only: the desktop
    /// service reads the user from `certificate`.
    pub user: String,
    /// The user certificate issued at login (DER), shown to the service.
    pub certificate: Vec<u8>,
    /// `linux` or `windows`.
    pub kind: String,
    /// The desktop's resource name.
    pub desktop: String,
    /// The desktop login asked for.
    pub login: String,
    /// The session's id, chosen here (`oriel_auth::audit::new_session_id`)
    /// so the proxy's log, its recording and the desktop service's events
    /// name the same session; for a resume, the session's.
    pub session_id: String,
    /// Attach to the running session `session_id` instead of starting one.
    pub resume: bool,
    /// Join someone else's running session `session_id` as a participant.
    pub join: Option<oriel_rbac::JoinMode>,
}

/// A running session as its owner sees it in the list of sessions to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningSession {
    /// Its id, to resume it with.
    pub session_id: String,
    /// The xsession it runs.
    pub xsession: String,
    /// When it started.
    pub started: std::time::SystemTime,
    /// Whether the owner's browser is attached now.
    pub attached: bool,
    /// A small picture of its screen when its owner left: width, height
    /// and straight RGBA pixels.
    pub thumbnail: Option<(u32, u32, Vec<u8>)>,
}

/// Opens desktop sessions: in-process, or over the network.
pub trait DesktopDialer: Send + Sync + 'static {
    /// A new stream to the desktop service that serves `request.desktop`.
    fn dial(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>>;

    /// The running sessions, as `request.login`, of the user
    /// `request.certificate` names, on `request.desktop`: the desktop
    /// service verifies the certificate. `session_id` and `resume` are unused.
    fn running_sessions(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<RunningSession>>> + Send + '_>>;
}

/// Settings of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The built web client (`web/dist`).
    pub web_dir: PathBuf,
    /// The cluster's name, as routes and the UI show it.
    pub cluster: String,
    /// The addresses (`host:port`) people reach the proxy at when a load
    /// balancer in front changes `Host`: websocket origins they show are
    /// this proxy's too (its own `Host` always is).
    pub public_addrs: Vec<String>,
    /// Where the recordings the proxy makes (cluster mode `proxy`) wait
    /// for the control plane.
    pub recording_spool: oriel_recorder::RecordingSpool,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) plane: oriel_auth::control_plane::ControlPlane,
    pub(crate) cluster: String,
    pub(crate) dialer: Arc<dyn DesktopDialer>,
    pub(crate) origins: Arc<OriginPolicy>,
    recording_spool: oriel_recorder::RecordingSpool,
}

/// Largest websocket message accepted: above the TDPB limit, so that a
/// too-long frame is refused with a TDPB alert rather than a bare close.
const MAX_WS_MESSAGE: usize = 2 * oriel_tdpb::Limits::FROM_CLIENT.max_frame_len;

/// What the web client may load and run: its own scripts, styles and
/// workers, WebAssembly (the frame decoder), `data:` images (remote cursor
/// shapes), and connections to this origin only (the API and the desktop
/// websocket). No eval, no inline script, no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The proxy's routes.
pub fn router(config: ProxyConfig, plane: oriel_auth::control_plane::ControlPlane, dialer: Arc<dyn DesktopDialer>) -> Router {
    let index = config.web_dir.join("index.html");
    // Unknown paths (SPA routes like /web/cluster/...) get the client's index.
    let files = ServeDir::new(&config.web_dir).fallback(ServeFile::new(index));
    let origins = Arc::new(OriginPolicy::new(&config.public_addrs));
    let state = AppState { plane, cluster: config.cluster, dialer, origins, recording_spool: config.recording_spool };
    Router::new()
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/me", get(api::me))
        .route("/api/invite/{secret}", get(api::enrollment).post(api::accept_invite))
        .route("/api/invite/{secret}/webauthn/begin", post(webauthn_api::begin_invite))
        .route("/api/invite/{secret}/webauthn", post(webauthn_api::finish_invite))
        .route("/api/login/webauthn/begin", post(webauthn_api::begin_login))
        .route("/api/login/webauthn", post(webauthn_api::finish_login))
        .route("/api/login/passwordless/begin", post(webauthn_api::begin_passwordless))
        .route("/api/login/passwordless", post(webauthn_api::finish_passwordless))
        .route("/api/me/devices", get(webauthn_api::devices).post(webauthn_api::finish_device))
        .route("/api/me/devices/begin", post(webauthn_api::begin_device))
        .route("/api/me/devices/{id}", axum::routing::delete(webauthn_api::remove_device))
        .route("/api/sso/connectors", get(sso_api::connectors))
        .route("/api/sso/oidc/callback", get(sso_api::callback))
        .route("/api/sso/oidc/{name}/login", get(sso_api::begin))
        .route("/api/desktops", get(api::desktops))
        .route("/api/desktops/{kind}/{name}/sessions", get(crate::running_sessions::list))
        .route("/api/audit/events", get(crate::audit_api::events))
        .route("/api/recordings", get(crate::recordings_api::list))
        .route("/api/recordings/{id}", get(crate::recordings_api::describe))
        .route("/api/recordings/{id}/data", get(crate::recordings_api::data))
        .route("/api/desktop/ws", get(desktop_socket))
        .fallback_service(files)
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)))
        .layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000")))
}

#[derive(serde::Deserialize)]
struct SocketQuery {
    kind: String,
    desktop: String,
    login: String,
    /// A running session to resume, by id.
    resume: Option<String>,
    /// Someone else's running session to join, by id, with `mode`.
    join: Option<String>,
    /// `observer` or `peer`, with `join`.
    mode: Option<String>,
}

async fn desktop_socket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // First: a page of another site must learn nothing, not even whether
    // the cookie it made the browser send is valid.
    if let Err(refused) = state.origins.check(&headers) {
        tracing::info!(reason = %refused, "websocket refused: foreign origin");
        return api::error(axum::http::StatusCode::FORBIDDEN, refused);
    }
    let logged_in = match api::authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in,
        Err(response) => {
            tracing::info!("websocket refused: not logged in");
            return response;
        }
    };
    let Some(certificate) = logged_in.session.certificate else {
        // A session from before certificates were issued at login.
        tracing::info!(user = %logged_in.user.name.as_str(), "websocket refused: the web session has no certificate");
        return api::error(axum::http::StatusCode::UNAUTHORIZED, "your session has no certificate; log in again");
    };
    // The origin passed the policy above: it is the relying party of a
    // per-session MFA check.
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or_default().to_owned();
    // A session id is a UUID; anything else names no session.
    let not_a_session = |id: &str| api::error(axum::http::StatusCode::BAD_REQUEST, format!("{id:?} is not a session id"));
    let resume = match query.resume.as_deref().map(session_id) {
        None => None,
        Some(Some(id)) => Some(id),
        Some(None) => return not_a_session(query.resume.as_deref().unwrap_or_default()),
    };
    let join = match (query.join.as_deref(), query.mode.as_deref()) {
        (None, _) => None,
        (Some(id), Some(mode @ ("observer" | "peer"))) => match session_id(id) {
            Some(id) => Some((id, oriel_rbac::JoinMode::parse(mode).expect("matched above"))),
            None => return not_a_session(id),
        },
        (Some(_), _) => return api::error(axum::http::StatusCode::BAD_REQUEST, "join a session with mode=observer or mode=peer"),
    };
    let mut request = DesktopRequest {
        user: logged_in.user.name.to_string(),
        certificate: certificate.cert_der,
        kind: query.kind,
        desktop: query.desktop,
        login: query.login,
        resume: resume.is_some() && join.is_none(),
        join: join.as_ref().map(|(_, mode)| *mode),
        session_id: join.map(|(id, _)| id).or(resume).unwrap_or_else(oriel_auth::audit::new_session_id),
    };
    let span = tracing::info_span!("session", sid = %request.session_id);
    upgrade.max_message_size(MAX_WS_MESSAGE).on_upgrade(move |mut socket| {
        async move {
            tracing::info!(user = %request.user, desktop = %request.desktop, login = %request.login, resume = request.resume, join = ?request.join, "desktop session requested");
            let checked = match session_mfa::check(&mut socket, &state, &request, &origin, peer.ip()).await {
                Ok(checked) => checked,
                Err(session_mfa::Refusal::BrowserLeft) => return tracing::info!("browser left before the session started"),
                Err(session_mfa::Refusal::Refused(reason)) => {
                    tracing::info!(%reason, "session refused");
                    return relay::refuse(socket, &reason).await;
                }
            };
            if let Some(certificate) = checked.certificate {
                request.certificate = certificate;
            }
            let recording = match ProxyRecording::start(&state.plane, &state.recording_spool, &request).await {
                Ok(recording) => recording,
                Err(cannot) => {
                    tracing::error!(error = %cannot, "session refused");
                    return relay::refuse(socket, &cannot.to_string()).await;
                }
            };
            match state.dialer.dial(request).await {
                Ok(desktop) => relay::relay(socket, desktop, recording, checked.held).await,
                Err(error) => {
                    tracing::error!(%error, "cannot reach the desktop service");
                    if let Some(recording) = recording {
                        recording.finish(false).await;
                    }
                    relay::unreachable(socket, &format!("the desktop service is unreachable: {error}")).await;
                }
            }
        }
        .instrument(span)
    })
}

/// A session id as the desktop service names sessions (a hyphenated UUID).
fn session_id(id: &str) -> Option<String> {
    uuid::Uuid::try_parse(id).ok().map(|id| id.hyphenated().to_string())
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then
/// lets open connections finish for a few seconds. Connections past
/// `limits` are closed as soon as they are accepted.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(axum_server::tls_rustls::RustlsConfig::from_config(tls))
        .acceptor(CountingAcceptor::new(OpenConnections::new(limits)));
    axum_server::from_tcp(listener)?
        .acceptor(acceptor)
        .handle(handle)
        // Out of file descriptors (or another error of accept itself): the
        // server backs off and keeps accepting; say why connections wait, at
        // most every 10 s. Errors of one connection (refused by the caps, a
        // failed handshake) come with its address and are not worth a line.
        .accept_error_handler(|peer, error| {
            if peer.is_none() {
                crate::connections::warn_accept_error(error);
            }
        })
        .serve(router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}
