//! The audit log: who did what, and when. Events come from the control
//! plane (logins, users, roles, locks, tokens, joins) and from desktop
//! services (sessions, clipboard, shared directories, disconnects); the
//! auth service writes them all to the cluster's store
//! (`store/events.rs`), where they expire after the retention. Reading them
//! takes a role with `rules` on `event` (see `docs/audit.md`).

mod event;
mod query;
mod record;

pub use event::{AuditEvent, EventError, EventType, MAX_FIELD, MAX_FIELDS, MAX_PATH_FIELD, millis, new_session_id, parse_rfc3339, rfc3339};
pub use query::{parse_types, time_bound};
pub use record::{AuditSettings, DEFAULT_RETENTION, Rejected};
