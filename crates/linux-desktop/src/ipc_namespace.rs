//! A session's own System V IPC namespace.
//!
//! Xvfb's `-shmem` puts the framebuffer in a System V shared-memory segment
//! created with mode 0777: on the host's namespace any local account could
//! attach it and watch the screen. In a namespace of the session's own, only
//! the session's processes see its segments, and they all go when the
//! session's last process does (a segment its clients leaked included).

use std::io;

/// Proof that this thread, and whatever it starts from now on, is in a
/// System V IPC namespace no other session or account shares. Only
/// [`PrivateIpc::enter`] makes one.
#[derive(Debug)]
pub struct PrivateIpc {
    /// The namespace's inode, as `/proc/self/ns/ipc` gives it.
    inode: u64,
}

impl PrivateIpc {
    /// Moves the calling thread into a new IPC namespace. Needs root
    /// (`CAP_SYS_ADMIN`), so it is called before privileges are dropped,
    /// and before any other thread starts: threads started earlier stay in
    /// the old namespace.
    pub fn enter() -> io::Result<Self> {
        // SAFETY: only the IPC namespace is unshared, not the file
        // descriptor table, so no thread loses sight of a descriptor.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWIPC) }?;
        Ok(Self { inode: current_inode().map_err(io::Error::from_raw_os_error)? })
    }

    /// The namespace's identity, to check a child against after fork.
    pub fn id(&self) -> IpcNamespaceId {
        IpcNamespaceId(self.inode)
    }
}

/// Which IPC namespace a [`PrivateIpc`] is (its inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpcNamespaceId(u64);

impl IpcNamespaceId {
    /// Whether the calling thread is in this namespace. Async-signal-safe,
    /// for a child between fork and exec: one forked from a thread that
    /// predates the namespace is not in it.
    pub fn is_current(self) -> bool {
        current_inode() == Ok(self.0)
    }
}

/// The calling thread's IPC namespace's inode, or the errno. No allocation.
fn current_inode() -> Result<u64, i32> {
    // SAFETY: stat fills in a struct owned here from a constant path.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the path is a valid C string.
    if unsafe { libc::stat(c"/proc/thread-self/ns/ipc".as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO));
    }
    Ok(stat.st_ino)
}

#[cfg(test)]
mod tests {
    use super::PrivateIpc;

    #[test]
    fn a_thread_that_predates_the_namespace_is_not_in_it() {
        let outside = std::thread::current().id();
        let (namespace, inside_sees_it) = std::thread::spawn(move || {
            let ipc = PrivateIpc::enter().expect("root may make an IPC namespace");
            assert_ne!(std::thread::current().id(), outside);
            (ipc.id(), ipc.id().is_current())
        })
        .join()
        .unwrap();
        assert!(inside_sees_it, "the thread that entered it is in it");
        assert!(!namespace.is_current(), "the test's own thread is not");
    }
}
