//! Control-plane resources as plain data with their pure checks: users,
//! locks and join tokens. Storage and wire formats are the caller's.

pub mod invite;
pub mod join_token;
pub mod user;
pub mod lock;
