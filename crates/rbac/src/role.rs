//! The role resource, reduced to what desktop access and the control plane
//! use, and its validation from a loaded document.
//!
//! A role written for Teleport loads unchanged: fields that do not concern
//! desktops or Oriel's control plane (`logins`, `node_labels`,
//! `kubernetes_*`, …) are accepted and left out of these types. `rules` are
//! kept (`rules.rs`): they say what a user may do with the control plane's
//! own resources, such as reading the audit log. A field that is kept must
//! have the right type. Two desktop fields are refused rather than ignored
//! because ignoring them would grant more than the author meant:
//! `linux_desktop_labels_expression` and `windows_desktop_labels_expression`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::desktop::{DesktopKind, check_login};
use crate::duration::parse_go_duration;
use crate::labels::LabelSelector;
use crate::node::{Node, Value};
use crate::reader::{At, Issue, parse_bool_word};
use crate::rules::{Rule, rules_from_node};
use crate::traits::Template;

/// A role: who may reach which desktops as which logins, and with which
/// session options.
///
/// Every field holds a validated value: build roles with [`crate::parse_roles`]
/// or [`Role::new`] and the field types' own constructors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `metadata.name`.
    pub name: String,
    /// `version`; desktop rules mean the same in all of them.
    pub version: RoleVersion,
    /// `metadata.description`.
    pub description: Option<String>,
    /// `metadata.labels`, the role's own labels.
    pub labels: BTreeMap<String, String>,
    /// `spec.options`.
    pub options: RoleOptions,
    /// `spec.allow`.
    pub allow: RoleConditions,
    /// `spec.deny`.
    pub deny: RoleConditions,
}

impl Role {
    /// A `v7` role with this name, default options and no rules: it grants
    /// nothing until rules are added.
    pub fn new(name: impl Into<String>) -> Role {
        Role {
            name: name.into(),
            version: RoleVersion::V7,
            description: None,
            labels: BTreeMap::new(),
            options: RoleOptions::default(),
            allow: RoleConditions::default(),
            deny: RoleConditions::default(),
        }
    }
}

/// The role resource versions Teleport still reads. v3 to v7 differ only in
/// defaults for nodes, apps, databases and Kubernetes; desktop fields have no
/// version-dependent default (an unset selector matches nothing in all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleVersion {
    /// `v3`.
    V3,
    /// `v4`.
    V4,
    /// `v5`.
    V5,
    /// `v6`.
    V6,
    /// `v7`.
    V7,
}

impl RoleVersion {
    /// All accepted versions, oldest first.
    pub const ALL: [RoleVersion; 5] = [
        RoleVersion::V3,
        RoleVersion::V4,
        RoleVersion::V5,
        RoleVersion::V6,
        RoleVersion::V7,
    ];

