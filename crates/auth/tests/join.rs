//! Joining over real SQLite: a join token buys a host certificate once
//! (one-time) or many times (reusable); expired, used, unknown and
//! mistyped tokens are refused with their reason; renewal needs a valid
//! host certificate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::ca::HostRole;
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::join::{HOST_CERT_TTL, JoinError, JoinRequest};
use oriel_auth::resources::join_token::{JoinRole, TokenError};
use oriel_auth::store::Store;
use oriel_backend::{FakeClock, Options, SqliteBackend};

const MINUTE: Duration = Duration::from_secs(60);

async fn plane() -> (ControlPlane, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    (ControlPlane::new(Store::new(Arc::new(backend)), clock.clone()), clock, dir)
}

/// Who a host certificate speaks for, as the cluster's host CA reads it now.
async fn host_of(plane: &ControlPlane, clock: &FakeClock, der: &[u8]) -> oriel_auth::ca::HostIdentity {
    plane.cert_authority().await.unwrap().verify_host(der, oriel_backend::Clock::now(clock)).unwrap()
}

fn request(token: &str, role: JoinRole, host_id: &str) -> JoinRequest {
    JoinRequest { token: token.into(), role, host_id: host_id.into(), dns_names: vec!["desk1.example.com".into()], ips: vec!["10.0.0.7".parse().unwrap()] }
}

#[tokio::test]
async fn a_one_time_token_joins_one_host_with_a_certificate_of_its_role() {
    let (plane, clock, _dir) = plane().await;
    let (secret, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, true).await.unwrap();
    let issued = plane.join(&request(&secret, JoinRole::LinuxDesktop, "7f3c-host")).await.unwrap();
    let identity = host_of(&plane, &clock, &issued.cert_der).await;
    assert_eq!((identity.host_id.as_str(), identity.role), ("7f3c-host", HostRole::LinuxDesktop));
    assert_eq!(identity.dns_names, ["desk1.example.com"]);
    assert_eq!(issued.expires, oriel_backend::Clock::now(clock.as_ref()) + HOST_CERT_TTL);
    let again = plane.join(&request(&secret, JoinRole::LinuxDesktop, "another")).await.unwrap_err();
    assert!(matches!(again, JoinError::Token(TokenError::Used)), "{again}");
    assert_eq!(again.to_string(), "the join token was already used");
}

#[tokio::test]
async fn a_reusable_token_joins_several_hosts() {
    let (plane, _clock, _dir) = plane().await;
    let (secret, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, false).await.unwrap();
    for host in ["a", "b", "c"] {
        plane.join(&request(&secret, JoinRole::LinuxDesktop, host)).await.unwrap();
    }
}

#[tokio::test]
async fn expired_unknown_and_mistyped_tokens_are_refused_with_the_reason() {
    let (plane, clock, _dir) = plane().await;
    let (secret, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, true).await.unwrap();
    let wrong = plane.join(&request(&secret, JoinRole::Proxy, "p1")).await.unwrap_err();
    assert_eq!(wrong.to_string(), "the join token is for linux_desktop, not proxy");
    // A refused attempt does not use a one-time token up.
    plane.join(&request(&secret, JoinRole::LinuxDesktop, "h0")).await.unwrap();
    let unknown = plane.join(&request("not-a-token", JoinRole::LinuxDesktop, "h")).await.unwrap_err();
    assert!(matches!(unknown, JoinError::Token(TokenError::Unknown)), "{unknown}");
    let (later, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, true).await.unwrap();
    clock.advance(31 * MINUTE);
    let late = plane.join(&request(&later, JoinRole::LinuxDesktop, "h")).await.unwrap_err();
    // Refused as expired while the store still has it, as unknown once swept.
    assert!(matches!(late, JoinError::Token(TokenError::Expired | TokenError::Unknown)), "{late}");
}

#[tokio::test]
async fn bad_host_ids_are_refused_and_a_windows_desktop_service_joins_as_one() {
    let (plane, clock, _dir) = plane().await;
    let (secret, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, false).await.unwrap();
    for id in ["", "a/b", "white space", &"x".repeat(200)] {
        assert!(matches!(plane.join(&request(&secret, JoinRole::LinuxDesktop, id)).await, Err(JoinError::HostId(_))), "{id:?}");
    }
    let (windows, _) = plane.add_token(JoinRole::WindowsDesktop, 30 * MINUTE, false).await.unwrap();
    let issued = plane.join(&request(&windows, JoinRole::WindowsDesktop, "w")).await.unwrap();
    let identity = host_of(&plane, &clock, &issued.cert_der).await;
    assert_eq!((identity.host_id.as_str(), identity.role), ("w", HostRole::WindowsDesktop));
    // A Linux token does not make a Windows desktop service, nor the reverse.
    let wrong = plane.join(&request(&secret, JoinRole::WindowsDesktop, "w2")).await.unwrap_err();
    assert_eq!(wrong.to_string(), "the join token is for linux_desktop, not windows_desktop");
}

