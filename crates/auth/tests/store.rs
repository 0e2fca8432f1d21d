//! The control plane's resources through the real SQLite backend; OIDC
//! connectors on the test PostgreSQL server too (`ORIEL_TEST_POSTGRES_URL`;
//! ORIEL_SKIP_POSTGRES=1 skips that half on purpose).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::password::PasswordHashString;
use oriel_auth::resources::join_token::{JoinRole, JoinToken};
use oriel_auth::resources::lock::{Lock, LockTarget};
use oriel_auth::resources::oidc_connector::OidcConnector;
use oriel_auth::resources::sso_mapping::ClaimMapping;
use oriel_auth::resources::user::{Credentials, Traits, User, UserName};
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::store::{DesktopRecord, Store, StoreError};
use oriel_backend::{FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;

const T0: Duration = Duration::from_secs(1_790_000_000);

async fn store() -> (Store, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + T0));
    let options = Options { clock: clock.clone(), ..Options::default() };
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), options).await.unwrap();
    (Store::new(Arc::new(backend)), clock, dir)
}

fn alice() -> User {
    User {
        name: UserName::parse("alice").unwrap(),
        roles: vec!["access".into()],
        traits: Traits::new().with("linux_logins", ["alice", "dev"]),
        credentials: None,
        id: String::new(),
        sso: None,
    }
}

#[tokio::test]
async fn users_round_trip_and_concurrent_changes_conflict() {
    let (store, _clock, _dir) = store().await;
    store.create_user(&alice()).await.unwrap();
    let err = store.create_user(&alice()).await.unwrap_err();
    assert_eq!(err.to_string(), "user \"alice\" already exists (use --force to overwrite)");

    let read = store.user("alice").await.unwrap();
    let id = read.value.id.clone();
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "the store gives a user a random id: {id:?}");
    assert_eq!(read.value, User { id: id.clone(), ..alice() });
    let mut enrolled = read.value.clone();
    enrolled.credentials = Some(Credentials::with_totp(PasswordHashString::new("a long enough password").unwrap(), TotpDevice::generate().unwrap()));
    // An update keeps the stored id, whatever it says.
    let swapped = store.swap_user(&User { id: "forged".into(), ..enrolled.clone() }, read.revision).await.unwrap();
    assert_eq!(store.user("alice").await.unwrap().value.id, id);
    store.swap_user(&enrolled, swapped).await.unwrap();
    assert!(matches!(store.swap_user(&enrolled, read.revision).await, Err(StoreError::Conflict { .. })), "stale revision");
    let stored = store.user("alice").await.unwrap().value;
    assert_eq!(stored, enrolled, "hashes and TOTP state survive storage");
    assert!(stored.credentials.unwrap().password.verify("a long enough password"));
    assert_eq!(store.users().await.unwrap().len(), 1);
    store.delete_user("alice").await.unwrap();
    assert_eq!(store.user("alice").await.unwrap_err().to_string(), "user \"alice\" not found");
    // The same name made again is another user.
    store.create_user(&User { id: id.clone(), ..alice() }).await.unwrap();
    assert_ne!(store.user("alice").await.unwrap().value.id, id, "a re-created user gets a new id");
    assert!(matches!(store.user("../etc").await, Err(StoreError::InvalidName { .. })));
}

#[tokio::test]
async fn roles_keep_their_yaml_and_need_force_to_be_replaced() {
    let (store, _clock, _dir) = store().await;
    let yaml = "kind: role\nversion: v7\nmetadata:\n  name: dev\nspec:\n  allow:\n    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      env: [dev]\n";
    let role = oriel_rbac::parse_role("dev.yaml", yaml).unwrap();
    store.put_role(&role, false).await.unwrap();
    assert!(matches!(store.put_role(&role, false).await, Err(StoreError::AlreadyExists { .. })));
    store.put_role(&role, true).await.unwrap();
    assert_eq!(store.role("dev").await.unwrap(), role);
    assert_eq!(store.roles().await.unwrap(), [role]);
}

#[tokio::test]
async fn desktops_leave_listings_when_they_expire() {
    let (store, clock, _dir) = store().await;
    let desktop = DesktopRecord {
        kind: DesktopKind::Linux,
        name: "0b7c2a8e-5b1f-4b7e-9d0a-3f1e2d4c5b6a".into(),
        hostname: "build-1".into(),
        addr: "10.0.0.5:3029".into(),
        labels: BTreeMap::from([("env".to_owned(), "dev".to_owned())]),
        expires: Some(SystemTime::UNIX_EPOCH + T0 + Duration::from_secs(300)),
        host_id: None,
    };
    store.put_desktop(&desktop).await.unwrap();
    assert_eq!(store.desktops(DesktopKind::Linux).await.unwrap(), std::slice::from_ref(&desktop));
    assert!(store.desktops(DesktopKind::Windows).await.unwrap().is_empty());
    assert_eq!(store.desktop(DesktopKind::Linux, &desktop.name).await.unwrap().to_rbac().labels["env"], "dev");
    clock.advance(Duration::from_secs(301));
    assert!(store.desktops(DesktopKind::Linux).await.unwrap().is_empty(), "no heartbeat, no listing");
}

