//! `events`: the audit log on both stores. Writes `count` events (a day of
//! a busy cluster: session starts and ends, clipboard copies and logins of
//! 200 users over 2,000 sessions), the way the auth service writes them (a
//! batch of one desktop service's events, or one control plane event at a
//! time), then times the listings people ask for: the newest 1,000, 1,000
//! from the middle of the range, one user's, one session's, and a rare type.
//! PostgreSQL is the test server of `scripts/postgres-test-server`
//! (`ORIEL_TEST_POSTGRES_URL`); without it only SQLite runs.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use oriel_auth::audit::{AuditEvent, EventType};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::{EventQuery, Store};
use oriel_backend::postgres::{NoTls, Target};
use oriel_backend::{Backend, Options, PostgresBackend, SqliteBackend, SystemClock};

use crate::report::num;

/// Events written in one batch, as a desktop service sends its own.
const BATCH: usize = 300;
const RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

pub async fn run(count: usize) -> anyhow::Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "## Audit log: writing and listing {} events\n", num(count as f64, 0));
    let _ = writeln!(
        out,
        "Events of 200 users over 2,000 sessions, one every 50 ms of event time. Written in batches of {BATCH} (as a desktop \
         service sends its own, each event under three keys in one transaction) and one at a time (as the control plane \
         writes its own). Each listing is the median of 5 runs.\n"
    );
    let _ = writeln!(
        out,
        "| store | written/s, batches | written/s, one at a time | newest 1,000 | 1,000 from the middle | one user's 1,000 | one session's | a rare type (1,000) |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteBackend::open(dir.path().join("oriel.db"), Options::default()).await?;
    let row = measure(Arc::new(sqlite), count).await?;
    let _ = writeln!(out, "| SQLite | {row}");
    match std::env::var("ORIEL_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let (backend, cleanup) = postgres(&url).await?;
            let row = measure(Arc::new(backend), count).await?;
            let _ = writeln!(out, "| PostgreSQL | {row}");
            cleanup.await?;
        }
        _ => {
            let _ = writeln!(out, "\n(No PostgreSQL: start one with `eval \"$(scripts/postgres-test-server start)\"`.)");
        }
    }
    Ok(out)
}

fn event(i: usize, start: SystemTime) -> AuditEvent {
    let kind = match i % 100 {
        0 => EventType::UserLogin,
        1 => EventType::LockCreated,
        2..=40 => EventType::ClipboardSend,
        41..=70 => EventType::ClipboardReceive,
        71..=85 => EventType::LinuxSessionStart,
        _ => EventType::LinuxSessionEnd,
    };
    let user = format!("user-{:03}", i % 200);
    AuditEvent::new(kind, true, user, start + Duration::from_millis(50 * i as u64))
        .in_session(format!("session-{:04}", i % 2000))
        .with("desktop_name", "d-bench")
        .with("linux_user", "bench")
        .with("length", i % 5000)
}

async fn measure(backend: Arc<dyn Backend>, count: usize) -> anyhow::Result<String> {
    let plane = ControlPlane::new(Store::new(backend.clone()), Arc::new(SystemClock));
    // Ending now, so that none is past the retention.
    let start = SystemTime::now() - Duration::from_millis(50 * count as u64);
    let store = plane.store();
    let started = Instant::now();
    let events: Vec<AuditEvent> = (0..count).map(|i| event(i, start)).collect();
    for batch in events.chunks(BATCH) {
        store.record_events(batch, RETENTION).await?;
    }
    let batched = count as f64 / started.elapsed().as_secs_f64();
    let singles = 1000.min(count);
    let started = Instant::now();
    for i in 0..singles {
        store.record_event(&event(count + i, start), RETENTION).await?;
    }
    let single = singles as f64 / started.elapsed().as_secs_f64();

    let middle = start + Duration::from_millis(25 * count as u64);
    let queries = [
        EventQuery::default(),
        EventQuery { until: Some(middle), ..Default::default() },
        EventQuery { user: Some("user-042".into()), ..Default::default() },
        EventQuery { session: Some("session-0042".into()), ..Default::default() },
        EventQuery { types: vec![EventType::LockCreated], ..Default::default() },
    ];
    let mut cells = Vec::new();
    for query in &queries {
        let mut times = Vec::new();
        let mut listed = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let page = plane.events(query).await?.map_err(|e| anyhow::anyhow!(e))?;
            times.push(started.elapsed());
            listed = page.events.len();
        }
        times.sort();
        cells.push(format!("{:.1} ms ({listed})", times[2].as_secs_f64() * 1000.0));
    }
    backend.close().await?;
    Ok(format!("{} | {} | {} |", num(batched, 0), num(single, 0), cells.join(" | ")))
}

/// A fresh database on the test server, and what drops it.
async fn postgres(url: &str) -> anyhow::Result<(PostgresBackend, impl std::future::Future<Output = anyhow::Result<()>>)> {
    let target = Target::parse(url)?;
    let (admin, connection) = target.config().connect(NoTls).await?;
    tokio::spawn(connection);
    let database = format!("oriel_bench_events_{}", std::process::id());
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await?;
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await?;
    let backend = PostgresBackend::open(&target.with_database(&database)?, Options::default()).await?;
    let cleanup = async move {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await?;
        Ok(())
    };
    Ok((backend, cleanup))
}
