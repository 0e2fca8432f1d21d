//! The open-file limit. Every connection, session pipe and X socket is a
//! file descriptor, and the usual soft limit (1024) is far below what a
//! proxy holding thousands of connections needs; past it, accept fails with
//! EMFILE and the proxy stops answering anyone. The hard limit is what the
//! administrator allows, so `oriel start` raises the soft limit to it.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for everything but web connections: the store, the
/// listeners, tunnels, sessions (pipes, X sockets, the FUSE device), logs.
const RESERVE: u64 = 1024;

/// Raises the soft limit on open files to the hard limit, and returns the
/// soft limit in force afterwards (`None`: unlimited).
pub fn raise_limit() -> Option<u64> {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    if current == maximum || maximum.is_none() {
        return current;
    }
    match setrlimit(Resource::Nofile, Rlimit { current: maximum, maximum }) {
        Ok(()) => {
            tracing::info!(from = ?current, to = ?maximum, "raised the open-file limit to the hard limit");
            maximum
        }
        Err(error) => {
            tracing::warn!(%error, soft = ?current, hard = ?maximum, "cannot raise the open-file limit");
            current
        }
    }
}

/// Warns when `max_total` connections (the sum of the `max_total` of every
/// listener this process runs), plus what the rest of Oriel needs, would
/// not fit under `limit`: connections past it would not be refused by the
/// caps but left waiting in the kernel's queue.
pub fn check_room(limit: Option<u64>, max_total: usize) {
    let Some(limit) = limit else { return };
    let needed = max_total as u64 + RESERVE;
    if needed > limit {
        tracing::warn!(
            open_file_limit = limit,
            max_total,
            "the listeners' connection_limits.max_total together and {RESERVE} descriptors for the rest need more than the \
             open-file limit: lower max_total or raise the hard limit (LimitNOFILE= in a systemd unit)"
        );
    }
}
