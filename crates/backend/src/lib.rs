//! Oriel's storage: a narrow key-value interface ([`Backend`]) with revisions,
//! compare-and-swap, expiry and watch, and two drivers behind it:
//! [`SqliteBackend`] (embedded, the default) and [`PostgresBackend`] (for
//! clusters). [`compliance`] holds the one test suite both pass.

#![warn(missing_docs)]

mod backend;
mod clock;
pub mod compliance;
mod error;
mod item;
mod journal;
mod key;
pub mod postgres;
pub mod sqlite;
mod watch;

pub use backend::{Backend, MAX_BATCH_LEN, Options, Order};
pub use clock::{Clock, FakeClock, SystemClock};
pub use error::{BackendError, Result, Retry};
pub use item::{Item, MAX_VALUE_LEN, NewItem, Revision};
pub use key::{Key, KeyError, MAX_KEY_LEN, Prefix};
pub use postgres::PostgresBackend;
pub use sqlite::SqliteBackend;
pub use watch::{Event, Watcher};
