//! Users: who may log in, with which roles and traits.

use crate::password::PasswordHashString;
use crate::resources::webauthn_device::WebauthnDevice;
use crate::second_factor::TotpDevice;

/// Longest user name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// A validated user name: 1..=128 bytes of letters, digits, `.`, `_`, `-`
/// and `@` (e-mail-like names), not starting with `.` or `-`. Names become
/// storage keys and appear in URLs and logs, so nothing else is allowed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserName(String);

/// Why a user name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid user name {name:?}: {reason}")]
pub struct UserNameError {
    /// The refused name (truncated for display).
    pub name: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl UserName {
    /// Parses and validates a user name.
    pub fn parse(name: &str) -> Result<Self, UserNameError> {
        let refuse = |reason| Err(UserNameError { name: name.chars().take(64).collect(), reason });
        if name.is_empty() {
            return refuse("it is empty");
        }
        if name.len() > MAX_NAME_LEN {
            return refuse("it is longer than 128 bytes");
        }
        if name.starts_with(['.', '-']) {
            return refuse("it starts with '.' or '-'");
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')) {
            return refuse("only letters, digits, '.', '_', '-' and '@' are allowed");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub use oriel_rbac::Traits;

/// How a user proves who they are; absent until the invite is accepted.
/// There is always a second factor: a TOTP authenticator, WebAuthn
/// devices, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// argon2id hash.
    pub password: PasswordHashString,
    /// The TOTP authenticator, if one is enrolled.
    pub totp: Option<TotpDevice>,
    /// Security keys and passkeys.
    pub webauthn: Vec<WebauthnDevice>,
}

impl Credentials {
    /// A password and a TOTP authenticator, as an invite enrols them.
    pub fn with_totp(password: PasswordHashString, totp: TotpDevice) -> Self {
        Self { password, totp: Some(totp), webauthn: Vec::new() }
    }

    /// A password and one WebAuthn device, as an invite enrols them.
    pub fn with_webauthn(password: PasswordHashString, device: WebauthnDevice) -> Self {
        Self { password, totp: None, webauthn: vec![device] }
    }

    /// How many second factors there are (a TOTP authenticator counts one).
    pub fn second_factors(&self) -> usize {
        usize::from(self.totp.is_some()) + self.webauthn.len()
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Unique name.
    pub name: UserName,
    /// Role names.
    pub roles: Vec<String>,
    /// Traits for role templates.
    pub traits: Traits,
    /// `None` for an invited user who has not set a password yet.
    pub credentials: Option<Credentials>,
    /// A random id given when the user is created and kept by every update:
    /// certificates carry it, so after `users rm` a user made again under
    /// the same name cannot use the old one's. Empty until the store
    /// creates the user (and for users stored before ids existed).
    pub id: String,
    /// Set for a user an identity provider logs in (single sign-on): made
    /// and refreshed at each login, never with a password.
    pub sso: Option<SsoOrigin>,
}

/// Where a single sign-on user comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoOrigin {
    /// The connector's kind, `oidc`.
    pub kind: String,
    /// The connector's name.
    pub connector: String,
    /// The provider's id for the person (the ID token's `sub`).
    pub subject: String,
}

#[cfg(test)]
mod tests {
    use super::UserName;

    #[test]
    fn names_that_are_safe_keys_urls_and_log_fields() {
        for good in ["alice", "bob.smith", "ops_1", "a-b", "alice@example.com", "A1"] {
            assert!(UserName::parse(good).is_ok(), "{good}");
        }
        for (bad, reason) in [
            ("", "it is empty"),
            ("../admin", "it starts with '.' or '-'"),
            ("-rf", "it starts with '.' or '-'"),
            ("a/b", "only letters, digits, '.', '_', '-' and '@' are allowed"),
            ("alice\0", "only letters, digits, '.', '_', '-' and '@' are allowed"),
            ("älice", "only letters, digits, '.', '_', '-' and '@' are allowed"),
        ] {
            assert_eq!(UserName::parse(bad).unwrap_err().reason, reason, "{bad:?}");
        }
        assert!(UserName::parse(&"a".repeat(129)).is_err());
    }
}
