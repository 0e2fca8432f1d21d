//! The catalog of session recordings: what lists them, kept apart from the
//! recordings themselves (objects in `RecordingStorage`) so that listing
//! never reads an object. Keyed by session id, a UUIDv7, so key order is
//! the order the sessions started in.

use std::time::SystemTime;

use oriel_backend::{Key, Order};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};
use crate::audit::parse_rfc3339;

const KIND: &str = "recording";
const FOLDER: &str = "recordings";

/// The most recordings one page holds.
pub const MAX_RECORDING_PAGE: usize = 500;

/// How many entries one listing reads at most while filtering, as for
/// events: past it the page ends early with a token to go on.
const SCAN_BUDGET: usize = 20_000;

/// One recording as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// The session id, which is also the recording's.
    pub id: String,
    /// Who ran the session.
    pub user: String,
    /// The desktop login it ran as.
    pub login: String,
    /// The desktop's resource name.
    pub desktop: String,
    /// `linux` (or `windows`).
    pub desktop_kind: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    /// From the start to the last record.
    pub duration_ms: u64,
    /// The object's bytes.
    pub size: u64,
    /// Who took part (the user; later, who joined a shared session).
    pub participants: Vec<String>,
}

/// Which recordings to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingQuery {
    /// Started at or after this.
    pub since: Option<SystemTime>,
    /// Started before this.
    pub until: Option<SystemTime>,
    /// Only this user's.
    pub user: Option<String>,
    /// Only this desktop's.
    pub desktop: Option<String>,
    /// 1 to [`MAX_RECORDING_PAGE`]; 0 means the most.
    pub limit: usize,
    /// Where the previous page ended.
    pub page: Option<String>,
}

/// One page of recordings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingPage {
    /// Newest first.
    pub recordings: Vec<RecordingRecord>,
    /// Where the next page starts, when there may be more.
    pub next_page: Option<String>,
}

impl Store {
    /// Adds `record` to the catalog; writing the same recording again (an
    /// upload whose answer was lost) keeps the one stored.
    pub async fn add_recording(&self, record: &RecordingRecord) -> Result<(), StoreError> {
        match self.write_json(KIND, FOLDER, &record.id, record, None, Write::Create).await {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The catalog entry of recording `id`.
    pub async fn recording(&self, id: &str) -> Result<RecordingRecord, StoreError> {
        Ok(self.get_json(KIND, FOLDER, id).await?.value)
    }

    /// A page of the recordings `query` asks for that `visible` keeps.
    pub async fn recordings(&self, query: &RecordingQuery, visible: impl Fn(&RecordingRecord) -> bool) -> Result<RecordingPage, StoreError> {
        let prefix = Self::prefix(FOLDER);
        let limit = if query.limit == 0 { MAX_RECORDING_PAGE } else { query.limit.min(MAX_RECORDING_PAGE) };
        // A token is the last key seen; anything else starts from the newest.
        let mut to = query.page.as_ref().and_then(|page| Key::new(page.clone()).ok()).filter(|key| key.as_str().starts_with(prefix.as_str()));
        let mut page = RecordingPage::default();
        let mut scanned = 0;
        loop {
            let batch = limit.max(100);
            let items = self.backend.list_range(&prefix, None, to.as_ref(), batch, Order::Descending).await.map_err(StoreError::Backend)?;
            let exhausted = items.len() < batch;
            let Some(last) = items.last().map(|item| item.key.clone()) else { return Ok(page) };
            for item in items {
                scanned += 1;
                let record: RecordingRecord =
                    serde_json::from_slice(&item.value).map_err(|e| StoreError::Corrupt { kind: KIND, name: item.key.to_string(), detail: e.to_string() })?;
                if wanted(query, &record) && visible(&record) {
                    page.recordings.push(record);
                    if page.recordings.len() == limit {
                        page.next_page = Some(item.key.to_string());
                        return Ok(page);
                    }
                }
            }
            if exhausted {
                return Ok(page);
            }
            if scanned >= SCAN_BUDGET {
                page.next_page = Some(last.to_string());
                return Ok(page);
            }
            to = Some(last);
        }
    }
}

fn wanted(query: &RecordingQuery, record: &RecordingRecord) -> bool {
    let start = parse_rfc3339(&record.start).ok();
    query.since.is_none_or(|since| start.is_some_and(|start| start >= since))
        && query.until.is_none_or(|until| start.is_some_and(|start| start < until))
        && query.user.as_ref().is_none_or(|user| record.user == *user)
        && query.desktop.as_ref().is_none_or(|desktop| record.desktop == *desktop)
}
