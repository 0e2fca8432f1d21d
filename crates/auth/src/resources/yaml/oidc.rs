//! `kind: oidc`: an OIDC connector in Teleport's shape (`v3`).
//!
//! The client secret is never written: `get` prints a placeholder in its
//! place, and a file holding that placeholder is refused rather than
//! stored, so `get` output loaded again cannot blank the secret.
//!
//! Teleport's other fields (`provider`, `prompt`, `pkce_mode`, `mfa`,
//! `google_*`, …) are accepted and not kept: without them Oriel asks for
//! the same login and maps fewer claims at most. Fields that would narrow
//! who may log in, which Oriel does not check in the provider's answer
//! (`acr_values`, `max_age`), and role templates in `claims_to_roles` are
//! refused where they are written.

use std::collections::BTreeMap;

use oriel_rbac::document::{At, Issue, Node, Value};

use super::{ToDocument, document, resource_name};
use crate::resources::oidc_connector::{DEFAULT_USERNAME_CLAIM, OidcConnector, check_issuer_url, check_redirect_url};
use crate::resources::sso_mapping::ClaimMapping;

/// What `get` writes instead of the client secret.
pub const CLIENT_SECRET_PLACEHOLDER: &str = "********";

pub(super) fn parse(root: &At<'_>) -> Result<OidcConnector, Issue> {
    let name = resource_name(root)?;
    let spec = root.required("spec")?;
    for (field, check) in [("acr_values", "the acr claim"), ("max_age", "the auth_time claim")] {
        if let Some(at) = spec.field(field)?
            && !matches!(at.value(), Value::Str(s) if s.is_empty())
        {
            return Err(at.key_issue(format!("Oriel does not check {check} of a login, so {field} would not be enforced; remove it")));
        }
    }

    let display = spec.optional_string("display")?;
    let issuer_at = spec.required("issuer_url")?;
    let issuer_url = issuer_at.string()?;
    check_issuer_url(issuer_url).map_err(|e| issuer_at.issue(e.to_string()))?;
    let client_id = non_empty(&spec, "client_id")?;
    let secret_at = spec.required("client_secret")?;
    // Messages about the secret never repeat it.
    let client_secret = match secret_at.string()? {
        "" => return Err(secret_at.issue("a client_secret cannot be empty")),
        CLIENT_SECRET_PLACEHOLDER => return Err(secret_at.issue("the placeholder `get` prints is not a secret; write the real one")),
        secret => secret.to_owned(),
    };
    let redirect_url = redirect_url(&spec.required("redirect_url")?)?;
    let mut scope = Vec::new();
    if let Some(scope_at) = spec.field("scope")? {
        for at in scope_at.items("a list of strings")? {
            let one = at.string()?;
            if one.is_empty() || one.contains(char::is_whitespace) {
                return Err(at.issue(format!("a scope is one word, found {one:?}")));
            }
            scope.push(one.to_owned());
        }
    }
    let username_claim = spec.optional_string("username_claim")?.unwrap_or_else(|| DEFAULT_USERNAME_CLAIM.to_owned());

    let mappings_at = spec.required("claims_to_roles")?;
    let claims_to_roles = mappings_at.items("a list of mappings")?.iter().map(claim_mapping).collect::<Result<Vec<_>, _>>()?;
    if claims_to_roles.is_empty() {
        return Err(mappings_at.issue("a connector needs at least one mapping: {claim, value, roles}"));
    }

    Ok(OidcConnector { name, display, issuer_url: issuer_url.to_owned(), client_id, client_secret, redirect_url, scope, username_claim, claims_to_roles })
}

/// A string that must be there and not be empty.
fn non_empty(spec: &At<'_>, field: &str) -> Result<String, Issue> {
    let at = spec.required(field)?;
    match at.string()? {
        "" => Err(at.issue(format!("a {field} cannot be empty"))),
        value => Ok(value.to_owned()),
    }
}

/// One URL, or Teleport's list form holding one: Oriel has one proxy
/// address to be sent back to.
fn redirect_url(at: &At<'_>) -> Result<String, Issue> {
    let at = match at.value() {
        Value::Seq(_) => {
            let mut items = at.items("a URL or a list of one URL")?;
            if items.len() != 1 {
                return Err(at.issue(format!("Oriel takes one redirect_url, found {}", items.len())));
            }
            items.remove(0)
        }
        _ => at.clone(),
    };
    let url = at.string()?;
    check_redirect_url(url).map_err(|e| at.issue(e.to_string()))?;
    Ok(url.to_owned())
}

fn claim_mapping(at: &At<'_>) -> Result<ClaimMapping, Issue> {
    if let Some(template) = at.field("role_template")? {
        return Err(template.key_issue("Oriel makes no roles from a template; create the role and name it in roles"));
    }
    let claim = non_empty(at, "claim")?;
    let value_at = at.required("value")?;
    let value = value_at.string()?;
    if value.is_empty() {
        return Err(value_at.issue("a value cannot be empty (`*` matches any)"));
    }
    let roles_at = at.required("roles")?;
    let mut roles = Vec::new();
    for role_at in roles_at.items("a list of strings")? {
        match role_at.string()? {
            "" => return Err(role_at.issue("a role name cannot be empty")),
            role => roles.push(role.to_owned()),
        }
    }
    if roles.is_empty() {
        return Err(roles_at.issue("a mapping needs at least one role"));
    }
    let mapping = ClaimMapping { claim, value: value.to_owned(), roles };
    mapping.pattern().map_err(|e| value_at.issue(e.to_string()))?;
    Ok(mapping)
}

impl ToDocument for OidcConnector {
    fn to_document(&self) -> Node {
        let mut spec = Vec::new();
        if let Some(display) = &self.display {
            spec.push(("display", Node::str(display)));
        }
        spec.extend([
            ("issuer_url", Node::str(&self.issuer_url)),
            ("client_id", Node::str(&self.client_id)),
            ("client_secret", Node::str(CLIENT_SECRET_PLACEHOLDER)),
            ("redirect_url", Node::str(&self.redirect_url)),
        ]);
        if !self.scope.is_empty() {
            spec.push(("scope", Node::strings(self.scope.iter().cloned())));
        }
        spec.push(("username_claim", Node::str(&self.username_claim)));
        let mappings = self
            .claims_to_roles
            .iter()
            .map(|m| Node::map(vec![("claim", Node::str(&m.claim)), ("value", Node::str(&m.value)), ("roles", Node::strings(m.roles.iter().cloned()))]))
            .collect();
        spec.push(("claims_to_roles", Node::new(Value::Seq(mappings))));
        document("oidc", "v3", &self.name, &BTreeMap::new(), None, spec)
    }
}
