//! A Windows desktop's session process, `oriel rdp-session`: the same
//! exchange with the desktop service as a Linux session process (TDPB on
//! the data stream, `Launch`, `Command`s and `Event`s on the control
//! stream; docs/session-process.md), so the service's sessions, viewers,
//! recording, audit and revocation serve both kinds alike. Instead of an
//! X server it holds one RDP connection: the browser's hello, then the
//! host connected at the browser's size, frames from the host's updates,
//! input to the host, the host's pointer shape. It runs as the service's
//! own unprivileged user; nothing of the host's login runs here.

use std::time::{Duration, Instant};

use oriel_linux_desktop::client_stream::{ClientReader, alert, read_hello, send, write_frames};
use oriel_linux_desktop::encoder::RectEncoder;
use oriel_linux_desktop::handshake::{self, HelloError};
use oriel_linux_desktop::pacing::PacingConfig;
use oriel_linux_desktop::session::{SessionEnd, SessionError};
use oriel_linux_desktop::session_process::ended::report_end;
use oriel_linux_desktop::session_process::{pb, wire};
use oriel_linux_desktop::x11::screen::{MaxScreen, ScreenSize};
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self as tdpb, AlertSeverity};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::clipboard::{ClipboardAction, ClipboardBridge};
use crate::drive::{DriveAction, DriveBridge};
use crate::frames::FrameSource;
use crate::input::InputState;
use crate::screen::{PointerShape, RemoteScreen, ScreenEvent};
use crate::{DesktopCredentials, HostTrust, PinnedCertificate, RdpError, RdpTarget};

/// The longest the last input release and the shutdown notice may take.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one session on `data` (TDPB) and `control` (the session
/// protocol) as `launch` says, until it ends; the daemon hears why in an
/// `Ended` event.
pub async fn serve(data: UnixStream, mut control: UnixStream, launch: pb::Launch) {
    let (read, write) = tokio::io::split(data);
    let (out, out_rx) = mpsc::channel::<Vec<u8>>(16);
    let writer = tokio::spawn(write_frames(write, out_rx));
    let mut client = ClientReader::new(read);
    let result = run(&mut client, &out, &mut control, &launch).await;
    report_end(&result, out, writer, &mut control).await;
}

