//! The desktops people pick, as installed on the host: the real Xfce
//! session from /usr/share/xsessions (`scripts/install-deps` installs it)
//! and the minimal session Oriel ships in deploy/xsessions. Each comes up
//! as its login with its window manager, draws a desktop the client
//! receives, and leaves no process of the login behind when the client goes.
//!
//! These tests create the `tester` login, so they run as root (as CI does).
//!
//! What Xfce's helpers do here, with no systemd, logind, polkit, colord or
//! PulseAudio (seen in the xsession's log, which a failing test shows):
//! the panel's clock finds no org.freedesktop.login1 and so no sleep
//! monitor, xfsettingsd no UPower, and the session starts anyway. Where the
//! recommended packages are installed too (not by install-deps), xiccd
//! cannot reach colord, the polkit agent finds no authority and exits,
//! light-locker aborts without a logind session id, and the PulseAudio
//! plugin finds no server. None of that keeps the window manager, the
//! panel or the desktop from starting.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oriel_linux_desktop::xsession::XsessionFilter;
use oriel_tdpb::pb::Codec;
use support::{Client, PATIENCE, TestService, XClient};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, MapState, Window};
use x11rb::rust_connection::RustConnection;

/// Xfce starts a dozen programs that each read their settings over D-Bus:
/// on a loaded 2-core machine it gets four times the usual patience.
/// A test that waits this long has failed; it does not measure speed.
const XFCE_PATIENCE: Duration = Duration::from_secs(120);

/// The session's screen: big enough for Xfce's panel and desktop.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;

/// What a desktop must show to count as up.
struct Expected<'a> {
    /// The xsession's name, the only one offered.
    xsession: &'a str,
    /// The window manager's process name (/proc/<pid>/status).
    wm_process: &'a str,
    /// `_NET_WM_NAME` of the window manager's check window.
    wm_name: &'a str,
    /// A window the desktop must map, by WM_CLASS instance, and its process.
    window_instance: &'a str,
    window_process: &'a str,
    /// How long the desktop gets.
    patience: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_xfce_session_comes_up_as_the_login_and_leaves_nothing_behind() {
    let filter = XsessionFilter { included: regex::Regex::new("^Xfce Session$").unwrap(), excluded: None };
    let service = TestService::with_xsession_dirs(vec![oriel_linux_desktop::xsession::SYSTEM_XSESSIONS.into()], filter);
    let offered: Vec<String> = service.service.xsessions().into_iter().map(|s| s.name).collect();
    assert_eq!(offered, ["Xfce Session"], "Xfce is not installed: run scripts/install-deps");
    let expected = Expected {
        xsession: "Xfce Session",
        wm_process: "xfwm4",
        wm_name: "Xfwm4",
        window_instance: "xfce4-panel",
        window_process: "xfce4-panel",
        patience: XFCE_PATIENCE,
    };
    let session = comes_up(&service, &expected).await;
    // The rest of what startxfce4's failsafe session starts, all as the login.
    for program in ["xfce4-session", "xfsettingsd", "xfdesktop"] {
        session.wait_for_process(&service, program, XFCE_PATIENCE).await;
    }
    session.ends_cleanly(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimal_session_oriel_ships_starts_openbox_and_an_xterm_as_the_login() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/xsessions");
    let service = TestService::with_xsession_dirs(vec![shipped], XsessionFilter::default());
    let offered: Vec<String> = service.service.xsessions().into_iter().map(|s| s.name).collect();
    assert_eq!(offered, ["Minimal (Openbox and xterm)"], "openbox missing? run scripts/install-deps");
    let expected = Expected {
        xsession: "Minimal (Openbox and xterm)",
        wm_process: "openbox",
        wm_name: "Openbox",
        window_instance: "xterm",
        window_process: "xterm",
        patience: PATIENCE,
    };
    let session = comes_up(&service, &expected).await;
    session.ends_cleanly(&service).await;
}

/// A session that has come up, with what identifies its processes.
struct Running {
    client: Client,
    task: tokio::task::JoinHandle<Result<oriel_linux_desktop::SessionEnd, oriel_linux_desktop::SessionError>>,
    uid: u32,
    /// The session's mark (`ORIEL_SESSION`), which its processes inherit.
    mark: String,
}

/// Opens a session for `tester` and waits until the desktop is up: the
/// window manager runs as the login and says who it is on the root
/// window, the expected window is mapped, and the client has painted it.
async fn comes_up(service: &TestService, expected: &Expected<'_>) -> Running {
    let (mut client, task) = service.connect();
    let hello = client.hello(WIDTH, HEIGHT, Codec::QoizStream).await;
    assert_eq!(hello.xsessions.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), [expected.xsession]);
    let deadline = Instant::now() + expected.patience;
    let runtime_dir = service.runtime_dir();

    // The window manager, found among the processes of this service's
    // sessions (other tests may run sessions of the same login).
    let (uid, wm) = loop {
        let found = uzers::get_user_by_name("tester")
            .and_then(|user| session_processes(&runtime_dir).into_iter().find(|p| p.name == expected.wm_process).map(|p| (user.uid(), p)));
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "{} never ran; the session's processes: {:?}; alerts: {:?}",
            expected.wm_process,
            names(&session_processes(&runtime_dir)),
            client.alerts
        );
        assert!(client.read_for(Duration::from_millis(200)).await, "the service ended the session; alerts: {:?}", client.alerts);
    };
    assert_ne!(uid, 0);
    let mark = wm.env.get("ORIEL_SESSION").cloned().expect("the window manager carries the session's mark");
    let x = XClient::connect(&wm.env["DISPLAY"], Path::new(&wm.env["XAUTHORITY"]));

    let window = loop {
        let name = wm_name(&x.conn);
        let window = (name.as_deref() == Some(expected.wm_name)).then(|| visible_window(&x.conn, expected.window_instance)).flatten();
        if let Some(window) = window {
            break window;
        }
        assert!(
            Instant::now() < deadline,
            "the desktop never came up: window manager {name:?} (expected {:?}), no visible {:?} window; the session's processes: {:?}; windows:\n{}",
            expected.wm_name,
            expected.window_instance,
            names(&session_processes(&runtime_dir)),
            window_tree(&wm.env["DISPLAY"], &wm.env["XAUTHORITY"])
        );
        assert!(client.read_for(Duration::from_millis(200)).await, "the service ended the session; alerts: {:?}", client.alerts);
    };

    // What the client painted: the window is not one flat colour, nor is the screen.
    loop {
        let in_window = colours(&client, window);
        let on_screen = colours(&client, Rect { x: 0, y: 0, width: WIDTH, height: HEIGHT });
        if in_window > 1 && on_screen > 16 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the client's frames stayed nearly flat: {in_window} colours in the {} window at {window:?}, {on_screen} on the screen",
            expected.window_instance
        );
        assert!(client.read_for(Duration::from_millis(200)).await, "the service ended the session; alerts: {:?}", client.alerts);
    }

    let running = Running { client, task, uid, mark };
    running.wait_for_process(service, expected.window_process, expected.patience).await;
    // Every process of the session, the window manager's first, runs as the
    // login: its real, effective, saved and file-system uids.
    for process in session_processes(&runtime_dir) {
        assert_eq!(process.uids, [uid; 4], "{} (pid {}) does not run as tester only", process.name, process.pid);
    }
    running
}

