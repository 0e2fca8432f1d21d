//! LDAP discovery of Windows hosts, as Teleport does it: search the
//! directory for computers (`directory.rs`), make each a desktop with
//! Teleport's name and labels (`computer.rs`), and let the caller register
//! what is found and drop what the directory no longer has.

mod computer;
mod directory;

pub use computer::{ATTRIBUTES, DesktopRules, DirectoryEntry, DiscoveredDesktop, Skipped, desktop, search_filter};
pub use directory::{Directory, DiscoveryError, Search, discover};
