//! The PostgreSQL driver: the compliance suite on a real server, a database
//! per test, and a dropped connection.
//!
//! The server comes from `ORIEL_TEST_POSTGRES_URL` (scripts/test starts one
//! with scripts/postgres-test-server). Without it every test fails, unless
//! ORIEL_SKIP_POSTGRES=1 says to skip them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use oriel_backend::compliance::{self, Fixture};
use oriel_backend::postgres::{Config, NoTls};
use oriel_backend::{
    Backend, Event, Key, NewItem, Options, PostgresBackend, Prefix, Result, Retry,
};

const HOW_TO_RUN: &str = "ORIEL_TEST_POSTGRES_URL is not set: the PostgreSQL compliance tests need a real server. \
     Start one with `eval \"$(scripts/postgres-test-server start)\"` (stop it with `scripts/postgres-test-server stop`), \
     or set ORIEL_SKIP_POSTGRES=1 to skip these tests on purpose";

struct PostgresFixture {
    admin: tokio_postgres::Client,
    config: Config,
    database: String,
}

#[async_trait]
impl Fixture for PostgresFixture {
    async fn open(&self, options: Options) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(
            PostgresBackend::connect(self.config.clone(), NoTls, options).await?,
        ))
    }

    async fn cleanup(&self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        if let Err(error) = self.admin.batch_execute(&drop).await {
            eprintln!("cannot drop test database {}: {error}", self.database);
        }
    }
}

/// A new database on the test server, or `None` when told to skip.
async fn postgres_fixture() -> Option<PostgresFixture> {
    let url = match std::env::var("ORIEL_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("ORIEL_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("ORIEL_SKIP_POSTGRES=1: skipping a PostgreSQL test");
            return None;
        }
        _ => panic!("{HOW_TO_RUN}"),
    };
    let config: Config = url
        .parse()
        .expect("ORIEL_TEST_POSTGRES_URL is not a PostgreSQL URL");
    let (admin, connection) = config
        .connect(NoTls)
        .await
        .expect("connect to ORIEL_TEST_POSTGRES_URL");
    tokio::spawn(connection);
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let database = format!(
        "oriel_test_{}_{stamp}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .await
        .expect("create a test database (the user needs CREATEDB)");
    let mut config = config;
    config.dbname(&database);
    Some(PostgresFixture {
        admin,
        config,
        database,
    })
}

oriel_backend::compliance_tests!(postgres_fixture);

async fn next(watcher: &mut oriel_backend::Watcher) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(30), watcher.next())
        .await
        .expect("no event came (hang)")
}

/// Retries a call while the backend says to retry later (its pooled
/// connections were just killed).
async fn with_retries<T, F: std::future::Future<Output = Result<T>>>(
    mut call: impl FnMut() -> F,
) -> T {
    for _ in 0..20 {
        match call().await {
            Ok(value) => return value,
            Err(e) if e.retry() == Retry::Later => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("still unavailable after 20 tries");
}

/// When the server drops every connection, watchers get what was written
/// meanwhile from the event log, with no Reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_catch_up_after_connections_drop() {
    let Some(fixture) = postgres_fixture().await else {
        return;
    };
    let clock = compliance::fake_clock();
    let backend = fixture.open(compliance::options(&clock)).await.unwrap();
    let mut watcher = backend.watch(&[Prefix::ROOT]).await.unwrap();
    assert_eq!(watcher.next().await, Some(Event::Init));
    let (a, b, c) = (
        Key::new("/a").unwrap(),
        Key::new("/b").unwrap(),
        Key::new("/c").unwrap(),
    );
    backend.put(NewItem::new(a.clone(), "a")).await.unwrap();
    assert!(matches!(next(&mut watcher).await, Some(Event::Put(item)) if item.key == a));

    let killed = fixture
        .admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&fixture.database],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty(), "the backend had connections to kill");

    // Another node writes while this one's listener is down.
    let other = fixture.open(compliance::options(&clock)).await.unwrap();
    other.put(NewItem::new(b.clone(), "b")).await.unwrap();
    assert!(matches!(next(&mut watcher).await, Some(Event::Put(item)) if item.key == b));

    // This node's pool reconnects too.
    with_retries(|| backend.put(NewItem::new(c.clone(), "c"))).await;
    assert!(matches!(next(&mut watcher).await, Some(Event::Put(item)) if item.key == c));
    backend.close().await.unwrap();
    other.close().await.unwrap();
    fixture.cleanup().await;
}
