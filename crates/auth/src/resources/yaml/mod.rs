//! Resources as Teleport-shaped YAML documents: what `orielctl create -f`
//! reads and `orielctl get --format yaml` writes, so a file written for
//! Teleport loads unchanged and `get` output loads again.
//!
//! Pure: text in, values out. Every document of a stream is validated
//! before the caller writes anything, and an error names the document, its
//! line and column, and the field path:
//! `users.yaml:9:7: document 2: spec.traits.logins: expected a list of strings, found a string`.
//!
//! Fields Oriel does not use are accepted and not kept, as with roles, except
//! where ignoring one would do more than the author meant (a lock target
//! Oriel cannot match, a join method it does not check, an OIDC login
//! condition it does not enforce). Secrets are never written: a token as
//! its hash, an OIDC connector's client secret as a placeholder.

mod auth_preference;
mod cluster;
mod desktop;
mod desktop_service;
mod lock;
mod oidc;
pub mod rfc3339;
mod token;
mod user;

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use oriel_rbac::document::{At, Issue, Node, Value};
use oriel_rbac::{ParseError, Position, Role};

pub use oidc::CLIENT_SECRET_PLACEHOLDER;
pub use token::TokenSpec;

use rfc3339::TimeField;

use crate::resources::auth_preference::AuthPreference;
use crate::resources::cluster_settings::{ClusterNetworkingConfig, SessionRecordingConfig};
use crate::resources::lock::Lock;
use crate::resources::oidc_connector::OidcConnector;
use crate::resources::user::User;
use crate::store::DesktopRecord;

/// The kinds `create -f` accepts, in the order errors list them.
pub const CREATABLE_KINDS: [&str; 10] = [
    "role",
    "user",
    "lock",
    "token",
    "linux_desktop",
    "windows_desktop",
    "oidc",
    "session_recording_config",
    "cluster_networking_config",
    "cluster_auth_preference",
];

/// A document that cannot be loaded. `Display`:
/// `SOURCE[:LINE:COLUMN]: [document N: ][FIELD.PATH: ]MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ResourceError {
    /// The name the caller gave the input, usually a file name.
    pub source_name: String,
    /// 1-based index among the stream's non-empty documents; `None` for a
    /// YAML syntax error, which is about the stream.
    pub document: Option<usize>,
    /// Line and column, when known.
    pub position: Option<Position>,
    /// Dotted path of the offending field; empty for the document as a whole.
    pub path: String,
    /// What is wrong, lowercase, without a final period.
    pub message: String,
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_name)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if let Some(n) = self.document {
            write!(f, ": document {n}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One resource, validated.
// A role is the largest by far; resources come a file's documents at a
// time, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `kind: role`.
    Role(Role),
    /// `kind: user`, without credentials: creating one invites the user.
    User(User),
    /// `kind: lock`.
    Lock(Lock),
    /// `kind: token`.
    Token(TokenSpec),
    /// `kind: linux_desktop` or `kind: windows_desktop`.
    Desktop(DesktopRecord),
    /// `kind: session_recording_config`.
    SessionRecordingConfig(SessionRecordingConfig),
    /// `kind: cluster_networking_config`.
    ClusterNetworkingConfig(ClusterNetworkingConfig),
    /// `kind: cluster_auth_preference`.
    AuthPreference(AuthPreference),
    /// `kind: oidc`, with its client secret.
    OidcConnector(OidcConnector),
}

impl Resource {
    /// The resource kind as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Role(_) => "role",
            Resource::User(_) => "user",
            Resource::Lock(_) => "lock",
            Resource::Token(_) => "token",
            Resource::Desktop(d) => desktop::kind_name(d.kind),
            Resource::SessionRecordingConfig(_) => "session_recording_config",
            Resource::ClusterNetworkingConfig(_) => "cluster_networking_config",
            Resource::AuthPreference(_) => "cluster_auth_preference",
            Resource::OidcConnector(_) => "oidc",
        }
    }

    /// The name to show people. A token shows a prefix of its hash, as
    /// `orielctl tokens ls` does, never its secret; singletons show their kind.
    pub fn display_name(&self) -> String {
        match self {
            Resource::Role(r) => r.name.clone(),
            Resource::User(u) => u.name.to_string(),
            Resource::Lock(l) => l.name.clone(),
            Resource::Token(t) => t.short_hash().to_owned(),
            Resource::Desktop(d) => d.name.clone(),
            Resource::OidcConnector(c) => c.name.clone(),
            Resource::SessionRecordingConfig(_) | Resource::ClusterNetworkingConfig(_) | Resource::AuthPreference(_) => self.kind().to_owned(),
        }
    }

    /// Whether the cluster holds at most one of this kind, which is set and
    /// reset rather than created and removed.
    pub fn is_singleton(&self) -> bool {
        matches!(self, Resource::SessionRecordingConfig(_) | Resource::ClusterNetworkingConfig(_) | Resource::AuthPreference(_))
    }

    /// The resource as a document, the shape `parse_resources` reads (an
    /// OIDC connector's with the secret's placeholder, which it refuses).
    pub fn to_document(&self) -> Node {
        match self {
            Resource::Role(r) => r.to_document(),
            Resource::User(u) => u.to_document(),
            Resource::Lock(l) => l.to_document(),
            Resource::Token(t) => t.to_document(),
            Resource::Desktop(d) => d.to_document(),
            Resource::SessionRecordingConfig(c) => c.to_document(),
            Resource::ClusterNetworkingConfig(c) => c.to_document(),
            Resource::AuthPreference(p) => p.to_document(),
            Resource::OidcConnector(c) => c.to_document(),
        }
    }

    /// What identifies it within one stream (kind and storage name).
    fn identity(&self) -> (&'static str, String) {
        match self {
            Resource::Token(t) => ("token", t.secret_hash.clone()),
            other => (other.kind(), other.display_name()),
        }
    }
}

