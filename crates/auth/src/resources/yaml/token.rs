//! `kind: token`. As in Teleport the name is the secret, but Oriel keeps
//! only its SHA-256: `get` writes the name as `sha256:<hex>`, and a file
//! with such a name restores the token without anyone knowing the secret.

use std::collections::BTreeMap;
use std::time::SystemTime;

use oriel_rbac::document::{At, Issue, Node};

use super::{ToDocument, document};
use crate::resources::join_token::{JoinRole, JoinToken};

/// The prefix of a name that is already a hash.
const HASHED: &str = "sha256:";
/// Shortest secret accepted in a file, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// A join token as a file describes it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// What it allows joining as (`spec.roles`).
    pub roles: Vec<JoinRole>,
    /// `metadata.expires`; when absent the creator picks a default.
    pub expires: Option<SystemTime>,
    /// One use only (`spec.one_time`, Oriel's own field; Teleport's
    /// tokens work until they expire).
    pub one_time: bool,
}

impl std::fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSpec")
            .field("secret_hash", &self.short_hash())
            .field("roles", &self.roles)
            .field("expires", &self.expires)
            .field("one_time", &self.one_time)
            .finish()
    }
}

impl TokenSpec {
    /// The first 16 hex digits of the hash, as `orielctl tokens ls` shows them.
    pub fn short_hash(&self) -> &str {
        self.secret_hash.get(..16).unwrap_or(&self.secret_hash)
    }

    /// The token to store, expiring at `default_expires` when the file gave no time.
    pub fn into_token(self, default_expires: SystemTime) -> JoinToken {
        JoinToken { secret_hash: self.secret_hash, roles: self.roles, expires: self.expires.unwrap_or(default_expires), one_time: self.one_time, used: false }
    }
}

/// Teleport's name of a join role.
fn teleport_name(role: JoinRole) -> &'static str {
    match role {
        JoinRole::LinuxDesktop => "LinuxDesktop",
        JoinRole::WindowsDesktop => "WindowsDesktop",
        JoinRole::Proxy => "Proxy",
    }
}

/// `LinuxDesktop` as Teleport writes it, any case, or Oriel's `linux_desktop`.
fn join_role(text: &str) -> Option<JoinRole> {
    let folded: String = text.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
    match folded.as_str() {
        "linuxdesktop" => Some(JoinRole::LinuxDesktop),
        "windowsdesktop" => Some(JoinRole::WindowsDesktop),
        "proxy" => Some(JoinRole::Proxy),
        _ => None,
    }
}

pub(super) fn parse(root: &At<'_>) -> Result<TokenSpec, Issue> {
    let name_at = root.required("metadata")?.required("name")?;
    let name = name_at.string()?;
    // Messages about the name never repeat it: it is the secret.
    let secret_hash = match name.strip_prefix(HASHED) {
        Some(hash) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => hash.to_owned(),
        Some(_) => return Err(name_at.issue(format!("a hashed token name is {HASHED} and 64 lowercase hex digits"))),
        None if name.len() < MIN_SECRET_LEN => {
            return Err(name_at
                .issue(format!("a join token's name is its secret and must be at least {MIN_SECRET_LEN} bytes (`orielctl tokens add` makes a strong one)")));
        }
        None => crate::bearer::hash(name),
    };
    let spec = root.required("spec")?;
    let roles_at = spec.required("roles")?;
    let mut roles = Vec::new();
    for at in roles_at.items("a list of strings")? {
        let role = join_role(at.string()?).ok_or_else(|| at.issue("unsupported join role, expected LinuxDesktop, WindowsDesktop or Proxy"))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(roles_at.issue("a token needs at least one role: LinuxDesktop, WindowsDesktop or Proxy"));
    }
    if let Some(method_at) = spec.field("join_method")? {
        match method_at.string()? {
            "" | "token" => {}
            other => return Err(method_at.issue(format!("join method {other:?} is not supported; Oriel joins with \"token\" only"))),
        }
    }
    let one_time = spec.field("one_time")?.map(|at| at.flag()).transpose()?.unwrap_or(false);
    Ok(TokenSpec { secret_hash, roles, expires: super::metadata_expires(root)?, one_time })
}

fn spec_document(secret_hash: &str, roles: &[JoinRole], expires: Option<SystemTime>, one_time: bool) -> Node {
    let mut spec = vec![("roles", Node::strings(roles.iter().map(|r| teleport_name(*r)))), ("join_method", Node::str("token"))];
    if one_time {
        spec.push(("one_time", Node::bool(true)));
    }
    document("token", "v2", &format!("{HASHED}{secret_hash}"), &BTreeMap::new(), expires, spec)
}

impl ToDocument for JoinToken {
    fn to_document(&self) -> Node {
        spec_document(&self.secret_hash, &self.roles, Some(self.expires), self.one_time)
    }
}

impl ToDocument for TokenSpec {
    fn to_document(&self) -> Node {
        spec_document(&self.secret_hash, &self.roles, self.expires, self.one_time)
    }
}
