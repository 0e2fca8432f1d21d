//! A desktop session's audit events, Teleport's shapes with `linux_user`
//! for the login: `linux.desktop.session.start` (allowed or refused, with
//! why), `client.disconnect` (the service ended it: idle, lock, revoked,
//! expired) and `linux.desktop.session.end`, and in between the lengths of
//! what crossed the clipboard (`desktop.clipboard.send` / `.receive`),
//! which the daemon sees in the frames it relays. Each session gets an id
//! at its very start that every one of its events carries.

use std::time::{Instant, SystemTime};

use oriel_auth::audit::{AuditEvent, EventType, rfc3339};
use oriel_auth::recordings::RecordingId;
use oriel_rbac::DesktopKind;

use crate::directory_audit::{Access, DirectoryEvent};

/// What is known about a session so far, for its events.
#[derive(Debug, Clone)]
pub(crate) struct SessionAudit {
    /// The session's id: a UUID, the proxy's or a new one.
    pub sid: String,
    kind: DesktopKind,
    desktop: String,
    login: String,
    /// The user, once the certificate is verified; before that, the name
    /// the certificate claims, marked as not verified.
    user: String,
    user_verified: bool,
    /// When the session process started, if it did.
    started: Option<SystemTime>,
    /// Whether it is recorded.
    recorded: bool,
    /// Whether it started after a per-session MFA check.
    with_mfa: bool,
    /// Everyone who took part: the owner first, then who joined, once each.
    participants: Vec<String>,
}

impl SessionAudit {
    /// A session asked for on `desktop` (of `kind`) as `login`, with
    /// `certificate`, under the id `sid` when the proxy chose one (a UUID),
    /// else a new one.
    pub fn new(kind: DesktopKind, desktop: &str, login: &str, certificate: &[u8], sid: Option<&str>) -> Self {
        let claimed = oriel_auth::ca::unverified_name(certificate).unwrap_or_default();
        let sid = match sid.and_then(RecordingId::parse) {
            Some(sid) => sid.to_string(),
            None => oriel_auth::audit::new_session_id(),
        };
        Self {
            sid,
            kind,
            desktop: desktop.to_owned(),
            login: login.to_owned(),
            user: claimed,
            user_verified: false,
            started: None,
            recorded: false,
            with_mfa: false,
            participants: Vec::new(),
        }
    }

    /// The certificate was verified: it is `user`'s.
    pub fn verified(&mut self, user: &str) {
        user.clone_into(&mut self.user);
        self.user_verified = true;
    }

    /// Whether the session is recorded.
    pub fn recorded(&mut self, recorded: bool) {
        self.recorded = recorded;
    }

    /// Whether the session started after a per-session MFA check.
    pub fn with_mfa(&mut self, with_mfa: bool) {
        self.with_mfa = with_mfa;
    }

    /// Whether the session got as far as its process.
    pub fn has_started(&self) -> bool {
        self.started.is_some()
    }

    fn event(&self, event: EventType, success: bool, at: SystemTime) -> AuditEvent {
        self.event_as(self.user.as_str(), event, success, at)
    }

    /// An event of this session whose acting user is `user` (a participant's own).
    fn event_as(&self, user: &str, event: EventType, success: bool, at: SystemTime) -> AuditEvent {
        AuditEvent::new(event, success, user, at)
            .in_session(self.sid.as_str())
            .with("desktop_name", self.desktop.as_str())
            .with(self.login_field(), self.login.as_str())
    }

