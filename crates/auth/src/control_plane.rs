//! The control plane's operations, as `orielctl` and the proxy call them:
//! every rule about users, roles, locks and tokens is enforced here, over
//! the [`Store`], with time from an injected clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_backend::Clock;
use oriel_rbac::{ClusterPolicy, Decision, DesktopKind, RecordingMode, Role, RoleSet, SessionMfa};

use crate::audit::{AuditEvent, EventType};
use crate::bearer::BearerSecret;
use crate::ca::VerifiedUser;
use crate::resources::invite::Invite;
use crate::resources::join_token::{JoinRole, JoinToken};
use crate::resources::lock::{self, Lock, LockTarget, SessionSubject};
use crate::resources::user::{Traits, User, UserName, UserNameError};
use crate::store::{Store, StoreError};

/// How long an invite link works.
pub const INVITE_TTL: Duration = Duration::from_secs(3600);

/// Why an operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Storage said no (not found, exists, conflict) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A user refers to a role that does not exist.
    #[error("role {0:?} not found (create it first with `orielctl create -f ROLE.yaml`)")]
    UnknownRole(String),
    /// A user name is not acceptable.
    #[error(transparent)]
    UserName(#[from] UserNameError),
    /// The operating system's random source failed.
    #[error("cannot make a secret: {0}")]
    Random(#[source] std::io::Error),
    /// A resource is well-formed but cannot be stored as it is.
    #[error("{0}")]
    Invalid(String),
    /// One document of a `create -f` stream was refused.
    #[error("document {index}: {error}")]
    InDocument {
        /// The document's 1-based index in its stream.
        index: usize,
        /// Why.
        error: Box<ControlError>,
    },
}

impl ControlError {
    /// This error, about document `index` of a stream.
    pub fn in_document(self, index: usize) -> ControlError {
        ControlError::InDocument { index, error: Box::new(self) }
    }
}

/// A user's roles and login traits, as `orielctl users add/update` gives them.
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    /// The user's name.
    pub name: String,
    /// Role names; each must exist.
    pub roles: Vec<String>,
    /// The `linux_logins` trait.
    pub linux_logins: Vec<String>,
    /// The `windows_logins` trait.
    pub windows_logins: Vec<String>,
}

/// A fresh invite link's secret, shown once.
#[derive(Debug)]
pub struct InviteLink {
    /// The invited user.
    pub user: String,
    /// Goes into the link; never stored, never logged.
    pub secret: String,
    /// When the link stops working.
    pub expires: SystemTime,
}

/// The outcome of `access check`: the RBAC decision, and a lock that would
/// refuse the session anyway.
#[derive(Debug)]
pub struct AccessReport {
    /// What the roles decide.
    pub decision: Decision,
    /// A lock in force for this user, login and desktop.
    pub lock: Option<Lock>,
    /// The roles that were considered (those of the user's that exist).
    pub roles: Vec<String>,
    /// Every role the user lists, as locks on roles match them.
    pub user_roles: Vec<String>,
    /// The cluster's recording mode when the check was made.
    pub recording_mode: RecordingMode,
    /// What a lock's `server_id` names for this desktop.
    pub server_id: String,
}

impl AccessReport {
    /// Allowed by the roles and not locked.
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed() && self.lock.is_none()
    }
}

