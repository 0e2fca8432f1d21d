//! `kind: cluster_auth_preference`: a singleton, so `metadata.name` may be
//! absent and is not checked, as in Teleport. Teleport's other fields
//! (`device_trust`, `locking_mode`, …) are accepted and not kept; a value
//! Oriel cannot enforce is refused where it is written.

use std::collections::BTreeMap;

use oriel_rbac::document::{At, Issue, Node, Value};

use super::{ToDocument, document};
use crate::resources::auth_preference::{AuthPreference, AuthType, SecondFactor, check_rp_id};

pub(super) fn parse(root: &At<'_>) -> Result<AuthPreference, Issue> {
    let mut preference = AuthPreference::default();
    let Some(spec) = root.field("spec")? else { return Ok(preference) };
    if let Some(at) = spec.field("type")? {
        preference.auth_type = at.string()?.parse::<AuthType>().map_err(|e| at.issue(e.to_string()))?;
    }
    if let Some(at) = spec.field("second_factor")? {
        // YAML 1.1 readers (Teleport's) take a bare `on` as true.
        let word = match at.value() {
            Value::Bool(true) => "on",
            Value::Bool(false) => "off",
            _ => at.string()?,
        };
        preference.second_factor = word.parse::<SecondFactor>().map_err(|e| at.issue(e.to_string()))?;
    }
    if let Some(webauthn) = spec.field("webauthn")?
        && let Some(at) = webauthn.field("rp_id")?
    {
        let rp_id = at.string()?;
        check_rp_id(rp_id).map_err(|e| at.issue(e.to_string()))?;
        preference.webauthn_rp_id = Some(rp_id.to_owned());
    }
    if let Some(at) = spec.field("allow_passwordless")? {
        preference.allow_passwordless = at.flag()?;
    }
    if let Some(at) = spec.field("require_session_mfa")? {
        preference.require_session_mfa = at.flag()?;
    }
    if let Some(at) = spec.field("connector_name")? {
        preference.connector_name = Some(at.string()?.to_owned()).filter(|name| !name.is_empty());
    }
    if let Some(at) = spec.field("allow_local_auth")? {
        preference.allow_local_auth = at.flag()?;
        if !preference.allow_local_auth && preference.auth_type == AuthType::Local {
            return Err(at.issue("local logins cannot be turned off while type is local: set type: oidc and a connector first".to_owned()));
        }
    }
    Ok(preference)
}

impl ToDocument for AuthPreference {
    fn to_document(&self) -> Node {
        let mut spec = vec![("type", Node::str(self.auth_type.as_str())), ("second_factor", Node::str(self.second_factor.as_str()))];
        if let Some(rp_id) = &self.webauthn_rp_id {
            spec.push(("webauthn", Node::map(vec![("rp_id", Node::str(rp_id))])));
        }
        spec.push(("allow_passwordless", Node::bool(self.allow_passwordless)));
        spec.push(("require_session_mfa", Node::bool(self.require_session_mfa)));
        if let Some(name) = &self.connector_name {
            spec.push(("connector_name", Node::str(name)));
        }
        spec.push(("allow_local_auth", Node::bool(self.allow_local_auth)));
        document("cluster_auth_preference", "v2", "cluster-auth-preference", &BTreeMap::new(), None, spec)
    }
}
