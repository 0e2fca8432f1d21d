//! Taking a recording in: its bytes are checked as they arrive (every
//! record, then the index) and written to an object nobody sees until the
//! whole is good; then the catalog lists it.

use object_store::WriteMultipart;
use oriel_recording::Scanner;

use super::{RecordingError, RecordingId};
use crate::control_plane::ControlPlane;
use crate::served::NotServed;
use crate::store::RecordingRecord;

/// Who sends a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploader {
    /// The desktop service in this process.
    InProcess,
    /// A desktop service on its own host, which may only send recordings
    /// of the sessions of a desktop it serves (`served.rs`).
    Host(crate::ca::HostIdentity),
}

/// Uploads past this many bytes waiting are slowed down.
const PARTS_IN_FLIGHT: usize = 4;

/// One recording on its way in.
pub struct RecordingUpload {
    plane: ControlPlane,
    id: RecordingId,
    from: Uploader,
    scanner: Scanner,
    writer: Option<WriteMultipart>,
    len: u64,
}

impl ControlPlane {
    /// Starts taking in session `id`'s recording from `from`.
    pub async fn begin_recording_upload(&self, id: RecordingId, from: Uploader) -> Result<RecordingUpload, RecordingError> {
        let storage = self.recordings.as_ref().ok_or(RecordingError::NoStorage)?;
        let writer = storage.writer(&id).await?;
        Ok(RecordingUpload { plane: self.clone(), id, from, scanner: Scanner::new(), writer: Some(writer), len: 0 })
    }
}

impl RecordingUpload {
    /// The next bytes of the file.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), RecordingError> {
        if let Err(error) = self.scanner.feed(bytes) {
            self.abort().await;
            return Err(error.into());
        }
        let writer = self.writer.as_mut().expect("present until finished");
        writer.write(bytes);
        self.len += bytes.len() as u64;
        if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            self.abort().await;
            return Err(error.into());
        }
        Ok(())
    }

    /// The file is all here: checks it whole, stores it and lists it.
    pub async fn finish(mut self) -> Result<RecordingRecord, RecordingError> {
        let scanner = std::mem::take(&mut self.scanner);
        let scanned = match scanner.finish() {
            Ok(scanned) => scanned,
            Err(error) => {
                self.abort().await;
                return Err(error.into());
            }
        };
        let meta = &scanned.meta;
        let refusal = if meta.session_id != self.id.as_str() {
            Some(RecordingError::Invalid(oriel_recording::FormatError::BadMeta(format!("it is session {:?}'s, not {}", meta.session_id, self.id))))
        } else if let Uploader::Host(host) = &self.from {
            let kind = oriel_rbac::DesktopKind::ALL.into_iter().find(|kind| kind.as_str() == meta.desktop_kind);
            match kind {
                None => Some(RecordingError::NotYours(format!("the recording is of a {:?} desktop", meta.desktop_kind))),
                Some(kind) => match self.plane.check_served(host, kind, &meta.desktop).await {
                    Ok(()) => None,
                    Err(NotServed::NotYours(reason)) => Some(RecordingError::NotYours(reason)),
                    Err(NotServed::Unavailable(error)) => Some(RecordingError::Store(error)),
                },
            }
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.abort().await;
            return Err(refusal);
        }
        let writer = self.writer.take().expect("present until finished");
        writer.finish().await?;
        let start = crate::audit::parse_rfc3339(&meta.start).map_err(|e| oriel_recording::FormatError::BadMeta(e.to_string()))?;
        let duration = std::time::Duration::from_millis(scanned.index.duration_ms.into());
        let record = RecordingRecord {
            id: self.id.to_string(),
            user: meta.user.clone(),
            login: meta.login.clone(),
            desktop: meta.desktop.clone(),
            desktop_kind: meta.desktop_kind.clone(),
            start: meta.start.clone(),
            end: crate::audit::rfc3339(start + duration),
            duration_ms: scanned.index.duration_ms.into(),
            size: self.len,
            participants: vec![meta.user.clone()],
        };
        self.plane.store.add_recording(&record).await?;
        Ok(record)
    }

    async fn abort(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Err(error) = writer.abort().await
        {
            tracing::warn!(%error, id = %self.id, "could not discard a refused recording upload");
        }
    }
}
