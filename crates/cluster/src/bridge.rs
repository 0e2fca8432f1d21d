//! A desktop session's gRPC streams joined to a byte stream, so the relay
//! and the desktop service keep working on plain bytes whatever carries
//! them.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::mpsc;
use tonic::Streaming;

use crate::proto::Chunk;

/// Bytes in flight between the two pumps.
const BUFFER: usize = 1 << 20;
/// The largest chunk sent; a frame of the desktop is often larger and goes
/// in several.
const CHUNK: usize = 256 << 10;

/// Returns a byte stream whose reads are `incoming`'s chunks and whose
/// writes go out through `outgoing` (each wrapped by `wrap`). The end of
/// either direction ends that direction only; the other side sees EOF.
pub fn bridge<T: Send + 'static>(mut incoming: Streaming<Chunk>, outgoing: mpsc::Sender<T>, wrap: fn(Chunk) -> T) -> DuplexStream {
    let (near, far) = tokio::io::duplex(BUFFER);
    let (mut read, mut write) = tokio::io::split(near);
    tokio::spawn(async move {
        loop {
            match incoming.message().await {
                Ok(Some(chunk)) => {
                    if write.write_all(&chunk.data).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(status) => {
                    tracing::debug!(%status, "session stream ended");
                    break;
                }
            }
        }
        let _ = write.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buffer = vec![0; CHUNK];
        loop {
            match read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if outgoing.send(wrap(Chunk { data: buffer[..n].to_vec() })).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    far
}
