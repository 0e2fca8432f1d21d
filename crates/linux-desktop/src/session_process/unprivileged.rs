//! The unprivileged part of a session process: everything of the session,
//! running as the login. It becomes the login first thing after the fork,
//! then serves the TDPB exchange on the data stream exactly as the daemon
//! did before sessions had a process of their own: hello, the xsession
//! picker, Xvfb, the xsession, frames, input, clipboard and shared
//! directories. The daemon only relays and watches.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oriel_tdpb::Payload;
use oriel_tdpb::pb::AlertSeverity;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::desktop::{Desktop, server_hello, start_display, wait_for_selection};
use super::root_channel::RootChannel;
use super::spawn::tokio_stream;
use super::{pb, privileges, root::exit, wire};
use crate::client_stream::{ClientReader, alert, read_hello, send, write_frames};
use crate::encoder::RectEncoder;
use crate::frames::{FrameConfig, FrameLoop, FrameLoopEnd};
use crate::handshake::{self, HelloError, Start};
use crate::ipc_namespace::PrivateIpc;
use crate::login::{Account, SessionMark};
use crate::pacing::PacingConfig;
use crate::session::{SessionEnd, SessionError};
use crate::shared_dir::{self, Mounter, Owner, Unmounted};
use crate::x11::screen::MaxScreen;
use crate::xsession::XSession;
use crate::xvfb::XServer;

/// What the root part hands over at the fork.
pub struct Parts {
    /// TDPB to and from the browser, through the daemon.
    pub data: OwnedFd,
    /// Events to the daemon.
    pub control: std::os::unix::net::UnixStream,
    /// Requests to the root part.
    pub root: RootChannel,
    /// What the daemon decided.
    pub launch: pb::Launch,
    /// The session's directory (the login's, 0700).
    pub session_dir: PathBuf,
    /// PAM's variables for the session's environment.
    pub pam_env: Vec<(OsString, OsString)>,
}

/// Runs the session as the login; answers the process's exit code.
pub fn run(parts: Parts) -> u8 {
    let Some(account) = parts.launch.account.as_ref().and_then(|a| Account::try_from(a).ok()) else {
        return exit::FAILED;
    };
    // While root: a namespace of its own keeps the session's System V IPC,
    // Xvfb's shared framebuffer among it, out of other accounts' reach.
    let private_ipc = rustix::process::geteuid()
        .is_root()
        .then(|| PrivateIpc::enter().inspect_err(|error| tracing::warn!(%error, "no private IPC namespace: capturing with GetImage")).ok())
        .flatten()
        .map(Arc::new);
    if let Err(error) = privileges::become_login(parts.launch.account.as_ref().expect("checked above")) {
        let mut control = parts.control;
        let ended = pb::Ended { reason: pb::ended::Reason::DesktopError.into(), message: format!("cannot become {}: {error}", account.name), alerted: false };
        let _ = wire::write_blocking(&mut control, &pb::Event { event: Some(pb::event::Event::Ended(ended)) });
        return exit::FAILED;
    }
    // The parent-death signal is cleared by the uid change: set it after.
    // If the root part dies, the session must not run on without it.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(_) => return exit::FAILED,
    };
    runtime.block_on(serve(parts, Arc::new(account), private_ipc))
}

async fn serve(parts: Parts, account: Arc<Account>, private_ipc: Option<Arc<PrivateIpc>>) -> u8 {
    let Parts { data, control, root, launch, session_dir, pam_env } = parts;
    let (Ok(data), Ok(control)) = (tokio_stream(std::os::unix::net::UnixStream::from(data)), tokio_stream(control)) else {
        return exit::FAILED;
    };
    let mut control = control;
    let (read, write) = tokio::io::split(data);
    let (out, out_rx) = mpsc::channel::<Vec<u8>>(16);
    let writer = tokio::spawn(write_frames(write, out_rx));
    let mut client = ClientReader::new(read);
    let session = Session { launch: &launch, account, session_dir, pam_env, private_ipc, mounter: Arc::new(RootMounter { channel: Mutex::new(root) }) };
    let result = session.run(&mut client, &out, &mut control).await;
    super::ended::report_end(&result, out, writer, &mut control).await;
    exit::ENDED
}