async fn run<R: AsyncRead + Unpin>(
    client: &mut ClientReader<R>,
    out: &mpsc::Sender<Vec<u8>>,
    control: &mut UnixStream,
    launch: &pb::Launch,
) -> Result<SessionEnd, SessionError> {
    let host = launch.rdp.as_ref().ok_or_else(|| SessionError::Internal("the launch names no RDP host".into()))?;
    let Some(hello) = read_hello(client, out).await? else { return Ok(SessionEnd::ClientLeft) };
    let agreement = handshake::agree(&hello)?;
    let cap = MaxScreen::new(launch.max_screen_width, launch.max_screen_height);
    let asked = agreement.screen.within(cap);
    let trust = match host.ca_pem.is_empty() {
        true => PinnedCertificate::from_pem(&host.certificate_pem).map(HostTrust::Pinned),
        false => HostTrust::authority_from_pem(&host.ca_pem),
    }
    .ok_or_else(|| SessionError::Internal("the RDP host's certificate or CA is not PEM".into()))?;
    let target = RdpTarget {
        addr: host.addr.clone(),
        server_name: host.server_name.clone(),
        trust,
        credentials: DesktopCredentials {
            username: host.username.clone(),
            password: host.password.clone(),
            domain: Some(host.domain.clone()).filter(|d| !d.is_empty()),
        },
        width: asked.width,
        height: asked.height,
        clipboard: launch.clipboard,
        directory_sharing: launch.directory_sharing,
    };
    let connection = crate::connect(&target).await.map_err(desktop_error)?;
    let mut screen = RemoteScreen::new(connection);
    screen.refresh().await.map_err(desktop_error)?;
    let (width, height) = screen.size();
    tracing::info!(host = %host.addr, width, height, codec = ?agreement.codec, "RDP session connected");
    let hello = tdpb::ServerHello {
        width: width.into(),
        height: height.into(),
        // The browser's size is asked of the host through display
        // control; a host without it keeps its own, shown scaled.
        max_width: cap.width.into(),
        max_height: cap.height.into(),
        clipboard_enabled: launch.clipboard,
        directory_sharing_enabled: launch.directory_sharing,
        directory_remove_supported: launch.directory_sharing,
        xsessions: vec![tdpb::XSession { name: host.desktop_name.clone() }],
        hidpi_supported: false,
        protocol_version: agreement.version,
        codec: agreement.codec as i32,
        participant_mode: tdpb::ParticipantMode::Owner as i32,
        ..Default::default()
    };
    send(out, Payload::ServerHello(hello)).await?;
    let started = pb::Started { xsession: host.desktop_name.clone(), pid: std::process::id() };
    control.write_all(&wire::encode(&pb::Event { event: Some(pb::event::Event::Started(started)) })).await?;

    let pacing = launch.pacing.unwrap_or_default();
    let encoder = RectEncoder::new(agreement.codec).map_err(SessionError::Encoder)?.ok_or(HelloError::NoCodec)?;
    let config = PacingConfig {
        min_interval: Duration::from_micros(pacing.min_interval_us).max(Duration::from_millis(1)),
        max_in_flight: (pacing.max_in_flight as usize).max(1),
        ack_timeout: Duration::from_millis(pacing.ack_timeout_ms).max(Duration::from_millis(100)),
    };
    let keyframe_interval = Duration::from_millis(pacing.keyframe_interval_ms).max(Duration::from_secs(1));
    let mut session = Session {
        screen,
        frames: FrameSource::new(encoder, config, keyframe_interval, width, height),
        input: InputState::new(width, height),
        pointer: None,
        clipboard: launch.clipboard.then(ClipboardBridge::default),
        drives: launch.directory_sharing.then(DriveBridge::new),
        cap,
        wanted_size: None,
    };
    let ended = session.serve(client, out, control).await;
    // Whatever ended it, the host gets no stuck key or button, and is told
    // the session ends; a host that stops reading does not hold it up.
    let release = session.input.release_all();
    let goodbye = async {
        let _ = session.screen.send_input(&release).await;
        let _ = session.screen.shut_down().await;
    };
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, goodbye).await;
    ended
}

/// An RDP failure as the session's end: the host's doing, said plainly.
fn desktop_error(error: RdpError) -> SessionError {
    SessionError::Desktop { message: error.to_string(), alerted: false, client_fault: false }
}

/// A running RDP session.
struct Session {
    screen: RemoteScreen,
    frames: FrameSource,
    input: InputState,
    /// The last shape sent, sent again on a refresh.
    pointer: Option<tdpb::CursorImage>,
    /// The clipboard, when the roles share it.
    clipboard: Option<ClipboardBridge>,
    /// The browser's shared directories as the host's drives, when the
    /// roles allow sharing.
    drives: Option<DriveBridge>,
    /// The largest screen this host's sessions may have.
    cap: MaxScreen,
    /// The size the browser asked for and the host has not been asked yet
    /// (its display control channel was not up).
    wanted_size: Option<(u16, u16)>,
}

