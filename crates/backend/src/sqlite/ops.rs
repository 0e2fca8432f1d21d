//! Each operation as one blocking transaction on a connection.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::Fail;
use crate::journal::{self, BATCH, Batch, KIND_DELETE, KIND_PUT, Write};
use crate::{BackendError, Item, Key, NewItem, Order, Prefix, Revision};

/// How many expired items one sweep transaction removes at most.
const SWEEP_BATCH: i64 = 1000;

const LIVE: &str = "(expires IS NULL OR expires > ?2)";

fn item(row: &Row<'_>) -> rusqlite::Result<(String, Vec<u8>, i64, Option<i64>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_item(
    (key, value, revision, expires): (String, Vec<u8>, i64, Option<i64>),
) -> Result<Item, Fail> {
    let key = Key::new(key)
        .map_err(|e| BackendError::internal(format!("the store holds a bad key: {e}")))?;
    Ok(Item {
        key,
        value,
        revision: journal::revision(revision),
        expires: expires.map(journal::time),
    })
}

/// Appends an event; its id is the write's revision.
fn append(
    conn: &Connection,
    kind: i16,
    key: &str,
    value: Option<&[u8]>,
    expires: Option<i64>,
    now: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO events (kind, key, value, expires, created) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![kind, key, value, expires, now])?;
    Ok(conn.last_insert_rowid())
}

fn live_revision(conn: &Connection, key: &str, now: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(&format!(
        "SELECT revision FROM items WHERE key = ?1 AND {LIVE}"
    ))?
    .query_row(params![key, now], |row| row.get(0))
    .optional()
}

pub(super) fn get(conn: &Connection, key: &Key, now: i64) -> Result<Item, Fail> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT key, value, revision, expires FROM items WHERE key = ?1 AND {LIVE}"
        ))?
        .query_row(params![key.as_str(), now], item)
        .optional()?;
    to_item(row.ok_or_else(|| BackendError::NotFound(key.clone()))?)
}

/// The live items in `[start, end)`; ?1 start, ?2 now, ?3 end, ?4 limit.
/// The bounds on `key` make it a range search of the primary key's index,
/// and `ORDER BY key` either way is that index's order, read forwards or
/// backwards: no sort, and `LIMIT` stops the scan.
fn range_sql(order: Order) -> String {
    let direction = match order {
        Order::Ascending => "ASC",
        Order::Descending => "DESC",
    };
    format!(
        "SELECT key, value, revision, expires FROM items
         WHERE key >= ?1 AND key < ?3 AND {LIVE} ORDER BY key {direction} LIMIT ?4"
    )
}

/// At most `limit` live items with keys in `[start, end)`, in `order`.
pub(super) fn range(
    conn: &Connection,
    (start, end): (&str, &str),
    limit: usize,
    order: Order,
    now: i64,
) -> Result<Vec<Item>, Fail> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut statement = conn.prepare_cached(&range_sql(order))?;
    let rows = statement.query_map(params![start, now, end, limit], item)?;
    rows.map(|row| to_item(row?)).collect()
}

/// Stores `item` whatever is at its key, with a put event; returns its revision.
fn store(tx: &Connection, item: &NewItem, expires: Option<i64>, now: i64) -> rusqlite::Result<i64> {
    let key = item.key.as_str();
    let revision = append(tx, KIND_PUT, key, Some(&item.value), expires, now)?;
    tx.prepare_cached(
        "INSERT INTO items (key, value, revision, expires) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires = excluded.expires",
    )?
    .execute(params![key, item.value, revision, expires])?;
    Ok(revision)
}

pub(super) fn write(
    conn: &mut Connection,
    how: Write,
    item: &NewItem,
    expires: Option<i64>,
    now: i64,
) -> Result<Revision, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let key = item.key.as_str();
    let current = live_revision(&tx, key, now)?;
    match (how, current) {
        (Write::Create, Some(_)) => {
            return Err(BackendError::AlreadyExists(item.key.clone()).into());
        }
        (Write::Update, None) => return Err(BackendError::NotFound(item.key.clone()).into()),
        (Write::Swap(expected), current) if current != Some(journal::stored_revision(expected)) => {
            return Err(BackendError::CompareFailed(item.key.clone()).into());
        }
        _ => {}
    }
    let revision = store(&tx, item, expires, now)?;
    tx.commit()?;
    Ok(journal::revision(revision))
}

