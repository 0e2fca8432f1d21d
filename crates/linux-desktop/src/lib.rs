//! The Linux desktop service: each TDPB session gets its own Xvfb, runs the
//! chosen xsession on it, and streams what changes on screen as QOIZ frames
//! paced to the client's acknowledgements. Input arrives through XTEST.
//!
//! Layout: [`session`] is the daemon's side of one session (authorize,
//! start its process, relay, end it when access ends); [`session_process`]
//! is that process, which holds the desktop itself;
//! [`handshake`], [`pacing`] and [`clipboard`] are pure decisions; [`frames`] is the
//! capture-and-encode thread; [`x11`] talks to the X server; [`xvfb`] and
//! [`xsession`] start the processes, [`ipc_namespace`] keeps Xvfb's shared framebuffer the session's own; [`shared_dir`] shows a directory the browser shares as a FUSE folder.

#![warn(missing_docs)]

pub mod authority;
pub mod client_stream;
pub mod clipboard;
mod directory_audit;
pub mod encoder;
mod frame_audit;
pub mod frames;
pub mod handshake;
mod idle;
pub mod ipc_namespace;
pub mod keyboard;
mod launcher;
mod link;
pub mod login;
pub mod motion;
pub mod pacing;
pub mod scroll;
pub mod session;
mod session_audit;
pub mod session_process;
pub mod shared_dir;
pub mod thumbnail;
mod video_region;
pub mod window_moves;
pub mod x11;
pub mod xauthority;
pub mod xsession;
pub mod xvfb;

pub use authority::{AuthorityError, Locked, SessionAuthority};
pub use frames::FrameConfig;
pub use session::{DesktopConfig, LinuxDesktopService, RdpAccount, RdpDesktop, SessionEnd, SessionError, SessionLimits, SessionRequest};
pub use session_process::SessionProgram;
