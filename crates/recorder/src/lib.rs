//! The writing side of session recordings (`docs/recording.md`): a
//! [`SessionRecorder`] fed the frames a session relays, written by a task
//! of its own to a spool file or straight to the auth service, and the
//! [`RecordingSpool`] that delivers closed recordings and recovers the ones
//! a crash cut short.
//!
//! Whoever records uses it: a desktop service (modes `node`, `node-sync`)
//! and the proxy (`proxy`, `proxy-sync`). Where recordings go is a
//! [`RecordingDestination`]: the control plane in this process, or the auth
//! service across the cluster API.

mod destination;
mod session_recorder;
mod spool;

pub use destination::{BoxFuture, DeliveryError, RecordingDestination, RecordingStream};
pub use session_recorder::SessionRecorder;
pub use spool::RecordingSpool;
