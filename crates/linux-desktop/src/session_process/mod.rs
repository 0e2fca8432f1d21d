//! A desktop session's own process, in the spirit of `teleport exec`: the
//! root daemon decides (authorization, the account, a display number) and
//! relays; everything of the session runs in a process of its own that
//! holds no more privilege than it needs. The protocol is
//! `proto/session.proto`; docs/session-process.md tells the whole story.
//!
//! ```text
//! daemon (root) ──fork/exec `oriel session`──► root part (root)
//!    │  data: TDPB    control: Launch/Event       │ PAM session, utmp, loginuid,
//!    │                                            │ FUSE mounts on request
//!    └────────── data, control ──────────► unprivileged part (the login)
//!                                          Xvfb, the xsession, capture,
//!                                          encoding, input, clipboard
//! ```
//!
//! - [`spawn`]: the daemon's side (start the process, hand it the launch).
//! - [`root`]: the root part; [`unprivileged`]: the part that is the session.
//! - [`wire`] and [`root_channel`]: the framing of the control and root streams.
//! - [`displays`]: display numbers, reserved by the daemon.
//! - [`ended`]: how a session process reports its end, X or RDP.

pub mod desktop;
pub mod displays;
pub mod ended;
pub mod privileges;
pub mod root;
pub mod root_channel;
pub mod spawn;
pub mod unprivileged;
pub mod wire;

/// The generated messages of `proto/session.proto`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/oriel.session.v1.rs"));
}

pub use displays::{Display, Displays};
pub use spawn::{SessionProcess, SessionProgram};

/// Where the data stream (TDPB) is in the session process.
pub const DATA_FD: i32 = 3;
/// Where the control stream is in the session process.
pub const CONTROL_FD: i32 = 4;

use crate::login::Account;

impl std::fmt::Debug for pb::RdpHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("RdpHost").field("addr", &self.addr).field("server_name", &self.server_name).field("username", &self.username).finish_non_exhaustive()
    }
}

impl From<&Account> for pb::Account {
    fn from(account: &Account) -> Self {
        Self {
            name: account.name.clone(),
            uid: account.uid,
            gid: account.gid,
            groups: account.groups.clone(),
            home: account.home.to_string_lossy().into_owned(),
            shell: account.shell.to_string_lossy().into_owned(),
        }
    }
}

impl TryFrom<&pb::Account> for Account {
    type Error = String;

    fn try_from(account: &pb::Account) -> Result<Self, String> {
        if account.name.is_empty() || !account.home.starts_with('/') || !account.shell.starts_with('/') {
            return Err(format!("the launch message's account {:?} is incomplete", account.name));
        }
        Ok(Self {
            name: account.name.clone(),
            uid: account.uid,
            gid: account.gid,
            groups: account.groups.clone(),
            home: account.home.clone().into(),
            shell: account.shell.clone().into(),
        })
    }
}
