//! X clients the benchmarks start on a session's display (xterms, openbox,
//! xdotool), and making sure none outlives the bench.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The programs the benchmarks drive, with the Debian package of each.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("Xvfb", "xvfb"),
    ("xterm", "xterm"),
    ("openbox", "openbox"),
    ("xdotool", "xdotool"),
    ("xwininfo", "x11-utils"),
    ("xprop", "x11-utils"),
    ("xsetroot", "x11-xserver-utils"),
    ("xclock", "x11-apps"),
];

/// Fails with a readable message when a program the benchmarks need is missing.
pub fn require() -> anyhow::Result<()> {
    let path = std::env::var_os("PATH").context("PATH is not set")?;
    let missing: Vec<String> = PROGRAMS
        .iter()
        .filter(|(program, _)| !std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .map(|(program, package)| format!("{program} (apt-get install {package})"))
        .collect();
    if !missing.is_empty() {
        bail!("missing programs: {}", missing.join(", "));
    }
    Ok(())
}

/// How long an X client gets to show its window on a loaded machine.
pub const WINDOW_PATIENCE: Duration = Duration::from_secs(20);

/// How to reach a display as an X client.
#[derive(Debug, Clone)]
pub struct Display {
    /// `:N`.
    pub name: String,
    pub xauthority: PathBuf,
}

impl Display {
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.args(args).env("DISPLAY", &self.name).env("XAUTHORITY", &self.xauthority).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
        command
    }

    /// Runs a short-lived client to completion and returns its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<String> {
        let output = self.command(program, args).output().with_context(|| format!("cannot run {program}"))?;
        if !output.status.success() {
            bail!("{program} {} failed: {}", args.join(" "), output.status);
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The id of a visible window whose instance name (`xterm -name`) is
    /// exactly `name`. Not the title: shells rewrite titles.
    pub fn find_window(&self, name: &str) -> Option<String> {
        let found = self.run("xdotool", &["search", "--onlyvisible", "--classname", &format!("^{name}$")]).ok()?;
        found.lines().next().map(|id| id.trim().to_owned())
    }

    /// Waits (blocking) until [`Display::find_window`] finds `name`.
    pub fn wait_window(&self, name: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + WINDOW_PATIENCE;
        loop {
            if let Some(id) = self.find_window(name) {
                return Ok(id);
            }
            if Instant::now() > deadline {
                bail!("window {name:?} never appeared");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until a window manager has announced itself (EWMH).
    pub fn wait_window_manager(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + WINDOW_PATIENCE;
        while !self.run("xprop", &["-root", "_NET_SUPPORTING_WM_CHECK"]).is_ok_and(|out| out.contains("window id")) {
            if Instant::now() > deadline {
                bail!("the window manager never started on {}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// A window's client area (x, y, width, height) in screen coordinates.
    /// From xwininfo: `xdotool getwindowgeometry` counts the frame offset
    /// twice for windows a window manager has reparented.
    pub fn geometry(&self, window: &str) -> anyhow::Result<(i32, i32, i32, i32)> {
        let text = self.run("xwininfo", &["-id", window])?;
        let value = |key: &str| -> anyhow::Result<i32> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix(':'))
                .with_context(|| format!("xwininfo printed no {key:?}"))?
                .trim()
                .parse()
                .context("xwininfo printed a bad number")
        };
        Ok((value("Absolute upper-left X")?, value("Absolute upper-left Y")?, value("Width")?, value("Height")?))
    }
}

/// Long-running X clients, each in a process group of its own. Dropping
/// this stops them all; they also die with the bench (parent-death signal).
#[derive(Default)]
pub struct Clients {
    children: Vec<Child>,
}

impl Clients {
    pub fn spawn(&mut self, display: &Display, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut command = display.command(program, args);
        command.stdout(Stdio::null()).process_group(0);
        dies_with_bench(&mut command);
        let child = command.spawn().with_context(|| format!("cannot start {program}"))?;
        self.children.push(child);
        Ok(())
    }

    /// Fails if a client has already exited (a bad font, a missing display).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for child in &mut self.children {
            if let Some(status) = child.try_wait()? {
                bail!("an X client (pid {}) exited early: {status}", child.id());
            }
        }
        Ok(())
    }

    /// Stops every client and waits for it.
    pub fn stop(&mut self) {
        for child in &self.children {
            signal_group(child.id(), libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for mut child in self.children.drain(..) {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            signal_group(child.id(), libc::SIGKILL);
            let _ = child.wait();
        }
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The child `command` starts gets SIGTERM if the bench dies first
/// (parent-death signal), so no child outlives a killed bench.
pub fn dies_with_bench(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn signal_group(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(-(pid as i32), signal);
    }
}

/// The xterm options every benchmark uses: an antialiased TrueType font,
/// as a desktop user would have.
pub fn xterm_args<'a>(title: &'a str, geometry: &'a str, colours: (&'a str, &'a str)) -> Vec<&'a str> {
    vec!["-title", title, "-geometry", geometry, "-fa", "DejaVu Sans Mono", "-fs", "10", "-bg", colours.0, "-fg", colours.1, "+sb", "+bc", "-name", title]
}
