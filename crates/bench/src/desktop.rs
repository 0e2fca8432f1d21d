//! A real desktop session for the benchmarks: the real `LinuxDesktopService`
//! on its own multi-threaded runtime, serving a [`Browser`] over an
//! in-process pipe (or, in `relay`, over the cluster's transports), with
//! openbox and an xterm as the xsession.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::store::{DesktopRecord, Store};
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, SessionEnd, SessionError, SessionRequest};
use oriel_tdpb::pb::Codec;
use tokio::io::DuplexStream;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::browser::{Browser, Transport};
use crate::cpu;
use crate::xclients::{self, Display};

/// The desktop's name in the bench's control plane.
const DESKTOP_NAME: &str = "bench-desktop";
/// The Oriel user, and the login it opens sessions as.
const USER: &str = "bench";
/// A second user, who joins `bench`'s sessions (`viewers`).
pub const HELPER: &str = "bench-helper";
/// Lets `bench-helper` join `bench`'s desktop sessions.
const HELPER_ROLE: &str = "kind: role\nversion: v7\nmetadata:\n  name: bench-helper\nspec:\n  allow:\n    join_sessions:\n      - name: watch bench\n        roles: [bench]\n        kinds: [desktop]\n        modes: [observer, peer]\n";
/// A role that lets `bench` log in as `bench` on every Linux desktop.
const ROLE: &str = "kind: role\nversion: v7\nmetadata:\n  name: bench\nspec:\n  options:\n    create_desktop_user: true\n  allow:\n    \
                    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n    \
                    windows_desktop_logins: ['{{internal.windows_logins}}']\n    windows_desktop_labels:\n      '*': '*'\n";

/// A control plane on SQLite at `db` where `bench` may open sessions on this desktop.
async fn control_plane(db: PathBuf) -> anyhow::Result<ControlPlane> {
    let recordings = oriel_auth::recordings::RecordingStorage::in_directory(&db.with_file_name("recordings"))?;
    let backend = oriel_backend::SqliteBackend::open(db, oriel_backend::Options::default()).await?;
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), Arc::new(oriel_backend::SystemClock)).with_recordings(recordings);
    plane.create_roles(&oriel_rbac::parse_roles("bench.yaml", ROLE)?, false).await?;
    let user = UserSpec { name: USER.into(), roles: vec![USER.into()], linux_logins: vec![USER.into()], windows_logins: vec![USER.into()] };
    plane.add_user(&user).await?;
    plane.create_roles(&oriel_rbac::parse_roles("bench-helper.yaml", HELPER_ROLE)?, false).await?;
    let helper = UserSpec { name: HELPER.into(), roles: vec![HELPER.into()], ..Default::default() };
    plane.add_user(&helper).await?;
    let desktop = DesktopRecord {
        kind: oriel_rbac::DesktopKind::Linux,
        name: DESKTOP_NAME.into(),
        hostname: "bench".into(),
        addr: "in-process".into(),
        labels: Default::default(),
        expires: None,
        host_id: None,
    };
    plane.store().put_desktop(&desktop).await?;
    // The same name as a Windows desktop, for the `rdp` bench.
    plane.store().put_desktop(&DesktopRecord { kind: oriel_rbac::DesktopKind::Windows, ..desktop }).await?;
    Ok(plane)
}

/// A user certificate for `bench` from the plane's CA, as the proxy holds
/// one after a login: the service takes the user from it.
async fn user_certificate(plane: ControlPlane) -> anyhow::Result<Vec<u8>> {
    Ok(plane.issue_user_certificate(USER, Duration::from_secs(12 * 3600)).await?.cert_der)
}

/// The xterm every session starts with, by instance name.
pub const TERMINAL: &str = "bench-terminal";

