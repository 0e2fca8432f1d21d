//! Directory sharing: a directory the person picked in the browser shows as
//! a folder in the desktop user's home. A FUSE file system ([`fs`]) turns
//! each file operation into a `SharedDirectoryRequest` to the browser and
//! waits (on its own threads, with a deadline) for the answer the session
//! loop hands over ([`link`]). Paths are checked on the way out and on the
//! way in ([`path`]), so nothing outside the picked directory is asked for
//! and nothing the browser says leads outside the mount.
//!
//! The session owner makes one [`SharedDirectories`] per session (only when
//! the roles allow directory sharing) and calls [`SharedDirectories::announce`],
//! [`SharedDirectories::response`] and [`SharedDirectories::remove`] for the
//! messages; dropping it unmounts everything.

pub mod fs;
pub mod inodes;
pub mod link;
pub mod local;
pub mod mount;
pub mod path;
pub mod requests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oriel_tdpb::pb::{self, AlertSeverity, SharedDirectoryErrorCode};
use oriel_tdpb::{Payload, encode_frame};
use tokio::sync::mpsc;

pub use fs::Owner;
use link::{Answers, Link};
pub use mount::{DirectMounter, Mounter, Unmounted, mounts_root, unmount};
use mount::{MountError, Mounted};

/// How many directories one session may share at once, unless configured.
pub const DEFAULT_MAX_SHARED: usize = 16;

/// Where FUSE mounts come from; without it sharing is off.
const FUSE_DEVICE: &str = "/dev/fuse";

/// Whether this host can mount FUSE file systems at all.
pub fn fuse_available() -> bool {
    Path::new(FUSE_DEVICE).exists()
}

/// Why an announced directory is not shared. The message goes to the
/// browser as a WARNING alert; the session goes on.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The roles turn directory sharing off.
    #[error("directory sharing is off for this session (desktop_directory_sharing in your roles)")]
    Disabled,
    /// This host has no /dev/fuse.
    #[error("directory sharing is not available on this desktop (no FUSE: {FUSE_DEVICE} is missing)")]
    NoFuse,
    /// The id is shared already.
    #[error("directory {0} is shared already")]
    Duplicate(u32),
    /// Mounting failed.
    #[error("the directory could not be shared: {0}")]
    Mount(#[from] MountError),
    /// The session shares as many directories as it may.
    #[error("this session already shares {0} directories, the most it may; stop sharing one first")]
    TooMany(usize),
    /// The client went away meanwhile.
    #[error("the client is gone")]
    ClientGone,
}

/// The directories shared in one session.
pub struct SharedDirectories {
    home: PathBuf,
    owner: Owner,
    mounter: Arc<dyn Mounter>,
    /// The most directories shared at once.
    max: usize,
    out: mpsc::Sender<Vec<u8>>,
    answers: Answers,
    mounts: HashMap<u32, Mounted>,
    /// A refusal over the cap has been logged already.
    over_cap_logged: bool,
}

impl SharedDirectories {
    /// Shares directories as folders in `home`, owned by `owner`; requests
    /// go to the browser as frames on `out` (the session's outbound channel).
    /// `mounter` makes the mounts; at most `max` directories are shared at once.
    pub fn new(home: PathBuf, owner: Owner, out: mpsc::Sender<Vec<u8>>, mounter: Arc<dyn Mounter>, max: usize) -> Self {
        Self::with_timeout(home, owner, out, mounter, max, link::REQUEST_TIMEOUT)
    }

    /// Like [`SharedDirectories::new`], with `timeout` for each request.
    pub fn with_timeout(home: PathBuf, owner: Owner, out: mpsc::Sender<Vec<u8>>, mounter: Arc<dyn Mounter>, max: usize, timeout: Duration) -> Self {
        Self { home, owner, mounter, max, out, answers: Answers::new(timeout), mounts: HashMap::new(), over_cap_logged: false }
    }

    /// Mounts the announced directory and acknowledges it. On failure the
    /// browser gets a failed acknowledgement and a WARNING alert; the error
    /// is returned for the log only, the session goes on.
    pub async fn announce(&mut self, announce: pb::SharedDirectoryAnnounce) -> Result<PathBuf, ShareError> {
        let id = announce.directory_id;
        let result = self.mount(announce).await;
        match &result {
            Ok(path) => {
                tracing::info!(directory_id = id, path = %path.display(), "directory shared");
                send(&self.out, acknowledge(id, SharedDirectoryErrorCode::None)).await?;
            }
            Err(error) => {
                // A flood of announcements over the cap is the browser's
                // doing: it gets its answers, the log only the first.
                if matches!(error, ShareError::TooMany(_)) && self.over_cap_logged {
                    tracing::debug!(directory_id = id, %error, "directory not shared");
                } else {
                    tracing::warn!(directory_id = id, %error, "directory not shared");
                    self.over_cap_logged |= matches!(error, ShareError::TooMany(_));
                }
                refuse_with(&self.out, id, error).await?;
            }
        }
        result
    }

