//! Reading a recording back for someone allowed to watch it.

use oriel_recording::{Index, TRAILER_LEN, index_start, read_trailer};

use super::{RecordingAccess, RecordingError, RecordingId, RecordingStorage};
use crate::control_plane::ControlPlane;
use crate::store::{RecordingPage, RecordingQuery, RecordingRecord, StoreError};

/// A recording the caller may watch: its catalog entry, its index, and
/// reads of its bytes.
#[derive(Debug, Clone)]
pub struct OpenRecording {
    /// Its catalog entry.
    pub record: RecordingRecord,
    /// Its keyframe index, from its trailer.
    pub index: Index,
    /// The object's length.
    pub len: u64,
    id: RecordingId,
    storage: RecordingStorage,
}

impl OpenRecording {
    /// Bytes `range` of the file, clamped to it.
    pub async fn read(&self, range: std::ops::Range<u64>) -> Result<bytes::Bytes, RecordingError> {
        let range = range.start.min(self.len)..range.end.min(self.len);
        if range.is_empty() {
            return Ok(bytes::Bytes::new());
        }
        self.storage.read(&self.id, range).await
    }
}

impl ControlPlane {
    /// The recordings `query` asks for that `access` covers.
    pub async fn recordings(&self, access: &RecordingAccess, query: &RecordingQuery) -> Result<RecordingPage, RecordingError> {
        Ok(self.store.recordings(query, |record| access.permits(record)).await?)
    }

    /// Recording `id` (any text: a path-like one is simply not found), if
    /// `access` covers it.
    pub async fn open_recording(&self, access: &RecordingAccess, id: &str) -> Result<OpenRecording, RecordingError> {
        let id = RecordingId::parse(id).ok_or(RecordingError::NotFound)?;
        let record = match self.store.recording(id.as_str()).await {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => return Err(RecordingError::NotFound),
            Err(error) => return Err(error.into()),
        };
        if !access.permits(&record) {
            return Err(RecordingError::NotFound);
        }
        let storage = self.recordings.clone().ok_or(RecordingError::NoStorage)?;
        let len = storage.size(&id).await?;
        let tail = storage.read(&id, len.saturating_sub(TRAILER_LEN as u64)..len).await?;
        let start = index_start(&tail, len)?;
        let end = storage.read(&id, start..len).await?;
        let index = read_trailer(&end, len)?;
        Ok(OpenRecording { record, index, len, id, storage })
    }
}
