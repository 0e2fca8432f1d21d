//! Each operation as SQL. Every write runs in a transaction that first takes
//! one advisory lock: writes are serialized cluster-wide, so revisions (and
//! event ids) are handed out in commit order, and a feed that reads the log
//! past its cursor can never miss an event that commits late.

use deadpool_postgres::{ClientWrapper, Transaction};
use tokio_postgres::{Client, IsolationLevel, Row};

use super::{CHANNEL, Fail};
use crate::journal::{self, BATCH, Batch, Write};
use crate::{BackendError, Item, Key, NewItem, Prefix, Revision};

/// How many expired items one sweep transaction removes at most.
const SWEEP_BATCH: i64 = 1000;

/// Logs the rows of `written` as put events; `$4` is now.
macro_rules! log_put {
    ($write:literal) => {
        concat!(
            "WITH written AS (",
            $write,
            " RETURNING key, value, revision, expires),
            logged AS (
                INSERT INTO events (id, kind, key, value, expires, created)
                SELECT revision, 1, key, value, expires, $4::bigint FROM written
            )
            SELECT revision FROM written"
        )
    };
}

// $1 key, $2 value, $3 expires, $4 now, $5 expected revision.
const CREATE: &str = log_put!(
    "INSERT INTO items (key, value, revision, expires)
     VALUES ($1::text, $2::bytea, nextval('revision'), $3::bigint)
     ON CONFLICT (key) DO UPDATE
         SET value = excluded.value, revision = excluded.revision, expires = excluded.expires
         WHERE items.expires IS NOT NULL AND items.expires <= $4::bigint"
);
const PUT: &str = log_put!(
    "INSERT INTO items (key, value, revision, expires)
     VALUES ($1::text, $2::bytea, nextval('revision'), $3::bigint)
     ON CONFLICT (key) DO UPDATE
         SET value = excluded.value, revision = excluded.revision, expires = excluded.expires"
);
const UPDATE: &str = log_put!(
    "UPDATE items SET value = $2::bytea, revision = nextval('revision'), expires = $3::bigint
     WHERE key = $1::text AND (expires IS NULL OR expires > $4::bigint)"
);
const SWAP: &str = log_put!(
    "UPDATE items SET value = $2::bytea, revision = nextval('revision'), expires = $3::bigint
     WHERE key = $1::text AND (expires IS NULL OR expires > $4::bigint) AND revision = $5::bigint"
);
// $1 key, $2 expected revision, $3 expires, $4 now.
const KEEP_ALIVE: &str = log_put!(
    "UPDATE items SET revision = nextval('revision'), expires = $3::bigint
     WHERE key = $1::text AND revision = $2::bigint AND (expires IS NULL OR expires > $4::bigint)"
);

/// Logs the keys of `gone` as delete events; `$NOW` is now.
macro_rules! log_delete {
    ($delete:literal, $now:literal) => {
        concat!(
            "WITH gone AS (",
            $delete,
            " RETURNING key),
            logged AS (
                INSERT INTO events (id, kind, key, created)
                SELECT nextval('revision'), 2, key, ",
            $now,
            "::bigint FROM gone ORDER BY key
            )
            SELECT count(*) FROM gone"
        )
    };
}

const DELETE: &str = log_delete!(
    "DELETE FROM items WHERE key = $1::text AND (expires IS NULL OR expires > $2::bigint)",
    "$2"
);
const DELETE_RANGE: &str = log_delete!(
    r#"DELETE FROM items WHERE key >= $1::text COLLATE "C" AND key < $2::text COLLATE "C""#,
    "$3"
);
const SWEEP: &str = log_delete!(
    "DELETE FROM items WHERE expires <= $1::bigint
         AND key IN (SELECT key FROM items WHERE expires <= $1::bigint ORDER BY key LIMIT $2::bigint)",
    "$1"
);

const GET: &str = "SELECT key, value, revision, expires FROM items
    WHERE key = $1::text AND (expires IS NULL OR expires > $2::bigint)";
const LIST: &str = r#"SELECT key, value, revision, expires FROM items
    WHERE key >= $1::text COLLATE "C" AND key < $2::text COLLATE "C" AND (expires IS NULL OR expires > $3::bigint)
    ORDER BY key LIMIT $4::bigint"#;

fn item(row: &Row) -> Result<Item, Fail> {
    let key = Key::new(row.try_get::<_, String>(0)?)
        .map_err(|e| BackendError::internal(format!("the store holds a bad key: {e}")))?;
    Ok(Item {
        key,
        value: row.try_get(1)?,
        revision: journal::revision(row.try_get(2)?),
        expires: row.try_get::<_, Option<i64>>(3)?.map(journal::time),
    })
}

/// Opens a write transaction: takes the write lock, and queues a notification
/// that PostgreSQL sends to every listener if (and when) it commits.
async fn begin_write(client: &mut ClientWrapper) -> Result<Transaction<'_>, Fail> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock(1869769061, 1); NOTIFY {CHANNEL}"
    ))
    .await?;
    Ok(tx)
}

pub(super) async fn get(client: &ClientWrapper, key: &Key, now: i64) -> Result<Item, Fail> {
    let statement = client.prepare_cached(GET).await?;
    match client.query_opt(&statement, &[&key.as_str(), &now]).await? {
        Some(row) => item(&row),
        None => Err(BackendError::NotFound(key.clone()).into()),
    }
}

pub(super) async fn list(
    client: &ClientWrapper,
    prefix: &Prefix,
    limit: usize,
    now: i64,
) -> Result<Vec<Item>, Fail> {
    let (start, end) = prefix.range();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = client.prepare_cached(LIST).await?;
    client
        .query(&statement, &[&start, &end, &now, &limit])
        .await?
        .iter()
        .map(item)
        .collect()
}

