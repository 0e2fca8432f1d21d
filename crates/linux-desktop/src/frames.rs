//! The frame loop: a thread of its own per session that turns X damage into
//! paced, encoded frames. Capture and encoding never run on the async
//! runtime, so a busy screen cannot delay input handling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::x11::X11Connection;
use oriel_tdpb::{Payload, encode_frame};
use x11rb::connection::Connection;
use x11rb::protocol::Event;

use crate::encoder::RectEncoder;
use crate::link::{Link, LinkEstimate};
use crate::pacing::{Pacer, PacingConfig, Readiness};
use crate::thumbnail::Thumbnail;
use crate::video_region::VideoRegion;
use crate::window_moves::{Geometry, WindowMoves};
use crate::x11::X11Error;
use crate::x11::capture::{Capture, Changes, Rect};
use crate::x11::cursor;
use crate::x11::screen::{Screen, ScreenSize};

/// What the session tells the frame loop.
#[derive(Debug)]
pub enum Command {
    /// The client painted frames up to this id.
    Ack(u32),
    /// The client's screen changed size.
    Resize(ScreenSize),
    /// A viewer attached: the cursor and a keyframe now, frames in flight
    /// forgotten, capture running again if it was paused.
    Refresh,
    /// Nobody watches: capture nothing until the next `Refresh`, after a
    /// thumbnail of the screen as the viewers last had it.
    Pause,
    /// A viewer could not decode a frame (`KeyframeRequest`): a keyframe
    /// soon, but at most one a [`KEYFRAME_REQUEST_GAP`], whatever a client
    /// asks.
    Keyframe,
}

/// Least time between a keyframe and one a viewer asked for: a keyframe
/// costs a full-screen encode, and the request comes from the network.
pub const KEYFRAME_REQUEST_GAP: Duration = Duration::from_secs(1);
/// The viewer hears of its link at most this often.
const LINK_REPORT_GAP: Duration = Duration::from_secs(1);

enum Signal {
    Command(Command),
    /// A top-level window's new geometry.
    Configured(u32, Geometry),
    /// A top-level window is gone.
    Destroyed(u32),
    /// The session is over; X is about to go away.
    Stop,
    Damage,
    Cursor,
    XClosed(String),
}

/// Why a frame loop ended.
#[derive(Debug, thiserror::Error)]
pub enum FrameLoopEnd {
    /// The session stopped it, or stopped listening to it.
    #[error("the session stopped listening to the frame loop")]
    Stopped,
    /// The X server went away or refused a request.
    #[error(transparent)]
    X11(#[from] X11Error),
}

/// Counters for benchmarks and logs.
#[derive(Debug, Default)]
pub struct FrameStats {
    /// Frames sent.
    pub frames: AtomicU64,
    /// Rectangles sent.
    pub rects: AtomicU64,
    /// Encoded bytes sent (TDPB frames, headers included).
    pub bytes: AtomicU64,
    /// VP8 frames sent, for regions in motion.
    pub video_frames: AtomicU64,
}

/// Settings of the frame loop.
#[derive(Debug, Clone)]
pub struct FrameConfig {
    /// Pacing limits.
    pub pacing: PacingConfig,
    /// A full-screen keyframe (and a fresh zstd context) at most this often
    /// while the screen changes, once the frames since the last one weigh as
    /// much as it did, so a decoder or a recording can start there.
    pub keyframe_interval: Duration,
    /// A region in motion may go as VP8 video (`video_region.rs`): the
    /// client decodes VP8 and the session codec, and the roles and the
    /// cluster allow it (`desktop_lossy`).
    pub video: bool,
}

impl Default for FrameConfig {
    fn default() -> Self {
        Self { pacing: PacingConfig::default(), keyframe_interval: Duration::from_secs(60), video: false }
    }
}

/// A running frame loop. Dropping it stops the loop.
pub struct FrameLoop {
    signals: mpsc::Sender<Signal>,
    /// Counters, shared with the loop.
    pub stats: Arc<FrameStats>,
}

impl FrameLoop {
    /// Starts the loop and the thread that reads X events for it. Encoded
    /// TDPB frames go to `out`; the loop ends when `out` closes or X goes away,
    /// and then says why on the returned receiver.
    pub fn spawn(
        conn: Arc<X11Connection>,
        screen: Screen,
        capture: Capture,
        encoder: RectEncoder,
        config: FrameConfig,
        out: tokio::sync::mpsc::Sender<Vec<u8>>,
        thumbnails: Option<tokio::sync::mpsc::Sender<Thumbnail>>,
    ) -> std::io::Result<(Self, tokio::sync::oneshot::Receiver<FrameLoopEnd>)> {
        let mut capture = capture;
        capture.find_moves(encoder.codec() == oriel_tdpb::pb::Codec::QoizSession);
        let (ended_tx, ended) = tokio::sync::oneshot::channel();
        let (signals, rx) = mpsc::channel();
        let stats = Arc::new(FrameStats::default());
        let events = signals.clone();
        let event_conn = conn.clone();
        let root = capture.root();
        let shadow = capture.shadow();
        let video = config.video.then(|| VideoRegion::new(shadow.width, shadow.height));
        std::thread::Builder::new().name("x11-events".into()).spawn(move || forward_events(&event_conn, root, &events))?;
        let state = LoopState {
            conn,
            screen,
            capture,
            encoder,
            pacer: Pacer::new(config.pacing),
            config,
            out,
            thumbnails,
            stats: stats.clone(),
            cursor_serial: None,
            window_moves: WindowMoves::default(),
            keyframe_bytes: 0,
            bytes_since_keyframe: 0,
            link: Link::new(),
            link_told: None,
            video,
            repaint_pending: false,
        };
        std::thread::Builder::new().name("frame-loop".into()).spawn(move || {
            let end = match state.run(rx) {
                Ok(()) => FrameLoopEnd::Stopped,
                Err(error) => {
                    tracing::warn!(%error, "frame loop ended");
                    FrameLoopEnd::X11(error)
                }
            };
            let _ = ended_tx.send(end);
        })?;
        Ok((Self { signals, stats }, ended))
    }