impl Running {
    /// Waits until a process called `name` of this session runs, as the login.
    async fn wait_for_process(&self, service: &TestService, name: &str, patience: Duration) {
        let deadline = Instant::now() + patience;
        loop {
            let processes = session_processes(&service.runtime_dir());
            if let Some(process) = processes.iter().find(|p| p.name == name) {
                assert_eq!(process.uids, [self.uid; 4], "{name} (pid {}) does not run as tester only", process.pid);
                return;
            }
            assert!(Instant::now() < deadline, "{name} never ran; the session's processes: {:?}", names(&processes));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The client goes as a closed tab does: the session ends without an
    /// error, and nothing of it is left, neither a process of the login
    /// carrying its mark (or none: a helper that dropped its environment)
    /// nor any process in its directories.
    async fn ends_cleanly(self, service: &TestService) {
        drop(self.client);
        let end = tokio::time::timeout(PATIENCE, self.task).await.expect("the session did not end after the client left");
        end.unwrap().unwrap();
        let runtime_dir = service.runtime_dir();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let mut left: Vec<Process> =
                processes().into_iter().filter(|p| p.uids[0] == self.uid && p.env.get("ORIEL_SESSION").is_none_or(|mark| *mark == self.mark)).collect();
            left.extend(session_processes(&runtime_dir).into_iter().filter(|p| p.uids[0] != self.uid));
            if left.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "processes of the session outlived it: {:?}", names(&left));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A process on this host, as /proc shows it.
struct Process {
    pid: i32,
    /// As in /proc/<pid>/status (at most 15 bytes).
    name: String,
    /// Real, effective, saved and file-system uid.
    uids: [u32; 4],
    env: HashMap<String, String>,
}

/// Every process whose environment can be read (all of them, as root).
fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).filter_map(read_process).collect()
}

fn read_process(pid: i32) -> Option<Process> {
    // A process may end between the reads: it is then skipped.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let name = status.lines().find_map(|l| l.strip_prefix("Name:"))?.trim().to_owned();
    let uids: Vec<u32> = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().filter_map(|u| u.parse().ok()).collect();
    let env = environ
        .split(|&b| b == 0)
        .filter_map(|var| {
            let var = String::from_utf8_lossy(var);
            let (key, value) = var.split_once('=')?;
            Some((key.to_owned(), value.to_owned()))
        })
        .collect();
    Some(Process { pid, name, uids: uids.try_into().ok()?, env })
}

/// The processes of this service's sessions: their XAUTHORITY is in its
/// runtime directory (unless they dropped their environment).
fn session_processes(runtime_dir: &Path) -> Vec<Process> {
    processes().into_iter().filter(|p| p.env.get("XAUTHORITY").is_some_and(|path| PathBuf::from(path).starts_with(runtime_dir))).collect()
}

fn names(processes: &[Process]) -> Vec<String> {
    let mut names: Vec<String> = processes.iter().map(|p| format!("{}({})", p.name, p.pid)).collect();
    names.sort();
    names
}

/// `_NET_WM_NAME` of the window that `_NET_SUPPORTING_WM_CHECK` on the root
/// names: how an EWMH window manager says it is running, and which one.
fn wm_name(conn: &RustConnection) -> Option<String> {
    let root = conn.setup().roots[0].root;
    let check = atom(conn, "_NET_SUPPORTING_WM_CHECK");
    let reply = conn.get_property(false, root, check, AtomEnum::WINDOW, 0, 1).ok()?.reply().ok()?;
    let window = reply.value32()?.next()?;
    let (name, utf8) = (atom(conn, "_NET_WM_NAME"), atom(conn, "UTF8_STRING"));
    let reply = conn.get_property(false, window, name, utf8, 0, 256).ok()?.reply().ok()?;
    Some(String::from_utf8_lossy(&reply.value).into_owned())
}

/// `xwininfo -root -tree` with map states, for a failure's message.
fn window_tree(display: &str, xauthority: &str) -> String {
    let output = std::process::Command::new("xwininfo").args(["-root", "-tree"]).env("DISPLAY", display).env("XAUTHORITY", xauthority).output();
    let tree = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_else(|e| e.to_string());
    let mut out = String::new();
    for line in tree.lines().filter(|l| l.contains("0x")) {
        let state = line.split_whitespace().next().and_then(|id| {
            let info = std::process::Command::new("xwininfo").args(["-id", id]).env("DISPLAY", display).env("XAUTHORITY", xauthority).output().ok()?;
            String::from_utf8_lossy(&info.stdout).lines().find_map(|l| l.trim().strip_prefix("Map State: ").map(str::to_owned))
        });
        out.push_str(&format!("{line} [{}]\n", state.unwrap_or_default()));
    }
    out
}

fn atom(conn: &RustConnection, name: &str) -> u32 {
    conn.intern_atom(false, name.as_bytes()).unwrap().reply().unwrap().atom
}

/// A rectangle of the root window.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
}

