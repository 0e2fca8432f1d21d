//! What is stored under a key.

use std::fmt;
use std::time::SystemTime;

use crate::Key;

/// The largest value, in bytes.
pub const MAX_VALUE_LEN: usize = 4 * 1024 * 1024;

/// A point in a backend's history. Every write gets a revision greater than
/// every earlier write of the same backend, across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(u64);

impl Revision {
    /// Before every write: no write has it, every write's is greater. What
    /// [`Backend::put_many`](crate::Backend::put_many) returns for an empty batch.
    pub const ZERO: Revision = Revision(0);

    /// A revision from its number, as a driver or a test makes it.
    pub const fn new(revision: u64) -> Self {
        Self(revision)
    }

    /// The revision's number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored item, as reads and watchers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Where it is stored.
    pub key: Key,
    /// Its bytes.
    pub value: Vec<u8>,
    /// The revision of the write that last changed this item.
    pub revision: Revision,
    /// When the item stops being visible; `None` keeps it until it is deleted.
    pub expires: Option<SystemTime>,
}

/// An item to write; the backend gives it its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// Where to store it.
    pub key: Key,
    /// Its bytes.
    pub value: Vec<u8>,
    /// When it stops being visible; `None` keeps it until it is deleted.
    pub expires: Option<SystemTime>,
}

impl NewItem {
    /// An item that does not expire.
    pub fn new(key: Key, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key,
            value: value.into(),
            expires: None,
        }
    }

    /// The same item, expiring at `at`.
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }
}