    /// Passes a client message on. False when the loop has ended.
    pub fn send(&self, command: Command) -> bool {
        self.signals.send(Signal::Command(command)).is_ok()
    }
}

impl Drop for FrameLoop {
    fn drop(&mut self) {
        let _ = self.signals.send(Signal::Stop);
    }
}

fn forward_events(conn: &X11Connection, root: u32, signals: &mpsc::Sender<Signal>) {
    loop {
        let signal = match conn.wait_for_event() {
            Ok(Event::DamageNotify(_)) => Signal::Damage,
            Ok(Event::ConfigureNotify(e)) if e.event == root => {
                let border = 2 * u32::from(e.border_width);
                let geometry = Geometry { x: e.x.into(), y: e.y.into(), width: u32::from(e.width) + border, height: u32::from(e.height) + border };
                Signal::Configured(e.window, geometry)
            }
            Ok(Event::DestroyNotify(e)) if e.event == root => Signal::Destroyed(e.window),
            Ok(Event::XfixesCursorNotify(_)) => Signal::Cursor,
            Ok(Event::Error(error)) => {
                tracing::debug!(?error, "X error event");
                continue;
            }
            Ok(_) => continue,
            Err(error) => {
                let _ = signals.send(Signal::XClosed(error.to_string()));
                return;
            }
        };
        if signals.send(signal).is_err() {
            return;
        }
    }
}

struct LoopState {
    conn: Arc<X11Connection>,
    screen: Screen,
    capture: Capture,
    encoder: RectEncoder,
    pacer: Pacer,
    config: FrameConfig,
    out: tokio::sync::mpsc::Sender<Vec<u8>>,
    thumbnails: Option<tokio::sync::mpsc::Sender<Thumbnail>>,
    stats: Arc<FrameStats>,
    cursor_serial: Option<u32>,
    window_moves: WindowMoves,
    /// Bytes of the last keyframe, and of the frames sent since it.
    keyframe_bytes: u64,
    bytes_since_keyframe: u64,
    /// What the link carries, from the acknowledgements.
    link: Link,
    /// What the viewer was last told of it, and when.
    link_told: Option<(Instant, LinkEstimate)>,
    /// The region in motion sent as video, when the session may.
    video: Option<VideoRegion>,
    /// The last frame left something to repaint exactly (a video region
    /// that ended): another frame is due though nothing changed.
    repaint_pending: bool,
}

impl LoopState {
    fn run(mut self, signals: mpsc::Receiver<Signal>) -> Result<(), X11Error> {
        let mut dirty = true;
        let mut keyframe_due = true;
        let mut paused = false;
        let mut last_keyframe = Instant::now();
        let mut keyframe_requested = false;
        self.send_cursor()?;
        loop {
            if keyframe_requested && last_keyframe.elapsed() >= KEYFRAME_REQUEST_GAP {
                keyframe_requested = false;
                keyframe_due = true;
                dirty = true;
            }
            let wait = if dirty && !paused {
                let now = Instant::now();
                match self.pacer.readiness(now) {
                    Readiness::Now => {
                        let keyframe = keyframe_due || self.seek_point_due(last_keyframe.elapsed());
                        if keyframe {
                            tracing::debug!(asked = keyframe_due, "keyframe");
                            last_keyframe = now;
                            keyframe_due = false;
                        }
                        if !self.send_frame(keyframe)? {
                            return Ok(());
                        }
                        dirty = std::mem::take(&mut self.repaint_pending);
                        continue;
                    }
                    Readiness::At(at) => Some(at.saturating_duration_since(now)),
                }
            } else if keyframe_requested && !paused {
                Some((last_keyframe + KEYFRAME_REQUEST_GAP).saturating_duration_since(Instant::now()))
            } else if let Some(at) = self.video.as_ref().and_then(VideoRegion::wake_at).filter(|_| !paused) {
                // A video that stopped changes nothing more: wake to repaint it exactly.
                let now = Instant::now();
                if at <= now {
                    dirty |= self.video.as_ref().is_some_and(VideoRegion::pending) || self.video_quiet(now);
                    continue;
                }
                Some(at.saturating_duration_since(now))
            } else {
                None
            };
            let signal = match wait {
                Some(timeout) => match signals.recv_timeout(timeout) {
                    Ok(signal) => signal,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                },
                None => match signals.recv() {
                    Ok(signal) => signal,
                    Err(_) => return Ok(()),
                },
            };
            match signal {
                Signal::Damage => dirty = true,
                Signal::Configured(window, geometry) => self.window_moves.configured(window, geometry),
                Signal::Destroyed(window) => self.window_moves.destroyed(window),
                Signal::Cursor => self.send_cursor()?,
                Signal::Command(Command::Ack(id)) => {
                    self.pacer.acked(id);
                    self.link.acked(id, Instant::now());
                    self.follow_link();
                }
                Signal::Command(Command::Keyframe) => keyframe_requested = true,
                Signal::Command(Command::Pause) => {
                    paused = true;
                    let shadow = self.capture.shadow();
                    if let (Some(thumbnails), Some(thumbnail)) =
                        (&self.thumbnails, crate::thumbnail::thumbnail(&shadow.pixels, shadow.stride(), shadow.width, shadow.height))
                    {
                        let _ = thumbnails.try_send(thumbnail);
                    }
                }
                Signal::Command(Command::Refresh) => {
                    paused = false;
                    dirty = true;
                    keyframe_due = true;
                    self.pacer.forget_in_flight();
                    self.link.forget_in_flight();
                    self.link_told = None;
                    self.cursor_serial = None;
                    self.send_cursor()?;
                }
                Signal::Command(Command::Resize(size)) => {
                    if self.screen.current() != Some(size) {
                        self.screen.resize(&self.conn, size)?;
                        self.capture.resize(&self.conn, size.width.into(), size.height.into())?;
                        if let Some(video) = &mut self.video {
                            video.resize(size.width.into(), size.height.into());
                        }
                        dirty = true;
                        keyframe_due = true;
                    }
                }
                Signal::XClosed(reason) => return Err(X11Error::Connect(reason)),
                Signal::Stop => return Ok(()),
            }
        }
    }