    /// `"v3"` … `"v7"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleVersion::V3 => "v3",
            RoleVersion::V4 => "v4",
            RoleVersion::V5 => "v5",
            RoleVersion::V6 => "v6",
            RoleVersion::V7 => "v7",
        }
    }

    /// Reads `"v3"` … `"v7"`.
    pub fn parse(s: &str) -> Option<RoleVersion> {
        RoleVersion::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for RoleVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.options`, desktop part. `None` means "not set", which keeps the
/// role's text faithful when written back; the methods apply the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleOptions {
    /// `desktop_clipboard` (default true).
    pub desktop_clipboard: Option<bool>,
    /// `desktop_directory_sharing` (default true).
    pub desktop_directory_sharing: Option<bool>,
    /// `desktop_lossy` (default true): regions of the screen in motion may
    /// be sent as lossy video (VP8).
    pub desktop_lossy: Option<bool>,
    /// `record_session.desktop` (default true).
    pub record_session_desktop: Option<bool>,
    /// `record_desktop_session`, the name RFD 33 gave the option. Teleport
    /// itself only reads `record_session.desktop`; we honour this one too
    /// when `record_session.desktop` is not set, so the RFD's example means
    /// what it says.
    pub record_desktop_session: Option<bool>,
    /// `client_idle_timeout` (default: none).
    pub client_idle_timeout: Option<IdleTimeout>,
    /// `require_session_mfa` (default off).
    pub require_session_mfa: Option<RequireMfa>,
    /// `create_desktop_user` (default off): create the login on a Linux
    /// host that lacks it, as Teleport's host user creation does.
    pub create_desktop_user: Option<bool>,
}

impl RoleOptions {
    /// Whether this role leaves clipboard sharing on.
    pub fn clipboard(&self) -> bool {
        self.desktop_clipboard.unwrap_or(true)
    }

    /// Whether this role leaves directory sharing on.
    pub fn directory_sharing(&self) -> bool {
        self.desktop_directory_sharing.unwrap_or(true)
    }

    /// Whether this role leaves lossy video for regions in motion on.
    pub fn lossy(&self) -> bool {
        self.desktop_lossy.unwrap_or(true)
    }

    /// Whether this role asks for desktop sessions to be recorded.
    pub fn record_desktop(&self) -> bool {
        self.record_session_desktop
            .or(self.record_desktop_session)
            .unwrap_or(true)
    }

    /// This role's idle timeout; `None` when unset or zero ("never").
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.client_idle_timeout
            .as_ref()
            .map(IdleTimeout::duration)
            .filter(|d| !d.is_zero())
    }

    /// What this role says of host user creation: `None` when unset.
    pub fn create_desktop_user(&self) -> Option<bool> {
        self.create_desktop_user
    }

    /// Whether this role requires a fresh MFA check per session.
    pub fn requires_session_mfa(&self) -> bool {
        self.require_session_mfa
            .is_some_and(RequireMfa::is_session_mfa_required)
    }
}

/// A `client_idle_timeout`: a Go duration string ("30m", "1h30m") or
/// `"never"`; zero means no timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleTimeout {
    raw: String,
    value: Duration,
}

impl IdleTimeout {
    /// Reads `"never"` or a Go duration string.
    pub fn parse(raw: &str) -> Result<IdleTimeout, String> {
        let value = if raw == "never" {
            Duration::ZERO
        } else {
            parse_go_duration(raw)?
        };
        Ok(IdleTimeout {
            raw: raw.to_owned(),
            value,
        })
    }

    /// Reads a `client_idle_timeout` field, of a role or of the cluster's
    /// networking config: a duration string, `"never"`, or a bare `0`.
    pub fn read(at: &At<'_>) -> Result<IdleTimeout, Issue> {
        let raw = match at.value() {
            Value::Str(s) => s.as_str(),
            // A bare 0 can only mean "no timeout".
            Value::Int(0) => "0",
            _ => return Err(at.expected("a duration such as \"30m\" or \"1h30m\"")),
        };
        IdleTimeout::parse(raw).map_err(|m| at.issue(m))
    }

    /// The timeout; zero means none.
    pub fn duration(&self) -> Duration {
        self.value
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// `require_session_mfa`, which Teleport reads from a boolean or a string.
/// Every value but `Off` requires per-session MFA; the hardware-key values
/// also set a private key policy that Oriel does not enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequireMfa {
    /// `false`, `"off"`, `"no"`…
    Off,
    /// `true`, `"on"`, `"yes"`…
    Session,
    /// `"hardware_key"`.
    SessionAndHardwareKey,
    /// `"hardware_key_touch"`.
    HardwareKeyTouch,
    /// `"hardware_key_pin"`.
    HardwareKeyPin,
    /// `"hardware_key_touch_and_pin"`.
    HardwareKeyTouchAndPin,
}

impl RequireMfa {
    /// Whether a session needs a fresh MFA check.
    pub fn is_session_mfa_required(self) -> bool {
        self != RequireMfa::Off
    }

    fn from_index(i: i64) -> Option<RequireMfa> {
        Some(match i {
            0 => RequireMfa::Off,
            1 => RequireMfa::Session,
            2 => RequireMfa::SessionAndHardwareKey,
            3 => RequireMfa::HardwareKeyTouch,
            4 => RequireMfa::HardwareKeyPin,
            5 => RequireMfa::HardwareKeyTouchAndPin,
            _ => return None,
        })
    }

    fn from_str(s: &str) -> Option<RequireMfa> {
        Some(match s {
            "" => RequireMfa::Off,
            "hardware_key" => RequireMfa::SessionAndHardwareKey,
            "hardware_key_touch" => RequireMfa::HardwareKeyTouch,
            "hardware_key_pin" => RequireMfa::HardwareKeyPin,
            "hardware_key_touch_and_pin" => RequireMfa::HardwareKeyTouchAndPin,
            other => match parse_bool_word(other)? {
                true => RequireMfa::Session,
                false => RequireMfa::Off,
            },
        })
    }

    pub(crate) fn to_node(self) -> Node {
        match self {
            RequireMfa::Off => Node::new(Value::Bool(false)),
            RequireMfa::Session => Node::new(Value::Bool(true)),
            RequireMfa::SessionAndHardwareKey => Node::str("hardware_key"),
            RequireMfa::HardwareKeyTouch => Node::str("hardware_key_touch"),
            RequireMfa::HardwareKeyPin => Node::str("hardware_key_pin"),
            RequireMfa::HardwareKeyTouchAndPin => Node::str("hardware_key_touch_and_pin"),
        }
    }
}

/// `spec.allow` or `spec.deny`, desktop part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleConditions {
    /// `linux_desktop_logins`: literal logins and templates.
    pub linux_desktop_logins: Vec<Template>,
    /// `linux_desktop_labels`.
    pub linux_desktop_labels: LabelSelector,
    /// `windows_desktop_logins`: literal logins and templates.
    pub windows_desktop_logins: Vec<Template>,
    /// `windows_desktop_labels`.
    pub windows_desktop_labels: LabelSelector,
    /// `desktop_groups`: host groups a created desktop user joins (allow only).
    pub desktop_groups: Vec<String>,
    /// `rules`: verbs on control-plane resources (`event`, `role`…), in
    /// the order written; see [`RoleSet::check_rule`](crate::RoleSet::check_rule).
    pub rules: Vec<Rule>,
    /// `join_sessions`: whose running sessions its holder may join, and
    /// how (allow only).
    pub join_sessions: Vec<crate::join_sessions::JoinPolicy>,
}

impl RoleConditions {
    /// The logins field for this kind of desktop.
    pub fn logins(&self, kind: DesktopKind) -> &[Template] {
        match kind {
            DesktopKind::Linux => &self.linux_desktop_logins,
            DesktopKind::Windows => &self.windows_desktop_logins,
        }
    }

    /// The labels field for this kind of desktop.
    pub fn labels(&self, kind: DesktopKind) -> &LabelSelector {
        match kind {
            DesktopKind::Linux => &self.linux_desktop_labels,
            DesktopKind::Windows => &self.windows_desktop_labels,
        }
    }

    fn logins_mut(&mut self, kind: DesktopKind) -> &mut Vec<Template> {
        match kind {
            DesktopKind::Linux => &mut self.linux_desktop_logins,
            DesktopKind::Windows => &mut self.windows_desktop_logins,
        }
    }

    fn labels_mut(&mut self, kind: DesktopKind) -> &mut LabelSelector {
        match kind {
            DesktopKind::Linux => &mut self.linux_desktop_labels,
            DesktopKind::Windows => &mut self.windows_desktop_labels,
        }
    }
}

// ---------------------------------------------------------------------------
// Validation: Node → Role.

/// A field a role must have. Unlike [`At::required`], a null one counts as
/// written, so its error says which type it needs; and a missing one is
/// reported as roles always have been, `missing field name` at the mapping.
fn must_have<'a>(at: &At<'a>, key: &str) -> Result<At<'a>, Issue> {
    at.entry(key)?
        .ok_or_else(|| at.issue(format!("missing field {key}")))
}

/// Validates one document into a role.
pub(crate) fn role_from_node(doc: &Node) -> Result<Role, Issue> {
    let root = At::root(doc);
    if !matches!(doc.value, Value::Map(_)) {
        return Err(root.expected("a role document"));
    }

    let kind_at = must_have(&root, "kind")?;
    match kind_at.string()? {
        "role" => {}
        other => return Err(kind_at.issue(format!("expected kind \"role\", found {other:?}"))),
    }

    let version_at = must_have(&root, "version")?;
    let version = match version_at.value() {
        Value::Str(s) => RoleVersion::parse(s).ok_or_else(|| {
            version_at.issue(format!(
                "unsupported role version {s:?}, expected one of v3, v4, v5, v6, v7"
            ))
        })?,
        _ => return Err(version_at.expected("a version string such as \"v7\"")),
    };

    let metadata = must_have(&root, "metadata")?;
    let name_at = must_have(&metadata, "name")?;
    let name = name_at.string()?;
    if name.trim().is_empty() {
        return Err(name_at.issue("a role name cannot be empty"));
    }
    let mut role = Role::new(name);
    role.version = version;
    if let Some(at) = metadata.field("description")? {
        role.description = Some(at.string()?.to_owned());
    }
    if let Some(labels) = metadata.entry("labels")? {
        for (key, at) in labels.entries()? {
            role.labels.insert(key.to_owned(), at.string()?.to_owned());
        }
    }

    if let Some(spec) = root.entry("spec")? {
        if let Some(at) = spec.entry("options")? {
            role.options = options(&at)?;
        }
        if let Some(at) = spec.entry("allow")? {
            role.allow = conditions(&at, Side::Allow)?;
        }
        if let Some(at) = spec.entry("deny")? {
            role.deny = conditions(&at, Side::Deny)?;
        }
    }
    Ok(role)
}

fn options(at: &At<'_>) -> Result<RoleOptions, Issue> {
    let mut out = RoleOptions::default();
    for (key, v) in at.entries()? {
        if v.is_null() {
            continue;
        }
        match key {
            "desktop_clipboard" => out.desktop_clipboard = Some(v.flag()?),
            "desktop_directory_sharing" => out.desktop_directory_sharing = Some(v.flag()?),
            "desktop_lossy" => out.desktop_lossy = Some(v.flag()?),
            "create_desktop_user" => out.create_desktop_user = Some(v.flag()?),
            "record_desktop_session" => out.record_desktop_session = Some(v.flag()?),
            "record_session" => {
                if let Some(desktop) = v.field("desktop")? {
                    out.record_session_desktop = Some(desktop.flag()?);
                }
            }
            "client_idle_timeout" => out.client_idle_timeout = Some(IdleTimeout::read(&v)?),
            "require_session_mfa" => {
                let mfa = match v.value() {
                    Value::Bool(true) => Some(RequireMfa::Session),
                    Value::Bool(false) => Some(RequireMfa::Off),
                    Value::Str(s) => RequireMfa::from_str(s),
                    Value::Int(i) => RequireMfa::from_index(*i),
                    _ => None,
                };
                out.require_session_mfa = Some(mfa.ok_or_else(|| {
                    v.issue(
                        "expected true, false, \"hardware_key\", \"hardware_key_touch\", \
                         \"hardware_key_pin\" or \"hardware_key_touch_and_pin\"",
                    )
                })?);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Which half of a role a field is in; some fields only mean something in one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Allow,
    Deny,
}

fn conditions(at: &At<'_>, side: Side) -> Result<RoleConditions, Issue> {
    let mut out = RoleConditions::default();
    for (key, v) in at.entries()? {
        if key == "desktop_groups" {
            if side == Side::Deny {
                return Err(v.issue("desktop_groups only has a meaning under allow"));
            }
            out.desktop_groups = groups(&v)?;
            continue;
        }
        if key == "rules" {
            out.rules = rules_from_node(&v)?;
            continue;
        }
        if key == "join_sessions" {
            if side == Side::Deny {
                return Err(v.issue("join_sessions only has a meaning under allow"));
            }
            out.join_sessions = crate::join_sessions::join_sessions_from_node(&v)?;
            continue;
        }
        for kind in DesktopKind::ALL {
            if key == kind.logins_field() {
                *out.logins_mut(kind) = logins(&v, kind, side)?;
            } else if key == kind.labels_field() {
                *out.labels_mut(kind) = selector(&v)?;
            } else if key == format!("{}_expression", kind.labels_field()) {
                let empty = match v.value() {
                    Value::Null => true,
                    Value::Str(s) => s.trim().is_empty(),
                    _ => false,
                };
                if !empty {
                    return Err(v.issue(format!(
                        "label expressions are not supported, use {} instead",
                        kind.labels_field()
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// Group names: Windows groups ("Administrators", "Remote Desktop Users")
/// as Teleport uses them, or Linux groups; whichever the host can use is
/// used when it creates a user.
fn groups(at: &At<'_>) -> Result<Vec<String>, Issue> {
    let mut out = Vec::new();
    for item_at in at.items("a list of group names")? {
        let name = item_at.string()?;
        if name.trim().is_empty()
            || name.len() > 256
            || name.chars().any(|c| c.is_control() || c == ',' || c == ':')
        {
            return Err(item_at.issue(format!("{name:?} is not a group name (no commas, colons or control characters, at most 256 bytes)")));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

fn logins(at: &At<'_>, kind: DesktopKind, side: Side) -> Result<Vec<Template>, Issue> {
    let mut out = Vec::new();
    for item_at in at.items("a list of strings")? {
        let raw = item_at.string()?;
        if raw == "*" {
            let verb = if side == Side::Allow { "allow" } else { "deny" };
            return Err(item_at.issue(format!(
                "a wildcard login is not supported, list the logins to {verb} or use a trait such as {{{{internal.{}_logins}}}}",
                kind.as_str()
            )));
        }
        let template = Template::parse(raw).map_err(|e| item_at.issue(e.to_string()))?;
        if template.is_literal() {
            check_login(kind, raw).map_err(|m| item_at.issue(format!("{raw:?}: {m}")))?;
        }
        out.push(template);
    }
    Ok(out)
}

fn selector(at: &At<'_>) -> Result<LabelSelector, Issue> {
    let mut out = LabelSelector::default();
    for (key, v) in at.entries()? {
        let value = |item_at: &At<'_>| -> Result<String, Issue> {
            let s = item_at.string()?;
            LabelSelector::check_value(s).map_err(|err| item_at.issue(err.to_string()))?;
            Ok(s.to_owned())
        };
        let values = match v.value() {
            Value::Str(_) => vec![value(&v)?],
            Value::Seq(_) => v
                .items("a list of strings")?
                .iter()
                .map(value)
                .collect::<Result<_, _>>()?,
            _ => return Err(v.expected("a string or a list of strings")),
        };
        // Values are fine by now; what is left is about the key.
        out.push(key, &values)
            .map_err(|err| v.key_issue(err.to_string()))?;
    }
    Ok(out)
}
