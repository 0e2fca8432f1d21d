//! A test client of the desktop service: speaks TDPB over an in-process
//! pipe, decodes frames into an RGBA canvas, and reaches into the session's
//! X display as an ordinary X client would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use oriel_auth::ca::{CertAuthority, UserIdentity};
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::store::{DesktopRecord, Store};
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, SessionEnd, SessionError, SessionLimits, SessionRequest};
use oriel_qoiz::Canvas;
use oriel_recorder::RecordingSpool;
use oriel_tdpb::pb::{self, Codec};
use oriel_tdpb::{FrameReader, Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use x11rb::rust_connection::{DefaultStream, RustConnection};

/// Long enough for Xvfb and a session to start on a loaded 2-core machine;
/// a test that waits this long has failed, it does not measure speed.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The desktop's name in the control plane.
pub const DESKTOP: &str = "test-desktop";

/// A role that allows the `tester` login on every Linux desktop, and has
/// the service create that login on this host (the tests run as root, as CI
/// does: sessions run as real users).
const ROLE: &str = "kind: role\nversion: v7\nmetadata:\n  name: tester\nspec:\n  options:\n    create_desktop_user: true\n  allow:\n    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n";

/// A desktop service whose xsessions are test programs, authorizing
/// against a real control plane (SQLite) where user `tester` may log in
/// as `tester`. Clients present certificates of the plane's real CA.
pub struct TestService {
    pub service: LinuxDesktopService,
    pub plane: ControlPlane,
    pub ca: Arc<CertAuthority>,
    pub dir: tempfile::TempDir,
}

impl TestService {
    /// A service offering one xsession per `(name, shell command)`. Every
    /// session first writes its DISPLAY and XAUTHORITY to `<dir>/<name>.env`.
    pub fn new(sessions: &[(&str, &str)]) -> Self {
        Self::with_filter(sessions, Default::default())
    }

    /// As [`TestService::new`], offering only the xsessions `filter` lets through.
    pub fn with_filter(sessions: &[(&str, &str)], filter: oriel_linux_desktop::xsession::XsessionFilter) -> Self {
        init_log();
        let dir = tempfile::tempdir().unwrap();
        // Sessions run as `tester`, and write their DISPLAY here.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
        let xsessions = dir.path().join("xsessions");
        std::fs::create_dir(&xsessions).unwrap();
        for (name, command) in sessions {
            let env_file = dir.path().join(format!("{name}.env"));
            let exec = format!(
                "/bin/sh -c 'echo \"$DISPLAY $XAUTHORITY\" > {}.tmp && mv {}.tmp {}; {command}'",
                env_file.display(),
                env_file.display(),
                env_file.display()
            );
            std::fs::write(xsessions.join(format!("{name}.desktop")), format!("[Desktop Entry]\nName={name}\nExec={exec}\n")).unwrap();
        }
        Self::serving(dir, vec![xsessions], filter)
    }

    /// A service offering the real xsessions in `xsession_dirs` (such as
    /// `/usr/share/xsessions`) that `filter` lets through. They write no
    /// `.env` file: find their processes by [`TestService::runtime_dir`].
    pub fn with_xsession_dirs(xsession_dirs: Vec<PathBuf>, filter: oriel_linux_desktop::xsession::XsessionFilter) -> Self {
        init_log();
        let dir = tempfile::tempdir().unwrap();
        // The sessions' directories are under it, and their logins must reach them.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        Self::serving(dir, xsession_dirs, filter)
    }

    /// As [`TestService::new`], keeping sessions whose browser left for `grace`.
    pub fn with_grace(sessions: &[(&str, &str)], grace: Duration) -> Self {
        let mut service = Self::new(sessions);
        service.service = LinuxDesktopService::new(DesktopConfig { disconnect_grace: grace, ..service.service.config().clone() });
        service
    }

    /// As [`TestService::new`], each session on `server`.
    pub fn with_x_server(sessions: &[(&str, &str)], server: oriel_linux_desktop::xvfb::XServer) -> Self {
        let mut service = Self::new(sessions);
        service.service = LinuxDesktopService::new(DesktopConfig { x_server: server, ..service.service.config().clone() });
        service
    }

    /// As [`TestService::new`], under `limits`.
    pub fn with_limits(sessions: &[(&str, &str)], limits: SessionLimits) -> Self {
        let mut service = Self::new(sessions);
        service.service = LinuxDesktopService::new(DesktopConfig { limits, ..service.service.config().clone() });
        service
    }

    fn serving(dir: tempfile::TempDir, xsession_dirs: Vec<PathBuf>, filter: oriel_linux_desktop::xsession::XsessionFilter) -> Self {
        let plane = futures_block_on(control_plane(dir.path()));
        let ca = futures_block_on(plane.cert_authority()).unwrap();
        let service = LinuxDesktopService::new(DesktopConfig {
            desktop_name: DESKTOP.into(),
            kind: oriel_rbac::DesktopKind::Linux,
            rdp: None,
            authority: std::sync::Arc::new(plane.clone()),
            xsession_dirs,
            xsession_filter: filter,
            runtime_dir: dir.path().join("run"),
            frames: FrameConfig::default(),
            session_program: oriel_linux_desktop::SessionProgram::built_beside_this_executable(),
            limits: oriel_linux_desktop::SessionLimits { max_sessions_per_user: 1000, ..Default::default() },
            recordings: RecordingSpool::open(&dir.path().join("recording-spool"), std::sync::Arc::new(plane.clone())).unwrap(),
            disconnect_grace: std::time::Duration::ZERO,
            x_server: Default::default(),
        });
        Self { service, plane, ca, dir }
    }

    /// Adds a role and a user holding it (plus nothing else) to the plane.
    pub async fn add_user(&self, user: &str, login: &str, role_yaml: &str) {
        let roles = oriel_rbac::parse_roles("test role", role_yaml).unwrap();
        let role_name = roles[0].name.clone();
        self.plane.create_roles(&roles, true).await.unwrap();
        let spec = UserSpec { name: user.into(), roles: vec![role_name], linux_logins: vec![login.into()], ..Default::default() };
        self.plane.add_user(&spec).await.unwrap();
    }

    /// Where this service puts its sessions' directories: every session's
    /// `XAUTHORITY` and `XDG_RUNTIME_DIR` are under it, and no other service's.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Opens a session for `tester` as `tester`.
    pub fn connect(&self) -> (Client, tokio::task::JoinHandle<Result<SessionEnd, SessionError>>) {
        self.connect_as("tester", "tester")
    }

    /// Opens a session as `user` with a fresh certificate from the cluster's
    /// user CA, as the proxy would after a login.
    pub fn connect_as(&self, user: &str, login: &str) -> (Client, tokio::task::JoinHandle<Result<SessionEnd, SessionError>>) {
        self.connect_with(self.user_certificate(user), login)
    }

    /// A one-hour certificate for `user` (no roles: the service reads them
    /// from the store), DER.
    pub fn user_certificate(&self, user: &str) -> Vec<u8> {
        let plane = self.plane.clone();
        let user_id = futures_block_on(async move { plane.store().user(user).await.ok().map(|u| u.value.id) });
        let identity = UserIdentity { user: user.into(), user_id, ..Default::default() };
        self.ca.issue_user(&identity, Duration::from_secs(3600), SystemTime::now()).unwrap().cert_der
    }

    /// Opens a session presenting `certificate`: the service serves the far
    /// end of a pipe.
    pub fn connect_with(&self, certificate: Vec<u8>, login: &str) -> (Client, tokio::task::JoinHandle<Result<SessionEnd, SessionError>>) {
        self.connect_request(SessionRequest { certificate, login: login.into(), session_id: None, resume: false, join: None })
    }

    /// Resumes session `sid` as `user` on `login`, with a fresh certificate.
    pub fn resume_as(&self, user: &str, login: &str, sid: &str) -> (Client, tokio::task::JoinHandle<Result<SessionEnd, SessionError>>) {
        self.connect_request(SessionRequest {
            certificate: self.user_certificate(user),
            login: login.into(),
            session_id: Some(sid.into()),
            resume: true,
            join: None,
        })
    }

    /// Joins session `sid` as `user`, a participant in `mode`, with a fresh certificate.
    pub fn join_as(&self, user: &str, sid: &str, mode: oriel_rbac::JoinMode) -> (Client, tokio::task::JoinHandle<Result<SessionEnd, SessionError>>) {
        self.connect_request(SessionRequest {
            certificate: self.user_certificate(user),
            login: "tester".into(),
            session_id: Some(sid.into()),
            resume: false,
            join: Some(mode),
        })
    }

    /// Serves `request` on the far end of a pipe.
    pub fn connect_request(&self, request: SessionRequest) -> (Client, tokio::task::JoinHandle<Result<SessionEnd, SessionError>>) {
        let (client_end, service_end) = tokio::io::duplex(1 << 20);
        let service = self.service.clone();
        let task = tokio::spawn(async move { service.serve(service_end, request).await });
        (Client::new(client_end), task)
    }

    /// Waits until session `name` has started and connects to its display.
    pub async fn x_client(&self, name: &str) -> XClient {
        let env_file = self.dir.path().join(format!("{name}.env"));
        let deadline = Instant::now() + PATIENCE;
        while !env_file.exists() {
            assert!(Instant::now() < deadline, "xsession {name} never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = std::fs::read_to_string(&env_file).unwrap();
        let (display, xauthority) = text.trim().split_once(' ').unwrap();
        XClient::connect(display, Path::new(xauthority))
    }
}

/// A role allowing its user's `linux_logins` on every Linux desktop, with
/// `options` (YAML lines indented four spaces) and group `oriel-test-group`.
pub fn role(name: &str, options: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata:\n  name: {name}\nspec:\n  options:\n{options}  allow:\n    linux_desktop_logins: ['{{{{internal.linux_logins}}}}']\n    desktop_groups: [oriel-test-group]\n    linux_desktop_labels:\n      '*': '*'\n"
    )
}

/// The service's log, shown with a failing test's output.
fn init_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ORIEL_LOG").unwrap_or_else(|_| "debug".into()))
        .with_test_writer()
        .try_init();
}

/// The CAs of another cluster, with their own store in `dir`.
pub fn foreign_ca(dir: &Path) -> CertAuthority {
    futures_block_on(async {
        let backend = oriel_backend::SqliteBackend::open(dir.join("other.db"), oriel_backend::Options::default()).await.unwrap();
        CertAuthority::load_or_create(&Store::new(Arc::new(backend)), SystemTime::now()).await.unwrap()
    })
}

async fn control_plane(dir: &Path) -> ControlPlane {
    let backend = oriel_backend::SqliteBackend::open(dir.join("oriel.db"), oriel_backend::Options::default()).await.unwrap();
    let recordings = oriel_auth::recordings::RecordingStorage::in_directory(&dir.join("recordings")).unwrap();
    let plane = ControlPlane::new(Store::new(std::sync::Arc::new(backend)), std::sync::Arc::new(oriel_backend::SystemClock)).with_recordings(recordings);
    plane.create_roles(&oriel_rbac::parse_roles("tester.yaml", ROLE).unwrap(), false).await.unwrap();
    let spec = UserSpec { name: "tester".into(), roles: vec!["tester".into()], linux_logins: vec!["tester".into()], ..Default::default() };
    plane.add_user(&spec).await.unwrap();
    let desktop = DesktopRecord {
        kind: oriel_rbac::DesktopKind::Linux,
        name: DESKTOP.into(),
        hostname: "test".into(),
        addr: "in-process".into(),
        labels: Default::default(),
        expires: None,
        host_id: None,
    };
    plane.store().put_desktop(&desktop).await.unwrap();
    plane
}

/// Where set-up code runs: one runtime for the whole test process, so what
/// it spawns lives on (the store's feed to its watchers: on a runtime
/// dropped after set-up, a watch would never see a change).
static SETUP: std::sync::LazyLock<tokio::runtime::Runtime> =
    std::sync::LazyLock::new(|| tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap());

/// Runs a future to completion on [`SETUP`] from synchronous test set-up
/// code that may itself be inside a Tokio runtime.
fn futures_block_on<F: std::future::Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|scope| scope.spawn(|| SETUP.block_on(future)).join().unwrap())
}

