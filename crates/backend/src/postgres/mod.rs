//! The cluster driver: PostgreSQL through a small connection pool.
//!
//! Writes are serialized by an advisory lock (see `ops`); watchers are fed
//! from an event log table, read whenever LISTEN/NOTIFY says a write
//! committed, and after every reconnect.
//!
//! Reaching the server: [`PostgresBackend::open`] takes a [`Target`], which
//! is either a unix socket on this machine (peer authentication, no TLS) or
//! TCP with TLS checked against a CA file and the host name, and SCRAM with
//! channel binding (`target.rs`). [`PostgresBackend::connect`] takes any
//! tokio-postgres TLS connector, for tests.

mod listen;
mod ops;
mod schema;
mod target;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};
use tokio_postgres::Socket;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

pub use target::{DEFAULT_SOCKET_DIR, Target, TargetError, Transport};
pub use tokio_postgres::config::Host;
pub use tokio_postgres::{Client, Config, NoTls};

use crate::journal::{self, Feed, Write};
use crate::watch::Hub;
use crate::{
    Backend, BackendError, Item, Key, NewItem, Options, Order, Prefix, Result, Revision, Watcher,
};

/// Connections in the pool; the feed has one more of its own.
const POOL_SIZE: usize = 8;
/// How long a call waits for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The channel commits are notified on.
const CHANNEL: &str = "oriel_events";

/// A failure inside the driver, before it is classified.
enum Fail {
    Pg(tokio_postgres::Error),
    Pool(PoolError),
    Backend(BackendError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Pg(e)
    }
}

impl From<PoolError> for Fail {
    fn from(e: PoolError) -> Self {
        Self::Pool(e)
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
            Fail::Pg(e) | Fail::Pool(PoolError::Backend(e)) => classify(e),
            Fail::Pool(PoolError::Closed) => BackendError::Closed,
            Fail::Pool(e) => BackendError::Unavailable(e.into()),
        }
    }
}

/// Whether a PostgreSQL error may clear up by itself.
fn classify(e: tokio_postgres::Error) -> BackendError {
    let transient = match e.code() {
        // Connection exceptions, rollbacks (serialization, deadlock), too
        // many connections, shutdowns, lock timeouts.
        Some(code) => ["08", "40", "53", "57P", "55P03"]
            .iter()
            .any(|class| code.code().starts_with(class)),
        None => {
            e.is_closed()
                || std::error::Error::source(&e).is_some_and(|source| source.is::<std::io::Error>())
        }
    };
    if transient {
        BackendError::Unavailable(e.into())
    } else {
        BackendError::Internal(e.into())
    }
}

#[derive(Debug)]
struct Shared {
    pool: Pool,
    hub: Hub,
    options: Options,
}

impl Shared {
    fn now(&self) -> i64 {
        journal::nanos_clamped(self.options.clock.now())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await.map_err(Fail::from)?)
    }

    async fn sweep(&self) -> Result<()> {
        let now = self.options.clock.now();
        let mut client = self.client().await?;
        let swept = ops::sweep(&mut client, journal::nanos_clamped(now)).await?;
        if swept > 0 {
            tracing::debug!(swept, "removed expired items");
        }
        ops::prune(
            &mut client,
            journal::prune_before(now, self.options.event_retention),
        )
        .await?;
        Ok(())
    }
}

/// A [`Backend`] on a PostgreSQL database of its own.
#[derive(Debug)]
pub struct PostgresBackend {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl PostgresBackend {
    /// Connects to `target` the way it asks for: through the unix socket, or
    /// over TCP with verified TLS and SCRAM with channel binding.
    /// A first connection that fails says why in full (a TLS handshake's
    /// cause, the server's refusal), and where, without user or password.
    pub async fn open(target: &Target, options: Options) -> Result<Self> {
        let opened = match target.transport() {
            Transport::UnixSocket => Self::connect(target.config().clone(), NoTls, options).await,
            Transport::VerifiedTls { ca_file } => {
                let tls = Target::tls(ca_file)?;
                Self::connect(target.config().clone(), tls, options).await
            }
        };
        opened.map_err(|error| {
            let explained = |inner: &(dyn std::error::Error + 'static)| {
                format!("cannot connect to {target}: {}", causes(inner))
            };
            match error {
                BackendError::Unavailable(inner) => {
                    BackendError::Unavailable(explained(&*inner).into())
                }
                BackendError::Internal(inner) => BackendError::Internal(explained(&*inner).into()),
                other => other,
            }
        })
    }

    /// Connects to the database `config` names, bringing its schema up to
    /// date. `tls` is any tokio-postgres TLS connector; `config` is taken as
    /// it is, so outside tests use [`Self::open`], which refuses a connection
    /// that is not safe.
    pub async fn connect<T>(config: Config, tls: T, options: Options) -> Result<Self>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| BackendError::internal(format!("cannot make the connection pool: {e}")))?;
        let head = {
            let mut client = pool.get().await.map_err(Fail::from)?;
            schema::migrate(&mut client).await?;
            ops::read_events(&mut client, u64::MAX).await?.head
        };
        let shared = Arc::new(Shared {
            pool,
            hub: Hub::new(options.watch_buffer),
            options,
        });
        let (shutdown, stop) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(listen::run(
                config,
                tls,
                shared.clone(),
                Feed::starting_at(head),
                stop.clone(),
            )),
            tokio::spawn(sweeper(shared.clone(), stop)),
        ];
        Ok(Self {
            shared,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    fn now(&self) -> i64 {
        self.shared.now()
    }

    async fn write(&self, how: Write, item: NewItem) -> Result<Revision> {
        let expires = journal::check(&item)?;
        let mut client = self.shared.client().await?;
        Ok(ops::write(&mut client, how, &item, expires, self.now()).await?)
    }
}

/// An error and its sources, joined as one sentence.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.ends_with(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

async fn sweeper(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut tick = interval(shared.options.sweep_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {
                if let Err(error) = shared.sweep().await {
                    tracing::warn!(%error, "cannot sweep expired items");
                }
            }
        }
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn get(&self, key: &Key) -> Result<Item> {
        let client = self.shared.client().await?;
        Ok(ops::get(&client, key, self.now()).await?)
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
        let mut client = self.shared.client().await?;
        Ok(ops::put_many(&mut client, &items, &expires, self.now()).await?)
    }

    async fn update(&self, item: NewItem) -> Result<Revision> {
        self.write(Write::Update, item).await
    }

    async fn compare_and_swap(&self, expected: Revision, item: NewItem) -> Result<Revision> {
        self.write(Write::Swap(expected), item).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let mut client = self.shared.client().await?;
        Ok(ops::delete(&mut client, key, self.now()).await?)
    }

    async fn delete_range(&self, prefix: &Prefix) -> Result<()> {
        let mut client = self.shared.client().await?;
        Ok(ops::delete_range(&mut client, prefix, self.now()).await?)
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
        let client = self.shared.client().await?;
        Ok(ops::range(&client, (&start, &end), limit, order, self.now()).await?)
    }

    async fn keep_alive(
        &self,
        key: &Key,
        revision: Revision,
        expires: SystemTime,
    ) -> Result<Revision> {
        let expires = journal::nanos(expires)?;
        let mut client = self.shared.client().await?;
        Ok(ops::keep_alive(&mut client, key, revision, expires, self.now()).await?)
    }

    async fn watch(&self, prefixes: &[Prefix]) -> Result<Watcher> {
        self.shared.hub.watch(prefixes)
    }

    async fn close(&self) -> Result<()> {
        self.shutdown.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
        self.shared.hub.close();
        self.shared.pool.close();
        Ok(())
    }
}
