//! Access decisions are bounded: a stranger who can reach a desktop service
//! can make one be written, so each record's fields are capped and every
//! record expires. On SQLite and on the test PostgreSQL server (through its
//! unix socket, `ORIEL_TEST_POSTGRES_URL`; ORIEL_SKIP_POSTGRES=1 skips that
//! half on purpose).

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::ca::UserIdentity;
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::store::{DECISION_TTL, DecisionRecord, MAX_DECISION_FIELD, MAX_DECISION_REASON, Store, millis};
use oriel_backend::{Backend, Clock, FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;

fn options(clock: &Arc<FakeClock>) -> Options {
    Options { clock: clock.clone(), sweep_interval: Duration::from_millis(20), ..Options::default() }
}

fn clock() -> Arc<FakeClock> {
    Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)))
}

/// Long logins, desktop names and reasons are cut; a month later every
/// record is gone.
async fn decisions_are_capped_and_expire(backend: Arc<dyn Backend>, clock: Arc<FakeClock>) {
    let plane = ControlPlane::new(Store::new(backend.clone()), clock.clone());
    plane.add_user(&UserSpec { name: "alice".into(), roles: vec![], linux_logins: vec!["alice".into()], windows_logins: vec![] }).await.unwrap();
    let long_login = "l".repeat(100_000);
    let long_desktop = "d".repeat(100_000);

    // Denied: the user has no role. Every field the caller chose is cut.
    let cert = plane
        .cert_authority()
        .await
        .unwrap()
        .issue_user(&UserIdentity { user: "alice".into(), ..Default::default() }, Duration::from_secs(3600), clock.now())
        .unwrap();
    plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, &long_desktop, &long_login).await.unwrap_err();

    // A reason of any length (a disconnect's is the caller's words).
    let long_reason = format!("ended because {}", "r".repeat(100_000));
    let disconnect = DecisionRecord {
        time_ms: millis(clock.now()),
        event: "client.disconnect".into(),
        user: "alice".into(),
        login: "alice".into(),
        desktop_kind: "linux".into(),
        desktop: "d-dev".into(),
        allowed: false,
        reason: long_reason,
    };
    plane.store().record_decision(&disconnect).await.unwrap();

    let decisions = plane.store().decisions().await.unwrap();
    assert_eq!(decisions.len(), 2);
    let first = &decisions[0];
    assert_eq!(first.user, "alice");
    for field in [&first.login, &first.desktop] {
        assert!(field.len() <= MAX_DECISION_FIELD && field.ends_with('…'), "{} bytes", field.len());
    }
    assert!(first.login.starts_with("llll") && first.desktop.starts_with("dddd"));
    assert!(first.reason.len() <= MAX_DECISION_REASON);
    let second = &decisions[1];
    assert!(second.reason.len() <= MAX_DECISION_REASON && second.reason.ends_with('…'), "{} bytes", second.reason.len());
    assert!(second.reason.starts_with("ended because rrrr"), "the reason's start is kept");
    assert_eq!((second.event.as_str(), second.desktop.as_str()), ("client.disconnect", "d-dev"), "short fields are kept");
    for item in backend.list(&oriel_backend::Prefix::new("/decisions/").unwrap(), 10).await.unwrap() {
        assert!(item.value.len() < 4096, "a record of {} bytes", item.value.len());
        let expires = item.expires.expect("a decision expires");
        assert_eq!(expires, clock.now() + DECISION_TTL);
    }

    // Still there the day before; gone after the TTL.
    clock.advance(DECISION_TTL - Duration::from_secs(86_400));
    assert_eq!(plane.store().decisions().await.unwrap().len(), 2);
    clock.advance(Duration::from_secs(86_401));
    assert!(plane.store().decisions().await.unwrap().is_empty(), "expired decisions are not listed");
    backend.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), options(&clock)).await.unwrap();
    decisions_are_capped_and_expire(Arc::new(backend), clock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let clock = clock();
    let Some((backend, database)) = support::postgres_backend("decisions", options(&clock)).await else { return };
    decisions_are_capped_and_expire(Arc::new(backend), clock).await;
    database.drop_database().await;
}
