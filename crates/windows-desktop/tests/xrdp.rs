//! A Windows desktop's session process against xrdp, the RDP server here
//! with the channels the shadow server lacks: the clipboard both ways
//! (CLIPRDR, seen with xclip on the session's X display), a resize
//! through the display control channel (the host's screen takes the
//! browser's size), and a directory the browser shares used from the
//! host as a drive (RDPDR; xrdp mounts drives under the user's
//! ~/thinclient_drives). xrdp has no NLA: TLS with its certificate checked
//! against the CA that issued it, and the credentials sign in through
//! autologon.

mod support;

use std::time::{Duration, Instant};

use oriel_linux_desktop::session_process::{SessionProcess, SessionProgram, pb};
use oriel_tdpb::Payload;
use oriel_tdpb::pb as tdpb;
use support::PATIENCE;
use support::browser::{Browser, canvas_pixel, canvas_region, hello};
use support::xrdp::XrdpServer;
use x11rb::protocol::xproto::{self, ConnectionExt as _};

/// The root colour scripts/xrdp-test-server's session sets (#2a6f97).
const ROOT: [u8; 4] = [0x2a, 0x6f, 0x97, 255];

fn program() -> SessionProgram {
    SessionProgram { path: env!("CARGO_BIN_EXE_oriel-rdp-session").into(), args: Vec::new() }
}

fn launch(server: &XrdpServer) -> pb::Launch {
    pb::Launch {
        rdp: Some(pb::RdpHost {
            addr: format!("127.0.0.1:{}", server.port),
            server_name: "127.0.0.1".into(),
            // Its certificate is checked against the CA that issued it,
            // for its name, as for a host found in the directory.
            certificate_pem: String::new(),
            ca_pem: server.ca_pem.clone(),
            username: server.user.clone(),
            password: server.password.clone(),
            domain: String::new(),
            desktop_name: "xrdp-host".into(),
        }),
        clipboard: true,
        directory_sharing: true,
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

/// Reads the session until `found` picks something out of a message.
async fn until<T>(browser: &mut Browser, what: &str, mut found: impl FnMut(&Payload) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, browser.next()).await {
            Err(_) => panic!("gave up waiting for {what}"),
            Ok(None) => panic!("the session ended while waiting for {what}"),
            Ok(Some(payload)) => {
                if let Some(value) = found(&payload) {
                    return value;
                }
            }
        }
    }
}

