//! The browser's side of a session, minus the browser: speaks TDPB over an
//! in-process pipe or a TLS websocket, decodes every rectangle with the same
//! decoder the web client runs (as WebAssembly there) and acknowledges each
//! frame once it is decoded, as the web client does after painting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use oriel_proxy::DesktopStream;
use oriel_qoiz::Canvas;
use oriel_tdpb::pb::{self, AlertSeverity, Codec};
use oriel_tdpb::{FrameReader, Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message;

use crate::proxy::Socket;

/// How TDPB frames travel.
pub enum Transport {
    /// A byte stream to the service: an in-process pipe straight into
    /// `LinuxDesktopService::serve`, or what the proxy's cluster dialer
    /// returns (gRPC over mutual TLS, through the reverse tunnel or not).
    Stream(DesktopStream),
    /// The proxy's websocket: one TDPB frame per binary message.
    Socket(Box<Socket>),
}

impl Transport {
    /// Reads what is there into `frames`. Cancel-safe. False at the end.
    async fn read_into(&mut self, frames: &mut FrameReader, buf: &mut [u8]) -> anyhow::Result<bool> {
        match self {
            Self::Stream(stream) => {
                let n = stream.read(buf).await?;
                frames.push(&buf[..n]);
                Ok(n > 0)
            }
            Self::Socket(socket) => loop {
                match socket.next().await {
                    Some(Ok(Message::Binary(bytes))) => {
                        frames.push(&bytes);
                        return Ok(true);
                    }
                    Some(Ok(Message::Close(_))) | None => return Ok(false),
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => return Err(error.into()),
                }
            },
        }
    }

    async fn write(&mut self, frame: Vec<u8>) -> anyhow::Result<()> {
        match self {
            Self::Stream(stream) => stream.write_all(&frame).await?,
            Self::Socket(socket) => socket.send(Message::Binary(frame.into())).await?,
        }
        Ok(())
    }
}

/// What arrived since the counters were last taken.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    /// TDPB bytes of every message, headers included.
    pub bytes: u64,
    /// Complete frames (rectangles up to `end_of_frame`).
    pub frames: u64,
    pub rects: u64,
    /// Rectangles sent with `reset_context`.
    pub keyframe_rects: u64,
    pub messages: u64,
    /// Pings received (from the proxy; the service never pings first).
    pub pings: u64,
    /// FrameRect and CursorImage messages: what changes the screen.
    pub screen_messages: u64,
    /// Decoding time on the client.
    pub decode: Duration,
    /// Most frames decoded but not yet acknowledged at once (only grows
    /// above 1 when acks are delayed).
    pub max_unacked: usize,
    /// VP8 frames of regions in motion, and their bytes.
    pub video_frames: u64,
    pub video_bytes: u64,
}

/// A TDPB client that decodes and acknowledges like the web client.
pub struct Browser {
    transport: Transport,
    frames: FrameReader,
    /// The screen as the browser paints it.
    canvas: Canvas,
    buf: Box<[u8]>,
    outgoing: Vec<Vec<u8>>,
    /// Acks not sent yet, with when they are due (see `ack_delay`).
    acks: VecDeque<(Instant, u32)>,
    /// Holds every ack back this long: a slow client.
    pub ack_delay: Duration,
    pub counters: Counters,
    /// When the last message that [`Browser::pump`] stopped at arrived
    /// (before it was decoded).
    pub arrived: Instant,
    /// The last few messages, for error messages.
    recent: VecDeque<String>,
    /// Offer VP8 for regions in motion in the hello, as a browser with WebCodecs does.
    pub offer_video: bool,
    /// Decodes VP8 regions as the browser's WebCodecs would (libvpx here).
    video: Option<oriel_video::Vp8Decoder>,
}

impl Browser {
    pub fn new(transport: Transport) -> Self {
        Self {
            transport,
            frames: FrameReader::new(Limits::FROM_SERVER.max_frame_len),
            canvas: Canvas::new(),
            buf: vec![0; 256 * 1024].into(),
            outgoing: Vec::new(),
            acks: VecDeque::new(),
            ack_delay: Duration::ZERO,
            counters: Counters::default(),
            arrived: Instant::now(),
            recent: VecDeque::new(),
            offer_video: false,
            video: None,
        }
    }

    /// Sends ClientHello and waits for ServerHello.
    pub async fn hello(&mut self, width: u32, height: u32, codec: Codec) -> anyhow::Result<pb::ServerHello> {
        self.send(Payload::ClientHello(pb::ClientHello {
            screen_spec: Some(pb::ClientScreenSpec { width, height, scale: 100 }),
            // A browser full screen on a monitor of this size.
            monitor: Some(pb::ClientScreenSpec { width, height, scale: 100 }),
            protocol_version: 1,
            codecs: if self.offer_video { vec![codec as i32, Codec::Vp8 as i32] } else { vec![codec as i32] },
            ..Default::default()
        }))
        .await?;
        let mut hello = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        self.pump(deadline, |payload| {
            if let Payload::ServerHello(h) = payload {
                hello = Some(h.clone());
                true
            } else {
                false
            }
        })
        .await?;
        hello.context("no ServerHello within 30 s")
    }

    pub async fn send(&mut self, payload: Payload) -> anyhow::Result<()> {
        self.transport.write(encode_frame(payload)).await
    }

