//! Access decisions in storage, oldest first: every session start (allowed
//! or denied, with the reason) and every disconnect the control plane
//! caused. The full audit log builds on this later.
//!
//! Anyone who can reach a desktop service can make a decision be written
//! (a refused certificate is recorded too, with the name it claims), so
//! each record is bounded: every field is cut to its cap on a character
//! boundary (marked with `…`), and the record expires [`DECISION_TTL`]
//! after it was made, so the store does not grow without end.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};

const KIND: &str = "decision";
const FOLDER: &str = "decisions";

/// How long a decision is kept.
pub const DECISION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The longest `reason` kept, in bytes; the other text fields are capped at
/// [`MAX_DECISION_FIELD`].
pub const MAX_DECISION_REASON: usize = 2048;

/// The longest `event`, `user`, `login`, `desktop_kind` or `desktop` kept,
/// in bytes.
pub const MAX_DECISION_FIELD: usize = 256;

/// What marks a cut field.
const CUT: &str = "…";

/// One recorded decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Milliseconds since the epoch.
    pub time_ms: u64,
    /// `linux.desktop.session.start` or `client.disconnect`.
    pub event: String,
    /// The Oriel user.
    pub user: String,
    /// The desktop login.
    pub login: String,
    /// `linux` or `windows`.
    pub desktop_kind: String,
    /// The desktop's name.
    pub desktop: String,
    /// Whether the session was allowed (always false for a disconnect).
    pub allowed: bool,
    /// The explanation: which role and rule, or which lock.
    pub reason: String,
}

impl DecisionRecord {
    /// This record with every field within its cap.
    pub fn bounded(mut self) -> Self {
        for field in [&mut self.event, &mut self.user, &mut self.login, &mut self.desktop_kind, &mut self.desktop] {
            cut(field, MAX_DECISION_FIELD);
        }
        cut(&mut self.reason, MAX_DECISION_REASON);
        self
    }

    /// When a record made at `time_ms` expires.
    fn expires(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.time_ms) + DECISION_TTL
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary, ending with
/// [`CUT`] when anything was cut.
fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max - CUT.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(CUT);
}

impl Store {
    /// Appends a decision, each field cut to its cap, expiring
    /// [`DECISION_TTL`] after its time.
    pub async fn record_decision(&self, decision: &DecisionRecord) -> Result<(), StoreError> {
        let decision = decision.clone().bounded();
        // Zero-padded time first, so keys list in time order; then this
        // process's sequence, for order within a millisecond; then a random
        // part, so two processes never collide.
        static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut suffix = [0u8; 4];
        let _ = getrandom::fill(&mut suffix);
        let name = format!("{:020}-{sequence:020}-{}", decision.time_ms, hex::encode(suffix));
        self.write_json(KIND, FOLDER, &name, &decision, Some(decision.expires()), Write::Create).await.map(drop)
    }

    /// Every recorded decision, oldest first.
    pub async fn decisions(&self) -> Result<Vec<DecisionRecord>, StoreError> {
        self.list_json(KIND, FOLDER).await
    }
}

/// Milliseconds since the epoch of `at`.
pub fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_fields_are_cut_on_a_character_boundary() {
        let long = "é".repeat(5000);
        let record = DecisionRecord {
            time_ms: 0,
            event: long.clone(),
            user: long.clone(),
            login: long.clone(),
            desktop_kind: long.clone(),
            desktop: long.clone(),
            allowed: false,
            reason: long.clone(),
        }
        .bounded();
        for field in [&record.event, &record.user, &record.login, &record.desktop_kind, &record.desktop] {
            assert!(field.len() <= MAX_DECISION_FIELD && field.len() > MAX_DECISION_FIELD - 8 && field.ends_with(CUT), "{}", field.len());
        }
        assert!(record.reason.len() <= MAX_DECISION_REASON && record.reason.ends_with(CUT));
        assert!(record.reason.trim_end_matches(CUT).chars().all(|c| c == 'é'));
        let json = serde_json::to_vec(&record).unwrap();
        assert!(json.len() < 4 * 1024, "{} bytes", json.len());
    }

    #[test]
    fn short_fields_are_kept_as_they_are() {
        let mut text = "x".repeat(MAX_DECISION_FIELD);
        cut(&mut text, MAX_DECISION_FIELD);
        assert_eq!(text, "x".repeat(MAX_DECISION_FIELD));
    }
}
