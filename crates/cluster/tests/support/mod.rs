//! What the cluster tests share: a control plane on SQLite in a tempdir,
//! certificates good and bad, a raw mutual-TLS dial, and the log, where a
//! server says why it refused a connection it only closes.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

use oriel_auth::ca::{CertAuthority, HostIdentity, HostRole, IssuedCert, UserIdentity};
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::join::JoinRequest;
use oriel_auth::resources::join_token::JoinRole;
use oriel_auth::store::Store;
use oriel_backend::{Clock, Options, SqliteBackend, SystemClock};
use oriel_cluster::agent::Agent;
use oriel_cluster::proto::desktop_agent_client::DesktopAgentClient;
use oriel_cluster::{HostCredentials, LiveIdentity};
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::transport::Channel;

/// How long something asynchronous may take before the test has failed.
/// A test that waits this long has failed; it does not measure speed.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A role that lets every user log in with their own `linux_logins`, on
/// every Linux desktop.
pub const ROLE: &str = "kind: role\nversion: v7\nmetadata:\n  name: dev\nspec:\n  allow:\n    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n    windows_desktop_logins: [Administrator]\n    windows_desktop_labels:\n      env: lab\n";

/// A cluster: its control plane on SQLite in `dir`, and its CAs.
pub struct Cluster {
    pub plane: ControlPlane,
    pub ca: Arc<CertAuthority>,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// A new cluster on the system clock.
    pub async fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock)).await
    }

    /// A new cluster whose store and control plane read `clock`.
    pub async fn with_clock(clock: Arc<dyn Clock>) -> Self {
        capture_logs();
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
        let recordings = oriel_auth::recordings::RecordingStorage::in_directory(&dir.path().join("recordings")).unwrap();
        let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock).with_recordings(recordings);
        let ca = plane.cert_authority().await.unwrap();
        Self { plane, ca, dir }
    }

    /// The host CA's certificate, PEM.
    pub fn host_ca(&self) -> String {
        self.ca.host_ca_pem().to_owned()
    }

    /// A one-hour host certificate of `role`, carrying `dns_names`.
    pub fn host(&self, host_id: &str, role: HostRole, dns_names: &[&str]) -> HostCredentials {
        let identity = HostIdentity { host_id: host_id.into(), role, dns_names: dns_names.iter().map(|&n| n.to_owned()).collect(), ips: vec![] };
        self.credentials(self.ca.issue_host(&identity, Duration::from_secs(3600), SystemTime::now()).unwrap())
    }

    /// A desktop service's credentials, as joining with a fresh one-time
    /// token gives them.
    pub async fn joined_desktop(&self, host_id: &str) -> HostCredentials {
        let (token, _) = self.plane.add_token(JoinRole::LinuxDesktop, Duration::from_secs(600), true).await.unwrap();
        let request = JoinRequest {
            token,
            role: JoinRole::LinuxDesktop,
            host_id: host_id.into(),
            dns_names: vec![oriel_auth::ca::desktop_server_name(host_id)],
            ips: vec![],
        };
        self.credentials(self.plane.join(&request).await.unwrap())
    }

    /// A host certificate of this CA that expired two hours ago.
    pub fn expired_host(&self, host_id: &str, role: HostRole) -> HostCredentials {
        let identity = HostIdentity { host_id: host_id.into(), role, dns_names: vec![], ips: vec![] };
        let long_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
        self.credentials(self.ca.issue_host(&identity, Duration::from_secs(3600), long_ago).unwrap())
    }

    /// A one-hour user certificate for `user`, as a login gives (with the
    /// stored user's id when there is one).
    pub async fn user(&self, user: &str) -> IssuedCert {
        if self.plane.store().user(user).await.is_ok() {
            return self.plane.issue_user_certificate(user, Duration::from_secs(3600)).await.unwrap();
        }
        let identity = UserIdentity { user: user.into(), roles: vec!["dev".into()], ..Default::default() };
        self.ca.issue_user(&identity, Duration::from_secs(3600), SystemTime::now()).unwrap()
    }

    /// `issued`, with this cluster's host CA.
    pub fn credentials(&self, issued: IssuedCert) -> HostCredentials {
        HostCredentials { cert_pem: issued.cert_pem, key_pem: issued.key_pem, host_ca_pem: self.host_ca(), user_ca_pem: self.ca.user_ca_pem().to_owned() }
    }

    /// Role `dev` ([`ROLE`]) and user `user`, who may log in as `login`.
    pub async fn add_user(&self, user: &str, login: &str) {
        if self.plane.store().role("dev").await.is_err() {
            self.plane.create_roles(&oriel_rbac::parse_roles("dev.yaml", ROLE).unwrap(), false).await.unwrap();
        }
        let spec = UserSpec { name: user.into(), roles: vec!["dev".into()], linux_logins: vec![login.into()], ..Default::default() };
        self.plane.add_user(&spec).await.unwrap();
    }

    /// An agent serving the Linux desktop `name`, deciding with this
    /// control plane. Nothing starts an X server until a session does.
    pub fn agent(&self, name: &str) -> Agent {
        Agent::new(self.desktop_service(name, oriel_rbac::DesktopKind::Linux, None))
    }

    /// The desktop service of the `kind` desktop `name` (reached with
    /// `rdp` for a Windows one), deciding with this control plane.
    pub fn desktop_service(&self, name: &str, kind: oriel_rbac::DesktopKind, rdp: Option<oriel_linux_desktop::RdpDesktop>) -> LinuxDesktopService {
        let xsessions = self.dir.path().join("xsessions");
        std::fs::create_dir_all(&xsessions).unwrap();
        LinuxDesktopService::new(DesktopConfig {
            desktop_name: name.into(),
            kind,
            rdp,
            authority: Arc::new(self.plane.clone()),
            xsession_dirs: vec![xsessions],
            xsession_filter: Default::default(),
            runtime_dir: self.dir.path().join("run"),
            frames: FrameConfig::default(),
            session_program: oriel_linux_desktop::SessionProgram::built_beside_this_executable(),
            limits: oriel_linux_desktop::SessionLimits { max_sessions_per_user: 1000, ..Default::default() },
            recordings: oriel_recorder::RecordingSpool::open(&self.dir.path().join(format!("recording-spool-{name}")), Arc::new(self.plane.clone())).unwrap(),
            disconnect_grace: std::time::Duration::ZERO,
            x_server: Default::default(),
        })
    }
}