impl Session {
    async fn serve<R: AsyncRead + Unpin>(
        &mut self,
        client: &mut ClientReader<R>,
        out: &mpsc::Sender<Vec<u8>>,
        control: &mut UnixStream,
    ) -> Result<SessionEnd, SessionError> {
        let mut commands = wire::MessageReader::default();
        let mut buf = [0u8; 1024];
        let mut control_open = true;
        loop {
            let due = self.frames.due(Instant::now());
            let drive_deadline = self.drives.as_ref().and_then(DriveBridge::next_deadline);
            tokio::select! {
                pdu = self.screen.read_pdu() => {
                    let events = self.screen.handle(pdu.map_err(desktop_error)?).await.map_err(desktop_error)?;
                    self.apply(events, out).await?;
                    self.resize_if_wanted().await?;
                }
                message = client.next() => match message? {
                    None => return Ok(SessionEnd::ClientLeft),
                    Some(payload) => self.browser_message(payload, out).await?,
                },
                read = control.read(&mut buf), if control_open => match read {
                    Ok(0) | Err(_) => control_open = false,
                    Ok(n) => {
                        commands.push(&buf[..n]);
                        while let Some(command) = commands.next_message::<pb::Command>().map_err(|e| SessionError::Internal(format!("the daemon's command: {e}")))? {
                            self.command(command, out).await?;
                        }
                    }
                },
                _ = sleep_until(drive_deadline), if drive_deadline.is_some() => {
                    let actions = self.drives.as_mut().map(|drives| drives.expire(Instant::now())).unwrap_or_default();
                    self.drive_actions(actions, out).await?;
                }
                _ = sleep_until(due), if due.is_some() => {
                    let messages = self.frames.frame(self.screen.pixels(), Instant::now()).map_err(SessionError::Encoder)?;
                    for message in messages {
                        send(out, Payload::FrameRect(message)).await?;
                    }
                }
            }
        }
    }

    /// What the host changed, passed on.
    async fn apply(&mut self, events: Vec<ScreenEvent>, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        for event in events {
            match event {
                ScreenEvent::Updated(rects) => self.frames.damaged(&rects),
                ScreenEvent::Resized { width, height } => {
                    tracing::info!(width, height, "the RDP host resized its screen");
                    // Its whole new screen, whatever it sends of its own accord.
                    self.screen.refresh().await.map_err(desktop_error)?;
                    self.frames.resized(width, height);
                    self.input.resized(width, height);
                    let spec = tdpb::ClientScreenSpec { width: width.into(), height: height.into(), scale: 100 };
                    send(out, Payload::ClientScreenSpec(spec)).await?;
                }
                ScreenEvent::Pointer(shape) => {
                    let cursor = cursor_image(shape);
                    send(out, Payload::CursorImage(cursor.clone())).await?;
                    self.pointer = Some(cursor);
                }
                ScreenEvent::Drive(note) => {
                    let actions = self.drives.as_mut().map(|drives| drives.from_host(note, Instant::now())).unwrap_or_default();
                    self.drive_actions(actions, out).await?;
                }
                ScreenEvent::Clipboard(event) => {
                    let actions = self.clipboard.as_mut().map(|bridge| bridge.from_host(event)).unwrap_or_default();
                    self.clipboard_actions(actions, out).await?;
                }
            }
        }
        Ok(())
    }

    /// Carries out what the clipboard bridge decided.
    async fn clipboard_actions(&mut self, actions: Vec<ClipboardAction>, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        for action in actions {
            match action {
                ClipboardAction::ToBrowser(text) => send(out, Payload::ClipboardData(tdpb::ClipboardData { data: text.into_bytes() })).await?,
                ClipboardAction::Warn(message) => warn(out, &message).await?,
                to_host => match self.screen.clipboard(to_host).await {
                    Ok(()) => {}
                    Err(error @ RdpError::Transport(_)) => return Err(desktop_error(error)),
                    // IronRDP refused it (the channel is not ready, say): this
                    // copy does not cross, and the session goes on.
                    Err(error) => {
                        tracing::warn!(%error, "clipboard message not sent");
                        warn(out, "the desktop's clipboard did not take this copy; copy again").await?;
                    }
                },
            }
        }
        Ok(())
    }

