//! The control plane's rules end to end over real SQLite: users need real
//! roles, access follows the roles and locks, secrets are shown once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::bearer;
use oriel_auth::ca::UserIdentity;
use oriel_auth::control_plane::{ControlError, ControlPlane, GrantMismatch, SessionGrant, SessionTarget, UserSpec};
use oriel_auth::resources::join_token::JoinRole;
use oriel_auth::resources::lock::LockTarget;
use oriel_auth::store::{DesktopRecord, Store};
use oriel_backend::{Clock, FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;

const DEV: &str = "kind: role
version: v7
metadata:
  name: dev
spec:
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      env: [dev, staging]
  deny:
    linux_desktop_logins: [root]
";

async fn plane() -> (ControlPlane, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock.clone());
    plane.create_roles(&oriel_rbac::parse_roles("dev.yaml", DEV).unwrap(), false).await.unwrap();
    for (name, env) in [("d-dev", "dev"), ("d-prod", "prod")] {
        plane
            .store()
            .put_desktop(&DesktopRecord {
                kind: DesktopKind::Linux,
                name: name.into(),
                hostname: name.into(),
                addr: "127.0.0.1:3029".into(),
                labels: BTreeMap::from([("env".to_owned(), env.to_owned())]),
                expires: None,
                host_id: None,
            })
            .await
            .unwrap();
    }
    (plane, clock, dir)
}

fn alice() -> UserSpec {
    UserSpec { name: "alice".into(), roles: vec!["dev".into()], linux_logins: vec!["alice".into(), "root".into()], ..Default::default() }
}

#[tokio::test]
async fn a_user_needs_existing_roles_and_gets_a_one_time_invite() {
    let (plane, clock, _dir) = plane().await;
    let unknown = UserSpec { roles: vec!["admin".into()], ..alice() };
    let err = plane.add_user(&unknown).await.unwrap_err();
    assert_eq!(err.to_string(), "role \"admin\" not found (create it first with `orielctl create -f ROLE.yaml`)");
    assert!(plane.store().users().await.unwrap().is_empty(), "nothing written on error");

    let link = plane.add_user(&alice()).await.unwrap();
    assert_eq!(link.secret.len(), 64);
    let invite = plane.store().invite(&bearer::hash(&link.secret)).await.unwrap().value;
    assert_eq!(invite.user, "alice");
    assert!(plane.store().user("alice").await.unwrap().value.credentials.is_none());
    assert!(matches!(plane.add_user(&alice()).await, Err(ControlError::Store(_))), "duplicate name");
    clock.advance(Duration::from_secs(3601));
    assert!(plane.store().invite(&bearer::hash(&link.secret)).await.is_err(), "invites expire");
}

#[tokio::test]
async fn access_follows_roles_traits_and_locks_with_reasons() {
    let (plane, clock, _dir) = plane().await;
    plane.add_user(&alice()).await.unwrap();

    let allowed = plane.access_check("alice", DesktopKind::Linux, "d-dev", "alice").await.unwrap();
    assert!(allowed.is_allowed());
    assert!(allowed.decision.to_string().starts_with("allowed by role \"dev\""), "{}", allowed.decision);

    let root = plane.access_check("alice", DesktopKind::Linux, "d-dev", "root").await.unwrap();
    assert!(!root.is_allowed());
    assert!(root.decision.to_string().contains("deny.linux_desktop_logins"), "{}", root.decision);

    let prod = plane.access_check("alice", DesktopKind::Linux, "d-prod", "alice").await.unwrap();
    assert!(!prod.is_allowed(), "labels do not match");

    let visible = plane.visible_desktops("alice").await.unwrap();
    let names: Vec<_> = visible.iter().map(|(d, logins)| (d.name.as_str(), logins.clone())).collect();
    assert_eq!(names, [("d-dev", vec!["alice".to_owned()])]);

    // Session starts are decided from a verified certificate (the desktop
    // service records them).
    let identity = UserIdentity { user: "alice".into(), user_id: Some(plane.store().user("alice").await.unwrap().value.id), ..Default::default() };
    let cert = plane.cert_authority().await.unwrap().issue_user(&identity, Duration::from_secs(3600), clock.now()).unwrap();
    let grant = plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, "d-dev", "alice").await.unwrap();
    let target = SessionTarget { kind: DesktopKind::Linux, desktop: "d-dev", login: "alice" };
    assert!(grant.is_for(&target), "a grant names the desktop, its kind and the login");
    assert!(!grant.is_for(&SessionTarget { desktop: "d-prod", ..target }));
    assert!(!grant.is_for(&SessionTarget { login: "root", ..target }));
    assert!(!grant.is_for(&SessionTarget { kind: DesktopKind::Windows, ..target }));
    let denied = plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, "d-dev", "root").await.unwrap_err();
    assert!(denied.to_string().starts_with("access denied: denied by role \"dev\""), "{denied}");

    let lock =
        plane.lock(LockTarget { user: Some("alice".into()), ..Default::default() }, Some(Duration::from_secs(60)), Some("incident".into())).await.unwrap();
    let locked = plane.access_check("alice", DesktopKind::Linux, "d-dev", "alice").await.unwrap();
    assert!(locked.decision.is_allowed() && !locked.is_allowed(), "the roles allow, the lock refuses");
    assert_eq!(locked.lock.unwrap().name, lock.name);
    clock.advance(Duration::from_secs(61));
    assert!(plane.access_check("alice", DesktopKind::Linux, "d-dev", "alice").await.unwrap().is_allowed(), "lock expired");
}

