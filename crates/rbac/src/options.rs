//! How the options of all of a user's roles combine into one session's
//! settings, with the cluster's settings on top.
//!
//! As in Teleport, options combine over every role the user has, not only
//! the role that allowed the login:
//!
//! - clipboard and directory sharing are off if any role turns them off;
//! - recording is on if any role turns it on (the default), and never when
//!   the cluster's recording mode is `off`;
//! - the smallest non-zero idle timeout wins, the cluster's included; zero
//!   means none;
//! - per-session MFA is the exception: it is required when the cluster
//!   requires it or when a role that *allows this login on this desktop*
//!   requires it (Teleport checks it inside the allow loop), so it is
//!   decided in [`crate::RoleSet::check`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::role::{Role, RoleOptions};

/// The cluster's session recording mode (`session_recording_config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordingMode {
    /// `off`: nothing is recorded, whatever the roles say.
    Off,
    /// `node`: the desktop service records, asynchronously.
    #[default]
    Node,
    /// `node-sync`: the desktop service records, synchronously.
    NodeSync,
    /// `proxy`: the proxy records, asynchronously.
    Proxy,
    /// `proxy-sync`: the proxy records, synchronously.
    ProxySync,
}

impl RecordingMode {
    /// The mode as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingMode::Off => "off",
            RecordingMode::Node => "node",
            RecordingMode::NodeSync => "node-sync",
            RecordingMode::Proxy => "proxy",
            RecordingMode::ProxySync => "proxy-sync",
        }
    }
}

impl fmt::Display for RecordingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown recording mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown session recording mode {0:?}, expected off, node, node-sync, proxy or proxy-sync")]
pub struct UnknownRecordingMode(pub String);

impl FromStr for RecordingMode {
    type Err = UnknownRecordingMode;
    fn from_str(s: &str) -> Result<RecordingMode, UnknownRecordingMode> {
        Ok(match s {
            "off" => RecordingMode::Off,
            "node" => RecordingMode::Node,
            "node-sync" => RecordingMode::NodeSync,
            "proxy" => RecordingMode::Proxy,
            "proxy-sync" => RecordingMode::ProxySync,
            other => return Err(UnknownRecordingMode(other.to_owned())),
        })
    }
}

/// The cluster-wide settings that take part in the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterPolicy {
    /// Session recording mode.
    pub recording_mode: RecordingMode,
    /// Cluster client idle timeout; `None` or zero means none.
    pub client_idle_timeout: Option<Duration>,
    /// Whether the cluster requires per-session MFA for every session.
    pub require_session_mfa: bool,
}

/// The settings of one desktop session, as decided from every role of the
/// user and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionOptions {
    /// Clipboard sharing allowed.
    pub clipboard: bool,
    /// Directory sharing allowed.
    pub directory_sharing: bool,
    /// The session must be recorded.
    pub record: bool,
    /// Disconnect after this long without input; `None` for never.
    pub idle_timeout: Option<Duration>,
    /// Per-session MFA was required for this session (and, for an
    /// [`crate::Allowed`], was done).
    pub session_mfa: bool,
    /// A login missing on the host may be created: some role turns
    /// `create_desktop_user` on and none turns it off.
    pub create_host_user: bool,
    /// The host groups a created user joins: every role's `allow.desktop_groups`.
    pub host_groups: Vec<String>,
}

/// Combines the options of all `roles` with the cluster's settings.
/// `session_mfa` is left false: it depends on the desktop and login.
pub fn combine_options<'r>(
    roles: impl IntoIterator<Item = &'r Role>,
    cluster: &ClusterPolicy,
) -> SessionOptions {
    let roles: Vec<&Role> = roles.into_iter().collect();
    let mut out = combine(roles.iter().map(|r| &r.options), cluster);
    out.host_groups = host_groups(roles.iter().map(|r| &r.allow));
    out
}

/// The union of `desktop_groups`, sorted, each once.
pub(crate) fn host_groups<'r>(allow: impl IntoIterator<Item = &'r crate::RoleConditions>) -> Vec<String> {
    let mut groups: Vec<String> = allow.into_iter().flat_map(|c| c.desktop_groups.iter().cloned()).collect();
    groups.sort();
    groups.dedup();
    groups
}

pub(crate) fn combine<'r>(
    options: impl IntoIterator<Item = &'r RoleOptions>,
    cluster: &ClusterPolicy,
) -> SessionOptions {
    let mut out = SessionOptions {
        clipboard: true,
        directory_sharing: true,
        record: false,
        idle_timeout: cluster.client_idle_timeout.filter(|d| !d.is_zero()),
        session_mfa: false,
        create_host_user: false,
        host_groups: Vec::new(),
    };
    let mut create_user = None;
    for o in options {
        // Off wins: one role that says no is enough to keep hosts unchanged.
        create_user = match (create_user, o.create_desktop_user()) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (_, Some(true)) => Some(true),
            (current, None) => current,
        };
        out.clipboard &= o.clipboard();
        out.directory_sharing &= o.directory_sharing();
        out.record |= o.record_desktop();
        if let Some(t) = o.idle_timeout() {
            out.idle_timeout = Some(out.idle_timeout.map_or(t, |cur| cur.min(t)));
        }
    }
    if cluster.recording_mode == RecordingMode::Off {
        out.record = false;
    }
    out.create_host_user = create_user == Some(true);
    out
}
