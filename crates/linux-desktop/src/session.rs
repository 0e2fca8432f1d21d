//! One desktop session from ClientHello to cleanup: start Xvfb and the
//! chosen xsession, relay input into X, stream frames out, and leave nothing
//! running when it ends.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use oriel_tdpb::pb::{self, AlertSeverity};
use oriel_tdpb::{FrameReader, Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use x11rb::rust_connection::RustConnection;

use crate::authority::SessionAuthority;
use crate::encoder::RectEncoder;
use crate::frames::{Command, FrameConfig, FrameLoop};
use crate::handshake::{self, Agreement, HelloError, Start};
use crate::keyboard::LayoutChoice;
use crate::login::{self, Account, HostSession, LoginError, SessionMark};
use crate::x11::capture::Capture;
use crate::shared_dir::{self, ShareError, SharedDirectories};
use crate::x11::clipboard::Clipboard;
use crate::x11::input::Input;
use crate::x11::screen::{Screen, ScreenSize};
use crate::x11::{self, X11Error};
use crate::x11::{keymap, keysym};
use crate::xsession::{self, XSession};
use crate::xvfb::{Xvfb, XvfbError};

/// How long a client may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the session picker may stay open.
const SELECTION_TIMEOUT: Duration = Duration::from_secs(600);
/// How long an xsession gets to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long text typing waits before it rebinds a spare keycode it has just
/// typed with (see `x11::text`).
const REBIND_PAUSE: Duration = Duration::from_millis(50);

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
}

