//! Where recordings are kept: one object per recording, `<id>.orec`,
//! through `object_store`, in a directory (the default: the auth service's
//! data dir) or an S3-compatible bucket.

use std::path::Path as FsPath;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::{RecordingError, RecordingId};

/// The store recordings go to (`auth_service.audit_sessions_uri`).
#[derive(Debug, Clone)]
pub struct RecordingStorage {
    objects: Arc<dyn ObjectStore>,
    prefix: Path,
    /// Where, for messages: never holds a secret.
    location: String,
}

/// An `audit_sessions_uri` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("audit_sessions_uri: {0}")]
pub struct StorageUriError(String);

impl RecordingStorage {
    /// Recordings as files in `dir` (made owner-only if missing).
    pub fn in_directory(dir: &FsPath) -> Result<RecordingStorage, StorageUriError> {
        make_private_dir(dir).map_err(|e| StorageUriError(format!("cannot create {}: {e}", dir.display())))?;
        let objects = LocalFileSystem::new_with_prefix(dir).map_err(|e| StorageUriError(e.to_string()))?;
        Ok(RecordingStorage { objects: Arc::new(objects), prefix: Path::default(), location: dir.display().to_string() })
    }

    /// The storage `uri` names: `file:///path` or a plain absolute path.
    pub fn from_uri(uri: &str) -> Result<RecordingStorage, StorageUriError> {
        if let Some(path) = uri.strip_prefix("file://") {
            return Self::in_directory(FsPath::new(path));
        }
        if uri.starts_with('/') {
            return Self::in_directory(FsPath::new(uri));
        }
        let scheme = uri.split_once("://").map_or(uri, |(scheme, _)| scheme);
        Err(StorageUriError(format!("{scheme:?} is not a storage this build supports; use file:///path")))
    }

    /// Where recordings go, for logs and errors.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn path(&self, id: &RecordingId) -> Path {
        self.prefix.clone().join(format!("{id}.orec"))
    }

    /// The recording's size in bytes.
    pub async fn size(&self, id: &RecordingId) -> Result<u64, RecordingError> {
        Ok(self.objects.head(&self.path(id)).await?.size)
    }

    /// Bytes `range` of the recording.
    pub async fn read(&self, id: &RecordingId, range: std::ops::Range<u64>) -> Result<bytes::Bytes, RecordingError> {
        Ok(self.objects.get_range(&self.path(id), range).await?)
    }

    /// A writer for the recording: nothing is visible under its name until
    /// it is finished, and an aborted one leaves nothing.
    pub(crate) async fn writer(&self, id: &RecordingId) -> Result<WriteMultipart, RecordingError> {
        let upload = self.objects.put_multipart(&self.path(id)).await?;
        Ok(WriteMultipart::new(upload))
    }
}

fn make_private_dir(dir: &FsPath) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}
