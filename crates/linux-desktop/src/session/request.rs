//! What a session is asked with, and the service's settings and caps.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use oriel_recorder::RecordingSpool;

use crate::authority::SessionAuthority;
use crate::frames::FrameConfig;
use crate::session_process::SessionProgram;
use crate::xsession;

/// Who asks for a session, as a user certificate, and as which desktop
/// login. The service verifies the certificate against the cluster's user
/// CA and takes the user from it (never from a name it is told), then
/// decides itself whether the session is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    /// The user certificate (DER) the proxy holds for the logged-in user.
    pub certificate: Vec<u8>,
    /// The desktop login asked for.
    pub login: String,
    /// The session's id, chosen by the proxy so that its log, its
    /// recording (when the proxy records) and these events name one
    /// session; a new one when absent or not a UUID.
    pub session_id: Option<String>,
    /// Attach to the running session `session_id` names instead of
    /// starting one: the user's own, on the same login.
    pub resume: bool,
    /// Join the running session `session_id` names as a participant, in
    /// this mode (someone else's, who invited this user).
    pub join: Option<oriel_rbac::JoinMode>,
}

/// Caps on what sessions may take of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Desktop sessions running on this host at once.
    pub max_sessions: usize,
    /// Desktop sessions one user runs on this host at once.
    pub max_sessions_per_user: usize,
    /// Directories one session shares at once.
    pub max_shared_directories: usize,
    /// The largest screen a session may have.
    pub max_screen: crate::x11::screen::MaxScreen,
}

impl Default for SessionLimits {
    /// 100 sessions per host (about 40 idle Xfce sessions fit in 24 GiB, see
    /// BENCHMARKS.md, so the host's memory is the tighter limit there), 10
    /// per user, 16 shared directories per session, screens up to 7680x4320.
    fn default() -> Self {
        Self {
            max_sessions: 100,
            max_sessions_per_user: 10,
            max_shared_directories: crate::shared_dir::DEFAULT_MAX_SHARED,
            max_screen: crate::x11::screen::MaxScreen::default(),
        }
    }
}

/// A Windows desktop (or any RDP host) a service reaches over RDP: each
/// session runs `oriel rdp-session` against it instead of an X server.
#[derive(Clone)]
pub struct RdpDesktop {
    /// `host:port`.
    pub addr: String,
    /// The host's name for TLS and CredSSP.
    pub server_name: String,
    /// The host's certificate (PEM), the only one accepted; empty when
    /// `ca_pem` is set.
    pub certificate_pem: String,
    /// CA certificates (PEM) the host's certificate must chain to, for
    /// `server_name` (a host found in the directory).
    pub ca_pem: String,
    /// The account each RBAC login signs in with (`ad: false` hosts).
    pub accounts: std::collections::BTreeMap<String, RdpAccount>,
}

/// An account on an RDP host. Never logged: `Debug` shows the username.
#[derive(Clone, PartialEq, Eq)]
pub struct RdpAccount {
    /// The account's name on the host.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Its domain, or empty.
    pub domain: String,
}

impl std::fmt::Debug for RdpAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdpAccount").field("username", &self.username).field("domain", &self.domain).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RdpDesktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdpDesktop").field("addr", &self.addr).field("logins", &self.accounts.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

/// Settings of a desktop service: a Linux desktop (this host, its X
/// servers and logins), or a Windows desktop reached over RDP (`rdp`).
#[derive(Debug, Clone)]
pub struct DesktopConfig {
    /// This desktop's resource name (the service's persistent UUID for a
    /// Linux desktop, the configured name for a Windows one).
    pub desktop_name: String,
    /// Which kind of desktop it is.
    pub kind: oriel_rbac::DesktopKind,
    /// For a Windows desktop: the host and its accounts.
    pub rdp: Option<RdpDesktop>,
    /// Where roles, users and locks are decided.
    pub authority: Arc<dyn SessionAuthority>,
    /// Directories of xsession `.desktop` entries, earlier ones first.
    pub xsession_dirs: Vec<PathBuf>,
    /// Which of those entries are offered.
    pub xsession_filter: xsession::XsessionFilter,
    /// Where per-session files (the Xauthority cookie) live.
    pub runtime_dir: PathBuf,
    /// Frame pacing and keyframes.
    pub frames: FrameConfig,
    /// The program each session runs in (`oriel session`).
    pub session_program: SessionProgram,
    /// Caps on sessions.
    pub limits: SessionLimits,
    /// Where sessions' recordings wait for upload.
    pub recordings: RecordingSpool,
    /// How long a session runs on with nobody attached, waiting to be
    /// resumed (`disconnect_grace`); zero ends it when its browser leaves.
    pub disconnect_grace: Duration,
    /// The virtual X server each session runs.
    pub x_server: crate::xvfb::XServer,
}

/// The default `disconnect_grace`: a lunch break's Wi-Fi, a laptop lid, a
/// proxy restart.
pub const DEFAULT_DISCONNECT_GRACE: Duration = Duration::from_secs(600);