    /// Carries out what the drive bridge decided, and what follows from it.
    async fn drive_actions(&mut self, actions: Vec<DriveAction>, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        let mut actions = std::collections::VecDeque::from(actions);
        while let Some(action) = actions.pop_front() {
            match action {
                DriveAction::AddDrive { device_id, name } => {
                    if let Err(why) = self.screen.add_drive(device_id, name).await.map_err(desktop_error)? {
                        let refused = self.drives.as_mut().map(|drives| drives.not_added(device_id, &why)).unwrap_or_default();
                        actions.extend(refused);
                    }
                }
                DriveAction::RemoveDrive { device_id } => match self.screen.remove_drive(device_id).await {
                    Ok(()) => {}
                    Err(error @ RdpError::Transport(_)) => return Err(desktop_error(error)),
                    // A drive IronRDP no longer knows: nothing left to remove.
                    Err(error) => tracing::warn!(%error, device_id, "drive not withdrawn"),
                },
                DriveAction::ToHost(messages) => self.screen.drive_messages(messages).await.map_err(desktop_error)?,
                DriveAction::ToBrowser(request) => send(out, Payload::SharedDirectoryRequest(request)).await?,
                DriveAction::Acknowledge(acknowledge) => send(out, Payload::SharedDirectoryAcknowledge(acknowledge)).await?,
                DriveAction::Warn(message) => warn(out, &message).await?,
            }
        }
        Ok(())
    }

    /// Asks the host for the size the browser wants, once its display
    /// control channel is up.
    async fn resize_if_wanted(&mut self) -> Result<(), SessionError> {
        let Some((width, height)) = self.wanted_size else { return Ok(()) };
        if self.screen.size() == (width, height) {
            self.wanted_size = None;
        } else if self.screen.resize(width, height).await.map_err(desktop_error)? {
            tracing::debug!(width, height, "asked the RDP host for the browser's size");
            self.wanted_size = None;
        }
        Ok(())
    }

    /// One message from the browser.
    async fn browser_message(&mut self, payload: Payload, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        match &payload {
            Payload::FrameAck(ack) => self.frames.acked(ack.frame_id),
            Payload::KeyframeRequest(_) => self.frames.keyframe_requested(),
            Payload::Ping(ping) => send(out, Payload::Ping(ping.clone())).await?,
            Payload::ClientScreenSpec(spec) => {
                let size = ScreenSize::fit(spec.width, spec.height, spec.scale).within(self.cap);
                self.wanted_size = Some((size.width, size.height));
                self.resize_if_wanted().await?;
            }
            Payload::LatencyStats(_) | Payload::SessionSelection(_) => {}
            Payload::ClipboardData(data) => match &mut self.clipboard {
                Some(bridge) => {
                    let actions = bridge.from_browser(&data.data);
                    self.clipboard_actions(actions, out).await?;
                }
                // The hello did not offer it (the daemon drops it too).
                None => warn(out, "your roles do not share the clipboard with this desktop").await?,
            },
            Payload::SharedDirectoryAnnounce(_) | Payload::SharedDirectoryResponse(_) | Payload::SharedDirectoryRemove(_) => {
                let Some(drives) = &mut self.drives else {
                    // The hello did not offer it (the daemon drops these too).
                    return warn(out, "your roles do not allow sharing directories with this desktop").await;
                };
                let actions = match payload {
                    Payload::SharedDirectoryAnnounce(announce) => drives.announce(&announce),
                    Payload::SharedDirectoryResponse(response) => drives.from_browser(response, Instant::now()),
                    Payload::SharedDirectoryRemove(remove) => drives.remove(remove.directory_id),
                    _ => Vec::new(),
                };
                self.drive_actions(actions, out).await?;
            }
            _ => {
                let events = self.input.events(&payload);
                let changed = self.screen.send_input(&events).await.map_err(desktop_error)?;
                self.apply(changed, out).await?;
            }
        }
        Ok(())
    }

    /// One command from the daemon.
    async fn command(&mut self, command: pb::Command, out: &mpsc::Sender<Vec<u8>>) -> Result<(), SessionError> {
        match command.command {
            Some(pb::command::Command::Refresh(_)) => {
                self.frames.pause(false);
                self.frames.keyframe_requested();
                if let Some(cursor) = &self.pointer {
                    send(out, Payload::CursorImage(cursor.clone())).await?;
                }
            }
            Some(pb::command::Command::Detached(_)) => {
                self.frames.pause(true);
                // The browser that answered for the shared directories is
                // gone; one that resumes the session shares its own again.
                let removed = self.drives.as_mut().map(DriveBridge::remove_all).unwrap_or_default();
                self.drive_actions(removed, out).await?;
                // Nobody is there to let go of what they held.
                let release = self.input.release_all();
                let changed = self.screen.send_input(&release).await.map_err(desktop_error)?;
                self.apply(changed, out).await?;
            }
            None => {}
        }
        Ok(())
    }
}

