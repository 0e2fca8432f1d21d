//! Finding every process a session started, however it left the session's
//! process group (setsid, double fork, D-Bus activation): each carries the
//! session's mark in its environment, which children inherit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustix::process::{Pid, Signal};

/// The environment variable that marks a session's processes.
pub const MARK_VARIABLE: &str = "ORIEL_SESSION";

/// How long a session's leftovers get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// One session's mark: the service process (pid and start time, so a reused
/// pid is not mistaken for it) and a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionMark {
    value: String,
    /// The session's login: only its processes are looked at.
    uid: u32,
}

impl SessionMark {
    /// A mark no other session of any service on this host has, for a
    /// session running as `uid`.
    pub fn new(uid: u32) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let me = std::process::id();
        let started = start_ticks(me).unwrap_or(0);
        Self { value: format!("{me}.{started}.{}", NEXT.fetch_add(1, Ordering::Relaxed)), uid }
    }

    /// The mark the daemon made, as the session process receives it.
    pub fn from_value(value: String, uid: u32) -> Self {
        Self { value, uid }
    }

    /// The mark's value, for the session's environment.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Ends every process still carrying this mark: SIGTERM now, SIGKILL
    /// for those left after a grace period. On a thread of its own: reading
    /// a process's environment can wait (see [`marked_processes`]), and this
    /// runs when a session is dropped on the async runtime.
    pub fn end_processes(&self) -> std::thread::JoinHandle<()> {
        let (mark, uid) = (self.value.clone(), self.uid);
        std::thread::spawn(move || {
            let pids = marked_processes(|owner| owner == uid, |value| value == mark);
            if pids.is_empty() {
                return;
            }
            tracing::debug!(count = pids.len(), "ending the session's remaining processes");
            signal_all(&pids, Signal::TERM);
            std::thread::sleep(GRACE);
            signal_all(&marked_processes(|owner| owner == uid, |value| value == mark), Signal::KILL);
        })
    }
}

/// Kills what sessions of services that are gone (crashed, killed) left
/// running. A service calls it when it starts. Returns how many it found.
pub fn sweep_orphans() -> usize {
    let orphaned = |value: &str| {
        let mut parts = value.split('.');
        let (Some(pid), Some(ticks)) = (parts.next().and_then(|p| p.parse().ok()), parts.next().and_then(|t| t.parse::<u64>().ok())) else {
            return false;
        };
        start_ticks(pid) != Some(ticks)
    };
    // Sessions never run as root: root's processes are not read at all.
    let pids = marked_processes(|owner| owner != 0, orphaned);
    if !pids.is_empty() {
        tracing::warn!(count = pids.len(), "ending processes that desktop sessions of a stopped service left running");
        signal_all(&pids, Signal::KILL);
    }
    pids.len()
}

fn signal_all(pids: &[Pid], signal: Signal) {
    for pid in pids {
        let _ = rustix::process::kill_process(*pid, signal);
    }
}

/// Processes of an `owner` whose mark `matches`; processes that cannot be
/// read (gone, or another user's when not root) are skipped. The owner is
/// checked first because reading a process's environment waits for its
/// memory map, which a process stuck in a FUSE request can hold for long.
fn marked_processes(owner: impl Fn(u32) -> bool, matches: impl Fn(&str) -> bool) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let prefix = format!("{MARK_VARIABLE}=");
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != std::process::id() as i32)
        .filter(|pid| std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| owner(std::os::unix::fs::MetadataExt::uid(&m))))
        .filter(|pid| {
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else { return false };
            environ.split(|&b| b == 0).filter_map(|entry| std::str::from_utf8(entry).ok()?.strip_prefix(&prefix)).any(&matches)
        })
        .filter_map(Pid::from_raw)
        .collect()
}

/// When process `pid` started, in clock ticks since boot (stat field 22).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::os::unix::process::CommandExt as _;

    #[test]
    fn a_marked_process_that_left_its_group_is_found_and_ended() {
        let mark = SessionMark::new(rustix::process::geteuid().as_raw());
        let mut child = std::process::Command::new("setsid").args(["sleep", "60"]).env(MARK_VARIABLE, mark.value()).spawn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let any = |_| true;
        while marked_processes(any, |v| v == mark.value()).is_empty() {
            assert!(std::time::Instant::now() < deadline, "the marked process never showed");
            std::thread::sleep(Duration::from_millis(20));
        }
        mark.end_processes();
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(15), "ended by SIGTERM");
        assert!(marked_processes(any, |v| v == mark.value()).is_empty());
    }

    #[test]
    fn marks_of_a_living_service_are_not_orphans() {
        // As a login other than root, as sessions run.
        let nobody = uzers::get_user_by_name("nobody").expect("nobody exists");
        let as_nobody = |command: &mut std::process::Command| command.uid(nobody.uid()).gid(nobody.primary_group_id()).spawn().unwrap();
        let mark = SessionMark::new(nobody.uid());
        let mut child = as_nobody(std::process::Command::new("sleep").arg("60").env(MARK_VARIABLE, mark.value()));
        let mut orphan = as_nobody(std::process::Command::new("sleep").arg("60").env(MARK_VARIABLE, "999999999.1.1"));
        // spawn returns after exec, so both environments are readable now.
        assert!(sweep_orphans() >= 1);
        assert!(orphan.wait().is_ok());
        assert_eq!(child.try_wait().unwrap(), None, "this process's session goes on");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
