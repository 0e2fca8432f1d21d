//! The one test suite every driver passes, written against `&dyn Backend`.
//!
//! A driver's test file makes a [`Fixture`] (a fresh, empty store that can be
//! opened more than once) and expands [`compliance_tests!`](crate::compliance_tests),
//! which makes one `#[tokio::test]` per case:
//!
//! ```text
//! async fn fixture() -> Option<MyFixture> { Some(MyFixture::new()) }
//! oriel_backend::compliance_tests!(fixture);
//! ```
//!
//! `None` skips every case (for a driver whose server the developer chose not
//! to run). Time moves only through a [`FakeClock`]; no case sleeps for expiry
//! or asserts a duration. Waits for events have a generous deadline that only
//! turns a hang into a failure.

mod crud;
mod expiry;
mod keys;
mod range;
mod stress;
mod watch;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use crud::{compare_and_swap, create_conflicts, crud, delete_range, list_order_prefix_limit};
pub use expiry::{expiry_hides_at_once, keep_alive, sweep_emits_delete};
pub use keys::{hostile_keys_refused, odd_keys};
pub use range::{
    list_range_bounds_and_order, list_range_clipped_to_prefix, list_range_hides_expired,
    put_many_all_or_nothing, put_many_empty_batch, put_many_large_values,
    put_many_writes_each_item,
};
pub use stress::{concurrent_compare_and_swap, large_values, persists_across_reopen};
pub use watch::{
    close_ends_everything, two_watchers, watch_events_in_order,
    watch_misses_nothing_under_concurrent_writes, watch_needs_a_prefix, watch_prefix_filtering,
    watch_sees_other_handle, watcher_behind_gets_reset,
};

use crate::{Backend, Event, FakeClock, Key, Options, Prefix, Result, Watcher};

/// A fresh, empty store for one case.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// Opens a handle on this fixture's store. Handles opened from one fixture
    /// share their data, as two processes on one SQLite file or two nodes on
    /// one PostgreSQL database do.
    async fn open(&self, options: Options) -> Result<Arc<dyn Backend>>;

    /// Removes what the fixture made, after a case that passed.
    async fn cleanup(&self) {}
}

/// Makes one `#[tokio::test]` per compliance case. The argument names an
/// `async fn() -> Option<impl Fixture>`; the calling crate needs `tokio` with
/// the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! compliance_tests {
    ($fixture:path) => {
        $crate::compliance_tests!(@cases $fixture;
            crud, create_conflicts, compare_and_swap, list_order_prefix_limit, delete_range,
            expiry_hides_at_once, sweep_emits_delete, keep_alive,
            watch_events_in_order, watch_prefix_filtering, two_watchers, watch_sees_other_handle,
            watch_misses_nothing_under_concurrent_writes,
            watcher_behind_gets_reset, watch_needs_a_prefix, close_ends_everything,
            concurrent_compare_and_swap, odd_keys, hostile_keys_refused, large_values,
            persists_across_reopen,
            list_range_bounds_and_order, list_range_clipped_to_prefix, list_range_hides_expired,
            put_many_writes_each_item, put_many_all_or_nothing, put_many_empty_batch,
            put_many_large_values,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(fixture) = $fixture().await {
                    $crate::compliance::$case(&fixture).await;
                    $crate::compliance::Fixture::cleanup(&fixture).await;
                }
            }
        )*
    };
}

/// How long a case waits for an event before it calls it a hang.
const PATIENCE: Duration = Duration::from_secs(30);

/// A fake clock at a fixed point, 2030-03-17.
pub fn fake_clock() -> Arc<FakeClock> {
    Arc::new(FakeClock::new(
        UNIX_EPOCH + Duration::from_secs(1_900_000_000),
    ))
}

/// Options for a case: the fake clock, and short intervals so that sweeps
/// and cross-handle polls happen soon after the clock moves.
pub fn options(clock: &Arc<FakeClock>) -> Options {
    Options {
        clock: clock.clone(),
        sweep_interval: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        // Longer than any case moves the clock: only the Reset case prunes.
        event_retention: Duration::from_secs(10_000 * 86_400),
        watch_buffer: 1024,
    }
}

async fn open(fixture: &dyn Fixture, clock: &Arc<FakeClock>) -> Arc<dyn Backend> {
    fixture
        .open(options(clock))
        .await
        .expect("open the backend")
}

fn key(key: &str) -> Key {
    Key::new(key).unwrap_or_else(|e| panic!("{key:?} is not a key: {e}"))
}

fn prefix(prefix: &str) -> Prefix {
    Prefix::new(prefix).unwrap_or_else(|e| panic!("{prefix:?} is not a prefix: {e}"))
}

fn now(clock: &FakeClock) -> SystemTime {
    crate::Clock::now(clock)
}

/// The watcher's next event; `None` if it ended.
async fn next(watcher: &mut Watcher) -> Option<Event> {
    tokio::time::timeout(PATIENCE, watcher.next())
        .await
        .expect("no event came (hang)")
}

/// The watcher's next event, which must exist.
async fn event(watcher: &mut Watcher) -> Event {
    next(watcher).await.expect("the watcher ended")
}

async fn expect_init(watcher: &mut Watcher) {
    assert_eq!(
        event(watcher).await,
        Event::Init,
        "a watcher starts with Init"
    );
}

/// Panics unless `$result` is an `Err` matching `$pattern`.
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match &$result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}
use assert_err;
