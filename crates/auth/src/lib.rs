//! The control plane's identity pieces: how a person proves who they are.
//!
//! Pure and clock-free: every check takes the current time as a parameter,
//! so tests drive time and nothing here sleeps or reads the system clock.
//! Storage and transport live elsewhere.

#![warn(missing_docs)]

pub mod access_feed;
pub mod audit;
pub mod bearer;
pub mod ca;
pub mod certificates;
pub mod connections;
pub mod control_plane;
pub mod create;
pub mod data_dir;
pub mod grant;
pub mod hashing;
pub mod join;
pub mod join_grant;
pub mod login;
pub mod password;
pub mod recordings;
pub mod resources;
pub mod revocation;
pub mod second_factor;
pub mod served;
pub mod session_mfa;
pub mod sso;
pub mod storage;
pub mod store;
pub mod throttle;
mod waiting;
pub mod webauthn;
