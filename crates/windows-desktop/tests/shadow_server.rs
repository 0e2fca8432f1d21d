//! The RDP client against a real RDP server: FreeRDP's shadow server
//! (Debian's freerdp2-shadow-x11) serving a real Xvfb, with TLS and NLA
//! (NTLM against a SAM file). It is the Debian RDP server that needs no
//! root and offers NLA; xrdp (TLS only, root, PAM) comes with the
//! channels the shadow server lacks (docs/windows-facts.md).

use oriel_windows_desktop::{DesktopCredentials, HostTrust, PinnedCertificate, RdpError, RdpTarget, RemoteScreen, ScreenEvent, connect};

mod support;
use support::{PASSWORD, PATIENCE, SCREEN, ShadowServer, USER, free_port, red_window};

/// The screen's pixel at (`x`, `y`) as R, G, B, A (it holds B, G, R, A).
fn pixel(screen: &RemoteScreen, x: usize, y: usize) -> [u8; 4] {
    let (width, _) = screen.size();
    let at = (y * usize::from(width) + x) * 4;
    let [b, g, r, a]: [u8; 4] = screen.pixels()[at..at + 4].try_into().unwrap();
    [r, g, b, a]
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
    assert!(matches!(error, RdpError::SignIn { .. }), "{error}");
    assert!(error.to_string().contains("did not accept the sign-in as \"oriel-test\""), "{error}");
    assert!(!error.to_string().contains("not the password"), "the password is never in an error: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_another_certificate_is_refused() {
    let server = ShadowServer::start();
    let other = ShadowServer::start();
    let target = RdpTarget { trust: HostTrust::Pinned(other.certificate.clone()), ..server.target(PASSWORD) };
    let error = connect(&target).await.unwrap_err();
    assert!(matches!(error, RdpError::Tls(_)), "{error}");
    assert!(error.to_string().contains("not the one configured"), "{error}");
    // A self-signed certificate is not one a CA issued.
    let target = RdpTarget { trust: HostTrust::Authority(vec![other.certificate.0.clone()]), ..server.target(PASSWORD) };
    let error = connect(&target).await.unwrap_err();
    assert!(matches!(error, RdpError::Tls(_)), "{error}");
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
        trust: HostTrust::Pinned(PinnedCertificate(Vec::new())),
        credentials: DesktopCredentials { username: USER.into(), password: PASSWORD.into(), domain: None },
        width: 800,
        height: 600,
        clipboard: false,
        directory_sharing: false,
    };
    let error = connect(&target).await.unwrap_err();
    assert!(matches!(error, RdpError::Connection(_)), "{error}");
    // Nothing listens here any more.
    let closed = RdpTarget { addr: format!("127.0.0.1:{}", free_port()), ..target };
    assert!(matches!(connect(&closed).await.unwrap_err(), RdpError::Unreachable { .. }));
}