/// A resource and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// 1-based index among the stream's non-empty documents.
    pub index: usize,
    /// Where the document starts.
    pub position: Option<Position>,
    /// What it holds.
    pub resource: Resource,
}

/// A resource written as a Teleport-shaped document.
pub trait ToDocument {
    /// The document: `kind`, `version`, `metadata`, `spec`.
    fn to_document(&self) -> Node;
}

impl ToDocument for Role {
    fn to_document(&self) -> Node {
        Role::to_document(self)
    }
}

/// Parses and validates every document of a YAML (or JSON) stream;
/// documents are separated by `---` and empty ones are skipped. Nothing is
/// returned unless every document is valid.
///
/// `source_name` only labels errors.
pub fn parse_resources(source_name: &str, text: &str) -> Result<Vec<Document>, ResourceError> {
    let docs = oriel_rbac::document::load_documents(source_name, text).map_err(|e| resource_error(e, None))?;
    let mut out: Vec<Document> = Vec::with_capacity(docs.len());
    for (i, node) in docs.iter().enumerate() {
        let index = i + 1;
        let error = |issue: Issue| resource_error(issue.into_error(source_name), Some(index));
        let resource = parse_document(source_name, node).map_err(error)?;
        let identity = resource.identity();
        if let Some(earlier) = out.iter().find(|d| d.resource.identity() == identity) {
            let what = if resource.is_singleton() { resource.kind().to_owned() } else { format!("{} {:?}", resource.kind(), resource.display_name()) };
            return Err(error(At::root(node).issue(format!("{what} is also in document {}", earlier.index))));
        }
        out.push(Document { index, position: node.pos, resource });
    }
    Ok(out)
}

/// A loading error (`document` `None`) or a document's, as `create -f` reports it.
fn resource_error(e: ParseError, document: Option<usize>) -> ResourceError {
    ResourceError { source_name: e.source_name, document, position: e.position, path: e.path, message: e.message }
}

/// Writes resources as one YAML stream, each document starting with `---`.
pub fn to_yaml(documents: &[Node]) -> String {
    oriel_rbac::document::documents_to_yaml(documents)
}

