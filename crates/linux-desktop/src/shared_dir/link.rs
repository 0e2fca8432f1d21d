//! One request to the browser and the wait for its answer, from a FUSE
//! thread. The FUSE threads block here; the session's async loop delivers
//! answers through [`Answers::deliver`] without ever blocking, so neither
//! side waits on the other's thread. Every wait has a deadline: a browser
//! that stops answering gives an error, never a hung mount.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oriel_tdpb::pb::{self, SharedDirectoryErrorCode};
use oriel_tdpb::{Payload, encode_frame};
use tokio::sync::mpsc;

use super::requests::{CompletionError, Completions};

/// How long the browser has to answer one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The browser answered with an error code.
    #[error("the browser answered {0:?}")]
    Browser(SharedDirectoryErrorCode),
    /// No answer within the deadline.
    #[error("the browser did not answer in time")]
    Timeout,
    /// The session is ending or the share was removed.
    #[error("the shared directory is closed")]
    Closed,
    /// The answer does not fit the request (another kind of result).
    #[error("the browser's answer does not match the request")]
    Mismatch,
    /// Too many requests are waiting.
    #[error("too many requests are waiting for the browser")]
    Busy,
}

type Waiter = SyncSender<pb::SharedDirectoryResponse>;

/// The session's table of requests waiting for the browser, shared by all
/// its shared directories (an answer names only its completion id).
#[derive(Clone)]
pub struct Answers {
    table: Arc<Mutex<Completions<Waiter>>>,
}

impl Answers {
    /// A table whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { table: Arc::new(Mutex::new(Completions::new(timeout))) }
    }

    /// Hands the browser's answer to the FUSE thread waiting for it. Never blocks.
    pub fn deliver(&self, response: pb::SharedDirectoryResponse) -> Result<(), CompletionError> {
        let id = response.completion_id;
        let waiter = self.lock().complete(id, Instant::now())?;
        // The waiter may have just given up; its channel is then closed.
        let _ = waiter.try_send(response);
        Ok(())
    }

    /// Ends every wait with [`CallError::Closed`] and refuses new requests.
    pub fn close(&self) {
        // Dropping the senders wakes each waiter with a disconnect.
        drop(self.lock().close());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Completions<Waiter>> {
        // A panic while holding the lock leaves a table still usable.
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One shared directory's way to the browser.
#[derive(Clone)]
pub struct Link {
    directory_id: u32,
    out: mpsc::Sender<Vec<u8>>,
    answers: Answers,
}

impl Link {
    /// Requests for `directory_id`, sent as frames on `out`.
    pub fn new(directory_id: u32, out: mpsc::Sender<Vec<u8>>, answers: Answers) -> Self {
        Self { directory_id, out, answers }
    }

    /// Sends `operation` and blocks until the browser answers it without an
    /// error, or the deadline passes. Call only from a thread that is not
    /// the async runtime's.
    pub fn call(&self, operation: pb::shared_directory_request::Operation) -> Result<Option<pb::shared_directory_response::Result>, CallError> {
        let (tx, rx) = sync_channel(1);
        let now = Instant::now();
        let id = self.answers.lock().start(tx, now).map_err(|error| match error {
            CompletionError::Full => CallError::Busy,
            _ => CallError::Closed,
        })?;
        let deadline = self.answers.lock().deadline(id).unwrap_or(now);
        let frame = encode_frame(Payload::SharedDirectoryRequest(pb::SharedDirectoryRequest {
            directory_id: self.directory_id,
            completion_id: id,
            operation: Some(operation),
        }));
        let result = self.send(frame, deadline).and_then(|()| {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(response) => Ok(response),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(CallError::Timeout),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(CallError::Closed),
            }
        });
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                self.answers.lock().cancel(id);
                return Err(error);
            }
        };
        match SharedDirectoryErrorCode::try_from(response.error_code) {
            Ok(SharedDirectoryErrorCode::None) => Ok(response.result),
            Ok(code) => Err(CallError::Browser(code)),
            Err(_) => Err(CallError::Browser(SharedDirectoryErrorCode::Failed)),
        }
    }

    /// Queues `frame` for the browser by `deadline`. The channel is bounded;
    /// when it is full (frames are being written) this waits a little and
    /// tries again rather than block without a deadline.
    fn send(&self, mut frame: Vec<u8>, deadline: Instant) -> Result<(), CallError> {
        loop {
            match self.out.try_send(frame) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(CallError::Closed),
                Err(mpsc::error::TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return Err(CallError::Timeout);
                    }
                    frame = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}
