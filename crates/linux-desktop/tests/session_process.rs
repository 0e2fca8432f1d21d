//! Each session in a process of its own: everything of it runs as the
//! login, the daemon keeps its own limits, a dead session process is told
//! to the browser and leaves nothing behind, and Xvfb offers only the
//! extensions a desktop needs. Real Xvfb, real PAM, real users (root, as CI).

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use oriel_linux_desktop::x11::screen::MaxScreen;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec};
use support::{PATIENCE, TestService};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::ConnectionExt;

/// The login the limits test runs as, with a pam_limits entry of its own.
const LIMITED_LOGIN: &str = "oriel-limited";
/// Its open-file limit, set through /etc/security/limits.d.
const LIMITED_NOFILE: &str = "777";

fn proc_status(pid: u32, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(|v| v.trim().to_owned()))
}

fn uid_of(pid: u32) -> u32 {
    proc_status(pid, "Uid").and_then(|v| v.split_whitespace().next()?.parse().ok()).expect("a live process")
}

fn parent_of(pid: u32) -> u32 {
    proc_status(pid, "PPid").and_then(|v| v.parse().ok()).expect("a live process")
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// The Xvfb serving `display` (`:N`).
fn xvfb_of(display: &str) -> u32 {
    pids()
        .into_iter()
        .find(|pid| {
            let args = cmdline(*pid);
            args.first().is_some_and(|a| a.ends_with("Xvfb")) && args.iter().any(|a| a == display)
        })
        .unwrap_or_else(|| panic!("no Xvfb for {display}"))
}

/// Every process below `root` (not `root` itself).
fn descendants(root: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = pids().into_iter().filter_map(|pid| Some((pid, proc_status(pid, "PPid")?.parse().ok()?))).collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.remove(0);
    found
}

fn max_open_files(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    limits.lines().find(|l| l.starts_with("Max open files")).unwrap().split_whitespace().nth(3).unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_of_a_session_runs_as_its_login_and_pam_acts_on_the_session_not_the_daemon() {
    // pam_limits gives this login few open files: under the old design the
    // daemon itself opened the PAM session and took the login's limits.
    std::fs::write("/etc/security/limits.d/oriel-session-test.conf", format!("{LIMITED_LOGIN} - nofile {LIMITED_NOFILE}\n")).unwrap();
    let daemon = std::process::id();
    let before = (std::fs::read_to_string("/proc/self/limits").unwrap(), proc_status(daemon, "Umask"), std::fs::read_to_string("/proc/self/cgroup").ok());

    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    service.add_user("limited", LIMITED_LOGIN, &support::role("limited", "    create_desktop_user: true\n")).await;
    let (mut client, task) = service.connect_as("limited", LIMITED_LOGIN);
    client.hello(320, 240, Codec::Qoiz).await;
    let x = service.x_client("Probe").await;
    let login_uid = uzers::get_user_by_name(LIMITED_LOGIN).expect("the login was created").uid();

    // Xvfb's parent is the session process's unprivileged part; its parent,
    // the root part, whose parent is this test (the daemon).
    let xvfb = xvfb_of(&x.display);
    let unprivileged = parent_of(xvfb);
    let root_part = parent_of(unprivileged);
    assert_eq!(parent_of(root_part), daemon, "the session process is the daemon's child");
    assert_eq!(uid_of(root_part), 0, "the small root part stays root for PAM, utmp and mounts");
    let session: Vec<u32> = descendants(root_part);
    assert!(session.len() >= 3, "the unprivileged part, Xvfb and the xsession at least: {session:?}");
    for pid in &session {
        assert_eq!(uid_of(*pid), login_uid, "process {pid} {:?} runs as the login", cmdline(*pid));
        // pam_limits applied to the session, inherited by all of it.
        assert_eq!(max_open_files(*pid), LIMITED_NOFILE, "process {pid} {:?} has the login's limits", cmdline(*pid));
    }
    // The part holding the framebuffer, the X connection and the encoder:
    // no privileges to regain, and nothing of the login may trace it.
    assert_eq!(proc_status(unprivileged, "NoNewPrivs").as_deref(), Some("1"));
    assert_eq!(std::fs::metadata(format!("/proc/{unprivileged}/environ")).unwrap().uid(), 0, "not dumpable: /proc entries are root's");

    // The daemon is as it was: PAM ran in another process.
    let after = (std::fs::read_to_string("/proc/self/limits").unwrap(), proc_status(daemon, "Umask"), std::fs::read_to_string("/proc/self/cgroup").ok());
    assert_eq!(before, after);

    drop(x);
    drop(client);
    let _ = task.await;
    std::fs::remove_file("/etc/security/limits.d/oriel-session-test.conf").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_session_process_is_told_to_the_browser_and_leaves_nothing_behind() {
    let service = TestService::new(&[("Probe", "setsid sleep 3600 & exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let x = service.x_client("Probe").await;
    let xvfb = xvfb_of(&x.display);
    let unprivileged = parent_of(xvfb);
    let root_part = parent_of(unprivileged);
    let session = descendants(root_part);
    let number = x.display.trim_start_matches(':').to_owned();
    drop(x);

    rustix::process::kill_process(rustix::process::Pid::from_raw(unprivileged as i32).unwrap(), rustix::process::Signal::KILL).unwrap();
    while client.next().await.is_some() {}
    let alert = client.alerts.last().expect("an alert");
    assert!(alert.message.contains("process ended unexpectedly"), "{}", alert.message);
    assert!(task.await.unwrap().is_err());

    // Everything goes: the processes (the setsid'd one too), Xvfb's socket
    // and lock, the session's directory.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let alive: Vec<u32> = session
            .iter()
            .copied()
            .chain([root_part])
            .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists() && proc_status(*pid, "State").is_some_and(|s| !s.starts_with('Z')))
            .collect();
        let leftovers =
            [format!("/tmp/.X11-unix/X{number}"), format!("/tmp/.X{number}-lock")].into_iter().filter(|p| std::path::Path::new(p).exists()).collect::<Vec<_>>();
        let dirs = std::fs::read_dir(service.runtime_dir()).map(|d| d.count()).unwrap_or(0);
        if alive.is_empty() && leftovers.is_empty() && dirs == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: processes {alive:?}, files {leftovers:?}, {dirs} session directories");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The namespace a process's System V IPC lives in.
fn ipc_namespace(pid: u32) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/ipc")).expect("a live process")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_is_read_where_xvfb_draws_it_in_memory_no_other_account_can_attach() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let x = service.x_client("Probe").await;
    let xvfb = xvfb_of(&x.display);
    let unprivileged = parent_of(xvfb);
    assert!(cmdline(xvfb).iter().any(|a| a == "-shmem"), "Xvfb keeps its framebuffer in shared memory: {:?}", cmdline(xvfb));
    // Xvfb makes the segment with mode 0777: only a namespace of the
    // session's own keeps it from every other account of the host.
    assert_ne!(ipc_namespace(xvfb), ipc_namespace(std::process::id()), "the session has an IPC namespace of its own");
    assert_eq!(ipc_namespace(xvfb), ipc_namespace(unprivileged), "the capture shares it with Xvfb");
    let host_segments = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let creators: Vec<u32> = host_segments.lines().skip(1).filter_map(|l| l.split_whitespace().nth(4)?.parse().ok()).collect();
    assert!(!creators.contains(&xvfb), "the host's namespace shows no segment of the session's Xvfb");
    // Inside the session's namespace, the capture has it attached next to Xvfb.
    let inside = std::process::Command::new("nsenter").arg(format!("--ipc=/proc/{xvfb}/ns/ipc")).args(["cat", "/proc/sysvipc/shm"]).output().unwrap();
    let inside = String::from_utf8(inside.stdout).unwrap();
    let framebuffer = inside.lines().skip(1).map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|f| f.get(4) == Some(&xvfb.to_string().as_str()));
    let attached: u32 = framebuffer.as_ref().and_then(|f| f.get(6)?.parse().ok()).unwrap_or_else(|| panic!("Xvfb's segment in {inside}"));
    assert_eq!(attached, 2, "Xvfb and the capture hold the framebuffer: {framebuffer:?}");

    // The picture still follows the screen, read in place.
    x.focused_green_window();
    client.until("the green window", |c| c.pixel(40, 30) == [0, 255, 0, 255] && c.pixel(99, 79) == [0, 255, 0, 255]).await;
    assert_ne!(client.pixel(100, 80), [0, 255, 0, 255], "only the window is green");
    drop(x);
    drop(client);
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xvfb_offers_only_the_extensions_a_desktop_needs() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let x = service.x_client("Probe").await;
    let reply = x.conn.list_extensions().unwrap().reply().unwrap();
    let offered: BTreeSet<String> = reply.names.iter().map(|n| String::from_utf8_lossy(&n.name).into_owned()).collect();
    let expected: BTreeSet<String> = [
        "BIG-REQUESTS",
        "Composite",
        "DAMAGE",
        "Generic Event Extension",
        "MIT-SCREEN-SAVER",
        "MIT-SHM",
        "Present",
        "RANDR",
        "RECORD",
        "RENDER",
        "SHAPE",
        "SYNC",
        "XC-MISC",
        "XFIXES",
        "XINERAMA",
        "XInputExtension",
        "XKEYBOARD",
        "XTEST",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(offered, expected);
    for gone in ["GLX", "XVideo", "X-Resource", "SECURITY", "DOUBLE-BUFFER", "DPMS"] {
        assert!(x.conn.extension_information(gone).unwrap().is_none(), "{gone} is off");
    }
    drop(x);
    drop(client);
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_over_the_caps_are_refused_with_the_reason_and_a_place_comes_back_when_one_ends() {
    let limits = oriel_linux_desktop::SessionLimits { max_sessions: 3, max_sessions_per_user: 2, ..Default::default() };
    let service = TestService::with_limits(&[("Probe", "exec sleep 3600")], limits);
    service.add_user("other", "oriel-other", &support::role("other", "    create_desktop_user: true\n")).await;
    let (mut first, first_task) = service.connect();
    first.hello(320, 240, Codec::Qoiz).await;
    let (mut second, _second_task) = service.connect();
    second.hello(320, 240, Codec::Qoiz).await;

    // A third for the same user: over the per-user cap, refused before anything starts.
    let (mut third, third_task) = service.connect();
    while third.next().await.is_some() {}
    assert!(third.alerts.last().expect("an alert").message.starts_with("you already have 2 sessions on this desktop"));
    assert!(matches!(third_task.await.unwrap(), Err(oriel_linux_desktop::SessionError::TooManySessions(_))));

    // Another user fills the host.
    let (mut other, _other_task) = service.connect_as("other", "oriel-other");
    other.hello(320, 240, Codec::Qoiz).await;
    let (mut fourth, fourth_task) = service.connect_as("other", "oriel-other");
    while fourth.next().await.is_some() {}
    assert!(fourth.alerts.last().expect("an alert").message.starts_with("this desktop runs 3 sessions, the most it may"));
    assert!(fourth_task.await.unwrap().is_err());

    // One ends: its place is free again.
    drop(first);
    let _ = first_task.await;
    let (mut again, _again_task) = service.connect();
    again.hello(320, 240, Codec::Qoiz).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_shared_directory_announcements_is_capped() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    service.add_user("sharer", "oriel-sharer", &support::role("sharer", "    create_desktop_user: true\n    desktop_directory_sharing: true\n")).await;
    let (mut client, task) = service.connect_as("sharer", "oriel-sharer");
    let hello = client.hello(320, 240, Codec::Qoiz).await;
    assert!(hello.directory_sharing_enabled, "this host has FUSE");
    let _x = service.x_client("Probe").await;
    const ANNOUNCED: u32 = 2000;
    for id in 1..=ANNOUNCED {
        client.send(Payload::SharedDirectoryAnnounce(pb::SharedDirectoryAnnounce { directory_id: id, name: format!("d{id}") })).await;
    }
    let mut acks = Vec::new();
    while acks.len() < ANNOUNCED as usize {
        match client.next().await {
            Some(Payload::SharedDirectoryAcknowledge(ack)) => acks.push(ack),
            Some(_) => {}
            None => panic!("the session ended after {} answers", acks.len()),
        }
    }
    let mounted = acks.iter().filter(|a| a.error_code == pb::SharedDirectoryErrorCode::None as i32).count();
    assert_eq!(mounted, oriel_linux_desktop::shared_dir::DEFAULT_MAX_SHARED);
    assert!(client.alerts.iter().any(|a| a.message.contains("already shares 16 directories")), "the user is told why");
    // The session goes on, and every mount goes with it.
    drop(client);
    let _ = task.await;
    let deadline = Instant::now() + PATIENCE;
    while std::fs::read_to_string("/proc/mounts").unwrap().contains("fuse.oriel") {
        assert!(Instant::now() < deadline, "mounts left behind");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_never_grows_past_the_hosts_cap() {
    let limits = oriel_linux_desktop::SessionLimits { max_screen: MaxScreen::new(1024, 768), ..oriel_linux_desktop::SessionLimits::default() };
    let service = TestService::with_limits(&[("Probe", "exec sleep 3600")], limits);
    let (mut client, task) = service.connect();
    let hello = client.hello(4000, 3000, Codec::Qoiz).await;
    assert_eq!((hello.width, hello.height), (1024, 768));
    let x = service.x_client("Probe").await;
    // Xvfb itself was started at the cap: RANDR cannot go past it.
    let sizes = x.conn.randr_get_screen_size_range(x.conn.setup().roots[0].root).unwrap().reply().unwrap();
    assert_eq!((sizes.max_width, sizes.max_height), (1024, 768));
    // Frames of the new, smaller size fit the canvas as it is.
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 3000, height: 500, scale: 100 })).await;
    let root = x.conn.setup().roots[0].root;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let geometry = x.conn.get_geometry(root).unwrap().reply().unwrap();
        if (geometry.width, geometry.height) == (1024, 500) {
            break;
        }
        assert!(Instant::now() < deadline, "the screen is {}x{}, not 1024x500", geometry.width, geometry.height);
        client.read_for(Duration::from_millis(100)).await;
    }
    drop(x);
    drop(client);
    let _ = task.await;
}

/// The largest cursor X allows is 32767 pixels a side (4 GiB to fetch).
/// A client of the desktop that defines a 4096 × 4096 one (64 MiB) ends its
/// own session, with the reason, instead of making the session fetch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_giant_cursor_ends_the_session_instead_of_being_fetched() {
    use x11rb::protocol::render::{self, ConnectionExt as _};
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(320, 240, Codec::Qoiz).await;
    let x = service.x_client("Probe").await;
    let conn = &x.conn;
    let root = conn.setup().roots[0].root;
    let formats = conn.render_query_pict_formats().unwrap().reply().unwrap();
    let argb = formats
        .formats
        .iter()
        .find(|f| f.depth == 32 && f.type_ == render::PictType::DIRECT && f.direct.alpha_mask == 0xff)
        .expect("an ARGB32 picture format")
        .id;
    let pixmap = conn.generate_id().unwrap();
    conn.create_pixmap(32, pixmap, root, 4096, 4096).unwrap().check().unwrap();
    let picture = conn.generate_id().unwrap();
    conn.render_create_picture(picture, pixmap, argb, &render::CreatePictureAux::new()).unwrap().check().unwrap();
    let cursor = conn.generate_id().unwrap();
    conn.render_create_cursor(cursor, picture, 0, 0).unwrap().check().unwrap();
    conn.change_window_attributes(root, &x11rb::protocol::xproto::ChangeWindowAttributesAux::new().cursor(cursor)).unwrap().check().unwrap();

    while client.next().await.is_some() {}
    let alert = client.alerts.last().expect("an alert says why the session ended");
    assert!(alert.message.contains("over the 33554432 bytes the service takes from it"), "{}", alert.message);
    assert!(alert.message.contains(&format!("{} bytes", 32 + 4 * 4096 * 4096)), "{}", alert.message);
    assert!(task.await.unwrap().is_err());
}
