//! Keyboard layouts against a real Xvfb and a real xterm: the layout the
//! client names is the desktop's, so physical keys make that layout's
//! characters (AltGr and dead keys included), text is typed through
//! keysyms, and a layout that cannot be set leaves US with a warning.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, AlertSeverity, Codec};
use support::{Client, PATIENCE, TestService, XClient};
use x11rb::protocol::xproto::ConnectionExt as _;

const RIGHT_ALT: u32 = 0xe038;

/// A service whose one xsession is an xterm at the top left whose shell
/// copies every typed line to `typed`.
fn typing_probe(typed: &Path) -> TestService {
    let command = format!("exec xterm -geometry 40x6+0+0 -e sh -c \"exec cat > {}\"", typed.display());
    TestService::new(&[("Probe", &command)])
}

/// Says hello with a keyboard layout name and reads the ServerHello.
async fn hello_with_layout(client: &mut Client, layout: &str) {
    client
        .send(Payload::ClientHello(pb::ClientHello {
            screen_spec: Some(pb::ClientScreenSpec { width: 640, height: 480, scale: 100 }),
            protocol_version: 1,
            codecs: vec![Codec::QoizStream as i32],
            keyboard_layout_name: layout.into(),
            ..Default::default()
        }))
        .await;
    match client.next().await {
        Some(Payload::ServerHello(hello)) => client.resize_canvas(hello.width, hello.height),
        other => panic!("expected ServerHello, got {other:?}"),
    }
}

/// The keysyms of `keycode` at group 1 level 1 and at level 3 (AltGr).
fn keysyms(x: &XClient, keycode: u8) -> (u32, u32) {
    let mapping = x.conn.get_keyboard_mapping(keycode, 1).unwrap().reply().unwrap();
    let level3 = mapping.keysyms.get(4).copied().unwrap_or(0);
    (mapping.keysyms[0], level3)
}

/// Presses and releases each scancode in turn, holding the ones in `held` around it.
async fn tap(client: &mut Client, held: &[u32], scancode: u32) {
    for &key in held {
        client.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: key, pressed: true })).await;
    }
    for pressed in [true, false] {
        client.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: scancode, pressed })).await;
    }
    for &key in held.iter().rev() {
        client.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: key, pressed: false })).await;
    }
}

/// Waits until the xterm is painted, then puts the pointer over it: without
/// a window manager, keyboard focus follows the pointer.
async fn point_at_xterm(client: &mut Client) {
    client.until("the xterm on screen", |c| c.pixel(100, 40) == [255, 255, 255, 255]).await;
    client.send(Payload::MouseMove(pb::MouseMove { x: 100, y: 40 })).await;
}

