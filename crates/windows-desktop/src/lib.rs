//! Oriel's Windows desktop service: desktops reached over RDP (a Windows
//! host, or any RDP server) through IronRDP.
//!
//! This first part is the RDP client a session runs on: [`connect`] opens
//! an RDP connection to a host (TCP, X.224, TLS with the host's certificate
//! pinned, NLA with the credentials of an `ad: false` host), and
//! [`RemoteScreen`] follows the host's screen as its updates arrive,
//! through a server's Deactivation-Reactivation too. [`session`] is a
//! Windows desktop's session process (`oriel rdp-session`): the Linux
//! session process's protocol with the desktop service, over one RDP
//! connection: [`frames`] turns the host's updates into Oriel frames,
//! [`input`] the browser's input into RDP's, [`clipboard`] carries text
//! between the browser and the host's clipboard (CLIPRDR); the screen
//! follows the browser's size through the display control channel.
#![warn(missing_docs)]

mod channel_cap;
pub mod clipboard;
mod connect;
mod credentials;
pub mod discovery;
pub mod drive;
mod error;
pub mod frames;
pub mod fuzzing;
pub mod input;
mod network;
mod screen;
pub mod session;
mod tls;

pub use connect::{RdpConnection, RdpTarget, connect};
pub use credentials::DesktopCredentials;
pub use error::RdpError;
pub use input::InputState;
pub use screen::{HostPdu, PointerShape, RemoteScreen, ScreenEvent};
pub use tls::{HostTrust, PinnedCertificate};