const WINDOWS: &str = "
kind: role
version: v7
metadata:
  name: windows
spec:
  allow:
    windows_desktop_logins: [Administrator]
    windows_desktop_labels:
      '*': '*'
";

#[tokio::test]
async fn a_lock_on_the_host_that_serves_windows_desktops_locks_them_and_their_running_sessions() {
    let (plane, clock, _dir) = plane().await;
    plane.create_roles(&oriel_rbac::parse_roles("windows.yaml", WINDOWS).unwrap(), false).await.unwrap();
    plane.add_user(&UserSpec { name: "bob".into(), roles: vec!["windows".into()], ..Default::default() }).await.unwrap();
    for (name, host_id) in [("win-a", Some("service-host")), ("win-b", Some("other-host")), ("win-c", None)] {
        let desktop = DesktopRecord {
            kind: DesktopKind::Windows,
            name: name.into(),
            hostname: name.into(),
            addr: "192.0.2.1:3389".into(),
            labels: BTreeMap::new(),
            expires: None,
            host_id: host_id.map(str::to_owned),
        };
        plane.store().put_desktop(&desktop).await.unwrap();
    }
    let identity = UserIdentity { user: "bob".into(), user_id: Some(plane.store().user("bob").await.unwrap().value.id), ..Default::default() };
    let cert = plane.cert_authority().await.unwrap().issue_user(&identity, Duration::from_secs(3600), clock.now()).unwrap();
    let grant = plane.authorize_certificate(&cert.cert_der, DesktopKind::Windows, "win-a", "Administrator").await.unwrap();
    assert_eq!(grant.session().server_id, "service-host");
    assert!(plane.lock_on(grant.session()).await.unwrap().is_none());

    // `orielctl lock --server-id service-host`: the running session on
    // win-a sees it, a new one is refused; win-b (another host) and win-c
    // (its own server id, its name) are not locked.
    let lock = plane.lock(LockTarget { server_id: Some("service-host".into()), ..Default::default() }, None, Some("host maintenance".into())).await.unwrap();
    assert_eq!(plane.lock_on(grant.session()).await.unwrap().map(|l| l.name), Some(lock.name.clone()));
    let refused = plane.authorize_certificate(&cert.cert_der, DesktopKind::Windows, "win-a", "Administrator").await.unwrap_err();
    assert!(refused.to_string().contains("host maintenance"), "{refused}");
    assert!(plane.access_check("bob", DesktopKind::Windows, "win-b", "Administrator").await.unwrap().is_allowed());
    assert!(plane.access_check("bob", DesktopKind::Windows, "win-c", "Administrator").await.unwrap().is_allowed());
    plane.lock(LockTarget { server_id: Some("win-c".into()), ..Default::default() }, None, None).await.unwrap();
    assert!(
        !plane.access_check("bob", DesktopKind::Windows, "win-c", "Administrator").await.unwrap().is_allowed(),
        "a desktop without a host id is its own server"
    );
}

#[tokio::test]
async fn join_tokens_are_stored_only_as_hashes() {
    let (plane, _clock, _dir) = plane().await;
    let (secret, token) = plane.add_token(JoinRole::LinuxDesktop, Duration::from_secs(1800), true).await.unwrap();
    assert_eq!(token.secret_hash, bearer::hash(&secret));
    let listed = plane.store().tokens().await.unwrap();
    assert_eq!(listed, [token]);
    assert!(!format!("{listed:?}").contains(&secret));
}

