//! The desktop service's side of the cluster: the `DesktopAgent` gRPC
//! service that turns each `Session` call into a desktop session, served on
//! any connection the service has authenticated: a reverse tunnel it dialled
//! ([`crate::agent_tunnel`]) or a proxy that dialled it
//! ([`crate::agent_listener`]). A Linux desktop service serves one desktop,
//! its host's; a Windows desktop service serves several, and each call
//! names which ([`ServedDesktops`]).

use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use oriel_linux_desktop::{LinuxDesktopService, SessionRequest};
use oriel_rbac::DesktopKind;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::connect::{CONNECTION_WINDOW, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, STREAM_WINDOW};
use crate::proto::desktop_agent_server::{DesktopAgent, DesktopAgentServer};
use crate::proto::{Chunk, RunningSession, RunningSessionList, RunningSessionsQuery};
use crate::{CERTIFICATE_METADATA, LOGIN_METADATA, SESSION_ID_METADATA};

/// The desktops an agent serves, by kind and name.
pub trait ServedDesktops: Send + Sync + 'static {
    /// The service of the `kind` desktop `name`, if it is served here.
    fn service(&self, kind: DesktopKind, name: &str) -> Option<LinuxDesktopService>;
}

/// One desktop: a Linux desktop service's own.
struct OneDesktop(LinuxDesktopService);

impl ServedDesktops for OneDesktop {
    fn service(&self, kind: DesktopKind, name: &str) -> Option<LinuxDesktopService> {
        let config = self.0.config();
        (config.kind == kind && config.desktop_name == name).then(|| self.0.clone())
    }
}

/// Serves desktop sessions of the desktops it is given.
#[derive(Clone)]
pub struct Agent {
    desktops: Arc<dyn ServedDesktops>,
    /// The desktop a call that names none is for (a Linux service's own).
    default: Option<(DesktopKind, String)>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("default", &self.default).finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent for `service`, the one desktop of its host.
    pub fn new(service: LinuxDesktopService) -> Self {
        let default = Some((service.config().kind, service.config().desktop_name.clone()));
        Self { desktops: Arc::new(OneDesktop(service)), default }
    }

    /// An agent for every desktop `desktops` serves; each call names one.
    pub fn serving(desktops: Arc<dyn ServedDesktops>) -> Self {
        Self { desktops, default: None }
    }

    /// The service of the desktop `metadata` names (or the default one).
    fn service(&self, metadata: &tonic::metadata::MetadataMap) -> Result<LinuxDesktopService, Status> {
        let text = |key| metadata.get(key).map(|value| value.to_str().map_err(|_| Status::invalid_argument(format!("{key} is not text"))));
        let (kind, name) = match (text(crate::DESKTOP_KIND_METADATA).transpose()?, text(crate::DESKTOP_METADATA).transpose()?) {
            (Some(kind), Some(name)) => {
                let kind = DesktopKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == kind)
                    .ok_or_else(|| Status::invalid_argument(format!("unknown desktop kind {kind:?}")))?;
                (kind, name.to_owned())
            }
            (None, None) => self.default.clone().ok_or_else(|| Status::invalid_argument("this service serves several desktops: name one"))?,
            _ => return Err(Status::invalid_argument("a desktop is named by its kind and its name")),
        };
        self.desktops.service(kind, &name).ok_or_else(|| Status::not_found(format!("this service does not serve {kind} desktop {name:?}")))
    }

    /// Serves gRPC on `io`, an authenticated connection, until it closes.
    pub async fn serve_connection<S>(&self, io: S) -> Result<(), hyper::Error>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let routes = tonic::service::Routes::new(DesktopAgentServer::new(self.clone()));
        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(Some(KEEPALIVE_INTERVAL))
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(routes))
            .await
    }
}

type ChunkStream = ReceiverStream<Result<Chunk, Status>>;

#[tonic::async_trait]
impl DesktopAgent for Agent {
    type SessionStream = ChunkStream;

    async fn running_sessions(&self, request: Request<RunningSessionsQuery>) -> Result<Response<RunningSessionList>, Status> {
        let certificate = request
            .metadata()
            .get_bin(CERTIFICATE_METADATA)
            .and_then(|value| value.to_bytes().ok())
            .ok_or_else(|| Status::invalid_argument("listing sessions needs the user's certificate"))?
            .to_vec();
        let service = self.service(request.metadata())?;
        let login = request.into_inner().login;
        let sessions = service.sessions_of(&certificate, &login).await.map_err(|error| Status::permission_denied(error.to_string()))?;
        let millis = |at: std::time::SystemTime| at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let sessions = sessions
            .into_iter()
            .map(|s| {
                let (thumbnail_width, thumbnail_height, thumbnail_rgba) = s.thumbnail.map_or((0, 0, Vec::new()), |t| (t.width, t.height, t.rgba));
                RunningSession {
                    session_id: s.session_id,
                    xsession: s.xsession,
                    started_ms: millis(s.started),
                    attached: s.attached,
                    thumbnail_width,
                    thumbnail_height,
                    thumbnail_rgba,
                }
            })
            .collect();
        Ok(Response::new(RunningSessionList { sessions }))
    }

    async fn session(&self, request: Request<Streaming<Chunk>>) -> Result<Response<ChunkStream>, Status> {
        let certificate = request
            .metadata()
            .get_bin(CERTIFICATE_METADATA)
            .and_then(|value| value.to_bytes().ok())
            .ok_or_else(|| Status::invalid_argument("a desktop session needs the user's certificate"))?
            .to_vec();
        let login = request
            .metadata()
            .get(LOGIN_METADATA)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| Status::invalid_argument("a desktop session needs a login"))?
            .to_owned();
        let session_id = request.metadata().get(SESSION_ID_METADATA).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let resume = request.metadata().get(crate::RESUME_METADATA).is_some_and(|value| value == "1");
        let join = match request.metadata().get(crate::JOIN_METADATA).map(|value| value.to_str().ok().and_then(oriel_rbac::JoinMode::parse)) {
            None => None,
            Some(Some(mode)) => Some(mode),
            Some(None) => return Err(Status::invalid_argument("oriel-join is observer or peer")),
        };
        let service = self.service(request.metadata())?;
        let (outgoing, receiver) = mpsc::channel(16);
        let stream = crate::bridge::bridge(request.into_inner(), outgoing, Ok);
        // The service verifies the certificate and decides; refusals reach
        // the browser as an ERROR alert on the stream.
        tokio::spawn(async move {
            match service.serve(stream, SessionRequest { certificate, login, session_id, resume, join }).await {
                Ok(end) => tracing::info!(?end, "desktop session ended"),
                Err(error) => tracing::warn!(%error, "desktop session failed"),
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