/// A WARNING alert: the session goes on.
async fn warn(out: &mpsc::Sender<Vec<u8>>, message: &str) -> Result<(), SessionError> {
    out.send(alert(message, AlertSeverity::Warning)).await.map_err(|_| SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()))
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The host's pointer as TDPB's: a picture, none (width 0), or the
/// browser's default arrow (a size with no pixels).
fn cursor_image(shape: PointerShape) -> tdpb::CursorImage {
    match shape {
        PointerShape::Bitmap { width, height, hotspot_x, hotspot_y, rgba } => {
            tdpb::CursorImage { width: width.into(), height: height.into(), hotspot_x: hotspot_x.into(), hotspot_y: hotspot_y.into(), rgba }
        }
        PointerShape::Hidden => tdpb::CursorImage::default(),
        PointerShape::Default => tdpb::CursorImage { width: 1, height: 1, ..Default::default() },
    }
}

/// The most memory (data segment and mappings) an RDP session process may
/// use: a 8192x8192 screen is 256 MiB, and everything else a session holds
/// is capped far below the rest.
const MAX_MEMORY: u64 = 1 << 30;

/// The account an RDP session process runs as when started by root: it
/// touches only its two sockets and the network, so it needs no one's.
const UNPRIVILEGED_ACCOUNT: &str = "nobody";

/// `oriel rdp-session`: reads the `Launch` from the control stream (fd 4),
/// drops root for [`UNPRIVILEGED_ACCOUNT`], and serves the session on the
/// data stream (fd 3). Answers the process's exit code.
pub fn main() -> u8 {
    use oriel_linux_desktop::session_process::{CONTROL_FD, DATA_FD, privileges};
    use std::os::fd::FromRawFd as _;
    // SAFETY: the daemon hands these two descriptors over, and nothing else here owns them.
    let (data, control) = unsafe { (std::os::fd::OwnedFd::from_raw_fd(DATA_FD), std::os::fd::OwnedFd::from_raw_fd(CONTROL_FD)) };
    let mut control = std::os::unix::net::UnixStream::from(control);
    let launch = match wire::read_blocking::<pb::Launch>(&mut control) {
        Ok(Some(launch)) => launch,
        Ok(None) => return 1,
        Err(error) => {
            tracing::error!(%error, "no launch from the desktop service");
            return 1;
        }
    };
    if rustix::process::geteuid().is_root() {
        let account = match oriel_linux_desktop::login::Account::lookup(UNPRIVILEGED_ACCOUNT) {
            Ok(Some(account)) => account,
            _ => {
                tracing::error!("no {UNPRIVILEGED_ACCOUNT} account to run the RDP session as");
                return 1;
            }
        };
        let mut unprivileged = pb::Account::from(&account);
        unprivileged.groups = vec![account.gid];
        if let Err(error) = privileges::become_login(&unprivileged) {
            tracing::error!(%error, "cannot drop root for the RDP session");
            return 1;
        }
    }
    // The session must not outlive the service that started it.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    // A backstop under the caps on what a host may make it hold: a host
    // that finds a way past them ends this session, not the gateway.
    let limit = rustix::process::Rlimit { current: Some(MAX_MEMORY), maximum: Some(MAX_MEMORY) };
    if let Err(error) = rustix::process::setrlimit(rustix::process::Resource::Data, limit) {
        tracing::warn!(%error, "cannot limit the RDP session's memory");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(_) => return 1,
    };
    runtime.block_on(async move {
        let streams = (stream(std::os::unix::net::UnixStream::from(data)), stream(control));
        let (Ok(data), Ok(control)) = streams else { return 1 };
        serve(data, control, launch).await;
        0
    })
}

fn stream(stream: std::os::unix::net::UnixStream) -> std::io::Result<UnixStream> {
    stream.set_nonblocking(true)?;
    UnixStream::from_std(stream)
}
