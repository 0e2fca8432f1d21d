//! The real `oriel` binary (proxy plus in-process desktop service) as a
//! child process, reached as the browser reaches it: TLS, then a websocket.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
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
    token: String,
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
        let web = dir.path().join("web");
        std::fs::create_dir_all(&web)?;
        std::fs::write(web.join("index.html"), "<!doctype html><title>oriel-bench</title>")?;
        let xsessions = desktop::write_xsession(dir.path())?;
        let log = std::fs::File::create(dir.path().join("oriel.log"))?;
        let mut command = Command::new(binary);
        command
            .args(["start", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--web-dir")
            .arg(&web)
            .arg("--xsessions-dir")
            .arg(&xsessions)
            .stdout(Stdio::piped())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let url = stdout.lines().map_while(Result::ok).find_map(|l| l.trim().strip_prefix("https://").map(str::to_owned));
        let Some(url) = url else {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("oriel.log")).unwrap_or_default();
            bail!("oriel exited without printing its URL:\n{log}");
        };
        let (addr, token) = url.split_once("/#token=").context("oriel printed an unexpected URL")?;
        let cert = std::fs::read(dir.path().join("data/tls/cert.pem"))?;
        Ok(Self { child, addr: addr.parse()?, token: token.to_owned(), tls: connector(&cert)?, dir })
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
        let url = format!("wss://{}/api/desktop/ws?token={}", self.addr, self.token);
        let (socket, _) = tokio_tungstenite::client_async(url, tls).await.context("websocket upgrade")?;
        Ok(socket)
    }
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
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
