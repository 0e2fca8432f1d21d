//! Opening an RDP connection: TCP, X.224 negotiation, TLS with the host's
//! pinned certificate, NLA (CredSSP with NTLM), then IronRDP's connection
//! sequence up to an active session.

use std::time::Duration;

use ironrdp_cliprdr::CliprdrClient;
use ironrdp_connector::{ClientConnector, ConnectionResult, Credentials, DesktopSize, ServerName};
use ironrdp_displaycontrol::client::DisplayControlClient;
use ironrdp_dvc::DrdynvcClient;
use ironrdp_pdu::gcc;
use ironrdp_pdu::rdp::capability_sets::{MajorPlatformType, RailSupportLevel};
use ironrdp_pdu::rdp::client_info::{PerformanceFlags, TimezoneInfo};
use ironrdp_rdpdr::Rdpdr;
use ironrdp_rdpsnd::client::{NoopRdpsndBackend, Rdpsnd};
use ironrdp_tokio::TokioFramed;
use tokio::net::TcpStream;

use crate::clipboard::ChannelBackend;
use crate::credentials::DesktopCredentials;
use crate::drive::DriveBackend;
use crate::error::RdpError;
use crate::network::NoKerberos;
use crate::tls::{self, HostTrust};

/// How long the whole connection sequence may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An RDP host and how to sign in to it.
#[derive(Debug, Clone)]
pub struct RdpTarget {
    /// `host:port`.
    pub addr: String,
    /// The host's name for TLS and CredSSP (its address when it has none).
    pub server_name: String,
    /// What the host's certificate is checked against.
    pub trust: HostTrust,
    /// The account to sign in with.
    pub credentials: DesktopCredentials,
    /// The screen to ask for, in pixels (the host may impose its own).
    pub width: u16,
    /// See `width`.
    pub height: u16,
    /// Whether the clipboard channel (CLIPRDR) is opened: only when the
    /// roles share the clipboard, so a host never even offers it otherwise.
    pub clipboard: bool,
    /// Whether drive redirection (RDPDR) is offered, for the browser's
    /// shared directories: only when the roles allow directory sharing.
    pub directory_sharing: bool,
}

/// The TLS stream to the host, framed in RDP PDUs.
pub(crate) type HostStream = TokioFramed<tokio_rustls::client::TlsStream<TcpStream>>;

/// A connection whose RDP connection sequence is complete.
pub struct RdpConnection {
    pub(crate) framed: HostStream,
    pub(crate) result: ConnectionResult,
}

impl std::fmt::Debug for RdpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdpConnection").field("desktop_size", &self.result.desktop_size).finish_non_exhaustive()
    }
}

impl RdpConnection {
    /// The host's screen size, as the connection sequence settled it.
    pub fn desktop_size(&self) -> (u16, u16) {
        (self.result.desktop_size.width, self.result.desktop_size.height)
    }
}

/// Connects to `target` and completes the RDP connection sequence.
pub async fn connect(target: &RdpTarget) -> Result<RdpConnection, RdpError> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_now(target))
        .await
        .map_err(|_| RdpError::Connection(format!("no RDP session with {} after {} s", target.addr, CONNECT_TIMEOUT.as_secs())))?
}

