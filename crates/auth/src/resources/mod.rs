//! Control-plane resources that are decisions in themselves: locks and join
//! tokens. Plain data with pure checks; storage and wire formats are the
//! caller's.

pub mod join_token;
pub mod lock;
