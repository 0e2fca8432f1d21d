//! Session recordings at the auth service, on SQLite and on the test
//! PostgreSQL server (ORIEL_SKIP_POSTGRES=1 skips that half on purpose),
//! kept as files, and kept in a real S3-compatible server's bucket
//! (`scripts/s3-test-server`, ORIEL_TEST_S3_URI; ORIEL_SKIP_S3=1 skips it): an upload is checked before it is listed, listing follows
//! the roles' `session` rules (everything, or the sessions one took part
//! in), and a recording reads back by its index and byte ranges.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::ca::{HostIdentity, HostRole};
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::recordings::{RecordingError, RecordingId, RecordingStorage, Uploader};
use oriel_auth::store::{DesktopRecord, RecordingQuery, Store};
use oriel_backend::{Backend, FakeClock, Options, SqliteBackend};
use oriel_rbac::DesktopKind;
use oriel_recording::{FormatError, Meta, RecordingWriter, Source, parse_record};
use oriel_tdpb::{Payload, encode_frame, pb};

const ROLES: &str = r#"
kind: role
version: v7
metadata: {name: access}
spec:
  allow:
    rules:
      - resources: [session]
        verbs: [list, read]
        where: contains(session.participants, user.metadata.name)
---
kind: role
version: v7
metadata: {name: auditor}
spec:
  allow:
    rules:
      - resources: [session]
        verbs: [list, read]
---
kind: role
version: v7
metadata: {name: nothing}
spec: {}
"#;

fn clock() -> Arc<FakeClock> {
    Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)))
}

/// Session `n`'s id: UUIDv7-shaped and in start order.
fn session_id(n: u32) -> String {
    format!("0190f0c4-{n:04x}-7000-8000-000000000001")
}

/// A small recording of `user`'s session `n` on `desktop`: a hello, a
/// keyframe, a mouse move and a second keyframe a minute later.
fn recording(n: u32, user: &str, desktop: &str) -> Vec<u8> {
    recording_of(n, user, DesktopKind::Linux, desktop)
}

/// [`recording`] of a desktop of `kind`.
fn recording_of(n: u32, user: &str, kind: DesktopKind, desktop: &str) -> Vec<u8> {
    let meta = Meta {
        session_id: session_id(n),
        user: user.into(),
        login: user.into(),
        desktop: desktop.into(),
        desktop_kind: kind.as_str().into(),
        start: format!("2026-12-06T09:{:02}:00Z", n % 60),
    };
    let (mut writer, mut file) = RecordingWriter::start(&meta);
    let rect = |reset| {
        encode_frame(Payload::FrameRect(pb::FrameRect {
            frame_id: 1,
            width: 8,
            height: 8,
            data: vec![7; 40],
            reset_context: reset,
            end_of_frame: true,
            ..Default::default()
        }))
    };
    writer.record(0, Source::Desktop, &encode_frame(Payload::ServerHello(pb::ServerHello { width: 8, height: 8, ..Default::default() })), &mut file);
    writer.record(10, Source::Desktop, &rect(true), &mut file);
    writer.record(500, Source::Browser, &encode_frame(Payload::MouseMove(pb::MouseMove { x: 1, y: 2 })), &mut file);
    writer.record(60_000, Source::Desktop, &rect(true), &mut file);
    let (_, trailer) = writer.finish(0);
    file.extend_from_slice(&trailer);
    file
}

/// A Linux desktop service on its own host, whose desktop is named `host_id`.
fn linux_host(host_id: &str) -> Uploader {
    Uploader::Host(HostIdentity { host_id: host_id.into(), role: HostRole::LinuxDesktop, dns_names: vec![], ips: vec![] })
}

async fn upload(plane: &ControlPlane, id: &str, from: Uploader, bytes: &[u8]) -> Result<(), RecordingError> {
    let mut upload = plane.begin_recording_upload(RecordingId::parse(id).unwrap(), from).await?;
    for chunk in bytes.chunks(37) {
        upload.write(chunk).await?;
    }
    upload.finish().await.map(drop)
}

