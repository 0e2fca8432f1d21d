//! `kind: linux_desktop` and `kind: windows_desktop`: a desktop registered
//! by hand, with its labels. Teleport's Windows-only fields (`domain`,
//! `host_id`, `non_ad`, `screen_size`) are accepted and not kept.

use oriel_rbac::DesktopKind;
use oriel_rbac::document::{At, Issue, Node};

use super::{ToDocument, document, labels, metadata_expires, resource_name};
use crate::store::DesktopRecord;

pub(super) fn kind_name(kind: DesktopKind) -> &'static str {
    match kind {
        DesktopKind::Linux => "linux_desktop",
        DesktopKind::Windows => "windows_desktop",
    }
}

pub(super) fn parse(root: &At<'_>, kind: DesktopKind) -> Result<DesktopRecord, Issue> {
    let name = resource_name(root)?;
    let spec = root.required("spec")?;
    let addr_at = spec.required("addr")?;
    let addr = addr_at.string()?;
    if addr.is_empty() {
        return Err(addr_at.issue("an address cannot be empty"));
    }
    Ok(DesktopRecord {
        kind,
        name,
        hostname: spec.optional_string("hostname")?.unwrap_or_default(),
        addr: addr.to_owned(),
        labels: labels(root)?,
        expires: metadata_expires(root)?,
        host_id: spec.optional_string("host_id")?.filter(|id| !id.is_empty()),
    })
}

impl ToDocument for DesktopRecord {
    fn to_document(&self) -> Node {
        let mut spec = vec![("addr", Node::str(&self.addr))];
        if !self.hostname.is_empty() {
            spec.push(("hostname", Node::str(&self.hostname)));
        }
        if let Some(host_id) = &self.host_id {
            spec.push(("host_id", Node::str(host_id)));
        }
        let version = match self.kind {
            DesktopKind::Linux => "v1",
            DesktopKind::Windows => "v3",
        };
        document(kind_name(self.kind), version, &self.name, &self.labels, self.expires, spec)
    }
}
