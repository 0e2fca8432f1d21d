//! `kind: linux_desktop_service` / `windows_desktop_service`, written only:
//! services register themselves.

use std::collections::BTreeMap;

use oriel_rbac::document::Node;

use super::{ToDocument, document};
use crate::resources::desktop_service::DesktopService;

impl ToDocument for DesktopService {
    fn to_document(&self) -> Node {
        let spec = vec![("addr", Node::str(&self.addr)), ("hostname", Node::str(&self.hostname)), ("version", Node::str(&self.version))];
        document(self.kind_name(), "v3", &self.name, &BTreeMap::new(), self.expires, spec)
    }
}
