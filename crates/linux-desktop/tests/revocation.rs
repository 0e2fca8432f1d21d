//! Access taken away reaches running sessions: each way of taking it ends
//! a live session on a real Xvfb with an alert that says why, and the end
//! is recorded. "Within two seconds" is the design (a watch wakes the
//! session, a one-second poll backs it up); the tests only wait, under
//! PATIENCE, for the session to end at all.

mod support;

use oriel_auth::control_plane::UserSpec;
use oriel_tdpb::pb::Codec;
use support::{TestService, role};

/// A live session of `tester` on `service`, its X client connected.
async fn live_session(
    service: &TestService,
) -> (support::Client, tokio::task::JoinHandle<Result<oriel_linux_desktop::SessionEnd, oriel_linux_desktop::SessionError>>) {
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    (client, task)
}

/// Reads until the session ends; the last alert's text.
async fn ended_with(client: &mut support::Client) -> String {
    while client.next().await.is_some() {}
    client.alerts.last().expect("an alert says why the session ended").message.clone()
}

async fn assert_recorded(service: &TestService) {
    let last = support::events_of(service, oriel_auth::audit::EventType::ClientDisconnect, 1).await.pop().unwrap();
    assert_eq!(last.user, "tester", "the end is recorded");
    assert!(last.text("reason").unwrap().starts_with("your access to this desktop was revoked"), "{last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_user_ends_their_session() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = live_session(&service).await;
    service.plane.remove_user("tester").await.unwrap();
    let alert = ended_with(&mut client).await;
    assert_eq!(alert, "your access to this desktop was revoked: user \"tester\" not found");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Revoked(_))));
    assert_recorded(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_edit_that_drops_the_login_ends_the_session() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = live_session(&service).await;
    // The same role, now allowing only a login tester does not use.
    let edited = role("tester", "").replace("['{{internal.linux_logins}}']", "[nobody-else]");
    service.plane.create_roles(&oriel_rbac::parse_roles("tester.yaml", &edited).unwrap(), true).await.unwrap();
    let alert = ended_with(&mut client).await;
    assert!(alert.starts_with("your access to this desktop was revoked: no role allows login \"tester\""), "{alert}");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Revoked(_))));
    assert_recorded(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_edit_that_forbids_lossy_video_ends_the_session_that_was_allowed_it() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = live_session(&service).await;
    // The session agreed with its browser on what it may send; a
    // reconnection under the new role gets every pixel exactly.
    let edited = role("tester", "    desktop_lossy: false\n");
    service.plane.create_roles(&oriel_rbac::parse_roles("tester.yaml", &edited).unwrap(), true).await.unwrap();
    let alert = ended_with(&mut client).await;
    assert!(alert.ends_with("the roles no longer allow lossy video in this session"), "{alert}");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Revoked(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_the_role_from_the_user_ends_the_session() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = live_session(&service).await;
    let spec = UserSpec { name: "tester".into(), roles: vec![], linux_logins: vec!["tester".into()], ..Default::default() };
    service.plane.update_user(&spec).await.unwrap();
    let alert = ended_with(&mut client).await;
    assert!(alert.starts_with("your access to this desktop was revoked:"), "{alert}");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Revoked(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_on_the_role_ends_the_session() {
    use oriel_auth::resources::lock::LockTarget;
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = live_session(&service).await;
    let target = LockTarget { role: Some("tester".into()), ..Default::default() };
    service.plane.lock(target, None, Some("role under review".into())).await.unwrap();
    assert_eq!(ended_with(&mut client).await, "the session was locked by an administrator: role under review");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Locked(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_or_a_logout_ends_the_sessions_of_that_login() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    // A real login: the invite, a password, a TOTP code; its certificate
    // names the web session.
    let login = || async {
        let link = service.plane.invite("tester").await.unwrap();
        let enrollment = service.plane.enrollment(&link.secret).await.unwrap();
        let device = oriel_auth::second_factor::TotpDevice::from_base32(&enrollment.totp_secret).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let cookie = service.plane.accept_invite(&link.secret, "a long enough password 1", &device.code_at(now).unwrap()).await.unwrap();
        let session = service.plane.session_user(&cookie.secret).await.unwrap().session;
        (cookie.secret, session.certificate.unwrap().cert_der)
    };

    let (_cookie, certificate) = login().await;
    let (mut client, task) = service.connect_with(certificate.clone(), "tester");
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    service.plane.reset_user("tester").await.unwrap();
    let alert = ended_with(&mut client).await;
    assert!(alert.starts_with("your access to this desktop was revoked: the login this session came from has ended"), "{alert}");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Revoked(_))));
    let (mut again, _task) = service.connect_with(certificate, "tester");
    while again.next().await.is_some() {}
    assert!(again.alerts.last().unwrap().message.contains("the login this session came from has ended"), "the old certificate starts nothing");

    // A logout ends the desktop sessions started from that login only.
    std::fs::remove_file(service.dir.path().join("Probe.env")).ok();
    let (cookie, certificate) = login().await;
    let (mut client, task) = service.connect_with(certificate, "tester");
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    service.plane.logout(&cookie).await.unwrap();
    assert!(ended_with(&mut client).await.contains("the login this session came from has ended"));
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Revoked(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_made_again_under_the_same_name_cannot_use_the_old_certificate() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let old = service.user_certificate("tester");
    service.plane.remove_user("tester").await.unwrap();
    let spec = UserSpec { name: "tester".into(), roles: vec!["tester".into()], linux_logins: vec!["tester".into()], ..Default::default() };
    service.plane.add_user(&spec).await.unwrap();
    let (mut client, task) = service.connect_with(old, "tester");
    while client.next().await.is_some() {}
    let alert = &client.alerts.last().unwrap().message;
    assert!(alert.contains("the certificate is for an earlier user named \"tester\""), "{alert}");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Denied(_))));
    assert!(!service.dir.path().join("Probe.env").exists(), "no desktop was started");
}
