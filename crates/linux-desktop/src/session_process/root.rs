//! The root part of a session process: the few things a session needs root
//! for, and nothing of the session itself. It reads the `Launch`, makes the
//! session's directory, opens the PAM session (so pam_limits, pam_umask and
//! pam_systemd act on this session alone, never on the daemon), sets the
//! audit login uid, records the login in utmp, forks the unprivileged part,
//! and then only answers mount requests until the unprivileged part ends.
//! Then it cleans up what is left: mounts, marked processes, the session's
//! directory, the utmp record and the PAM session, in that order.
//!
//! It must run single-threaded until the fork: `main` calls it before any
//! runtime or thread exists.

use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use super::root_channel::RootChannel;
use super::{CONTROL_FD, DATA_FD, pb, privileges, wire};
use crate::login::{Account, SessionMark, pam::PamSession, utmp};
use crate::shared_dir::{self, Owner};

/// How long the unprivileged part gets to end by itself once the daemon is
/// gone, before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The open-file soft limit a session starts with, as after a console login.
const DEFAULT_NOFILE: u64 = 1024;

/// Exit codes the daemon reads (see `spawn.rs`).
pub mod exit {
    /// The session ended and said why on the control stream.
    pub const ENDED: u8 = 0;
    /// It could not start; it said why on the control stream.
    pub const FAILED: u8 = 2;
    /// Its own stdio or arguments were wrong: nothing could be said.
    pub const UNUSABLE: u8 = 3;
}