/// How often a running session checks for a lock: a lock ends live
/// sessions within this (plus one round trip to storage).
const LOCK_POLL: Duration = Duration::from_secs(1);

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
    /// The user certificate the session was granted on expired.
    #[error("your login expired; log in again to go on")]
    CertificateExpired,
    /// No keyboard or mouse input for the client idle timeout.
    #[error("the session was idle for {} (the client idle timeout) and was disconnected", crate::idle::describe(*.0))]
    Idle(Duration),
    /// The client took too long.
    #[error("timed out waiting for the client's {0}")]
    Timeout(&'static str),
    /// The transport failed (no alert: it could not arrive).
    #[error("connection to the client failed: {0}")]
    Transport(#[from] std::io::Error),
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
}

impl LinuxDesktopService {
    /// A service with `config`.
    pub fn new(config: DesktopConfig) -> Self {
        // What sessions of a service that crashed left running ends now
        // (off the caller's thread: the /proc scan can wait on a stuck process).
        std::thread::spawn(login::sweep_orphans);
        Self { config: Arc::new(config) }
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
        let mut client = ClientReader::new(read);
        let result = self.run(&mut client, &out, &request).await;
        match &result {
            Ok(SessionEnd::DesktopExited(status)) => {
                let message = format!("the desktop session ended ({status})");
                let _ = out.send(alert(&message, AlertSeverity::Error)).await;
            }
            Ok(SessionEnd::ClientLeft) | Err(SessionError::Transport(_)) => {}
            Err(error) => {
                let _ = out.send(alert(&error.to_string(), AlertSeverity::Error)).await;
            }
        }
        drop(out);
        // The writer ends once the frame loop has let go of its sender too.
        let _ = writer.await;
        result
    }

    async fn run<R: AsyncRead + Unpin>(
        &self,
        client: &mut ClientReader<R>,
        out: &mpsc::Sender<Vec<u8>>,
        request: &SessionRequest,
    ) -> Result<SessionEnd, SessionError> {
        // Nothing starts before the certificate is verified and the roles
        // and locks allow it; the user is the one the certificate names.
        let plane = &self.config.authority;
        let desktop_name = self.config.desktop_name.as_str();
        let grant = plane.grant(&request.certificate, desktop_name, &request.login).await?;
        tracing::info!(user = %grant.user(), login = %request.login, "session authorized");
        // The login must be a real account this service may become (or be
        // created, when the roles allow it) before anything starts.
        let account = login::resolve(&request.login, grant.options()).await?;
        let wait_hello = async {
            loop {
                match client.next().await? {
                    None => return Ok(None),
                    Some(Payload::ClientHello(hello)) => return Ok(Some(hello)),
                    // The proxy measures latency from the first moment on.
                    Some(Payload::Ping(ping)) => send(out, Payload::Ping(ping)).await?,
                    Some(other) => {
                        return Err(SessionError::Protocol(format!("expected ClientHello, got {}", name(&other))));
                    }
                }
            }
        };
        let hello = match tokio::time::timeout(HELLO_TIMEOUT, wait_hello).await {
            Err(_) => return Err(SessionError::Timeout("ClientHello")),
            Ok(result) => match result? {
                None => return Ok(SessionEnd::ClientLeft),
                Some(hello) => hello,
            },
        };
        let agreement = handshake::agree(&hello)?;
        let sessions = self.xsessions();
        let start = handshake::start(&sessions);
        if start == Start::Nothing {
            return Err(SessionError::NoXSessions);
        }
        let owner = login::service_is_root().then_some((account.uid, account.gid));
        let prepared = start_display(self.config.runtime_dir.clone(), owner, agreement.screen, agreement.keyboard.clone()).await?;
        tracing::info!(x_display = %prepared.xvfb.display_name(), user = %agreement.username, codec = ?agreement.codec, keyboard = %prepared.keyboard.layout, "display started");
        let directory_sharing = grant.options().directory_sharing && shared_dir::fuse_available();
        send(out, Payload::ServerHello(server_hello(&agreement, &sessions, grant.options().clipboard, directory_sharing))).await?;
        if let Some(warning) = &prepared.keyboard.warning {
            tracing::warn!(warning, "keyboard layout not set");
            out.send(alert(warning, AlertSeverity::Warning)).await.map_err(|_| SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()))?;
        }

        let chosen = match start {
            Start::Now(session) => session,
            Start::AskClient => wait_for_selection(client, &sessions).await?,
            Start::Nothing => unreachable!("handled above"),
        };
        let host = HostSession::open(account.clone(), prepared.xvfb.display_name()).await?;
        let mut desktop = Desktop::start(prepared, &chosen, account.clone(), host)?;
        let encoder = RectEncoder::new(agreement.codec)
            .map_err(SessionError::Encoder)?
            .ok_or(HelloError::NoCodec)?;
        let (frame_loop, mut loop_ended) = FrameLoop::spawn(
            desktop.conn.clone(),
            desktop.screen.take().expect("screen set up"),
            desktop.capture.take().expect("capture set up"),
            encoder,
            self.config.frames.clone(),
            out.clone(),
        )?;
        // Only when the roles allow it does the service touch the desktop's X selections.
        if grant.options().clipboard {
            desktop.share_clipboard(out.clone())?;
        }
        if directory_sharing {
            desktop.share_directories(out.clone());
        }
        tracing::info!(xsession = %chosen.name, "desktop session started");

        let mut lock_poll = tokio::time::interval(LOCK_POLL);
        let idle_timeout = grant.options().idle_timeout;
        // Without a timeout the deadline is never reached (the branch is off).
        let idle = tokio::time::sleep(idle_timeout.unwrap_or(Duration::from_secs(86_400 * 365)));
        tokio::pin!(idle);
        // The session lasts no longer than the login it was granted on.
        let until_expiry = grant.certificate_expires().map(|at| at.duration_since(std::time::SystemTime::now()).unwrap_or_default());
        let expiry = tokio::time::sleep(until_expiry.unwrap_or(Duration::from_secs(86_400 * 365)));
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                () = &mut expiry, if until_expiry.is_some() => {
                    let error = SessionError::CertificateExpired;
                    plane.record_disconnect(&grant, &error.to_string()).await;
                    return Err(error);
                }
                () = &mut idle, if idle_timeout.is_some() => {
                    let error = SessionError::Idle(idle_timeout.expect("branch guard"));
                    plane.record_disconnect(&grant, &error.to_string()).await;
                    return Err(error);
                }
                _ = lock_poll.tick() => {
                    match plane.lock_on(&grant).await {
                        Ok(Some(lock)) => {
                            let error = SessionError::Locked(lock.message);
                            plane.record_disconnect(&grant, &error.to_string()).await;
                            return Err(error);
                        }
                        Ok(None) => {}
                        // Storage or auth service hiccups do not end sessions; a lock is seen on the next tick.
                        Err(error) => tracing::warn!(%error, "cannot check locks"),
                    }
                }
                payload = client.next() => match payload? {
                    None => return Ok(SessionEnd::ClientLeft),
                    Some(payload) => {
                        if let Some(timeout) = idle_timeout
                            && crate::idle::is_activity(&payload)
                        {
                            idle.as_mut().reset(tokio::time::Instant::now() + timeout);
                        }
                        desktop.handle(payload, &frame_loop, out).await?
                    }
                },
                status = desktop.xsession.wait() => {
                    let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                    return Ok(SessionEnd::DesktopExited(status));
                }
                reason = &mut loop_ended => {
                    let reason = reason.unwrap_or_else(|_| "frame loop stopped".into());
                    return Err(SessionError::X11(X11Error::Connect(reason)));
                }
            }
        }
    }
}

