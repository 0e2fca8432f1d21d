//! The audit log in storage: every event once by time, and again under its
//! user and under its session, so that the listings people ask for most
//! (the latest events, a user's, a session's) are each one range read in
//! key order, newest first or oldest first, however many events there are.
//!
//! | key | value |
//! |---|---|
//! | `/audit/events/<ms>-<uid>` | the event's JSON |
//! | `/audit/by_user/<hex of the user>/<ms>-<uid>` | the same |
//! | `/audit/by_session/<hex of the sid>/<ms>-<uid>` | the same |
//!
//! `<ms>` is the event's time in milliseconds, zero-padded to 16 digits, so
//! key order is time order. The user and session are hex-encoded: a name a
//! refused certificate claims can hold anything. The copies cost space and
//! buy reads that never scan; every copy expires with the event, after the
//! retention. All of one event's keys are written in one transaction.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oriel_backend::{Key, MAX_BATCH_LEN, NewItem, Order, Prefix};

use super::{Store, StoreError};
use crate::audit::{AuditEvent, EventType};

const KIND: &str = "audit event";
const EVENTS: &str = "/audit/events/";
const BY_USER: &str = "/audit/by_user/";
const BY_SESSION: &str = "/audit/by_session/";

/// The keys one event is written under, at most.
const KEYS_PER_EVENT: usize = 3;

/// The most events one page holds.
pub const MAX_PAGE: usize = 1000;

/// How many keys one listing reads at most while filtering by type: past
/// it the page ends early, with a token to go on from there, so a filter
/// that matches nothing in a million events is not one huge read.
const SCAN_BUDGET: usize = 20_000;

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// From this time on (inclusive).
    pub since: Option<SystemTime>,
    /// Before this time.
    pub until: Option<SystemTime>,
    /// Only these types (all when empty).
    pub types: Vec<EventType>,
    /// Only events of this user.
    pub user: Option<String>,
    /// Only events of this desktop session.
    pub session: Option<String>,
    /// At most this many (1 to [`MAX_PAGE`]; 0 means [`MAX_PAGE`]).
    pub limit: usize,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Where the previous page ended ([`EventPage::next_page`]).
    pub page: Option<String>,
}

/// One page of events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPage {
    /// The events, in the order asked.
    pub events: Vec<AuditEvent>,
    /// Where the next page starts, when there may be more.
    pub next_page: Option<String>,
}

/// A page token that does not belong to the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the page token does not belong to this listing; start again without it")]
pub struct BadPage;

impl Store {
    /// Writes `event` (bounded first) to the log and its user and session
    /// listings, all at once, expiring `retention` after its time. Writing
    /// one event twice (a desktop service sending a batch again) stores it
    /// once: its keys come from its time and id.
    pub async fn record_event(&self, event: &AuditEvent, retention: Duration) -> Result<(), StoreError> {
        self.record_events(std::slice::from_ref(event), retention).await
    }

    /// [`Self::record_event`] for several events: each event's keys in one
    /// transaction, and as many events together as a transaction takes.
    /// Written again after a failure part way, the events already stored
    /// stay stored once.
    pub async fn record_events(&self, events: &[AuditEvent], retention: Duration) -> Result<(), StoreError> {
        for chunk in events.chunks(MAX_BATCH_LEN / KEYS_PER_EVENT) {
            self.record_chunk(chunk, retention).await?;
        }
        Ok(())
    }

