//! The control plane's admin API. `orielctl` builds a [`proto::Command`];
//! [`operations::run`] carries it out on a [`ControlPlane`] and returns an
//! [`proto::Outcome`] to print. The same function runs in-process (when
//! `orielctl` opens the data dir on the auth host) and behind the gRPC
//! service `oriel start` serves on `--auth-listen` ([`server`]), which
//! takes mutual TLS only and admin identities only. [`client`] dials it
//! with an identity file ([`identity`]) that `orielctl auth sign` writes.
//!
//! [`ControlPlane`]: oriel_auth::control_plane::ControlPlane

#![warn(missing_docs)]

pub mod client;
pub mod download;
pub mod failure;
pub mod identity;
pub mod incoming;
pub mod operations;
pub mod outcome;
pub mod server;

/// The generated messages and the gRPC client and server of
/// `proto/admin.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("oriel.admin.v1");
}

pub use failure::{Failure, FailureKind};

pub use oriel_auth::ca::AUTH_SERVER_NAME;

/// Where `oriel start` serves the admin API unless told otherwise.
pub const DEFAULT_AUTH_LISTEN: &str = "127.0.0.1:3025";
