//! What the decision looks at on the other side: a desktop and its labels.

use std::collections::BTreeMap;
use std::fmt;

/// The operating system family of a desktop. Each has its own role fields
/// (`linux_desktop_*`, `windows_desktop_*`), and a rule for one never
/// applies to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DesktopKind {
    /// A `LinuxDesktop`, checked against `linux_desktop_logins` and `linux_desktop_labels`.
    Linux,
    /// A `WindowsDesktop`, checked against `windows_desktop_logins` and `windows_desktop_labels`.
    Windows,
}

impl DesktopKind {
    /// Both kinds, Linux first.
    pub const ALL: [DesktopKind; 2] = [DesktopKind::Linux, DesktopKind::Windows];

    /// `"linux"` or `"windows"`, as in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DesktopKind::Linux => "linux",
            DesktopKind::Windows => "windows",
        }
    }

    /// The role field holding logins for this kind, e.g. `linux_desktop_logins`.
    pub fn logins_field(self) -> &'static str {
        match self {
            DesktopKind::Linux => "linux_desktop_logins",
            DesktopKind::Windows => "windows_desktop_logins",
        }
    }

    /// The role field holding label selectors for this kind, e.g. `linux_desktop_labels`.
    pub fn labels_field(self) -> &'static str {
        match self {
            DesktopKind::Linux => "linux_desktop_labels",
            DesktopKind::Windows => "windows_desktop_labels",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DesktopKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A desktop as the access decision sees it: its kind, name and labels.
/// Everything else about a desktop (address, expiry…) is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desktop {
    /// Linux or Windows.
    pub kind: DesktopKind,
    /// The resource name (a UUID for Linux desktops).
    pub name: String,
    /// Labels, one value per key.
    pub labels: BTreeMap<String, String>,
}

impl Desktop {
    /// A desktop without labels.
    pub fn new(kind: DesktopKind, name: impl Into<String>) -> Desktop {
        Desktop {
            kind,
            name: name.into(),
            labels: BTreeMap::new(),
        }
    }

    /// Adds one label (builder style).
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Desktop {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// Whether `login` may be used as an account name on a desktop of this kind.
///
/// Teleport drops trait values that are not valid logins before matching;
/// we do the same for values that come from traits, and refuse literal ones
/// when a role is parsed.
pub(crate) fn check_login(kind: DesktopKind, login: &str) -> Result<(), &'static str> {
    if login.is_empty() {
        return Err("a login cannot be empty");
    }
    if login.chars().any(char::is_control) {
        return Err("a login cannot contain control characters");
    }
    match kind {
        DesktopKind::Windows => {
            // The characters Windows refuses in user names.
            if login.contains([
                '"', '/', '\\', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>',
            ]) {
                return Err(r#"a windows login cannot contain any of "/\[]:;|=,+*?<>"#);
            }
        }
        DesktopKind::Linux => {
            // What useradd accepts on Debian, and at most 32 bytes.
            if login.len() > 32 {
                return Err("a linux login is at most 32 bytes");
            }
            if login.starts_with('-') {
                return Err("a linux login cannot start with '-'");
            }
            if login == "." || login == ".." {
                return Err("a linux login cannot be '.' or '..'");
            }
            if login.contains([':', '/', '*']) || login.chars().any(char::is_whitespace) {
                return Err("a linux login cannot contain ':', '/', '*' or whitespace");
            }
        }
    }
    Ok(())
}
