//! Sessions that outlive their connection: a browser that goes away leaves
//! the session running for the grace period, its owner resumes it (with a
//! keyframe, in the same X session), and nothing is left once the grace
//! has passed. Real Xvfb, real session processes, a real control plane.

mod support;

use std::time::{Duration, Instant};

use oriel_auth::audit::EventType;
use oriel_linux_desktop::{SessionEnd, SessionError};
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec};
use support::{PATIENCE, TestService, XClient};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::ConnectionExt as _;

const GRACE: Duration = Duration::from_secs(600);

async fn wait_gone(path: &str) {
    let deadline = Instant::now() + PATIENCE;
    while std::path::Path::new(path).exists() {
        assert!(Instant::now() < deadline, "{path} outlived its session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn socket_of(x: &XClient) -> String {
    format!("/tmp/.X11-unix/X{}", x.display.trim_start_matches(':'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_browser_left_is_resumed_with_a_keyframe_then_ended_by_its_owner() {
    let service = TestService::with_grace(&[("Probe", "exec sleep 3600")], GRACE);
    let (mut client, task) = service.connect();
    let hello = client.hello(320, 240, Codec::QoizStream).await;
    let sid = hello.session_id.clone();
    assert!(!sid.is_empty(), "the hello names the session");
    assert_eq!(hello.resumed_xsession, "", "a new session is not a resume");
    let x = service.x_client("Probe").await;
    x.focused_green_window();
    client.until("the green window", |c| c.pixel(40, 30) == [0, 255, 0, 255]).await;

    // The connection drops: the session waits, the X server runs on.
    drop(client);
    assert_eq!(tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap().unwrap(), SessionEnd::Detached);
    assert!(x.conn.get_input_focus().unwrap().reply().is_ok(), "the X session runs on");
    let running = service.service.running_sessions("tester", "tester");
    assert_eq!(running.len(), 1);
    assert_eq!((running[0].session_id.as_str(), running[0].xsession.as_str(), running[0].attached), (sid.as_str(), "Probe", false));
    // A small picture of the screen as it was left, for the list to resume from.
    let deadline = Instant::now() + PATIENCE;
    let thumbnail = loop {
        if let Some(thumbnail) = service.service.running_sessions("tester", "tester")[0].thumbnail.clone() {
            break thumbnail;
        }
        assert!(Instant::now() < deadline, "no thumbnail of the session");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((thumbnail.width, thumbnail.height), (160, 120), "320x240, halved");
    let at = |x: usize, y: usize| &thumbnail.rgba[(y * 160 + x) * 4..(y * 160 + x) * 4 + 4];
    assert_eq!(at(30, 25), [0, 255, 0, 255], "the green window, at half its place");

    // The owner comes back (a new login's certificate), at another size.
    let (mut again, task) = service.resume_as("tester", "tester", &sid);
    let hello = again.hello(400, 300, Codec::QoizStream).await;
    assert_eq!((hello.session_id.as_str(), hello.resumed_xsession.as_str()), (sid.as_str(), "Probe"));
    assert_eq!((hello.width, hello.height), (400, 300));
    again.until("the same window, in a keyframe", |c| c.keyframes >= 1 && c.pixel(40, 30) == [0, 255, 0, 255]).await;
    assert!(!again.cursors.is_empty(), "the cursor comes again");
    // The screen follows the resumed browser (its size and the keyframe
    // travel apart, so the resize may come just after the first picture).
    let root = x.conn.setup().roots[0].root;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let geometry = x.conn.get_geometry(root).unwrap().reply().unwrap();
        if (geometry.width, geometry.height) == (400, 300) {
            break;
        }
        assert!(Instant::now() < deadline, "the screen stayed {}x{}", geometry.width, geometry.height);
        again.read_for(Duration::from_millis(50)).await;
    }

    // Input reaches the same X session.
    again.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: 0x1e, pressed: true })).await;
    again.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: 0x1e, pressed: false })).await;
    x.next_key_press();

    // The owner ends it: everything goes at once, grace or not.
    let socket = socket_of(&x);
    again.send(Payload::EndSession(pb::EndSession {})).await;
    while again.next().await.is_some() {}
    assert_eq!(task.await.unwrap().unwrap(), SessionEnd::ClientLeft);
    wait_gone(&socket).await;
    assert!(service.service.running_sessions("tester", "tester").is_empty());
    let starts = support::events_of(&service, EventType::LinuxSessionStart, 1).await;
    let ends = support::events_of(&service, EventType::LinuxSessionEnd, 1).await;
    assert_eq!((starts.len(), ends.len()), (1, 1), "one session, however many connections");
    assert_eq!(ends[0].sid.as_deref(), Some(sid.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_left_once_the_grace_period_passed_and_the_session_cannot_be_resumed() {
    let service = TestService::with_grace(&[("Probe", "exec sleep 3600")], Duration::from_secs(2));
    let (mut client, task) = service.connect();
    let sid = client.hello(320, 240, Codec::Qoiz).await.session_id;
    let x = service.x_client("Probe").await;
    let socket = socket_of(&x);
    drop(client);
    assert_eq!(task.await.unwrap().unwrap(), SessionEnd::Detached);
    // Nobody comes back: the display, the xsession and its processes go.
    wait_gone(&socket).await;
    let end = support::events_of(&service, EventType::LinuxSessionEnd, 1).await.pop().unwrap();
    assert_eq!(end.text("reason"), Some("nobody resumed the session within 2s"));
    let (mut late, task) = service.resume_as("tester", "tester", &sid);
    while late.next().await.is_some() {}
    assert!(late.alerts.last().unwrap().message.starts_with(&format!("there is no session {sid} of yours on this desktop to resume")));
    assert!(matches!(task.await.unwrap(), Err(SessionError::NoSuchSession(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_session_an_unknown_id_and_a_locked_user_are_refused() {
    use oriel_auth::resources::lock::LockTarget;
    let service = TestService::with_grace(&[("Probe", "exec sleep 3600")], GRACE);
    service.add_user("mallory", "mallory", &support::role("mallory-role", "")).await;
    let (mut client, task) = service.connect();
    let sid = client.hello(320, 240, Codec::Qoiz).await.session_id;
    let _x = service.x_client("Probe").await;
    drop(client);
    assert_eq!(task.await.unwrap().unwrap(), SessionEnd::Detached);

    // Another user, even on the owner's login name, finds nothing to resume.
    for (user, login, id) in [("mallory", "mallory", sid.as_str()), ("tester", "tester", "0190f0a0-0000-7000-8000-000000000000")] {
        let (mut stranger, task) = service.resume_as(user, login, id);
        while stranger.next().await.is_some() {}
        let message = &stranger.alerts.last().unwrap().message;
        assert!(message.starts_with(&format!("there is no session {id} of yours")), "{user}: {message}");
        assert!(matches!(task.await.unwrap(), Err(SessionError::NoSuchSession(_))));
    }

    // A lock on the owner ends the waiting session, and refuses the resume.
    let target = LockTarget { user: Some("tester".into()), ..Default::default() };
    service.plane.lock(target, None, Some("incident 9".into())).await.unwrap();
    let (mut locked, task) = service.resume_as("tester", "tester", &sid);
    while locked.next().await.is_some() {}
    assert_eq!(locked.alerts.last().unwrap().message, "access denied: locked (incident 9)");
    assert!(matches!(task.await.unwrap(), Err(SessionError::Denied(_))));
    let end = support::events_of(&service, EventType::LinuxSessionEnd, 1).await.pop().unwrap();
    assert_eq!(end.text("reason"), Some("the session was locked by an administrator: incident 9"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_a_session_open_elsewhere_moves_it_here() {
    let service = TestService::with_grace(&[("Probe", "exec sleep 3600")], GRACE);
    let (mut first, first_task) = service.connect();
    let sid = first.hello(320, 240, Codec::Qoiz).await.session_id;
    let x = service.x_client("Probe").await;
    x.focused_green_window();
    first.until("the green window", |c| c.pixel(40, 30) == [0, 255, 0, 255]).await;
    let listed = service.service.sessions_of(&service.user_certificate("tester"), "tester").await.unwrap();
    assert_eq!((listed.len(), listed[0].attached), (1, true));
    assert!(service.service.sessions_of(&service.user_certificate("tester"), "root").await.unwrap().is_empty(), "another login's list is empty");

    let (mut second, _second_task) = service.resume_as("tester", "tester", &sid);
    second.hello(320, 240, Codec::Qoiz).await;
    second.until("the green window, here", |c| c.pixel(40, 30) == [0, 255, 0, 255]).await;
    // The first window is told where the session went, and its connection ends.
    while first.next().await.is_some() {}
    assert_eq!(first.alerts.last().unwrap().message, "the session was resumed in another window, and shows there now");
    assert_eq!(first_task.await.unwrap().unwrap(), SessionEnd::Detached);
    second.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: 0x1e, pressed: true })).await;
    x.next_key_press();
}
