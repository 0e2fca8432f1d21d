//! What the daemon notes for the audit log in the frames it relays: the
//! length of clipboard text both ways, and a shared directory's share,
//! reads and writes (merged by `directory_audit.rs`). Only the messages it
//! needs are decoded, found by their field number without decoding the
//! rest; never a clipboard's text or a file's bytes are kept.
//!
//! Events are written one after another by a task of their own: a browser
//! that floods the clipboard or a directory is slowed down by the writes,
//! not the audit log. The task also writes the directory runs that went
//! quiet, every second, and the rest when the session ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oriel_auth::audit::AuditEvent;
use oriel_tdpb::{Limits, Payload, PayloadKind};
use tokio::sync::mpsc;

use crate::authority::SessionAuthority;
use crate::directory_audit::{DirectoryAudit, DirectoryEvent};
use crate::session_audit::SessionAudit;

/// Field numbers in `proto/tdpb.proto`.
const CLIPBOARD_DATA: u32 = 13;
const DIRECTORY_ANNOUNCE: u32 = 15;
const DIRECTORY_ACKNOWLEDGE: u32 = 16;
const DIRECTORY_REQUEST: u32 = 17;
const DIRECTORY_RESPONSE: u32 = 18;

/// One session's noting, shared by its two pumps.
#[derive(Clone)]
pub(crate) struct FrameAudit {
    audit: SessionAudit,
    notes: mpsc::Sender<AuditEvent>,
    clipboard: bool,
    directories: Option<Arc<Mutex<DirectoryAudit>>>,
}

impl FrameAudit {
    /// Notes a session's frames for `audit`, what the roles share of them
    /// (`clipboard`, `directories`), writing through `authority`. Returns
    /// the noting and the task that writes; dropping every `FrameAudit`
    /// (and [`Self::finish`]) lets the task end.
    pub fn start(audit: SessionAudit, authority: Arc<dyn SessionAuthority>, clipboard: bool, directories: bool) -> Self {
        let (notes, mut noted) = mpsc::channel::<AuditEvent>(64);
        let directories = directories.then(|| Arc::new(Mutex::new(DirectoryAudit::default())));
        let quiet = directories.clone().map(|table| (table, audit.clone()));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    event = noted.recv() => match event {
                        Some(event) => authority.record_events(vec![event]).await,
                        None => return,
                    },
                    _ = tick.tick(), if quiet.is_some() => {
                        let (table, audit) = quiet.as_ref().expect("branch guard");
                        let done = lock(table).tick(Instant::now());
                        if !done.is_empty() {
                            authority.record_events(done.iter().map(|event| audit.directory(event)).collect()).await;
                        }
                    }
                }
            }
        });
        Self { audit, notes, clipboard, directories }
    }

    /// Whether any frame may be noted (the roles share the clipboard or
    /// directories): otherwise the pumps need not look at frames at all.
    pub fn wants_frames(&self) -> bool {
        self.clipboard || self.directories.is_some()
    }

    /// Notes `frame`, from the browser when `to_desktop`.
    pub async fn note(&self, frame: &[u8], to_desktop: bool) {
        let Some(PayloadKind::Other(field)) = oriel_tdpb::peek_kind(frame) else { return };
        let wanted = match field {
            CLIPBOARD_DATA => self.clipboard,
            DIRECTORY_ANNOUNCE | DIRECTORY_RESPONSE => to_desktop && self.directories.is_some(),
            DIRECTORY_ACKNOWLEDGE | DIRECTORY_REQUEST => !to_desktop && self.directories.is_some(),
            _ => false,
        };
        if !wanted {
            return;
        }
        let limits = if to_desktop { Limits::FROM_CLIENT } else { Limits::FROM_SERVER };
        // A malformed one is the session process's to refuse.
        let Ok(Some(payload)) = oriel_tdpb::decode_frame(frame, limits) else { return };
        let events = match (payload, &self.directories) {
            (Payload::ClipboardData(data), _) => vec![self.audit.clipboard(to_desktop, data.data.len())],
            (Payload::SharedDirectoryAnnounce(announce), Some(table)) => {
                lock(table).announced(&announce);
                Vec::new()
            }
            (Payload::SharedDirectoryAcknowledge(acknowledge), Some(table)) => {
                lock(table).acknowledged(&acknowledge).iter().map(|event| self.audit.directory(event)).collect()
            }
            (Payload::SharedDirectoryRequest(request), Some(table)) => {
                lock(table).requested(&request);
                Vec::new()
            }
            (Payload::SharedDirectoryResponse(response), Some(table)) => {
                lock(table).answered(&response, Instant::now()).iter().map(|event| self.audit.directory(event)).collect()
            }
            _ => Vec::new(),
        };
        for event in events {
            let _ = self.notes.send(event).await;
        }
    }

    /// The session ended: what is left of the directory runs is written.
    pub async fn finish(&self) {
        let Some(table) = &self.directories else { return };
        let rest: Vec<DirectoryEvent> = lock(table).finish();
        for event in rest {
            let _ = self.notes.send(self.audit.directory(&event)).await;
        }
    }
}

fn lock(table: &Mutex<DirectoryAudit>) -> std::sync::MutexGuard<'_, DirectoryAudit> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}
