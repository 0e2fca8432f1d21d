//! Mounting a shared directory where the desktop user finds it in their
//! home, and taking it away again. The mount runs as root with
//! `allow_other` (the user is not the one mounting) and
//! `default_permissions` (the kernel checks the modes [`super::fs`] shows,
//! so only the user and root get in).
//!
//! The mount point is never in the home itself: the user owns that
//! directory and could swap the folder for a symbolic link between a check
//! and the mount, making root mount over `/etc`. It is a fresh directory
//! under a root-owned one ([`mounts_root`]); the home gets a symbolic link
//! to it, made with symlinkat, which never follows an existing name.

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
/// still uses it), removes the mount point and the link in the home.
pub struct Mounted {
    session: Option<BackgroundSession>,
    /// The mount point, in a root-owned directory.
    target: PathBuf,
    /// The link in the home that shows it.
    link: PathBuf,
}

impl Mounted {
    /// Where the directory shows on the desktop: the link in the home.
    pub fn path(&self) -> &Path {
        &self.link
    }
}

/// Where mount points are made: a directory only the service can change,
/// others may only traverse.
pub fn mounts_root() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        PathBuf::from("/run/oriel/shares")
    } else {
        std::env::temp_dir().join(format!("oriel-shares-{}", rustix::process::geteuid().as_raw()))
    }
}

/// A fresh, empty mount point under [`mounts_root`] (mode 0755: the FUSE
/// root's own 0700 for the user is what keeps others out).
fn fresh_mount_point() -> io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let root = mounts_root();
    std::fs::DirBuilder::new().recursive(true).mode(0o711).create(&root)?;
    let meta = std::fs::symlink_metadata(&root)?;
    if !meta.is_dir() || meta.uid() != rustix::process::geteuid().as_raw() || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(format!("{} is not a directory only this service can change", root.display())));
    }
    let dir = tempfile::Builder::new().prefix("share-").tempdir_in(&root)?.keep();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

/// Mounts `fs` and links it as `home/name` (or `home/name (2)`… when
/// that name is taken). Blocks: call it off the async runtime.
pub fn mount(fs: SharedFs, home: &Path, name: &str, owner: Owner) -> Result<Mounted, MountError> {
    check_name(name)?;
    let home = home.canonicalize().map_err(|error| MountError::Folder { path: home.to_owned(), error })?;
    let target = fresh_mount_point().map_err(|error| MountError::Folder { path: mounts_root(), error })?;
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
    let session = match fuser::spawn_mount(fs, &target, &config) {
        Ok(session) => session,
        Err(error) => {
            let _ = std::fs::remove_dir(&target);
            return Err(MountError::Fuse { path: target, error });
        }
    };
    // From here on, dropping `mounted` undoes everything.
    let mut mounted = Mounted { session: Some(session), target, link: PathBuf::new() };
    mounted.link = link_in_home(&home, name, &mounted.target, owner)?;
    tracing::info!(link = %mounted.link.display(), target = %mounted.target.display(), "shared directory mounted");
    Ok(mounted)
}

/// Makes `home/name` (or `home/name (n)`) a symbolic link to `target`,
/// owned by the user. A name that exists in any form is skipped: symlinkat
/// fails on it rather than follow it.
fn link_in_home(home: &Path, name: &str, target: &Path, owner: Owner) -> Result<PathBuf, MountError> {
    for n in 1..=MAX_ALTERNATIVES {
        let candidate = if n == 1 { name.to_owned() } else { format!("{name} ({n})") };
        let link = home.join(&candidate);
        match std::os::unix::fs::symlink(target, &link) {
            Ok(()) => {
                std::os::unix::fs::lchown(&link, Some(owner.uid), Some(owner.gid)).map_err(|error| MountError::Folder { path: link.clone(), error })?;
                return Ok(link);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(MountError::Folder { path: link, error }),
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
                Ok(()) => tracing::info!(path = %self.target.display(), "shared directory unmounted"),
                Err(error) => {
                    tracing::debug!(path = %self.target.display(), %error, "plain unmount failed");
                    unmount(&self.target);
                }
            }
        }
        // A detached mount's point is removed too: the mount lives on only
        // for the files still open in it.
        if let Err(error) = std::fs::remove_dir(&self.target) {
            tracing::debug!(path = %self.target.display(), %error, "mount point kept");
        }
        // Only the link this made: the user may have replaced it meanwhile.
        if !self.link.as_os_str().is_empty() && std::fs::read_link(&self.link).is_ok_and(|to| to == self.target) {
            let _ = std::fs::remove_file(&self.link);
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
