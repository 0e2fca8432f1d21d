//! How the proxy reaches a desktop service in another process: over the
//! reverse tunnel the service keeps to this proxy, or else by dialling the
//! address it registered, with mutual TLS that checks the certificate is
//! that very desktop's. Either way one `Session` call carries the session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use oriel_auth::ca::HostRole;
use oriel_auth::control_plane::ControlPlane;
use oriel_proxy::{DesktopDialer, DesktopRequest, DesktopStream, RunningSession};
use oriel_rbac::DesktopKind;
use rustls::ClientConfig;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{BinaryMetadataValue, MetadataValue};

use crate::proto::desktop_agent_client::DesktopAgentClient;
use crate::tunnel::TunnelRegistry;
use crate::{CERTIFICATE_METADATA, LOGIN_METADATA, SESSION_ID_METADATA};

/// See the module documentation.
#[derive(Clone)]
pub struct ClusterDialer {
    tunnels: TunnelRegistry,
    plane: ControlPlane,
    direct: Arc<ClientConfig>,
    host_ca_pem: String,
}

impl ClusterDialer {
    /// Dials through `tunnels`, or directly as the proxy identity in `direct`.
    pub fn new(tunnels: TunnelRegistry, plane: ControlPlane, direct: Arc<ClientConfig>, host_ca_pem: String) -> Self {
        Self { tunnels, plane, direct, host_ca_pem }
    }

    /// A gRPC channel to `desktop`'s service: its tunnel, else a dial.
    async fn channel(&self, desktop: &str) -> std::io::Result<tonic::transport::Channel> {
        use std::io::{Error, ErrorKind};
        Ok(match self.tunnels.channel(desktop) {
            Some(channel) => channel,
            None => {
                let record = self.plane.store().desktop(DesktopKind::Linux, desktop).await.map_err(|e| Error::new(ErrorKind::NotFound, e.to_string()))?;
                let name = oriel_auth::ca::desktop_server_name(desktop);
                let tls = crate::connect::dial_tls(&record.addr, self.direct.clone(), &name, &self.host_ca_pem, HostRole::LinuxDesktop).await.map_err(|e| {
                    Error::new(
                        ErrorKind::ConnectionRefused,
                        format!(
                            "desktop {:?} has no tunnel to this proxy, and dialling it at {} failed: {}",
                            desktop,
                            record.addr,
                            crate::join::error_chain(e.as_ref())
                        ),
                    )
                })?;
                crate::connect::channel_over(tls).await.map_err(|e| Error::other(e.to_string()))?
            }
        })
    }

    async fn running(&self, request: DesktopRequest) -> std::io::Result<Vec<RunningSession>> {
        use std::io::{Error, ErrorKind};
        if request.kind != "linux" {
            return Ok(Vec::new());
        }
        let channel = self.channel(&request.desktop).await?;
        let mut call = tonic::Request::new(crate::proto::RunningSessionsQuery { login: request.login.clone() });
        let certificate: BinaryMetadataValue = MetadataValue::from_bytes(&request.certificate);
        call.metadata_mut().insert_bin(CERTIFICATE_METADATA, certificate);
        let list = DesktopAgentClient::new(channel).running_sessions(call).await.map_err(|status| {
            Error::new(ErrorKind::ConnectionAborted, format!("desktop {:?} did not list its sessions: {}", request.desktop, status.message()))
        })?;
        Ok(list
            .into_inner()
            .sessions
            .into_iter()
            .map(|s| RunningSession {
                session_id: s.session_id,
                xsession: s.xsession,
                started: std::time::UNIX_EPOCH + std::time::Duration::from_millis(s.started_ms),
                attached: s.attached,
                // Checked as the desktop service checks what its session process sends.
                thumbnail: Some((s.thumbnail_width, s.thumbnail_height, s.thumbnail_rgba))
                    .filter(|(width, height, rgba)| oriel_linux_desktop::thumbnail::valid(*width, *height, rgba.len())),
            })
            .collect())
    }

    async fn open(&self, request: DesktopRequest) -> std::io::Result<DesktopStream> {
        use std::io::{Error, ErrorKind};
        if request.kind != "linux" {
            return Err(Error::new(ErrorKind::NotFound, format!("no {} desktops in this cluster", request.kind)));
        }
        let channel = self.channel(&request.desktop).await?;
        let (outgoing, receiver) = mpsc::channel(16);
        let mut call = tonic::Request::new(ReceiverStream::new(receiver));
        let certificate: BinaryMetadataValue = MetadataValue::from_bytes(&request.certificate);
        call.metadata_mut().insert_bin(CERTIFICATE_METADATA, certificate);
        let login = request.login.parse().map_err(|_| Error::new(ErrorKind::InvalidInput, format!("invalid login {:?}", request.login)))?;
        call.metadata_mut().insert(LOGIN_METADATA, login);
        let session_id = request.session_id.parse().map_err(|_| Error::new(ErrorKind::InvalidInput, format!("invalid session id {:?}", request.session_id)))?;
        call.metadata_mut().insert(SESSION_ID_METADATA, session_id);
        if request.resume {
            call.metadata_mut().insert(crate::RESUME_METADATA, MetadataValue::from_static("1"));
        }
        if let Some(mode) = request.join {
            call.metadata_mut().insert(crate::JOIN_METADATA, MetadataValue::from_static(mode.as_str()));
        }
        let response = DesktopAgentClient::new(channel).session(call).await.map_err(|status| {
            Error::new(ErrorKind::ConnectionAborted, format!("desktop {:?} did not take the session: {}", request.desktop, status.message()))
        })?;
        Ok(Box::pin(crate::bridge::bridge(response.into_inner(), outgoing, std::convert::identity)))
    }
}

impl DesktopDialer for ClusterDialer {
    fn running_sessions(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<RunningSession>>> + Send + '_>> {
        Box::pin(self.running(request))
    }

    fn dial(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>> {
        Box::pin(self.open(request))
    }
}
