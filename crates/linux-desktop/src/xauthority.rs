//! The MIT-MAGIC-COOKIE-1 cookie that guards a session's X display.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The X authorization protocol Oriel uses.
pub const AUTH_NAME: &[u8] = b"MIT-MAGIC-COOKIE-1";

/// 16 random bytes; whoever holds them may connect to the display.
#[derive(Clone)]
pub struct Cookie([u8; 16]);

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A secret: never in logs.
        f.write_str("Cookie(..)")
    }
}

impl Cookie {
    /// A fresh cookie from the operating system's random source.
    pub fn random() -> std::io::Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(Self(bytes))
    }

    /// The cookie's bytes, for the X connection setup.
    pub fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Writes an Xauthority file (mode 0600) holding this cookie.
    ///
    /// The one entry is FamilyWild with an empty display number: libXau takes
    /// an empty number as any display, so the file can be written before
    /// Xvfb has picked its display with `-displayfd`, and the same file
    /// serves the server (`-auth`) and the session's clients (`XAUTHORITY`).
    pub fn write_xauthority(&self, path: &Path) -> std::io::Result<()> {
        const FAMILY_WILD: u16 = 0xffff;
        let mut entry = Vec::with_capacity(64);
        entry.extend_from_slice(&FAMILY_WILD.to_be_bytes());
        for field in [&b""[..], b"", AUTH_NAME, &self.0] {
            entry.extend_from_slice(&(field.len() as u16).to_be_bytes());
            entry.extend_from_slice(field);
        }
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
        file.write_all(&entry)?;
        file.sync_all()
    }
}
