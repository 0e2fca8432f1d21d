//! The clipboard against a real Xvfb and real X clients: text copied on the
//! desktop (by xclip, or by an owner that answers in INCR chunks) reaches the
//! client as ClipboardData, the client's text is the desktop's CLIPBOARD for
//! xclip to paste, sizes are held to 1 MiB, and a session whose roles turn
//! the clipboard off shares nothing.

mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oriel_auth::audit::EventType;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, AlertSeverity, Codec};
use support::{Client, PATIENCE, TestService, XClient};
use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

/// Text that is not ASCII, not Latin-1, and not in the Basic Multilingual Plane.
const UNICODE: &str = "Grüße 😀 €";

/// About 500 KB of it: larger than one INCR chunk many times over.
fn large_text() -> String {
    let line = format!("{UNICODE} {}\n", "ÄÖÜ ∑ 中文 ".repeat(4));
    line.repeat(500_000 / line.len() + 1)
}

/// The session's DISPLAY and XAUTHORITY, for X programs such as xclip.
fn display_env(service: &TestService, name: &str) -> [(&'static str, String); 2] {
    let text = std::fs::read_to_string(service.dir.path().join(format!("{name}.env"))).unwrap();
    let (display, xauthority) = text.trim().split_once(' ').unwrap();
    [("DISPLAY", display.to_owned()), ("XAUTHORITY", PathBuf::from(xauthority).display().to_string())]
}

/// `xclip -i -selection clipboard`: xclip takes CLIPBOARD with `text` and
/// serves it from the background until another client takes it or X ends.
fn xclip_copy(env: &[(&str, String)], text: &[u8]) {
    let mut xclip = Command::new("xclip")
        .args(["-i", "-selection", "clipboard"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip (the xclip package) runs");
    xclip.stdin.take().unwrap().write_all(text).unwrap();
    assert!(xclip.wait().unwrap().success());
}

/// `xclip -o -selection clipboard -t target`: what a pasting client gets, or
/// `None` while nobody owns CLIPBOARD (or the owner refuses the target).
fn xclip_paste(env: &[(&str, String)], target: &str) -> Option<Vec<u8>> {
    let output = Command::new("xclip")
        .args(["-o", "-selection", "clipboard", "-t", target])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(Stdio::null())
        .output()
        .expect("xclip runs");
    output.status.success().then_some(output.stdout)
}

/// Polls xclip until it pastes `want` as `target`.
async fn eventually_pasted(env: &[(&str, String)], target: &str, want: &[u8]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = xclip_paste(env, target);
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "xclip -t {target} never pasted the {} bytes sent; last: {:?}",
            want.len(),
            got.map(|g| (g.len(), String::from_utf8_lossy(&g[..g.len().min(40)]).into_owned()))
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads messages until ClipboardData arrives; its text.
async fn next_clipboard(client: &mut Client) -> String {
    loop {
        match client.next().await {
            Some(Payload::ClipboardData(clipboard)) => {
                return String::from_utf8(clipboard.data).expect("the service sends UTF-8");
            }
            Some(_) => continue,
            None => panic!("the session ended while waiting for clipboard data; alerts: {:?}", client.alerts),
        }
    }
}

/// Reads messages until an alert of `severity` arrives.
async fn next_alert(client: &mut Client, severity: AlertSeverity) -> pb::Alert {
    loop {
        match client.next().await {
            Some(Payload::Alert(alert)) if alert.severity == severity as i32 => return alert,
            Some(Payload::ClipboardData(clipboard)) => panic!("unexpected clipboard data of {} bytes", clipboard.data.len()),
            Some(_) => continue,
            None => panic!("the session ended while waiting for a {severity:?} alert; alerts: {:?}", client.alerts),
        }
    }
}

/// Pings the service `rounds` times, 100 ms apart, and fails if any
/// ClipboardData arrives meanwhile: for what must never come.
async fn no_clipboard_for(client: &mut Client, rounds: u8) {
    for round in 0..rounds {
        let id = vec![round; 16];
        client.send(Payload::Ping(pb::Ping { id: id.clone() })).await;
        loop {
            match client.next().await {
                Some(Payload::Ping(ping)) if ping.id == id => break,
                Some(Payload::ClipboardData(clipboard)) => {
                    panic!("clipboard data of {} bytes arrived: {:?}", clipboard.data.len(), String::from_utf8_lossy(&clipboard.data))
                }
                Some(_) => continue,
                None => panic!("the session ended; alerts: {:?}", client.alerts),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn started(service: &TestService, client: &mut Client) -> (XClient, [(&'static str, String); 2]) {
    let hello = client.hello(320, 240, Codec::Qoiz).await;
    assert!(hello.clipboard_enabled, "the tester's roles leave the clipboard on");
    let x = service.x_client("Probe").await;
    let env = display_env(service, "Probe");
    (x, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_copied_on_the_desktop_reaches_the_client_unicode_intact() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    let (_x, env) = started(&service, &mut client).await;

    xclip_copy(&env, UNICODE.as_bytes());
    assert_eq!(next_clipboard(&mut client).await, UNICODE);

    let large = large_text();
    xclip_copy(&env, large.as_bytes());
    let got = next_clipboard(&mut client).await;
    assert_eq!(got.len(), large.len());
    assert!(got == large, "500 KB of Unicode arrives byte for byte");

    // The audit log has both copies' lengths, and never the text.
    let received = support::events_of(&service, EventType::ClipboardReceive, 2).await;
    let lengths: Vec<_> = received.iter().map(|e| e.fields["length"].as_u64()).collect();
    assert_eq!(lengths, [Some(UNICODE.len() as u64), Some(large.len() as u64)]);
    assert!(received.iter().all(|e| e.user == "tester" && e.sid.is_some() && e.code() == "TDP03I"));
    let everything = serde_json::to_string(&received).unwrap();
    assert!(!everything.contains("Grüße") && !everything.contains(&large[..64]), "no clipboard text in the events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_text_is_the_desktops_clipboard_in_every_target() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    let (_x, env) = started(&service, &mut client).await;

    // Messages after ClipboardData find the text on the desktop's clipboard
    // (a paste key right after it pastes it): once a ping sent behind it is
    // answered, xclip pastes it without waiting.
    client.send(Payload::ClipboardData(pb::ClipboardData { data: UNICODE.as_bytes().to_vec() })).await;
    client.send(Payload::Ping(pb::Ping { id: vec![9; 16] })).await;
    client.until("the ping behind the clipboard data", |c| c.pings.iter().any(|p| p.id == [9; 16])).await;
    assert_eq!(xclip_paste(&env, "UTF8_STRING").unwrap(), UNICODE.as_bytes());
    assert_eq!(xclip_paste(&env, "text/plain;charset=utf-8").unwrap(), UNICODE.as_bytes());
    // STRING is Latin-1: ü and ß are in it, the emoji and the euro sign are not.
    assert_eq!(xclip_paste(&env, "STRING").unwrap(), b"Gr\xfc\xdfe ? ?");
    let targets = String::from_utf8(xclip_paste(&env, "TARGETS").unwrap()).unwrap();
    for target in ["TARGETS", "TIMESTAMP", "UTF8_STRING", "text/plain;charset=utf-8", "TEXT", "STRING"] {
        assert!(targets.lines().any(|t| t == target), "TARGETS lists {target}: {targets:?}");
    }
    assert_eq!(xclip_paste(&env, "image/png"), None, "targets that are not text are refused");

    // 500 KB goes to xclip in INCR chunks.
    let large = large_text();
    client.send(Payload::ClipboardData(pb::ClipboardData { data: large.as_bytes().to_vec() })).await;
    eventually_pasted(&env, "UTF8_STRING", large.as_bytes()).await;

    // What the client sent never came back to it: the first clipboard data
    // it gets is what the desktop copied next.
    xclip_copy(&env, b"copied on the desktop");
    assert_eq!(next_clipboard(&mut client).await, "copied on the desktop");

    let sent = support::events_of(&service, EventType::ClipboardSend, 2).await;
    let lengths: Vec<_> = sent.iter().map(|e| e.fields["length"].as_u64()).collect();
    assert_eq!(lengths, [Some(UNICODE.len() as u64), Some(large.len() as u64)], "the browser's copies, by length");
    assert!(sent.iter().all(|e| e.code() == "TDP02I" && e.text("linux_user") == Some("tester")));
}

/// An X client that owns CLIPBOARD and answers UTF8_STRING with `data` by
/// INCR, `chunk` bytes at a time, for one requestor; returns once the
/// transfer is over.
fn incr_owner(x: XClient, data: Vec<u8>, chunk: usize) -> std::thread::JoinHandle<()> {
    let conn = x.conn;
    let intern = |name: &str| conn.intern_atom(false, name.as_bytes()).unwrap().reply().unwrap().atom;
    let (clipboard, utf8, incr) = (intern("CLIPBOARD"), intern("UTF8_STRING"), intern("INCR"));
    let root = conn.setup().roots[0].root;
    let window = conn.generate_id().unwrap();
    conn.create_window(0, window, root, 0, 0, 1, 1, 0, xproto::WindowClass::INPUT_ONLY, 0, &Default::default()).unwrap();
    conn.set_selection_owner(window, clipboard, x11rb::CURRENT_TIME).unwrap();
    conn.sync().unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + PATIENCE;
        let mut transfer: Option<(xproto::Window, xproto::Atom, usize)> = None;
        loop {
            assert!(Instant::now() < deadline, "the INCR transfer never finished");
            let Some(event) = conn.poll_for_event().unwrap() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            match event {
                Event::SelectionRequest(e) if e.target == utf8 && transfer.is_none() => {
                    let watch = xproto::ChangeWindowAttributesAux::new().event_mask(xproto::EventMask::PROPERTY_CHANGE);
                    conn.change_window_attributes(e.requestor, &watch).unwrap();
                    conn.change_property32(xproto::PropMode::REPLACE, e.requestor, e.property, incr, &[data.len() as u32]).unwrap();
                    let notify = xproto::SelectionNotifyEvent {
                        response_type: xproto::SELECTION_NOTIFY_EVENT,
                        sequence: 0,
                        time: e.time,
                        requestor: e.requestor,
                        selection: e.selection,
                        target: e.target,
                        property: e.property,
                    };
                    conn.send_event(false, e.requestor, xproto::EventMask::NO_EVENT, notify).unwrap();
                    conn.flush().unwrap();
                    transfer = Some((e.requestor, e.property, 0));
                }
                Event::PropertyNotify(e) if e.state == xproto::Property::DELETE => {
                    let Some((requestor, property, sent)) = &mut transfer else {
                        continue;
                    };
                    if e.window != *requestor || e.atom != *property {
                        continue;
                    }
                    let end = (*sent + chunk).min(data.len());
                    conn.change_property8(xproto::PropMode::REPLACE, *requestor, *property, utf8, &data[*sent..end]).unwrap();
                    conn.flush().unwrap();
                    if *sent == end {
                        // The zero-length chunk: done, once the server has it.
                        conn.sync().unwrap();
                        return;
                    }
                    *sent = end;
                }
                _ => {}
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_answers_in_incr_chunks_is_read_whole_up_to_the_limit() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    let (_x, _env) = started(&service, &mut client).await;
    let display = display_env(&service, "Probe");
    let connect = || XClient::connect(&display[0].1, std::path::Path::new(&display[1].1));
    let large = large_text();

    // The first connection's request-size limit does not matter: the owner picks its chunks.
    assert!(connect().conn.maximum_request_bytes() > 4096);
    let owner = incr_owner(connect(), large.clone().into_bytes(), 4096);
    let got = next_clipboard(&mut client).await;
    assert!(got == large, "{} bytes by INCR arrive as sent ({} arrived)", large.len(), got.len());
    owner.join().unwrap();

    // Over 1 MiB by INCR: drained and not sent, and the user is told.
    let owner = incr_owner(connect(), vec![b'x'; (1 << 20) + 1], 256 * 1024);
    let alert = next_alert(&mut client, AlertSeverity::Warning).await;
    assert_eq!(alert.message, "the desktop's clipboard holds 1.1 MiB of text, more than the 1 MiB limit; it was not copied to your browser");
    owner.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_clipboard_over_one_mebibyte_is_not_sent_and_the_client_is_warned() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, _task) = service.connect();
    let (_x, env) = started(&service, &mut client).await;

    xclip_copy(&env, &vec![b'x'; 3 << 19]);
    let alert = next_alert(&mut client, AlertSeverity::Warning).await;
    assert_eq!(alert.message, "the desktop's clipboard holds 1.5 MiB of text, more than the 1 MiB limit; it was not copied to your browser");
    // Exactly 1 MiB is allowed.
    xclip_copy(&env, &vec![b'y'; 1 << 20]);
    assert_eq!(next_clipboard(&mut client).await.len(), 1 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipboard_data_over_the_limit_or_not_utf8_ends_the_session_with_the_reason() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let cases: [(Vec<u8>, &str); 2] = [
        (vec![b'a'; (1 << 20) + 1], "malformed message from the client: ClipboardData.data out of range: 1048577 bytes, at most 1048576 (1 MiB)"),
        (b"ok \xff".to_vec(), "malformed message from the client: ClipboardData.data is not UTF-8 text (invalid byte at offset 3)"),
    ];
    for (data, reason) in cases {
        let (mut client, task) = service.connect();
        client.hello(320, 240, Codec::Qoiz).await;
        client.send(Payload::ClipboardData(pb::ClipboardData { data })).await;
        while client.next().await.is_some() {}
        let alert = client.alerts.last().expect("an alert");
        assert_eq!((alert.severity, alert.message.as_str()), (AlertSeverity::Error as i32, reason));
        assert!(matches!(task.await.unwrap(), Err(error) if error.is_client_fault()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_roles_turn_the_clipboard_off_shares_nothing() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let role = "kind: role\nversion: v7\nmetadata:\n  name: no-clipboard\nspec:\n  options:\n    desktop_clipboard: false\n";
    service.plane.create_roles(&oriel_rbac::parse_roles("no-clipboard.yaml", role).unwrap(), false).await.unwrap();
    let user = oriel_auth::control_plane::UserSpec {
        name: "guarded".into(),
        roles: vec!["tester".into(), "no-clipboard".into()],
        linux_logins: vec!["tester".into()],
        ..Default::default()
    };
    service.plane.add_user(&user).await.unwrap();
    let (mut client, _task) = service.connect_as("guarded", "tester");
    let hello = client.hello(320, 240, Codec::Qoiz).await;
    assert!(!hello.clipboard_enabled, "any role turning the clipboard off turns it off");
    let _x = service.x_client("Probe").await;
    let env = display_env(&service, "Probe");

    // The client's text goes nowhere, and the user is told.
    client.send(Payload::ClipboardData(pb::ClipboardData { data: b"not for the desktop".to_vec() })).await;
    let alert = next_alert(&mut client, AlertSeverity::Warning).await;
    assert_eq!(alert.message, "clipboard sharing is off for this session (desktop_clipboard in your roles); the text was not copied to the desktop");
    assert_eq!(xclip_paste(&env, "UTF8_STRING"), None, "nobody owns the desktop's clipboard");

    // The desktop's text stays there: nothing reads it for the client.
    xclip_copy(&env, b"not for the browser");
    no_clipboard_for(&mut client, 20).await;
    assert_eq!(xclip_paste(&env, "UTF8_STRING").unwrap(), b"not for the browser");
}
