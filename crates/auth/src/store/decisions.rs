//! Access decisions in storage, oldest first: every session start (allowed
//! or denied, with the reason) and every disconnect the control plane
//! caused. The full audit log builds on this later.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};

const KIND: &str = "decision";
const FOLDER: &str = "decisions";

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

impl Store {
    /// Appends a decision.
    pub async fn record_decision(&self, decision: &DecisionRecord) -> Result<(), StoreError> {
        // Zero-padded time first, so keys list in time order; then this
        // process's sequence, for order within a millisecond; then a random
        // part, so two processes never collide.
        static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut suffix = [0u8; 4];
        let _ = getrandom::fill(&mut suffix);
        let name = format!("{:020}-{sequence:020}-{}", decision.time_ms, hex::encode(suffix));
        self.write_json(KIND, FOLDER, &name, decision, None, Write::Create).await.map(drop)
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