/// One session, from the browser's hello to its end.
struct Session<'a> {
    launch: &'a pb::Launch,
    account: Arc<Account>,
    session_dir: PathBuf,
    pam_env: Vec<(OsString, OsString)>,
    /// The session's own IPC namespace, when it runs as root's child.
    private_ipc: Option<Arc<PrivateIpc>>,
    mounter: Arc<dyn Mounter>,
}

impl Session<'_> {
    async fn run<R: tokio::io::AsyncRead + Unpin>(
        &self,
        client: &mut ClientReader<R>,
        out: &mpsc::Sender<Vec<u8>>,
        control: &mut tokio::net::UnixStream,
    ) -> Result<SessionEnd, SessionError> {
        let launch = self.launch;
        let Some(hello) = read_hello(client, out).await? else { return Ok(SessionEnd::ClientLeft) };
        let mut agreement = handshake::agree(&hello)?;
        let cap = MaxScreen::new(launch.max_screen_width, launch.max_screen_height);
        agreement.screen = agreement.screen.within(cap);
        let sessions: Vec<XSession> =
            launch.xsessions.iter().map(|s| XSession { name: s.name.clone(), exec: s.exec.clone(), path: s.path.clone().into() }).collect();
        let start = handshake::start(&sessions);
        if start == Start::Nothing {
            return Err(SessionError::NoXSessions);
        }
        let number = launch.display.trim_start_matches(':').parse().map_err(|_| SessionError::Internal(format!("bad display {:?}", launch.display)))?;
        let server = XServer::from_name(&launch.x_server).ok_or_else(|| SessionError::Internal(format!("unknown X server {:?}", launch.x_server)))?;
        // Xvfb holds its largest screen from the start: no larger than the
        // client's monitor. Xvnc pays only for the screen it shows.
        let max_screen = match server {
            XServer::Xvfb => cap.for_monitor(agreement.screen, agreement.monitor),
            XServer::Xvnc => cap,
        };
        let prepared =
            start_display(self.session_dir.clone(), number, agreement.screen, max_screen, server, self.private_ipc.clone(), agreement.keyboard.clone()).await?;
        tracing::info!(x_display = %prepared.xvfb.display_name(), user = %agreement.username, codec = ?agreement.codec, video = agreement.video && launch.lossy, keyboard = %prepared.keyboard.layout, "display started");
        let directory_sharing = launch.directory_sharing && shared_dir::fuse_available();
        send(out, Payload::ServerHello(server_hello(&agreement, max_screen, &sessions, launch.clipboard, directory_sharing))).await?;
        if let Some(warning) = &prepared.keyboard.warning {
            tracing::warn!(warning, "keyboard layout not set");
            out.send(alert(warning, AlertSeverity::Warning)).await.map_err(|_| SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()))?;
        }
        let chosen = match start {
            Start::Now(session) => session,
            Start::AskClient => wait_for_selection(client, &sessions).await?,
            Start::Nothing => return Err(SessionError::NoXSessions),
        };
        let mark = SessionMark::from_value(launch.mark.clone(), self.account.uid);
        let mut desktop = Desktop::start(prepared, &chosen, self.account.clone(), self.pam_env.clone(), mark, max_screen)?;
        let encoder = RectEncoder::new(agreement.codec).map_err(SessionError::Encoder)?.ok_or(HelloError::NoCodec)?;
        let (thumbnails, mut thumbnail) = mpsc::channel(1);
        let (frame_loop, mut loop_ended) = FrameLoop::spawn(
            desktop.conn.clone(),
            desktop.screen.take().ok_or_else(|| SessionError::Internal("the screen was not set up".into()))?,
            desktop.capture.take().ok_or_else(|| SessionError::Internal("the capture was not set up".into()))?,
            encoder,
            FrameConfig { video: agreement.video && launch.lossy, ..frame_config(launch.pacing.unwrap_or_default()) },
            out.clone(),
            Some(thumbnails),
        )?;
        // Only when the roles allow it does the session touch the desktop's X selections.
        if launch.clipboard {
            desktop.share_clipboard(out.clone())?;
        }
        if directory_sharing {
            desktop.share_directories(out.clone(), self.mounter.clone(), launch.max_shared_directories as usize);
        }
        let started = pb::Started { xsession: chosen.name.clone(), pid: desktop.xsession.id().unwrap_or_default() };
        control.write_all(&wire::encode(&pb::Event { event: Some(pb::event::Event::Started(started)) })).await?;
        tracing::info!(xsession = %chosen.name, "desktop session started");
        let mut commands = wire::MessageReader::default();
        let mut control_open = true;
        loop {
            tokio::select! {
                Some(thumbnail) = thumbnail.recv() => {
                    let thumbnail = pb::Thumbnail { width: thumbnail.width, height: thumbnail.height, rgba: thumbnail.rgba };
                    control.write_all(&wire::encode(&pb::Event { event: Some(pb::event::Event::Thumbnail(thumbnail)) })).await?;
                }
                command = next_command(control, &mut commands), if control_open => match command {
                    Ok(Some(pb::Command { command: Some(command) })) => desktop.command(command, &frame_loop),
                    Ok(Some(_)) => {}
                    // The daemon is gone or garbled its stream: the data
                    // stream's end (which follows) ends the session.
                    Ok(None) | Err(_) => control_open = false,
                },
                payload = client.next() => match payload? {
                    None => return Ok(SessionEnd::ClientLeft),
                    Some(payload) => desktop.handle(payload, &frame_loop, out).await?,
                },
                status = desktop.xsession.wait() => {
                    let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                    return Ok(SessionEnd::DesktopExited(status));
                }
                end = &mut loop_ended => return Err(match end {
                    Ok(FrameLoopEnd::X11(error)) => SessionError::X11(error),
                    Ok(FrameLoopEnd::Stopped) => SessionError::Internal("the frame loop stopped while the session ran".into()),
                    // Its thread ended without a word: it panicked.
                    Err(_) => SessionError::Internal("the frame loop failed".into()),
                }),
            }
        }
    }
}