/// Puts every item in one transaction; `expires` holds each one's expiry as
/// stored. Returns the last revision; `items` is not empty.
pub(super) fn put_many(
    conn: &mut Connection,
    items: &[NewItem],
    expires: &[Option<i64>],
    now: i64,
) -> Result<Revision, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut last = None;
    for (item, &expires) in items.iter().zip(expires) {
        last = Some(store(&tx, item, expires, now)?);
    }
    let last = last.ok_or_else(|| BackendError::internal("an empty batch reached the store"))?;
    tx.commit()?;
    Ok(journal::revision(last))
}

pub(super) fn keep_alive(
    conn: &mut Connection,
    key: &Key,
    expected: Revision,
    expires: i64,
    now: i64,
) -> Result<Revision, Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(&format!(
            "SELECT revision, value FROM items WHERE key = ?1 AND {LIVE}"
        ))?
        .query_row(params![key.as_str(), now], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((current, value)) = current else {
        return Err(BackendError::NotFound(key.clone()).into());
    };
    if current != journal::stored_revision(expected) {
        return Err(BackendError::CompareFailed(key.clone()).into());
    }
    let revision = append(
        &tx,
        KIND_PUT,
        key.as_str(),
        Some(&value),
        Some(expires),
        now,
    )?;
    tx.prepare_cached("UPDATE items SET revision = ?2, expires = ?3 WHERE key = ?1")?
        .execute(params![key.as_str(), revision, expires])?;
    tx.commit()?;
    Ok(journal::revision(revision))
}