/// A display whose X connection is ready, before an xsession runs on it.
struct Display {
    xvfb: Xvfb,
    conn: Arc<RustConnection>,
    screen: Screen,
    capture: Capture,
    /// The layout the keyboard has, and why it is not the one asked for.
    keyboard: LayoutChoice,
}

async fn start_display(runtime_dir: PathBuf, owner: Option<(u32, u32)>, size: ScreenSize, keyboard: LayoutChoice) -> Result<Display, SessionError> {
    tokio::task::spawn_blocking(move || {
        let xvfb = Xvfb::start(&runtime_dir, owner)?;
        let conn = x11::connect(&xvfb.socket_path(), xvfb.cookie())?;
        let mut screen = Screen::default();
        screen.resize(&conn, size)?;
        let capture = Capture::new(&conn, size.width.into(), size.height.into())?;
        // Before the xsession starts, so its clients read the layout's keymap
        // first; while `conn` is open, or the server would reset the keymap.
        let keyboard = keymap::set_up(&xvfb.display_name(), xvfb.xauthority(), keyboard);
        Ok(Display { xvfb, conn: Arc::new(conn), screen, capture, keyboard })
    })
    .await
    .map_err(|e| SessionError::Transport(std::io::Error::other(e)))?
}

/// A running desktop: Xvfb plus the xsession's process group. Dropping it
/// stops both, however the session ended.
struct Desktop {
    // Field order matters: the xsession is signalled in Drop, then Xvfb dies.
    xsession: tokio::process::Child,
    xsession_group: Option<rustix::process::Pid>,
    /// Finds the session's processes that left its process group.
    mark: SessionMark,
    /// Whom the session runs as.
    account: Arc<Account>,
    /// PAM session and utmp record, closed after the processes are told to end.
    _host: HostSession,
    input: Input,
    conn: Arc<RustConnection>,
    screen: Option<Screen>,
    capture: Option<Capture>,
    /// The clipboard shared with the browser, when the roles allow it.
    clipboard: Option<Clipboard>,
    /// Directories the browser shares, when the roles and FUSE allow it;
    /// unmounted when the desktop goes.
    shared: Option<SharedDirectories>,
    _xvfb: Xvfb,
}