/// Writes an xsession directory whose one session runs openbox over a
/// patterned root window with one xterm, after writing its DISPLAY and
/// XAUTHORITY to `<dir>/display`. Returns the xsessions directory.
pub fn write_xsession(dir: &Path) -> anyhow::Result<PathBuf> {
    let xsessions = dir.join("xsessions");
    std::fs::create_dir_all(&xsessions)?;
    let env_file = dir.join("display");
    let xterm: Vec<String> = xclients::xterm_args(TERMINAL, "100x30+80+60", ("#fdf6e3", "#073642")).into_iter().map(|arg| format!("'{arg}'")).collect();
    // The xterm starts once openbox manages windows: an xterm mapped while
    // openbox is starting up sometimes stays unmapped for good.
    let script = format!(
        "echo \"$DISPLAY $XAUTHORITY\" > '{env}.tmp' && mv '{env}.tmp' '{env}'\n\
         xsetroot -mod 16 16 -fg '#4c566a' -bg '#2e3440'\n\
         openbox &\n\
         wm=$!\n\
         for i in $(seq 100); do xprop -root _NET_SUPPORTING_WM_CHECK | grep -q 'window id' && break; sleep 0.05; done\n\
         xterm {xterm} &\n\
         wait $wm\n",
        env = env_file.display(),
        xterm = xterm.join(" "),
    );
    let script_path = dir.join("xsession.sh");
    std::fs::write(&script_path, script)?;
    std::fs::write(xsessions.join("bench.desktop"), format!("[Desktop Entry]\nName=Bench\nExec=/bin/sh {}\n", script_path.display()))?;
    Ok(xsessions)
}

/// Waits for the xsession written by [`write_xsession`] to report its
/// display, reading from the service meanwhile as a browser would.
pub async fn wait_display(dir: &Path, browser: &mut Browser) -> anyhow::Result<Display> {
    let env_file = dir.join("display");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env_file.exists() {
        if Instant::now() > deadline {
            bail!("the xsession never started (no {})", env_file.display());
        }
        browser.pump(Instant::now() + Duration::from_millis(20), |_| false).await?;
    }
    let text = std::fs::read_to_string(&env_file)?;
    let (name, xauthority) = text.trim().split_once(' ').context("garbled display file")?;
    Ok(Display { name: name.to_owned(), xauthority: xauthority.into() })
}

/// Waits for a window named `name` (see [`Display::find_window`]), reading
/// from the service meanwhile: a client that stops reading is not what we measure.
pub async fn wait_window(browser: &mut Browser, display: &Display, name: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + xclients::WINDOW_PATIENCE;
    loop {
        if let Some(id) = display.find_window(name) {
            return Ok(id);
        }
        if Instant::now() > deadline {
            let windows = display.run("xwininfo", &["-root", "-children"]).unwrap_or_else(|e| e.to_string());
            bail!("window {name:?} never appeared on {}; windows:\n{windows}", display.name);
        }
        browser.pump(Instant::now() + Duration::from_millis(100), |_| false).await?;
    }
}

/// The bench's desktop service with what it needs to accept a session: a
/// control plane on SQLite in a temporary directory (which also holds the
/// xsession) and a user certificate for `bench`. Cheap to clone; the
/// directory goes when the last clone does.
#[derive(Clone)]
pub struct Desktop {
    pub service: LinuxDesktopService,
    pub plane: ControlPlane,
    /// `bench`'s user certificate (DER), as the proxy holds one after a login.
    pub certificate: Vec<u8>,
    dir: Arc<tempfile::TempDir>,
}

impl Desktop {
    /// Sets up the control plane and the service on `service_runtime`,
    /// offering the bench's openbox-and-xterm xsession.
    pub async fn start(service_runtime: &Runtime) -> anyhow::Result<Self> {
        Self::offering(service_runtime, None, Duration::ZERO).await
    }

    /// As [`Desktop::start`], keeping a session whose browser left for `grace`.
    pub async fn with_grace(service_runtime: &Runtime, grace: Duration) -> anyhow::Result<Self> {
        Self::offering(service_runtime, None, grace).await
    }

    /// As [`Desktop::start`], offering the installed xsessions in
    /// `xsession_dirs` that `filter` lets through instead of the bench's own.
    pub async fn with_xsessions(
        service_runtime: &Runtime,
        xsession_dirs: Vec<PathBuf>,
        filter: oriel_linux_desktop::xsession::XsessionFilter,
    ) -> anyhow::Result<Self> {
        Self::offering(service_runtime, Some((xsession_dirs, filter)), Duration::ZERO).await
    }

