//! What the end-to-end tests share: `oriel` processes that die with the
//! test (and show their log when it fails), and a client of the web proxy
//! that speaks HTTPS and the desktop websocket as the browser does.

// Each test binary uses a part of this.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use oriel_tdpb::pb::{self, AlertSeverity, Codec};
use oriel_tdpb::{Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long anything may take before the test gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How long a process stopped with SIGTERM may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A child process stopped when dropped; if the test is failing, its log
/// (its stderr, kept in a file) is printed first.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    stdout: mpsc::Receiver<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {}'s log ---\n{}", self.name, self.log());
        }
        // SIGTERM first, as a supervisor stops a service: Oriel then ends
        // its sessions, and a session's processes that are not X clients
        // (which die with Xvfb anyway) do not outlive the test.
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
            let deadline = Instant::now() + STOP_GRACE;
            while let Ok(None) = self.child.try_wait()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `command` with its stderr in the file `log`. A thread reads
    /// its stdout, so the process never blocks on a full pipe.
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> Self {
        let stderr = std::fs::File::create(log).unwrap();
        let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let (lines, stdout) = mpsc::channel();
        let reader = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Self { name: name.to_owned(), child, log: log.to_owned(), stdout }
    }

    /// The next line on stdout that `matches`, skipping others.
    pub fn line(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        self.line_within(what, PATIENCE, matches).unwrap_or_else(|| panic!("{} printed no {what} within {PATIENCE:?}", self.name))
    }

    /// As [`Self::line`], waiting `patience` at most; `None` if none came.
    pub fn line_within(&self, what: &str, patience: Duration, matches: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + patience;
        loop {
            match self.stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if matches(&line) => return Some(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("{} closed its stdout (exited?) before printing {what}", self.name),
            }
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills it with SIGKILL, as a crash or a power cut would.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for it to exit by itself.
    pub fn exit_status(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "{} is still running after {PATIENCE:?}", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// One `oriel start` with every service in its process, on free ports, with
/// a probe xsession.
pub struct AllInOne {
    // Dropped first: the process dies, and shows its log, while `dir` exists.
    pub process: Process,
    pub web: Web,
    /// The first user's invite secret.
    pub invite: String,
    pub dir: tempfile::TempDir,
}

impl AllInOne {
    /// Starts it and waits for its URL and first invite.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// As [`AllInOne::start`], after `configure` has seen the command.
    pub fn start_with(configure: impl FnOnce(&mut Command)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = start_command(dir.path());
        configure(&mut command);
        let process = Process::spawn("oriel", &mut command, &dir.path().join("oriel.log"));
        let ready = process.line("its URL", |l| l.starts_with("Oriel is ready at https://"));
        let addr = ready.trim_start_matches("Oriel is ready at https://").split('/').next().unwrap().parse().unwrap();
        let invite_line = process.line("an invite link (the first start prints one)", |l| l.contains("/web/invite/"));
        let invite = invite_line.rsplit('/').next().unwrap().to_owned();
        let web = Web::new(addr, &dir.path().join("data"));
        Self { process, web, invite, dir }
    }

    /// The one desktop this host registers, and the login the admin may use.
    pub async fn desktop(&self, cookie: &str) -> (String, String) {
        let desktops = self.web.desktops(cookie).await;
        let desktop = desktops.first().expect("this host's desktop is listed");
        (desktop["name"].as_str().unwrap().to_owned(), desktop["logins"][0].as_str().unwrap().to_owned())
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// Every live process below `root` (not `root` itself), from /proc.
pub fn descendants(root: u32) -> Vec<u32> {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let all: Vec<(u32, u32)> =
        std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).filter_map(|pid| Some((pid, parent_of(pid)?))).collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.remove(0);
    found
}

/// Whether `pid` is a process that has not exited (zombies count as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// A directory with an `index.html`, for `--web-dir`.
/// `oriel start` all in one on loopback ports, its data, web files and
/// xsessions under `dir`.
pub fn start_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oriel"));
    command
        .args(["start", "--listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--tunnel-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--web-dir")
        .arg(web_dir(dir))
        .arg("--xsessions-dir")
        .arg(probe_xsessions(dir));
    command
}

pub fn web_dir(parent: &Path) -> PathBuf {
    let web = parent.join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>Oriel test page</title>").unwrap();
    web
}

/// A directory offering one xsession that starts quickly and draws nothing,
/// for `--xsessions-dir`.
pub fn probe_xsessions(parent: &Path) -> PathBuf {
    let xsessions = parent.join("xsessions");
    std::fs::create_dir_all(&xsessions).unwrap();
    std::fs::write(xsessions.join("probe.desktop"), "[Desktop Entry]\nName=Probe\nExec=sleep 3600\n").unwrap();
    xsessions
}

/// The proxy's HTTPS endpoint, as a browser that trusts the proxy's
/// self-signed certificate reaches it.
pub struct Web {
    pub addr: SocketAddr,
    tls: TlsConnector,
}

impl Web {
    /// The proxy at `addr`, trusting the certificate in `data_dir/tls/cert.pem`.
    pub fn new(addr: SocketAddr, data_dir: &Path) -> Self {
        let cert = std::fs::read(data_dir.join("tls/cert.pem")).unwrap();
        Self { addr, tls: connector(&cert) }
    }

    /// The TLS client that trusts this proxy.
    pub fn tls(&self) -> &TlsConnector {
        &self.tls
    }

    pub async fn tls_stream(&self) -> TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::IpAddress(self.addr.ip().into());
        self.tls.connect(name, tcp).await.expect("TLS handshake with the certificate oriel made")
    }

    /// A TLS connection from the client address `from` (any 127.x.y.z
    /// reaches a loopback listener, so tests can play several clients).
    pub async fn tls_stream_from(&self, from: std::net::IpAddr) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
        let tcp = connect_from(from, self.addr).await?;
        let name = rustls::pki_types::ServerName::IpAddress(self.addr.ip().into());
        self.tls.connect(name, tcp).await
    }

    /// The desktop websocket, opened as the web client served by this proxy opens it.
    pub async fn socket(&self, cookie: &str, desktop: &str, login: &str) -> Result<Socket, String> {
        self.socket_from_origin(cookie, desktop, login, Some(&self.origin())).await
    }

    /// This proxy's origin, as its pages have it.
    pub fn origin(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The desktop websocket, opened by a page of `origin` (`None`: no Origin header).
    pub async fn socket_from_origin(&self, cookie: &str, desktop: &str, login: &str, origin: Option<&str>) -> Result<Socket, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let url = format!("wss://{}/api/desktop/ws?kind=linux&desktop={desktop}&login={login}", self.addr);
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("cookie", format!("{COOKIE}={cookie}").parse().unwrap());
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().unwrap());
        }
        tokio_tungstenite::client_async(request, self.tls_stream().await).await.map(|(ws, _)| ws).map_err(|e| e.to_string())
    }

    /// One HTTP/1.1 request; the raw response.
    pub async fn http(&self, method: &str, path: &str, cookie: Option<&str>, body: Option<serde_json::Value>) -> String {
        let stream = self.tls_stream().await;
        self.http_over(stream, method, path, cookie, body).await
    }

    /// One HTTP/1.1 request over `stream`; the raw response.
    pub async fn http_over(
        &self,
        mut stream: TlsStream<tokio::net::TcpStream>,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> String {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let cookie = cookie.map(|c| format!("Cookie: {COOKIE}={c}\r\n")).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{cookie}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // TLS may still hold part of it: a read does not send it.
        stream.flush().await.unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response).await;
        response
    }

    pub async fn get(&self, path: &str) -> String {
        self.http("GET", path, None, None).await
    }

    /// Accepts the first start's invite as a person would (the code computed
    /// like an authenticator app) and returns the session cookie.
    pub async fn enroll(&self, invite: &str) -> String {
        self.enroll_device(invite).await.0
    }

    /// As [`Self::enroll`], with the authenticator's device for later logins
    /// (whose password is [`PASSWORD`]).
    pub async fn enroll_device(&self, invite: &str) -> (String, oriel_auth::second_factor::TotpDevice) {
        let page = self.http("GET", &format!("/api/invite/{invite}"), None, None).await;
        let json = body(&page);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let device = oriel_auth::second_factor::TotpDevice::from_base32(json["totp_secret"].as_str().unwrap()).unwrap();
        let code = device.code_at(now).unwrap();
        let body = serde_json::json!({ "password": PASSWORD, "totp_code": code });
        let response = self.http("POST", &format!("/api/invite/{invite}"), None, Some(body)).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let cookie = response.lines().find_map(|l| l.strip_prefix(&format!("set-cookie: {COOKIE}="))).expect("a session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/;") && !cookie.contains("Domain"), "a __Host- cookie: {cookie}");
        (cookie.split(';').next().unwrap().to_owned(), device)
    }

    /// The desktops `/api/desktops` lists for the cookie's user.
    pub async fn desktops(&self, cookie: &str) -> Vec<serde_json::Value> {
        let response = self.http("GET", "/api/desktops", Some(cookie), None).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        body(&response)["desktops"].as_array().cloned().unwrap_or_default()
    }
}