fn parse_document(source_name: &str, node: &Node) -> Result<Resource, Issue> {
    let root = At::root(node);
    if !matches!(node.value, Value::Map(_)) {
        return Err(root.expected("a resource (a mapping with kind, metadata and spec)"));
    }
    let kind_at = root.required("kind")?;
    let kind = kind_at.string()?;
    if let Some(version) = root.field("version")? {
        version.string()?;
    }
    Ok(match kind {
        "role" => Resource::Role(Role::from_document(source_name, node).map_err(|e| Issue::new(e.position, e.path, e.message))?),
        "user" => Resource::User(user::parse(&root)?),
        "lock" => Resource::Lock(lock::parse(&root)?),
        "token" => Resource::Token(token::parse(&root)?),
        "linux_desktop" => Resource::Desktop(desktop::parse(&root, oriel_rbac::DesktopKind::Linux)?),
        "windows_desktop" => Resource::Desktop(desktop::parse(&root, oriel_rbac::DesktopKind::Windows)?),
        "oidc" => Resource::OidcConnector(oidc::parse(&root)?),
        "session_recording_config" => Resource::SessionRecordingConfig(cluster::parse_recording(&root)?),
        "cluster_networking_config" => Resource::ClusterNetworkingConfig(cluster::parse_networking(&root)?),
        "cluster_auth_preference" => Resource::AuthPreference(auth_preference::parse(&root)?),
        "linux_desktop_service" | "windows_desktop_service" => {
            return Err(kind_at.issue(format!("a {kind} registers itself with its heartbeat and cannot be created")));
        }
        other => {
            return Err(kind_at.issue(format!("unsupported kind {other:?}; orielctl create accepts {}", CREATABLE_KINDS.join(", "))));
        }
    })
}

// ---------------------------------------------------------------------------
// What every kind shares: metadata.

/// Longest resource name, in bytes (a DNS name's length).
const MAX_NAME_LEN: usize = 253;

/// `metadata.name` as a storage name: not empty, at most 253 bytes, no `/`,
/// no whitespace or control characters, not `.` or `..`.
pub(crate) fn resource_name(root: &At<'_>) -> Result<String, Issue> {
    let at = root.required("metadata")?.required("name")?;
    let name = at.string()?;
    let refuse = |why: &str| Err(at.issue(format!("invalid name {:?}: {why}", name.chars().take(64).collect::<String>())));
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return refuse("it is longer than 253 bytes");
    }
    if name == "." || name == ".." || name.contains('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("it cannot be '.' or '..' nor contain '/', whitespace or control characters");
    }
    Ok(name.to_owned())
}

/// `metadata.labels`: string keys to string values.
pub(crate) fn labels(root: &At<'_>) -> Result<BTreeMap<String, String>, Issue> {
    let Some(metadata) = root.field("metadata")? else { return Ok(BTreeMap::new()) };
    let Some(labels) = metadata.field("labels")? else { return Ok(BTreeMap::new()) };
    let mut out = BTreeMap::new();
    for (key, at) in labels.entries()? {
        if key.is_empty() {
            return Err(at.issue("a label key cannot be empty"));
        }
        out.insert(key.to_owned(), at.string()?.to_owned());
    }
    Ok(out)
}

/// `metadata.expires`.
pub(crate) fn metadata_expires(root: &At<'_>) -> Result<Option<SystemTime>, Issue> {
    let Some(metadata) = root.field("metadata")? else { return Ok(None) };
    metadata.field("expires")?.map(|at| at.time()).transpose()
}

/// `{kind, version, metadata: {name, labels, expires}, spec}`, leaving out
/// what is empty.
pub(crate) fn document(kind: &str, version: &str, name: &str, labels: &BTreeMap<String, String>, expires: Option<SystemTime>, spec: Vec<(&str, Node)>) -> Node {
    let mut metadata = vec![("name", Node::str(name))];
    if !labels.is_empty() {
        metadata.push(("labels", Node::map(labels.iter().map(|(k, v)| (k.as_str(), Node::str(v))).collect())));
    }
    if let Some(at) = expires {
        metadata.push(("expires", Node::str(rfc3339::format(at))));
    }
    Node::map(vec![("kind", Node::str(kind)), ("version", Node::str(version)), ("metadata", Node::map(metadata)), ("spec", Node::map(spec))])
}

#[cfg(test)]
mod tests;
