//! Moving TDPB between a browser's websocket and a desktop stream.
//!
//! Browser frames are checked for a correct, capped length before they pass
//! on (the desktop service checks their content); a bad one ends this
//! session with an ERROR alert. Desktop frames are cut at frame boundaries
//! so each websocket message holds exactly one frame. Pings never cross:
//! the proxy measures each leg itself (see `latency`) and tells the browser
//! in LatencyStats. When the proxy records the session (`proxy_recording`)
//! it records the frames as they pass, and a recording that cannot be
//! written ends the session.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt as _, StreamExt as _};
use oriel_recording::Source;
use oriel_tdpb::pb::{self, AlertSeverity};
use oriel_tdpb::{FrameReader, Limits, Payload, PayloadKind, decode_frame, encode_frame, frame_body, peek_kind};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::latency::{LatencyProbe, PingSeen};
use crate::proxy_recording::{ProxyRecording, recording_failed};
use crate::web::DesktopStream;

/// How often latency is measured and reported.
const PING_INTERVAL: Duration = Duration::from_secs(2);

/// Why a relay stopped.
#[derive(Debug)]
enum End {
    BrowserLeft,
    DesktopClosed,
    /// The browser sent something that is not a TDPB frame.
    BadBrowserFrame(String),
    /// The desktop service sent something that is not a TDPB frame.
    BadDesktopFrame(String),
    Transport(String),
    /// The recording the roles require cannot be written.
    RecordingFailed(String),
}

