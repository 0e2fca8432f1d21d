//! Starting and stopping the virtual X server of one session.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::ipc_namespace::PrivateIpc;
use crate::x11::framebuffer::SharedFramebuffer;
use crate::xauthority::Cookie;

/// The largest side X allows. Xvfb cannot grow its screen after start, so
/// it starts at the host's cap (`MaxScreen`, at most this) and RANDR shrinks
/// it to what the client shows.
pub const MAX_SIDE: u16 = 8192;

/// Why Xvfb did not come up.
#[derive(Debug, thiserror::Error)]
pub enum XvfbError {
    /// The binary is missing or could not be started.
    #[error("cannot start {program} (is the {package} package installed?): {source}")]
    Spawn {
        /// The X server's program.
        program: &'static str,
        /// Its Debian package.
        package: &'static str,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// Xvfb exited before it reported a display number.
    #[error("Xvfb exited before it was ready: {0}")]
    NotReady(String),
    /// Files for the session could not be written.
    #[error("cannot prepare the X session files: {0}")]
    Files(#[source] std::io::Error),
}

/// How long to wait for Xvfb's line naming its shared framebuffer, which
/// it writes before it reports its display.
const SHMID_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long Xvfb gets to remove its socket and lock file after SIGTERM.
const TERM_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Extensions a desktop session does without, each turned off at start.
/// Fewer extensions, less X server code a session's own clients can reach.
/// What stays: the core protocol plus what the service uses (MIT-SHM,
/// DAMAGE, XFIXES, RANDR, XTEST, XKEYBOARD) and what toolkits and window
/// managers need (RENDER, SHAPE, SYNC, Present, Composite, XInputExtension,
/// BIG-REQUESTS, Generic Event, MIT-SCREEN-SAVER for idle detection).
/// Composite stays: with it off among the others, Xfce's window manager
/// kept Xvfb busy at a third of a core on an idle desktop (BENCHMARKS.md). XC-MISC, RANDR's
/// Xinerama emulation and RECORD cannot be switched off on their own in
/// Xorg's servers: RECORD shares one switch with XTEST, which input needs.
/// See docs/session-process.md for the list and the reasons.
pub const DISABLED_EXTENSIONS: [&str; 8] = [
    // OpenGL over the X protocol: no GPU here, and Mesa's indirect path is
    // a large attack surface. Desktops fall back to plain rendering.
    "GLX",
    // Video overlays: nothing to overlay on a framebuffer in memory.
    "XVideo",
    "XVideo-MotionCompensation",
    // For untrusted ssh -X clients; a session has none.
    "SECURITY",
    // Lists every client's resource use: nothing a session needs.
    "X-Resource",
    // Double buffering for old toolkits; modern ones draw offscreen.
    "DOUBLE-BUFFER",
    // Multi-head: one screen only.
    "XINERAMA",
    // Display power management: a virtual screen has no power to save.
    "DPMS",
];

/// The program that is a session's virtual X server. Both are Xorg's
/// servers with the same options, extensions and cookie; they differ in
/// how they hold the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum XServer {
    /// Xvfb (package xvfb): the framebuffer is allocated whole at the
    /// largest screen when it starts, and stays resident (RANDR only shrinks
    /// what shows).
    #[default]
    Xvfb,
    /// TigerVNC's Xvnc (package tigervnc-standalone-server), used only as a
    /// virtual X server (no VNC port, no VNC socket): the framebuffer is
    /// allocated at the screen's size and again at each RANDR resize, so a
    /// session pays for the screen it shows (BENCHMARKS.md, idle-sessions).
    Xvnc,
}

impl XServer {
    /// The name in `oriel.yaml` and in the session process's launch.
    pub fn name(self) -> &'static str {
        match self {
            Self::Xvfb => "xvfb",
            Self::Xvnc => "xvnc",
        }
    }

    /// The server named `name` (as [`name`](Self::name) gives; "" is Xvfb).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "" | "xvfb" => Some(Self::Xvfb),
            "xvnc" => Some(Self::Xvnc),
            _ => None,
        }
    }

    fn program(self) -> &'static str {
        match self {
            Self::Xvfb => "Xvfb",
            Self::Xvnc => "Xvnc",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Self::Xvfb => "xvfb",
            Self::Xvnc => "tigervnc-standalone-server",
        }
    }
}

