//! The desktop service against a real Xvfb and real X clients, through a
//! TDPB test client: what an X client draws arrives as frames, input arrives
//! as X events, the screen follows the client, and nothing outlives the session.

mod support;

use std::time::{Duration, Instant};

use oriel_auth::audit::EventType;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, AlertSeverity, Codec, MouseButtonType, MouseWheelAxis};
use support::{PATIENCE, TestService, XClient};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

const RED: u32 = 0xff0000;

/// A mapped override-redirect window of one colour, listening for input.
fn solid_window(x: &XClient, left: i16, top: i16, width: u16, height: u16, pixel: u32) -> xproto::Window {
    let screen = &x.conn.setup().roots[0];
    let window = x.conn.generate_id().unwrap();
    let events = xproto::EventMask::KEY_PRESS
        | xproto::EventMask::KEY_RELEASE
        | xproto::EventMask::BUTTON_PRESS
        | xproto::EventMask::BUTTON_RELEASE
        | xproto::EventMask::POINTER_MOTION;
    x.conn
        .create_window(
            screen.root_depth,
            window,
            screen.root,
            left,
            top,
            width,
            height,
            0,
            xproto::WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            &xproto::CreateWindowAux::new().background_pixel(pixel).override_redirect(1).event_mask(events),
        )
        .unwrap();
    x.conn.map_window(window).unwrap();
    x.conn.sync().unwrap();
    window
}

