//! Bringing the database's schema up to date.

use tokio_postgres::Client;

use super::Fail;
use crate::BackendError;

/// Each migration, in order; `schema_version` records the ones applied.
/// Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: items, and the event log whose ids are the revisions. Keys collate
    // as "C" (byte-wise), whatever the database's locale, so that every
    // driver lists in the same order and prefix ranges hold.
    r#"CREATE SEQUENCE revision;
    CREATE TABLE items (
        key text COLLATE "C" PRIMARY KEY,
        value bytea NOT NULL,
        revision bigint NOT NULL,
        expires bigint
    );
    CREATE INDEX items_expires ON items (expires) WHERE expires IS NOT NULL;
    CREATE TABLE events (
        id bigint PRIMARY KEY,
        kind smallint NOT NULL,
        key text COLLATE "C" NOT NULL,
        value bytea,
        expires bigint,
        created bigint NOT NULL
    );
    CREATE INDEX events_created ON events (created);
    CREATE TABLE meta (name text PRIMARY KEY, value bigint NOT NULL);"#,
];

pub(super) async fn migrate(client: &mut Client) -> Result<(), Fail> {
    let tx = client.transaction().await?;
    // The lock makes nodes that start together migrate one after the other.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(1869769061, 2);
         CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
    )
    .await?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await?
        .try_get(0)?;
    let supported = MIGRATIONS.len() as i32;
    if found > supported {
        return Err(BackendError::SchemaTooNew {
            found: found.into(),
            supported: supported.into(),
        }
        .into());
    }
    for (version, migration) in (1..).zip(MIGRATIONS).skip(found as usize) {
        tx.batch_execute(migration).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1::integer)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "migrated the PostgreSQL storage schema");
    }
    tx.commit().await?;
    Ok(())
}
