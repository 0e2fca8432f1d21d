//! The Linux desktop service: each TDPB session gets its own Xvfb, runs the
//! chosen xsession on it, and streams what changes on screen as QOIZ frames
//! paced to the client's acknowledgements. Input arrives through XTEST.
//!
//! Layout: [`session`] drives one session over any byte stream;
//! [`handshake`], [`pacing`] and [`clipboard`] are pure decisions; [`frames`] is the
//! capture-and-encode thread; [`x11`] talks to the X server; [`xvfb`] and
//! [`xsession`] start the processes; [`shared_dir`] shows a directory the browser shares as a FUSE folder.

#![warn(missing_docs)]

pub mod authority;
pub mod clipboard;
pub mod encoder;
pub mod frames;
pub mod handshake;
mod idle;
pub mod keyboard;
mod launcher;
pub mod login;
pub mod pacing;
pub mod session;
pub mod shared_dir;
pub mod x11;
pub mod xauthority;
pub mod xsession;
pub mod xvfb;

pub use authority::{AuthorityError, Locked, SessionAuthority};
pub use frames::FrameConfig;
pub use session::{DesktopConfig, LinuxDesktopService, SessionEnd, SessionError, SessionRequest};
