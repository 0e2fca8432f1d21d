//! One audit event: what happened, when, to whom, by whom, and whether it
//! worked, in the shape Teleport's events have (flat JSON, its field
//! names), so tools that read Teleport's audit log read Oriel's.
//!
//! Events are made from input a stranger controls (the name a refused
//! certificate claims, a path in a shared directory), so every text field
//! is cut to a cap and the number of fields is bounded
//! ([`AuditEvent::bounded`]), at every write and at ingestion from a
//! desktop service.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of thing happened. Each has Teleport's name and code where
/// Teleport has one; Oriel's own Linux desktop codes start with `TLD`
/// (Teleport publishes none for Linux desktops); `docs/audit.md` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A Linux desktop session started, or was refused.
    LinuxSessionStart,
    /// A Linux desktop session ended.
    LinuxSessionEnd,
    /// A Windows desktop session started, or was refused.
    WindowsSessionStart,
    /// A Windows desktop session ended.
    WindowsSessionEnd,
    /// Text went from the browser to the desktop's clipboard.
    ClipboardSend,
    /// Text went from the desktop's clipboard to the browser.
    ClipboardReceive,
    /// The browser shared a directory with the desktop.
    DirectoryShare,
    /// The desktop read from a shared directory.
    DirectoryRead,
    /// The desktop wrote to a shared directory.
    DirectoryWrite,
    /// The service ended a session: idle, locked, revoked, expired.
    ClientDisconnect,
    /// A login to the web UI, or a failed one.
    UserLogin,
    /// A user was made.
    UserCreate,
    /// A user was changed (roles, traits, credentials reset).
    UserUpdate,
    /// A user was removed.
    UserDelete,
    /// A user registered a second-factor device (a security key, a passkey).
    MfaAdd,
    /// A user removed a second-factor device.
    MfaDelete,
    /// A role was made or replaced.
    RoleCreated,
    /// A role was removed.
    RoleDeleted,
    /// A lock was made.
    LockCreated,
    /// A lock was removed.
    LockDeleted,
    /// An OIDC connector was made or replaced.
    OidcCreated,
    /// An OIDC connector was removed.
    OidcDeleted,
    /// A join token was made.
    JoinTokenCreate,
    /// A host joined the cluster with a token, or failed to.
    InstanceJoin,
    /// Someone joined another user's desktop session, or was refused.
    SessionJoin,
    /// A participant left another user's desktop session, or was removed.
    SessionLeave,
}

impl EventType {
    /// Every type, for listings and for parsing.
    pub const ALL: [Self; 26] = [
        Self::LinuxSessionStart,
        Self::LinuxSessionEnd,
        Self::WindowsSessionStart,
        Self::WindowsSessionEnd,
        Self::ClipboardSend,
        Self::ClipboardReceive,
        Self::DirectoryShare,
        Self::DirectoryRead,
        Self::DirectoryWrite,
        Self::ClientDisconnect,
        Self::UserLogin,
        Self::UserCreate,
        Self::UserUpdate,
        Self::UserDelete,
        Self::MfaAdd,
        Self::MfaDelete,
        Self::RoleCreated,
        Self::RoleDeleted,
        Self::LockCreated,
        Self::LockDeleted,
        Self::OidcCreated,
        Self::OidcDeleted,
        Self::JoinTokenCreate,
        Self::InstanceJoin,
        Self::SessionJoin,
        Self::SessionLeave,
    ];

