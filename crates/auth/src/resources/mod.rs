//! Control-plane resources as plain data with their pure checks: users,
//! locks, join tokens, cluster settings (the authentication preference
//! among them) and desktop services. Storage is the caller's; `yaml` reads and writes them as Teleport-shaped documents
//! for `orielctl create -f` and `get`.

pub mod auth_preference;
pub mod cluster_settings;
pub mod desktop_service;
pub mod invite;
pub mod join_token;
pub mod lock;
pub mod oidc_connector;
pub mod sso_mapping;
pub mod user;
pub mod webauthn_device;
pub mod yaml;
