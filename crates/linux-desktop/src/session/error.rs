//! How a session ends: the errors that end it early, each saying whose
//! fault it was, and the ends that are no error.

use std::time::Duration;

use super::recheck::AUTHORITY_GRACE;
use crate::handshake::HelloError;
use crate::login::LoginError;
use crate::x11::X11Error;
use crate::xvfb::XvfbError;

/// Why a session ended early. Each variant says whose fault it was; the
/// message goes to the client as an ERROR alert unless the client is gone.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The client sent something that is not valid TDPB.
    #[error("malformed message from the client: {0}")]
    Malformed(String),
    /// The client broke the order of the exchange.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The hello could not be accepted.
    #[error(transparent)]
    Hello(#[from] HelloError),
    /// No desktop sessions on this host.
    #[error("no desktop sessions are installed on this host (install a desktop such as xfce4, or add a .desktop file to /usr/share/xsessions)")]
    NoXSessions,
    /// The client picked a session that does not exist.
    #[error("unknown desktop session {0:?}")]
    UnknownXSession(String),
    /// The display server did not start.
    #[error("the desktop could not start: {0}")]
    Xvfb(#[from] XvfbError),
    /// Talking to X failed.
    #[error("the desktop's display failed: {0}")]
    X11(#[from] X11Error),
    /// The frame encoder could not be set up.
    #[error("the frame encoder failed: {0}")]
    Encoder(#[source] oriel_qoiz::EncodeError),
    /// The login cannot have a session on this host.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The xsession could not be started.
    #[error("cannot start desktop session {name:?}: {error}")]
    XSessionSpawn {
        /// Session name.
        name: String,
        /// Cause.
        error: std::io::Error,
    },
    /// The user may not open this session (invalid certificate, roles, lock, unknown user).
    #[error(transparent)]
    Denied(#[from] oriel_auth::control_plane::AccessDenied),
    /// A lock appeared during the session.
    #[error("the session was locked by an administrator{}", .0.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Locked(Option<String>),
    /// Re-authorization refused the running session: the user was removed,
    /// the roles no longer allow it, the login it came from ended.
    #[error("your access to this desktop was revoked: {0}")]
    Revoked(String),
    /// The session could not be re-authorized for longer than the grace.
    #[error("the session ended because access could not be checked for {}s: {}", AUTHORITY_GRACE.as_secs(), .0)]
    Unverifiable(crate::authority::AuthorityError),
    /// The user certificate the session was granted on expired.
    #[error("your login expired; log in again to go on")]
    CertificateExpired,
    /// No keyboard or mouse input for the client idle timeout.
    #[error("the session was idle for {} (the client idle timeout) and was disconnected", crate::idle::describe(*.0))]
    Idle(Duration),
    /// The client took too long.
    #[error("timed out waiting for the client's {0}")]
    Timeout(&'static str),
    /// The session process said why it ended; the client was told already
    /// when `alerted`.
    #[error("{message}")]
    Desktop {
        /// What went wrong.
        message: String,
        /// The client has the alert already.
        alerted: bool,
        /// The client's doing (bad messages, a timeout), not the host's.
        client_fault: bool,
    },
    /// The session process ended without saying why (it crashed or was killed).
    #[error("the desktop session's process ended unexpectedly ({0}); nothing of the session is left running")]
    ProcessDied(String),
    /// A resume named a session that is not running here for this user
    /// and login (it ended, it never existed, or it is someone else's).
    #[error("there is no session {0} of yours on this desktop to resume: it ended, or it never existed; start a new one")]
    NoSuchSession(String),
    /// A resume came while the session still starts.
    #[error("session {0} is still starting; wait until it runs, then resume it")]
    StillStarting(String),
    /// The resumed session runs in a codec this client cannot decode.
    #[error("this browser cannot show session {0}: it cannot decode the session's frames")]
    ResumeCodec(String),
    /// A participant tried to join without the owner's invitation.
    #[error("{owner} has not invited you to this session as {mode}; ask them to invite you")]
    NotInvited {
        /// The session's owner.
        owner: String,
        /// The mode asked for.
        mode: &'static str,
    },
    /// A resume or a join named a session that is not running here.
    #[error("there is no session {0} on this desktop to join: it ended, or it never existed")]
    NoSessionToJoin(String),
    /// The owner sent this participant away.
    #[error("the session's owner removed you from the session")]
    Removed,
    /// A cap on sessions is reached.
    #[error("{0}")]
    TooManySessions(String),
    /// The session must be recorded and its recording cannot be written.
    #[error("the session cannot be recorded ({0}), and the roles require recording, so it ended")]
    Recording(String),
    /// Something inside this service failed; retrying may help.
    #[error("internal error of the desktop service: {0}")]
    Internal(String),
    /// The transport failed (no alert: it could not arrive).
    #[error("connection to the client failed: {0}")]
    Transport(#[from] std::io::Error),
}

impl SessionError {
    /// Whether the client caused it (bad messages, a timeout waiting for
    /// it), rather than this host.
    pub fn is_client_fault(&self) -> bool {
        match self {
            Self::Malformed(_)
            | Self::Protocol(_)
            | Self::Hello(_)
            | Self::UnknownXSession(_)
            | Self::Timeout(_)
            | Self::NoSuchSession(_)
            | Self::ResumeCodec(_) => true,
            Self::Desktop { client_fault, .. } => *client_fault,
            _ => false,
        }
    }
}

/// How a session ended without error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client closed the connection.
    ClientLeft,
    /// The desktop session's processes exited (the user logged out).
    DesktopExited(String),
    /// This connection left and the session waits to be resumed.
    Detached,
    /// Nobody resumed the session within the grace period.
    NotResumed(Duration),
}