/// The session process's entry point (`oriel session`): never returns.
pub fn main() -> ! {
    // SAFETY: the daemon placed the two sockets at these numbers before exec.
    let (data, control) = unsafe { (OwnedFd::from_raw_fd(DATA_FD), OwnedFd::from_raw_fd(CONTROL_FD)) };
    for fd in [&data, &control] {
        if rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC).is_err() {
            eprintln!("oriel session: started without its sockets; only the desktop service starts this");
            std::process::exit(exit::UNUSABLE.into());
        }
    }
    let mut control = UnixStream::from(control);
    let launch = match wire::read_blocking::<pb::Launch>(&mut control) {
        Ok(Some(launch)) => launch,
        Ok(None) => std::process::exit(exit::UNUSABLE.into()),
        Err(error) => fail(&mut control, &format!("the desktop service sent a bad launch message: {error}")),
    };
    let account = match launch.account.as_ref().map(Account::try_from) {
        Some(Ok(account)) => account,
        Some(Err(error)) => fail(&mut control, &error),
        None => fail(&mut control, "the launch message names no account"),
    };
    let as_root = rustix::process::geteuid().is_root();
    if as_root && account.uid == 0 {
        fail(&mut control, "desktop sessions never run as root: pick another login");
    }
    let session_dir = match make_session_dir(Path::new(&launch.runtime_dir), as_root.then_some((account.uid, account.gid))) {
        Ok(dir) => dir,
        Err(error) => fail(&mut control, &format!("cannot prepare the session's directory: {error}")),
    };
    // The daemon raised its open-file limit for its many connections; a
    // session starts from the usual soft limit (pam_limits may set its own).
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let soft = nofile.maximum.map_or(DEFAULT_NOFILE, |hard| hard.min(DEFAULT_NOFILE));
    let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, rustix::process::Rlimit { current: Some(soft), maximum: nofile.maximum });
    let pam = if as_root {
        match PamSession::open(&account.name, &launch.display) {
            Ok(pam) => Some(pam),
            Err(error) => {
                remove_session_dir(&session_dir);
                fail(&mut control, &error.to_string())
            }
        }
    } else {
        None
    };
    let pam_env = pam.as_ref().map(PamSession::environment).unwrap_or_default();
    if as_root {
        privileges::set_login_uid(account.uid);
    }
    // Whatever of the session outlives its parent (Xvfb, a setsid'd daemon)
    // becomes this process's child, so the cleanup below finds all of it.
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    let (root_end, user_end) = match RootChannel::pair() {
        Ok(pair) => pair,
        Err(error) => fail(&mut control, &format!("cannot make the session's root channel: {error}")),
    };
    // Recorded before the fork, so that the xsession already finds its
    // login in utmp (`who`); the pid is this root part's, which lasts as
    // long as the session.
    let record = as_root.then(|| utmp::Record::login(&account.name, &launch.display, std::process::id()));
    let _ = std::io::stderr().flush();
    // SAFETY: this process is single-threaded here (nothing has started a
    // thread: no runtime, no logger thread), so the child may run Rust.
    let child = unsafe { libc::fork() };
    if child < 0 {
        fail(&mut control, &format!("cannot start the session process: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        drop(root_end);
        drop(pam);
        // The logout is the root part's to write.
        std::mem::forget(record);
        let code = super::unprivileged::run(super::unprivileged::Parts { data, control, root: user_end, launch, session_dir, pam_env });
        std::process::exit(code.into());
    }
    drop(user_end);
    // Only the unprivileged part speaks on the control stream from now on.
    drop(control);
    let pid = child as u32;
    let owner = Owner { uid: account.uid, gid: account.gid };
    let mut mounts = Vec::new();
    let status = serve(&root_end, &data, pid, owner, &mut mounts);
    for target in mounts {
        shared_dir::unmount(&target);
        let _ = std::fs::remove_dir(&target);
    }
    // What is left of the session: orphans came to this process; what left
    // the session's process group carries the mark.
    end_children();
    let _ = SessionMark::from_value(launch.mark.clone(), account.uid).end_processes().join();
    end_children();
    remove_stale_display(&launch.display);
    remove_session_dir(&session_dir);
    drop(record);
    drop(pam);
    drop(data);
    std::process::exit(status)
}

/// Tells the daemon why the session cannot start, and exits.
fn fail(control: &mut UnixStream, message: &str) -> ! {
    let ended = pb::Ended { reason: pb::ended::Reason::DesktopError.into(), message: message.to_owned(), alerted: false };
    let _ = wire::write_blocking(control, &pb::Event { event: Some(pb::event::Event::Ended(ended)) });
    std::process::exit(exit::FAILED.into())
}

/// Answers the unprivileged part's requests until it ends; kills it if the
/// daemon goes away and it does not end by itself. Returns the exit code
/// to pass on: the unprivileged part's, or 128 + the signal that killed it.
fn serve(channel: &RootChannel, data: &OwnedFd, pid: u32, owner: Owner, mounts: &mut Vec<PathBuf>) -> i32 {
    let mut channel_open = true;
    let mut daemon_gone_at: Option<Instant> = None;
    let mut status = None;
    loop {
        reap(pid, &mut status);
        if let Some(status) = status {
            return status;
        }
        if let Some(at) = daemon_gone_at
            && at.elapsed() > EXIT_GRACE
        {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        // The daemon's end, until it hangs up (it then stays hung up: not
        // watched again, or poll would return at once forever).
        let watch_daemon = daemon_gone_at.is_none();
        let mut fds = Vec::with_capacity(2);
        if watch_daemon {
            fds.push(PollFd::new(data, PollFlags::RDHUP));
        }
        if channel_open {
            fds.push(PollFd::new(channel, PollFlags::IN));
        }
        let timeout = rustix::event::Timespec { tv_sec: 0, tv_nsec: 200_000_000 };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => {
                tracing::warn!(%error, "the session's root part cannot wait");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let daemon_gone = watch_daemon && fds[0].revents().intersects(PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR);
        let request_ready = channel_open && !fds[usize::from(watch_daemon)].revents().is_empty();
        if daemon_gone && daemon_gone_at.is_none() {
            daemon_gone_at = Some(Instant::now());
        }
        if request_ready {
            match channel.receive::<pb::RootRequest>() {
                Ok(Some((request, _))) => answer(channel, request, owner, mounts),
                Ok(None) => channel_open = false,
                Err(error) => {
                    tracing::warn!(%error, "bad request from the session's unprivileged part");
                    channel_open = false;
                }
            }
        }
        if !channel_open && daemon_gone_at.is_none() {
            // The unprivileged part closed its end: it is exiting.
            while status.is_none() {
                reap(pid, &mut status);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn answer(channel: &RootChannel, request: pb::RootRequest, owner: Owner, mounts: &mut Vec<PathBuf>) {
    use pb::root_request::Request;
    match request.request {
        Some(Request::Mount(mount)) => match shared_dir::mount::mount_device(&mount.name, owner) {
            Ok((target, device)) => {
                let reply = pb::RootReply { target: target.to_string_lossy().into_owned(), ..Default::default() };
                mounts.push(target);
                let _ = channel.send(&reply, Some(device.as_fd()));
            }
            Err(error) => {
                let _ = channel.send(&pb::RootReply { error: error.to_string(), ..Default::default() }, None);
            }
        },
        Some(Request::Unmount(unmount)) => {
            // Only what this session mounted: the request names a path, and
            // a compromised unprivileged part must not unmount anything else.
            let target = PathBuf::from(unmount.target);
            let reply = match mounts.iter().position(|m| *m == target) {
                Some(index) => {
                    let target = mounts.swap_remove(index);
                    let how = shared_dir::unmount(&target);
                    let _ = std::fs::remove_dir(&target);
                    pb::RootReply { detached: how == shared_dir::Unmounted::Detached, ..Default::default() }
                }
                None => pb::RootReply { error: "not a mount of this session".into(), ..Default::default() },
            };
            let _ = channel.send(&reply, None);
        }
        None => {
            let _ = channel.send(&pb::RootReply { error: "unknown request".into(), ..Default::default() }, None);
        }
    }
}

/// Reaps every child that has exited (orphans of the session come here
/// too); notes the unprivileged part's exit code when it is among them.
fn reap(main: u32, main_status: &mut Option<i32>) {
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own children.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
        if pid as u32 == main {
            *main_status = Some(exit_code(status));
        }
    }
}

/// Ends this process's children (what is left of the session once the
/// unprivileged part is gone): SIGTERM, then SIGKILL after a grace period.
fn end_children() {
    let me = std::process::id();
    let children = || -> Vec<i32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok()))
                    == Some(me)
            })
            .collect()
    };
    let mut ignored = None;
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let pids = children();
        if pids.is_empty() {
            return;
        }
        for pid in &pids {
            // SAFETY: signalling our own children.
            unsafe { libc::kill(*pid, signal) };
        }
        let deadline = Instant::now() + EXIT_GRACE / 2;
        while Instant::now() < deadline {
            reap(0, &mut ignored);
            if children().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Xvfb killed with the session cannot remove its lock file and socket:
/// remove them once nothing serves them, so the number is free again. The
/// daemon keeps the number reserved until this process has exited, so no
/// new session's files can be here yet; the checks are for anything else.
fn remove_stale_display(display: &str) {
    let number = display.trim_start_matches(':');
    let lock = format!("/tmp/.X{number}-lock");
    if let Ok(text) = std::fs::read_to_string(&lock) {
        let Ok(pid) = text.trim().parse::<i32>() else { return };
        // SAFETY: signal 0 only asks whether the process exists.
        if pid > 0 && unsafe { libc::kill(pid, 0) } == 0 {
            return;
        }
        let _ = std::fs::remove_file(&lock);
    }
    let socket = format!("/tmp/.X11-unix/X{number}");
    if let Err(error) = std::os::unix::net::UnixStream::connect(&socket)
        && error.kind() == std::io::ErrorKind::ConnectionRefused
    {
        let _ = std::fs::remove_file(&socket);
    }
}

fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) }
}

/// A fresh directory for the session under `runtime_dir`: 0700 and the
/// login's (`owner`), inside a runtime dir others may traverse but not list.
fn make_session_dir(runtime_dir: &Path, owner: Option<(u32, u32)>) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o711).create(runtime_dir)?;
    if owner.is_some() {
        std::fs::set_permissions(runtime_dir, std::fs::Permissions::from_mode(0o711))?;
    }
    let dir = tempfile::Builder::new().prefix("xsession-").tempdir_in(runtime_dir)?.keep();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
    }
    Ok(dir)
}

fn remove_session_dir(dir: &Path) {
    // remove_dir_all does not follow symbolic links the login planted.
    if let Err(error) = std::fs::remove_dir_all(dir) {
        tracing::debug!(path = %dir.display(), %error, "the session's directory was not removed");
    }
}