    async fn offering(
        service_runtime: &Runtime,
        installed: Option<(Vec<PathBuf>, oriel_linux_desktop::xsession::XsessionFilter)>,
        grace: Duration,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("oriel-bench-").tempdir()?;
        // Sessions run as the `bench` login (created by the service), which
        // must reach the session directories below and write its display
        // file here (sticky, as /tmp is).
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o1777))?;
        let (xsession_dirs, xsession_filter) = match installed {
            Some(installed) => installed,
            None => (vec![write_xsession(dir.path())?], Default::default()),
        };
        let plane = service_runtime.spawn(control_plane(dir.path().join("oriel.db"))).await??;
        let certificate = service_runtime.spawn(user_certificate(plane.clone())).await??;
        let service = LinuxDesktopService::new(DesktopConfig {
            desktop_name: DESKTOP_NAME.into(),
            kind: oriel_rbac::DesktopKind::Linux,
            rdp: None,
            authority: Arc::new(plane.clone()),
            xsession_dirs,
            xsession_filter,
            runtime_dir: dir.path().join("run"),
            frames: FrameConfig::default(),
            session_program: oriel_linux_desktop::SessionProgram::built_beside_this_executable(),
            limits: oriel_linux_desktop::SessionLimits { max_sessions_per_user: 1000, ..Default::default() },
            recordings: oriel_recorder::RecordingSpool::open(&dir.path().join("recording-spool"), Arc::new(plane.clone()))?,
            disconnect_grace: grace,
            x_server: Default::default(),
        });
        Ok(Self { service, plane, certificate, dir: Arc::new(dir) })
    }

    /// A Windows desktop reached over RDP at `rdp`, its sessions run by
    /// `oriel-rdp-session` (built beside this executable by
    /// `cargo build --release -p oriel-windows-desktop`), in `dir`.
    pub async fn windows(service_runtime: &Runtime, rdp: oriel_linux_desktop::RdpDesktop, dir: tempfile::TempDir) -> anyhow::Result<Self> {
        let plane = service_runtime.spawn(control_plane(dir.path().join("oriel.db"))).await??;
        let certificate = service_runtime.spawn(user_certificate(plane.clone())).await??;
        let exe = std::env::current_exe()?;
        let program = exe.with_file_name("oriel-rdp-session");
        if !program.is_file() {
            bail!("{} is missing: cargo build --release -p oriel-windows-desktop", program.display());
        }
        let service = LinuxDesktopService::new(DesktopConfig {
            desktop_name: DESKTOP_NAME.into(),
            kind: oriel_rbac::DesktopKind::Windows,
            rdp: Some(rdp),
            authority: Arc::new(plane.clone()),
            xsession_dirs: Vec::new(),
            xsession_filter: Default::default(),
            runtime_dir: dir.path().join("run"),
            frames: FrameConfig::default(),
            session_program: oriel_linux_desktop::SessionProgram { path: program, args: Vec::new() },
            limits: oriel_linux_desktop::SessionLimits { max_sessions_per_user: 1000, ..Default::default() },
            recordings: oriel_recorder::RecordingSpool::open(&dir.path().join("recording-spool"), Arc::new(plane.clone()))?,
            disconnect_grace: Duration::ZERO,
            x_server: Default::default(),
        });
        Ok(Self { service, plane, certificate, dir: Arc::new(dir) })
    }

    /// The directory the desktop's files are in (its spool, its recordings).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The desktop's name: the service's, its record's, and its host id in the cluster.
    pub fn name(&self) -> &'static str {
        DESKTOP_NAME
    }

    /// The user the sessions are opened for, and the login.
    pub fn user(&self) -> &'static str {
        USER
    }

    /// A new session over an in-process pipe straight into the service.
    pub fn pipe(&self, service_runtime: &Runtime) -> (DuplexStream, JoinHandle<Result<SessionEnd, SessionError>>) {
        let request = SessionRequest { certificate: self.certificate.clone(), login: USER.into(), session_id: None, resume: false, join: None };
        self.serve(service_runtime, request)
    }

    /// `request` served over an in-process pipe (a resume, a join).
    pub fn serve(&self, service_runtime: &Runtime, request: SessionRequest) -> (DuplexStream, JoinHandle<Result<SessionEnd, SessionError>>) {
        let (client_end, service_end) = tokio::io::duplex(1 << 20);
        let service = self.service.clone();
        (client_end, service_runtime.spawn(async move { service.serve(service_end, request).await }))
    }

    /// A user certificate for `user` from the plane's CA.
    pub async fn certificate_of(&self, service_runtime: &Runtime, user: &str) -> anyhow::Result<Vec<u8>> {
        let plane = self.plane.clone();
        let user = user.to_owned();
        Ok(service_runtime.spawn(async move { plane.issue_user_certificate(&user, Duration::from_secs(3600)).await }).await??.cert_der)
    }
}

