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
use oriel_auth::join_grant::JoinGrant;
use oriel_recorder::SessionRecorder;
use oriel_tdpb::pb::{self as tdpb};
use oriel_tdpb::{Payload, PayloadKind, encode_frame};
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::life::{LifeEnd, SessionLife, ViewerId, ViewerMode};
use super::participants::{self, Audience, Invitations, kind};
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
/// What a participant the owner sent away is told.
const REMOVED: &str = "the session's owner removed you from the session";

/// A boxed reader of a viewer's browser stream.
pub(super) type ViewerStream = ClientReader<Box<dyn AsyncRead + Unpin + Send>>;

/// How a connection comes into the session.
pub(super) enum Admission {
    /// It starts the session: its hello goes to the process.
    Start,
    /// The owner, back: the session goes on under the grant made for this
    /// connection, at its screen's size.
    Resume(tdpb::ClientHello, SessionGrant),
    /// A participant the roles let join; the owner must have invited them.
    Join(tdpb::ClientHello, JoinGrant),
}

/// A browser connection coming into the session.
pub(super) struct Attach {
    pub(super) reader: ViewerStream,
    pub(super) out: mpsc::Sender<Vec<u8>>,
    pub(super) admission: Admission,
    /// How the connection ends, for whoever serves it.
    pub(super) done: oneshot::Sender<Result<SessionEnd, SessionError>>,
}

