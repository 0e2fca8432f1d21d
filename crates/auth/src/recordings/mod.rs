//! Session recordings at the auth service (`docs/recording.md`): where
//! they are kept (`storage.rs`), who may watch which (`access.rs`), taking
//! one in from a desktop service (`ingest.rs`) and reading one back
//! (`read.rs`). The catalog that lists them is `store/recordings.rs`.

mod access;
mod id;
mod ingest;
mod read;
mod storage;

pub use access::RecordingAccess;
pub use id::RecordingId;
pub use ingest::{RecordingUpload, Uploader};
pub use read::OpenRecording;
pub use storage::{RecordingStorage, SESSIONS_URI_FILE, StorageUriError};

use crate::store::StoreError;

/// Why a recording could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// No such recording, or not one the caller may see: the same answer,
    /// so ids cannot be probed.
    #[error("recording not found")]
    NotFound,
    /// The bytes are not a whole, valid recording.
    #[error("the recording is not valid: {0}")]
    Invalid(#[from] oriel_recording::FormatError),
    /// A desktop service sent a recording of another desktop's session.
    #[error("this desktop service may only upload its own sessions' recordings ({0})")]
    NotYours(String),
    /// This auth service keeps no recordings.
    #[error("this auth service has no recording storage configured")]
    NoStorage,
    /// The object store failed.
    #[error("the recording storage failed: {0}")]
    Storage(String),
    /// The catalog failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<object_store::Error> for RecordingError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => RecordingError::NotFound,
            other => RecordingError::Storage(other.to_string()),
        }
    }
}