/// X events until `count` of those `keep` accepts have arrived.
fn collect<T>(x: &XClient, count: usize, mut keep: impl FnMut(Event) -> Option<T>) -> Vec<T> {
    let deadline = Instant::now() + PATIENCE;
    let mut found = Vec::new();
    while found.len() < count {
        assert!(Instant::now() < deadline, "only {} of {count} X events arrived", found.len());
        match x.conn.poll_for_event().unwrap() {
            Some(event) => found.extend(keep(event)),
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    found
}

fn keysym(x: &XClient, keycode: u8) -> u32 {
    let mapping = x.conn.get_keyboard_mapping(keycode, 1).unwrap().reply().unwrap();
    mapping.keysyms[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_shows_the_screen_takes_input_and_follows_resizes() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    let hello = client.hello(640, 480, Codec::QoizStream).await;
    assert_eq!((hello.width, hello.height), (640, 480));
    assert_eq!(hello.xsessions, [pb::XSession { name: "Probe".into() }]);
    assert_eq!(hello.codec, Codec::QoizStream as i32);

    // What an X client draws arrives in frames.
    let x = service.x_client("Probe").await;
    let window = solid_window(&x, 100, 50, 80, 60, RED);
    client.until("the red window", |c| c.pixel(100, 50) == [255, 0, 0, 255] && c.pixel(179, 109) == [255, 0, 0, 255]).await;
    assert_eq!(client.pixel(99, 50), [0, 0, 0, 255], "left of the window is the black root");
    assert_eq!(client.pixel(180, 110), [0, 0, 0, 255], "below right of the window is the black root");
    assert!(client.keyframes >= 1, "the first frame is a keyframe");

    // Keys, including 0xE0-extended ones, arrive as the right keys.
    x.conn.set_input_focus(xproto::InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME).unwrap();
    x.conn.sync().unwrap();
    let keys: [(u32, u32, &str); 10] = [
        (0x1e, 0x61, "a"),
        (0x1c, 0xff0d, "Return"),
        (0xe048, 0xff52, "Up"),
        (0xe04b, 0xff51, "Left"),
        (0xe047, 0xff50, "Home"),
        (0xe053, 0xffff, "Delete"),
        (0xe01c, 0xff8d, "KP_Enter"),
        (0xe035, 0xffaf, "KP_Divide"),
        (0xe01d, 0xffe4, "Control_R"),
        (0xe05b, 0xffeb, "Super_L"),
    ];
    for (scancode, _, _) in keys {
        for pressed in [true, false] {
            client.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: scancode, pressed })).await;
        }
    }
    let pressed = collect(&x, keys.len(), |event| match event {
        Event::KeyPress(e) => Some(e.detail),
        _ => None,
    });
    for ((_, expected, name), keycode) in keys.iter().zip(pressed) {
        assert_eq!(keysym(&x, keycode), *expected, "{name} arrived as keycode {keycode}");
    }

    // Pointer moves, clicks and both wheel axes arrive.
    client.send(Payload::MouseMove(pb::MouseMove { x: 120, y: 70 })).await;
    let motion = collect(&x, 1, |event| match event {
        Event::MotionNotify(e) => Some((e.event_x, e.event_y)),
        _ => None,
    });
    assert_eq!(motion[0], (20, 20), "window coordinates of screen (120, 70)");
    for pressed in [true, false] {
        client.send(Payload::MouseButton(pb::MouseButton { button: MouseButtonType::MouseButtonRight as i32, pressed })).await;
    }
    client.send(Payload::MouseWheel(pb::MouseWheel { axis: MouseWheelAxis::Vertical as i32, delta: 120 })).await;
    client.send(Payload::MouseWheel(pb::MouseWheel { axis: MouseWheelAxis::Horizontal as i32, delta: -240 })).await;
    let buttons = collect(&x, 4, |event| match event {
        Event::ButtonPress(e) => Some(e.detail),
        _ => None,
    });
    assert_eq!(buttons, [3, 4, 7, 7], "right click, one notch up, two notches right");

    // The screen follows the client's size; a keyframe of the new size follows.
    let keyframes = client.keyframes;
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 800, height: 600, scale: 100 })).await;
    client.resize_canvas(800, 600);
    client.until("a keyframe after the resize", |c| c.keyframes > keyframes).await;
    let root = x.conn.setup().roots[0].root;
    let geometry = x.conn.get_geometry(root).unwrap().reply().unwrap();
    assert_eq!((geometry.width, geometry.height), (800, 600));
    client.until("the window in the new keyframe", |c| c.pixel(120, 70) == [255, 0, 0, 255]).await;

    // Pings are answered with the same id.
    client.send(Payload::Ping(pb::Ping { id: vec![7; 16] })).await;
    client.until("the ping's answer", |c| c.pings.iter().any(|p| p.id == [7; 16])).await;

    // When the client goes away, the display and the xsession stop.
    let display_socket = format!("/tmp/.X11-unix/X{}", x.display.trim_start_matches(':'));
    drop(client);
    let end = tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();
    assert_eq!(end, oriel_linux_desktop::SessionEnd::ClientLeft);
    let deadline = Instant::now() + PATIENCE;
    while std::path::Path::new(&display_socket).exists() {
        assert!(Instant::now() < deadline, "Xvfb outlived its session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(x.conn.get_input_focus().unwrap().reply().is_err(), "the X server is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_picks_among_several_sessions() {
    let service = TestService::new(&[("First", "exec sleep 3600"), ("Second", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    let hello = client.hello(320, 240, Codec::Qoiz).await;
    let names: Vec<_> = hello.xsessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["First", "Second"]);
    client.send(Payload::SessionSelection(pb::SessionSelection { xsession: "Second".into() })).await;
    let x = service.x_client("Second").await;
    solid_window(&x, 0, 0, 10, 10, RED);
    client.until("a frame with the window", |c| c.pixel(5, 5) == [255, 0, 0, 255]).await;
    assert!(!service.dir.path().join("First.env").exists(), "only the chosen session runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_name_is_refused_with_an_alert() {
    let service = TestService::new(&[("First", "exec sleep 3600"), ("Second", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    client.send(Payload::SessionSelection(pb::SessionSelection { xsession: "../../bin/sh".into() })).await;
    while client.next().await.is_some() {}
    let alert = client.alerts.last().expect("an alert");
    assert_eq!(alert.severity, AlertSeverity::Error as i32);
    assert_eq!(alert.message, "unknown desktop session \"../../bin/sh\"");
    assert!(task.await.unwrap().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_frame_ends_the_session_with_an_alert() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    // A well-framed envelope whose field 7 claims 9 bytes that are not there.
    client.send_raw(&[0, 0, 0, 2, 0x3a, 0x09]).await;
    while client.next().await.is_some() {}
    let alert = client.alerts.last().expect("an alert");
    assert_eq!(alert.severity, AlertSeverity::Error as i32);
    assert!(alert.message.starts_with("malformed message from the client"), "{}", alert.message);
    // The session process found it; the daemon knows it was the client's doing.
    match task.await.unwrap() {
        Err(error) => assert!(error.is_client_fault() && error.to_string().starts_with("malformed message from the client"), "{error}"),
        Ok(end) => panic!("the session ended normally: {end:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_the_roles_do_not_allow_is_refused_before_anything_starts() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect_as("tester", "root");
    while client.next().await.is_some() {}
    let alert = client.alerts.last().expect("an alert");
    assert_eq!(alert.severity, AlertSeverity::Error as i32);
    assert!(alert.message.starts_with("access denied: no role allows login \"root\""), "{}", alert.message);
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Denied(_))));
    assert!(!service.dir.path().join("Probe.env").exists(), "no desktop was started");
    let (mut stranger, _task) = service.connect_as("mallory", "tester");
    while stranger.next().await.is_some() {}
    assert_eq!(stranger.alerts.last().unwrap().message, "access denied: user \"mallory\" not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_ends_a_live_session() {
    use oriel_auth::resources::lock::LockTarget;
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    let target = LockTarget { user: Some("tester".into()), ..Default::default() };
    service.plane.lock(target, None, Some("incident 7".into())).await.unwrap();
    while client.next().await.is_some() {}
    assert_eq!(client.alerts.last().unwrap().message, "the session was locked by an administrator: incident 7");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Locked(_))));
    let disconnect = support::events_of(&service, EventType::ClientDisconnect, 1).await.pop().unwrap();
    assert_eq!((disconnect.user.as_str(), disconnect.text("reason")), ("tester", Some("the session was locked by an administrator: incident 7")));
    // One session id from its start to its end.
    let start = support::events_of(&service, EventType::LinuxSessionStart, 1).await.pop().unwrap();
    let end = support::events_of(&service, EventType::LinuxSessionEnd, 1).await.pop().unwrap();
    assert!(start.success && start.sid.is_some());
    assert_eq!((start.sid.as_ref(), end.sid.as_ref()), (disconnect.sid.as_ref(), disconnect.sid.as_ref()));
    assert_eq!((start.text("linux_user"), start.text("desktop_name")), (Some("tester"), Some("test-desktop")));
    assert_eq!(end.fields["participants"], serde_json::json!(["tester"]));
    assert!(end.text("session_start").is_some() && end.text("session_stop").is_some());
    let (mut again, _task) = service.connect();
    while again.next().await.is_some() {}
    assert_eq!(again.alerts.last().unwrap().message, "access denied: locked (incident 7)", "new sessions are refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_input_ends_at_the_client_idle_timeout() {
    use oriel_auth::resources::cluster_settings::ClusterNetworkingConfig;
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let timeout = oriel_rbac::IdleTimeout::parse("1s").unwrap();
    let config = ClusterNetworkingConfig { client_idle_timeout: Some(timeout), desktop_lossy: None };
    service.plane.store().put_cluster_networking_config(&config).await.unwrap();
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    // The client acks frames and that is all: no keyboard or mouse input.
    while client.next().await.is_some() {}
    assert_eq!(client.alerts.last().unwrap().message, "the session was idle for 1s (the client idle timeout) and was disconnected");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Idle(_))));
    let disconnect = support::events_of(&service, EventType::ClientDisconnect, 1).await.pop().unwrap();
    assert_eq!(disconnect.text("reason"), Some("the session was idle for 1s (the client idle timeout) and was disconnected"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_xsessions_the_filter_lets_through_are_offered() {
    // Seed 001's example: include ^Xfce.*, exclude .*restricted.
    let filter = oriel_linux_desktop::xsession::XsessionFilter {
        included: regex::Regex::new("^Xfce.*").unwrap(),
        excluded: Some(regex::Regex::new(".*restricted").unwrap()),
    };
    let service = TestService::with_filter(&[("Xfce Session", "exec sleep 1"), ("Xfce restricted", "exec sleep 1"), ("GNOME", "exec sleep 1")], filter);
    let names: Vec<String> = service.service.xsessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["Xfce Session"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_when_the_login_certificate_expires() {
    use oriel_auth::ca::UserIdentity;
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let user_id = Some(service.plane.store().user("tester").await.unwrap().value.id);
    let identity = UserIdentity { user: "tester".into(), user_id, ..Default::default() };
    let short = service.ca.issue_user(&identity, std::time::Duration::from_secs(3), std::time::SystemTime::now()).unwrap();
    let (mut client, task) = service.connect_with(short.cert_der, "tester");
    client.hello(320, 240, Codec::Qoiz).await;
    let _x = service.x_client("Probe").await;
    while client.next().await.is_some() {}
    assert_eq!(client.alerts.last().unwrap().message, "your login expired; log in again to go on");
    assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::CertificateExpired)));
    let disconnect = support::events_of(&service, EventType::ClientDisconnect, 1).await.pop().unwrap();
    assert_eq!((disconnect.user.as_str(), disconnect.text("reason")), ("tester", Some("your login expired; log in again to go on")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_desktops_says_so() {
    let service = TestService::new(&[]);
    let (mut client, _task) = service.connect();
    client
        .send(Payload::ClientHello(pb::ClientHello { screen_spec: Some(pb::ClientScreenSpec { width: 100, height: 100, scale: 100 }), ..Default::default() }))
        .await;
    while client.next().await.is_some() {}
    assert!(client.alerts[0].message.starts_with("no desktop sessions are installed"), "{:?}", client.alerts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_valid_user_certificate_of_this_cluster_opens_a_session() {
    use oriel_auth::ca::{HostIdentity, HostRole, UserIdentity};
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let tester = UserIdentity { user: "tester".into(), ..Default::default() };
    let now = std::time::SystemTime::now();
    let hour = Duration::from_secs(3600);

    let other_dir = tempfile::tempdir().unwrap();
    let foreign = support::foreign_ca(other_dir.path()).issue_user(&tester, hour, now).unwrap();
    let expired = service.ca.issue_user(&tester, hour, now - 2 * hour).unwrap();
    let host = HostIdentity { host_id: "tester".into(), role: HostRole::Proxy, dns_names: vec![], ips: vec![] };
    let host = service.ca.issue_host(&host, hour, now).unwrap();
    let cases = [
        (foreign.cert_der, "access denied: the certificate was signed by another authority (O=Oriel, OU="),
        (expired.cert_der, "access denied: the certificate expired at "),
        (host.cert_der, "access denied: a host certificate is not a user certificate"),
        (b"tester".to_vec(), "access denied: malformed certificate: "),
    ];
    let causes: Vec<(Vec<u8>, &str)> = cases.to_vec();
    for (certificate, cause) in cases {
        let (mut client, task) = service.connect_with(certificate, "tester");
        while client.next().await.is_some() {}
        let alert = client.alerts.last().expect("an alert");
        assert_eq!(alert.severity, AlertSeverity::Error as i32);
        assert!(alert.message.starts_with(cause), "{:?} should start with {cause:?}", alert.message);
        let denied = task.await.unwrap().unwrap_err();
        assert!(matches!(denied, oriel_linux_desktop::SessionError::Denied(_)), "{denied:?}");
    }
    assert!(!service.dir.path().join("Probe.env").exists(), "no desktop was started");

    let refusals = support::events_of(&service, EventType::LinuxSessionStart, 4).await;
    assert_eq!(refusals.len(), 4, "every refusal is recorded");
    for (refusal, (_, cause)) in refusals.iter().zip(&causes) {
        assert!(!refusal.success && refusal.code() == "TLD00W", "{refusal:?}");
        assert_eq!((refusal.text("linux_user"), refusal.fields["user_verified"].as_bool()), (Some("tester"), Some(false)));
        assert!(refusal.text("error").unwrap().starts_with(cause), "{refusal:?}");
    }
    assert_eq!(refusals[0].user, "tester", "the name a refused certificate claims is kept, marked as not verified");
}