pub(super) fn delete(conn: &mut Connection, key: &Key, now: i64) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let deleted = tx
        .prepare_cached(&format!("DELETE FROM items WHERE key = ?1 AND {LIVE}"))?
        .execute(params![key.as_str(), now])?;
    if deleted == 0 {
        return Err(BackendError::NotFound(key.clone()).into());
    }
    append(&tx, KIND_DELETE, key.as_str(), None, None, now)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn delete_range(conn: &mut Connection, prefix: &Prefix, now: i64) -> Result<(), Fail> {
    let (start, end) = prefix.range();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let keys = tx
        .prepare_cached("SELECT key FROM items WHERE key >= ?1 AND key < ?2 ORDER BY key")?
        .query_map(params![start, end], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.prepare_cached("DELETE FROM items WHERE key >= ?1 AND key < ?2")?
        .execute(params![start, end])?;
    for key in &keys {
        append(&tx, KIND_DELETE, key, None, None, now)?;
    }
    tx.commit()?;
    Ok(())
}

/// Removes expired items, each with a delete event; returns how many.
pub(super) fn sweep(conn: &mut Connection, now: i64) -> Result<usize, Fail> {
    // A plain read first, so that an idle sweep never takes the write lock.
    let due: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE expires <= ?1)")?
        .query_row([now], |row| row.get(0))?;
    if !due {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let keys = tx
        .prepare_cached("SELECT key FROM items WHERE expires <= ?1 ORDER BY key LIMIT ?2")?
        .query_map(params![now, SWEEP_BATCH], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for key in &keys {
        tx.prepare_cached("DELETE FROM items WHERE key = ?1")?
            .execute([key])?;
        append(&tx, KIND_DELETE, key, None, None, now)?;
    }
    tx.commit()?;
    Ok(keys.len())
}

/// Drops events created before `before`, remembering the highest id dropped.
pub(super) fn prune(conn: &mut Connection, before: i64) -> Result<(), Fail> {
    let through: Option<i64> = conn
        .prepare_cached("SELECT max(id) FROM events WHERE created < ?1")?
        .query_row([before], |row| row.get(0))?;
    let Some(through) = through else {
        return Ok(());
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("DELETE FROM events WHERE id <= ?1")?
        .execute([through])?;
    tx.prepare_cached(
        "INSERT INTO meta (name, value) VALUES ('pruned_through', ?1)
         ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute([through])?;
    tx.commit()?;
    Ok(())
}

/// Reads the events after `cursor`, from one snapshot.
pub(super) fn read_events(conn: &mut Connection, cursor: u64) -> Result<Batch, Fail> {
    let tx = conn.transaction()?;
    let (pruned_through, head): (i64, i64) = tx
        .prepare_cached(
            "SELECT coalesce((SELECT value FROM meta WHERE name = 'pruned_through'), 0),
                    coalesce((SELECT max(id) FROM events), 0)",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let events = tx
        .prepare_cached(
            "SELECT id, kind, key, value, expires FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![cursor as i64, BATCH as i64], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .map(|row| {
            let (id, kind, key, value, expires) = row?;
            Ok(journal::event(id, kind, key, value, expires)?)
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    tx.commit()?;
    Ok(Batch {
        pruned_through: pruned_through as u64,
        head: head.max(pruned_through) as u64,
        events,
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// The newest 1,000 of 1,000,000 keys below a prefix (and the oldest,
    /// from a bound) are one range search of the primary key's index, read
    /// backwards or forwards: SQLite's plan names the index and no temporary
    /// b-tree (a sort), and its counters show no sort and no full-scan step.
    #[test]
    fn a_page_of_a_million_keys_is_one_index_range_search() {
        const KEYS: i64 = 1_000_000;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(&dir.path().join("range.sqlite"))
            .map_err(BackendError::from)
            .unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
             INSERT INTO items (key, value, revision) SELECT printf('/audit/%07d', i), x'00', i + 1 FROM n",
            [KEYS],
        )
        .unwrap();
        // Neighbours on both sides of the prefix, which the range must skip.
        for (revision, key) in [(-1, "/audis/z"), (-2, "/audit0/a"), (-3, "/b/a")] {
            tx.execute(
                "INSERT INTO items (key, value, revision) VALUES (?1, x'00', ?2)",
                params![key, revision],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        // With statistics the planner knows how big the table is: the plan
        // it picks then is the one a full store gets.
        conn.execute_batch("ANALYZE").unwrap();

        let prefix = Prefix::new("/audit/").unwrap();
        let oldest_page = Key::new(format!("/audit/{:07}", KEYS - 1000)).unwrap();
        let now = 0;
        for (order, from) in [
            (Order::Descending, None),
            (Order::Ascending, Some(&oldest_page)),
        ] {
            let (start, end) = prefix.range_within(from, None);
            let sql = range_sql(order);
            let bounds = params![start, now, end, 1000];
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(bounds, |row| row.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(
                plan,
                ["SEARCH items USING INDEX sqlite_autoindex_items_1 (key>? AND key<?)"],
                "{order:?}: one range search of the primary key's index, no temp b-tree"
            );

            let mut statement = conn.prepare(&sql).unwrap();
            let read = statement
                .query_map(bounds, |row| row.get::<_, String>(0))
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            assert_eq!(statement.get_status(StatementStatus::Sort), 0);
            assert_eq!(statement.get_status(StatementStatus::FullscanStep), 0);
            // Work in proportion to the page (tens of steps a row), not to
            // the million rows below the prefix.
            let steps = statement.get_status(StatementStatus::VmStep);
            assert!(steps < 100_000, "{order:?}: {steps} VM steps for 1000 rows");
            let mut expected: Vec<String> = (KEYS - 1000..KEYS)
                .map(|i| format!("/audit/{i:07}"))
                .collect();
            if order == Order::Descending {
                expected.reverse();
            }
            assert_eq!(read, expected);
            let items = range(&conn, (&start, &end), 1000, order, now)
                .map_err(BackendError::from)
                .unwrap();
            assert!(
                items.iter().map(|i| i.key.as_str()).eq(expected.iter()),
                "the driver reads the same page"
            );
        }
    }
}