/// Reads the session meanwhile, until `check` holds on the host.
async fn until_on_host(browser: &mut Browser, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        let _ = tokio::time::timeout(Duration::from_millis(200), browser.next()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clipboard_crosses_both_ways_and_the_host_takes_the_browsers_size() {
    let server = XrdpServer::start();
    let (mut process, data) = SessionProcess::spawn(&program(), &launch(&server)).await.unwrap();
    let mut browser = Browser::new(data);
    browser.send(hello()).await;
    let Some(Payload::ServerHello(hello)) = browser.next().await else { panic!("a ServerHello first") };
    assert!(hello.clipboard_enabled, "the launch shares the clipboard");
    assert!(matches!(process.next_event().await.unwrap(), Some(pb::Event { event: Some(pb::event::Event::Started(_)) })));
    browser.canvas.resize(hello.width, hello.height);
    server.wait_for_session();

    // The host's screen: the canvas shows what its X server has.
    let x = server.x_connection();
    let want = x_region(&x, 0, 0, 600, 400);
    browser.until("the host's screen as its X server has it", |canvas| canvas_region(canvas, 0, 0, 600, 400) == want).await;

    // The host copies: the browser gets the text, with LF line ends. A
    // copy made before the session's clipboard channel is up is not
    // announced (as on Windows), and when that is cannot be seen from
    // here: the host copies again until the text arrives.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let text = loop {
        // xclip stays behind to serve its selection: nothing of it may hold the test's pipes.
        let copied = server.as_user(&["sh", "-c", "exec xclip -selection clipboard -i >/dev/null 2>&1"], Some("from the host\nline two ✓"));
        assert!(copied.status.success(), "xclip -i: {}", String::from_utf8_lossy(&copied.stderr));
        let attempt = tokio::time::Instant::now() + Duration::from_secs(3);
        let arrived = tokio::time::timeout_at(
            attempt.min(deadline),
            until(&mut browser, "the host's clipboard", |payload| match payload {
                Payload::ClipboardData(data) => Some(String::from_utf8(data.data.clone()).unwrap()),
                _ => None,
            }),
        )
        .await;
        match arrived {
            Ok(text) => break text,
            Err(_) => assert!(tokio::time::Instant::now() < deadline, "gave up waiting for the host's clipboard"),
        }
    };
    assert_eq!(text, "from the host\nline two ✓");

    // The browser copies: a program on the host pastes it.
    browser.send(Payload::ClipboardData(tdpb::ClipboardData { data: "from the browser\nsecond line".as_bytes().to_vec() })).await;
    let mut pasted = String::new();
    until_on_host(&mut browser, "the browser's text on the host", || {
        let output = server.as_user(&["xclip", "-selection", "clipboard", "-o"], None);
        pasted = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
        pasted == "from the browser\nsecond line"
    })
    .await;

    // The browser's window changes size: the host's screen follows.
    browser.send(Payload::ClientScreenSpec(tdpb::ClientScreenSpec { width: 1280, height: 720, scale: 100 })).await;
    let size = until(&mut browser, "the host's new size", |payload| match payload {
        Payload::ClientScreenSpec(spec) => Some((spec.width, spec.height)),
        _ => None,
    })
    .await;
    assert_eq!(size, (1280, 720));
    let xrandr = server.as_user(&["xdpyinfo"], None);
    assert!(String::from_utf8_lossy(&xrandr.stdout).contains("1280x720 pixels"), "the X screen of the session is 1280x720");
    // And the picture at the new size arrives: the root's colour (the
    // session's xsetroot) at the far corner.
    browser.canvas.resize(1280, 720);
    browser.until("a picture of the new size", |canvas| canvas_pixel(canvas, 1275, 715) == ROOT).await;

    drop(browser);
    let ended = tokio::time::timeout(PATIENCE, process.next_event()).await.unwrap().unwrap();
    let Some(pb::Event { event: Some(pb::event::Event::Ended(ended)) }) = ended else { panic!("an Ended event: {ended:?}") };
    assert_eq!(ended.reason(), pb::ended::Reason::ClientLeft);
}

/// Runs `args` on the host (as the session's user) while playing the
/// browser's part for shared directories: each request answered from
/// `root`, as the browser answers from the directory a person picked. A
/// program reading the drive waits for those answers.
async fn on_host(browser: &mut Browser, server: &XrdpServer, root: &std::path::Path, args: &[&str]) -> (bool, String) {
    let run = server.runner();
    let owned: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let mut task = tokio::task::spawn_blocking(move || run(&owned.iter().map(String::as_str).collect::<Vec<_>>(), None));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        tokio::select! {
            output = &mut task => {
                let output = output.unwrap();
                if !output.status.success() {
                    eprintln!("{args:?} on the host: {}", String::from_utf8_lossy(&output.stderr));
                }
                return (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned());
            }
            payload = tokio::time::timeout_at(deadline, browser.next()) => match payload {
                Err(_) => panic!("{args:?} on the host did not finish"),
                Ok(None) => panic!("the session ended while {args:?} ran on the host"),
                Ok(Some(Payload::SharedDirectoryRequest(request))) => {
                    let answer = oriel_linux_desktop::shared_dir::local::answer(root, &request);
                    browser.send(Payload::SharedDirectoryResponse(answer)).await;
                }
                Ok(Some(_)) => {}
            }
        }
    }
}

