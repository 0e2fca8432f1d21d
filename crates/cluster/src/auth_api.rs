//! The auth service's side of the cluster API, over a [`ControlPlane`].
//! Served next to the admin API on the auth service's listen_addr. Every
//! call but `Join` must come from a desktop service's host certificate,
//! which the control plane verifies again; the desktop a call is about is
//! always one the caller serves (a Linux service's own, named by its host
//! id; a Windows service's registered ones, `oriel_auth::served`), so one
//! host cannot register, authorize or record for another.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_auth::audit::AuditEvent;
use oriel_auth::ca::HostIdentity;
use oriel_auth::control_plane::{AccessDenied, ControlPlane, GrantParts, GrantedSession, SessionGrant};
use oriel_auth::join::{JoinError, JoinRequest};
use oriel_auth::recordings::{RecordingError, RecordingId, Uploader};
use oriel_auth::resources::desktop_service::DesktopService;
use oriel_auth::resources::join_token::JoinRole;
use oriel_auth::served::{NotServed, kind_served_by};
use oriel_auth::store::DesktopRecord;
use oriel_rbac::{DesktopKind, SessionOptions};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::proto::auth_server::{Auth, AuthServer};
use crate::proto::{self, Empty};

/// The longest a heartbeat may keep a desktop listed.
pub const MAX_HEARTBEAT_TTL: Duration = Duration::from_secs(600);
/// The shortest, so a clock hiccup does not make a desktop flicker.
pub const MIN_HEARTBEAT_TTL: Duration = Duration::from_secs(1);

/// The cluster API over `plane`, ready to add to a tonic server. Its
/// streams that never end by themselves (`WatchAccess`) end once
/// `stopping`'s sender sends or is dropped: a server's graceful shutdown
/// waits for every call in flight, so drop it in the shutdown future.
pub fn service(plane: ControlPlane, stopping: tokio::sync::watch::Receiver<()>) -> AuthServer<AuthApi> {
    AuthServer::new(AuthApi { plane, stopping })
}

/// See the module documentation.
#[derive(Debug)]
pub struct AuthApi {
    plane: ControlPlane,
    stopping: tokio::sync::watch::Receiver<()>,
}

impl AuthApi {
    /// The calling desktop service: its TLS client certificate, verified
    /// by the control plane, with a desktop service's role.
    async fn caller<T>(&self, request: &Request<T>) -> Result<HostIdentity, Status> {
        let certs = request.peer_certs().unwrap_or_default();
        let Some(cert) = certs.first() else {
            return Err(Status::unauthenticated("this call needs a host certificate: join the cluster with a token first"));
        };
        let host = match self.plane.verify_host_cert(cert.as_ref()).await {
            Ok(host) => host,
            Err(AccessDenied::Certificate(error)) => {
                tracing::warn!(peer = ?request.remote_addr(), %error, "cluster API call refused: certificate");
                return Err(Status::permission_denied(format!("the cluster API accepts only this cluster's host certificates: {error}")));
            }
            Err(error) => return Err(Status::unavailable(error.to_string())),
        };
        if kind_served_by(host.role).is_none() {
            return Err(Status::permission_denied(format!(
                "only desktop services use this call, and this is the certificate of {} host {:?}",
                host.role, host.host_id
            )));
        }
        Ok(host)
    }
}

/// A refusal to speak for a desktop as the status the host reads.
fn served_status(error: NotServed) -> Status {
    match error {
        NotServed::NotYours(reason) => Status::permission_denied(reason),
        NotServed::Unavailable(_) => Status::unavailable(error.to_string()),
    }
}

impl AuthApi {
    /// The desktop a query names, once the caller is found to serve it: a
    /// Linux service's own ("" names it too), or one of a Windows service's.
    async fn desktop_asked(&self, host: &HostIdentity, kind: &str, desktop: &str) -> Result<(DesktopKind, String), Status> {
        let kind = match kind {
            "" => DesktopKind::Linux,
            named => desktop_kind(named)?,
        };
        let desktop = if desktop.is_empty() && kind == DesktopKind::Linux { host.host_id.as_str() } else { desktop };
        self.plane.check_served(host, kind, desktop).await.map_err(served_status)?;
        Ok((kind, desktop.to_owned()))
    }
}

