//! A user's WebAuthn device: a security key or a passkey, registered with
//! the WebAuthn ceremony (`webauthn/`) and used as a second factor or, for
//! a discoverable passkey where the cluster allows it, to log in without a
//! password.

use std::time::SystemTime;

/// Longest name a person may give a device, in characters.
pub const MAX_DEVICE_NAME: usize = 64;

/// One registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnDevice {
    /// Random, hex: how the Account page and the API name it.
    pub id: String,
    /// What the person called it ("YubiKey 5", "laptop").
    pub name: String,
    /// When it was registered.
    pub added: SystemTime,
    /// When it last answered a challenge.
    pub last_used: Option<SystemTime>,
    /// The credential as `webauthn-rs` serialises it (id, public key, sign
    /// counter): kept as text so the user model does not depend on the
    /// crate's types, and read back only by `webauthn/`.
    pub credential: String,
}

/// A device name as given: trimmed, not empty, at most
/// [`MAX_DEVICE_NAME`] characters, no control characters.
pub fn device_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("give the device a name".into());
    }
    if name.chars().count() > MAX_DEVICE_NAME {
        return Err(format!("a device name has at most {MAX_DEVICE_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("a device name cannot hold control characters".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(device_name("  YubiKey 5 ").unwrap(), "YubiKey 5");
        assert!(device_name("   ").is_err());
        assert!(device_name(&"k".repeat(65)).is_err());
        assert!(device_name("a\nb").is_err());
        assert_eq!(device_name("clé 🔑").unwrap(), "clé 🔑");
    }
}
