//! A desktop service's connection to the auth service: the
//! [`SessionAuthority`] of a service on its own host, and its heartbeats
//! and renewals. The channel dials again by itself, so after an auth
//! restart calls work again as soon as it is back; meanwhile new sessions
//! are refused (nothing is allowed that cannot be checked) and running ones
//! go on.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use oriel_auth::audit::AuditEvent;
use oriel_auth::ca::{AUTH_SERVER_NAME, HostRole};
use oriel_auth::control_plane::{AccessDenied, SessionGrant, SessionTarget};
use oriel_auth::join_grant::JoinGrant;
use oriel_linux_desktop::authority::{AccessChanges, AuthorityError, BoxFuture, Locked, Revoked, SessionAuthority};
use oriel_rbac::DesktopKind;
use oriel_rbac::JoinMode;
use oriel_recorder::{DeliveryError, RecordingDestination, RecordingStream};
use tonic::transport::Channel;

use crate::accept::PeerRefusal;
use crate::credentials::HostCredentials;
use crate::event_spool::EventSpool;
use crate::proto::auth_client::AuthClient;
use crate::proto::{self, Empty};
use crate::tls::{LiveIdentity, TlsError};

/// A call that takes longer than this has failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A re-authorization that takes longer than this has failed (and the
/// session's grace runs): it is asked every second while the feed is down.
const RECHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the feed waits before it subscribes again after losing the
/// stream; sessions poll meanwhile.
const FEED_RETRY: Duration = Duration::from_secs(1);

/// See the module documentation.
#[derive(Clone)]
pub struct RemoteAuth {
    addr: String,
    host_ca_pem: String,
    /// The user CA's certificate (DER), to check user certificates here too.
    user_ca: Vec<u8>,
    identity: Arc<LiveIdentity>,
    client: Arc<RwLock<AuthClient<Channel>>>,
    /// The auth service's feed of access changes, followed by a task
    /// started on first use.
    feed: Arc<std::sync::OnceLock<tokio::sync::watch::Receiver<AccessChanges>>>,
    /// Where audit events wait for the auth service (`with_spool`).
    spool: Option<EventSpool>,
}

