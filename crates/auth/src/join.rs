//! Joining: a new proxy or desktop service shows a join token (from
//! `orielctl tokens add`) and gets a host certificate from the host CA,
//! which is its identity from then on. It renews that certificate with the
//! certificate itself before it expires; the token is not needed again.

use std::net::IpAddr;
use std::time::Duration;

use crate::audit::{AuditEvent, EventType};
use crate::ca::{CaError, CertError, HostIdentity, HostRole, IssuedCert};
use crate::control_plane::ControlPlane;
use crate::resources::join_token::{JoinRole, TokenError};
use crate::store::StoreError;

/// How long a host certificate lasts. Hosts renew at two thirds of it, so
/// an auth service down for most of a day strands nobody.
pub const HOST_CERT_TTL: Duration = Duration::from_secs(24 * 3600);

/// A host asking to join.
#[derive(Clone)]
pub struct JoinRequest {
    /// The token's secret, as `orielctl tokens add` printed it.
    pub token: String,
    /// What the host runs.
    pub role: JoinRole,
    /// Its persistent id (the desktop service's UUID).
    pub host_id: String,
    /// Names and addresses its certificate should carry.
    pub dns_names: Vec<String>,
    /// Addresses its certificate should carry.
    pub ips: Vec<IpAddr>,
}

impl std::fmt::Debug for JoinRequest {
    // The token is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest").field("role", &self.role).field("host_id", &self.host_id).finish_non_exhaustive()
    }
}

/// Why a join or a renewal was refused. Messages are safe to send to the
/// joining host: they never repeat the token.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The token does not allow this join.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The host id cannot name a host.
    #[error("invalid host id {0:?}: use letters, digits, '-', '_' and '.'")]
    HostId(String),
    /// A renewal with a certificate that is not a valid host certificate.
    #[error("cannot renew: {0}")]
    Certificate(#[from] CertError),
    /// Admin identities are not renewed: each is signed on purpose, from
    /// the auth host's data dir, and ends when it expires.
    #[error("cannot renew an admin identity: sign a new one on the auth host with `orielctl auth sign`")]
    AdminIdentity,
    /// A desktop is registered under this id, or a host holds a live
    /// certificate for it: joining would take it over.
    #[error(
        "host id {host_id:?} is taken: {why}. A host that already joined keeps its credentials in its data dir and does \
         not join again; a new or reinstalled host needs an id of its own (remove host_uuid from its data dir)"
    )]
    HostIdTaken {
        /// The id asked for.
        host_id: String,
        /// What holds it.
        why: String,
    },
    /// The CA or the store failed: try again later.
    #[error("the auth service cannot issue certificates now: {0}")]
    Unavailable(String),
}

impl From<CaError> for JoinError {
    fn from(error: CaError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<StoreError> for JoinError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl ControlPlane {
    /// Checks the token (known, not expired, of this type, a one-time token
    /// not used yet, which it then uses up) and issues a host certificate.
    /// The attempt is an `instance.join` event either way (with the first
    /// 16 hex digits of the token's hash, never the token).
    pub async fn join(&self, request: &JoinRequest) -> Result<IssuedCert, JoinError> {
        let result = self.join_with_token(request).await;
        let token = crate::bearer::hash(&request.token);
        let mut event = AuditEvent::new(EventType::InstanceJoin, result.is_ok(), "", self.clock.now())
            .with("host_id", request.host_id.as_str())
            .with("role", request.role.as_str())
            .with("token_name", token.get(..16).unwrap_or_default());
        if let Err(error) = &result {
            event = event.with("error", error.to_string());
        }
        self.emit(event).await;
        result
    }

    async fn join_with_token(&self, request: &JoinRequest) -> Result<IssuedCert, JoinError> {
        let role = match request.role {
            JoinRole::LinuxDesktop => HostRole::LinuxDesktop,
            JoinRole::Proxy => HostRole::Proxy,
            JoinRole::WindowsDesktop => HostRole::WindowsDesktop,
        };
        if !valid_host_id(&request.host_id) {
            return Err(JoinError::HostId(request.host_id.clone()));
        }
        let now = self.clock.now();
        let hash = crate::bearer::hash(&request.token);
        let token = match self.store.token(&hash).await {
            Ok(token) => token,
            Err(StoreError::NotFound { .. }) => return Err(TokenError::Unknown.into()),
            Err(e) => return Err(e.into()),
        };
        token.value.check(request.role, now)?;
        // The id must be free before the token is used up: a refused join
        // leaves a one-time token for the host it was meant for.
        self.claim_host_id(&request.host_id, role, now).await?;
        let issued = async {
            if token.value.one_time {
                // Compare-and-swap: of two hosts racing with one token, one wins.
                match self.store.use_token(&token.value, token.revision).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => return Err(TokenError::Used.into()),
                    Err(e) => return Err(e.into()),
                }
            }
            let identity = HostIdentity { host_id: request.host_id.clone(), role, dns_names: request.dns_names.clone(), ips: request.ips.clone() };
            Ok(self.cert_authority().await?.issue_host(&identity, HOST_CERT_TTL, now)?)
        }
        .await;
        match issued {
            Ok(issued) => {
                tracing::info!(host_id = %request.host_id, role = %role, "host joined");
                Ok(issued)
            }
            Err(error) => {
                if let Err(release) = self.store.release_host_id(&request.host_id).await {
                    tracing::warn!(host_id = %request.host_id, error = %release, "cannot release the host id of a failed join");
                }
                Err(error)
            }
        }
    }

    /// Claims `host_id` for a new certificate, or says what holds it: a
    /// registered desktop or desktop service, or a live host certificate.
    async fn claim_host_id(&self, host_id: &str, role: HostRole, now: std::time::SystemTime) -> Result<(), JoinError> {
        let taken = |why: String| JoinError::HostIdTaken { host_id: host_id.to_owned(), why };
        for kind in oriel_rbac::DesktopKind::ALL {
            match self.store.desktop(kind, host_id).await {
                Ok(_) => return Err(taken(format!("a {kind} desktop is registered under it"))),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            match self.store.desktop_service(kind, host_id).await {
                Ok(_) => return Err(taken(format!("a {kind} desktop service is registered under it"))),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match self.store.claim_host_id(host_id, role.as_str(), now + HOST_CERT_TTL).await {
            Ok(()) => Ok(()),
            Err(StoreError::AlreadyExists { .. }) => {
                let until = self.store.host_certificate_expiry(host_id).await?;
                let until = until.map(|at| format!(" until {}", crate::ca::rfc3339(at))).unwrap_or_default();
                Err(taken(format!("a host holds a certificate for it, valid{until}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A fresh certificate for the host that `current` (its valid host
    /// certificate) names, with the same identity.
    pub async fn renew_host(&self, current: &[u8]) -> Result<IssuedCert, JoinError> {
        let now = self.clock.now();
        let ca = self.cert_authority().await?;
        let identity = ca.verify_host(current, now)?;
        if identity.role == HostRole::Admin {
            return Err(JoinError::AdminIdentity);
        }
        let issued = ca.issue_host(&identity, HOST_CERT_TTL, now)?;
        // The id stays taken for as long as the new certificate lives.
        self.store.renew_host_id(&identity.host_id, identity.role.as_str(), issued.expires).await?;
        Ok(issued)
    }
}

fn valid_host_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}
