//! Session recordings at the desktop service, against a real Xvfb: what the
//! browser was shown is recorded and uploaded when the session ends, with
//! its keyframes indexed so a replay from any keyframe paints what the
//! session showed; keyboard input is never in it; roles can turn it off; a
//! recording that cannot be written ends the session; a recording cut short
//! by a crash is closed and uploaded at the next start.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oriel_auth::audit::EventType;
use oriel_auth::store::{RecordingQuery, RecordingRecord};
use oriel_qoiz::Canvas;
use oriel_recording::{Meta, RecordingWriter, Scanned, Scanner, Source, parse_record};
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec};
use prost::Message;
use support::{PATIENCE, TestService, XClient};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

/// A red 80x60 window at (100, 50).
fn red_window(x: &XClient) {
    let screen = &x.conn.setup().roots[0];
    let window = x.conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().background_pixel(0xff0000).override_redirect(1);
    x.conn.create_window(screen.root_depth, window, screen.root, 100, 50, 80, 60, 0, xproto::WindowClass::INPUT_OUTPUT, screen.root_visual, &aux).unwrap();
    x.conn.map_window(window).unwrap();
    x.conn.sync().unwrap();
}

/// The catalog's recordings, once there are `count`.
async fn recordings(service: &TestService, count: usize) -> Vec<RecordingRecord> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let page = service.plane.store().recordings(&RecordingQuery::default(), |_| true).await.unwrap();
        if page.recordings.len() >= count {
            return page.recordings;
        }
        assert!(Instant::now() < deadline, "expected {count} recordings, found {}", page.recordings.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the spool to remove its copies: it does so just after the
/// catalog lists an upload, so the listing alone does not prove it.
async fn until_spool_empty(spool: &Path) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left: Vec<_> = std::fs::read_dir(spool).unwrap().collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still spooled: {left:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stored(service: &TestService, id: &str) -> Vec<u8> {
    std::fs::read(service.dir.path().join("recordings").join(format!("{id}.orec"))).unwrap()
}

fn scan(file: &[u8]) -> Scanned {
    let mut scanner = Scanner::new();
    scanner.feed(file).unwrap();
    scanner.finish().unwrap()
}

/// Paints the recording's frames from `offset` on (after the `context`
/// records), as a player does without waiting: the picture at the end.
fn replay(file: &[u8], context: &[u64], offset: u64, end: u64) -> (u32, u32, Vec<u8>) {
    let mut canvas = Canvas::new();
    let mut apply = |at: u64| -> u64 {
        let (record, len) = parse_record(&file[at as usize..], at).unwrap().unwrap();
        match pb::Envelope::decode(record.envelope).unwrap().payload.unwrap() {
            Payload::ServerHello(hello) => canvas.resize(hello.width, hello.height),
            Payload::ClientScreenSpec(spec) => canvas.resize(spec.width, spec.height),
            Payload::FrameRect(rect) => {
                canvas.paint(rect.codec as u32, rect.reset_context, &rect.data, rect.x, rect.y, rect.width, rect.height).unwrap();
            }
            _ => {}
        }
        at + len as u64
    };
    for &at in context {
        apply(at);
    }
    let mut at = offset;
    while at < end {
        at = apply(at);
    }
    let (width, height) = canvas.size();
    (width, height, canvas.rgba().to_vec())
}

fn pixel(canvas: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 4] {
    let i = ((y * canvas.0 + x) * 4) as usize;
    canvas.2[i..i + 4].try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_recorded_without_its_keys_and_uploaded() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::QoizStream).await;
    let x = service.x_client("Probe").await;
    red_window(&x);
    client.until("the red window", |c| c.pixel(100, 50) == [255, 0, 0, 255]).await;
    // Typing (a password, say), the mouse, a resize.
    for scancode in [0x23, 0x16, 0x31] {
        for pressed in [true, false] {
            client.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: scancode, pressed })).await;
        }
    }
    client.send(Payload::KeyboardText(pb::KeyboardText { text: "correct horse battery".into() })).await;
    client.send(Payload::MouseMove(pb::MouseMove { x: 120, y: 70 })).await;
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 400, height: 300, scale: 100 })).await;
    client.resize_canvas(400, 300);
    client.until("the window after the resize", |c| c.pixel(120, 70) == [255, 0, 0, 255]).await;
    drop(client);
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();

    let [record] = &recordings(&service, 1).await[..] else { panic!("one recording") };
    let ended = support::events_of(&service, EventType::LinuxSessionEnd, 1).await;
    assert_eq!(ended[0].sid.as_deref(), Some(record.id.as_str()), "the recording is the session's");
    assert_eq!(ended[0].fields.get("recorded"), Some(&serde_json::Value::Bool(true)));
    assert_eq!((record.user.as_str(), record.login.as_str(), record.desktop.as_str()), ("tester", "tester", support::DESKTOP));
    assert_eq!(record.participants, ["tester"]);

    let file = stored(&service, &record.id);
    assert_eq!(record.size, file.len() as u64);
    let scanned = scan(&file);
    assert_eq!(scanned.meta.session_id, record.id);
    // The first frame and the one after the resize are keyframes.
    let keyframes = &scanned.index.keyframes;
    assert!(keyframes.len() >= 2, "{keyframes:?}");
    // Nothing typed: no key message (the scanner refuses them) and no text.
    assert!(!file.windows(7).any(|w| w == b"correct"), "typed text in the recording");

    // Replayed whole, or from its last keyframe only, it paints what the
    // session showed last.
    let end = scanned.index.records_end;
    let header_end = oriel_recording::parse_header(&file).unwrap().unwrap().1 as u64;
    let whole = replay(&file, &[], header_end, end);
    let last = keyframes.last().unwrap();
    let sought = replay(&file, &last.context, last.offset, end);
    assert_eq!((whole.0, whole.1), (400, 300));
    assert_eq!((sought.0, sought.1), (400, 300));
    assert_eq!(pixel(&whole, 120, 70), [255, 0, 0, 255]);
    assert_eq!(pixel(&whole, 99, 49), [0, 0, 0, 255]);
    assert!(whole.2 == sought.2, "a replay from the last keyframe paints the same picture");
    // The mouse is in it.
    let mut at = header_end;
    let mut moves = 0;
    while at < end {
        let (record, len) = parse_record(&file[at as usize..], at).unwrap().unwrap();
        if record.source == Source::Browser && matches!(pb::Envelope::decode(record.envelope).unwrap().payload, Some(Payload::MouseMove(_))) {
            moves += 1;
        }
        at += len as u64;
    }
    assert_eq!(moves, 1);
    // Uploaded: nothing waits on the host.
    until_spool_empty(&service.dir.path().join("recording-spool")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_that_turn_recording_off_give_none() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    service.add_user("quiet", "tester", &support::role("quiet", "    create_desktop_user: true\n    record_session:\n      desktop: false\n")).await;
    let (mut client, task) = service.connect_as("quiet", "tester");
    client.hello(320, 240, Codec::QoizStream).await;
    client.until("a first frame", |c| c.last_frame.is_some()).await;
    drop(client);
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();
    let ended = support::events_of(&service, EventType::LinuxSessionEnd, 1).await;
    assert_eq!(ended[0].fields.get("recorded"), Some(&serde_json::Value::Bool(false)));
    let page = service.plane.store().recordings(&RecordingQuery::default(), |_| true).await.unwrap();
    assert!(page.recordings.is_empty());
    assert_eq!(std::fs::read_dir(service.dir.path().join("recording-spool")).unwrap().count(), 0);
}

