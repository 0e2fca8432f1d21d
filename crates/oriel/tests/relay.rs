//! The `oriel` binary end to end without a browser: real TLS, the websocket
//! relay, the in-process desktop service, a real Xvfb. Bad input from one
//! browser ends that session only.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use oriel_tdpb::pb::{self, AlertSeverity, Codec};
use oriel_tdpb::{Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const PATIENCE: Duration = Duration::from_secs(30);

struct Oriel {
    child: Child,
    addr: SocketAddr,
    invite: String,
    dir: tempfile::TempDir,
    tls: TlsConnector,
}

impl Drop for Oriel {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- oriel's log ---\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Oriel {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path().join("web");
        let xsessions = dir.path().join("xsessions");
        std::fs::create_dir_all(&web).unwrap();
        std::fs::create_dir_all(&xsessions).unwrap();
        std::fs::write(web.join("index.html"), "<!doctype html><title>Oriel test page</title>").unwrap();
        std::fs::write(xsessions.join("probe.desktop"), "[Desktop Entry]\nName=Probe\nExec=sleep 3600\n").unwrap();
        let log = std::fs::File::create(dir.path().join("oriel.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_oriel"))
            .args(["start", "--listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--web-dir")
            .arg(&web)
            .arg("--xsessions-dir")
            .arg(&xsessions)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map(|l| l.unwrap());
        let ready = lines.find(|l| l.starts_with("Oriel is ready at https://")).expect("oriel printed its URL");
        let addr = ready.trim_start_matches("Oriel is ready at https://").split('/').next().unwrap().parse().unwrap();
        let invite_line = lines.find(|l| l.contains("/web/invite/")).expect("the first start prints an invite link");
        let invite = invite_line.rsplit('/').next().unwrap().to_owned();
        let cert = std::fs::read(dir.path().join("data/tls/cert.pem")).unwrap();
        Self { child, addr, invite, tls: connector(&cert), dir }
    }

    async fn tls_stream(&self) -> TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::IpAddress(self.addr.ip().into());
        self.tls.connect(name, tcp).await.expect("TLS handshake with the certificate oriel made")
    }

    async fn socket(&self, cookie: &str, desktop: &str, login: &str) -> Result<Socket, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let url = format!("wss://{}/api/desktop/ws?kind=linux&desktop={desktop}&login={login}", self.addr);
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("cookie", format!("oriel_session={cookie}").parse().unwrap());
        tokio_tungstenite::client_async(request, self.tls_stream().await).await.map(|(ws, _)| ws).map_err(|e| e.to_string())
    }

    /// One HTTP/1.1 request; the raw response.
    async fn http(&self, method: &str, path: &str, cookie: Option<&str>, body: Option<serde_json::Value>) -> String {
        let mut stream = self.tls_stream().await;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let cookie = cookie.map(|c| format!("Cookie: oriel_session={c}\r\n")).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{cookie}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response).await;
        response
    }

    async fn get(&self, path: &str) -> String {
        self.http("GET", path, None, None).await
    }

    /// Accepts the first start's invite as a person would (the code computed
    /// like an authenticator app) and returns the session cookie.
    async fn enroll(&self) -> String {
        let page = self.http("GET", &format!("/api/invite/{}", self.invite), None, None).await;
        let json: serde_json::Value = serde_json::from_str(page.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let device = oriel_auth::second_factor::TotpDevice::from_base32(json["totp_secret"].as_str().unwrap()).unwrap();
        let code = device.code_at(now).unwrap();
        let body = serde_json::json!({ "password": "a good long password", "totp_code": code });
        let response = self.http("POST", &format!("/api/invite/{}", self.invite), None, Some(body)).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let cookie = response.lines().find_map(|l| l.strip_prefix("set-cookie: oriel_session=")).expect("a session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"), "{cookie}");
        cookie.split(';').next().unwrap().to_owned()
    }

    /// The one desktop this host registers, and the login the admin may use.
    async fn desktop(&self, cookie: &str) -> (String, String) {
        let response = self.http("GET", "/api/desktops", Some(cookie), None).await;
        let json: serde_json::Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let desktop = &json["desktops"][0];
        (desktop["name"].as_str().unwrap().to_owned(), desktop["logins"][0].as_str().unwrap().to_owned())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("oriel.log")).unwrap()
    }
}

/// Trusts exactly the certificate oriel made for itself.
fn connector(cert_pem: &[u8]) -> TlsConnector {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

type Socket = WebSocketStream<TlsStream<tokio::net::TcpStream>>;

fn hello() -> Message {
    Message::Binary(
        encode_frame(Payload::ClientHello(pb::ClientHello {
            screen_spec: Some(pb::ClientScreenSpec { width: 320, height: 200, scale: 100 }),
            protocol_version: 1,
            codecs: vec![Codec::Qoiz as i32],
            ..Default::default()
        }))
        .into(),
    )
}

/// Messages until one matches; the socket closing first is a failure.
async fn until(socket: &mut Socket, what: &str, mut matches: impl FnMut(&Payload) -> bool) -> Payload {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let message = tokio::time::timeout_at(deadline.into(), socket.next()).await.unwrap_or_else(|_| panic!("no {what}"));
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                if let Some(payload) = decode_frame(&bytes, Limits::FROM_SERVER).unwrap()
                    && matches(&payload)
                {
                    return payload;
                }
            }
            Some(Ok(Message::Close(_))) | None => panic!("the session closed before {what}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("socket error before {what}: {error}"),
        }
    }
}