impl Desktop {
    fn start(display: Display, chosen: &XSession, account: Arc<Account>, mut host: HostSession) -> Result<Self, SessionError> {
        let mark = SessionMark::new(account.uid);
        let mut variables = vec![
            ("DISPLAY", display.xvfb.display_name().into()),
            ("XAUTHORITY", display.xvfb.xauthority().as_os_str().to_owned()),
            ("XDG_SESSION_TYPE", "x11".into()),
            ("XDG_SESSION_CLASS", "user".into()),
            // Where pam_systemd would make /run/user/<uid>: the session's
            // own directory, the login's alone, removed when it ends.
            ("XDG_RUNTIME_DIR", display.xvfb.session_dir().as_os_str().to_owned()),
        ];
        // Without a locale X clients run in C and cannot type or show
        // anything beyond ASCII: the service's locale, or UTF-8.
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|name| std::env::var_os(name).filter(|v| !v.is_empty()).map(|v| (*name, v)));
        variables.push(locale.unwrap_or(("LANG", "C.UTF-8".into())));
        let env = login::SessionEnv { variables, pam: host.environment() };
        let mut command = login::xsession_command(&account, &chosen.exec, env, &mark, dbus_run_session());
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut xsession = command
            .spawn()
            .map_err(|error| SessionError::XSessionSpawn { name: chosen.name.clone(), error })?;
        if let Some(stderr) = xsession.stderr.take() {
            tokio::spawn(log_xsession_output(stderr));
        }
        let xsession_group = xsession.id().and_then(|pid| rustix::process::Pid::from_raw(pid as i32));
        if let Some(pid) = xsession.id() {
            host.record_login(&account, &display.xvfb.display_name(), pid);
        }
        tracing::info!(login = %account.name, uid = account.uid, pid = ?xsession.id(), "xsession process started");
        let input = Input::new(&display.conn)?;
        Ok(Self {
            xsession,
            xsession_group,
            mark,
            account,
            _host: host,
            input,
            conn: display.conn,
            screen: Some(display.screen),
            capture: Some(display.capture),
            clipboard: None,
            shared: None,
            _xvfb: display.xvfb,
        })
    }

    /// Shares the clipboard both ways, on an X connection of its own.
    fn share_clipboard(&mut self, out: mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        self.clipboard = Some(Clipboard::start(&self._xvfb.socket_path(), self._xvfb.cookie(), out)?);
        Ok(())
    }

    /// Lets the browser share directories as folders in the home directory.
    fn share_directories(&mut self, out: mpsc::Sender<Vec<u8>>) {
        let owner = shared_dir::Owner { uid: self.account.uid, gid: self.account.gid };
        self.shared = Some(SharedDirectories::new(self.account.home.clone(), owner, out));
    }

    /// Mounts an announced directory, or refuses it with a WARNING alert
    /// (sharing off or FUSE missing); the session goes on either way.
    async fn share(&mut self, announce: pb::SharedDirectoryAnnounce, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        let result = match &mut self.shared {
            Some(shared) => shared.announce(announce).await.map(drop),
            None => {
                let why = if shared_dir::fuse_available() { ShareError::Disabled } else { ShareError::NoFuse };
                shared_dir::refuse(out, &announce, &why).await
            }
        };
        match result {
            Err(ShareError::ClientGone) => Err(SessionError::Transport(std::io::ErrorKind::BrokenPipe.into())),
            // Already told to the client and logged.
            _ => Ok(()),
        }
    }

    /// Text the browser copied becomes the desktop's clipboard, if the
    /// roles allow it; otherwise it goes nowhere and the user is told.
    async fn paste(&self, data: Vec<u8>, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        let Some(clipboard) = &self.clipboard else {
            tracing::warn!(bytes = data.len(), "clipboard data from the client ignored: the roles turn clipboard sharing off");
            let message = "clipboard sharing is off for this session (desktop_clipboard in your roles); the text was not copied to the desktop";
            return out.send(alert(message, AlertSeverity::Warning)).await.map_err(|_| SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()));
        };
        let text = String::from_utf8(data).map_err(|error| {
            SessionError::Malformed(format!("ClipboardData.data is not UTF-8 text (invalid byte at offset {})", error.utf8_error().valid_up_to()))
        })?;
        // Input after this message (a paste key) is to find the text on the
        // desktop's clipboard: wait until it is there, within reason.
        let _ = tokio::time::timeout(crate::x11::clipboard::TAKE_WAIT, clipboard.browser_copied(text)).await;
        Ok(())
    }

    async fn handle(&mut self, payload: Payload, frames: &FrameLoop, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        let conn = &*self.conn;
        match payload {
            Payload::KeyboardButton(key) => {
                if !self.input.key(conn, &key)? {
                    tracing::debug!(scancode = format_args!("{:#x}", key.key_code), "unknown scancode ignored");
                }
            }
            Payload::KeyboardText(text) => {
                let keysyms: Vec<u32> = text.text.chars().filter_map(keysym::for_char).collect();
                let mut rest = &keysyms[..];
                while !rest.is_empty() {
                    rest = &rest[self.input.text(conn, rest)?..];
                    if !rest.is_empty() {
                        // Every spare keycode typed something just now: let
                        // the X clients read those presses before any is rebound.
                        tokio::time::sleep(REBIND_PAUSE).await;
                    }
                }
            }
            Payload::MouseMove(m) => self.input.motion(conn, m.x, m.y)?,
            Payload::MouseButton(button) => self.input.button(conn, &button)?,
            Payload::MouseWheel(wheel) => self.input.wheel(conn, &wheel)?,
            Payload::SyncKeys(keys) => self.input.sync_locks(conn, &keys)?,
            Payload::FrameAck(ack) => {
                frames.send(Command::Ack(ack.frame_id));
            }
            Payload::ClientScreenSpec(spec) => {
                frames.send(Command::Resize(ScreenSize::fit(spec.width, spec.height, spec.scale)));
            }
            Payload::ClipboardData(clipboard) => self.paste(clipboard.data, out).await?,
            Payload::SharedDirectoryAnnounce(announce) => self.share(announce, out).await?,
            Payload::SharedDirectoryResponse(response) => match &self.shared {
                Some(shared) => shared.response(response),
                None => tracing::debug!("shared directory answer without sharing ignored"),
            },
            Payload::SharedDirectoryRemove(remove) => {
                if let Some(shared) = &mut self.shared {
                    shared.remove(remove);
                }
            }
            Payload::Ping(ping) => send(out, Payload::Ping(ping)).await?,
            other => tracing::debug!(message = name(&other), "ignored message from the client"),
        }
        Ok(())
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.input.release_all(&self.conn);
        if let Some(group) = self.xsession_group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
            // Whatever ignores SIGTERM is killed after a grace period; Xvfb
            // (dropped right after this) takes the X clients with it anyway.
            std::thread::spawn(move || {
                std::thread::sleep(TERM_GRACE);
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            });
        }
        // What left the group (a D-Bus daemon, a setsid'd helper) carries the mark.
        self.mark.end_processes();
    }
}

