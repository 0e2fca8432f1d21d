//! `kind: lock`. A target field Oriel cannot match is refused: ignoring it
//! would leave a lock that locks less than its author meant.

use std::collections::BTreeMap;

use oriel_rbac::document::{At, Issue, Node};

use super::rfc3339::{self, TimeField};
use super::{ToDocument, document, resource_name};
use crate::resources::lock::{Lock, LockTarget};

/// The target fields Oriel matches.
const TARGETS: &str = "user, role, login, server_id, linux_desktop, windows_desktop";

pub(super) fn parse(root: &At<'_>) -> Result<Lock, Issue> {
    let name = resource_name(root)?;
    let spec = root.required("spec")?;
    let target_at = spec.required("target")?;
    let mut target = LockTarget::default();
    for (key, at) in target_at.entries()? {
        let slot = match key {
            "user" => &mut target.user,
            "role" => &mut target.role,
            "login" => &mut target.login,
            // Teleport's older name for server_id.
            "server_id" | "node" => &mut target.server_id,
            "linux_desktop" => &mut target.linux_desktop,
            "windows_desktop" => &mut target.windows_desktop,
            other => return Err(at.issue(format!("Oriel cannot lock by {other:?}; a lock target may name {TARGETS}"))),
        };
        let value = if at.is_null() { "" } else { at.string()? };
        if value.is_empty() {
            continue;
        }
        if slot.as_deref().is_some_and(|v| v != value) {
            return Err(at.issue("node and server_id name different servers"));
        }
        *slot = Some(value.to_owned());
    }
    if target.is_empty() {
        return Err(target_at.issue(format!("a lock needs a target: at least one of {TARGETS}")));
    }
    let message = spec.optional_string("message")?;
    // Teleport keeps a lock's expiry in spec.expires; metadata.expires works too.
    let expires = match spec.field("expires")? {
        Some(at) => Some(at.time()?),
        None => super::metadata_expires(root)?,
    };
    Ok(Lock { name, target, message, expires })
}

impl ToDocument for Lock {
    fn to_document(&self) -> Node {
        let t = &self.target;
        let target = [
            ("user", &t.user),
            ("role", &t.role),
            ("login", &t.login),
            ("server_id", &t.server_id),
            ("linux_desktop", &t.linux_desktop),
            ("windows_desktop", &t.windows_desktop),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, Node::str(v))))
        .collect();
        let mut spec = vec![("target", Node::map(target))];
        if let Some(message) = &self.message {
            spec.push(("message", Node::str(message)));
        }
        if let Some(at) = self.expires {
            spec.push(("expires", Node::str(rfc3339::format(at))));
        }
        document("lock", "v2", &self.name, &BTreeMap::new(), None, spec)
    }
}