async fn connect_now(target: &RdpTarget) -> Result<RdpConnection, RdpError> {
    let unreachable = |source| RdpError::Unreachable { addr: target.addr.clone(), source };
    let tcp = TcpStream::connect(&target.addr).await.map_err(unreachable)?;
    tcp.set_nodelay(true).map_err(unreachable)?;
    let client_addr = tcp.local_addr().map_err(unreachable)?;
    let mut framed = TokioFramed::new(tcp);
    let mut connector = ClientConnector::new(config(target), client_addr)
        // Dynamic channels, for the display control one: the screen follows the browser's size.
        .with_static_channel(DrdynvcClient::new().with_dynamic_channel(DisplayControlClient::new(|_| Ok(Vec::new()))));
    if target.clipboard {
        connector.attach_static_channel(CliprdrClient::new(Box::new(ChannelBackend::default())));
    }
    if target.directory_sharing {
        // No drive at first: the browser shares directories once the session runs.
        connector.attach_static_channel(Rdpdr::new(Box::new(DriveBackend::default()), "oriel".to_owned()).with_drives(None));
        connector.attach_static_channel(Rdpsnd::new(Box::new(NoopRdpsndBackend)));
    }
    let should_upgrade = ironrdp_tokio::connect_begin(&mut framed, &mut connector).await.map_err(connection_error)?;

    let (tcp, leftover) = framed.into_inner();
    let tls_connector = tls::connector(target.trust.clone()).map_err(|e| RdpError::Tls(std::io::Error::other(e)))?;
    let name = rustls::pki_types::ServerName::try_from(target.server_name.clone())
        .map_err(|e| RdpError::Connection(format!("bad host name {:?}: {e}", target.server_name)))?;
    let tls = tls_connector.connect(name, tcp).await.map_err(RdpError::Tls)?;
    // CredSSP binds to the key of the certificate the host presented (the
    // pinned one, or the one its CA vouched for).
    let presented = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).map(|leaf| leaf.as_ref().to_vec());
    let public_key =
        presented.as_deref().and_then(tls::public_key).ok_or_else(|| RdpError::Connection("the host's certificate has no readable public key".into()))?;
    let upgraded = ironrdp_tokio::mark_as_upgraded(should_upgrade, &mut connector);
    let mut framed = TokioFramed::new_with_leftover(tls, leftover);

    // The sign-in (CredSSP) happens here, before anything else of the session.
    let outcome = ironrdp_tokio::connect_finalize(upgraded, connector, &mut framed, &mut NoKerberos, ServerName::new(&target.server_name), public_key, None)
        .await
        .map_err(|e| sign_in_error(e, &target.credentials.username))?;
    let result = outcome.into_connected().map_err(connection_error)?;
    tracing::info!(addr = %target.addr, width = result.desktop_size.width, height = result.desktop_size.height, "RDP session connected");
    Ok(RdpConnection { framed, result })
}

/// A failure of the connection's last part: a refused sign-in when CredSSP
/// failed or the host closed the connection during it (which is how hosts
/// refuse a wrong password), else as [`connection_error`].
fn sign_in_error(error: ironrdp_connector::ConnectorError, username: &str) -> RdpError {
    use ironrdp_connector::ConnectorErrorKind;
    let refused = matches!(error.kind(), ConnectorErrorKind::Credssp(_) | ConnectorErrorKind::AccessDenied);
    match connection_error(error) {
        RdpError::Connection(detail) if refused || detail.contains("not enough bytes") || detail.contains("eof") => {
            RdpError::SignIn { username: username.to_owned(), detail }
        }
        other => other,
    }
}

/// IronRDP's error with its causes, which say what the host refused.
fn connection_error(error: ironrdp_connector::ConnectorError) -> RdpError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    RdpError::Connection(text)
}

/// What the client says it is and wants: TLS and NLA, a 32-bit screen,
/// the server's own pointer shapes (the browser draws the cursor).
fn config(target: &RdpTarget) -> ironrdp_connector::Config {
    let credentials = &target.credentials;
    ironrdp_connector::Config {
        desktop_size: DesktopSize { width: target.width, height: target.height },
        monitor_layout: None,
        desktop_scale_factor: 0,
        desktop_physical_size: None,
        desktop_orientation: None,
        device_scale_factor: None,
        monitor_extended_layout: None,
        relative_mouse_input: false,
        enable_tls: true,
        enable_credssp: true,
        enable_standard_rdp_security: false,
        credentials: Credentials::UsernamePassword { username: credentials.username.clone(), password: credentials.password.clone() },
        domain: credentials.domain.clone(),
        // A current client's build: hosts may refuse what old clients lack
        // (xrdp resizes no client of build 419 or older).
        client_build: 19041,
        client_name: "oriel".to_owned(),
        keyboard_type: gcc::KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        keyboard_layout: 0,
        connection_type: gcc::ConnectionType::Lan,
        ime_file_name: String::new(),
        // None: 32 bits a pixel and the lossless bitmap codecs, no RemoteFX.
        bitmap: None,
        dig_product_id: String::new(),
        client_dir: String::new(),
        alternate_shell: String::new(),
        work_dir: String::new(),
        remote_application_mode: false,
        rail_support_level: RailSupportLevel::empty(),
        platform: MajorPlatformType::UNIX,
        hardware_id: None,
        request_data: None,
        // The credentials sign in: no login screen on hosts that show one.
        autologon: true,
        enable_audio_playback: false,
        enable_audio_capture: false,
        performance_flags: PerformanceFlags::default(),
        license_cache: None,
        timezone_info: TimezoneInfo::default(),
        compression_type: None,
        enable_server_pointer: true,
        pointer_software_rendering: false,
        multitransport_flags: None,
        // Bitmap updates, not the graphics pipeline (RDPGFX) over a dynamic channel.
        support_dyn_vc_gfx_protocol: false,
    }
}