/// Relays one session until either side ends it, recording it into
/// `recording` when there is one. `held` is what the browser sent before
/// the desktop was dialled (during a per-session MFA check): it goes first.
pub(crate) async fn relay(socket: WebSocket, desktop: DesktopStream, recording: Option<ProxyRecording>, held: Vec<Vec<u8>>) {
    let (mut browser_tx, mut browser_rx) = socket.split();
    let (mut desktop_rx, mut desktop_tx) = tokio::io::split(desktop);
    let mut from_desktop = FrameReader::new(Limits::FROM_SERVER.max_frame_len);
    let mut buf = vec![0u8; 256 * 1024];
    let mut browser_probe = LatencyProbe::default();
    let mut desktop_probe = LatencyProbe::default();
    // Answers to the service's own pings, written once the frames read with them are relayed.
    let mut pending_desktop_answers: Vec<Vec<u8>> = Vec::new();
    // The first ping waits an interval: the session is still saying hello.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    // Whether the desktop service took the session (its ServerHello came):
    // a refused one leaves no recording.
    let mut started = false;
    tracing::info!("session relay started");

    let end = 'session: {
        for frame in held {
            if let Some(recording) = &recording {
                recording.record(&frame, Source::Browser);
            }
            if let Err(error) = desktop_tx.write_all(&frame).await {
                break 'session End::Transport(format!("desktop stream: {error}"));
            }
        }
        'relay: loop {
            tokio::select! {
                message = browser_rx.next() => {
                    let bytes = match message {
                        None | Some(Ok(Message::Close(_))) => break End::BrowserLeft,
                        Some(Err(error)) => break End::Transport(error.to_string()),
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Text(_))) => break End::BadBrowserFrame("text message; TDPB frames are binary".into()),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    };
                    if let Err(error) = frame_body(&bytes, Limits::FROM_CLIENT.max_frame_len) {
                        break End::BadBrowserFrame(error.to_string());
                    }
                    if peek_kind(&bytes) == Some(PayloadKind::Ping) {
                        if let Ok(Some(Payload::Ping(ping))) = decode_frame(&bytes, Limits::FROM_CLIENT)
                            && browser_probe.seen(&ping.id, Instant::now()) == PingSeen::Question
                            && browser_tx.send(binary(Payload::Ping(ping))).await.is_err()
                        {
                            break End::BrowserLeft;
                        }
                        continue;
                    }
                    if let Some(recording) = &recording {
                        recording.record(&bytes, Source::Browser);
                        recording.flush().await;
                    }
                    if let Err(error) = desktop_tx.write_all(&bytes).await {
                        break End::Transport(format!("desktop stream: {error}"));
                    }
                }
                read = desktop_rx.read(&mut buf) => {
                    let n = match read {
                        Ok(0) => break End::DesktopClosed,
                        Ok(n) => n,
                        Err(error) => break End::Transport(format!("desktop stream: {error}")),
                    };
                    from_desktop.push(&buf[..n]);
                    loop {
                        let frame = match from_desktop.next_frame() {
                            Ok(Some(frame)) => frame,
                            Ok(None) => break,
                            Err(error) => break 'relay End::BadDesktopFrame(error.to_string()),
                        };
                        if peek_kind(frame) == Some(PayloadKind::Ping) {
                            if let Ok(Some(Payload::Ping(ping))) = decode_frame(frame, Limits::FROM_SERVER)
                                && desktop_probe.seen(&ping.id, Instant::now()) == PingSeen::Question
                            {
                                pending_desktop_answers.push(encode_frame(Payload::Ping(ping)));
                            }
                            continue;
                        }
                        if let Some(recording) = &recording {
                            started |= peek_kind(frame) == Some(PayloadKind::ServerHello);
                            recording.record(frame, Source::Desktop);
                        }
                        if let Err(error) = browser_tx.send(Message::Binary(frame.to_vec().into())).await {
                            break 'relay End::Transport(error.to_string());
                        }
                    }
                    if let Some(recording) = &recording {
                        recording.flush().await;
                    }
                    for answer in pending_desktop_answers.drain(..) {
                        if let Err(error) = desktop_tx.write_all(&answer).await {
                            break 'relay End::Transport(format!("desktop stream: {error}"));
                        }
                    }
                }
                reason = recording_failed(recording.as_ref()) => break End::RecordingFailed(reason),
                _ = ticker.tick() => {
                    let now = Instant::now();
                    let stats = pb::LatencyStats {
                        client_ms: browser_probe.last_ms().unwrap_or(0),
                        server_ms: desktop_probe.last_ms().unwrap_or(0),
                    };
                    if stats.client_ms > 0 || stats.server_ms > 0 {
                        let _ = browser_tx.send(binary(Payload::LatencyStats(stats))).await;
                    }
                    let ping = Payload::Ping(pb::Ping { id: browser_probe.ping(now).to_vec() });
                    if browser_tx.send(binary(ping)).await.is_err() {
                        break End::BrowserLeft;
                    }
                    let ping = encode_frame(Payload::Ping(pb::Ping { id: desktop_probe.ping(now).to_vec() }));
                    if let Err(error) = desktop_tx.write_all(&ping).await {
                        break End::Transport(format!("desktop stream: {error}"));
                    }
                }
            }
        }
    };

    let _ = desktop_tx.shutdown().await;
    match end {
        End::BrowserLeft => tracing::info!("browser left"),
        End::DesktopClosed => tracing::info!("desktop session closed"),
        End::Transport(error) => tracing::info!(%error, "session transport closed"),
        End::BadBrowserFrame(error) => {
            tracing::warn!(%error, "malformed frame from the browser; ending the session");
            let _ = browser_tx.send(alert(&format!("malformed frame from the browser: {error}"))).await;
            let _ = browser_tx.send(close(close_code::POLICY, "malformed frame")).await;
        }
        End::BadDesktopFrame(error) => {
            tracing::error!(%error, "malformed frame from the desktop service; ending the session");
            let _ = browser_tx.send(alert("the desktop service sent a malformed frame")).await;
            let _ = browser_tx.send(close(close_code::ERROR, "desktop error")).await;
        }
        End::RecordingFailed(reason) => {
            let message = format!("the session cannot be recorded ({reason}), and the roles require recording, so it ended");
            tracing::error!(%reason, "the session's recording cannot be written; ending the session");
            let _ = browser_tx.send(alert(&message)).await;
            let _ = browser_tx.send(close(close_code::ERROR, "recording failed")).await;
        }
    }
    if let Some(recording) = recording {
        recording.finish(started).await;
    }
    let _ = browser_tx.close().await;
}

/// Tells the browser why no session could start, then closes.
pub async fn refuse(mut socket: WebSocket, message: &str) {
    let _ = socket.send(alert(message)).await;
    let _ = socket.send(close(close_code::POLICY, "session refused")).await;
}

/// Tells the browser the desktop cannot be reached now (its tunnel is not
/// back yet, say): close code 1013, "try again later", so a page that is
/// resuming a session tries again rather than giving up.
pub async fn unreachable(mut socket: WebSocket, message: &str) {
    let _ = socket.send(alert(message)).await;
    let _ = socket.send(close(close_code::AGAIN, "desktop unavailable")).await;
}

fn binary(payload: Payload) -> Message {
    Message::Binary(encode_frame(payload).into())
}

fn alert(message: &str) -> Message {
    binary(Payload::Alert(pb::Alert { message: message.to_owned(), severity: AlertSeverity::Error as i32 }))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}
