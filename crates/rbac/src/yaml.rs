//! Reading and writing roles as Teleport-compatible YAML (and JSON).
//!
//! # Why saphyr
//!
//! `serde_yaml` is archived and unmaintained. Its forks `serde_norway` and
//! `serde_yaml_ng` are kept alive but still parse with `unsafe-libyaml`
//! (a machine translation of libyaml's C), and going through serde derive
//! would give errors such as "data did not match any variant" for a label
//! value that may be a string or a list. `serde-saphyr` needs Rust 1.89,
//! above the workspace's 1.85.
//!
//! [`saphyr`](https://github.com/saphyr-rs/saphyr) is the maintained,
//! pure-Rust YAML 1.2 library of the yaml-rust lineage (MSRV 1.85, like the
//! workspace; recent releases added duplicate-key errors (0.2) and a cap on alias
//! expansion against "billion laughs" inputs (0.3.1)). It gives every node a line
//! and column. We load into a small positioned tree (`node.rs`) and
//! validate it by hand, so every error names its line, column and field
//! path, and fields we do not use are skipped without being modelled. It
//! also writes YAML, which `Role::to_yaml` uses.
//!
//! JSON is YAML 1.2, so [`parse_roles`] reads JSON text too. `Role` also
//! implements serde's `Serialize` and `Deserialize` (through the same tree
//! and the same validation) for storage in any serde format.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ParseError;
use crate::labels::LabelSelector;
use crate::node::{self, Node, Value};
use crate::role::{Role, RoleConditions, RoleOptions, role_from_node};
use crate::rules::Rule;

/// Parses every role in a YAML (or JSON) stream; documents are separated by
/// `---`, empty ones are skipped.
///
/// `source_name` only labels errors, for example `role.yaml:7:5: spec.allow…`.
pub fn parse_roles(source_name: &str, text: &str) -> Result<Vec<Role>, ParseError> {
    let docs = node::load_yaml(text).map_err(|issue| ParseError {
        source_name: source_name.to_owned(),
        position: issue.pos,
        path: String::new(),
        message: issue.message,
    })?;
    docs.iter()
        .map(|doc| role_from_node(doc).map_err(|issue| issue.into_error(source_name)))
        .collect()
}

/// Loads every document of a YAML (or JSON) stream into positioned trees,
/// for callers that validate other resource kinds with the same
/// line:column errors. Empty documents are skipped.
pub fn load_documents(source_name: &str, text: &str) -> Result<Vec<Node>, ParseError> {
    node::load_yaml(text).map_err(|issue| ParseError {
        source_name: source_name.to_owned(),
        position: issue.pos,
        path: String::new(),
        message: issue.message,
    })
}

/// Writes documents as one YAML stream, each document starting with `---`.
pub fn documents_to_yaml(docs: &[Node]) -> String {
    let mut out = String::new();
    for doc in docs {
        node::write_yaml(doc, &mut out);
    }
    out
}

/// Parses a stream that must hold exactly one role.
pub fn parse_role(source_name: &str, text: &str) -> Result<Role, ParseError> {
    let mut roles = parse_roles(source_name, text)?;
    if roles.len() != 1 {
        return Err(ParseError {
            source_name: source_name.to_owned(),
            position: None,
            path: String::new(),
            message: format!("expected one role, found {}", roles.len()),
        });
    }
    Ok(roles.remove(0))
}

/// Writes roles as one YAML stream, each document starting with `---`.
pub fn roles_to_yaml(roles: &[Role]) -> String {
    let mut out = String::new();
    for role in roles {
        node::write_yaml(&role.to_node(), &mut out);
    }
    out
}

impl Role {
    /// This role as a YAML document that [`parse_role`] reads back to an equal
    /// role. Only the fields this crate models are written (desktop fields,
    /// options and `rules`).
    pub fn to_yaml(&self) -> String {
        roles_to_yaml(std::slice::from_ref(self))
    }

    /// Validates one loaded document (see [`load_documents`]) into a role.
    pub fn from_document(source_name: &str, doc: &Node) -> Result<Role, ParseError> {
        role_from_node(doc).map_err(|issue| issue.into_error(source_name))
    }

