//! Per-session MFA over real SQLite, with a software key: a role (or the
//! cluster) requiring it refuses the login certificate alone; a fresh
//! answer buys a certificate that starts one session, at one desktop as one
//! login, within a minute, and a started session keeps going; replayed,
//! forged, foreign and misdirected answers buy nothing; a user without a
//! key is told how to get one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::control_plane::{ControlPlane, SessionTarget, UserSpec};
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::session_mfa::{MfaRequirement, SESSION_MFA_START_WINDOW};
use oriel_auth::store::{DesktopRecord, Store};
use oriel_auth::webauthn::WebauthnError;
use oriel_backend::{Clock, FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

mod keys;
use keys::{ADDR, ORIGIN, assert_with, enrol, forged, party};

const ROLES: &str = "kind: role
version: v7
metadata:
  name: mfa
spec:
  options:
    require_session_mfa: true
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
---
kind: role
version: v7
metadata:
  name: plain
spec:
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
";

const DEV: SessionTarget<'static> = SessionTarget { kind: DesktopKind::Linux, desktop: "d-dev", login: "alice" };

async fn plane() -> (ControlPlane, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock.clone());
    plane.create_roles(&oriel_rbac::parse_roles("roles.yaml", ROLES).unwrap(), false).await.unwrap();
    for name in ["d-dev", "d-prod"] {
        let desktop = DesktopRecord {
            kind: DesktopKind::Linux,
            name: name.into(),
            hostname: name.into(),
            addr: "127.0.0.1:3029".into(),
            labels: BTreeMap::new(),
            expires: None,
            host_id: None,
        };
        plane.store().put_desktop(&desktop).await.unwrap();
    }
    (plane, clock, dir)
}

fn user(name: &str, role: &str) -> UserSpec {
    UserSpec { name: name.into(), roles: vec![role.into()], linux_logins: vec!["alice".into(), "ops".into()], ..Default::default() }
}

/// The login certificate of the web session `secret`.
async fn login_certificate(plane: &ControlPlane, secret: &str) -> Vec<u8> {
    plane.session_user(secret).await.unwrap().session.certificate.unwrap().cert_der
}

/// A per-session MFA certificate for `target`, answered by `key`.
async fn mfa_certificate(plane: &ControlPlane, key: &mut SoftPasskey, login: &[u8], target: SessionTarget<'_>) -> Vec<u8> {
    let (ceremony, options) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    let proof = plane.finish_session_mfa("alice", &ceremony, &assert_with(key, ORIGIN, options)).await.unwrap();
    plane.issue_session_mfa_certificate(login, target, proof).await.unwrap().cert_der
}

#[tokio::test]
async fn a_fresh_answer_starts_one_session_at_one_desktop_within_a_minute() {
    let (plane, clock, _dir) = plane().await;
    let mut key = SoftPasskey::new(true);
    let (_, session) = enrol(&plane, &mut key, &user("alice", "mfa")).await;
    let login = login_certificate(&plane, &session).await;

    assert_eq!(plane.session_mfa_requirement(&login, DEV).await.unwrap(), MfaRequirement::Yes { role: Some("mfa".into()) });
    let refused = plane.authorize_certificate(&login, DesktopKind::Linux, "d-dev", "alice").await.unwrap_err();
    assert_eq!(refused.to_string(), "access denied: per-session MFA is required by role \"mfa\"");

    let certificate = mfa_certificate(&plane, &mut key, &login, DEV).await;
    let grant = plane.authorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice").await.unwrap();
    assert!(grant.options().session_mfa, "the grant says the session had MFA");
    assert_eq!(plane.session_mfa_requirement(&certificate, DEV).await.unwrap(), MfaRequirement::No, "nothing more to ask");

    // Good for that desktop and login only.
    for (desktop, login_name) in [("d-prod", "alice"), ("d-dev", "ops")] {
        let other = plane.authorize_certificate(&certificate, DesktopKind::Linux, desktop, login_name).await.unwrap_err();
        assert_eq!(other.to_string(), "access denied: this per-session MFA certificate is for login \"alice\" on linux desktop \"d-dev\" only");
    }
    // It cannot be traded for another one.
    let (ceremony, options) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    let proof = plane.finish_session_mfa("alice", &ceremony, &assert_with(&mut key, ORIGIN, options)).await.unwrap();
    let target = SessionTarget { desktop: "d-prod", ..DEV };
    assert!(plane.issue_session_mfa_certificate(&certificate, target, proof).await.unwrap_err().to_string().contains("cannot be traded"));

    // A minute on it starts nothing, but the session it started goes on
    // (re-authorization), as long as the login lasts.
    clock.advance(SESSION_MFA_START_WINDOW + Duration::from_secs(1));
    let late = plane.authorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice").await.unwrap_err();
    assert!(late.to_string().contains("more than a minute ago; connect again"), "{late}");
    let running = plane.reauthorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice").await.unwrap();
    assert!(running.options().session_mfa);
    // Logging out ends it like any session of that login.
    plane.logout(&session).await.unwrap();
    assert!(plane.reauthorize_certificate(&certificate, DesktopKind::Linux, "d-dev", "alice").await.is_err());
}

