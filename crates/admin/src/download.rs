//! `recordings export ID` off the auth host: the recording's bytes streamed
//! from wherever the auth service keeps them, in pieces small enough for a
//! gRPC message, the first one saying the whole size.

use std::pin::Pin;

use futures_util::Stream;
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::recordings::{RecordingAccess, RecordingError};
use tonic::Status;

use crate::proto::RecordingChunk;

/// Bytes per chunk: well under gRPC's 4 MiB message limit.
pub const CHUNK_LEN: u64 = 1 << 20;

/// The chunks of one recording, as the admin API streams them.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<RecordingChunk, Status>> + Send>>;

/// Recording `id`'s chunks, if `access` covers it.
pub async fn chunks(plane: &ControlPlane, access: &RecordingAccess, id: &str) -> Result<ChunkStream, Status> {
    let recording = plane.open_recording(access, id).await.map_err(|e| status(id, e))?;
    let id = id.to_owned();
    let stream = futures_util::stream::try_unfold(0u64, move |offset| {
        let (recording, id) = (recording.clone(), id.clone());
        async move {
            if offset >= recording.len && offset > 0 {
                return Ok(None);
            }
            let data = recording.read(offset..offset + CHUNK_LEN).await.map_err(|e| status(&id, e))?;
            let size = if offset == 0 { recording.len } else { 0 };
            let next = offset + data.len() as u64;
            // An empty object still answers one chunk, so the size arrives.
            let next = if data.is_empty() { u64::MAX } else { next };
            Ok(Some((RecordingChunk { data: data.to_vec(), size }, next)))
        }
    });
    Ok(Box::pin(stream))
}

fn status(id: &str, error: RecordingError) -> Status {
    match error {
        RecordingError::NotFound => Status::not_found(format!("no recording {id:?}")),
        RecordingError::NoStorage => Status::failed_precondition(error.to_string()),
        RecordingError::Invalid(_) => Status::data_loss(format!("recording {id}: {error}")),
        other => {
            tracing::warn!(recording = %id, error = %other, "recording download failed");
            Status::unavailable(format!("recording {id}: {other}"))
        }
    }
}
