//! `kind: session_recording_config` and `kind: cluster_networking_config`.
//! Singletons: `metadata.name` may be absent and is not checked, as in
//! Teleport. Other Teleport fields (`proxy_checks_host_keys`,
//! `keep_alive_interval`, `web_idle_timeout`, …) are accepted and not kept;
//! `desktop_lossy` is Oriel's own, which Teleport does not have.

use std::collections::BTreeMap;

use oriel_rbac::document::{At, Issue, Node};
use oriel_rbac::{IdleTimeout, RecordingMode};

use super::{ToDocument, document};
use crate::resources::cluster_settings::{ClusterNetworkingConfig, SessionRecordingConfig};

pub(super) fn parse_recording(root: &At<'_>) -> Result<SessionRecordingConfig, Issue> {
    let mut config = SessionRecordingConfig::default();
    if let Some(mode_at) = root.field("spec")?.map(|spec| spec.field("mode")).transpose()?.flatten() {
        config.mode = mode_at.string()?.parse::<RecordingMode>().map_err(|e| mode_at.issue(e.to_string()))?;
    }
    Ok(config)
}

pub(super) fn parse_networking(root: &At<'_>) -> Result<ClusterNetworkingConfig, Issue> {
    let mut config = ClusterNetworkingConfig::default();
    let Some(spec) = root.field("spec")? else { return Ok(config) };
    if let Some(at) = spec.field("client_idle_timeout")? {
        config.client_idle_timeout = Some(IdleTimeout::read(&at)?);
    }
    if let Some(at) = spec.field("desktop_lossy")? {
        config.desktop_lossy = Some(at.flag()?);
    }
    Ok(config)
}

impl ToDocument for SessionRecordingConfig {
    fn to_document(&self) -> Node {
        let spec = vec![("mode", Node::str(self.mode.as_str()))];
        document("session_recording_config", "v2", "session-recording-config", &BTreeMap::new(), None, spec)
    }
}

impl ToDocument for ClusterNetworkingConfig {
    fn to_document(&self) -> Node {
        let mut spec: Vec<(&str, Node)> = self.client_idle_timeout.iter().map(|t| ("client_idle_timeout", Node::str(t.as_str()))).collect();
        if let Some(lossy) = self.desktop_lossy {
            spec.push(("desktop_lossy", Node::bool(lossy)));
        }
        document("cluster_networking_config", "v2", "cluster-networking-config", &BTreeMap::new(), None, spec)
    }
}
