//! Opening the file and bringing its schema up to date.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::Fail;
use crate::BackendError;

/// How long a write waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Each migration, in order; `schema_version` records the ones applied.
/// Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: items, and the event log whose ids are the revisions.
    "CREATE TABLE items (
        key TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL,
        revision INTEGER NOT NULL,
        expires INTEGER
    );
    CREATE INDEX items_expires ON items (expires) WHERE expires IS NOT NULL;
    -- AUTOINCREMENT: ids are never reused, even after the newest events are pruned.
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind INTEGER NOT NULL,
        key TEXT NOT NULL,
        value BLOB,
        expires INTEGER,
        created INTEGER NOT NULL
    );
    CREATE INDEX events_created ON events (created);
    CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);",
];

/// Opens (creating if needed) the database at `path`.
pub(super) fn open(path: &Path) -> Result<Connection, Fail> {
    // The store holds secrets (CA keys): only the owner may read it. SQLite
    // gives its -wal and -shm files the database file's permissions.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(
                BackendError::internal(format!("cannot create {}: {e}", path.display())).into(),
            );
        }
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer, and a commit is one append.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(BackendError::internal(format!(
            "SQLite kept journal_mode {mode} instead of WAL"
        ))
        .into());
    }
    // FULL: the WAL is synced at every commit, so an acknowledged write
    // survives a power cut too; NORMAL may lose the last commits then.
    conn.pragma_update(None, "synchronous", "FULL")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), Fail> {
    // IMMEDIATE: two processes opening a new file migrate one after the other.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let found: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )?;
    let supported = MIGRATIONS.len() as i64;
    if found > supported {
        return Err(BackendError::SchemaTooNew { found, supported }.into());
    }
    for (version, migration) in (1..).zip(MIGRATIONS).skip(found as usize) {
        tx.execute_batch(migration)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )?;
        tracing::info!(version, "migrated the SQLite storage schema");
    }
    tx.commit()?;
    Ok(())
}