/// An X client on the session's display, authenticated with its cookie.
pub struct XClient {
    pub conn: RustConnection,
    pub display: String,
}

impl XClient {
    pub fn connect(display: &str, xauthority: &Path) -> Self {
        let number = display.trim_start_matches(':');
        let file = std::fs::read(xauthority).unwrap();
        // Oriel's Xauthority holds one entry that ends with the 16-byte cookie.
        let cookie = file[file.len() - 16..].to_vec();
        let socket = std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{number}")).unwrap();
        let (stream, _) = DefaultStream::from_unix_stream(socket).unwrap();
        let conn = RustConnection::connect_to_stream_with_auth_info(stream, 0, b"MIT-MAGIC-COOKIE-1".to_vec(), cookie).unwrap();
        Self { conn, display: display.to_owned() }
    }

    /// Maps a green override-redirect window at (40, 30), 60x50, that takes
    /// key presses and has the keyboard focus.
    pub fn focused_green_window(&self) {
        use x11rb::connection::Connection as _;
        use x11rb::protocol::xproto::{self, ConnectionExt as _};
        use x11rb::wrapper::ConnectionExt as _;
        let screen = &self.conn.setup().roots[0];
        let window = self.conn.generate_id().unwrap();
        let aux = xproto::CreateWindowAux::new().background_pixel(0x00ff00).override_redirect(1).event_mask(xproto::EventMask::KEY_PRESS);
        self.conn
            .create_window(screen.root_depth, window, screen.root, 40, 30, 60, 50, 0, xproto::WindowClass::INPUT_OUTPUT, screen.root_visual, &aux)
            .unwrap();
        self.conn.map_window(window).unwrap();
        self.conn.set_input_focus(xproto::InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME).unwrap();
        self.conn.sync().unwrap();
    }

