//! The admin API's gRPC server. TLS only: a client certificate, if shown,
//! must chain to the host CA (rustls checks the chain, usage and validity
//! during the handshake), and every call is checked again by the control
//! plane (`verify_host`) and must come from an admin identity, else
//! UNAUTHENTICATED or PERMISSION_DENIED. There is no plaintext port.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use oriel_auth::ca::{HostIdentity, HostRole};
use oriel_auth::connections::ConnectionLimits;
use oriel_auth::control_plane::{AccessDenied, ControlPlane};
use tonic::service::Routes;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

use crate::operations::{self, Settings};
use crate::proto::admin_server::{Admin, AdminServer};
use crate::proto::{Command, Name, Outcome};
use crate::{AUTH_SERVER_NAME, Failure, FailureKind};

/// How long the auth service's own certificate lasts. It is issued at each
/// start; rotation while running is not built yet.
const SERVER_CERT_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// A TLS handshake must finish within this, so a silent client cannot hold
/// a connection slot.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the admin API cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The host CA could not be loaded, or the certificate not issued.
    #[error("cannot issue the auth service's certificate: {0}")]
    Certificate(#[from] oriel_auth::ca::CaError),
    /// TLS or the listener failed.
    #[error("the admin API failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The admin API over `plane`, to serve with [`serve`].
pub fn service(plane: ControlPlane, settings: Settings) -> AdminServer<AdminService> {
    AdminServer::new(AdminService { plane, settings })
}

/// Serves `routes` (the admin API from [`service`], and the cluster API,
/// which shares the auth service's port) on `listener` until `shutdown`
/// completes, with `tls` from [`tls_config`]; connections past `limits`
/// are closed before TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    limits: ConnectionLimits,
    tls: ServerTlsConfig,
    routes: Routes,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    Server::builder().tls_config(tls)?.add_routes(routes).serve_with_incoming_shutdown(crate::incoming::incoming(listener, limits), shutdown).await?;
    Ok(())
}

/// The auth service's certificate, issued now by the host CA for
/// [`AUTH_SERVER_NAME`] and loopback, and the host CA as the only root for
/// client certificates. A client certificate is optional in the handshake
/// because a joining host has none yet: every call but the cluster API's
/// `Join` refuses a caller without one.
pub async fn tls_config(plane: &ControlPlane) -> Result<ServerTlsConfig, ServeError> {
    let ca = plane.cert_authority().await?;
    let host = HostIdentity {
        host_id: "auth".into(),
        role: HostRole::Auth,
        dns_names: vec![AUTH_SERVER_NAME.into(), "localhost".into()],
        ips: vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)],
    };
    let issued = ca.issue_host(&host, SERVER_CERT_TTL, std::time::SystemTime::now())?;
    // The host CA goes in the chain too: a joining host, which has no CA
    // yet, checks it against its ca_pin during the handshake, before it
    // sends its token.
    let chain = format!("{}\n{}", issued.cert_pem.trim_end(), ca.host_ca_pem());
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(chain, &issued.key_pem))
        .client_ca_root(Certificate::from_pem(ca.host_ca_pem()))
        .client_auth_optional(true)
        .timeout(HANDSHAKE_TIMEOUT))
}

/// The admin API's implementation (see [`service`]).
pub struct AdminService {
    plane: ControlPlane,
    settings: Settings,
}

/// Proof that a call comes from an admin: only [`AdminService::authorize`]
/// makes one, and running a command takes one.
struct Authorized {
    admin: HostIdentity,
}

impl AdminService {
    /// The caller's admin identity: its TLS certificate, verified by the
    /// control plane against the host CA, with the admin host role.
    async fn authorize<T>(&self, request: &Request<T>) -> Result<Authorized, Status> {
        let certs = request.peer_certs().unwrap_or_default();
        let Some(cert) = certs.first() else {
            return Err(Status::unauthenticated("the admin API needs a client certificate: use an identity from `orielctl auth sign`"));
        };
        let host = match self.plane.verify_host_cert(cert.as_ref()).await {
            Ok(host) => host,
            Err(AccessDenied::Certificate(error)) => {
                tracing::warn!(peer = ?request.remote_addr(), %error, "admin API call refused: certificate");
                return Err(Status::permission_denied(format!("the admin API accepts only admin identities: {error}")));
            }
            Err(error) => return Err(Status::unavailable(error.to_string())),
        };
        if host.role != HostRole::Admin {
            tracing::warn!(peer = ?request.remote_addr(), host = %host.host_id, role = %host.role, "admin API call refused: not an admin");
            return Err(Status::permission_denied(format!(
                "the admin API accepts only admin identities, and this is the certificate of {} host {:?}",
                host.role, host.host_id
            )));
        }
        Ok(Authorized { admin: host })
    }

    async fn run(&self, who: Authorized, command: Command) -> Result<Outcome, Status> {
        let name = command.command.as_ref().map_or("none", command_name);
        // Only the command's name: requests and outcomes can hold secrets.
        tracing::info!(admin = %who.admin.host_id, command = name, "admin API call");
        // What the command changes is recorded as this admin's doing.
        let plane = self.plane.acting_as(&who.admin.host_id);
        operations::run(&plane, &self.settings, command).await.map_err(status)
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn run(&self, request: Request<Command>) -> Result<Response<Outcome>, Status> {
        let who = self.authorize(&request).await?;
        AdminService::run(self, who, request.into_inner()).await.map(Response::new)
    }

    type DownloadRecordingStream = crate::download::ChunkStream;

    async fn download_recording(&self, request: Request<Name>) -> Result<Response<Self::DownloadRecordingStream>, Status> {
        let who = self.authorize(&request).await?;
        let id = request.into_inner().name;
        tracing::info!(admin = %who.admin.host_id, recording = %id, "admin API call: recordings export");
        let access =
            self.plane.administrator_recording_access(&who.admin).ok_or_else(|| Status::permission_denied("only an admin identity may download recordings"))?;
        crate::download::chunks(&self.plane, &access, &id).await.map(Response::new)
    }
}

/// The failure as a status with the same message.
pub fn status(failure: Failure) -> Status {
    let code = match failure.kind {
        FailureKind::InvalidArgument => tonic::Code::InvalidArgument,
        FailureKind::NotFound => tonic::Code::NotFound,
        FailureKind::AlreadyExists => tonic::Code::AlreadyExists,
        FailureKind::Conflict => tonic::Code::Aborted,
        FailureKind::PermissionDenied => tonic::Code::PermissionDenied,
        FailureKind::Internal => tonic::Code::Internal,
    };
    Status::new(code, failure.message)
}

fn command_name(command: &crate::proto::command::Command) -> &'static str {
    use crate::proto::command::Command as C;
    match command {
        C::AddUser(_) => "users add",
        C::UpdateUser(_) => "users update",
        C::ListUsers(_) => "users ls",
        C::RemoveUser(_) => "users rm",
        C::Create(_) => "create",
        C::Get(_) => "get",
        C::Remove(_) => "rm",
        C::ListDesktops(_) => "desktops ls",
        C::Lock(_) => "lock",
        C::ListLocks(_) => "locks ls",
        C::Unlock(_) => "unlock",
        C::AddToken(_) => "tokens add",
        C::ListTokens(_) => "tokens ls",
        C::RemoveToken(_) => "tokens rm",
        C::AccessCheck(_) => "access check",
        C::ResetUser(_) => "users reset",
        C::Revoke(_) => "auth revoke",
        C::ListEvents(_) => "events ls",
        C::ListRecordings(_) => "recordings ls",
    }
}
