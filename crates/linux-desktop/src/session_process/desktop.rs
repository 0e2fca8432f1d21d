//! The desktop of one session, inside the session process's unprivileged
//! part: the X display, the xsession on it, and what the browser's messages
//! do to them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::x11::X11Connection;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, AlertSeverity};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use crate::client_stream::{ClientReader, alert, log_xsession_output, send};
use crate::frames::{Command, FrameLoop};
use crate::handshake::{self, Agreement};
use crate::ipc_namespace::PrivateIpc;
use crate::keyboard::LayoutChoice;
use crate::login::{self, Account, SessionMark};
use crate::session::SessionError;
use crate::shared_dir::{self, Mounter, ShareError, SharedDirectories};
use crate::x11::capture::Capture;
use crate::x11::clipboard::Clipboard;
use crate::x11::framebuffer::Framebuffer;
use crate::x11::input::Input;
use crate::x11::screen::{MaxScreen, Screen, ScreenSize};
use crate::x11::{self, keymap, keysym};
use crate::xsession::XSession;
use crate::xvfb::{XServer, Xvfb};

/// How long the session picker may stay open.
const SELECTION_TIMEOUT: Duration = Duration::from_secs(600);
/// How long an xsession gets to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long text typing waits before it rebinds a spare keycode it has just
/// typed with (see `x11::text`).
const REBIND_PAUSE: Duration = Duration::from_millis(50);

/// A display whose X connection is ready, before an xsession runs on it.
pub(super) struct Display {
    pub(super) xvfb: Xvfb,
    conn: Arc<X11Connection>,
    screen: Screen,
    capture: Capture,
    /// The layout the keyboard has, and why it is not the one asked for.
    pub(super) keyboard: LayoutChoice,
}

pub(super) async fn start_display(
    session_dir: PathBuf,
    number: u32,
    size: ScreenSize,
    max: MaxScreen,
    server: XServer,
    private_ipc: Option<Arc<PrivateIpc>>,
    keyboard: LayoutChoice,
) -> Result<Display, SessionError> {
    tokio::task::spawn_blocking(move || {
        let xvfb = Xvfb::start(&session_dir, Some(number), max, size, server, private_ipc.as_deref())?;
        let conn = x11::connect(&xvfb.socket_path(), xvfb.cookie())?;
        let mut screen = Screen::default();
        screen.resize(&conn, size)?;
        let framebuffer = xvfb
            .shared_framebuffer()
            .and_then(|shared| Framebuffer::attach(shared).inspect_err(|error| tracing::warn!(%error, "capturing with GetImage")).ok());
        let capture = Capture::new(&conn, size.width.into(), size.height.into(), framebuffer)?;
        // Before the xsession starts, so its clients read the layout's keymap
        // first; while `conn` is open, or the server would reset the keymap.
        let keyboard = keymap::set_up(&xvfb.display_name(), xvfb.xauthority(), keyboard);
        Ok(Display { xvfb, conn: Arc::new(conn), screen, capture, keyboard })
    })
    .await
    .map_err(|e| SessionError::Internal(format!("starting the display failed: {e}")))?
}

/// A running desktop: Xvfb plus the xsession's process group. Dropping it
/// stops both, however the session ended.
pub(super) struct Desktop {
    // Field order matters: the xsession is signalled in Drop, then Xvfb dies.
    pub(super) xsession: tokio::process::Child,
    /// The host's cap on the screen: resizes stop there.
    max_screen: MaxScreen,
    xsession_group: Option<rustix::process::Pid>,
    /// Finds the session's processes that left its process group.
    mark: SessionMark,
    /// Whom the session runs as.
    account: Arc<Account>,
    input: Input,
    pub(super) conn: Arc<X11Connection>,
    pub(super) screen: Option<Screen>,
    pub(super) capture: Option<Capture>,
    /// The clipboard shared with the browser, when the roles allow it.
    clipboard: Option<Clipboard>,
    /// Directories the browser shares, when the roles and FUSE allow it;
    /// unmounted when the desktop goes.
    shared: Option<SharedDirectories>,
    _xvfb: Xvfb,
}

