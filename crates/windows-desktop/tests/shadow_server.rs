//! The RDP client against a real RDP server: FreeRDP's shadow server
//! (Debian's freerdp2-shadow-x11) serving a real Xvfb, with TLS and NLA
//! (NTLM against a SAM file). It is the Debian RDP server that needs no
//! root and offers NLA; xrdp (TLS only, root, PAM) comes with the
//! channels the shadow server lacks (docs/windows-facts.md).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oriel_windows_desktop::{DesktopCredentials, PinnedCertificate, RdpError, RdpTarget, RemoteScreen, ScreenEvent, connect};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

const USER: &str = "oriel-test";
const PASSWORD: &str = "a test password";
const SCREEN: (u16, u16) = (1024, 768);
const PATIENCE: Duration = Duration::from_secs(30);

/// An Xvfb and FreeRDP's shadow server on it, on loopback; both killed when dropped.
struct ShadowServer {
    children: Vec<Child>,
    display: String,
    port: u16,
    certificate: PinnedCertificate,
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

fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(found, "{program} is missing: install {package} (scripts/install-deps)");
}

impl ShadowServer {
    fn start() -> Self {
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
        let mut server = Self { children, display, port, certificate: PinnedCertificate(Vec::new()), _home: home };
        server.certificate = PinnedCertificate::from_pem(&std::fs::read_to_string(&certificate).unwrap()).expect("a PEM certificate");
        server
    }

    fn target(&self, password: &str) -> RdpTarget {
        RdpTarget {
            addr: format!("127.0.0.1:{}", self.port),
            server_name: "127.0.0.1".into(),
            certificate: self.certificate.clone(),
            credentials: DesktopCredentials { username: USER.into(), password: password.into(), domain: None },
            width: SCREEN.0,
            height: SCREEN.1,
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Maps a red override-redirect window at (40, 30), 100x80, on `display`.
fn red_window(display: &str) -> x11rb::rust_connection::RustConnection {
    let (conn, screen) = x11rb::connect(Some(display)).unwrap();
    let root = &conn.setup().roots[screen];
    let window = conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().background_pixel(0xff0000).override_redirect(1);
    conn.create_window(root.root_depth, window, root.root, 40, 30, 100, 80, 0, xproto::WindowClass::INPUT_OUTPUT, root.root_visual, &aux).unwrap();
    conn.map_window(window).unwrap();
    conn.sync().unwrap();
    conn
}

fn pixel(screen: &RemoteScreen, x: usize, y: usize) -> [u8; 4] {
    let (width, _) = screen.size();
    let at = (y * usize::from(width) + x) * 4;
    screen.pixels()[at..at + 4].try_into().unwrap()
}

/// Follows the screen until `done`, asking once for a repaint: a fresh
/// shadow server may send a first picture that is all black.
async fn until(screen: &mut RemoteScreen, what: &str, done: impl Fn(&RemoteScreen) -> bool) {
    screen.refresh().await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(screen) {
        match tokio::time::timeout_at(deadline, screen.next_event()).await {
            Err(_) => panic!("gave up waiting for {what}"),
            Ok(event) => {
                event.unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_screen_arrives_over_tls_and_nla() {
    let server = ShadowServer::start();
    let _x = red_window(&server.display);
    let mut screen = RemoteScreen::new(connect(&server.target(PASSWORD)).await.unwrap());
    assert_eq!(screen.size(), SCREEN);
    until(&mut screen, "the red window", |s| pixel(s, 40, 30) == [255, 0, 0, 255] && pixel(s, 139, 109) == [255, 0, 0, 255]).await;
    // Around it, Xvfb's black root.
    assert_eq!(pixel(&screen, 39, 30)[..3], [0, 0, 0]);
    assert_eq!(pixel(&screen, 140, 110)[..3], [0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_imposes_its_size_reactivates_the_session_at_that_size() {
    let server = ShadowServer::start();
    let _x = red_window(&server.display);
    let target = RdpTarget { width: 800, height: 600, ..server.target(PASSWORD) };
    let mut screen = RemoteScreen::new(connect(&target).await.unwrap());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while screen.size() != SCREEN {
        let event = tokio::time::timeout_at(deadline, screen.next_event()).await.expect("a reactivation at the host's size").unwrap();
        if let ScreenEvent::Resized { width, height } = event {
            assert_eq!((width, height), SCREEN);
        }
    }
    until(&mut screen, "the red window after the reactivation", |s| pixel(s, 40, 30) == [255, 0, 0, 255]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_with_a_clear_error() {
    let server = ShadowServer::start();
    let error = connect(&server.target("not the password")).await.unwrap_err();
    assert!(matches!(error, RdpError::Connection(_)), "{error}");
    assert!(!error.to_string().contains("not the password"), "the password is never in an error: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_another_certificate_is_refused() {
    let server = ShadowServer::start();
    let other = ShadowServer::start();
    let target = RdpTarget { certificate: other.certificate.clone(), ..server.target(PASSWORD) };
    let error = connect(&target).await.unwrap_err();
    assert!(matches!(error, RdpError::Tls(_)), "{error}");
    assert!(error.to_string().contains("not the one configured"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_is_not_rdp_is_a_clear_error() {
    // It answers the connection request with a line of text and closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    });
    let target = RdpTarget {
        addr: format!("127.0.0.1:{port}"),
        server_name: "127.0.0.1".into(),
        certificate: PinnedCertificate(Vec::new()),
        credentials: DesktopCredentials { username: USER.into(), password: PASSWORD.into(), domain: None },
        width: 800,
        height: 600,
    };
    let error = connect(&target).await.unwrap_err();
    assert!(matches!(error, RdpError::Connection(_)), "{error}");
    // Nothing listens here any more.
    let closed = RdpTarget { addr: format!("127.0.0.1:{}", free_port()), ..target };
    assert!(matches!(connect(&closed).await.unwrap_err(), RdpError::Unreachable { .. }));
}
