//! Roles and the desktop access decision, following Teleport's RBAC for
//! desktops (RFD 33, the desktop access RBAC guide).
//!
//! Pure: no I/O, no async, no clock. The control plane loads roles with
//! [`parse_roles`], builds a [`RoleSet`] per user from the user's roles and
//! [`Traits`], then asks it:
//!
//! - [`RoleSet::check`]: may this login be used on this desktop? The answer
//!   is a [`Decision`]; only its [`Allowed`] side can start a session, and it
//!   carries the [`SessionOptions`] to apply. [`Denied`] explains itself.
//! - [`RoleSet::visible_desktops`] / [`RoleSet::allowed_logins`]: what the
//!   desktop list and its login picker show.
//! - [`RoleSet::check_rule`] / [`RoleSet::check_rules`]: may this user use
//!   these verbs on this kind of control-plane resource (`event`, `role`…)?
//!   Decided by the roles' Teleport [`Rule`]s; the answer is a [`RuleDecision`].
//!
//! ```
//! use oriel_rbac::{ClusterPolicy, Desktop, DesktopKind, RoleSet, SessionMfa, Traits, parse_roles};
//!
//! let roles = parse_roles("access.yaml", r#"
//! kind: role
//! version: v7
//! metadata: {name: access}
//! spec:
//!   allow:
//!     linux_desktop_labels: {env: [dev, stage]}
//!     linux_desktop_logins: ["{{internal.linux_logins}}"]
//!   deny:
//!     linux_desktop_logins: [root]
//! "#).unwrap();
//! let alice = RoleSet::new(&roles, &Traits::new().with("linux_logins", ["alice", "root"]));
//! let dev = Desktop::new(DesktopKind::Linux, "dev-1").with_label("env", "dev");
//!
//! let decision = alice.check(&dev, "alice", &ClusterPolicy::default(), SessionMfa::NotVerified);
//! assert!(decision.is_allowed());
//! let decision = alice.check(&dev, "root", &ClusterPolicy::default(), SessionMfa::NotVerified);
//! assert_eq!(
//!     decision.to_string(),
//!     r#"denied by role "access": deny.linux_desktop_logins lists "root""#,
//! );
//! assert_eq!(alice.allowed_logins(&dev), ["alice"]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod desktop;
mod duration;
mod error;
mod join_sessions;
mod labels;
mod listing;
mod node;
mod options;
mod reader;
mod role;
mod rule_scope;
mod rules;
mod traits;
mod yaml;

pub use access::{
    Allowed, Decision, Denied, DenyReason, RoleMiss, RoleSet, SessionMfa, check_access,
};
pub use desktop::{Desktop, DesktopKind};
pub use error::{ParseError, Position};
pub use join_sessions::{DESKTOP_SESSIONS, JoinDecision, JoinMode, JoinPolicy};
pub use labels::{LabelSelector, SelectorError, WILDCARD};
pub use listing::VisibleDesktop;
pub use options::{
    ClusterPolicy, RecordingMode, SessionOptions, UnknownRecordingMode, combine_options,
};
pub use role::{IdleTimeout, RequireMfa, Role, RoleConditions, RoleOptions, RoleVersion};
pub use rule_scope::{Condition, ScopedDecision};
pub use rules::{Rule, RuleDecision};
pub use traits::{INTERNAL_TRAITS, LINUX_LOGINS, Template, TemplateError, Traits, WINDOWS_LOGINS};
pub use yaml::{parse_role, parse_roles, roles_to_yaml};

/// Loaded YAML documents as a tree that remembers where each node was, and
/// the one reader of that tree ([`At`](document::At), [`Issue`](document::Issue)),
/// for callers that validate other resource kinds (users, locks, cluster
/// settings…) with the same YAML rules and line:column errors as roles, and
/// write them back.
pub mod document {
    pub use crate::node::{Entry, Node, Value};
    pub use crate::reader::{At, Issue};
    pub use crate::yaml::{documents_to_yaml, load_documents};
}