/// Reads to the end of the session and returns the ERROR alert it ended with.
async fn final_alert(socket: &mut Socket) -> String {
    let mut alert = None;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(PATIENCE, socket.next()).await {
        if let Message::Binary(bytes) = message
            && let Ok(Some(Payload::Alert(a))) = decode_frame(&bytes, Limits::FROM_SERVER)
        {
            assert_eq!(a.severity, AlertSeverity::Error as i32);
            alert = Some(a.message);
        }
    }
    alert.expect("an ERROR alert before the socket closed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_only_its_own_session() {
    let oriel = Oriel::start();
    let cookie = oriel.enroll().await;
    let (desktop, login) = oriel.desktop(&cookie).await;

    let refused = oriel.socket("forged", &desktop, &login).await.unwrap_err();
    assert!(refused.contains("401"), "{refused}");

    // A healthy session first.
    let mut good = oriel.socket(&cookie, &desktop, &login).await.unwrap();
    good.send(hello()).await.unwrap();
    until(&mut good, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
    until(&mut good, "a first frame", |p| matches!(p, Payload::FrameRect(_))).await;

    let oversized = {
        let mut frame = (3u32 << 20).to_be_bytes().to_vec();
        frame.extend_from_slice(&[0; 16]);
        frame
    };
    let cases: [(&str, Message, &str); 4] = [
        ("oversized", Message::Binary(oversized.into()), "malformed frame from the browser: frame of 3145728 bytes exceeds the limit of 2097152 bytes"),
        ("truncated", Message::Binary(vec![0, 0, 0, 10, 0x3a, 0x04].into()), "malformed frame from the browser: frame truncated: header says 10 bytes, 2 present"),
        ("text", Message::Text("hello".into()), "malformed frame from the browser: text message; TDPB frames are binary"),
        ("garbage envelope", Message::Binary(vec![0, 0, 0, 2, 0x3a, 0x09].into()), "malformed message from the client: malformed envelope"),
    ];
    for (case, message, expected) in cases {
        let mut bad = oriel.socket(&cookie, &desktop, &login).await.unwrap();
        bad.send(hello()).await.unwrap();
        until(&mut bad, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
        bad.send(message).await.unwrap();
        let alert = final_alert(&mut bad).await;
        assert!(alert.starts_with(expected), "{case}: {alert}");
    }

    // The healthy session still answers.
    good.send(Message::Binary(encode_frame(Payload::Ping(pb::Ping { id: vec![9; 16] })).into())).await.unwrap();
    until(&mut good, "the ping's answer", |p| matches!(p, Payload::Ping(ping) if ping.id == [9; 16])).await;

    let log = oriel.log();
    assert!(log.contains("malformed frame from the browser; ending the session"), "{log}");
    assert!(!log.contains(&oriel.invite) && !log.contains(&cookie), "secrets never reach the log");
    assert!(!log.contains("PRIVATE KEY"), "nor do the CA's or the user certificate's keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_the_roles_do_not_allow_are_refused_with_the_reason() {
    let oriel = Oriel::start();
    assert!(oriel.http("GET", "/api/me", Some("forged"), None).await.starts_with("HTTP/1.1 401"));
    let wrong = serde_json::json!({ "user": "admin", "password": "wrong password here", "totp_code": "123456" });
    let response = oriel.http("POST", "/api/login", None, Some(wrong)).await;
    assert!(response.starts_with("HTTP/1.1 401") && response.contains("wrong user name, password or code"), "{response}");
    let cookie = oriel.enroll().await;
    assert!(oriel.http("GET", "/api/me", Some(&cookie), None).await.contains("\"user\":\"admin\""));
    let (desktop, _login) = oriel.desktop(&cookie).await;
    let mut socket = oriel.socket(&cookie, &desktop, "nobody").await.unwrap();
    socket.send(hello()).await.unwrap();
    let alert = final_alert(&mut socket).await;
    assert!(alert.starts_with("access denied: no role allows login \"nobody\""), "{alert}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_is_served_over_tls_at_every_route() {
    let oriel = Oriel::start();
    for path in ["/", "/web/cluster/main/linux_desktops/some-uuid/alice"] {
        let response = oriel.get(path).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
        assert!(response.contains("Oriel test page"), "{path}");
        assert!(response.to_ascii_lowercase().contains("x-content-type-options: nosniff"));
    }
    assert!(Path::new(&oriel.dir.path().join("data/tls/key.pem")).exists());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(oriel.dir.path().join("data/tls/key.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the TLS key is private");
}
