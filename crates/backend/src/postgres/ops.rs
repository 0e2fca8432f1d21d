//! Each operation as SQL. Every write runs in a transaction that first takes
//! one advisory lock: writes are serialized cluster-wide, so revisions (and
//! event ids) are handed out in commit order, and a feed that reads the log
//! past its cursor can never miss an event that commits late.

use deadpool_postgres::{ClientWrapper, Transaction};
use tokio_postgres::{Client, IsolationLevel, Row};

use super::{CHANNEL, Fail};
use crate::journal::{self, BATCH, Batch, Write};
use crate::{BackendError, Item, Key, NewItem, Order, Prefix, Revision};

/// How many expired items one sweep transaction removes at most.
const SWEEP_BATCH: i64 = 1000;

/// The most key and value bytes one statement of a `put_many` carries. A
/// statement's arrays are single values, which PostgreSQL caps at 1 GiB,
/// and a batch of [`MAX_BATCH_LEN`](crate::MAX_BATCH_LEN) full-size values
/// is 4 GiB: so a large batch goes as several statements in its transaction.
const PUT_MANY_BYTES: usize = 8 * 1024 * 1024;

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

// $1 keys, $2 values, $3 expiries, $4 revisions (one per item), $5 now.
// Each item is logged; a key given twice is stored once, as its later item
// (one INSERT may not touch a row twice).
const PUT_MANY: &str = r#"WITH batch AS (
        SELECT key COLLATE "C" AS key, value, expires, revision
        FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bigint[]) AS b(key, value, expires, revision)
    ),
    logged AS (
        INSERT INTO events (id, kind, key, value, expires, created)
        SELECT revision, 1, key, value, expires, $5::bigint FROM batch
    )
    INSERT INTO items (key, value, revision, expires)
    SELECT DISTINCT ON (key) key, value, revision, expires FROM batch ORDER BY key, revision DESC
    ON CONFLICT (key) DO UPDATE
        SET value = excluded.value, revision = excluded.revision, expires = excluded.expires"#;
// $1 how many revisions to hand out.
const REVISIONS: &str = "SELECT nextval('revision') FROM generate_series(1, $1::bigint)";

const GET: &str = "SELECT key, value, revision, expires FROM items
    WHERE key = $1::text AND (expires IS NULL OR expires > $2::bigint)";

/// The live items in `[$1, $2)`; $3 now, $4 limit. The bounds compare as
/// "C", the collation of `key` and so of the primary key's index: they make
/// this a range scan of that index, and `ORDER BY key` either way is the
/// index read forwards or backwards (no sort; `LIMIT` stops the scan).
macro_rules! range {
    ($direction:literal) => {
        concat!(
            r#"SELECT key, value, revision, expires FROM items
    WHERE key >= $1::text COLLATE "C" AND key < $2::text COLLATE "C" AND (expires IS NULL OR expires > $3::bigint)
    ORDER BY key "#,
            $direction,
            " LIMIT $4::bigint"
        )
    };
}
const RANGE_ASCENDING: &str = range!("ASC");
const RANGE_DESCENDING: &str = range!("DESC");

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

/// At most `limit` live items with keys in `[start, end)`, in `order`.
pub(super) async fn range(
    client: &ClientWrapper,
    (start, end): (&str, &str),
    limit: usize,
    order: Order,
    now: i64,
) -> Result<Vec<Item>, Fail> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = client
        .prepare_cached(match order {
            Order::Ascending => RANGE_ASCENDING,
            Order::Descending => RANGE_DESCENDING,
        })
        .await?;
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

/// Puts every item in one transaction; `expires` holds each one's expiry as
/// stored. Returns the last revision; `items` is not empty.
pub(super) async fn put_many(
    client: &mut ClientWrapper,
    items: &[NewItem],
    expires: &[Option<i64>],
    now: i64,
) -> Result<Revision, Fail> {
    let tx = begin_write(client).await?;
    // Under the write lock nobody else takes revisions: these are the next
    // ones, and sorted they give the items ascending revisions in order.
    let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let mut revisions = tx
        .query(&tx.prepare_cached(REVISIONS).await?, &[&count])
        .await?
        .iter()
        .map(|row| row.try_get::<_, i64>(0))
        .collect::<Result<Vec<_>, _>>()?;
    revisions.sort_unstable();
    let (Some(&last), true) = (revisions.last(), revisions.len() == items.len()) else {
        return Err(BackendError::internal("the batch got the wrong number of revisions").into());
    };
    let statement = tx.prepare_cached(PUT_MANY).await?;
    let mut start = 0;
    while start < items.len() {
        let end = statement_end(items, start);
        let chunk = &items[start..end];
        let keys: Vec<&str> = chunk.iter().map(|item| item.key.as_str()).collect();
        let values: Vec<&[u8]> = chunk.iter().map(|item| &item.value[..]).collect();
        tx.execute(
            &statement,
            &[
                &keys,
                &values,
                &&expires[start..end],
                &&revisions[start..end],
                &now,
            ],
        )
        .await?;
        start = end;
    }
    tx.commit().await?;
    Ok(journal::revision(last))
}

