//! The PostgreSQL driver on a real server: the compliance suite through the
//! unix socket with peer authentication (a database per test), a dropped
//! connection, and TCP with TLS (verify-full) and SCRAM, where every
//! weaker way in is refused.
//!
//! The server comes from `ORIEL_TEST_POSTGRES_URL` (its socket) and
//! `ORIEL_TEST_POSTGRES_TLS_URL` (scripts/test starts one with
//! scripts/postgres-test-server). Without them every test fails, unless
//! ORIEL_SKIP_POSTGRES=1 says to skip them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use oriel_backend::compliance::{self, Fixture};
use oriel_backend::postgres::{NoTls, Target, TargetError, Transport};
use oriel_backend::{
    Backend, Event, Key, NewItem, Options, PostgresBackend, Prefix, Result, Retry,
};

const HOW_TO_RUN: &str = "ORIEL_TEST_POSTGRES_URL and ORIEL_TEST_POSTGRES_TLS_URL are not set: the PostgreSQL tests need a real server. \
     Start one with `eval \"$(scripts/postgres-test-server start)\"` (stop it with `scripts/postgres-test-server stop`), \
     or set ORIEL_SKIP_POSTGRES=1 to skip these tests on purpose";

/// The test server's URL in `variable`, or `None` when told to skip.
fn server_url(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("ORIEL_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("ORIEL_SKIP_POSTGRES=1: skipping a PostgreSQL test");
            None
        }
        _ => panic!("{HOW_TO_RUN}"),
    }
}

struct PostgresFixture {
    admin: tokio_postgres::Client,
    target: Target,
    database: String,
}

#[async_trait]
impl Fixture for PostgresFixture {
    async fn open(&self, options: Options) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(
            PostgresBackend::open(&self.target, options).await?,
        ))
    }

    async fn cleanup(&self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        if let Err(error) = self.admin.batch_execute(&drop).await {
            eprintln!("cannot drop test database {}: {error}", self.database);
        }
    }
}

/// A connection to the test server through its socket, as the OS user
/// (peer authentication; a superuser of the throwaway server).
async fn admin() -> Option<(tokio_postgres::Client, String)> {
    let url = server_url("ORIEL_TEST_POSTGRES_URL")?;
    let target = Target::parse(&url).expect("ORIEL_TEST_POSTGRES_URL is refused");
    let (admin, connection) = target
        .config()
        .connect(NoTls)
        .await
        .expect("connect to ORIEL_TEST_POSTGRES_URL");
    tokio::spawn(connection);
    Some((admin, url))
}

/// A new database on the test server, owned by `owner` (`None`: the OS
/// user's role), or `None` when told to skip.
async fn fresh_database(admin: &tokio_postgres::Client, owner: Option<&str>) -> String {
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
    let owner = owner.map(|o| format!(" OWNER {o}")).unwrap_or_default();
    admin
        .batch_execute(&format!("CREATE DATABASE {database}{owner}"))
        .await
        .expect("create a test database");
    database
}

/// A new database on the test server, reached through its socket.
async fn postgres_fixture() -> Option<PostgresFixture> {
    let (admin, url) = admin().await?;
    let database = fresh_database(&admin, None).await;
    let target = Target::parse(&url)
        .unwrap()
        .with_database(&database)
        .unwrap();
    assert_eq!(target.transport(), &Transport::UnixSocket);
    Some(PostgresFixture {
        admin,
        target,
        database,
    })
}