/// What Xvnc adds to Xvfb's options: no VNC listener on any port or
/// socket, no VNC authentication to configure (nothing connects), and
/// none of its settings open to change by X clients through its
/// VNC-EXTENSION (which `-extension` cannot switch off: Xvnc registers it
/// itself; `AllowOverride` empty leaves it nothing to change).
const XVNC_ONLY: [&str; 5] = ["-rfbport", "-1", "-SecurityTypes", "None", "-AllowOverride="];

/// A running Xvfb, stopped when dropped.
#[derive(Debug)]
pub struct Xvfb {
    child: Option<Child>,
    display: u32,
    xauthority: PathBuf,
    cookie: Cookie,
    session_dir: PathBuf,
    framebuffer: Option<SharedFramebuffer>,
}

impl Xvfb {
    /// Starts Xvfb on display `display` (or a free one it picks, when
    /// `None`), listening on its unix socket only, guarded by a fresh
    /// cookie written to `session_dir/Xauthority`. Blocks until the server
    /// accepts clients. `session_dir` is the caller's: it must be a
    /// directory only the session's login may read.
    /// Xvfb's screen is `max` (RANDR only shrinks it later); Xvnc's is
    /// `size` (RANDR grows or shrinks it, reallocating).
    ///
    /// In a `private_ipc` namespace, Xvfb keeps its framebuffer in shared
    /// memory (`-shmem`) that the capture reads in place
    /// ([`shared_framebuffer`](Self::shared_framebuffer)). Never without one:
    /// Xvfb makes the segment readable by every account of its namespace.
    pub fn start(
        session_dir: &Path,
        display: Option<u32>,
        max: crate::x11::screen::MaxScreen,
        size: crate::x11::screen::ScreenSize,
        server: XServer,
        private_ipc: Option<&PrivateIpc>,
    ) -> Result<Self, XvfbError> {
        let spawn_error = |source: std::io::Error| XvfbError::Spawn { program: server.program(), package: server.package(), source };
        let cookie = Cookie::random().map_err(XvfbError::Files)?;
        let xauthority = session_dir.join("Xauthority");
        cookie.write_xauthority(&xauthority).map_err(XvfbError::Files)?;

        // Xvfb writes its display number to this pipe once it accepts clients.
        let (read_end, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| spawn_error(e.into()))?;
        let write_fd = write_end.as_raw_fd();
        let mut command = Command::new(server.program());
        if let Some(display) = display {
            command.arg(format!(":{display}"));
        }
        command.args(["-displayfd", &write_fd.to_string()]);
        match server {
            // No cursor drawn into the framebuffer: the browser shows the
            // pointer's shape itself (XFIXES tells it), and a framebuffer
            // read in place would otherwise hold the cursor's sprite.
            XServer::Xvfb => command.args(["-screen", "0", &format!("{}x{}x24", max.width, max.height), "-nocursor"]),
            XServer::Xvnc => command.args(["-geometry", &format!("{}x{}", size.width, size.height), "-depth", "24"]).args(XVNC_ONLY),
        };
        command
            // No -nolock: the lock file is what keeps two sessions from taking
            // the same display number (without it Xvfb unlinks and reuses a
            // live display's socket).
            // The socket in /tmp/.X11-unix only: no TCP, and no abstract
            // socket, which any process of the network namespace could reach.
            .args(["-nolisten", "tcp", "-nolisten", "local", "-dpi", "96", "-s", "0", "-dpms"])
            .args(DISABLED_EXTENSIONS.iter().flat_map(|name| ["-extension", name]))
            .arg("-auth")
            .arg(&xauthority)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let shared = server == XServer::Xvfb && private_ipc.is_some();
        if shared {
            command.arg("-shmem");
        }
        let namespace = private_ipc.map(PrivateIpc::id);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // The shared framebuffer is made with mode 0777: never in a
                // namespace other than the session's own. (EXDEV, "cross-device",
                // is the errno closest to "another namespace".)
                if namespace.is_some_and(|id| !id.is_current()) {
                    return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
                }
                // Xvfb must not outlive Oriel, even if Oriel is killed.
                rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
                let fd = std::os::fd::BorrowedFd::borrow_raw(write_fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
                Ok(())
            });
        }
        let mut child = crate::launcher::spawn(command).map_err(spawn_error)?;
        drop(write_end);

        match read_display(read_end) {
            Ok(display) => {
                let (shmid_tx, shmid_rx) = std::sync::mpsc::sync_channel(1);
                // Keep draining Xvfb's messages: a full pipe would stall the server.
                if let Some(stderr) = child.stderr.take() {
                    let _ = std::thread::Builder::new().name("xvfb-log".into()).spawn(move || log_lines(stderr, display, shmid_tx));
                }
                // Xvfb names the segment before it reports the display, so
                // the line is already in the pipe.
                let framebuffer =
                    shared.then(|| shmid_rx.recv_timeout(SHMID_WAIT).ok()).flatten().map(|shmid| SharedFramebuffer { shmid, server_pid: child.id() });
                if shared && framebuffer.is_none() {
                    let number = display;
                    tracing::warn!(x_display = number, "Xvfb did not name its shared framebuffer; capturing with GetImage");
                }
                Ok(Self { child: Some(child), display, xauthority, cookie, session_dir: session_dir.to_owned(), framebuffer })
            }
            Err(reason) => {
                let _ = child.kill();
                let _ = child.wait();
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_owned();
                Err(XvfbError::NotReady(if last.is_empty() { reason } else { format!("{reason}: {last}") }))
            }
        }
    }

    /// The display number, as in `:N`.
    pub fn display(&self) -> u32 {
        self.display
    }

    /// The value for `DISPLAY`.
    pub fn display_name(&self) -> String {
        format!(":{}", self.display)
    }

    /// The unix socket clients connect to.
    pub fn socket_path(&self) -> PathBuf {
        PathBuf::from(format!("/tmp/.X11-unix/X{}", self.display))
    }

    /// The Xauthority file for the session's clients.
    pub fn xauthority(&self) -> &Path {
        &self.xauthority
    }

    /// The session's own directory (0700, the login's): its runtime dir.
    pub fn session_dir(&self) -> &Path {
        &self.session_dir
    }

    /// The cookie clients present.
    pub fn cookie(&self) -> &Cookie {
        &self.cookie
    }

    /// The framebuffer Xvfb keeps in shared memory, when it was started
    /// with a private IPC namespace.
    pub fn shared_framebuffer(&self) -> Option<SharedFramebuffer> {
        self.framebuffer
    }
}

