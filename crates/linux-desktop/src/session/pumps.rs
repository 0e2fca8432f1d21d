//! The bytes between a session's process and its viewers. Each runs as a
//! task of its own, so no direction can stall another; the session task
//! between them decides where each frame goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use oriel_recorder::SessionRecorder;
use oriel_recording::Source;
use oriel_tdpb::pb::{self, AlertSeverity};
use oriel_tdpb::{Limits, Payload, PayloadKind};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::SessionError;
use super::life::ViewerId;
use crate::client_stream::ClientReader;
use crate::frame_audit::FrameAudit;

/// What the session process sent, for the session task to fan out.
pub(super) enum ProcessOutput {
    /// The `ServerHello`: kept for viewers that attach later.
    Hello(pb::ServerHello),
    /// A run of whole frames, as they came.
    Frames(Vec<u8>),
    /// One whole frame, told apart while a viewer waits for a keyframe:
    /// such a viewer gets no rectangle before the first that starts one.
    Frame {
        /// The frame (header included).
        bytes: Vec<u8>,
        /// A `FrameRect`.
        rect: bool,
        /// A `FrameRect` that starts a keyframe.
        keyframe: bool,
        /// Its envelope field number (`proto/tdpb.proto`).
        kind: u32,
    },
}

/// Session process to the session task: whole frames only, so an alert of
/// the daemon's never lands inside one; clipboard text and shared files
/// are noted for the audit log, and what a recording keeps is recorded
/// once, whoever watches. Frame by frame only while something needs it
/// (`split`, the hello not seen yet, audit or recording): this is the path
/// every screen update takes.
pub(super) async fn pump_process(
    mut process: tokio::net::unix::OwnedReadHalf,
    to_session: mpsc::Sender<ProcessOutput>,
    noting: FrameAudit,
    recorder: Option<SessionRecorder>,
    split: Arc<AtomicBool>,
) -> Result<(), SessionError> {
    const READ: usize = 256 * 1024;
    let max = Limits::FROM_SERVER.max_frame_len;
    let mut hello_seen = false;
    let mut pending: Vec<u8> = Vec::with_capacity(READ);
    loop {
        pending.reserve(READ);
        match process.read_buf(&mut pending).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        let whole =
            oriel_tdpb::whole_frames(&pending, max).map_err(|error| SessionError::Internal(format!("the session process sent a malformed frame: {error}")))?;
        if whole == 0 {
            continue;
        }
        let one_by_one = !hello_seen || split.load(Ordering::Acquire);
        let mut at = 0;
        if one_by_one || noting.wants_frames() || recorder.is_some() {
            while let Ok(Some(len)) = oriel_tdpb::frame_len(&pending[at..whole], max) {
                let frame = &pending[at..at + len];
                noting.note(frame, false).await;
                if let Some(recorder) = &recorder {
                    recorder.record(frame, Source::Desktop);
                }
                if one_by_one {
                    let output = match oriel_tdpb::peek_kind(frame) {
                        Some(PayloadKind::ServerHello) => match oriel_tdpb::decode_frame(frame, Limits::FROM_SERVER) {
                            Ok(Some(Payload::ServerHello(hello))) => {
                                hello_seen = true;
                                ProcessOutput::Hello(hello)
                            }
                            _ => return Err(SessionError::Internal("the session process sent a malformed ServerHello".into())),
                        },
                        Some(PayloadKind::FrameRect) => {
                            let keyframe = matches!(oriel_tdpb::decode_frame(frame, Limits::FROM_SERVER), Ok(Some(Payload::FrameRect(rect))) if rect.keyframe);
                            ProcessOutput::Frame { bytes: frame.to_vec(), rect: true, keyframe, kind: FRAME_RECT }
                        }
                        kind => ProcessOutput::Frame { bytes: frame.to_vec(), rect: false, keyframe: false, kind: kind.map_or(0, field_number) },
                    };
                    if to_session.send(output).await.is_err() {
                        return Ok(());
                    }
                }
                at += len;
            }
        }
        if let Some(recorder) = &recorder {
            recorder.flush().await;
        }
        let rest = pending[whole..].to_vec();
        pending.truncate(whole);
        let batch = std::mem::replace(&mut pending, rest);
        if !one_by_one && to_session.send(ProcessOutput::Frames(batch)).await.is_err() {
            return Ok(());
        }
    }
}

/// `FrameRect`'s envelope field number.
const FRAME_RECT: u32 = 100;

/// The envelope field number of a peeked kind.
pub(super) fn field_number(kind: PayloadKind) -> u32 {
    match kind {
        PayloadKind::Ping => 20,
        PayloadKind::FrameRect => FRAME_RECT,
        PayloadKind::Alert => 11,
        PayloadKind::ServerHello => 2,
        PayloadKind::Mfa => 14,
        PayloadKind::Other(field) => field,
    }
}

/// One viewer's frames, as its browser sent them, for the session task.
pub(super) struct ViewerInput {
    pub(super) viewer: ViewerId,
    /// A whole frame, `None` when the browser closed the stream.
    pub(super) frame: Result<Option<Vec<u8>>, SessionError>,
}

/// Browser to session task: whole frames only (the framing is checked
/// here, the messages by the session process).
pub(super) async fn pump_viewer<R: AsyncRead + Unpin>(viewer: ViewerId, mut client: ClientReader<R>, to_session: mpsc::Sender<ViewerInput>) {
    loop {
        let frame = client.next_frame().await;
        let last = !matches!(frame, Ok(Some(_)));
        if to_session.send(ViewerInput { viewer, frame }).await.is_err() || last {
            return;
        }
    }
}

/// Session task to session process, in order. A process that stopped
/// reading is gone; its end is reported by the process pump.
pub(super) async fn pump_to_process(mut process: tokio::net::unix::OwnedWriteHalf, mut frames: mpsc::Receiver<Vec<u8>>) {
    while let Some(frame) = frames.recv().await {
        if process.write_all(&frame).await.is_err() {
            return;
        }
    }
}

/// Records what the browser sent that a recording keeps.
pub(super) async fn record_browser(recorder: Option<&SessionRecorder>, frame: &[u8]) {
    if let Some(recorder) = recorder {
        recorder.record(frame, Source::Browser);
        recorder.flush().await;
    }
}

/// An ERROR alert, for a viewer that is sent away.
pub(super) fn error_alert(message: &str) -> Vec<u8> {
    crate::client_stream::alert(message, AlertSeverity::Error)
}