/// The control plane's operations.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) throttle: Arc<std::sync::Mutex<crate::throttle::LoginThrottle>>,
    /// Caps the argon2 hashes in flight (`hashing.rs`).
    pub(crate) hashing: Arc<crate::hashing::HashGate>,
    /// The cluster's CAs, loaded on first use (`certificates.rs`).
    pub(crate) ca: Arc<tokio::sync::OnceCell<Arc<crate::ca::CertAuthority>>>,
    /// The watch that wakes running sessions (`access_feed.rs`), started on first use.
    pub(crate) access_feed: Arc<std::sync::OnceLock<tokio::sync::watch::Receiver<crate::access_feed::AccessChanges>>>,
    /// The cluster's name and how long events stay (`audit/`).
    pub(crate) audit: Arc<crate::audit::AuditSettings>,
    /// Who is acting, for the events the operations write (`acting_as`).
    pub(crate) actor: Arc<str>,
    /// Where session recordings are kept (`recordings/`); none until
    /// [`Self::with_recordings`].
    pub(crate) recordings: Option<crate::recordings::RecordingStorage>,
    /// WebAuthn ceremonies waiting for their answer (`webauthn/`).
    pub(crate) ceremonies: Arc<std::sync::Mutex<crate::webauthn::Ceremonies>>,
    /// Single sign-on logins waiting for the browser (`sso/`).
    pub(crate) sso_logins: Arc<std::sync::Mutex<crate::sso::PendingLogins>>,
}

