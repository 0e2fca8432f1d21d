//! The Oriel user an identity provider's person becomes: named by the
//! connector's `username_claim`, with the roles `claims_to_roles` gives and
//! every claim as a trait (`{{external.groups}}`), made at the first login
//! and refreshed at each one after. A name that belongs to a local user, or
//! to another provider's person, is never taken over. When a login brings
//! other roles or traits, the person's other web sessions end: what they
//! were granted no longer holds.

use std::collections::BTreeMap;

use super::SsoError;
use crate::audit::EventType;
use crate::control_plane::ControlPlane;
use crate::resources::oidc_connector::OidcConnector;
use crate::resources::sso_mapping::roles_for;
use crate::resources::user::{SsoOrigin, Traits, User, UserName};
use crate::store::StoreError;

/// Compare-and-swap rounds before giving up on a user changed meanwhile.
const ATTEMPTS: usize = 5;

impl ControlPlane {
    /// The user for `subject` at `connector`, with `claims`, as stored now.
    pub(super) async fn sso_user(&self, connector: &OidcConnector, subject: &str, claims: &BTreeMap<String, Vec<String>>) -> Result<User, SsoError> {
        let claim = connector.username_claim.as_str();
        let bad = |detail: String| SsoError::BadUserName { claim: claim.to_owned(), detail };
        let value = claims.get(claim).and_then(|values| values.first()).ok_or_else(|| bad("is missing".into()))?;
        let name = UserName::parse(value).map_err(|e| bad(format!("is {value:?}, which cannot be a user name: {}", e.reason)))?;
        let roles = roles_for(&connector.claims_to_roles, claims);
        if roles.is_empty() {
            return Err(SsoError::NoRoles(connector.name.clone()));
        }
        let traits = claims.iter().fold(Traits::new(), |traits, (name, values)| traits.with(name.clone(), values.clone()));
        let origin = SsoOrigin { kind: "oidc".into(), connector: connector.name.clone(), subject: subject.to_owned() };
        for _ in 0..ATTEMPTS {
            let stored = match self.store.user(name.as_str()).await {
                Ok(stored) => stored,
                Err(StoreError::NotFound { .. }) => {
                    let user = User {
                        name: name.clone(),
                        roles: roles.clone(),
                        traits: traits.clone(),
                        credentials: None,
                        id: String::new(),
                        sso: Some(origin.clone()),
                    };
                    match self.store.create_user(&user).await {
                        Ok(_) => {
                            self.emit(self.event(EventType::UserCreate, true).with("name", name.as_str()).with("connector", connector.name.as_str())).await;
                            return Ok(self.store.user(name.as_str()).await?.value);
                        }
                        // Two first logins at once: look again.
                        Err(StoreError::AlreadyExists { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            if stored.value.sso.as_ref() != Some(&origin) {
                return Err(SsoError::NameTaken(name.as_str().to_owned()));
            }
            if stored.value.roles == roles && stored.value.traits == traits {
                return Ok(stored.value);
            }
            let updated = User { roles: roles.clone(), traits: traits.clone(), ..stored.value.clone() };
            match self.store.swap_user(&updated, stored.revision).await {
                Ok(_) => {
                    self.emit(
                        self.event(EventType::UserUpdate, true).with("name", name.as_str()).with("change", "roles and traits from the identity provider"),
                    )
                    .await;
                    self.end_web_sessions(name.as_str()).await.map_err(|e| SsoError::Provider { connector: connector.name.clone(), detail: e.to_string() })?;
                    return Ok(self.store.user(name.as_str()).await?.value);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(SsoError::Busy)
    }
}
