//! TDPB over a byte stream, as both ends of a session see it: reading the
//! browser's messages, writing frames in order, and the ERROR and WARNING
//! alerts that tell a person why something happened.

use oriel_tdpb::pb::{self, AlertSeverity};
use oriel_tdpb::{FrameReader, Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::session::SessionError;

/// How long a client may take to say hello.
pub const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The client's `ClientHello`, pings answered meanwhile (the proxy
/// measures latency from the first moment on); `None` when it left first.
/// Any other message first is a protocol error; no hello in
/// [`HELLO_TIMEOUT`] is a timeout.
pub async fn read_hello<R: AsyncRead + Unpin>(client: &mut ClientReader<R>, out: &mpsc::Sender<Vec<u8>>) -> Result<Option<pb::ClientHello>, SessionError> {
    let wait = async {
        loop {
            match client.next().await? {
                None => return Ok(None),
                Some(Payload::ClientHello(hello)) => return Ok(Some(hello)),
                Some(Payload::Ping(ping)) => send(out, Payload::Ping(ping)).await?,
                Some(other) => return Err(SessionError::Protocol(format!("expected ClientHello, got {}", other.name()))),
            }
        }
    };
    tokio::time::timeout(HELLO_TIMEOUT, wait).await.unwrap_or(Err(SessionError::Timeout("ClientHello")))
}

/// Reads TDPB frames from the client, skipping payloads this version does not know.
pub struct ClientReader<R> {
    read: R,
    frames: FrameReader,
    buf: Box<[u8]>,
}

impl<R: AsyncRead + Unpin> ClientReader<R> {
    /// Reads from `read`.
    pub fn new(read: R) -> Self {
        Self { read, frames: FrameReader::new(Limits::FROM_CLIENT.max_frame_len), buf: vec![0; 64 * 1024].into() }
    }

    /// The next whole frame as it arrived (header included), undecoded;
    /// `None` when the client closed the stream. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, SessionError> {
        loop {
            match self.frames.next_frame() {
                Ok(Some(frame)) => return Ok(Some(frame.to_vec())),
                Ok(None) => {}
                Err(error) => return Err(SessionError::Malformed(error.to_string())),
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes; `false` at a clean end of the stream.
    async fn fill(&mut self) -> Result<bool, SessionError> {
        let n = self.read.read(&mut self.buf).await?;
        if n == 0 {
            if self.frames.buffered() > 0 {
                return Err(SessionError::Malformed("the stream ended inside a frame".into()));
            }
            return Ok(false);
        }
        self.frames.push(&self.buf[..n]);
        Ok(true)
    }

    /// The next known message; `None` when the client closed the stream.
    /// Cancel-safe: bytes already read stay buffered.
    pub async fn next(&mut self) -> Result<Option<Payload>, SessionError> {
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
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }
}

/// Writes `frames` to `write` in order until every sender is gone, then
/// shuts the stream down.
pub async fn write_frames<W: AsyncWrite>(write: W, mut frames: mpsc::Receiver<Vec<u8>>) {
    let mut write = std::pin::pin!(write);
    while let Some(frame) = frames.recv().await {
        if write.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

pub(crate) async fn log_xsession_output(stderr: tokio::process::ChildStderr) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "xsession", "{line}");
    }
}

/// Queues `payload` for the client; a closed queue is a transport error.
pub async fn send(out: &mpsc::Sender<Vec<u8>>, payload: Payload) -> Result<(), SessionError> {
    out.send(encode_frame(payload)).await.map_err(|_| SessionError::Transport(std::io::ErrorKind::BrokenPipe.into()))
}

/// An alert frame, the message cut to what the protocol allows.
pub fn alert(message: &str, severity: AlertSeverity) -> Vec<u8> {
    let mut message = message.to_owned();
    message.truncate(oriel_tdpb::limits::MAX_ALERT_LEN);
    encode_frame(Payload::Alert(pb::Alert { message, severity: severity as i32 }))
}
