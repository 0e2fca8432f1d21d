//! Setting the session's XKB layout on its X server.
//!
//! `setxkbmap` (Debian's x11-xkb-utils) does it: it resolves the layout
//! through the server's own rules (evdev, pc105) into keycodes, types,
//! compatibility map and symbols, has `xkbcomp` compile them and uploads the
//! keymap, and it records the names in `_XKB_RULES_NAMES`, where clients
//! such as GTK and `setxkbmap -query` look. The XKB extension (x11rb's
//! "xkb" feature) could only upload a compiled keymap: compiling XKB's
//! files is xkbcomp's job, and redoing it would be a keymap compiler of our
//! own. The server must stay up in between: an X server with no clients
//! resets its keymap, so this runs while the service holds its connection.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::keyboard::{self, LayoutChoice, XkbLayout};

/// Where Debian's xkb-data keeps the layouts (xkbcomp's built-in default).
pub const XKB_DIR: &str = "/usr/share/X11/xkb";

/// Why a layout could not be set.
#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    /// The layout or its variant is not among the installed XKB files.
    #[error("keyboard layout {0:?} is not installed on this desktop")]
    NotInstalled(String),
    /// setxkbmap is missing.
    #[error("cannot run setxkbmap (is the x11-xkb-utils package installed?): {0}")]
    Spawn(#[source] std::io::Error),
    /// setxkbmap ran and failed.
    #[error("setxkbmap could not set keyboard layout {layout:?}: {reason}")]
    Failed {
        /// The layout asked for.
        layout: String,
        /// Its last line of output, or its exit status.
        reason: String,
    },
}

/// Sets the chosen layout on the X server of `display`, reached with the
/// cookie in `xauthority`. When it cannot be set the keyboard stays US, and
/// the choice returned says why.
pub fn set_up(display: &str, xauthority: &Path, choice: LayoutChoice) -> LayoutChoice {
    if choice.layout.is_default() {
        return choice;
    }
    match apply(display, xauthority, &choice.layout) {
        Ok(()) => choice,
        Err(error) => keyboard::fallback(error.to_string()),
    }
}

/// Whether `layout` (and its variant) exists in the XKB files under `xkb_dir`.
pub fn installed(xkb_dir: &Path, layout: &XkbLayout) -> bool {
    // The name has been checked to be a plain file name (no `/`, no `..`).
    let file: PathBuf = xkb_dir.join("symbols").join(layout.layout());
    match (layout.variant(), std::fs::read_to_string(&file)) {
        (_, Err(_)) => false,
        (None, Ok(_)) => true,
        (Some(variant), Ok(text)) => text.contains(&format!("xkb_symbols \"{variant}\"")),
    }
}

/// Sets `layout` on the X server of `display`, reached with the cookie in
/// `xauthority`. Blocks for the compile (about a tenth of a second).
pub fn apply(display: &str, xauthority: &Path, layout: &XkbLayout) -> Result<(), KeymapError> {
    if !installed(Path::new(XKB_DIR), layout) {
        return Err(KeymapError::NotInstalled(layout.to_string()));
    }
    let mut command = Command::new("setxkbmap");
    command.args(["-layout", layout.layout()]);
    // Always name the variant: an empty one means the layout's default.
    command.args(["-variant", layout.variant().unwrap_or("")]);
    let output = command.env("DISPLAY", display).env("XAUTHORITY", xauthority).stdin(Stdio::null()).output().map_err(KeymapError::Spawn)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr.lines().rev().find(|l| !l.trim().is_empty()).map_or_else(|| output.status.to_string(), |l| l.trim().to_owned());
    Err(KeymapError::Failed { layout: layout.to_string(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_layouts_and_variants_are_found_in_the_xkb_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("symbols")).unwrap();
        std::fs::write(dir.path().join("symbols/de"), "default\nxkb_symbols \"basic\" {\n};\npartial alphanumeric_keys\nxkb_symbols \"nodeadkeys\" {\n};\n")
            .unwrap();
        let layout = |name| XkbLayout::parse(name).unwrap();
        assert!(installed(dir.path(), &layout("de")));
        assert!(installed(dir.path(), &layout("de(nodeadkeys)")));
        assert!(!installed(dir.path(), &layout("de(dvorak)")));
        assert!(!installed(dir.path(), &layout("xx")));
    }
}
