//! The account the service signs in to an `ad: false` host with.

/// A username and password for one host, mapped from the RBAC login. They
/// go to the host inside TLS (NLA), and are never logged: `Debug` shows
/// the username only.
#[derive(Clone)]
pub struct DesktopCredentials {
    /// The Windows (or RDP server) account.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The account's domain, when it has one.
    pub domain: Option<String>,
}

impl std::fmt::Debug for DesktopCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopCredentials").field("username", &self.username).field("password", &"<redacted>").field("domain", &self.domain).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let credentials = DesktopCredentials { username: "alice".into(), password: "hunter2 secret".into(), domain: None };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("alice") && !shown.contains("hunter2"), "{shown}");
    }
}