#[tokio::test]
async fn a_desktop_is_swapped_only_from_the_revision_read() {
    let (store, clock, _dir) = store().await;
    let expires = Some(SystemTime::UNIX_EPOCH + T0 + Duration::from_secs(300));
    let of = |host: &str| DesktopRecord {
        kind: DesktopKind::Windows,
        name: "win-1".into(),
        hostname: "win-1.example.com".into(),
        addr: "10.0.0.9:3389".into(),
        labels: BTreeMap::new(),
        expires,
        host_id: Some(host.into()),
    };
    // Two services that both found no record: the first write wins.
    store.swap_desktop(&of("w-1"), None).await.unwrap();
    assert!(matches!(store.swap_desktop(&of("w-2"), None).await, Err(StoreError::AlreadyExists { .. })));
    // A write since the read: the swap from the older revision fails.
    let read = store.desktop_versioned(DesktopKind::Windows, "win-1").await.unwrap();
    store.swap_desktop(&of("w-1"), Some(read.revision)).await.unwrap();
    assert!(matches!(store.swap_desktop(&of("w-2"), Some(read.revision)).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.desktop(DesktopKind::Windows, "win-1").await.unwrap().host_id.as_deref(), Some("w-1"));
    // Once it expired, the name is free again.
    clock.advance(Duration::from_secs(301));
    store.swap_desktop(&of("w-2"), None).await.unwrap();
}

#[tokio::test]
async fn locks_and_one_time_tokens() {
    let (store, clock, _dir) = store().await;
    let now = SystemTime::UNIX_EPOCH + T0;
    let lock = Lock {
        name: "incident-1".into(),
        target: LockTarget { user: Some("alice".into()), ..Default::default() },
        message: Some("investigating".into()),
        expires: Some(now + Duration::from_secs(60)),
    };
    store.create_lock(&lock).await.unwrap();
    assert_eq!(store.locks().await.unwrap(), [lock]);
    clock.advance(Duration::from_secs(61));
    assert!(store.locks().await.unwrap().is_empty(), "an expired lock is gone at once");

    let token = JoinToken {
        secret_hash: oriel_auth::bearer::hash("s3cret"),
        roles: vec![JoinRole::LinuxDesktop],
        expires: now + Duration::from_secs(3600),
        one_time: true,
        used: false,
    };
    store.create_token(&token).await.unwrap();
    let read = store.token(&token.secret_hash).await.unwrap();
    store.use_token(&read.value, read.revision).await.unwrap();
    assert!(matches!(store.use_token(&read.value, read.revision).await, Err(StoreError::Conflict { .. })), "used once only");
    assert!(store.token(&token.secret_hash).await.unwrap().value.used);
}

fn connector(name: &str, secret: &str) -> OidcConnector {
    OidcConnector {
        name: name.into(),
        display: (name == "corp").then(|| "Corp SSO".into()),
        issuer_url: "https://idp.example.com".into(),
        client_id: "oriel".into(),
        client_secret: secret.into(),
        redirect_url: "https://oriel.example.com/api/sso/oidc/callback".into(),
        scope: vec!["email".into(), "groups".into()],
        username_claim: "email".into(),
        claims_to_roles: vec![ClaimMapping { claim: "groups".into(), value: "^env-(.*)$".into(), roles: vec!["$1-access".into()] }],
    }
}

/// The four calls the login and orielctl use, on any backend.
async fn oidc_connectors_are_kept_with_their_secret(store: Store) {
    assert!(store.oidc_connectors().await.unwrap().is_empty());
    let err = store.oidc_connector("corp").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert_eq!(err.to_string(), "oidc \"corp\" not found");

    // Listed by name whatever the order they were made in.
    for name in ["zeta", "corp", "alpha"] {
        store.put_oidc_connector(&connector(name, "s3cret"), false).await.unwrap();
    }
    let names: Vec<String> = store.oidc_connectors().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["alpha", "corp", "zeta"]);
    assert_eq!(store.oidc_connector("corp").await.unwrap(), connector("corp", "s3cret"), "every field, the secret too, survives storage");

    let err = store.put_oidc_connector(&connector("corp", "other"), false).await.unwrap_err();
    assert_eq!(err.to_string(), "oidc \"corp\" already exists (use --force to overwrite)");
    assert_eq!(store.oidc_connector("corp").await.unwrap().client_secret, "s3cret", "unchanged without force");
    store.put_oidc_connector(&connector("corp", "rotated"), true).await.unwrap();
    assert_eq!(store.oidc_connector("corp").await.unwrap().client_secret, "rotated");

    store.delete_oidc_connector("corp").await.unwrap();
    assert!(matches!(store.oidc_connector("corp").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.delete_oidc_connector("corp").await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.oidc_connectors().await.unwrap().len(), 2);

    for bad in ["", "a/b", ".."] {
        let err = store.put_oidc_connector(&connector(bad, "s3cret"), true).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidName { .. }), "{bad:?}: {err}");
        assert!(matches!(store.oidc_connector(bad).await, Err(StoreError::InvalidName { .. })), "{bad:?}");
    }
}

#[tokio::test]
async fn oidc_connectors_on_sqlite() {
    let (store, _clock, _dir) = store().await;
    oidc_connectors_are_kept_with_their_secret(store).await;
}

#[tokio::test]
async fn oidc_connectors_on_postgres() {
    let Some((backend, database)) = support::postgres_backend("store_oidc", Options::default()).await else { return };
    let backend = Arc::new(backend);
    oidc_connectors_are_kept_with_their_secret(Store::new(backend.clone())).await;
    oriel_backend::Backend::close(&*backend).await.unwrap();
    database.drop_database().await;
}