/// The session cookie's name (`__Host-` prefixed).
pub const COOKIE: &str = "__Host-oriel_session";

/// The first user's password, as [`Web::enroll`] sets it.
pub const PASSWORD: &str = "a good long password";

/// A TCP connection to `to` from the address `from` (port chosen by the kernel).
pub async fn connect_from(from: std::net::IpAddr, to: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = if from.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// A response's body as JSON.
pub fn body(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_else(|| panic!("no body in {response}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
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

pub type Socket = WebSocketStream<TlsStream<tokio::net::TcpStream>>;

pub fn hello() -> Message {
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
pub async fn until(socket: &mut Socket, what: &str, mut matches: impl FnMut(&Payload) -> bool) -> Payload {
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
pub async fn final_alert(socket: &mut Socket) -> String {
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

/// A fresh database named `prefix` plus this process's id on the test
/// PostgreSQL server, as a URL through its unix socket (peer
/// authentication: `ORIEL_TEST_POSTGRES_URL`, which scripts/test starts);
/// `None` when ORIEL_SKIP_POSTGRES=1 skips on purpose.
pub async fn fresh_database(prefix: &str) -> Option<String> {
    fresh_database_for(prefix, "ORIEL_TEST_POSTGRES_URL").await
}

/// The same, owned by the password role and as a URL over TCP with TLS
/// (verify-full) and SCRAM (`ORIEL_TEST_POSTGRES_TLS_URL`).
pub async fn fresh_tls_database(prefix: &str) -> Option<String> {
    fresh_database_for(prefix, "ORIEL_TEST_POSTGRES_TLS_URL").await
}

async fn fresh_database_for(prefix: &str, variable: &str) -> Option<String> {
    use oriel_backend::postgres::{NoTls, Target};
    let server = |variable: &str| match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("ORIEL_SKIP_POSTGRES").as_deref() == Ok("1") => None,
        _ => panic!("{variable} is not set: start a server with `eval \"$(scripts/postgres-test-server start)\"`, or set ORIEL_SKIP_POSTGRES=1"),
    };
    // Databases are made through the socket, as the OS user (a superuser of
    // the throwaway server), and owned by the user of the URL asked for.
    let admin_target = Target::parse(&server("ORIEL_TEST_POSTGRES_URL")?).unwrap();
    let url = server(variable)?;
    let (client, connection) = admin_target.config().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = format!("{prefix}_{}", std::process::id());
    let owner = Target::parse(&url).unwrap().config().get_user().map(|user| format!(" OWNER {user}")).unwrap_or_default();
    // Two statements: a multi-statement batch would be one transaction, and
    // neither may run inside one.
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}{owner}")).await.unwrap();
    Some(Target::parse(&url).unwrap().with_database(&name).unwrap().url().to_owned())
}
