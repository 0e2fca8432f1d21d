//! Taking access away reaches running sessions on both stores: each change
//! (a role edited, a role taken from the user, a lock, a logout, a password
//! reset, the user removed) moves the access feed, which the store's watch
//! drives, and the session's certificate is then refused. On SQLite and on
//! the test PostgreSQL server (`ORIEL_TEST_POSTGRES_URL`; ORIEL_SKIP_POSTGRES=1
//! skips that half on purpose).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::access_feed::AccessChanges;
use oriel_auth::control_plane::{ControlPlane, InviteLink, UserSpec};
use oriel_auth::resources::lock::LockTarget;
use oriel_auth::store::{DesktopRecord, Store};
use oriel_backend::{Backend, Clock, FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;
use tokio::sync::watch;

const PATIENCE: Duration = Duration::from_secs(30);

const DEV: &str = "kind: role
version: v7
metadata:
  name: dev
spec:
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
";

const DEV_WITHOUT_LOGINS: &str = "kind: role
version: v7
metadata:
  name: dev
spec:
  allow:
    linux_desktop_labels:
      '*': '*'
";

fn clock() -> Arc<FakeClock> {
    Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)))
}

fn alice() -> UserSpec {
    UserSpec { name: "alice".into(), roles: vec!["dev".into()], linux_logins: vec!["alice".into()], ..Default::default() }
}

/// A browser's login: the invite's enrollment, a password, a code. The
/// cookie's secret and the certificate it holds.
async fn log_in(plane: &ControlPlane, clock: &FakeClock, link: &InviteLink) -> (String, Vec<u8>) {
    let page = plane.enrollment(&link.secret).await.unwrap();
    let now = clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let code = oriel_auth::second_factor::TotpDevice::from_base32(&page.totp_secret).unwrap().code_at(now).unwrap();
    let cookie = plane.accept_invite(&link.secret, "a long enough password", &code).await.unwrap();
    let certificate = plane.session_user(&cookie.secret).await.unwrap().session.certificate.unwrap().cert_der;
    (cookie.secret, certificate)
}

/// Makes `change`, and waits until the feed moves after it was made.
async fn moved<T>(changes: &mut watch::Receiver<AccessChanges>, what: &str, change: impl std::future::Future<Output = T>) -> T {
    changes.borrow_and_update();
    let made = change.await;
    tokio::time::timeout(PATIENCE, changes.changed()).await.unwrap_or_else(|_| panic!("{what} moves the feed")).unwrap();
    made
}

async fn revocations_reach_running_sessions(backend: Arc<dyn Backend>, clock: Arc<FakeClock>) {
    let plane = ControlPlane::new(Store::new(backend.clone()), clock.clone());
    plane.create_roles(&oriel_rbac::parse_roles("dev.yaml", DEV).unwrap(), false).await.unwrap();
    let desktop = DesktopRecord {
        kind: DesktopKind::Linux,
        name: "d-dev".into(),
        hostname: "d-dev".into(),
        addr: "127.0.0.1:3029".into(),
        labels: BTreeMap::new(),
        expires: None,
        host_id: None,
    };
    plane.store().put_desktop(&desktop).await.unwrap();
    let link = plane.add_user(&alice()).await.unwrap();
    let (cookie, certificate) = log_in(&plane, &clock, &link).await;
    let decide = || plane.reauthorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice");

    let mut changes = plane.access_changes();
    tokio::time::timeout(PATIENCE, changes.wait_for(|state| state.live)).await.expect("the feed goes live").unwrap();
    decide().await.expect("the session is allowed to begin with");

    // A role edit that takes the login away, then puts it back.
    moved(&mut changes, "a role edit", plane.create_roles(&oriel_rbac::parse_roles("dev.yaml", DEV_WITHOUT_LOGINS).unwrap(), true)).await.unwrap();
    decide().await.expect_err("a role without the login ends the session");
    moved(&mut changes, "a role edit", plane.create_roles(&oriel_rbac::parse_roles("dev.yaml", DEV).unwrap(), true)).await.unwrap();
    decide().await.expect("the login is back");

    // The role taken from the user, then given back.
    moved(&mut changes, "a user update", plane.update_user(&UserSpec { roles: vec![], ..alice() })).await.unwrap();
    decide().await.expect_err("without the role the session ends");
    moved(&mut changes, "a user update", plane.update_user(&alice())).await.unwrap();
    decide().await.expect("the role is back");

    // A lock, then its removal.
    let lock = moved(&mut changes, "a lock", plane.lock(LockTarget { user: Some("alice".into()), ..Default::default() }, None, Some("incident 7".into())))
        .await
        .unwrap();
    let locked = decide().await.unwrap_err();
    assert_eq!(locked.to_string(), "access denied: locked (incident 7)");
    moved(&mut changes, "a lock's removal", plane.store().delete_lock(&lock.name)).await.unwrap();
    decide().await.expect("the lock is gone");

    // A logout of the web session the certificate came from.
    moved(&mut changes, "a logout", plane.logout(&cookie)).await.unwrap();
    decide().await.expect_err("the login has ended");

    // A password reset ends every login of the user.
    let link = plane.reset_user("alice").await.unwrap();
    let (_, certificate) = log_in(&plane, &clock, &link).await;
    moved(&mut changes, "a reset", plane.reset_user("alice")).await.unwrap();
    plane.reauthorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice").await.expect_err("a reset ends the login");

    // The user removed.
    let link = plane.invite("alice").await.unwrap();
    plane.update_user(&alice()).await.unwrap();
    let (_, certificate) = log_in(&plane, &clock, &link).await;
    moved(&mut changes, "a removal", plane.remove_user("alice")).await.unwrap();
    let removed = plane.reauthorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice").await.unwrap_err();
    assert_eq!(removed.to_string(), "access denied: user \"alice\" not found");
    backend.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    revocations_reach_running_sessions(Arc::new(backend), clock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let clock = clock();
    let Some((backend, database)) = support::postgres_backend("access_feed", Options { clock: clock.clone(), ..Options::default() }).await else { return };
    revocations_reach_running_sessions(Arc::new(backend), clock).await;
    database.drop_database().await;
}
