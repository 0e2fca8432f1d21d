//! Recording at the proxy (cluster modes `proxy` and `proxy-sync`): the
//! proxy records what it relays under the session's id, the desktop
//! service records nothing itself, and a recording the proxy cannot write
//! ends the session (or keeps it from starting) with the reason.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::SinkExt as _;
use oriel_auth::audit::EventType;
use oriel_auth::resources::cluster_settings::SessionRecordingConfig;
use oriel_auth::storage::StorageLocation;
use oriel_auth::store::{EventQuery, RecordingQuery, RecordingRecord, Store};
use oriel_rbac::RecordingMode;
use oriel_recording::{Scanner, Source, parse_header, parse_record};
use oriel_tdpb::encode_frame;
use oriel_tdpb::pb::{self, envelope::Payload};
use support::{AllInOne, PATIENCE, final_alert, hello, until};
use tokio_tungstenite::tungstenite::Message;

async fn store(oriel: &AllInOne) -> Store {
    Store::new(StorageLocation::recorded(&oriel.dir.path().join("data")).unwrap().open().await.unwrap())
}

async fn set_mode(store: &Store, mode: RecordingMode) {
    store.put_session_recording_config(&SessionRecordingConfig { mode }).await.unwrap();
}

/// The catalog's recordings, once there are `count`.
async fn recordings(store: &Store, count: usize) -> Vec<RecordingRecord> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let listed = store.recordings(&RecordingQuery::default(), |_| true).await.unwrap().recordings;
        if listed.len() >= count {
            return listed;
        }
        assert!(Instant::now() < deadline, "expected {count} recordings, found {}", listed.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn browser(payload: Payload) -> Message {
    Message::Binary(encode_frame(payload).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_proxy_modes_the_proxy_records_and_the_desktop_service_does_not() {
    let oriel = AllInOne::start();
    let cookie = oriel.web.enroll(&oriel.invite).await;
    let (desktop, login) = oriel.desktop(&cookie).await;
    let store = store(&oriel).await;
    for (done, mode) in [RecordingMode::Proxy, RecordingMode::ProxySync].into_iter().enumerate() {
        set_mode(&store, mode).await;
        let mut socket = oriel.web.socket(&cookie, &desktop, &login).await.unwrap();
        socket.send(hello()).await.unwrap();
        until(&mut socket, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
        until(&mut socket, "a first frame", |p| matches!(p, Payload::FrameRect(_))).await;
        socket.send(browser(Payload::MouseMove(pb::MouseMove { x: 17, y: 23 }))).await.unwrap();
        socket.send(browser(Payload::KeyboardText(pb::KeyboardText { text: "correct horse".into() }))).await.unwrap();
        // The ping's answer: the desktop service had both before it.
        socket.send(browser(Payload::Ping(pb::Ping { id: vec![7; 16] }))).await.unwrap();
        until(&mut socket, "the ping's answer", |p| matches!(p, Payload::Ping(ping) if ping.id == [7; 16])).await;
        // Ended, not left to be resumed: its end event follows at once.
        socket.send(browser(Payload::EndSession(pb::EndSession {}))).await.unwrap();
        socket.close(None).await.unwrap();

        let listed = recordings(&store, done + 1).await;
        let record = &listed[0];
        assert_eq!((record.desktop.as_str(), record.login.as_str()), (desktop.as_str(), login.as_str()), "{mode}");
        // The desktop service's events carry the id the proxy recorded under.
        let query = EventQuery { types: vec![EventType::LinuxSessionEnd], session: Some(record.id.clone()), ..Default::default() };
        let deadline = Instant::now() + PATIENCE;
        let ended = loop {
            let events = store.events(&query).await.unwrap().unwrap().events;
            if let Some(ended) = events.into_iter().next() {
                break ended;
            }
            assert!(Instant::now() < deadline, "{mode}: no session.end for recording {}", record.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(ended.fields.get("recorded"), Some(&serde_json::Value::Bool(true)));

        let file = std::fs::read(oriel.dir.path().join("data/recordings").join(format!("{}.orec", record.id))).unwrap();
        let mut scanner = Scanner::new();
        scanner.feed(&file).unwrap();
        let scanned = scanner.finish().unwrap();
        assert!(!scanned.index.keyframes.is_empty(), "{mode}: the first frame is a keyframe");
        let mut at = parse_header(&file).unwrap().unwrap().1 as u64;
        let mut moves = Vec::new();
        while at < scanned.index.records_end {
            let (entry, len) = parse_record(&file[at as usize..], at).unwrap().unwrap();
            // A record holds a frame's envelope: framed again, it decodes.
            let frame = [&(entry.envelope.len() as u32).to_be_bytes()[..], entry.envelope].concat();
            if let Some(Payload::MouseMove(mouse)) = oriel_tdpb::decode_frame(&frame, oriel_tdpb::Limits::FROM_CLIENT).unwrap() {
                assert_eq!(entry.source, Source::Browser);
                moves.push((mouse.x, mouse.y));
            }
            at += len as u64;
        }
        assert_eq!(moves, [(17, 23)], "{mode}");
        assert!(!file.windows(13).any(|w| w == b"correct horse"), "{mode}: typed text in the recording");
    }
    let log = oriel.log();
    assert_eq!(log.matches("the proxy records this session").count(), 2, "{log}");
    assert!(log.lines().any(|l| l.contains("the proxy records this session") && l.contains("proxy-sync")), "{log}");
    assert!(!log.contains("the desktop service records this session"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_the_proxy_cannot_write_ends_the_session() {
    let oriel = AllInOne::start();
    let cookie = oriel.web.enroll(&oriel.invite).await;
    let (desktop, login) = oriel.desktop(&cookie).await;
    let store = store(&oriel).await;

    // proxy: the spool fills up mid-session under a flood of mouse moves.
    set_mode(&store, RecordingMode::Proxy).await;
    let spool = oriel.dir.path().join("data/proxy-recording-spool");
    let full = TinyDisk::over(&spool, "size=64k");
    let mut socket = oriel.web.socket(&cookie, &desktop, &login).await.unwrap();
    socket.send(hello()).await.unwrap();
    until(&mut socket, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
    let deadline = Instant::now() + PATIENCE;
    let mut x = 0;
    while socket.send(browser(Payload::MouseMove(pb::MouseMove { x: x % 300, y: 10 }))).await.is_ok() && x < 100_000 {
        x += 1;
        assert!(Instant::now() < deadline, "the session went on unrecorded");
    }
    let alert = final_alert(&mut socket).await;
    assert!(alert.starts_with("the session cannot be recorded ("), "{alert}");
    assert!(alert.ends_with("and the roles require recording, so it ended"), "{alert}");
    drop(full);

    // proxy-sync: the store of recordings cannot be written at all, so no
    // session starts.
    set_mode(&store, RecordingMode::ProxySync).await;
    let _read_only = TinyDisk::over(&oriel.dir.path().join("data/recordings"), "ro,size=64k");
    let mut socket = oriel.web.socket(&cookie, &desktop, &login).await.unwrap();
    socket.send(hello()).await.unwrap();
    let alert = final_alert(&mut socket).await;
    assert!(alert.starts_with("the session cannot be recorded (cannot stream it to the auth service:"), "{alert}");
    assert!(store.recordings(&RecordingQuery::default(), |_| true).await.unwrap().recordings.is_empty());
    assert!(oriel.log().contains("session refused"), "{}", oriel.log());
}

/// A small tmpfs mounted over `dir` with `options`, unmounted when dropped.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn over(dir: &Path, options: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let status = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(dir).status().unwrap();
        assert!(status.success(), "mounting a tmpfs over {} (the tests run as root)", dir.display());
        Self(dir.to_owned())
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