#[tokio::test]
async fn sessions_are_authorized_for_the_user_of_a_verified_certificate_only() {
    let (plane, clock, _dir) = plane().await;
    plane.add_user(&alice()).await.unwrap();
    let ca = plane.cert_authority().await.unwrap();
    let identity = UserIdentity { user: "alice".into(), user_id: Some(plane.store().user("alice").await.unwrap().value.id), ..Default::default() };
    let cert = ca.issue_user(&identity, Duration::from_secs(3600), clock.now()).unwrap();

    // The roles come from the store, not from the (empty) list in the certificate.
    let grant = plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, "d-dev", "alice").await.unwrap();
    assert_eq!((grant.user(), grant.login(), grant.roles()), ("alice", "alice", &["dev".to_owned()][..]));

    let garbage = plane.authorize_certificate(b"alice", DesktopKind::Linux, "d-dev", "alice").await.unwrap_err();
    assert!(garbage.to_string().starts_with("access denied: malformed certificate: "), "{garbage}");

    let (elsewhere, _clock, _other_dir) = self::plane().await;
    let foreign = elsewhere.cert_authority().await.unwrap().issue_user(&identity, Duration::from_secs(3600), clock.now()).unwrap();
    let denied = plane.authorize_certificate(&foreign.cert_der, DesktopKind::Linux, "d-dev", "alice").await.unwrap_err();
    assert!(denied.to_string().starts_with("access denied: the certificate was signed by another authority"), "{denied}");

    clock.advance(Duration::from_secs(3601));
    let expired = plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, "d-dev", "alice").await.unwrap_err();
    assert_eq!(expired.to_string(), "access denied: the certificate expired at 2026-09-21T15:13:20Z");
}

#[tokio::test]
async fn a_remote_grant_needs_the_verified_certificate_of_its_user_and_the_session_asked() {
    let (plane, clock, _dir) = plane().await;
    plane.add_user(&alice()).await.unwrap();
    let ca = plane.cert_authority().await.unwrap();
    let alice_id = plane.store().user("alice").await.unwrap().value.id;
    let issue = |user: &str| {
        let identity = UserIdentity { user: user.into(), user_id: (user == "alice").then(|| alice_id.clone()), ..Default::default() };
        ca.issue_user(&identity, Duration::from_secs(3600), clock.now()).unwrap()
    };
    let (cert, other) = (issue("alice"), issue("mallory"));
    let sent = plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, "d-dev", "alice").await.unwrap().to_parts();
    let verify = |der: &[u8]| oriel_auth::ca::verify_user_with_root(&ca_der(ca.user_ca_pem()), der, clock.now()).unwrap();
    let asked = SessionTarget { kind: DesktopKind::Linux, desktop: "d-dev", login: "alice" };

    let grant = SessionGrant::decided_remotely(sent.clone(), verify(&cert.cert_der), &asked).unwrap();
    assert_eq!((grant.user(), grant.desktop(), grant.login()), ("alice", "d-dev", "alice"));
    assert_eq!(grant.certificate_expires(), Some(cert.expires), "the session ends with the verified certificate");

    let err = SessionGrant::decided_remotely(sent.clone(), verify(&other.cert_der), &asked).unwrap_err();
    assert!(matches!(err, GrantMismatch::User { .. }), "{err}");
    for wrong in [SessionTarget { desktop: "d-prod", ..asked }, SessionTarget { login: "root", ..asked }, SessionTarget { kind: DesktopKind::Windows, ..asked }]
    {
        let err = SessionGrant::decided_remotely(sent.clone(), verify(&cert.cert_der), &wrong).unwrap_err();
        assert!(matches!(err, GrantMismatch::Target { .. }), "{err}");
    }
}

fn ca_der(pem: &str) -> Vec<u8> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap().1.contents
}

/// A login as a browser makes one: the invite, a password, a code. The
/// cookie's secret and the certificate it holds (which names the web
/// session).
async fn log_in(plane: &ControlPlane, clock: &FakeClock, link: &oriel_auth::control_plane::InviteLink) -> (String, Vec<u8>) {
    let page = plane.enrollment(&link.secret).await.unwrap();
    let now = clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let code = oriel_auth::second_factor::TotpDevice::from_base32(&page.totp_secret).unwrap().code_at(now).unwrap();
    let cookie = plane.accept_invite(&link.secret, "a long enough password", &code).await.unwrap();
    let certificate = plane.session_user(&cookie.secret).await.unwrap().session.certificate.unwrap().cert_der;
    (cookie.secret, certificate)
}

