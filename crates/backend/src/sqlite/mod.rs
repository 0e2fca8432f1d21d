//! The embedded driver: one SQLite file in the data dir.
//!
//! Every call runs on tokio's blocking pool against one connection; SQLite
//! serializes writers anyway. Watchers see this process's writes at once (a
//! write wakes the feed) and other processes' writes (the admin CLI opening the
//! data dir) within [`Options::poll_interval`], through the event log.

mod ops;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use crate::journal::{self, Feed, Write};
use crate::watch::Hub;
use crate::{
    Backend, BackendError, Item, Key, NewItem, Options, Order, Prefix, Result, Revision, Watcher,
};

/// A failure inside the driver, before it is classified.
enum Fail {
    Sql(rusqlite::Error),
    Backend(BackendError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<BackendError> for Fail {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

impl From<Fail> for BackendError {
    fn from(fail: Fail) -> Self {
        match fail {
            Fail::Backend(e) => e,
            Fail::Sql(e) => match e.sqlite_error_code() {
                // Another process holds the lock past the busy timeout, or
                // the disk is full: both may clear up.
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull) => {
                    BackendError::Unavailable(e.into())
                }
                _ => BackendError::Internal(e.into()),
            },
        }
    }
}

/// The one connection, `None` once closed.
#[derive(Debug)]
struct Db(Mutex<Option<Connection>>);

impl Db {
    /// Runs `f` on the blocking pool.
    async fn call<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> Result<R, Fail> + Send + 'static,
    ) -> Result<R> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.0.lock().unwrap_or_else(|e| e.into_inner());
            let conn = conn.as_mut().ok_or(BackendError::Closed)?;
            f(conn).map_err(BackendError::from)
        })
        .await
        .map_err(|e| BackendError::internal(format!("storage task failed: {e}")))?
    }
}

#[derive(Debug)]
struct Shared {
    db: Arc<Db>,
    hub: Hub,
    options: Options,
    /// Wakes the feed after a local write.
    written: Notify,
}

impl Shared {
    fn now(&self) -> i64 {
        journal::nanos_clamped(self.options.clock.now())
    }

    /// Publishes everything new in the event log.
    async fn pump(&self, feed: &mut Feed) -> Result<()> {
        loop {
            let cursor = feed.cursor();
            let batch = self
                .db
                .call(move |conn| ops::read_events(conn, cursor))
                .await?;
            if !feed.apply(batch, &self.hub) {
                return Ok(());
            }
        }
    }

    async fn sweep(&self) -> Result<()> {
        let now = self.options.clock.now();
        let swept = self.db.call({
            let now = journal::nanos_clamped(now);
            move |conn| ops::sweep(conn, now)
        });
        let swept = swept.await?;
        if swept > 0 {
            tracing::debug!(swept, "removed expired items");
        }
        let before = journal::prune_before(now, self.options.event_retention);
        self.db.call(move |conn| ops::prune(conn, before)).await
    }
}