/// Reads messages until `typed` holds `want`, failing with what it holds.
async fn until_typed(client: &mut Client, typed: &Path, want: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(typed).unwrap_or_default();
        if text == want {
            return;
        }
        assert!(Instant::now() < deadline, "the xterm typed {text:?}, not {want:?}");
        // Frames keep coming while the xterm draws; acknowledging them keeps the session moving.
        let _ = tokio::time::timeout(Duration::from_millis(100), client.next()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_layout_types_umlauts_altgr_and_dead_keys() {
    let out = tempfile::tempdir().unwrap();
    // The xterm runs as the session's login, which writes here.
    std::fs::set_permissions(out.path(), std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let typed = out.path().join("typed.txt");
    let service = typing_probe(&typed);
    let (mut client, _task) = service.connect();
    hello_with_layout(&mut client, "de").await;
    let x = service.x_client("Probe").await;

    // The keymap is German before the xsession's first client starts.
    assert_eq!(keysyms(&x, 48), (0xe4, 0xfe52), "Quote is adiaeresis, dead_circumflex on AltGr");
    assert_eq!(keysyms(&x, 26).1, 0x20ac, "AltGr+E is EuroSign");
    assert_eq!(keysyms(&x, 24).1, 0x40, "AltGr+Q is at");

    point_at_xterm(&mut client).await;
    tap(&mut client, &[], 0x28).await; // Quote: ä
    tap(&mut client, &[RIGHT_ALT], 0x12).await; // AltGr+E: €
    tap(&mut client, &[RIGHT_ALT], 0x10).await; // AltGr+Q: @
    tap(&mut client, &[], 0x29).await; // Backquote: dead ^ ...
    tap(&mut client, &[], 0x1e).await; // ... then A: â
    tap(&mut client, &[], 0x56).await; // the ISO key left of Z: <
    tap(&mut client, &[0x2a], 0x56).await; // Shift+ISO key: >
    tap(&mut client, &[], 0x15).await; // the key labelled Y on US keyboards: z
    tap(&mut client, &[], 0x1c).await; // Return
    until_typed(&mut client, &typed, "ä€@â<>z\n").await;

    // Text no key makes, and text some key makes, typed through keysyms.
    client.send(Payload::KeyboardText(pb::KeyboardText { text: "→ 中 zé€\n".into() })).await;
    until_typed(&mut client, &typed, "ä€@â<>z\n→ 中 zé€\n").await;
    // The same characters again reuse their keycodes; Caps Lock does not change them.
    tap(&mut client, &[], 0x3a).await; // Caps Lock on
    client.send(Payload::KeyboardText(pb::KeyboardText { text: "中→\n".into() })).await;
    until_typed(&mut client, &typed, "ä€@â<>z\n→ 中 zé€\n中→\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_french_layout_is_azerty() {
    let service = TestService::new(&[("Idle", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    hello_with_layout(&mut client, "fr").await;
    let x = service.x_client("Idle").await;
    assert_eq!(keysyms(&x, 11).0, 0xe9, "Digit2 is eacute");
    assert_eq!(keysyms(&x, 24).0, 0x61, "KeyQ is a");
    assert_eq!(keysyms(&x, 26).1, 0x20ac, "AltGr+E is EuroSign");
    assert!(client.alerts.is_empty(), "no warning: {:?}", client.alerts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layout_that_cannot_be_set_leaves_us_with_a_warning_naming_it() {
    let service = TestService::new(&[("Idle", "exec sleep 3600")]);
    for (layout, warning) in [
        ("xx", "keyboard layout \"xx\" is not installed on this desktop; keys type as on a US keyboard"),
        ("de(nosuchvariant)", "keyboard layout \"de(nosuchvariant)\" is not installed on this desktop; keys type as on a US keyboard"),
        ("de;reboot", "keyboard layout \"de;reboot\" is not a valid XKB layout name; keys type as on a US keyboard"),
    ] {
        let (mut client, task) = service.connect();
        hello_with_layout(&mut client, layout).await;
        client.until("the warning", |c| !c.alerts.is_empty()).await;
        assert_eq!(client.alerts[0], pb::Alert { message: warning.into(), severity: AlertSeverity::Warning as i32 });
        let x = service.x_client("Idle").await;
        assert_eq!(keysyms(&x, 48).0, 0x27, "Quote is still apostrophe");
        drop(client);
        tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();
        // The next session writes its own display into the env file.
        std::fs::remove_file(service.dir.path().join("Idle.env")).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_with_more_characters_than_spare_keycodes_is_typed_in_bursts() {
    use x11rb::connection::Connection as _;
    use x11rb::protocol::Event;
    use x11rb::protocol::xproto;
    use x11rb::wrapper::ConnectionExt as _;

    let service = TestService::new(&[("Idle", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    hello_with_layout(&mut client, "us").await;
    let x = service.x_client("Idle").await;
    // A focused window that hears every key.
    let screen = &x.conn.setup().roots[0];
    let window = x.conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().override_redirect(1).event_mask(xproto::EventMask::KEY_PRESS);
    x.conn.create_window(0, window, screen.root, 0, 0, 100, 100, 0, xproto::WindowClass::INPUT_OUTPUT, 0, &aux).unwrap();
    x.conn.map_window(window).unwrap();
    x.conn.set_input_focus(xproto::InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME).unwrap();
    x.conn.sync().unwrap();

    // 40 characters no key makes: more than Xvfb's keymap has spare keycodes.
    let text: String = (0x4e00..0x4e00 + 40).filter_map(char::from_u32).collect();
    client.send(Payload::KeyboardText(pb::KeyboardText { text: text.clone() })).await;
    let deadline = Instant::now() + PATIENCE;
    let mut keycodes = Vec::new();
    while keycodes.len() < 40 {
        assert!(Instant::now() < deadline, "only {} of 40 key presses arrived", keycodes.len());
        match x.conn.poll_for_event().unwrap() {
            Some(Event::KeyPress(press)) => keycodes.push(press.detail),
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    keycodes.sort_unstable();
    keycodes.dedup();
    assert!(keycodes.len() < 40, "spare keycodes were reused ({} used)", keycodes.len());
    // The last characters stay bound, so typing them again needs no new binding.
    let setup = x.conn.setup();
    let mapping = x.conn.get_keyboard_mapping(setup.min_keycode, setup.max_keycode - setup.min_keycode + 1).unwrap().reply().unwrap();
    let last = 0x0100_0000 + u32::from(text.chars().last().unwrap());
    assert!(mapping.keysyms.contains(&last), "the last character's keysym {last:#x} is still bound");
}