    async fn mount(&mut self, announce: pb::SharedDirectoryAnnounce) -> Result<PathBuf, ShareError> {
        let id = announce.directory_id;
        if self.mounts.contains_key(&id) {
            return Err(ShareError::Duplicate(id));
        }
        if self.mounts.len() >= self.max {
            return Err(ShareError::TooMany(self.max));
        }
        if !fuse_available() {
            return Err(ShareError::NoFuse);
        }
        let fs = fs::SharedFs::new(Link::new(id, self.out.clone(), self.answers.clone()), self.owner);
        let (home, owner, mounter) = (self.home.clone(), self.owner, self.mounter.clone());
        let mounted = tokio::task::spawn_blocking(move || mount::mount(fs, &home, &announce.name, owner, mounter))
            .await
            .map_err(|e| MountError::Fuse { path: self.home.clone(), error: std::io::Error::other(e) })??;
        let path = mounted.path().to_owned();
        self.mounts.insert(id, mounted);
        Ok(path)
    }

    /// Hands the browser's answer to the request waiting for it. An answer
    /// nobody waits for (late, or never asked) is logged and dropped.
    pub fn response(&self, response: pb::SharedDirectoryResponse) {
        if let Err(error) = self.answers.deliver(response) {
            tracing::debug!(%error, "shared directory answer dropped");
        }
    }

    /// Stops sharing a directory: unmounts it (in the background if busy).
    pub fn remove(&mut self, remove: pb::SharedDirectoryRemove) {
        match self.mounts.remove(&remove.directory_id) {
            // Unmounting waits for the kernel; never on the async runtime.
            Some(mounted) => drop(tokio::task::spawn_blocking(move || drop(mounted))),
            None => tracing::debug!(directory_id = remove.directory_id, "remove for a directory not shared"),
        }
    }

    /// Removes every shared directory: the browser that answered for them
    /// is gone (a resumed session's browser shares its own again).
    pub fn remove_all(&mut self) {
        for (_, mounted) in std::mem::take(&mut self.mounts) {
            drop(tokio::task::spawn_blocking(move || drop(mounted)));
        }
    }

    /// Where directory `id` shows on the desktop.
    pub fn mount_point(&self, id: u32) -> Option<&Path> {
        self.mounts.get(&id).map(Mounted::path)
    }
}

impl Drop for SharedDirectories {
    fn drop(&mut self) {
        // Wake every FUSE thread waiting for the browser first, so the
        // unmounts find no operation in flight.
        self.answers.close();
        self.mounts.clear();
    }
}

/// Refuses `announce` with a failed acknowledgement and a WARNING alert
/// saying why (for a session that shares nothing, e.g. [`ShareError::Disabled`]).
pub async fn refuse(out: &mpsc::Sender<Vec<u8>>, announce: &pb::SharedDirectoryAnnounce, why: &ShareError) -> Result<(), ShareError> {
    tracing::warn!(directory_id = announce.directory_id, error = %why, "directory not shared");
    refuse_with(out, announce.directory_id, why).await
}

async fn refuse_with(out: &mpsc::Sender<Vec<u8>>, id: u32, why: &ShareError) -> Result<(), ShareError> {
    send(out, acknowledge(id, SharedDirectoryErrorCode::Failed)).await?;
    let mut message = why.to_string();
    message.truncate(oriel_tdpb::limits::MAX_ALERT_LEN);
    send(out, Payload::Alert(pb::Alert { message, severity: AlertSeverity::Warning as i32 })).await
}

fn acknowledge(directory_id: u32, code: SharedDirectoryErrorCode) -> Payload {
    Payload::SharedDirectoryAcknowledge(pb::SharedDirectoryAcknowledge { directory_id, error_code: code as i32 })
}

async fn send(out: &mpsc::Sender<Vec<u8>>, payload: Payload) -> Result<(), ShareError> {
    out.send(encode_frame(payload)).await.map_err(|_| ShareError::ClientGone)
}