    /// Teleport's field for the desktop login: `windows_user` on Windows.
    fn login_field(&self) -> &'static str {
        match self.kind {
            DesktopKind::Linux => "linux_user",
            DesktopKind::Windows => "windows_user",
        }
    }

    fn start_type(&self) -> EventType {
        match self.kind {
            DesktopKind::Linux => EventType::LinuxSessionStart,
            DesktopKind::Windows => EventType::WindowsSessionStart,
        }
    }

    /// The session's process started now: the start event.
    pub fn started(&mut self) -> AuditEvent {
        let now = SystemTime::now();
        self.started = Some(now);
        self.event(self.start_type(), true, now).with("proto", "tdpb").with("with_mfa", self.with_mfa)
    }

    /// The session was refused before it started, for `error`.
    pub fn refused(&self, error: &str) -> AuditEvent {
        self.event(self.start_type(), false, SystemTime::now()).with("proto", "tdpb").with("error", error).with("user_verified", self.user_verified)
    }

    /// The service ended the session, for `reason`.
    pub fn disconnected(&self, reason: &str) -> AuditEvent {
        self.event(EventType::ClientDisconnect, true, SystemTime::now()).with("reason", reason)
    }

    /// `length` bytes of text crossed the clipboard, to the desktop (`send`)
    /// or to the browser (`receive`). Never the text.
    pub fn clipboard(&self, to_desktop: bool, length: usize) -> AuditEvent {
        let event = if to_desktop { EventType::ClipboardSend } else { EventType::ClipboardReceive };
        self.event(event, true, SystemTime::now()).with("length", length)
    }

    /// A shared directory's share, or reads or writes of one of its files.
    pub fn directory(&self, happened: &DirectoryEvent) -> AuditEvent {
        let now = SystemTime::now();
        match happened {
            DirectoryEvent::Share { directory_id, directory_name, error } => {
                let event = self
                    .event(EventType::DirectoryShare, error.is_none(), now)
                    .with("directory_id", *directory_id)
                    .with("directory_name", directory_name.as_str());
                with_error(event, error)
            }
            DirectoryEvent::Access { access, directory_id, directory_name, path, offset, length, operations, error, started } => {
                let kind = match access {
                    Access::Read => EventType::DirectoryRead,
                    Access::Write => EventType::DirectoryWrite,
                };
                // Written when the merged run ends (seconds later), dated
                // when it began, so a write lists before its read back.
                let began = now.checked_sub(Instant::now().saturating_duration_since(*started)).unwrap_or(now);
                let event = self
                    .event(kind, error.is_none(), began)
                    .with("directory_id", *directory_id)
                    .with("directory_name", directory_name.as_str())
                    .with("file_path", path.as_str())
                    .with("offset", *offset)
                    .with("length", *length)
                    .with("operations", *operations);
                with_error(event, error)
            }
        }
    }

    /// The owner, then everyone who joined, once each.
    fn participant_names(&self) -> Vec<String> {
        let mut names = vec![self.user.clone()];
        for name in &self.participants {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// `user` joined the session as `mode` (`observer`, `peer`), or was
    /// refused (`refused`: why).
    pub fn joined(&mut self, user: &str, mode: &str, refused: Option<&str>) -> AuditEvent {
        let event =
            self.event_as(user, EventType::SessionJoin, refused.is_none(), SystemTime::now()).with("owner", self.user.as_str()).with("participant_mode", mode);
        match refused {
            None => {
                self.participants.push(user.to_owned());
                event
            }
            Some(reason) => event.with("reason", reason),
        }
    }

    /// A join refused before it reached the session (the roles, a lock, the
    /// certificate), made from the joiner's certificate: its user is the
    /// name the certificate claims.
    pub fn join_refused(&self, owner: &str, mode: &str, reason: &str) -> AuditEvent {
        self.event_as(self.user.as_str(), EventType::SessionJoin, false, SystemTime::now())
            .with("owner", owner)
            .with("participant_mode", mode)
            .with("reason", reason)
    }

    /// `user` left the session, or was sent away for `reason`.
    pub fn left(&self, user: &str, reason: &str) -> AuditEvent {
        let event = self.event_as(user, EventType::SessionLeave, true, SystemTime::now()).with("owner", self.user.as_str());
        if reason.is_empty() { event } else { event.with("reason", reason) }
    }

    /// The session ended now, for `reason` (empty when the client left).
    pub fn ended(&self, reason: &str) -> AuditEvent {
        let now = SystemTime::now();
        let mut event = self
            .event(if self.kind == DesktopKind::Windows { EventType::WindowsSessionEnd } else { EventType::LinuxSessionEnd }, true, now)
            .with("participants", self.participant_names())
            .with("recorded", self.recorded)
            .with("with_mfa", self.with_mfa)
            .with("session_start", rfc3339(self.started.unwrap_or(now)))
            .with("session_stop", rfc3339(now));
        if !reason.is_empty() {
            event = event.with("reason", reason);
        }
        event
    }
}

fn with_error(event: AuditEvent, error: &Option<String>) -> AuditEvent {
    match error {
        Some(error) => event.with("error", error.as_str()),
        None => event,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::SessionAudit;
    use crate::directory_audit::{Access, DirectoryEvent};

    #[test]
    fn a_merged_file_access_is_dated_when_it_began() {
        let audit = SessionAudit::new(oriel_rbac::DesktopKind::Linux, "desk", "alice", b"", None);
        let began = Instant::now() - Duration::from_secs(20);
        let access = DirectoryEvent::Access {
            access: Access::Write,
            directory_id: 1,
            directory_name: "notes".into(),
            path: "a.txt".into(),
            offset: 0,
            length: 10,
            operations: 1,
            error: None,
            started: began,
        };
        let written = SystemTime::now();
        let event = audit.directory(&access);
        let age = written.duration_since(event.time).expect("dated before it was written");
        assert!(age >= Duration::from_secs(20), "dated {age:?} before it was written");
    }
}
