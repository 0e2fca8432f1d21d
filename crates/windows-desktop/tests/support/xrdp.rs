//! A real RDP server with the clipboard, drive and display control
//! channels, which the shadow server lacks: Debian's xrdp with xorgxrdp,
//! started privately on loopback by `scripts/xrdp-test-server` (TLS only:
//! xrdp has no NLA; the credentials sign in through autologon).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use super::PATIENCE;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/xrdp-test-server")
}

/// A running xrdp; stopped (every session with it) when dropped.
pub struct XrdpServer {
    /// Where it listens, on 127.0.0.1.
    pub port: u16,
    /// The account sessions sign in as.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The server's certificate, PEM.
    pub certificate_pem: String,
    /// The CA that issued it, PEM.
    pub ca_pem: String,
    /// A CA that did not, PEM.
    pub other_ca_pem: String,
    /// Where a client's shared drives appear on the server.
    pub drives: PathBuf,
    dir: PathBuf,
    /// One server at a time: each start gives the one account a new password.
    _turn: std::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Drop for XrdpServer {
    fn drop(&mut self) {
        // A failed test shows what xrdp said: its logs go with it.
        if std::thread::panicking() {
            for log in ["xrdp.log", "sesman.log", "session/xrdp-chansrv.60.log"] {
                let text = std::fs::read_to_string(self.dir.join(log)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(400).collect();
                eprintln!("--- {log}\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
        }
        let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
    }
}

impl XrdpServer {
    pub fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let output = Command::new(script()).arg("start").stderr(Stdio::inherit()).output().unwrap();
        assert!(output.status.success(), "scripts/xrdp-test-server start failed");
        let text = String::from_utf8(output.stdout).unwrap();
        let var = |name: &str| -> String {
            let prefix = format!("export ORIEL_TEST_XRDP_{name}='");
            let line = text.lines().find_map(|line| line.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name} in {text}"));
            line.trim_end_matches('\'').to_owned()
        };
        let dir = PathBuf::from(var("DIR"));
        Self {
            port: var("PORT").parse().unwrap(),
            user: var("USER"),
            password: var("PASSWORD"),
            certificate_pem: std::fs::read_to_string(var("CERT")).unwrap(),
            ca_pem: std::fs::read_to_string(var("CA")).unwrap(),
            other_ca_pem: std::fs::read_to_string(std::path::Path::new(&var("CA")).with_file_name("other-ca.crt")).unwrap(),
            drives: PathBuf::from(var("DRIVES")),
            dir,
            _turn: turn,
        }
    }

    /// Runs `args` as the session's user, on its display once it has one,
    /// where its shared drives are mounted; `input` is its stdin.
    pub fn as_user(&self, args: &[&str], input: Option<&str>) -> Output {
        self.runner()(args, input)
    }

    /// [`XrdpServer::as_user`] as a function of its own, for another thread.
    pub fn runner(&self) -> impl Fn(&[&str], Option<&str>) -> Output + Send + 'static {
        let dir = self.dir.clone();
        move |args, input| as_user(&dir, args, input)
    }

    /// A connection to the session's X server (its socket is in /tmp,
    /// outside the server's mount namespace): the session's user lets
    /// root's connections in by their user, so no cookie is needed.
    pub fn x_connection(&self) -> x11rb::rust_connection::RustConnection {
        let env = std::fs::read_to_string(self.dir.join("session/env")).unwrap();
        let display = env.lines().find_map(|line| line.strip_prefix("DISPLAY=")).unwrap_or_else(|| panic!("no DISPLAY in {env}")).to_owned();
        let allowed = self.as_user(&["xhost", "+si:localuser:root"], None);
        assert!(allowed.status.success(), "xhost: {}", String::from_utf8_lossy(&allowed.stderr));
        x11rb::connect(Some(&display)).unwrap().0
    }

    /// Waits until a session runs (it says where its display is).
    pub fn wait_for_session(&self) {
        let deadline = Instant::now() + PATIENCE;
        while !self.dir.join("session/env").is_file() {
            assert!(Instant::now() < deadline, "no xrdp session started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn as_user(dir: &std::path::Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = Command::new(script())
        .arg("as-user")
        .args(args)
        .env("ORIEL_TEST_XRDP_DIR", dir)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}