/// A [`Backend`] on a SQLite file.
#[derive(Debug)]
pub struct SqliteBackend {
    shared: Arc<Shared>,
    path: PathBuf,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SqliteBackend {
    /// Opens the database at `path`, creating it (mode 0600) and bringing its
    /// schema up to date. Another process may have the same file open.
    pub async fn open(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let conn = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || schema::open(&path))
                .await
                .map_err(|e| BackendError::internal(format!("storage task failed: {e}")))?
                .map_err(BackendError::from)?
        };
        let db = Arc::new(Db(Mutex::new(Some(conn))));
        let head = db.call(|conn| ops::read_events(conn, u64::MAX)).await?.head;
        let shared = Arc::new(Shared {
            db,
            hub: Hub::new(options.watch_buffer),
            options,
            written: Notify::new(),
        });
        let (shutdown, stop) = watch::channel(false);
        let task = tokio::spawn(background(shared.clone(), Feed::starting_at(head), stop));
        Ok(Self {
            shared,
            path,
            shutdown,
            task: Mutex::new(Some(task)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now(&self) -> i64 {
        self.shared.now()
    }

    async fn write(&self, how: Write, item: NewItem) -> Result<Revision> {
        let expires = journal::check(&item)?;
        let now = self.now();
        let revision = self
            .shared
            .db
            .call(move |conn| ops::write(conn, how, &item, expires, now))
            .await?;
        self.shared.written.notify_one();
        Ok(revision)
    }
}

/// Feeds watchers and sweeps until shut down.
async fn background(shared: Arc<Shared>, mut feed: Feed, mut stop: watch::Receiver<bool>) {
    // The feed starts at the head of the log, so the first read can wait a period.
    let every = |period| {
        let mut ticks = interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks
    };
    let mut poll = every(shared.options.poll_interval);
    let mut sweep = every(shared.options.sweep_interval);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = shared.written.notified() => {}
            _ = poll.tick() => {}
            _ = sweep.tick() => {
                if let Err(error) = shared.sweep().await {
                    tracing::warn!(%error, "cannot sweep expired items");
                }
            }
        }
        if let Err(error) = shared.pump(&mut feed).await {
            tracing::warn!(%error, "cannot read the event log");
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn get(&self, key: &Key) -> Result<Item> {
        let key = key.clone();
        let now = self.now();
        self.shared
            .db
            .call(move |conn| ops::get(conn, &key, now))
            .await
    }

    async fn create(&self, item: NewItem) -> Result<Revision> {
        self.write(Write::Create, item).await
    }

    async fn put(&self, item: NewItem) -> Result<Revision> {
        self.write(Write::Put, item).await
    }

    async fn put_many(&self, items: Vec<NewItem>) -> Result<Revision> {
        if items.is_empty() {
            return Ok(Revision::ZERO);
        }
        let expires = journal::check_batch(&items)?;
        let now = self.now();
        let revision = self
            .shared
            .db
            .call(move |conn| ops::put_many(conn, &items, &expires, now))
            .await?;
        self.shared.written.notify_one();
        Ok(revision)
    }

    async fn update(&self, item: NewItem) -> Result<Revision> {
        self.write(Write::Update, item).await
    }

    async fn compare_and_swap(&self, expected: Revision, item: NewItem) -> Result<Revision> {
        self.write(Write::Swap(expected), item).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let key = key.clone();
        let now = self.now();
        self.shared
            .db
            .call(move |conn| ops::delete(conn, &key, now))
            .await?;
        self.shared.written.notify_one();
        Ok(())
    }

    async fn delete_range(&self, prefix: &Prefix) -> Result<()> {
        let prefix = prefix.clone();
        let now = self.now();
        self.shared
            .db
            .call(move |conn| ops::delete_range(conn, &prefix, now))
            .await?;
        self.shared.written.notify_one();
        Ok(())
    }

    async fn list(&self, prefix: &Prefix, limit: usize) -> Result<Vec<Item>> {
        self.list_range(prefix, None, None, limit, Order::Ascending)
            .await
    }

    async fn list_range(
        &self,
        prefix: &Prefix,
        from: Option<&Key>,
        to: Option<&Key>,
        limit: usize,
        order: Order,
    ) -> Result<Vec<Item>> {
        let (start, end) = prefix.range_within(from, to);
        let now = self.now();
        self.shared
            .db
            .call(move |conn| ops::range(conn, (&start, &end), limit, order, now))
            .await
    }

    async fn keep_alive(
        &self,
        key: &Key,
        revision: Revision,
        expires: SystemTime,
    ) -> Result<Revision> {
        let key = key.clone();
        let expires = journal::nanos(expires)?;
        let now = self.now();
        let revision = self
            .shared
            .db
            .call(move |conn| ops::keep_alive(conn, &key, revision, expires, now))
            .await?;
        self.shared.written.notify_one();
        Ok(revision)
    }

    async fn watch(&self, prefixes: &[Prefix]) -> Result<Watcher> {
        self.shared.hub.watch(prefixes)
    }

    async fn close(&self) -> Result<()> {
        self.shutdown.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.shared.hub.close();
        let db = self.shared.db.clone();
        let conn = tokio::task::spawn_blocking(move || {
            db.0.lock().unwrap_or_else(|e| e.into_inner()).take()
        })
        .await
        .map_err(|e| BackendError::internal(format!("storage task failed: {e}")))?;
        match conn {
            Some(conn) => conn
                .close()
                .map_err(|(_, e)| BackendError::from(Fail::Sql(e))),
            None => Ok(()),
        }
    }
}
