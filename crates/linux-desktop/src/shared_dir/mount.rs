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

use std::os::fd::OwnedFd;
use std::sync::Arc;

use fuser::{BackgroundSession, Config, SessionACL};

use super::FUSE_DEVICE;
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
    /// Who unmounts it.
    mounter: Arc<dyn Mounter>,
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

/// Who makes FUSE mounts: this process when it is root ([`DirectMounter`]),
/// or, in a session process, its root part on request (the unprivileged
/// part may not mount, and `no_new_privs` keeps fusermount3 powerless).
pub trait Mounter: Send + Sync + std::fmt::Debug {
    /// Mounts a fresh FUSE file system for `owner` on a fresh mount point
    /// under [`mounts_root`]; answers the mount point and the /dev/fuse
    /// descriptor that serves it.
    fn mount(&self, name: &str, owner: Owner) -> io::Result<(PathBuf, OwnedFd)>;

    /// Unmounts a mount point [`Mounter::mount`] made and removes it:
    /// plainly, or detached when something still has a file open in it.
    fn unmount(&self, target: &Path) -> io::Result<Unmounted>;
}

/// How an unmount went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmounted {
    /// Gone; the file system's threads end now.
    Clean,
    /// Detached while in use; it lives on for the open files only.
    Detached,
}

/// Mounts in this process, which must be root.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectMounter;

impl Mounter for DirectMounter {
    fn mount(&self, name: &str, owner: Owner) -> io::Result<(PathBuf, OwnedFd)> {
        mount_device(name, owner)
    }

    fn unmount(&self, target: &Path) -> io::Result<Unmounted> {
        let how = unmount(target);
        if let Err(error) = std::fs::remove_dir(target) {
            tracing::debug!(path = %target.display(), %error, "mount point kept");
        }
        Ok(how)
    }
}

/// Opens /dev/fuse and mounts it on a fresh directory under
/// [`mounts_root`] for `owner`: `default_permissions` (the kernel checks
/// the modes the file system shows: the owner's alone) and `allow_other`
/// (so root's helpers may look, as with any home). Root only.
pub fn mount_device(name: &str, owner: Owner) -> io::Result<(PathBuf, OwnedFd)> {
    use rustix::fs::{Mode, OFlags};
    use rustix::mount::MountFlags;
    use std::os::fd::AsRawFd;
    check_name(name).map_err(io::Error::other)?;
    let target = fresh_mount_point()?;
    let result = (|| {
        let device = rustix::fs::open(FUSE_DEVICE, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?;
        let options = format!("fd={},rootmode=40000,user_id={},group_id={},default_permissions,allow_other", device.as_raw_fd(), owner.uid, owner.gid);
        let options = std::ffi::CString::new(options).map_err(io::Error::other)?;
        rustix::mount::mount(format!("oriel:{name}").as_str(), &target, "fuse.oriel", MountFlags::NOSUID | MountFlags::NODEV, options.as_c_str())?;
        Ok::<_, io::Error>(device)
    })();
    match result {
        Ok(device) => Ok((target, device)),
        Err(error) => {
            let _ = std::fs::remove_dir(&target);
            Err(error)
        }
    }
}

/// Has `mounter` mount a file system, serves `fs` on it, and links it as
/// `home/name` (or `home/name (2)`… when that name is taken). Blocks: call
/// it off the async runtime.
pub fn mount(fs: SharedFs, home: &Path, name: &str, owner: Owner, mounter: Arc<dyn Mounter>) -> Result<Mounted, MountError> {
    check_name(name)?;
    let home = home.canonicalize().map_err(|error| MountError::Folder { path: home.to_owned(), error })?;
    let (target, device) = mounter.mount(name, owner).map_err(|error| MountError::Fuse { path: mounts_root(), error })?;
    let mut config = Config::default();
    // Several threads, so one slow answer does not stall every other file.
    config.n_threads = Some(4);
    // The kernel's INIT is waiting already: the mount came first.
    let session = match fuser::Session::from_fd(fs, device, SessionACL::All, config).and_then(fuser::Session::spawn) {
        Ok(session) => session,
        Err(error) => {
            let _ = mounter.unmount(&target);
            return Err(MountError::Fuse { path: target, error });
        }
    };
    // From here on, dropping `mounted` undoes everything.
    let mut mounted = Mounted { session: Some(session), target, link: PathBuf::new(), mounter };
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
        match self.mounter.unmount(&self.target) {
            // The kernel let the connection go: the threads end now.
            Ok(Unmounted::Clean) => {
                if let Some(session) = self.session.take() {
                    let _ = session.join();
                }
            }
            // A detached mount's threads end when its last file closes;
            // they are not waited for.
            Ok(Unmounted::Detached) => drop(self.session.take()),
            Err(error) => {
                tracing::warn!(path = %self.target.display(), %error, "cannot unmount the shared directory")
            }
        }
        // Only the link this made: the user may have replaced it meanwhile.
        if !self.link.as_os_str().is_empty() && std::fs::read_link(&self.link).is_ok_and(|to| to == self.target) {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

/// Unmounts `path`: plainly, else lazily (something still has a file open
/// in it), else through `fusermount3 -u -z` (when not root).
pub fn unmount(path: &Path) -> Unmounted {
    use rustix::mount::{UnmountFlags, unmount as umount2};
    match umount2(path, UnmountFlags::empty()) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "shared directory unmounted");
            return Unmounted::Clean;
        }
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "plain unmount failed, detaching")
        }
    }
    if umount2(path, UnmountFlags::DETACH).is_ok() {
        tracing::info!(path = %path.display(), "shared directory detached (still in use)");
        return Unmounted::Detached;
    }
    match std::process::Command::new("fusermount3").arg("-u").arg("-z").arg(path).status() {
        Ok(status) if status.success() => {
            tracing::info!(path = %path.display(), "shared directory unmounted with fusermount3")
        }
        Ok(status) => {
            tracing::warn!(path = %path.display(), %status, "cannot unmount the shared directory")
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot unmount the shared directory")
        }
    }
    Unmounted::Detached
}