fn join_status(error: JoinError) -> Status {
    match error {
        JoinError::Token(_) | JoinError::AdminIdentity | JoinError::Certificate(_) => Status::permission_denied(error.to_string()),
        JoinError::HostId(_) => Status::invalid_argument(error.to_string()),
        JoinError::HostIdTaken { .. } => Status::already_exists(error.to_string()),
        JoinError::Unavailable(_) => Status::unavailable(error.to_string()),
    }
}

fn denied_status(denied: AccessDenied) -> Status {
    match denied {
        AccessDenied::Unavailable(_) => Status::unavailable(denied.to_string()),
        AccessDenied::Locked(ref message) => {
            let denial = proto::Denial { locked: true, lock_message: message.clone().unwrap_or_default() };
            Status::with_details(tonic::Code::PermissionDenied, denied.to_string(), prost::Message::encode_to_vec(&denial).into())
        }
        other => Status::permission_denied(other.to_string()),
    }
}

/// The refusal a PERMISSION_DENIED status from [`denied_status`] carries:
/// a lock, with its message, or the decision's words.
pub fn denial_of(status: &Status) -> AccessDenied {
    match <proto::Denial as prost::Message>::decode(status.details()) {
        Ok(denial) if denial.locked => AccessDenied::Locked(Some(denial.lock_message).filter(|m| !m.is_empty())),
        _ => AccessDenied::Decided(status.message().to_owned()),
    }
}

