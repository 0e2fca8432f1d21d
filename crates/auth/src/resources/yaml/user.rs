//! `kind: user`: a name, roles and traits. Credentials never travel in
//! YAML: a user created from a file is invited like `users add`.

use std::collections::BTreeMap;

use oriel_rbac::document::{At, Issue, Node};

use super::{ToDocument, document};
use crate::resources::user::{Traits, User, UserName};

pub(super) fn parse(root: &At<'_>) -> Result<User, Issue> {
    let name_at = root.required("metadata")?.required("name")?;
    let name = UserName::parse(name_at.string()?).map_err(|e| name_at.issue(e.to_string()))?;
    let mut user = User { name, roles: Vec::new(), traits: Traits::new(), credentials: None, id: String::new(), sso: None };
    let Some(spec) = root.field("spec")? else { return Ok(user) };
    if let Some(roles) = spec.field("roles")? {
        for at in roles.items("a list of strings")? {
            match at.string()? {
                "" => return Err(at.issue("a role name cannot be empty")),
                role => user.roles.push(role.to_owned()),
            }
        }
    }
    if let Some(traits) = spec.field("traits")? {
        for (key, at) in traits.entries()? {
            if key.is_empty() {
                return Err(at.issue("a trait name cannot be empty"));
            }
            let values = at.strings()?;
            if !values.is_empty() {
                user.traits.insert(key.to_owned(), values);
            }
        }
    }
    Ok(user)
}

impl ToDocument for User {
    fn to_document(&self) -> Node {
        let traits = self.traits.as_map().iter().map(|(k, v)| (k.as_str(), Node::strings(v.iter().cloned()))).collect();
        document(
            "user",
            "v2",
            self.name.as_str(),
            &BTreeMap::new(),
            None,
            vec![("roles", Node::strings(self.roles.iter().cloned())), ("traits", Node::map(traits))],
        )
    }
}