/// Where the service runs a session, so that closing it can wait for its end.
pub enum SessionTask {
    /// The bench spawned it and holds its handle.
    Handle(JoinHandle<Result<SessionEnd, SessionError>>),
    /// The cluster's agent spawned it; its end shows as the session's Xvfb exiting.
    Agent,
}

/// One session of the service, seen from the browser's side.
pub struct Session {
    pub browser: Browser,
    /// The session's id, as its ServerHello named it.
    pub session_id: String,
    pub display: Display,
    pub xvfb_pid: i32,
    /// The session's xterm, by X window id.
    pub terminal: String,
    /// A Teleport-style encoder watches each measured stretch (`scenarios`).
    pub beside_teleport_style: bool,
    task: SessionTask,
    _desktop: Desktop,
}

impl Session {
    /// Starts a `width`x`height` session of a new [`Desktop`] on
    /// `service_runtime` over an in-process pipe, and waits until its first
    /// screen has been received and the screen is quiet.
    pub async fn start(service_runtime: &Runtime, width: u32, height: u32, codec: Codec) -> anyhow::Result<Self> {
        let desktop = Desktop::start(service_runtime).await?;
        let (client_end, task) = desktop.pipe(service_runtime);
        Self::open(&desktop, Transport::Stream(Box::pin(client_end)), SessionTask::Handle(task), width, height, codec).await
    }

    /// As [`Session::start`] with the session codec, the browser offering
    /// VP8 for regions in motion (a browser with WebCodecs).
    pub async fn start_offering_video(service_runtime: &Runtime, width: u32, height: u32) -> anyhow::Result<Self> {
        let desktop = Desktop::start(service_runtime).await?;
        let (client_end, task) = desktop.pipe(service_runtime);
        let mut browser = Browser::new(Transport::Stream(Box::pin(client_end)));
        browser.offer_video = true;
        Self::open_with(&desktop, browser, SessionTask::Handle(task), width, height, Codec::QoizSession).await
    }

    /// Starts a session of `desktop` over `transport`, whose other end the
    /// service is already serving, and waits as [`Session::start`] does.
    /// One session of a desktop at a time: they share its directory.
    pub async fn open(desktop: &Desktop, transport: Transport, task: SessionTask, width: u32, height: u32, codec: Codec) -> anyhow::Result<Self> {
        Self::open_with(desktop, Browser::new(transport), task, width, height, codec).await
    }

    async fn open_with(desktop: &Desktop, mut browser: Browser, task: SessionTask, width: u32, height: u32, codec: Codec) -> anyhow::Result<Self> {
        // The display file of the desktop's previous session, if any, is stale.
        let _ = std::fs::remove_file(desktop.dir.path().join("display"));
        let session_id = browser.hello(width, height, codec).await?.session_id;
        let display = wait_display(desktop.dir.path(), &mut browser).await?;
        let xvfb_pid = cpu::find_descendant("Xvfb").context("cannot find the session's Xvfb process")?;
        let terminal = wait_window(&mut browser, &display, TERMINAL).await?;
        browser.wait_quiet(Duration::from_millis(500), Duration::from_secs(30)).await?;
        Ok(Self { browser, session_id, display, xvfb_pid, terminal, beside_teleport_style: false, task, _desktop: desktop.clone() })
    }