/// Where the `put_many` statement that starts at item `start` ends: as many
/// items as fit in [`PUT_MANY_BYTES`], and at least one.
fn statement_end(items: &[NewItem], start: usize) -> usize {
    let mut bytes = 0;
    let mut end = start;
    while let Some(item) = items.get(end) {
        bytes += item.key.as_str().len() + item.value.len();
        if bytes > PUT_MANY_BYTES && end > start {
            break;
        }
        end += 1;
    }
    end
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

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use tokio_postgres::NoTls;

    use super::*;
    use crate::postgres::Target;

    fn item_of(len: usize) -> NewItem {
        NewItem::new(Key::new("/k").unwrap(), vec![0; len])
    }

    /// Statements take what fits, and always at least one item.
    #[test]
    fn put_many_splits_into_statements_by_size() {
        let third = PUT_MANY_BYTES / 3;
        let items = [
            item_of(third),
            item_of(third),
            item_of(third),
            item_of(PUT_MANY_BYTES * 2),
            item_of(0),
        ];
        // "/k" adds 2 bytes an item: three thirds are over the limit.
        assert_eq!(statement_end(&items, 0), 2);
        assert_eq!(statement_end(&items, 2), 3);
        assert_eq!(
            statement_end(&items, 3),
            4,
            "an item over the limit goes alone"
        );
        assert_eq!(statement_end(&items, 4), 5);
        let small: Vec<NewItem> = (0..1000).map(|_| item_of(10)).collect();
        assert_eq!(statement_end(&small, 0), 1000);
    }

    /// The test server's socket URL, as tests/postgres.rs finds it.
    fn server_url() -> Option<String> {
        match std::env::var("ORIEL_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("ORIEL_SKIP_POSTGRES").as_deref() == Ok("1") => None,
            _ => panic!(
                "ORIEL_TEST_POSTGRES_URL is not set: start a server with \
                 `eval \"$(scripts/postgres-test-server start)\"`, or set ORIEL_SKIP_POSTGRES=1"
            ),
        }
    }

    async fn connect(config: &tokio_postgres::Config) -> Client {
        let (client, connection) = config.connect(NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    /// The newest 1,000 of 1,000,000 keys below a prefix (and the oldest,
    /// from a bound) are one range scan of the primary key's index, read
    /// backwards or forwards, with no sort, in the plan for these bounds and
    /// in the generic plan a prepared statement may switch to.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_of_a_million_keys_is_one_index_range_scan() {
        let Some(url) = server_url() else {
            return;
        };
        let target = Target::parse(&url).unwrap();
        let admin = connect(target.config()).await;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros();
        let database = format!("oriel_range_plan_{}_{stamp}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await
            .unwrap();
        let mut client = connect(target.config().clone().dbname(&database)).await;
        super::super::schema::migrate(&mut client)
            .await
            .map_err(BackendError::from)
            .unwrap();
        client
            .batch_execute(
                r"INSERT INTO items (key, value, revision)
                  SELECT format('/audit/%s', lpad(i::text, 7, '0')), '\x00', i + 1
                  FROM generate_series(0, 999999) AS i;
                  INSERT INTO items (key, value, revision)
                  VALUES ('/audis/z', '\x00', -1), ('/audit0/a', '\x00', -2), ('/b/a', '\x00', -3);
                  ANALYZE items",
            )
            .await
            .unwrap();

        let prefix = Prefix::new("/audit/").unwrap();
        let oldest_page = Key::new("/audit/0999000").unwrap();
        let (now, limit) = (0_i64, 1000_i64);
        for (sql, from, scan) in [
            (
                RANGE_DESCENDING,
                None,
                "Index Scan Backward using items_pkey",
            ),
            (
                RANGE_ASCENDING,
                Some(&oldest_page),
                "Index Scan using items_pkey",
            ),
        ] {
            let (start, end) = prefix.range_within(from, None);
            let custom: Vec<String> = client
                .query(
                    &format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"),
                    &[&start, &end, &now, &limit],
                )
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            let generic: Vec<String> = client
                .simple_query(&format!(
                    "SET plan_cache_mode = force_generic_plan;
                     PREPARE page (text, text, bigint, bigint) AS {sql};
                     EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
                         EXECUTE page('{start}', '{end}', {now}, {limit});
                     DEALLOCATE page;
                     RESET plan_cache_mode"
                ))
                .await
                .unwrap()
                .into_iter()
                .filter_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                    _ => None,
                })
                .collect();
            for plan in [&custom, &generic] {
                let text = plan.join("\n");
                // One index scan that stops after the page: it read 1000
                // rows, not the million below the prefix.
                assert!(
                    text.contains(&format!("{scan} on items (actual rows=1000 loops=1)")),
                    "{text}"
                );
                assert!(text.contains("Index Cond: ((key >= "), "{text}");
                assert!(!text.contains("Sort"), "{text}");
                assert!(!text.contains("Seq Scan"), "{text}");
            }
            let rows = client
                .query(sql, &[&start, &end, &now, &limit])
                .await
                .unwrap();
            let keys: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
            let mut expected: Vec<String> = (999_000..1_000_000)
                .map(|i| format!("/audit/{i:07}"))
                .collect();
            if sql == RANGE_DESCENDING {
                expected.reverse();
            }
            assert_eq!(keys, expected);
        }
        drop(client);
        admin
            .batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)"))
            .await
            .unwrap();
    }
}