impl Desktop {
    pub(super) fn start(
        display: Display,
        chosen: &XSession,
        account: Arc<Account>,
        pam: Vec<(OsString, OsString)>,
        mark: SessionMark,
        max_screen: MaxScreen,
    ) -> Result<Self, SessionError> {
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
        let env = login::SessionEnv { variables, pam };
        let mut command = login::xsession_command(&account, &chosen.exec, env, &mark, dbus_run_session());
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut xsession = command.spawn().map_err(|error| SessionError::XSessionSpawn { name: chosen.name.clone(), error })?;
        if let Some(stderr) = xsession.stderr.take() {
            tokio::spawn(log_xsession_output(stderr));
        }
        let xsession_group = xsession.id().and_then(|pid| rustix::process::Pid::from_raw(pid as i32));
        tracing::info!(login = %account.name, uid = account.uid, pid = ?xsession.id(), "xsession process started");
        let input = Input::new(&display.conn)?;
        Ok(Self {
            xsession,
            max_screen,
            xsession_group,
            mark,
            account,
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
    pub(super) fn share_clipboard(&mut self, out: mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        self.clipboard = Some(Clipboard::start(&self._xvfb.socket_path(), self._xvfb.cookie(), out)?);
        Ok(())
    }

    /// Lets the browser share directories as folders in the home
    /// directory, at most `max` at once, mounted by `mounter`.
    pub(super) fn share_directories(&mut self, out: mpsc::Sender<Vec<u8>>, mounter: Arc<dyn Mounter>, max: usize) {
        let owner = shared_dir::Owner { uid: self.account.uid, gid: self.account.gid };
        self.shared = Some(SharedDirectories::new(self.account.home.clone(), owner, out, mounter, max));
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

    /// What the daemon says about the browsers watching.
    pub(super) fn command(&mut self, command: super::pb::command::Command, frames: &FrameLoop) {
        match command {
            super::pb::command::Command::Refresh(_) => {
                frames.send(Command::Refresh);
            }
            super::pb::command::Command::Detached(_) => {
                frames.send(Command::Pause);
                if let Some(shared) = &mut self.shared {
                    shared.remove_all();
                }
            }
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

    pub(super) async fn handle(&mut self, payload: Payload, frames: &FrameLoop, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
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
            Payload::KeyframeRequest(_) => {
                frames.send(Command::Keyframe);
            }
            Payload::ClientScreenSpec(spec) => {
                frames.send(Command::Resize(ScreenSize::fit(spec.width, spec.height, spec.scale).within(self.max_screen)));
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
            other => tracing::debug!(message = other.name(), "ignored message from the client"),
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

pub(super) async fn wait_for_selection<R: AsyncRead + Unpin>(client: &mut ClientReader<R>, sessions: &[XSession]) -> Result<XSession, SessionError> {
    let wait = async {
        loop {
            match client.next().await? {
                None => {
                    return Err(SessionError::Transport(std::io::ErrorKind::UnexpectedEof.into()));
                }
                Some(Payload::SessionSelection(selection)) => {
                    return handshake::select(sessions, &selection.xsession).cloned().ok_or(SessionError::UnknownXSession(selection.xsession));
                }
                // Input before a desktop exists has nowhere to go.
                Some(_) => continue,
            }
        }
    };
    tokio::time::timeout(SELECTION_TIMEOUT, wait).await.map_err(|_| SessionError::Timeout("SessionSelection"))?
}

pub(super) fn server_hello(agreement: &Agreement, max_screen: MaxScreen, sessions: &[XSession], clipboard: bool, directory_sharing: bool) -> pb::ServerHello {
    pb::ServerHello {
        width: agreement.screen.width.into(),
        height: agreement.screen.height.into(),
        max_width: max_screen.width.into(),
        max_height: max_screen.height.into(),
        clipboard_enabled: clipboard,
        directory_remove_supported: directory_sharing,
        directory_sharing_enabled: directory_sharing,
        xsessions: sessions.iter().map(|s| pb::XSession { name: s.name.clone() }).collect(),
        hidpi_supported: true,
        protocol_version: agreement.version,
        codec: agreement.codec as i32,
        // The daemon names the session and answers resumes.
        session_id: String::new(),
        resumed_xsession: String::new(),
        participant_mode: pb::ParticipantMode::Owner as i32,
    }
}