    /// Presses and releases nothing else: one key event.
    pub async fn key(&mut self, scancode: u32, pressed: bool) -> anyhow::Result<()> {
        self.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: scancode, pressed })).await
    }

    pub async fn mouse_move(&mut self, x: i32, y: i32) -> anyhow::Result<()> {
        self.send(Payload::MouseMove(pb::MouseMove { x: x.max(0) as u32, y: y.max(0) as u32 })).await
    }

    pub async fn mouse_button(&mut self, button: pb::MouseButtonType, pressed: bool) -> anyhow::Result<()> {
        self.send(Payload::MouseButton(pb::MouseButton { button: button as i32, pressed })).await
    }

    /// Reads, decodes and acknowledges until `deadline` or until `stop`
    /// holds for a message (checked after it is decoded); true if it did.
    pub async fn pump(&mut self, deadline: Instant, mut stop: impl FnMut(&Payload) -> bool) -> anyhow::Result<bool> {
        loop {
            // Writes are never raced against the timer: a half-written ack
            // would corrupt the stream.
            self.send_due_acks().await?;
            loop {
                let Some(frame) = self.frames.next_frame().context("bad TDPB framing from the service")? else {
                    break;
                };
                let arrived = Instant::now();
                let len = frame.len() as u64;
                let Some(payload) = decode_frame(frame, Limits::FROM_SERVER).context("bad TDPB message from the service")? else {
                    continue;
                };
                self.counters.bytes += len;
                self.counters.messages += 1;
                self.absorb(&payload)?;
                if stop(&payload) {
                    self.arrived = arrived;
                    self.send_due_acks().await?;
                    return Ok(true);
                }
            }
            self.send_due_acks().await?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let wake = self.acks.front().map_or(deadline, |&(due, _)| due.min(deadline));
            match tokio::time::timeout_at(wake.into(), self.transport.read_into(&mut self.frames, &mut self.buf)).await {
                Err(_) => {}
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => bail!("the service closed the session"),
                Ok(Err(error)) => return Err(error.context("reading from the service")),
            }
        }
    }

    /// Reads until nothing changed the screen for `quiet` (pings and
    /// latency reports do not count); fails after `patience`.
    pub async fn wait_quiet(&mut self, quiet: Duration, patience: Duration) -> anyhow::Result<()> {
        let give_up = Instant::now() + patience;
        loop {
            let before = self.counters.screen_messages;
            self.pump(Instant::now() + quiet, |_| false).await?;
            if self.counters.screen_messages == before {
                return Ok(());
            }
            if Instant::now() > give_up {
                bail!("the screen did not settle within {patience:?}; last messages: {:?}", self.recent);
            }
        }
    }

    fn absorb(&mut self, payload: &Payload) -> anyhow::Result<()> {
        if self.recent.len() == 8 {
            self.recent.pop_front();
        }
        self.recent.push_back(match payload {
            Payload::FrameRect(r) => format!("FrameRect #{} {}x{}+{}+{}", r.frame_id, r.width, r.height, r.x, r.y),
            Payload::CursorImage(c) => format!("CursorImage {}x{}", c.width, c.height),
            other => format!("{other:?}").chars().take(60).collect(),
        });
        match payload {
            Payload::FrameRect(rect) => {
                let started = Instant::now();
                if rect.codec == Codec::Vp8 as i32 {
                    if rect.reset_context {
                        self.video = Some(oriel_video::Vp8Decoder::new()?);
                    }
                    if let Some(decoder) = &mut self.video {
                        decoder.decode(&rect.data).context("a video frame did not decode")?;
                    }
                    self.counters.video_frames += 1;
                    self.counters.video_bytes += rect.data.len() as u64;
                } else {
                    self.canvas
                        .paint(rect.codec as u32, rect.reset_context, &rect.data, rect.x, rect.y, rect.width, rect.height)
                        .context("a frame message did not decode")?;
                }
                self.counters.decode += started.elapsed();
                self.counters.rects += 1;
                self.counters.screen_messages += 1;
                self.counters.keyframe_rects += u64::from(rect.reset_context);
                if rect.end_of_frame {
                    self.counters.frames += 1;
                    self.acks.push_back((Instant::now() + self.ack_delay, rect.frame_id));
                    self.counters.max_unacked = self.counters.max_unacked.max(self.acks.len());
                }
            }
            Payload::Alert(alert) if alert.severity == AlertSeverity::Error as i32 => {
                bail!("the service ended the session: {}", alert.message);
            }
            Payload::Ping(ping) => {
                // The proxy measures latency with pings; answer like the web client.
                self.counters.pings += 1;
                self.outgoing.push(encode_frame(Payload::Ping(ping.clone())));
            }
            Payload::CursorImage(_) => self.counters.screen_messages += 1,
            Payload::ServerHello(hello) => self.canvas.resize(hello.width, hello.height),
            _ => {}
        }
        Ok(())
    }

    async fn send_due_acks(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        while let Some(&(due, frame_id)) = self.acks.front() {
            if due > now {
                break;
            }
            self.acks.pop_front();
            self.outgoing.push(encode_frame(Payload::FrameAck(pb::FrameAck { frame_id })));
        }
        for frame in std::mem::take(&mut self.outgoing) {
            self.transport.write(frame).await?;
        }
        Ok(())
    }

    /// Returns the counters so far and starts new ones.
    pub fn take_counters(&mut self) -> Counters {
        std::mem::take(&mut self.counters)
    }
}
