//! One desktop session as the daemon sees it, from authorization to the
//! end: decide, start the session's own process (`session_process`), relay
//! TDPB between the browser and it, and end it when access ends (a lock,
//! the idle timeout, the certificate's expiry). The daemon never holds the
//! session's framebuffer, X connection or files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oriel_auth::audit::AuditEvent;
use oriel_rbac::RecordingMode;
use oriel_recorder::{RecordingSpool, SessionRecorder};
use oriel_recording::Source;
use oriel_tdpb::Limits;
use oriel_tdpb::pb::AlertSeverity;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::authority::{Revoked, SessionAuthority};
use crate::client_stream::{ClientReader, alert, write_frames};
use crate::frame_audit::FrameAudit;
use crate::frames::FrameConfig;
use crate::handshake::HelloError;
use crate::login::{self, LoginError, SessionMark};
use crate::session_audit::SessionAudit;
use crate::session_process::{Displays, SessionProcess, SessionProgram, pb};
use crate::x11::X11Error;
use crate::xsession::{self, XSession};
use crate::xvfb::XvfbError;

/// Who asks for a session, as a user certificate, and as which desktop
/// login. The service verifies the certificate against the cluster's user
/// CA and takes the user from it (never from a name it is told), then
/// decides itself whether the session is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    /// The user certificate (DER) the proxy holds for the logged-in user.
    pub certificate: Vec<u8>,
    /// The desktop login asked for.
    pub login: String,
    /// The session's id, chosen by the proxy so that its log, its
    /// recording (when the proxy records) and these events name one
    /// session; a new one when absent or not a UUID.
    pub session_id: Option<String>,
}

/// How often a running session is re-authorized while the feed of access
/// changes is down: a revocation ends it within this (plus one round trip).
/// While the feed is up, a change wakes it at once instead.
const RECHECK_POLL: Duration = Duration::from_secs(1);
/// How often a session is re-authorized anyway while the feed is up, for
/// what the feed does not watch (a desktop's labels).
const RECHECK_SAFETY: Duration = Duration::from_secs(10);
/// How long a session goes on while it cannot be re-authorized (the auth
/// service or its storage unreachable): long enough for a restart or a
/// network blip, short enough that access taken away meanwhile does not
/// last. After it the session ends: nothing runs that cannot be checked.
const AUTHORITY_GRACE: Duration = Duration::from_secs(30);
/// A re-authorization that has not answered in this long has failed (the
/// grace runs): a store or auth service that hangs must not hold a session
/// open past the grace.
const RECHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a session process gets to say why it ended once its output ended.
const END_WAIT: Duration = Duration::from_secs(5);

/// How often a recorded session's screen is sent whole (while it changes):
/// a seek in its recording replays at most this much.
pub const RECORDING_KEYFRAME_INTERVAL: Duration = Duration::from_secs(10);

/// Caps on what sessions may take of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Desktop sessions running on this host at once.
    pub max_sessions: usize,
    /// Desktop sessions one user runs on this host at once.
    pub max_sessions_per_user: usize,
    /// Directories one session shares at once.
    pub max_shared_directories: usize,
    /// The largest screen a session may have.
    pub max_screen: crate::x11::screen::MaxScreen,
}

impl Default for SessionLimits {
    /// 100 sessions per host (about 40 idle Xfce sessions fit in 24 GiB, see
    /// BENCHMARKS.md, so the host's memory is the tighter limit there), 10
    /// per user, 16 shared directories per session, screens up to 7680x4320.
    fn default() -> Self {
        Self {
            max_sessions: 100,
            max_sessions_per_user: 10,
            max_shared_directories: crate::shared_dir::DEFAULT_MAX_SHARED,
            max_screen: crate::x11::screen::MaxScreen::default(),
        }
    }
}

