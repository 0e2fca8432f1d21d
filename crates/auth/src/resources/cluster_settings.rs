//! Cluster settings, as Teleport's singleton resources: how sessions are
//! recorded (`session_recording_config`), when idle clients are
//! disconnected (`cluster_networking_config`) and how people log in
//! (`cluster_auth_preference`, in `auth_preference.rs`). Each exists once
//! per cluster; until one is set, its defaults apply.

use std::time::Duration;

use oriel_rbac::{ClusterPolicy, IdleTimeout, RecordingMode};

use super::auth_preference::AuthPreference;

/// `kind: session_recording_config`: where sessions are recorded (`node`
/// modes at the desktop service, `proxy` modes at the proxy) and whether a
/// session ends when its recording cannot be written as it goes (`-sync`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRecordingConfig {
    /// `spec.mode` (default `node`).
    pub mode: RecordingMode,
}

/// `kind: cluster_networking_config`, the part Oriel uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterNetworkingConfig {
    /// `spec.client_idle_timeout`; absent or zero means none.
    pub client_idle_timeout: Option<IdleTimeout>,
}

impl ClusterNetworkingConfig {
    /// The idle timeout; `None` when unset or zero.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.client_idle_timeout.as_ref().map(IdleTimeout::duration).filter(|d| !d.is_zero())
    }
}

/// The cluster's part of every access decision.
pub fn policy(recording: &SessionRecordingConfig, networking: &ClusterNetworkingConfig, authentication: &AuthPreference) -> ClusterPolicy {
    ClusterPolicy { recording_mode: recording.mode, client_idle_timeout: networking.idle_timeout(), require_session_mfa: authentication.require_session_mfa }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_absent_idle_timeouts_are_none_and_modes_pass_through() {
        let off = SessionRecordingConfig { mode: RecordingMode::Off };
        for (raw, expected) in [(None, None), (Some("0"), None), (Some("never"), None), (Some("1h30m"), Some(Duration::from_secs(5400)))] {
            let networking = ClusterNetworkingConfig { client_idle_timeout: raw.map(|r| IdleTimeout::parse(r).unwrap()) };
            let policy = policy(&off, &networking, &AuthPreference::default());
            assert!(!policy.require_session_mfa);
            assert_eq!(policy.client_idle_timeout, expected, "{raw:?}");
            assert_eq!(policy.recording_mode, RecordingMode::Off);
        }
        assert_eq!(SessionRecordingConfig::default().mode, RecordingMode::Node);
    }
}
