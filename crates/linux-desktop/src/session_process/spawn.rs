//! The daemon's side of a session process: start it with its two sockets
//! in place, hand it the launch, and read what it says.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::{CONTROL_FD, DATA_FD, pb, wire};

/// The program that runs a session: `oriel session` in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionProgram {
    /// The executable.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl SessionProgram {
    /// This very executable with `args` (for `oriel`: `["session"]`).
    pub fn this_executable(args: &[&str]) -> std::io::Result<Self> {
        Ok(Self { path: std::env::current_exe()?, args: args.iter().map(OsString::from).collect() })
    }

    /// `oriel-desktop-session`, the session program this crate builds for
    /// tests and benchmarks, found beside the running executable (or one
    /// level up, from a test binary in `target/*/deps`).
    pub fn built_beside_this_executable() -> Self {
        let exe = std::env::current_exe().unwrap_or_default();
        let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
        let candidates = [dir.join("oriel-desktop-session"), dir.parent().map(|p| p.join("oriel-desktop-session")).unwrap_or_default()];
        let path = candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| candidates[0].clone());
        Self { path, args: Vec::new() }
    }
}

/// A running session process, as the daemon holds it. Dropping it closes
/// both streams, which ends the session: the process cleans up by itself.
#[derive(Debug)]
pub struct SessionProcess {
    /// Events from the process.
    control: tokio::net::UnixStream,
    child: tokio::process::Child,
    events: wire::MessageReader,
}

impl SessionProcess {
    /// Starts `program` with the data stream on fd 3 and the control stream
    /// on fd 4, in a session of its own (a terminal's Ctrl-C reaches the
    /// daemon, whose end then ends it cleanly), and sends it `launch`.
    /// Answers the process and the data stream (TDPB to and from it).
    pub async fn spawn(program: &SessionProgram, launch: &pb::Launch) -> std::io::Result<(Self, tokio::net::UnixStream)> {
        let (data, data_child) = UnixStream::pair()?;
        let (control, control_child) = UnixStream::pair()?;
        let mut command = tokio::process::Command::new(&program.path);
        command.args(&program.args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        // Only what the session process reads of the daemon's environment.
        command.env_clear();
        for name in ["PATH", "ORIEL_LOG", "NO_COLOR", "LANG", "LC_ALL", "LC_CTYPE", "TZ"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let fds = [(data_child.as_raw_fd(), DATA_FD), (control_child.as_raw_fd(), CONTROL_FD)];
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Move both out of the way first: a source could sit on the
                // other's target number.
                let mut moved = [0; 2];
                for (i, (from, _)) in fds.iter().enumerate() {
                    moved[i] = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 10);
                    if moved[i] < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (i, (_, to)) in fds.iter().enumerate() {
                    // dup2 leaves the new number open across exec.
                    if libc::dup2(moved[i], *to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        drop((data_child, control_child));
        let (data, control) = (tokio_stream(data)?, tokio_stream(control)?);
        let mut process = Self { control, child, events: wire::MessageReader::default() };
        process.control.write_all(&wire::encode(launch)).await?;
        Ok((process, data))
    }

    /// The process id, for logs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// The next event, `None` when the process closed its control stream.
    /// Cancel-safe: bytes already read stay buffered.
    pub async fn next_event(&mut self) -> Result<Option<pb::Event>, wire::WireError> {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(event) = self.events.next_message::<pb::Event>()? {
                return Ok(Some(event));
            }
            let n = self.control.read(&mut buf).await?;
            if n == 0 {
                if self.events.buffered() > 0 {
                    return Err(wire::WireError::Truncated);
                }
                return Ok(None);
            }
            self.events.push(&buf[..n]);
        }
    }

    /// Tells the process about its viewers.
    pub async fn command(&mut self, command: pb::command::Command) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.control.write_all(&wire::encode(&pb::Command { command: Some(command) })).await
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }
}

/// A blocking socket as a tokio one (on the runtime of the caller).
pub(crate) fn tokio_stream(stream: UnixStream) -> std::io::Result<tokio::net::UnixStream> {
    stream.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(stream)
}
