//! Security keys and passkeys over real SQLite, answered by a software
//! authenticator (webauthn-authenticator-rs's SoftPasskey) the way a
//! browser passes on a key's answers: registration at the invite and from
//! the Account page, password + key logins, removal, and the refusals
//! (replayed, foreign, forged answers, unknown challenges).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_auth::audit::EventType;
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::login::LoginError;
use oriel_auth::resources::auth_preference::AuthPreference;
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::store::{EventQuery, Store};
use oriel_auth::webauthn::{CEREMONY_TTL, WebauthnError};
use oriel_backend::{Clock, FakeClock, Options, SqliteBackend};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

mod keys;
use keys::{ADDR, ORIGIN, PASSWORD, assert_with, enrol, forged, party, register};
use webauthn_rs::prelude::{RequestChallengeResponse, Url};

async fn plane() -> (ControlPlane, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock.clone());
    (plane, clock, dir)
}

/// alice, invited and enrolled with `key` instead of TOTP.
async fn alice_with_key(plane: &ControlPlane, key: &mut SoftPasskey) {
    let (invite, _) = enrol(plane, key, &UserSpec { name: "alice".into(), ..Default::default() }).await;
    // The invite is used up, whatever is tried with it next.
    let again = plane.begin_invite_registration(&invite, party(ORIGIN), ADDR).await.unwrap_err();
    assert_eq!(again.to_string(), "this invite link is invalid, used or expired");
}

#[tokio::test]
async fn an_invite_enrols_a_key_which_then_logs_in_with_the_password_once_per_answer() {
    let (plane, _clock, _dir) = plane().await;
    let mut key = SoftPasskey::new(true);
    alice_with_key(&plane, &mut key).await;
    let (devices, has_totp) = plane.webauthn_devices("alice").await.unwrap();
    assert_eq!((devices.len(), devices[0].name.as_str(), has_totp), (1, "YubiKey", false));

    let (ceremony, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut key, ORIGIN, options);
    // A wrong password with a good answer: the same refusal as any wrong factor.
    let wrong = plane.finish_webauthn_login("alice", "not the password", &ceremony, &answer, ADDR).await.unwrap_err();
    assert!(matches!(wrong, LoginError::Rejected), "{wrong}");
    // That try used the challenge up: the right password with it now finds
    // nothing to answer (and counts no attempt).
    let replayed = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap_err();
    assert!(matches!(replayed, LoginError::StaleChallenge), "{replayed}");

    let (ceremony, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut key, ORIGIN, options);
    let cookie = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap();
    assert_eq!(plane.session_user(&cookie.secret).await.unwrap().user.name.as_str(), "alice");
    let (devices, _) = plane.webauthn_devices("alice").await.unwrap();
    assert!(devices[0].last_used.is_some(), "the key's use is noted");
    // An answer replayed to a new challenge does not verify.
    let (ceremony, _) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let replayed = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap_err();
    assert!(matches!(replayed, LoginError::Rejected), "{replayed}");
    // A user with keys only has no TOTP to log in with.
    let totp = plane.login("alice", PASSWORD, "123456", ADDR).await.unwrap_err();
    assert!(matches!(totp, LoginError::Rejected), "{totp}");

    let logins = plane.events(&EventQuery { types: vec![EventType::UserLogin], oldest_first: true, ..Default::default() }).await.unwrap().unwrap().events;
    let methods: Vec<_> = logins.iter().map(|e| (e.fields.get("method").and_then(|m| m.as_str()).unwrap_or_default().to_owned(), e.success)).collect();
    assert_eq!(methods, [("invite".into(), true), ("webauthn".into(), false), ("webauthn".into(), true), ("webauthn".into(), false), ("local".into(), false)]);
}