impl std::fmt::Debug for RemoteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAuth").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RemoteAuth {
    /// The auth service at `addr` (`HOST:PORT`), trusted through
    /// `credentials`' host CA, called as `identity`. Connects lazily.
    pub fn new(addr: &str, credentials: &HostCredentials, identity: Arc<LiveIdentity>) -> Result<Self, TlsError> {
        let client = Self::make_client(addr, &credentials.host_ca_pem, identity.clone())?;
        let user_ca = crate::tls::cert_der(&credentials.user_ca_pem, "user CA certificate")?.to_vec();
        Ok(Self {
            addr: addr.to_owned(),
            host_ca_pem: credentials.host_ca_pem.clone(),
            user_ca,
            identity,
            client: Arc::new(RwLock::new(client)),
            feed: Arc::default(),
            spool: None,
        })
    }

    /// This connection with audit events kept in `spool` until the auth
    /// service has them, and a task that sends them, in order, whenever it
    /// can (retrying with a backoff while it is away).
    pub fn with_spool(mut self, spool: EventSpool) -> Self {
        self.spool = Some(spool.clone());
        tokio::spawn(self.clone().drain(spool));
        self
    }

    async fn drain(self, spool: EventSpool) {
        const FIRST_BACKOFF: Duration = Duration::from_millis(500);
        const LONGEST_BACKOFF: Duration = Duration::from_secs(10);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let next = spool.clone();
            let pending = match tokio::task::spawn_blocking(move || next.next()).await {
                Ok(Ok(Some(pending))) => pending,
                Ok(Ok(None)) => {
                    spool.appended().await;
                    continue;
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, "cannot read the audit spool; trying again in 10 s");
                    tokio::time::sleep(LONGEST_BACKOFF).await;
                    continue;
                }
                Err(_) => return,
            };
            match self.send_events(&pending.events).await {
                Ok(()) => backoff = FIRST_BACKOFF,
                Err(status) if self.error(&status).retry_helps() => {
                    tracing::warn!(error = %self.error(&status), waiting = pending.events.len(), "cannot send audit events yet; they wait in the spool");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                    continue;
                }
                Err(status) => {
                    // Refused for good (an event the auth service will never
                    // take): kept in the log, not retried for ever.
                    for event in &pending.events {
                        tracing::error!(error = %self.error(&status), event = %event.to_json(), "the auth service refused an audit event");
                    }
                }
            }
            let sent = spool.clone();
            let end = pending.end;
            if let Ok(Err(error)) = tokio::task::spawn_blocking(move || sent.sent(end)).await {
                tracing::error!(%error, "cannot mark audit events as sent; they may be sent twice (and stored once)");
            }
        }
    }

    /// Sends `events` in calls of at most `MAX_EVENT_BATCH`.
    async fn send_events(&self, events: &[AuditEvent]) -> Result<(), tonic::Status> {
        for chunk in events.chunks(crate::auth_api::MAX_EVENT_BATCH) {
            let batch = proto::EventBatch { events: chunk.iter().map(|e| e.to_json().to_string()).collect() };
            self.client().record_events(Self::request(batch)).await?;
        }
        Ok(())
    }

    fn make_client(addr: &str, host_ca_pem: &str, identity: Arc<LiveIdentity>) -> Result<AuthClient<Channel>, TlsError> {
        let config = crate::tls::client_config(host_ca_pem, identity)?;
        let channel = crate::connect::tls_channel(addr.to_owned(), config, AUTH_SERVER_NAME.into(), host_ca_pem.to_owned(), HostRole::Auth)?;
        Ok(AuthClient::new(channel))
    }

    /// The auth service's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Starts new connections with the identity's current certificate (the
    /// auth service checks the one shown at the handshake, so a connection
    /// opened before a renewal would fail once the old one expires).
    pub fn reconnect(&self) -> Result<(), TlsError> {
        let client = Self::make_client(&self.addr, &self.host_ca_pem, self.identity.clone())?;
        *self.client.write().unwrap_or_else(std::sync::PoisonError::into_inner) = client;
        Ok(())
    }

    fn client(&self) -> AuthClient<Channel> {
        self.client.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn request<T>(message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(CALL_TIMEOUT);
        request
    }

    /// A fresh host certificate.
    pub async fn renew(&self) -> Result<HostCredentials, AuthorityError> {
        match self.client().renew_host(Self::request(Empty {})).await {
            Ok(response) => Ok(response.into_inner().into()),
            Err(status) => Err(self.error(&status)),
        }
    }

    /// Registers this host's desktop until `beat.expires_after_ms` from now.
    pub async fn heartbeat(&self, beat: proto::DesktopHeartbeat) -> Result<(), AuthorityError> {
        self.client().heartbeat(Self::request(beat)).await.map(|_| ()).map_err(|status| self.error(&status))
    }

    /// Follows the auth service's `WatchAccess` stream into `sender`: each
    /// message bumps the local generation; a lost stream marks the feed not
    /// live (sessions poll) and is subscribed again.
    async fn follow(self, sender: tokio::sync::watch::Sender<AccessChanges>) {
        loop {
            match self.client().watch_access(tonic::Request::new(Empty {})).await {
                Ok(response) => {
                    let mut stream = response.into_inner();
                    loop {
                        match stream.message().await {
                            Ok(Some(change)) => sender.send_modify(|state| {
                                state.generation += 1;
                                state.live = change.live;
                            }),
                            Ok(None) => break,
                            Err(status) => {
                                tracing::warn!(error = %self.error(&status), "the feed of access changes broke; sessions poll meanwhile");
                                break;
                            }
                        }
                    }
                }
                Err(status) => tracing::debug!(error = %self.error(&status), "cannot follow access changes yet"),
            }
            if sender.is_closed() {
                return;
            }
            sender.send_modify(|state| {
                state.live = false;
                state.generation += 1;
            });
            tokio::time::sleep(FEED_RETRY).await;
        }
    }

    /// What a failed call means: which side failed, and so whether trying
    /// again can help.
    fn error(&self, status: &tonic::Status) -> AuthorityError {
        // A status made from a transport error carries it as its source; one
        // the server sent has none.
        if std::error::Error::source(status).is_some() {
            return AuthorityError::Unreachable { addr: self.addr.clone(), reason: crate::join::status_chain(status) };
        }
        let message = status.message().to_owned();
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled | tonic::Code::ResourceExhausted | tonic::Code::Aborted => {
                AuthorityError::Unavailable(message)
            }
            tonic::Code::Unauthenticated
            | tonic::Code::PermissionDenied
            | tonic::Code::InvalidArgument
            | tonic::Code::FailedPrecondition
            | tonic::Code::NotFound => AuthorityError::Refused(message),
            _ => AuthorityError::Malformed(format!("{:?}: {message}", status.code())),
        }
    }
}