    /// The keycode of the next key press this client sees.
    pub fn next_key_press(&self) -> u8 {
        use x11rb::connection::Connection as _;
        let deadline = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < deadline, "no key press reached the X session");
            match self.conn.poll_for_event().unwrap() {
                Some(x11rb::protocol::Event::KeyPress(press)) => return press.detail,
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// The browser's side of a session, minus the browser.
pub struct Client {
    stream: DuplexStream,
    frames: FrameReader,
    /// The remote screen as painted so far.
    picture: Canvas,
    pub width: u32,
    pub height: u32,
    pub alerts: Vec<pb::Alert>,
    pub cursors: Vec<pb::CursorImage>,
    pub pings: Vec<pb::Ping>,
    /// Every participants list received, oldest first.
    pub participants: Vec<pb::SessionParticipants>,
    pub last_frame: Option<u32>,
    pub keyframes: u32,
}

impl Client {
    fn new(stream: DuplexStream) -> Self {
        Self {
            stream,
            frames: FrameReader::new(Limits::FROM_SERVER.max_frame_len),
            picture: Canvas::new(),
            width: 0,
            height: 0,
            alerts: Vec::new(),
            cursors: Vec::new(),
            pings: Vec::new(),
            participants: Vec::new(),
            last_frame: None,
            keyframes: 0,
        }
    }

    pub async fn send(&mut self, payload: Payload) {
        self.stream.write_all(&encode_frame(payload)).await.unwrap();
    }

    /// Says hello as a browser does on connecting, whether or not the
    /// service still listens (it may refuse before it reads it).
    pub async fn say_hello(&mut self, width: u32, height: u32) {
        let hello = Payload::ClientHello(pb::ClientHello {
            screen_spec: Some(pb::ClientScreenSpec { width, height, scale: 100 }),
            protocol_version: 1,
            codecs: vec![Codec::QoizSession as i32, Codec::QoizStream as i32, Codec::Qoiz as i32],
            ..Default::default()
        });
        let _ = self.stream.write_all(&encode_frame(hello)).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub async fn hello(&mut self, width: u32, height: u32, codec: Codec) -> pb::ServerHello {
        self.hello_on_monitor(width, height, None, codec).await
    }

    /// As [`hello`](Self::hello), from a browser that names its whole
    /// monitor (`width`, `height` in device pixels).
    pub async fn hello_on_monitor(&mut self, width: u32, height: u32, monitor: Option<(u32, u32)>, codec: Codec) -> pb::ServerHello {
        self.send(Payload::ClientHello(pb::ClientHello {
            screen_spec: Some(pb::ClientScreenSpec { width, height, scale: 100 }),
            monitor: monitor.map(|(width, height)| pb::ClientScreenSpec { width, height, scale: 100 }),
            protocol_version: 1,
            codecs: vec![codec as i32],
            ..Default::default()
        }))
        .await;
        match self.next().await {
            Some(Payload::ServerHello(hello)) => {
                self.resize_canvas(hello.width, hello.height);
                hello
            }
            other => panic!("expected ServerHello, got {other:?}"),
        }
    }

    pub fn resize_canvas(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.picture.resize(width, height);
    }

    /// The next message; frames are painted and acknowledged on the way.
    /// `None` when the service closed the stream.
    pub async fn next(&mut self) -> Option<Payload> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Some(frame) = self.frames.next_frame().unwrap() {
                let payload = decode_frame(frame, Limits::FROM_SERVER).unwrap()?;
                self.absorb(&payload).await;
                return Some(payload);
            }
            let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut buf)).await.expect("service went silent").unwrap();
            if n == 0 {
                return None;
            }
            self.frames.push(&buf[..n]);
        }
    }

    async fn absorb(&mut self, payload: &Payload) {
        match payload {
            Payload::FrameRect(rect) => {
                self.picture.paint(rect.codec as u32, rect.reset_context, &rect.data, rect.x, rect.y, rect.width, rect.height).unwrap();
                if rect.reset_context {
                    self.keyframes += 1;
                }
                if rect.end_of_frame {
                    self.last_frame = Some(rect.frame_id);
                    // The service may have ended the session right after this
                    // frame (e.g. on bad input): a lost ack is then no error.
                    let ack = encode_frame(Payload::FrameAck(pb::FrameAck { frame_id: rect.frame_id }));
                    let _ = self.stream.write_all(&ack).await;
                }
            }
            Payload::Alert(alert) => self.alerts.push(alert.clone()),
            Payload::CursorImage(cursor) => self.cursors.push(cursor.clone()),
            Payload::Ping(ping) => self.pings.push(ping.clone()),
            Payload::SessionParticipants(list) => self.participants.push(list.clone()),
            _ => {}
        }
    }

    /// Regions the service had this client copy rather than repaint.
    pub fn copies(&self) -> u64 {
        self.picture.copies()
    }

    /// The canvas, RGBA.
    pub fn canvas(&self) -> &[u8] {
        self.picture.rgba()
    }

    /// RGBA of one canvas pixel.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        self.picture.rgba()[i..i + 4].try_into().unwrap()
    }

    /// Reads (painting and acknowledging) whatever arrives for `time`,
    /// however little that is. False if the service closed the session.
    pub async fn read_for(&mut self, time: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + time;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while let Some(frame) = self.frames.next_frame().unwrap() {
                if let Some(payload) = decode_frame(frame, Limits::FROM_SERVER).unwrap() {
                    self.absorb(&payload).await;
                }
            }
            // Only the read is raced against the clock: a read cut short
            // loses nothing, an ack cut short would.
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return true,
                Ok(read) => match read.unwrap() {
                    0 => return false,
                    n => self.frames.push(&buf[..n]),
                },
            }
        }
    }

    /// Reads messages until `done` holds for this client.
    pub async fn until(&mut self, what: &str, mut done: impl FnMut(&Client) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            if self.next().await.is_none() {
                panic!("the service closed the session while waiting for {what}; alerts: {:?}", self.alerts);
            }
        }
    }
}

pub fn temp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The events of `event`'s type so far, oldest first, once at least
/// `count` are there: sessions write their events without waiting.
pub async fn events_of(service: &TestService, event: oriel_auth::audit::EventType, count: usize) -> Vec<oriel_auth::audit::AuditEvent> {
    let query = oriel_auth::store::EventQuery { types: vec![event], oldest_first: true, ..Default::default() };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let events = service.plane.events(&query).await.unwrap().unwrap().events;
        if events.len() >= count {
            return events;
        }
        assert!(Instant::now() < deadline, "expected {count} {event} events, found {}", events.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
