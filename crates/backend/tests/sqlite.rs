//! The SQLite driver: the compliance suite on a temporary file, and what only
//! a file can show (crash safety, permissions, schema versions, a process
//! left behind by the pruned log).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oriel_backend::compliance::{self, Fixture};
use oriel_backend::{
    Backend, BackendError, Event, FakeClock, Key, NewItem, Options, Prefix, Result, SqliteBackend,
};
use tempfile::TempDir;

struct SqliteFixture {
    dir: TempDir,
}

impl SqliteFixture {
    fn path(&self) -> PathBuf {
        self.dir.path().join("backend.sqlite")
    }
}

#[async_trait]
impl Fixture for SqliteFixture {
    async fn open(&self, options: Options) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(SqliteBackend::open(self.path(), options).await?))
    }
}

async fn sqlite_fixture() -> Option<SqliteFixture> {
    Some(SqliteFixture {
        dir: tempfile::tempdir().expect("make a temporary directory"),
    })
}

oriel_backend::compliance_tests!(sqlite_fixture);

/// Set to the database path when the crash test re-runs this binary as the
/// process it kills.
const CRASH_CHILD: &str = "ORIEL_BACKEND_CRASH_CHILD";
/// How many acknowledged writes the child makes before it is killed.
const ACKED_BEFORE_KILL: u64 = 300;

fn crash_key(i: u64) -> Key {
    Key::new(format!("/crash/{i:08}")).unwrap()
}

fn crash_value(i: u64) -> Vec<u8> {
    format!("value {i} ")
        .repeat(1 + (i % 50) as usize)
        .into_bytes()
}

/// The child side of the crash test; does nothing in a normal run.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_CHILD) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let backend = SqliteBackend::open(&path, Options::default())
            .await
            .unwrap();
        for i in 0.. {
            backend
                .put(NewItem::new(crash_key(i), crash_value(i)))
                .await
                .unwrap();
            // Printed only once put has returned: an acknowledged write.
            println!("acked {i}");
        }
    });
}

/// Kills a process in the middle of its writes; the file still opens, and
/// every write the process had acknowledged is there.
#[test]
fn acknowledged_writes_survive_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backend.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CRASH_CHILD, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = None;
    for line in lines.by_ref() {
        if let Some(i) = line.unwrap().strip_prefix("acked ") {
            acked = Some(i.parse::<u64>().unwrap());
            if acked >= Some(ACKED_BEFORE_KILL) {
                break;
            }
        }
    }
    assert!(
        acked >= Some(ACKED_BEFORE_KILL),
        "the child stopped early, after {acked:?} writes"
    );
    child.kill().unwrap(); // SIGKILL, while it writes
    child.wait().unwrap();
    // Lines still in the pipe were acknowledged before the kill.
    for line in lines {
        if let Some(i) = line.unwrap().strip_prefix("acked ") {
            acked = Some(i.parse().unwrap());
        }
    }
    let acked = acked.unwrap();

    let check = rusqlite::Connection::open(&path).unwrap();
    let integrity: String = check
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(check);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let backend = SqliteBackend::open(&path, Options::default())
            .await
            .expect("the file opens after a crash");
        for i in 0..=acked {
            let item = backend
                .get(&crash_key(i))
                .await
                .unwrap_or_else(|e| panic!("acknowledged write {i} is lost: {e}"));
            assert_eq!(item.value, crash_value(i));
        }
        // The store still takes writes.
        backend
            .put(NewItem::new(crash_key(acked + 1_000_000), "after"))
            .await
            .unwrap();
        backend.close().await.unwrap();
    });
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The file and its WAL are the owner's alone, and WAL mode is on.
#[tokio::test]
async fn the_file_is_private_and_in_wal_mode() {
    let fixture = sqlite_fixture().await.unwrap();
    let backend = SqliteBackend::open(fixture.path(), Options::default())
        .await
        .unwrap();
    backend
        .put(NewItem::new(Key::new("/a").unwrap(), "a"))
        .await
        .unwrap();
    assert_eq!(mode(&fixture.path()), 0o600);
    assert_eq!(mode(&fixture.dir.path().join("backend.sqlite-wal")), 0o600);
    let check = rusqlite::Connection::open(fixture.path()).unwrap();
    let journal: String = check
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    backend.close().await.unwrap();
}

/// A file migrated by a newer build is refused, not misread.
#[tokio::test]
async fn a_newer_schema_is_refused() {
    let fixture = sqlite_fixture().await.unwrap();
    SqliteBackend::open(fixture.path(), Options::default())
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(fixture.path()).unwrap();
    conn.execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    drop(conn);
    match SqliteBackend::open(fixture.path(), Options::default()).await {
        Err(BackendError::SchemaTooNew {
            found: 99,
            supported: 1,
        }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

/// A process whose feed is further behind than the pruned log resets its
/// watchers instead of skipping the pruned events.
#[tokio::test]
async fn a_process_behind_the_pruned_log_resets_its_watchers() {
    let fixture = sqlite_fixture().await.unwrap();
    let clock = compliance::fake_clock();
    // `behind` reads the log only when it writes itself.
    let hour = Duration::from_secs(3600);
    let behind = SqliteBackend::open(
        fixture.path(),
        Options {
            poll_interval: hour,
            sweep_interval: hour,
            ..compliance::options(&clock)
        },
    )
    .await
    .unwrap();
    let mut watcher = behind.watch(&[Prefix::ROOT]).await.unwrap();
    assert_eq!(watcher.next().await, Some(Event::Init));

    let pruner_clock = Arc::new(FakeClock::new(oriel_backend::Clock::now(&*clock)));
    let pruner = SqliteBackend::open(
        fixture.path(),
        Options {
            event_retention: Duration::from_secs(60),
            ..compliance::options(&pruner_clock)
        },
    )
    .await
    .unwrap();
    pruner
        .put(NewItem::new(Key::new("/pruned").unwrap(), "p"))
        .await
        .unwrap();
    pruner_clock.advance(Duration::from_secs(120));
    // Wait for the pruner's sweep to drop that event.
    let check = rusqlite::Connection::open(fixture.path()).unwrap();
    let mut waited = 0;
    while check
        .query_row(
            "SELECT count(*) FROM meta WHERE name = 'pruned_through'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
        == 0
    {
        waited += 1;
        assert!(waited < 3000, "the log was never pruned");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    behind
        .put(NewItem::new(Key::new("/wake").unwrap(), "w"))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(30), watcher.next())
        .await
        .unwrap();
    assert_eq!(event, Some(Event::Reset));
    assert_eq!(watcher.next().await, None);
    behind.close().await.unwrap();
    pruner.close().await.unwrap();
}