#[tokio::test]
async fn replayed_forged_foreign_and_misdirected_answers_buy_nothing() {
    let (plane, _clock, _dir) = plane().await;
    let mut key = SoftPasskey::new(true);
    enrol(&plane, &mut key, &user("alice", "mfa")).await;
    let check = async |ceremony: &str, answer: serde_json::Value| plane.finish_session_mfa("alice", ceremony, &answer).await.unwrap_err();

    // Replayed: a challenge answers once.
    let (ceremony, options) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut key, ORIGIN, options);
    plane.finish_session_mfa("alice", &ceremony, &answer).await.unwrap();
    assert!(matches!(check(&ceremony, answer).await, WebauthnError::UnknownChallenge));

    // Forged: the signature changed.
    let (ceremony, options) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    assert!(matches!(check(&ceremony, forged(assert_with(&mut key, ORIGIN, options))).await, WebauthnError::Refused(_)));

    // Another relying party's answer (the same host on another port).
    let (ceremony, options) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    let elsewhere = assert_with(&mut key, "https://desktops.example.com:4443", options);
    assert!(matches!(check(&ceremony, elsewhere).await, WebauthnError::Refused(_)));

    // The answer to one session's challenge sent for another's.
    let (first, options) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    let (second, _) = plane.begin_session_mfa("alice", party(ORIGIN), ADDR).await.unwrap();
    assert!(matches!(check(&second, assert_with(&mut key, ORIGIN, options.clone())).await, WebauthnError::Refused(_)));
    // A login ceremony is not a session's either.
    let (login_ceremony, _) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    assert!(matches!(check(&login_ceremony, assert_with(&mut key, ORIGIN, options)).await, WebauthnError::UnknownChallenge));
    drop(first);

    // Another user's challenge.
    let mut bobs = SoftPasskey::new(true);
    enrol(&plane, &mut bobs, &user("bob", "mfa")).await;
    let (ceremony, options) = plane.begin_session_mfa("bob", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut bobs, ORIGIN, options);
    assert!(matches!(check(&ceremony, answer).await, WebauthnError::UnknownChallenge));
}

#[tokio::test]
async fn without_a_key_the_user_is_told_how_to_add_one_and_the_cluster_can_require_it() {
    let (plane, clock, _dir) = plane().await;
    let link = plane.add_user(&user("carol", "plain")).await.unwrap();
    let page = plane.enrollment(&link.secret).await.unwrap();
    let now = clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let code = TotpDevice::from_base32(&page.totp_secret).unwrap().code_at(now).unwrap();
    let cookie = plane.accept_invite(&link.secret, keys::PASSWORD, &code).await.unwrap();
    let login = login_certificate(&plane, &cookie.secret).await;
    let carol = SessionTarget { login: "ops", ..DEV };
    assert_eq!(plane.session_mfa_requirement(&login, carol).await.unwrap(), MfaRequirement::No, "her role does not ask");

    // The cluster asks for every session.
    let mut preference = plane.store().auth_preference().await.unwrap();
    preference.require_session_mfa = true;
    plane.store().put_auth_preference(&preference).await.unwrap();
    assert_eq!(plane.session_mfa_requirement(&login, carol).await.unwrap(), MfaRequirement::Yes { role: None });
    let refused = plane.authorize_certificate(&login, DesktopKind::Linux, "d-dev", "ops").await.unwrap_err();
    assert_eq!(refused.to_string(), "access denied: per-session MFA is required by the cluster");
    let none = plane.begin_session_mfa("carol", party(ORIGIN), ADDR).await.unwrap_err();
    assert!(matches!(none, WebauthnError::NoDevicesForSession));
    assert!(none.to_string().contains("add one on your Account page (/web/account)"), "{none}");
}