/// A new database owned by `oriel`, reached over TCP with TLS and SCRAM.
async fn tls_fixture() -> Option<PostgresFixture> {
    let (admin, _) = admin().await?;
    let url = server_url("ORIEL_TEST_POSTGRES_TLS_URL")?;
    let database = fresh_database(&admin, Some("oriel")).await;
    let target = Target::parse(&url)
        .unwrap()
        .with_database(&database)
        .unwrap();
    assert!(matches!(target.transport(), Transport::VerifiedTls { .. }));
    Some(PostgresFixture {
        admin,
        target,
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

/// Who is connected to `database`, and over what: (user, ssl) for each
/// connection but the asker's.
async fn connections(admin: &tokio_postgres::Client, database: &str) -> Vec<(String, bool)> {
    let rows = admin
        .query(
            "SELECT a.usename::text, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

fn os_user() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The socket needs no password: the server takes the OS user's name
/// (peer authentication), and nothing crosses a network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_uses_peer_authentication() {
    let Some(fixture) = postgres_fixture().await else {
        return;
    };
    assert_eq!(fixture.target.config().get_password(), None);
    assert_eq!(
        fixture.target.config().get_user(),
        None,
        "the OS user, by default"
    );
    let backend = fixture.open(Options::default()).await.unwrap();
    backend
        .put(NewItem::new(Key::new("/a").unwrap(), "a"))
        .await
        .unwrap();
    let seen = connections(&fixture.admin, &fixture.database).await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|(user, ssl)| *user == os_user() && !ssl),
        "{seen:?}"
    );
    let hba: Vec<String> = fixture
        .admin
        .query(
            "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'local'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        hba,
        ["peer"],
        "the test server lets nobody in by socket without peer authentication"
    );
    backend.close().await.unwrap();
    fixture.cleanup().await;
}

/// Over TCP every connection (the pool's and the watch feed's) is TLS,
/// checked against the CA file, and SCRAM with channel binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_scram_works_end_to_end() {
    let Some(fixture) = tls_fixture().await else {
        return;
    };
    compliance::crud(&fixture).await;
    compliance::watch_events_in_order(&fixture).await;
    let backend = fixture.open(Options::default()).await.unwrap();
    let mut watcher = backend.watch(&[Prefix::ROOT]).await.unwrap();
    assert_eq!(watcher.next().await, Some(Event::Init));
    backend
        .put(NewItem::new(Key::new("/tls").unwrap(), "x"))
        .await
        .unwrap();
    assert!(matches!(next(&mut watcher).await, Some(Event::Put(item)) if item.value == b"x"));
    let seen = connections(&fixture.admin, &fixture.database).await;
    assert!(seen.len() >= 2, "the pool and the feed: {seen:?}");
    assert!(
        seen.iter().all(|(user, ssl)| user == "oriel" && *ssl),
        "{seen:?}"
    );
    backend.close().await.unwrap();
    fixture.cleanup().await;
}

/// `url` with `from` replaced by `to` (a test's variation of the TLS URL).
fn varied(url: &str, from: &str, to: &str) -> Target {
    assert!(url.contains(from), "the TLS URL has no {from:?}");
    Target::parse(&url.replacen(from, to, 1)).unwrap()
}

async fn refused(target: &Target) -> String {
    match PostgresBackend::open(target, Options::default()).await {
        Ok(_) => panic!("{target} was accepted"),
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains("oriel:"), "{message}");
            message
        }
    }
}

/// A server whose certificate another CA signed is refused, and so is one
/// whose certificate does not name the host the URL gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_must_prove_its_name_under_the_ca() {
    let Some(url) = server_url("ORIEL_TEST_POSTGRES_TLS_URL") else {
        return;
    };
    let other_ca = refused(&varied(&url, "tls/ca.crt", "tls/other-ca.crt")).await;
    assert!(other_ca.contains("UnknownIssuer"), "{other_ca}");
    // The certificate names 127.0.0.1 only.
    let other_name = refused(&varied(&url, "@127.0.0.1:", "@localhost:")).await;
    assert!(
        other_name.contains("not valid for name \"localhost\""),
        "{other_name}"
    );
    let message = refused(&varied(&url, "tls/ca.crt", "tls/missing.crt")).await;
    assert!(
        message.contains("sslrootcert") && message.contains("tls/missing.crt"),
        "{message}"
    );
}

/// A server that asks for the password itself (here in clear, over TLS) is
/// refused: only SCRAM with channel binding is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_only_given_to_scram() {
    let Some(url) = server_url("ORIEL_TEST_POSTGRES_TLS_URL") else {
        return;
    };
    let message = refused(&varied(&url, "//oriel:", "//oriel_cleartext:")).await;
    assert!(message.contains("channel binding"), "{message}");
}

/// The same server over TCP without TLS is refused before anything is sent,
/// with what to write instead.
#[tokio::test]
async fn tcp_without_tls_is_refused_with_what_to_do() {
    let Some(url) = server_url("ORIEL_TEST_POSTGRES_TLS_URL") else {
        return;
    };
    let (plain, _) = url.split_once('?').unwrap();
    let password = plain.split(':').nth(2).unwrap().split('@').next().unwrap();
    for url in [plain.to_owned(), format!("{plain}?sslmode=require")] {
        let error = Target::parse(&url).unwrap_err();
        assert!(matches!(error, TargetError::Unverified { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("sslmode=verify-full&sslrootcert=") && !message.contains(password),
            "{message}"
        );
    }
}
