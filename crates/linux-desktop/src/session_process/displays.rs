//! X display numbers for sessions. The daemon reserves one before the
//! session process starts, because the PAM session must be opened with the
//! display as its tty (pam_systemd, pam_lastlog) before Xvfb runs, and Xvfb
//! runs as the login under that PAM session's limits.
//!
//! A number is free when no Oriel service of the host holds its reservation
//! (an flock on a file in a directory only the service's user can write,
//! held for the session's life) and no X server holds its lock file or
//! socket. An X server of someone else's starting at the same instant can
//! still take it; Xvfb then refuses to start and the session fails with
//! that reason (no display is ever shared).

use std::collections::BTreeSet;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The first display number sessions use: lower ones are left to the
/// host's own X servers (a console's :0, a developer's Xvfb :1…).
const FIRST: u32 = 10;
/// The last one tried.
const LAST: u32 = 9_999;

/// This service's reserved display numbers.
#[derive(Debug, Clone, Default)]
pub struct Displays {
    reserved: Arc<Mutex<BTreeSet<u32>>>,
}

/// A reserved display number, released when dropped.
#[derive(Debug)]
pub struct Display {
    number: u32,
    reserved: Arc<Mutex<BTreeSet<u32>>>,
    // The flock that keeps other services of the host off this number.
    _lock: Option<std::os::fd::OwnedFd>,
}

impl Displays {
    /// Reserves the lowest free display number; `None` when all are taken
    /// (or the reservations directory cannot be made).
    pub fn reserve(&self) -> Option<Display> {
        let dir = reservations_dir();
        if let Err(error) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir) {
            tracing::warn!(path = %dir.display(), %error, "cannot make the display reservations directory");
            return None;
        }
        self.reserve_where(|n| !in_use_by_host(n), |n| lock_number(&dir, n))
    }

    fn reserve_where(&self, free_on_host: impl Fn(u32) -> bool, lock: impl Fn(u32) -> Option<Option<std::os::fd::OwnedFd>>) -> Option<Display> {
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        for number in FIRST..=LAST {
            if reserved.contains(&number) || !free_on_host(number) {
                continue;
            }
            let Some(held) = lock(number) else { continue };
            // Checked again under the lock: another service may have just
            // started an X server on it and let its reservation go.
            if !free_on_host(number) {
                continue;
            }
            reserved.insert(number);
            return Some(Display { number, reserved: self.reserved.clone(), _lock: held });
        }
        None
    }
}

impl Display {
    /// The number, as in `:N`.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The value for `DISPLAY`.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.reserved.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.number);
    }
}

/// Where reservations are: root's own directory for a root service, else
/// one of the service user's.
fn reservations_dir() -> std::path::PathBuf {
    if rustix::process::geteuid().is_root() {
        "/run/oriel/displays".into()
    } else {
        std::env::temp_dir().join(format!("oriel-displays-{}", rustix::process::geteuid().as_raw()))
    }
}

/// Takes the reservation of `number`: `None` when another service holds it.
fn lock_number(dir: &Path, number: u32) -> Option<Option<std::os::fd::OwnedFd>> {
    use rustix::fs::{FlockOperation, Mode, OFlags};
    let path = dir.join(format!("{number}.lock"));
    let file = rustix::fs::open(&path, OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::from_raw_mode(0o600)).ok()?;
    rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).ok()?;
    Some(Some(file))
}

fn in_use_by_host(number: u32) -> bool {
    Path::new(&format!("/tmp/.X{number}-lock")).exists() || Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_while_reserved_and_come_back_when_released() {
        let displays = Displays::default();
        let a = displays.reserve_where(|_| true, |_| Some(None)).unwrap();
        let b = displays.reserve_where(|_| true, |_| Some(None)).unwrap();
        assert_eq!((a.number(), b.number()), (FIRST, FIRST + 1));
        assert_eq!(a.name(), format!(":{FIRST}"));
        drop(a);
        assert_eq!(displays.reserve_where(|_| true, |_| Some(None)).unwrap().number(), FIRST);
    }

    #[test]
    fn numbers_the_host_uses_are_skipped() {
        let displays = Displays::default();
        let d = displays.reserve_where(|n| n > FIRST + 2, |_| Some(None)).unwrap();
        assert_eq!(d.number(), FIRST + 3);
        assert!(displays.reserve_where(|_| false, |_| Some(None)).is_none());
    }

    #[test]
    fn two_services_of_one_host_never_hold_the_same_number() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (Displays::default(), Displays::default());
        let a = first.reserve_where(|_| true, |n| lock_number(dir.path(), n)).unwrap();
        let b = second.reserve_where(|_| true, |n| lock_number(dir.path(), n)).unwrap();
        assert_ne!(a.number(), b.number());
        let number = a.number();
        drop(a);
        assert_eq!(second.reserve_where(|_| true, |n| lock_number(dir.path(), n)).unwrap().number(), number);
    }
}
