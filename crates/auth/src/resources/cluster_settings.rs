//! Cluster settings, as Teleport's singleton resources: how sessions are
//! recorded (`session_recording_config`), when idle clients are
//! disconnected and whether lossy video may be sent
//! (`cluster_networking_config`), and how people log in
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
    /// `spec.desktop_lossy`, Oriel's own: `false` forbids sending regions
    /// of the screen in motion as lossy video (VP8) in every session,
    /// whatever the roles say; absent means allowed. Kept as written, so
    /// an explicit `true` survives `get` and `create -f`.
    pub desktop_lossy: Option<bool>,
}

impl ClusterNetworkingConfig {
    /// The idle timeout; `None` when unset or zero.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.client_idle_timeout.as_ref().map(IdleTimeout::duration).filter(|d| !d.is_zero())
    }
}

/// The cluster's part of every access decision.
pub fn policy(recording: &SessionRecordingConfig, networking: &ClusterNetworkingConfig, authentication: &AuthPreference) -> ClusterPolicy {
    ClusterPolicy {
        recording_mode: recording.mode,
        client_idle_timeout: networking.idle_timeout(),
        require_session_mfa: authentication.require_session_mfa,
        forbid_lossy: networking.desktop_lossy == Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_absent_idle_timeouts_are_none_and_modes_pass_through() {
        let off = SessionRecordingConfig { mode: RecordingMode::Off };
        for (raw, expected) in [(None, None), (Some("0"), None), (Some("never"), None), (Some("1h30m"), Some(Duration::from_secs(5400)))] {
            let networking = ClusterNetworkingConfig { client_idle_timeout: raw.map(|r| IdleTimeout::parse(r).unwrap()), desktop_lossy: None };
            let policy = policy(&off, &networking, &AuthPreference::default());
            assert!(!policy.require_session_mfa);
            assert!(!policy.forbid_lossy);
            assert_eq!(policy.client_idle_timeout, expected, "{raw:?}");
            assert_eq!(policy.recording_mode, RecordingMode::Off);
        }
        assert_eq!(SessionRecordingConfig::default().mode, RecordingMode::Node);
    }

    #[test]
    fn only_an_explicit_false_forbids_lossy_video() {
        let recording = SessionRecordingConfig::default();
        for (desktop_lossy, forbidden) in [(None, false), (Some(true), false), (Some(false), true)] {
            let networking = ClusterNetworkingConfig { desktop_lossy, ..ClusterNetworkingConfig::default() };
            let policy = policy(&recording, &networking, &AuthPreference::default());
            assert_eq!(policy.forbid_lossy, forbidden, "{desktop_lossy:?}");
            assert_eq!(policy.client_idle_timeout, None, "{desktop_lossy:?}");
        }
    }
}
