//! Dialling desktops from the proxy: the desktop service living in this
//! same process through a pipe, every other one through the cluster
//! (reverse tunnel or direct mutual TLS).

use std::future::Future;
use std::pin::Pin;

use oriel_cluster::dialer::ClusterDialer;
use oriel_linux_desktop::{LinuxDesktopService, SessionRequest};
use oriel_proxy::{DesktopDialer, DesktopRequest, DesktopStream, RunningSession};

/// The desktop service in this process, by its desktop's name.
pub struct InProcess {
    pub service: LinuxDesktopService,
    pub name: String,
}

/// This process's desktops first (its Linux desktop, the Windows desktops
/// it serves), then the cluster.
pub struct Dialers {
    pub local: Option<InProcess>,
    pub windows: super::windows::WindowsDesktops,
    pub cluster: ClusterDialer,
    /// Where desktops are registered, to tell whose a Windows desktop is.
    pub plane: oriel_auth::control_plane::ControlPlane,
    /// This process's host id: the `host_id` of the Windows desktops it serves.
    pub host_id: String,
}

impl Dialers {
    /// The desktop in this process that `request` names, if it is one.
    fn in_process(&self, request: &DesktopRequest) -> Option<InProcess> {
        match request.kind.as_str() {
            "linux" => self
                .local
                .as_ref()
                .filter(|local| request.desktop == local.name)
                .map(|local| InProcess { service: local.service.clone(), name: local.name.clone() }),
            "windows" => self.windows.get(&request.desktop).map(|service| InProcess { service, name: request.desktop.clone() }),
            _ => None,
        }
    }
}

impl Dialers {
    /// Whether Windows desktop `name` is registered as this process's.
    async fn registered_here(&self, name: &str) -> bool {
        let record = self.plane.store().desktop(oriel_rbac::DesktopKind::Windows, name).await;
        record.is_ok_and(|record| record.host_id.as_deref() == Some(self.host_id.as_str()))
    }
}

impl DesktopDialer for Dialers {
    fn running_sessions(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<RunningSession>>> + Send + '_>> {
        Box::pin(async move {
            match self.in_process(&request) {
                Some(local) => {
                    let sessions = local.service.sessions_of(&request.certificate, &request.login).await.map_err(std::io::Error::other)?;
                    Ok(sessions
                        .into_iter()
                        .map(|s| RunningSession {
                            session_id: s.session_id,
                            xsession: s.xsession,
                            started: s.started,
                            attached: s.attached,
                            thumbnail: s.thumbnail.map(|t| (t.width, t.height, t.rgba)),
                        })
                        .collect())
                }
                _ => self.cluster.running_sessions(request).await,
            }
        })
    }

    fn dial(&self, request: DesktopRequest) -> Pin<Box<dyn Future<Output = std::io::Result<DesktopStream>> + Send + '_>> {
        Box::pin(async move {
            match self.in_process(&request) {
                Some(local) => Ok(local.open(request)),
                // A Windows desktop whose record names this process's host
                // but that it does not serve was found by LDAP discovery,
                // without a CA to check its certificate with.
                None if request.kind == "windows" && self.registered_here(&request.desktop).await => Ok(refusal(&format!(
                    "Windows desktop {} was found in the directory, and this service has no CA to check the certificates of discovered hosts with: \
                     an administrator sets windows_desktop_service.discovery.host_ca_file (or lists the host under static_hosts with its certificate)",
                    request.desktop
                ))),
                _ => self.cluster.dial(request).await,
            }
        })
    }
}

impl InProcess {
    /// A pipe whose far end the service serves like any other transport.
    fn open(&self, request: DesktopRequest) -> DesktopStream {
        let (proxy_end, service_end) = tokio::io::duplex(1 << 20);
        let service = self.service.clone();
        let session = SessionRequest {
            certificate: request.certificate,
            login: request.login,
            session_id: Some(request.session_id),
            resume: request.resume,
            join: request.join,
        };
        tokio::spawn(async move {
            match service.serve(service_end, session).await {
                Ok(end) => tracing::info!(?end, "desktop session ended"),
                Err(error) => tracing::warn!(%error, "desktop session failed"),
            }
        });
        Box::pin(proxy_end)
    }
}

/// A stream that answers only an ERROR alert with `message`, then closes:
/// the browser shows why, as for any refused session.
fn refusal(message: &str) -> DesktopStream {
    use tokio::io::AsyncWriteExt as _;
    let (proxy_end, mut service_end) = tokio::io::duplex(4096);
    let alert = oriel_linux_desktop::client_stream::alert(message, oriel_tdpb::pb::AlertSeverity::Error);
    tokio::spawn(async move {
        let _ = service_end.write_all(&alert).await;
        let _ = service_end.shutdown().await;
    });
    Box::pin(proxy_end)
}