impl SessionAuthority for RemoteAuth {
    fn authorize_join<'a>(
        &'a self,
        certificate: &'a [u8],
        kind: DesktopKind,
        desktop: &'a str,
        owner_roles: &'a [String],
        mode: JoinMode,
    ) -> BoxFuture<'a, Result<JoinGrant, AccessDenied>> {
        Box::pin(async move {
            let query = proto::JoinQuery {
                certificate: certificate.to_vec(),
                owner_roles: owner_roles.to_vec(),
                mode: mode.as_str().to_owned(),
                desktop_kind: kind.as_str().to_owned(),
                desktop: desktop.to_owned(),
            };
            // The auth service decides, for a desktop this host serves.
            let answer = match self.client().authorize_join(Self::request(query)).await {
                Ok(answer) => answer.into_inner(),
                Err(status) if status.code() == tonic::Code::PermissionDenied => return Err(crate::auth_api::denial_of(&status)),
                Err(status) => return Err(AccessDenied::Unavailable(self.error(&status).to_string())),
            };
            let granted =
                JoinMode::parse(&answer.mode).ok_or_else(|| AccessDenied::Unavailable(format!("the auth service answered the join mode {:?}", answer.mode)))?;
            // This service checks the certificate itself, against the user CA it joined with.
            let verified = oriel_auth::ca::verify_user_with_root(&self.user_ca, certificate, std::time::SystemTime::now())?;
            Ok(JoinGrant::decided_remotely(&answer.user, granted, verified, mode)?)
        })
    }

    fn verify_user<'a>(&'a self, certificate: &'a [u8]) -> BoxFuture<'a, Result<String, AccessDenied>> {
        // Checked here, against the user CA this host joined with.
        Box::pin(async move { Ok(oriel_auth::ca::verify_user_with_root(&self.user_ca, certificate, std::time::SystemTime::now())?.user().to_owned()) })
    }

    fn authorize<'a>(
        &'a self,
        certificate: &'a [u8],
        kind: DesktopKind,
        desktop: &'a str,
        login: &'a str,
    ) -> BoxFuture<'a, Result<SessionGrant, AccessDenied>> {
        Box::pin(async move {
            let query = proto::SessionQuery {
                certificate: certificate.to_vec(),
                login: login.to_owned(),
                desktop_kind: kind.as_str().to_owned(),
                desktop: desktop.to_owned(),
            };
            // The auth service verifies the certificate, decides from the
            // current roles and locks, and records the decision.
            let parts = match self.client().authorize_session(Self::request(query)).await {
                Ok(grant) => crate::auth_api::grant_parts(grant.into_inner()).map_err(|status| AccessDenied::Unavailable(status.message().to_owned()))?,
                Err(status) if status.code() == tonic::Code::PermissionDenied => return Err(crate::auth_api::denial_of(&status)),
                Err(status) => return Err(AccessDenied::Unavailable(self.error(&status).to_string())),
            };
            // This service checks the certificate itself too, against the
            // user CA it joined with: the grant is made only from that
            // verified certificate, for its user and for the session asked.
            let verified = oriel_auth::ca::verify_user_with_root(&self.user_ca, certificate, std::time::SystemTime::now())?;
            let asked = SessionTarget { kind, desktop, login };
            Ok(SessionGrant::decided_remotely(parts, verified, &asked)?)
        })
    }

    fn lock_on<'a>(&'a self, grant: &'a SessionGrant) -> BoxFuture<'a, Result<Option<Locked>, AuthorityError>> {
        Box::pin(async move {
            let query = proto::LockQuery { grant: Some(crate::auth_api::grant_message(grant)) };
            match self.client().lock_on(Self::request(query)).await {
                Ok(state) => {
                    let state = state.into_inner();
                    Ok(state.locked.then(|| Locked { message: Some(state.message).filter(|m| !m.is_empty()) }))
                }
                Err(status) => Err(self.error(&status)),
            }
        })
    }

    fn still_allowed<'a>(&'a self, grant: &'a SessionGrant) -> BoxFuture<'a, Result<Option<Revoked>, AuthorityError>> {
        Box::pin(async move {
            let query = proto::SessionQuery {
                certificate: grant.certificate().to_vec(),
                login: grant.login().to_owned(),
                desktop_kind: grant.desktop_kind().as_str().to_owned(),
                desktop: grant.desktop().to_owned(),
            };
            let mut request = tonic::Request::new(query);
            request.set_timeout(RECHECK_TIMEOUT);
            let parts = match self.client().reauthorize(request).await {
                Ok(answer) => match crate::auth_api::grant_parts(answer.into_inner()) {
                    Ok(parts) => parts,
                    Err(status) => return Err(AuthorityError::Malformed(status.message().to_owned())),
                },
                Err(status) if status.code() == tonic::Code::PermissionDenied && std::error::Error::source(&status).is_none() => {
                    // The auth service refused the session, or this host (a
                    // revoked host certificate): either way it ends.
                    return Ok(Some(match crate::auth_api::denial_of(&status) {
                        AccessDenied::Locked(message) => Revoked::Locked { message },
                        _ => Revoked::Access { reason: status.message().strip_prefix("access denied: ").unwrap_or(status.message()).to_owned() },
                    }));
                }
                Err(status) => return Err(self.error(&status)),
            };
            // The answer must be about this very session.
            if parts.session.user != grant.user()
                || !grant.is_for(&SessionTarget { kind: parts.session.desktop_kind, desktop: &parts.session.desktop, login: &parts.session.login })
            {
                return Err(AuthorityError::Malformed(format!(
                    "the auth service re-authorized another session ({} as {})",
                    parts.session.user, parts.session.login
                )));
            }
            Ok(grant.withdrawn_by(&parts.options).map(|reason| Revoked::Access { reason }))
        })
    }

    fn access_changes(&self) -> tokio::sync::watch::Receiver<AccessChanges> {
        self.feed
            .get_or_init(|| {
                let (sender, receiver) = tokio::sync::watch::channel(AccessChanges::default());
                tokio::spawn(self.clone().follow(sender));
                receiver
            })
            .clone()
    }

    fn record_events(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(spool) = &self.spool {
                let kept = spool.clone();
                let batch = events.clone();
                match tokio::task::spawn_blocking(move || kept.append(&batch)).await {
                    Ok(Ok(())) => return,
                    Ok(Err(error)) => tracing::error!(%error, "cannot keep audit events in the spool; sending them straight away"),
                    Err(_) => tracing::error!("the audit spool's writer failed; sending the events straight away"),
                }
            }
            // Without a spool: a few tries, then the log keeps them.
            for attempt in 1..=3 {
                match self.send_events(&events).await {
                    Ok(()) => return,
                    Err(status) if attempt < 3 && self.error(&status).retry_helps() => {
                        tracing::warn!(error = %self.error(&status), attempt, "cannot record audit events yet; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    Err(status) => {
                        for event in &events {
                            tracing::error!(error = %self.error(&status), event = %event.to_json(), "cannot record an audit event");
                        }
                        return;
                    }
                }
            }
        })
    }
}