/// The daemon's next command on the control stream; `None` when it closed
/// it. Cancel-safe: bytes already read stay in `reader`.
async fn next_command(control: &mut tokio::net::UnixStream, reader: &mut wire::MessageReader) -> Result<Option<pb::Command>, wire::WireError> {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    loop {
        if let Some(command) = reader.next_message::<pb::Command>()? {
            return Ok(Some(command));
        }
        let n = control.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        reader.push(&buf[..n]);
    }
}

fn frame_config(pacing: pb::Pacing) -> FrameConfig {
    let defaults = FrameConfig::default();
    let or = |value: u64, default: Duration, unit: fn(u64) -> Duration| {
        if value == 0 { default } else { unit(value) }
    };
    FrameConfig {
        pacing: PacingConfig {
            min_interval: or(pacing.min_interval_us, defaults.pacing.min_interval, Duration::from_micros),
            max_in_flight: if pacing.max_in_flight == 0 { defaults.pacing.max_in_flight } else { pacing.max_in_flight as usize },
            ack_timeout: or(pacing.ack_timeout_ms, defaults.pacing.ack_timeout, Duration::from_millis),
        },
        keyframe_interval: or(pacing.keyframe_interval_ms, defaults.keyframe_interval, Duration::from_millis),
        video: false,
    }
}

/// Mounts through the root part: the unprivileged part may not mount.
#[derive(Debug)]
struct RootMounter {
    channel: Mutex<RootChannel>,
}

impl RootMounter {
    fn ask(&self, request: pb::root_request::Request) -> std::io::Result<(pb::RootReply, Option<OwnedFd>)> {
        let channel = self.channel.lock().unwrap_or_else(|p| p.into_inner());
        channel.send(&pb::RootRequest { request: Some(request) }, None)?;
        let (reply, fd) = channel.receive::<pb::RootReply>()?.ok_or_else(|| std::io::Error::other("the session's root part is gone"))?;
        if !reply.error.is_empty() {
            return Err(std::io::Error::other(reply.error));
        }
        Ok((reply, fd))
    }
}

impl Mounter for RootMounter {
    fn mount(&self, name: &str, _owner: Owner) -> std::io::Result<(PathBuf, OwnedFd)> {
        // The root part mounts for the login it started, whatever is asked.
        let (reply, fd) = self.ask(pb::root_request::Request::Mount(pb::Mount { name: name.to_owned() }))?;
        let fd = fd.ok_or_else(|| std::io::Error::other("the root part sent no /dev/fuse descriptor"))?;
        Ok((PathBuf::from(reply.target), fd))
    }

    fn unmount(&self, target: &Path) -> std::io::Result<Unmounted> {
        let (reply, _) = self.ask(pb::root_request::Request::Unmount(pb::Unmount { target: target.to_string_lossy().into_owned() }))?;
        Ok(if reply.detached { Unmounted::Detached } else { Unmounted::Clean })
    }
}