#[tokio::test]
async fn logout_reset_and_removal_end_what_the_old_login_and_user_could_do() {
    let (plane, clock, _dir) = plane().await;
    let link = plane.add_user(&alice()).await.unwrap();
    let decide = |cert: Vec<u8>| {
        let plane = plane.clone();
        async move { plane.reauthorize_certificate(&cert, DesktopKind::Linux, "d-dev", "alice").await.map(drop).map_err(|e| e.to_string()) }
    };
    let ended = "access denied: the login this session came from has ended (logged out, the password was reset, or the user was removed)";

    // A logout ends what the login's certificate can do.
    let (cookie, certificate) = log_in(&plane, &clock, &link).await;
    decide(certificate.clone()).await.expect("a live login's certificate is good");
    plane.logout(&cookie).await.unwrap();
    assert_eq!(decide(certificate).await.unwrap_err(), ended);

    // A reset ends every login of the user, and its invite sets new credentials.
    let link = plane.reset_user("alice").await.unwrap();
    assert!(plane.store().user("alice").await.unwrap().value.credentials.is_none(), "the password and second factor are gone");
    let (cookie, certificate) = log_in(&plane, &clock, &link).await;
    let stale = plane.reset_user("alice").await.unwrap();
    assert!(plane.session_user(&cookie).await.is_none(), "the cookie is dead");
    assert_eq!(decide(certificate).await.unwrap_err(), ended);

    // Removal takes every web session and invite; a user made again under
    // the name is another user, whom the old certificates do not speak for.
    let (cookie, _) = log_in(&plane, &clock, &stale).await;
    let tool = plane.issue_user_certificate("alice", Duration::from_secs(3600)).await.unwrap().cert_der;
    let pending = plane.invite("alice").await.unwrap();
    plane.remove_user("alice").await.unwrap();
    assert!(plane.store().web_sessions_of("alice").await.unwrap().is_empty());
    assert!(plane.store().invites_of("alice").await.unwrap().is_empty());
    plane.add_user(&alice()).await.unwrap();
    assert!(plane.session_user(&cookie).await.is_none(), "an old cookie is not the new user's");
    assert!(plane.enrollment(&pending.secret).await.is_err(), "an old invite is not the new user's");
    assert_eq!(decide(tool).await.unwrap_err(), "access denied: the certificate is for an earlier user named \"alice\", removed since; log in again");
}

#[tokio::test]
async fn revoked_host_certificates_are_refused_by_serial_or_by_host() {
    use oriel_auth::ca::{HostIdentity, HostRole};
    use oriel_auth::store::RevokedTarget;
    let (plane, clock, _dir) = plane().await;
    let ca = plane.cert_authority().await.unwrap();
    let host = |id: &str| HostIdentity { host_id: id.into(), role: HostRole::Admin, dns_names: vec![], ips: vec![] };
    let issue = |id: &str| ca.issue_host(&host(id), Duration::from_secs(3600), clock.now()).unwrap().cert_der;
    let (one, other) = (issue("admin@a"), issue("admin@a"));
    plane.verify_host_cert(&one).await.expect("a live identity");

    // By serial (as openssl prints it): that certificate only.
    let serial = oriel_auth::revocation::serial_and_start(&one).unwrap().0;
    let colons = serial.to_uppercase().as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(":");
    plane.revoke(RevokedTarget::Serial(colons), None).await.unwrap();
    let refused = plane.verify_host_cert(&one).await.unwrap_err().to_string();
    assert!(refused.contains("revoked") && refused.contains(&serial), "{refused}");
    plane.verify_host_cert(&other).await.expect("another certificate of the host is not revoked by the serial");
    assert!(plane.revoke(RevokedTarget::Serial("not hex".into()), None).await.is_err());

    // By host: every certificate issued until then, not the ones after.
    plane.revoke(RevokedTarget::Host("admin@a".into()), Some("laptop lost".into())).await.unwrap();
    let refused = plane.verify_host_cert(&other).await.unwrap_err().to_string();
    assert!(refused.contains("revoked") && refused.contains("laptop lost"), "{refused}");
    // Certificates start CLOCK_SKEW before they are issued, and a start
    // before the revocation is refused: the revoked host can join again
    // only once that much has gone by.
    clock.advance(Duration::from_secs(2));
    assert!(plane.verify_host_cert(&issue("admin@a")).await.is_err(), "issued within the skew of the revocation: refused");
    clock.advance(oriel_auth::ca::CLOCK_SKEW);
    plane.verify_host_cert(&issue("admin@a")).await.expect("a certificate issued after the revocation");
    plane.verify_host_cert(&issue("admin@b")).await.expect("other hosts are not touched");
}
