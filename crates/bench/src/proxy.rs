//! The real `oriel` binary (proxy plus in-process desktop service) as a
//! child process, reached as the browser reaches it: TLS, then a websocket.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;

use crate::desktop;

pub type Socket = WebSocketStream<TlsStream<tokio::net::TcpStream>>;

/// Where `cargo build --release -p oriel` puts the binary, next to this one.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::current_exe().ok()?.parent()?.join("oriel");
    path.is_file().then_some(path)
}

/// A running `oriel start`, killed when dropped.
pub struct Oriel {
    child: Child,
    addr: SocketAddr,
    cookie: String,
    desktop: String,
    login: String,
    tls: TlsConnector,
    pub dir: tempfile::TempDir,
}

impl Drop for Oriel {
    fn drop(&mut self) {
        // SIGTERM: oriel shuts down its sessions (Xvfb, xsession) itself.
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Oriel {
    /// Starts `binary` on a free loopback port with the bench's xsession.
    pub fn start(binary: &std::path::Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("oriel-bench-proxy-").tempdir()?;
        // The session runs as a login that writes its display file here.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o1777))?;
        let web = dir.path().join("web");
        std::fs::create_dir_all(&web)?;
        std::fs::write(web.join("index.html"), "<!doctype html><title>oriel-bench</title>")?;
        let xsessions = desktop::write_xsession(dir.path())?;
        let log = std::fs::File::create(dir.path().join("oriel.log"))?;
        let mut command = Command::new(binary);
        command
            .args(["start", "--listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--tunnel-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--web-dir")
            .arg(&web)
            .arg("--xsessions-dir")
            .arg(&xsessions)
            .stdout(Stdio::piped())
            .stderr(log);
        crate::xclients::dies_with_bench(&mut command);
        let mut child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines().map_while(Result::ok);
        let ready = lines.find_map(|l| l.strip_prefix("Oriel is ready at https://").map(str::to_owned));
        let invite = lines.find_map(|l| l.split("/web/invite/").nth(1).map(str::to_owned));
        let (Some(ready), Some(invite)) = (ready, invite) else {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("oriel.log")).unwrap_or_default();
            bail!("oriel exited without printing its URL and invite:\n{log}");
        };
        let addr = ready.split('/').next().context("oriel printed an unexpected URL")?.parse()?;
        let cert = std::fs::read(dir.path().join("data/tls/cert.pem"))?;
        let (cookie, desktop, login) = enroll(&dir.path().join("data"), invite.trim())?;
        Ok(Self { child, addr, cookie, desktop, login, tls: connector(&cert)?, dir })
    }

    /// The process id of `oriel`.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// A websocket to the desktop endpoint, as the web client opens it.
    pub async fn socket(&self) -> anyhow::Result<Socket> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::IpAddress(self.addr.ip().into());
        let tls = self.tls.connect(name, tcp).await.context("TLS handshake with oriel")?;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let url = format!("wss://{}/api/desktop/ws?kind=linux&desktop={}&login={}", self.addr, self.desktop, self.login);
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("cookie", format!("{}={}", oriel_proxy::COOKIE, self.cookie).parse()?);
        // The proxy accepts the websocket only from its own pages.
        request.headers_mut().insert("origin", format!("https://{}", self.addr).parse()?);
        let (socket, _) = tokio_tungstenite::client_async(request, tls).await.context("websocket upgrade")?;
        Ok(socket)
    }
}

/// Accepts the first start's invite for `admin` straight through the control
/// plane on oriel's own SQLite file (as a browser would over the API) and
/// returns the session cookie, this host's desktop name and admin's login.
fn enroll(data_dir: &std::path::Path, invite: &str) -> anyhow::Result<(String, String, String)> {
    // Called from inside the bench's runtime: this runtime gets a thread of its own.
    std::thread::scope(|scope| scope.spawn(|| enroll_blocking(data_dir, invite)).join().expect("enroll thread"))
}

fn enroll_blocking(data_dir: &std::path::Path, invite: &str) -> anyhow::Result<(String, String, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        use oriel_auth::control_plane::ControlPlane;
        let backend = oriel_backend::SqliteBackend::open(data_dir.join("oriel.db"), oriel_backend::Options::default()).await?;
        let plane = ControlPlane::new(oriel_auth::store::Store::new(Arc::new(backend)), Arc::new(oriel_backend::SystemClock));
        let page = plane.enrollment(invite).await?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let code = oriel_auth::second_factor::TotpDevice::from_base32(&page.totp_secret)?.code_at(now)?;
        let cookie = plane.accept_invite(invite, "benchmark password", &code).await?;
        let desktop = std::fs::read_to_string(data_dir.join("host_uuid"))?.trim().to_owned();
        let login = plane.visible_desktops("admin").await?.first().and_then(|(_, l)| l.first().cloned()).context("admin has no login")?;
        Ok((cookie.secret, desktop, login))
    })
}

/// Trusts exactly the certificate oriel made for itself.
fn connector(cert_pem: &[u8]) -> anyhow::Result<TlsConnector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert_pem) {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config =
        rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()?.with_root_certificates(roots).with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
