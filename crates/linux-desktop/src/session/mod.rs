//! One desktop session as the daemon sees it, from authorization to the
//! end: decide, start the session's own process (`session_process`), relay
//! TDPB between its viewers and it, and end it when access ends (a lock,
//! the idle timeout, the certificate's expiry) or when nobody resumed it
//! within the grace period. The daemon never holds the session's
//! framebuffer, X connection or files.
//!
//! `serve` takes one browser connection: a new session (`start`), or a
//! resume of a running one (`resume`). A running session is a task of its
//! own (`live.rs`), whose life (`life.rs`) outlasts its connections.

mod error;
mod life;
mod live;
mod participants;
mod pumps;
mod recheck;
mod registry;
mod request;
mod resume;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oriel_auth::audit::AuditEvent;
use oriel_rbac::{JoinMode, RecordingMode};
use oriel_recorder::SessionRecorder;
use oriel_tdpb::pb::AlertSeverity;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use error::{SessionEnd, SessionError};
pub use life::{LifeConfig, LifeEnd, SessionLife, ViewerId, ViewerMode};
pub use registry::RunningSession;
pub use request::{DEFAULT_DISCONNECT_GRACE, DesktopConfig, RdpAccount, RdpDesktop, SessionLimits, SessionRequest};

use crate::client_stream::{ClientReader, alert, write_frames};
use crate::login::{self, SessionMark};
use crate::session_audit::SessionAudit;
use crate::session_process::{Display, Displays, SessionProcess, pb};
use crate::xsession::{self, XSession};
use live::{Admission, Attach, LiveSession, VIEWER_QUEUE, ViewerStream};
use registry::LiveSessions;

/// How often a recorded session's screen is sent whole while it changes, at
/// most, once the frames since the last keyframe weigh as much as it did: a
/// seek in its recording replays about a keyframe's worth of frames.
pub const RECORDING_KEYFRAME_INTERVAL: Duration = Duration::from_secs(10);

/// How one connection was served.
enum Served {
    /// Refused before it reached a session: the client is alerted here.
    Refused(SessionError),
    /// It was a session's viewer; the session told it what there was to tell.
    Attached(Result<SessionEnd, SessionError>),
}

/// The Linux desktop service: serves desktop sessions over any byte stream
/// that carries TDPB. The transport (in-process pipe, TLS, a reverse tunnel)
/// is the caller's business.
#[derive(Debug, Clone)]
pub struct LinuxDesktopService {
    config: Arc<DesktopConfig>,
    displays: Displays,
    running: Arc<Mutex<Running>>,
    live: LiveSessions,
}

/// Sessions running now, per user.
#[derive(Debug, Default)]
struct Running {
    total: usize,
    per_user: HashMap<String, usize>,
}

/// A running session's place under the caps; given back when dropped.
struct Slot {
    running: Arc<Mutex<Running>>,
    user: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.total -= 1;
        if let Some(count) = running.per_user.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                running.per_user.remove(&self.user);
            }
        }
    }
}

impl LinuxDesktopService {
    /// A service with `config`.
    pub fn new(config: DesktopConfig) -> Self {
        // What sessions of a service that crashed left running ends now
        // (off the caller's thread: the /proc scan can wait on a stuck process).
        std::thread::spawn(login::sweep_orphans);
        Self { config: Arc::new(config), displays: Displays::default(), running: Arc::default(), live: LiveSessions::default() }
    }

    /// The settings it runs with.
    pub fn config(&self) -> &DesktopConfig {
        &self.config
    }

    /// The desktop sessions this host offers now.
    pub fn xsessions(&self) -> Vec<XSession> {
        let filter = &self.config.xsession_filter;
        xsession::list(&self.config.xsession_dirs).into_iter().filter(|s| filter.offers(&s.name)).collect()
    }

    /// The running sessions of `user` as `login` on this desktop, oldest first.
    pub fn running_sessions(&self, user: &str, login: &str) -> Vec<RunningSession> {
        self.live.of(user, login)
    }

    /// The running sessions, as `login`, of the user `certificate` names
    /// (verified, as for a session): what that user may offer to resume.
    pub async fn sessions_of(&self, certificate: &[u8], login: &str) -> Result<Vec<RunningSession>, SessionError> {
        let user = self.config.authority.verify_user(certificate).await?;
        Ok(self.live.of(&user, login))
    }