    /// Whether a periodic keyframe is due, `elapsed` after the last one: once
    /// the interval has passed and the frames since then weigh at least as
    /// much as that keyframe. A seek then never replays more than about a
    /// keyframe's worth of frames, and a quiet session (typing) is not sent
    /// a whole screen every interval for nothing.
    fn seek_point_due(&self, elapsed: Duration) -> bool {
        elapsed >= self.config.keyframe_interval && self.bytes_since_keyframe >= self.keyframe_bytes
    }

    /// Captures what changed and sends it as one frame. False once the
    /// session stopped listening.
    fn send_frame(&mut self, keyframe: bool) -> Result<bool, X11Error> {
        let window_moves = if keyframe {
            self.window_moves.clear();
            Vec::new()
        } else {
            self.window_moves.take()
        };
        // A keyframe keeps a video region as video: a VP8 key frame of it
        // with everything else exact. Sending a playing video's region
        // exactly would cost as much as a second of the video or more.
        if keyframe && let Some(video) = &mut self.video {
            video.key_next();
        }
        let changes = self.capture.changes(&self.conn, keyframe, &window_moves)?;
        let (rects, region_changed) = match &self.video {
            // A region whose last change waits for its turn goes now too.
            Some(video) => {
                let (rects, changed) = video.split(changes.rects);
                (rects, changed || video.pending())
            }
            None => (changes.rects, false),
        };
        let changes = Changes { moves: changes.moves, rects };
        // A region's change within a video frame interval waits (it is
        // pending, and the loop wakes for it): no frame for it alone.
        let region_changed = region_changed && self.video.as_mut().is_some_and(|video| keyframe || !video.hold(Instant::now()));
        if changes.is_empty() && !region_changed {
            return Ok(true);
        }
        let frame_id = self.pacer.sent(Instant::now());
        let mut messages = match self.encoder.encode_frame(frame_id, &changes, self.capture.shadow(), keyframe) {
            Ok(exact) => exact,
            Err(error) => {
                // Our own pixels failed to encode: a bug, not the client's fault.
                tracing::error!(%error, rects = changes.rects.len(), moves = changes.moves.len(), "frame did not encode");
                return Ok(false);
            }
        };
        // The region's video frame comes last, ending the frame: a keyframe's
        // first message stays the one a recording's seek starts at, and the
        // VP8 key frame after it is within what a seek replays.
        if region_changed && let Some(video) = &mut self.video {
            match video.encode(frame_id, self.capture.shadow(), Instant::now()) {
                Ok(Some(mut rect)) => {
                    self.stats.video_frames.fetch_add(1, Ordering::Relaxed);
                    if let Some(last) = messages.last_mut() {
                        last.end_of_frame = false;
                    }
                    rect.end_of_frame = true;
                    messages.push(rect);
                }
                Ok(None) => {}
                // No video after all: the region goes exactly, next frame.
                Err(region) => {
                    self.capture.repaint(region);
                    self.repaint_pending = true;
                }
            }
        }
        if let Some(video) = &mut self.video {
            let exact_bytes = messages.iter().filter(|m| m.codec != oriel_tdpb::pb::Codec::Vp8 as i32).map(|m| m.data.len()).sum();
            let repaint = video.after_frame(Instant::now(), &changes.rects, region_changed, exact_bytes);
            self.follow_video(repaint);
        }
        if keyframe {
            (self.keyframe_bytes, self.bytes_since_keyframe) = (0, 0);
        }
        let mut frame_bytes = 0;
        for message in messages {
            let frame = encode_frame(Payload::FrameRect(message));
            frame_bytes += frame.len() as u64;
            self.stats.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
            if keyframe {
                self.keyframe_bytes += frame.len() as u64;
            } else {
                self.bytes_since_keyframe += frame.len() as u64;
            }
            if self.out.blocking_send(frame).is_err() {
                return Ok(false);
            }
        }
        self.link.sent(frame_id, frame_bytes, Instant::now());
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        self.stats.rects.fetch_add(changes.rects.len() as u64, Ordering::Relaxed);
        Ok(true)
    }

