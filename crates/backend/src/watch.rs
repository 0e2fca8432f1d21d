//! Watchers, and the hub that feeds them.

use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::{BackendError, Item, Key, Prefix, Result};

/// What a watcher sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Always first: every change committed from now on will be delivered.
    /// A reader lists what it needs after this, then applies events; events
    /// may repeat changes the list already showed, in order.
    Init,
    /// An item was written.
    Put(Item),
    /// An item was deleted, or swept after it expired.
    Delete(Key),
    /// Events were lost (this watcher fell behind, or the log was pruned past
    /// it). The watcher ends here: make a new one and list again.
    Reset,
}

/// A stream of [`Event`]s for some prefixes.
#[derive(Debug)]
pub struct Watcher {
    prefixes: Vec<Prefix>,
    events: broadcast::Receiver<Event>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    Live,
    Done,
}

impl Watcher {
    /// The next event; `None` once the watcher has ended (after `Reset`, or
    /// when the backend closes).
    pub async fn next(&mut self) -> Option<Event> {
        match self.state {
            State::New => {
                self.state = State::Live;
                return Some(Event::Init);
            }
            State::Done => return None,
            State::Live => {}
        }
        loop {
            match self.events.recv().await {
                Ok(Event::Reset) => return self.reset(),
                Ok(event) if self.wants(&event) => return Some(event),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "watcher fell behind; resetting it");
                    return self.reset();
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.state = State::Done;
                    return None;
                }
            }
        }
    }

    fn reset(&mut self) -> Option<Event> {
        self.state = State::Done;
        Some(Event::Reset)
    }

    fn wants(&self, event: &Event) -> bool {
        let key = match event {
            Event::Put(item) => &item.key,
            Event::Delete(key) => key,
            Event::Init | Event::Reset => return true,
        };
        self.prefixes.iter().any(|prefix| prefix.contains(key))
    }
}

/// Fans events out to watchers. A broadcast channel keeps one copy of each
/// event for all watchers and tells a receiver that fell behind by how much,
/// which becomes its `Reset`.
#[derive(Debug)]
pub(crate) struct Hub {
    sender: Mutex<Option<broadcast::Sender<Event>>>,
}

impl Hub {
    pub(crate) fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender: Mutex::new(Some(sender)),
        }
    }

    pub(crate) fn watch(&self, prefixes: &[Prefix]) -> Result<Watcher> {
        if prefixes.is_empty() {
            return Err(BackendError::Invalid("watch needs at least one prefix"));
        }
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let sender = sender.as_ref().ok_or(BackendError::Closed)?;
        Ok(Watcher {
            prefixes: prefixes.to_vec(),
            events: sender.subscribe(),
            state: State::New,
        })
    }

    pub(crate) fn publish(&self, event: Event) {
        if let Some(sender) = &*self.sender.lock().unwrap_or_else(|e| e.into_inner()) {
            // An error only means nobody is watching.
            let _ = sender.send(event);
        }
    }

    /// Ends every watcher.
    pub(crate) fn close(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