pub(super) async fn write(
    client: &mut ClientWrapper,
    how: Write,
    item: &NewItem,
    expires: Option<i64>,
    now: i64,
) -> Result<Revision, Fail> {
    let tx = begin_write(client).await?;
    let key = item.key.as_str();
    let rows = match how {
        Write::Create => {
            tx.query(
                &tx.prepare_cached(CREATE).await?,
                &[&key, &item.value, &expires, &now],
            )
            .await?
        }
        Write::Put => {
            tx.query(
                &tx.prepare_cached(PUT).await?,
                &[&key, &item.value, &expires, &now],
            )
            .await?
        }
        Write::Update => {
            tx.query(
                &tx.prepare_cached(UPDATE).await?,
                &[&key, &item.value, &expires, &now],
            )
            .await?
        }
        Write::Swap(expected) => {
            let expected = journal::stored_revision(expected);
            tx.query(
                &tx.prepare_cached(SWAP).await?,
                &[&key, &item.value, &expires, &now, &expected],
            )
            .await?
        }
    };
    let Some(row) = rows.first() else {
        let key = item.key.clone();
        return Err(match how {
            Write::Create => BackendError::AlreadyExists(key),
            Write::Update => BackendError::NotFound(key),
            Write::Swap(_) => BackendError::CompareFailed(key),
            Write::Put => BackendError::internal("put wrote no row"),
        }
        .into());
    };
    let revision = row.try_get(0)?;
    tx.commit().await?;
    Ok(journal::revision(revision))
}

pub(super) async fn keep_alive(
    client: &mut ClientWrapper,
    key: &Key,
    expected: Revision,
    expires: i64,
    now: i64,
) -> Result<Revision, Fail> {
    let tx = begin_write(client).await?;
    let expected = journal::stored_revision(expected);
    let statement = tx.prepare_cached(KEEP_ALIVE).await?;
    if let Some(row) = tx
        .query_opt(&statement, &[&key.as_str(), &expected, &expires, &now])
        .await?
    {
        let revision = row.try_get(0)?;
        tx.commit().await?;
        return Ok(journal::revision(revision));
    }
    // Under the write lock nothing changed since: find out why it failed.
    let statement = tx.prepare_cached(GET).await?;
    Err(
        match tx.query_opt(&statement, &[&key.as_str(), &now]).await? {
            Some(_) => BackendError::CompareFailed(key.clone()),
            None => BackendError::NotFound(key.clone()),
        }
        .into(),
    )
}

pub(super) async fn delete(client: &mut ClientWrapper, key: &Key, now: i64) -> Result<(), Fail> {
    let tx = begin_write(client).await?;
    let statement = tx.prepare_cached(DELETE).await?;
    let deleted: i64 = tx
        .query_one(&statement, &[&key.as_str(), &now])
        .await?
        .try_get(0)?;
    if deleted == 0 {
        return Err(BackendError::NotFound(key.clone()).into());
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete_range(
    client: &mut ClientWrapper,
    prefix: &Prefix,
    now: i64,
) -> Result<(), Fail> {
    let (start, end) = prefix.range();
    let tx = begin_write(client).await?;
    let statement = tx.prepare_cached(DELETE_RANGE).await?;
    tx.query_one(&statement, &[&start, &end, &now]).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes expired items, each with a delete event; returns how many.
pub(super) async fn sweep(client: &mut ClientWrapper, now: i64) -> Result<i64, Fail> {
    // A plain read first, so that an idle sweep never takes the write lock.
    let statement = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE expires <= $1::bigint)")
        .await?;
    let due: bool = client.query_one(&statement, &[&now]).await?.try_get(0)?;
    if !due {
        return Ok(0);
    }
    let tx = begin_write(client).await?;
    let statement = tx.prepare_cached(SWEEP).await?;
    let swept = tx
        .query_one(&statement, &[&now, &SWEEP_BATCH])
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(swept)
}

/// Drops events created before `before`, remembering the highest id dropped.
pub(super) async fn prune(client: &mut ClientWrapper, before: i64) -> Result<(), Fail> {
    let statement = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE created < $1::bigint)")
        .await?;
    let due: bool = client.query_one(&statement, &[&before]).await?.try_get(0)?;
    if !due {
        return Ok(());
    }
    let tx = begin_write(client).await?;
    let statement = tx
        .prepare_cached(
            "WITH gone AS (
                DELETE FROM events WHERE id <= (SELECT max(id) FROM events WHERE created < $1::bigint) RETURNING id
            )
            INSERT INTO meta (name, value) SELECT 'pruned_through', max(id) FROM gone HAVING count(*) > 0
            ON CONFLICT (name) DO UPDATE SET value = GREATEST(meta.value, excluded.value)",
        )
        .await?;
    tx.execute(&statement, &[&before]).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads the events after `cursor`, from one snapshot.
pub(super) async fn read_events(client: &mut Client, cursor: u64) -> Result<Batch, Fail> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let row = tx
        .query_one(
            "SELECT coalesce((SELECT value FROM meta WHERE name = 'pruned_through'), 0),
                    coalesce((SELECT max(id) FROM events), 0)",
            &[],
        )
        .await?;
    let (pruned_through, head): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "SELECT id, kind, key, value, expires FROM events WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint",
            &[&cursor, &(BATCH as i64)],
        )
        .await?;
    let events = rows
        .iter()
        .map(|row| {
            Ok(journal::event(
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
            )?)
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    tx.commit().await?;
    Ok(Batch {
        pruned_through: pruned_through as u64,
        head: head.max(pruned_through) as u64,
        events,
    })
}
