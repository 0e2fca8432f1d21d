//! Where the auth service keeps its state. `oriel start` and `orielctl`
//! must agree on it, so it is decided here once.

use std::path::{Path, PathBuf};

/// The control plane's SQLite database, inside the data directory.
pub const DATABASE: &str = "oriel.db";

/// `$XDG_DATA_HOME/oriel`, else `~/.local/share/oriel`, else `/var/lib/oriel`.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME").or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share").into())) {
        Some(base) => PathBuf::from(base).join("oriel"),
        None => PathBuf::from("/var/lib/oriel"),
    }
}

/// The database file in `data_dir`.
pub fn database(data_dir: &Path) -> PathBuf {
    data_dir.join(DATABASE)
}
