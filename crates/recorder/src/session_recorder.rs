//! Recording a session as it is relayed (`docs/recording.md`): the frames
//! the session already encoded and the browser's mouse, written by a task
//! of its own to where the cluster's mode says:
//!
//! - `node` and `proxy`: `<spool>/<sid>.part`, closed with the index,
//!   renamed `.orec` and handed to the spool for upload;
//! - `node-sync` and `proxy-sync`: streamed to the auth service as it goes
//!   ([`RecordingDestination::stream_recording`]).
//!
//! A session that policy records is never left unrecorded: when the
//! recording cannot be written the session ends (`failed`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oriel_recording::{Meta, RecordingWriter, Source};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot, watch};

use crate::destination::{RecordingDestination, RecordingStream};

/// Batches of records queued for the writing task at most; past it the
/// pumps wait for the disk or the network.
const QUEUED_WRITES: usize = 64;

/// What the writing task is asked to do.
enum Write {
    Records(Vec<u8>),
    /// The trailer, then close; the answer says whether it worked.
    Close {
        trailer: Vec<u8>,
        done: oneshot::Sender<Result<(), String>>,
    },
}

/// Where a recording's bytes go.
enum Sink {
    /// The `.part` file in the spool.
    File(tokio::fs::File),
    /// The auth service, as the session goes.
    Stream(Box<dyn RecordingStream>),
}

impl Sink {
    async fn write(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        match self {
            Sink::File(file) => file.write_all(&bytes).await.map_err(|e| e.to_string()),
            Sink::Stream(stream) => stream.send(bytes).await.map_err(|e| e.message),
        }
    }

    async fn close(self) -> Result<(), String> {
        match self {
            Sink::File(mut file) => {
                file.flush().await.map_err(|e| e.to_string())?;
                file.sync_all().await.map_err(|e| e.to_string())
            }
            Sink::Stream(stream) => stream.finish().await.map_err(|e| e.message),
        }
    }
}

/// One session's recording, shared by its two pumps.
#[derive(Clone)]
pub struct SessionRecorder {
    writer: Arc<Mutex<Option<RecordingWriter>>>,
    /// Records made but not yet queued.
    pending: Arc<Mutex<Vec<u8>>>,
    started: Instant,
    queue: mpsc::Sender<Write>,
    failure: watch::Receiver<Option<String>>,
    /// The `.part` file, when recording to the spool.
    part: Option<PathBuf>,
}

impl SessionRecorder {
    /// Starts recording the session `meta` describes into `spool`.
    pub async fn to_spool(spool: &Path, meta: &Meta) -> Result<Self, String> {
        let part = spool.join(format!("{}.part", meta.session_id));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&part)
            .await
            .map_err(|e| format!("cannot write to {}: {e}", spool.display()))?;
        Self::start(Sink::File(file), meta, Some(part)).await
    }

    /// Starts streaming the recording of the session `meta` describes to
    /// the auth service, `destination`.
    pub async fn to_auth_service<D: RecordingDestination + ?Sized>(
        destination: &D,
        meta: &Meta,
    ) -> Result<Self, String> {
        let stream = destination
            .stream_recording(&meta.session_id)
            .await
            .map_err(|e| format!("cannot stream it to the auth service: {e}"))?;
        Self::start(Sink::Stream(stream), meta, None).await
    }

    async fn start(mut sink: Sink, meta: &Meta, part: Option<PathBuf>) -> Result<Self, String> {
        let (writer, header) = RecordingWriter::start(meta);
        sink.write(header).await?;
        let (queue, queued) = mpsc::channel(QUEUED_WRITES);
        let (failed, failure) = watch::channel(None);
        tokio::spawn(write_records(sink, queued, failed));
        Ok(Self {
            writer: Arc::new(Mutex::new(Some(writer))),
            pending: Arc::default(),
            started: Instant::now(),
            queue,
            failure,
            part,
        })
    }

    /// Records `frame` (one whole TDPB frame) if recordings keep it.
    pub fn record(&self, frame: &[u8], source: Source) {
        let delay = u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let mut writer = lock(&self.writer);
        let Some(writer) = writer.as_mut() else {
            return;
        };
        writer.record(delay, source, frame, &mut lock(&self.pending));
    }

    /// Hands what was recorded to the writing task, waiting while it is
    /// behind.
    pub async fn flush(&self) {
        let bytes = std::mem::take(&mut *lock(&self.pending));
        if !bytes.is_empty() {
            // A closed queue means writing failed; `failed` says so.
            let _ = self.queue.send(Write::Records(bytes)).await;
        }
    }

    /// Resolves when the recording cannot be written, with why.
    pub async fn failed(&self) -> String {
        let mut failure = self.failure.clone();
        let reason = failure
            .wait_for(Option::is_some)
            .await
            .map(|reason| reason.clone().unwrap_or_default());
        match reason {
            Ok(reason) => reason,
            // The writer is gone without failing: the recording was closed.
            Err(_) => std::future::pending().await,
        }
    }

    /// Ends the recording: the last records and the index. A spool file is
    /// renamed `<sid>.orec`, ready for upload, and its path returned; a
    /// stream is finished (the auth service checks and keeps it). `Err`
    /// says why it could not be closed (a `.part` file stays, for the
    /// spool to recover).
    pub async fn finish(&self) -> Result<Option<PathBuf>, String> {
        self.flush().await;
        let Some(writer) = lock(&self.writer).take() else {
            return Err("the recording was already closed".into());
        };
        let ended = u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (_, trailer) = writer.finish(ended);
        let (done, closed) = oneshot::channel();
        if self
            .queue
            .send(Write::Close { trailer, done })
            .await
            .is_err()
        {
            return Err(self.failure_reason());
        }
        closed.await.map_err(|_| self.failure_reason())??;
        let Some(part) = &self.part else {
            return Ok(None);
        };
        let done = part.with_extension("orec");
        tokio::fs::rename(part, &done)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(done))
    }

    /// Drops the recording of a session that never started (the desktop
    /// service refused it): a spool file is removed, a stream abandoned,
    /// so nothing is listed.
    pub async fn discard(self) {
        lock(&self.writer).take();
        drop(self.queue);
        if let Some(part) = &self.part
            && let Err(error) = tokio::fs::remove_file(part).await
        {
            tracing::warn!(recording = %part.display(), %error, "the recording of a session that never started could not be removed");
        }
    }

    fn failure_reason(&self) -> String {
        self.failure
            .borrow()
            .clone()
            .unwrap_or_else(|| "the recording's writer stopped".into())
    }
}

/// The writing task: records in the order queued, then the trailer.
async fn write_records(
    mut sink: Sink,
    mut queued: mpsc::Receiver<Write>,
    failed: watch::Sender<Option<String>>,
) {
    while let Some(write) = queued.recv().await {
        match write {
            Write::Records(bytes) => {
                if let Err(error) = sink.write(bytes).await {
                    failed.send_replace(Some(error));
                    return;
                }
            }
            Write::Close { trailer, done } => {
                let closed = match sink.write(trailer).await {
                    Ok(()) => sink.close().await,
                    Err(error) => Err(error),
                };
                let _ = done.send(closed);
                return;
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