fn dbus_run_session() -> Option<&'static std::path::Path> {
    ["/usr/bin/dbus-run-session", "/bin/dbus-run-session"].into_iter().map(std::path::Path::new).find(|p| p.exists())
}

async fn wait_for_selection<R: AsyncRead + Unpin>(
    client: &mut ClientReader<R>,
    sessions: &[XSession],
) -> Result<XSession, SessionError> {
    let wait = async {
        loop {
            match client.next().await? {
                None => return Err(SessionError::Transport(std::io::ErrorKind::UnexpectedEof.into())),
                Some(Payload::SessionSelection(selection)) => {
                    return handshake::select(sessions, &selection.xsession)
                        .cloned()
                        .ok_or(SessionError::UnknownXSession(selection.xsession));
                }
                // Input before a desktop exists has nowhere to go.
                Some(_) => continue,
            }
        }
    };
    tokio::time::timeout(SELECTION_TIMEOUT, wait).await.map_err(|_| SessionError::Timeout("SessionSelection"))?
}

fn server_hello(agreement: &Agreement, sessions: &[XSession], clipboard: bool, directory_sharing: bool) -> pb::ServerHello {
    pb::ServerHello {
        width: agreement.screen.width.into(),
        height: agreement.screen.height.into(),
        clipboard_enabled: clipboard,
        directory_remove_supported: directory_sharing,
        directory_sharing_enabled: directory_sharing,
        xsessions: sessions.iter().map(|s| pb::XSession { name: s.name.clone() }).collect(),
        hidpi_supported: true,
        protocol_version: agreement.version,
        codec: agreement.codec as i32,
    }
}

