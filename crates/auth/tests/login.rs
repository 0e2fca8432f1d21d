//! Invites, logins and web sessions over real SQLite, with codes computed
//! the way an authenticator app does.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::login::LoginError;
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::store::Store;
use oriel_backend::{Clock, FakeClock, Options, SqliteBackend};

const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PASSWORD: &str = "correct horse battery staple";

async fn plane() -> (ControlPlane, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock.clone());
    (plane, clock, dir)
}

fn code(secret_base32: &str, clock: &FakeClock) -> String {
    let now = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    TotpDevice::from_base32(secret_base32).unwrap().code_at(now).unwrap()
}

#[tokio::test]
async fn invite_enrollment_then_password_and_code_logins() {
    let (plane, clock, _dir) = plane().await;
    let link = plane.add_user(&UserSpec { name: "alice".into(), ..Default::default() }).await.unwrap();

    let page = plane.enrollment(&link.secret).await.unwrap();
    assert_eq!(page.user, "alice");
    assert!(page.totp_url.starts_with("otpauth://totp/Oriel:alice?"));
    assert_eq!(plane.enrollment(&link.secret).await.unwrap().totp_secret, page.totp_secret, "a reload shows the same secret");

    let short = plane.accept_invite(&link.secret, "short", &code(&page.totp_secret, &clock)).await.unwrap_err();
    assert_eq!(short.to_string(), "the password must have at least 12 characters");
    let wrong = plane.accept_invite(&link.secret, PASSWORD, "000000").await.unwrap_err();
    assert!(matches!(wrong, LoginError::Code(_)), "{wrong}");
    let cookie = plane.accept_invite(&link.secret, PASSWORD, &code(&page.totp_secret, &clock)).await.unwrap();
    assert_eq!(plane.session_user(&cookie.secret).await.unwrap().user.name.as_str(), "alice");
    let reused = plane.accept_invite(&link.secret, PASSWORD, &code(&page.totp_secret, &clock)).await.unwrap_err();
    assert_eq!(reused.to_string(), "this invite link is invalid, used or expired");

    // The enrollment code's step is used up: the next login needs the next code.
    clock.advance(Duration::from_secs(30));
    let current = code(&page.totp_secret, &clock);
    let session = plane.login("alice", PASSWORD, &current, ADDR).await.unwrap();
    let replay = plane.login("alice", PASSWORD, &current, ADDR).await.unwrap_err();
    assert_eq!(replay.to_string(), "wrong user name, password or second factor", "a replayed code");
    clock.advance(Duration::from_secs(30));
    let next = code(&page.totp_secret, &clock);
    assert_eq!(plane.login("alice", "wrong password!!", &next, ADDR).await.unwrap_err().to_string(), "wrong user name, password or second factor");
    assert_eq!(plane.login("nobody", PASSWORD, &next, ADDR).await.unwrap_err().to_string(), "wrong user name, password or second factor");

    plane.logout(&session.secret).await.unwrap();
    assert!(plane.session_user(&session.secret).await.is_none(), "logged out");
    assert!(plane.session_user("forged").await.is_none());
    clock.advance(Duration::from_secs(13 * 3600));
    assert!(plane.session_user(&cookie.secret).await.is_none(), "sessions expire");
}

#[tokio::test]
async fn guessing_is_throttled_per_user_and_address() {
    let (plane, _clock, _dir) = plane().await;
    plane.add_user(&UserSpec { name: "bob".into(), ..Default::default() }).await.unwrap();
    for _ in 0..5 {
        assert!(matches!(plane.login("bob", "guess guess guess", "123456", ADDR).await, Err(LoginError::Rejected)));
    }
    let throttled = plane.login("bob", "guess guess guess", "123456", ADDR).await.unwrap_err();
    assert!(throttled.to_string().starts_with("too many failed logins; try again in"), "{throttled}");
    let elsewhere = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    assert!(matches!(plane.login("bob", "guess guess guess", "123456", elsewhere).await, Err(LoginError::Rejected)), "not per user");
}

/// A user whose invite is accepted, and their authenticator.
async fn enrolled(plane: &ControlPlane, clock: &FakeClock, name: &str) -> TotpDevice {
    let link = plane.add_user(&UserSpec { name: name.into(), ..Default::default() }).await.unwrap();
    let page = plane.enrollment(&link.secret).await.unwrap();
    plane.accept_invite(&link.secret, PASSWORD, &code(&page.totp_secret, clock)).await.unwrap();
    TotpDevice::from_base32(&page.totp_secret).unwrap()
}