/// Milliseconds since the epoch, 0 for none.
fn millis(at: Option<SystemTime>) -> u64 {
    at.and_then(|at| at.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A grant as the cluster API carries it.
pub fn grant_message(grant: &SessionGrant) -> proto::Grant {
    let parts = grant.to_parts();
    proto::Grant {
        user: parts.session.user,
        login: parts.session.login,
        roles: parts.session.roles,
        clipboard: parts.options.clipboard,
        lossy: parts.options.lossy,
        directory_sharing: parts.options.directory_sharing,
        record: parts.options.record,
        idle_timeout_ms: parts.options.idle_timeout.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        recording_mode: parts.recording_mode.as_str().to_owned(),
        certificate_expires_ms: millis(parts.certificate_expires),
        create_host_user: parts.options.create_host_user,
        host_groups: parts.options.host_groups,
        session_mfa: parts.options.session_mfa,
        desktop_kind: parts.session.desktop_kind.as_str().to_owned(),
        server_id: parts.session.server_id,
        desktop: parts.session.desktop,
    }
}

fn desktop_kind(name: &str) -> Result<DesktopKind, Status> {
    DesktopKind::ALL.into_iter().find(|kind| kind.as_str() == name).ok_or_else(|| Status::invalid_argument(format!("unknown desktop kind {name:?}")))
}

/// A grant's contents as a message carries them. Plain data: a desktop
/// service makes a grant of it only with `SessionGrant::decided_remotely`.
pub fn grant_parts(message: proto::Grant) -> Result<GrantParts, Status> {
    let recording_mode =
        message.recording_mode.parse().map_err(|_| Status::invalid_argument(format!("unknown recording mode {:?}", message.recording_mode)))?;
    Ok(GrantParts {
        session: GrantedSession {
            user: message.user,
            login: message.login,
            roles: message.roles,
            desktop_kind: desktop_kind(&message.desktop_kind)?,
            server_id: if message.server_id.is_empty() { message.desktop.clone() } else { message.server_id },
            desktop: message.desktop,
        },
        options: SessionOptions {
            clipboard: message.clipboard,
            directory_sharing: message.directory_sharing,
            lossy: message.lossy,
            record: message.record,
            idle_timeout: (message.idle_timeout_ms > 0).then(|| Duration::from_millis(message.idle_timeout_ms)),
            session_mfa: message.session_mfa,
            create_host_user: message.create_host_user,
            host_groups: message.host_groups,
        },
        recording_mode,
        certificate_expires: (message.certificate_expires_ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(message.certificate_expires_ms)),
    })
}

/// The session a lock query is about: only ever on a desktop the calling
/// host serves.
async fn callers_session(plane: &ControlPlane, host: &HostIdentity, grant: Option<proto::Grant>) -> Result<GrantedSession, Status> {
    let session = grant_parts(grant.unwrap_or_default())?.session;
    plane.check_served(host, session.desktop_kind, &session.desktop).await.map_err(served_status)?;
    Ok(session)
}

/// What a host gets when it joins or renews.
fn credentials(issued: oriel_auth::ca::IssuedCert, ca: &oriel_auth::ca::CertAuthority) -> proto::HostCredentials {
    proto::HostCredentials {
        cert_pem: issued.cert_pem,
        key_pem: issued.key_pem,
        host_ca_pem: ca.host_ca_pem().to_owned(),
        user_ca_pem: ca.user_ca_pem().to_owned(),
    }
}

#[tonic::async_trait]
impl Auth for AuthApi {
    async fn join(&self, request: Request<proto::JoinRequest>) -> Result<Response<proto::HostCredentials>, Status> {
        let peer = request.remote_addr();
        let message = request.into_inner();
        let role: JoinRole = message.role.parse().map_err(|_| Status::invalid_argument(format!("unknown service role {:?}", message.role)))?;
        if !matches!(role, JoinRole::LinuxDesktop | JoinRole::WindowsDesktop) {
            return Err(Status::invalid_argument(format!("only desktop services join over the network; a {} runs with the auth service", role.as_str())));
        }
        // The certificate's name is chosen here, not by the host, so it can
        // only ever pass for its own desktop.
        let join = JoinRequest {
            token: message.token,
            role,
            dns_names: vec![oriel_auth::ca::desktop_server_name(&message.host_id)],
            host_id: message.host_id,
            ips: Vec::new(),
        };
        let issued = match self.plane.join(&join).await {
            Ok(issued) => issued,
            Err(error) => {
                tracing::warn!(?peer, host_id = %join.host_id, %error, "join refused");
                return Err(join_status(error));
            }
        };
        let ca = self.plane.cert_authority().await.map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(credentials(issued, &ca)))
    }

    async fn renew_host(&self, request: Request<Empty>) -> Result<Response<proto::HostCredentials>, Status> {
        let host = self.caller(&request).await?;
        let certs = request.peer_certs().unwrap_or_default();
        let current = certs.first().map(|c| c.as_ref().to_vec()).unwrap_or_default();
        let issued = self.plane.renew_host(&current).await.map_err(join_status)?;
        tracing::info!(host_id = %host.host_id, "host certificate renewed");
        let ca = self.plane.cert_authority().await.map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(credentials(issued, &ca)))
    }

    async fn heartbeat(&self, request: Request<proto::DesktopHeartbeat>) -> Result<Response<Empty>, Status> {
        let host = self.caller(&request).await?;
        let beat = request.into_inner();
        let ttl = Duration::from_millis(beat.expires_after_ms).clamp(MIN_HEARTBEAT_TTL, MAX_HEARTBEAT_TTL);
        let expires = Some(SystemTime::now() + ttl);
        let kind = kind_served_by(host.role).expect("the caller is a desktop service");
        let service = DesktopService {
            kind,
            name: host.host_id.clone(),
            hostname: if beat.service_hostname.is_empty() { beat.hostname.clone() } else { beat.service_hostname.clone() },
            addr: if beat.service_addr.is_empty() { beat.addr.clone() } else { beat.service_addr.clone() },
            version: beat.version.clone(),
            expires,
        };
        let unavailable = |e: oriel_auth::store::StoreError| Status::unavailable(format!("cannot store the heartbeat: {e}"));
        // Which desktop: a Linux service's own, or the Windows desktop named.
        let (name, host_id) = match kind {
            DesktopKind::Linux => {
                if !(beat.desktop_kind.is_empty() || beat.desktop_kind == "linux") || !(beat.desktop.is_empty() || beat.desktop == host.host_id) || beat.removed
                {
                    return Err(Status::permission_denied(format!("host {:?} registers only its own Linux desktop", host.host_id)));
                }
                (host.host_id.clone(), None)
            }
            DesktopKind::Windows => {
                if beat.desktop_kind != "windows" || beat.desktop.is_empty() {
                    return Err(Status::invalid_argument("a Windows desktop service's heartbeat names a Windows desktop"));
                }
                (beat.desktop.clone(), Some(host.host_id.clone()))
            }
        };
        self.plane.store().put_desktop_service(&service).await.map_err(unavailable)?;
        if beat.removed {
            self.plane.unregister_windows_desktop(&host, &name).await.map_err(served_status)?;
            tracing::info!(host = %host.host_id, desktop = %name, "a Windows desktop service removed a desktop");
            return Ok(Response::new(Empty {}));
        }
        let record = DesktopRecord { kind, name, hostname: beat.hostname, addr: beat.addr, labels: beat.labels.into_iter().collect(), expires, host_id };
        match kind {
            DesktopKind::Linux => self.plane.store().put_desktop(&record).await.map_err(unavailable)?,
            DesktopKind::Windows => self.plane.register_windows_desktop(&host, &record).await.map_err(served_status)?,
        }
        Ok(Response::new(Empty {}))
    }

    async fn authorize_session(&self, request: Request<proto::SessionQuery>) -> Result<Response<proto::Grant>, Status> {
        let host = self.caller(&request).await?;
        let query = request.into_inner();
        let (kind, desktop) = self.desktop_asked(&host, &query.desktop_kind, &query.desktop).await?;
        let grant = self.plane.authorize_certificate(&query.certificate, kind, &desktop, &query.login).await.map_err(denied_status)?;
        Ok(Response::new(grant_message(&grant)))
    }

    async fn lock_on(&self, request: Request<proto::LockQuery>) -> Result<Response<proto::LockState>, Status> {
        let host = self.caller(&request).await?;
        let session = callers_session(&self.plane, &host, request.into_inner().grant).await?;
        match self.plane.lock_on(&session).await {
            Ok(Some(lock)) => Ok(Response::new(proto::LockState { locked: true, message: lock.message.unwrap_or_default() })),
            Ok(None) => Ok(Response::new(proto::LockState { locked: false, message: String::new() })),
            Err(error) => Err(Status::unavailable(error.to_string())),
        }
    }

    async fn authorize_join(&self, request: Request<proto::JoinQuery>) -> Result<Response<proto::JoinAnswer>, Status> {
        let host = self.caller(&request).await?;
        let query = request.into_inner();
        let mode = oriel_rbac::JoinMode::parse(&query.mode).ok_or_else(|| Status::invalid_argument(format!("{:?} is not a join mode", query.mode)))?;
        let (kind, desktop) = self.desktop_asked(&host, &query.desktop_kind, &query.desktop).await?;
        let grant = self.plane.authorize_join(&query.certificate, kind, &desktop, &query.owner_roles, mode).await.map_err(denied_status)?;
        Ok(Response::new(proto::JoinAnswer { user: grant.user().to_owned(), mode: grant.mode().as_str().to_owned() }))
    }

    async fn reauthorize(&self, request: Request<proto::SessionQuery>) -> Result<Response<proto::Grant>, Status> {
        let host = self.caller(&request).await?;
        let query = request.into_inner();
        let (kind, desktop) = self.desktop_asked(&host, &query.desktop_kind, &query.desktop).await?;
        let grant = self.plane.reauthorize_certificate(&query.certificate, kind, &desktop, &query.login).await.map_err(denied_status)?;
        Ok(Response::new(grant_message(&grant)))
    }

    type WatchAccessStream = ReceiverStream<Result<proto::AccessChange, Status>>;

    async fn watch_access(&self, request: Request<Empty>) -> Result<Response<Self::WatchAccessStream>, Status> {
        self.caller(&request).await?;
        let mut changes = self.plane.access_changes();
        let mut stopping = self.stopping.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                let state = *changes.borrow_and_update();
                if sender.send(Ok(proto::AccessChange { generation: state.generation, live: state.live })).await.is_err() {
                    return;
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() {
                        // The feed ended (the store closed): the host polls.
                        return;
                    },
                    () = sender.closed() => return,
                    // The server is stopping: the host follows another one.
                    _ = stopping.changed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn check_host(&self, request: Request<proto::HostQuery>) -> Result<Response<Empty>, Status> {
        self.caller(&request).await?;
        match self.plane.verify_host_cert(&request.into_inner().certificate).await {
            Ok(_) => Ok(Response::new(Empty {})),
            Err(error) => Err(denied_status(error)),
        }
    }

    async fn record_events(&self, request: Request<proto::EventBatch>) -> Result<Response<Empty>, Status> {
        let host = self.caller(&request).await?;
        let batch = request.into_inner();
        if batch.events.len() > MAX_EVENT_BATCH {
            return Err(Status::invalid_argument(format!("at most {MAX_EVENT_BATCH} events a call")));
        }
        let mut events = Vec::with_capacity(batch.events.len());
        for (index, text) in batch.events.iter().enumerate() {
            let event = serde_json::from_str::<AuditEvent>(text).map_err(|e| Status::invalid_argument(format!("event {index}: {e}")))?;
            events.push(event);
        }
        match self.plane.ingest_desktop_events(&host, events).await {
            Ok(Ok(())) => Ok(Response::new(Empty {})),
            Ok(Err((index, rejected))) => Err(Status::invalid_argument(format!("event {index}: {rejected}"))),
            Err(error) => Err(Status::unavailable(error.to_string())),
        }
    }

    async fn upload_recording(&self, request: Request<tonic::Streaming<proto::RecordingChunk>>) -> Result<Response<Empty>, Status> {
        let host = self.caller(&request).await?;
        let mut chunks = request.into_inner();
        let first = chunks.message().await?.ok_or_else(|| Status::invalid_argument("no recording was sent"))?;
        let id = RecordingId::parse(&first.session_id).ok_or_else(|| Status::invalid_argument(format!("{:?} is not a session id", first.session_id)))?;
        // A host uploads only the sessions of desktops it serves.
        let host_id = host.host_id.clone();
        let mut upload = self.plane.begin_recording_upload(id, Uploader::Host(host)).await.map_err(recording_status)?;
        // A node-sync upload lasts as long as its session: it ends when the
        // server stops (the session then ends, as its mode asks), so a
        // graceful shutdown does not wait for it.
        let mut stopping = self.stopping.clone();
        let mut chunk = Some(first);
        while let Some(next) = chunk {
            if next.data.len() > MAX_RECORDING_CHUNK {
                return Err(Status::invalid_argument(format!("a recording chunk carries at most {MAX_RECORDING_CHUNK} bytes")));
            }
            upload.write(&next.data).await.map_err(recording_status)?;
            chunk = tokio::select! {
                chunk = chunks.message() => chunk?,
                _ = stopping.changed() => return Err(Status::unavailable("the auth service is stopping; the recording's upload ended")),
            };
        }
        let record = upload.finish().await.map_err(recording_status)?;
        tracing::info!(recording = %record.id, host = %host_id, bytes = record.size, "recording stored");
        Ok(Response::new(Empty {}))
    }
}

/// The most events one `RecordEvents` call carries.
pub const MAX_EVENT_BATCH: usize = 1000;

/// The most bytes one `UploadRecording` chunk carries.
pub const MAX_RECORDING_CHUNK: usize = 1 << 20;

/// A refused or failed upload as the status the desktop service reads.
fn recording_status(error: RecordingError) -> Status {
    match error {
        RecordingError::Invalid(_) => Status::invalid_argument(error.to_string()),
        RecordingError::NotYours(_) => Status::permission_denied(error.to_string()),
        RecordingError::NotFound => Status::not_found(error.to_string()),
        RecordingError::NoStorage | RecordingError::Storage(_) | RecordingError::Store(_) => Status::unavailable(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_message_carries_per_session_mfa_and_its_desktop() {
        let message = proto::Grant {
            user: "alice".into(),
            login: "alice".into(),
            recording_mode: "node".into(),
            session_mfa: true,
            desktop_kind: "linux".into(),
            desktop: "desk-1".into(),
            ..Default::default()
        };
        let parts = grant_parts(message).unwrap();
        assert!(parts.options.session_mfa);
        assert_eq!((parts.session.desktop_kind, parts.session.desktop.as_str()), (DesktopKind::Linux, "desk-1"));
        let unknown = proto::Grant { recording_mode: "node".into(), desktop_kind: "macos".into(), ..Default::default() };
        assert_eq!(grant_parts(unknown).unwrap_err().message(), "unknown desktop kind \"macos\"");
    }
}
