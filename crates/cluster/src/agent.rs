//! The desktop service's side of the cluster: the `DesktopAgent` gRPC
//! service that turns each `Session` call into a desktop session, served on
//! any connection the service has authenticated: a reverse tunnel it dialled
//! ([`crate::agent_tunnel`]) or a proxy that dialled it
//! ([`crate::agent_listener`]).

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use oriel_linux_desktop::{LinuxDesktopService, SessionRequest};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::connect::{CONNECTION_WINDOW, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, STREAM_WINDOW};
use crate::proto::desktop_agent_server::{DesktopAgent, DesktopAgentServer};
use crate::proto::{Chunk, RunningSession, RunningSessionList, RunningSessionsQuery};
use crate::{CERTIFICATE_METADATA, LOGIN_METADATA, SESSION_ID_METADATA};

/// Serves desktop sessions of one [`LinuxDesktopService`].
#[derive(Debug, Clone)]
pub struct Agent {
    service: LinuxDesktopService,
}

impl Agent {
    /// An agent for `service`.
    pub fn new(service: LinuxDesktopService) -> Self {
        Self { service }
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
        let login = request.into_inner().login;
        let sessions = self.service.sessions_of(&certificate, &login).await.map_err(|error| Status::permission_denied(error.to_string()))?;
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
        let (outgoing, receiver) = mpsc::channel(16);
        let stream = crate::bridge::bridge(request.into_inner(), outgoing, Ok);
        let service = self.service.clone();
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