struct Viewer {
    out: mpsc::Sender<Vec<u8>>,
    mode: ViewerMode,
    /// The Oriel user.
    user: String,
    /// A participant's grant, decided again while it stays.
    join: Option<JoinGrant>,
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
    /// A Linux session's X display (none for a Windows desktop's).
    pub(super) display: Option<Display>,
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
    /// A single frame that is no rectangle, for this audience.
    Other(Audience),
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
    /// Whom the owner invited.
    invited: Invitations,
    /// The screen's size, as the owner last asked for it.
    screen: tdpb::ClientScreenSpec,
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
        let split = self.viewers.len() > 1 || self.viewers.values().any(|v| v.waiting_keyframe || v.mode != ViewerMode::Owner);
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
        let mut running = Running {
            viewers: HashMap::new(),
            hello: None,
            xsession: None,
            to_process,
            held: Default::default(),
            split,
            inputs,
            last_left: None,
            invited: Invitations::default(),
            screen: tdpb::ClientScreenSpec { width: 0, height: 0, scale: 100 },
        };

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
                    } else {
                        self.recheck_participants(&mut running).await;
                    }
                }
                _ = recheck.tick() => {
                    let live = feed_open && changes.borrow().live;
                    if access.due(live) {
                        if let Some(end) = access.check(&*plane, &self.grant).await {
                            break Err(end);
                        }
                        self.recheck_participants(&mut running).await;
                    }
                }
                event = self.process.next_event(), if control_open => match event {
                    Ok(Some(pb::Event { event: Some(pb::event::Event::Started(started)) })) => {
                        tracing::info!(xsession = %started.xsession, pid = started.pid, "desktop session started");
                        self.life.started();
                        self.service.live.update(&sid, Some(&started.xsession), self.life.owner_attached());
                        running.xsession = Some(started.xsession);
                    }
                    Ok(Some(pb::Event { event: Some(pb::event::Event::Ended(end)) })) => ended = Some(end),
                    Ok(Some(pb::Event { event: Some(pb::event::Event::Thumbnail(picture)) })) => {
                        let picture = crate::thumbnail::Thumbnail { width: picture.width, height: picture.height, rgba: picture.rgba };
                        // What the process sends is checked like anything else from it.
                        if picture.is_valid() {
                            self.service.live.thumbnail(&sid, picture);
                        }
                    }
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
        let Attach { reader, out, admission, done } = attach;
        let sid = self.audit.sid.clone();
        let (mode, user, join, waiting_keyframe) = match admission {
            Admission::Start => (ViewerMode::Owner, self.grant.user().to_owned(), None, false),
            Admission::Resume(hello, grant) => {
                let answer = match self.running_hello(&hello, running, ViewerMode::Owner) {
                    Ok(answer) => answer,
                    Err(error) => return refuse(out, done, error).await,
                };
                // The session goes on under the grant made for this connection:
                // its certificate (a new login's, perhaps) is what is checked now.
                self.life.renew(grant.certificate_expires().map(instant_of));
                self.service.live.owner_roles(&sid, grant.roles());
                self.grant = grant;
                running.screen = tdpb::ClientScreenSpec { width: answer.width, height: answer.height, scale: hello.screen_spec.map_or(100, |s| s.scale) };
                let _ = out.send(encode_frame(Payload::ServerHello(answer))).await;
                running.send_to_process(encode_frame(Payload::ClientScreenSpec(running.screen)));
                tracing::info!(sid = %sid, "session resumed");
                (ViewerMode::Owner, self.grant.user().to_owned(), None, true)
            }
            Admission::Join(hello, grant) => {
                let mode = participants::viewer_mode(grant.mode());
                let user = grant.user().to_owned();
                if !running.invited.admits(&user, mode) {
                    let error = SessionError::NotInvited { owner: self.grant.user().to_owned(), mode: grant.mode().as_str() };
                    self.service.record(vec![self.audit.joined(&user, grant.mode().as_str(), Some(&error.to_string()))]);
                    return refuse(out, done, error).await;
                }
                // The owner's access is decided again now: a lock that just
                // appeared lets nobody in, and ends the session.
                if let Ok(Some(revoked)) = self.service.config.authority.still_allowed(&self.grant).await {
                    let error = super::recheck::revoked_error(revoked);
                    let _ = out.send(error_alert(&error.to_string())).await;
                    let _ = done.send(Err(SessionError::Revoked(error.to_string())));
                    return Some(Err(error));
                }
                let answer = match self.running_hello(&hello, running, mode) {
                    Ok(answer) => answer,
                    Err(error) => return refuse(out, done, error).await,
                };
                let _ = out.send(encode_frame(Payload::ServerHello(answer))).await;
                self.service.record(vec![self.audit.joined(&user, grant.mode().as_str(), None)]);
                tracing::info!(sid = %sid, participant = %user, mode = %grant.mode(), "joined the session");
                (mode, user, Some(grant), true)
            }
        };
        if running.viewers.len() >= oriel_tdpb::limits::MAX_PARTICIPANTS {
            let error = SessionError::TooManySessions(format!("this session has {} people in it, the most it may", running.viewers.len()));
            return refuse(out, done, error).await;
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
        running.viewers.insert(id, Viewer { out, mode, user, join, reader, done: Some(done), waiting_keyframe });
        if waiting_keyframe && mode == ViewerMode::Owner {
            // The owner resumed elsewhere (another tab, another computer):
            // the session moves there, and the window it left says so.
            let moved: Vec<ViewerId> =
                running.viewers.iter().filter(|(other, v)| **other != id && v.mode == ViewerMode::Owner).map(|(other, _)| *other).collect();
            for other in moved {
                send_away(running, other, MOVED, Ok(SessionEnd::Detached));
                self.life.detach(std::time::Instant::now(), other);
            }
        }
        self.service.live.update(&sid, None, self.life.owner_attached());
        running.update_split();
        // The first connection hears the list after its ServerHello, which the process sends.
        if waiting_keyframe {
            self.show_participants(running).await;
        }
        if waiting_keyframe && self.process.command(pb::command::Command::Refresh(pb::Refresh {})).await.is_err() {
            return Some(Err(SessionError::ProcessDied("its control stream closed".into())));
        }
        None
    }

    /// The ServerHello for a connection into the running session: the
    /// session's, naming the xsession that runs, at the size the owner's
    /// browser asks for (a participant gets the owner's).
    fn running_hello(&self, hello: &tdpb::ClientHello, running: &Running, mode: ViewerMode) -> Result<tdpb::ServerHello, SessionError> {
        let (Some(started), Some(xsession)) = (&running.hello, &running.xsession) else {
            return Err(SessionError::StillStarting(self.audit.sid.clone()));
        };
        if !self.life.is_running() {
            return Err(SessionError::StillStarting(self.audit.sid.clone()));
        }
        let mut answer = self.resumed_hello(hello, started, xsession)?;
        if mode != ViewerMode::Owner {
            answer.width = running.screen.width;
            answer.height = running.screen.height;
            // What the owner's roles share is the owner's: a participant may
            // paste only as a peer, and shares no directories.
            answer.clipboard_enabled &= mode.may_send_input();
            answer.directory_sharing_enabled = false;
            answer.directory_remove_supported = false;
        }
        answer.participant_mode = participants::participant_mode(mode) as i32;
        Ok(answer)
    }

    /// Shows everyone who is there and whom the owner invited, and keeps
    /// it in the recording.
    async fn show_participants(&self, running: &Running) {
        let mut list: Vec<(ViewerId, String, ViewerMode)> = running.viewers.iter().map(|(id, v)| (*id, v.user.clone(), v.mode)).collect();
        list.sort_by_key(|(id, _, mode)| (*mode, *id));
        for (id, viewer) in &running.viewers {
            let frame = encode_frame(Payload::SessionParticipants(participants::participants_for(*id, &list, &running.invited)));
            let _ = viewer.out.try_send(frame);
        }
        if let Some(recorder) = &self.recorder {
            let frame = encode_frame(Payload::SessionParticipants(participants::participants_for(0, &list, &running.invited)));
            recorder.record(&frame, oriel_recording::Source::Desktop);
            recorder.flush().await;
        }
    }

    /// Decides again whether each participant may stay; those who may not
    /// (a lock, a role taken away, an expired login) are sent away.
    async fn recheck_participants(&mut self, running: &mut Running) {
        let owner_roles = self.grant.roles().to_vec();
        let desktop = self.service.config.desktop_name.clone();
        let mut gone = Vec::new();
        for (id, viewer) in &running.viewers {
            let Some(grant) = &viewer.join else { continue };
            if grant.certificate_expires() <= std::time::SystemTime::now() {
                gone.push((*id, "your login expired; log in again to go on".to_owned()));
                continue;
            }
            match self.service.config.authority.authorize_join(grant.certificate(), self.service.config.kind, &desktop, &owner_roles, grant.mode()).await {
                Ok(_) => {}
                // A check that cannot be made now keeps them, as it keeps the owner.
                Err(oriel_auth::control_plane::AccessDenied::Unavailable(_)) => {}
                Err(denied) => gone.push((*id, format!("you can no longer take part in this session: {denied}"))),
            }
        }
        if gone.is_empty() {
            return;
        }
        for (id, reason) in gone {
            if let Some(user) = running.viewers.get(&id).map(|v| v.user.clone()) {
                self.service.record(vec![self.audit.left(&user, &reason)]);
            }
            send_away(running, id, &reason, Err(SessionError::Revoked(reason.clone())));
            self.life.detach(std::time::Instant::now(), id);
        }
        running.update_split();
        self.show_participants(running).await;
    }

    /// The largest screen of this session: what its process said it
    /// started with (from the owner's monitor), else the host's cap.
    fn max_screen(&self, started: Option<&tdpb::ServerHello>) -> MaxScreen {
        match started {
            Some(hello) if hello.max_width > 0 && hello.max_height > 0 => MaxScreen::new(hello.max_width, hello.max_height),
            _ => {
                let limits = self.service.config.limits.max_screen;
                MaxScreen::new(limits.width.into(), limits.height.into())
            }
        }
    }

    /// The ServerHello for a viewer that resumes: the session's, at the
    /// size this browser asks for, naming the xsession that runs.
    fn resumed_hello(&self, hello: &tdpb::ClientHello, started: &tdpb::ServerHello, xsession: &str) -> Result<tdpb::ServerHello, SessionError> {
        let agreement = crate::handshake::agree(hello)?;
        if !hello.codecs.contains(&started.codec) {
            return Err(SessionError::ResumeCodec(self.audit.sid.clone()));
        }
        let screen = agreement.screen.within(self.max_screen(Some(started)));
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
                if let Some(user) = running.viewers.get(&viewer).map(|v| v.user.clone()) {
                    self.service.record(vec![self.audit.left(&user, &error.to_string())]);
                }
                send_away(running, viewer, &error.to_string(), Err(error));
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
            Some(PayloadKind::Other(kind::END_SESSION)) => return self.life.end_requested(viewer).map(|end| life_end(end, self.grant.options())),
            Some(PayloadKind::Other(kind::INVITE_PARTICIPANT | kind::REMOVE_PARTICIPANT)) => {
                if mode == ViewerMode::Owner {
                    self.owner_says(&frame, running).await;
                }
                return None;
            }
            Some(PayloadKind::Other(kind::FRAME_ACK)) => {
                // Only the pacing viewer's acknowledgements pace the frames.
                let waiting = running.viewers.get(&viewer).is_none_or(|v| v.waiting_keyframe);
                if self.life.pacing_viewer() != Some(viewer) || waiting {
                    return None;
                }
            }
            // Input counts against the idle timeout only from those who may send it.
            _ if crate::idle::is_activity_frame(&frame) && !self.life.input(now, viewer) => return None,
            Some(kind) if !participants::may_send(mode, super::pumps::field_number(kind)) => return None,
            None => return None,
            _ => {}
        }
        if oriel_tdpb::peek_kind(&frame) == Some(PayloadKind::Other(kind::CLIENT_SCREEN_SPEC)) {
            self.screen_changed(&frame, running);
        }
        noting.note(&frame, true).await;
        record_browser(self.recorder.as_ref(), &frame).await;
        running.send_to_process(frame);
        None
    }

    /// The owner invites or removes a participant.
    async fn owner_says(&mut self, frame: &[u8], running: &mut Running) {
        let owner = running.viewers.values().find(|v| v.mode == ViewerMode::Owner).map(|v| v.out.clone());
        match oriel_tdpb::decode_frame(frame, oriel_tdpb::Limits::FROM_CLIENT) {
            Ok(Some(Payload::InviteParticipant(invite))) => {
                if let Err(error) = running.invited.apply(&invite.user, invite.mode()) {
                    if let Some(owner) = owner {
                        let _ = owner.try_send(crate::client_stream::alert(&error.to_string(), tdpb::AlertSeverity::Warning));
                    }
                    return;
                }
                tracing::info!(participant = %invite.user, mode = ?invite.mode(), "the owner changed an invitation");
            }
            Ok(Some(Payload::RemoveParticipant(remove))) => {
                let id = ViewerId::from(remove.viewer);
                let Some(user) = running.viewers.get(&id).filter(|v| v.mode != ViewerMode::Owner).map(|v| v.user.clone()) else { return };
                running.invited.withdraw(&user);
                self.service.record(vec![self.audit.left(&user, REMOVED)]);
                send_away(running, id, REMOVED, Err(SessionError::Removed));
                self.life.detach(std::time::Instant::now(), id);
                running.update_split();
            }
            // Malformed: the owner's own browser is wrong; nothing to do for it here.
            _ => return,
        }
        self.show_participants(running).await;
    }

    /// The owner's screen changed size: participants are told, so their
    /// canvas takes the keyframe of the new size that follows.
    fn screen_changed(&self, frame: &[u8], running: &mut Running) {
        let Ok(Some(Payload::ClientScreenSpec(spec))) = oriel_tdpb::decode_frame(frame, oriel_tdpb::Limits::FROM_CLIENT) else { return };
        let fitted = crate::x11::screen::ScreenSize::fit(spec.width, spec.height, spec.scale).within(self.max_screen(running.hello.as_ref()));
        running.screen = tdpb::ClientScreenSpec { width: fitted.width.into(), height: fitted.height.into(), scale: fitted.scale };
        let told = encode_frame(Payload::ClientScreenSpec(running.screen));
        for viewer in running.viewers.values().filter(|v| v.mode != ViewerMode::Owner) {
            let _ = viewer.out.try_send(told.clone());
        }
    }

    /// A viewer left; `Some` when that ends the session.
    async fn left(&mut self, viewer: ViewerId, running: &mut Running) -> Option<Result<SessionEnd, SessionError>> {
        let was_owner = self.life.mode(viewer) == Some(ViewerMode::Owner);
        let gone = running.viewers.remove(&viewer);
        if let Some(Viewer { join: Some(_), user, .. }) = &gone {
            self.service.record(vec![self.audit.left(user, "")]);
        }
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
        if !self.life.is_detached() {
            self.show_participants(running).await;
        }
        if was_owner && !self.life.owner_attached() {
            tracing::info!(sid = %self.audit.sid, grace = ?self.service.config.disconnect_grace, "the owner's browser left; the session waits to be resumed");
            self.service.live.update(&self.audit.sid, None, false);
            // The owner's shared directories go with the browser that answered
            // for them; participants who stay get the screen again from a keyframe.
            let mut commands = vec![pb::command::Command::Detached(pb::Detached {})];
            if !self.life.is_detached() {
                commands.push(pb::command::Command::Refresh(pb::Refresh {}));
            }
            for command in commands {
                if self.process.command(command).await.is_err() {
                    return Some(Err(SessionError::ProcessDied("its control stream closed".into())));
                }
            }
        } else if self.life.is_detached() && self.process.command(pb::command::Command::Detached(pb::Detached {})).await.is_err() {
            return Some(Err(SessionError::ProcessDied("its control stream closed".into())));
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
        let hello = matches!(output, ProcessOutput::Hello(_));
        let (bytes, kind) = match output {
            ProcessOutput::Hello(hello) => {
                let answer = tdpb::ServerHello { session_id: self.audit.sid.clone(), participant_mode: tdpb::ParticipantMode::Owner as i32, ..hello.clone() };
                running.screen = tdpb::ClientScreenSpec { width: hello.width, height: hello.height, scale: 100 };
                running.hello = Some(hello);
                (encode_frame(Payload::ServerHello(answer)), Output::Other(Audience::All))
            }
            ProcessOutput::Frames(bytes) => (bytes, Output::Batch),
            ProcessOutput::Frame { bytes, keyframe: true, .. } => (bytes, Output::Keyframe),
            ProcessOutput::Frame { bytes, rect: true, .. } => (bytes, Output::Rect),
            ProcessOutput::Frame { bytes, kind, .. } => (bytes, Output::Other(Audience::of(kind))),
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
                    Output::Other(_) => {}
                }
            }
            if let Output::Other(audience) = kind
                && !audience.includes(viewer.mode)
            {
                continue;
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
                self.service.record(vec![self.audit.left(&viewer.user, "too slow to follow the session")]);
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
        if hello {
            self.show_participants(running).await;
        }
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
        let mut events = Vec::new();
        for (_, mut viewer) in viewers {
            match (&message, viewer.mode) {
                (Some(message), _) => {
                    let _ = viewer.out.send(error_alert(message)).await;
                }
                // The owner knows why; a participant is told, or its page would try to join again.
                (None, ViewerMode::Peer | ViewerMode::Observer) => {
                    let why = if text.is_empty() { "its owner ended it".to_owned() } else { text.clone() };
                    let _ = viewer.out.send(error_alert(&format!("the session ended: {why}"))).await;
                }
                (None, ViewerMode::Owner) => {}
            }
            if viewer.join.is_some() {
                events.push(audit.left(&viewer.user, "the session ended"));
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
        if disconnect {
            events.push(audit.disconnected(&text));
        }
        events.push(audit.ended(&text));
        service.record(events);
    }
}

/// Refuses a connection before it is a viewer.
async fn refuse(
    out: mpsc::Sender<Vec<u8>>,
    done: oneshot::Sender<Result<SessionEnd, SessionError>>,
    error: SessionError,
) -> Option<Result<SessionEnd, SessionError>> {
    let _ = out.send(error_alert(&error.to_string())).await;
    let _ = done.send(Err(error));
    None
}

/// Sends a viewer away with `message` (an ERROR alert), ending its connection with `result`.
fn send_away(running: &mut Running, id: ViewerId, message: &str, result: Result<SessionEnd, SessionError>) {
    if let Some(mut viewer) = running.viewers.remove(&id) {
        let _ = viewer.out.try_send(error_alert(message));
        viewer.reader.abort();
        if let Some(done) = viewer.done.take() {
            let _ = done.send(result);
        }
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
