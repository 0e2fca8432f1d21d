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

    /// A gRPC channel to the service of the `kind` desktop `desktop`: its
    /// tunnel, else a dial. A Linux desktop's service is its own host; a
    /// Windows desktop's is the host its record names (`host_id`).
    async fn channel(&self, kind: DesktopKind, desktop: &str) -> std::io::Result<tonic::transport::Channel> {
        use std::io::{Error, ErrorKind};
        let store = |e: oriel_auth::store::StoreError| Error::new(ErrorKind::NotFound, e.to_string());
        let (host, role) = match kind {
            DesktopKind::Linux => (desktop.to_owned(), HostRole::LinuxDesktop),
            DesktopKind::Windows => {
                let record = self.plane.store().desktop(kind, desktop).await.map_err(store)?;
                let host = record.host_id.ok_or_else(|| Error::new(ErrorKind::NotFound, format!("Windows desktop {desktop:?} names no desktop service")))?;
                (host, HostRole::WindowsDesktop)
            }
        };
        if let Some(channel) = self.tunnels.channel(&host, role) {
            return Ok(channel);
        }
        let addr = match kind {
            DesktopKind::Linux => self.plane.store().desktop(kind, desktop).await.map_err(store)?.addr,
            DesktopKind::Windows => self.plane.store().desktop_service(kind, &host).await.map_err(store)?.addr,
        };
        let name = oriel_auth::ca::desktop_server_name(&host);
        let tls = crate::connect::dial_tls(&addr, self.direct.clone(), &name, &self.host_ca_pem, role).await.map_err(|e| {
            Error::new(
                ErrorKind::ConnectionRefused,
                format!(
                    "the desktop service of {kind} desktop {desktop:?} has no tunnel to this proxy, and dialling it at {addr} failed: {}",
                    crate::join::error_chain(e.as_ref())
                ),
            )
        })?;
        crate::connect::channel_over(tls).await.map_err(|e| Error::other(e.to_string()))
    }

    async fn running(&self, request: DesktopRequest) -> std::io::Result<Vec<RunningSession>> {
        use std::io::{Error, ErrorKind};
        let Some(kind) = kind_of(&request) else {
            return Ok(Vec::new());
        };
        let channel = self.channel(kind, &request.desktop).await?;
        let mut call = tonic::Request::new(crate::proto::RunningSessionsQuery { login: request.login.clone() });
        let certificate: BinaryMetadataValue = MetadataValue::from_bytes(&request.certificate);
        call.metadata_mut().insert_bin(CERTIFICATE_METADATA, certificate);
        name_desktop(call.metadata_mut(), kind, &request.desktop)?;
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
        let kind = kind_of(&request).ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no {} desktops in this cluster", request.kind)))?;
        let channel = self.channel(kind, &request.desktop).await?;
        let (outgoing, receiver) = mpsc::channel(16);
        let mut call = tonic::Request::new(ReceiverStream::new(receiver));
        let certificate: BinaryMetadataValue = MetadataValue::from_bytes(&request.certificate);
        call.metadata_mut().insert_bin(CERTIFICATE_METADATA, certificate);
        let login = request.login.parse().map_err(|_| Error::new(ErrorKind::InvalidInput, format!("invalid login {:?}", request.login)))?;
        call.metadata_mut().insert(LOGIN_METADATA, login);
        let session_id = request.session_id.parse().map_err(|_| Error::new(ErrorKind::InvalidInput, format!("invalid session id {:?}", request.session_id)))?;
        call.metadata_mut().insert(SESSION_ID_METADATA, session_id);
        name_desktop(call.metadata_mut(), kind, &request.desktop)?;
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

/// The kind of desktop `request` is for, if this cluster has it.
fn kind_of(request: &DesktopRequest) -> Option<DesktopKind> {
    DesktopKind::ALL.into_iter().find(|kind| kind.as_str() == request.kind)
}

/// Names the desktop a call is about, for a service that serves several.
fn name_desktop(metadata: &mut tonic::metadata::MetadataMap, kind: DesktopKind, desktop: &str) -> std::io::Result<()> {
    let name = desktop.parse().map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid desktop name {desktop:?}")))?;
    metadata.insert(crate::DESKTOP_KIND_METADATA, MetadataValue::from_static(kind.as_str()));
    metadata.insert(crate::DESKTOP_METADATA, name);
    Ok(())
}

impl DesktopDialer for ClusterDialer {
    fn running_sessions(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<RunningSession>>> + Send + '_>> {
        Box::pin(self.running(request))
    }

    fn dial(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>> {
        Box::pin(self.open(request))
    }
}
