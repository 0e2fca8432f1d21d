//! A Windows desktop's session process (`oriel-rdp-session`, the entry
//! point of `oriel rdp-session`) as the desktop service drives it: started
//! with `SessionProcess::spawn` and a `Launch` naming the RDP host, then
//! spoken to in TDPB as a browser would. The host is FreeRDP's shadow
//! server on a real Xvfb; what the session sends is painted with the
//! browser's decoder (`oriel_qoiz::Canvas`) and compared with the X
//! server's own picture; input is checked where it lands, in an X window.

mod support;

use std::time::Duration;

use oriel_linux_desktop::session_process::{SessionProcess, SessionProgram, pb};
use oriel_tdpb::Payload;
use oriel_tdpb::pb as tdpb;
use support::browser::{Browser, canvas_pixel, canvas_region, error_alert, hello};
use support::{PASSWORD, PATIENCE, SCREEN, ShadowServer, USER, red_window};
use x11rb::connection::Connection as _;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{self, ConnectionExt as _};

fn program() -> SessionProgram {
    SessionProgram { path: env!("CARGO_BIN_EXE_oriel-rdp-session").into(), args: Vec::new() }
}

fn launch(server: &ShadowServer, password: &str) -> pb::Launch {
    pb::Launch {
        rdp: Some(pb::RdpHost {
            addr: format!("127.0.0.1:{}", server.port),
            server_name: "127.0.0.1".into(),
            certificate_pem: server.certificate_pem.clone(),
            username: USER.into(),
            password: password.into(),
            domain: String::new(),
            desktop_name: "test-host".into(),
            ca_pem: String::new(),
        }),
        pacing: Some(pb::Pacing { min_interval_us: 16_667, max_in_flight: 2, ack_timeout_ms: 3000, keyframe_interval_ms: 60_000 }),
        max_screen_width: 8192,
        max_screen_height: 8192,
        ..Default::default()
    }
}

/// The X server's own picture of a region, as RGBA.
fn x_region(conn: &impl x11rb::connection::Connection, x: i16, y: i16, width: u16, height: u16) -> Vec<u8> {
    let root = conn.setup().roots[0].root;
    let image = conn.get_image(xproto::ImageFormat::Z_PIXMAP, root, x, y, width, height, !0).unwrap().reply().unwrap();
    image.data.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0], 255]).collect()
}

