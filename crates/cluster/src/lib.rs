//! Oriel across hosts. A desktop service on its own host joins with a token
//! ([`join`]), keeps its host certificate in its data dir and renews it
//! ([`credentials`], [`renewal`]), asks the auth service for every decision
//! over the cluster API ([`remote_auth`], served by [`auth_api`]), and dials
//! a reverse tunnel out to each proxy ([`agent`]); the proxy opens desktop
//! sessions over that tunnel, or dials the service directly ([`dialer`],
//! [`tunnel`]). Every connection is mutual TLS on the cluster's host CA
//! ([`tls`]); gRPC (tonic) carries the calls and the session streams.

#![warn(missing_docs)]

pub mod accept;
pub mod agent;
pub mod agent_listener;
pub mod agent_tunnel;
pub mod auth_api;
mod bridge;
mod connect;
pub mod credentials;
pub mod dialer;
pub mod event_spool;
pub mod join;
pub mod remote_auth;
pub mod renewal;
pub mod tls;
pub mod tunnel;

/// The generated messages, clients and servers of `proto/cluster.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("oriel.cluster.v1");
}

pub use credentials::HostCredentials;
pub use tls::LiveIdentity;

/// The metadata key carrying the user certificate of a desktop session.
pub const CERTIFICATE_METADATA: &str = "oriel-certificate-bin";
/// The metadata key carrying the login of a desktop session.
pub const LOGIN_METADATA: &str = "oriel-login";
/// The metadata key carrying the kind of desktop a call is about
/// (`linux`, `windows`).
pub const DESKTOP_KIND_METADATA: &str = "oriel-desktop-kind";
/// The metadata key carrying the name of the desktop a call is about: a
/// Windows desktop service serves several.
pub const DESKTOP_METADATA: &str = "oriel-desktop";
/// The metadata key carrying the id the proxy chose for a desktop session.
pub const SESSION_ID_METADATA: &str = "oriel-session-id";
/// Metadata of a `Session` call that resumes the running session
/// `oriel-session-id` names (`1`) instead of starting one.
pub const RESUME_METADATA: &str = "oriel-resume";
/// Metadata of a `Session` call that joins the running session
/// `oriel-session-id` names as a participant: `observer` or `peer`.
pub const JOIN_METADATA: &str = "oriel-join";
