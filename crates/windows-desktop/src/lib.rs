//! Oriel's Windows desktop service: desktops reached over RDP (a Windows
//! host, or any RDP server) through IronRDP.
//!
//! This first part is the RDP client a session runs on: [`connect`] opens
//! an RDP connection to a host (TCP, X.224, TLS with the host's certificate
//! pinned, NLA with the credentials of an `ad: false` host), and
//! [`RemoteScreen`] follows the host's screen as its updates arrive,
//! through a server's Deactivation-Reactivation too. What turns it into
//! Oriel frames, input and channels comes next (issue 15).
#![warn(missing_docs)]

mod connect;
mod credentials;
mod error;
mod network;
mod screen;
mod tls;

pub use connect::{RdpConnection, RdpTarget, connect};
pub use credentials::DesktopCredentials;
pub use error::RdpError;
pub use screen::{RemoteScreen, ScreenEvent};
pub use tls::PinnedCertificate;
