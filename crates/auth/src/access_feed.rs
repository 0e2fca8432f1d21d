//! What wakes running sessions to be re-authorized: a watch on the records
//! a session decision reads (users, roles, locks, web session ids, cluster
//! settings). Each change bumps a counter that every running session in
//! this process (and, through the cluster API, on other hosts) waits on, so
//! a removal, a role edit, a lock, a reset or a logout reaches them at once
//! instead of at their next poll.

use std::time::Duration;

use oriel_backend::{Event, Prefix};
use tokio::sync::watch;

use crate::control_plane::ControlPlane;
use crate::store::Store;

/// The folders whose changes can end a running session. Desktops are left
/// out: every heartbeat rewrites them, and a label change is caught by the
/// sessions' slower safety poll.
/// Revocations are watched too: they close the connections of the hosts
/// they match (`oriel_cluster::accept`).
const WATCHED: [&str; 6] = ["/users/", "/roles/", "/locks/", "/web_session_ids/", "/cluster_configuration/", "/revocations/"];

/// How long the feed waits before watching again after the store failed.
const RETRY: Duration = Duration::from_secs(1);

/// The state of the feed, as sessions see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessChanges {
    /// Bumped at every change that may end a session (and whenever changes
    /// may have been missed): re-authorize when it moves.
    pub generation: u64,
    /// The watch is up, so a change bumps `generation` at once. While it is
    /// not, sessions must poll.
    pub live: bool,
}

impl ControlPlane {
    /// The feed of changes that may end running sessions; see the module
    /// documentation. The first call starts watching (on this runtime).
    pub fn access_changes(&self) -> watch::Receiver<AccessChanges> {
        self.access_feed
            .get_or_init(|| {
                let (sender, receiver) = watch::channel(AccessChanges::default());
                tokio::spawn(feed(self.store.clone(), sender));
                receiver
            })
            .clone()
    }
}

/// Watches until the store closes or nobody listens any more.
async fn feed(store: Store, sender: watch::Sender<AccessChanges>) {
    let prefixes: Vec<Prefix> = WATCHED.iter().map(|p| Prefix::new(p.to_string()).expect("static prefix")).collect();
    loop {
        let mut watcher = match store.backend().watch(&prefixes).await {
            Ok(watcher) => watcher,
            Err(oriel_backend::BackendError::Closed) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot watch for access changes; sessions poll meanwhile");
                sender.send_modify(|state| state.live = false);
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        while let Some(event) = watcher.next().await {
            if sender.is_closed() {
                return;
            }
            match event {
                // From here on nothing is missed; what changed before is
                // seen by a re-authorization now.
                Event::Init => sender.send_modify(|state| {
                    state.live = true;
                    state.generation += 1;
                }),
                Event::Put(item) if item.key.as_str().starts_with("/web_session_ids/") => {
                    // A new login ends nothing.
                }
                Event::Put(_) | Event::Delete(_) => sender.send_modify(|state| state.generation += 1),
                Event::Reset => {}
            }
        }
        // Reset (events were lost) or the store closed: watch again, and
        // meanwhile sessions poll.
        sender.send_modify(|state| {
            state.live = false;
            state.generation += 1;
        });
        tokio::time::sleep(RETRY / 10).await;
    }
}
