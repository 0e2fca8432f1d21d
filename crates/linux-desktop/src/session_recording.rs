//! Recording a session as the daemon relays it (`docs/recording.md`): the
//! frames the session process already encoded and the browser's mouse,
//! appended to `<spool>/<sid>.part` by a task of its own, then closed with
//! the index and handed to the spool for upload. A session that policy
//! records is never left unrecorded: when the file cannot be written the
//! session ends (`failed`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oriel_recording::{Meta, RecordingWriter, Source};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot, watch};

/// Batches of records queued for the writing task at most; past it the
/// pumps wait for the disk.
const QUEUED_WRITES: usize = 64;

/// What the writing task is asked to do.
enum Write {
    Records(Vec<u8>),
    /// The trailer, then flush and sync; the answer says whether it worked.
    Close {
        trailer: Vec<u8>,
        done: oneshot::Sender<std::io::Result<()>>,
    },
}

/// One session's recording, shared by its two pumps.
#[derive(Clone)]
pub(crate) struct SessionRecorder {
    writer: Arc<Mutex<Option<RecordingWriter>>>,
    /// Records made but not yet queued.
    pending: Arc<Mutex<Vec<u8>>>,
    started: Instant,
    queue: mpsc::Sender<Write>,
    failure: watch::Receiver<Option<String>>,
    part: PathBuf,
}

impl SessionRecorder {
    /// Starts recording the session `meta` describes into `spool`.
    pub async fn start(spool: &Path, meta: &Meta) -> std::io::Result<Self> {
        let part = spool.join(format!("{}.part", meta.session_id));
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&part).await?;
        let (writer, header) = RecordingWriter::start(meta);
        file.write_all(&header).await?;
        let (queue, queued) = mpsc::channel(QUEUED_WRITES);
        let (failed, failure) = watch::channel(None);
        tokio::spawn(write_records(file, queued, failed));
        Ok(Self { writer: Arc::new(Mutex::new(Some(writer))), pending: Arc::default(), started: Instant::now(), queue, failure, part })
    }

    /// Records `frame` (one whole TDPB frame) if recordings keep it.
    pub fn record(&self, frame: &[u8], source: Source) {
        let delay = u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let mut writer = lock(&self.writer);
        let Some(writer) = writer.as_mut() else { return };
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
        let reason = failure.wait_for(Option::is_some).await.map(|reason| reason.clone().unwrap_or_default());
        match reason {
            Ok(reason) => reason,
            // The writer is gone without failing: the recording was closed.
            Err(_) => std::future::pending().await,
        }
    }

    /// Ends the recording: the last records, the index, and the file
    /// renamed to `<sid>.orec`, ready for upload. Its path, or why it could
    /// not be closed (the `.part` file stays, for the spool to recover).
    pub async fn finish(&self) -> Result<PathBuf, String> {
        self.flush().await;
        let Some(writer) = lock(&self.writer).take() else { return Err("the recording was already closed".into()) };
        let ended = u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (_, trailer) = writer.finish(ended);
        let (done, closed) = oneshot::channel();
        if self.queue.send(Write::Close { trailer, done }).await.is_err() {
            return Err(self.failure_reason());
        }
        closed.await.map_err(|_| self.failure_reason())?.map_err(|e| e.to_string())?;
        let done = self.part.with_extension("orec");
        tokio::fs::rename(&self.part, &done).await.map_err(|e| e.to_string())?;
        Ok(done)
    }
}

impl SessionRecorder {
    fn failure_reason(&self) -> String {
        self.failure.borrow().clone().unwrap_or_else(|| "the recording's writer stopped".into())
    }
}

/// The writing task: records in the order queued, then the trailer.
async fn write_records(mut file: tokio::fs::File, mut queued: mpsc::Receiver<Write>, failed: watch::Sender<Option<String>>) {
    while let Some(write) = queued.recv().await {
        match write {
            Write::Records(bytes) => {
                if let Err(error) = file.write_all(&bytes).await {
                    failed.send_replace(Some(error.to_string()));
                    return;
                }
            }
            Write::Close { trailer, done } => {
                let closed = async {
                    file.write_all(&trailer).await?;
                    file.flush().await?;
                    file.sync_all().await
                };
                let _ = done.send(closed.await);
                return;
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