#[tokio::test]
async fn renewal_needs_a_valid_host_certificate_and_keeps_the_identity() {
    let (plane, clock, _dir) = plane().await;
    let (secret, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, true).await.unwrap();
    let first = plane.join(&request(&secret, JoinRole::LinuxDesktop, "h1")).await.unwrap();
    clock.advance(HOST_CERT_TTL * 2 / 3);
    let renewed = plane.renew_host(&first.cert_der).await.unwrap();
    assert!(renewed.expires > first.expires);
    let identity = host_of(&plane, &clock, &renewed.cert_der).await;
    assert_eq!((identity.host_id.as_str(), identity.role), ("h1", HostRole::LinuxDesktop));
    clock.advance(HOST_CERT_TTL);
    let expired = plane.renew_host(&first.cert_der).await.unwrap_err();
    assert!(expired.to_string().starts_with("cannot renew: the certificate expired at"), "{expired}");
    assert!(plane.renew_host(b"garbage").await.is_err());
}

#[tokio::test]
async fn an_admin_identity_is_never_renewed() {
    let (plane, clock, _dir) = plane().await;
    let admin = oriel_auth::ca::HostIdentity { host_id: "admin@h".into(), role: HostRole::Admin, dns_names: vec![], ips: vec![] };
    let now = oriel_backend::Clock::now(clock.as_ref());
    let issued = plane.cert_authority().await.unwrap().issue_host(&admin, 10 * MINUTE, now).unwrap();
    let refused = plane.renew_host(&issued.cert_der).await.unwrap_err();
    assert!(matches!(refused, JoinError::AdminIdentity), "{refused}");
}

#[tokio::test]
async fn a_join_cannot_take_over_a_desktop() {
    let (plane, clock, _dir) = plane().await;
    let (secret, _) = plane.add_token(JoinRole::LinuxDesktop, 3 * HOST_CERT_TTL, false).await.unwrap();
    let first = plane.join(&request(&secret, JoinRole::LinuxDesktop, "desk-1")).await.unwrap();

    // The id holds a live certificate: a second join under it is refused,
    // whoever asks, and says until when.
    let again = plane.join(&request(&secret, JoinRole::LinuxDesktop, "desk-1")).await.unwrap_err();
    assert!(matches!(again, JoinError::HostIdTaken { .. }), "{again}");
    assert!(again.to_string().starts_with("host id \"desk-1\" is taken: a host holds a certificate for it, valid until "), "{again}");
    // Renewing keeps it taken for the new certificate's life.
    clock.advance(HOST_CERT_TTL * 2 / 3);
    plane.renew_host(&first.cert_der).await.unwrap();
    clock.advance(HOST_CERT_TTL / 2);
    assert!(matches!(plane.join(&request(&secret, JoinRole::LinuxDesktop, "desk-1")).await, Err(JoinError::HostIdTaken { .. })));

    // A registered desktop (here the all-in-one host's, which has no host
    // certificate) cannot be joined under either.
    let desktop = oriel_auth::store::DesktopRecord {
        kind: oriel_rbac::DesktopKind::Linux,
        name: "local-desk".into(),
        hostname: "auth-host".into(),
        addr: "in-process".into(),
        labels: Default::default(),
        expires: Some(oriel_backend::Clock::now(clock.as_ref()) + MINUTE),
        host_id: None,
    };
    plane.store().put_desktop(&desktop).await.unwrap();
    let taken = plane.join(&request(&secret, JoinRole::LinuxDesktop, "local-desk")).await.unwrap_err();
    assert_eq!(
        taken.to_string(),
        "host id \"local-desk\" is taken: a linux desktop is registered under it. A host that already joined keeps its \
         credentials in its data dir and does not join again; a new or reinstalled host needs an id of its own (remove \
         host_uuid from its data dir)"
    );
    // Once the registration and the certificate are gone, the id is free.
    clock.advance(HOST_CERT_TTL);
    plane.join(&request(&secret, JoinRole::LinuxDesktop, "local-desk")).await.expect("the registration expired");
    plane.join(&request(&secret, JoinRole::LinuxDesktop, "desk-1")).await.expect("the certificate expired");
}

#[tokio::test]
async fn a_join_refused_for_its_id_leaves_a_one_time_token_unused() {
    let (plane, _clock, _dir) = plane().await;
    let (reusable, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, false).await.unwrap();
    plane.join(&request(&reusable, JoinRole::LinuxDesktop, "desk-1")).await.unwrap();
    let (once, _) = plane.add_token(JoinRole::LinuxDesktop, 30 * MINUTE, true).await.unwrap();
    assert!(matches!(plane.join(&request(&once, JoinRole::LinuxDesktop, "desk-1")).await, Err(JoinError::HostIdTaken { .. })));
    plane.join(&request(&once, JoinRole::LinuxDesktop, "desk-2")).await.expect("the token is still good");
    // And a join refused for its token leaves the id free.
    let used = plane.join(&request(&once, JoinRole::LinuxDesktop, "desk-3")).await.unwrap_err();
    assert!(matches!(used, JoinError::Token(TokenError::Used)), "{used}");
    plane.join(&request(&reusable, JoinRole::LinuxDesktop, "desk-3")).await.expect("desk-3 was released");
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let shown = format!("{:?}", request("s3cret-token", JoinRole::LinuxDesktop, "h"));
    assert!(!shown.contains("s3cret"), "{shown}");
}