    /// This role as a document tree, the shape [`Role::to_yaml`] writes.
    pub fn to_document(&self) -> Node {
        self.to_node()
    }

    pub(crate) fn to_node(&self) -> Node {
        let mut metadata = vec![("name", Node::str(&self.name))];
        if let Some(d) = &self.description {
            metadata.push(("description", Node::str(d)));
        }
        if !self.labels.is_empty() {
            let labels = self
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), Node::str(v)))
                .collect();
            metadata.push(("labels", Node::map(labels)));
        }
        Node::map(vec![
            ("kind", Node::str("role")),
            ("version", Node::str(self.version.as_str())),
            ("metadata", Node::map(metadata)),
            (
                "spec",
                Node::map(vec![
                    ("options", options_node(&self.options)),
                    ("allow", conditions_node(&self.allow)),
                    ("deny", conditions_node(&self.deny)),
                ]),
            ),
        ])
    }
}

fn options_node(o: &RoleOptions) -> Node {
    let flag = |b: bool| Node::new(Value::Bool(b));
    let mut out = Vec::new();
    if let Some(b) = o.desktop_clipboard {
        out.push(("desktop_clipboard", flag(b)));
    }
    if let Some(b) = o.desktop_directory_sharing {
        out.push(("desktop_directory_sharing", flag(b)));
    }
    if let Some(b) = o.desktop_lossy {
        out.push(("desktop_lossy", flag(b)));
    }
    if let Some(b) = o.record_session_desktop {
        out.push(("record_session", Node::map(vec![("desktop", flag(b))])));
    }
    if let Some(b) = o.record_desktop_session {
        out.push(("record_desktop_session", flag(b)));
    }
    if let Some(t) = &o.client_idle_timeout {
        out.push(("client_idle_timeout", Node::str(t.as_str())));
    }
    if let Some(m) = o.require_session_mfa {
        out.push(("require_session_mfa", m.to_node()));
    }
    if let Some(b) = o.create_desktop_user {
        out.push(("create_desktop_user", flag(b)));
    }
    Node::map(out)
}

fn conditions_node(c: &RoleConditions) -> Node {
    let mut out = Vec::new();
    let logins = |l: &[crate::Template]| {
        Node::new(Value::Seq(
            l.iter().map(|t| Node::str(t.as_str())).collect(),
        ))
    };
    let labels = |s: &LabelSelector| {
        Node::map(
            s.entries()
                .map(|(k, vs)| {
                    (
                        k,
                        Node::new(Value::Seq(vs.into_iter().map(Node::str).collect())),
                    )
                })
                .collect(),
        )
    };
    if !c.linux_desktop_logins.is_empty() {
        out.push(("linux_desktop_logins", logins(&c.linux_desktop_logins)));
    }
    if !c.linux_desktop_labels.is_empty() {
        out.push(("linux_desktop_labels", labels(&c.linux_desktop_labels)));
    }
    if !c.windows_desktop_logins.is_empty() {
        out.push(("windows_desktop_logins", logins(&c.windows_desktop_logins)));
    }
    if !c.windows_desktop_labels.is_empty() {
        out.push(("windows_desktop_labels", labels(&c.windows_desktop_labels)));
    }
    if !c.desktop_groups.is_empty() {
        let groups = c.desktop_groups.iter().map(Node::str).collect();
        out.push(("desktop_groups", Node::new(Value::Seq(groups))));
    }
    if !c.rules.is_empty() {
        let rules = c.rules.iter().map(Rule::to_node).collect();
        out.push(("rules", Node::new(Value::Seq(rules))));
    }
    if !c.join_sessions.is_empty() {
        let policies = c.join_sessions.iter().map(|p| p.to_node()).collect();
        out.push(("join_sessions", Node::new(Value::Seq(policies))));
    }
    Node::map(out)
}

/// The same shape as the YAML: `{"kind": "role", "version": …, "metadata": …, "spec": …}`.
impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_node().serialize(s)
    }
}

/// Reads the shape [`Serialize`] writes (or any role document) with the
/// same validation as [`parse_roles`]; errors carry the field path but no
/// line, since serde formats do not report one.
impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let node = Node::deserialize(d)?;
        role_from_node(&node).map_err(|issue| serde::de::Error::custom(issue.into_error("role")))
    }
}
