//! A running session as a task of its own: it owns the session process and
//! outlives the browser connections that come and go (viewers). It relays
//! the process's frames to every viewer (each with its own queue, so a slow
//! one never slows the others: it skips to the next keyframe), passes on
//! the input of viewers allowed to send it, re-authorizes the session while
//! it runs, and ends it when its life (`life.rs`) says so.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oriel_auth::control_plane::SessionGrant;
use oriel_recorder::SessionRecorder;
use oriel_tdpb::pb::{self as tdpb};
use oriel_tdpb::{Payload, PayloadKind, encode_frame};
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::life::{LifeEnd, SessionLife, ViewerId, ViewerMode};
use super::pumps::{ProcessOutput, ViewerInput, error_alert, pump_process, pump_to_process, pump_viewer, record_browser};
use super::recheck::{RECHECK_POLL, Recheck};
use super::{LinuxDesktopService, SessionEnd, SessionError, Slot};
use crate::client_stream::ClientReader;
use crate::frame_audit::FrameAudit;
use crate::session_audit::SessionAudit;
use crate::session_process::{Display, SessionProcess, pb};
use crate::x11::screen::MaxScreen;

/// How long a session process gets to say why it ended once its output ended.
const END_WAIT: Duration = Duration::from_secs(5);
/// Frames (or runs of frames) queued for one viewer, at most; past it the
/// viewer skips to the next keyframe.
pub(super) const VIEWER_QUEUE: usize = 64;
/// What the window an owner resumed the session from is told.
const MOVED: &str = "the session was resumed in another window, and shows there now";
/// How long a viewer that does not pace the session may take to accept
/// a message that cannot be skipped.
const SLOW_VIEWER: Duration = Duration::from_secs(10);
/// `FrameAck` (101) and `EndSession` (104) in `proto/tdpb.proto`.
const FRAME_ACK: u32 = 101;
const END_SESSION: u32 = 104;

/// A boxed reader of a viewer's browser stream.
pub(super) type ViewerStream = ClientReader<Box<dyn AsyncRead + Unpin + Send>>;

/// A browser connection joining the session.
pub(super) struct Attach {
    pub(super) reader: ViewerStream,
    pub(super) out: mpsc::Sender<Vec<u8>>,
    pub(super) mode: ViewerMode,
    /// For a resume: its hello, and the grant made for it now (the session
    /// goes on under it). None for the viewer that starts the session,
    /// whose hello goes to the process.
    pub(super) resume: Option<(tdpb::ClientHello, SessionGrant)>,
    /// How the connection ends, for whoever serves it.
    pub(super) done: oneshot::Sender<Result<SessionEnd, SessionError>>,
}

struct Viewer {
    out: mpsc::Sender<Vec<u8>>,
    mode: ViewerMode,
    reader: JoinHandle<()>,
    done: Option<oneshot::Sender<Result<SessionEnd, SessionError>>>,
    /// Gets no rectangle before the next keyframe.
    waiting_keyframe: bool,
}

/// Everything a running session holds.
pub(super) struct LiveSession {
    pub(super) service: LinuxDesktopService,
    pub(super) grant: SessionGrant,
    pub(super) audit: SessionAudit,
    pub(super) recorder: Option<SessionRecorder>,
    pub(super) process: SessionProcess,
    pub(super) display: Display,
    pub(super) slot: Slot,
    pub(super) life: SessionLife,
}

/// What the session process sent, as the fan-out treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// A rectangle that starts a keyframe.
    Keyframe,
    /// Another rectangle.
    Rect,
    /// A run of frames of any kind.
    Batch,
    /// A single frame that is no rectangle.
    Other,
}

struct Running {
    viewers: HashMap<ViewerId, Viewer>,
    hello: Option<tdpb::ServerHello>,
    xsession: Option<String>,
    to_process: mpsc::Sender<Vec<u8>>,
    /// Frames for the process that did not fit its queue. While any wait,
    /// no viewer's input is read: the session task never blocks on the
    /// process, which may itself wait for the session task to take its
    /// output.
    held: std::collections::VecDeque<Vec<u8>>,
    split: Arc<AtomicBool>,
    inputs: mpsc::Sender<ViewerInput>,
    /// The connection of the last viewer, when its leaving ended the session.
    last_left: Option<oneshot::Sender<Result<SessionEnd, SessionError>>>,
}