impl Drop for Xvfb {
    /// SIGTERM first, so Xvfb removes its socket and lock file; SIGKILL if it
    /// lingers. On a thread of its own: drop may run on the async runtime.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) else {
            return;
        };
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + TERM_GRACE;
            while std::time::Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        });
    }
}

/// Logs Xvfb's messages, handing over the shared framebuffer's id when
/// Xvfb reports it ("screen 0 shmid N").
fn log_lines(stderr: std::process::ChildStderr, number: u32, shmid: std::sync::mpsc::SyncSender<i32>) {
    use std::io::BufRead as _;
    for line in std::io::BufReader::new(stderr).lines() {
        let Ok(line) = line else { return };
        if let Some(id) = line.strip_prefix("screen 0 shmid ").and_then(|id| id.trim().parse().ok()) {
            let _ = shmid.try_send(id);
        }
        tracing::debug!(target: "xvfb", display = number, "{line}");
    }
}

fn read_display(read_end: OwnedFd) -> Result<u32, String> {
    let mut pipe = std::fs::File::from(read_end);
    let mut text = String::new();
    let mut byte = [0u8; 1];
    loop {
        match pipe.read(&mut byte) {
            Ok(0) => return Err("no display number reported".into()),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => text.push(byte[0] as char),
            Err(e) => return Err(e.to_string()),
        }
        if text.len() > 10 {
            return Err("garbled display number".into());
        }
    }
    text.trim().parse().map_err(|_| format!("garbled display number {text:?}"))
}