/// A 64 KiB tmpfs over `dir`, unmounted when dropped.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn over(dir: &Path) -> TinyDisk {
        let status = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"]).arg(dir).status().unwrap();
        assert!(status.success(), "mounting a tmpfs needs root, as these tests run");
        TinyDisk(dir.to_owned())
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_that_cannot_be_written_ends_the_session() {
    let service = TestService::new(&[("Noise", "exec sleep 3600")]);
    let _disk = TinyDisk::over(&service.dir.path().join("recording-spool"));
    let (mut client, task) = service.connect();
    client.hello(640, 480, Codec::Qoiz).await;
    // Noise does not compress: frames soon outgrow the disk.
    let x = service.x_client("Noise").await;
    let screen = &x.conn.setup().roots[0];
    let gc = x.conn.generate_id().unwrap();
    x.conn.create_gc(gc, screen.root, &xproto::CreateGCAux::new()).unwrap();
    let mut seed = 0x2545_f491_u32;
    let mut noise = vec![0u8; 640 * 480 * 4];
    for byte in noise.iter_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        *byte = seed as u8;
    }
    x.conn.put_image(xproto::ImageFormat::Z_PIXMAP, screen.root, gc, 640, 480, 0, 0, 0, screen.root_depth, &noise).unwrap();
    x.conn.sync().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while client.read_for(Duration::from_millis(100)).await {
        assert!(Instant::now() < deadline, "the session went on unrecorded");
    }
    let end = tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
    let error = end.unwrap_err().to_string();
    assert!(error.contains("cannot be recorded"), "{error}");
    assert!(client.alerts.iter().any(|a| a.message.contains("cannot be recorded")), "{:?}", client.alerts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_cut_short_is_closed_and_uploaded_at_the_next_start() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let spool = service.dir.path().join("recording-spool-after-crash");
    std::fs::create_dir(&spool).unwrap();
    // What a service killed mid-session leaves: a header, records, half a record.
    let id = "0190f0c4-7d2a-7000-8000-00000000c0de";
    let meta = Meta {
        session_id: id.into(),
        user: "tester".into(),
        login: "tester".into(),
        desktop: support::DESKTOP.into(),
        desktop_kind: "linux".into(),
        start: "2026-12-06T09:00:00.000Z".into(),
    };
    let (mut writer, mut file) = RecordingWriter::start(&meta);
    let hello = oriel_tdpb::encode_frame(Payload::ServerHello(pb::ServerHello { width: 8, height: 8, ..Default::default() }));
    writer.record(0, Source::Desktop, &hello, &mut file);
    let mouse = oriel_tdpb::encode_frame(Payload::MouseMove(pb::MouseMove { x: 1, y: 1 }));
    writer.record(1500, Source::Browser, &mouse, &mut file);
    let whole = file.len();
    writer.record(2000, Source::Browser, &mouse, &mut file);
    file.truncate(whole + 5);
    std::fs::write(spool.join(format!("{id}.part")), &file).unwrap();

    let _spool = oriel_recorder::RecordingSpool::open(&spool, std::sync::Arc::new(service.plane.clone())).unwrap();
    let [record] = &recordings(&service, 1).await[..] else { panic!("one recording") };
    assert_eq!((record.id.as_str(), record.duration_ms), (id, 1500));
    let scanned = scan(&stored(&service, id));
    assert_eq!(scanned.index.records, 2);
    until_spool_empty(&spool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_node_sync_mode_the_recording_goes_to_the_auth_service_as_the_session_goes() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let sync = oriel_auth::resources::cluster_settings::SessionRecordingConfig { mode: oriel_rbac::RecordingMode::NodeSync };
    service.plane.store().put_session_recording_config(&sync).await.unwrap();
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::QoizStream).await;
    let x = service.x_client("Probe").await;
    red_window(&x);
    client.until("the red window", |c| c.pixel(100, 50) == [255, 0, 0, 255]).await;
    // Nothing waits on this host: the bytes are already with the auth service.
    assert_eq!(std::fs::read_dir(service.dir.path().join("recording-spool")).unwrap().count(), 0);
    drop(client);
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();
    let [record] = &recordings(&service, 1).await[..] else { panic!("one recording") };
    let file = stored(&service, &record.id);
    let scanned = scan(&file);
    let end = scanned.index.records_end;
    let last = scanned.index.keyframes.last().expect("a keyframe");
    assert_eq!(pixel(&replay(&file, &last.context, last.offset, end), 100, 50), [255, 0, 0, 255]);
    assert_eq!(std::fs::read_dir(service.dir.path().join("recording-spool")).unwrap().count(), 0);
}