/// Settings of the Linux desktop service.
#[derive(Debug, Clone)]
pub struct DesktopConfig {
    /// This desktop's resource name (the service's persistent UUID).
    pub desktop_name: String,
    /// Where roles, users and locks are decided.
    pub authority: Arc<dyn SessionAuthority>,
    /// Directories of xsession `.desktop` entries, earlier ones first.
    pub xsession_dirs: Vec<PathBuf>,
    /// Which of those entries are offered.
    pub xsession_filter: xsession::XsessionFilter,
    /// Where per-session files (the Xauthority cookie) live.
    pub runtime_dir: PathBuf,
    /// Frame pacing and keyframes.
    pub frames: FrameConfig,
    /// The program each session runs in (`oriel session`).
    pub session_program: SessionProgram,
    /// Caps on sessions.
    pub limits: SessionLimits,
    /// Where sessions' recordings wait for upload.
    pub recordings: RecordingSpool,
}

/// Why a session ended early. Each variant says whose fault it was; the
/// message goes to the client as an ERROR alert unless the client is gone.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The client sent something that is not valid TDPB.
    #[error("malformed message from the client: {0}")]
    Malformed(String),
    /// The client broke the order of the exchange.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The hello could not be accepted.
    #[error(transparent)]
    Hello(#[from] HelloError),
    /// No desktop sessions on this host.
    #[error("no desktop sessions are installed on this host (install a desktop such as xfce4, or add a .desktop file to /usr/share/xsessions)")]
    NoXSessions,
    /// The client picked a session that does not exist.
    #[error("unknown desktop session {0:?}")]
    UnknownXSession(String),
    /// The display server did not start.
    #[error("the desktop could not start: {0}")]
    Xvfb(#[from] XvfbError),
    /// Talking to X failed.
    #[error("the desktop's display failed: {0}")]
    X11(#[from] X11Error),
    /// The frame encoder could not be set up.
    #[error("the frame encoder failed: {0}")]
    Encoder(#[source] oriel_qoiz::EncodeError),
    /// The login cannot have a session on this host.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The xsession could not be started.
    #[error("cannot start desktop session {name:?}: {error}")]
    XSessionSpawn {
        /// Session name.
        name: String,
        /// Cause.
        error: std::io::Error,
    },
    /// The user may not open this session (invalid certificate, roles, lock, unknown user).
    #[error(transparent)]
    Denied(#[from] oriel_auth::control_plane::AccessDenied),
    /// A lock appeared during the session.
    #[error("the session was locked by an administrator{}", .0.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Locked(Option<String>),
    /// Re-authorization refused the running session: the user was removed,
    /// the roles no longer allow it, the login it came from ended.
    #[error("your access to this desktop was revoked: {0}")]
    Revoked(String),
    /// The session could not be re-authorized for longer than the grace.
    #[error("the session ended because access could not be checked for {}s: {}", AUTHORITY_GRACE.as_secs(), .0)]
    Unverifiable(crate::authority::AuthorityError),
    /// The user certificate the session was granted on expired.
    #[error("your login expired; log in again to go on")]
    CertificateExpired,
    /// No keyboard or mouse input for the client idle timeout.
    #[error("the session was idle for {} (the client idle timeout) and was disconnected", crate::idle::describe(*.0))]
    Idle(Duration),
    /// The client took too long.
    #[error("timed out waiting for the client's {0}")]
    Timeout(&'static str),
    /// The session process said why it ended; the client was told already
    /// when `alerted`.
    #[error("{message}")]
    Desktop {
        /// What went wrong.
        message: String,
        /// The client has the alert already.
        alerted: bool,
        /// The client's doing (bad messages, a timeout), not the host's.
        client_fault: bool,
    },
    /// The session process ended without saying why (it crashed or was killed).
    #[error("the desktop session's process ended unexpectedly ({0}); nothing of the session is left running")]
    ProcessDied(String),
    /// A cap on sessions is reached.
    #[error("{0}")]
    TooManySessions(String),
    /// The session must be recorded and its recording cannot be written.
    #[error("the session cannot be recorded ({0}), and the roles require recording, so it ended")]
    Recording(String),
    /// Something inside this service failed; retrying may help.
    #[error("internal error of the desktop service: {0}")]
    Internal(String),
    /// The transport failed (no alert: it could not arrive).
    #[error("connection to the client failed: {0}")]
    Transport(#[from] std::io::Error),
}

impl SessionError {
    /// Whether the client caused it (bad messages, a timeout waiting for
    /// it), rather than this host.
    pub fn is_client_fault(&self) -> bool {
        match self {
            Self::Malformed(_) | Self::Protocol(_) | Self::Hello(_) | Self::UnknownXSession(_) | Self::Timeout(_) => true,
            Self::Desktop { client_fault, .. } => *client_fault,
            _ => false,
        }
    }
}

/// How a session ended without error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client closed the connection.
    ClientLeft,
    /// The desktop session's processes exited (the user logged out).
    DesktopExited(String),
}

/// The Linux desktop service: serves desktop sessions over any byte stream
/// that carries TDPB. The transport (in-process pipe, TLS, a reverse tunnel)
/// is the caller's business.
#[derive(Debug, Clone)]
pub struct LinuxDesktopService {
    config: Arc<DesktopConfig>,
    displays: Displays,
    running: Arc<Mutex<Running>>,
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
        Self { config: Arc::new(config), displays: Displays::default(), running: Arc::default() }
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

    /// Serves one session on `stream` until either side ends it. Errors are
    /// reported to the client as an ERROR alert before the stream closes.
    pub async fn serve<S>(&self, stream: S, request: SessionRequest) -> Result<SessionEnd, SessionError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let (out, out_rx) = mpsc::channel::<Vec<u8>>(16);
        let writer = tokio::spawn(write_frames(write, out_rx));
        let mut audit = SessionAudit::new(&self.config.desktop_name, &request.login, &request.certificate, request.session_id.as_deref());
        let result = self.run(ClientReader::new(read), &out, &request, &mut audit).await;
        let event = match &result {
            Err(error) if !audit.has_started() => audit.refused(&error.to_string()),
            Ok(SessionEnd::ClientLeft) => audit.ended(""),
            Ok(SessionEnd::DesktopExited(message)) => audit.ended(message),
            Err(error) => audit.ended(&error.to_string()),
        };
        self.record(vec![event]);
        let message = match &result {
            Ok(SessionEnd::ClientLeft) | Err(SessionError::Transport(_)) => None,
            Err(SessionError::Desktop { alerted: true, .. }) => None,
            Ok(SessionEnd::DesktopExited(_)) => None,
            Err(error) => Some(error.to_string()),
        };
        if let Some(message) = message {
            let _ = out.send(alert(&message, AlertSeverity::Error)).await;
        }
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

    async fn run<R: AsyncRead + Unpin + Send + 'static>(
        &self,
        client: ClientReader<R>,
        out: &mpsc::Sender<Vec<u8>>,
        request: &SessionRequest,
        audit: &mut SessionAudit,
    ) -> Result<SessionEnd, SessionError> {
        // Nothing starts before the certificate is verified and the roles
        // and locks allow it; the user is the one the certificate names.
        let plane = &self.config.authority;
        let desktop_name = self.config.desktop_name.as_str();
        let grant = plane.grant(&request.certificate, desktop_name, &request.login).await?;
        audit.verified(grant.user());
        audit.with_mfa(grant.options().session_mfa);
        tracing::info!(user = %grant.user(), login = %request.login, sid = %audit.sid, with_mfa = grant.options().session_mfa, "session authorized");
        let _slot = self.admit(grant.user())?;
        // The login must be a real account this service may become (or be
        // created, when the roles allow it) before anything starts.
        let account = login::resolve(&request.login, grant.options()).await?;
        let x_display = self.displays.reserve().ok_or_else(|| SessionError::Internal("no free X display number on this host".into()))?;
        let mark = SessionMark::new(account.uid);
        // In the proxy modes the proxy records what it relays; this service
        // still sends the keyframes a recording needs.
        let recorded = grant.options().record;
        let recorder = match recorded && !grant.recording_mode().at_proxy() {
            true => Some(self.start_recording(audit, grant.user(), &request.login, grant.recording_mode()).await?),
            false => None,
        };
        audit.recorded(recorded);
        let pacing = &self.config.frames;
        // A seek in a recording replays at most the frames since a keyframe.
        let keyframe_interval = match recorded {
            true => pacing.keyframe_interval.min(RECORDING_KEYFRAME_INTERVAL),
            false => pacing.keyframe_interval,
        };
        let launch = pb::Launch {
            account: Some((&*account).into()),
            display: x_display.name(),
            runtime_dir: self.config.runtime_dir.to_string_lossy().into_owned(),
            xsessions: self.xsessions().into_iter().map(|s| pb::XSession { name: s.name, exec: s.exec, path: s.path.to_string_lossy().into_owned() }).collect(),
            clipboard: grant.options().clipboard,
            directory_sharing: grant.options().directory_sharing,
            mark: mark.value().to_owned(),
            pacing: Some(pb::Pacing {
                min_interval_us: pacing.pacing.min_interval.as_micros() as u64,
                max_in_flight: pacing.pacing.max_in_flight as u32,
                ack_timeout_ms: pacing.pacing.ack_timeout.as_millis() as u64,
                keyframe_interval_ms: keyframe_interval.as_millis() as u64,
            }),
            max_shared_directories: self.config.limits.max_shared_directories as u32,
            max_screen_width: self.config.limits.max_screen.width.into(),
            max_screen_height: self.config.limits.max_screen.height.into(),
        };
        let spawned = SessionProcess::spawn(&self.config.session_program, &launch).await;
        let (mut process, data) = match spawned {
            Ok(spawned) => spawned,
            Err(error) => {
                self.finish_recording(recorder).await;
                return Err(SessionError::Internal(format!("cannot start the session process {}: {error}", self.config.session_program.path.display())));
            }
        };
        tracing::info!(pid = ?process.id(), x_display = %x_display.name(), login = %account.name, "session process started");
        self.record(vec![audit.started()]);
        let (process_read, process_write) = data.into_split();
        let (activity_tx, mut activity) = watch::channel(());
        let noting = FrameAudit::start(audit.clone(), plane.clone(), grant.options().clipboard, grant.options().directory_sharing);
        let mut to_process = tokio::spawn(pump_client(client, process_write, activity_tx, noting.clone(), recorder.clone()));
        let mut to_client = tokio::spawn(pump_process(process_read, out.clone(), noting.clone(), recorder.clone()));

        let mut changes = plane.access_changes();
        let mut feed_open = true;
        let mut recheck = tokio::time::interval(RECHECK_POLL);
        let mut access = Recheck::default();
        let idle_timeout = grant.options().idle_timeout;
        // Without a timeout the deadline is never reached (the branch is off).
        let idle = tokio::time::sleep(idle_timeout.unwrap_or(Duration::from_secs(86_400 * 365)));
        tokio::pin!(idle);
        // The session lasts no longer than the login it was granted on.
        let until_expiry = grant.certificate_expires().map(|at| at.duration_since(std::time::SystemTime::now()).unwrap_or_default());
        let expiry = tokio::time::sleep(until_expiry.unwrap_or(Duration::from_secs(86_400 * 365)));
        tokio::pin!(expiry);
        let mut ended: Option<pb::Ended> = None;
        let mut control_open = true;
        let result = loop {
            tokio::select! {
                reason = recording_failed(recorder.as_ref()) => break Err(SessionError::Recording(reason)),
                () = &mut expiry, if until_expiry.is_some() => break Err(SessionError::CertificateExpired),
                () = &mut idle, if idle_timeout.is_some() => break Err(SessionError::Idle(idle_timeout.expect("branch guard"))),
                Ok(()) = activity.changed() => {
                    if let Some(timeout) = idle_timeout {
                        idle.as_mut().reset(tokio::time::Instant::now() + timeout);
                    }
                }
                changed = changes.changed(), if feed_open => {
                    if changed.is_err() {
                        // The feed is gone for good: the poll carries on alone.
                        feed_open = false;
                    } else if let Some(end) = access.check(&**plane, &grant).await {
                        break Err(end);
                    }
                }
                _ = recheck.tick() => {
                    let live = feed_open && changes.borrow().live;
                    if access.due(live)
                        && let Some(end) = access.check(&**plane, &grant).await
                    {
                        break Err(end);
                    }
                }
                pumped = &mut to_process => match pumped {
                    // The browser left: closing the data stream ends the session process.
                    Ok(Ok(())) => break Ok(SessionEnd::ClientLeft),
                    Ok(Err(error)) => break Err(error),
                    Err(error) => break Err(SessionError::Internal(format!("the relay to the session failed: {error}"))),
                },
                pumped = &mut to_client => {
                    // The session process closed its output: it ended, or died.
                    if let Err(error) = pumped.map_err(|e| SessionError::Internal(e.to_string())).and_then(|r| r) {
                        break Err(error);
                    }
                    if ended.is_none() && control_open {
                        ended = wait_for_end(&mut process).await;
                    }
                    break self.ending(ended.take(), &mut process).await;
                }
                event = process.next_event(), if control_open => match event {
                    Ok(Some(pb::Event { event: Some(pb::event::Event::Started(started)) })) => {
                        tracing::info!(xsession = %started.xsession, pid = started.pid, "desktop session started");
                    }
                    Ok(Some(pb::Event { event: Some(pb::event::Event::Ended(end)) })) => ended = Some(end),
                    Ok(Some(_)) => {}
                    Ok(None) => control_open = false,
                    Err(error) => {
                        tracing::warn!(%error, "bad message from the session process");
                        control_open = false;
                    }
                },
            }
        };
        to_process.abort();
        to_client.abort();
        noting.finish().await;
        self.finish_recording(recorder).await;
        // The display number stays taken until the process has cleaned up
        // after itself (its Xvfb's socket and lock are gone).
        tokio::spawn(async move {
            let _ = process.wait().await;
            drop(x_display);
        });
        if let Err(error) = &result
            && matches!(
                error,
                SessionError::CertificateExpired | SessionError::Idle(_) | SessionError::Locked(_) | SessionError::Revoked(_) | SessionError::Unverifiable(_)
            )
        {
            self.record(vec![audit.disconnected(&error.to_string())]);
        }
        result
    }

    /// Starts recording the session `audit` describes; failing to means the
    /// session does not start.
    async fn start_recording(&self, audit: &SessionAudit, user: &str, login: &str, mode: RecordingMode) -> Result<SessionRecorder, SessionError> {
        let meta = oriel_recording::Meta {
            session_id: audit.sid.clone(),
            user: user.to_owned(),
            login: login.to_owned(),
            desktop: self.config.desktop_name.clone(),
            desktop_kind: "linux".into(),
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

    /// What the session process's end means, from what it said and how it exited.
    async fn ending(&self, ended: Option<pb::Ended>, process: &mut SessionProcess) -> Result<SessionEnd, SessionError> {
        use pb::ended::Reason;
        match ended {
            Some(end) => match end.reason() {
                Reason::ClientLeft => Ok(SessionEnd::ClientLeft),
                Reason::DesktopExited => Ok(SessionEnd::DesktopExited(end.message)),
                reason => Err(SessionError::Desktop { message: end.message, alerted: end.alerted, client_fault: reason == Reason::ClientError }),
            },
            None => {
                let status = match tokio::time::timeout(END_WAIT, process.wait()).await {
                    Ok(Ok(status)) => status.to_string(),
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "still running".into(),
                };
                tracing::warn!(%status, "the session process ended without saying why");
                Err(SessionError::ProcessDied(status))
            }
        }
    }
}

/// A running session's re-authorization: when it is due, and how long it
/// has failed.
#[derive(Debug)]
struct Recheck {
    last: tokio::time::Instant,
    failing_since: Option<tokio::time::Instant>,
}

impl Default for Recheck {
    fn default() -> Self {
        Self { last: tokio::time::Instant::now(), failing_since: None }
    }
}

impl Recheck {
    /// Whether the poll should ask now: every tick while the feed is down
    /// or the last answer failed, else only as the safety net.
    fn due(&self, feed_live: bool) -> bool {
        !feed_live || self.failing_since.is_some() || self.last.elapsed() >= RECHECK_SAFETY
    }

    /// Asks; `Some` is why the session must end.
    async fn check(&mut self, authority: &dyn SessionAuthority, grant: &oriel_auth::control_plane::SessionGrant) -> Option<SessionError> {
        self.last = tokio::time::Instant::now();
        let answer = match tokio::time::timeout(RECHECK_TIMEOUT, authority.still_allowed(grant)).await {
            Ok(answer) => answer,
            Err(_) => Err(crate::authority::AuthorityError::Unavailable(format!("no answer in {}s", RECHECK_TIMEOUT.as_secs()))),
        };
        match answer {
            Ok(None) => {
                self.failing_since = None;
                None
            }
            Ok(Some(Revoked::Locked { message })) => Some(SessionError::Locked(message)),
            Ok(Some(Revoked::Access { reason })) => Some(SessionError::Revoked(reason)),
            Err(error) => {
                let since = *self.failing_since.get_or_insert(self.last);
                // An answer that asking again cannot change (this host
                // refused, an answer not understood) ends it at once.
                if !error.retry_helps() || since.elapsed() >= AUTHORITY_GRACE {
                    tracing::warn!(%error, "access cannot be checked; ending the session");
                    return Some(SessionError::Unverifiable(error));
                }
                // A short outage does not end sessions; each tick asks again.
                tracing::warn!(%error, "cannot re-authorize the session yet");
                None
            }
        }
    }
}

/// Resolves when `recorder` cannot write; never without one.
async fn recording_failed(recorder: Option<&SessionRecorder>) -> String {
    match recorder {
        Some(recorder) => recorder.failed().await,
        None => std::future::pending().await,
    }
}

/// Reads the session process's last word after its output ended.
async fn wait_for_end(process: &mut SessionProcess) -> Option<pb::Ended> {
    let read = async {
        loop {
            match process.next_event().await {
                Ok(Some(pb::Event { event: Some(pb::event::Event::Ended(end)) })) => return Some(end),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    };
    tokio::time::timeout(END_WAIT, read).await.ok().flatten()
}

/// Browser to session process: whole frames only (the framing is checked
/// here, the messages there), noting a person's input for the idle timeout
/// and clipboard text for the audit log.
async fn pump_client<R: AsyncRead + Unpin>(
    mut client: ClientReader<R>,
    mut process: tokio::net::unix::OwnedWriteHalf,
    activity: watch::Sender<()>,
    noting: FrameAudit,
    recorder: Option<SessionRecorder>,
) -> Result<(), SessionError> {
    while let Some(frame) = client.next_frame().await? {
        if crate::idle::is_activity_frame(&frame) {
            activity.send_replace(());
        }
        noting.note(&frame, true).await;
        if let Some(recorder) = &recorder {
            recorder.record(&frame, Source::Browser);
            recorder.flush().await;
        }
        if process.write_all(&frame).await.is_err() {
            // The session process is gone; its end is reported by the other pump.
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

/// Session process to browser: whole frames, so an alert of the daemon's
/// never lands inside one; clipboard text is noted for the audit log.
async fn pump_process(
    mut process: tokio::net::unix::OwnedReadHalf,
    out: mpsc::Sender<Vec<u8>>,
    noting: FrameAudit,
    recorder: Option<SessionRecorder>,
) -> Result<(), SessionError> {
    const READ: usize = 256 * 1024;
    // Bytes go out as they were read, a run of whole frames at a time; only
    // the start of an unfinished frame is copied to the next buffer.
    let mut pending: Vec<u8> = Vec::with_capacity(READ);
    loop {
        pending.reserve(READ);
        match process.read_buf(&mut pending).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        let whole = oriel_tdpb::whole_frames(&pending, Limits::FROM_SERVER.max_frame_len)
            .map_err(|error| SessionError::Internal(format!("the session process sent a malformed frame: {error}")))?;
        if whole == 0 {
            continue;
        }
        // Frame by frame only when something may be noted or recorded:
        // this is the path every screen update takes.
        let mut at = 0;
        while (noting.wants_frames() || recorder.is_some())
            && let Ok(Some(len)) = oriel_tdpb::frame_len(&pending[at..whole], Limits::FROM_SERVER.max_frame_len)
        {
            let frame = &pending[at..at + len];
            noting.note(frame, false).await;
            if let Some(recorder) = &recorder {
                recorder.record(frame, Source::Desktop);
            }
            at += len;
        }
        if let Some(recorder) = &recorder {
            recorder.flush().await;
        }
        let rest = pending[whole..].to_vec();
        pending.truncate(whole);
        if out.send(std::mem::replace(&mut pending, rest)).await.is_err() {
            return Err(SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()));
        }
    }
}
