//! The sessions this service runs, by id: where a resume finds the one it
//! names, and what a user may resume.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::live::Attach;
use crate::thumbnail::Thumbnail;

/// A running session, as its owner sees it when choosing what to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningSession {
    /// The session's id.
    pub session_id: String,
    /// The xsession it runs (empty while it starts).
    pub xsession: String,
    /// When it started.
    pub started: SystemTime,
    /// Whether the owner's browser is attached now.
    pub attached: bool,
    /// The screen when its owner's browser last left, small.
    pub thumbnail: Option<Thumbnail>,
}

struct Entry {
    owner: String,
    /// The owner's roles when the session started: whose sessions a
    /// participant's `join_sessions` may join.
    owner_roles: Vec<String>,
    login: String,
    running: RunningSession,
    attach: mpsc::Sender<Attach>,
}

/// The table; cloning it shares it.
#[derive(Clone, Default)]
pub(super) struct LiveSessions {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl std::fmt::Debug for LiveSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSessions").field("len", &self.lock().len()).finish()
    }
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers session `sid` of `owner` as `login`.
    pub(super) fn insert(&self, sid: &str, owner: &str, owner_roles: &[String], login: &str, attach: mpsc::Sender<Attach>) {
        let running = RunningSession { session_id: sid.to_owned(), xsession: String::new(), started: SystemTime::now(), attached: true, thumbnail: None };
        self.lock().insert(sid.to_owned(), Entry { owner: owner.to_owned(), owner_roles: owner_roles.to_vec(), login: login.to_owned(), running, attach });
    }

    /// Forgets session `sid`: it ended.
    pub(super) fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }

    /// Notes what session `sid` runs and whether someone watches.
    pub(super) fn update(&self, sid: &str, xsession: Option<&str>, attached: bool) {
        if let Some(entry) = self.lock().get_mut(sid) {
            if let Some(xsession) = xsession {
                entry.running.xsession = xsession.to_owned();
            }
            entry.running.attached = attached;
        }
    }

    /// Where to attach to session `sid`, if it is `owner`'s as `login`.
    pub(super) fn find(&self, sid: &str, owner: &str, login: &str) -> Option<mpsc::Sender<Attach>> {
        self.lock().get(sid).filter(|e| e.owner == owner && e.login == login).map(|e| e.attach.clone())
    }

    /// The screen of session `sid` when its owner left.
    pub(super) fn thumbnail(&self, sid: &str, thumbnail: Thumbnail) {
        if let Some(entry) = self.lock().get_mut(sid) {
            entry.running.thumbnail = Some(thumbnail);
        }
    }

    /// The owner of session `sid` came back with these roles: a
    /// participant's `join_sessions` is decided against them from now on.
    pub(super) fn owner_roles(&self, sid: &str, roles: &[String]) {
        if let Some(entry) = self.lock().get_mut(sid) {
            entry.owner_roles = roles.to_vec();
        }
    }

    /// Session `sid`, whoever's: its owner, the owner's roles, and where to attach.
    pub(super) fn find_any(&self, sid: &str) -> Option<(String, Vec<String>, mpsc::Sender<Attach>)> {
        self.lock().get(sid).map(|e| (e.owner.clone(), e.owner_roles.clone(), e.attach.clone()))
    }

    /// `owner`'s sessions as `login`, oldest first.
    pub(super) fn of(&self, owner: &str, login: &str) -> Vec<RunningSession> {
        let mut list: Vec<RunningSession> = self.lock().values().filter(|e| e.owner == owner && e.login == login).map(|e| e.running.clone()).collect();
        list.sort_by_key(|s| s.started);
        list
    }
}
