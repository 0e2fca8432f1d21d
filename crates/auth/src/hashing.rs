//! Where argon2id runs: on the blocking pool (it takes tens of milliseconds
//! of CPU by design, which must not stall a runtime worker), and only a few
//! at a time. Each hash holds about 19 MiB, and unauthenticated clients can
//! ask for one, so the number in flight is capped by a semaphore and the
//! queue in front of it is short: when it is full the answer is [`Busy`] at
//! once, never an unbounded wait or an unbounded heap.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::password::{HashMemory, PasswordError, PasswordHashString};

/// Refused: every hashing slot is taken and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the login service is busy; try again in a moment")]
pub struct Busy {
    /// When trying again makes sense.
    pub retry_after: Duration,
}

/// What a client refused with [`Busy`] is told to wait: a few hashing
/// rounds' worth, so retries do not arrive as one wave.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The longest a queued hash waits for a slot before it is refused anyway
/// (the queue is short, so this is only reached when the machine is starved).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// Caps argon2 hashes in flight.
#[derive(Debug)]
pub struct HashGate {
    slots: Arc<Semaphore>,
    /// Hashes waiting for a slot.
    queued: AtomicUsize,
    max_queued: usize,
    /// argon2's memory, one per slot at most, reused: the process holds
    /// `slots` times the cost (~19 MiB), however many hashes have run.
    memory: Arc<Mutex<Vec<HashMemory>>>,
}

impl Default for HashGate {
    /// Two hashes per core (about 38 MiB per core), and four waiting per
    /// slot: with argon2id's ~50 ms per hash, the last in the queue waits
    /// a few hundred milliseconds.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(2 * cores, 8 * cores)
    }
}

impl HashGate {
    /// At most `slots` hashes at once (at least one), and `max_queued` waiting.
    pub fn new(slots: usize, max_queued: usize) -> Self {
        Self { slots: Arc::new(Semaphore::new(slots.max(1))), queued: AtomicUsize::new(0), max_queued, memory: Arc::default() }
    }

    /// Runs `hash` on the blocking pool once a slot is free, with that
    /// slot's memory, or answers [`Busy`] when too many are waiting already.
    pub async fn run<T: Send + 'static>(&self, hash: impl FnOnce(&mut HashMemory) -> T + Send + 'static) -> Result<T, Busy> {
        let busy = Busy { retry_after: RETRY_AFTER };
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    return Err(busy);
                }
                let _queued = Dequeue(&self.queued);
                match tokio::time::timeout(MAX_WAIT, self.slots.clone().acquire_owned()).await {
                    Ok(Ok(slot)) => slot,
                    // Timed out, or the semaphore is closed (never: it is not closed).
                    _ => return Err(busy),
                }
            }
        };
        // The slot moves into the task: if the caller stops waiting (the
        // client hung up), the hash still holds it until it is done.
        let pool = self.memory.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut memory = pool.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
            let value = hash(&mut memory);
            pool.lock().unwrap_or_else(|p| p.into_inner()).push(memory);
            drop(slot);
            value
        });
        // A panic inside argon2 is not the client's fault, but nothing better
        // than "busy" can be said about it.
        task.await.map_err(|_| busy)
    }

    /// Whether `password` matches `hash`.
    pub async fn verify(&self, hash: &PasswordHashString, password: &str) -> Result<bool, Busy> {
        let (hash, password) = (hash.clone(), password.to_owned());
        self.run(move |memory| hash.verify_in(&password, memory)).await
    }

    /// A new hash of `password` (after its length is checked).
    pub async fn hash(&self, password: &str) -> Result<Result<PasswordHashString, PasswordError>, Busy> {
        let password = password.to_owned();
        self.run(move |memory| PasswordHashString::new_in(&password, memory)).await
    }
}

/// Leaves the queue when dropped, whichever way the wait ends.
struct Dequeue<'a>(&'a AtomicUsize);

impl Drop for Dequeue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_slots_and_the_queue_the_answer_is_busy_at_once() {
        let gate = Arc::new(HashGate::new(1, 1));
        let (release, held) = mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let first = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.run(move |_| {
                    let _ = started.send(());
                    let _ = held.recv();
                    1
                })
                .await
            }
        });
        running.await.unwrap();
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(|_| 2).await }
        });
        // The second waits in the queue; the third finds it full.
        while gate.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(|_| 3).await, Err(Busy { retry_after: RETRY_AFTER }));
        assert_eq!(Busy { retry_after: RETRY_AFTER }.to_string(), "the login service is busy; try again in a moment");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!(gate.queued.load(Ordering::Acquire), 0);
        assert_eq!(gate.run(|_| 4).await, Ok(4), "free again");
    }
}
