//! `orielctl create -f`: storing resources that `resources::yaml` validated.
//!
//! All or nothing as far as storage allows: every document is checked
//! against the store (duplicates without `force`, users' roles, expiry
//! times) before the first write. Roles are written first, so users in the
//! same file may name them. The backend has no multi-key transaction, so a
//! storage failure in the middle of the writes leaves the earlier ones.

use std::time::{Duration, SystemTime};

use crate::audit::EventType;
use crate::control_plane::{ControlError, ControlPlane, InviteLink};
use crate::resources::yaml::{Document, Resource, rfc3339};
use crate::store::StoreError;

/// How long a join token from a file lasts when it has no `metadata.expires`
/// (as long as one from `orielctl tokens add`).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// What became of one document.
#[derive(Debug)]
pub struct Created {
    /// The document's index in its stream.
    pub index: usize,
    /// Its kind.
    pub kind: &'static str,
    /// Its name as shown to people (a token's hash prefix, a singleton's kind).
    pub name: String,
    /// One of that name existed and was replaced (`force`).
    pub replaced: bool,
    /// The cluster has one of this kind, which was set.
    pub singleton: bool,
    /// A new user's invite link, shown once.
    pub invite: Option<InviteLink>,
}

impl ControlPlane {
    /// Stores every resource of `documents`. Without `force`, one that
    /// exists is an error and nothing is written; singletons are always
    /// replaced. A user created here has no credentials and gets an invite
    /// link, as with `users add`; one replaced with `force` keeps them.
    pub async fn create_resources(&self, documents: &[Document], force: bool) -> Result<Vec<Created>, ControlError> {
        let now = self.clock.now();
        let mut checked = Vec::with_capacity(documents.len());
        for doc in documents {
            let existed = self.check(doc, documents, force, now).await.map_err(|e| e.in_document(doc.index))?;
            checked.push((doc, existed));
        }
        let (roles, others): (Vec<_>, Vec<_>) = checked.into_iter().partition(|(doc, _)| matches!(doc.resource, Resource::Role(_)));
        let mut created = Vec::with_capacity(documents.len());
        for (doc, existed) in roles.into_iter().chain(others) {
            created.push(self.write(doc, existed, force, now).await.map_err(|e| e.in_document(doc.index))?);
        }
        created.sort_by_key(|c| c.index);
        Ok(created)
    }

    /// Whether the resource exists, and an error if it may not be written.
    async fn check(&self, doc: &Document, all: &[Document], force: bool, now: SystemTime) -> Result<bool, ControlError> {
        let store = &self.store;
        let (existed, expires) = match &doc.resource {
            Resource::Role(role) => (found(store.role(&role.name).await)?, None),
            Resource::User(user) => {
                for role in &user.roles {
                    let in_file = all.iter().any(|d| matches!(&d.resource, Resource::Role(r) if &r.name == role));
                    if !in_file && !found(store.role(role).await)? {
                        return Err(ControlError::UnknownRole(role.clone()));
                    }
                }
                (found(store.user(user.name.as_str()).await)?, None)
            }
            Resource::Lock(lock) => (found(store.lock(&lock.name).await)?, lock.expires),
            Resource::Token(token) => (found(store.token(&token.secret_hash).await)?, token.expires),
            Resource::Desktop(desktop) => (found(store.desktop(desktop.kind, &desktop.name).await)?, desktop.expires),
            Resource::OidcConnector(connector) => (found(store.oidc_connector(&connector.name).await)?, None),
            Resource::SessionRecordingConfig(_) | Resource::ClusterNetworkingConfig(_) | Resource::AuthPreference(_) => (false, None),
        };
        if existed && !force {
            return Err(StoreError::AlreadyExists { kind: doc.resource.kind(), name: doc.resource.display_name() }.into());
        }
        if let Some(at) = expires.filter(|at| *at <= now) {
            return Err(ControlError::Invalid(format!("it expires at {}, which has passed", rfc3339::format(at))));
        }
        Ok(existed)
    }

    async fn write(&self, doc: &Document, existed: bool, force: bool, now: SystemTime) -> Result<Created, ControlError> {
        let store = &self.store;
        let mut invite = None;
        match &doc.resource {
            Resource::Role(role) => {
                store.put_role(role, force).await?;
                self.emit(self.event(EventType::RoleCreated, true).with("name", role.name.as_str())).await;
            }
            Resource::User(user) if existed => {
                let current = store.user(user.name.as_str()).await?;
                let mut user = user.clone();
                user.credentials = current.value.credentials;
                store.swap_user(&user, current.revision).await?;
                self.emit(self.event(EventType::UserUpdate, true).with("name", user.name.as_str()).with("roles", user.roles.clone())).await;
            }
            Resource::User(user) => {
                store.create_user(user).await?;
                self.emit(self.event(EventType::UserCreate, true).with("name", user.name.as_str()).with("roles", user.roles.clone())).await;
                invite = Some(self.invite(user.name.as_str()).await?);
            }
            Resource::Lock(lock) => {
                store.put_lock(lock, force).await?;
                self.emit(crate::control_plane::lock_created(self.event(EventType::LockCreated, true), lock)).await;
            }
            Resource::Token(token) => {
                let token = token.clone().into_token(now + DEFAULT_TOKEN_TTL);
                store.put_token(&token, force).await?;
                self.emit(crate::control_plane::token_created(self.event(EventType::JoinTokenCreate, true), &token)).await;
            }
            Resource::Desktop(desktop) => store.create_desktop(desktop, force).await?,
            Resource::OidcConnector(connector) => {
                store.put_oidc_connector(connector, force).await?;
                self.emit(self.event(EventType::OidcCreated, true).with("name", connector.name.as_str())).await;
            }
            Resource::SessionRecordingConfig(config) => store.put_session_recording_config(config).await?,
            Resource::ClusterNetworkingConfig(config) => store.put_cluster_networking_config(config).await?,
            Resource::AuthPreference(preference) => store.put_auth_preference(preference).await?,
        }
        Ok(Created {
            index: doc.index,
            kind: doc.resource.kind(),
            name: doc.resource.display_name(),
            replaced: existed,
            singleton: doc.resource.is_singleton(),
            invite,
        })
    }
}

fn found<T>(result: Result<T, StoreError>) -> Result<bool, ControlError> {
    match result {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
