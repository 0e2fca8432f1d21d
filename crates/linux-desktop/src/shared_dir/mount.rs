//! Mounting a shared directory in the desktop user's home, and taking it
//! away again. The mount runs as root with `allow_other` (the user is not
//! the one mounting) and `default_permissions` (the kernel checks the
//! modes [`super::fs`] shows, so only the user and root get in).

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use fuser::{BackgroundSession, Config, MountOption, SessionACL};

use super::fs::{Owner, SharedFs};
use super::path::{PathError, check_name};

/// How many `name (n)` alternatives are tried when `name` is taken.
const MAX_ALTERNATIVES: u32 = 100;

/// Why a directory could not be mounted.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// The announced name cannot be a folder name.
    #[error("the directory name cannot be used: {0}")]
    Name(#[from] PathError),
    /// Every candidate folder in the home directory is taken.
    #[error("no free folder named after {0:?} in the home directory")]
    NoFolder(String),
    /// Creating or checking the folder failed.
    #[error("cannot prepare the folder {path}: {error}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Cause.
        error: io::Error,
    },
    /// The kernel refused the FUSE mount (no /dev/fuse, no permission).
    #[error("cannot mount FUSE on {path}: {error}")]
    Fuse {
        /// The mount point.
        path: PathBuf,
        /// Cause.
        error: io::Error,
    },
}

/// A mounted shared directory. Dropping it unmounts (lazily if something
/// still uses it) and removes the folder if this created it and it is empty.
pub struct Mounted {
    session: Option<BackgroundSession>,
    path: PathBuf,
    created: bool,
}

impl Mounted {
    /// Where the directory shows on the desktop.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Mounts `fs` at `home/name` (or `home/name (2)`… when that is taken).
/// Blocks: call it off the async runtime.
pub fn mount(fs: SharedFs, home: &Path, name: &str, owner: Owner) -> Result<Mounted, MountError> {
    check_name(name)?;
    let (path, created) = mount_point(home, name, owner)?;
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("oriel:{name}")),
        MountOption::Subtype("oriel".into()),
        MountOption::DefaultPermissions,
        MountOption::NoSuid,
        MountOption::NoDev,
    ];
    config.acl = SessionACL::All;
    // Several threads, so one slow answer does not stall every other file.
    config.n_threads = Some(4);
    match fuser::spawn_mount(fs, &path, &config) {
        Ok(session) => {
            tracing::info!(path = %path.display(), "shared directory mounted");
            Ok(Mounted { session: Some(session), path, created })
        }
        Err(error) => {
            if created {
                let _ = std::fs::remove_dir(&path);
            }
            Err(MountError::Fuse { path, error })
        }
    }
}

/// The folder to mount on: `home/name` if it is free (missing, or an empty
/// directory that is not a mount point), else `home/name (2)` and so on.
/// A folder it creates is the user's, mode 0700. Symbolic links are never
/// followed: a link the user planted must not make root mount elsewhere.
fn mount_point(home: &Path, name: &str, owner: Owner) -> Result<(PathBuf, bool), MountError> {
    let folder_error = |path: &Path, error| MountError::Folder { path: path.to_owned(), error };
    let home = home.canonicalize().map_err(|e| folder_error(home, e))?;
    let home_dev = std::fs::metadata(&home).map_err(|e| folder_error(&home, e))?.dev();
    for n in 1..=MAX_ALTERNATIVES {
        let candidate = if n == 1 { name.to_owned() } else { format!("{name} ({n})") };
        let path = home.join(&candidate);
        match std::fs::symlink_metadata(&path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                use std::os::unix::fs::DirBuilderExt;
                match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                    Ok(()) => {}
                    // Someone made it meanwhile: try the next name.
                    Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(error) => return Err(folder_error(&path, error)),
                }
                std::os::unix::fs::lchown(&path, Some(owner.uid), Some(owner.gid)).map_err(|e| folder_error(&path, e))?;
                return Ok((path, true));
            }
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "candidate mount point skipped");
            }
            Ok(meta) => {
                let reusable = meta.file_type().is_dir()
                    && meta.dev() == home_dev
                    && std::fs::read_dir(&path).is_ok_and(|mut entries| entries.next().is_none());
                if reusable {
                    return Ok((path, false));
                }
            }
        }
    }
    Err(MountError::NoFolder(name.to_owned()))
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // fuser's own unmount, then its threads end as the kernel lets
            // the connection go; if the mount is busy (a program has a file
            // open in it) it fails and the mount is detached instead, its
            // threads left to end when the last file closes.
            match session.umount_and_join() {
                Ok(()) => tracing::info!(path = %self.path.display(), "shared directory unmounted"),
                Err(error) => {
                    tracing::debug!(path = %self.path.display(), %error, "plain unmount failed");
                    unmount(&self.path);
                }
            }
        }
        if self.created {
            // Fails, as it should, if something was left in the folder itself.
            if let Err(error) = std::fs::remove_dir(&self.path) {
                tracing::debug!(path = %self.path.display(), %error, "mount point kept");
            }
        }
    }
}

/// Unmounts `path`: plainly, else lazily (something still has a file open
/// in it), else through `fusermount3 -u -z` (when not root).
pub fn unmount(path: &Path) {
    use rustix::mount::{UnmountFlags, unmount as umount2};
    match umount2(path, UnmountFlags::empty()) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "shared directory unmounted");
            return;
        }
        Err(error) => tracing::debug!(path = %path.display(), %error, "plain unmount failed, detaching"),
    }
    if umount2(path, UnmountFlags::DETACH).is_ok() {
        tracing::info!(path = %path.display(), "shared directory detached (still in use)");
        return;
    }
    match std::process::Command::new("fusermount3").arg("-u").arg("-z").arg(path).status() {
        Ok(status) if status.success() => tracing::info!(path = %path.display(), "shared directory unmounted with fusermount3"),
        Ok(status) => tracing::warn!(path = %path.display(), %status, "cannot unmount the shared directory"),
        Err(error) => tracing::warn!(path = %path.display(), %error, "cannot unmount the shared directory"),
    }
}