    /// The event's name, e.g. `linux.desktop.session.start`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LinuxSessionStart => "linux.desktop.session.start",
            Self::LinuxSessionEnd => "linux.desktop.session.end",
            Self::WindowsSessionStart => "windows.desktop.session.start",
            Self::WindowsSessionEnd => "windows.desktop.session.end",
            Self::ClipboardSend => "desktop.clipboard.send",
            Self::ClipboardReceive => "desktop.clipboard.receive",
            Self::DirectoryShare => "desktop.directory.share",
            Self::DirectoryRead => "desktop.directory.read",
            Self::DirectoryWrite => "desktop.directory.write",
            Self::ClientDisconnect => "client.disconnect",
            Self::UserLogin => "user.login",
            Self::UserCreate => "user.create",
            Self::UserUpdate => "user.update",
            Self::UserDelete => "user.delete",
            Self::MfaAdd => "mfa.add",
            Self::MfaDelete => "mfa.delete",
            Self::RoleCreated => "role.created",
            Self::RoleDeleted => "role.deleted",
            Self::LockCreated => "lock.created",
            Self::LockDeleted => "lock.deleted",
            Self::OidcCreated => "oidc.created",
            Self::OidcDeleted => "oidc.deleted",
            Self::JoinTokenCreate => "join_token.create",
            Self::InstanceJoin => "instance.join",
            Self::SessionJoin => "session.join",
            Self::SessionLeave => "session.leave",
        }
    }

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The event code: `I` for information (success), `W` for a warning
    /// (failure), as Teleport's codes end.
    pub fn code(self, success: bool) -> &'static str {
        match (self, success) {
            (Self::LinuxSessionStart, true) => "TLD00I",
            (Self::LinuxSessionStart, false) => "TLD00W",
            (Self::LinuxSessionEnd, _) => "TLD01I",
            // Teleport's own codes for Windows desktop sessions.
            (Self::WindowsSessionStart, true) => "TDP00I",
            (Self::WindowsSessionStart, false) => "TDP00W",
            (Self::WindowsSessionEnd, _) => "TDP01I",
            (Self::ClipboardSend, _) => "TDP02I",
            (Self::ClipboardReceive, _) => "TDP03I",
            (Self::DirectoryShare, true) => "TDP04I",
            (Self::DirectoryShare, false) => "TDP04W",
            (Self::DirectoryRead, true) => "TDP05I",
            (Self::DirectoryRead, false) => "TDP05W",
            (Self::DirectoryWrite, true) => "TDP06I",
            (Self::DirectoryWrite, false) => "TDP06W",
            (Self::ClientDisconnect, _) => "T3006I",
            (Self::UserLogin, true) => "T1000I",
            (Self::UserLogin, false) => "T1000W",
            (Self::UserCreate, _) => "T1002I",
            (Self::UserUpdate, _) => "T1003I",
            (Self::UserDelete, _) => "T1004I",
            (Self::MfaAdd, _) => "T1006I",
            (Self::MfaDelete, _) => "T1007I",
            (Self::RoleCreated, _) => "T9000I",
            (Self::RoleDeleted, _) => "T9001I",
            (Self::LockCreated, _) => "TLK00I",
            (Self::LockDeleted, _) => "TLK01I",
            (Self::OidcCreated, _) => "T8100I",
            (Self::OidcDeleted, _) => "T8101I",
            (Self::JoinTokenCreate, _) => "TJT00I",
            (Self::InstanceJoin, true) => "TJ001I",
            (Self::InstanceJoin, false) => "TJ001E",
            // Teleport's session.join and session.leave.
            (Self::SessionJoin, true) => "T2001I",
            (Self::SessionJoin, false) => "T2001W",
            (Self::SessionLeave, _) => "T2003I",
        }
    }

    /// The types a desktop service of `kind` may report for its own
    /// sessions (and nothing else: a host never speaks for the control
    /// plane, nor for another kind of desktop).
    pub fn reported_by_desktop_service(self, kind: oriel_rbac::DesktopKind) -> bool {
        match self {
            Self::LinuxSessionStart | Self::LinuxSessionEnd => kind == oriel_rbac::DesktopKind::Linux,
            Self::WindowsSessionStart | Self::WindowsSessionEnd => kind == oriel_rbac::DesktopKind::Windows,
            other => other.reported_by_any_desktop_service(),
        }
    }

    /// The types a desktop service of any kind reports.
    fn reported_by_any_desktop_service(self) -> bool {
        matches!(
            self,
            Self::ClipboardSend
                | Self::ClipboardReceive
                | Self::DirectoryShare
                | Self::DirectoryRead
                | Self::DirectoryWrite
                | Self::ClientDisconnect
                | Self::SessionJoin
                | Self::SessionLeave
        )
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest text field kept, in bytes (names, logins, reasons).
pub const MAX_FIELD: usize = 2048;
/// The longest path kept (a shared directory's path is up to 10240 bytes).
pub const MAX_PATH_FIELD: usize = 10_240;
/// The most fields beside the common ones, and entries in a map or list.
pub const MAX_FIELDS: usize = 64;
/// What marks a cut field.
const CUT: &str = "…";

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Unique: a UUID (version 7, so ids sort by creation).
    pub uid: String,
    /// When it happened.
    pub time: SystemTime,
    /// What happened.
    pub event: EventType,
    /// Whether it worked (a refused session start, a failed login: false).
    pub success: bool,
    /// Who acted: the Oriel user, `admin@<name>` for an admin identity, or
    /// empty for the system.
    pub user: String,
    /// The desktop session it belongs to, if any.
    pub sid: Option<String>,
    /// The cluster it happened in.
    pub cluster_name: String,
    /// The rest, by Teleport's field names (`desktop_name`, `linux_user`,
    /// `length`, `reason`, `error`, ...).
    pub fields: BTreeMap<String, Value>,
}

