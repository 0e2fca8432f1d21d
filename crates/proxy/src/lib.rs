//! The proxy: serves the web client over HTTPS and relays TDPB between a
//! browser's websocket and a desktop service.
//!
//! The desktop side is any byte stream a [`DesktopDialer`] returns: an
//! in-process pipe today, a mutual-TLS tunnel when services run elsewhere.
//! The proxy checks every browser frame's length before it passes on, so a
//! malformed frame ends that session only.
//!
//! Abuse: connections past [`ConnectionLimits`] are closed before TLS
//! (`connections`), the desktop websocket accepts only this proxy's own
//! origin (`origin`), and the session cookie is `__Host-` prefixed.

#![warn(missing_docs)]

mod api;
mod audit_api;
mod byte_range;
pub mod connections;
mod latency;
pub mod origin;
mod proxy_recording;
mod recordings_api;
mod relay;
mod running_sessions;
mod session_mfa;
mod sso_api;
pub mod tls;
mod web;
mod webauthn_api;

pub use api::COOKIE;
pub use connections::ConnectionLimits;
pub use latency::LatencyProbe;
pub use web::{DesktopDialer, DesktopRequest, DesktopStream, ProxyConfig, RunningSession, router, serve};
