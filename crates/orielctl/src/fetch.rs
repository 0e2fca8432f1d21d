//! Where `recordings export ID` gets the recording: from the storage the
//! auth service noted in its data directory (its `recordings` folder or an
//! S3 bucket), or through the admin API off the auth host. Either way the
//! bytes land in an owner-only file beside the video, removed afterwards:
//! the export reads a file, and a recording is no one else's to read.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use oriel_admin::client::AdminClient;
use oriel_auth::recordings::{RecordingError, RecordingId, RecordingStorage};

/// Bytes read from the storage at a time.
const CHUNK_LEN: u64 = 1 << 20;

/// A fetched recording file, deleted when dropped.
pub struct Fetched(PathBuf);

impl Fetched {
    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Fetched {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `id`, checked before anything is asked.
pub fn recording_id(id: &str) -> anyhow::Result<RecordingId> {
    RecordingId::parse(id).with_context(|| format!("{id:?} is not a recording id (a session id, as `orielctl recordings ls` lists)"))
}

/// Recording `id` from the storage the auth service with `data_dir` uses.
pub async fn from_storage(data_dir: &Path, id: &RecordingId, out: &Path) -> anyhow::Result<Fetched> {
    let storage = RecordingStorage::noted(data_dir)?;
    let missing = |e: RecordingError| match e {
        RecordingError::NotFound => anyhow::anyhow!("no recording {} in {}", id.as_str(), storage.location()),
        other => anyhow::anyhow!("cannot read recording {} from {}: {other}", id.as_str(), storage.location()),
    };
    let size = storage.size(id).await.map_err(missing)?;
    let (fetched, mut file) = create(out)?;
    let mut progress = Progress::default();
    let mut offset = 0;
    while offset < size {
        let data = storage.read(id, offset..(offset + CHUNK_LEN).min(size)).await.map_err(missing)?;
        if data.is_empty() {
            bail!("recording {} ended at byte {offset} of {size} in {}", id.as_str(), storage.location());
        }
        file.write_all(&data).with_context(|| format!("writing {}", fetched.path().display()))?;
        offset += data.len() as u64;
        progress.show(offset, size);
    }
    Ok(fetched)
}

/// Recording `id` through the auth service's admin API.
pub async fn from_admin(client: &mut AdminClient, id: &RecordingId, out: &Path) -> anyhow::Result<Fetched> {
    let (fetched, mut file) = create(out)?;
    let (mut got, mut size, mut progress) = (0, 0, Progress::default());
    client
        .download_recording(id.as_str(), |data, whole| {
            got += data.len() as u64;
            size = whole;
            progress.show(got, whole);
            file.write_all(data)
        })
        .await
        .map_err(|f| anyhow::anyhow!(f.message))?;
    // A stream that ended early is a failed download, not a shorter recording.
    if got != size {
        bail!("the download of recording {} stopped at {got} of {size} bytes; export again", id.as_str());
    }
    Ok(fetched)
}

/// The owner-only file beside `out` the recording is fetched into.
fn create(out: &Path) -> anyhow::Result<(Fetched, File)> {
    let mut name = out.file_name().context("--out names no file")?.to_owned();
    name.push(".orec.part");
    let path = out.with_file_name(name);
    // A new file only: never one that is there already (with other
    // permissions, or a link to somewhere else).
    let file = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} is in the way (left by an export that was stopped?): remove it and export again", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    Ok((Fetched(path), file))
}

/// "fetching: N%" on stderr, every tenth, for recordings of more than a few chunks.
#[derive(Default)]
struct Progress {
    shown: u64,
}

impl Progress {
    fn show(&mut self, done: u64, size: u64) {
        if size < 4 * CHUNK_LEN {
            return;
        }
        let tenth = done * 10 / size;
        if tenth > self.shown {
            self.shown = tenth;
            eprintln!("fetching the recording: {}%", tenth * 10);
        }
    }
}