/// A desktop service's check of the proxies that dial its listener: the
/// auth service verifies the proxy's certificate again, revocations
/// included. While it cannot be asked, proxies are refused (no session
/// could be authorized then anyway).
impl crate::accept::PeerCheck for RemoteAuth {
    fn check<'a>(&'a self, cert_der: &'a [u8], _host: &'a oriel_auth::ca::HostIdentity) -> BoxFuture<'a, Result<(), PeerRefusal>> {
        Box::pin(async move {
            let query = proto::HostQuery { certificate: cert_der.to_vec() };
            match self.client().check_host(Self::request(query)).await {
                Ok(_) => Ok(()),
                Err(status) => {
                    let error = self.error(&status);
                    // Refused: the proxy's certificate, or this host's own
                    // (a revoked desktop service serves no proxy).
                    Err(if error.retry_helps() { PeerRefusal::Unavailable(error.to_string()) } else { PeerRefusal::Refused(error.to_string()) })
                }
            }
        })
    }

    fn changes(&self) -> tokio::sync::watch::Receiver<AccessChanges> {
        SessionAuthority::access_changes(self)
    }
}

/// Sends the file's bytes as upload chunks, the first naming the session.
/// Stops early (without error) if the call ended.
fn read_chunks(mut file: std::fs::File, session_id: &str, chunks: &tokio::sync::mpsc::Sender<proto::RecordingChunk>) -> std::io::Result<()> {
    use std::io::Read;
    let mut first = true;
    loop {
        let mut data = vec![0; crate::auth_api::MAX_RECORDING_CHUNK];
        let read = file.read(&mut data)?;
        if read == 0 && !first {
            return Ok(());
        }
        data.truncate(read);
        let session_id = if first { session_id.to_owned() } else { String::new() };
        first = false;
        if chunks.blocking_send(proto::RecordingChunk { session_id, data }).is_err() {
            return Ok(());
        }
    }
}

