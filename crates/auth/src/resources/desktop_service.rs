//! Desktop services: the Oriel processes that serve desktops, registered by
//! host id and heartbeated like the desktops they serve (Teleport's
//! `linux_desktop_service` / `windows_desktop_service`).

use std::time::SystemTime;

use oriel_rbac::DesktopKind;

/// One registered desktop service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopService {
    /// Linux or Windows.
    pub kind: DesktopKind,
    /// The host id (a UUID), also the name of a Linux service's desktop.
    pub name: String,
    /// The host's name, for people.
    pub hostname: String,
    /// Where it listens.
    pub addr: String,
    /// The Oriel version it runs.
    pub version: String,
    /// When it leaves listings unless heartbeated again.
    pub expires: Option<SystemTime>,
}

impl DesktopService {
    /// The resource kind: `linux_desktop_service` or `windows_desktop_service`.
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }
}

/// `linux_desktop_service` or `windows_desktop_service`.
pub fn kind_name(kind: DesktopKind) -> &'static str {
    match kind {
        DesktopKind::Linux => "linux_desktop_service",
        DesktopKind::Windows => "windows_desktop_service",
    }
}