impl ControlPlane {
    /// Operations over `store`, with time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            throttle: Arc::default(),
            hashing: Arc::default(),
            ca: Arc::default(),
            access_feed: Arc::default(),
            audit: Arc::default(),
            actor: Arc::from(""),
            recordings: None,
            ceremonies: Arc::default(),
            sso_logins: Arc::default(),
        }
    }

    /// This control plane keeping session recordings in `storage`.
    pub fn with_recordings(mut self, storage: crate::recordings::RecordingStorage) -> Self {
        self.recordings = Some(storage);
        self
    }

    /// This control plane with the events its operations write naming
    /// `actor` as who acted: `admin@<name>` for an admin identity, the OS
    /// user running `orielctl` on the auth host. Everything else is shared.
    pub fn acting_as(&self, actor: &str) -> Self {
        Self { actor: Arc::from(actor), ..self.clone() }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Adds a user without credentials and returns a one-time invite link
    /// on which they set a password and enroll a second factor.
    pub async fn add_user(&self, spec: &UserSpec) -> Result<InviteLink, ControlError> {
        let user = self.user_from_spec(spec).await?;
        self.store.create_user(&user).await?;
        self.emit(self.event(EventType::UserCreate, true).with("name", user.name.as_str()).with("roles", user.roles.clone())).await;
        self.invite(user.name.as_str()).await
    }

    /// Replaces a user's roles and login traits.
    pub async fn update_user(&self, spec: &UserSpec) -> Result<(), ControlError> {
        let current = self.store.user(&spec.name).await?;
        let mut user = self.user_from_spec(spec).await?;
        user.credentials = current.value.credentials;
        user.id = current.value.id;
        self.store.swap_user(&user, current.revision).await?;
        self.emit(self.event(EventType::UserUpdate, true).with("name", user.name.as_str()).with("roles", user.roles.clone())).await;
        Ok(())
    }

    /// Removes a user, then every web session and invite of theirs. Their
    /// certificates name the removed user's id, so they speak for nobody
    /// even if a user of the same name is made again, and running desktop
    /// sessions end at their next re-authorization.
    pub async fn remove_user(&self, name: &str) -> Result<(), ControlError> {
        self.store.delete_user(name).await?;
        self.end_web_sessions(name).await?;
        for invite in self.store.invites_of(name).await? {
            ignore_missing(self.store.delete_invite(&invite).await)?;
        }
        self.emit(self.event(EventType::UserDelete, true).with("name", name)).await;
        Ok(())
    }

    /// A password reset (`orielctl users reset`): the user's password and
    /// second factor are cleared, every web session of theirs ends (and with
    /// it every desktop session started from one), and a new invite link
    /// sets new ones.
    pub async fn reset_user(&self, name: &str) -> Result<InviteLink, ControlError> {
        let mut user = self.store.user(name).await?;
        user.value.credentials = None;
        self.store.swap_user(&user.value, user.revision).await?;
        self.emit(self.event(EventType::UserUpdate, true).with("name", name).with("change", "credentials reset")).await;
        self.end_web_sessions(name).await?;
        for invite in self.store.invites_of(name).await? {
            ignore_missing(self.store.delete_invite(&invite).await)?;
        }
        self.invite(name).await
    }

    /// Ends every web session of `user`.
    pub(crate) async fn end_web_sessions(&self, user: &str) -> Result<(), ControlError> {
        for session in self.store.web_sessions_of(user).await? {
            ignore_missing(self.store.delete_web_session(&session.secret_hash).await)?;
        }
        Ok(())
    }

    /// A new invite link for an existing user (e.g. after a lost device).
    pub async fn invite(&self, user: &str) -> Result<InviteLink, ControlError> {
        let user_id = self.store.user(user).await?.value.id;
        let secret = BearerSecret::generate().map_err(ControlError::Random)?;
        let expires = self.clock.now() + INVITE_TTL;
        let invite = Invite { secret_hash: secret.hash, user: user.to_owned(), user_id, expires, totp_secret: None };
        self.store.create_invite(&invite).await?;
        Ok(InviteLink { user: user.to_owned(), secret: secret.plain, expires })
    }

    /// Stores roles; without `force`, a role that exists is an error and
    /// nothing after it is written.
    pub async fn create_roles(&self, roles: &[Role], force: bool) -> Result<(), ControlError> {
        for role in roles {
            self.store.put_role(role, force).await?;
            self.emit(self.event(EventType::RoleCreated, true).with("name", role.name.as_str())).await;
        }
        Ok(())
    }

    /// Removes a role.
    pub async fn remove_role(&self, name: &str) -> Result<(), ControlError> {
        self.store.delete_role(name).await?;
        self.emit(self.event(EventType::RoleDeleted, true).with("name", name)).await;
        Ok(())
    }

    /// Removes an OIDC connector.
    pub async fn remove_oidc_connector(&self, name: &str) -> Result<(), ControlError> {
        self.store.delete_oidc_connector(name).await?;
        self.emit(self.event(EventType::OidcDeleted, true).with("name", name)).await;
        Ok(())
    }

    /// Removes a lock.
    pub async fn unlock(&self, name: &str) -> Result<(), ControlError> {
        self.store.delete_lock(name).await?;
        self.emit(self.event(EventType::LockDeleted, true).with("name", name)).await;
        Ok(())
    }

    /// An event of `event` by whoever this control plane acts as, now.
    pub(crate) fn event(&self, event: EventType, success: bool) -> AuditEvent {
        AuditEvent::new(event, success, &*self.actor, self.clock.now())
    }

    /// Would `user` be allowed `login` on the desktop, and why.
    pub async fn access_check(&self, user: &str, kind: DesktopKind, desktop: &str, login: &str) -> Result<AccessReport, ControlError> {
        self.access_check_with(user, kind, desktop, login, SessionMfa::NotVerified).await
    }

    /// [`Self::access_check`], for a session whose per-session MFA is `mfa`.
    pub(crate) async fn access_check_with(
        &self,
        user: &str,
        kind: DesktopKind,
        desktop: &str,
        login: &str,
        mfa: SessionMfa,
    ) -> Result<AccessReport, ControlError> {
        let user = self.store.user(user).await?.value;
        let desktop = self.store.desktop(kind, desktop).await?;
        let roles = self.roles_of(&user).await?;
        let policy = self.cluster_policy().await?;
        let decision = RoleSet::new(&roles, &user.traits).check(&desktop.to_rbac(), login, &policy, mfa);
        let subject =
            SessionSubject { user: user.name.as_str(), roles: &user.roles, login, server_id: desktop.server_id(), desktop_kind: kind, desktop: &desktop.name };
        let locks = self.store.locks().await?;
        let lock = lock::find(&locks, &subject, self.clock.now()).cloned();
        Ok(AccessReport {
            decision,
            lock,
            roles: roles.into_iter().map(|r| r.name).collect(),
            user_roles: user.roles,
            recording_mode: policy.recording_mode,
            server_id: desktop.server_id().to_owned(),
        })
    }

    /// The desktops `user` may reach, each with the logins allowed there.
    pub async fn visible_desktops(&self, user: &str) -> Result<Vec<(crate::store::DesktopRecord, Vec<String>)>, ControlError> {
        let user = self.store.user(user).await?.value;
        let roles = self.roles_of(&user).await?;
        let set = RoleSet::new(&roles, &user.traits);
        let mut visible = Vec::new();
        for kind in DesktopKind::ALL {
            for record in self.store.desktops(kind).await? {
                let logins = set.allowed_logins(&record.to_rbac());
                if !logins.is_empty() {
                    visible.push((record, logins));
                }
            }
        }
        Ok(visible)
    }

    /// Locks a target out, for `ttl` or until removed. Returns the lock.
    pub async fn lock(&self, target: LockTarget, ttl: Option<Duration>, message: Option<String>) -> Result<Lock, ControlError> {
        let name = BearerSecret::generate().map_err(ControlError::Random)?.plain[..16].to_owned();
        let lock = Lock { name, target, message, expires: ttl.map(|ttl| self.clock.now() + ttl) };
        self.store.create_lock(&lock).await?;
        self.emit(lock_created(self.event(EventType::LockCreated, true), &lock)).await;
        Ok(lock)
    }

    /// Makes a join token; the secret is returned once and only its hash kept.
    pub async fn add_token(&self, role: JoinRole, ttl: Duration, one_time: bool) -> Result<(String, JoinToken), ControlError> {
        let secret = BearerSecret::generate().map_err(ControlError::Random)?;
        let token = JoinToken { secret_hash: secret.hash, roles: vec![role], expires: self.clock.now() + ttl, one_time, used: false };
        self.store.create_token(&token).await?;
        self.emit(token_created(self.event(EventType::JoinTokenCreate, true), &token)).await;
        Ok((secret.plain, token))
    }

    /// The cluster's part of every access decision, from the
    /// `session_recording_config`, `cluster_networking_config` and
    /// `cluster_auth_preference` in force (their defaults when unset).
    pub async fn cluster_policy(&self) -> Result<ClusterPolicy, ControlError> {
        let recording = self.store.session_recording_config().await?;
        let networking = self.store.cluster_networking_config().await?;
        let authentication = self.store.auth_preference().await?;
        Ok(crate::resources::cluster_settings::policy(&recording, &networking, &authentication))
    }

    /// The user's roles, in the order the user lists them. A role removed
    /// since is skipped: it grants nothing.
    pub(crate) async fn roles_of(&self, user: &User) -> Result<Vec<Role>, ControlError> {
        let mut roles = Vec::new();
        for name in &user.roles {
            match self.store.role(name).await {
                Ok(role) => roles.push(role),
                // A role removed since grants nothing; `users ls` still shows the name.
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(roles)
    }

    async fn user_from_spec(&self, spec: &UserSpec) -> Result<User, ControlError> {
        let name = UserName::parse(&spec.name)?;
        for role in &spec.roles {
            match self.store.role(role).await {
                Ok(_) => {}
                Err(StoreError::NotFound { .. }) => return Err(ControlError::UnknownRole(role.clone())),
                Err(e) => return Err(e.into()),
            }
        }
        let mut traits = Traits::new();
        if !spec.linux_logins.is_empty() {
            traits.insert(oriel_rbac::LINUX_LOGINS, spec.linux_logins.iter().cloned());
        }
        if !spec.windows_logins.is_empty() {
            traits.insert(oriel_rbac::WINDOWS_LOGINS, spec.windows_logins.iter().cloned());
        }
        Ok(User { name, roles: spec.roles.clone(), traits, credentials: None, id: String::new(), sso: None })
    }
}

/// `Ok` for a record that is gone already (someone else removed it).
fn ignore_missing(result: Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

pub use crate::grant::{GrantMismatch, GrantParts, GrantedSession, SessionGrant, SessionTarget};
pub use crate::session_mfa::SessionPhase;

/// Why a session may not start or go on; `Display` is shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum AccessDenied {
    /// The roles do not allow it.
    #[error("access denied: {0}")]
    Roles(String),
    /// A lock is in force.
    #[error("access denied: locked{}", .0.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Locked(Option<String>),
    /// The user or desktop is unknown.
    #[error("access denied: {0}")]
    Unknown(String),
    /// The certificate presented is not a valid user certificate of this cluster.
    #[error("access denied: {0}")]
    Certificate(#[from] crate::ca::CertError),
    /// The auth service decided, in another process; its words as sent.
    #[error("{0}")]
    Decided(String),
    /// The control plane could not decide; nothing is allowed meanwhile.
    #[error("access cannot be checked right now: {0}")]
    Unavailable(String),
    /// The auth service's grant does not match the certificate or the
    /// session asked for: refused, and retrying will not help.
    #[error("access cannot be checked: {0}")]
    Mismatch(#[from] crate::grant::GrantMismatch),
}

impl ControlPlane {
    /// Decides whether the user of a verified certificate may open a
    /// session as `login` on this desktop, from the current roles and locks
    /// (not the ones in the certificate, which may be hours old). Deny
    /// unless a role allows. The desktop service writes the session's
    /// start event, allowed or not.
    pub async fn authorize_session(&self, user: &VerifiedUser, kind: DesktopKind, desktop: &str, login: &str) -> Result<SessionGrant, AccessDenied> {
        self.decide(user, SessionTarget { kind, desktop, login }, SessionPhase::Start).await
    }

    /// Decides whether the holder of a user certificate may open a session
    /// as `login`. The certificate must be this cluster's and valid now; the
    /// user it names is then decided as by [`Self::authorize_session`].
    pub async fn authorize_certificate(&self, cert_der: &[u8], kind: DesktopKind, desktop: &str, login: &str) -> Result<SessionGrant, AccessDenied> {
        let verified = self.verify_user_cert(cert_der).await?;
        self.authorize_session(&verified, kind, desktop, login).await
    }

    /// The decision for `target`, at the start of a session or while it runs.
    pub(crate) async fn decide(&self, user: &VerifiedUser, target: SessionTarget<'_>, phase: SessionPhase) -> Result<SessionGrant, AccessDenied> {
        let SessionTarget { kind, desktop, login } = target;
        self.check_identity(user).await?;
        let mfa = crate::session_mfa::mfa_of(user.identity(), &target, phase, self.clock.now())?;
        let report = match self.access_check_with(user.user(), kind, desktop, login, mfa).await {
            Ok(report) => report,
            Err(ControlError::Store(StoreError::NotFound { kind, name })) => {
                return Err(AccessDenied::Unknown(format!("{kind} {name:?} not found")));
            }
            Err(e) => return Err(AccessDenied::Unavailable(e.to_string())),
        };
        if let Some(lock) = report.lock {
            return Err(AccessDenied::Locked(lock.message));
        }
        match report.decision {
            Decision::Allowed(allowed) => {
                let session = GrantedSession {
                    user: user.user().to_owned(),
                    login: login.to_owned(),
                    roles: report.user_roles,
                    desktop_kind: kind,
                    desktop: desktop.to_owned(),
                    server_id: report.server_id,
                };
                Ok(SessionGrant::decided(session, allowed.options().clone(), report.recording_mode, user))
            }
            Decision::Denied(denied) => Err(AccessDenied::Roles(denied.to_string())),
        }
    }

    /// That the certificate still speaks for a user: the user it names
    /// exists and is the same user (the same id, not one made again under
    /// the name), and the web session it was issued with, if any, is live.
    pub(crate) async fn check_identity(&self, user: &VerifiedUser) -> Result<(), AccessDenied> {
        let identity = user.identity();
        let stored = match self.store.user(&identity.user).await {
            Ok(stored) => stored.value,
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => {
                return Err(AccessDenied::Unknown(format!("user {:?} not found", identity.user)));
            }
            Err(e) => return Err(AccessDenied::Unavailable(e.to_string())),
        };
        // A user stored before ids existed has none, and neither have their
        // certificates; any other difference is another user of that name.
        if identity.user_id.as_deref().unwrap_or_default() != stored.id {
            return Err(AccessDenied::Unknown(format!("the certificate is for an earlier user named {:?}, removed since; log in again", identity.user)));
        }
        if let Some(web_session) = &identity.web_session {
            match self.store.web_session_live(web_session).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(AccessDenied::Unknown(
                        "the login this session came from has ended (logged out, the password was reset, or the user was removed)".into(),
                    ));
                }
                Err(e) => return Err(AccessDenied::Unavailable(e.to_string())),
            }
        }
        Ok(())
    }

    /// Decides again, from the certificate a session was granted on and
    /// the current user, roles, traits, locks and web session, whether the
    /// session may go on. `Ok` means it may; [`AccessDenied::Unavailable`]
    /// means it cannot be told now; any other refusal ends it. A running
    /// session also ends when the roles no longer give it the clipboard or
    /// directory sharing it started with (its process cannot lose them
    /// while it runs). Nothing is recorded: the session records its end.
    pub async fn reauthorize(&self, grant: &SessionGrant) -> Result<(), AccessDenied> {
        let now = self.reauthorize_certificate(grant.certificate(), grant.desktop_kind(), grant.desktop(), grant.login()).await?;
        match grant.withdrawn_by(now.options()) {
            Some(withdrawn) => Err(AccessDenied::Roles(withdrawn)),
            None => Ok(()),
        }
    }

    /// The decision [`Self::authorize_certificate`] would make now, without
    /// recording it: for a running session's re-authorization (in this
    /// process, or asked over the cluster API).
    pub async fn reauthorize_certificate(&self, cert_der: &[u8], kind: DesktopKind, desktop: &str, login: &str) -> Result<SessionGrant, AccessDenied> {
        let verified = self.verify_user_cert(cert_der).await?;
        self.decide(&verified, SessionTarget { kind, desktop, login }, SessionPhase::Running).await
    }

    /// The lock, if any, that now applies to a granted session: a session
    /// polls this and ends when it returns one.
    pub async fn lock_on(&self, session: &GrantedSession) -> Result<Option<Lock>, ControlError> {
        let subject = SessionSubject {
            user: &session.user,
            roles: &session.roles,
            login: &session.login,
            server_id: &session.server_id,
            desktop_kind: session.desktop_kind,
            desktop: &session.desktop,
        };
        let locks = self.store.locks().await?;
        Ok(lock::find(&locks, &subject, self.clock.now()).cloned())
    }
}

/// A `lock.created` event's fields: the lock's name, target, message and expiry.
pub(crate) fn lock_created(event: AuditEvent, lock: &Lock) -> AuditEvent {
    let target = &lock.target;
    let fields = [
        ("user", &target.user),
        ("role", &target.role),
        ("login", &target.login),
        ("server_id", &target.server_id),
        ("linux_desktop", &target.linux_desktop),
        ("windows_desktop", &target.windows_desktop),
    ];
    let target: serde_json::Map<String, serde_json::Value> =
        fields.into_iter().filter_map(|(name, value)| value.as_ref().map(|v| (name.to_owned(), v.clone().into()))).collect();
    let mut event = event.with("name", lock.name.as_str()).with("target", target);
    if let Some(message) = &lock.message {
        event = event.with("message", message.as_str());
    }
    if let Some(expires) = lock.expires {
        event = event.with("expires", crate::audit::rfc3339(expires));
    }
    event
}

/// A `join_token.create` event's fields: never the secret, only the first
/// 16 hex digits of its hash, which `orielctl tokens ls` shows too.
pub(crate) fn token_created(event: AuditEvent, token: &JoinToken) -> AuditEvent {
    let roles: Vec<String> = token.roles.iter().map(|r| r.as_str().to_owned()).collect();
    event
        .with("name", token.secret_hash.get(..16).unwrap_or_default())
        .with("roles", roles)
        .with("expires", crate::audit::rfc3339(token.expires))
        .with("one_time", token.one_time)
}