    async fn record_chunk(&self, events: &[AuditEvent], retention: Duration) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(events.len() * KEYS_PER_EVENT);
        for event in events {
            let event = event.clone().bounded();
            let name = entry_name(&event);
            let bytes = serde_json::to_vec(&event.to_json()).expect("JSON values always serialize");
            let expires = event.time + retention;
            // The system acts as nobody: such events are in the log only.
            let mut keys = vec![format!("{EVENTS}{name}")];
            if !event.user.is_empty() {
                keys.push(format!("{BY_USER}{}/{name}", hex::encode(&event.user)));
            }
            if let Some(sid) = event.sid.as_ref().filter(|sid| !sid.is_empty()) {
                keys.push(format!("{BY_SESSION}{}/{name}", hex::encode(sid)));
            }
            for key in keys {
                let key = Key::new(key).map_err(|_| StoreError::InvalidName { kind: KIND, name: name.clone() })?;
                items.push(NewItem::new(key, bytes.clone()).expires_at(expires));
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        self.backend.put_many(items).await.map(drop).map_err(StoreError::Backend)
    }

    /// A page of the events `query` asks for.
    pub async fn events(&self, query: &EventQuery) -> Result<Result<EventPage, BadPage>, StoreError> {
        let folder = match (query.session.as_ref().filter(|s| !s.is_empty()), query.user.as_ref().filter(|u| !u.is_empty())) {
            (Some(sid), _) => format!("{BY_SESSION}{}/", hex::encode(sid)),
            (None, Some(user)) => format!("{BY_USER}{}/", hex::encode(user)),
            // Nobody's events (the system's) are found by a scan of the log.
            (None, None) => EVENTS.to_owned(),
        };
        let prefix = Prefix::new(folder.clone()).map_err(|_| StoreError::InvalidName { kind: KIND, name: folder.clone() })?;
        let limit = if query.limit == 0 { MAX_PAGE } else { query.limit.min(MAX_PAGE) };
        let order = if query.oldest_first { Order::Ascending } else { Order::Descending };
        // The time range as key bounds: `[since, until)`.
        let bound = |at: SystemTime| Key::new(format!("{folder}{:016}", millis(at))).ok();
        let mut from = query.since.and_then(bound);
        let mut to = query.until.and_then(bound);
        let mut skip = None;
        if let Some(page) = &query.page {
            if !page.starts_with(&folder) {
                return Ok(Err(BadPage));
            }
            let Ok(last) = Key::new(page.clone()) else { return Ok(Err(BadPage)) };
            // Going on past the last key seen: it is the new end (exclusive)
            // newest first, or the new start (inclusive, so skipped) oldest first.
            if query.oldest_first {
                from = Some(last.clone());
                skip = Some(last);
            } else {
                to = Some(last);
            }
        }
        let mut page = EventPage::default();
        let mut scanned = 0;
        loop {
            let batch = limit.max(100);
            let items = self.backend.list_range(&prefix, from.as_ref(), to.as_ref(), batch, order).await.map_err(StoreError::Backend)?;
            let exhausted = items.len() < batch;
            let mut last_key = None;
            for item in items {
                scanned += 1;
                last_key = Some(item.key.clone());
                if skip.as_ref() == Some(&item.key) {
                    continue;
                }
                let value: serde_json::Value =
                    serde_json::from_slice(&item.value).map_err(|e| StoreError::Corrupt { kind: KIND, name: item.key.to_string(), detail: e.to_string() })?;
                let event = AuditEvent::from_json(value).map_err(|e| StoreError::Corrupt { kind: KIND, name: item.key.to_string(), detail: e.to_string() })?;
                if !wanted(query, &event) {
                    continue;
                }
                page.events.push(event);
                if page.events.len() == limit {
                    page.next_page = Some(item.key.to_string());
                    return Ok(Ok(page));
                }
            }
            let Some(last) = last_key else { return Ok(Ok(page)) };
            if exhausted {
                return Ok(Ok(page));
            }
            if scanned >= SCAN_BUDGET {
                page.next_page = Some(last.to_string());
                return Ok(Ok(page));
            }
            if query.oldest_first {
                from = Some(last.clone());
                skip = Some(last);
            } else {
                to = Some(last);
            }
        }
    }
}

/// The filters the key range cannot apply.
fn wanted(query: &EventQuery, event: &AuditEvent) -> bool {
    (query.types.is_empty() || query.types.contains(&event.event))
        && query.user.as_ref().is_none_or(|user| *user == event.user)
        && query.session.as_ref().is_none_or(|sid| event.sid.as_ref() == Some(sid))
}

/// `<ms>-<uid>`, with the uid made safe for a key segment.
fn entry_name(event: &AuditEvent) -> String {
    let uid: String = event.uid.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{:016}-{uid}", millis(event.time))
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