/// The largest viewable window whose WM_CLASS instance is `instance`, in
/// root coordinates. Toolkits map helper windows of the same class that are
/// tiny or off screen; the largest is the one people see.
fn visible_window(conn: &RustConnection, instance: &str) -> Option<Rect> {
    let root = conn.setup().roots[0].root;
    let mut pending: Vec<Window> = vec![root];
    let mut best: Option<Rect> = None;
    while let Some(window) = pending.pop() {
        let Ok(Ok(tree)) = conn.query_tree(window).map(|c| c.reply()) else { continue };
        pending.extend(tree.children);
        let Ok(Ok(class)) = conn.get_property(false, window, AtomEnum::WM_CLASS, AtomEnum::STRING, 0, 256).map(|c| c.reply()) else { continue };
        if class.value.split(|&b| b == 0).next() != Some(instance.as_bytes()) {
            continue;
        }
        let viewable = conn.get_window_attributes(window).ok().and_then(|c| c.reply().ok()).is_some_and(|a| a.map_state == MapState::VIEWABLE);
        let Some(geometry) = conn.get_geometry(window).ok().and_then(|c| c.reply().ok()) else { continue };
        let Some(origin) = conn.translate_coordinates(window, root, 0, 0).ok().and_then(|c| c.reply().ok()) else { continue };
        let rect = Rect { x: origin.dst_x.into(), y: origin.dst_y.into(), width: geometry.width.into(), height: geometry.height.into() };
        let on_screen = rect.x >= 0 && rect.y >= 0 && rect.x < WIDTH as i32 && rect.y < HEIGHT as i32;
        if viewable && on_screen && best.is_none_or(|b| rect.width * rect.height > b.width * b.height) {
            best = Some(rect);
        }
    }
    best
}

/// How many different colours the client painted in `rect` (clipped to the screen).
fn colours(client: &Client, rect: Rect) -> usize {
    let (x0, y0) = (rect.x.max(0) as u32, rect.y.max(0) as u32);
    let (x1, y1) = ((rect.x + rect.width as i32).min(client.width as i32) as u32, (rect.y + rect.height as i32).min(client.height as i32) as u32);
    let mut seen = HashSet::new();
    for y in y0..y1 {
        for x in x0..x1 {
            seen.insert(client.pixel(x, y));
        }
    }
    seen.len()
}