/// Reads TDPB frames from the client, skipping payloads this version does not know.
struct ClientReader<R> {
    read: R,
    frames: FrameReader,
    buf: Box<[u8]>,
}

impl<R: AsyncRead + Unpin> ClientReader<R> {
    fn new(read: R) -> Self {
        Self { read, frames: FrameReader::new(Limits::FROM_CLIENT.max_frame_len), buf: vec![0; 64 * 1024].into() }
    }

    /// The next known message; `None` when the client closed the stream.
    /// Cancel-safe: bytes already read stay buffered.
    async fn next(&mut self) -> Result<Option<Payload>, SessionError> {
        loop {
            match self.frames.next_frame() {
                Ok(Some(frame)) => match decode_frame(frame, Limits::FROM_CLIENT) {
                    Ok(Some(payload)) => return Ok(Some(payload)),
                    Ok(None) => continue,
                    Err(error) => return Err(SessionError::Malformed(error.to_string())),
                },
                Ok(None) => {}
                Err(error) => return Err(SessionError::Malformed(error.to_string())),
            }
            let n = self.read.read(&mut self.buf).await?;
            if n == 0 {
                if self.frames.buffered() > 0 {
                    return Err(SessionError::Malformed("the stream ended inside a frame".into()));
                }
                return Ok(None);
            }
            self.frames.push(&self.buf[..n]);
        }
    }
}

async fn write_frames<W: AsyncWrite>(write: W, mut frames: mpsc::Receiver<Vec<u8>>) {
    let mut write = std::pin::pin!(write);
    while let Some(frame) = frames.recv().await {
        if write.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

async fn log_xsession_output(stderr: tokio::process::ChildStderr) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "xsession", "{line}");
    }
}

async fn send(out: &mpsc::Sender<Vec<u8>>, payload: Payload) -> Result<(), SessionError> {
    out.send(encode_frame(payload))
        .await
        .map_err(|_| SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()))
}

fn alert(message: &str, severity: AlertSeverity) -> Vec<u8> {
    let mut message = message.to_owned();
    message.truncate(oriel_tdpb::limits::MAX_ALERT_LEN);
    encode_frame(Payload::Alert(pb::Alert { message, severity: severity as i32 }))
}

/// A message's name for logs and errors.
fn name(payload: &Payload) -> &'static str {
    match payload {
        Payload::ClientHello(_) => "ClientHello",
        Payload::ServerHello(_) => "ServerHello",
        Payload::SyncKeys(_) => "SyncKeys",
        Payload::MouseMove(_) => "MouseMove",
        Payload::MouseButton(_) => "MouseButton",
        Payload::KeyboardButton(_) => "KeyboardButton",
        Payload::ClientScreenSpec(_) => "ClientScreenSpec",
        Payload::Alert(_) => "Alert",
        Payload::MouseWheel(_) => "MouseWheel",
        Payload::LatencyStats(_) => "LatencyStats",
        Payload::Ping(_) => "Ping",
        Payload::SessionSelection(_) => "SessionSelection",
        Payload::FrameRect(_) => "FrameRect",
        Payload::FrameAck(_) => "FrameAck",
        Payload::CursorImage(_) => "CursorImage",
        Payload::KeyboardText(_) => "KeyboardText",
        Payload::ClipboardData(_) => "ClipboardData",
        Payload::SharedDirectoryAnnounce(_) => "SharedDirectoryAnnounce",
        Payload::SharedDirectoryAcknowledge(_) => "SharedDirectoryAcknowledge",
        Payload::SharedDirectoryRequest(_) => "SharedDirectoryRequest",
        Payload::SharedDirectoryResponse(_) => "SharedDirectoryResponse",
        Payload::SharedDirectoryRemove(_) => "SharedDirectoryRemove",
    }
}