    /// Serves one browser connection on `stream` until it ends: a new
    /// session, or a resume of a running one (`SessionRequest::resume`).
    /// Errors are reported to the client as an ERROR alert before the
    /// stream closes. `Ok(SessionEnd::Detached)`: the connection went, the
    /// session waits to be resumed.
    pub async fn serve<S>(&self, stream: S, request: SessionRequest) -> Result<SessionEnd, SessionError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let (out, out_rx) = mpsc::channel::<Vec<u8>>(VIEWER_QUEUE);
        let writer = tokio::spawn(write_frames(write, out_rx));
        let client: ViewerStream = ClientReader::new(Box::new(read));
        let served = match (request.resume, request.join) {
            (_, Some(mode)) => self.join(client, out.clone(), &request, mode).await,
            (true, None) => self.resume(client, out.clone(), &request).await,
            (false, None) => {
                let audit = SessionAudit::new(self.config.kind, &self.config.desktop_name, &request.login, &request.certificate, request.session_id.as_deref());
                self.start(client, out.clone(), &request, audit).await
            }
        };
        let result = match served {
            Served::Attached(result) => result,
            Served::Refused(error) => {
                if !matches!(error, SessionError::Transport(_)) {
                    let _ = out.send(alert(&error.to_string(), AlertSeverity::Error)).await;
                }
                Err(error)
            }
        };
        drop(out);
        // The writer ends once every sender is gone.
        let _ = writer.await;
        result
    }

    /// Writes `events` without holding the session up (a remote auth
    /// service may take its time, or be away for a while).
    fn record(&self, events: Vec<AuditEvent>) {
        let authority = self.config.authority.clone();
        tokio::spawn(async move { authority.record_events(events).await });
    }

    /// Takes a place for `user`'s session under the caps.
    fn admit(&self, user: &str) -> Result<Slot, SessionError> {
        let limits = self.config.limits;
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.total >= limits.max_sessions {
            return Err(SessionError::TooManySessions(format!(
                "this desktop runs {} sessions, the most it may; try again when one has ended",
                limits.max_sessions
            )));
        }
        let mine = running.per_user.get(user).copied().unwrap_or(0);
        if mine >= limits.max_sessions_per_user {
            return Err(SessionError::TooManySessions(format!("you already have {mine} sessions on this desktop, the most one user may; end one first")));
        }
        running.total += 1;
        *running.per_user.entry(user.to_owned()).or_default() += 1;
        Ok(Slot { running: self.running.clone(), user: user.to_owned() })
    }

    /// Starts a new session and attaches `client` as its owner; `Err` when
    /// it cannot start (the caller alerts the client).
    async fn start(&self, client: ViewerStream, out: mpsc::Sender<Vec<u8>>, request: &SessionRequest, mut audit: SessionAudit) -> Served {
        match self.prepare(request, &mut audit).await {
            Ok((live, data)) => {
                let (attach, attaches) = mpsc::channel(4);
                self.live.insert(&live.audit.sid, live.grant.user(), live.grant.roles(), &request.login, attach.clone());
                let (done, ended) = oneshot::channel();
                let first = Attach { reader: client, out, admission: Admission::Start, done };
                // The channel has room: nothing else has its sender yet.
                let _ = attach.try_send(first);
                tokio::spawn(live.run(data, attaches).instrument(tracing::Span::current()));
                ended.await.map_or(Served::Refused(SessionError::Internal("the session ended before it took this connection".into())), Served::Attached)
            }
            Err(error) => {
                let event = match audit.has_started() {
                    true => audit.ended(&error.to_string()),
                    false => audit.refused(&error.to_string()),
                };
                self.record(vec![event]);
                Served::Refused(error)
            }
        }
    }

    /// Everything before the session runs: the decision, the caps, the
    /// account, the display, the recording and the process.
    async fn prepare(&self, request: &SessionRequest, audit: &mut SessionAudit) -> Result<(LiveSession, tokio::net::UnixStream), SessionError> {
        // Nothing starts before the certificate is verified and the roles
        // and locks allow it; the user is the one the certificate names.
        let plane = &self.config.authority;
        let desktop_name = self.config.desktop_name.as_str();
        let grant = plane.grant(&request.certificate, self.config.kind, desktop_name, &request.login).await?;
        audit.verified(grant.user());
        audit.with_mfa(grant.options().session_mfa);
        tracing::info!(user = %grant.user(), login = %request.login, sid = %audit.sid, with_mfa = grant.options().session_mfa, "session authorized");
        let slot = self.admit(grant.user())?;
        let host = match &self.config.rdp {
            // A Windows desktop: the account the login signs in with there.
            Some(rdp) => Some(rdp_host(rdp, desktop_name, &request.login)?),
            None => None,
        };
        // On a Linux desktop the login must be a real account this service
        // may become (or be created, when the roles allow it), with a
        // display of its own, before anything starts.
        let (account, x_display) = match host {
            Some(_) => (None, None),
            None => {
                let account = login::resolve(&request.login, grant.options()).await?;
                let x_display = self.displays.reserve().ok_or_else(|| SessionError::Internal("no free X display number on this host".into()))?;
                (Some(account), Some(x_display))
            }
        };
        let mark = account.as_ref().map(|account| SessionMark::new(account.uid));
        // In the proxy modes the proxy records what it relays; this service
        // still sends the keyframes a recording needs.
        let recorded = grant.options().record;
        let recorder = match recorded && !grant.recording_mode().at_proxy() {
            true => Some(self.start_recording(&*audit, grant.user(), &request.login, grant.recording_mode()).await?),
            false => None,
        };
        audit.recorded(recorded);
        let pacing = &self.config.frames;
        // A seek in a recording replays at most the frames since a keyframe.
        let keyframe_interval = match recorded {
            true => pacing.keyframe_interval.min(RECORDING_KEYFRAME_INTERVAL),
            false => pacing.keyframe_interval,
        };
        // What a Windows session cannot do (lossy video regions, which
        // need the X server's own picture) is not offered to it.
        let linux = host.is_none();
        let launch = pb::Launch {
            account: account.as_deref().map(Into::into),
            display: x_display.as_ref().map(Display::name).unwrap_or_default(),
            runtime_dir: self.config.runtime_dir.to_string_lossy().into_owned(),
            xsessions: match linux {
                true => {
                    self.xsessions().into_iter().map(|s| pb::XSession { name: s.name, exec: s.exec, path: s.path.to_string_lossy().into_owned() }).collect()
                }
                false => Vec::new(),
            },
            clipboard: grant.options().clipboard,
            directory_sharing: grant.options().directory_sharing,
            mark: mark.as_ref().map(|m| m.value().to_owned()).unwrap_or_default(),
            pacing: Some(pb::Pacing {
                min_interval_us: pacing.pacing.min_interval.as_micros() as u64,
                max_in_flight: pacing.pacing.max_in_flight as u32,
                ack_timeout_ms: pacing.pacing.ack_timeout.as_millis() as u64,
                keyframe_interval_ms: keyframe_interval.as_millis() as u64,
            }),
            max_shared_directories: self.config.limits.max_shared_directories as u32,
            max_screen_width: self.config.limits.max_screen.width.into(),
            max_screen_height: self.config.limits.max_screen.height.into(),
            x_server: self.config.x_server.name().into(),
            lossy: grant.options().lossy && linux,
            rdp: host,
        };
        let spawned = SessionProcess::spawn(&self.config.session_program, &launch).await;
        let (process, data) = match spawned {
            Ok(spawned) => spawned,
            Err(error) => {
                self.finish_recording(recorder).await;
                return Err(SessionError::Internal(format!("cannot start the session process {}: {error}", self.config.session_program.path.display())));
            }
        };
        tracing::info!(pid = ?process.id(), x_display = ?x_display.as_ref().map(Display::name), login = %request.login, "session process started");
        self.record(vec![audit.started()]);
        let config = LifeConfig {
            grace: self.config.disconnect_grace,
            idle_timeout: grant.options().idle_timeout,
            // The session lasts no longer than the login it was granted on.
            expires: grant.certificate_expires().map(live::instant_of),
        };
        let life = SessionLife::new(std::time::Instant::now(), config);
        Ok((LiveSession { service: self.clone(), grant, audit: audit.clone(), recorder, process, display: x_display, slot, life }, data))
    }

    /// Attaches `client` as a participant to someone else's running session
    /// the request names: the joiner's roles must allow it
    /// (`join_sessions`), and the owner must have invited them.
    async fn join(&self, mut client: ViewerStream, out: mpsc::Sender<Vec<u8>>, request: &SessionRequest, mode: JoinMode) -> Served {
        let sid = request.session_id.clone().unwrap_or_default();
        let Some((owner, owner_roles, attach)) = self.live.find_any(&sid) else {
            return Served::Refused(SessionError::NoSessionToJoin(sid));
        };
        let grant = match self.config.authority.authorize_join(&request.certificate, self.config.kind, &self.config.desktop_name, &owner_roles, mode).await {
            Ok(grant) => grant,
            Err(denied) => {
                let audit = SessionAudit::new(self.config.kind, &self.config.desktop_name, &request.login, &request.certificate, Some(&sid));
                self.record(vec![audit.join_refused(&owner, mode.as_str(), &denied.to_string())]);
                return Served::Refused(denied.into());
            }
        };
        if grant.user() == owner {
            return Served::Refused(SessionError::Protocol("this is your own session: resume it from your desktops instead of joining it".into()));
        }
        let hello = match resume::read_hello(&mut client, &out).await {
            Ok(Some(hello)) => hello,
            Ok(None) => return Served::Refused(SessionError::Transport(std::io::ErrorKind::UnexpectedEof.into())),
            Err(error) => return Served::Refused(error),
        };
        tracing::info!(participant = %grant.user(), %owner, %sid, %mode, "joining the session");
        let (done, ended) = oneshot::channel();
        let viewer = Attach { reader: client, out, admission: Admission::Join(hello, grant), done };
        if attach.send(viewer).await.is_err() {
            return Served::Refused(SessionError::NoSessionToJoin(sid));
        }
        // A session that ended with this connection still in its queue never answered it.
        ended.await.map_or(Served::Refused(SessionError::NoSessionToJoin(sid)), Served::Attached)
    }

    /// Attaches `client` to the running session the request names, after
    /// deciding again whether the user may have it (roles, locks, and a
    /// fresh per-session MFA where that applies).
    async fn resume(&self, mut client: ViewerStream, out: mpsc::Sender<Vec<u8>>, request: &SessionRequest) -> Served {
        let sid = request.session_id.clone().unwrap_or_default();
        let plane = &self.config.authority;
        let grant = match plane.grant(&request.certificate, self.config.kind, &self.config.desktop_name, &request.login).await {
            Ok(grant) => grant,
            Err(denied) => return Served::Refused(denied.into()),
        };
        // Someone else's session looks like none at all.
        let Some(attach) = self.live.find(&sid, grant.user(), &request.login) else {
            tracing::warn!(user = %grant.user(), %sid, "resume of a session that is not this user's, or not running");
            return Served::Refused(SessionError::NoSuchSession(sid));
        };
        let hello = match resume::read_hello(&mut client, &out).await {
            Ok(Some(hello)) => hello,
            Ok(None) => return Served::Refused(SessionError::Transport(std::io::ErrorKind::UnexpectedEof.into())),
            Err(error) => return Served::Refused(error),
        };
        tracing::info!(user = %grant.user(), login = %request.login, %sid, "resuming the session");
        let (done, ended) = oneshot::channel();
        let viewer = Attach { reader: client, out, admission: Admission::Resume(hello, grant), done };
        if attach.send(viewer).await.is_err() {
            return Served::Refused(SessionError::NoSuchSession(sid));
        }
        // A session that ended with this connection still in its queue never answered it.
        ended.await.map_or(Served::Refused(SessionError::NoSuchSession(sid)), Served::Attached)
    }

    /// Starts recording the session `audit` describes; failing to means the
    /// session does not start.
    async fn start_recording(&self, audit: &SessionAudit, user: &str, login: &str, mode: RecordingMode) -> Result<SessionRecorder, SessionError> {
        let meta = oriel_recording::Meta {
            session_id: audit.sid.clone(),
            user: user.to_owned(),
            login: login.to_owned(),
            desktop: self.config.desktop_name.clone(),
            desktop_kind: self.config.kind.as_str().into(),
            start: oriel_auth::audit::rfc3339(std::time::SystemTime::now()),
        };
        let started = match mode.is_sync() {
            true => SessionRecorder::to_auth_service(&*self.config.authority, &meta).await,
            false => SessionRecorder::to_spool(self.config.recordings.dir(), &meta).await,
        };
        tracing::info!(%mode, "the desktop service records this session");
        started.map_err(SessionError::Recording)
    }

    /// Closes the recording, if there is one, and queues it for upload.
    async fn finish_recording(&self, recorder: Option<SessionRecorder>) {
        let Some(recorder) = recorder else { return };
        match recorder.finish().await {
            Ok(Some(path)) => self.config.recordings.upload(path),
            Ok(None) => {}
            // The .part file stays: the spool closes it at the next start.
            Err(error) => tracing::error!(%error, "the session's recording could not be closed"),
        }
    }
}

/// The RDP host of `desktop` with the account `login` signs in with there.
fn rdp_host(rdp: &RdpDesktop, desktop: &str, login: &str) -> Result<pb::RdpHost, SessionError> {
    let Some(account) = rdp.accounts.get(login) else {
        return Err(SessionError::Desktop {
            message: format!("this service has no credentials for the login {login:?} on {desktop}; an administrator adds them to its credentials file"),
            alerted: false,
            client_fault: false,
        });
    };
    Ok(pb::RdpHost {
        addr: rdp.addr.clone(),
        server_name: rdp.server_name.clone(),
        certificate_pem: rdp.certificate_pem.clone(),
        ca_pem: rdp.ca_pem.clone(),
        username: account.username.clone(),
        password: account.password.clone(),
        domain: account.domain.clone(),
        desktop_name: desktop.to_owned(),
    })
}
