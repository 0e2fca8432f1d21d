//! The audit log in the store, on SQLite and on the test PostgreSQL server
//! (`ORIEL_TEST_POSTGRES_URL`; ORIEL_SKIP_POSTGRES=1 skips that half on
//! purpose): events listed by time either way, filtered by type, user and
//! session, paged without gaps or repeats, bounded, written once however
//! often they are sent, and gone after the retention. What the control
//! plane's own operations write is checked here too.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::audit::{AuditEvent, AuditSettings, EventType, Rejected};
use oriel_auth::ca::{HostIdentity, HostRole};
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::store::{DesktopRecord, EventQuery, Store};
use oriel_backend::{Backend, Clock, FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;

const DAY: Duration = Duration::from_secs(86_400);

fn clock() -> Arc<FakeClock> {
    Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)))
}

fn options(clock: &Arc<FakeClock>) -> Options {
    Options { clock: clock.clone(), sweep_interval: Duration::from_millis(20), ..Options::default() }
}

/// Every event of every page of `query`.
async fn all_pages(plane: &ControlPlane, mut query: EventQuery) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    loop {
        let page = plane.events(&query).await.unwrap().unwrap();
        events.extend(page.events);
        match page.next_page {
            Some(next) => query.page = Some(next),
            None => return events,
        }
    }
}