#[tokio::test]
async fn answers_from_another_origin_or_challenge_or_after_expiry_are_refused() {
    let (plane, clock, _dir) = plane().await;
    let mut key = SoftPasskey::new(true);
    alice_with_key(&plane, &mut key).await;

    // A look-alike site cannot even get an answer: the relying party is not its.
    let (_, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    assert!(key.do_authentication(Url::parse("https://desktops.example.com.evil.test").unwrap(), options).is_err());
    // A page of the same host on another port (another origin) gets one,
    // and the answer is refused: the challenge was for this origin.
    let (ceremony, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let elsewhere = assert_with(&mut key, "https://desktops.example.com:4443", options);
    let refused = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &elsewhere, ADDR).await.unwrap_err();
    assert!(matches!(refused, LoginError::Rejected), "{refused}");

    // A forged answer: a good one with its signature changed.
    let (ceremony, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = forged(assert_with(&mut key, ORIGIN, options));
    let forged = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap_err();
    assert!(matches!(forged, LoginError::Rejected), "{forged}");

    // Bob's challenge answered by alice's key: another user's ceremony.
    let (ceremony, _) = plane.begin_webauthn_login("bob", party(ORIGIN), ADDR).await.unwrap();
    let (_, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut key, ORIGIN, options);
    let foreign = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap_err();
    assert!(matches!(foreign, LoginError::Rejected), "{foreign}");

    // Five minutes on, the challenge is gone.
    let (ceremony, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut key, ORIGIN, options);
    clock.advance(CEREMONY_TTL);
    let late = plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap_err();
    assert_eq!(late.to_string(), "this security key challenge is unknown, used or expired; start again");
}

#[tokio::test]
async fn the_clusters_second_factor_decides_which_logins_are_taken() {
    use oriel_auth::resources::auth_preference::SecondFactor;
    let (plane, _clock, _dir) = plane().await;
    let mut key = SoftPasskey::new(true);
    alice_with_key(&plane, &mut key).await;
    let only = |second_factor| AuthPreference { second_factor, ..AuthPreference::default() };

    plane.store().put_auth_preference(&only(SecondFactor::Otp)).await.unwrap();
    let refused = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap_err();
    assert_eq!(refused.to_string(), "this cluster's logins need a TOTP code");
    assert!(plane.begin_passwordless_login(party(ORIGIN), ADDR).await.is_err());

    plane.store().put_auth_preference(&only(SecondFactor::Webauthn)).await.unwrap();
    let totp = plane.login("alice", PASSWORD, "123456", ADDR).await.unwrap_err();
    assert_eq!(totp.to_string(), "this cluster's logins need a security key or passkey");
    let (ceremony, options) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let answer = assert_with(&mut key, ORIGIN, options);
    plane.finish_webauthn_login("alice", PASSWORD, &ceremony, &answer, ADDR).await.unwrap();
}

#[tokio::test]
async fn begin_tells_nobody_who_has_keys() {
    let (plane, _clock, _dir) = plane().await;
    let mut key = SoftPasskey::new(true);
    alice_with_key(&plane, &mut key).await;
    let credentials = |options: &serde_json::Value| options["publicKey"]["allowCredentials"].as_array().map(Vec::len);
    let (_, alice) = plane.begin_webauthn_login("alice", party(ORIGIN), ADDR).await.unwrap();
    let (_, nobody) = plane.begin_webauthn_login("nobody", party(ORIGIN), ADDR).await.unwrap();
    let (_, again) = plane.begin_webauthn_login("nobody", party(ORIGIN), ADDR).await.unwrap();
    assert_eq!(credentials(&alice), Some(1));
    assert_eq!(credentials(&nobody), Some(1), "{nobody}");
    assert_eq!(nobody["publicKey"]["allowCredentials"], again["publicKey"]["allowCredentials"], "a decoy stays the same");
    let (ceremony, options) = plane.begin_webauthn_login("nobody", party(ORIGIN), ADDR).await.unwrap();
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    assert!(key.do_authentication(Url::parse(ORIGIN).unwrap(), options).is_err(), "no key holds a decoy");
    let refused = plane.finish_webauthn_login("nobody", PASSWORD, &ceremony, &serde_json::json!({}), ADDR).await.unwrap_err();
    assert!(matches!(refused, LoginError::Rejected));
}

#[tokio::test]
async fn a_user_adds_and_removes_keys_but_never_the_last_second_factor() {
    let (plane, clock, _dir) = plane().await;
    // A TOTP user, as today's invites make them.
    let link = plane.add_user(&UserSpec { name: "carol".into(), ..Default::default() }).await.unwrap();
    let page = plane.enrollment(&link.secret).await.unwrap();
    let now = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let code = TotpDevice::from_base32(&page.totp_secret).unwrap().code_at(now).unwrap();
    plane.accept_invite(&link.secret, PASSWORD, &code).await.unwrap();

    let mut key = SoftPasskey::new(true);
    let (ceremony, options) = plane.begin_device_registration("carol", party(ORIGIN), ADDR).await.unwrap();
    let answer = register(&mut key, ORIGIN, options);
    let bad_name = plane.finish_device_registration("carol", &ceremony, "  ", &answer).await.unwrap_err();
    assert!(matches!(bad_name, WebauthnError::BadName(_)), "{bad_name}");
    // Another user cannot finish carol's ceremony.
    let (ceremony, options) = plane.begin_device_registration("carol", party(ORIGIN), ADDR).await.unwrap();
    let answer = register(&mut key, ORIGIN, options);
    assert!(matches!(plane.finish_device_registration("alice", &ceremony, "key", &answer).await, Err(WebauthnError::UnknownChallenge)));
    let (ceremony, options) = plane.begin_device_registration("carol", party(ORIGIN), ADDR).await.unwrap();
    let answer = register(&mut key, ORIGIN, options);
    let added = plane.finish_device_registration("carol", &ceremony, "laptop", &answer).await.unwrap();
    // The same key again is excluded by the options, and refused if forced.
    let (ceremony, options) = plane.begin_device_registration("carol", party(ORIGIN), ADDR).await.unwrap();
    assert_eq!(options["publicKey"]["excludeCredentials"].as_array().map(Vec::len), Some(1));
    assert!(plane.finish_device_registration("carol", &ceremony, "again", &answer).await.is_err());

    let (devices, has_totp) = plane.webauthn_devices("carol").await.unwrap();
    assert_eq!((devices.len(), has_totp), (1, true));
    plane.remove_device("carol", &added.id).await.unwrap();
    assert!(matches!(plane.remove_device("carol", &added.id).await, Err(WebauthnError::NoSuchDevice)));
    let added = plane
        .events(&EventQuery { types: vec![EventType::MfaAdd, EventType::MfaDelete], oldest_first: true, ..Default::default() })
        .await
        .unwrap()
        .unwrap()
        .events;
    assert_eq!(added.iter().map(|e| e.event.name()).collect::<Vec<_>>(), ["mfa.add", "mfa.delete"]);
    assert_eq!(added[0].fields.get("mfa_device_name").and_then(|n| n.as_str()), Some("laptop"));

    // alice has one key and no TOTP: it stays.
    let mut alice_key = SoftPasskey::new(true);
    alice_with_key(&plane, &mut alice_key).await;
    let (devices, _) = plane.webauthn_devices("alice").await.unwrap();
    let last = plane.remove_device("alice", &devices[0].id).await.unwrap_err();
    assert_eq!(last.to_string(), "the last second factor cannot be removed; add another first");
}
