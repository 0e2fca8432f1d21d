//! A real RDP server for the tests: FreeRDP's shadow server (Debian's
//! freerdp2-shadow-x11) on a real Xvfb, on loopback, with TLS and NLA
//! (NTLM against a SAM file).
#![allow(dead_code)]

pub mod browser;
pub mod xrdp;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oriel_windows_desktop::{DesktopCredentials, PinnedCertificate, RdpTarget};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

pub const USER: &str = "oriel-test";
pub const PASSWORD: &str = "a test password";
pub const SCREEN: (u16, u16) = (1024, 768);
pub const PATIENCE: Duration = Duration::from_secs(30);

/// An Xvfb and FreeRDP's shadow server on it, on loopback; both killed when dropped.
pub struct ShadowServer {
    children: Vec<Child>,
    /// The X display it shows.
    pub display: String,
    /// Where it listens, on 127.0.0.1.
    pub port: u16,
    /// Its certificate.
    pub certificate: PinnedCertificate,
    /// The same, PEM.
    pub certificate_pem: String,
    _home: tempfile::TempDir,
}

impl Drop for ShadowServer {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(found, "{program} is missing: install {package} (scripts/install-deps)");
}

impl ShadowServer {
    pub fn start() -> Self {
        require("Xvfb", "xvfb");
        require("freerdp-shadow-cli", "freerdp2-shadow-x11");
        require("winpr-hash", "winpr-utils");
        let home = tempfile::tempdir().unwrap();
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &format!("{}x{}x24", SCREEN.0, SCREEN.1), "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut number = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(xvfb.stdout.take().unwrap()), &mut number).unwrap();
        let display = format!(":{}", number.trim());
        let mut children = vec![xvfb];

        let sam = Command::new("winpr-hash").args(["-u", USER, "-p", PASSWORD, "-f", "sam"]).output().unwrap();
        assert!(sam.status.success(), "winpr-hash failed");
        std::fs::write(home.path().join("sam"), &sam.stdout).unwrap();
        // Tests start servers side by side: a port found free may be taken
        // before this server binds it, and then the server exits; try another.
        let certificate = home.path().join(".config/freerdp/shadow/shadow.crt");
        let mut attempts = 0;
        let port = loop {
            attempts += 1;
            let port = free_port();
            let mut shadow = Command::new("freerdp-shadow-cli")
                .args(["/bind-address:127.0.0.1", &format!("/port:{port}"), "+auth", "/sec:nla"])
                .arg(format!("/sam-file:{}", home.path().join("sam").display()))
                .env("HOME", home.path())
                .env_remove("XDG_CONFIG_HOME")
                .env("DISPLAY", &display)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // The server writes its self-signed certificate, then listens.
            let deadline = Instant::now() + PATIENCE;
            let listening = loop {
                if certificate.is_file() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break true;
                }
                if shadow.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            if listening {
                children.push(shadow);
                break port;
            }
            let _ = shadow.kill();
            let _ = shadow.wait();
            assert!(attempts < 5, "the shadow server did not listen on any of {attempts} ports");
        };
        let certificate_pem = std::fs::read_to_string(&certificate).unwrap();
        let certificate = PinnedCertificate::from_pem(&certificate_pem).expect("a PEM certificate");
        Self { children, display, port, certificate, certificate_pem, _home: home }
    }

    pub fn target(&self, password: &str) -> RdpTarget {
        RdpTarget {
            addr: format!("127.0.0.1:{}", self.port),
            server_name: "127.0.0.1".into(),
            trust: oriel_windows_desktop::HostTrust::Pinned(self.certificate.clone()),
            credentials: DesktopCredentials { username: USER.into(), password: password.into(), domain: None },
            width: SCREEN.0,
            height: SCREEN.1,
            clipboard: true,
            directory_sharing: true,
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Maps a red override-redirect window at (40, 30), 100x80, on `display`.
pub fn red_window(display: &str) -> x11rb::rust_connection::RustConnection {
    let (conn, screen) = x11rb::connect(Some(display)).unwrap();
    let root = &conn.setup().roots[screen];
    let window = conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().background_pixel(0xff0000).override_redirect(1);
    conn.create_window(root.root_depth, window, root.root, 40, 30, 100, 80, 0, xproto::WindowClass::INPUT_OUTPUT, root.root_visual, &aux).unwrap();
    conn.map_window(window).unwrap();
    conn.sync().unwrap();
    conn
}

impl ShadowServer {
    /// Kills the RDP server, leaving its Xvfb: the host drops mid-session.
    pub fn kill_server(&mut self) {
        if let Some(shadow) = self.children.get_mut(1) {
            let _ = shadow.kill();
            let _ = shadow.wait();
        }
    }
}