#[tokio::test]
async fn a_stranger_guessing_passwords_cannot_lock_the_user_out() {
    let (plane, clock, _dir) = plane().await;
    let device = enrolled(&plane, &clock, "erin").await;
    let stranger = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    for _ in 0..20 {
        let _ = plane.login("erin", "guess guess guess", "123456", stranger).await;
    }
    clock.advance(Duration::from_secs(30));
    let now = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    plane.login("erin", PASSWORD, &device.code_at(now).unwrap(), ADDR).await.expect("the user logs in from their own address");
}

#[tokio::test]
async fn wrong_codes_after_the_right_password_throttle_the_user_everywhere() {
    let (plane, clock, _dir) = plane().await;
    let device = enrolled(&plane, &clock, "finn").await;
    for last in 1..=5u8 {
        let from = IpAddr::V4(Ipv4Addr::new(198, 51, 100, last));
        assert!(matches!(plane.login("finn", PASSWORD, "000000", from).await, Err(LoginError::Rejected)));
    }
    clock.advance(Duration::from_secs(30));
    let now = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let refused = plane.login("finn", PASSWORD, &device.code_at(now).unwrap(), ADDR).await.unwrap_err();
    assert!(matches!(refused, LoginError::Throttled(_)), "someone who has the password has guessed codes: {refused}");
}

#[tokio::test]
async fn an_expired_invite_is_refused() {
    let (plane, clock, _dir) = plane().await;
    let link = plane.add_user(&UserSpec { name: "carol".into(), ..Default::default() }).await.unwrap();
    clock.advance(Duration::from_secs(3601));
    assert!(matches!(plane.enrollment(&link.secret).await, Err(LoginError::BadInvite)));
}

#[tokio::test]
async fn an_invite_of_a_removed_user_does_not_enroll_one_made_again_under_the_name() {
    let (plane, clock, _dir) = plane().await;
    let old = plane.add_user(&UserSpec { name: "erin".into(), ..Default::default() }).await.unwrap();
    let page = plane.enrollment(&old.secret).await.unwrap();
    // The user goes while the invite is left behind (as a removal that
    // failed half way would leave it), and a new erin is made.
    plane.store().delete_user("erin").await.unwrap();
    let new = plane.add_user(&UserSpec { name: "erin".into(), ..Default::default() }).await.unwrap();

    assert!(matches!(plane.enrollment(&old.secret).await, Err(LoginError::BadInvite)), "the old invite shows no enrollment page");
    let refused = plane.accept_invite(&old.secret, PASSWORD, &code(&page.totp_secret, &clock)).await.unwrap_err();
    assert!(matches!(refused, LoginError::BadInvite), "{refused}");
    let fresh = plane.enrollment(&new.secret).await.unwrap();
    plane.accept_invite(&new.secret, PASSWORD, &code(&fresh.totp_secret, &clock)).await.expect("the new user's own invite works");
}

#[tokio::test]
async fn a_login_holds_a_user_certificate_as_long_as_the_session() {
    let (plane, clock, _dir) = plane().await;
    plane.create_roles(&oriel_rbac::parse_roles("r.yaml", "kind: role\nversion: v7\nmetadata:\n  name: access\nspec: {}\n").unwrap(), false).await.unwrap();
    let spec = UserSpec { name: "dana".into(), roles: vec!["access".into()], linux_logins: vec!["dana".into()], ..Default::default() };
    let link = plane.add_user(&spec).await.unwrap();
    let page = plane.enrollment(&link.secret).await.unwrap();
    let cookie = plane.accept_invite(&link.secret, PASSWORD, &code(&page.totp_secret, &clock)).await.unwrap();

    let session = plane.session_user(&cookie.secret).await.unwrap().session;
    let certificate = session.certificate.expect("issued at login");
    assert_eq!(certificate.expires, cookie.expires);
    assert_eq!(session.expires, cookie.expires);
    let verified = plane.verify_user_cert(&certificate.cert_der).await.unwrap();
    assert_eq!(verified.expires(), certificate.expires);
    let identity = verified.identity();
    assert_eq!((identity.user.as_str(), identity.roles.as_slice()), ("dana", &["access".to_owned()][..]));
    assert_eq!(identity.traits["linux_logins"], ["dana"]);

    clock.advance(Duration::from_secs(30));
    let login = plane.login("dana", PASSWORD, &code(&page.totp_secret, &clock), ADDR).await.unwrap();
    let second = plane.session_user(&login.secret).await.unwrap().session.certificate.unwrap();
    assert_ne!(second.cert_der, certificate.cert_der, "each login has its own certificate");

    clock.advance(Duration::from_secs(12 * 3600 + 1));
    let expired = plane.verify_user_cert(&second.cert_der).await.unwrap_err();
    assert!(expired.to_string().starts_with("access denied: the certificate expired at"), "{expired}");
}