impl AuditEvent {
    /// A new event of `event` by `user` at `time`, with a fresh id and no
    /// fields yet (the cluster's name is filled in when it is stored).
    pub fn new(event: EventType, success: bool, user: impl Into<String>, time: SystemTime) -> Self {
        Self { uid: new_uid(), time, event, success, user: user.into(), sid: None, cluster_name: String::new(), fields: BTreeMap::new() }
    }

    /// This event with field `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// This event in session `sid`.
    pub fn in_session(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// The code (`T1000I`...).
    pub fn code(&self) -> &'static str {
        self.event.code(self.success)
    }

    /// Milliseconds since the epoch.
    pub fn time_ms(&self) -> u64 {
        millis(self.time)
    }

    /// A text field, if it is one.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// This event within its caps: text fields cut on a character boundary
    /// (marked with `…`), at most [`MAX_FIELDS`] fields and entries, nested
    /// values flattened to their JSON text past one level.
    pub fn bounded(mut self) -> Self {
        cut(&mut self.uid, 64);
        cut(&mut self.user, 256);
        cut(&mut self.cluster_name, 256);
        if let Some(sid) = &mut self.sid {
            cut(sid, 64);
        }
        while self.fields.len() > MAX_FIELDS {
            self.fields.pop_last();
        }
        for (name, value) in &mut self.fields {
            let max = if name.ends_with("path") { MAX_PATH_FIELD } else { MAX_FIELD };
            bound_value(value, max, 0);
        }
        self
    }

    /// The event as Teleport-shaped JSON: the common fields, then the rest
    /// at the same level.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        for (name, value) in &self.fields {
            object.insert(name.clone(), value.clone());
        }
        // The common fields win over a same-named one in `fields`.
        object.insert("uid".into(), self.uid.clone().into());
        object.insert("time".into(), rfc3339(self.time).into());
        object.insert("event".into(), self.event.name().into());
        object.insert("code".into(), self.code().into());
        object.insert("success".into(), self.success.into());
        object.insert("user".into(), self.user.clone().into());
        object.insert("cluster_name".into(), self.cluster_name.clone().into());
        if let Some(sid) = &self.sid {
            object.insert("sid".into(), sid.clone().into());
        }
        Value::Object(object)
    }

    /// The event from its JSON ([`Self::to_json`]).
    pub fn from_json(value: Value) -> Result<Self, EventError> {
        let Value::Object(mut object) = value else { return Err(EventError("an event is a JSON object".into())) };
        let mut text = |name: &str| match object.remove(name) {
            Some(Value::String(text)) => Ok(text),
            Some(_) => Err(EventError(format!("{name} is not a string"))),
            None => Err(EventError(format!("{name} is missing"))),
        };
        let uid = text("uid")?;
        let time = parse_rfc3339(&text("time")?)?;
        let name = text("event")?;
        let event = EventType::from_name(&name).ok_or_else(|| EventError(format!("unknown event type {name:?}")))?;
        let user = text("user")?;
        let cluster_name = text("cluster_name").unwrap_or_default();
        let sid = text("sid").ok();
        let success = object.remove("success").and_then(|v| v.as_bool()).unwrap_or(true);
        object.remove("code");
        Ok(Self { uid, time, event, success, user, sid, cluster_name, fields: object.into_iter().collect() })
    }
}

/// An event that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an audit event: {0}")]
pub struct EventError(pub String);

