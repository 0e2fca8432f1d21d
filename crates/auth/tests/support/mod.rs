//! A database of its own on the test PostgreSQL server, for the tests that
//! run on both stores.

use oriel_backend::postgres::{NoTls, Target};
use oriel_backend::{Options, PostgresBackend};

/// A fresh database `name` on the server `ORIEL_TEST_POSTGRES_URL` names
/// (its unix socket), open with `options`; `None` when ORIEL_SKIP_POSTGRES=1
/// skips PostgreSQL on purpose. The database is dropped with the guard.
pub async fn postgres_backend(name: &str, options: Options) -> Option<(PostgresBackend, Database)> {
    let url = match std::env::var("ORIEL_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("ORIEL_SKIP_POSTGRES").as_deref() == Ok("1") => return None,
        _ => panic!("ORIEL_TEST_POSTGRES_URL is not set: start a server with `eval \"$(scripts/postgres-test-server start)\"`, or set ORIEL_SKIP_POSTGRES=1"),
    };
    let target = Target::parse(&url).unwrap();
    let (admin, connection) = target.config().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    let database = format!("oriel_{name}_{}", std::process::id());
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await.unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();
    let target = target.with_database(&database).unwrap();
    let backend = PostgresBackend::open(&target, options).await.unwrap();
    Some((backend, Database { admin, name: database }))
}

/// Drops its database when asked.
pub struct Database {
    admin: oriel_backend::postgres::Client,
    name: String,
}

impl Database {
    /// Drops the database (after the backend on it is closed).
    pub async fn drop_database(self) {
        self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await.unwrap();
    }
}