async fn recordings(backend: Arc<dyn Backend>, clock: Arc<FakeClock>, storage: RecordingStorage) {
    let plane = ControlPlane::new(Store::new(backend.clone()), clock).with_recordings(storage);
    plane.create_roles(&oriel_rbac::parse_roles("roles.yaml", ROLES).unwrap(), false).await.unwrap();
    for (name, role) in [("alice", "access"), ("bob", "access"), ("audrey", "auditor"), ("nemo", "nothing")] {
        plane.add_user(&UserSpec { name: name.into(), roles: vec![role.into()], ..Default::default() }).await.unwrap();
    }

    // Alice's two sessions and Bob's one, uploaded by the desktops that ran them.
    upload(&plane, &session_id(1), linux_host("dev"), &recording(1, "alice", "dev")).await.unwrap();
    upload(&plane, &session_id(2), linux_host("build"), &recording(2, "bob", "build")).await.unwrap();
    upload(&plane, &session_id(3), Uploader::InProcess, &recording(3, "alice", "dev")).await.unwrap();
    // Sent again after a lost answer: still one.
    upload(&plane, &session_id(3), Uploader::InProcess, &recording(3, "alice", "dev")).await.unwrap();

    // Refused uploads leave nothing listed: another desktop's session, a
    // damaged file, one cut short, one under another session's id.
    let refused = upload(&plane, &session_id(4), linux_host("build"), &recording(4, "bob", "dev")).await;
    assert!(matches!(refused, Err(RecordingError::NotYours(_))), "{refused:?}");
    let mut damaged = recording(5, "bob", "build");
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    let refused = upload(&plane, &session_id(5), linux_host("build"), &damaged).await;
    assert!(
        matches!(refused, Err(RecordingError::Invalid(FormatError::BadChecksum { .. } | FormatError::IndexMismatch(_) | FormatError::BadIndex(_)))),
        "{refused:?}"
    );
    let whole = recording(6, "bob", "build");
    let refused = upload(&plane, &session_id(6), linux_host("build"), &whole[..whole.len() - 3]).await;
    assert!(matches!(refused, Err(RecordingError::Invalid(FormatError::Truncated { .. }))), "{refused:?}");
    let refused = upload(&plane, &session_id(8), Uploader::InProcess, &recording(7, "bob", "build")).await;
    assert!(matches!(refused, Err(RecordingError::Invalid(FormatError::BadMeta(_)))), "{refused:?}");

    // The auditor sees every recording, newest first, paged.
    let auditor = plane.recording_access("audrey").await.unwrap().unwrap();
    let page = plane.recordings(&auditor, &RecordingQuery { limit: 2, ..Default::default() }).await.unwrap();
    let ids: Vec<_> = page.recordings.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, [session_id(3), session_id(2)]);
    let rest = plane.recordings(&auditor, &RecordingQuery { limit: 2, page: page.next_page, ..Default::default() }).await.unwrap();
    assert_eq!(rest.recordings.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [session_id(1)]);
    assert_eq!(rest.next_page, None);
    let bobs = plane.recordings(&auditor, &RecordingQuery { user: Some("bob".into()), ..Default::default() }).await.unwrap();
    assert_eq!(bobs.recordings.len(), 1);
    let first = &rest.recordings[0];
    assert_eq!((first.user.as_str(), first.desktop.as_str(), first.duration_ms), ("alice", "dev", 60_000));
    assert_eq!(first.end, "2026-12-06T09:02:00.000Z");
    assert_eq!(first.participants, ["alice"]);

    // Alice sees her own two; Bob's is not found for her, as an unknown id is.
    let alice = plane.recording_access("alice").await.unwrap().unwrap();
    let hers = plane.recordings(&alice, &RecordingQuery::default()).await.unwrap();
    assert_eq!(hers.recordings.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [session_id(3), session_id(1)]);
    assert!(matches!(plane.open_recording(&alice, &session_id(2)).await, Err(RecordingError::NotFound)));
    assert!(matches!(plane.open_recording(&alice, &session_id(9)).await, Err(RecordingError::NotFound)));
    assert!(matches!(plane.open_recording(&auditor, "../../etc/passwd").await, Err(RecordingError::NotFound)));
    // No rule, no access, with the reason.
    let reason = plane.recording_access("nemo").await.unwrap().unwrap_err();
    assert!(reason.contains("session"), "{reason}");

    // A recording opens with its index, and any record reads by its offset.
    let open = plane.open_recording(&alice, &session_id(1)).await.unwrap();
    assert_eq!(open.len, recording(1, "alice", "dev").len() as u64);
    assert_eq!(open.index.keyframes.len(), 2);
    let keyframe = open.index.keyframe_before(30_000).unwrap();
    let bytes = open.read(keyframe.offset..keyframe.offset + 200).await.unwrap();
    let (record, _) = parse_record(&bytes, keyframe.offset).unwrap().unwrap();
    assert_eq!(record.delay_ms, 10);
    // A range past the end is cut to it.
    assert_eq!(open.read(open.len - 4..open.len + 100).await.unwrap().as_ref(), b"LEND");

    // A Windows desktop service sends the recordings of the desktops it
    // registered, and of no other (nor may a Linux host send them).
    let service = HostIdentity { host_id: "w-svc".into(), role: HostRole::WindowsDesktop, dns_names: vec![], ips: vec![] };
    let record = DesktopRecord {
        kind: DesktopKind::Windows,
        name: "win-1".into(),
        hostname: "win-1.example.com".into(),
        addr: "10.0.0.5:3389".into(),
        labels: Default::default(),
        expires: None,
        host_id: Some("w-svc".into()),
    };
    plane.register_windows_desktop(&service, &record).await.unwrap();
    let windows = Uploader::Host(service.clone());
    upload(&plane, &session_id(20), windows.clone(), &recording_of(20, "alice", DesktopKind::Windows, "win-1")).await.unwrap();
    let refused = upload(&plane, &session_id(21), windows.clone(), &recording_of(21, "alice", DesktopKind::Windows, "win-2")).await;
    assert!(matches!(refused, Err(RecordingError::NotYours(ref why)) if why.contains("does not serve windows desktop \"win-2\"")), "{refused:?}");
    let refused = upload(&plane, &session_id(22), windows, &recording_of(22, "alice", DesktopKind::Linux, "w-svc")).await;
    assert!(matches!(refused, Err(RecordingError::NotYours(_))), "{refused:?}");
    let refused = upload(&plane, &session_id(23), linux_host("win-1"), &recording_of(23, "alice", DesktopKind::Windows, "win-1")).await;
    assert!(matches!(refused, Err(RecordingError::NotYours(_))), "{refused:?}");
    backend.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let options = Options { clock: clock.clone(), ..Options::default() };
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), options).await.unwrap();
    let storage = RecordingStorage::in_directory(&dir.path().join("recordings")).unwrap();
    recordings(Arc::new(backend), clock, storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let clock = clock();
    let options = Options { clock: clock.clone(), ..Options::default() };
    let Some((backend, database)) = support::postgres_backend("recordings", options).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let storage = RecordingStorage::in_directory(&dir.path().join("recordings")).unwrap();
    recordings(Arc::new(backend), clock, storage).await;
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_an_s3_bucket() {
    let uri = match std::env::var("ORIEL_TEST_S3_URI") {
        Ok(uri) if !uri.is_empty() => uri,
        _ if std::env::var("ORIEL_SKIP_S3").as_deref() == Ok("1") => return,
        _ => panic!("ORIEL_TEST_S3_URI is not set: start a server with `eval \"$(scripts/s3-test-server start)\"`, or set ORIEL_SKIP_S3=1"),
    };
    // A prefix of this run's own in the shared bucket.
    let uri = uri.replacen("/recordings?", &format!("/run-{}?", std::process::id()), 1);
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let options = Options { clock: clock.clone(), ..Options::default() };
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), options).await.unwrap();
    let storage = RecordingStorage::from_uri(&uri).unwrap();
    assert!(storage.location().starts_with("s3://oriel-test/run-"), "{}", storage.location());
    recordings(Arc::new(backend), clock, storage).await;
}