/// Wire form for [`AuditEvent`]: its JSON.
impl Serialize for AuditEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AuditEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_json(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

fn bound_value(value: &mut Value, max: usize, depth: usize) {
    match value {
        Value::String(text) => cut(text, max),
        Value::Array(items) if depth == 0 => {
            items.truncate(MAX_FIELDS);
            items.iter_mut().for_each(|item| bound_value(item, MAX_FIELD.min(max), depth + 1));
        }
        Value::Object(map) if depth == 0 => {
            while map.len() > MAX_FIELDS {
                let last = map.keys().next_back().cloned().unwrap_or_default();
                map.remove(&last);
            }
            map.values_mut().for_each(|item| bound_value(item, MAX_FIELD.min(max), depth + 1));
        }
        Value::Array(_) | Value::Object(_) => {
            let mut text = value.to_string();
            cut(&mut text, max);
            *value = Value::String(text);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary, ending with
/// [`CUT`] when anything was cut.
pub(crate) fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max - CUT.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(CUT);
}

/// A version-7 UUID: time-ordered, and in creation order within this
/// process (the uuid crate counts within a millisecond), so events of the
/// same millisecond list in the order they happened.
fn new_uid() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A new desktop session's id (`sid` in its events, its recording's id):
/// a version-7 UUID, so sessions sort by when they started.
pub fn new_session_id() -> String {
    new_uid()
}

/// Milliseconds since the epoch of `at`.
pub fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `at` as RFC 3339 in UTC with milliseconds.
pub fn rfc3339(at: SystemTime) -> String {
    let ms = millis(at);
    let whole = UNIX_EPOCH + Duration::from_millis(ms);
    time::OffsetDateTime::from(whole)
        .format(&time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"))
        .unwrap_or_else(|_| ms.to_string())
}

/// The time an RFC 3339 text names.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, EventError> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| EventError(format!("{text:?} is not an RFC 3339 time: {e}")))?;
    Ok(SystemTime::from(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_teleport_shaped_json() {
        let at = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        let event = AuditEvent::new(EventType::ClipboardSend, true, "alice", at).in_session("s-1").with("length", 42).with("desktop_name", "d-dev");
        let json = event.to_json();
        assert_eq!(json["event"], "desktop.clipboard.send");
        assert_eq!(json["code"], "TDP02I");
        assert_eq!(json["time"], "2026-09-21T14:13:20.123Z");
        assert_eq!((json["length"].as_u64(), json["sid"].as_str()), (Some(42), Some("s-1")));
        assert_eq!(AuditEvent::from_json(json).unwrap(), event);
        assert_eq!(event.uid.len(), 36);
        let (first, second) = (AuditEvent::new(EventType::UserLogin, true, "a", at), AuditEvent::new(EventType::UserLogin, true, "a", at));
        assert!(first.uid < second.uid, "ids sort in creation order");
    }

    #[test]
    fn every_type_has_a_name_and_codes() {
        for event in EventType::ALL {
            assert_eq!(EventType::from_name(event.name()), Some(event));
            assert_eq!(event.code(true).len(), 6);
        }
        assert_eq!(EventType::from_name("nope"), None);
    }

    #[test]
    fn hostile_fields_are_bounded() {
        let at = UNIX_EPOCH;
        let mut event = AuditEvent::new(EventType::LinuxSessionStart, false, "é".repeat(10_000), at).with("error", "x".repeat(1 << 20));
        for i in 0..1000 {
            event = event.with(&format!("f{i:04}"), i);
        }
        let nested = serde_json::json!({"a": {"b": "c".repeat(100_000)}});
        let event = event.with("aaa_labels", nested).bounded();
        assert!(event.user.len() <= 256 && event.user.ends_with('…'));
        assert!(event.fields.len() <= MAX_FIELDS);
        assert!(event.to_json().to_string().len() < 64 * 1024, "{} bytes", event.to_json().to_string().len());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            "[]",
            "{}",
            r#"{"uid":"a","time":"yesterday","event":"user.login","user":"a"}"#,
            r#"{"uid":"a","time":"2026-01-01T00:00:00Z","event":"no.such","user":"a"}"#,
        ] {
            assert!(AuditEvent::from_json(serde_json::from_str(text).unwrap()).is_err(), "{text}");
        }
    }
}
