//! Where argon2id runs: on the blocking pool (it takes tens of milliseconds
//! of CPU by design, which must not stall a runtime worker), and only a few
//! at a time. Each hash holds about 19 MiB, and unauthenticated clients can
//! ask for one, so the number in flight is capped by a semaphore and the
//! queue in front of it is short: when it is full the answer is [`Busy`] at
//! once, never an unbounded wait or an unbounded heap.
//!
//! Attempts from a network someone logged in from lately ([`Lane::Known`])
//! may also take a slot of their own, with its own short queue, which
//! strangers never get: a flood from fresh addresses fills the shared
//! slots and queue, and people who use the service every day still log in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Which slots a hash may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The shared slots only.
    Anyone,
    /// The shared slots, else the slot kept for networks someone logged in
    /// from lately (`Attempt::from_known_network`).
    Known,
}

/// How many hashes may wait for the known networks' slot.
const MAX_QUEUED_KNOWN: usize = 4;

/// Caps argon2 hashes in flight.
#[derive(Debug)]
pub struct HashGate {
    slots: Arc<Semaphore>,
    /// Hashes waiting for a slot.
    queued: AtomicUsize,
    max_queued: usize,
    /// One more slot, for [`Lane::Known`] only, and its queue.
    known_slot: Arc<Semaphore>,
    known_queued: AtomicUsize,
    /// argon2's memory, one per slot at most, reused: the process holds
    /// `slots + 1` times the cost (~19 MiB), however many hashes have run.
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
    /// At most `slots` shared hashes at once (at least one), and
    /// `max_queued` waiting; plus one for [`Lane::Known`].
    pub fn new(slots: usize, max_queued: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            queued: AtomicUsize::new(0),
            max_queued,
            known_slot: Arc::new(Semaphore::new(1)),
            known_queued: AtomicUsize::new(0),
            memory: Arc::default(),
        }
    }

    /// Runs `hash` on the blocking pool once a slot of `lane` is free, with
    /// that slot's memory, or answers [`Busy`] when too many are waiting
    /// already.
    pub async fn run<T: Send + 'static>(&self, lane: Lane, hash: impl FnOnce(&mut HashMemory) -> T + Send + 'static) -> Result<T, Busy> {
        let busy = Busy { retry_after: RETRY_AFTER };
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => match lane {
                Lane::Anyone => wait_for(&self.slots, &self.queued, self.max_queued).await.ok_or(busy)?,
                Lane::Known => match self.known_slot.clone().try_acquire_owned() {
                    Ok(slot) => slot,
                    Err(_) => wait_for(&self.known_slot, &self.known_queued, MAX_QUEUED_KNOWN).await.ok_or(busy)?,
                },
            },
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
    pub async fn verify(&self, lane: Lane, hash: &PasswordHashString, password: &str) -> Result<bool, Busy> {
        let (hash, password) = (hash.clone(), password.to_owned());
        self.run(lane, move |memory| hash.verify_in(&password, memory)).await
    }

    /// A new hash of `password` (after its length is checked).
    pub async fn hash(&self, lane: Lane, password: &str) -> Result<Result<PasswordHashString, PasswordError>, Busy> {
        let password = password.to_owned();
        self.run(lane, move |memory| PasswordHashString::new_in(&password, memory)).await
    }
}

/// A permit of `slots` after a wait in a queue of at most `max_queued`
/// (counted in `queued`) and at most [`MAX_WAIT`]; `None` when the queue
/// is full or the wait too long.
async fn wait_for(slots: &Arc<Semaphore>, queued: &AtomicUsize, max_queued: usize) -> Option<OwnedSemaphorePermit> {
    if queued.fetch_add(1, Ordering::AcqRel) >= max_queued {
        queued.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    let _queued = Dequeue(queued);
    // Timed out, or the semaphore is closed (never: it is not closed).
    tokio::time::timeout(MAX_WAIT, slots.clone().acquire_owned()).await.ok()?.ok()
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
                gate.run(Lane::Anyone, move |_| {
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
            async move { gate.run(Lane::Anyone, |_| 2).await }
        });
        // The second waits in the queue; the third finds it full.
        while gate.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(Lane::Anyone, |_| 3).await, Err(Busy { retry_after: RETRY_AFTER }));
        assert_eq!(gate.run(Lane::Known, |_| 30).await, Ok(30), "a known network's attempt takes the slot kept for it");
        assert_eq!(Busy { retry_after: RETRY_AFTER }.to_string(), "the login service is busy; try again in a moment");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!(gate.queued.load(Ordering::Acquire), 0);
        assert_eq!(gate.run(Lane::Anyone, |_| 4).await, Ok(4), "free again");
    }
}