impl Running {
    /// Queues `frame` for the process, holding it when the queue is full.
    fn send_to_process(&mut self, frame: Vec<u8>) {
        if !self.held.is_empty() {
            self.held.push_back(frame);
        } else if let Err(mpsc::error::TrySendError::Full(frame)) = self.to_process.try_send(frame) {
            self.held.push_back(frame);
        }
    }

    /// Frame by frame from the process while more than one viewer watches
    /// or one waits for a keyframe: only then does the fan-out need to
    /// tell rectangles apart.
    fn update_split(&self) {
        let split = self.viewers.len() > 1 || self.viewers.values().any(|v| v.waiting_keyframe);
        self.split.store(split, Ordering::Release);
    }
}

impl LiveSession {
    /// Runs the session until it ends: `data` is the process's TDPB stream,
    /// `attaches` brings the viewers, the first one first.
    pub(super) async fn run(mut self, data: tokio::net::UnixStream, mut attaches: mpsc::Receiver<Attach>) {
        let sid = self.audit.sid.clone();
        let plane = self.service.config.authority.clone();
        let (process_read, process_write) = data.into_split();
        let options = self.grant.options().clone();
        let noting = FrameAudit::start(self.audit.clone(), plane.clone(), options.clipboard, options.directory_sharing);
        let split = Arc::new(AtomicBool::new(false));
        let (to_process, process_rx) = mpsc::channel(64);
        let writer = tokio::spawn(pump_to_process(process_write, process_rx));
        let (output_tx, mut outputs) = mpsc::channel(16);
        let mut from_process = tokio::spawn(pump_process(process_read, output_tx, noting.clone(), self.recorder.clone(), split.clone()));
        let (inputs, mut input_rx) = mpsc::channel(64);
        let mut running =
            Running { viewers: HashMap::new(), hello: None, xsession: None, to_process, held: Default::default(), split, inputs, last_left: None };

        let process_queue = running.to_process.clone();
        let mut changes = plane.access_changes();
        let mut feed_open = true;
        let mut recheck = tokio::time::interval(RECHECK_POLL);
        let mut access = Recheck::default();
        let mut control_open = true;
        let mut ended: Option<pb::Ended> = None;
        let result: Result<SessionEnd, SessionError> = loop {
            let deadline = self.life.deadline().map(tokio::time::Instant::from_std);
            tokio::select! {
                reason = recording_failed(self.recorder.as_ref()) => break Err(SessionError::Recording(reason)),
                () = sleep_until(deadline), if deadline.is_some() => {
                    if let Some(end) = self.life.poll(std::time::Instant::now()) {
                        break life_end(end, &options);
                    }
                }
                Some(attach) = attaches.recv() => {
                    if let Some(end) = self.attach(attach, &mut running).await {
                        break end;
                    }
                }
                permit = process_queue.reserve(), if !running.held.is_empty() => {
                    if let (Ok(permit), Some(frame)) = (permit, running.held.pop_front()) {
                        permit.send(frame);
                    }
                }
                Some(input) = input_rx.recv(), if running.held.is_empty() => {
                    if let Some(end) = self.input(input, &mut running, &noting).await {
                        break end;
                    }
                }
                output = outputs.recv() => match output {
                    Some(output) => {
                        if let Some(end) = self.output(output, &mut running).await {
                            break end;
                        }
                    }
                    None => {
                        // The session process closed its output: it ended, or died.
                        if let Ok(Err(error)) = (&mut from_process).await {
                            break Err(error);
                        }
                        if ended.is_none() && control_open {
                            ended = wait_for_end(&mut self.process).await;
                        }
                        break ending(ended.take(), &mut self.process).await;
                    }
                },
                changed = changes.changed(), if feed_open => {
                    if changed.is_err() {
                        // The feed is gone for good: the poll carries on alone.
                        feed_open = false;
                    } else if let Some(end) = access.check(&*plane, &self.grant).await {
                        break Err(end);
                    }
                }
                _ = recheck.tick() => {
                    let live = feed_open && changes.borrow().live;
                    if access.due(live)
                        && let Some(end) = access.check(&*plane, &self.grant).await
                    {
                        break Err(end);
                    }
                }
                event = self.process.next_event(), if control_open => match event {
                    Ok(Some(pb::Event { event: Some(pb::event::Event::Started(started)) })) => {
                        tracing::info!(xsession = %started.xsession, pid = started.pid, "desktop session started");
                        self.life.started();
                        self.service.live.update(&sid, Some(&started.xsession), !self.life.is_detached());
                        running.xsession = Some(started.xsession);
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
        self.service.live.remove(&sid);
        drop(attaches);
        from_process.abort();
        writer.abort();
        self.finish(result, running, noting).await;
    }

    /// Takes a viewer in; `Some` when the session must end.
    async fn attach(&mut self, attach: Attach, running: &mut Running) -> Option<Result<SessionEnd, SessionError>> {
        let Attach { reader, out, mode, resume, done } = attach;
        let sid = self.audit.sid.clone();
        let waiting_keyframe = resume.is_some();
        if let Some((hello, grant)) = resume {
            let answer = match (&running.hello, &running.xsession) {
                (Some(started), Some(xsession)) if self.life.is_running() => self.resumed_hello(&hello, started, xsession),
                _ => Err(SessionError::StillStarting(sid.clone())),
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    let _ = out.send(error_alert(&error.to_string())).await;
                    let _ = done.send(Err(error));
                    return None;
                }
            };
            // The session goes on under the grant made for this connection:
            // its certificate (a new login's, perhaps) is what is checked now.
            self.life.renew(grant.certificate_expires().map(instant_of));
            self.grant = grant;
            let spec = tdpb::ClientScreenSpec { width: answer.width, height: answer.height, scale: hello.screen_spec.map_or(100, |s| s.scale) };
            let _ = out.send(encode_frame(Payload::ServerHello(answer))).await;
            running.send_to_process(encode_frame(Payload::ClientScreenSpec(spec)));
            tracing::info!(sid = %sid, "session resumed");
        }
        let id = match self.life.attach(mode) {
            Ok(id) => id,
            Err(refused) => {
                let _ = out.send(error_alert(&format!("cannot join session {sid}: {refused}"))).await;
                let _ = done.send(Err(SessionError::StillStarting(sid)));
                return None;
            }
        };
        let reader = tokio::spawn(pump_viewer(id, reader, running.inputs.clone()));
        running.viewers.insert(id, Viewer { out, mode, reader, done: Some(done), waiting_keyframe });
        if waiting_keyframe && mode == ViewerMode::Owner {
            // The owner resumed elsewhere (another tab, another computer):
            // the session moves there, and the window it left says so.
            let moved: Vec<ViewerId> =
                running.viewers.iter().filter(|(other, v)| **other != id && v.mode == ViewerMode::Owner).map(|(other, _)| *other).collect();
            for other in moved {
                if let Some(mut viewer) = running.viewers.remove(&other) {
                    let _ = viewer.out.try_send(error_alert(MOVED));
                    viewer.reader.abort();
                    if let Some(done) = viewer.done.take() {
                        let _ = done.send(Ok(SessionEnd::Detached));
                    }
                }
                self.life.detach(std::time::Instant::now(), other);
            }
        }
        self.service.live.update(&sid, None, true);
        running.update_split();
        if waiting_keyframe && self.process.command(pb::command::Command::Refresh(pb::Refresh {})).await.is_err() {
            return Some(Err(SessionError::ProcessDied("its control stream closed".into())));
        }
        None
    }

    /// The ServerHello for a viewer that resumes: the session's, at the
    /// size this browser asks for, naming the xsession that runs.
    fn resumed_hello(&self, hello: &tdpb::ClientHello, started: &tdpb::ServerHello, xsession: &str) -> Result<tdpb::ServerHello, SessionError> {
        let agreement = crate::handshake::agree(hello)?;
        if !hello.codecs.contains(&started.codec) {
            return Err(SessionError::ResumeCodec(self.audit.sid.clone()));
        }
        let limits = self.service.config.limits.max_screen;
        let screen = agreement.screen.within(MaxScreen::new(limits.width.into(), limits.height.into()));
        Ok(tdpb::ServerHello {
            width: screen.width.into(),
            height: screen.height.into(),
            session_id: self.audit.sid.clone(),
            resumed_xsession: xsession.to_owned(),
            ..started.clone()
        })
    }

    /// A viewer's frame, or its end; `Some` when the session must end.
    async fn input(&mut self, input: ViewerInput, running: &mut Running, noting: &FrameAudit) -> Option<Result<SessionEnd, SessionError>> {
        let ViewerInput { viewer, frame } = input;
        let mode = self.life.mode(viewer)?;
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => return self.left(viewer, running).await,
            // A viewer that breaks the protocol is sent away; the owner's
            // ends the session, as before sessions had viewers.
            Err(error) if mode == ViewerMode::Owner => return Some(Err(error)),
            Err(error) => {
                if let Some(mut gone) = running.viewers.remove(&viewer) {
                    let _ = gone.out.try_send(error_alert(&error.to_string()));
                    if let Some(done) = gone.done.take() {
                        let _ = done.send(Err(error));
                    }
                }
                return self.left(viewer, running).await;
            }
        };
        let now = std::time::Instant::now();
        match oriel_tdpb::peek_kind(&frame) {
            // Pings never cross to the process: the answer goes to the one who asked.
            Some(PayloadKind::Ping) => {
                if let Some(v) = running.viewers.get(&viewer) {
                    let _ = v.out.try_send(frame);
                }
                return None;
            }
            Some(PayloadKind::Other(END_SESSION)) => return self.life.end_requested(viewer).map(|end| life_end(end, self.grant.options())),
            Some(PayloadKind::Other(FRAME_ACK)) => {
                // Only the pacing viewer's acknowledgements pace the frames.
                let waiting = running.viewers.get(&viewer).is_none_or(|v| v.waiting_keyframe);
                if self.life.pacing_viewer() != Some(viewer) || waiting {
                    return None;
                }
            }
            // Input counts against the idle timeout only from those who may send it.
            _ if crate::idle::is_activity_frame(&frame) && !self.life.input(now, viewer) => return None,
            _ if !mode.may_send_input() => return None,
            _ => {}
        }
        noting.note(&frame, true).await;
        record_browser(self.recorder.as_ref(), &frame).await;
        running.send_to_process(frame);
        None
    }

    /// A viewer left; `Some` when that ends the session.
    async fn left(&mut self, viewer: ViewerId, running: &mut Running) -> Option<Result<SessionEnd, SessionError>> {
        let gone = running.viewers.remove(&viewer);
        if let Some(end) = self.life.detach(std::time::Instant::now(), viewer) {
            // The last one left and nothing waits for it: its connection ends with the session.
            running.last_left = gone.and_then(|v| v.done);
            return Some(life_end(end, self.grant.options()));
        }
        if let Some(Viewer { done: Some(done), reader, .. }) = gone {
            reader.abort();
            let _ = done.send(Ok(SessionEnd::Detached));
        }
        running.update_split();
        if self.life.is_detached() {
            tracing::info!(sid = %self.audit.sid, grace = ?self.service.config.disconnect_grace, "the browser left; the session waits to be resumed");
            self.service.live.update(&self.audit.sid, None, false);
            if self.process.command(pb::command::Command::Detached(pb::Detached {})).await.is_err() {
                return Some(Err(SessionError::ProcessDied("its control stream closed".into())));
            }
        }
        None
    }

    /// Fans the process's output out to the viewers. The pacing viewer
    /// gets everything, in order, at its own speed (its acknowledgements
    /// pace the frames anyway). Another viewer whose queue is full skips
    /// rectangles to the next keyframe; what is not a rectangle (alerts,
    /// the cursor, the clipboard, shared-directory requests) it must take
    /// within `SLOW_VIEWER`, or it is sent away. `Some` when the session
    /// must end.
    async fn output(&mut self, output: ProcessOutput, running: &mut Running) -> Option<Result<SessionEnd, SessionError>> {
        let (bytes, kind) = match output {
            ProcessOutput::Hello(hello) => {
                let answer = tdpb::ServerHello { session_id: self.audit.sid.clone(), ..hello.clone() };
                running.hello = Some(hello);
                (encode_frame(Payload::ServerHello(answer)), Output::Other)
            }
            ProcessOutput::Frames(bytes) => (bytes, Output::Batch),
            ProcessOutput::Frame { bytes, keyframe: true, .. } => (bytes, Output::Keyframe),
            ProcessOutput::Frame { bytes, rect: true, .. } => (bytes, Output::Rect),
            ProcessOutput::Frame { bytes, .. } => (bytes, Output::Other),
        };
        let pacing = self.life.pacing_viewer();
        let mut fell_behind = false;
        let mut too_slow = Vec::new();
        for (id, viewer) in running.viewers.iter_mut() {
            if viewer.waiting_keyframe {
                match kind {
                    Output::Keyframe => viewer.waiting_keyframe = false,
                    // A run of frames from before it began waiting.
                    Output::Rect | Output::Batch => continue,
                    Output::Other => {}
                }
            }
            if Some(*id) == pacing {
                // Closed: its reader reports the end.
                let _ = viewer.out.send(bytes.clone()).await;
            } else if matches!(kind, Output::Rect | Output::Keyframe) {
                if viewer.out.try_send(bytes.clone()).is_err() {
                    viewer.waiting_keyframe = true;
                    fell_behind = true;
                }
            } else if tokio::time::timeout(SLOW_VIEWER, viewer.out.send(bytes.clone())).await.is_err() {
                too_slow.push(*id);
            }
        }
        for id in too_slow {
            if let Some(mut viewer) = running.viewers.remove(&id) {
                tracing::info!(viewer = id, "a viewer too slow to follow the session was sent away");
                viewer.reader.abort();
                if let Some(done) = viewer.done.take() {
                    let _ = done.send(Err(SessionError::Timeout("viewer to take the session's messages")));
                }
            }
            if let Some(end) = self.left(id, running).await {
                return Some(end);
            }
        }
        running.update_split();
        if fell_behind {
            let _ = self.process.command(pb::command::Command::Refresh(pb::Refresh {})).await;
        }
        None
    }

    /// Ends the session: tells every viewer why, closes the recording,
    /// writes the audit events, and lets the display go once the process
    /// has cleaned up.
    async fn finish(self, result: Result<SessionEnd, SessionError>, running: Running, noting: FrameAudit) {
        let LiveSession { service, audit, recorder, mut process, display, slot, .. } = self;
        // The session's place under the caps is free once it ends.
        drop(slot);
        let message = match &result {
            Ok(SessionEnd::ClientLeft | SessionEnd::Detached | SessionEnd::DesktopExited(_)) | Err(SessionError::Transport(_)) => None,
            Err(SessionError::Desktop { alerted: true, .. }) => None,
            Ok(SessionEnd::NotResumed(grace)) => {
                tracing::info!(grace = ?grace, "nobody resumed the session; it ends");
                None
            }
            Err(error) => Some(error.to_string()),
        };
        let text = match &result {
            Ok(SessionEnd::ClientLeft | SessionEnd::Detached) => String::new(),
            Ok(SessionEnd::DesktopExited(message)) => message.clone(),
            Ok(SessionEnd::NotResumed(grace)) => format!("nobody resumed the session within {}", crate::idle::describe(*grace)),
            Err(error) => error.to_string(),
        };
        let disconnect = matches!(
            &result,
            Err(SessionError::CertificateExpired | SessionError::Idle(_) | SessionError::Locked(_) | SessionError::Revoked(_) | SessionError::Unverifiable(_))
        );
        let mut owner_result = Some(result);
        if let Some(done) = running.last_left {
            let _ = done.send(owner_result.take().expect("taken once"));
        }
        let mut viewers: Vec<(ViewerId, Viewer)> = running.viewers.into_iter().collect();
        viewers.sort_by_key(|(id, v)| (v.mode, *id));
        for (_, mut viewer) in viewers {
            if let Some(message) = &message {
                let _ = viewer.out.send(error_alert(message)).await;
            }
            viewer.reader.abort();
            if let Some(done) = viewer.done.take() {
                let outcome = match (viewer.mode, owner_result.take()) {
                    (ViewerMode::Owner, Some(result)) => result,
                    (_, other) => {
                        owner_result = other;
                        Err(SessionError::Desktop { message: text.clone(), alerted: true, client_fault: false })
                    }
                };
                let _ = done.send(outcome);
            }
        }
        noting.finish().await;
        service.finish_recording(recorder).await;
        // The display number stays taken until the process has cleaned up
        // after itself (its Xvfb's socket and lock are gone).
        tokio::spawn(async move {
            let _ = process.wait().await;
            drop(display);
        });
        let mut events = Vec::new();
        if disconnect {
            events.push(audit.disconnected(&text));
        }
        events.push(audit.ended(&text));
        service.record(events);
    }
}

fn life_end(end: LifeEnd, _options: &oriel_rbac::SessionOptions) -> Result<SessionEnd, SessionError> {
    match end {
        LifeEnd::ClientLeft => Ok(SessionEnd::ClientLeft),
        LifeEnd::NotResumed(grace) => Ok(SessionEnd::NotResumed(grace)),
        LifeEnd::Idle(timeout) => Err(SessionError::Idle(timeout)),
        LifeEnd::CertificateExpired => Err(SessionError::CertificateExpired),
    }
}

/// `at` on the monotonic clock (now if it has passed).
pub(super) fn instant_of(at: std::time::SystemTime) -> std::time::Instant {
    std::time::Instant::now() + at.duration_since(std::time::SystemTime::now()).unwrap_or_default()
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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

/// What the session process's end means, from what it said and how it exited.
async fn ending(ended: Option<pb::Ended>, process: &mut SessionProcess) -> Result<SessionEnd, SessionError> {
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