/// Another cluster's CAs, with their own store in `dir`.
pub async fn foreign_ca(dir: &Path) -> CertAuthority {
    let backend = SqliteBackend::open(dir.join("other.db"), Options::default()).await.unwrap();
    CertAuthority::load_or_create(&Store::new(Arc::new(backend)), SystemTime::now()).await.unwrap()
}

/// A host certificate of `role` from another cluster's host CA.
pub async fn foreign_host(dir: &Path, host_id: &str, role: HostRole, dns_names: &[&str]) -> HostCredentials {
    let ca = foreign_ca(dir).await;
    let identity = HostIdentity { host_id: host_id.into(), role, dns_names: dns_names.iter().map(|&n| n.to_owned()).collect(), ips: vec![] };
    let issued = ca.issue_host(&identity, Duration::from_secs(3600), SystemTime::now()).unwrap();
    HostCredentials { cert_pem: issued.cert_pem, key_pem: issued.key_pem, host_ca_pem: ca.host_ca_pem().to_owned(), user_ca_pem: ca.user_ca_pem().to_owned() }
}

/// A self-signed certificate for `names`, good for both ends of TLS.
pub fn self_signed(names: &[&str]) -> HostCredentials {
    let mut params = rcgen::CertificateParams::new(names.iter().map(|&n| n.to_owned()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    HostCredentials { cert_pem: cert.pem(), key_pem: key.serialize_pem(), host_ca_pem: cert.pem(), user_ca_pem: cert.pem() }
}

/// `issued` (a user certificate) in the place of a host's.
pub fn as_host(issued: &IssuedCert, host_ca_pem: &str) -> HostCredentials {
    HostCredentials {
        cert_pem: issued.cert_pem.clone(),
        key_pem: issued.key_pem.clone(),
        host_ca_pem: host_ca_pem.to_owned(),
        user_ca_pem: host_ca_pem.to_owned(),
    }
}

/// One mutual-TLS dial: where it came from (the server logs its peer by
/// that address) and the stream, or why the handshake failed.
pub struct Dialled {
    pub local: SocketAddr,
    pub stream: Result<TlsStream<TcpStream>, String>,
}

/// Dials `addr` presenting `client`, trusting only `host_ca_pem`, and
/// expecting a server certificate for `server_name`.
pub async fn dial(addr: SocketAddr, host_ca_pem: &str, client: &HostCredentials, server_name: &str) -> Dialled {
    let config = oriel_cluster::tls::client_config(host_ca_pem, LiveIdentity::new(client).unwrap()).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let name = rustls_pki_types::ServerName::try_from(server_name.to_owned()).unwrap();
    let handshake = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
    let stream = match tokio::time::timeout(PATIENCE, handshake).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => panic!("the TLS handshake with {addr} never ended"),
    };
    Dialled { local, stream }
}

impl Dialled {
    /// How the server ended the connection without speaking HTTP/2 on it
    /// (see [`ending`]). A server that accepted the connection speaks
    /// first (a proxy opens its HTTP/2 client with the preface, a desktop
    /// service its HTTP/2 server with SETTINGS), and that panics here.
    pub async fn refusal(self) -> String {
        let mut stream = match self.stream {
            Ok(stream) => stream,
            Err(handshake) => return ending(&handshake),
        };
        let mut buffer = [0u8; 64];
        match tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await {
            Ok(Ok(0)) => "closed".into(),
            Ok(Ok(n)) => panic!("the server accepted the connection from {}: it sent {:?}", self.local, String::from_utf8_lossy(&buffer[..n])),
            Ok(Err(error)) => ending(&error.to_string()),
            Err(_) => panic!("the server neither spoke nor closed the connection from {}", self.local),
        }
    }
}

/// A TLS connection's end as the other side saw it: `alert: <name>` when
/// the peer refused the handshake with a TLS alert, else `closed (<how>)`
/// (an end of stream, with or without close_notify, or a reset: which one
/// depends on what was still unread when the peer closed).
pub fn ending(error: &str) -> String {
    match error.split_once("received fatal alert: ") {
        Some((_, alert)) => format!("alert: {alert}"),
        None => format!("closed ({error})"),
    }
}

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps every log line of this test binary, to read with [`log_line`].
pub fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt().with_ansi(false).with_max_level(tracing::Level::INFO).with_writer(|| LogWriter).try_init();
    });
}