    /// A session of the Windows `desktop` whose host shows `display` (an
    /// Xvfb the bench started, `xvfb_pid`, with the bench's xsession on it).
    pub async fn start_rdp(service_runtime: &Runtime, desktop: &Desktop, display: Display, xvfb_pid: i32, codec: Codec) -> anyhow::Result<Self> {
        let (client_end, task) = desktop.pipe(service_runtime);
        let mut browser = Browser::new(Transport::Stream(Box::pin(client_end)));
        let hello = browser.hello(1920, 1080, codec).await?;
        let terminal = wait_window(&mut browser, &display, TERMINAL).await?;
        browser.wait_quiet(Duration::from_millis(500), Duration::from_secs(30)).await?;
        let task = SessionTask::Handle(task);
        Ok(Self { browser, session_id: hello.session_id, display, xvfb_pid, terminal, beside_teleport_style: false, task, _desktop: desktop.clone() })
    }

    /// [`Session::start_rdp`] for a host whose display is known only once
    /// its session runs: the bench's xsession (see [`write_xsession`])
    /// reports it in `dir`; `x_server` finds the host's X server process
    /// once it runs.
    pub async fn start_rdp_reported(
        service_runtime: &Runtime,
        desktop: &Desktop,
        dir: &Path,
        x_server: impl Fn() -> Option<i32>,
        codec: Codec,
    ) -> anyhow::Result<Self> {
        let (client_end, task) = desktop.pipe(service_runtime);
        let mut browser = Browser::new(Transport::Stream(Box::pin(client_end)));
        let hello = browser.hello(1920, 1080, codec).await?;
        let display = wait_display(dir, &mut browser).await?;
        let terminal = wait_window(&mut browser, &display, TERMINAL).await?;
        browser.wait_quiet(Duration::from_millis(500), Duration::from_secs(30)).await?;
        let xvfb_pid = x_server().context("cannot find the host's X server process")?;
        let task = SessionTask::Handle(task);
        Ok(Self { browser, session_id: hello.session_id, display, xvfb_pid, terminal, beside_teleport_style: false, task, _desktop: desktop.clone() })
    }

    /// Ends the session as a closing browser tab would, and waits until the
    /// service has stopped Xvfb and the xsession.
    pub async fn close(self) -> anyhow::Result<()> {
        drop(self.browser);
        let patience = Duration::from_secs(10);
        match self.task {
            SessionTask::Handle(task) => match tokio::time::timeout(patience, task).await {
                Ok(Ok(Ok(_))) => Ok(()),
                Ok(Ok(Err(error))) => Err(anyhow::anyhow!("the session ended with an error: {error}")),
                Ok(Err(join)) => Err(anyhow::anyhow!("the session task failed: {join}")),
                Err(_) => Err(anyhow::anyhow!("the session did not end within 10 s of the client leaving")),
            },
            SessionTask::Agent => {
                let deadline = Instant::now() + patience;
                while Path::new(&format!("/proc/{}", self.xvfb_pid)).exists() {
                    if Instant::now() > deadline {
                        bail!("the session's Xvfb still runs 10 s after the client left");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(())
            }
        }
    }

    /// Clicks into the session's xterm so it has the keyboard focus.
    pub async fn focus_terminal(&mut self) -> anyhow::Result<()> {
        click_into(&mut self.browser, &self.display, &self.terminal).await
    }
}

/// Clicks into the middle of `window` through TDPB, then waits for quiet.
pub async fn click_into(browser: &mut Browser, display: &Display, window: &str) -> anyhow::Result<()> {
    let (x, y, width, height) = display.geometry(window)?;
    browser.mouse_move(x + width / 2, y + height / 2).await?;
    for pressed in [true, false] {
        browser.mouse_button(oriel_tdpb::pb::MouseButtonType::MouseButtonLeft, pressed).await?;
    }
    browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await
}

/// The runtime the service runs on: two workers, as on the 2-core machine,
/// named so their CPU time can be told apart from the bench's own thread.
pub fn service_runtime() -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("oriel-service").enable_all().build()?)
}
