//! The event log every driver keeps next to its items, and what reads it.
//!
//! Each write appends an event whose id is the write's revision. A feed in
//! each process reads the log in id order and hands events to the [`Hub`]; so
//! the writes of other processes (SQLite) or other nodes (PostgreSQL) reach
//! watchers the same way as local ones. The log is pruned by age; the highest
//! pruned id is kept, so a feed that was further behind knows it lost events.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::watch::Hub;
use crate::{
    BackendError, Event, Item, Key, MAX_BATCH_LEN, MAX_VALUE_LEN, NewItem, Result, Revision,
};

/// The four ways to write an item.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write {
    Create,
    Put,
    Update,
    Swap(Revision),
}

/// How many events one read of the log takes at most.
pub(crate) const BATCH: usize = 256;

pub(crate) const KIND_PUT: i16 = 1;
pub(crate) const KIND_DELETE: i16 = 2;

/// One read of the log, from a single snapshot.
pub(crate) struct Batch {
    /// Events with ids up to this one were pruned.
    pub(crate) pruned_through: u64,
    /// The highest id the log has handed out.
    pub(crate) head: u64,
    /// Events after the cursor, in id order, at most [`BATCH`].
    pub(crate) events: Vec<(u64, Event)>,
}

/// Where a process is in the log.
pub(crate) struct Feed {
    cursor: u64,
}

impl Feed {
    pub(crate) fn starting_at(head: u64) -> Self {
        Self { cursor: head }
    }

    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Publishes a batch; returns whether there may be more to read.
    pub(crate) fn apply(&mut self, batch: Batch, hub: &Hub) -> bool {
        if batch.pruned_through > self.cursor {
            tracing::warn!(
                cursor = self.cursor,
                pruned_through = batch.pruned_through,
                "the event log was pruned past this process; resetting watchers"
            );
            hub.publish(Event::Reset);
            self.cursor = batch.head.max(batch.pruned_through);
            return false;
        }
        let more = batch.events.len() >= BATCH;
        for (id, event) in batch.events {
            self.cursor = id;
            hub.publish(event);
        }
        more
    }
}

/// Turns a log row into an event.
pub(crate) fn event(
    id: i64,
    kind: i16,
    key: String,
    value: Option<Vec<u8>>,
    expires: Option<i64>,
) -> Result<(u64, Event)> {
    let key = Key::new(key)
        .map_err(|e| BackendError::internal(format!("the event log holds a bad key: {e}")))?;
    let event = match (kind, value) {
        (KIND_PUT, Some(value)) => Event::Put(Item {
            key,
            value,
            revision: revision(id),
            expires: expires.map(time),
        }),
        (KIND_DELETE, _) => Event::Delete(key),
        _ => {
            return Err(BackendError::internal(format!(
                "the event log holds an event of unknown kind {kind}"
            )));
        }
    };
    Ok((id as u64, event))
}

/// A revision as stored (a positive 64-bit integer).
pub(crate) fn revision(stored: i64) -> Revision {
    Revision::new(stored as u64)
}

/// A revision to compare with a stored one; one too large for storage cannot
/// match anything.
pub(crate) fn stored_revision(revision: Revision) -> i64 {
    i64::try_from(revision.get()).unwrap_or(-1)
}

/// A time as stored: nanoseconds since the Unix epoch.
pub(crate) fn nanos(time: SystemTime) -> Result<i64> {
    time.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_nanos()).ok())
        .ok_or(BackendError::Invalid(
            "time is out of range (before 1970 or after 2262)",
        ))
}

/// Like [`nanos`], clamping instead of failing: for "now" and cut-offs.
pub(crate) fn nanos_clamped(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

pub(crate) fn time(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64)
}

/// The cut-off below which events are pruned.
pub(crate) fn prune_before(now: SystemTime, retention: Duration) -> i64 {
    now.checked_sub(retention).map(nanos_clamped).unwrap_or(0)
}

/// Checks an item before any I/O; returns its expiry as stored.
pub(crate) fn check(item: &NewItem) -> Result<Option<i64>> {
    if item.value.len() > MAX_VALUE_LEN {
        return Err(BackendError::ValueTooLarge {
            len: item.value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    item.expires.map(nanos).transpose()
}

/// Checks a batch before any I/O, its size and then each item as [`check`]
/// does, so that a bad item fails the batch before its transaction begins;
/// returns each item's expiry as stored.
pub(crate) fn check_batch(items: &[NewItem]) -> Result<Vec<Option<i64>>> {
    if items.len() > MAX_BATCH_LEN {
        return Err(BackendError::BatchTooLarge {
            len: items.len(),
            max: MAX_BATCH_LEN,
        });
    }
    items.iter().map(check).collect()
}