/// Everything logged so far by this test binary.
pub fn log() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
}

/// The first log line holding every one of `needles`, waited for.
pub async fn log_line(needles: &[&str]) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = log();
        if let Some(line) = text.lines().find(|line| needles.iter().all(|needle| line.contains(needle))) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no log line holds all of {needles:?}; the log:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A gRPC client of the desktop agent over one connection already made.
pub async fn agent_client(stream: TlsStream<TcpStream>) -> DesktopAgentClient<Channel> {
    let slot = Mutex::new(Some(stream));
    let connector = tower::service_fn(move |_: tonic::transport::Uri| {
        let stream = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        async move { stream.map(hyper_util::rt::TokioIo::new).ok_or_else(|| std::io::Error::other("the connection was used already")) }
    });
    let channel = tonic::transport::Endpoint::from_static("http://agent.test").connect_with_connector(connector).await.unwrap();
    DesktopAgentClient::new(channel)
}

/// Asks `agent` for a session without the user's certificate: an agent
/// that gets the call says what is missing.
pub async fn assert_agent_answers(agent: &mut DesktopAgentClient<Channel>) {
    let status = agent.session(tokio_stream::empty()).await.expect_err("a session without a certificate");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(status.message(), "a desktop session needs the user's certificate");
}

/// Opens `count` connections to `addr` from `source` (another loopback
/// address, so the flood is a network of its own) that never start TLS,
/// and gives them back still open.
pub async fn idle_connections(addr: SocketAddr, source: std::net::IpAddr, count: usize) -> Vec<TcpStream> {
    let mut open = Vec::new();
    for _ in 0..count {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        open.push(socket.connect(addr).await.unwrap());
    }
    open
}

/// Whether the listener closed `stream` without a word: its next read is
/// the end of the stream.
pub async fn closed_by_listener(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}