/// [`on_host`] again and again until `done` holds on its output.
async fn until_on_drive(browser: &mut Browser, server: &XrdpServer, root: &std::path::Path, args: &[&str], done: impl Fn(bool, &str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (ok, out) = on_host(browser, server, root, args).await;
        if done(ok, &out) {
            return out;
        }
        assert!(Instant::now() < deadline, "gave up on {args:?}: {out}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_directory_is_a_drive_on_the_host_read_and_written_there() {
    let server = XrdpServer::start();
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("notes.txt"), "written in the browser\n").unwrap();
    std::fs::create_dir(shared.path().join("photos")).unwrap();
    // Each 4-byte word its own offset: a piece read at a wrong offset shows.
    let large: Vec<u8> = (0..(3 * 1024 * 1024 + 17) / 4 + 1).flat_map(|i: u32| (i * 4).to_le_bytes()).take(3 * 1024 * 1024 + 17).collect();
    std::fs::write(shared.path().join("photos/cat.txt"), &large).unwrap();
    let (_process, data) = SessionProcess::spawn(&program(), &launch(&server)).await.unwrap();
    let mut browser = Browser::new(data);
    browser.send(hello()).await;
    let Some(Payload::ServerHello(hello)) = browser.next().await else { panic!("a ServerHello first") };
    assert!(hello.directory_sharing_enabled && hello.directory_remove_supported);
    browser.canvas.resize(hello.width, hello.height);
    server.wait_for_session();

    browser.send(Payload::SharedDirectoryAnnounce(tdpb::SharedDirectoryAnnounce { directory_id: 7, name: "share".into() })).await;
    let acknowledged = until(&mut browser, "the acknowledgement", |payload| match payload {
        Payload::SharedDirectoryAcknowledge(ack) => Some(*ack),
        _ => None,
    })
    .await;
    assert_eq!((acknowledged.directory_id, acknowledged.error_code), (7, tdpb::SharedDirectoryErrorCode::None as i32));

    // The host lists it (once the drive is mounted), reads a small and a
    // large file, writes, renames and deletes.
    let drive = server.drives.join("share");
    let root = shared.path();
    let ls = ["ls", "-1", drive.to_str().unwrap()];
    until_on_drive(&mut browser, &server, root, &ls, |ok, out| ok && out.lines().collect::<Vec<_>>() == ["notes.txt", "photos"]).await;
    let (_, text) = on_host(&mut browser, &server, root, &["cat", drive.join("notes.txt").to_str().unwrap()]).await;
    assert_eq!(text, "written in the browser\n");
    let (_, sum) = on_host(&mut browser, &server, root, &["sha256sum", drive.join("photos/cat.txt").to_str().unwrap()]).await;
    let local = std::process::Command::new("sha256sum").arg(root.join("photos/cat.txt")).output().unwrap();
    let digest = |text: &str| text.split_whitespace().next().unwrap_or_default().to_owned();
    assert_eq!(digest(&sum), digest(&String::from_utf8_lossy(&local.stdout)), "the 3 MiB file read on the host byte for byte");
    let script = format!("cd {} && printf 'from the host' > made.txt && mv made.txt moved.txt && rm notes.txt && mkdir empty && echo done", drive.display());
    let (_, done) = on_host(&mut browser, &server, root, &["sh", "-c", &script]).await;
    assert_eq!(done.trim(), "done");
    assert_eq!(std::fs::read_to_string(root.join("moved.txt")).unwrap(), "from the host");
    assert!(!root.join("made.txt").exists() && !root.join("notes.txt").exists());
    assert!(root.join("empty").is_dir());

    // The browser stops sharing: the drive leaves the host.
    browser.send(Payload::SharedDirectoryRemove(tdpb::SharedDirectoryRemove { directory_id: 7 })).await;
    until_on_drive(&mut browser, &server, root, &["test", "-e", drive.to_str().unwrap()], |exists, _| !exists).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_taken_only_from_its_ca_and_for_the_name_dialled() {
    use oriel_windows_desktop::{DesktopCredentials, HostTrust, RdpError, RdpTarget, connect};
    let server = XrdpServer::start();
    let target = |ca: &str, name: &str| RdpTarget {
        addr: format!("127.0.0.1:{}", server.port),
        server_name: name.into(),
        trust: HostTrust::authority_from_pem(ca).unwrap(),
        credentials: DesktopCredentials { username: server.user.clone(), password: server.password.clone(), domain: None },
        width: 800,
        height: 600,
        clipboard: false,
        directory_sharing: false,
    };
    // Its certificate names 127.0.0.1 and localhost.
    assert!(connect(&target(&server.ca_pem, "localhost")).await.is_ok(), "the right CA and a name it certifies");
    for (ca, name) in [(&server.other_ca_pem, "127.0.0.1"), (&server.ca_pem, "another-host.example.com")] {
        let error = connect(&target(ca, name)).await.unwrap_err();
        assert!(matches!(error, RdpError::Tls(_)), "{name}: {error}");
    }
}