/// A `node-sync` recording on its way over one `UploadRecording` call.
struct StreamedRecording {
    auth: RemoteAuth,
    /// Sent with the first chunk only.
    session_id: Option<String>,
    chunks: tokio::sync::mpsc::Sender<proto::RecordingChunk>,
    call: Option<tokio::task::JoinHandle<Result<(), tonic::Status>>>,
}

impl StreamedRecording {
    /// Why the call ended early: its status, once it has one.
    async fn ended(&mut self) -> AuthorityError {
        match self.call.take() {
            Some(call) => match call.await {
                Ok(Ok(())) => AuthorityError::Malformed("the auth service ended the recording's upload before its end".into()),
                Ok(Err(status)) => self.auth.error(&status),
                Err(error) => AuthorityError::Unavailable(error.to_string()),
            },
            None => AuthorityError::Unavailable("the recording's upload already ended".into()),
        }
    }
}

/// Recordings go to the auth service over `UploadRecording`.
impl RecordingDestination for RemoteAuth {
    fn stream_recording<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Box<dyn RecordingStream>, DeliveryError>> {
        Box::pin(async move {
            let (chunks, sent) = tokio::sync::mpsc::channel(4);
            let client = self.client();
            // No call timeout: the call lasts as long as the session.
            let call =
                tokio::spawn(
                    async move { client.clone().upload_recording(tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(sent))).await.map(drop) },
                );
            let stream = StreamedRecording { auth: self.clone(), session_id: Some(id.to_owned()), chunks, call: Some(call) };
            Ok(Box::new(stream) as Box<dyn RecordingStream>)
        })
    }

    fn upload_recording<'a>(&'a self, id: &'a str, path: &'a std::path::Path) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let file = std::fs::File::open(path).map_err(|e| DeliveryError::unavailable(format!("cannot read {}: {e}", path.display())))?;
            let (chunks, sent) = tokio::sync::mpsc::channel(4);
            let session_id = id.to_owned();
            // Read on a blocking thread as the stream asks for chunks.
            let reader = tokio::task::spawn_blocking(move || read_chunks(file, &session_id, &chunks));
            // No call timeout: a long recording takes as long as it takes.
            let call = self.client().upload_recording(tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(sent))).await;
            let read = reader.await.map_err(|e| DeliveryError::unavailable(e.to_string()))?;
            read.map_err(|e| DeliveryError::unavailable(format!("cannot read {}: {e}", path.display())))?;
            call.map(drop).map_err(|status| self.error(&status).into())
        })
    }
}

impl RecordingStream for StreamedRecording {
    fn send(&mut self, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), DeliveryError>> {
        Box::pin(async move {
            for data in bytes.chunks(crate::auth_api::MAX_RECORDING_CHUNK) {
                let session_id = self.session_id.take().unwrap_or_default();
                if self.chunks.send(proto::RecordingChunk { session_id, data: data.to_vec() }).await.is_err() {
                    return Err(self.ended().await.into());
                }
            }
            Ok(())
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<(), DeliveryError>> {
        Box::pin(async move {
            let StreamedRecording { auth, chunks, call, .. } = *self;
            // The stream's end is the file's.
            drop(chunks);
            match call {
                Some(call) => match call.await {
                    Ok(result) => result.map_err(|status| auth.error(&status).into()),
                    Err(error) => Err(DeliveryError::unavailable(error.to_string())),
                },
                None => Err(DeliveryError::unavailable("the recording's upload already ended")),
            }
        })
    }
}
