//! `desktops ls`, `linux_desktops ls`, `windows_desktops ls`.

use std::collections::BTreeMap;

use oriel_auth::control_plane::ControlPlane;
use oriel_rbac::DesktopKind;
use serde::Serialize;

use crate::Failure;
use crate::proto::Outcome;

/// `kind` is `linux`, `windows`, or empty for both.
pub(super) async fn list(plane: &ControlPlane, kind: &str) -> Result<Outcome, Failure> {
    let kinds = match kind {
        "" => DesktopKind::ALL.to_vec(),
        "linux" => vec![DesktopKind::Linux],
        "windows" => vec![DesktopKind::Windows],
        other => return Err(Failure::invalid(format!("unknown desktop kind {other:?} (expected linux or windows)"))),
    };
    let mut desktops = Vec::new();
    for kind in kinds {
        desktops.extend(plane.store().desktops(kind).await?);
    }
    #[derive(Serialize)]
    struct DesktopView<'a> {
        kind: String,
        name: &'a str,
        hostname: &'a str,
        addr: &'a str,
        /// The host whose service serves it: what `lock --server-id` names.
        server_id: &'a str,
        labels: &'a BTreeMap<String, String>,
    }
    let views: Vec<_> = desktops
        .iter()
        .map(|d| DesktopView {
            kind: format!("{}_desktop", d.kind.as_str()),
            name: &d.name,
            hostname: &d.hostname,
            addr: &d.addr,
            server_id: d.server_id(),
            labels: &d.labels,
        })
        .collect();
    let rows = desktops
        .iter()
        .map(|d| {
            let labels = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            vec![d.kind.as_str().to_owned(), d.name.clone(), d.hostname.clone(), d.addr.clone(), d.server_id().to_owned(), labels]
        })
        .collect();
    Ok(Outcome::records(&["Type", "Name", "Hostname", "Address", "Server ID", "Labels"], rows, &views))
}