    /// Follows the video region after a frame: one that ended (or was
    /// replaced) is repainted exactly, and regions are copied (scrolls,
    /// window moves) only while no region shows lossy pixels a copy could
    /// carry elsewhere.
    fn follow_video(&mut self, repaint: Option<Rect>) {
        if let Some(region) = repaint {
            self.capture.repaint(region);
            self.repaint_pending = true;
        }
        let copies = self.encoder.codec() == oriel_tdpb::pb::Codec::QoizSession && self.video.as_ref().is_none_or(|v| v.active().is_none());
        self.capture.find_moves(copies);
    }

    /// A video region that stopped changing, with no frame to notice: ends
    /// it. Whether a frame is now due to repaint it.
    fn video_quiet(&mut self, now: Instant) -> bool {
        let repaint = self.video.as_mut().and_then(|video| video.after_frame(now, &[], false, 0));
        self.follow_video(repaint);
        std::mem::take(&mut self.repaint_pending)
    }

    /// Adapts the pacing to the link as now estimated, and tells the
    /// viewer when that is news (`link.rs`).
    fn follow_link(&mut self) {
        let now = Instant::now();
        let Some(estimate) = self.link.estimate(now) else {
            return;
        };
        self.pacer.set_link_limit(if estimate.slow { 1 } else { usize::MAX });
        if let Some(video) = &mut self.video {
            video.follow_link(estimate);
        }
        let due = match &self.link_told {
            None => true,
            Some((at, told)) => now.saturating_duration_since(*at) >= LINK_REPORT_GAP && estimate.news_since(told),
        };
        if due {
            self.link_told = Some((now, estimate));
            // Only news: a full queue drops it rather than hold frames up.
            let _ = self.out.try_send(encode_frame(Payload::LinkEstimate(estimate.to_message())));
        }
    }

    fn send_cursor(&mut self) -> Result<(), X11Error> {
        if let Some(image) = cursor::fetch(&self.conn, &mut self.cursor_serial)? {
            let _ = self.out.blocking_send(encode_frame(Payload::CursorImage(image)));
        }
        Ok(())
    }
}
