//! The storage interface every driver implements.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{Clock, Item, Key, NewItem, Prefix, Result, Revision, SystemClock, Watcher};

/// The most items one [`Backend::put_many`] writes. It is the default
/// [`Options::watch_buffer`]: the feed hands a batch's events to watchers in
/// one burst, and a watcher that had caught up has room for all of them
/// rather than falling behind (which would cost it a `Reset`). It also
/// bounds how long one batch holds the store's write lock.
pub const MAX_BATCH_LEN: usize = 1024;

/// Which way [`Backend::list_range`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest key first, as [`Backend::list`] reads.
    Ascending,
    /// Largest key first: the newest of keys that sort by time.
    Descending,
}

/// A key-value store with revisions, compare-and-swap, expiry and watch.
///
/// Expired items are invisible to every read and write at once, judged by the
/// backend's [`Clock`]; a background sweep then removes them and tells watchers
/// with [`Event::Delete`](crate::Event::Delete).
///
/// The trait uses `async_trait` (boxed futures) so the control plane can hold an
/// `Arc<dyn Backend>`: native `async fn` in traits is not dyn-compatible, and one
/// allocation per call is nothing next to a database round trip.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The live item under `key`, or [`NotFound`](crate::BackendError::NotFound).
    async fn get(&self, key: &Key) -> Result<Item>;

    /// Writes an item that must not exist yet, or fails with
    /// [`AlreadyExists`](crate::BackendError::AlreadyExists).
    async fn create(&self, item: NewItem) -> Result<Revision>;

    /// Writes an item, whether or not it exists.
    async fn put(&self, item: NewItem) -> Result<Revision>;

    /// Writes every item as [`put`](Self::put) does (created or replaced), in
    /// one transaction: all of them or none. Each gets its own revision, in
    /// the vector's order, and watchers see each as a put; a key given twice
    /// ends with the later item. Returns the revision of the last item.
    ///
    /// Every item is checked before anything is written, as `put` checks it;
    /// one bad item fails the whole batch. More than [`MAX_BATCH_LEN`] items
    /// fail with [`BatchTooLarge`](crate::BackendError::BatchTooLarge). An
    /// empty batch writes nothing, touches no storage and returns
    /// [`Revision::ZERO`].
    async fn put_many(&self, items: Vec<NewItem>) -> Result<Revision>;

    /// Replaces an item that must exist, or fails with
    /// [`NotFound`](crate::BackendError::NotFound).
    async fn update(&self, item: NewItem) -> Result<Revision>;

    /// Replaces an item only if it is still at `expected`, or fails with
    /// [`CompareFailed`](crate::BackendError::CompareFailed) (also when it is gone).
    async fn compare_and_swap(&self, expected: Revision, item: NewItem) -> Result<Revision>;

    /// Deletes an item that must exist, or fails with
    /// [`NotFound`](crate::BackendError::NotFound).
    async fn delete(&self, key: &Key) -> Result<()>;

    /// Deletes every item below `prefix`.
    async fn delete_range(&self, prefix: &Prefix) -> Result<()>;

    /// At most `limit` live items below `prefix`, in key order.
    async fn list(&self, prefix: &Prefix, limit: usize) -> Result<Vec<Item>>;

    /// At most `limit` live items below `prefix` whose keys are `>= from`
    /// (when given) and `< to` (when given), in key order or reversed.
    ///
    /// `from` and `to` are whole keys, compared byte-wise like every key; a
    /// bound outside `prefix` is clipped by it, so nothing outside `prefix`
    /// is ever returned. An empty range (`from` at or after `to`) is an empty
    /// list, not an error. Either order is one range scan of the key index,
    /// starting at the bound it reads from: the newest page of a large
    /// prefix costs what its oldest does. To page on descending, pass the
    /// last key read as the next `to` (exclusive); ascending, pass it as the
    /// next `from` (inclusive: it comes back first, skip it).
    async fn list_range(
        &self,
        prefix: &Prefix,
        from: Option<&Key>,
        to: Option<&Key>,
        limit: usize,
        order: Order,
    ) -> Result<Vec<Item>>;

    /// Moves the expiry of the item under `key`, if it is still at `revision`.
    /// This is a write: the item gets a new revision (returned) and watchers
    /// see it put again. Fails with `NotFound` or `CompareFailed`.
    async fn keep_alive(
        &self,
        key: &Key,
        revision: Revision,
        expires: SystemTime,
    ) -> Result<Revision>;

    /// Watches the keys below any of `prefixes` (at least one; [`Prefix::ROOT`]
    /// for all). The watcher starts with [`Event::Init`](crate::Event::Init).
    async fn watch(&self, prefixes: &[Prefix]) -> Result<Watcher>;

    /// Stops the background work, ends every watcher and closes the store.
    /// Later calls fail with [`Closed`](crate::BackendError::Closed).
    async fn close(&self) -> Result<()>;
}

/// Settings every driver shares.
#[derive(Debug, Clone)]
pub struct Options {
    /// What decides expiry.
    pub clock: Arc<dyn Clock>,
    /// How often expired items are removed, and old events pruned.
    pub sweep_interval: Duration,
    /// How often the event log is read without being woken: what bounds how
    /// late a SQLite backend sees another process's writes, and a safety net
    /// for PostgreSQL notifications.
    pub poll_interval: Duration,
    /// How long events stay in the log for watchers in other processes, or
    /// reconnecting, to catch up. A watcher further behind gets `Reset`.
    pub event_retention: Duration,
    /// How many events a watcher may fall behind before it gets `Reset`.
    pub watch_buffer: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            sweep_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(500),
            event_retention: Duration::from_secs(3600),
            watch_buffer: 1024,
        }
    }
}
