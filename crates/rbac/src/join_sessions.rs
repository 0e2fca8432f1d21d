//! Teleport's `join_sessions` (under `spec.allow`): which running sessions
//! a role's holder may join, and how. A policy names the roles of the
//! session's owner it applies to, the kinds of session (Oriel's desktop
//! sessions are `desktop`; `*` is every kind) and the modes:
//!
//! - `observer`: sees the screen, sends no input;
//! - `peer`: sees the screen and uses the mouse and keyboard too;
//! - `moderator` is kept so Teleport's roles load unchanged, but Oriel has
//!   no moderated sessions, so it grants nothing.
//!
//! Several policies combine: any one of the joiner's roles that matches
//! grants. There is no deny side (Teleport has none): a lock on the joiner
//! is what takes it away, and the owner's invitation is needed as well.

use std::fmt;

use crate::access::RoleSet;
use crate::labels::WILDCARD;
use crate::node::{Node, Value};
use crate::reader::{At, Issue};

/// How a participant takes part in someone else's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JoinMode {
    /// Sees only.
    Observer,
    /// Sees, and sends mouse and keyboard input.
    Peer,
    /// Teleport's moderator: kept in roles, never granted by Oriel.
    Moderator,
}

impl JoinMode {
    /// The name roles use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Observer => "observer",
            Self::Peer => "peer",
            Self::Moderator => "moderator",
        }
    }

    /// The mode a role names, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "observer" => Some(Self::Observer),
            "peer" => Some(Self::Peer),
            "moderator" => Some(Self::Moderator),
            _ => None,
        }
    }
}

impl fmt::Display for JoinMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind Oriel's desktop sessions have in `join_sessions.kinds`.
pub const DESKTOP_SESSIONS: &str = "desktop";

/// One entry of `join_sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinPolicy {
    /// Its name, for people and for the decision's explanation.
    pub name: String,
    /// Roles of the session's owner this policy applies to (`*`: any).
    pub roles: Vec<String>,
    /// Kinds of session (`desktop`, `*`).
    pub kinds: Vec<String>,
    /// How its holder may join.
    pub modes: Vec<JoinMode>,
}

impl JoinPolicy {
    /// Whether it lets its holder join, in `mode`, a session of `kind`
    /// whose owner holds `owner_roles`.
    fn grants(&self, owner_roles: &[String], kind: &str, mode: JoinMode) -> bool {
        mode != JoinMode::Moderator
            && self.modes.contains(&mode)
            && self.kinds.iter().any(|k| k == WILDCARD || k == kind)
            && self
                .roles
                .iter()
                .any(|r| r == WILDCARD || owner_roles.contains(r))
    }

    pub(crate) fn to_node(&self) -> Node {
        let list =
            |items: Vec<String>| Node::new(Value::Seq(items.into_iter().map(Node::str).collect()));
        Node::map(vec![
            ("name", Node::str(self.name.clone())),
            ("roles", list(self.roles.clone())),
            ("kinds", list(self.kinds.clone())),
            (
                "modes",
                list(self.modes.iter().map(|m| m.as_str().to_owned()).collect()),
            ),
        ])
    }
}

/// Whether someone may join a session, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinDecision {
    /// A policy of one of the joiner's roles allows it.
    Allowed {
        /// The role.
        role: String,
        /// Its policy's name.
        policy: String,
    },
    /// Nothing allows it; the reason says what would.
    Denied {
        /// For the person refused.
        reason: String,
    },
}

impl RoleSet {
    /// Whether the holder of these roles may join, in `mode`, a session of
    /// `kind` whose owner holds `owner_roles` (the owner's current roles).
    pub fn check_join(&self, owner_roles: &[String], kind: &str, mode: JoinMode) -> JoinDecision {
        if mode == JoinMode::Moderator {
            return JoinDecision::Denied {
                reason: "Oriel has no moderated sessions: join as an observer or a peer".to_owned(),
            };
        }
        for (role, policies) in self.roles.iter().zip(&self.join_sessions) {
            if let Some(policy) = policies.iter().find(|p| p.grants(owner_roles, kind, mode)) {
                return JoinDecision::Allowed {
                    role: role.name.clone(),
                    policy: policy.name.clone(),
                };
            }
        }
        JoinDecision::Denied {
            reason: format!(
                "none of your roles lets you join this session as {mode} (a role needs join_sessions with one of the owner's roles [{}], kinds [{kind}] and modes [{mode}])",
                owner_roles.join(", ")
            ),
        }
    }
}

/// `join_sessions`: a list of policies. Unknown keys are refused, as in
/// `rules`: a misspelt `modes` would leave a policy that never grants.
pub(crate) fn join_sessions_from_node(at: &At<'_>) -> Result<Vec<JoinPolicy>, Issue> {
    at.items("a list of join_sessions policies")?
        .iter()
        .map(policy)
        .collect()
}

fn policy(at: &At<'_>) -> Result<JoinPolicy, Issue> {
    if !matches!(at.value(), Value::Map(_)) {
        return Err(at.expected("a mapping with name, roles, kinds and modes"));
    }
    let mut out = JoinPolicy {
        name: String::new(),
        roles: Vec::new(),
        kinds: Vec::new(),
        modes: Vec::new(),
    };
    for (key, v) in at.entries()? {
        match key {
            "name" => out.name = v.string()?.to_owned(),
            "roles" => out.roles = crate::rules::list(&v, "a role name")?,
            "kinds" => out.kinds = crate::rules::list(&v, "a kind")?,
            "modes" => {
                for item in v.items("a list of modes")? {
                    let name = item.string()?;
                    let mode = JoinMode::parse(name).ok_or_else(|| {
                        item.issue(format!(
                            "{name:?} is not a mode (observer, peer or moderator)"
                        ))
                    })?;
                    out.modes.push(mode);
                }
            }
            _ => return Err(v.key_issue("unknown field, expected name, roles, kinds or modes")),
        }
    }
    Ok(out)
}