/// A window at (300, 300), 200x100, that takes the keyboard focus and
/// hears the keys, buttons and wheel the session sends.
fn input_window(conn: &impl x11rb::connection::Connection) -> xproto::Window {
    let root = &conn.setup().roots[0];
    let window = conn.generate_id().unwrap();
    let events = xproto::EventMask::KEY_PRESS | xproto::EventMask::BUTTON_PRESS | xproto::EventMask::BUTTON_RELEASE;
    let aux = xproto::CreateWindowAux::new().background_pixel(0x00ff00).override_redirect(1).event_mask(events);
    conn.create_window(root.root_depth, window, root.root, 300, 300, 200, 100, 0, xproto::WindowClass::INPUT_OUTPUT, root.root_visual, &aux).unwrap();
    conn.map_window(window).unwrap();
    conn.set_input_focus(xproto::InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME).unwrap();
    conn.flush().unwrap();
    window
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_screen_reaches_the_browser_and_the_browsers_input_reaches_the_host() {
    let server = ShadowServer::start();
    let x = red_window(&server.display);
    input_window(&x);
    let (mut process, data) = SessionProcess::spawn(&program(), &launch(&server, PASSWORD)).await.unwrap();
    let mut browser = Browser::new(data);
    browser.send(hello()).await;
    let Some(Payload::ServerHello(hello)) = browser.next().await else { panic!("a ServerHello first") };
    assert_eq!((hello.width, hello.height), (SCREEN.0.into(), SCREEN.1.into()));
    assert_eq!(hello.xsessions, [tdpb::XSession { name: "test-host".into() }], "the one session starts at once");
    assert!(!hello.clipboard_enabled && !hello.directory_sharing_enabled);
    assert!(matches!(process.next_event().await.unwrap(), Some(pb::Event { event: Some(pb::event::Event::Started(_)) })));
    browser.canvas.resize(hello.width, hello.height);

    // The red window, and then the whole region around it as the X server has it.
    browser.until("the red window", |canvas| canvas_pixel(canvas, 90, 70) == [255, 0, 0, 255]).await;
    let want = x_region(&x, 0, 0, 520, 420);
    browser.until("the region as the X server shows it", |canvas| canvas_region(canvas, 0, 0, 520, 420) == want).await;

    // Input: a click, a key and a wheel notch in the window.
    browser.send(Payload::MouseMove(tdpb::MouseMove { x: 400, y: 350 })).await;
    for pressed in [true, false] {
        browser.send(Payload::MouseButton(tdpb::MouseButton { button: tdpb::MouseButtonType::MouseButtonLeft as i32, pressed })).await;
    }
    for pressed in [true, false] {
        browser.send(Payload::KeyboardButton(tdpb::KeyboardButton { key_code: 0x1E, pressed })).await;
    }
    browser.send(Payload::MouseWheel(tdpb::MouseWheel { axis: tdpb::MouseWheelAxis::Vertical as i32, delta: 120 })).await;
    let mapping = x.get_keyboard_mapping(x.setup().min_keycode, x.setup().max_keycode - x.setup().min_keycode + 1).unwrap().reply().unwrap();
    let keysym_of = |keycode: u8| mapping.keysyms[(keycode - x.setup().min_keycode) as usize * mapping.keysyms_per_keycode as usize];
    let (mut clicked, mut typed, mut scrolled) = (false, false, false);
    let deadline = std::time::Instant::now() + PATIENCE;
    while !(clicked && typed && scrolled) {
        assert!(std::time::Instant::now() < deadline, "input did not arrive: click {clicked}, key {typed}, wheel {scrolled}");
        // Keep the session reading the host while the test waits on X.
        let _ = tokio::time::timeout(Duration::from_millis(20), browser.next()).await;
        while let Some(event) = x.poll_for_event().unwrap() {
            match event {
                Event::ButtonPress(press) if press.detail == 1 => clicked = (press.event_x, press.event_y) == (100, 50),
                Event::ButtonPress(press) if press.detail == 4 => scrolled = true,
                Event::KeyPress(key) => typed |= keysym_of(key.detail) == u32::from(b'a'),
                _ => {}
            }
        }
    }

    // The browser leaves: the process ends and says so.
    drop(browser);
    let ended = tokio::time::timeout(PATIENCE, process.next_event()).await.unwrap().unwrap();
    let Some(pb::Event { event: Some(pb::event::Event::Ended(ended)) }) = ended else { panic!("an Ended event: {ended:?}") };
    assert_eq!(ended.reason(), pb::ended::Reason::ClientLeft);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_a_host_that_drops_each_end_the_session_with_the_reason() {
    let mut server = ShadowServer::start();
    let (mut process, data) = SessionProcess::spawn(&program(), &launch(&server, "not the password")).await.unwrap();
    let mut browser = Browser::new(data);
    browser.send(hello()).await;
    let message = error_alert(&mut browser).await;
    assert!(message.contains("did not accept the sign-in"), "{message}");
    assert!(!message.contains("not the password"), "the password is never shown: {message}");
    let Ok(Some(pb::Event { event: Some(pb::event::Event::Ended(ended)) })) = process.next_event().await else { panic!("an Ended event") };
    assert_eq!(ended.reason(), pb::ended::Reason::DesktopError);
    assert!(ended.alerted);

    // A session that runs, then its host goes away.
    let (mut process, data) = SessionProcess::spawn(&program(), &launch(&server, PASSWORD)).await.unwrap();
    let mut browser = Browser::new(data);
    browser.send(hello()).await;
    let Some(Payload::ServerHello(_)) = browser.next().await else { panic!("a ServerHello first") };
    server.kill_server();
    let message = error_alert(&mut browser).await;
    assert!(message.contains("dropped") || message.contains("ended"), "{message}");
    loop {
        match tokio::time::timeout(PATIENCE, process.next_event()).await.unwrap() {
            Ok(Some(pb::Event { event: Some(pb::event::Event::Ended(ended)) })) => {
                assert_eq!(ended.reason(), pb::ended::Reason::DesktopError);
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("an Ended event, not {other:?}"),
        }
    }
}