async fn the_audit_log(backend: Arc<dyn Backend>, clock: Arc<FakeClock>) {
    let plane = ControlPlane::new(Store::new(backend.clone()), clock.clone())
        .with_audit(AuditSettings { cluster_name: "test-cluster".into(), retention: 30 * DAY })
        .acting_as("admin@ops");
    let start = clock.now();
    // 2,500 events, a second apart: sessions of two users, clipboard and logins.
    let mut written = Vec::new();
    for i in 0..2500u64 {
        let user = if i % 2 == 0 { "alice" } else { "bob" };
        let kind = match i % 5 {
            0 => EventType::UserLogin,
            1 => EventType::ClipboardSend,
            _ => EventType::LinuxSessionStart,
        };
        let event = AuditEvent::new(kind, true, user, start + Duration::from_secs(i)).in_session(format!("s-{}", i % 7)).with("n", i);
        written.push(event);
    }
    for chunk in written.chunks(700) {
        plane.store().record_events(chunk, 30 * DAY).await.unwrap();
    }
    clock.advance(Duration::from_secs(2500));

    // Newest first by default, 1000 a page, every one once over the pages.
    let first = plane.events(&EventQuery::default()).await.unwrap().unwrap();
    assert_eq!(first.events.len(), 1000);
    assert_eq!(first.events[0].fields["n"], 2499);
    assert!(first.events.windows(2).all(|w| w[0].time >= w[1].time), "newest first");
    let every = all_pages(&plane, EventQuery { limit: 333, ..Default::default() }).await;
    assert_eq!(every.len(), 2500);
    assert_eq!(every.iter().map(|e| e.uid.clone()).collect::<HashSet<_>>().len(), 2500, "no event twice");
    let oldest_first = all_pages(&plane, EventQuery { limit: 400, oldest_first: true, ..Default::default() }).await;
    assert_eq!(oldest_first.len(), 2500);
    assert!(oldest_first.windows(2).all(|w| w[0].time <= w[1].time), "oldest first");

    // A time range is [since, until).
    let range = EventQuery { since: Some(start + Duration::from_secs(100)), until: Some(start + Duration::from_secs(200)), ..Default::default() };
    let in_range = all_pages(&plane, range).await;
    assert_eq!(in_range.len(), 100);
    assert_eq!((in_range.first().unwrap().fields["n"].as_u64(), in_range.last().unwrap().fields["n"].as_u64()), (Some(199), Some(100)));

    // Filters: a user, a session, types, and together.
    let alice = all_pages(&plane, EventQuery { user: Some("alice".into()), ..Default::default() }).await;
    assert_eq!(alice.len(), 1250);
    assert!(alice.iter().all(|e| e.user == "alice"));
    let session = all_pages(&plane, EventQuery { session: Some("s-3".into()), ..Default::default() }).await;
    assert_eq!(session.len(), written.iter().filter(|e| e.sid.as_deref() == Some("s-3")).count());
    let logins = all_pages(&plane, EventQuery { types: vec![EventType::UserLogin, EventType::ClipboardSend], ..Default::default() }).await;
    assert_eq!(logins.len(), 1000);
    let both = all_pages(&plane, EventQuery { user: Some("bob".into()), types: vec![EventType::ClipboardSend], ..Default::default() }).await;
    assert_eq!(both.len(), 250);
    assert!(both.iter().all(|e| e.user == "bob" && e.event == EventType::ClipboardSend));

    // A page token from another listing is refused.
    let token = first.next_page.clone().unwrap();
    assert!(plane.events(&EventQuery { user: Some("alice".into()), page: Some(token), ..Default::default() }).await.unwrap().is_err());

    // Sent twice (a desktop service retrying), stored once.
    let again = written[10].clone();
    plane.store().record_event(&again, 30 * DAY).await.unwrap();
    assert_eq!(all_pages(&plane, EventQuery::default()).await.len(), 2500);

    // The control plane's own operations, by whoever it acts as.
    let link = plane.add_user(&UserSpec { name: "carol".into(), ..Default::default() }).await.unwrap();
    plane.remove_user("carol").await.unwrap();
    let (secret, _) = plane.add_token(oriel_auth::resources::join_token::JoinRole::LinuxDesktop, DAY, true).await.unwrap();
    let ops = plane.events(&EventQuery { user: Some("admin@ops".into()), oldest_first: true, ..Default::default() }).await.unwrap().unwrap().events;
    let kinds: Vec<_> = ops.iter().map(|e| (e.event, e.text("name").unwrap_or_default().to_owned())).collect();
    assert_eq!(kinds[..2], [(EventType::UserCreate, "carol".to_owned()), (EventType::UserDelete, "carol".to_owned())]);
    assert_eq!(ops[2].event, EventType::JoinTokenCreate);
    assert!(ops.iter().all(|e| e.cluster_name == "test-cluster"));
    let everything = serde_json::to_string(&all_pages(&plane, EventQuery::default()).await).unwrap();
    assert!(!everything.contains(&secret) && !everything.contains(&link.secret), "no token or invite secret in any event");

    // A desktop service speaks only for its own sessions, and not from the future.
    let linux_host = HostIdentity { host_id: "desk-1".into(), role: HostRole::LinuxDesktop, dns_names: vec![], ips: vec![] };
    let from_host = |event: EventType, at: SystemTime| AuditEvent::new(event, true, "alice", at).with("desktop_name", "someone-else");
    let rejected =
        plane.ingest_desktop_events(&linux_host, vec![from_host(EventType::ClipboardSend, clock.now()), from_host(EventType::UserCreate, clock.now())]);
    assert_eq!(rejected.await.unwrap(), Err((1, Rejected::NotItsType(EventType::UserCreate))));
    let ahead = plane.ingest_desktop_events(&linux_host, vec![from_host(EventType::ClipboardSend, clock.now() + DAY)]).await.unwrap();
    assert_eq!(ahead, Err((0, Rejected::FromTheFuture)));
    let windows_start = plane.ingest_desktop_events(&linux_host, vec![from_host(EventType::WindowsSessionStart, clock.now())]).await.unwrap();
    assert_eq!(windows_start, Err((0, Rejected::NotItsType(EventType::WindowsSessionStart))), "a Linux host has no Windows sessions");
    plane.ingest_desktop_events(&linux_host, vec![from_host(EventType::ClipboardReceive, clock.now())]).await.unwrap().unwrap();
    let stored = plane.events(&EventQuery { types: vec![EventType::ClipboardReceive], ..Default::default() }).await.unwrap().unwrap().events;
    assert_eq!(stored.len(), 1, "nothing of a refused batch was stored");
    assert_eq!((stored[0].text("desktop_name"), stored[0].text("desktop_service")), (Some("desk-1"), Some("desk-1")), "the host is who it is");

    // A Windows desktop service reports the sessions of the desktops it
    // registered: the event names the desktop, and only one of those.
    let windows_host = HostIdentity { host_id: "w-svc".into(), role: HostRole::WindowsDesktop, dns_names: vec![], ips: vec![] };
    let record = DesktopRecord {
        kind: DesktopKind::Windows,
        name: "win-1".into(),
        hostname: "win-1.example.com".into(),
        addr: "10.0.0.5:3389".into(),
        labels: Default::default(),
        expires: None,
        host_id: Some("w-svc".into()),
    };
    plane.register_windows_desktop(&windows_host, &record).await.unwrap();
    let on = |desktop: &str| AuditEvent::new(EventType::WindowsSessionStart, true, "alice", clock.now()).with("desktop_name", desktop);
    let other = plane.ingest_desktop_events(&windows_host, vec![on("win-1"), on("win-2")]).await.unwrap();
    assert!(matches!(other, Err((1, Rejected::NotYours(ref why))) if why.contains("win-2")), "{other:?}");
    plane.ingest_desktop_events(&windows_host, vec![on("win-1")]).await.unwrap().unwrap();
    let stored = plane.events(&EventQuery { types: vec![EventType::WindowsSessionStart], ..Default::default() }).await.unwrap().unwrap().events;
    assert_eq!(stored.len(), 1, "nothing of a refused batch was stored");
    assert_eq!((stored[0].text("desktop_name"), stored[0].text("desktop_service")), (Some("win-1"), Some("w-svc")));

    // The system's events (a host joining) name nobody, and are listed too.
    plane.store().record_event(&AuditEvent::new(EventType::InstanceJoin, false, "", clock.now()).with("host_id", "h-1"), 30 * DAY).await.unwrap();
    let joins = plane.events(&EventQuery { types: vec![EventType::InstanceJoin], ..Default::default() }).await.unwrap().unwrap().events;
    assert_eq!((joins.len(), joins[0].user.as_str(), joins[0].code()), (1, "", "TJ001E"));

    // Hostile sizes are cut before they are stored.
    let huge = AuditEvent::new(EventType::LinuxSessionStart, false, "x".repeat(100_000), clock.now()).with("error", "e".repeat(1 << 20));
    plane.store().record_event(&huge, 30 * DAY).await.unwrap();
    let newest = plane.events(&EventQuery { limit: 1, ..Default::default() }).await.unwrap().unwrap().events;
    assert!(newest[0].user.len() <= 256 && newest[0].text("error").unwrap().len() <= oriel_auth::audit::MAX_FIELD);

    // After the retention every event is gone: hidden at once, then swept.
    clock.advance(31 * DAY);
    assert!(plane.events(&EventQuery::default()).await.unwrap().unwrap().events.is_empty());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !backend.list(&oriel_backend::Prefix::new("/audit/").unwrap(), 10).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "expired events are swept from the store");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    backend.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), options(&clock)).await.unwrap();
    the_audit_log(Arc::new(backend), clock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let clock = clock();
    let Some((backend, database)) = support::postgres_backend("audit", options(&clock)).await else { return };
    the_audit_log(Arc::new(backend), clock).await;
    database.drop_database().await;
}
