//! Where a recording goes: the auth service, reached in process (the
//! control plane) or across the cluster API (`oriel-cluster`'s
//! `RemoteAuth`).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::recordings::{RecordingError, RecordingId, RecordingUpload, Uploader};

/// A boxed future: the traits are used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How much of a recording goes in one write.
const UPLOAD_CHUNK: usize = 1 << 20;

/// Why a recording did not reach the auth service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// What failed, in one line.
    pub message: String,
    /// Whether trying again later can succeed (the auth service or its
    /// storage was away), or not (the recording was refused).
    pub retry_helps: bool,
}

impl DeliveryError {
    /// A failure that may pass.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_helps: true,
        }
    }

    /// A refusal that stays.
    pub fn refused(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_helps: false,
        }
    }
}

/// A refused recording (invalid, another desktop's) stays refused; storage
/// trouble may pass.
impl From<RecordingError> for DeliveryError {
    fn from(error: RecordingError) -> Self {
        match error {
            RecordingError::Invalid(_) | RecordingError::NotYours(_) | RecordingError::NotFound => {
                Self::refused(error.to_string())
            }
            RecordingError::NoStorage | RecordingError::Storage(_) | RecordingError::Store(_) => {
                Self::unavailable(error.to_string())
            }
        }
    }
}

/// The auth service, as a recorder sees it.
pub trait RecordingDestination: Send + Sync {
    /// Opens a stream of session `id`'s recording, for the `*-sync` modes:
    /// the bytes go as the session makes them, and the recording is kept
    /// when [`RecordingStream::finish`] says so.
    fn stream_recording<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn RecordingStream>, DeliveryError>>;

    /// Uploads the closed recording of session `id` from the file at
    /// `path`. `Err` keeps the file for a retry when
    /// [`DeliveryError::retry_helps`].
    fn upload_recording<'a>(
        &'a self,
        id: &'a str,
        path: &'a Path,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// A recording on its way to the auth service as the session goes.
pub trait RecordingStream: Send {
    /// The next bytes of the file. `Err` when they cannot go (the session
    /// then ends).
    fn send(&mut self, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), DeliveryError>>;
    /// The file is whole: the auth service checks and keeps it.
    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<(), DeliveryError>>;
}

impl RecordingDestination for ControlPlane {
    fn stream_recording<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn RecordingStream>, DeliveryError>> {
        Box::pin(async move {
            let upload = self
                .begin_recording_upload(session_id(id)?, Uploader::InProcess)
                .await?;
            Ok(Box::new(InProcessStream(upload)) as Box<dyn RecordingStream>)
        })
    }

    fn upload_recording<'a>(
        &'a self,
        id: &'a str,
        path: &'a Path,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            use tokio::io::AsyncReadExt;
            let unreadable = |e: std::io::Error| {
                DeliveryError::unavailable(format!("cannot read {}: {e}", path.display()))
            };
            let mut file = tokio::fs::File::open(path).await.map_err(unreadable)?;
            let mut upload = self
                .begin_recording_upload(session_id(id)?, Uploader::InProcess)
                .await?;
            let mut chunk = vec![0; UPLOAD_CHUNK];
            loop {
                let read = file.read(&mut chunk).await.map_err(unreadable)?;
                if read == 0 {
                    break;
                }
                upload.write(&chunk[..read]).await?;
            }
            upload.finish().await?;
            Ok(())
        })
    }
}

fn session_id(id: &str) -> Result<RecordingId, DeliveryError> {
    RecordingId::parse(id)
        .ok_or_else(|| DeliveryError::refused(format!("{id:?} is not a session id")))
}

/// A stream into the control plane in this process.
struct InProcessStream(RecordingUpload);

impl RecordingStream for InProcessStream {
    fn send(&mut self, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), DeliveryError>> {
        Box::pin(async move { Ok(self.0.write(&bytes).await?) })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<(), DeliveryError>> {
        Box::pin(async move {
            self.0.finish().await?;
            Ok(())
        })
    }
}
