//! Recordings waiting on this host for the auth service (a desktop
//! service's `<data_dir>/recording-spool`, the proxy's
//! `<data_dir>/proxy-recording-spool`; root's, 0700): a session's `.part` while
//! it runs, its `.orec` once closed, gone once uploaded. At start, `.part`
//! files a stopped service left are closed as they are (every whole record
//! kept, the index rebuilt), so a crash loses at most the last record; one
//! task uploads in order and keeps what fails for later.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oriel_recording::Scanner;
use tokio::sync::mpsc;

use crate::destination::RecordingDestination;

/// The first wait after a failed upload; doubled up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// This host's recordings on their way to the auth service.
#[derive(Debug, Clone)]
pub struct RecordingSpool {
    dir: PathBuf,
    uploads: mpsc::UnboundedSender<PathBuf>,
}

impl RecordingSpool {
    /// Opens the spool in `dir`: closes what a stopped service left, and
    /// starts uploading to `destination`.
    pub fn open(
        dir: &Path,
        destination: Arc<dyn RecordingDestination>,
    ) -> std::io::Result<RecordingSpool> {
        make_private_dir(dir)?;
        let mut waiting = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("part") => match close_partial(&path) {
                    Ok(closed) => {
                        tracing::warn!(recording = %closed.display(), "closed the recording of a session that was cut short");
                        waiting.push(closed);
                    }
                    Err(error) => {
                        tracing::error!(recording = %path.display(), %error, "a recording left by a stopped service cannot be read; kept as it is")
                    }
                },
                Some("orec") => waiting.push(path),
                _ => {}
            }
        }
        // Session ids are UUIDv7: name order is the order they started in.
        waiting.sort();
        let (uploads, queue) = mpsc::unbounded_channel();
        for path in waiting {
            let _ = uploads.send(path);
        }
        tokio::spawn(upload_each(queue, destination));
        Ok(RecordingSpool {
            dir: dir.to_owned(),
            uploads,
        })
    }

    /// Where sessions write their recordings.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Uploads the closed recording at `path`, then removes it.
    pub fn upload(&self, path: PathBuf) {
        let _ = self.uploads.send(path);
    }
}

/// Closes the `.part` file at `path` (the header must be whole) and renames
/// it `.orec`.
fn close_partial(path: &Path) -> Result<PathBuf, String> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    let mut scanner = Scanner::new();
    let mut chunk = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut chunk).map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        if let Err(error) = scanner.feed(&chunk[..read]) {
            return Err(error.to_string());
        }
    }
    let recovered = scanner.recover().map_err(|e| e.to_string())?;
    file.set_len(recovered.keep).map_err(|e| e.to_string())?;
    file.seek(std::io::SeekFrom::End(0))
        .map_err(|e| e.to_string())?;
    file.write_all(&recovered.trailer)
        .map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    let closed = path.with_extension("orec");
    std::fs::rename(path, &closed).map_err(|e| e.to_string())?;
    Ok(closed)
}

/// Uploads each recording in turn; one the auth service refuses for good
/// is renamed `.refused` and left for an administrator, the rest are tried
/// again until they go.
async fn upload_each(
    mut queue: mpsc::UnboundedReceiver<PathBuf>,
    destination: Arc<dyn RecordingDestination>,
) {
    while let Some(path) = queue.recv().await {
        let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let mut wait = FIRST_WAIT;
        loop {
            match destination.upload_recording(&id, &path).await {
                Ok(()) => {
                    tracing::info!(recording = %id, "recording uploaded");
                    if let Err(error) = std::fs::remove_file(&path) {
                        tracing::warn!(recording = %path.display(), %error, "an uploaded recording could not be removed");
                    }
                    break;
                }
                Err(error) if error.retry_helps => {
                    tracing::warn!(recording = %id, %error, retry_in = ?wait, "recording upload failed; it stays on this host until it can go");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LONGEST_WAIT);
                }
                Err(error) => {
                    tracing::error!(recording = %id, %error, "the auth service refused this recording; kept as .refused");
                    let _ = std::fs::rename(&path, path.with_extension("refused"));
                    break;
                }
            }
        }
    }
}

fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}
