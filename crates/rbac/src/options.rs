//! How the options of a user's roles combine into one session's settings,
//! with the cluster's settings on top. As in Teleport, what a role *grants*
//! on a host comes only from the roles that allow this login on this
//! desktop ([`crate::RoleSet::check`] picks them), and what a role
//! *restricts* comes from every role of the user, like deny rules:
//!
//! - from the allowing roles only: host user creation (`create_desktop_user:
//!   true` in one of them) and the groups a login joins (the union of their
//!   `allow.desktop_groups`), and per-session MFA (required when the
//!   cluster or an allowing role requires it). A role for other desktops
//!   never creates accounts or adds groups here (Teleport's
//!   `DesktopGroups`/`HostUsers` match the host's labels the same way);
//! - from every role, each a restriction: clipboard, directory sharing and
//!   lossy video are off if any role turns them off, and the cluster's
//!   `desktop_lossy: false` forbids lossy video; recording is on if any role
//!   turns it on (the default), and never when the cluster's mode is `off`;
//!   the smallest non-zero idle timeout wins, the cluster's included (zero
//!   means none); `create_desktop_user: false` in any role keeps hosts
//!   unchanged. This is Teleport's `DesktopClipboard`,
//!   `DesktopDirectorySharing` and `RecordDesktopSession` over the whole
//!   role set, and what its guide's `no-sharing` role (options only, no
//!   allow rules) relies on; `desktop_lossy` is Oriel's own and follows them.

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

    /// Whether the proxy records (`proxy`, `proxy-sync`) rather than the
    /// desktop service.
    pub fn at_proxy(self) -> bool {
        matches!(self, RecordingMode::Proxy | RecordingMode::ProxySync)
    }

    /// Whether a session ends when its recording cannot be written as it
    /// goes (`node-sync`, `proxy-sync`): the bytes stream to the auth
    /// service instead of waiting in a spool.
    pub fn is_sync(self) -> bool {
        matches!(self, RecordingMode::NodeSync | RecordingMode::ProxySync)
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
    /// The cluster forbids lossy video for regions in motion
    /// (`cluster_networking_config`'s `desktop_lossy: false`). Said as a
    /// prohibition so that the default, false, leaves it allowed.
    pub forbid_lossy: bool,
}

/// The settings of one desktop session, as decided from the user's roles
/// (see the module documentation for which) and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionOptions {
    /// Clipboard sharing allowed.
    pub clipboard: bool,
    /// Directory sharing allowed.
    pub directory_sharing: bool,
    /// Lossy video for regions in motion allowed: no role and not the
    /// cluster forbids it.
    pub lossy: bool,
    /// The session must be recorded.
    pub record: bool,
    /// Disconnect after this long without input; `None` for never.
    pub idle_timeout: Option<Duration>,
    /// Per-session MFA was required for this session (and, for an
    /// [`crate::Allowed`], was done).
    pub session_mfa: bool,
    /// A login missing on the host may be created: some allowing role
    /// turns `create_desktop_user` on and none turns it off.
    pub create_host_user: bool,
    /// The host groups a created user joins: the allowing roles'
    /// `allow.desktop_groups`.
    pub host_groups: Vec<String>,
}

/// Combines the options of `roles` with the cluster's settings, as
/// [`crate::RoleSet::check`] does when every one of `roles` allows the
/// session. `session_mfa` is left false: it depends on the desktop and login.
pub fn combine_options<'r>(
    roles: impl IntoIterator<Item = &'r Role>,
    cluster: &ClusterPolicy,
) -> SessionOptions {
    let roles: Vec<&Role> = roles.into_iter().collect();
    let options: Vec<&RoleOptions> = roles.iter().map(|r| &r.options).collect();
    let mut out = combine(options.iter().copied(), options.iter().copied(), cluster);
    out.host_groups = union(roles.iter().map(|r| &r.allow.desktop_groups));
    out
}

/// The union of group lists, sorted, each once.
pub(crate) fn union<'r>(lists: impl IntoIterator<Item = &'r Vec<String>>) -> Vec<String> {
    let mut groups: Vec<String> = lists.into_iter().flatten().cloned().collect();
    groups.sort();
    groups.dedup();
    groups
}

/// `every` is all of the user's roles' options, `allowing` those of the
/// roles that allow the session.
pub(crate) fn combine<'r>(
    every: impl IntoIterator<Item = &'r RoleOptions>,
    allowing: impl IntoIterator<Item = &'r RoleOptions>,
    cluster: &ClusterPolicy,
) -> SessionOptions {
    let mut out = SessionOptions {
        clipboard: true,
        directory_sharing: true,
        lossy: !cluster.forbid_lossy,
        record: false,
        idle_timeout: cluster.client_idle_timeout.filter(|d| !d.is_zero()),
        session_mfa: false,
        create_host_user: false,
        host_groups: Vec::new(),
    };
    let mut refused_by_any = false;
    for o in every {
        // Off wins: one role that says no is enough to keep hosts unchanged.
        refused_by_any |= o.create_desktop_user() == Some(false);
        out.clipboard &= o.clipboard();
        out.directory_sharing &= o.directory_sharing();
        out.lossy &= o.lossy();
        out.record |= o.record_desktop();
        if let Some(t) = o.idle_timeout() {
            out.idle_timeout = Some(out.idle_timeout.map_or(t, |cur| cur.min(t)));
        }
    }
    let granted = allowing
        .into_iter()
        .any(|o| o.create_desktop_user() == Some(true));
    if cluster.recording_mode == RecordingMode::Off {
        out.record = false;
    }
    out.create_host_user = granted && !refused_by_any;
    out
}
